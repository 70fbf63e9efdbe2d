//! The cell's replicated state: sessions, locks with their wait queues and generation numbers,
//! lock-delay flags and the master epoch — a [`StateMachine`] that `faultline-raft` replicates.
//!
//! Everything here is deterministic and clock-free. Time enters only through commands the master
//! proposes when *its* clock says so (`Expire` a session whose lease ran out, `EndLockDelay`), so
//! every replica applies the same decisions in the same order, and a new master inherits them.

use faultline_raft::{RaftInput, StateMachine};
use faultline_sim::prelude::{History, Prng, Violation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most locks a cell holds (lock ids are `0..MAX_LOCKS`; freed-lock sets are bit sets).
pub const MAX_LOCKS: u8 = 16;

/// Cell flag: a KeepAlive revives an expired session (planted bug `lock.keepalive-revives`).
pub const FLAG_REVIVE_EXPIRED: u8 = 1;
/// Cell flag: a freed lock goes to the head of its queue without checking that the waiter's
/// session is still alive (planted bug `lock.waiter-no-recheck`, the 2020 etcd lock bug).
pub const FLAG_NO_WAITER_RECHECK: u8 = 2;

/// A command in the cell's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellCmd {
    /// A new master's first entry: its epoch (its Raft term) and the cell's behaviour flags.
    NewEpoch {
        /// The epoch.
        epoch: u64,
        /// `FLAG_*` bits (planted bugs only; 0 in correct runs).
        flags: u8,
    },
    /// Open a session for the client-library node `client`.
    OpenSession {
        /// The client node.
        client: u32,
    },
    /// Renew a session's lease.
    KeepAlive {
        /// Session.
        session: u64,
        /// The epoch the client knows.
        epoch: u64,
    },
    /// Take a lock (queueing if `wait`).
    Acquire {
        /// Session.
        session: u64,
        /// Epoch the client knows.
        epoch: u64,
        /// Lock.
        lock: u8,
        /// Join the queue when busy.
        wait: bool,
        /// Generation chosen by the master from its memory (planted bug); 0: the cell's counter.
        gen: u64,
    },
    /// Give a lock back.
    Release {
        /// Session.
        session: u64,
        /// Epoch the client knows.
        epoch: u64,
        /// Lock.
        lock: u8,
        /// The sequencer's generation the client holds.
        token: u64,
    },
    /// Leave a lock's queue; release the lock if it was granted meanwhile.
    Abandon {
        /// Session.
        session: u64,
        /// Epoch the client knows.
        epoch: u64,
        /// Lock.
        lock: u8,
    },
    /// The master's clock says the session's lease ran out; no effect if it was renewed since
    /// (`renewals` differs).
    Expire {
        /// Session.
        session: u64,
        /// Renewals the master saw when it decided.
        renewals: u64,
    },
    /// A lock's lock-delay is over on the master's clock.
    EndLockDelay {
        /// Lock.
        lock: u8,
    },
}

impl CellCmd {
    /// The same call carrying epoch `e` (after a `WrongEpoch` answer).
    pub fn with_epoch(self, e: u64) -> CellCmd {
        match self {
            CellCmd::KeepAlive { session, .. } => CellCmd::KeepAlive { session, epoch: e },
            CellCmd::Acquire { session, lock, wait, gen, .. } => {
                CellCmd::Acquire { session, epoch: e, lock, wait, gen }
            }
            CellCmd::Release { session, lock, token, .. } => CellCmd::Release { session, epoch: e, lock, token },
            CellCmd::Abandon { session, lock, .. } => CellCmd::Abandon { session, epoch: e, lock },
            other => other,
        }
    }

    /// The epoch a client call carries (`None` for calls that need none).
    pub fn epoch(&self) -> Option<u64> {
        match *self {
            CellCmd::KeepAlive { epoch, .. }
            | CellCmd::Acquire { epoch, .. }
            | CellCmd::Release { epoch, .. }
            | CellCmd::Abandon { epoch, .. } => Some(epoch),
            _ => None,
        }
    }

    /// True for the commands a client may send (the rest only a master proposes).
    pub fn from_client(&self) -> bool {
        matches!(
            self,
            CellCmd::OpenSession { .. }
                | CellCmd::KeepAlive { .. }
                | CellCmd::Acquire { .. }
                | CellCmd::Release { .. }
                | CellCmd::Abandon { .. }
        )
    }
}

