//! Single-decree Paxos: every node is a proposer, an acceptor and a learner of one value.
//!
//! A client asks any node to propose a value and is answered with the value chosen — its own or
//! someone else's. The proposer runs the two phases of "Paxos Made Simple":
//!
//! 1. **Prepare.** Pick a ballot `(round, id)` above every round seen, ask every acceptor to
//!    promise it. An acceptor promises iff the ballot is at least its promise, *syncs the promise
//!    to disk*, and reports the highest-ballot proposal it accepted.
//! 2. **Accept.** With promises from a majority — matched to *this* ballot — propose the value of
//!    the highest-ballot proposal they reported, or the proposer's own value if none reported
//!    one. An acceptor accepts iff the ballot is at least its promise, syncs, and tells every
//!    learner.
//!
//! A learner counts `Accepted` messages per ballot; a majority at one ballot means chosen. A
//! proposer pre-empted by a higher ballot backs off for a random time before trying again, so
//! duelling proposers eventually let one another finish.

use crate::acceptor::{Acceptor, AcceptorWrite};
use crate::ballot::{majority, Ballot, NodeSet};
use crate::ghost::{self, ConsensusGhost, Note};
use faultline_sim::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A proposal adopted without a promise quorum that justifies it (Lamport's P2c).
pub const PROPOSAL_SAFE: &str = "paxos.proposal-safe";
/// Every client was answered with the one chosen value, proposed before the first answer.
pub const LINEARIZABLE: &str = "paxos.linearizable";

/// Settings from the scenario's `[config]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaxosConfig {
    /// Client proposals are drawn from `0..values`.
    pub values: u64,
    /// A proposer that has neither learned nor been pre-empted starts a new ballot after
    /// `retry_ms` plus a random jitter of up to `retry_ms` (local time).
    pub retry_ms: u64,
    /// After a pre-emption, wait a random time in `[backoff_min_ms, backoff_max_ms]`, the upper
    /// bound doubled per consecutive pre-emption (at most 16 times).
    pub backoff_min_ms: u64,
    /// See `backoff_min_ms`.
    pub backoff_max_ms: u64,
    /// Attach client `c` to node `c % nodes` (instead of a random node), so that every node
    /// proposes from the start: the most contended duel.
    pub pin_clients: bool,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        PaxosConfig { values: 1000, retry_ms: 40, backoff_min_ms: 2, backoff_max_ms: 20, pin_clients: false }
    }
}

/// A client (or operator) request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaxosInput {
    /// Propose this value; the answer is the value chosen.
    Propose(u64),
    /// Operator only: start a new ballot now, whatever the proposer is doing (for scripted
    /// scenarios that need a proposer to act at an exact time).
    Nudge,
}

/// The answer to a proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaxosOutput {
    /// The value chosen.
    Chosen(u64),
}

/// Messages between proposers, acceptors and learners.
#[derive(Clone, Copy, Debug, Hash)]
pub enum PaxosMsg {
    /// Phase 1a.
    Prepare {
        /// The proposer's ballot.
        ballot: Ballot,
    },
    /// Phase 1b: a promise for `ballot`, with the highest-ballot proposal accepted.
    Promise {
        /// The ballot promised (the one the prepare asked for).
        ballot: Ballot,
        /// The acceptor's accepted proposal, if any.
        accepted: Option<(Ballot, u64)>,
    },
    /// Phase 2a.
    Accept {
        /// The proposer's ballot.
        ballot: Ballot,
        /// The value proposed.
        value: u64,
    },
    /// Phase 2b, sent to every learner.
    Accepted {
        /// The ballot accepted.
        ballot: Ballot,
        /// The value accepted.
        value: u64,
    },
    /// A refusal: the acceptor promised a higher ballot.
    Nack {
        /// The ballot refused.
        ballot: Ballot,
        /// The acceptor's promise.
        promised: Ballot,
    },
}

/// The proposer's only timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaxosTimer {
    /// Start a new ballot (after a time-out or a back-off).
    Retry,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not proposing (nothing to propose, learned, or backing off).
    Idle,
    /// Waiting for promises.
    Prepare,
    /// Waiting for the value to be chosen.
    Accept,
}

