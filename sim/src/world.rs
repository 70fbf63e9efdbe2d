//! The simulated world and its event loop.
//!
//! One thread, one queue, one clock. Each step pops the earliest event, hands it to the node or
//! client it concerns, applies the node's outputs (in order: writes, syncs, sends, timers,
//! replies), runs the per-step invariant checks, and feeds the event into the trace hash.

use crate::check::{Marks, Verdict, Violation};
use crate::clock::Clock;
use crate::faults::{self, Action, FaultEvent, Target};
use crate::hash::{EventKind, StableHasher, TraceHasher};
use crate::history::{History, Op, Outcome};
use crate::network::{self, Fate, Links, NetParams, Partition};
use crate::prng::{Prng, Stream};
use crate::protocol::{Bugs, Command, Ctx, Durable, Env, NodeId, Protocol, Reply, RequestId, View};
use crate::queue::EventQueue;
use crate::report::{self, RunReport};
use crate::scenario::{NodeSel, Scenario, ScenarioError, ShapeSpec, WorkloadMode};
use crate::time::Time;
use serde::Deserialize;
use std::io::Write;

/// How many recent events are kept for the space-time diagram of a failure.
pub const RECENT_EVENTS: usize = 256;
/// At most this many violations are kept; the run stops at the first anyway.
const MAX_VIOLATIONS: usize = 16;
/// The watchdog ([`Simulation::with_watchdog`]) is asked every this many steps.
const WATCH_EVERY: u64 = 1 << 14;

/// How far a run has got: what a watchdog sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Events handled so far.
    pub events: u64,
    /// True time reached.
    pub now: Time,
    /// The end of the run.
    pub end: Time,
}

/// Asked now and then during a run; `Some(reason)` stops it as inconclusive. The caller's hook
/// for budgets the simulator may not measure itself (wall-clock time, an interrupt): the
/// events of a run do not depend on it, only where it stops.
pub type Watchdog = Box<dyn FnMut(Progress) -> Option<String>>;

/// Options for one run beyond the scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The seed (the scenario's own seed when the caller has none).
    pub seed: u64,
    /// Planted bugs to switch on, by name.
    pub bugs: Vec<String>,
}

impl RunOptions {
    /// Options with a seed and no bugs.
    pub fn seeded(seed: u64) -> RunOptions {
        RunOptions { seed, bugs: Vec::new() }
    }
}

/// Durable storage of one node: the synced layer and the writes not yet synced.
#[derive(Debug)]
pub(crate) struct Storage<D: Durable> {
    pub(crate) synced: D,
    pub(crate) unsynced: Vec<D::Write>,
}

/// Everything the world keeps per node.
#[derive(Debug)]
pub(crate) struct NodeSlot<P: Protocol> {
    pub(crate) state: Option<P>,
    pub(crate) storage: Storage<P::Durable>,
    pub(crate) paused: bool,
    /// Events that arrived while paused, replayed in order on resume.
    deferred: Vec<Event<P>>,
    /// Armed timers.
    timers: Vec<ArmedTimer<P::Timer>>,
    rng: Prng,
}

/// One armed timer of a node. Re-arming a timer to a later time queues nothing: the event
/// already queued for it pops first and is queued again at the new time with the sequence
/// number reserved when it was re-armed, so it fires exactly where it would have fired had it
/// been queued then. Protocols re-arm election timers on every message; without this the queue
/// held one dead event per re-arm until its time came.
#[derive(Debug)]
struct ArmedTimer<T> {
    timer: T,
    /// The generation of the current arming (what the trace records when it fires).
    gen: u64,
    /// When it fires, and its place among the events of that time.
    due: Time,
    seq: u64,
    /// The `ticket` of the one live event queued (or deferred) for it.
    ticket: u64,
    /// When that event pops: at or before `due`. Zero while the event is deferred.
    queued_at: Time,
}

#[derive(Debug)]
enum Event<P: Protocol> {
    Start(NodeId),
    Deliver {
        to: NodeId,
        from: NodeId,
        /// When `from` sent it (for the space-time diagram; not part of the trace hash).
        sent: Time,
        msg: P::Msg,
    },
    /// A timer's event; `ticket` names the `ArmedTimer` it serves (an event whose ticket no
    /// armed timer holds is dead: cancelled or superseded).
    Timer {
        node: NodeId,
        ticket: u64,
    },
    /// A client's attempt at an operation reaches a node.
    Request {
        node: NodeId,
        op: u32,
    },
    /// An operator request from the scenario reaches a node.
    Operator {
        index: u32,
    },
    /// A node's answer reaches a client.
    Reply {
        op: u32,
        from: NodeId,
        reply: Reply<P::Output>,
    },
    ClientTimeout {
        op: u32,
        attempt: u32,
    },
    ClientNext {
        client: u32,
    },
    Arrival,
    Fault {
        index: u32,
    },
}

/// Per-operation bookkeeping beside the history entry.
#[derive(Clone, Copy, Debug)]
struct OpState {
    attempt: u32,
    done: bool,
    /// Some attempt may have taken effect (timed out or lost).
    maybe_applied: bool,
}

#[derive(Clone, Debug)]
struct Client {
    preferred: NodeId,
    /// The node this client is attached to, if the protocol fixes one.
    home: Option<NodeId>,
    issued: u32,
    /// Sequence number → history index.
    ops: Vec<u32>,
}

/// One event as the trace and the space-time diagram see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceRecord {
    /// True time (ns).
    pub time_ns: u64,
    /// What happened.
    pub kind: EventKind,
    /// Where.
    pub node: u32,
    /// The other party (sender, client, fault index), `u32::MAX` for none.
    pub other: u32,
    /// Payload digest.
    pub digest: u64,
    /// For a delivery, when the message was sent (true time, ns); [`NOT_SENT`] otherwise.
    pub sent_ns: u64,
}

/// [`TraceRecord::sent_ns`] of an event that is not a delivery.
pub const NOT_SENT: u64 = u64::MAX;

/// The god's view of a simulation, borrowing only the fields it shows, so the caller can still
/// lend the ghost state mutably beside it.
macro_rules! view_of {
    ($sim:ident) => {
        View {
            now: $sim.now,
            config: &$sim.config,
            bugs: $sim.bugs,
            history_budget: $sim.scenario.checks.history_budget,
            nodes: &$sim.nodes,
            clocks: &$sim.clocks,
        }
    };
}

