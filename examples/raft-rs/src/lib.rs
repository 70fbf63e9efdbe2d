//! # faultline-raft-rs
//!
//! tikv's [raft-rs](https://github.com/tikv/raft-rs) (`raft` 0.7, its `RawNode` API) under the
//! faultline simulator as a replicated key-value store: a third-party Raft, unchanged, driven
//! through faultline's sans-IO [`Protocol`] trait.
//!
//! - [`node`]: the adapter — ticks as faultline timers, messages as faultline messages, the
//!   `Ready` loop with "persist before send", client sessions, writes through the log, reads
//!   through ReadIndex (or the log), and the election timeout drawn from the node's seeded
//!   stream instead of raft-rs's `thread_rng`.
//! - [`storage`]: the node's durable state ([`Disk`]), which is also what raft-rs reads.
//! - [`message`]: raft-rs messages wrapped to be hashable, and the command encoding.
//! - [`check`]: Raft safety invariants over what raft-rs exposes, and linearizability.
//! - [`bugs`]: planted bugs ([`RAFT_RS_BUGS`]).
//!
//! The binary `faultline-raft-rs` is `faultline::cli::main(&[&Runner::<RaftRs>::new()])`;
//! scenarios say `protocol = "raft-rs"`.

#![warn(missing_docs)]

pub mod bugs;
pub mod check;
pub mod config;
pub mod message;
pub mod node;
pub mod storage;

pub use bugs::RAFT_RS_BUGS;
pub use config::{RaftRsConfig, ReadMode};
pub use message::Msg;
pub use node::{RaftRs, Tick};
pub use storage::{Disk, DiskWrite};

use faultline_kv::{KvAnswer, KvCmd};
use faultline_sim::prelude::{
    BugInfo, ConfigError, Ctx, Env, History, NodeId, Prng, Protocol, RequestId, View, Violation,
};

impl Protocol for RaftRs {
    const NAME: &'static str = "raft-rs";
    const BUGS: &'static [BugInfo] = RAFT_RS_BUGS;
    const MARKS: &'static [&'static str] =
        &["raft-rs.leader-elected", "raft-rs.read-index-served", "raft-rs.retry-deduplicated"];

    type Config = RaftRsConfig;
    type Msg = Msg;
    type Timer = Tick;
    type Durable = Disk;
    type Input = KvCmd;
    type Output = KvAnswer;
    type Ghost = check::Ghost;

    fn validate(config: &RaftRsConfig, nodes: u32) -> Result<(), ConfigError> {
        config.validate(nodes)
    }

    fn start(env: &Env<Self>, disk: &Disk, ctx: &mut Ctx<Self>) -> Self {
        RaftRs::start(env, disk, ctx)
    }

    fn on_message(&mut self, _from: NodeId, msg: Msg, ctx: &mut Ctx<Self>) {
        RaftRs::on_message(self, msg, ctx)
    }

    fn on_timer(&mut self, _timer: Tick, ctx: &mut Ctx<Self>) {
        self.on_tick(ctx)
    }

    fn on_request(&mut self, req: RequestId, cmd: KvCmd, ctx: &mut Ctx<Self>) {
        RaftRs::on_request(self, req, cmd, ctx)
    }

    fn generate(cfg: &RaftRsConfig, _client: u32, rng: &mut Prng) -> KvCmd {
        faultline_kv::generate(cfg.keys, cfg.values, cfg.read_percent, cfg.cas_percent, &mut |n| rng.below(n))
    }

    fn is_leader(&self) -> bool {
        RaftRs::is_leader(self)
    }

    fn summary(&self) -> String {
        let r = &self.raw.raft;
        let role = match r.state {
            raft::StateRole::Leader => "leader",
            raft::StateRole::Candidate => "candidate",
            raft::StateRole::PreCandidate => "pre-candidate",
            raft::StateRole::Follower => "follower",
        };
        format!(
            "{role} t{} commit {}/{} applied {}",
            r.term,
            r.raft_log.committed,
            r.raft_log.last_index(),
            self.applied
        )
    }

    fn check_step(ghost: &mut check::Ghost, view: &View<Self>, node: NodeId, out: &mut Vec<Violation>) {
        check::check_step(ghost, view, node, out)
    }

    fn observe_send(
        ghost: &mut check::Ghost,
        view: &View<Self>,
        from: NodeId,
        to: NodeId,
        msg: &Msg,
        out: &mut Vec<Violation>,
    ) {
        check::observe_send(ghost, view, from, to, msg, out)
    }

    fn check_end(
        _ghost: &mut check::Ghost,
        view: &View<Self>,
        history: &History<KvCmd, KvAnswer>,
        out: &mut Vec<Violation>,
    ) -> Option<String> {
        check::check_history(history, view.history_budget, out)
    }
}
