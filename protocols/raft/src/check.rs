//! Run-time safety checks over the god's view, with ghost state that remembers what nodes may
//! since have overwritten. Every check is O(what changed in the step).
//!
//! | invariant | what it says |
//! |---|---|
//! | `raft.election-safety` | at most one leader per term, ever |
//! | `raft.leader-append-only` | a leader never rewrites or drops its own entries in its term |
//! | `raft.log-matching` | an `(index, term)` names one entry, whose predecessor has one term |
//! | `raft.leader-completeness` | a leader holds every entry committed before its term |
//! | `raft.state-machine-safety` | one entry is committed per index, every node applies exactly those, in order |
//! | `raft.committed-prefix` | a node never drops entries at or below its commit index |
//! | `raft.commit-durable` | when a leader commits, a majority has the entry on disk |
//! | `raft.term-monotonic` | a node's term never decreases, across restarts too |
//! | `raft.vote-once` | a voter grants at most one candidate per term, across restarts too |
//! | `raft.vote-durable` | a vote (own or granted) is synced before it is sent |
//! | `raft.ack-durable` | a follower acknowledges only entries it has synced |
//! | `raft.lease-exclusive` | a lease read is served only while no newer leader exists |

use crate::message::RaftMsg;
use crate::node::{Raft, Role};
use crate::state_machine::{chain, entry_digest, StateMachine};
use crate::storage::RaftDisk;
use faultline_sim::prelude::{NodeId, View, Violation};
use std::collections::BTreeMap;

/// What the checker remembers about one node between its steps.
#[derive(Clone, Debug, Default)]
struct NodeGhost {
    max_term: u64,
    commit: u64,
    applied: u64,
    /// The term it was last seen leading in (0: not leading).
    leader_term: u64,
    /// Its last index when last seen leading.
    leader_last: u64,
    lease_reads: u64,
}

/// The checker's ghost state.
#[derive(Debug, Default)]
pub struct RaftGhost {
    nodes: Vec<NodeGhost>,
    /// Term → its leader.
    leaders: BTreeMap<u64, NodeId>,
    max_leader_term: u64,
    /// `(index, term)` → (entry digest, term of the entry before it).
    entries: BTreeMap<(u64, u64), (u64, u64)>,
    /// Entry `i` committed anywhere: `committed[i - 1]` = (entry term, digest, the term of the
    /// node that first marked it committed: the term it was committed in).
    committed: Vec<(u64, u64, u64)>,
    /// `chain[i]`: the running digest of committed entries `1..=i`.
    chain: Vec<u64>,
    /// `(voter, term)` → the candidate it voted for.
    votes: BTreeMap<(u32, u64), NodeId>,
}

/// What the checks read of a cluster of Raft nodes: each node's state (`None` while down or not
/// a Raft node) and what it has made durable. The simulator's view of a Raft run is one; a
/// protocol that embeds Raft (the lock service's cells) provides another, so the same checks
/// run inside it.
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

fn violation(out: &mut Vec<Violation>, name: &str, node: NodeId, detail: String) {
    out.push(Violation::new(name, Some(node), detail));
}

