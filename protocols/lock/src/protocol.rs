//! The lock service as a faultline [`Protocol`]: nodes play a role by id (see
//! [`LockConfig`]).

use crate::bugs::{BugFlags, LOCK_BUGS};
use crate::check::{self, LockGhost};
use crate::client::ClientLib;
use crate::config::{LockConfig, Role};
use crate::message::{LockAnswer, LockDisk, LockMsg, LockOp, LockTimer};
use crate::resource::Resource;
use crate::server::Server;
use faultline_sim::prelude::{BugInfo, Ctx, Env, History, NodeId, Prng, Protocol, RequestId, View, Violation};

/// One node of the lock service: a cell server, a client library, or the resource.
#[derive(Debug)]
pub enum Lock {
    /// A cell server (a Raft replica of the lock cell).
    Server(Box<Server>),
    /// A client-library node.
    Client(Box<ClientLib>),
    /// The protected resource.
    Resource(Resource),
}

impl Protocol for Lock {
    const NAME: &'static str = "lock";
    const BUGS: &'static [BugInfo] = LOCK_BUGS;
    const MARKS: &'static [&'static str] = &[
        "lock.acquire-gave-up",
        "lock.expiry-freed-lock",
        "lock.granted",
        "lock.jeopardy",
        "lock.jeopardy-safe",
        "lock.master-takeover",
        "lock.old-epoch-rejected",
        "lock.resource-rejected-stale",
        "lock.session-expired",
        "lock.session-expired-by-master",
        // The embedded Raft's marks that a lock scenario is about (the cell servers forward them).
        "raft.check-quorum-step-down",
        "raft.compacted",
        "raft.election",
        "raft.leader-elected",
        "raft.log-truncated",
        "raft.snapshot-installed",
    ];

    type Config = LockConfig;
    type Msg = LockMsg;
    type Timer = LockTimer;
    type Durable = LockDisk;
    type Input = LockOp;
    type Output = LockAnswer;
    type Ghost = LockGhost;

    fn validate(cfg: &LockConfig, nodes: u32) -> Result<(), faultline_sim::protocol::ConfigError> {
        cfg.validate(nodes)
    }

    fn start(env: &Env<Self>, disk: &LockDisk, ctx: &mut Ctx<Self>) -> Self {
        let cfg = env.config;
        debug_assert_eq!(env.nodes, cfg.nodes(), "validated: the lock layout");
        match cfg.role(env.id) {
            Role::Server => Lock::Server(Box::new(Server::start(env, &disk.raft, ctx))),
            Role::Client => Lock::Client(Box::new(ClientLib::start(env, ctx))),
            Role::Resource => Lock::Resource(Resource::start(&disk.fence, BugFlags::from(env.bugs).no_fencing)),
        }
    }

    fn on_message(&mut self, from: NodeId, msg: LockMsg, ctx: &mut Ctx<Self>) {
        match self {
            Lock::Server(s) => s.on_message(from, msg, ctx),
            Lock::Client(c) => c.on_message(from, msg, ctx),
            Lock::Resource(r) => r.on_message(from, msg, ctx),
        }
    }

    fn on_timer(&mut self, timer: LockTimer, ctx: &mut Ctx<Self>) {
        match self {
            Lock::Server(s) => s.on_timer(timer, ctx),
            Lock::Client(c) => c.on_timer(timer, ctx),
            Lock::Resource(_) => {}
        }
    }

    fn on_request(&mut self, req: RequestId, input: LockOp, ctx: &mut Ctx<Self>) {
        match self {
            Lock::Client(c) => c.on_request(req, input, ctx),
            _ => ctx.reject(req, None),
        }
    }

    fn generate(cfg: &LockConfig, _client: u32, rng: &mut Prng) -> LockOp {
        let lock = rng.below(u64::from(cfg.locks.max(1))) as u8;
        let roll = rng.below(100);
        if roll < cfg.acquire_percent {
            LockOp::Acquire { lock }
        } else if roll < cfg.acquire_percent + cfg.try_percent {
            LockOp::TryAcquire { lock }
        } else {
            LockOp::Release { lock }
        }
    }

    fn client_home(cfg: &LockConfig, _nodes: u32, client: u32) -> Option<NodeId> {
        Some(NodeId(cfg.servers + client % cfg.client_nodes.max(1)))
    }

    fn is_leader(&self) -> bool {
        matches!(self, Lock::Server(s) if s.is_leader())
    }

    fn summary(&self) -> String {
        match self {
            Lock::Server(s) => s.raft.summary_line(),
            Lock::Client(_) => "client".to_string(),
            Lock::Resource(_) => "resource".to_string(),
        }
    }

    fn check_step(ghost: &mut LockGhost, view: &View<Self>, node: NodeId, out: &mut Vec<Violation>) {
        check::check_step(ghost, view, node, out)
    }

    fn observe_send(
        ghost: &mut LockGhost,
        view: &View<Self>,
        from: NodeId,
        to: NodeId,
        msg: &LockMsg,
        out: &mut Vec<Violation>,
    ) {
        check::observe_send(ghost, view, from, to, msg, out)
    }

    fn check_end(
        ghost: &mut LockGhost,
        view: &View<Self>,
        history: &History<LockOp, LockAnswer>,
        out: &mut Vec<Violation>,
    ) -> Option<String> {
        check::linearizable(ghost, history, view.history_budget, out)
    }
}
