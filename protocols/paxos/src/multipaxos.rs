//! Multi-Paxos: a distinguished leader sequences client commands into a log of Paxos instances,
//! and every replica applies the chosen log to a key-value store.
//!
//! - **Election = phase 1 for all slots at once.** A node that has not heard from a leader for a
//!   randomized election time-out picks a ballot above every round it has seen and sends
//!   `Prepare(ballot, from_slot)`, `from_slot` being its first slot not known chosen. Each
//!   acceptor promises the ballot for *every* slot and reports what it accepted from `from_slot`
//!   on. With a majority of promises (matched to the ballot) the candidate leads: in each slot from
//!   `from_slot` to the highest reported it re-proposes the highest-ballot reported value, and fills
//!   holes with no-ops.
//! - **Phase 2 per slot, pipelined.** The leader proposes each new command in the next slot, with
//!   up to `window` slots in flight; a majority of `Accepted` for the leader's ballot chooses the
//!   slot, and the leader tells every replica (`Learn`).
//! - **Catch-up.** Heartbeats carry the leader's chosen prefix; a replica behind asks for the
//!   missing entries.
//! - **Exactly once.** Commands carry the client's request id; the store applies each id once and
//!   answers a retry from its session table.
//!
//! Acceptors sync their promise and accepted entries before replying; learned entries are written
//! too (unsynced, a cache) so a restarted replica need not relearn the whole log.

use crate::acceptor::{Acceptor, AcceptorWrite};
use crate::ballot::{majority, Ballot, NodeSet};
use crate::ghost::{self, ConsensusGhost, Note};
use crate::kv::{Entry, KvAnswer, KvCmd, KvStore};
use faultline_sim::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// The client history is linearizable as a key-value store.
pub const LINEARIZABLE: &str = "multipaxos.linearizable";

/// Settings from the scenario's `[config]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultiPaxosConfig {
    /// Keys are drawn from `0..keys`.
    pub keys: u8,
    /// Percentage of gets in the workload.
    pub get_percent: u64,
    /// Percentage of puts.
    pub put_percent: u64,
    /// Percentage of compare-and-sets (the rest are appends).
    pub cas_percent: u64,
    /// Put and compare-and-set tokens are drawn from `0..small_values`, so swaps succeed.
    pub small_values: u32,
    /// Leader heartbeat and retransmission period (local ms).
    pub tick_ms: u64,
    /// A follower that hears no leader for `election_ms` plus a random jitter of up to
    /// `election_jitter_ms` stands for election.
    pub election_ms: u64,
    /// See `election_ms`.
    pub election_jitter_ms: u64,
    /// Most slots a leader has in flight (proposed, not yet chosen).
    pub window: usize,
    /// Most entries sent in answer to one catch-up request.
    pub catchup_batch: u64,
}

impl Default for MultiPaxosConfig {
    fn default() -> Self {
        MultiPaxosConfig {
            keys: 3,
            get_percent: 25,
            put_percent: 15,
            cas_percent: 15,
            small_values: 4,
            tick_ms: 10,
            election_ms: 60,
            election_jitter_ms: 60,
            window: 16,
            catchup_batch: 64,
        }
    }
}

/// Messages of Multi-Paxos.
#[derive(Clone, Debug, Hash)]
pub enum MultiMsg {
    /// Phase 1a for every slot from `from_slot` on.
    Prepare {
        /// The candidate's ballot.
        ballot: Ballot,
        /// First slot the candidate does not know chosen.
        from_slot: u64,
    },
    /// Phase 1b: the promise, with every proposal accepted from `from_slot` on.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// `(slot, ballot, entry)` accepted.
        accepted: Vec<(u64, Ballot, Entry)>,
    },
    /// Phase 2a for one slot.
    Accept {
        /// The leader's ballot.
        ballot: Ballot,
        /// The slot.
        slot: u64,
        /// The entry proposed.
        entry: Entry,
    },
    /// Phase 2b, to the leader.
    Accepted {
        /// The ballot accepted.
        ballot: Ballot,
        /// The slot.
        slot: u64,
    },
    /// A refusal: the acceptor promised a higher ballot.
    Nack {
        /// The ballot refused.
        ballot: Ballot,
        /// The acceptor's promise.
        promised: Ballot,
    },
    /// A chosen entry, from the leader to a replica.
    Learn {
        /// The slot.
        slot: u64,
        /// The entry chosen there.
        entry: Entry,
    },
    /// The leader is alive; its chosen prefix is `chosen`.
    Heartbeat {
        /// The leader's ballot.
        ballot: Ballot,
        /// Every slot below this is chosen and known to the leader.
        chosen: u64,
    },
    /// A replica asks for chosen entries from `from_slot` on.
    CatchUp {
        /// First slot the replica lacks.
        from_slot: u64,
    },
}

/// The only timer: a periodic tick (heartbeats, retransmissions, election time-outs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick;

/// What a node keeps on disk.
#[derive(Clone, Debug, Default)]
pub struct MultiDisk {
    /// The acceptor (synced before every reply).
    pub acceptor: Acceptor<Entry>,
    /// Entries learned chosen (a cache, synced along with acceptor writes).
    pub chosen: Vec<Option<Entry>>,
}

/// One durable write.
#[derive(Clone, Copy, Debug)]
pub enum MultiWrite {
    /// An acceptor change.
    Acceptor(AcceptorWrite<Entry>),
    /// `entry` is chosen in `slot`.
    Chosen {
        /// The slot.
        slot: u64,
        /// The entry.
        entry: Entry,
    },
}

