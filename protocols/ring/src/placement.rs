//! Placement strategies behind one trait: which physical nodes hold a key.
//!
//! Every strategy is a pure function of the *set* of members (a sorted, duplicate-free list of
//! node ids) and the key's hash: never of the order nodes joined in. Four are provided:
//!
//! - [`VnodeRing`]: consistent hashing with virtual nodes (Karger et al.; Dynamo). Each physical
//!   node owns `v` points on a ring of `2^bits` tokens; a key belongs to the first point at or
//!   clockwise after its own position, and its preference list is the next `R` *distinct physical*
//!   nodes walking clockwise. Points at the same position are ordered by `(node, index)`, so even
//!   colliding tokens (likely with 32-bit tokens, as in ketama) give an order-independent owner.
//! - [`JumpHash`]: Lamping & Veach's jump consistent hash over the sorted member list. Minimal
//!   movement only when the joining node sorts last and the leaving node is the last bucket.
//! - [`Rendezvous`]: highest random weight (Thaler & Ravishankar): each node scores the key; the
//!   top `R` scores form the preference list. O(n) per lookup, minimal movement always.
//! - [`Modulo`]: `hash % n` over the sorted member list: the baseline that moves almost every key.

use crate::hash::{key_hash, rendezvous_score, vnode_hash};

/// Largest number of replicas a preference list may ask for (explicit limit).
pub const MAX_REPLICAS: usize = 16;

/// Where keys live, for a fixed member set.
pub trait Placement {
    /// The strategy's short name.
    fn name(&self) -> &'static str;
    /// The members, sorted ascending, without duplicates.
    fn members(&self) -> &[u32];
    /// The node owning a key hash (the first entry of its preference list); `None` without members.
    fn owner(&self, key_hash: u64) -> Option<u32>;
    /// Fills `out` with the key's preference list: up to `replicas` distinct physical nodes, the
    /// owner first. Shorter only when there are fewer members.
    fn preference_list(&self, key_hash: u64, replicas: usize, out: &mut Vec<u32>);
}

/// Checks the member-list contract shared by every strategy.
fn assert_members(members: &[u32]) {
    assert!(members.windows(2).all(|w| w[0] < w[1]), "members must be sorted and distinct: {members:?}");
}

/// Planted mutations of the ring's search and construction (see `Ring::BUGS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingBugs {
    /// Clamp instead of wrap: keys past the last point go to the last point, not the first.
    pub wraparound: bool,
    /// Preference list = owners of the next `R` points, duplicates and all.
    pub next_vnodes: bool,
    /// Points are keyed by position only: a later insert at a taken position overwrites it.
    pub collision_overwrite: bool,
}

/// One virtual node: a point on the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VNode {
    /// Token (position on the ring), in `0..2^bits`.
    pub pos: u64,
    /// The physical node.
    pub node: u32,
    /// Which of the node's points.
    pub index: u32,
}

/// Consistent hashing with virtual nodes.
#[derive(Clone, Debug)]
pub struct VnodeRing {
    /// Points sorted by `(pos, node, index)`.
    points: Vec<VNode>,
    members: Vec<u32>,
    vnodes_per_node: u32,
    bits: u32,
    bugs: RingBugs,
}

impl VnodeRing {
    /// An empty ring: `vnodes_per_node` points per node, tokens of `bits` bits (1..=64).
    pub fn new(vnodes_per_node: u32, bits: u32, bugs: RingBugs) -> VnodeRing {
        assert!(vnodes_per_node >= 1, "at least one virtual node per node");
        assert!((1..=64).contains(&bits), "token width must be 1..=64 bits, got {bits}");
        VnodeRing { points: Vec::new(), members: Vec::new(), vnodes_per_node, bits, bugs }
    }

    /// A ring over `members` (any order; the result does not depend on it unless a planted bug
    /// is on, in which case nodes are inserted in the order given).
    pub fn build(members: &[u32], vnodes_per_node: u32, bits: u32, bugs: RingBugs) -> VnodeRing {
        let mut ring = VnodeRing::new(vnodes_per_node, bits, bugs);
        if bugs.collision_overwrite {
            for &m in members {
                ring.add_node(m);
            }
            return ring;
        }
        let mut sorted = members.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        ring.points.reserve(sorted.len() * vnodes_per_node as usize);
        for &m in &sorted {
            for index in 0..vnodes_per_node {
                ring.points.push(VNode { pos: ring.token(vnode_hash(m, index)), node: m, index });
            }
        }
        ring.points.sort_unstable();
        ring.members = sorted;
        ring
    }

