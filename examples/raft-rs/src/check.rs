//! Raft's safety invariants over what raft-rs exposes (`RawNode::raft`: term, role, log,
//! commit index) and the adapter's applied state, plus the end-of-run linearizability check of
//! the client history.
//!
//! The invariants are the built-in Raft's, written once for any Raft in
//! [`faultline_raft::safety`]: this module only says how to read raft-rs's node and the
//! adapter's disk ([`RaftNodeView`], [`RaftDiskView`]) and which messages promise something
//! about the sender's disk ([`Sent`]). They are named `raft-rs.*`:
//!
//! | invariant | what it says |
//! |---|---|
//! | `raft-rs.election-safety` | at most one leader per term, ever |
//! | `raft-rs.leader-append-only` | a leader never rewrites or drops its own entries in its term |
//! | `raft-rs.log-matching` | an `(index, term)` names one entry, whose predecessor has one term |
//! | `raft-rs.leader-completeness` | a leader holds every entry committed in an earlier term |
//! | `raft-rs.state-machine-safety` | one entry is committed per index, and every node applies exactly those, in order |
//! | `raft-rs.committed-prefix` | a node's commit index never passes the end of its log |
//! | `raft-rs.commit-monotonic` | a running node's commit index never decreases |
//! | `raft-rs.commit-durable` | when a leader commits, a majority has the entry on disk |
//! | `raft-rs.term-monotonic` | a running node's term never decreases, nor does its synced term across restarts |
//! | `raft-rs.vote-durable` | a vote (own or granted) is synced before it is sent |
//! | `raft-rs.vote-once` | a voter grants at most one candidate per term, across restarts too |
//! | `raft-rs.ack-durable` | a follower acknowledges only entries it has synced |
//! | `raft-rs.linearizable` | the client history is linearizable as a key-value store |

use crate::message::Msg;
use crate::node::{entry_digest, RaftRs};
use crate::storage::Disk;
use faultline_kv::{KvAnswer, KvCmd};
use faultline_raft::safety::{RaftChecks, RaftClusterView, RaftDiskView, RaftNodeView, Sent};
use faultline_sim::prelude::{History, NodeId, Op, View, Violation};
use raft::eraftpb::MessageType;
use raft::{GetEntriesContext, StateRole};

/// The checker's ghost state: Raft's safety checks, named `raft-rs.*`.
#[derive(Debug)]
pub struct Ghost(RaftChecks);

impl Default for Ghost {
    fn default() -> Self {
        Ghost(RaftChecks::new("raft-rs"))
    }
}

impl RaftNodeView for RaftRs {
    fn term(&self) -> u64 {
        self.raw.raft.term
    }
    fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }
    fn commit(&self) -> u64 {
        self.raw.raft.raft_log.committed
    }
    // No snapshot: the adapter never compacts, so the log starts at index 1.
    fn last_index(&self) -> u64 {
        self.raw.raft.raft_log.last_index()
    }
    fn entry(&self, index: u64) -> Option<(u64, u64)> {
        let log = &self.raw.raft.raft_log;
        let entries = log.slice(index, index + 1, None, GetEntriesContext::empty(false)).ok()?;
        entries.first().map(|e| (e.term, entry_digest(e)))
    }
    fn entry_term(&self, index: u64) -> Option<u64> {
        self.raw.raft.raft_log.term(index).ok()
    }
    fn applied(&self) -> (u64, u64) {
        (self.applied, self.chain)
    }
    fn touched(&self) -> u64 {
        self.touched
    }
    fn fresh(&self) -> bool {
        // Checked right after start, before any event: a new incarnation.
        self.events == 0
    }
    fn voters(&self) -> u64 {
        // The membership is fixed: raft-rs ids `1..=nodes` are node ids `0..nodes`.
        faultline_raft::log::Members::first(self.nodes).0
    }
}

impl RaftDiskView for Disk {
    fn term(&self) -> u64 {
        self.hard_state.term
    }
    fn vote(&self) -> Option<NodeId> {
        // raft-rs ids are node ids + 1; 0 is no vote.
        (self.hard_state.vote > 0).then(|| NodeId(self.hard_state.vote as u32 - 1))
    }
    fn entry_term(&self, index: u64) -> Option<u64> {
        Disk::term(self, index)
    }
}

/// The simulator's view as the checks' cluster.
struct Cluster<'a, 'v>(&'a View<'v, RaftRs>);

impl RaftClusterView for Cluster<'_, '_> {
    type Node = RaftRs;
    type Disk = Disk;
    fn size(&self) -> usize {
        self.0.len()
    }
    fn node(&self, id: NodeId) -> Option<&RaftRs> {
        self.0.node(id).state
    }
    fn disk(&self, id: NodeId) -> &Disk {
        self.0.node(id).synced
    }
}

/// The run-time invariants after `node` handled an event.
pub fn check_step(g: &mut Ghost, view: &View<RaftRs>, node: NodeId, out: &mut Vec<Violation>) {
    g.0.check_step(&Cluster(view), node, out);
}

/// The "persist before send" checks on a message as it is sent: the view shows the sender's
/// synced disk as of this send.
pub fn observe_send(g: &mut Ghost, view: &View<RaftRs>, from: NodeId, to: NodeId, msg: &Msg, out: &mut Vec<Violation>) {
    let m = &msg.0;
    let sent = match m.msg_type {
        MessageType::MsgRequestVoteResponse if !m.reject => Sent::GrantVote { term: m.term },
        MessageType::MsgRequestVote => Sent::Campaign { term: m.term },
        MessageType::MsgAppendResponse if !m.reject => Sent::AckAppend { index: m.index },
        _ => return,
    };
    g.0.observe_send(&Cluster(view), from, to, sent, out);
}

/// The end-of-run check: the history is linearizable as a KV store (lincheck's `Kv` model,
/// partitioned by key), within the scenario's `checks.history_budget`.
pub fn check_history(history: &History<KvCmd, KvAnswer>, budget: u64, out: &mut Vec<Violation>) -> Option<String> {
    // Operator requests (client id `u32::MAX`) are not client operations.
    fn cmd(op: &Op<KvCmd, KvAnswer>) -> Option<&KvCmd> {
        (op.client != u32::MAX).then_some(&op.input)
    }
    faultline_kv::check_linearizable(history, cmd, "raft-rs.linearizable", budget, out)
}
