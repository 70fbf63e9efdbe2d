//! The checker's ghost state for consensus, shared by Paxos and Multi-Paxos.
//!
//! Acceptors overwrite what they accepted, so "was a value chosen?" cannot be read off the nodes
//! later. The ghost records every acceptance as it happens (the nodes report each one in a
//! per-step journal) and derives the chosen value of a slot the way the definition says: a
//! majority of acceptors accepted the same ballot. Every check is O(acceptances in the step).

use crate::ballot::{majority, Ballot, NodeSet};
use faultline_sim::prelude::{NodeId, Violation};
use std::fmt::Debug;

/// At most one value is chosen per slot.
pub const AGREEMENT: &str = "paxos.agreement";
/// Once `v` is chosen at ballot `b`, every proposal and acceptance above `b` carries `v`.
pub const CHOSEN_STABLE: &str = "paxos.chosen-stable";
/// A learner learns only a chosen value.
pub const LEARNED_CHOSEN: &str = "paxos.learned-chosen";
/// An acceptor's promise never decreases, across restarts too.
pub const PROMISE_MONOTONIC: &str = "paxos.promise-monotonic";
/// An acceptor never holds an accepted ballot above its promise.
pub const ACCEPTED_LE_PROMISED: &str = "paxos.accepted-le-promised";
/// No two proposals share a ballot with different values.
pub const BALLOT_UNIQUE: &str = "paxos.ballot-unique";
/// A chosen value was proposed by a client (or is a no-op filling a hole).
pub const VALIDITY: &str = "paxos.validity";

/// A list that holds its first element inline: most slots see one ballot, and this keeps the
/// ghost from allocating per slot.
#[derive(Debug)]
struct Few<T> {
    first: Option<T>,
    rest: Vec<T>,
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few { first: None, rest: Vec::new() }
    }
}

impl<T> Few<T> {
    /// The first element matching `pred`, or a new one made by `make`.
    fn find_or_push(&mut self, pred: impl Fn(&T) -> bool, make: impl FnOnce() -> T) -> &mut T {
        if self.first.as_ref().is_some_and(&pred) {
            return self.first.as_mut().expect("checked");
        }
        if let Some(i) = self.rest.iter().position(&pred) {
            return &mut self.rest[i];
        }
        if self.first.is_none() {
            return self.first.insert(make());
        }
        self.rest.push(make());
        self.rest.last_mut().expect("just pushed")
    }
}

/// What the ghost knows about one slot.
#[derive(Debug)]
struct SlotGhost<V> {
    /// Every `(ballot, value)` proposed (phase 2a) in this slot.
    proposals: Few<(Ballot, V)>,
    /// Every `(ballot, value)` accepted, with the acceptors that accepted it.
    accepts: Few<(Ballot, V, NodeSet)>,
    /// The value chosen here and the lowest ballot it was chosen at.
    chosen: Option<(Ballot, V)>,
}

impl<V> Default for SlotGhost<V> {
    fn default() -> Self {
        SlotGhost { proposals: Few::default(), accepts: Few::default(), chosen: None }
    }
}

/// Ghost state of the consensus checks.
#[derive(Debug)]
pub struct ConsensusGhost<V> {
    nodes: u32,
    /// Highest promise each acceptor ever held.
    max_promised: Vec<Ballot>,
    slots: Vec<SlotGhost<V>>,
}

impl<V> Default for ConsensusGhost<V> {
    fn default() -> Self {
        ConsensusGhost { nodes: 0, max_promised: Vec::new(), slots: Vec::new() }
    }
}

impl<V: Copy + Eq + Debug> ConsensusGhost<V> {
    /// Sizes the ghost for a cluster of `nodes` (idempotent; call before the other checks).
    pub fn size_for(&mut self, nodes: usize) {
        if self.max_promised.len() < nodes {
            self.nodes = nodes as u32;
            self.max_promised.resize(nodes, Ballot::ZERO);
        }
    }

