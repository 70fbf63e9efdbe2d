//! A cell server: one Raft replica of the [`LockCell`] plus, while it is master, the master's
//! clock-driven duties (session lease timers, lock-delay timers, the takeover rule).
//!
//! # Why Raft is embedded, not the protocol
//! The lock protocol's nodes play three roles, and a server must act on its own clock (expire a
//! session, end a lock-delay), which `Raft<S>` as a protocol has no hook for. So a server owns a
//! `Raft<LockCell>` and drives it with a `Ctx` over a buffer of its own
//! ([`Ctx::new`]); it translates Raft's outputs into its own (messages and timers wrapped in
//! [`LockMsg::Raft`] / [`LockTimer::Raft`], writes in [`LockWrite::Raft`], in order, so Raft's
//! "persist before send" carries over) and turns Raft's client replies into answers to the
//! client-library node that called. The cell logic itself is the `StateMachine`
//! ([`LockCell`]) Raft replicates.
//!
//! # The master's timing rules
//! - A session's lease timer is re-armed for `lease_ms` whenever a KeepAlive *arrives* (the
//!   client started timing before it sent it), and for a new session when it is opened; when it
//!   fires the master proposes `Expire`. Timers measure elapsed local time, so a jump of the
//!   server's clock does not move them; deadlines only move forward.
//! - A new master first commits `NewEpoch` (its term), refusing calls until then and calls of
//!   older epochs after. It knows no lease deadlines of its predecessor, but every lease the old
//!   master granted was granted before this master was elected (a renewal is answered only once
//!   committed), so it arms every live session's timer for a full `lease_ms` from takeover:
//!   nothing the old master promised is regranted before it ran out.

use crate::bugs::BugFlags;
use crate::cell::{CellAnswer, CellCmd, LockCell, FLAG_NO_WAITER_RECHECK, FLAG_REVIVE_EXPIRED};
use crate::config::LockConfig;
use crate::message::{LeaseGrant, LockMsg, LockTimer, LockWrite};
use crate::protocol::Lock;
use faultline_raft::storage::RaftDisk;
use faultline_raft::{Raft, RaftInput, Role};
use faultline_sim::prelude::{Command, Ctx, Env, Marks, NodeId, Protocol, Reply, RequestId};
use std::collections::BTreeMap;
use std::time::Duration;

/// Request ids at or above this `client` are a master's own proposals (`OWN_CLIENT_BASE + term`).
pub const OWN_CLIENT_BASE: u32 = 1 << 30;

type RaftNode = Raft<LockCell>;

/// One cell server.
#[derive(Debug)]
pub struct Server {
    /// The embedded Raft replica.
    pub raft: RaftNode,
    id: NodeId,
    cfg: LockConfig,
    bugs: BugFlags,
    buf: Vec<Command<RaftNode>>,
    replies: Vec<(RequestId, Reply<CellAnswer>)>,
    /// Raft's `sometimes` marks (kept apart: the simulator's marks are not reachable from here).
    marks: Marks,
    /// The term this server last became master in.
    led_term: u64,
    /// Master whose `NewEpoch` is committed: it serves calls.
    pub ready: bool,
    own_seq: u32,
    /// Planted bug `lock.memory-generation`: per-lock grant counters in master memory.
    mem_gen: BTreeMap<u8, u64>,
}

impl Server {
    /// Starts (or restarts) a server from its disk.
    pub fn start(env: &Env<Lock>, disk: &RaftDisk<LockCell>, ctx: &mut Ctx<Lock>) -> Server {
        let cfg = env.config.clone();
        let raft_cfg = cfg.raft();
        let renv = Env::<RaftNode> {
            id: env.id,
            nodes: cfg.servers,
            config: &raft_cfg,
            bugs: crate::bugs::raft_bugs(env.bugs),
            restarted: env.restarted,
        };
        let mut buf = Vec::with_capacity(32);
        let mut marks = Marks::default();
        let raft = {
            let monotonic = ctx.monotonic();
            let mut rctx = Ctx::new(env.id, ctx.now(), ctx.rng(), &mut buf, &mut marks).with_monotonic(monotonic);
            <RaftNode as Protocol>::start(&renv, disk, &mut rctx)
        };
        let mut s = Server {
            raft,
            id: env.id,
            cfg,
            bugs: BugFlags::from(env.bugs),
            buf,
            replies: Vec::new(),
            marks,
            led_term: 0,
            ready: false,
            own_seq: 0,
            mem_gen: BTreeMap::new(),
        };
        s.forward(ctx);
        s
    }

    /// Is this server Raft's leader?
    pub fn is_leader(&self) -> bool {
        self.raft.role() == Role::Leader
    }

    /// Runs one Raft handler under a `Ctx` of our own, then forwards its outputs.
    fn drive(&mut self, ctx: &mut Ctx<Lock>, f: impl FnOnce(&mut RaftNode, &mut Ctx<RaftNode>)) {
        {
            let monotonic = ctx.monotonic();
            let mut rctx =
                Ctx::new(ctx.id(), ctx.now(), ctx.rng(), &mut self.buf, &mut self.marks).with_monotonic(monotonic);
            f(&mut self.raft, &mut rctx);
        }
        self.forward(ctx);
    }