/// The cell's answer to a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellAnswer {
    /// The new epoch is in force.
    Epoch,
    /// A session was opened.
    Session {
        /// Its id.
        session: u64,
        /// The epoch.
        epoch: u64,
    },
    /// The lease was renewed.
    Renewed {
        /// The epoch.
        epoch: u64,
    },
    /// The call carried an old epoch: resend with this one.
    WrongEpoch {
        /// The current epoch.
        epoch: u64,
    },
    /// The session has expired (it never comes back).
    SessionExpired,
    /// The lock is the session's: its sequencer's generation.
    Granted {
        /// Generation number (the fencing token).
        token: u64,
    },
    /// Busy: the session waits in the queue.
    Queued,
    /// Busy (try-acquire).
    Busy,
    /// Released.
    Released,
    /// The session did not hold the lock.
    NotHeld,
    /// Done (no effect to report).
    Done,
    /// The session expired; these locks (bit set) were freed and are in lock-delay.
    Expired {
        /// Freed locks.
        freed: u32,
    },
}

/// One session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionRec {
    /// The client-library node that owns it.
    pub client: u32,
    /// False once expired (a tombstone: ids are never reused).
    pub alive: bool,
    /// KeepAlives applied.
    pub renewals: u64,
    /// The epoch of the master that last renewed (or opened) it.
    pub lease_epoch: u64,
}

/// One lock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockRec {
    /// The holding session.
    pub holder: Option<u64>,
    /// Generation of the latest grant: the sequencer, strictly increasing per lock.
    pub generation: u64,
    /// In lock-delay: freed by a session expiry and not grantable yet.
    pub delayed: bool,
    /// Sessions waiting, in order.
    pub waiters: Vec<u64>,
    /// Times the lock was freed by its holder's expiry (read by the checker).
    pub freed_by_expiry: u64,
}

/// The replicated state of a lock cell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockCell {
    /// The current master's epoch.
    pub epoch: u64,
    /// `FLAG_*` bits from the last `NewEpoch`.
    pub flags: u8,
    /// Last session id handed out.
    pub next_session: u64,
    /// Every session ever opened, by id.
    pub sessions: BTreeMap<u64, SessionRec>,
    /// Locks by id.
    pub locks: Vec<LockRec>,
}

impl LockCell {
    /// Is `session` alive?
    pub fn alive(&self, session: u64) -> bool {
        self.sessions.get(&session).is_some_and(|s| s.alive)
    }

    fn lock_mut(&mut self, lock: u8) -> &mut LockRec {
        assert!(lock < MAX_LOCKS, "lock {lock} out of range");
        let i = usize::from(lock);
        if self.locks.len() <= i {
            self.locks.resize(i + 1, LockRec::default());
        }
        &mut self.locks[i]
    }

    /// A free lock goes to the first waiter whose session is alive (the check the 2020 etcd bug
    /// left out: without it a lock can go to a session that expired while it waited).
    fn grant_next(&mut self, lock: u8) {
        let recheck = self.flags & FLAG_NO_WAITER_RECHECK == 0;
        let sessions = &self.sessions;
        let l = &mut self.locks[usize::from(lock)];
        assert!(l.holder.is_none(), "granting a held lock");
        if l.delayed {
            return;
        }
        while !l.waiters.is_empty() {
            let s = l.waiters.remove(0);
            if recheck && !sessions.get(&s).is_some_and(|r| r.alive) {
                continue;
            }
            l.generation += 1;
            l.holder = Some(s);
            return;
        }
    }

    fn free(&mut self, lock: u8) {
        self.locks[usize::from(lock)].holder = None;
        self.grant_next(lock);
    }
}

impl StateMachine for LockCell {
    const PROTOCOL: &'static str = "lock-cell";
    type Config = ();
    type Command = CellCmd;
    type Output = CellAnswer;

    fn is_read(_cmd: &CellCmd) -> bool {
        // Every call changes state or must be ordered after the calls before it: all are logged.
        false
    }

