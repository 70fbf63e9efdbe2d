//! The ring's checkers: ring math at run time, membership, durability and the client history.
//!
//! Per step (O(what changed): rings are checked only when their member set changed):
//! - `ring.successor`: a key belongs to the first point at or clockwise after its token, wrapping
//!   (judged against [`reference_owner`], a definition by minimum clockwise distance);
//! - `ring.distinct-replicas`: every preference list holds min(N, members) distinct nodes;
//! - `ring.pure`: a node's ring equals what its own code builds from scratch from the same member
//!   set, inserted in ascending and in descending order (owners depend on the set, not history);
//! - `ring.minimal-movement`: when a set gains node x, every key whose preference list lacks x
//!   keeps its list (so every moved key moved to x); when it loses x, every key whose list lacked
//!   x keeps it (only the leaver's keys move);
//! - `ring.view-monotonic`: no membership entry's version ever goes back, across restarts too;
//! - `ring.views-converge` (at `converge_by_ms` and at the end): all live members share one view.
//!
//! Per send: `ring.ack-durable`: an acknowledgement promises only what is synced.
//!
//! At the end, over the history (per key, versions are last-writer-wins `(counter, node)`):
//! - `ring.read-valid`: a read returns nothing only at version zero, and otherwise a value some
//!   write of that key carried, invoked before the read returned; a version acknowledged to a
//!   writer carries that writer's value;
//! - `ring.read-your-writes` (strict quorums only): a read invoked after a write *completed*
//!   returns that write's version or a newer one. This is the store's promise, not
//!   linearizability: two reads concurrent with a write may see new then old;
//! - `ring.write-order` (strict quorums only): a write invoked after another completed gets a
//!   higher version;
//! - `ring.durable` (when fewer than W disks were wiped in total): every key's newest acknowledged
//!   version, or a newer one, is on some node's synced disk.

use crate::config::{RingInput, RingOutput, Version};
use crate::hash::key_hash;
use crate::membership::{Entry, Status, SET_KINDS};
use crate::placement::{reference_owner, Placement};
use crate::store::{RingMsg, RingStore};
use faultline_sim::prelude::*;
use std::collections::BTreeMap;

/// Ghost state: what each node's view and rings were when last checked.
#[derive(Debug, Default)]
pub struct RingGhost {
    nodes: Vec<NodeGhost>,
    converge_checked: bool,
}

#[derive(Clone, Debug, Default)]
struct NodeGhost {
    view: Vec<Entry>,
    /// Per set kind: members and flattened preference lists (keys × N, padded with `u32::MAX`).
    sets: [Option<(Vec<u32>, Vec<u32>)>; 3],
}

fn violation(out: &mut Vec<Violation>, inv: &str, node: NodeId, detail: String) {
    out.push(Violation::new(inv, Some(node), detail));
}

pub(crate) fn check_step(ghost: &mut RingGhost, view: &View<RingStore>, node: NodeId, out: &mut Vec<Violation>) {
    if ghost.nodes.len() < view.len() {
        ghost.nodes.resize(view.len(), NodeGhost::default());
    }
    if let Some(st) = view.node(node).state {
        let g = &mut ghost.nodes[node.index()];
        let entries = st.view().entries();
        if g.view.as_slice() != entries {
            for (i, (old, new)) in g.view.iter().zip(entries).enumerate() {
                if new.version < old.version {
                    violation(
                        out,
                        "ring.view-monotonic",
                        node,
                        format!("entry of n{i} went back from {old:?} to {new:?}"),
                    );
                }
            }
            g.view = entries.to_vec();
        }
        for kind in SET_KINDS {
            let ring = st.ring(kind);
            let same = g.sets[kind as usize].as_ref().is_some_and(|(m, _)| m.as_slice() == ring.members());
            if !same {
                let prefs = check_ring(ring, st.replicas(), view.config.keys, node, out);
                if let Some((old_members, old_prefs)) = &g.sets[kind as usize] {
                    check_movement(old_members, old_prefs, ring.members(), &prefs, st.replicas(), node, out);
                }
                g.sets[kind as usize] = Some((ring.members().to_vec(), prefs));
            }
        }
    }
    if let Some(t) = view.config.converge_by_ms {
        if !ghost.converge_checked && view.now >= Time::from_ms(t) {
            ghost.converge_checked = true;
            check_converged(view, out);
        }
    }
}