    /// Translates Raft's outputs, in order, then handles its replies and a change of mastership.
    fn forward(&mut self, ctx: &mut Ctx<Lock>) {
        // Raft's `sometimes` marks that the lock declares reach the lock's report; the others
        // (lease reads, membership changes: unused here) are dropped.
        if !self.marks.0.is_empty() {
            for (mark, hits) in std::mem::take(&mut self.marks.0) {
                if let Some(m) = <Lock as Protocol>::MARKS.iter().find(|m| **m == mark) {
                    (0..hits).for_each(|_| ctx.sometimes(m));
                }
            }
        }
        for cmd in self.buf.drain(..) {
            match cmd {
                Command::Send(to, m) => ctx.send(to, LockMsg::Raft(m)),
                Command::SetTimer(t, d) => ctx.set_timer(LockTimer::Raft(t), d),
                Command::CancelTimer(t) => ctx.cancel_timer(LockTimer::Raft(t)),
                Command::Write(w) => ctx.write(LockWrite::Raft(w)),
                Command::Sync => ctx.sync(),
                Command::Reply(req, r) => self.replies.push((req, r)),
            }
        }
        let mut replies = std::mem::take(&mut self.replies);
        for (req, r) in replies.drain(..) {
            self.on_raft_reply(req, r, ctx);
        }
        self.replies = replies;
        self.check_mastership(ctx);
    }

    fn check_mastership(&mut self, ctx: &mut Ctx<Lock>) {
        if !self.is_leader() {
            self.ready = false;
            return;
        }
        if self.led_term != self.raft.term() {
            // A new master: take a new epoch (its term) and serve nothing until it is committed.
            self.led_term = self.raft.term();
            self.ready = false;
            self.mem_gen.clear();
            let mut flags = 0;
            if self.bugs.keepalive_revives {
                flags |= FLAG_REVIVE_EXPIRED;
            }
            if self.bugs.waiter_no_recheck {
                flags |= FLAG_NO_WAITER_RECHECK;
            }
            self.propose(CellCmd::NewEpoch { epoch: self.led_term, flags }, ctx);
        }
    }

    fn propose(&mut self, cmd: CellCmd, ctx: &mut Ctx<Lock>) {
        assert!(self.led_term < u64::from(u32::MAX - OWN_CLIENT_BASE), "term out of the request-id range");
        self.own_seq += 1;
        let req = RequestId { client: OWN_CLIENT_BASE + self.led_term as u32, seq: self.own_seq };
        self.drive(ctx, |r, c| r.on_request(req, RaftInput::Client(cmd), c));
    }

    fn lease(&self, ctx: &Ctx<Lock>) -> LeaseGrant {
        LeaseGrant {
            lease_ms: self.cfg.lease_ms,
            master_deadline: ctx.now() + Duration::from_millis(self.cfg.lease_ms),
        }
    }

    fn on_raft_reply(&mut self, req: RequestId, reply: Reply<CellAnswer>, ctx: &mut Ctx<Lock>) {
        if req.client >= OWN_CLIENT_BASE {
            let Reply::Ok(answer) = reply else { return };
            match answer {
                CellAnswer::Epoch if req.client == OWN_CLIENT_BASE + self.led_term as u32 && self.is_leader() => {
                    self.take_over(ctx)
                }
                CellAnswer::Expired { freed } => {
                    ctx.sometimes("lock.session-expired-by-master");
                    if freed != 0 {
                        ctx.sometimes("lock.expiry-freed-lock");
                    }
                    for lock in (0..32u8).filter(|i| freed & (1 << i) != 0) {
                        ctx.set_timer(LockTimer::LockDelay(lock), Duration::from_millis(self.cfg.lock_delay_ms));
                    }
                }
                _ => {}
            }
            return;
        }
        let to = NodeId(req.client / 2);
        match reply {
            Reply::Ok(answer) => {
                if let CellAnswer::WrongEpoch { .. } = answer {
                    ctx.sometimes("lock.old-epoch-rejected");
                }
                let lease = match answer {
                    CellAnswer::Session { session, .. } => {
                        ctx.set_timer(LockTimer::SessionExpiry(session), Duration::from_millis(self.cfg.lease_ms));
                        Some(self.lease(ctx))
                    }
                    CellAnswer::Renewed { .. } => Some(self.lease(ctx)),
                    _ => None,
                };
                ctx.send(to, LockMsg::Answer { req, answer, lease });
            }
            Reply::Reject { hint } => ctx.send(to, LockMsg::NotMaster { req, hint }),
        }
    }

    /// The new master's epoch is committed, so its state includes everything the old master
    /// decided: honour the old leases, restart lock-delays, then serve.
    fn take_over(&mut self, ctx: &mut Ctx<Lock>) {
        ctx.sometimes("lock.master-takeover");
        self.ready = true;
        let app = &self.raft.state().app;
        let lease =
            if self.bugs.early_takeover { Duration::from_millis(1) } else { Duration::from_millis(self.cfg.lease_ms) };
        for (&s, _) in app.sessions.iter().filter(|(_, r)| r.alive) {
            ctx.set_timer(LockTimer::SessionExpiry(s), lease);
        }
        for (i, _) in app.locks.iter().enumerate().filter(|(_, l)| l.delayed) {
            ctx.set_timer(LockTimer::LockDelay(i as u8), Duration::from_millis(self.cfg.lock_delay_ms));
        }
    }