/// The planted bugs switched on, read once at start.
#[derive(Clone, Copy, Debug, Default)]
struct Mutations {
    no_sync: bool,
    own_value: bool,
    first_value: bool,
    ballot_no_node: bool,
    stale_replies: bool,
    learner_by_value: bool,
    accept_no_promise: bool,
    no_backoff: bool,
    answer_early: bool,
}

impl Mutations {
    fn of(bugs: &Bugs) -> Mutations {
        Mutations {
            no_sync: bugs.has("paxos.no-sync"),
            own_value: bugs.has("paxos.own-value"),
            first_value: bugs.has("paxos.first-value"),
            ballot_no_node: bugs.has("paxos.ballot-no-node"),
            stale_replies: bugs.has("paxos.stale-replies"),
            learner_by_value: bugs.has("paxos.learner-by-value"),
            accept_no_promise: bugs.has("paxos.accept-no-promise"),
            no_backoff: bugs.has("paxos.no-backoff"),
            answer_early: bugs.has("paxos.answer-early"),
        }
    }
}

/// One node of single-decree Paxos.
#[derive(Debug)]
pub struct Paxos {
    id: NodeId,
    nodes: u32,
    config: PaxosConfig,
    bugs: Mutations,
    /// Acceptor: the durable promise and accepted proposal (slot 0).
    acceptor: Acceptor<u64>,
    /// Proposer: highest round seen in any ballot.
    round_seen: u64,
    /// Proposer: the value a client asked this node to propose.
    own: Option<u64>,
    phase: Phase,
    ballot: Ballot,
    promises: NodeSet,
    /// Highest-ballot proposal reported by the promises of this ballot.
    best: Option<(Ballot, u64)>,
    /// Consecutive pre-emptions, for the back-off.
    preempted: u32,
    backing_off: bool,
    /// Learner: acceptors heard per accepted `(ballot, value)`.
    votes: Vec<(Ballot, u64, NodeSet)>,
    learned: Option<u64>,
    /// Clients waiting for the decision.
    waiting: Vec<RequestId>,
    /// What this step did, for the checker.
    journal: Vec<Note<u64>>,
}

/// An acceptor's promise as the checker saw it: (acceptor, what it had accepted when it promised).
type PromiseReport = (u32, Option<(Ballot, u64)>);

/// Ghost state of the Paxos checker.
#[derive(Debug, Default)]
pub struct PaxosGhost {
    consensus: ConsensusGhost<u64>,
    /// Values clients or the operator asked to propose.
    requested: BTreeSet<u64>,
    /// Values only the operator asked for (not in the client history).
    operator_values: BTreeSet<u64>,
    /// Per ballot, what each promising acceptor had accepted when it promised.
    promises: BTreeMap<Ballot, Vec<PromiseReport>>,
    /// Ballots whose proposal was checked against its promises.
    checked: BTreeSet<Ballot>,
}

impl Paxos {
    /// The value this node learned, if any.
    pub fn learned(&self) -> Option<u64> {
        self.learned
    }

    /// The acceptor's state.
    pub fn acceptor(&self) -> &Acceptor<u64> {
        &self.acceptor
    }

    fn quorum(&self) -> u32 {
        majority(self.nodes)
    }

    fn broadcast(&self, msg: PaxosMsg, ctx: &mut Ctx<Self>) {
        for to in 0..self.nodes {
            ctx.send(NodeId(to), msg);
        }
    }

    /// Makes an acceptor change durable before anything that depends on it is sent.
    fn persist(&mut self, w: AcceptorWrite<u64>, ctx: &mut Ctx<Self>) {
        self.acceptor.apply(&w);
        if !self.bugs.no_sync {
            ctx.write(w);
            ctx.sync();
        }
    }

    fn see(&mut self, ballot: Ballot) {
        self.round_seen = self.round_seen.max(ballot.round);
    }

