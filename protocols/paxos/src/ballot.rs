//! Ballots: totally ordered proposal numbers, unique per proposer.

/// A ballot number `(round, node)`, ordered by round, then by the proposer's id.
///
/// The node id in the low position is what makes ballots unique: two proposers may pick the same
/// round, never the same ballot. `Ballot::ZERO` is below every ballot a proposer uses and stands
/// for "nothing promised / accepted yet".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ballot {
    /// The round: a proposer's next round is one more than the highest round it has seen.
    pub round: u64,
    /// The proposer that owns this ballot.
    pub node: u32,
}

impl Ballot {
    /// Below every real ballot.
    pub const ZERO: Ballot = Ballot { round: 0, node: 0 };

    /// The ballot `(round, node)`.
    pub const fn new(round: u64, node: u32) -> Ballot {
        Ballot { round, node }
    }
}

impl std::fmt::Display for Ballot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({},n{})", self.round, self.node)
    }
}

/// A set of acceptors as a bit mask, for counting quorums without allocating.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeSet(pub u64);

impl NodeSet {
    /// Largest cluster a `NodeSet` can describe.
    pub const MAX_NODES: u32 = 64;

    /// Adds `node`; returns true if it was not in the set.
    #[inline]
    pub fn insert(&mut self, node: u32) -> bool {
        assert!(node < Self::MAX_NODES, "node {node} beyond NodeSet capacity");
        let bit = 1u64 << node;
        let fresh = self.0 & bit == 0;
        self.0 |= bit;
        fresh
    }

    /// Is `node` in the set?
    #[inline]
    pub fn contains(self, node: u32) -> bool {
        node < Self::MAX_NODES && self.0 & (1u64 << node) != 0
    }

    /// Number of members.
    #[inline]
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// True when empty.
    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The size of a majority of `nodes`.
#[inline]
pub const fn majority(nodes: u32) -> u32 {
    nodes / 2 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballots_order_by_round_then_node() {
        assert!(Ballot::new(1, 2) < Ballot::new(2, 0));
        assert!(Ballot::new(2, 0) < Ballot::new(2, 1));
        assert!(Ballot::ZERO < Ballot::new(1, 0));
        assert_eq!(Ballot::new(3, 1).to_string(), "(3,n1)");
    }

    #[test]
    fn node_sets_count_members_once() {
        let mut s = NodeSet::default();
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        assert!(s.insert(3));
        assert!(!s.is_empty());
        assert!(!s.insert(3));
        assert!(s.insert(0));
        assert_eq!(s.len(), 2);
        assert!(s.contains(0) && s.contains(3) && !s.contains(1));
        assert_eq!(majority(3), 2);
        assert_eq!(majority(4), 3);
        assert_eq!(majority(5), 3);
    }
}