    /// The token of a 64-bit hash: its top `bits` bits.
    #[inline]
    pub fn token(&self, hash: u64) -> u64 {
        if self.bits == 64 {
            hash
        } else {
            hash >> (64 - self.bits)
        }
    }

    /// Token width in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Points per physical node.
    pub fn vnodes_per_node(&self) -> u32 {
        self.vnodes_per_node
    }

    /// The points, sorted by position.
    pub fn points(&self) -> &[VNode] {
        &self.points
    }

    /// Adds a node's points (incremental: O(v · points)). No-op for a member.
    pub fn add_node(&mut self, node: u32) {
        if let Err(at) = self.members.binary_search(&node) {
            self.members.insert(at, node);
        } else {
            return;
        }
        for index in 0..self.vnodes_per_node {
            let p = VNode { pos: self.token(vnode_hash(node, index)), node, index };
            if self.bugs.collision_overwrite {
                // Keyed by position alone, like a `BTreeMap<token, node>`: last writer wins.
                match self.points.binary_search_by_key(&p.pos, |q| q.pos) {
                    Ok(at) => self.points[at] = p,
                    Err(at) => self.points.insert(at, p),
                }
                continue;
            }
            let at = self.points.binary_search(&p).expect_err("a point is inserted once");
            self.points.insert(at, p);
        }
    }

    /// Removes a node's points. No-op for a non-member.
    pub fn remove_node(&mut self, node: u32) {
        let Ok(at) = self.members.binary_search(&node) else { return };
        self.members.remove(at);
        self.points.retain(|p| p.node != node);
    }

    /// Makes the member set `members` (sorted) by adding and removing nodes incrementally.
    pub fn set_members(&mut self, members: &[u32]) {
        assert_members(members);
        let gone: Vec<u32> = self.members.iter().copied().filter(|m| members.binary_search(m).is_err()).collect();
        for m in gone {
            self.remove_node(m);
        }
        for &m in members {
            self.add_node(m);
        }
    }

    /// Index of the point owning token `t`: the first point at or after `t`, wrapping.
    #[inline]
    pub fn successor(&self, t: u64) -> usize {
        debug_assert!(!self.points.is_empty());
        let i = self.points.partition_point(|p| p.pos < t);
        if self.bugs.wraparound {
            // Planted: off by one at the end of the ring (clamps to the last point).
            return i.min(self.points.len() - 1);
        }
        if i == self.points.len() {
            0
        } else {
            i
        }
    }
}

impl Placement for VnodeRing {
    fn name(&self) -> &'static str {
        "ring"
    }

    fn members(&self) -> &[u32] {
        &self.members
    }

    fn owner(&self, key_hash: u64) -> Option<u32> {
        if self.points.is_empty() {
            return None;
        }
        Some(self.points[self.successor(self.token(key_hash))].node)
    }

    fn preference_list(&self, key_hash: u64, replicas: usize, out: &mut Vec<u32>) {
        out.clear();
        assert!(replicas <= MAX_REPLICAS, "at most {MAX_REPLICAS} replicas");
        if self.points.is_empty() {
            return;
        }
        let want = replicas.min(self.members.len());
        let start = self.successor(self.token(key_hash));
        let len = self.points.len();
        for step in 0..len {
            if out.len() == want {
                break;
            }
            let node = self.points[(start + step) % len].node;
            if self.bugs.next_vnodes || !out.contains(&node) {
                out.push(node);
            }
        }
    }
}

/// Jump consistent hash over the sorted member list.
#[derive(Clone, Debug)]
pub struct JumpHash {
    members: Vec<u32>,
}

impl JumpHash {
    /// Over `members` (sorted, distinct).
    pub fn new(members: &[u32]) -> JumpHash {
        assert_members(members);
        JumpHash { members: members.to_vec() }
    }

    /// Lamping & Veach's bucket function: a bucket in `0..buckets`.
    pub fn bucket(mut key: u64, buckets: u32) -> u32 {
        assert!(buckets > 0);
        let (mut b, mut j): (i64, i64) = (-1, 0);
        while j < i64::from(buckets) {
            b = j;
            key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
            j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
        }
        b as u32
    }
}