    fn start_ballot(&mut self, ctx: &mut Ctx<Self>) {
        // A node that learned the decision has nothing left to propose: a new ballot would only
        // re-choose it, forever, and the run would never quiesce.
        assert!(self.learned.is_none(), "{} starts a ballot after learning", self.id);
        self.round_seen += 1;
        let node = if self.bugs.ballot_no_node { 0 } else { self.id.0 };
        self.ballot = Ballot::new(self.round_seen, node);
        self.phase = Phase::Prepare;
        self.promises = NodeSet::default();
        self.best = None;
        self.backing_off = false;
        self.broadcast(PaxosMsg::Prepare { ballot: self.ballot }, ctx);
        let jitter = ctx.rng().range(0, self.config.retry_ms);
        ctx.set_timer(PaxosTimer::Retry, Duration::from_millis(self.config.retry_ms + jitter));
    }

    fn back_off(&mut self, ctx: &mut Ctx<Self>) {
        if self.bugs.no_backoff {
            // The mutation: fight back at once with a higher ballot.
            return self.start_ballot(ctx);
        }
        self.phase = Phase::Idle;
        self.backing_off = true;
        self.preempted = (self.preempted + 1).min(4);
        let max = self.config.backoff_max_ms.max(self.config.backoff_min_ms) << (self.preempted - 1);
        let wait = ctx.rng().range(self.config.backoff_min_ms.min(max), max);
        ctx.set_timer(PaxosTimer::Retry, Duration::from_millis(wait));
    }

    fn learn(&mut self, value: u64, ctx: &mut Ctx<Self>) {
        self.learned = Some(value);
        self.journal.push(Note::Learned { slot: 0, value });
        ctx.sometimes("paxos.learned");
        for req in self.waiting.drain(..) {
            ctx.reply(req, PaxosOutput::Chosen(value));
        }
        self.phase = Phase::Idle;
        ctx.cancel_timer(PaxosTimer::Retry);
    }

    fn on_promise(&mut self, from: NodeId, ballot: Ballot, accepted: Option<(Ballot, u64)>, ctx: &mut Ctx<Self>) {
        // Replies are matched to the ballot they answer: a promise for an older ballot says
        // nothing about what the acceptor accepted since.
        if self.phase != Phase::Prepare || (ballot != self.ballot && !self.bugs.stale_replies) {
            return;
        }
        if !self.promises.insert(from.0) {
            return;
        }
        if let Some(report) = accepted {
            self.best = match self.best {
                Some(best) if self.bugs.first_value || best.0 >= report.0 => Some(best),
                _ => Some(report),
            };
        }
        if self.promises.len() < self.quorum() {
            return;
        }
        let own = self.own.expect("a proposer proposes only with a value to propose");
        let value = match self.best {
            Some((_, v)) if !self.bugs.own_value => {
                if v != own {
                    ctx.sometimes("paxos.adopted-other-value");
                }
                v
            }
            _ => own,
        };
        self.phase = Phase::Accept;
        self.broadcast(PaxosMsg::Accept { ballot: self.ballot, value }, ctx);
        if self.bugs.answer_early {
            // The mutation: tell clients the value is chosen as soon as it is proposed.
            for req in self.waiting.drain(..) {
                ctx.reply(req, PaxosOutput::Chosen(value));
            }
        }
    }

    fn on_accepted(&mut self, from: NodeId, ballot: Ballot, value: u64, ctx: &mut Ctx<Self>) {
        let i = match self.votes.iter().position(|&(b, v, _)| b == ballot && v == value) {
            Some(i) => i,
            None => {
                self.votes.push((ballot, value, NodeSet::default()));
                self.votes.len() - 1
            }
        };
        self.votes[i].2.insert(from.0);
        let count = if self.bugs.learner_by_value {
            NodeSet(self.votes.iter().filter(|e| e.1 == value).fold(0, |m, e| m | e.2 .0)).len()
        } else {
            self.votes[i].2.len()
        };
        if self.learned.is_none() && count >= self.quorum() {
            self.learn(value, ctx);
        }
    }
}

