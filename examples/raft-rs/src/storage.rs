//! The node's durable state, and the raft-rs [`Storage`] over it.
//!
//! raft-rs reads its persisted log and hard state through [`Storage`]; faultline keeps a node's
//! durable state as a [`Durable`] value that only changes through `Ctx::write` and survives a
//! crash only once synced. [`Disk`] is both: the adapter applies each write to the in-memory
//! copy raft-rs reads *and* hands the same write to faultline, and a restart rebuilds the
//! `RawNode` from the synced copy. There is no log compaction, so the log always starts at 1.

use faultline_sim::prelude::Durable;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

/// What a node keeps on disk: raft-rs's hard state (term, vote, commit) and its log.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// Term, vote and commit index.
    pub hard_state: HardState,
    /// Entries `1..=entries.len()`: `entries[i]` has index `i + 1`.
    pub entries: Vec<Entry>,
}

/// One write to disk.
#[derive(Clone, Debug)]
pub enum DiskWrite {
    /// Drop the log from the first entry's index on, then append the entries there (raft-rs's
    /// `Ready::entries` may overwrite a conflicting suffix).
    Append(Vec<Entry>),
    /// Replace the hard state.
    HardState(HardState),
}

impl Disk {
    /// Index of the last entry (0: empty log).
    pub fn last_index(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Term of entry `idx` (0 for index 0), if the log holds it.
    pub fn term(&self, idx: u64) -> Option<u64> {
        if idx == 0 {
            return Some(0);
        }
        self.entries.get(idx as usize - 1).map(|e| e.term)
    }
}

impl Durable for Disk {
    type Write = DiskWrite;

    fn apply(&mut self, w: &DiskWrite) {
        match w {
            DiskWrite::Append(entries) => {
                let Some(first) = entries.first() else { return };
                // Never leave a hole (a torn write keeps a prefix, so none should arrive).
                if first.index == 0 || first.index > self.last_index() + 1 {
                    return;
                }
                self.entries.truncate(first.index as usize - 1);
                self.entries.extend(entries.iter().cloned());
            }
            DiskWrite::HardState(hs) => self.hard_state = hs.clone(),
        }
    }
}

/// The storage a `RawNode` reads: the node's disk (as written so far) and the fixed
/// membership (`voters`, raft-rs ids `1..=nodes`).
#[derive(Clone, Debug)]
pub struct Store {
    /// The disk as the node wrote it.
    pub disk: Disk,
    /// The cluster's voters.
    pub voters: Vec<u64>,
}

fn unavailable() -> raft::Error {
    raft::Error::Store(StorageError::Unavailable)
}

impl Storage for Store {
    fn initial_state(&self) -> raft::Result<RaftState> {
        let conf = ConfState { voters: self.voters.clone(), ..ConfState::default() };
        Ok(RaftState::new(self.disk.hard_state.clone(), conf))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low == 0 {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if low > high || high > self.disk.last_index() + 1 {
            return Err(unavailable());
        }
        let mut out = self.disk.entries[low as usize - 1..high as usize - 1].to_vec();
        raft::util::limit_size(&mut out, max_size.into());
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.disk.term(idx).ok_or_else(unavailable)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.disk.last_index())
    }

    fn snapshot(&self, _request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        // Never asked for: the log is never compacted, so every follower can be caught up
        // from entries.
        Err(raft::Error::Store(StorageError::SnapshotTemporarilyUnavailable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64) -> Entry {
        Entry { index, term, ..Entry::default() }
    }

    #[test]
    fn appends_overwrite_a_suffix_and_never_leave_a_hole() {
        let mut d = Disk::default();
        d.apply(&DiskWrite::Append(vec![entry(1, 1), entry(2, 1), entry(3, 1)]));
        d.apply(&DiskWrite::Append(vec![entry(2, 2)]));
        assert_eq!(d.last_index(), 2);
        assert_eq!(d.term(2), Some(2));
        d.apply(&DiskWrite::Append(vec![entry(5, 2)]));
        assert_eq!(d.last_index(), 2, "a write past the end is ignored");
        d.apply(&DiskWrite::Append(vec![entry(0, 2)]));
        assert_eq!(d.last_index(), 2, "index 0 is ignored");
    }

    #[test]
    fn storage_answers_out_of_range_with_errors() {
        let mut disk = Disk::default();
        disk.apply(&DiskWrite::Append(vec![entry(1, 1), entry(2, 1)]));
        let s = Store { disk, voters: vec![1, 2, 3] };
        assert_eq!(s.entries(1, 3, None, GetEntriesContext::empty(false)).unwrap().len(), 2);
        assert!(s.entries(1, 4, None, GetEntriesContext::empty(false)).is_err());
        assert!(s.entries(0, 1, None, GetEntriesContext::empty(false)).is_err());
        assert!(s.term(3).is_err());
        assert_eq!(s.term(0).unwrap(), 0);
        assert_eq!(s.initial_state().unwrap().conf_state.voters, vec![1, 2, 3]);
    }
}