    /// A message.
    pub fn on_message(&mut self, from: NodeId, msg: LockMsg, ctx: &mut Ctx<Lock>) {
        self.raft.begin_step();
        match msg {
            LockMsg::Raft(m) => self.drive(ctx, |r, c| r.on_message(from, m, c)),
            LockMsg::Call { req, cmd } if cmd.from_client() && req.client < OWN_CLIENT_BASE => {
                self.on_call(from, req, cmd, ctx)
            }
            _ => {}
        }
    }

    fn on_call(&mut self, from: NodeId, req: RequestId, mut cmd: CellCmd, ctx: &mut Ctx<Lock>) {
        if !self.is_leader() {
            // Raft refuses it with a hint at the leader it knows.
            return self.drive(ctx, |r, c| r.on_request(req, RaftInput::Client(cmd), c));
        }
        if !self.ready {
            return ctx.send(from, LockMsg::NotMaster { req, hint: Some(self.id) });
        }
        // Calls of an old epoch are rejected by the cell when applied, not here: a retry of a
        // call the old master committed must get its first answer (Raft's dedup), not a refusal.
        match &mut cmd {
            CellCmd::KeepAlive { session, .. } => {
                // The lease runs from now on the master's clock: later than the client's start.
                ctx.set_timer(LockTimer::SessionExpiry(*session), Duration::from_millis(self.cfg.lease_ms));
            }
            CellCmd::Acquire { lock, gen, .. } if self.bugs.memory_generation => {
                let g = self.mem_gen.entry(*lock).or_insert(0);
                *g += 1;
                *gen = *g;
            }
            _ => {}
        }
        self.drive(ctx, |r, c| r.on_request(req, RaftInput::Client(cmd), c));
    }

    /// A timer.
    pub fn on_timer(&mut self, timer: LockTimer, ctx: &mut Ctx<Lock>) {
        self.raft.begin_step();
        match timer {
            LockTimer::Raft(t) => self.drive(ctx, |r, c| r.on_timer(t, c)),
            LockTimer::SessionExpiry(s) if self.ready => {
                let rec = self.raft.state().app.sessions.get(&s).filter(|r| r.alive).map(|r| r.renewals);
                if let Some(renewals) = rec {
                    self.propose(CellCmd::Expire { session: s, renewals }, ctx);
                }
            }
            LockTimer::LockDelay(lock)
                if self.ready && self.raft.state().app.locks.get(usize::from(lock)).is_some_and(|l| l.delayed) =>
            {
                self.propose(CellCmd::EndLockDelay { lock }, ctx);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::driver::Driver;

    /// A server takes from clients only the calls a client may make: a client cannot expire a
    /// session, end a lock-delay or start an epoch, nor pose as the server's own proposals.
    #[test]
    fn clients_may_make_only_client_calls() {
        let cfg = LockConfig::default();
        let mut d = Driver::<Lock>::start(NodeId(0), cfg.nodes(), cfg, &[]).expect("valid");
        let client = RequestId { client: 6, seq: 1 };
        let keepalive = CellCmd::KeepAlive { session: 1, epoch: 1 };
        assert!(!d.message(NodeId(3), LockMsg::Call { req: client, cmd: keepalive }).is_empty(), "refused with a hint");
        for cmd in [
            CellCmd::Expire { session: 1, renewals: 0 },
            CellCmd::EndLockDelay { lock: 0 },
            CellCmd::NewEpoch { epoch: 9, flags: 0 },
        ] {
            assert!(d.message(NodeId(3), LockMsg::Call { req: client, cmd }).is_empty(), "{cmd:?} is ignored");
        }
        let own = RequestId { client: OWN_CLIENT_BASE + 1, seq: 1 };
        assert!(d.message(NodeId(3), LockMsg::Call { req: own, cmd: keepalive }).is_empty(), "not a client id");
    }

    /// Every lock an expiry freed is held back for the lock-delay, and only those.
    #[test]
    fn an_expiry_delays_exactly_the_locks_it_freed() {
        let cfg = LockConfig { locks: 4, ..LockConfig::default() };
        let delay = Duration::from_millis(cfg.lock_delay_ms);
        let mut d = Driver::<Lock>::start(NodeId(0), cfg.nodes(), cfg, &[]).expect("valid");
        let own = RequestId { client: OWN_CLIENT_BASE, seq: 1 };
        let out = d.step(|n, ctx| match n {
            Lock::Server(s) => s.on_raft_reply(own, Reply::Ok(CellAnswer::Expired { freed: 0b1010 }), ctx),
            other => panic!("{other:?}"),
        });
        let delayed = faultline_sim::driver::timers::<Lock>(&out);
        assert_eq!(delayed, [(&LockTimer::LockDelay(1), delay), (&LockTimer::LockDelay(3), delay)]);
    }
}