impl Durable for MultiDisk {
    type Write = MultiWrite;
    fn apply(&mut self, w: &MultiWrite) {
        match w {
            MultiWrite::Acceptor(a) => self.acceptor.apply(a),
            MultiWrite::Chosen { slot, entry } => {
                let i = *slot as usize;
                if self.chosen.len() <= i {
                    self.chosen.resize(i + 1, None);
                }
                self.chosen[i] = Some(*entry);
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate,
    Leader,
}

/// The planted bugs switched on, read once at start.
#[derive(Clone, Copy, Debug, Default)]
struct Mutations {
    no_sync: bool,
    own_value: bool,
    ballot_no_node: bool,
    skip_phase1: bool,
    no_dedup: bool,
    accept_no_promise: bool,
    cas_swapped: bool,
}

impl Mutations {
    fn of(bugs: &Bugs) -> Mutations {
        Mutations {
            no_sync: bugs.has("multipaxos.no-sync"),
            own_value: bugs.has("multipaxos.own-value"),
            ballot_no_node: bugs.has("multipaxos.ballot-no-node"),
            skip_phase1: bugs.has("multipaxos.skip-phase1"),
            no_dedup: bugs.has("multipaxos.no-dedup"),
            accept_no_promise: bugs.has("multipaxos.accept-no-promise"),
            cas_swapped: bugs.has("multipaxos.cas-swapped"),
        }
    }
}

/// One node of Multi-Paxos: acceptor, replica and (sometimes) leader.
#[derive(Debug)]
pub struct MultiPaxos {
    id: NodeId,
    nodes: u32,
    config: MultiPaxosConfig,
    bugs: Mutations,
    acceptor: Acceptor<Entry>,
    /// Replica: entries learned chosen, by slot.
    log: Vec<Option<Entry>>,
    /// Replica: every slot below this is learned and applied.
    applied: u64,
    kv: KvStore,
    /// Highest round seen in any ballot.
    round_seen: u64,
    /// The node believed to lead, for client redirects.
    leader_hint: Option<NodeId>,
    /// Local time at which a follower stands for election.
    election_deadline: Time,
    role: Role,
    /// This node's ballot as candidate or leader.
    ballot: Ballot,
    /// Candidate: acceptors that promised.
    promises: NodeSet,
    /// Candidate: first slot asked about.
    from_slot: u64,
    /// Candidate: highest-ballot proposal reported per slot.
    reported: BTreeMap<u64, (Ballot, Entry)>,
    /// Leader: next free slot.
    next_slot: u64,
    /// Leader: proposed, not yet chosen, with the acceptors that accepted.
    inflight: BTreeMap<u64, (Entry, NodeSet)>,
    /// Leader: commands waiting for room in the window.
    queue: VecDeque<Entry>,
    /// Requests to answer once their command is applied here.
    waiting: Vec<RequestId>,
    /// What this step did, for the checker.
    journal: Vec<Note<Entry>>,
}

/// Ghost state of the Multi-Paxos checker.
#[derive(Debug, Default)]
pub struct MultiGhost {
    consensus: ConsensusGhost<Entry>,
}

impl MultiGhost {
    /// The entry chosen in `slot`, if any.
    pub fn chosen(&self, slot: u64) -> Option<Entry> {
        self.consensus.chosen(slot).map(|(_, e)| e)
    }
}

impl MultiPaxos {
    /// Every slot below this is learned and applied here.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The entry learned in `slot`, if any.
    pub fn learned(&self, slot: u64) -> Option<Entry> {
        self.log.get(slot as usize).copied().flatten()
    }

    /// The acceptor's state.
    pub fn acceptor(&self) -> &Acceptor<Entry> {
        &self.acceptor
    }

    fn quorum(&self) -> u32 {
        majority(self.nodes)
    }

    fn broadcast(&self, msg: &MultiMsg, ctx: &mut Ctx<Self>) {
        for to in 0..self.nodes {
            ctx.send(NodeId(to), msg.clone());
        }
    }

    fn persist(&mut self, w: AcceptorWrite<Entry>, ctx: &mut Ctx<Self>) {
        self.acceptor.apply(&w);
        if !self.bugs.no_sync {
            ctx.write(MultiWrite::Acceptor(w));
            ctx.sync();
        }
    }

    fn see(&mut self, ballot: Ballot) {
        self.round_seen = self.round_seen.max(ballot.round);
    }

    fn reset_election(&mut self, ctx: &mut Ctx<Self>) {
        let jitter = ctx.rng().range(0, self.config.election_jitter_ms);
        self.election_deadline = ctx.now() + Duration::from_millis(self.config.election_ms + jitter);
    }

    /// Gives up candidacy or leadership: a higher ballot is about.
    fn step_down(&mut self, ctx: &mut Ctx<Self>) {
        if self.role == Role::Leader {
            ctx.sometimes("multipaxos.leader-deposed");
        }
        self.role = Role::Follower;
        self.inflight.clear();
        // Queued commands were never proposed: they will not take effect.
        for entry in self.queue.drain(..) {
            if let Entry::Cmd(req, _) = entry {
                self.waiting.retain(|r| *r != req);
                ctx.reject(req, None);
            }
        }
    }

    /// Notes a message from `from` carrying a leader's `ballot` (accept or heartbeat).
    fn heard_leader(&mut self, from: NodeId, ballot: Ballot, ctx: &mut Ctx<Self>) {
        if ballot < self.acceptor.promised {
            return; // a deposed leader
        }
        if ballot > self.ballot && self.role != Role::Follower {
            self.step_down(ctx);
        }
        self.leader_hint = Some(from);
        if from != self.id {
            self.reset_election(ctx);
        }
    }

    fn stand_for_election(&mut self, ctx: &mut Ctx<Self>) {
        self.step_down(ctx);
        self.round_seen += 1;
        let node = if self.bugs.ballot_no_node { 0 } else { self.id.0 };
        self.ballot = Ballot::new(self.round_seen, node);
        self.role = Role::Candidate;
        self.promises = NodeSet::default();
        self.reported.clear();
        self.from_slot = self.applied;
        self.leader_hint = None;
        self.reset_election(ctx);
        ctx.sometimes("multipaxos.election");
        if self.bugs.skip_phase1 && self.round_seen > 1 {
            // The mutation: a fail-over leader trusts its own log and proposes at once.
            return self.lead(ctx);
        }
        self.broadcast(&MultiMsg::Prepare { ballot: self.ballot, from_slot: self.from_slot }, ctx);
    }

    fn lead(&mut self, ctx: &mut Ctx<Self>) {
        self.role = Role::Leader;
        self.leader_hint = Some(self.id);
        ctx.sometimes("multipaxos.leader-elected");
        let top = self.reported.keys().next_back().map_or(0, |s| s + 1);
        self.next_slot = self.applied.max(top).max(self.from_slot).max(self.log.len() as u64);
        for slot in self.from_slot..self.next_slot {
            let entry = match (self.learned(slot), self.reported.get(&slot)) {
                (Some(e), _) => e,
                (None, Some(&(_, e))) => e,
                (None, None) => {
                    ctx.sometimes("multipaxos.hole-filled");
                    Entry::Noop
                }
            };
            self.propose(slot, entry, ctx);
        }
        self.reported.clear();
        self.fill_window(ctx);
        self.broadcast(&MultiMsg::Heartbeat { ballot: self.ballot, chosen: self.applied }, ctx);
    }

    fn propose(&mut self, slot: u64, entry: Entry, ctx: &mut Ctx<Self>) {
        self.inflight.insert(slot, (entry, NodeSet::default()));
        self.broadcast(&MultiMsg::Accept { ballot: self.ballot, slot, entry }, ctx);
    }

    fn fill_window(&mut self, ctx: &mut Ctx<Self>) {
        let window = self.config.window.max(1);
        // `lead` re-proposes every unknown slot at once, which may exceed the window; new
        // commands only ever fill it up to the limit.
        let limit = window.max(self.inflight.len());
        while self.inflight.len() < window {
            let Some(entry) = self.queue.pop_front() else { break };
            let slot = self.next_slot;
            self.next_slot += 1;
            self.propose(slot, entry, ctx);
        }
        assert!(self.inflight.len() <= limit, "{} slots in flight, window {window}", self.inflight.len());
    }

    /// A candidate or leader whose own acceptor promised a higher ballot can no longer win or
    /// choose anything at its ballot: it must have stepped down in the same step.
    fn assert_stepped_down(&self) {
        assert!(
            self.role == Role::Follower || self.acceptor.promised <= self.ballot,
            "{} is {:?} at ballot {} although its acceptor promised {}",
            self.id,
            self.role,
            self.ballot,
            self.acceptor.promised
        );
    }

    fn learn(&mut self, slot: u64, entry: Entry, ctx: &mut Ctx<Self>) {
        let i = slot as usize;
        if self.log.len() <= i {
            self.log.resize(i + 1, None);
        }
        if self.log[i].is_some() {
            return;
        }
        self.log[i] = Some(entry);
        self.journal.push(Note::Learned { slot, value: entry });
        ctx.write(MultiWrite::Chosen { slot, entry });
        while let Some(Some(e)) = self.log.get(self.applied as usize).copied() {
            self.applied += 1;
            self.execute(e, ctx);
        }
    }

    fn execute(&mut self, entry: Entry, ctx: &mut Ctx<Self>) {
        let Entry::Cmd(req, op) = entry else { return };
        let waiter = self.waiting.iter().position(|r| *r == req);
        let answer = self.kv.apply(req, op, !self.bugs.no_dedup, waiter.is_some());
        if self.kv.applied_again() {
            ctx.sometimes("multipaxos.duplicate-applied");
        }
        if let Some(pos) = waiter {
            self.waiting.swap_remove(pos);
            if let Some(answer) = answer {
                ctx.reply(req, answer);
            }
        }
    }

    fn on_promise(&mut self, from: NodeId, ballot: Ballot, accepted: Vec<(u64, Ballot, Entry)>, ctx: &mut Ctx<Self>) {
        if self.role != Role::Candidate || ballot != self.ballot {
            return;
        }
        if !self.promises.insert(from.0) {
            return;
        }
        if !self.bugs.own_value {
            for (slot, b, e) in accepted {
                if slot < self.from_slot {
                    continue;
                }
                match self.reported.get(&slot) {
                    Some(&(best, _)) if best >= b => {}
                    _ => {
                        self.reported.insert(slot, (b, e));
                    }
                }
            }
        }
        if self.promises.len() >= self.quorum() {
            self.lead(ctx);
        }
    }

    fn on_accepted(&mut self, from: NodeId, ballot: Ballot, slot: u64, ctx: &mut Ctx<Self>) {
        if self.role != Role::Leader || ballot != self.ballot {
            return;
        }
        let quorum = self.quorum();
        let Some((entry, acks)) = self.inflight.get_mut(&slot) else { return };
        acks.insert(from.0);
        if acks.len() < quorum {
            return;
        }
        let entry = *entry;
        self.inflight.remove(&slot);
        self.learn(slot, entry, ctx);
        for to in 0..self.nodes {
            if to != self.id.0 {
                ctx.send(NodeId(to), MultiMsg::Learn { slot, entry });
            }
        }
        self.fill_window(ctx);
    }

    fn on_tick(&mut self, ctx: &mut Ctx<Self>) {
        match self.role {
            Role::Leader => {
                for to in 0..self.nodes {
                    if to != self.id.0 {
                        ctx.send(NodeId(to), MultiMsg::Heartbeat { ballot: self.ballot, chosen: self.applied });
                    }
                }
                // Retransmit what is still in flight to the acceptors that did not accept it.
                for (&slot, &(entry, acks)) in &self.inflight {
                    for to in 0..self.nodes {
                        if !acks.contains(to) {
                            ctx.send(NodeId(to), MultiMsg::Accept { ballot: self.ballot, slot, entry });
                        }
                    }
                }
            }
            Role::Candidate | Role::Follower => {
                if ctx.now() >= self.election_deadline {
                    self.stand_for_election(ctx);
                } else if self.role == Role::Candidate {
                    let prepare = MultiMsg::Prepare { ballot: self.ballot, from_slot: self.from_slot };
                    for to in 0..self.nodes {
                        if !self.promises.contains(to) {
                            ctx.send(NodeId(to), prepare.clone());
                        }
                    }
                }
            }
        }
        ctx.set_timer(Tick, Duration::from_millis(self.config.tick_ms));
    }
}

impl Protocol for MultiPaxos {
    const NAME: &'static str = "multipaxos";
    const BUGS: &'static [BugInfo] = &[
        BugInfo {
            name: "multipaxos.no-sync",
            breaks: "acceptors keep promises and accepted proposals only in memory: a restart forgets its promises",
            caught_by: ghost::PROMISE_MONOTONIC,
            scenarios: &["multipaxos-crash"],
        },
        BugInfo {
            name: "multipaxos.own-value",
            breaks: "a new leader ignores the proposals its promise quorum reported and fills every slot with no-ops",
            caught_by: ghost::CHOSEN_STABLE,
            scenarios: &["multipaxos-failover"],
        },
        BugInfo {
            name: "multipaxos.ballot-no-node",
            breaks: "ballots are bare rounds without the proposer id, so two leaders can share one",
            caught_by: ghost::BALLOT_UNIQUE,
            scenarios: &["multipaxos-partitions"],
        },
        BugInfo {
            name: "multipaxos.skip-phase1",
            breaks: "a leader elected after a fail-over skips phase 1 and proposes from its own log",
            caught_by: ghost::CHOSEN_STABLE,
            scenarios: &["multipaxos-failover"],
        },
        BugInfo {
            name: "multipaxos.no-dedup",
            breaks: "commands are not deduplicated by request id: a retried command is proposed and applied again",
            caught_by: LINEARIZABLE,
            scenarios: &["multipaxos-lossy"],
        },
        BugInfo {
            name: "multipaxos.accept-no-promise",
            breaks: "an acceptor accepts a ballot above its promise without raising the promise",
            caught_by: ghost::ACCEPTED_LE_PROMISED,
            scenarios: &["multipaxos-failover"],
        },
        BugInfo {
            name: "multipaxos.cas-swapped",
            breaks: "the leader proposes a compare-and-set with its expected and new values swapped",
            caught_by: ghost::VALIDITY,
            scenarios: &["multipaxos-steady"],
        },
    ];
    const MARKS: &'static [&'static str] = &[
        "multipaxos.catch-up",
        "multipaxos.duplicate-applied",
        "multipaxos.election",
        "multipaxos.hole-filled",
        "multipaxos.leader-deposed",
        "multipaxos.leader-elected",
        "multipaxos.preempted",
        "multipaxos.retry-answered",
    ];

    type Config = MultiPaxosConfig;
    type Msg = MultiMsg;
    type Timer = Tick;
    type Durable = MultiDisk;
    type Input = KvCmd;
    type Output = KvAnswer;
    type Ghost = MultiGhost;

    fn validate(c: &MultiPaxosConfig, nodes: u32) -> Result<(), faultline_sim::protocol::ConfigError> {
        use faultline_sim::validate::{ms, percents, within};
        within("nodes", u64::from(nodes), 1, u64::from(NodeSet::MAX_NODES))?;
        within("keys", u64::from(c.keys), 1, u64::from(u8::MAX))?;
        percents(&[("get_percent", c.get_percent), ("put_percent", c.put_percent), ("cas_percent", c.cas_percent)])?;
        within("small_values", u64::from(c.small_values), 1, u64::from(u32::MAX))?;
        ms("tick_ms", c.tick_ms, 1)?;
        ms("election_ms", c.election_ms, c.tick_ms + 1)?;
        ms("election_jitter_ms", c.election_jitter_ms, 0)?;
        within("window", c.window as u64, 1, 100_000)?;
        within("catchup_batch", c.catchup_batch, 1, 100_000)
    }

    fn start(env: &Env<Self>, disk: &MultiDisk, ctx: &mut Ctx<Self>) -> Self {
        debug_assert!(env.nodes <= NodeSet::MAX_NODES, "validated: at most {} nodes", NodeSet::MAX_NODES);
        let mut node = MultiPaxos {
            id: env.id,
            nodes: env.nodes,
            config: env.config.clone(),
            bugs: Mutations::of(&env.bugs),
            acceptor: disk.acceptor.clone(),
            log: disk.chosen.clone(),
            applied: 0,
            kv: KvStore::default(),
            round_seen: disk.acceptor.promised.round,
            leader_hint: None,
            election_deadline: Time::ZERO,
            role: Role::Follower,
            ballot: Ballot::ZERO,
            promises: NodeSet::default(),
            from_slot: 0,
            reported: BTreeMap::new(),
            next_slot: 0,
            inflight: BTreeMap::new(),
            queue: VecDeque::new(),
            waiting: Vec::new(),
            journal: Vec::new(),
        };
        // Rebuild the state machine from the learned prefix on disk.
        while let Some(Some(e)) = node.log.get(node.applied as usize).copied() {
            node.applied += 1;
            if let Entry::Cmd(req, op) = e {
                node.kv.apply(req, op, !node.bugs.no_dedup, false);
            }
        }
        node.reset_election(ctx);
        ctx.set_timer(Tick, Duration::from_millis(node.config.tick_ms));
        node
    }

    fn on_message(&mut self, from: NodeId, msg: MultiMsg, ctx: &mut Ctx<Self>) {
        self.journal.clear();
        match msg {
            MultiMsg::Prepare { ballot, from_slot } => {
                self.see(ballot);
                match self.acceptor.prepare(ballot) {
                    Ok(w) => {
                        if self.acceptor.promised != ballot {
                            self.persist(w, ctx);
                        }
                        if ballot > self.ballot && self.role != Role::Follower {
                            self.step_down(ctx);
                        }
                        if from != self.id {
                            self.reset_election(ctx);
                        }
                        let accepted = (from_slot..self.acceptor.accepted.len() as u64)
                            .filter_map(|s| self.acceptor.accepted_in(s).map(|(b, e)| (s, b, e)))
                            .collect();
                        ctx.send(from, MultiMsg::Promise { ballot, accepted });
                    }
                    Err(promised) => ctx.send(from, MultiMsg::Nack { ballot, promised }),
                }
            }
            MultiMsg::Promise { ballot, accepted } => {
                self.see(ballot);
                self.on_promise(from, ballot, accepted, ctx);
            }
            MultiMsg::Accept { ballot, slot, entry } => {
                self.see(ballot);
                match self.acceptor.accept(slot, ballot, entry, !self.bugs.accept_no_promise) {
                    Ok(w) => {
                        self.persist(w, ctx);
                        self.journal.push(Note::Accepted { slot, ballot, value: entry });
                        self.heard_leader(from, ballot, ctx);
                        ctx.send(from, MultiMsg::Accepted { ballot, slot });
                    }
                    Err(promised) => ctx.send(from, MultiMsg::Nack { ballot, promised }),
                }
            }
            MultiMsg::Accepted { ballot, slot } => {
                self.see(ballot);
                self.on_accepted(from, ballot, slot, ctx);
            }
            MultiMsg::Nack { ballot, promised } => {
                self.see(promised);
                if self.role != Role::Follower && ballot == self.ballot {
                    ctx.sometimes("multipaxos.preempted");
                    self.step_down(ctx);
                    self.reset_election(ctx);
                }
            }
            MultiMsg::Learn { slot, entry } => self.learn(slot, entry, ctx),
            MultiMsg::Heartbeat { ballot, chosen } => {
                self.see(ballot);
                self.heard_leader(from, ballot, ctx);
                if chosen > self.applied && self.leader_hint == Some(from) {
                    ctx.sometimes("multipaxos.catch-up");
                    ctx.send(from, MultiMsg::CatchUp { from_slot: self.applied });
                }
            }
            MultiMsg::CatchUp { from_slot } => {
                let end = self.applied.min(from_slot + self.config.catchup_batch);
                for slot in from_slot..end {
                    let entry = self.log[slot as usize].expect("applied slots are learned");
                    ctx.send(from, MultiMsg::Learn { slot, entry });
                }
            }
        }
        self.assert_stepped_down();
    }

    fn on_timer(&mut self, _timer: Tick, ctx: &mut Ctx<Self>) {
        self.journal.clear();
        self.on_tick(ctx);
        self.assert_stepped_down();
    }

    fn on_request(&mut self, req: RequestId, op: KvCmd, ctx: &mut Ctx<Self>) {
        self.journal.clear();
        if self.role != Role::Leader {
            let hint = self.leader_hint.filter(|&l| l != self.id);
            return ctx.reject(req, hint);
        }
        if !self.bugs.no_dedup {
            if let Some(answer) = self.kv.answered(req) {
                ctx.sometimes("multipaxos.retry-answered");
                return ctx.reply(req, answer.clone());
            }
            if self.waiting.contains(&req) {
                return; // a retry of a command already in the log or the queue
            }
        }
        if !self.waiting.contains(&req) {
            self.waiting.push(req);
        }
        let op = match op {
            // The mutation: the operands are copied into the log entry the wrong way round.
            KvCmd::Cas { key, expected, new } if self.bugs.cas_swapped => {
                KvCmd::Cas { key, expected: new, new: expected }
            }
            op => op,
        };
        self.queue.push_back(Entry::Cmd(req, op));
        self.fill_window(ctx);
    }

    fn generate(config: &MultiPaxosConfig, _client: u32, rng: &mut Prng) -> KvCmd {
        let key = rng.below(u64::from(config.keys.max(1))) as u8;
        let small = u64::from(config.small_values.max(1));
        let roll = rng.below(100);
        let (g, p, c) = (config.get_percent, config.put_percent, config.cas_percent);
        if roll < g {
            KvCmd::Get { key }
        } else if roll < g + p {
            KvCmd::Put { key, value: rng.below(small) as u32 }
        } else if roll < g + p + c {
            KvCmd::Cas { key, expected: rng.below(small) as u32, new: rng.below(small) as u32 }
        } else {
            // Appended tokens are drawn from a large range so each append is recognisable.
            KvCmd::Append { key, value: small as u32 + rng.below(1 << 30) as u32 }
        }
    }

    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    fn check_step(ghost: &mut MultiGhost, view: &View<Self>, node: NodeId, out: &mut Vec<Violation>) {
        let Some(state) = view.node(node).state else { return };
        let n = view.len();
        ghost.consensus.size_for(n);
        ghost.consensus.promise(node, state.acceptor.promised, out);
        for note in &state.journal {
            match *note {
                Note::Accepted { slot, ballot, value } => {
                    ghost.consensus.acceptance(node, slot, ballot, value, state.acceptor.promised, out);
                }
                Note::Learned { slot, value } => ghost.consensus.learned(node, slot, value, out),
                Note::Requested { .. } => {}
            }
        }
    }

    fn observe_send(
        ghost: &mut MultiGhost,
        _view: &View<Self>,
        from: NodeId,
        _to: NodeId,
        msg: &MultiMsg,
        out: &mut Vec<Violation>,
    ) {
        if let MultiMsg::Accept { ballot, slot, entry } = *msg {
            ghost.consensus.proposal(from, slot, ballot, entry, out);
        }
    }

    fn check_end(
        ghost: &mut MultiGhost,
        view: &View<Self>,
        history: &History<KvCmd, KvAnswer>,
        out: &mut Vec<Violation>,
    ) -> Option<String> {
        // Validity: every chosen command is one a client issued, exactly as issued.
        let issued: BTreeMap<RequestId, KvCmd> =
            history.ops.iter().map(|o| (RequestId { client: o.client, seq: o.seq }, o.input)).collect();
        for slot in 0..ghost.consensus.slots() {
            if let Some(Entry::Cmd(req, op)) = ghost.chosen(slot) {
                if issued.get(&req) != Some(&op) {
                    out.push(Violation::new(
                        ghost::VALIDITY,
                        None,
                        format!("slot {slot}: chose {op:?} for {req:?}, which no client issued"),
                    ));
                    return None;
                }
            }
        }
        faultline_kv::check_linearizable(history, |o| Some(&o.input), LINEARIZABLE, view.history_budget, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use faultline_sim::driver::{replies, sends, Driver};
    use faultline_sim::protocol::Reply;

    type Out = Vec<Command<MultiPaxos>>;

    /// Node `id` of five, driven by hand.
    struct Harness(Driver<MultiPaxos>);

    fn put(seq: u32) -> (RequestId, KvCmd) {
        (RequestId { client: 0, seq }, KvCmd::Put { key: 0, value: seq })
    }

    /// The nodes `out` sends a message of kind `kind` to.
    fn sent_to(out: &Out, kind: fn(&MultiMsg) -> bool) -> Vec<u32> {
        sends::<MultiPaxos>(out).filter(|(_, m)| kind(m)).map(|(to, _)| to.0).collect()
    }

    impl Harness {
        fn new(id: u32) -> Harness {
            Harness(Driver::start(NodeId(id), 5, MultiPaxosConfig::default(), &[]).expect("valid"))
        }

        fn node(&self) -> &MultiPaxos {
            self.0.node()
        }

        fn msg(&mut self, from: u32, m: MultiMsg) -> Out {
            self.0.message(NodeId(from), m)
        }

        /// A tick at `ms` of local time.
        fn tick(&mut self, ms: u64) -> Out {
            self.0.timer(Tick, ms)
        }

        fn request(&mut self, (req, op): (RequestId, KvCmd)) -> Out {
            self.0.request(req, op)
        }

        /// Stands at the first election time-out and wins with promises from `voters`.
        fn elect(&mut self, at_ms: u64, voters: &[u32], accepted: Vec<(u64, Ballot, Entry)>) -> Ballot {
            let sent = self.tick(at_ms);
            assert_eq!(self.node().role, Role::Candidate);
            let ballot = self.node().ballot;
            assert_eq!(
                sent_to(&sent, |m| matches!(m, MultiMsg::Prepare { .. })),
                [0, 1, 2, 3, 4],
                "phase 1a goes to all"
            );
            for &v in voters {
                self.msg(v, MultiMsg::Promise { ballot, accepted: accepted.clone() });
            }
            assert!(self.node().is_leader());
            ballot
        }
    }

    /// A leader deposed and re-elected counts, for each slot, only acceptances of its current
    /// ballot: late acknowledgements of its earlier ballot plus fresh ones are no quorum.
    #[test]
    fn a_leader_counts_only_acceptances_of_its_current_ballot() {
        let mut h = Harness::new(0);
        let b1 = h.elect(1_000, &[1, 2, 3], vec![]);
        let (req, op) = put(1);
        h.request((req, op));
        h.msg(1, MultiMsg::Prepare { ballot: Ballot::new(2, 1), from_slot: 0 });
        assert_eq!(h.node().role, Role::Follower, "a higher prepare deposes the leader");
        let b2 = h.elect(2_000, &[2, 3, 4], vec![(0, b1, Entry::Cmd(req, op))]);
        assert!(b2 > Ballot::new(2, 1));
        h.msg(1, MultiMsg::Accepted { ballot: b1, slot: 0 });
        h.msg(2, MultiMsg::Accepted { ballot: b1, slot: 0 });
        h.msg(3, MultiMsg::Accepted { ballot: b2, slot: 0 });
        assert_eq!(h.node().learned(0), None, "two acceptances of b1 and one of b2 choose nothing");
        h.msg(4, MultiMsg::Accepted { ballot: b2, slot: 0 });
        h.msg(2, MultiMsg::Accepted { ballot: b2, slot: 0 });
        assert_eq!(h.node().learned(0), Some(Entry::Cmd(req, op)));
        assert_eq!(h.node().applied(), 1);
    }

    /// A candidate refused by an acceptor with a higher promise gives up and later stands above it.
    #[test]
    fn a_nack_for_the_current_ballot_ends_the_candidacy() {
        let mut h = Harness::new(0);
        h.tick(1_000);
        let b1 = h.node().ballot;
        h.msg(1, MultiMsg::Nack { ballot: Ballot::new(0, 3), promised: Ballot::new(4, 2) });
        assert_eq!(h.node().role, Role::Candidate, "a nack for another ballot changes nothing");
        h.msg(1, MultiMsg::Nack { ballot: b1, promised: Ballot::new(5, 2) });
        assert_eq!(h.node().role, Role::Follower);
        h.tick(3_000);
        assert!(h.node().ballot > Ballot::new(5, 2));
    }

    /// Another candidate's prepare holds back this node's own candidacy (it restarts the election
    /// time-out); a candidate's own prepare, delivered to its own acceptor, does not.
    #[test]
    fn a_prepare_from_another_node_restarts_the_election_time_out() {
        let mut f = Harness::new(1);
        let first = f.node().election_deadline;
        f.0.set_now_ms(200);
        f.msg(3, MultiMsg::Prepare { ballot: Ballot::new(3, 3), from_slot: 0 });
        assert!(f.node().election_deadline > first);

        let mut c = Harness::new(0);
        c.tick(1_000);
        let (ballot, deadline) = (c.node().ballot, c.node().election_deadline);
        c.0.set_now_ms(1_005);
        c.msg(0, MultiMsg::Prepare { ballot, from_slot: 0 });
        assert_eq!(c.node().election_deadline, deadline);
    }

    /// A candidate re-sends phase 1a each tick to the acceptors that have not promised yet.
    #[test]
    fn a_candidate_retransmits_prepare_to_those_that_did_not_promise() {
        let mut h = Harness::new(0);
        h.tick(1_000);
        let ballot = h.node().ballot;
        h.msg(1, MultiMsg::Promise { ballot, accepted: vec![] });
        h.msg(3, MultiMsg::Promise { ballot, accepted: vec![] });
        let sent = h.tick(1_010);
        assert_eq!(sent_to(&sent, |m| matches!(m, MultiMsg::Prepare { .. })), [0, 2, 4]);
    }

    /// Heartbeats: a leader sends them to every other node each tick; a follower takes the sender
    /// as its leader (redirecting clients there) unless the ballot is below its promise, and asks
    /// its leader for what it has not learned.
    #[test]
    fn heartbeats_name_the_leader_and_start_catch_up() {
        let mut h = Harness::new(0);
        h.elect(1_000, &[1, 2, 3], vec![]);
        let sent = h.tick(1_010);
        assert_eq!(sent_to(&sent, |m| matches!(m, MultiMsg::Heartbeat { .. })), [1, 2, 3, 4]);

        let mut f = Harness::new(1);
        f.msg(3, MultiMsg::Prepare { ballot: Ballot::new(3, 3), from_slot: 0 });
        let deadline = f.node().election_deadline;
        // Past any jitter: a reset election deadline is later than the first.
        f.0.set_now_ms(200);
        let sent = f.msg(2, MultiMsg::Heartbeat { ballot: Ballot::new(1, 2), chosen: 4 });
        assert_eq!(f.node().leader_hint, None, "a deposed leader is not followed");
        assert_eq!(sends::<MultiPaxos>(&sent).count(), 0, "nor asked to catch up");
        assert_eq!(f.node().election_deadline, deadline);
        let sent = f.msg(4, MultiMsg::Heartbeat { ballot: Ballot::new(4, 4), chosen: 0 });
        assert_eq!(f.node().leader_hint, Some(NodeId(4)), "a higher ballot than the promise is a new leader");
        assert!(f.node().election_deadline > deadline);
        assert_eq!(sends::<MultiPaxos>(&sent).count(), 0, "nothing to catch up on");
        let sent = f.msg(4, MultiMsg::Heartbeat { ballot: Ballot::new(4, 4), chosen: 3 });
        let asks: Vec<_> = sends::<MultiPaxos>(&sent).collect();
        assert!(matches!(asks[..], [(NodeId(4), MultiMsg::CatchUp { from_slot: 0 })]), "{asks:?}");
        let out = f.request(put(1));
        assert_eq!(replies::<MultiPaxos>(&out), [(put(1).0, &Reply::Reject { hint: Some(NodeId(4)) })]);
    }

    /// A catch-up request is answered with the learned entries from the slot asked for.
    #[test]
    fn catch_up_sends_the_learned_prefix() {
        let mut h = Harness::new(1);
        for slot in 0..3 {
            h.msg(0, MultiMsg::Learn { slot, entry: Entry::Noop });
        }
        assert_eq!(h.node().applied(), 3);
        let sent = h.msg(2, MultiMsg::CatchUp { from_slot: 0 });
        let learns: Vec<(u32, u64)> = sends::<MultiPaxos>(&sent)
            .filter_map(|(to, m)| match m {
                MultiMsg::Learn { slot, .. } => Some((to.0, *slot)),
                _ => None,
            })
            .collect();
        assert_eq!(learns, [(2, 0), (2, 1), (2, 2)]);
    }

    /// A node answers only the requests it accepted itself: an entry learned for another client
    /// is applied but not answered here, and the node's own waiting request stays waiting.
    #[test]
    fn only_waiting_requests_are_answered() {
        let mut h = Harness::new(0);
        h.elect(1_000, &[1, 2, 3], vec![]);
        h.request(put(1));
        h.msg(1, MultiMsg::Prepare { ballot: Ballot::new(9, 1), from_slot: 0 });
        let other = RequestId { client: 7, seq: 1 };
        let out = h.msg(1, MultiMsg::Learn { slot: 0, entry: Entry::Cmd(other, KvCmd::Get { key: 0 }) });
        assert_eq!(replies::<MultiPaxos>(&out), []);
        let out = h.msg(1, MultiMsg::Learn { slot: 1, entry: Entry::Cmd(put(1).0, put(1).1) });
        assert_eq!(replies::<MultiPaxos>(&out), [(put(1).0, &Reply::Ok(KvAnswer::Done))]);
    }

    /// A leader chooses a slot with a majority of acceptances and tells every other replica.
    #[test]
    fn a_chosen_slot_is_announced_to_every_other_replica() {
        let mut h = Harness::new(0);
        let b = h.elect(1_000, &[1, 2, 3], vec![]);
        h.request(put(1));
        h.msg(1, MultiMsg::Accepted { ballot: b, slot: 0 });
        h.msg(2, MultiMsg::Accepted { ballot: b, slot: 0 });
        let out = h.msg(3, MultiMsg::Accepted { ballot: b, slot: 0 });
        assert_eq!(sent_to(&out, |m| matches!(m, MultiMsg::Learn { .. })), [1, 2, 3, 4]);
        assert_eq!(replies::<MultiPaxos>(&out), [(put(1).0, &Reply::Ok(KvAnswer::Done))]);
    }

    #[test]
    fn validation_requires_an_election_time_out_above_the_tick() {
        let c = MultiPaxosConfig { tick_ms: 10, election_ms: 10, ..MultiPaxosConfig::default() };
        assert!(MultiPaxos::validate(&c, 3).is_err(), "election_ms == tick_ms would elect every tick");
        let c = MultiPaxosConfig { tick_ms: 10, election_ms: 11, ..MultiPaxosConfig::default() };
        assert!(MultiPaxos::validate(&c, 3).is_ok());
        assert!(MultiPaxos::validate(&MultiPaxosConfig::default(), NodeSet::MAX_NODES + 1).is_err());
    }

    /// The workload draws the mix the configuration asks for, within half a percentage point
    /// over 100,000 draws (the standard deviation of a 25% share is 0.14 points there), and
    /// values in the ranges the checks rely on.
    #[test]
    fn the_workload_produces_the_configured_mix() {
        let c = MultiPaxosConfig { get_percent: 20, put_percent: 30, cas_percent: 10, ..MultiPaxosConfig::default() };
        let mut rng = Prng::new(7, faultline_sim::prng::Stream::Workload, 0);
        const DRAWS: u64 = 100_000;
        let mut counts = [0u64; 4];
        for _ in 0..DRAWS {
            match MultiPaxos::generate(&c, 0, &mut rng) {
                KvCmd::Get { key } => {
                    assert!(key < c.keys);
                    counts[0] += 1;
                }
                KvCmd::Put { key, value } => {
                    assert!(key < c.keys && value < c.small_values);
                    counts[1] += 1;
                }
                KvCmd::Cas { key, expected, new } => {
                    assert!(key < c.keys && expected < c.small_values && new < c.small_values);
                    counts[2] += 1;
                }
                KvCmd::Append { key, value } => {
                    assert!(key < c.keys);
                    assert!((c.small_values..c.small_values + (1 << 30)).contains(&value), "append token {value}");
                    counts[3] += 1;
                }
            }
        }
        let want = [c.get_percent, c.put_percent, c.cas_percent, 100 - c.get_percent - c.put_percent - c.cas_percent];
        for (kind, (&n, &pct)) in ["get", "put", "cas", "append"].iter().zip(counts.iter().zip(&want)) {
            let share = n as f64 * 100.0 / DRAWS as f64;
            assert!((share - pct as f64).abs() < 0.5, "{kind}: {share:.2}% drawn, {pct}% configured");
        }
    }
}
