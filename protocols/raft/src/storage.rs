//! What a node keeps on disk: term, vote, log and latest snapshot.

use crate::log::Log;
use crate::state_machine::{Snapshot, StateMachine};
use faultline_sim::prelude::{Durable, NodeId};
use std::sync::Arc;

/// A node's durable state.
#[derive(Clone, Debug)]
pub struct RaftDisk<S: StateMachine> {
    /// Current term.
    pub term: u64,
    /// Candidate voted for in `term`.
    pub vote: Option<NodeId>,
    /// The log after the snapshot.
    pub log: Log<S::Command>,
    /// The latest snapshot (`None`: nothing compacted yet).
    pub snapshot: Option<Arc<Snapshot<S>>>,
}

impl<S: StateMachine> Default for RaftDisk<S> {
    fn default() -> Self {
        RaftDisk { term: 0, vote: None, log: Log::default(), snapshot: None }
    }
}

/// One write to disk.
#[derive(Debug)]
pub enum RaftWrite<S: StateMachine> {
    /// Term and vote.
    HardState {
        /// Term.
        term: u64,
        /// Vote in that term.
        vote: Option<NodeId>,
    },
    /// Drop the log from `from` on, then append `entries` there.
    Entries {
        /// First index written.
        from: u64,
        /// The entries.
        entries: Vec<crate::log::Entry<S::Command>>,
    },
    /// Install a snapshot (own compaction or received): keeps the log's suffix after it when the
    /// log holds its last entry, discards the log otherwise.
    Snapshot(Arc<Snapshot<S>>),
}

impl<S: StateMachine> Durable for RaftDisk<S> {
    type Write = RaftWrite<S>;
    fn apply(&mut self, w: &RaftWrite<S>) {
        match w {
            RaftWrite::HardState { term, vote } => {
                self.term = *term;
                self.vote = *vote;
            }
            RaftWrite::Entries { from, entries } => {
                // A torn write may have lost an earlier append: never leave a hole.
                let from = (*from).min(self.log.last_index() + 1);
                if from > self.log.snap_index {
                    self.log.splice(from, entries);
                }
            }
            RaftWrite::Snapshot(s) => {
                if s.index > self.log.snap_index {
                    self.log.compact(s.index, s.term);
                    self.snapshot = Some(s.clone());
                }
            }
        }
    }
}
