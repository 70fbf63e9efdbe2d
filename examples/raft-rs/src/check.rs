//! Run-time safety checks over what raft-rs exposes (`RawNode::raft`: term, role, log, commit
//! index) and the adapter's applied state, with ghost state that remembers what nodes may since
//! have overwritten, plus the end-of-run linearizability check of the client history.
//!
//! These are the built-in Raft's checks (`faultline_raft::check`) re-stated over raft-rs's
//! types: the built-in ones read that crate's own `Raft` node and log, so they stay there.
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
use crate::node::{chain, entry_digest, RaftRs};
use faultline_kv::{lin_input, lin_output, malformed_output, KvAnswer, KvCmd};
use faultline_lincheck::models::{Kv, KvInput, KvOutput};
use faultline_lincheck::Operation;
use faultline_sim::prelude::{History, NodeId, Outcome, View, Violation};
use raft::eraftpb::MessageType;
use raft::{GetEntriesContext, StateRole};
use std::collections::BTreeMap;

/// What the checker remembers about one node between its steps.
#[derive(Clone, Debug, Default)]
struct NodeGhost {
    /// Seen at least once.
    seen: bool,
    /// Its event count when last seen (lower now: it restarted).
    events: u64,
    term: u64,
    synced_term: u64,
    commit: u64,
    applied: u64,
    /// The term it was last seen leading in (0: not leading), and its last index then.
    leader_term: u64,
    leader_last: u64,
}

/// The checker's ghost state.
#[derive(Debug, Default)]
pub struct Ghost {
    nodes: Vec<NodeGhost>,
    /// Term → its leader.
    leaders: BTreeMap<u64, NodeId>,
    /// Entry `i` committed anywhere: `committed[i - 1]` = (entry term, digest, the term of the
    /// node that first had it committed).
    committed: Vec<(u64, u64, u64)>,
    /// `chain[i]`: the running digest of committed entries `1..=i`.
    chain: Vec<u64>,
    /// `(index, term)` → (entry digest, term of the entry before it).
    entries: BTreeMap<(u64, u64), (u64, u64)>,
    /// `(voter, term)` → the candidate (raft-rs id) it voted for.
    votes: BTreeMap<(u32, u64), u64>,
}

fn violation(out: &mut Vec<Violation>, name: &str, node: NodeId, detail: String) {
    out.push(Violation::new(name, Some(node), detail));
}