/// Checks one placement; returns its flattened preference lists for keys `0..keys`.
fn check_ring(
    p: &crate::placement::AnyPlacement,
    n: usize,
    keys: u64,
    node: NodeId,
    out: &mut Vec<Violation>,
) -> Vec<u32> {
    if let Some(ring) = p.as_ring() {
        let pts = ring.points();
        if let (Some(first), Some(last)) = (pts.first(), pts.last()) {
            let mask = if ring.bits() == 64 { u64::MAX } else { (1u64 << ring.bits()) - 1 };
            let probes = [0, mask, first.pos, last.pos, last.pos.wrapping_add(1) & mask]
                .into_iter()
                .chain((0..8).map(|k| ring.token(key_hash(k))));
            for t in probes {
                let got = pts[ring.successor(t)].node;
                let want = reference_owner(pts, ring.bits(), t).expect("non-empty ring");
                if got != want {
                    violation(
                        out,
                        "ring.successor",
                        node,
                        format!("token {t:#x}: owner n{got}, first point clockwise is n{want}"),
                    );
                    break;
                }
            }
            let mut asc = p.members().to_vec();
            let fresh_asc = ring.rebuilt(&asc);
            asc.reverse();
            let fresh_desc = ring.rebuilt(&asc);
            if fresh_asc.points() != pts || fresh_desc.points() != pts {
                let differ = |a: &[crate::placement::VNode]| a.iter().zip(pts).position(|(x, y)| x != y);
                violation(
                    out,
                    "ring.pure",
                    node,
                    format!(
                        "ring over {:?} differs from a fresh build ({} vs {} / {} points; first difference at {:?} / {:?})",
                        p.members(),
                        pts.len(),
                        fresh_asc.points().len(),
                        fresh_desc.points().len(),
                        differ(fresh_asc.points()),
                        differ(fresh_desc.points())
                    ),
                );
            }
        }
    }
    let want = n.min(p.members().len());
    let mut prefs = Vec::with_capacity(keys as usize * n);
    let mut list = Vec::with_capacity(n);
    for k in 0..keys {
        p.preference_list(key_hash(k), n, &mut list);
        let mut sorted = list.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != want || list.len() != want {
            violation(
                out,
                "ring.distinct-replicas",
                node,
                format!("key {k}: preference list {list:?} is not {want} distinct nodes of {:?}", p.members()),
            );
            break;
        }
        prefs.extend(list.iter().copied().chain(std::iter::repeat(u32::MAX)).take(n));
    }
    prefs
}

fn check_movement(
    old: &[u32],
    old_prefs: &[u32],
    new: &[u32],
    new_prefs: &[u32],
    n: usize,
    node: NodeId,
    out: &mut Vec<Violation>,
) {
    if old_prefs.len() != new_prefs.len() || n == 0 {
        return;
    }
    // Only single-node changes have a movement promise.
    let (x, joined) = if new.len() == old.len() + 1 && old.iter().all(|m| new.contains(m)) {
        (new.iter().copied().find(|m| !old.contains(m)).expect("one more"), true)
    } else if old.len() == new.len() + 1 && new.iter().all(|m| old.contains(m)) {
        (old.iter().copied().find(|m| !new.contains(m)).expect("one fewer"), false)
    } else {
        return;
    };
    for (k, (a, b)) in old_prefs.chunks(n).zip(new_prefs.chunks(n)).enumerate() {
        // Joins: lists without the joiner must not change. Leaves: lists without the leaver.
        let untouched = if joined { !b.contains(&x) } else { !a.contains(&x) };
        if untouched && a != b {
            let what = if joined { "join" } else { "leave" };
            violation(
                out,
                "ring.minimal-movement",
                node,
                format!("{what} of n{x}: key {k} moved from {a:?} to {b:?} though n{x} is in neither"),
            );
            return;
        }
    }
}

fn check_converged(view: &View<RingStore>, out: &mut Vec<Violation>) {
    let live: Vec<(NodeId, &RingStore)> =
        view.nodes().filter(|(_, v)| !v.paused).filter_map(|(id, v)| v.state.map(|s| (id, s))).collect();
    let Some(first) = live.first() else { return };
    let mut join = first.1.view().clone();
    for (_, s) in &live {
        join.merge(s.view().entries(), false);
    }
    for (id, s) in &live {
        let status = join.get(id.0).status;
        if status == Status::Absent || status == Status::Left {
            continue; // not a member: nobody gossips to it
        }
        if s.view() != &join {
            let differ: Vec<u32> =
                (0..join.entries().len() as u32).filter(|&i| s.view().get(i) != join.get(i)).collect();
            violation(
                out,
                "ring.views-converge",
                *id,
                format!("view differs from the live members' join on nodes {differ:?}"),
            );
            return;
        }
    }
}

pub(crate) fn observe_send(view: &View<RingStore>, from: NodeId, msg: &RingMsg, out: &mut Vec<Violation>) {
    let disk = view.node(from).synced;
    let (what, held, promised) = match msg {
        RingMsg::PutAck { key, version, for_node, .. } => {
            let held = if *for_node == from.0 {
                disk.data.get(key).map(|i| i.version)
            } else {
                disk.hints.get(&(*for_node, *key)).map(|i| i.version)
            };
            ("put", held.unwrap_or_default(), *version)
        }
        RingMsg::HandoffAck { key, version } | RingMsg::HintAck { key, version } => {
            ("hand-off", disk.data.get(key).map(|i| i.version).unwrap_or_default(), *version)
        }
        RingMsg::ViewAck { target, version } => {
            let held = disk.view.as_ref().map_or(0, |v| v[*target as usize].version);
            if held < *version {
                violation(
                    out,
                    "ring.ack-durable",
                    from,
                    format!("acknowledged view entry v{version} of n{target}, synced v{held}"),
                );
            }
            return;
        }
        _ => return,
    };
    if held < promised {
        violation(
            out,
            "ring.ack-durable",
            from,
            format!("acknowledged {what} of {promised:?} with only {held:?} synced"),
        );
    }
}

