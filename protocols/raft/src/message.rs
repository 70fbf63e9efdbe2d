//! Messages between nodes and requests from clients and operators.

use crate::log::Entry;
use crate::state_machine::{Snapshot, StateMachine};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A request to a node: a client command, or an operator's membership change or leadership
/// transfer (scenario `[[requests]]`, e.g. `input = { add_server = 3 }`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftInput<C> {
    /// A client command for the state machine.
    Client(C),
    /// Add a node to the configuration (single-server change).
    AddServer(u32),
    /// Remove a node from the configuration (single-server change).
    RemoveServer(u32),
    /// Hand leadership to a node (thesis §3.10).
    TransferLeadership(u32),
}

/// A message between nodes.
#[derive(Debug)]
pub enum RaftMsg<S: StateMachine> {
    /// RequestVote, or a pre-vote probe (`pre`, which raises no term).
    RequestVote {
        /// The candidate's term (for a pre-vote: the term it would campaign in).
        term: u64,
        /// Index of its last entry.
        last_index: u64,
        /// Term of its last entry.
        last_term: u64,
        /// A pre-vote probe.
        pre: bool,
        /// Sent because the leader handed over: overrides the leader lease of voters.
        transfer: bool,
    },
    /// The answer to a RequestVote.
    Vote {
        /// The voter's term (for a granted pre-vote: the probe's term).
        term: u64,
        /// Granted.
        granted: bool,
        /// Answers a pre-vote probe.
        pre: bool,
    },
    /// AppendEntries (empty: a heartbeat).
    Append {
        /// Leader's term.
        term: u64,
        /// Index of the entry preceding `entries`.
        prev_index: u64,
        /// Its term.
        prev_term: u64,
        /// The entries.
        entries: Vec<Entry<S::Command>>,
        /// Leader's commit index.
        commit: u64,
        /// Heartbeat round, echoed back (read index and lease).
        round: u64,
    },
    /// The answer to an AppendEntries or InstallSnapshot.
    AppendReply {
        /// The follower's term.
        term: u64,
        /// The log matched.
        success: bool,
        /// On success: the follower's log matches the leader's through here. On failure: the
        /// index the leader should consider next (fast back-off).
        index: u64,
        /// On failure: the term of the follower's entry at `prev_index` (0: it has none).
        conflict_term: u64,
        /// The rejected message's `prev_index` (to spot stale rejections).
        prev_index: u64,
        /// The round echoed.
        round: u64,
    },
    /// InstallSnapshot, for a follower that needs entries the leader compacted.
    InstallSnapshot {
        /// Leader's term.
        term: u64,
        /// The snapshot.
        snapshot: Arc<Snapshot<S>>,
        /// The round echoed.
        round: u64,
    },
    /// Start an election now (leadership transfer).
    TimeoutNow {
        /// Leader's term.
        term: u64,
    },
}

impl<S: StateMachine> std::hash::Hash for RaftMsg<S> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            RaftMsg::RequestVote { term, last_index, last_term, pre, transfer } => {
                (term, last_index, last_term, pre, transfer).hash(h)
            }
            RaftMsg::Vote { term, granted, pre } => (term, granted, pre).hash(h),
            RaftMsg::Append { term, prev_index, prev_term, entries, commit, round } => {
                (term, prev_index, prev_term, entries, commit, round).hash(h)
            }
            RaftMsg::AppendReply { term, success, index, conflict_term, prev_index, round } => {
                (term, success, index, conflict_term, prev_index, round).hash(h)
            }
            RaftMsg::InstallSnapshot { term, snapshot, round } => (term, snapshot, round).hash(h),
            RaftMsg::TimeoutNow { term } => term.hash(h),
        }
    }
}

impl<S: StateMachine> Clone for RaftMsg<S> {
    fn clone(&self) -> Self {
        match self {
            RaftMsg::RequestVote { term, last_index, last_term, pre, transfer } => RaftMsg::RequestVote {
                term: *term,
                last_index: *last_index,
                last_term: *last_term,
                pre: *pre,
                transfer: *transfer,
            },
            RaftMsg::Vote { term, granted, pre } => RaftMsg::Vote { term: *term, granted: *granted, pre: *pre },
            RaftMsg::Append { term, prev_index, prev_term, entries, commit, round } => RaftMsg::Append {
                term: *term,
                prev_index: *prev_index,
                prev_term: *prev_term,
                entries: entries.clone(),
                commit: *commit,
                round: *round,
            },
            RaftMsg::AppendReply { term, success, index, conflict_term, prev_index, round } => RaftMsg::AppendReply {
                term: *term,
                success: *success,
                index: *index,
                conflict_term: *conflict_term,
                prev_index: *prev_index,
                round: *round,
            },
            RaftMsg::InstallSnapshot { term, snapshot, round } => {
                RaftMsg::InstallSnapshot { term: *term, snapshot: snapshot.clone(), round: *round }
            }
            RaftMsg::TimeoutNow { term } => RaftMsg::TimeoutNow { term: *term },
        }
    }
}
