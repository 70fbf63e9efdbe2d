//! The protocol trait: how a sans-IO state machine plugs into the simulator.
//!
//! A protocol is one type implementing [`Protocol`]. Each node of a cluster is one value of that
//! type. The simulator calls it with inputs (start, a message, a timer, a client request) and a
//! [`Ctx`] through which it emits outputs (send, set or cancel a timer, write and sync durable
//! state, reply to a client, mark a `sometimes` event). The protocol never does I/O, never sleeps,
//! never reads the wall clock and never spawns threads: it reads time only as [`Ctx::now`], its own
//! node's (skewed, drifting) local clock, and draws randomness only from [`Ctx::rng`].
//!
//! ## Durable state and "persist before send"
//! A node owns a [`Protocol::Durable`] value kept by the simulator in two layers: *written* and
//! *synced*. [`Ctx::write`] appends a [`Durable::Write`] to the written layer; [`Ctx::sync`] moves
//! everything written so far into the synced layer. A crash keeps only the synced layer (and, with
//! torn writes on, a random prefix of the unsynced writes), and a restart calls
//! [`Protocol::start`] with it. Outputs are applied in the order the handler issued them, so
//! `write(..); sync(); send(..)` guarantees the message leaves only after the state it depends on
//! is durable — etcd raft's rule, made explicit.
//!
//! ## Checking
//! The simulator calls [`Protocol::check_step`] after every event a node handles, with a read-only
//! god's view of every node and true time, and [`Protocol::check_end`] once with the client
//! history. Both write [`Violation`]s. `Ghost` is the checker's own state: ghost variables that
//! remember what the nodes may since have overwritten (who led which term, what was chosen).
//!
//! ## A worked example
//! A register replicated primary-backup style: node 0 is the primary, applies writes, copies them
//! to the backups and answers once every backup acknowledged.
//!
//! ```
//! use faultline_sim::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug)]
//! struct Reg { id: NodeId, n: u32, value: u64, version: u64,
//!              waiting: Vec<(RequestId, u64, u32)> }
//!
//! #[derive(Clone, Debug, Hash)]
//! enum Msg { Copy { version: u64, value: u64 }, Ack { version: u64 } }
//!
//! #[derive(Clone, Debug, Hash, Serialize, Deserialize)]
//! enum Op { Read, Write(u64) }
//!
//! #[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
//! enum Answer { Value(u64), Done }
//!
//! #[derive(Clone, Debug, Default)]
//! struct Disk { value: u64, version: u64 }
//! impl Durable for Disk {
//!     type Write = (u64, u64);
//!     fn apply(&mut self, w: &(u64, u64)) { (self.version, self.value) = *w; }
//! }
//!
//! impl Protocol for Reg {
//!     const NAME: &'static str = "doc-register";
//!     type Config = ();
//!     type Msg = Msg;
//!     type Timer = ();
//!     type Durable = Disk;
//!     type Input = Op;
//!     type Output = Answer;
//!     type Ghost = ();
//!
//!     fn start(env: &Env<Self>, disk: &Disk, _ctx: &mut Ctx<Self>) -> Self {
//!         Reg { id: env.id, n: env.nodes, value: disk.value, version: disk.version,
//!               waiting: Vec::new() }
//!     }
//!     fn on_message(&mut self, from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
//!         match msg {
//!             Msg::Copy { version, value } if version > self.version => {
//!                 (self.version, self.value) = (version, value);
//!                 ctx.write((version, value));
//!                 ctx.sync(); // durable before the ack that promises it
//!                 ctx.send(from, Msg::Ack { version });
//!             }
//!             Msg::Copy { version, .. } => ctx.send(from, Msg::Ack { version }),
//!             Msg::Ack { version } => {
//!                 for w in self.waiting.iter_mut().filter(|w| w.1 == version) { w.2 += 1; }
//!                 let n = self.n;
//!                 self.waiting.retain(|&(req, _, acks)| {
//!                     if acks + 1 == n { ctx.reply(req, Answer::Done); false } else { true }
//!                 });
//!             }
//!         }
//!     }
//!     fn on_timer(&mut self, _timer: (), _ctx: &mut Ctx<Self>) {}
//!     fn on_request(&mut self, req: RequestId, op: Op, ctx: &mut Ctx<Self>) {
//!         if self.id != NodeId(0) { return ctx.reject(req, Some(NodeId(0))); }
//!         match op {
//!             Op::Read => ctx.reply(req, Answer::Value(self.value)),
//!             Op::Write(v) => {
//!                 self.version += 1;
//!                 self.value = v;
//!                 ctx.write((self.version, v));
//!                 ctx.sync();
//!                 self.waiting.push((req, self.version, 0));
//!                 for peer in 1..self.n {
//!                     ctx.send(NodeId(peer), Msg::Copy { version: self.version, value: v });
//!                 }
//!             }
//!         }
//!     }
//!     fn generate(_cfg: &(), _client: u32, rng: &mut Prng) -> Op {
//!         if rng.chance(1, 2) { Op::Read } else { Op::Write(rng.below(100)) }
//!     }
//! }
//!
//! let scenario = Scenario::from_toml_str("doc.toml", r#"
//!     name = "doc"
//!     protocol = "doc-register"
//!     nodes = 3
//!     duration_ms = 2000
//!     [workload]
//!     clients = 2
//! "#).unwrap();
//! let report = Simulation::<Reg>::new(&scenario, &RunOptions::seeded(7)).unwrap().run();
//! assert_eq!(report.verdict, Verdict::Pass);
//! assert!(report.ops.ok > 10);
//! ```