/// A run in progress: build with [`Simulation::new`], then [`Simulation::run`].
pub struct Simulation<P: Protocol> {
    scenario: Scenario,
    config: P::Config,
    bugs: Bugs,
    seed: u64,
    now: Time,
    end: Time,
    queue: EventQueue<Event<P>>,
    nodes: Vec<NodeSlot<P>>,
    clocks: Vec<Clock>,
    links: Links,
    params: NetParams,
    base_loss_ppm: u32,
    net_rng: Prng,
    fault_rng: Prng,
    work_rng: Prng,
    disk_rng: Prng,
    schedule: Vec<FaultEvent>,
    fault_targets: Vec<Option<NodeId>>,
    /// The concrete partition each applied partition action produced.
    fault_partitions: Vec<Option<Partition>>,
    /// The applied actions, made explicit (resolved nodes and shapes), for shrinking.
    explicit: Vec<crate::scenario::FaultSpec>,
    applied_faults: Vec<report::AppliedFault>,
    operator_inputs: Vec<(NodeSel, P::Input)>,
    clients: Vec<Client>,
    history: History<P::Input, P::Output>,
    op_state: Vec<OpState>,
    ghost: P::Ghost,
    violations: Vec<Violation>,
    marks: Marks,
    trace: TraceHasher,
    trace_out: Option<Box<dyn Write>>,
    /// The `Debug` form of what the event being recorded hands its handler, for the `--trace`
    /// file (set only while one is written).
    what: Option<String>,
    /// The `--trace` line of the last event, without its closing brace: the handler's outputs
    /// and the node's summary are added once it returns.
    line: Option<String>,
    /// Coverage for guided search, when kept: keys seen, the last abstract state, and the true
    /// time of the last fault action (a message sent before it and delivered after crossed it).
    coverage: Option<CoverageState>,
    /// Per node, the summary last put in the timeline, when one is kept.
    timeline: Option<(Vec<TimelineEntry>, Vec<String>)>,
    watchdog: Option<Watchdog>,
    steps: u64,
    recent: Vec<TraceRecord>,
    /// Every record, when [`Simulation::keep_trace`] asked for them.
    all: Option<Vec<TraceRecord>>,
    out: Vec<Command<P>>,
    stats: report::Counters,
    unknown: Option<String>,
    /// The end-of-run history check's effort, once it ran.
    history_check: Option<report::HistoryCheck>,
    /// The history format to write out, if asked.
    export: Option<faultline_lincheck::export::ExportFormat>,
    exported: Vec<faultline_lincheck::export::ExportedHistory>,
    next_timer_gen: u64,
}

impl<P: Protocol> Simulation<P> {
    /// Prepares a run. Fails if the scenario does not fit the protocol (bad `[config]`, an
    /// operator request that is not a valid input, an unknown bug name).
    pub fn new(scenario: &Scenario, opts: &RunOptions) -> Result<Self, ScenarioError> {
        let s = scenario.clone();
        let file = s.source.as_ref().map_or("<scenario>".to_string(), |x| x.file.clone());
        let plain = |message: String| ScenarioError { file: file.clone(), line: None, column: None, message };
        if s.protocol != P::NAME {
            return Err(
                s.error_at_key("protocol", format!("protocol `{}` given to the `{}` simulator", s.protocol, P::NAME))
            );
        }
        let config: P::Config = s.protocol_config()?;
        P::validate(&config, s.nodes.0).map_err(|e| {
            if e.field == "nodes" {
                s.error_at_key("nodes", format!("nodes: {}", e.message))
            } else {
                s.error_in_table("config", &e.field, format!("config.{}: {}", e.field, e.message))
            }
        })?;
        let bugs = Bugs::resolve(P::BUGS, &opts.bugs).map_err(plain)?;
        let n = s.nodes.0 as usize;
        let delay = s.network.delay.to_delay().map_err(|m| s.error_at_key("delay", format!("network.delay: {m}")))?;
        let client_delay = s
            .network
            .client_delay
            .to_delay()
            .map_err(|m| s.error_at_key("client_delay", format!("network.client_delay: {m}")))?;
        let params = NetParams {
            delay,
            loss_ppm: s.network.loss.ppm(),
            duplicate_ppm: s.network.duplicate.ppm(),
            client_delay,
            client_loss_ppm: s.network.client_loss.ppm(),
        };
        let mut operator_inputs = Vec::with_capacity(s.requests.len());
        for (i, r) in s.requests.iter().enumerate() {
            let input = P::Input::deserialize(r.input.clone()).map_err(|e| {
                s.error_at_array_entry("requests", i, &format!("requests[{i}].input: {}", e.message().trim()))
            })?;
            operator_inputs.push((r.node, input));
        }
        let seed = opts.seed;
        let mut clock_rng = Prng::new(seed, Stream::Clocks, 0);
        let mut clocks: Vec<Clock> = (0..n)
            .map(|_| {
                let off_ms = s.clocks.max_offset_ms as i64;
                let drift = (s.clocks.max_drift_ppm as i64).min(crate::clock::MAX_DRIFT_PPM);
                let offset_ns = clock_rng.range_i64(-off_ms, off_ms) * 1_000_000;
                Clock::new(offset_ns, clock_rng.range_i64(-drift, drift))
            })
            .collect();
        for c in &s.clocks.node {
            if c.drift_ppm.unsigned_abs() > crate::clock::MAX_DRIFT_PPM.unsigned_abs() {
                return Err(s.error_at_key(
                    "drift_ppm",
                    format!("clocks.node.drift_ppm must be within ±{}", crate::clock::MAX_DRIFT_PPM),
                ));
            }
            clocks[c.node as usize] = Clock::new(c.offset_ms * 1_000_000, c.drift_ppm);
        }
        let schedule = faults::materialize(&s, seed);
        let nodes = (0..n)
            .map(|i| NodeSlot {
                state: None,
                storage: Storage { synced: P::Durable::default(), unsynced: Vec::new() },
                paused: false,
                deferred: Vec::new(),
                timers: Vec::new(),
                rng: Prng::new(seed, Stream::Node, i as u32),
            })
            .collect();
        let mut work_rng = Prng::new(seed, Stream::Workload, 0);
        let mut homes = Vec::with_capacity(s.workload.clients as usize);
        for c in 0..s.workload.clients {
            let home = P::client_home(&config, n as u32, c);
            if let Some(h) = home {
                if h.index() >= n {
                    return Err(plain(format!("client {c} is attached to {h}, which is not a node (nodes = {n})")));
                }
            }
            homes.push(home);
        }
        let clients = homes
            .into_iter()
            .map(|home| Client {
                preferred: home.unwrap_or_else(|| NodeId(work_rng.below(n as u64) as u32)),
                home,
                issued: 0,
                ops: Vec::new(),
            })
            .collect();
        let end = s.duration();
        let mut sim = Simulation {
            config,
            bugs,
            seed,
            now: Time::ZERO,
            end,
            queue: EventQueue::with_capacity(1024),
            nodes,
            clocks,
            links: Links::new(n),
            params,
            base_loss_ppm: params.loss_ppm,
            net_rng: Prng::new(seed, Stream::Network, 0),
            fault_rng: Prng::new(seed, Stream::Faults, 1),
            work_rng,
            disk_rng: Prng::new(seed, Stream::Disk, 0),
            fault_targets: vec![None; schedule.len()],
            fault_partitions: vec![None; schedule.len()],
            explicit: Vec::new(),
            schedule,
            applied_faults: Vec::new(),
            operator_inputs,
            clients,
            history: History::default(),
            op_state: Vec::new(),
            ghost: P::Ghost::default(),
            violations: Vec::new(),
            marks: Marks::default(),
            trace: TraceHasher::default(),
            trace_out: None,
            what: None,
            line: None,
            timeline: None,
            coverage: None,
            watchdog: None,
            steps: 0,
            recent: Vec::with_capacity(RECENT_EVENTS),
            all: None,
            out: Vec::with_capacity(64),
            stats: report::Counters::default(),
            unknown: None,
            history_check: None,
            export: None,
            exported: Vec::new(),
            next_timer_gen: 0,
            scenario: s,
        };
        sim.schedule_initial();
        Ok(sim)
    }