struct Read {
    call: u64,
    ret: u64,
    version: Version,
    value: Option<u64>,
}

#[derive(Default)]
struct KeyHistory {
    /// Completed writes: (return, call, version, value).
    writes: Vec<(u64, u64, Version, u64)>,
    /// Every write that may have taken effect: value → call time.
    values: BTreeMap<u64, u64>,
    reads: Vec<Read>,
}

pub(crate) fn check_end(
    _ghost: &mut RingGhost,
    view: &View<RingStore>,
    history: &History<RingInput, RingOutput>,
    out: &mut Vec<Violation>,
) {
    check_converged(view, out);
    let mut keys: BTreeMap<u64, KeyHistory> = BTreeMap::new();
    for op in &history.ops {
        if op.outcome == Outcome::Failed {
            continue;
        }
        match (&op.input, &op.output, op.return_ns) {
            (RingInput::Put { key, value }, out, ret) => {
                let h = keys.entry(*key).or_default();
                h.values.entry(*value).or_insert(op.call_ns);
                if let (Some(RingOutput::Written { version }), Some(ret)) = (out, ret) {
                    h.writes.push((ret, op.call_ns, *version, *value));
                }
            }
            (RingInput::Get { key }, Some(RingOutput::Value { version, value }), Some(ret)) => {
                keys.entry(*key).or_default().reads.push(Read {
                    call: op.call_ns,
                    ret,
                    version: *version,
                    value: *value,
                });
            }
            _ => {}
        }
    }
    let strict = view.config.strict();
    let none = NodeId(u32::MAX);
    for (key, h) in &mut keys {
        let mut by_version: BTreeMap<Version, u64> = BTreeMap::new();
        for &(_, _, v, value) in &h.writes {
            if let Some(other) = by_version.insert(v, value) {
                if other != value {
                    out.push(Violation::new(
                        "ring.read-valid",
                        None,
                        format!("key {key}: version {v:?} acknowledged to two writes ({other} and {value})"),
                    ));
                }
            }
        }
        h.writes.sort_unstable();
        // Highest version among writes completed by each point, in completion order.
        let mut prefix: Vec<(u64, Version)> = Vec::with_capacity(h.writes.len());
        for &(ret, _, v, _) in &h.writes {
            let m = prefix.last().map_or(v, |p| p.1.max(v));
            prefix.push((ret, m));
        }
        let completed_before = |t: u64| -> Option<Version> {
            let i = prefix.partition_point(|p| p.0 < t);
            (i > 0).then(|| prefix[i - 1].1)
        };
        for r in &h.reads {
            let valid = match (r.version == Version::default(), r.value) {
                (true, None) => true,
                (false, Some(x)) => {
                    h.values.get(&x).is_some_and(|&call| call <= r.ret)
                        && by_version.get(&r.version).is_none_or(|&w| w == x)
                }
                _ => false,
            };
            if !valid {
                out.push(Violation::new(
                    "ring.read-valid",
                    None,
                    format!(
                        "key {key}: read returned {:?} = {:?}, which no write of this key produced",
                        r.version, r.value
                    ),
                ));
                return;
            }
            if strict {
                if let Some(floor) = completed_before(r.call) {
                    if r.version < floor {
                        out.push(Violation::new(
                            "ring.read-your-writes",
                            None,
                            format!(
                                "key {key}: read invoked at {}ms returned {:?}, older than {floor:?} written by a write completed before",
                                r.call / 1_000_000,
                                r.version
                            ),
                        ));
                        return;
                    }
                }
            }
        }
        if strict {
            for &(_, call, v, _) in &h.writes {
                if let Some(floor) = completed_before(call) {
                    if v <= floor {
                        out.push(Violation::new(
                            "ring.write-order",
                            None,
                            format!("key {key}: write invoked at {}ms got {v:?}, not above {floor:?} of a write completed before", call / 1_000_000),
                        ));
                        return;
                    }
                }
            }
        }
    }
    let wipes: u32 = view.nodes().map(|(_, v)| v.synced.wipes).sum();
    if wipes < view.config.w {
        for (key, h) in &keys {
            let Some(newest) = h.writes.iter().map(|w| w.2).max() else { continue };
            let held = view
                .nodes()
                .flat_map(|(_, v)| {
                    let d = v.synced;
                    d.data
                        .get(key)
                        .map(|i| i.version)
                        .into_iter()
                        .chain(d.hints.iter().filter(|((_, k), _)| k == key).map(|(_, i)| i.version))
                })
                .max()
                .unwrap_or_default();
            if held < newest {
                violation(
                    out,
                    "ring.durable",
                    none,
                    format!("key {key}: acknowledged {newest:?} but the newest on any disk is {held:?}"),
                );
                return;
            }
        }
    }
}