use crate::check::Violation;
use crate::history::History;
use crate::prng::Prng;
use crate::time::Time;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

/// A node's identity: its index in the cluster, `0..nodes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index as `usize`.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// Identifies one client operation, stable across the client's retries of it: protocols use it
/// to apply a retried command only once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct RequestId {
    /// The client that issued it (`u32::MAX` for operator requests from the scenario).
    pub client: u32,
    /// The client's sequence number for it, starting at 1.
    pub seq: u32,
}

/// The durable state of a node: what survives a crash once synced.
pub trait Durable: Default + Clone + Debug {
    /// One write to durable storage (e.g. "set term and vote", "append entries").
    type Write: Debug;
    /// Applies a write. Must be deterministic: the simulator replays writes to build the synced
    /// layer.
    fn apply(&mut self, write: &Self::Write);
}

impl Durable for () {
    type Write = ();
    fn apply(&mut self, _write: &()) {}
}

/// A `[config]` value the protocol cannot run with: which field and why. Returned by
/// [`Protocol::validate`]; the loader turns it into an error naming the file, line and column,
/// and the command exits 2 (bad input), never reporting it as a violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field: a key of `[config]` (dotted for nested tables, e.g. `app.keys`), or `nodes`
    /// when the cluster size is what does not fit.
    pub field: String,
    /// What is wrong, e.g. "must be below election_timeout_ms (100)".
    pub message: String,
}

impl ConfigError {
    /// `field` is wrong because `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError { field: field.into(), message: message.into() }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A planted bug: a deliberate mutation of a protocol that one of its checks must catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BugInfo {
    /// `PROTOCOL.NAME`, e.g. `raft.commit-prior-term`.
    pub name: &'static str,
    /// What the mutation breaks, in a sentence.
    pub breaks: &'static str,
    /// The invariant expected to catch it.
    pub caught_by: &'static str,
    /// Scenario names (file stems in `scenarios/`) that expose it.
    pub scenarios: &'static [&'static str],
}

/// The planted bugs switched on for a run, as a bit set over [`Protocol::BUGS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    bits: u64,
    table: &'static [BugInfo],
}

impl Bugs {
    /// Resolves bug names against a protocol's table. Unknown names are an error naming them.
    pub fn resolve(table: &'static [BugInfo], names: &[String]) -> Result<Bugs, String> {
        assert!(table.len() <= 64, "at most 64 planted bugs per protocol");
        let mut bits = 0u64;
        for name in names {
            match table.iter().position(|b| b.name == name) {
                Some(i) => bits |= 1 << i,
                None => {
                    let known: Vec<&str> = table.iter().map(|b| b.name).collect();
                    return Err(format!(
                        "unknown bug `{name}` for this protocol (known: {})",
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ));
                }
            }
        }
        Ok(Bugs { bits, table })
    }

    /// Is the named bug switched on? Call once at start and keep the answer: this compares
    /// strings.
    pub fn has(&self, name: &str) -> bool {
        self.table.iter().enumerate().any(|(i, b)| b.name == name && self.bits & (1 << i) != 0)
    }