    /// Writes every event as a JSON line to `out` (the `--trace` file).
    pub fn with_trace(mut self, out: Box<dyn Write>) -> Self {
        self.trace_out = Some(out);
        self
    }

    /// Asks `watchdog` every few thousand events whether to go on (see [`Watchdog`]).
    pub fn with_watchdog(mut self, watchdog: Watchdog) -> Self {
        self.watchdog = Some(watchdog);
        self
    }

    /// Writes the client history out in `format` ([`RunReport::history`]): what the end-of-run
    /// linearizability check saw, for `check-history` and other tools.
    pub fn export_history(mut self, format: faultline_lincheck::export::ExportFormat) -> Self {
        self.export = Some(format);
        self
    }

    /// Collects coverage keys for guided search ([`RunReport::coverage`]).
    pub fn keep_coverage(mut self) -> Self {
        self.coverage = Some(CoverageState::default());
        self
    }

    /// Keeps each node's [`Protocol::summary`] whenever it changes ([`RunReport::timeline`]), for
    /// `explain`.
    pub fn keep_timeline(mut self) -> Self {
        self.timeline = Some((Vec::new(), vec![String::new(); self.nodes.len()]));
        self
    }

    /// Keeps every event's [`TraceRecord`] in the report ([`RunReport::trace`]), so two runs
    /// can be compared event by event (the determinism check).
    pub fn keep_trace(mut self) -> Self {
        self.all = Some(Vec::with_capacity(4096));
        self
    }

    fn schedule_initial(&mut self) {
        for i in 0..self.nodes.len() {
            self.queue.push(Time::ZERO, Event::Start(NodeId(i as u32)));
        }
        for (i, f) in self.schedule.iter().enumerate() {
            self.queue.push(f.at, Event::Fault { index: i as u32 });
        }
        for (i, r) in self.scenario.requests.iter().enumerate() {
            self.queue.push(Time::from_ms(r.at_ms), Event::Operator { index: i as u32 });
        }
        let start = Time::from_ms(self.scenario.workload.start_ms);
        match self.scenario.workload.mode {
            WorkloadMode::Closed => {
                for c in 0..self.clients.len() {
                    self.queue.push(start, Event::ClientNext { client: c as u32 });
                }
            }
            WorkloadMode::Open => {
                if !self.clients.is_empty() {
                    self.queue.push(start, Event::Arrival);
                }
            }
        }
    }

    /// Runs to the end (or to a limit, or to the first violation) and reports.
    pub fn run(mut self) -> RunReport {
        self.run_until(self.end);
        self.finish()
    }

    /// Handles every event up to and including true time `until` (capped at the end of the
    /// run). Returns false once the run has stopped: a violation, or a limit hit.
    pub fn run_until(&mut self, until: Time) -> bool {
        let until = until.min(self.end);
        let max_events = self.scenario.limits.max_events;
        let max_queue = self.scenario.limits.max_queue as usize;
        if self.stopped() {
            return false;
        }
        while let Some(t) = self.queue.peek_time() {
            if t > until {
                break;
            }
            let (t, seq, ev) = self.queue.pop_with_seq().expect("peeked");
            debug_assert!(t >= self.now, "time went backwards");
            self.now = t;
            self.step(ev, seq);
            if !self.violations.is_empty() {
                return false;
            }
            if self.stats.events >= max_events {
                self.unknown = Some(format!("stopped at limits.max_events = {max_events} before the end of the run"));
                return false;
            }
            if self.queue.len() > max_queue {
                self.unknown = Some(format!("stopped: more than limits.max_queue = {max_queue} events queued"));
                return false;
            }
            if self.queue.exhausted() {
                self.unknown = Some("stopped: the event queue's 2^36 sequence numbers are used up".to_string());
                return false;
            }
            self.steps += 1;
            if self.steps.is_multiple_of(WATCH_EVERY) {
                if let Some(w) = self.watchdog.as_mut() {
                    let progress = Progress { events: self.stats.events, now: self.now, end: self.end };
                    if let Some(reason) = w(progress) {
                        self.unknown = Some(reason);
                        return false;
                    }
                }
            }
        }
        self.now = self.now.max(until);
        true
    }

