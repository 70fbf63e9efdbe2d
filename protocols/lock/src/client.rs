//! The client library: one node per client process. It keeps a session with the cell alive,
//! holds locks for the workload's operations, and writes to the protected resource under the
//! sequencer of each lock it holds.
//!
//! # The local lease
//! The library times its lease from *before* it sent the call (the master's lease starts when
//! the call arrives, later) and shortens it for the drift bound ρ
//! ([`LockConfig::client_lease_ns`]): with every clock rate within ±ρ the local lease ends, in
//! true time, no later than the master's. When it runs out the session is **in jeopardy**: the
//! library stops believing it holds its locks and keeps sending KeepAlives for a **grace
//! period**, which ends **safe** (the master renewed: the locks are still held) or **expired**
//! (the locks are gone; a new session is opened).
//!
//! # Believed ownership
//! The library believes it holds a lock while the session is active and the lock was granted,
//! and either its local lease has not run out or it is inside a piece of work it started while
//! it had: it checks the lease, works `work_ms`, then writes without checking again — the gap in
//! which a GC pause makes a holder act on a lock it lost, and which fencing at the resource
//! covers. [`ClientLib::believes`] is what the mutual-exclusion check reads.

use crate::bugs::BugFlags;
use crate::cell::{CellAnswer, CellCmd};
use crate::config::LockConfig;
use crate::message::{LeaseGrant, LockAnswer, LockMsg, LockOp, LockTimer};
use crate::protocol::Lock;
use faultline_sim::clock::Clock;
use faultline_sim::prelude::{Ctx, Env, NodeId, RequestId, Time};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The KeepAlive channel (session open and renewals).
const KA: u8 = 0;
/// The operation channel (acquire, release, abandon).
const OP: u8 = 1;
/// Pause before resending a call the cell refused as "not master".
const REDIRECT_MS: u64 = 5;

/// The session as the library sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Opening a session.
    Opening,
    /// The local lease runs.
    Active,
    /// The local lease ran out; the grace period runs.
    Jeopardy,
}

/// A call in flight on one channel.
#[derive(Clone, Copy, Debug)]
struct Inflight {
    seq: u32,
    cmd: CellCmd,
    /// Local time of the first send: the lease is timed from here.
    first_sent: Time,
    /// The next resend goes to the current guess (it was a redirect), not the next server.
    redirect: bool,
}

/// The workload operation being served.
#[derive(Clone, Copy, Debug)]
struct UserOp {
    req: RequestId,
    op: LockOp,
    /// A release was sent to the cell.
    sent: bool,
    /// An acquire was queued at the cell at least once (it may have been granted unseen).
    queued: bool,
    /// Waiting for the poll timer.
    polling: bool,
    /// A blocking acquire waited long enough: leave the queue.
    giving_up: bool,
}

/// One client-library node.
#[derive(Debug)]
pub struct ClientLib {
    id: NodeId,
    cfg: LockConfig,
    bugs: BugFlags,
    /// The server calls go to.
    guess: NodeId,
    epoch: u64,
    /// The current session.
    pub session: Option<u64>,
    /// Its status.
    pub status: Status,
    /// Local time the local lease ends.
    pub lease_end: Time,
    /// Locks held, with their sequencer generations.
    pub held: BTreeMap<u8, u64>,
    /// The lock whose work is in progress (checked, not yet written).
    pub in_cs: Option<u8>,
    seqs: [u32; 2],
    inflight: [Option<Inflight>; 2],
    user: Option<UserOp>,
    /// Locks to leave (an acquire given up on, possibly granted meanwhile).
    abandon: BTreeSet<u8>,
    /// The last answered operation and its answer (a retried request gets it again).
    last_answer: Option<(RequestId, LockAnswer)>,
    /// An operation dropped unanswered (its effect unknown): retries of it are ignored.
    dropped: Option<RequestId>,
    next_work: u8,
    /// Sessions that expired here (for reports).
    pub expired_sessions: u64,
}