    /// The names switched on, in table order.
    pub fn names(&self) -> Vec<&'static str> {
        self.table.iter().enumerate().filter(|(i, _)| self.bits & (1 << i) != 0).map(|(_, b)| b.name).collect()
    }

    /// True when no bug is on.
    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }
}

/// What a node knows about its world when it starts.
#[derive(Debug)]
pub struct Env<'a, P: Protocol> {
    /// This node.
    pub id: NodeId,
    /// Cluster size: nodes are `NodeId(0)..NodeId(nodes)`.
    pub nodes: u32,
    /// The protocol's configuration from the scenario.
    pub config: &'a P::Config,
    /// Planted bugs switched on for this run.
    pub bugs: Bugs,
    /// True on a restart after a crash (false at the start of the run).
    pub restarted: bool,
}

/// The answer a node gives to a client request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Reply<O> {
    /// The operation took effect (or was read) with this result.
    Ok(O),
    /// The operation did not take effect and never will: the client may retry elsewhere,
    /// at `hint` if given (e.g. "not the leader; try n2").
    Reject {
        /// Where the client should try next.
        hint: Option<NodeId>,
    },
}

/// One output of a handler, applied by the simulator in the order issued.
#[derive(Debug)]
pub enum Command<P: Protocol> {
    /// Send a message to a node.
    Send(NodeId, P::Msg),
    /// Arm (or re-arm) a timer after a local duration.
    SetTimer(P::Timer, Duration),
    /// Disarm a timer.
    CancelTimer(P::Timer),
    /// Append a write to the written (not yet durable) layer.
    Write(<P::Durable as Durable>::Write),
    /// Make everything written so far durable.
    Sync,
    /// Answer a client.
    Reply(RequestId, Reply<P::Output>),
}

/// The handle a handler uses to act on the world. Outputs are buffered and applied after the
/// handler returns, in order.
pub struct Ctx<'a, P: Protocol> {
    pub(crate) id: NodeId,
    pub(crate) now: Time,
    pub(crate) monotonic: Time,
    pub(crate) rng: &'a mut Prng,
    pub(crate) out: &'a mut Vec<Command<P>>,
    pub(crate) marks: &'a mut crate::check::Marks,
}

impl<'a, P: Protocol> Ctx<'a, P> {
    /// A context over caller-owned buffers: for driving a protocol outside the simulator
    /// (a user's own runtime or a unit test).
    pub fn new(
        id: NodeId,
        now: Time,
        rng: &'a mut Prng,
        out: &'a mut Vec<Command<P>>,
        marks: &'a mut crate::check::Marks,
    ) -> Self {
        Ctx { id, now, monotonic: now, rng, out, marks }
    }

    /// The context of node `id` at true time `t`, reading `clock`.
    pub(crate) fn at(
        id: NodeId,
        clock: &crate::clock::Clock,
        t: Time,
        rng: &'a mut Prng,
        out: &'a mut Vec<Command<P>>,
        marks: &'a mut crate::check::Marks,
    ) -> Self {
        Ctx { id, now: clock.local(t), monotonic: clock.monotonic(t), rng, out, marks }
    }

    /// The same context with a separate monotonic reading (see [`Ctx::monotonic`]); a runtime
    /// whose wall clock never steps can leave it equal to `now`.
    pub fn with_monotonic(mut self, monotonic: Time) -> Self {
        self.monotonic = monotonic;
        self
    }

    /// This node.
    #[inline]
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// This node's local clock. It may be offset, drift and jump: never assume it equals another
    /// node's reading.
    #[inline]
    pub fn now(&self) -> Time {
        self.now
    }

    /// This node's monotonic clock: it drifts like [`Ctx::now`] but never jumps. Measure
    /// elapsed time (leases, timeouts kept as deadlines) on this one; a wall reading can step
    /// back and make an interval look shorter than it was.
    #[inline]
    pub fn monotonic(&self) -> Time {
        self.monotonic
    }

    /// This node's own random stream.
    #[inline]
    pub fn rng(&mut self) -> &mut Prng {
        self.rng
    }