    fn stopped(&self) -> bool {
        !self.violations.is_empty() || self.unknown.is_some()
    }

    /// True time now.
    pub fn now(&self) -> Time {
        self.now
    }

    /// The in-memory state of a node (`None` while crashed).
    pub fn node(&self, id: NodeId) -> Option<&P> {
        self.nodes[id.index()].state.as_ref()
    }

    /// What a node has made durable.
    pub fn synced(&self, id: NodeId) -> &P::Durable {
        &self.nodes[id.index()].storage.synced
    }

    /// Whether a node is paused.
    pub fn is_paused(&self, id: NodeId) -> bool {
        self.nodes[id.index()].paused
    }

    /// A node's local clock reading now.
    pub fn local_clock(&self, id: NodeId) -> Time {
        self.clocks[id.index()].local(self.now)
    }

    /// The connectivity matrix in force.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// The client history so far.
    pub fn history(&self) -> &History<P::Input, P::Output> {
        &self.history
    }

    /// The fault schedule this run follows (explicit faults and the nemesis's draws).
    pub fn schedule(&self) -> &[FaultEvent] {
        &self.schedule
    }

    /// Handles one popped event; `seq` is its place among the events of its time.
    fn step(&mut self, ev: Event<P>, seq: u64) {
        match ev {
            Event::Start(node) => {
                self.record(EventKind::Start, node.0, u32::MAX, 0);
                self.start_node(node, false);
            }
            Event::Deliver { to, from, sent, msg } => {
                let slot = &mut self.nodes[to.index()];
                if slot.state.is_none() || !self.links.connected(from, to) {
                    self.stats.dropped += 1;
                    return;
                }
                if slot.paused {
                    slot.deferred.push(Event::Deliver { to, from, sent, msg });
                    return;
                }
                self.stats.delivered += 1;
                let digest = StableHasher::digest(&msg);
                if self.trace_out.is_some() {
                    self.what = Some(format!("{msg:?}"));
                }
                if let Some(c) = self.coverage.as_mut() {
                    if sent.0 < c.last_fault_ns && c.last_fault_ns <= self.now.0 {
                        // The message's kind: its Debug form up to the first non-identifier
                        // character (a variant name), so contents do not multiply the keys.
                        let text = format!("{msg:?}");
                        let kind: String = text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        c.keys.insert(StableHasher::digest(&(3u8, kind)));
                    }
                }
                self.record_sent(EventKind::Deliver, to.0, from.0, digest, sent.0);
                self.with_node(to, |p, ctx| p.on_message(from, msg, ctx));
            }
            Event::Timer { node, ticket } => {
                let slot = &mut self.nodes[node.index()];
                let Some(pos) = slot.timers.iter().position(|a| a.ticket == ticket) else {
                    return; // cancelled, or re-armed to an earlier time since: not an event
                };
                let armed = &mut slot.timers[pos];
                if (self.now, seq) < (armed.due, armed.seq) {
                    // Re-armed to a later time since it was queued: not an event yet.
                    armed.queued_at = armed.due;
                    self.queue.push_at(armed.due, armed.seq, Event::Timer { node, ticket });
                    return;
                }
                if slot.paused {
                    armed.queued_at = Time::ZERO;
                    slot.deferred.push(Event::Timer { node, ticket });
                    return;
                }
                let ArmedTimer { timer, gen, .. } = slot.timers.swap_remove(pos);
                if self.trace_out.is_some() {
                    self.what = Some(format!("{timer:?}"));
                }
                self.record(EventKind::Timer, node.0, u32::MAX, gen);
                self.with_node(node, |p, ctx| p.on_timer(timer, ctx));
            }
            Event::Request { node, op } => {
                let slot = &mut self.nodes[node.index()];
                if slot.state.is_none() {
                    return; // lost with the crashed node; the client will time out
                }
                if slot.paused {
                    slot.deferred.push(Event::Request { node, op });
                    return;
                }
                let rec = &self.history.ops[op as usize];
                let req = RequestId { client: rec.client, seq: rec.seq };
                let input = rec.input.clone();
                // The digest covers what the handler is given, so a changed workload shows.
                if self.trace_out.is_some() {
                    self.what = Some(format!("{input:?}"));
                }
                self.record(EventKind::Request, node.0, rec.client, StableHasher::digest(&(rec.seq, &input)));
                self.with_node(node, |p, ctx| p.on_request(req, input, ctx));
            }
            Event::Operator { index } => {
                let (sel, input) = self.operator_inputs[index as usize].clone();
                let node = self.resolve(sel);
                let slot = &mut self.nodes[node.index()];
                if slot.state.is_none() || slot.paused {
                    return;
                }
                let req = RequestId { client: u32::MAX, seq: index + 1 };
                if self.trace_out.is_some() {
                    self.what = Some(format!("{input:?}"));
                }
                self.record(EventKind::Request, node.0, u32::MAX, StableHasher::digest(&(index, &input)));
                self.with_node(node, |p, ctx| p.on_request(req, input, ctx));
            }
            Event::Reply { op, from, reply } => self.on_reply(op, from, reply),
            Event::ClientTimeout { op, attempt } => self.on_client_timeout(op, attempt),
            Event::ClientNext { client } => self.invoke(client),
            Event::Arrival => {
                let n = self.clients.len() as u64;
                let client = self.work_rng.below(n) as u32;
                self.invoke(client);
                let rate = self.scenario.workload.rate_per_s.unwrap_or(1).max(1);
                let gap = self.work_rng.exponential(1_000_000_000 / rate).max(1);
                if self.workload_open() {
                    self.queue.push(Time(self.now.0 + gap), Event::Arrival);
                }
            }
            Event::Fault { index } => self.apply_fault(index as usize),
        }
    }

    #[inline]
    fn record(&mut self, kind: EventKind, node: u32, other: u32, digest: u64) {
        self.record_sent(kind, node, other, digest, NOT_SENT);
    }