impl Placement for JumpHash {
    fn name(&self) -> &'static str {
        "jump"
    }
    fn members(&self) -> &[u32] {
        &self.members
    }
    fn owner(&self, key_hash: u64) -> Option<u32> {
        let n = self.members.len() as u32;
        (n > 0).then(|| self.members[JumpHash::bucket(key_hash, n) as usize])
    }
    fn preference_list(&self, key_hash: u64, replicas: usize, out: &mut Vec<u32>) {
        out.clear();
        let n = self.members.len();
        if n == 0 {
            return;
        }
        let b = JumpHash::bucket(key_hash, n as u32) as usize;
        out.extend((0..replicas.min(n)).map(|i| self.members[(b + i) % n]));
    }
}

/// Rendezvous (highest random weight) hashing.
#[derive(Clone, Debug)]
pub struct Rendezvous {
    members: Vec<u32>,
}

impl Rendezvous {
    /// Over `members` (sorted, distinct).
    pub fn new(members: &[u32]) -> Rendezvous {
        assert_members(members);
        Rendezvous { members: members.to_vec() }
    }
}

impl Placement for Rendezvous {
    fn name(&self) -> &'static str {
        "rendezvous"
    }
    fn members(&self) -> &[u32] {
        &self.members
    }
    fn owner(&self, key_hash: u64) -> Option<u32> {
        // Ties (equal 64-bit scores) go to the lower id: `max_by_key` keeps the last maximum, so
        // compare on (score, Reverse(id)).
        self.members.iter().copied().max_by_key(|&m| (rendezvous_score(key_hash, m), std::cmp::Reverse(m)))
    }
    fn preference_list(&self, key_hash: u64, replicas: usize, out: &mut Vec<u32>) {
        out.clear();
        assert!(replicas <= MAX_REPLICAS, "at most {MAX_REPLICAS} replicas");
        let want = replicas.min(self.members.len());
        if want == 0 {
            return;
        }
        // Top-`want` by (score desc, id asc), kept in a small sorted array.
        let mut top: [(u64, u32); MAX_REPLICAS] = [(0, 0); MAX_REPLICAS];
        let mut len = 0;
        for &m in &self.members {
            let s = rendezvous_score(key_hash, m);
            let better = |a: (u64, u32), b: (u64, u32)| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
            if len == want && !better((s, m), top[len - 1]) {
                continue;
            }
            let mut i = if len < want { len } else { want - 1 };
            if len < want {
                len += 1;
            }
            while i > 0 && better((s, m), top[i - 1]) {
                top[i] = top[i - 1];
                i -= 1;
            }
            top[i] = (s, m);
        }
        out.extend(top[..len].iter().map(|&(_, m)| m));
    }
}

/// `hash % n` over the sorted member list: the baseline.
#[derive(Clone, Debug)]
pub struct Modulo {
    members: Vec<u32>,
}

impl Modulo {
    /// Over `members` (sorted, distinct).
    pub fn new(members: &[u32]) -> Modulo {
        assert_members(members);
        Modulo { members: members.to_vec() }
    }
}

impl Placement for Modulo {
    fn name(&self) -> &'static str {
        "modulo"
    }
    fn members(&self) -> &[u32] {
        &self.members
    }
    fn owner(&self, key_hash: u64) -> Option<u32> {
        let n = self.members.len() as u64;
        (n > 0).then(|| self.members[(key_hash % n) as usize])
    }
    fn preference_list(&self, key_hash: u64, replicas: usize, out: &mut Vec<u32>) {
        out.clear();
        let n = self.members.len();
        if n == 0 {
            return;
        }
        let b = (key_hash % n as u64) as usize;
        out.extend((0..replicas.min(n)).map(|i| self.members[(b + i) % n]));
    }
}

/// A strategy chosen by name (configuration).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// [`VnodeRing`].
    #[default]
    Ring,
    /// [`JumpHash`].
    Jump,
    /// [`Rendezvous`].
    Rendezvous,
    /// [`Modulo`].
    Modulo,
}

/// Any strategy, statically dispatched.
#[derive(Clone, Debug)]
pub enum AnyPlacement {
    /// A ring.
    Ring(VnodeRing),
    /// Jump hash.
    Jump(JumpHash),
    /// Rendezvous.
    Rendezvous(Rendezvous),
    /// `% n`.
    Modulo(Modulo),
}

impl AnyPlacement {
    /// An empty placement of `strategy` (ring parameters used only by the ring).
    pub fn empty(strategy: Strategy, vnodes: u32, bits: u32, bugs: RingBugs) -> AnyPlacement {
        match strategy {
            Strategy::Ring => AnyPlacement::Ring(VnodeRing::new(vnodes, bits, bugs)),
            Strategy::Jump => AnyPlacement::Jump(JumpHash::new(&[])),
            Strategy::Rendezvous => AnyPlacement::Rendezvous(Rendezvous::new(&[])),
            Strategy::Modulo => AnyPlacement::Modulo(Modulo::new(&[])),
        }
    }

