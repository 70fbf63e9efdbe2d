//! Raft as a faultline [`Protocol`].

use crate::bugs::RAFT_BUGS;
use crate::check::{self, RaftGhost};
use crate::config::RaftConfig;
use crate::message::{RaftInput, RaftMsg};
use crate::node::{Raft, RaftTimer, Role};
use crate::state_machine::StateMachine;
use crate::storage::RaftDisk;
use faultline_sim::prelude::{BugInfo, Ctx, Env, History, NodeId, Prng, Protocol, RequestId, View, Violation};

impl<S: StateMachine> Protocol for Raft<S> {
    const NAME: &'static str = S::PROTOCOL;
    const BUGS: &'static [BugInfo] = RAFT_BUGS;
    const MARKS: &'static [&'static str] = &[
        "raft.add-server",
        "raft.append-rejected",
        "raft.check-quorum-step-down",
        "raft.compacted",
        "raft.config-change-before-term-commit",
        "raft.config-change-waits",
        "raft.election",
        "raft.leader-elected",
        "raft.leader-removed",
        "raft.lease-read",
        "raft.log-truncated",
        "raft.proposal-overwritten",
        "raft.remove-server",
        "raft.snapshot-installed",
        "raft.snapshot-sent",
        "raft.transfer",
        "raft.transfer-aborted",
        "raft.transfer-timeout-now",
        "raft.vote-ignored-in-lease",
    ];

    type Config = RaftConfig<S::Config>;
    type Msg = RaftMsg<S>;
    type Timer = RaftTimer;
    type Durable = RaftDisk<S>;
    type Input = RaftInput<S::Command>;
    type Output = S::Output;
    type Ghost = RaftGhost;

    fn validate(config: &Self::Config, nodes: u32) -> Result<(), faultline_sim::protocol::ConfigError> {
        config.validate(nodes)?;
        S::validate(&config.app)
            .map_err(|e| faultline_sim::protocol::ConfigError::new(format!("app.{}", e.field), e.message))
    }

    fn start(env: &Env<Self>, disk: &RaftDisk<S>, ctx: &mut Ctx<Self>) -> Self {
        Raft::start(env, disk, ctx)
    }

    fn on_message(&mut self, from: NodeId, msg: RaftMsg<S>, ctx: &mut Ctx<Self>) {
        self.handle_message(from, msg, ctx)
    }

    fn on_timer(&mut self, timer: RaftTimer, ctx: &mut Ctx<Self>) {
        self.handle_timer(timer, ctx)
    }

    fn on_request(&mut self, req: RequestId, input: RaftInput<S::Command>, ctx: &mut Ctx<Self>) {
        self.handle_request(req, input, ctx)
    }

    fn generate(config: &Self::Config, client: u32, rng: &mut Prng) -> RaftInput<S::Command> {
        RaftInput::Client(S::generate(&config.app, client, rng))
    }

    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    fn summary(&self) -> String {
        self.summary_line()
    }

    /// Coarse on purpose (a guided search keeps runs that reach a new value or a new transition):
    /// how many nodes lead, are down, campaign, are behind the highest term, are behind the
    /// highest commit index; and whether a leader holds entries of an earlier term past its
    /// commit index (where Raft's commit rule matters: Figure 8).
    fn abstract_state(view: &View<Self>) -> u64 {
        let live = || view.nodes().filter_map(|(_, n)| n.state);
        let max_term = live().map(|s| s.term).max().unwrap_or(0);
        let max_commit = live().map(|s| s.commit).max().unwrap_or(0);
        let count = |f: &dyn Fn(&Raft<S>) -> bool| live().filter(|s| f(s)).count() as u8;
        let leaders = count(&|s| s.role == Role::Leader);
        let campaigning = count(&|s| matches!(s.role, Role::Candidate | Role::PreCandidate));
        let down = (view.len() - live().count()) as u8;
        let term_behind = count(&|s| s.term < max_term);
        let commit_behind = count(&|s| s.commit < max_commit);
        let old_tail = live().any(|s| {
            s.role == Role::Leader
                && s.log.last_index() > s.commit
                && s.log.term(s.commit + 1).is_some_and(|t| t < s.term)
        });
        faultline_sim::hash::StableHasher::digest(&(leaders, campaigning, down, term_behind, commit_behind, old_tail))
    }

    fn check_step(ghost: &mut RaftGhost, view: &View<Self>, node: NodeId, out: &mut Vec<Violation>) {
        check::check_step(ghost, view, node, out)
    }

    fn observe_send(
        ghost: &mut RaftGhost,
        view: &View<Self>,
        from: NodeId,
        to: NodeId,
        msg: &RaftMsg<S>,
        out: &mut Vec<Violation>,
    ) {
        check::observe_send(ghost, view, from, to, msg, out)
    }

    fn check_end(
        _ghost: &mut RaftGhost,
        view: &View<Self>,
        history: &History<RaftInput<S::Command>, S::Output>,
        out: &mut Vec<Violation>,
    ) -> Option<String> {
        S::check_history(history, view.history_budget, out)
    }
}