    /// Records an event; `sent_ns` is the send time of a delivered message ([`NOT_SENT`] for
    /// other events). It is kept for the space-time diagram and the `--trace` file, and left out
    /// of the trace hash, which covers what happens and when, not bookkeeping.
    #[inline]
    fn record_sent(&mut self, kind: EventKind, node: u32, other: u32, digest: u64, sent_ns: u64) {
        self.stats.events += 1;
        self.trace.record(self.now.0, kind, node, other, digest);
        let rec = TraceRecord { time_ns: self.now.0, kind, node, other, digest, sent_ns };
        if let Some(all) = self.all.as_mut() {
            all.push(rec);
        }
        if self.recent.len() < RECENT_EVENTS {
            self.recent.push(rec);
        } else {
            let i = (self.trace.events() as usize - 1) % RECENT_EVENTS;
            self.recent[i] = rec;
        }
        if self.trace_out.is_some() {
            self.flush_line();
            self.line = Some(format!(
                "{{\"seq\":{},\"t_ns\":{},\"kind\":\"{}\",\"node\":{},\"other\":{},\"digest\":\"{:016x}\"{}{}",
                self.trace.events() - 1,
                self.now.0,
                report::kind_name(kind),
                node,
                if other == u32::MAX { "null".to_string() } else { other.to_string() },
                digest,
                if sent_ns == NOT_SENT { String::new() } else { format!(",\"sent_ns\":{sent_ns}") },
                self.what.take().map_or(String::new(), |w| format!(",\"what\":{}", json_str(&w)))
            ));
        }
    }

    fn start_node(&mut self, node: NodeId, restarted: bool) {
        let clock = self.clocks[node.index()];
        let nodes = self.nodes.len() as u32;
        let slot = &mut self.nodes[node.index()];
        debug_assert!(slot.state.is_none());
        let env = Env { id: node, nodes, config: &self.config, bugs: self.bugs, restarted };
        let mut ctx = Ctx::at(node, &clock, self.now, &mut slot.rng, &mut self.out, &mut self.marks);
        let state = P::start(&env, &slot.storage.synced, &mut ctx);
        slot.state = Some(state);
        self.apply_outputs(node);
        self.check(node);
    }

    /// Calls a handler on a live, unpaused node, then applies its outputs and checks.
    #[inline]
    fn with_node(&mut self, node: NodeId, f: impl FnOnce(&mut P, &mut Ctx<P>)) {
        let clock = self.clocks[node.index()];
        let slot = &mut self.nodes[node.index()];
        let state = slot.state.as_mut().expect("handler called on a live node");
        let mut ctx = Ctx::at(node, &clock, self.now, &mut slot.rng, &mut self.out, &mut self.marks);
        f(state, &mut ctx);
        self.apply_outputs(node);
        self.check(node);
    }

    fn apply_outputs(&mut self, node: NodeId) {
        let mut out = std::mem::take(&mut self.out);
        if self.trace_out.is_some() {
            self.trace_outputs(node, &out);
        }
        for cmd in out.drain(..) {
            match cmd {
                Command::Send(to, msg) => self.send(node, to, msg),
                Command::SetTimer(timer, after) => {
                    let delay = self.clocks[node.index()].true_duration(after).max(1);
                    let gen = self.next_timer_gen;
                    self.next_timer_gen += 1;
                    let due = Time(self.now.0.saturating_add(delay));
                    let seq = self.queue.reserve_seq();
                    let timers = &mut self.nodes[node.index()].timers;
                    match timers.iter_mut().find(|a| a.timer == timer) {
                        Some(armed) if armed.queued_at <= due => {
                            // Its queued event pops first and moves to `due` (see ArmedTimer).
                            armed.gen = gen;
                            armed.due = due;
                            armed.seq = seq;
                        }
                        Some(armed) => {
                            *armed = ArmedTimer { timer, gen, due, seq, ticket: gen, queued_at: due };
                            self.queue.push_at(due, seq, Event::Timer { node, ticket: gen });
                        }
                        None => {
                            timers.push(ArmedTimer { timer, gen, due, seq, ticket: gen, queued_at: due });
                            self.queue.push_at(due, seq, Event::Timer { node, ticket: gen });
                        }
                    }
                }
                Command::CancelTimer(timer) => {
                    let timers = &mut self.nodes[node.index()].timers;
                    if let Some(pos) = timers.iter().position(|a| a.timer == timer) {
                        timers.swap_remove(pos);
                    }
                }
                Command::Write(w) => self.nodes[node.index()].storage.unsynced.push(w),
                Command::Sync => {
                    let st = &mut self.nodes[node.index()].storage;
                    for w in st.unsynced.drain(..) {
                        st.synced.apply(&w);
                    }
                }
                Command::Reply(req, reply) => self.send_reply(node, req, reply),
            }
        }
        self.out = out;
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        assert!(to.index() < self.nodes.len(), "{from} sent to {to}, which is not a node");
        self.stats.sent += 1;
        let view = view_of!(self);
        let before = self.violations.len();
        P::observe_send(&mut self.ghost, &view, from, to, &msg, &mut self.violations);
        self.stamp_violations(before);
        if !self.links.connected(from, to) {
            self.stats.dropped += 1;
            return;
        }
        let fate = if from == to { Fate::Once(0) } else { self.params.node_fate(&mut self.net_rng) };
        match fate {
            Fate::Dropped => self.stats.dropped += 1,
            Fate::Once(d) => {
                self.queue.push(network::arrival(self.now, d), Event::Deliver { to, from, sent: self.now, msg })
            }
            Fate::Twice(a, b) => {
                self.stats.duplicated += 1;
                let sent = self.now;
                self.queue.push(network::arrival(self.now, a), Event::Deliver { to, from, sent, msg: msg.clone() });
                self.queue.push(network::arrival(self.now, b), Event::Deliver { to, from, sent, msg });
            }
        }
    }

    fn send_reply(&mut self, from: NodeId, req: RequestId, reply: Reply<P::Output>) {
        if req.client == u32::MAX {
            return; // operator requests are fire-and-forget
        }
        let Some(&op) = self.clients.get(req.client as usize).and_then(|c| c.ops.get(req.seq as usize - 1)) else {
            panic!("{from} replied to {req:?}, which no client issued");
        };
        match self.params.client_fate(&mut self.net_rng) {
            Fate::Dropped => self.stats.dropped += 1,
            Fate::Once(d) | Fate::Twice(d, _) => {
                self.queue.push(network::arrival(self.now, d), Event::Reply { op, from, reply })
            }
        }
    }