    /// Sends `msg` to `to`. The handler cannot learn whether it is delivered, lost or duplicated.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: P::Msg) {
        self.out.push(Command::Send(to, msg));
    }

    /// Arms `timer` to fire after `after` of local time, replacing an armed timer equal to it.
    #[inline]
    pub fn set_timer(&mut self, timer: P::Timer, after: Duration) {
        self.out.push(Command::SetTimer(timer, after));
    }

    /// Disarms `timer` if armed.
    #[inline]
    pub fn cancel_timer(&mut self, timer: P::Timer) {
        self.out.push(Command::CancelTimer(timer));
    }

    /// Writes to durable storage. Not durable until [`Ctx::sync`].
    #[inline]
    pub fn write(&mut self, write: <P::Durable as Durable>::Write) {
        self.out.push(Command::Write(write));
    }

    /// Makes every write issued so far durable before any later output takes effect.
    #[inline]
    pub fn sync(&mut self) {
        self.out.push(Command::Sync);
    }

    /// Answers a client request successfully. Any node may answer any request.
    #[inline]
    pub fn reply(&mut self, req: RequestId, output: P::Output) {
        self.out.push(Command::Reply(req, Reply::Ok(output)));
    }

    /// Refuses a client request that did not and will not take effect.
    #[inline]
    pub fn reject(&mut self, req: RequestId, hint: Option<NodeId>) {
        self.out.push(Command::Reply(req, Reply::Reject { hint }));
    }

    /// Counts a `sometimes` event: something a scenario should make happen at least once
    /// (a leader change, a snapshot install). Counted per run and per sweep.
    #[inline]
    pub fn sometimes(&mut self, mark: &'static str) {
        debug_assert!(P::MARKS.is_empty() || P::MARKS.contains(&mark), "{}: undeclared mark {mark}", P::NAME);
        self.marks.hit(mark);
    }
}

/// A read-only god's view of one node, for checkers.
#[derive(Debug)]
pub struct NodeView<'a, P: Protocol> {
    /// The node's in-memory state; `None` while crashed.
    pub state: Option<&'a P>,
    /// What the node has made durable.
    pub synced: &'a P::Durable,
    /// Paused (frozen) right now.
    pub paused: bool,
    /// The node's local clock reading right now.
    pub local_now: Time,
}

/// A read-only god's view of the whole world, for checkers.
pub struct View<'a, P: Protocol> {
    /// True time.
    pub now: Time,
    /// The protocol configuration.
    pub config: &'a P::Config,
    /// Planted bugs on in this run (checkers may describe them, never special-case them).
    pub bugs: Bugs,
    /// The scenario's `checks.history_budget`: explored states per partition an end-of-run
    /// history check may use before it calls the run inconclusive.
    pub history_budget: u64,
    pub(crate) nodes: &'a [crate::world::NodeSlot<P>],
    pub(crate) clocks: &'a [crate::clock::Clock],
}

impl<'a, P: Protocol> View<'a, P> {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True for an empty cluster.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The god's view of node `id`.
    pub fn node(&self, id: NodeId) -> NodeView<'a, P> {
        let slot = &self.nodes[id.index()];
        NodeView {
            state: slot.state.as_ref(),
            synced: &slot.storage.synced,
            paused: slot.paused,
            local_now: self.clocks[id.index()].local(self.now),
        }
    }

    /// Every node in id order.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, NodeView<'a, P>)> + '_ {
        (0..self.nodes.len()).map(move |i| (NodeId(i as u32), self.node(NodeId(i as u32))))
    }

    /// The local clock of `id` at true time `t` (to relate a node's beliefs to true time).
    pub fn clock(&self, id: NodeId) -> crate::clock::Clock {
        self.clocks[id.index()]
    }
}