impl ClientLib {
    /// Starts a client library and opens its session.
    pub fn start(env: &Env<Lock>, ctx: &mut Ctx<Lock>) -> ClientLib {
        let cfg = env.config.clone();
        let guess = NodeId(ctx.rng().below(u64::from(cfg.servers.max(1))) as u32);
        let mut c = ClientLib {
            id: env.id,
            bugs: BugFlags::from(env.bugs),
            guess,
            epoch: 0,
            session: None,
            status: Status::Opening,
            lease_end: Time::ZERO,
            held: BTreeMap::new(),
            in_cs: None,
            seqs: [0; 2],
            inflight: [None; 2],
            user: None,
            abandon: BTreeSet::new(),
            last_answer: None,
            dropped: None,
            next_work: 0,
            expired_sessions: 0,
            cfg,
        };
        c.call(KA, CellCmd::OpenSession { client: env.id.0 }, ctx);
        c
    }

    /// The clock the library times its lease on: the monotonic one (a wall clock stepped back
    /// would stretch the lease), or the wall clock with the planted `lock.client-wall-clock`.
    fn clock(&self, ctx: &Ctx<Lock>) -> Time {
        if self.bugs.client_wall_clock {
            ctx.now()
        } else {
            ctx.monotonic()
        }
    }

    /// The reading of that clock at true time `t` (for checkers, which see the node's `Clock`).
    pub fn reading(&self, clock: &Clock, t: Time) -> Time {
        if self.bugs.client_wall_clock {
            clock.local(t)
        } else {
            clock.monotonic(t)
        }
    }

    /// The earliest true time at which that clock reads `local` (for checkers' messages).
    pub fn true_time_of(&self, clock: &Clock, local: Time) -> Time {
        if self.bugs.client_wall_clock {
            clock.true_time_of(local)
        } else {
            clock.true_time_of_monotonic(local)
        }
    }

    /// Does the library believe, at its clock's reading `local_now` ([`ClientLib::reading`]),
    /// that it holds `lock`?
    pub fn believes(&self, lock: u8, local_now: Time) -> bool {
        self.status == Status::Active
            && self.held.contains_key(&lock)
            && (self.in_cs == Some(lock) || local_now < self.lease_end)
    }

    // -----------------------------------------------------------------------------------------
    // Calls

    fn call(&mut self, chan: u8, cmd: CellCmd, ctx: &mut Ctx<Lock>) {
        assert!(self.inflight[chan as usize].is_none(), "one call at a time per channel");
        self.seqs[chan as usize] += 1;
        let f = Inflight { seq: self.seqs[chan as usize], cmd, first_sent: self.clock(ctx), redirect: false };
        self.inflight[chan as usize] = Some(f);
        self.transmit(chan, ctx);
    }

    fn transmit(&mut self, chan: u8, ctx: &mut Ctx<Lock>) {
        let Some(f) = self.inflight[chan as usize] else { return };
        let req = RequestId { client: self.id.0 * 2 + u32::from(chan), seq: f.seq };
        ctx.send(self.guess, LockMsg::Call { req, cmd: f.cmd });
        ctx.set_timer(LockTimer::Retry(chan), Duration::from_millis(self.cfg.rpc_timeout_ms));
    }

    fn idle(&self, chan: u8) -> bool {
        self.inflight[chan as usize].is_none()
    }

    fn drop_call(&mut self, chan: u8, ctx: &mut Ctx<Lock>) {
        self.inflight[chan as usize] = None;
        ctx.cancel_timer(LockTimer::Retry(chan));
    }

    fn next_server(&mut self) {
        self.guess = NodeId((self.guess.0 + 1) % self.cfg.servers);
    }

    // -----------------------------------------------------------------------------------------
    // Workload operations

    fn answer(&mut self, answer: LockAnswer, ctx: &mut Ctx<Lock>) {
        let u = self.user.take().expect("answering an operation in progress");
        self.last_answer = Some((u.req, answer));
        ctx.reply(u.req, answer);
    }

    /// Gives up on the current operation without answering: its effect is unknown.
    fn drop_user(&mut self) {
        if let Some(u) = self.user.take() {
            self.dropped = Some(u.req);
        }
    }

