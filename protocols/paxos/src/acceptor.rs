//! The acceptor: the only durable part of Paxos, shared by single-decree Paxos (slot 0 only) and
//! Multi-Paxos (one promise for every slot, one accepted proposal per slot).
//!
//! The acceptor's rules (Lamport, "Paxos Made Simple", phase 1b and 2b):
//! - promise ballot `b` iff `b >= promised`, and report every proposal accepted at or above the
//!   slot asked for;
//! - accept `(b, v)` in a slot iff `b >= promised`, and raise `promised` to `b`.
//!
//! The same value is the acceptor's in-memory state and its durable image: a handler changes it
//! through [`Acceptor::apply`] and hands the same [`AcceptorWrite`] to `ctx.write`, then syncs
//! before replying, so the reply never promises more than the disk holds.

use crate::ballot::Ballot;

/// An acceptor's state: its promise and what it accepted, slot by slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptor<V> {
    /// The highest ballot promised (or accepted): no proposal below it will be accepted.
    pub promised: Ballot,
    /// Per slot, the highest-ballot proposal accepted there.
    pub accepted: Vec<Option<(Ballot, V)>>,
}

impl<V> Default for Acceptor<V> {
    fn default() -> Self {
        Acceptor { promised: Ballot::ZERO, accepted: Vec::new() }
    }
}

/// One durable change to an acceptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptorWrite<V> {
    /// Promised `ballot`.
    Promise(Ballot),
    /// Accepted `(ballot, value)` in `slot`; `promise` says whether `promised` rises with it
    /// (always, unless the `paxos.accept-no-promise` bug is on).
    Accept {
        /// The slot.
        slot: u64,
        /// The proposal's ballot.
        ballot: Ballot,
        /// The proposal's value.
        value: V,
        /// Raise `promised` to `ballot`.
        promise: bool,
    },
}

/// Longest log an acceptor keeps: an explicit limit so a runaway proposer fails loudly.
pub const MAX_SLOTS: u64 = 1 << 24;

impl<V: Copy> Acceptor<V> {
    /// Applies a write (to memory or to the simulated disk: the same code, so they agree).
    pub fn apply(&mut self, w: &AcceptorWrite<V>) {
        match *w {
            AcceptorWrite::Promise(b) => {
                assert!(b >= self.promised, "a promise never goes back");
                self.promised = b;
            }
            AcceptorWrite::Accept { slot, ballot, value, promise } => {
                assert!(slot < MAX_SLOTS, "slot {slot} beyond MAX_SLOTS");
                let i = slot as usize;
                if self.accepted.len() <= i {
                    self.accepted.resize(i + 1, None);
                }
                self.accepted[i] = Some((ballot, value));
                if promise && ballot > self.promised {
                    self.promised = ballot;
                }
            }
        }
    }

    /// Phase 1b: the write that promises `ballot`, or `Err(promised)` when a higher ballot was
    /// promised. A repeated prepare for the promised ballot is promised again (idempotent).
    pub fn prepare(&self, ballot: Ballot) -> Result<AcceptorWrite<V>, Ballot> {
        if ballot >= self.promised {
            Ok(AcceptorWrite::Promise(ballot))
        } else {
            Err(self.promised)
        }
    }

    /// Phase 2b: the write that accepts `(ballot, value)` in `slot`, or `Err(promised)`.
    pub fn accept(&self, slot: u64, ballot: Ballot, value: V, raise_promise: bool) -> Result<AcceptorWrite<V>, Ballot> {
        if ballot >= self.promised {
            Ok(AcceptorWrite::Accept { slot, ballot, value, promise: raise_promise })
        } else {
            Err(self.promised)
        }
    }

    /// The proposal accepted in `slot`, if any.
    #[inline]
    pub fn accepted_in(&self, slot: u64) -> Option<(Ballot, V)> {
        self.accepted.get(slot as usize).copied().flatten()
    }
}

impl<V: Copy + std::fmt::Debug> faultline_sim::prelude::Durable for Acceptor<V> {
    type Write = AcceptorWrite<V>;
    fn apply(&mut self, w: &AcceptorWrite<V>) {
        Acceptor::apply(self, w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promises_and_accepts_follow_the_rules() {
        let mut a = Acceptor::<u64>::default();
        let w = a.prepare(Ballot::new(2, 1)).unwrap();
        a.apply(&w);
        assert_eq!(a.prepare(Ballot::new(1, 0)), Err(Ballot::new(2, 1)));
        assert!(a.accept(0, Ballot::new(1, 0), 7, true).is_err());
        let w = a.accept(3, Ballot::new(3, 0), 9, true).unwrap();
        a.apply(&w);
        assert_eq!(a.promised, Ballot::new(3, 0));
        assert_eq!(a.accepted_in(3), Some((Ballot::new(3, 0), 9)));
        assert_eq!(a.accepted_in(1), None);
        assert_eq!(a.prepare(Ballot::new(3, 0)), Ok(AcceptorWrite::Promise(Ballot::new(3, 0))));
    }
}