    fn workload_open(&self) -> bool {
        let w = &self.scenario.workload;
        let stop = Time::from_ms(w.stop_ms.unwrap_or(self.scenario.duration_ms.0));
        self.now < stop && (self.history.ops.len() as u64) < self.scenario.limits.max_history
    }

    fn invoke(&mut self, client: u32) {
        if !self.workload_open() {
            return;
        }
        let c = &mut self.clients[client as usize];
        if let Some(max) = self.scenario.workload.max_ops_per_client {
            if c.issued >= max {
                return;
            }
        }
        c.issued += 1;
        let seq = c.issued;
        let op = self.history.ops.len() as u32;
        c.ops.push(op);
        let input = P::generate(&self.config, client, &mut self.work_rng);
        self.record(EventKind::Invoke, client, seq, StableHasher::digest(&input));
        self.history.ops.push(Op {
            client,
            seq,
            call_ns: self.now.0,
            return_ns: None,
            input,
            output: None,
            outcome: Outcome::Indeterminate,
            attempts: 0,
        });
        self.op_state.push(OpState { attempt: 0, done: false, maybe_applied: false });
        self.stats.invoked += 1;
        let target = self.clients[client as usize].preferred;
        self.send_attempt(op, target);
    }

    fn send_attempt(&mut self, op: u32, target: NodeId) {
        let st = &mut self.op_state[op as usize];
        st.attempt += 1;
        let attempt = st.attempt;
        self.history.ops[op as usize].attempts = attempt;
        match self.params.client_fate(&mut self.net_rng) {
            Fate::Dropped => self.stats.dropped += 1,
            Fate::Once(d) | Fate::Twice(d, _) => {
                self.queue.push(network::arrival(self.now, d), Event::Request { node: target, op })
            }
        }
        let timeout = Time::from_ms(self.scenario.workload.timeout_ms.0);
        self.queue.push(Time(self.now.0 + timeout.0), Event::ClientTimeout { op, attempt });
    }

    fn on_reply(&mut self, op: u32, from: NodeId, reply: Reply<P::Output>) {
        if self.op_state[op as usize].done {
            return; // a late or duplicate answer
        }
        let client = self.history.ops[op as usize].client;
        match reply {
            Reply::Ok(output) => {
                // The digest covers the answer: a run whose answers change is another trace.
                self.record(EventKind::Reply, client, from.0, StableHasher::digest(&(op, &output)));
                let rec = &mut self.history.ops[op as usize];
                rec.output = Some(output);
                rec.return_ns = Some(self.now.0);
                rec.outcome = Outcome::Ok;
                self.stats.ok += 1;
                self.complete(op);
            }
            Reply::Reject { hint } => {
                self.record(EventKind::Reply, client, from.0, StableHasher::digest(&(op, hint)));
                let next = match (self.clients[client as usize].home, hint) {
                    (Some(home), _) => home,
                    (None, Some(h)) if h.index() < self.nodes.len() => h,
                    _ => self.other_node(from),
                };
                self.clients[client as usize].preferred = next;
                self.retry_or_give_up(op, next, false);
            }
        }
    }

    fn on_client_timeout(&mut self, op: u32, attempt: u32) {
        let st = self.op_state[op as usize];
        if st.done || st.attempt != attempt {
            return;
        }
        let client = self.history.ops[op as usize].client;
        self.record(EventKind::ClientTimeout, client, attempt, u64::from(op));
        let prev = self.clients[client as usize].preferred;
        let next = match self.clients[client as usize].home {
            Some(home) => home,
            None => self.other_node(prev),
        };
        self.clients[client as usize].preferred = next;
        self.retry_or_give_up(op, next, true);
    }

    fn retry_or_give_up(&mut self, op: u32, next: NodeId, timed_out: bool) {
        let st = &mut self.op_state[op as usize];
        st.maybe_applied |= timed_out;
        if st.attempt < self.scenario.workload.attempts.max(1) && self.now < self.end {
            self.send_attempt(op, next);
            return;
        }
        let rec = &mut self.history.ops[op as usize];
        if st.maybe_applied {
            rec.outcome = Outcome::Indeterminate;
            self.stats.indeterminate += 1;
        } else {
            rec.outcome = Outcome::Failed;
            rec.return_ns = Some(self.now.0);
            self.stats.failed += 1;
        }
        self.complete(op);
    }

    fn complete(&mut self, op: u32) {
        self.op_state[op as usize].done = true;
        if self.scenario.workload.mode == WorkloadMode::Closed {
            let client = self.history.ops[op as usize].client;
            let think = self.scenario.workload.think_ms;
            let ms = self.work_rng.range(think.min, think.max);
            self.queue.push(self.now + std::time::Duration::from_millis(ms), Event::ClientNext { client });
        }
    }

    /// A node other than `not`, uniformly (or `not` itself in a cluster of one).
    fn other_node(&mut self, not: NodeId) -> NodeId {
        let n = self.nodes.len() as u64;
        if n == 1 {
            return not;
        }
        let k = self.work_rng.below(n - 1) as u32;
        NodeId(if k >= not.0 { k + 1 } else { k })
    }

    fn resolve(&mut self, sel: NodeSel) -> NodeId {
        let n = self.nodes.len() as u64;
        match sel {
            NodeSel::Id(i) => NodeId(i),
            NodeSel::Random => NodeId(self.fault_rng.below(n) as u32),
            NodeSel::Leader | NodeSel::Follower => {
                let want_leader = sel == NodeSel::Leader;
                let candidates: Vec<NodeId> = (0..n as u32)
                    .map(NodeId)
                    .filter(|id| {
                        let s = &self.nodes[id.index()];
                        s.state.as_ref().is_some_and(|p| p.is_leader() == want_leader)
                    })
                    .collect();
                // Several may believe they lead (old terms): take the lowest id, deterministically.
                match (want_leader, candidates.first()) {
                    (true, Some(&id)) => id,
                    (false, Some(_)) => candidates[self.fault_rng.below(candidates.len() as u64) as usize],
                    (_, None) => NodeId(self.fault_rng.below(n) as u32),
                }
            }
        }
    }