    /// A workload operation arrives.
    pub fn on_request(&mut self, req: RequestId, op: LockOp, ctx: &mut Ctx<Lock>) {
        if let Some((r, a)) = self.last_answer {
            if r == req {
                return ctx.reply(req, a);
            }
        }
        if self.dropped == Some(req) || self.user.is_some_and(|u| u.req == req) {
            return; // a retry of an operation in progress (or given up on)
        }
        if let Some(old) = self.user.take() {
            // The client moved on (its call timed out): leave the old one's queue.
            self.dropped = Some(old.req);
            if matches!(old.op, LockOp::Acquire { .. } | LockOp::TryAcquire { .. }) {
                self.abandon.insert(old.op.lock());
            }
            ctx.cancel_timer(LockTimer::OpDeadline);
            ctx.cancel_timer(LockTimer::Poll);
        }
        self.user = Some(UserOp { req, op, sent: false, queued: false, polling: false, giving_up: false });
        if let LockOp::Acquire { .. } = op {
            ctx.set_timer(LockTimer::OpDeadline, Duration::from_millis(self.cfg.acquire_wait_ms));
        }
        self.progress(ctx);
    }

    /// Sends the next call the current operation needs, if the operation channel is free and the
    /// session active.
    fn progress(&mut self, ctx: &mut Ctx<Lock>) {
        if !self.idle(OP) || self.status != Status::Active {
            return;
        }
        let Some(session) = self.session else { return };
        let epoch = self.epoch;
        if let Some(&lock) = self.abandon.iter().next() {
            self.lose(lock, ctx);
            return self.call(OP, CellCmd::Abandon { session, epoch, lock }, ctx);
        }
        let Some(mut u) = self.user else { return };
        match u.op {
            LockOp::Acquire { lock } | LockOp::TryAcquire { lock } => {
                if self.held.contains_key(&lock) {
                    return self.answer(LockAnswer::AlreadyHeld, ctx);
                }
                if u.giving_up {
                    return self.call(OP, CellCmd::Abandon { session, epoch, lock }, ctx);
                }
                if u.polling {
                    return;
                }
                let wait = matches!(u.op, LockOp::Acquire { .. });
                self.call(OP, CellCmd::Acquire { session, epoch, lock, wait, gen: 0 }, ctx);
            }
            LockOp::Release { lock } => {
                if u.sent {
                    return;
                }
                let Some(token) = self.held.get(&lock).copied() else {
                    return self.answer(LockAnswer::NotHeld, ctx);
                };
                // Ownership ends when the release is issued, not when it is committed.
                self.lose(lock, ctx);
                u.sent = true;
                self.user = Some(u);
                self.call(OP, CellCmd::Release { session, epoch, lock, token }, ctx);
            }
        }
    }

