//! The replicated log: entries, cluster configurations, and the in-memory log with its compacted
//! prefix.

use faultline_sim::prelude::{NodeId, RequestId};
use serde::{Deserialize, Serialize};

/// Largest cluster Raft runs with: configurations are 64-bit sets.
pub const MAX_NODES: u32 = 64;

/// A cluster configuration: the set of voting members, as a bit set over node ids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Members(pub u64);

impl Members {
    /// Nodes `0..n`.
    pub fn first(n: u32) -> Members {
        assert!(n <= MAX_NODES, "at most {MAX_NODES} nodes");
        Members(if n == 64 { u64::MAX } else { (1u64 << n) - 1 })
    }
    /// Is `id` a voter?
    #[inline]
    pub fn contains(self, id: NodeId) -> bool {
        id.0 < MAX_NODES && self.0 & (1 << id.0) != 0
    }
    /// Number of voters.
    #[inline]
    pub fn count(self) -> u32 {
        self.0.count_ones()
    }
    /// Votes needed to decide: a strict majority.
    #[inline]
    pub fn quorum(self) -> u32 {
        self.count() / 2 + 1
    }
    /// With `id` added.
    pub fn with(self, id: NodeId) -> Members {
        Members(self.0 | 1 << id.0)
    }
    /// With `id` removed.
    pub fn without(self, id: NodeId) -> Members {
        Members(self.0 & !(1 << id.0))
    }
    /// The voters in id order (one step per voter, not per possible id: this is on every
    /// commit, heartbeat and lease check).
    #[inline]
    pub fn iter(self) -> impl Iterator<Item = NodeId> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let i = bits.trailing_zeros();
                bits &= bits - 1;
                NodeId(i)
            })
        })
    }

    /// The `rank`-th largest (1-based) of `values`, one per voter: what a quorum of `rank`
    /// voters has reached. Clusters of up to 16 sort a 16-slot array on the stack (clearing a
    /// 64-slot one on every call showed in the profile).
    #[inline]
    pub fn kth_largest(values: impl Iterator<Item = u64>, rank: usize) -> u64 {
        let mut small = [0u64; 16];
        let mut big: Vec<u64> = Vec::new();
        let mut k = 0;
        for v in values {
            if k < small.len() {
                small[k] = v;
            } else {
                if k == small.len() {
                    big.extend_from_slice(&small);
                }
                big.push(v);
            }
            k += 1;
        }
        let s = if k <= small.len() { &mut small[..k] } else { &mut big[..] };
        assert!(rank >= 1 && rank <= s.len(), "a quorum of {rank} among {} voters", s.len());
        s.sort_unstable_by(|a, b| b.cmp(a));
        s[rank - 1]
    }
    /// Does the set `votes` hold a majority of these voters?
    #[inline]
    pub fn is_quorum(self, votes: u64) -> bool {
        (self.0 & votes).count_ones() >= self.quorum()
    }
}

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Payload<C> {
    /// The entry a new leader appends at the start of its term, so that it can commit (and with
    /// it every earlier entry) without waiting for a client.
    Noop,
    /// A new configuration, in force from the moment it is appended (thesis §4.1).
    Config(Members),
    /// A client command, with the request id that deduplicates retries.
    Command {
        /// The client's request id.
        req: RequestId,
        /// The command.
        cmd: C,
    },
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Entry<C> {
    /// The term of the leader that created it.
    pub term: u64,
    /// What it carries.
    pub payload: Payload<C>,
}

/// The log after the last snapshot: entry `i` is `entries[i - snap_index - 1]`.
#[derive(Clone, Debug)]
pub struct Log<C> {
    /// Last index covered by the snapshot (0: none).
    pub snap_index: u64,
    /// Term of that entry.
    pub snap_term: u64,
    /// The entries after it.
    pub entries: Vec<Entry<C>>,
}

impl<C> Default for Log<C> {
    fn default() -> Self {
        Log { snap_index: 0, snap_term: 0, entries: Vec::new() }
    }
}

impl<C: Clone> Log<C> {
    /// Index of the last entry (the snapshot's if the log is empty).
    #[inline]
    pub fn last_index(&self) -> u64 {
        self.snap_index + self.entries.len() as u64
    }

    /// Term of the last entry.
    #[inline]
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.snap_term, |e| e.term)
    }

    /// Term of entry `index`, if known (the snapshot's last entry is known; compacted ones not).
    #[inline]
    pub fn term(&self, index: u64) -> Option<u64> {
        if index == self.snap_index {
            Some(self.snap_term)
        } else if index < self.snap_index || index > self.last_index() {
            None
        } else {
            Some(self.entries[(index - self.snap_index - 1) as usize].term)
        }
    }

    /// Entry `index`; it must be in the log (after the snapshot, at most the last).
    #[inline]
    pub fn get(&self, index: u64) -> &Entry<C> {
        assert!(index > self.snap_index && index <= self.last_index(), "entry {index} not in log");
        &self.entries[(index - self.snap_index - 1) as usize]
    }

    /// Entries `from..=to`.
    pub fn slice(&self, from: u64, to: u64) -> &[Entry<C>] {
        assert!(from > self.snap_index && to <= self.last_index());
        if from > to {
            return &[];
        }
        &self.entries[(from - self.snap_index - 1) as usize..(to - self.snap_index) as usize]
    }

    /// Drops entries from `index` on.
    pub fn truncate_from(&mut self, index: u64) {
        assert!(index > self.snap_index, "truncating into the snapshot");
        self.entries.truncate((index - self.snap_index - 1) as usize);
    }

    /// Drops entries from `from` on, then appends `entries`.
    pub fn splice(&mut self, from: u64, entries: &[Entry<C>]) {
        self.truncate_from(from);
        self.entries.extend_from_slice(entries);
    }

    /// Replaces the prefix up to `(index, term)` by a snapshot: keeps the suffix if the log holds
    /// that entry, otherwise discards the whole log (it conflicts with, or lags, the snapshot).
    pub fn compact(&mut self, index: u64, term: u64) {
        if index <= self.snap_index {
            return;
        }
        if self.term(index) == Some(term) {
            self.entries.drain(..(index - self.snap_index) as usize);
        } else {
            self.entries.clear();
        }
        self.snap_index = index;
        self.snap_term = term;
    }

    /// The first index of the run of entries with the same term as entry `index` (for the
    /// follower's side of fast back-off).
    pub fn first_of_term(&self, index: u64) -> u64 {
        let term = self.term(index).expect("index in log");
        let mut i = index;
        while i > self.snap_index + 1 && self.term(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// The last index at or before `upto` holding an entry of `term`, if any (leader's side of
    /// fast back-off).
    pub fn last_of_term(&self, term: u64, upto: u64) -> Option<u64> {
        let mut i = upto.min(self.last_index());
        while i > self.snap_index {
            let t = self.term(i).expect("in log");
            if t == term {
                return Some(i);
            }
            if t < term {
                return None;
            }
            i -= 1;
        }
        None
    }

    /// The latest configuration entry at or before `upto`, with its index.
    pub fn config_at(&self, upto: u64) -> Option<(u64, Members)> {
        let mut i = upto.min(self.last_index());
        while i > self.snap_index {
            if let Payload::Config(m) = self.get(i).payload {
                return Some((i, m));
            }
            i -= 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(term: u64) -> Entry<u32> {
        Entry { term, payload: Payload::Noop }
    }

    #[test]
    fn indices_terms_and_compaction() {
        let mut log = Log::<u32>::default();
        log.splice(1, &[e(1), e(1), e(2), e(3)]);
        assert_eq!((log.last_index(), log.last_term()), (4, 3));
        assert_eq!(log.term(0), Some(0));
        assert_eq!(log.first_of_term(2), 1);
        assert_eq!(log.last_of_term(1, 4), Some(2));
        assert_eq!(log.last_of_term(4, 4), None);
        log.compact(2, 1);
        assert_eq!((log.snap_index, log.entries.len()), (2, 2));
        assert_eq!(log.term(1), None);
        assert_eq!(log.term(3), Some(2));
        log.compact(9, 5);
        assert_eq!((log.last_index(), log.last_term()), (9, 5));
    }

    #[test]
    fn a_term_older_than_the_snapshot_is_not_searched_for_past_it() {
        let mut log = Log::<u32>::default();
        log.splice(1, &[e(1), e(2), e(2), e(3)]);
        log.compact(3, 2);
        // Entry 1 (term 1) is compacted: the search stops at the snapshot instead of reading it.
        assert_eq!(log.last_of_term(1, 4), None);
        assert_eq!(log.last_of_term(3, 4), Some(4));
    }

    #[test]
    fn kth_largest_agrees_with_a_sort_past_the_inline_buffer() {
        // Clusters of up to MAX_NODES: more values than the 16 kept inline.
        for n in [1u64, 5, 16, 17, 40, 64] {
            let values: Vec<u64> = (0..n).map(|i| (i * 37 + 11) % 101).collect();
            let mut sorted = values.clone();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            for rank in 1..=n as usize {
                assert_eq!(Members::kth_largest(values.iter().copied(), rank), sorted[rank - 1], "n {n} rank {rank}");
            }
        }
    }

    #[test]
    fn members() {
        let m = Members::first(5);
        assert_eq!((m.count(), m.quorum()), (5, 3));
        assert!(m.is_quorum(0b10101));
        assert!(!m.is_quorum(0b00011));
        let m = m.without(NodeId(0)).with(NodeId(7));
        assert_eq!(m.iter().map(|n| n.0).collect::<Vec<_>>(), vec![1, 2, 3, 4, 7]);
    }
}