    fn target(&mut self, t: Target) -> NodeId {
        match t {
            Target::Sel(sel) => self.resolve(sel),
            Target::SameAs(i) => self.fault_targets[i].unwrap_or(NodeId(0)),
        }
    }

    fn apply_fault(&mut self, index: usize) {
        if let Some(c) = self.coverage.as_mut() {
            c.last_fault_ns = self.now.0;
        }
        let action = self.schedule[index].action.clone();
        let mut node = None;
        match &action {
            Action::Partition { shape, node: sel, from, to, groups } => {
                let shape = self.resolve_shape(*shape, *sel, from, to, groups, &mut node);
                self.links.apply(&shape);
                self.fault_partitions[index] = Some(shape);
            }
            Action::Heal => self.links.heal(),
            Action::Crash(t) => {
                let id = self.target(*t);
                node = Some(id);
                self.crash(id);
            }
            Action::Restart(t) => {
                let id = self.target(*t);
                node = Some(id);
                if self.nodes[id.index()].state.is_none() {
                    self.start_node(id, true);
                    self.marks.hit("sim.restart");
                }
            }
            Action::Pause(t) => {
                let id = self.target(*t);
                node = Some(id);
                if self.nodes[id.index()].state.is_some() {
                    self.nodes[id.index()].paused = true;
                }
            }
            Action::Resume(t) => {
                let id = self.target(*t);
                node = Some(id);
                let slot = &mut self.nodes[id.index()];
                if slot.paused {
                    slot.paused = false;
                    // Everything that waited is handled now, in arrival order.
                    for ev in std::mem::take(&mut slot.deferred) {
                        self.queue.push(self.now, ev);
                    }
                }
            }
            Action::ClockJump(t, delta) => {
                let id = self.target(*t);
                node = Some(id);
                self.clocks[id.index()].jump(*delta);
            }
            Action::ClockDrift(t, ppm) => {
                let id = self.target(*t);
                node = Some(id);
                // Keep the current reading continuous: only the rate changes from now on.
                self.clocks[id.index()].set_drift(self.now, *ppm);
            }
            Action::Loss(ppm) => self.params.loss_ppm = *ppm,
            Action::RestoreLoss => self.params.loss_ppm = self.base_loss_ppm,
        }
        self.fault_targets[index] = node;
        // The record names the resolved node and digests the concrete action, so an explicit
        // schedule (as shrinking writes it) traces the same as the nemesis draws it replaces.
        let effective = match action {
            Action::RestoreLoss => Action::Loss(self.base_loss_ppm),
            ref a => a.clone(),
        };
        let digest = faults::resolved_digest(&effective, node, self.fault_partitions[index].as_ref());
        let at = match action {
            Action::Partition { .. } => u32::MAX,
            _ => node.map_or(u32::MAX, |n| n.0),
        };
        self.record(EventKind::Fault, at, index as u32, digest);
        self.log_fault(index, &action, node);
    }

    fn log_fault(&mut self, index: usize, action: &Action, node: Option<NodeId>) {
        let spec =
            faults::explicit_spec(self.now, action, node, self.fault_partitions[index].as_ref(), self.base_loss_ppm);
        self.explicit.push(spec);
        self.applied_faults.push(report::AppliedFault {
            at_ns: self.now.0,
            index,
            action: faults::describe(action),
            node: node.map(|n| n.0),
            recovery: action.is_recovery(),
        });
    }

    fn resolve_shape(
        &mut self,
        shape: ShapeSpec,
        sel: Option<NodeSel>,
        from: &[u32],
        to: &[u32],
        groups: &[Vec<u32>],
        node: &mut Option<NodeId>,
    ) -> Partition {
        let n = self.nodes.len() as u32;
        let ids = |v: &[u32]| v.iter().map(|&x| NodeId(x)).collect::<Vec<_>>();
        match shape {
            ShapeSpec::Isolate => {
                let x = self.resolve(sel.unwrap_or(NodeSel::Random));
                *node = Some(x);
                let rest = (0..n).filter(|&i| i != x.0).map(NodeId).collect();
                Partition::Groups(vec![vec![x], rest])
            }
            ShapeSpec::MajorityMinority | ShapeSpec::Halves => {
                let mut all: Vec<NodeId> = (0..n).map(NodeId).collect();
                self.fault_rng.shuffle(&mut all);
                if let Some(s) = sel.filter(|_| shape == ShapeSpec::MajorityMinority) {
                    // Put the chosen node in the minority.
                    let x = self.resolve(s);
                    *node = Some(x);
                    let pos = all.iter().position(|&y| y == x).expect("node in cluster");
                    all.swap(0, pos);
                }
                let k = if shape == ShapeSpec::Halves { (n as usize) / 2 } else { (n as usize - 1) / 2 };
                let k = k.max(1).min(all.len());
                let right = all.split_off(k);
                Partition::Groups(vec![all, right])
            }
            ShapeSpec::Bridge => {
                let b = self.resolve(sel.unwrap_or(NodeSel::Random));
                *node = Some(b);
                if let [left, right] = groups {
                    // Explicit sides (as a shrunk repro writes them).
                    return Partition::Bridge { left: ids(left), right: ids(right), bridge: b };
                }
                let mut rest: Vec<NodeId> = (0..n).filter(|&i| i != b.0).map(NodeId).collect();
                self.fault_rng.shuffle(&mut rest);
                let right = rest.split_off(rest.len() / 2);
                Partition::Bridge { left: rest, right, bridge: b }
            }
            ShapeSpec::Ring => Partition::Ring,
            ShapeSpec::OneWay => Partition::OneWay { from: ids(from), to: ids(to) },
            ShapeSpec::Groups => Partition::Groups(groups.iter().map(|g| ids(g)).collect()),
        }
    }