    /// Stops believing in `lock` (and abandons work on it).
    fn lose(&mut self, lock: u8, ctx: &mut Ctx<Lock>) {
        self.held.remove(&lock);
        if self.in_cs == Some(lock) {
            self.in_cs = None;
            ctx.cancel_timer(LockTimer::WorkDone);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Session

    /// Takes a lease granted by a call first sent at local time `sent`.
    fn extend_lease(&mut self, sent: Time, grant: LeaseGrant, ctx: &mut Ctx<Lock>) {
        let end = if self.bugs.absolute_deadline {
            grant.master_deadline
        } else {
            let start = if self.bugs.lease_from_reply { self.clock(ctx) } else { sent };
            start + Duration::from_nanos(self.cfg.client_lease_ns(grant.lease_ms, !self.bugs.no_drift_margin))
        };
        // The lease only ever moves forward.
        if end > self.lease_end {
            self.lease_end = end;
        }
        if self.lease_end > self.clock(ctx) {
            ctx.set_timer(LockTimer::LeaseEnd, self.lease_end.saturating_since(self.clock(ctx)));
            if self.status == Status::Jeopardy {
                ctx.sometimes("lock.jeopardy-safe");
                ctx.cancel_timer(LockTimer::GraceEnd);
            }
            self.status = Status::Active;
        }
    }

    /// The session is gone: locks are lost; open a new one.
    fn expire(&mut self, ctx: &mut Ctx<Lock>) {
        ctx.sometimes("lock.session-expired");
        self.expired_sessions += 1;
        self.session = None;
        self.status = Status::Opening;
        self.held.clear();
        self.in_cs = None;
        self.abandon.clear();
        for t in [LockTimer::WorkDone, LockTimer::LeaseEnd, LockTimer::GraceEnd, LockTimer::Poll, LockTimer::KeepAlive]
        {
            ctx.cancel_timer(t);
        }
        let op_call = self.inflight[OP as usize].map(|f| f.cmd);
        self.drop_call(OP, ctx);
        if let Some(u) = self.user {
            // A call the cell may have applied before the expiry leaves the operation's effect
            // unknown: drop it unanswered. Otherwise it starts over on the new session.
            let unknown = match u.op {
                LockOp::Release { .. } => u.sent,
                _ => u.queued || matches!(op_call, Some(CellCmd::Acquire { .. } | CellCmd::Abandon { .. })),
            };
            if unknown {
                ctx.cancel_timer(LockTimer::OpDeadline);
                self.drop_user();
            } else if let Some(u) = self.user.as_mut() {
                u.polling = false;
            }
        }
        self.drop_call(KA, ctx);
        self.call(KA, CellCmd::OpenSession { client: self.id.0 }, ctx);
    }

    // -----------------------------------------------------------------------------------------
    // Work under the lock

    fn maybe_work(&mut self, ctx: &mut Ctx<Lock>) {
        if self.in_cs.is_some() || self.status != Status::Active || self.held.is_empty() {
            return;
        }
        let lock = self.held.range(self.next_work..).next().or_else(|| self.held.iter().next()).map(|(&l, _)| l);
        let Some(lock) = lock else { return };
        let work = Duration::from_millis(self.cfg.work_ms);
        // Start only work that ends, on this clock, before the lease does.
        if self.clock(ctx) + work < self.lease_end {
            self.in_cs = Some(lock);
            self.next_work = lock.wrapping_add(1);
            ctx.set_timer(LockTimer::WorkDone, work);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Handlers

    /// A message (answers from the cell).
    pub fn on_message(&mut self, from: NodeId, msg: LockMsg, ctx: &mut Ctx<Lock>) {
        match msg {
            LockMsg::Answer { req, answer, lease } => {
                let chan = (req.client % 2) as u8;
                let Some(f) = self.inflight[chan as usize].filter(|f| f.seq == req.seq) else { return };
                self.drop_call(chan, ctx);
                self.guess = from;
                if chan == KA {
                    self.on_ka_answer(f, answer, lease, ctx);
                } else {
                    self.on_op_answer(f, answer, ctx);
                }
                self.progress(ctx);
                self.maybe_work(ctx);
            }
            LockMsg::NotMaster { req, hint } => {
                let chan = (req.client % 2) as usize;
                if let Some(f) = self.inflight[chan].as_mut().filter(|f| f.seq == req.seq) {
                    match hint {
                        Some(h) if h.0 < self.cfg.servers => {
                            self.guess = h;
                            f.redirect = true;
                        }
                        _ => f.redirect = false,
                    }
                    ctx.set_timer(LockTimer::Retry(chan as u8), Duration::from_millis(REDIRECT_MS));
                }
            }
            _ => {}
        }
    }

    fn on_ka_answer(&mut self, f: Inflight, answer: CellAnswer, lease: Option<LeaseGrant>, ctx: &mut Ctx<Lock>) {
        match (f.cmd, answer) {
            (CellCmd::OpenSession { .. }, CellAnswer::Session { session, epoch }) => {
                self.session = Some(session);
                self.epoch = epoch;
                self.lease_end = Time::ZERO;
                if let Some(g) = lease {
                    self.extend_lease(f.first_sent, g, ctx);
                }
                ctx.set_timer(LockTimer::KeepAlive, Duration::from_millis(self.cfg.keepalive_ms));
            }
            (CellCmd::KeepAlive { session, .. }, CellAnswer::Renewed { .. }) if Some(session) == self.session => {
                if let Some(g) = lease {
                    self.extend_lease(f.first_sent, g, ctx);
                }
            }
            (CellCmd::KeepAlive { session, .. }, CellAnswer::WrongEpoch { epoch }) if Some(session) == self.session => {
                // A new master: learn its epoch and renew at once (timed from this send).
                self.epoch = epoch;
                self.call(KA, CellCmd::KeepAlive { session, epoch }, ctx);
            }
            (CellCmd::KeepAlive { session, .. }, CellAnswer::SessionExpired) if Some(session) == self.session => {
                self.expire(ctx)
            }
            _ => {}
        }
    }

    fn on_op_answer(&mut self, f: Inflight, answer: CellAnswer, ctx: &mut Ctx<Lock>) {
        if let CellAnswer::WrongEpoch { epoch } = answer {
            self.epoch = epoch;
            return self.call(OP, f.cmd.with_epoch(epoch), ctx);
        }
        if answer == CellAnswer::SessionExpired {
            return self.expire(ctx);
        }
        let current = |u: &Option<UserOp>, lock: u8| u.is_some_and(|u| u.op.lock() == lock);
        match (f.cmd, answer) {
            (CellCmd::Abandon { lock, .. }, _) => {
                self.abandon.remove(&lock);
                if current(&self.user, lock) && self.user.is_some_and(|u| u.giving_up) {
                    ctx.sometimes("lock.acquire-gave-up");
                    self.answer(LockAnswer::NotGranted, ctx);
                }
            }
            (CellCmd::Acquire { lock, session, .. }, CellAnswer::Granted { token })
                if Some(session) == self.session =>
            {
                ctx.sometimes("lock.granted");
                self.held.insert(lock, token);
                if current(&self.user, lock) {
                    ctx.cancel_timer(LockTimer::OpDeadline);
                    self.answer(LockAnswer::Granted { token }, ctx);
                }
            }
            (CellCmd::Acquire { lock, .. }, CellAnswer::Queued) => {
                if let Some(u) = self.user.as_mut().filter(|u| u.op.lock() == lock) {
                    u.queued = true;
                    u.polling = true;
                    ctx.set_timer(LockTimer::Poll, Duration::from_millis(self.cfg.poll_ms));
                }
            }
            (CellCmd::Acquire { lock, .. }, CellAnswer::Busy) if current(&self.user, lock) => {
                self.answer(LockAnswer::NotGranted, ctx);
            }
            (CellCmd::Release { lock, .. }, a) if current(&self.user, lock) => {
                let ans = if a == CellAnswer::Released { LockAnswer::Released } else { LockAnswer::NotHeld };
                self.answer(ans, ctx);
            }
            _ => {}
        }
    }

    /// A timer.
    pub fn on_timer(&mut self, timer: LockTimer, ctx: &mut Ctx<Lock>) {
        match timer {
            LockTimer::Retry(chan) => {
                if let Some(f) = self.inflight[chan as usize].as_mut() {
                    if f.redirect {
                        f.redirect = false;
                    } else {
                        self.next_server();
                    }
                    self.transmit(chan, ctx);
                }
            }
            LockTimer::KeepAlive => {
                if let (Some(session), true) = (self.session, self.idle(KA)) {
                    self.call(KA, CellCmd::KeepAlive { session, epoch: self.epoch }, ctx);
                }
                if self.session.is_some() {
                    ctx.set_timer(LockTimer::KeepAlive, Duration::from_millis(self.cfg.keepalive_ms));
                }
            }
            LockTimer::LeaseEnd if self.status == Status::Active => {
                if self.clock(ctx) >= self.lease_end {
                    ctx.sometimes("lock.jeopardy");
                    self.status = Status::Jeopardy;
                    ctx.set_timer(LockTimer::GraceEnd, Duration::from_millis(self.cfg.grace_ms));
                } else {
                    ctx.set_timer(LockTimer::LeaseEnd, self.lease_end.saturating_since(self.clock(ctx)));
                }
            }
            LockTimer::GraceEnd if self.status == Status::Jeopardy => self.expire(ctx),
            LockTimer::Poll => {
                if let Some(u) = self.user.as_mut() {
                    u.polling = false;
                }
            }
            LockTimer::OpDeadline => {
                if let Some(u) = self.user.as_mut().filter(|u| matches!(u.op, LockOp::Acquire { .. })) {
                    u.giving_up = true;
                    u.polling = false;
                    ctx.cancel_timer(LockTimer::Poll);
                }
            }
            LockTimer::WorkDone => {
                // No lease check here: the work was started under the lease (see module docs).
                if let Some(lock) = self.in_cs.take() {
                    if let Some(&token) = self.held.get(&lock) {
                        ctx.send(self.cfg.resource(), LockMsg::Write { lock, token, client: self.id.0 });
                    }
                }
            }
            _ => {}
        }
        self.progress(ctx);
        self.maybe_work(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::LockAnswer;
    use faultline_sim::driver::{replies, sends, timers, Driver};
    use faultline_sim::prelude::{Command, Reply};

    type Out = Vec<Command<Lock>>;

    /// Client node 3 of the default layout, its session open with a lease from local time zero.
    struct H(Driver<Lock>);

    /// The last cell call among `out`.
    fn call(out: &[Command<Lock>]) -> (RequestId, CellCmd) {
        sends::<Lock>(out)
            .filter_map(|(_, m)| match m {
                LockMsg::Call { req, cmd } => Some((*req, *cmd)),
                _ => None,
            })
            .last()
            .unwrap_or_else(|| panic!("no call in {out:?}"))
    }

    fn no_reply(out: &Out) {
        assert_eq!(replies::<Lock>(out), [], "{out:?}");
    }

    fn user(seq: u32) -> RequestId {
        RequestId { client: 0, seq }
    }

    impl H {
        fn new(locks: u8) -> H {
            let cfg = LockConfig { locks, ..LockConfig::default() };
            let d = Driver::<Lock>::start(NodeId(3), cfg.nodes(), cfg, &[]).expect("valid");
            let open = call(d.started());
            assert!(matches!(open.1, CellCmd::OpenSession { client: 3 }));
            let mut h = H(d);
            h.answer(open, CellAnswer::Session { session: 1, epoch: 1 });
            assert_eq!(h.lib().status, Status::Active);
            h
        }

        fn lib(&self) -> &ClientLib {
            match self.0.node() {
                Lock::Client(c) => c,
                other => panic!("not a client: {other:?}"),
            }
        }

        fn lib_mut(&mut self) -> &mut ClientLib {
            match self.0.node_mut() {
                Lock::Client(c) => c,
                other => panic!("not a client: {other:?}"),
            }
        }

        /// Server 0 answers `call`, with a fresh lease for session calls.
        fn answer(&mut self, (req, cmd): (RequestId, CellCmd), answer: CellAnswer) -> Out {
            let lease = matches!(cmd, CellCmd::OpenSession { .. } | CellCmd::KeepAlive { .. })
                .then_some(LeaseGrant { lease_ms: 300, master_deadline: self.0.now() + Duration::from_millis(300) });
            self.0.message(NodeId(0), LockMsg::Answer { req, answer, lease })
        }

        fn op(&mut self, seq: u32, op: LockOp) -> Out {
            self.0.request(user(seq), op)
        }

        /// Acquires `lock` (as request `seq`) with sequencer `token`, and leaves the work it starts.
        fn hold(&mut self, seq: u32, lock: u8, token: u64) {
            let out = self.op(seq, LockOp::Acquire { lock });
            let out = self.answer(call(&out), CellAnswer::Granted { token });
            assert_eq!(replies::<Lock>(&out), [(user(seq), &Reply::Ok(LockAnswer::Granted { token }))]);
            if self.lib().in_cs == Some(lock) {
                self.lib_mut().in_cs = None;
            }
        }
    }

    /// The library believes it holds a granted lock while its local lease runs, a half-open
    /// interval: not at the instant it ends.
    #[test]
    fn belief_lasts_exactly_the_local_lease() {
        let mut h = H::new(1);
        h.hold(1, 0, 1);
        let end = h.lib().lease_end;
        assert!(end > Time::ZERO);
        assert!(h.lib().believes(0, Time(end.0 - 1)));
        assert!(!h.lib().believes(0, end));
        assert!(!h.lib().believes(1, Time::ZERO), "a lock never granted");
    }

    /// Work starts only if it ends, on the library's clock, strictly before the lease does, and
    /// one piece of work at a time.
    #[test]
    fn work_fits_inside_the_lease_one_piece_at_a_time() {
        let mut h = H::new(2);
        let end = h.lib().lease_end;
        let work = Duration::from_millis(LockConfig::default().work_ms);
        h.hold(1, 0, 1);
        let work_ns = work.as_nanos() as u64;
        h.0.set_now(Time(end.0 - work_ns));
        h.0.fire(LockTimer::Poll);
        assert_eq!(h.lib().in_cs, None, "work ending exactly at the lease end does not start");
        h.0.set_now(Time(end.0 - work_ns - 1));
        h.0.fire(LockTimer::Poll);
        assert_eq!(h.lib().in_cs, Some(0));
        let out = h.op(2, LockOp::Acquire { lock: 1 });
        h.answer(call(&out), CellAnswer::Granted { token: 1 });
        assert_eq!(h.lib().in_cs, Some(0), "no second piece of work while one runs");
    }

    /// A release the cell may have applied before the session expired is dropped unanswered:
    /// its effect is unknown, and a retry of it gets no answer either.
    #[test]
    fn a_release_cut_by_an_expiry_is_dropped() {
        let mut h = H::new(1);
        h.hold(1, 0, 1);
        let out = h.op(2, LockOp::Release { lock: 0 });
        assert!(matches!(call(&out).1, CellCmd::Release { lock: 0, token: 1, .. }));
        let out = h.0.timer(LockTimer::KeepAlive, 80);
        let out = h.answer(call(&out), CellAnswer::SessionExpired);
        no_reply(&out);
        assert!(matches!(call(&out).1, CellCmd::OpenSession { .. }), "a new session is opened");
        assert!(h.lib().user.is_none(), "the release is not retried on the new session");
        no_reply(&h.op(2, LockOp::Release { lock: 0 }));
    }

    /// An answer to a call of an operation the client has moved on from never answers the
    /// current operation: a refusal, a release or an abandon of another call is not its result.
    #[test]
    fn a_stale_call_answer_does_not_answer_the_current_operation() {
        let mut h = H::new(2);
        let old = call(&h.op(1, LockOp::TryAcquire { lock: 0 }));
        h.op(2, LockOp::TryAcquire { lock: 1 });
        no_reply(&h.answer(old, CellAnswer::Busy));

        let mut h = H::new(2);
        h.hold(1, 0, 1);
        let release = call(&h.op(2, LockOp::Release { lock: 0 }));
        h.op(3, LockOp::TryAcquire { lock: 1 });
        no_reply(&h.answer(release, CellAnswer::Released));

        let mut h = H::new(1);
        let acquire = call(&h.op(1, LockOp::Acquire { lock: 0 }));
        h.answer(acquire, CellAnswer::Queued);
        let out = h.op(2, LockOp::TryAcquire { lock: 0 });
        let abandon = call(&out);
        assert!(matches!(abandon.1, CellCmd::Abandon { lock: 0, .. }), "the old acquire leaves the queue first");
        let out = h.answer(abandon, CellAnswer::Done);
        no_reply(&out);
        assert!(matches!(call(&out).1, CellCmd::Acquire { lock: 0, wait: false, .. }), "then the try runs");
    }

    /// A blocking acquire still queued at its deadline leaves the queue and is answered "not
    /// granted".
    #[test]
    fn a_blocking_acquire_gives_up_at_its_deadline() {
        let mut h = H::new(1);
        let out = h.op(1, LockOp::Acquire { lock: 0 });
        let wait = LockConfig::default().acquire_wait_ms;
        assert!(timers::<Lock>(&out).contains(&(&LockTimer::OpDeadline, Duration::from_millis(wait))));
        h.answer(call(&out), CellAnswer::Queued);
        let out = h.0.timer(LockTimer::OpDeadline, wait);
        let abandon = call(&out);
        assert!(matches!(abandon.1, CellCmd::Abandon { lock: 0, .. }), "{out:?}");
        let out = h.answer(abandon, CellAnswer::Done);
        assert_eq!(replies::<Lock>(&out), [(user(1), &Reply::Ok(LockAnswer::NotGranted))]);
    }

    /// The lease running out puts the session in jeopardy for one grace period, which ends it
    /// (a new session is opened); a late timer of either kind changes nothing.
    #[test]
    fn jeopardy_lasts_one_grace_period() {
        let mut h = H::new(1);
        h.0.timer(LockTimer::GraceEnd, 10);
        assert_eq!(h.lib().status, Status::Active, "a grace timer outside jeopardy is stale");
        let end = h.lib().lease_end;
        h.0.set_now(Time(end.0 - 1));
        h.0.fire(LockTimer::LeaseEnd);
        assert_eq!(h.lib().status, Status::Active, "not yet");
        h.0.set_now(end);
        let out = h.0.fire(LockTimer::LeaseEnd);
        assert_eq!(h.lib().status, Status::Jeopardy);
        let grace = Duration::from_millis(LockConfig::default().grace_ms);
        assert!(timers::<Lock>(&out).contains(&(&LockTimer::GraceEnd, grace)));
        let again = h.0.timer(LockTimer::LeaseEnd, end.as_ms() + 50);
        assert!(
            !timers::<Lock>(&again).iter().any(|(t, _)| **t == LockTimer::GraceEnd),
            "the grace period is not extended"
        );
        let out = h.0.timer(LockTimer::GraceEnd, end.as_ms() + 400);
        assert_eq!(h.lib().status, Status::Opening);
        assert_eq!(h.lib().session, None);
        assert!(matches!(call(&out).1, CellCmd::OpenSession { .. }));
    }
}
