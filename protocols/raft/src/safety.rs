//! Raft's safety invariants for *any* Raft: the built-in one, one embedded in another protocol
//! (the lock service's cells), or a third-party library under an adapter (`examples/raft-rs`).
//! A Raft exposes what the checks read through three small traits: [`RaftNodeView`] (term, role,
//! log, commit and applied index), [`RaftDiskView`] (what it synced) and [`RaftClusterView`]
//! (node ids to both); it reports its sends as [`Sent`]. The checks keep ghost state that
//! remembers what nodes may since have overwritten, and each step costs O(what changed).
//!
//! Every invariant is named `PREFIX.NAME`, the prefix given to [`RaftChecks::new`] (`raft` for
//! the built-in Raft, `raft-rs` for the example):
//!
//! | invariant | what it says |
//! |---|---|
//! | `election-safety` | at most one leader per term, ever |
//! | `leader-append-only` | a leader never rewrites or drops its own entries in its term |
//! | `log-matching` | an `(index, term)` names one entry, whose predecessor has one term |
//! | `leader-completeness` | a leader holds every entry committed in an earlier term |
//! | `state-machine-safety` | one entry is committed per index, every node applies exactly those, in order |
//! | `committed-prefix` | a node never drops entries at or below its commit index |
//! | `commit-monotonic` | a running node's commit index never decreases |
//! | `commit-durable` | when a leader commits, a majority of its voters has the entry on disk |
//! | `term-monotonic` | a running node's term never decreases, its synced term never does, and a restart resumes at least the synced term |
//! | `vote-once` | a voter grants at most one candidate per term, across restarts too |
//! | `vote-durable` | a vote (own or granted) is synced before it is sent |
//! | `ack-durable` | a follower acknowledges only entries it has synced |
//! | `lease-exclusive` | a lease read is served only while no newer leader exists |

use faultline_sim::prelude::{NodeId, Violation};
use std::collections::BTreeMap;

/// One live Raft node as the checks read it, after it handled an event.
pub trait RaftNodeView {
    /// Its current term.
    fn term(&self) -> u64;
    /// Does it believe it leads `term()`?
    fn is_leader(&self) -> bool;
    /// Its commit index.
    fn commit(&self) -> u64;
    /// The snapshot its log starts after, `(index, term)`; `(0, 0)` without one.
    fn snapshot(&self) -> (u64, u64) {
        (0, 0)
    }
    /// Index of its last log entry.
    fn last_index(&self) -> u64;
    /// Entry `index` (`snapshot().0 < index <= last_index()`) as `(term, digest)`: equal digests
    /// mean equal entries. `None` only if the log cannot be read, which the checks report.
    fn entry(&self, index: u64) -> Option<(u64, u64)>;
    /// The term of entry `index` alone; override when it is cheaper than [`RaftNodeView::entry`].
    fn entry_term(&self, index: u64) -> Option<u64> {
        self.entry(index).map(|(term, _)| term)
    }
    /// What it applied: the index of the last applied entry, and the [`chain`] of the digests of
    /// every applied entry.
    fn applied(&self) -> (u64, u64);
    /// The lowest log index it wrote while handling this event (`u64::MAX`: none), so the
    /// checks compare only what changed.
    fn touched(&self) -> u64;
    /// Is this the first check of this incarnation (just started or restarted)? Its whole log
    /// and committed prefix are then compared again.
    fn fresh(&self) -> bool;
    /// The voters of the configuration it works in, as a bit set over node ids.
    fn voters(&self) -> u64;
    /// Lease reads served so far in this incarnation (0 for a Raft without leases).
    fn lease_reads(&self) -> u64 {
        0
    }
}

/// What one node has synced, as the checks read it.
pub trait RaftDiskView {
    /// The synced term.
    fn term(&self) -> u64;
    /// The synced vote in that term.
    fn vote(&self) -> Option<NodeId>;
    /// The index of the synced snapshot (0: none): every entry up to it is durable.
    fn snapshot_index(&self) -> u64 {
        0
    }
    /// The term of synced entry `index`, if the disk holds it.
    fn entry_term(&self, index: u64) -> Option<u64>;
}

/// A cluster of Raft nodes: node ids `0..size()`, each with its state while up and its disk.
pub trait RaftClusterView {
    /// A node's state.
    type Node: RaftNodeView;
    /// A node's disk.
    type Disk: RaftDiskView;
    /// Number of node ids (Raft nodes are among `0..size`).
    fn size(&self) -> usize;
    /// Node `id`'s state, if it is a live Raft node.
    fn node(&self, id: NodeId) -> Option<&Self::Node>;
    /// What node `id` has synced.
    fn disk(&self, id: NodeId) -> &Self::Disk;
}