    fn crash(&mut self, id: NodeId) {
        let torn = self.scenario.disk.torn_writes;
        let slot = &mut self.nodes[id.index()];
        if slot.state.is_none() {
            return;
        }
        slot.state = None;
        slot.paused = false;
        if let Some((timeline, last)) = self.timeline.as_mut() {
            timeline.push((self.now.0, id.0, "down".to_string()));
            last[id.index()] = "down".to_string();
        }
        slot.deferred.clear();
        slot.timers.clear();
        let unsynced = std::mem::take(&mut slot.storage.unsynced);
        if torn && !unsynced.is_empty() {
            // A torn write: some prefix of what was written reached the disk anyway.
            let keep = self.disk_rng.range(0, unsynced.len() as u64) as usize;
            for w in &unsynced[..keep] {
                slot.storage.synced.apply(w);
            }
        }
        self.marks.hit("sim.crash");
    }

    /// Writes the pending `--trace` line, if any. Trace output is best effort: a full disk must
    /// not change the run.
    fn flush_line(&mut self) {
        if let (Some(line), Some(w)) = (self.line.take(), self.trace_out.as_mut()) {
            let _ = writeln!(w, "{line}}}");
        }
    }

    /// Completes the `--trace` line of the event a handler just handled: its outputs and the
    /// node's summary, in `Debug` form.
    #[cold]
    fn trace_outputs(&mut self, node: NodeId, out: &[Command<P>]) {
        let outputs: Vec<String> = out.iter().map(|c| json_str(&format!("{c:?}"))).collect();
        let state = self.nodes[node.index()].state.as_ref().map_or(String::new(), |s| s.summary());
        if let Some(line) = self.line.as_mut() {
            let _ = std::fmt::Write::write_fmt(
                line,
                format_args!(",\"outputs\":[{}],\"state\":{}", outputs.join(","), json_str(&state)),
            );
        }
        self.flush_line();
    }

    fn check(&mut self, node: NodeId) {
        if self.coverage.is_some() {
            let state = {
                let view = view_of!(self);
                P::abstract_state(&view)
            };
            if let Some(c) = self.coverage.as_mut() {
                if state != c.last_state {
                    c.keys.insert(StableHasher::digest(&(1u8, state)));
                    c.keys.insert(StableHasher::digest(&(2u8, c.last_state, state)));
                    c.last_state = state;
                }
            }
        }
        if let Some((timeline, last)) = self.timeline.as_mut() {
            let now = self.nodes[node.index()].state.as_ref().map_or_else(|| "down".to_string(), |s| s.summary());
            if now != last[node.index()] {
                timeline.push((self.now.0, node.0, now.clone()));
                last[node.index()] = now;
            }
        }
        let view = view_of!(self);
        let before = self.violations.len();
        P::check_step(&mut self.ghost, &view, node, &mut self.violations);
        self.stamp_violations(before);
    }

    fn stamp_violations(&mut self, before: usize) {
        if self.violations.len() > before {
            for v in &mut self.violations[before..] {
                v.at_ns = self.now.0;
                v.at_ms = self.now.as_ms();
            }
            self.violations.truncate(MAX_VIOLATIONS);
        }
    }

    /// Ends the run: end-of-run checks (if the run got to its end), verdict and report.
    pub fn finish(mut self) -> RunReport {
        self.flush_line();
        let end_reached = !self.stopped() && self.now >= self.end;
        if end_reached {
            // Pending operations stay indeterminate: they may yet take effect.
            for (i, st) in self.op_state.iter().enumerate() {
                if !st.done {
                    self.stats.indeterminate += 1;
                    self.history.ops[i].outcome = Outcome::Indeterminate;
                }
            }
            let view = view_of!(self);
            let mut end_violations = Vec::new();
            if self.scenario.checks.history {
                crate::lin::take_effort();
                crate::lin::request_export(self.export);
                if let Some(reason) = P::check_end(&mut self.ghost, &view, &self.history, &mut end_violations) {
                    self.unknown = Some(reason);
                }
                self.history_check = crate::lin::take_effort();
                self.exported = crate::lin::take_export();
            }
            for mut v in end_violations {
                v.at_ns = self.now.0;
                v.at_ms = self.now.as_ms();
                self.violations.push(v);
            }
        } else {
            for (i, st) in self.op_state.iter().enumerate() {
                if !st.done {
                    self.stats.indeterminate += 1;
                    self.history.ops[i].outcome = Outcome::Indeterminate;
                }
            }
        }
        let last_heal = faults::last_fault_time(&self.schedule);
        let mut report = report::build(report::Inputs {
            scenario: &self.scenario,
            protocol: P::NAME,
            seed: self.seed,
            bugs: self.bugs.names().into_iter().map(String::from).collect(),
            violations: std::mem::take(&mut self.violations),
            unknown: self.unknown.take(),
            trace_hash: self.trace.hex(),
            counters: self.stats,
            sim_time: self.now,
            marks: std::mem::take(&mut self.marks),
            faults: std::mem::take(&mut self.applied_faults),
            last_heal,
            ops: self
                .history
                .ops
                .iter()
                .zip(&self.op_state)
                .map(|(o, st)| report::OpTiming {
                    client: o.client,
                    call_ns: o.call_ns,
                    return_ns: o.return_ns,
                    outcome: o.outcome,
                    pending: !st.done,
                })
                .collect(),
            check_liveness: end_reached,
        });
        let mut recent = std::mem::take(&mut self.recent);
        let total = self.trace.events() as usize;
        if total > RECENT_EVENTS {
            recent.rotate_left(total % RECENT_EVENTS);
        }
        report.recent = recent;
        report.history_check = self.history_check.take();
        report.history = std::mem::take(&mut self.exported);
        report.trace = self.all.take().unwrap_or_default();
        report.timeline = self.timeline.take().map(|(t, _)| t).unwrap_or_default();
        report.coverage = self.coverage.take().map(|c| c.keys.into_iter().collect()).unwrap_or_default();
        report.explicit_faults = std::mem::take(&mut self.explicit);
        if report.verdict != Verdict::Pass {
            // Kept for failure reports only: converting a long history costs as much as a run.
            report.history_json = serde_json::to_value(&self.history).ok();
        }
        report
    }
}

/// What guided search collects during a run.
#[derive(Debug, Default)]
struct CoverageState {
    keys: std::collections::BTreeSet<u64>,
    last_state: u64,
    last_fault_ns: u64,
}

/// One timeline entry: (true time ns, node, its summary from then on).
pub type TimelineEntry = (u64, u32, String);

/// `s` as a JSON string literal.
fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}
