//! This crate's [`Raft`] under the Raft safety checks of [`crate::safety`] (the table of
//! invariants is there; they are named `raft.*` here): the views the checks read, and the
//! messages that promise something about the sender's disk.

use crate::message::RaftMsg;
use crate::node::{Raft, Role};
use crate::safety::{RaftChecks, RaftClusterView, RaftDiskView, RaftNodeView, Sent};
use crate::state_machine::{entry_digest, StateMachine};
use crate::storage::RaftDisk;
use faultline_sim::prelude::{NodeId, View, Violation};
use std::marker::PhantomData;

/// The checks' ghost state for this crate's Raft, named `raft.*`.
pub type RaftGhost = RaftChecks;

/// What the checks read of a cluster of this crate's Raft nodes: each node's state (`None`
/// while down or not a Raft node) and what it has made durable. The simulator's view of a Raft
/// run is one; a protocol that embeds Raft (the lock service's cells) provides another, so the
/// same checks run inside it.
pub trait RaftCluster<S: StateMachine> {
    /// Number of node ids (Raft nodes are `0..size`; others may follow).
    fn size(&self) -> usize;
    /// Node `id`'s Raft state, if it is a live Raft node.
    fn raft(&self, id: NodeId) -> Option<&Raft<S>>;
    /// What node `id` has synced.
    fn disk(&self, id: NodeId) -> &RaftDisk<S>;
}

impl<S: StateMachine> RaftCluster<S> for View<'_, Raft<S>> {
    fn size(&self) -> usize {
        self.len()
    }
    fn raft(&self, id: NodeId) -> Option<&Raft<S>> {
        self.node(id).state
    }
    fn disk(&self, id: NodeId) -> &RaftDisk<S> {
        self.node(id).synced
    }
}

impl<S: StateMachine> RaftNodeView for Raft<S> {
    fn term(&self) -> u64 {
        self.term
    }
    fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }
    fn commit(&self) -> u64 {
        self.commit
    }
    fn snapshot(&self) -> (u64, u64) {
        (self.log.snap_index, self.log.snap_term)
    }
    fn last_index(&self) -> u64 {
        self.log.last_index()
    }
    #[inline]
    fn entry(&self, index: u64) -> Option<(u64, u64)> {
        let e = self.log.get(index);
        Some((e.term, entry_digest(e)))
    }
    fn entry_term(&self, index: u64) -> Option<u64> {
        self.log.term(index)
    }
    fn applied(&self) -> (u64, u64) {
        (self.sm.applied, self.sm.chain)
    }
    fn touched(&self) -> u64 {
        self.touched
    }
    fn fresh(&self) -> bool {
        self.fresh
    }
    fn voters(&self) -> u64 {
        self.members.0
    }
    fn lease_reads(&self) -> u64 {
        self.lease_reads
    }
}

impl<S: StateMachine> RaftDiskView for RaftDisk<S> {
    fn term(&self) -> u64 {
        self.term
    }
    fn vote(&self) -> Option<NodeId> {
        self.vote
    }
    fn snapshot_index(&self) -> u64 {
        self.log.snap_index
    }
    fn entry_term(&self, index: u64) -> Option<u64> {
        self.log.term(index)
    }
}

/// A [`RaftCluster`] as the checks' cluster view.
struct Nodes<'a, S, C>(&'a C, PhantomData<S>);

impl<S: StateMachine, C: RaftCluster<S>> RaftClusterView for Nodes<'_, S, C> {
    type Node = Raft<S>;
    type Disk = RaftDisk<S>;
    fn size(&self) -> usize {
        self.0.size()
    }
    fn node(&self, id: NodeId) -> Option<&Raft<S>> {
        self.0.raft(id)
    }
    fn disk(&self, id: NodeId) -> &RaftDisk<S> {
        self.0.disk(id)
    }
}

/// The run-time invariants after node `node` handled an event.
pub fn check_step<S: StateMachine>(
    g: &mut RaftGhost,
    view: &impl RaftCluster<S>,
    node: NodeId,
    out: &mut Vec<Violation>,
) {
    g.check_step(&Nodes(view, PhantomData), node, out);
}

/// The "persist before send" checks on a message as it is sent.
pub fn observe_send<S: StateMachine>(
    g: &mut RaftGhost,
    view: &impl RaftCluster<S>,
    from: NodeId,
    to: NodeId,
    msg: &RaftMsg<S>,
    out: &mut Vec<Violation>,
) {
    let sent = match *msg {
        RaftMsg::Vote { term, granted: true, pre: false } => Sent::GrantVote { term },
        RaftMsg::RequestVote { term, pre: false, .. } => Sent::Campaign { term },
        RaftMsg::AppendReply { success: true, index, .. } => Sent::AckAppend { index },
        _ => return,
    };
    g.observe_send(&Nodes(view, PhantomData), from, to, sent, out);
}