impl Protocol for Paxos {
    const NAME: &'static str = "paxos";
    const BUGS: &'static [BugInfo] = &[
        BugInfo {
            name: "paxos.no-sync",
            breaks: "acceptors keep promises and accepted proposals only in memory: a restart forgets its promises",
            caught_by: ghost::PROMISE_MONOTONIC,
            scenarios: &["paxos-acceptor-restart"],
        },
        BugInfo {
            name: "paxos.own-value",
            breaks: "a proposer proposes its own value even when its promise quorum reported an accepted one",
            caught_by: PROPOSAL_SAFE,
            scenarios: &["paxos-three-ballots", "paxos-dueling"],
        },
        BugInfo {
            name: "paxos.first-value",
            breaks: "a proposer adopts the first reported accepted value, not the highest-ballot one",
            caught_by: PROPOSAL_SAFE,
            scenarios: &["paxos-three-ballots"],
        },
        BugInfo {
            name: "paxos.ballot-no-node",
            breaks: "ballots are bare rounds without the proposer id, so two proposers can share one",
            caught_by: ghost::BALLOT_UNIQUE,
            scenarios: &["paxos-dueling"],
        },
        BugInfo {
            name: "paxos.stale-replies",
            breaks: "promises answering an older ballot are counted toward the current ballot's quorum",
            caught_by: PROPOSAL_SAFE,
            scenarios: &["paxos-chaos"],
        },
        BugInfo {
            name: "paxos.learner-by-value",
            breaks: "a learner counts Accepted messages by value across ballots, not per ballot",
            caught_by: ghost::LEARNED_CHOSEN,
            scenarios: &["paxos-chaos"],
        },
        BugInfo {
            name: "paxos.accept-no-promise",
            breaks: "an acceptor accepts a ballot above its promise without raising the promise",
            caught_by: ghost::ACCEPTED_LE_PROMISED,
            scenarios: &["paxos-chaos"],
        },
        BugInfo {
            name: "paxos.no-backoff",
            breaks: "a pre-empted proposer outbids its rival at once instead of backing off for a random time: \
                     duelling proposers livelock (a liveness finding, never a safety one)",
            caught_by: "sim.liveness",
            scenarios: &["paxos-dueling"],
        },
        BugInfo {
            name: "paxos.answer-early",
            breaks: "a proposer tells its clients a value is chosen when it proposes it (phase 2a), before a majority accepted",
            caught_by: LINEARIZABLE,
            scenarios: &["paxos-dueling"],
        },
    ];
    const MARKS: &'static [&'static str] =
        &["paxos.adopted-other-value", "paxos.learned", "paxos.preempted", "paxos.retry-timeout"];

    type Config = PaxosConfig;
    type Msg = PaxosMsg;
    type Timer = PaxosTimer;
    type Durable = Acceptor<u64>;
    type Input = PaxosInput;
    type Output = PaxosOutput;
    type Ghost = PaxosGhost;

    fn validate(c: &PaxosConfig, nodes: u32) -> Result<(), faultline_sim::protocol::ConfigError> {
        use faultline_sim::validate::{ms, within};
        within("nodes", u64::from(nodes), 1, u64::from(NodeSet::MAX_NODES))?;
        within("values", c.values, 1, u64::from(u32::MAX))?;
        ms("retry_ms", c.retry_ms, 1)?;
        ms("backoff_min_ms", c.backoff_min_ms, 0)?;
        ms("backoff_max_ms", c.backoff_max_ms, c.backoff_min_ms)
    }

    fn start(env: &Env<Self>, disk: &Acceptor<u64>, _ctx: &mut Ctx<Self>) -> Self {
        debug_assert!(env.nodes <= NodeSet::MAX_NODES, "validated: at most {} nodes", NodeSet::MAX_NODES);
        Paxos {
            id: env.id,
            nodes: env.nodes,
            config: env.config.clone(),
            bugs: Mutations::of(&env.bugs),
            acceptor: disk.clone(),
            round_seen: disk.promised.round,
            own: None,
            phase: Phase::Idle,
            ballot: Ballot::ZERO,
            promises: NodeSet::default(),
            best: None,
            preempted: 0,
            backing_off: false,
            votes: Vec::new(),
            learned: None,
            waiting: Vec::new(),
            journal: Vec::new(),
        }
    }

    fn on_message(&mut self, from: NodeId, msg: PaxosMsg, ctx: &mut Ctx<Self>) {
        self.journal.clear();
        match msg {
            PaxosMsg::Prepare { ballot } => {
                self.see(ballot);
                if self.bugs.no_backoff && self.phase != Phase::Idle && ballot > self.ballot && self.learned.is_none() {
                    // The mutation: a proposer that sees a rival ballot outbids it at once.
                    self.start_ballot(ctx);
                }
                match self.acceptor.prepare(ballot) {
                    Ok(w) => {
                        if self.acceptor.promised != ballot {
                            self.persist(w, ctx);
                        }
                        let accepted = self.acceptor.accepted_in(0);
                        ctx.send(from, PaxosMsg::Promise { ballot, accepted });
                    }
                    Err(promised) => ctx.send(from, PaxosMsg::Nack { ballot, promised }),
                }
            }
            PaxosMsg::Promise { ballot, accepted } => {
                self.see(ballot);
                self.on_promise(from, ballot, accepted, ctx);
            }
            PaxosMsg::Accept { ballot, value } => {
                self.see(ballot);
                match self.acceptor.accept(0, ballot, value, !self.bugs.accept_no_promise) {
                    Ok(w) => {
                        self.persist(w, ctx);
                        self.journal.push(Note::Accepted { slot: 0, ballot, value });
                        self.broadcast(PaxosMsg::Accepted { ballot, value }, ctx);
                    }
                    Err(promised) => ctx.send(from, PaxosMsg::Nack { ballot, promised }),
                }
            }
            PaxosMsg::Accepted { ballot, value } => {
                self.see(ballot);
                self.on_accepted(from, ballot, value, ctx);
            }
            PaxosMsg::Nack { ballot, promised } => {
                self.see(promised);
                if self.phase != Phase::Idle && ballot == self.ballot && self.learned.is_none() {
                    ctx.sometimes("paxos.preempted");
                    self.back_off(ctx);
                }
            }
        }
    }

    fn on_timer(&mut self, PaxosTimer::Retry: PaxosTimer, ctx: &mut Ctx<Self>) {
        self.journal.clear();
        self.backing_off = false;
        if self.learned.is_none() && self.own.is_some() {
            if self.phase != Phase::Idle {
                ctx.sometimes("paxos.retry-timeout");
            }
            self.start_ballot(ctx);
        }
    }

    fn on_request(&mut self, req: RequestId, input: PaxosInput, ctx: &mut Ctx<Self>) {
        self.journal.clear();
        let operator = req.client == u32::MAX;
        match input {
            PaxosInput::Propose(value) => {
                self.journal.push(Note::Requested { value, operator });
                if let Some(chosen) = self.learned {
                    if !operator {
                        ctx.reply(req, PaxosOutput::Chosen(chosen));
                    }
                    return;
                }
                if !operator && !self.waiting.contains(&req) {
                    self.waiting.push(req);
                }
                self.own.get_or_insert(value);
                if self.phase == Phase::Idle && !self.backing_off {
                    self.start_ballot(ctx);
                }
            }
            PaxosInput::Nudge => {
                if self.learned.is_none() && self.own.is_some() {
                    self.start_ballot(ctx);
                }
            }
        }
    }

    fn generate(config: &PaxosConfig, _client: u32, rng: &mut Prng) -> PaxosInput {
        PaxosInput::Propose(rng.below(config.values.max(1)))
    }

    fn client_home(config: &PaxosConfig, nodes: u32, client: u32) -> Option<NodeId> {
        config.pin_clients.then(|| NodeId(client % nodes))
    }

    fn is_leader(&self) -> bool {
        self.phase != Phase::Idle
    }

    fn check_step(ghost: &mut PaxosGhost, view: &View<Self>, node: NodeId, out: &mut Vec<Violation>) {
        let Some(state) = view.node(node).state else { return };
        let n = view.len();
        ghost.consensus.size_for(n);
        ghost.consensus.promise(node, state.acceptor.promised, out);
        for note in &state.journal {
            match *note {
                Note::Requested { value, operator } => {
                    ghost.requested.insert(value);
                    if operator {
                        ghost.operator_values.insert(value);
                    }
                }
                Note::Accepted { slot, ballot, value } => {
                    let promised = state.acceptor.promised;
                    if let Some(v) = ghost.consensus.acceptance(node, slot, ballot, value, promised, out) {
                        if !ghost.requested.contains(&v) {
                            out.push(Violation::new(ghost::VALIDITY, Some(node), format!("chose {v}, never proposed")));
                        }
                    }
                }
                Note::Learned { slot, value } => ghost.consensus.learned(node, slot, value, out),
            }
        }
    }

    fn observe_send(
        ghost: &mut PaxosGhost,
        view: &View<Self>,
        from: NodeId,
        _to: NodeId,
        msg: &PaxosMsg,
        out: &mut Vec<Violation>,
    ) {
        match *msg {
            PaxosMsg::Promise { ballot, .. } => {
                // What the acceptor really held when it promised, read from its state rather
                // than from the message.
                let Some(state) = view.node(from).state else { return };
                let reports = ghost.promises.entry(ballot).or_default();
                if reports.iter().all(|r| r.0 != from.0) {
                    reports.push((from.0, state.acceptor.accepted_in(0)));
                }
            }
            PaxosMsg::Accept { ballot, value } => {
                if ghost.checked.insert(ballot) {
                    let reports = ghost.promises.get(&ballot).map_or(&[][..], Vec::as_slice);
                    if !justified(reports, ballot, value, majority(view.len() as u32)) {
                        out.push(Violation::new(
                            PROPOSAL_SAFE,
                            Some(from),
                            format!(
                                "proposed {value} at {ballot}, but no majority of its promises justifies it \
                                 (promises: {reports:?})"
                            ),
                        ));
                    }
                }
                ghost.consensus.proposal(from, 0, ballot, value, out);
            }
            _ => {}
        }
    }

    fn check_end(
        ghost: &mut PaxosGhost,
        _view: &View<Self>,
        history: &History<PaxosInput, PaxosOutput>,
        out: &mut Vec<Violation>,
    ) -> Option<String> {
        let chosen = ghost.consensus.chosen(0).map(|(_, v)| v);
        let mut first_return = u64::MAX;
        for op in history.ok() {
            let Some(PaxosOutput::Chosen(w)) = op.output else { continue };
            first_return = first_return.min(op.return_ns.unwrap_or(u64::MAX));
            if chosen != Some(w) {
                out.push(Violation::new(
                    LINEARIZABLE,
                    None,
                    format!("client {} was told {w} was chosen; the chosen value is {chosen:?}", op.client),
                ));
                return None;
            }
        }
        // A consensus object is linearizable iff the decided value was proposed by an operation
        // that started before the first answer (or by the operator, outside the history).
        if let Some(c) = chosen.filter(|_| first_return != u64::MAX) {
            let proposed_in_time =
                history.ops.iter().any(|op| op.input == PaxosInput::Propose(c) && op.call_ns <= first_return);
            if !proposed_in_time && !ghost.operator_values.contains(&c) {
                out.push(Violation::new(
                    LINEARIZABLE,
                    None,
                    format!("{c} was chosen but no client proposed it before the first answer"),
                ));
            }
        }
        None
    }
}