    /// Changes the member set (sorted): incrementally for the ring, by rebuilding otherwise.
    pub fn set_members(&mut self, members: &[u32]) {
        match self {
            AnyPlacement::Ring(r) => r.set_members(members),
            AnyPlacement::Jump(j) => *j = JumpHash::new(members),
            AnyPlacement::Rendezvous(r) => *r = Rendezvous::new(members),
            AnyPlacement::Modulo(m) => *m = Modulo::new(members),
        }
    }

    /// The ring, if this is one.
    pub fn as_ring(&self) -> Option<&VnodeRing> {
        match self {
            AnyPlacement::Ring(r) => Some(r),
            _ => None,
        }
    }

    fn inner(&self) -> &dyn Placement {
        match self {
            AnyPlacement::Ring(r) => r,
            AnyPlacement::Jump(j) => j,
            AnyPlacement::Rendezvous(r) => r,
            AnyPlacement::Modulo(m) => m,
        }
    }
}

impl Placement for AnyPlacement {
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn members(&self) -> &[u32] {
        self.inner().members()
    }
    fn owner(&self, key_hash: u64) -> Option<u32> {
        self.inner().owner(key_hash)
    }
    fn preference_list(&self, key_hash: u64, replicas: usize, out: &mut Vec<u32>) {
        self.inner().preference_list(key_hash, replicas, out)
    }
}

/// The reference owner of a token on a ring, by definition rather than by search: the point with
/// the smallest clockwise distance `(p.pos - t) mod 2^bits`, ties by `(node, index)`. O(points);
/// checkers use it to judge [`VnodeRing::successor`].
pub fn reference_owner(points: &[VNode], bits: u32, t: u64) -> Option<u32> {
    let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    points.iter().min_by_key(|p| (p.pos.wrapping_sub(t) & mask, p.node, p.index)).map(|p| p.node)
}

/// The hash of key `k` (re-exported for placement users).
pub fn hash_of(k: u64) -> u64 {
    key_hash(k)
}

impl VnodeRing {
    /// A ring over `members` inserted in the given order, with this ring's own parameters and
    /// construction: what this node would have built from scratch. Checkers compare it with the
    /// ring a node reached incrementally.
    pub fn rebuilt(&self, members_in_order: &[u32]) -> VnodeRing {
        VnodeRing::build(members_in_order, self.vnodes_per_node, self.bits, self.bugs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rendezvous preference lists are the top `R` members by (score descending, id ascending):
    /// checked against sorting every member (mutation testing showed the insertion into the
    /// small top-`R` array went unchecked, and so did a full array of `MAX_REPLICAS`).
    #[test]
    fn rendezvous_preference_lists_are_the_top_scores() {
        let members: Vec<u32> = (0..20).map(|i| i * 3 + 1).collect();
        let r = Rendezvous::new(&members);
        let mut out = Vec::new();
        for k in 0..500u64 {
            let h = key_hash(k);
            for replicas in (1..=5).chain([MAX_REPLICAS - 1, MAX_REPLICAS]) {
                r.preference_list(h, replicas, &mut out);
                let mut all: Vec<(u64, u32)> = members.iter().map(|&m| (rendezvous_score(h, m), m)).collect();
                all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                let want: Vec<u32> = all.iter().take(replicas).map(|&(_, m)| m).collect();
                assert_eq!(out, want, "key {k}, {replicas} replicas");
                assert_eq!(r.owner(h), Some(want[0]));
            }
        }
    }

    /// The accessors say what the strategies were built with (mutation testing replaced them
    /// with constants unnoticed).
    #[test]
    fn strategies_report_their_members_and_vnodes() {
        let members = [2, 5, 7];
        assert_eq!(JumpHash::new(&members).members(), &members);
        assert_eq!(Rendezvous::new(&members).members(), &members);
        let ring = VnodeRing::build(&members, 16, 32, RingBugs::default());
        assert_eq!(ring.vnodes_per_node(), 16);
        assert_eq!(ring.points().len(), 48);
        let mut out = Vec::new();
        JumpHash::new(&members).preference_list(key_hash(1), 2, &mut out);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|m| members.contains(m)) && out[0] != out[1]);
    }
}