    fn apply(&mut self, cmd: &CellCmd) -> CellAnswer {
        if let Some(e) = cmd.epoch() {
            if e != self.epoch {
                return CellAnswer::WrongEpoch { epoch: self.epoch };
            }
        }
        match *cmd {
            CellCmd::NewEpoch { epoch, flags } => {
                assert!(epoch > self.epoch, "epochs increase: {epoch} after {}", self.epoch);
                self.epoch = epoch;
                self.flags = flags;
                CellAnswer::Epoch
            }
            CellCmd::OpenSession { client } => {
                self.next_session += 1;
                let rec = SessionRec { client, alive: true, renewals: 0, lease_epoch: self.epoch };
                self.sessions.insert(self.next_session, rec);
                CellAnswer::Session { session: self.next_session, epoch: self.epoch }
            }
            CellCmd::KeepAlive { session, epoch } => {
                let revive = self.flags & FLAG_REVIVE_EXPIRED != 0;
                match self.sessions.get_mut(&session) {
                    Some(r) if r.alive || revive => {
                        r.alive = true;
                        r.renewals += 1;
                        r.lease_epoch = epoch;
                        CellAnswer::Renewed { epoch }
                    }
                    _ => CellAnswer::SessionExpired,
                }
            }
            CellCmd::Acquire { session, lock, wait, gen, .. } => {
                if !self.alive(session) {
                    return CellAnswer::SessionExpired;
                }
                if lock >= MAX_LOCKS {
                    return CellAnswer::Busy;
                }
                let l = self.lock_mut(lock);
                if l.holder == Some(session) {
                    return CellAnswer::Granted { token: l.generation };
                }
                // Queue order: a free lock goes to the head of its queue (or to anyone if none).
                let first_in_line = match l.waiters.first() {
                    None => true,
                    Some(&w) => w == session,
                };
                if l.holder.is_none() && !l.delayed && first_in_line {
                    l.waiters.retain(|&w| w != session);
                    l.generation = if gen > 0 { gen } else { l.generation + 1 };
                    l.holder = Some(session);
                    CellAnswer::Granted { token: l.generation }
                } else if wait {
                    if !l.waiters.contains(&session) {
                        l.waiters.push(session);
                    }
                    CellAnswer::Queued
                } else {
                    CellAnswer::Busy
                }
            }
            CellCmd::Release { session, lock, token, .. } => {
                if !self.alive(session) {
                    // Its locks went with it (an expiry, which the caller must learn of).
                    return CellAnswer::SessionExpired;
                }
                if lock >= MAX_LOCKS {
                    return CellAnswer::NotHeld;
                }
                let l = self.lock_mut(lock);
                if l.holder == Some(session) && l.generation == token {
                    self.free(lock);
                    CellAnswer::Released
                } else {
                    CellAnswer::NotHeld
                }
            }
            CellCmd::Abandon { session, lock, .. } => {
                if !self.alive(session) {
                    // Not "done": a grant it never saw may have been freed by the expiry.
                    return CellAnswer::SessionExpired;
                }
                if lock >= MAX_LOCKS {
                    return CellAnswer::Done;
                }
                let l = self.lock_mut(lock);
                l.waiters.retain(|&w| w != session);
                if l.holder == Some(session) {
                    self.free(lock);
                    CellAnswer::Released
                } else {
                    CellAnswer::Done
                }
            }
            CellCmd::Expire { session, renewals } => {
                match self.sessions.get_mut(&session) {
                    Some(r) if r.alive && r.renewals == renewals => r.alive = false,
                    _ => return CellAnswer::Done,
                }
                let mut freed = 0u32;
                for (i, l) in self.locks.iter_mut().enumerate() {
                    if l.holder == Some(session) {
                        l.holder = None;
                        l.delayed = true;
                        l.freed_by_expiry += 1;
                        freed |= 1 << i;
                    }
                }
                CellAnswer::Expired { freed }
            }
            CellCmd::EndLockDelay { lock } => {
                let l = self.lock_mut(lock);
                if l.delayed && l.holder.is_none() {
                    l.delayed = false;
                    self.grant_next(lock);
                }
                CellAnswer::Done
            }
        }
    }

    fn read(&self, _cmd: &CellCmd) -> CellAnswer {
        unreachable!("the lock cell logs every command")
    }

    fn generate(_config: &(), client: u32, _rng: &mut Prng) -> CellCmd {
        // Never used: the lock protocol drives the cell from its own client library.
        CellCmd::OpenSession { client }
    }