    fn slot_mut(&mut self, slot: u64) -> &mut SlotGhost<V> {
        let i = slot as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, SlotGhost::default);
        }
        &mut self.slots[i]
    }

    /// The value chosen in `slot` (and the lowest ballot it was chosen at), if any yet.
    pub fn chosen(&self, slot: u64) -> Option<(Ballot, V)> {
        self.slots.get(slot as usize).and_then(|s| s.chosen)
    }

    /// Slots the ghost has seen anything in.
    pub fn slots(&self) -> u64 {
        self.slots.len() as u64
    }

    /// An acceptor's current promise, checked against the highest it ever held.
    pub fn promise(&mut self, acceptor: NodeId, promised: Ballot, out: &mut Vec<Violation>) {
        let max = &mut self.max_promised[acceptor.index()];
        if promised < *max {
            out.push(Violation::new(
                PROMISE_MONOTONIC,
                Some(acceptor),
                format!("promise went back from {} to {}", *max, promised),
            ));
        }
        *max = (*max).max(promised);
    }

    /// A proposer sent phase 2a `(ballot, value)` for `slot`.
    pub fn proposal(&mut self, proposer: NodeId, slot: u64, ballot: Ballot, value: V, out: &mut Vec<Violation>) {
        let s = self.slot_mut(slot);
        let mut fresh = false;
        let (_, v) = *s.proposals.find_or_push(
            |(b, _)| *b == ballot,
            || {
                fresh = true;
                (ballot, value)
            },
        );
        if v != value {
            out.push(Violation::new(
                BALLOT_UNIQUE,
                Some(proposer),
                format!("slot {slot}: ballot {ballot} proposed with two values, {v:?} and {value:?}"),
            ));
        } else if !fresh {
            return;
        }
        if let Some((cb, cv)) = s.chosen {
            if ballot > cb && value != cv {
                out.push(Violation::new(
                    CHOSEN_STABLE,
                    Some(proposer),
                    format!("slot {slot}: {cv:?} was chosen at {cb}, yet {proposer} proposes {value:?} at {ballot}"),
                ));
            }
        }
    }

    /// `acceptor` accepted `(ballot, value)` in `slot` while promising `promised`. Returns the
    /// value if this acceptance made it chosen.
    pub fn acceptance(
        &mut self,
        acceptor: NodeId,
        slot: u64,
        ballot: Ballot,
        value: V,
        promised: Ballot,
        out: &mut Vec<Violation>,
    ) -> Option<V> {
        assert!(self.nodes > 0, "size_for before acceptance");
        let quorum = majority(self.nodes);
        if ballot > promised {
            out.push(Violation::new(
                ACCEPTED_LE_PROMISED,
                Some(acceptor),
                format!("slot {slot}: accepted ballot {ballot} above its promise {promised}"),
            ));
        }
        let s = self.slot_mut(slot);
        if let Some((cb, cv)) = s.chosen {
            if ballot > cb && value != cv {
                out.push(Violation::new(
                    CHOSEN_STABLE,
                    Some(acceptor),
                    format!("slot {slot}: {cv:?} was chosen at {cb}, yet {acceptor} accepted {value:?} at {ballot}"),
                ));
            }
        }
        let set = &mut s
            .accepts
            .find_or_push(|(b, v, _)| *b == ballot && *v == value, || (ballot, value, NodeSet::default()))
            .2;
        if !set.insert(acceptor.0) || set.len() != quorum {
            return None;
        }
        match s.chosen {
            Some((cb, cv)) if cv != value => {
                out.push(Violation::new(
                    AGREEMENT,
                    Some(acceptor),
                    format!("slot {slot}: two values chosen, {cv:?} at {cb} and {value:?} at {ballot}"),
                ));
                None
            }
            Some((cb, _)) => {
                s.chosen = Some((cb.min(ballot), value));
                None
            }
            None => {
                s.chosen = Some((ballot, value));
                Some(value)
            }
        }
    }

    /// `node` learned `value` for `slot`: it must be the chosen value.
    pub fn learned(&mut self, node: NodeId, slot: u64, value: V, out: &mut Vec<Violation>) {
        match self.chosen(slot) {
            Some((_, v)) if v == value => {}
            Some((b, v)) => out.push(Violation::new(
                LEARNED_CHOSEN,
                Some(node),
                format!("slot {slot}: learned {value:?}, but {v:?} was chosen (at {b})"),
            )),
            None => out.push(Violation::new(
                LEARNED_CHOSEN,
                Some(node),
                format!("slot {slot}: learned {value:?}, but no value is chosen there"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(out: &[Violation]) -> Vec<&str> {
        out.iter().map(|v| v.invariant.as_str()).collect()
    }

    #[test]
    fn a_majority_at_one_ballot_chooses() {
        let mut g = ConsensusGhost::<u64>::default();
        g.size_for(3);
        let mut out = Vec::new();
        let b1 = Ballot::new(1, 0);
        assert_eq!(g.acceptance(NodeId(0), 0, b1, 7, b1, &mut out), None);
        assert_eq!(g.acceptance(NodeId(0), 0, b1, 7, b1, &mut out), None, "a duplicate is one vote");
        assert_eq!(g.acceptance(NodeId(1), 0, b1, 7, b1, &mut out), Some(7));
        assert_eq!(g.chosen(0), Some((b1, 7)));
        g.learned(NodeId(2), 0, 7, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn votes_across_ballots_do_not_choose() {
        let mut g = ConsensusGhost::<u64>::default();
        g.size_for(3);
        let mut out = Vec::new();
        let (b1, b2) = (Ballot::new(1, 0), Ballot::new(2, 1));
        g.acceptance(NodeId(0), 0, b1, 7, b1, &mut out);
        g.acceptance(NodeId(1), 0, b2, 7, b2, &mut out);
        assert_eq!(g.chosen(0), None);
        g.learned(NodeId(2), 0, 7, &mut out);
        assert_eq!(names(&out), [LEARNED_CHOSEN]);
    }

    #[test]
    fn each_violation_is_detected() {
        let mut g = ConsensusGhost::<u64>::default();
        g.size_for(3);
        let mut out = Vec::new();
        let (b1, b2, b3) = (Ballot::new(1, 0), Ballot::new(2, 1), Ballot::new(3, 2));
        g.acceptance(NodeId(0), 0, b1, 7, b1, &mut out);
        g.acceptance(NodeId(1), 0, b1, 7, b1, &mut out);
        g.proposal(NodeId(1), 0, b2, 8, &mut out);
        assert_eq!(names(&out), [CHOSEN_STABLE]);
        out.clear();
        g.proposal(NodeId(1), 0, b2, 9, &mut out);
        assert_eq!(names(&out), [BALLOT_UNIQUE, CHOSEN_STABLE]);
        out.clear();
        g.acceptance(NodeId(1), 0, b3, 8, b3, &mut out);
        assert_eq!(names(&out), [CHOSEN_STABLE]);
        out.clear();
        g.acceptance(NodeId(2), 0, b3, 8, b3, &mut out);
        assert_eq!(names(&out), [CHOSEN_STABLE, AGREEMENT]);
        out.clear();
        g.acceptance(NodeId(2), 1, b3, 8, b2, &mut out);
        assert_eq!(names(&out), [ACCEPTED_LE_PROMISED]);
        out.clear();
        g.promise(NodeId(0), b2, &mut out);
        g.promise(NodeId(0), b1, &mut out);
        assert_eq!(names(&out), [PROMISE_MONOTONIC]);
    }
}

/// What a node did in one step that the checker must see before it is overwritten: each node
/// clears its journal at the start of a handler and appends as it acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note<V> {
    /// A client (or the operator) asked this node to propose `value`.
    Requested {
        /// The value.
        value: V,
        /// True for an operator request from the scenario (not in the client history).
        operator: bool,
    },
    /// This node, as an acceptor, accepted `(ballot, value)` in `slot`.
    Accepted {
        /// The slot.
        slot: u64,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: V,
    },
    /// This node, as a learner, learned that `value` is chosen in `slot`.
    Learned {
        /// The slot.
        slot: u64,
        /// The value.
        value: V,
    },
}