/// Lamport's P2c for a proposal `(ballot, value)`: some majority of the acceptors that promised
/// `ballot` either accepted nothing below it, or the highest-ballot proposal they accepted
/// below it has `value`. `reports` are (acceptor, accepted proposal when it promised).
fn justified(reports: &[PromiseReport], ballot: Ballot, value: u64, quorum: u32) -> bool {
    // A report at or above the ballot was taken after the decision (a late promise): not a
    // candidate for the quorum the proposer used.
    let below = |r: &Option<(Ballot, u64)>| r.is_none_or(|(b, _)| b < ballot);
    let empty = reports.iter().filter(|r| r.1.is_none()).count() as u32;
    if empty >= quorum {
        return true;
    }
    reports.iter().filter(|r| below(&r.1)).filter_map(|r| r.1).filter(|&(_, v)| v == value).any(|(top, _)| {
        let fits = reports.iter().filter(|r| below(&r.1) && r.1.is_none_or(|(b, _)| b <= top)).count();
        fits as u32 >= quorum
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::driver::{sends, timers, Driver};

    fn proposer(id: u32) -> Driver<Paxos> {
        Driver::start(NodeId(id), 5, PaxosConfig::default(), &[]).expect("valid")
    }

    fn prepares(out: &[Command<Paxos>]) -> usize {
        sends::<Paxos>(out).filter(|(_, m)| matches!(m, PaxosMsg::Prepare { .. })).count()
    }

    fn propose(d: &mut Driver<Paxos>, seq: u32) -> Vec<Command<Paxos>> {
        d.request(RequestId { client: 0, seq }, PaxosInput::Propose(u64::from(seq)))
    }

    /// A preempted proposer waits before its next ballot, up to `backoff_max_ms` the first time
    /// and twice as long after each further preemption (capped at 8 times).
    #[test]
    fn back_off_doubles_from_the_configured_maximum() {
        let c = PaxosConfig::default();
        for id in 0..5 {
            let mut d = proposer(id);
            assert_eq!(prepares(&propose(&mut d, 1)), 5);
            for k in 0..4u32 {
                let nack = PaxosMsg::Nack { ballot: d.node().ballot, promised: Ballot::new(100 + u64::from(k), 4) };
                let out = d.message(NodeId(1), nack);
                let [(PaxosTimer::Retry, wait)] = timers::<Paxos>(&out)[..] else { panic!("{out:?}") };
                let most = c.backoff_max_ms << k.min(3);
                assert!(
                    wait.as_millis() >= u128::from(c.backoff_min_ms) && wait.as_millis() <= u128::from(most),
                    "node {id}, back-off {}: {wait:?} outside [{}, {most}] ms",
                    k + 1,
                    c.backoff_min_ms
                );
                assert_eq!(prepares(&d.timer(PaxosTimer::Retry, 1_000 * u64::from(k + 1))), 5, "then a new ballot");
            }
        }
    }

    /// A proposer runs one ballot at a time: another request during a ballot or a back-off
    /// joins the value already proposed instead of starting a ballot.
    #[test]
    fn a_request_during_a_ballot_or_back_off_starts_none() {
        let mut d = proposer(0);
        assert_eq!(prepares(&propose(&mut d, 1)), 5);
        let ballot = d.node().ballot;
        assert_eq!(prepares(&propose(&mut d, 2)), 0, "in phase 1 already");
        assert_eq!(d.node().ballot, ballot);
        d.message(NodeId(1), PaxosMsg::Nack { ballot, promised: Ballot::new(50, 1) });
        assert_eq!(prepares(&propose(&mut d, 3)), 0, "backing off");
        assert_eq!(d.node().ballot, ballot);
    }

    #[test]
    fn p2c_needs_the_highest_report_of_some_majority() {
        let b = |r, n| Ballot::new(r, n);
        let top = b(4, 0);
        // The three-ballot case: A (1,v), B (3,v), C (2,w); quorum {A, C} must adopt w.
        let ac = [(0, Some((b(1, 0), 1))), (2, Some((b(2, 2), 2)))];
        assert!(justified(&ac, top, 2, 2));
        assert!(!justified(&ac, top, 1, 2));
        let abc = [(0, Some((b(1, 0), 1))), (1, Some((b(3, 1), 1))), (2, Some((b(2, 2), 2)))];
        assert!(justified(&abc, top, 1, 2), "quorum {{A, B}} justifies v");
        assert!(justified(&abc, top, 2, 2), "quorum {{A, C}} justifies w");
        assert!(justified(&[(0, None), (1, None)], top, 9, 2));
        assert!(!justified(&[(0, None), (1, Some((b(1, 1), 3)))], top, 9, 2));
        assert!(!justified(&[(0, None), (1, Some((top, 9)))], top, 9, 2), "a late report does not count");
    }
}