/// A message a node sends that promises something about its disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// A vote granted to the receiver in `term` (not a pre-vote).
    GrantVote {
        /// The term voted in.
        term: u64,
    },
    /// A request for votes in `term` (not a pre-vote): the sender voted for itself.
    Campaign {
        /// The term campaigned in.
        term: u64,
    },
    /// An acknowledgement that the sender's log matches the leader's through `index`.
    AckAppend {
        /// The last index acknowledged.
        index: u64,
    },
}

/// Folds one applied entry into the running digest of everything applied: equal digests at
/// equal indices mean equal applied prefixes (the State Machine Safety check compares them). A
/// Raft under these checks reports `applied()` with it.
#[inline]
pub fn chain(prev: u64, index: u64, entry_digest: u64) -> u64 {
    let mut z = prev ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ entry_digest.rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What the checks remember about one node between its steps.
#[derive(Clone, Copy, Debug, Default)]
struct NodeGhost {
    term: u64,
    synced_term: u64,
    commit: u64,
    applied: u64,
    /// The term it was last seen leading in (0: not leading), and its last index then.
    leader_term: u64,
    leader_last: u64,
    lease_reads: u64,
}

/// The checks and their ghost state: one per cluster, fed every step and every send.
#[derive(Debug)]
pub struct RaftChecks {
    prefix: &'static str,
    nodes: Vec<NodeGhost>,
    /// Term → its leader.
    leaders: BTreeMap<u64, NodeId>,
    max_leader_term: u64,
    /// `(index, term)` → (entry digest, term of the entry before it).
    entries: BTreeMap<(u64, u64), (u64, u64)>,
    /// Entry `i` committed anywhere: `committed[i - 1]` = (entry term, digest, the term of the
    /// node that first had it committed: the term it was committed in).
    committed: Vec<(u64, u64, u64)>,
    /// `chain[i]`: the running digest of committed entries `1..=i`.
    chain: Vec<u64>,
    /// `(voter, term)` → the candidate it voted for.
    votes: BTreeMap<(u32, u64), NodeId>,
}

impl Default for RaftChecks {
    /// The built-in Raft's checks, named `raft.*`.
    fn default() -> Self {
        RaftChecks::new("raft")
    }
}

/// The term of entry `index` of `s`, the snapshot's at its index.
fn term_at(s: &impl RaftNodeView, index: u64) -> Option<u64> {
    let (snap_index, snap_term) = s.snapshot();
    if index == snap_index {
        Some(snap_term)
    } else if index < snap_index || index > s.last_index() {
        None
    } else {
        s.entry_term(index)
    }
}

impl RaftChecks {
    /// Checks whose invariants are named `prefix.NAME`.
    pub fn new(prefix: &'static str) -> Self {
        RaftChecks {
            prefix,
            nodes: Vec::new(),
            leaders: BTreeMap::new(),
            max_leader_term: 0,
            entries: BTreeMap::new(),
            committed: Vec::new(),
            chain: vec![0],
            votes: BTreeMap::new(),
        }
    }

    fn violation(&self, out: &mut Vec<Violation>, name: &str, node: NodeId, detail: String) {
        out.push(Violation::new(format!("{}.{name}", self.prefix), Some(node), detail));
    }

    /// The invariants after `node` handled an event (call after every step of every node; a
    /// node that is down or not a Raft node is skipped).
    pub fn check_step<C: RaftClusterView>(&mut self, cluster: &C, node: NodeId, out: &mut Vec<Violation>) {
        let Some(s) = cluster.node(node) else { return };
        if self.nodes.len() < cluster.size() {
            self.nodes.resize(cluster.size(), NodeGhost::default());
        }
        let mut ng = self.nodes[node.index()];
        let fresh = s.fresh();
        let term = s.term();
        let (snap_index, _) = s.snapshot();
        let last = s.last_index();
        let commit = s.commit();
        let (applied, applied_chain) = s.applied();
        debug_assert!(snap_index <= last, "a log ends at or after its snapshot");

        // Terms: never back while running, never back on disk, and a restart resumes at least
        // what was synced.
        if !fresh && term < ng.term {
            self.violation(out, "term-monotonic", node, format!("term went back from {} to {term}", ng.term));
        }
        let synced_term = cluster.disk(node).term();
        if synced_term < ng.synced_term {
            self.violation(
                out,
                "term-monotonic",
                node,
                format!("the synced term went back from {} to {synced_term}", ng.synced_term),
            );
        }
        if fresh && term < ng.synced_term {
            self.violation(
                out,
                "term-monotonic",
                node,
                format!("restarted in term {term} after syncing term {}", ng.synced_term),
            );
        }
        ng.term = term;
        ng.synced_term = ng.synced_term.max(synced_term);
        if fresh {
            ng.commit = snap_index;
            ng.leader_term = 0;
            ng.lease_reads = 0;
        }

        // Log Matching: every entry written in this step (a restarted node's whole log) agrees
        // with every entry ever seen at the same (index, term), and so, by induction on the
        // predecessor's term, do the logs before them.
        let from = if fresh { snap_index + 1 } else { s.touched().max(snap_index + 1) };
        if from <= last {
            let mut prev_term = term_at(s, from - 1).unwrap_or(0);
            for i in from..=last {
                let Some((t, d)) = s.entry(i) else { break };
                match self.entries.get(&(i, t)) {
                    Some(&there) if there != (d, prev_term) => self.violation(
                        out,
                        "log-matching",
                        node,
                        format!("entry ({i}, term {t}) differs from another node's entry with the same index and term"),
                    ),
                    Some(_) => {}
                    None => {
                        self.entries.insert((i, t), (d, prev_term));
                    }
                }
                prev_term = t;
            }
        }

        // Committed entries: one per index, whoever commits it.
        if !fresh && commit < ng.commit {
            self.violation(
                out,
                "commit-monotonic",
                node,
                format!("commit index went back from {} to {commit}", ng.commit),
            );
            ng.commit = commit;
        }
        if commit > last {
            self.violation(
                out,
                "committed-prefix",
                node,
                format!("commit index {commit} but the log ends at {last}: committed entries were dropped"),
            );
        } else if commit > ng.commit {
            for i in ng.commit.max(snap_index) + 1..=commit {
                let Some(here) = s.entry(i) else {
                    self.violation(out, "committed-prefix", node, format!("committed entry {i} cannot be read"));
                    break;
                };
                let known = self.committed.len() as u64;
                if i <= known {
                    let there = self.committed[i as usize - 1];
                    if (there.0, there.1) != here {
                        self.violation(
                            out,
                            "state-machine-safety",
                            node,
                            format!(
                                "committed entry {i} of term {} where an entry of term {} was committed",
                                here.0, there.0
                            ),
                        );
                    }
                } else if i == known + 1 {
                    self.committed.push((here.0, here.1, term));
                    let prev = self.chain[i as usize - 1];
                    self.chain.push(chain(prev, i, here.1));
                }
            }
            if s.is_leader() {
                self.commit_durable(cluster, s, node, out);
            }
        }
        ng.commit = commit;

        // State Machine Safety: what a node applied is exactly the committed prefix.
        if fresh || applied != ng.applied {
            if applied < ng.applied && !fresh {
                self.violation(
                    out,
                    "state-machine-safety",
                    node,
                    format!("applied index went back from {} to {applied}", ng.applied),
                );
            }
            match self.chain.get(applied as usize) {
                Some(&c) if c == applied_chain => {}
                Some(_) => self.violation(
                    out,
                    "state-machine-safety",
                    node,
                    format!("the entries applied through index {applied} differ from the committed ones"),
                ),
                None => self.violation(
                    out,
                    "state-machine-safety",
                    node,
                    format!("applied index {applied} was never committed"),
                ),
            }
            ng.applied = applied;
        }

        // Leaders: one per term, complete, append-only.
        if s.is_leader() {
            match self.leaders.get(&term) {
                Some(&other) if other != node => self.violation(
                    out,
                    "election-safety",
                    node,
                    format!("{node} leads term {term} which {other} already led"),
                ),
                Some(_) => {}
                None => {
                    self.leaders.insert(term, node);
                    self.leader_completeness(s, node, out);
                }
            }
            self.max_leader_term = self.max_leader_term.max(term);
            if ng.leader_term == term && s.touched() <= ng.leader_last {
                self.violation(
                    out,
                    "leader-append-only",
                    node,
                    format!(
                        "leader of term {term} rewrote its log from index {} (last was {})",
                        s.touched(),
                        ng.leader_last
                    ),
                );
            }
            ng.leader_term = term;
            ng.leader_last = last;
        } else {
            ng.leader_term = 0;
        }

        // Leases: a lease read is only safe while no newer leader exists.
        let lease_reads = s.lease_reads();
        if lease_reads != ng.lease_reads {
            if lease_reads > ng.lease_reads && self.max_leader_term > term {
                self.violation(
                    out,
                    "lease-exclusive",
                    node,
                    format!(
                        "served a lease read as leader of term {term} while term {} has a leader",
                        self.max_leader_term
                    ),
                );
            }
            ng.lease_reads = lease_reads;
        }
        self.nodes[node.index()] = ng;
    }

    /// A new leader holds every entry committed in an earlier term. Entries committed in its own
    /// term or later do not count: a leader elected late in an old term (its votes delayed) need
    /// not hold what newer terms committed.
    fn leader_completeness(&self, s: &impl RaftNodeView, node: NodeId, out: &mut Vec<Violation>) {
        let term = s.term();
        let known = self.committed.len() as u64;
        let (snap_index, snap_term) = s.snapshot();
        if snap_index > 0 && snap_index <= known {
            let (t, _, in_term) = self.committed[snap_index as usize - 1];
            if in_term < term && t != snap_term {
                self.violation(
                    out,
                    "leader-completeness",
                    node,
                    format!("new leader's snapshot disagrees at committed entry {snap_index}"),
                );
                return;
            }
        }
        for i in snap_index + 1..=known {
            let (t, digest, in_term) = self.committed[i as usize - 1];
            if in_term >= term {
                continue;
            }
            let has = i <= s.last_index() && s.entry(i) == Some((t, digest));
            if !has {
                self.violation(
                    out,
                    "leader-completeness",
                    node,
                    format!("leader of term {term} lacks committed entry {i} (term {t})"),
                );
                return;
            }
        }
    }

    /// When a leader commits entry `c`, a majority of its voters holds it on disk: a crash of
    /// every node may lose only what was never acknowledged.
    fn commit_durable<C: RaftClusterView>(&self, cluster: &C, s: &C::Node, node: NodeId, out: &mut Vec<Violation>) {
        let c = s.commit();
        let Some(term) = term_at(s, c) else { return };
        let voters = s.voters();
        let mut holders = 0u64;
        for m in (0..64u32).filter(|m| voters & (1 << m) != 0) {
            let id = NodeId(m);
            if id.index() >= cluster.size() {
                break;
            }
            let disk = cluster.disk(id);
            if disk.snapshot_index() >= c || disk.entry_term(c) == Some(term) {
                holders |= 1 << m;
            }
        }
        if (holders & voters).count_ones() < voters.count_ones() / 2 + 1 {
            self.violation(
                out,
                "commit-durable",
                node,
                format!("committed entry {c} (term {term}) while only nodes {holders:#b} have it on disk"),
            );
        }
    }

    /// The "persist before send" checks on a message `from` sends `to`, as it is sent (the
    /// cluster shows the sender's disk as of this send).
    pub fn observe_send<C: RaftClusterView>(
        &mut self,
        cluster: &C,
        from: NodeId,
        to: NodeId,
        sent: Sent,
        out: &mut Vec<Violation>,
    ) {
        let disk = cluster.disk(from);
        match sent {
            Sent::GrantVote { term } => {
                if disk.term() != term || disk.vote() != Some(to) {
                    self.violation(
                        out,
                        "vote-durable",
                        from,
                        format!(
                            "granted {to} its vote in term {term} with term {} vote {:?} on disk",
                            disk.term(),
                            disk.vote()
                        ),
                    );
                }
                match self.votes.get(&(from.0, term)) {
                    Some(&c) if c != to => self.violation(
                        out,
                        "vote-once",
                        from,
                        format!("voted for {to} in term {term} after voting for {c}"),
                    ),
                    Some(_) => {}
                    None => {
                        self.votes.insert((from.0, term), to);
                    }
                }
            }
            Sent::Campaign { term } => {
                if disk.term() != term || disk.vote() != Some(from) {
                    self.violation(
                        out,
                        "vote-durable",
                        from,
                        format!("campaigns in term {term} with term {} vote {:?} on disk", disk.term(), disk.vote()),
                    );
                }
            }
            Sent::AckAppend { index } if index > 0 => {
                let mem = cluster.node(from).and_then(|s| term_at(s, index));
                let ok = disk.snapshot_index() >= index
                    || disk.entry_term(index).is_some_and(|t| mem.is_none() || mem == Some(t));
                if !ok {
                    self.violation(
                        out,
                        "ack-durable",
                        from,
                        format!("acknowledged entries through {index} that it has not synced"),
                    );
                }
            }
            Sent::AckAppend { .. } => {}
        }
    }
}