/// The run-time invariants after `node` handled an event.
pub fn check_step(g: &mut Ghost, view: &View<RaftRs>, node: NodeId, out: &mut Vec<Violation>) {
    let nv = view.node(node);
    let Some(s) = nv.state else { return };
    if g.nodes.len() < view.len() {
        g.nodes.resize(view.len(), NodeGhost::default());
    }
    if g.chain.is_empty() {
        g.chain.push(0);
    }
    let mut ng = g.nodes[node.index()].clone();
    let fresh = !ng.seen || s.events <= ng.events;
    let r = &s.raw.raft;
    let log = &r.raft_log;

    if !fresh && r.term < ng.term {
        violation(out, "raft-rs.term-monotonic", node, format!("term went back from {} to {}", ng.term, r.term));
    }
    let synced_term = nv.synced.hard_state.term;
    if synced_term < ng.synced_term {
        violation(
            out,
            "raft-rs.term-monotonic",
            node,
            format!("the synced term went back from {} to {synced_term}", ng.synced_term),
        );
    }
    ng.term = r.term;
    ng.synced_term = ng.synced_term.max(synced_term);

    // Log Matching: every entry written in this step (a restarted node's whole log) agrees with
    // every entry ever seen at the same (index, term), and so, by induction on the
    // predecessor's term, do the logs before them.
    let last = log.last_index();
    let from = if fresh { 1 } else { s.touched };
    if from <= last {
        if let Ok(entries) = log.slice(from, last + 1, None, GetEntriesContext::empty(false)) {
            let mut prev_term = log.term(from - 1).unwrap_or(0);
            for e in &entries {
                let key = (e.index, e.term);
                let here = (entry_digest(e), prev_term);
                match g.entries.get(&key) {
                    Some(&there) if there != here => violation(
                        out,
                        "raft-rs.log-matching",
                        node,
                        format!(
                            "entry ({}, term {}) differs from another node's entry with the same index and term",
                            e.index, e.term
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        g.entries.insert(key, here);
                    }
                }
                prev_term = e.term;
            }
        }
    }

    // Committed entries: one per index, whoever commits it. A restarted node's whole committed
    // prefix is compared again.
    let commit = log.committed;
    if fresh {
        ng.commit = 0;
    } else if commit < ng.commit {
        violation(
            out,
            "raft-rs.commit-monotonic",
            node,
            format!("commit index went back from {} to {commit}", ng.commit),
        );
        ng.commit = commit;
    }
    if commit > log.last_index() {
        violation(
            out,
            "raft-rs.committed-prefix",
            node,
            format!("commit index {commit} but the log ends at {}", log.last_index()),
        );
    } else if commit > ng.commit {
        match log.slice(ng.commit + 1, commit + 1, None, GetEntriesContext::empty(false)) {
            Ok(entries) => {
                for e in &entries {
                    let i = e.index;
                    let here = (e.term, entry_digest(e));
                    let known = g.committed.len() as u64;
                    if i <= known {
                        let there = g.committed[i as usize - 1];
                        if (there.0, there.1) != here {
                            violation(
                                out,
                                "raft-rs.state-machine-safety",
                                node,
                                format!(
                                    "committed entry {i} of term {} where an entry of term {} was committed",
                                    here.0, there.0
                                ),
                            );
                        }
                    } else if i == known + 1 {
                        g.committed.push((here.0, here.1, r.term));
                        let prev = g.chain[i as usize - 1];
                        g.chain.push(chain(prev, i, here.1));
                    }
                }
            }
            Err(e) => violation(
                out,
                "raft-rs.committed-prefix",
                node,
                format!("committed entries {}..={commit} cannot be read: {e}", ng.commit + 1),
            ),
        }
    }
    if r.state == StateRole::Leader && commit > ng.commit {
        commit_durable(view, commit, log.term(commit).unwrap_or(0), node, out);
    }
    ng.commit = commit;

    // State Machine Safety: what a node applied is exactly the committed prefix.
    if fresh || s.applied != ng.applied {
        let a = s.applied;
        if a < ng.applied && !fresh {
            violation(
                out,
                "raft-rs.state-machine-safety",
                node,
                format!("applied index went back from {} to {a}", ng.applied),
            );
        }
        match g.chain.get(a as usize) {
            Some(&c) if c == s.chain => {}
            Some(_) => violation(
                out,
                "raft-rs.state-machine-safety",
                node,
                format!("the entries applied through index {a} differ from the committed ones"),
            ),
            None => {
                violation(out, "raft-rs.state-machine-safety", node, format!("applied index {a} was never committed"))
            }
        }
        ng.applied = a;
    }

    // Leaders: one per term, complete, append-only.
    if r.state == StateRole::Leader {
        if !fresh && ng.leader_term == r.term && s.touched <= ng.leader_last {
            violation(
                out,
                "raft-rs.leader-append-only",
                node,
                format!(
                    "leader of term {} rewrote its log from index {} (last was {})",
                    r.term, s.touched, ng.leader_last
                ),
            );
        }
        ng.leader_term = r.term;
        ng.leader_last = last;
        match g.leaders.get(&r.term) {
            Some(&other) if other != node => violation(
                out,
                "raft-rs.election-safety",
                node,
                format!("{node} leads term {} which {other} already led", r.term),
            ),
            Some(_) => {}
            None => {
                g.leaders.insert(r.term, node);
                // Only entries committed in earlier terms count: a leader elected late in an
                // old term need not hold what newer terms committed.
                for (i, &(term, _, in_term)) in g.committed.iter().enumerate() {
                    let i = i as u64 + 1;
                    if in_term < r.term && log.term(i).ok() != Some(term) {
                        violation(
                            out,
                            "raft-rs.leader-completeness",
                            node,
                            format!("leader of term {} lacks committed entry {i} (term {term})", r.term),
                        );
                        break;
                    }
                }
            }
        }
    }
    if r.state != StateRole::Leader {
        ng.leader_term = 0;
    }
    ng.seen = true;
    ng.events = s.events;
    g.nodes[node.index()] = ng;
}

/// When a leader commits entry `c` of term `term`, a majority must hold it on disk: a crash of
/// every node may lose only what was never acknowledged.
fn commit_durable(view: &View<RaftRs>, c: u64, term: u64, node: NodeId, out: &mut Vec<Violation>) {
    let holders: Vec<NodeId> = view.nodes().filter(|(_, n)| n.synced.term(c) == Some(term)).map(|(id, _)| id).collect();
    if holders.len() * 2 <= view.len() {
        violation(
            out,
            "raft-rs.commit-durable",
            node,
            format!("committed entry {c} (term {term}) while only {holders:?} have it on disk"),
        );
    }
}

/// The "persist before send" checks on a message as it is sent: the view shows the sender's
/// synced disk as of this send.
pub fn observe_send(g: &mut Ghost, view: &View<RaftRs>, from: NodeId, to: NodeId, msg: &Msg, out: &mut Vec<Violation>) {
    let m = &msg.0;
    let disk = view.node(from).synced;
    let hs = &disk.hard_state;
    match m.msg_type {
        MessageType::MsgRequestVoteResponse if !m.reject => {
            if hs.term != m.term || hs.vote != m.to {
                violation(
                    out,
                    "raft-rs.vote-durable",
                    from,
                    format!("granted {to} its vote in term {} with term {} vote {} on disk", m.term, hs.term, hs.vote),
                );
            }
            match g.votes.get(&(from.0, m.term)) {
                Some(&c) if c != m.to => violation(
                    out,
                    "raft-rs.vote-once",
                    from,
                    format!("voted for raft id {} in term {} after voting for {c}", m.to, m.term),
                ),
                Some(_) => {}
                None => {
                    g.votes.insert((from.0, m.term), m.to);
                }
            }
        }
        MessageType::MsgRequestVote if hs.term != m.term || hs.vote != m.from => violation(
            out,
            "raft-rs.vote-durable",
            from,
            format!("campaigns in term {} with term {} vote {} on disk", m.term, hs.term, hs.vote),
        ),
        MessageType::MsgAppendResponse if !m.reject && m.index > 0 => {
            let mem = view.node(from).state.and_then(|s| s.raw.raft.raft_log.term(m.index).ok());
            let ok = disk.term(m.index).is_some_and(|t| mem.is_none() || mem == Some(t));
            if !ok {
                violation(
                    out,
                    "raft-rs.ack-durable",
                    from,
                    format!(
                        "acknowledged entries through {} with the log on disk ending at {}",
                        m.index,
                        disk.last_index()
                    ),
                );
            }
        }
        _ => {}
    }
}

/// The client history as lincheck operations (failed operations left out: they never took
/// effect; operator requests are not client operations).
pub fn to_lincheck(history: &History<KvCmd, KvAnswer>) -> Vec<Operation<KvInput, KvOutput>> {
    let mut ops = Vec::with_capacity(history.ops.len());
    for op in &history.ops {
        if op.outcome == Outcome::Failed || op.client == u32::MAX {
            continue;
        }
        let (ret, output) = match (op.outcome, &op.output, op.return_ns) {
            (Outcome::Ok, Some(answer), Some(ret)) => {
                (Some(ret), Some(lin_output(&op.input, answer).unwrap_or_else(malformed_output)))
            }
            _ => (None, None),
        };
        ops.push(Operation {
            client: u64::from(op.client),
            call: op.call_ns,
            ret,
            input: lin_input(&op.input),
            output,
        });
    }
    ops
}

/// The end-of-run check: the history is linearizable as a KV store (lincheck's `Kv` model,
/// partitioned by key), within the scenario's `checks.history_budget`.
pub fn check_history(history: &History<KvCmd, KvAnswer>, budget: u64, out: &mut Vec<Violation>) -> Option<String> {
    faultline_sim::lin::verdict(&Kv::new(), &to_lincheck(history), "raft-rs.linearizable", budget, out)
}