    fn check_history(
        _history: &History<RaftInput<CellCmd>, CellAnswer>,
        _history_budget: u64,
        _out: &mut Vec<Violation>,
    ) -> Option<String> {
        // The lock protocol checks its own client history (see `crate::check`).
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell() -> LockCell {
        let mut c = LockCell::default();
        c.apply(&CellCmd::NewEpoch { epoch: 1, flags: 0 });
        c
    }

    #[test]
    fn grants_queue_and_generations() {
        let mut c = cell();
        assert_eq!(c.apply(&CellCmd::OpenSession { client: 3 }), CellAnswer::Session { session: 1, epoch: 1 });
        c.apply(&CellCmd::OpenSession { client: 4 });
        let acq = |s, wait| CellCmd::Acquire { session: s, epoch: 1, lock: 0, wait, gen: 0 };
        assert_eq!(c.apply(&acq(1, true)), CellAnswer::Granted { token: 1 });
        assert_eq!(c.apply(&acq(2, false)), CellAnswer::Busy);
        assert_eq!(c.apply(&acq(2, true)), CellAnswer::Queued);
        assert_eq!(c.apply(&CellCmd::Release { session: 1, epoch: 1, lock: 0, token: 1 }), CellAnswer::Released);
        assert_eq!(c.apply(&acq(2, true)), CellAnswer::Granted { token: 2 });
        assert_eq!(c.apply(&CellCmd::KeepAlive { session: 2, epoch: 0 }), CellAnswer::WrongEpoch { epoch: 1 });
    }

    /// A release frees the lock only for its holder and only under the sequencer of the current
    /// grant: a stale release (an older generation) or another session's leaves it held.
    #[test]
    fn a_release_needs_the_holder_and_its_sequencer() {
        let mut c = cell();
        c.apply(&CellCmd::OpenSession { client: 3 });
        c.apply(&CellCmd::OpenSession { client: 4 });
        let acq = |s| CellCmd::Acquire { session: s, epoch: 1, lock: 0, wait: true, gen: 0 };
        let rel = |s, token| CellCmd::Release { session: s, epoch: 1, lock: 0, token };
        assert_eq!(c.apply(&acq(1)), CellAnswer::Granted { token: 1 });
        assert_eq!(c.apply(&rel(1, 1)), CellAnswer::Released);
        assert_eq!(c.apply(&acq(1)), CellAnswer::Granted { token: 2 });
        assert_eq!(c.apply(&rel(1, 1)), CellAnswer::NotHeld, "the first grant's sequencer is stale");
        assert_eq!(c.apply(&rel(2, 2)), CellAnswer::NotHeld, "not the holder");
        assert_eq!(c.locks[0].holder, Some(1));
        assert_eq!(c.apply(&rel(1, 2)), CellAnswer::Released);
        assert_eq!(c.locks[0].holder, None);
    }

    #[test]
    fn expiry_frees_with_lock_delay_and_skips_dead_waiters() {
        let mut c = cell();
        for client in 0..3 {
            c.apply(&CellCmd::OpenSession { client });
        }
        let acq = |s| CellCmd::Acquire { session: s, epoch: 1, lock: 0, wait: true, gen: 0 };
        c.apply(&acq(1));
        c.apply(&acq(2));
        c.apply(&acq(3));
        assert_eq!(c.apply(&CellCmd::Expire { session: 2, renewals: 0 }), CellAnswer::Expired { freed: 0 });
        assert_eq!(c.apply(&CellCmd::Expire { session: 1, renewals: 0 }), CellAnswer::Expired { freed: 1 });
        assert_eq!(c.locks[0].holder, None, "lock-delay holds the lock back");
        c.apply(&CellCmd::EndLockDelay { lock: 0 });
        assert_eq!(c.locks[0].holder, Some(3), "the dead waiter is skipped");
        assert_eq!(c.locks[0].generation, 2);
        assert_eq!(c.apply(&CellCmd::KeepAlive { session: 1, epoch: 1 }), CellAnswer::SessionExpired);
    }

    #[test]
    fn a_renewal_cancels_a_stale_expiry() {
        let mut c = cell();
        c.apply(&CellCmd::OpenSession { client: 0 });
        c.apply(&CellCmd::KeepAlive { session: 1, epoch: 1 });
        assert_eq!(c.apply(&CellCmd::Expire { session: 1, renewals: 0 }), CellAnswer::Done);
        assert!(c.alive(1));
    }
}
