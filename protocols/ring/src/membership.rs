//! The versioned membership view, spread by gossip.
//!
//! A view maps every node id to an [`Entry`]: a status and a version. Only the node driving a
//! change bumps an entry's version; a merge keeps, per node, the entry with the higher
//! `(version, status)`. That merge is a join on a semilattice (commutative, associative,
//! idempotent), so views converge under any loss, duplication, reordering or partition once gossip
//! gets through, and a stale view (a node back from a crash or a partition) can never undo a newer
//! change.
//!
//! A join or leave goes through three statuses, so that reads and writes stay on intersecting
//! quorums while views differ by one step (see `store` for the argument):
//!
//! | phase | joiner X       | leaver D        | reads from | writes need W in    |
//! |-------|----------------|-----------------|------------|---------------------|
//! | 1     | `Joining`      | `Leaving`       | old set    | old set and new set |
//! | 2     | `JoinReady`    | `LeaveReady`    | new set    | old set and new set |
//! | 3     | `Normal`       | `Left`          | new set    | new set             |

use serde::{Deserialize, Serialize};

/// A node's membership status. The order is the merge's tie-break for equal versions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Never a member.
    #[default]
    Absent,
    /// Joining, phase 1: receives writes, not yet read from; data being streamed to it.
    Joining,
    /// Joining, phase 2: streaming done; read from; writes still go to the old set too.
    JoinReady,
    /// A full member.
    Normal,
    /// Leaving, phase 1: still read from; its ranges being streamed to the gaining nodes.
    Leaving,
    /// Leaving, phase 2: no longer read from; writes still go to it.
    LeaveReady,
    /// Gone (left, or declared failed).
    Left,
}

impl Status {
    /// Read from (the read set).
    pub fn in_read_set(self) -> bool {
        matches!(self, Status::Normal | Status::Leaving | Status::JoinReady)
    }
    /// In the old write set (members before the change in progress).
    pub fn in_old_set(self) -> bool {
        matches!(self, Status::Normal | Status::Leaving | Status::LeaveReady)
    }
    /// In the new write set (members after the change in progress).
    pub fn in_new_set(self) -> bool {
        matches!(self, Status::Normal | Status::Joining | Status::JoinReady)
    }
    /// Takes part in the cluster: gossip, barriers, coordination.
    pub fn is_member(self) -> bool {
        !matches!(self, Status::Absent | Status::Left)
    }
    /// A change is in progress for this node.
    pub fn in_transition(self) -> bool {
        matches!(self, Status::Joining | Status::JoinReady | Status::Leaving | Status::LeaveReady)
    }
}

/// One node's entry in a view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// Bumped by the driver of each status change.
    pub version: u64,
    /// The status.
    pub status: Status,
}

/// Which member set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SetKind {
    /// Read from.
    Read = 0,
    /// Old write set.
    Old = 1,
    /// New write set.
    New = 2,
}

/// All three kinds, in index order.
pub const SET_KINDS: [SetKind; 3] = [SetKind::Read, SetKind::Old, SetKind::New];

/// A membership view: one entry per node id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MemberView {
    entries: Vec<Entry>,
}

/// What a merge changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    /// Some entry of ours was replaced.
    pub changed: bool,
    /// Some entry of ours is newer than the other view's: it lacks something we know.
    pub other_is_behind: bool,
}

impl MemberView {
    /// A view over `nodes` nodes where `initial` are `Normal` at version 1.
    pub fn initial(nodes: u32, initial: &[u32]) -> MemberView {
        let mut entries = vec![Entry::default(); nodes as usize];
        for &m in initial {
            entries[m as usize] = Entry { version: 1, status: Status::Normal };
        }
        MemberView { entries }
    }

    /// From raw entries.
    pub fn from_entries(entries: Vec<Entry>) -> MemberView {
        MemberView { entries }
    }

    /// The entries, by node id.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Node `id`'s entry.
    pub fn get(&self, id: u32) -> Entry {
        self.entries[id as usize]
    }

    /// Sets node `id`'s entry (the driver of a change).
    pub fn set(&mut self, id: u32, e: Entry) {
        assert!(e >= self.entries[id as usize], "an entry only moves forward");
        self.entries[id as usize] = e;
    }

    /// Merges `other` in, keeping the higher `(version, status)` per node. With `unversioned` (a
    /// planted bug) the other view's entry simply wins wherever the two differ.
    pub fn merge(&mut self, other: &[Entry], unversioned: bool) -> MergeOutcome {
        assert_eq!(other.len(), self.entries.len(), "views of different cluster sizes");
        let mut out = MergeOutcome::default();
        for (mine, theirs) in self.entries.iter_mut().zip(other) {
            if unversioned {
                if mine.status != theirs.status {
                    *mine = *theirs;
                    out.changed = true;
                }
                continue;
            }
            match (*theirs).cmp(mine) {
                std::cmp::Ordering::Greater => {
                    *mine = *theirs;
                    out.changed = true;
                }
                std::cmp::Ordering::Less => out.other_is_behind = true,
                std::cmp::Ordering::Equal => {}
            }
        }
        out
    }

    /// The sorted ids in a set.
    pub fn set_members(&self, kind: SetKind, out: &mut Vec<u32>) {
        out.clear();
        let pick = |s: Status| match kind {
            SetKind::Read => s.in_read_set(),
            SetKind::Old => s.in_old_set(),
            SetKind::New => s.in_new_set(),
        };
        out.extend(self.entries.iter().enumerate().filter(|(_, e)| pick(e.status)).map(|(i, _)| i as u32));
    }

    /// The sorted ids of members (anything but absent or left).
    pub fn members(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries.iter().enumerate().filter(|(_, e)| e.status.is_member()).map(|(i, _)| i as u32)
    }

    /// Is any change in progress?
    pub fn in_transition(&self) -> bool {
        self.entries.iter().any(|e| e.status.in_transition())
    }

    /// Every entry of `self` is at least as new as `other`'s.
    pub fn dominates(&self, other: &[Entry]) -> bool {
        self.entries.iter().zip(other).all(|(a, b)| a >= b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_a_join() {
        let a = MemberView::initial(4, &[0, 1, 2]);
        let mut b = a.clone();
        b.set(3, Entry { version: 1, status: Status::Joining });
        let mut c = a.clone();
        c.set(1, Entry { version: 2, status: Status::Leaving });
        let mut bc = b.clone();
        bc.merge(c.entries(), false);
        let mut cb = c.clone();
        let o = cb.merge(b.entries(), false);
        assert!(o.changed && o.other_is_behind);
        assert_eq!(bc, cb, "commutative");
        let again = bc.clone();
        assert!(!bc.merge(again.entries(), false).changed, "idempotent");
        // A stale view changes nothing.
        assert!(!bc.merge(a.entries(), false).changed);
        // Without versions it does: the planted bug.
        assert!(bc.merge(a.entries(), true).changed);
    }

    /// Exactly the four phases of a join or a leave are a change in progress; a view is in
    /// transition while any node is in one.
    #[test]
    fn a_transition_is_a_join_or_leave_under_way() {
        use Status::*;
        for s in [Joining, JoinReady, Leaving, LeaveReady] {
            assert!(s.in_transition(), "{s:?}");
        }
        for s in [Absent, Normal, Left] {
            assert!(!s.in_transition(), "{s:?}");
        }
        let mut v = MemberView::initial(4, &[0, 1, 2]);
        assert!(!v.in_transition());
        v.set(3, Entry { version: 1, status: JoinReady });
        assert!(v.in_transition());
        v.set(3, Entry { version: 2, status: Normal });
        assert!(!v.in_transition());
    }
}