/// A distributed protocol the simulator can run: one value per node.
///
/// Implement the four handlers and `generate`; the checking hooks are optional.
pub trait Protocol: Sized + Debug + 'static {
    /// The name scenarios use in `protocol = "…"`.
    const NAME: &'static str;
    /// Planted bugs this protocol can switch on (`--bug NAME`).
    const BUGS: &'static [BugInfo] = &[];
    /// Every `sometimes` mark ([`Ctx::sometimes`]) the correct protocol can hit. A sweep's
    /// reports list the declared marks no run hit (the scenarios never got there); debug builds
    /// assert that every mark hit is declared, so the list stays complete. Empty: undeclared.
    const MARKS: &'static [&'static str] = &[];

    /// Configuration read from the scenario's `[config]` table.
    type Config: DeserializeOwned + Serialize + Default + Clone + Debug;
    /// Messages between nodes. `Hash` digests them into the trace hash (see [`crate::hash`]).
    type Msg: Clone + Debug + Hash;
    /// Timer identities. Arming a timer equal to an armed one re-arms it.
    type Timer: Clone + Debug + PartialEq;
    /// What survives a crash once synced.
    type Durable: Durable;
    /// A client request.
    type Input: Clone + Debug + Hash + Serialize + DeserializeOwned;
    /// The answer to a client request. `Hash` digests it into the trace hash, so a run whose
    /// answers change does not replay as the same trace.
    type Output: Clone + Debug + Hash + Serialize;
    /// The checker's ghost state.
    type Ghost: Default;

    /// Checks the scenario's `[config]` against the cluster size before any node starts. Every
    /// limit a protocol relies on (cluster size, timeout ordering, table sizes) belongs here, not
    /// in an assertion at start: a configuration mistake is bad input (exit 2), never a
    /// protocol violation. The default accepts everything.
    fn validate(_config: &Self::Config, _nodes: u32) -> Result<(), ConfigError> {
        Ok(())
    }

    /// Starts (or restarts from `durable`) a node.
    fn start(env: &Env<Self>, durable: &Self::Durable, ctx: &mut Ctx<Self>) -> Self;
    /// Handles a message from another node.
    fn on_message(&mut self, from: NodeId, msg: Self::Msg, ctx: &mut Ctx<Self>);
    /// Handles a timer this node armed.
    fn on_timer(&mut self, timer: Self::Timer, ctx: &mut Ctx<Self>);
    /// Handles a client request. Answer now or later with [`Ctx::reply`] or [`Ctx::reject`].
    fn on_request(&mut self, req: RequestId, input: Self::Input, ctx: &mut Ctx<Self>);

    /// The workload: the next operation client `client` issues.
    fn generate(config: &Self::Config, client: u32, rng: &mut Prng) -> Self::Input;

    /// The node client `client` is attached to, if clients are not free to pick any node (e.g. a
    /// lock client's library runs on a node of its own). `None` (the default): clients start at
    /// a random node and move on after a rejection or time-out.
    fn client_home(_config: &Self::Config, _nodes: u32, _client: u32) -> Option<NodeId> {
        None
    }

    /// Does this node believe it leads? Lets scenarios aim faults at "the leader".
    fn is_leader(&self) -> bool {
        false
    }

    /// An abstract state of the whole cluster for guided search (`faultline explore`): a small
    /// value that changes when something that matters for safety changes (for Raft, per node:
    /// role, term behind the highest, commit and log lag in buckets). The search keeps runs
    /// that reach new abstract states or new transitions between them. Called after every step,
    /// only while exploring; keep it cheap and coarse (a few thousand distinct values at most).
    /// 0 (the default): no abstract state, the search uses marks and message kinds only.
    fn abstract_state(_view: &View<Self>) -> u64 {
        0
    }

    /// One short line of this node's key state, e.g. `leader t7 commit 12/14`, for people: the
    /// `--trace` file and `explain`'s timeline show it whenever it changes. Its first word is
    /// taken as the node's role (lanes are coloured by it). Never part of the trace hash.
    /// Empty (the default): nothing to show.
    fn summary(&self) -> String {
        String::new()
    }

    /// Checks invariants after `node` handled an event. Keep it O(what changed).
    fn check_step(_ghost: &mut Self::Ghost, _view: &View<Self>, _node: NodeId, _out: &mut Vec<Violation>) {}

    /// Observes a message as it is sent, before the network decides its fate. The view shows
    /// the sender's storage as of this send, so "persist before send" is checkable here.
    fn observe_send(
        _ghost: &mut Self::Ghost,
        _view: &View<Self>,
        _from: NodeId,
        _to: NodeId,
        _msg: &Self::Msg,
        _out: &mut Vec<Violation>,
    ) {
    }

    /// Checks the whole run once at the end: typically linearizability of the history.
    /// Returns `Some(reason)` if a check could not decide (out of budget).
    fn check_end(
        _ghost: &mut Self::Ghost,
        _view: &View<Self>,
        _history: &History<Self::Input, Self::Output>,
        _out: &mut Vec<Violation>,
    ) -> Option<String> {
        None
    }
}