/// The run-time invariants after node `node` handled an event.
pub fn check_step<S: StateMachine>(
    g: &mut RaftGhost,
    view: &impl RaftCluster<S>,
    node: NodeId,
    out: &mut Vec<Violation>,
) {
    let Some(s) = view.raft(node) else { return };
    if g.nodes.len() < view.size() {
        g.nodes.resize(view.size(), NodeGhost::default());
        g.chain.resize(1, 0);
    }
    let mut ng = g.nodes[node.index()].clone();
    let last = s.log.last_index();

    if s.term < ng.max_term {
        violation(out, "raft.term-monotonic", node, format!("term went back from {} to {}", ng.max_term, s.term));
    }
    ng.max_term = ng.max_term.max(s.term);
    if s.fresh {
        ng.commit = s.commit;
        ng.applied = s.sm.applied.wrapping_sub(1); // force the applied check below
        ng.leader_term = 0;
        ng.lease_reads = 0;
    }

    // Log Matching: every entry written in this step agrees with every entry ever seen at the same
    // (index, term), and so (by induction on the predecessor's term) do the logs before them.
    let from = s.touched.max(s.log.snap_index + 1);
    for i in from..=last {
        let e = s.log.get(i);
        let d = entry_digest(e);
        let prev_term = s.log.term(i - 1).unwrap_or(0);
        match g.entries.get(&(i, e.term)) {
            Some(&(d0, p0)) if (d0, p0) != (d, prev_term) => violation(
                out,
                "raft.log-matching",
                node,
                format!("entry ({i}, term {}) differs from another node's entry with the same index and term", e.term),
            ),
            Some(_) => {}
            None => {
                g.entries.insert((i, e.term), (d, prev_term));
            }
        }
    }

    if s.commit > last {
        violation(
            out,
            "raft.committed-prefix",
            node,
            format!("commit index {} but the log ends at {last}: committed entries were dropped", s.commit),
        );
    }

    // Committed entries: one per index, whoever commits it.
    if s.commit > ng.commit {
        let start = ng.commit.max(s.log.snap_index) + 1;
        for i in start..=s.commit.min(last) {
            let e = s.log.get(i);
            let here = (e.term, entry_digest(e));
            let known = g.committed.len() as u64;
            if i <= known {
                let there = g.committed[i as usize - 1];
                if (there.0, there.1) != here {
                    violation(
                        out,
                        "raft.state-machine-safety",
                        node,
                        format!(
                            "committed entry {i} of term {} where an entry of term {} was committed",
                            here.0, there.0
                        ),
                    );
                }
            } else if i == known + 1 {
                g.committed.push((here.0, here.1, s.term));
                let prev = g.chain[i as usize - 1];
                g.chain.push(chain(prev, i, here.1));
            }
        }
        if s.role == Role::Leader {
            commit_durable(view, s, node, out);
        }
    }
    ng.commit = s.commit;

    // State Machine Safety: what a node applied is exactly the committed prefix.
    if s.sm.applied != ng.applied {
        let a = s.sm.applied;
        if a < ng.applied && !s.fresh {
            violation(
                out,
                "raft.state-machine-safety",
                node,
                format!("applied index went back from {} to {a}", ng.applied),
            );
        }
        match g.chain.get(a as usize) {
            Some(&c) if c == s.sm.chain => {}
            Some(_) => violation(
                out,
                "raft.state-machine-safety",
                node,
                format!("the entries applied through index {a} differ from the committed ones"),
            ),
            None => violation(out, "raft.state-machine-safety", node, format!("applied index {a} was never committed")),
        }
        ng.applied = a;
    }

    // Leaders: one per term, complete, append-only.
    if s.role == Role::Leader {
        match g.leaders.get(&s.term) {
            Some(&other) if other != node => violation(
                out,
                "raft.election-safety",
                node,
                format!("{node} leads term {} which {other} already led", s.term),
            ),
            Some(_) => {}
            None => {
                g.leaders.insert(s.term, node);
                leader_completeness(g, s, node, out);
            }
        }
        g.max_leader_term = g.max_leader_term.max(s.term);
        if ng.leader_term == s.term && s.touched <= ng.leader_last {
            violation(
                out,
                "raft.leader-append-only",
                node,
                format!(
                    "leader of term {} rewrote its log from index {} (last was {})",
                    s.term, s.touched, ng.leader_last
                ),
            );
        }
        ng.leader_term = s.term;
        ng.leader_last = last;
    } else {
        ng.leader_term = 0;
    }

    // Leases: a lease read is only safe while no newer leader exists.
    if s.lease_reads != ng.lease_reads {
        if s.lease_reads > ng.lease_reads && g.max_leader_term > s.term {
            violation(
                out,
                "raft.lease-exclusive",
                node,
                format!(
                    "served a lease read as leader of term {} while term {} has a leader",
                    s.term, g.max_leader_term
                ),
            );
        }
        ng.lease_reads = s.lease_reads;
    }
    g.nodes[node.index()] = ng;
}

fn leader_completeness<S: StateMachine>(g: &RaftGhost, s: &Raft<S>, node: NodeId, out: &mut Vec<Violation>) {
    let known = g.committed.len() as u64;
    let snap = s.log.snap_index;
    // Only entries committed in earlier terms count: a leader elected late in an old term (its
    // votes delayed) need not hold what newer terms committed.
    let before = |c: &(u64, u64, u64)| c.2 < s.term;
    if snap > 0
        && snap <= known
        && before(&g.committed[snap as usize - 1])
        && g.committed[snap as usize - 1].0 != s.log.snap_term
    {
        violation(
            out,
            "raft.leader-completeness",
            node,
            format!("new leader's snapshot disagrees at committed entry {snap}"),
        );
        return;
    }
    for i in snap + 1..=known {
        let (term, digest, in_term) = g.committed[i as usize - 1];
        if in_term >= s.term {
            continue;
        }
        let has = i <= s.log.last_index() && {
            let e = s.log.get(i);
            e.term == term && entry_digest(e) == digest
        };
        if !has {
            violation(
                out,
                "raft.leader-completeness",
                node,
                format!("leader of term {} lacks committed entry {i} (term {term})", s.term),
            );
            return;
        }
    }
}

fn commit_durable<S: StateMachine>(view: &impl RaftCluster<S>, s: &Raft<S>, node: NodeId, out: &mut Vec<Violation>) {
    let c = s.commit;
    let Some(term) = s.log.term(c) else { return };
    let mut holders = 0u64;
    for m in s.members.iter() {
        let disk = view.disk(m);
        if disk.log.snap_index >= c || disk.log.term(c) == Some(term) {
            holders |= 1 << m.0;
        }
    }
    if !s.members.is_quorum(holders) {
        violation(
            out,
            "raft.commit-durable",
            node,
            format!("committed entry {c} (term {term}) while only nodes {holders:#b} have it on disk"),
        );
    }
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
    match *msg {
        RaftMsg::Vote { term, granted: true, pre: false } => {
            let disk = view.disk(from);
            if disk.term != term || disk.vote != Some(to) {
                violation(
                    out,
                    "raft.vote-durable",
                    from,
                    format!(
                        "granted {to} its vote in term {term} with term {} vote {:?} on disk",
                        disk.term, disk.vote
                    ),
                );
            }
            match g.votes.get(&(from.0, term)) {
                Some(&c) if c != to => violation(
                    out,
                    "raft.vote-once",
                    from,
                    format!("voted for {to} in term {term} after voting for {c}"),
                ),
                Some(_) => {}
                None => {
                    g.votes.insert((from.0, term), to);
                }
            }
        }
        RaftMsg::RequestVote { term, pre: false, .. } => {
            let disk = view.disk(from);
            if disk.term != term || disk.vote != Some(from) {
                violation(
                    out,
                    "raft.vote-durable",
                    from,
                    format!("campaigns in term {term} with term {} vote {:?} on disk", disk.term, disk.vote),
                );
            }
        }
        RaftMsg::AppendReply { success: true, index, .. } if index > 0 => {
            let disk = view.disk(from);
            let mem = view.raft(from).and_then(|s| s.log.term(index));
            let ok =
                disk.log.snap_index >= index || disk.log.term(index).is_some_and(|t| mem.is_none() || mem == Some(t));
            if !ok {
                violation(
                    out,
                    "raft.ack-durable",
                    from,
                    format!(
                        "acknowledged entries through {index} with the log on disk ending at {}",
                        disk.log.last_index()
                    ),
                );
            }
        }
        _ => {}
    }
}
