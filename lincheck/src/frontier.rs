//! The frontier search: the history swept once in time order, keeping every configuration the
//! operations so far can be in.
//!
//! Where the depth-first search ([`crate::checker`]) keeps every configuration it ever visited,
//! keyed by a bitset over the whole history, this search keeps only the configurations possible at
//! the current point of the history (the *frontier*), and names the linearized operations by a
//! bitset over the few operations still open (a *slot* per completed operation between its call
//! and its return). At the return of operation `x`, each configuration is extended by every
//! sequence of open operations that ends with `x` (x had to take effect by then), and the frontier
//! becomes the set of those ends, with `x` forgotten: every survivor has linearized it. The history
//! is linearizable iff the frontier is never empty. Memory is the frontier plus one step's visited
//! configurations, whatever the history's length, and time grows with the length times the
//! frontier's size.
//!
//! Exact reductions keep the frontier small:
//!
//! - **Reads are saturated.** An open operation that never changes the state
//!   ([`Model::read_only`]) and is legal in the current state is linearized at once: any
//!   linearization from this configuration can be rewritten to take it now (no open operation has
//!   to precede it, and moving it earlier changes no state), so a configuration and its saturation
//!   succeed together.
//! - **Pending operations are optional.** An operation that never returned is linearized only if
//!   it changes the state. Pending operations with the same effect ([`Model::pending_effect`]) are
//!   interchangeable once called, so only the earliest-called unused one of such a group is used;
//!   a blind write is never followed directly by another pending blind write (the first would be
//!   overwritten unseen: dropping it gives the same run); and of two configurations that differ
//!   only in the pending operations they used, the one that used fewer (per group) dominates.
//! - **Configurations are deduplicated per step**, by (open linearized set, pending used, state).
//!
//! The search runs in one of two modes. [`Mode::Exact`] is the search above. [`Mode::Relaxed`]
//! lets every called pending operation take effect any number of times, which forgets which ones
//! were used and so keeps the frontier far smaller: every real linearization is a relaxed one, so
//! an empty relaxed frontier proves the history is not linearizable, and a relaxed witness that
//! uses each pending operation at most once is a real linearization. When neither holds, the
//! relaxed search has no verdict and the caller runs an exact one.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::checker::{Limits, SearchOutcome};
use crate::hash::{hash_one, mix64, FastHasher};
use crate::{Model, Operation, PendingEffect};

const NONE: u32 = u32::MAX;

type FixedMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Which search to run (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every pending operation takes effect at most once: the real question.
    Exact,
    /// Pending operations may take effect any number of times: a sound over-approximation.
    Relaxed,
}

/// One configuration: which open operations are linearized (bits by slot), which pending
/// operations were used (an interned set), the model state, and how we got here.
#[derive(Clone)]
struct Cfg<S> {
    lin: u64,
    pend: u32,
    /// Last node of this configuration's linearization in the trail arena.
    trail: u32,
    /// Length of that linearization.
    depth: u32,
    /// Pending operations used along it.
    uses: u32,
    /// The last operation linearized was a pending blind write (the next may not be one).
    after_blind: bool,
    state: S,
}

/// Interned sets of used pending resources, as sorted `(key, count)` lists: key `g < groups` is
/// blind-write group `g` (count: how many of its members were used, always its first ones),
/// key `groups + l` is the other pending operation `l` (count 1). Set 0 is the empty set.
struct PendSets {
    sets: Vec<Box<[(u32, u32)]>>,
    index: FixedMap<Box<[(u32, u32)]>, u32>,
    memo: FixedMap<(u32, u32), u32>,
    bytes: usize,
}

impl PendSets {
    fn new() -> PendSets {
        let mut s = PendSets { sets: Vec::new(), index: FixedMap::default(), memo: FixedMap::default(), bytes: 0 };
        s.sets.push(Box::from(&[][..]));
        s.index.insert(Box::from(&[][..]), 0);
        s
    }

    fn count(&self, set: u32, key: u32) -> u32 {
        if set == 0 {
            return 0;
        }
        let v = &self.sets[set as usize];
        match v.binary_search_by_key(&key, |e| e.0) {
            Ok(i) => v[i].1,
            Err(_) => 0,
        }
    }

    /// The set with one more use of `key`.
    fn bump(&mut self, set: u32, key: u32) -> u32 {
        if let Some(&id) = self.memo.get(&(set, key)) {
            return id;
        }
        let old = &self.sets[set as usize];
        let mut v: Vec<(u32, u32)> = old.to_vec();
        match v.binary_search_by_key(&key, |e| e.0) {
            Ok(i) => v[i].1 += 1,
            Err(i) => v.insert(i, (key, 1)),
        }
        let v: Box<[(u32, u32)]> = v.into();
        let id = match self.index.get(&v) {
            Some(&id) => id,
            None => {
                let id = self.sets.len() as u32;
                self.bytes += 2 * (v.len() * 8 + 48);
                self.sets.push(v.clone());
                self.index.insert(v, id);
                id
            }
        };
        self.bytes += 32;
        self.memo.insert((set, key), id);
        id
    }

    /// Whether set `a` uses no more of anything than set `b` (so `a` dominates `b`).
    fn within(&self, a: u32, b: u32) -> bool {
        if a == b || a == 0 {
            return true;
        }
        let (a, b) = (&self.sets[a as usize], &self.sets[b as usize]);
        if a.len() > b.len() {
            return false;
        }
        let mut j = 0;
        for &(k, c) in a.iter() {
            while j < b.len() && b[j].0 < k {
                j += 1;
            }
            if j == b.len() || b[j].0 != k || b[j].1 < c {
                return false;
            }
            j += 1;
        }
        true
    }
}

/// An open-addressing set of configurations `(lin, pend, after_blind, state)` for one step.
struct Seen<S> {
    /// `(hash, lin, pend | after_blind << 31, slot)` per entry; the state sits in `states`.
    keys: Vec<(u64, u64, u32, u32)>,
    states: Vec<S>,
    /// Entry index + 1, or 0 for empty.
    slots: Vec<u32>,
}

impl<S: Eq + Clone> Seen<S> {
    fn new() -> Self {
        Seen { keys: Vec::new(), states: Vec::new(), slots: vec![0; 1 << 8] }
    }

    fn insert(&mut self, h: u64, lin: u64, pend: u32, state: &S) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = (h as usize) & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                break;
            }
            let k = &self.keys[s as usize - 1];
            if k.0 == h && k.1 == lin && k.2 == pend && self.states[s as usize - 1] == *state {
                return false;
            }
            i = (i + 1) & mask;
        }
        self.keys.push((h, lin, pend, i as u32));
        self.states.push(state.clone());
        self.slots[i] = self.keys.len() as u32;
        if self.keys.len() * 2 > self.slots.len() {
            self.rehash(self.slots.len() * 2);
        }
        true
    }

    fn rehash(&mut self, n: usize) {
        let mask = n - 1;
        self.slots = vec![0; n];
        for (e, k) in self.keys.iter_mut().enumerate() {
            let mut i = (k.0 as usize) & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = e as u32 + 1;
            k.3 = i as u32;
        }
    }

    fn clear(&mut self) {
        if self.slots.len() > (1 << 12) && self.keys.len() * 16 < self.slots.len() {
            // A big step once: do not pay for its table on every later step.
            self.keys = Vec::new();
            self.states = Vec::new();
            self.slots = vec![0; 1 << 8];
            return;
        }
        for k in &self.keys {
            self.slots[k.3 as usize] = 0;
        }
        self.keys.clear();
        self.states.clear();
    }

    fn bytes(&self) -> usize {
        self.keys.capacity() * 24 + self.states.capacity() * std::mem::size_of::<S>() + self.slots.capacity() * 4
    }
}

/// The next frontier, deduplicated by (lin, state), keeping only configurations that no other
/// one with the same (lin, state) dominates.
struct NextFrontier<S> {
    cfgs: Vec<Cfg<S>>,
    /// Per configuration: the next one with the same (lin, state), or NONE.
    link: Vec<u32>,
    alive: Vec<bool>,
    /// (hash, head index) by (lin, state).
    slots: Vec<(u64, u32)>,
    used: Vec<u32>,
}

impl<S: Eq + Clone> NextFrontier<S> {
    fn new() -> Self {
        NextFrontier {
            cfgs: Vec::new(),
            link: Vec::new(),
            alive: Vec::new(),
            slots: vec![(0, NONE); 1 << 6],
            used: Vec::new(),
        }
    }

    fn insert(&mut self, h: u64, c: Cfg<S>, sets: &PendSets) {
        let mask = self.slots.len() - 1;
        let mut i = (h as usize) & mask;
        loop {
            let (sh, head) = self.slots[i];
            if head == NONE {
                break;
            }
            let hc = &self.cfgs[head as usize];
            if sh == h && hc.lin == c.lin && hc.state == c.state {
                let mut m = head;
                let mut last = head;
                while m != NONE {
                    let mu = m as usize;
                    if self.alive[mu] {
                        let mp = self.cfgs[mu].pend;
                        if mp == c.pend {
                            // Equal: keep the path that used fewer pending operations (a better
                            // witness for the relaxed search), the earlier one on a tie.
                            if c.uses < self.cfgs[mu].uses {
                                self.cfgs[mu] = c;
                            }
                            return;
                        }
                        if sets.within(mp, c.pend) {
                            return;
                        }
                        if sets.within(c.pend, mp) {
                            self.alive[mu] = false;
                        }
                    }
                    last = m;
                    m = self.link[mu];
                }
                let id = self.cfgs.len() as u32;
                self.link[last as usize] = id;
                self.cfgs.push(c);
                self.link.push(NONE);
                self.alive.push(true);
                return;
            }
            i = (i + 1) & mask;
        }
        let id = self.cfgs.len() as u32;
        self.slots[i] = (h, id);
        self.used.push(i as u32);
        self.cfgs.push(c);
        self.link.push(NONE);
        self.alive.push(true);
        if self.used.len() * 2 > self.slots.len() {
            let n = self.slots.len() * 2;
            let mask = n - 1;
            let mut slots = vec![(0, NONE); n];
            let mut used = Vec::with_capacity(self.used.len());
            for &u in &self.used {
                let (sh, head) = self.slots[u as usize];
                let mut j = (sh as usize) & mask;
                while slots[j].1 != NONE {
                    j = (j + 1) & mask;
                }
                slots[j] = (sh, head);
                used.push(j as u32);
            }
            self.slots = slots;
            self.used = used;
        }
    }

    /// Moves the live configurations out, in insertion order, and resets.
    fn drain_into(&mut self, out: &mut Vec<Cfg<S>>) {
        out.clear();
        for (c, &a) in self.cfgs.drain(..).zip(&self.alive) {
            if a {
                out.push(c);
            }
        }
        self.link.clear();
        self.alive.clear();
        if self.slots.len() > (1 << 12) && self.used.len() * 16 < self.slots.len() {
            self.slots = vec![(0, NONE); 1 << 6];
            self.used = Vec::new();
        } else {
            for &u in &self.used {
                self.slots[u as usize] = (0, NONE);
            }
        }
        self.used.clear();
    }

    fn bytes(&self) -> usize {
        self.cfgs.capacity() * std::mem::size_of::<Cfg<S>>()
            + self.link.capacity() * 4
            + self.alive.capacity()
            + self.slots.capacity() * 16
            + self.used.capacity() * 4
    }
}

/// The configurations to expand in one step, by the pending operations their path used: those
/// that used fewer are expanded first, so that each configuration is first reached (and kept) by
/// a path that used as few as possible (the best witness for the relaxed search).
struct Work<S> {
    buckets: Vec<Vec<Cfg<S>>>,
    base: u32,
    cur: usize,
    len: usize,
}

impl<S> Work<S> {
    fn new() -> Self {
        Work { buckets: Vec::new(), base: 0, cur: 0, len: 0 }
    }

    /// Starts a step whose configurations used at least `base` pending operations.
    fn reset(&mut self, base: u32) {
        self.base = base;
        self.cur = 0;
    }

    fn push(&mut self, c: Cfg<S>) {
        let i = (c.uses - self.base) as usize;
        if i >= self.buckets.len() {
            self.buckets.resize_with(i + 1, Vec::new);
        }
        self.cur = self.cur.min(i);
        self.buckets[i].push(c);
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Cfg<S>> {
        while self.cur < self.buckets.len() {
            if let Some(c) = self.buckets[self.cur].pop() {
                self.len -= 1;
                return Some(c);
            }
            self.cur += 1;
        }
        None
    }

    fn bytes(&self) -> usize {
        self.buckets.iter().map(|b| b.capacity() * std::mem::size_of::<Cfg<S>>() + 24).sum()
    }
}

/// Local description of one operation of the part.
#[derive(Clone, Copy)]
struct LocalOp {
    /// Completed: has a return event (else pending: may take effect any time after its call).
    completed: bool,
    /// Completed and never changes the state ([`Model::read_only`]).
    read_only: bool,
    /// For a pending operation with a known effect ([`Model::pending_effect`]): its group;
    /// NONE otherwise.
    group: u32,
    /// A pending operation that never changes the state: never linearized.
    noop: bool,
    /// Index of its call event.
    call_event: u32,
}

/// Pending operations with the same effect, in call order: blind writes leaving `state`
/// (`when` is `None`), or conditional writes taking `when` to `state`.
struct Group<S> {
    when: Option<S>,
    state: S,
    members: Vec<u32>,
}

/// Trail nodes below which no collection runs (768 KiB). Collection costs one pass over the
/// arena and runs when it has doubled past what the roots reach, so it is amortized at any floor;
/// a floor of 2^20 nodes held 40 MiB of dead paths at the end of a 100,000-operation history.
const TRAIL_GC_FLOOR: usize = 1 << 16;

/// The trail arena: linearizations as linked lists `(op, parent, step)`, shared between
/// configurations; `step` is the index of the return event during which `op` was linearized.
struct Trail {
    nodes: Vec<(u32, u32, u32)>,
    next_gc: usize,
}

impl Trail {
    fn push(&mut self, op: u32, parent: u32, step: u32) -> u32 {
        self.nodes.push((op, parent, step));
        (self.nodes.len() - 1) as u32
    }

    fn path(&self, mut t: u32) -> Vec<(u32, u32)> {
        let mut v = Vec::new();
        while t != NONE {
            let (op, p, step) = self.nodes[t as usize];
            v.push((op, step));
            t = p;
        }
        v.reverse();
        v
    }

    /// Drops the nodes no root reaches; rewrites the roots.
    fn collect(&mut self, roots: &mut [u32]) {
        let n = self.nodes.len();
        let mut keep = vec![false; n];
        for &r in roots.iter() {
            let mut t = r;
            while t != NONE && !keep[t as usize] {
                keep[t as usize] = true;
                t = self.nodes[t as usize].1;
            }
        }
        // Parents come before children, so one forward pass renumbers.
        let mut remap = vec![NONE; n];
        let mut w = 0usize;
        for i in 0..n {
            if keep[i] {
                let (op, p, step) = self.nodes[i];
                let p = if p == NONE { NONE } else { remap[p as usize] };
                self.nodes[w] = (op, p, step);
                remap[i] = w as u32;
                w += 1;
            }
        }
        self.nodes.truncate(w);
        self.nodes.shrink_to(2 * w.max(TRAIL_GC_FLOOR));
        for r in roots.iter_mut() {
            if *r != NONE {
                *r = remap[*r as usize];
            }
        }
        self.next_gc = (2 * w).max(TRAIL_GC_FLOOR);
    }

    fn bytes(&self) -> usize {
        self.nodes.capacity() * 12
    }
}

/// Turns a linearization found by the relaxed search into a real one if it can: replays it, and
/// gives each use of a pending operation to an unused pending operation called before that step
/// with the same effect from the same state (the one the path names if it is still unused, else
/// the earliest-called such one). `Err` with the path as far as it could be rewritten when some
/// use finds none (then the history may still be linearizable: the caller searches exactly).
fn repair<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    path: &[(u32, u32)],
    local: &[LocalOp],
    pending: &[u32],
) -> Result<Vec<u32>, Vec<u32>> {
    let mut used = vec![false; local.len()];
    let mut state = model.init();
    let mut out = Vec::with_capacity(path.len());
    let mut ok = true;
    for &(op, step) in path {
        let o = &ops[part[op as usize]];
        if local[op as usize].completed {
            let Some(next) = o.output.as_ref().and_then(|out| model.step(&state, &o.input, out)) else {
                return Err(out);
            };
            state = next;
            out.push(op);
            continue;
        }
        let Some(next) = model.step_pending(&state, &o.input) else { return Err(out) };
        let pick = if !used[op as usize] {
            Some(op)
        } else {
            pending.iter().copied().take_while(|&p| local[p as usize].call_event < step).find(|&p| {
                !used[p as usize] && model.step_pending(&state, &ops[part[p as usize]].input).as_ref() == Some(&next)
            })
        };
        match pick {
            Some(p) => {
                used[p as usize] = true;
                out.push(p);
            }
            None => {
                ok = false;
                out.push(op);
            }
        }
        state = next;
    }
    if ok {
        Ok(out)
    } else {
        Err(out)
    }
}

/// Runs the frontier search on `part`. `None` when it has no verdict: the part does not suit it
/// (more than 64 completed operations open at once) or, in relaxed mode, no relaxed witness is a
/// real linearization.
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    limits: &Limits<'_>,
    states: &mut u64,
    mode: Mode,
) -> Option<SearchOutcome> {
    let n = part.len();
    let mut local: Vec<LocalOp> = Vec::with_capacity(n);
    let mut events: Vec<(u64, u8, u32)> = Vec::with_capacity(2 * n);
    for (l, &g) in part.iter().enumerate() {
        let op = &ops[g];
        let (call, ret) = if limits.relax == Some(g) { (0, op.ret.map(|_| u64::MAX)) } else { (op.call, op.ret) };
        let completed = ret.is_some() && op.output.is_some();
        let read_only = match (&op.output, completed) {
            (Some(o), true) => model.read_only(&op.input, o),
            _ => false,
        };
        local.push(LocalOp { completed, read_only, group: NONE, noop: false, call_event: 0 });
        events.push((call, 0, l as u32));
        if let (true, Some(r)) = (completed, ret) {
            events.push((r.max(call), 1, l as u32));
        }
    }
    events.sort_unstable();

    // Slots (lowest free), at most 64 completed operations open at once; groups of pending
    // blind writes by the state they leave, members in call order.
    let mut slot_of = vec![NONE; n];
    let mut groups: Vec<Group<M::State>> = Vec::new();
    {
        let mut used: u64 = 0;
        let mut by_state: FixedMap<u64, Vec<u32>> = FixedMap::default();
        for (k, &(_, kind, l)) in events.iter().enumerate() {
            let lu = l as usize;
            if kind == 1 {
                used &= !(1u64 << slot_of[lu]);
                continue;
            }
            local[lu].call_event = k as u32;
            if local[lu].completed {
                if used == u64::MAX {
                    return None;
                }
                let s = (!used).trailing_zeros();
                slot_of[lu] = s;
                used |= 1 << s;
                continue;
            }
            let (when, c) = match model.pending_effect(&ops[part[lu]].input) {
                None => continue,
                Some(PendingEffect::Nothing) => {
                    local[lu].noop = true;
                    continue;
                }
                Some(PendingEffect::Blind(c)) => (None, c),
                Some(PendingEffect::Conditional { when, then }) => {
                    if when == then {
                        local[lu].noop = true;
                        continue;
                    }
                    (Some(when), then)
                }
            };
            let h = mix64(hash_one(&c) ^ when.as_ref().map_or(0, |w| hash_one(w).rotate_left(17)));
            let cands = by_state.entry(h).or_default();
            let g = match cands.iter().find(|&&g| groups[g as usize].state == c && groups[g as usize].when == when) {
                Some(&g) => g,
                None => {
                    groups.push(Group { when, state: c, members: Vec::new() });
                    cands.push(groups.len() as u32 - 1);
                    groups.len() as u32 - 1
                }
            };
            groups[g as usize].members.push(l);
            local[lu].group = g;
        }
    }
    let n_groups = groups.len() as u32;
    // Pending operations in call order (for repairing relaxed witnesses).
    let pending: Vec<u32> = events
        .iter()
        .filter(|e| e.1 == 0 && !local[e.2 as usize].completed && !local[e.2 as usize].noop)
        .map(|e| e.2)
        .collect();
    let Some(last_return) = events.iter().rposition(|e| e.1 == 1) else {
        return Some(SearchOutcome::Linearizable);
    };

    let mut slot_op = [NONE; 64];
    let mut open_mask: u64 = 0;
    let mut ro_mask: u64 = 0;
    // Called pending operations: blind-write groups with at least one called member (and how
    // many are called), conditional groups with one by the state they act in, and the others.
    let mut called = vec![0u32; groups.len()];
    let mut active: Vec<u32> = Vec::new();
    let mut cond_by_when: FixedMap<u64, Vec<u32>> = FixedMap::default();
    let mut others: Vec<u32> = Vec::new();
    let mut sets = PendSets::new();
    let mut trail = Trail { nodes: Vec::new(), next_gc: TRAIL_GC_FLOOR };
    let init = Cfg { lin: 0, pend: 0, trail: NONE, depth: 0, uses: 0, after_blind: false, state: model.init() };
    let mut frontier: Vec<Cfg<M::State>> = vec![init];
    let mut next: NextFrontier<M::State> = NextFrontier::new();
    let mut seen: Seen<M::State> = Seen::new();
    let mut work: Work<M::State> = Work::new();
    let mut peak: usize = 0;
    let mut iterations: u32 = 0;
    let slot_hash: Vec<u64> = (0..64u64).map(|s| mix64((s + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))).collect();
    let lin_hash = |lin: u64| -> u64 {
        let mut h = 0u64;
        let mut m = lin;
        while m != 0 {
            h ^= slot_hash[m.trailing_zeros() as usize];
            m &= m - 1;
        }
        h
    };
    let relaxed = mode == Mode::Relaxed;

    for (k, &(_, kind, l)) in events.iter().enumerate() {
        if k > last_return {
            break;
        }
        let lu = l as usize;
        if kind == 0 {
            let lo = local[lu];
            if lo.completed {
                let s = slot_of[lu] as usize;
                slot_op[s] = l;
                open_mask |= 1 << s;
                if lo.read_only {
                    ro_mask |= 1 << s;
                }
            } else if lo.noop {
            } else if lo.group != NONE {
                let g = lo.group as usize;
                called[g] += 1;
                if called[g] == 1 {
                    match &groups[g].when {
                        None => active.push(g as u32),
                        Some(w) => cond_by_when.entry(hash_one(w)).or_default().push(g as u32),
                    }
                }
            } else {
                others.push(l);
            }
            continue;
        }
        // The return of x: every configuration must linearize it now.
        let step = k as u32;
        let sx = slot_of[lu] as usize;
        let xbit = 1u64 << sx;
        let mut best: (u32, u32) = (0, NONE);
        let mut best_set = false;
        let frontier_bytes = frontier.capacity() * std::mem::size_of::<Cfg<M::State>>();
        // Once per return as well as inside long steps, so small searches report their size too.
        let mem = seen.bytes() + next.bytes() + work.bytes() + frontier_bytes + trail.bytes() + sets.bytes;
        limits.peak_bytes.set(limits.peak_bytes.get().max(mem as u64));
        work.reset(frontier.iter().map(|c| c.uses).min().unwrap_or(0));
        for c in frontier.drain(..) {
            work.push(c);
        }
        {
            while let Some(mut c) = work.pop() {
                iterations = iterations.wrapping_add(1);
                if iterations & 0x3ff == 0 {
                    if let Some(d) = limits.deadline {
                        if Instant::now() >= d {
                            return Some(SearchOutcome::OutOfTime);
                        }
                    }
                    if let Some((min_failed, me)) = limits.cancel {
                        if min_failed.load(Ordering::Relaxed) < me {
                            return Some(SearchOutcome::Cancelled);
                        }
                    }
                    let mem = seen.bytes() + next.bytes() + work.bytes() + frontier_bytes + trail.bytes() + sets.bytes;
                    peak = peak.max(mem);
                    limits.peak_bytes.set(limits.peak_bytes.get().max(peak as u64));
                    if mem as u64 > limits.max_memory {
                        return Some(SearchOutcome::OutOfMemory(limits.max_memory));
                    }
                }
                // Saturate the legal reads.
                let mut reads = ro_mask & open_mask & !c.lin;
                let mut add = 0u64;
                while reads != 0 {
                    let s = reads.trailing_zeros() as usize;
                    reads &= reads - 1;
                    let op = &ops[part[slot_op[s] as usize]];
                    if let Some(out) = &op.output {
                        if model.step(&c.state, &op.input, out).is_some() {
                            add |= 1 << s;
                        }
                    }
                }
                if add != 0 {
                    c.after_blind = false;
                }
                let sh = hash_one(&c.state);
                let lin = c.lin | add;
                let tag = c.pend | ((c.after_blind as u32) << 31);
                if lin & xbit == 0 && !seen.insert(mix64(lin_hash(lin) ^ sh ^ tag as u64), lin, tag, &c.state) {
                    continue;
                }
                let mut m = add;
                while m != 0 {
                    let s = m.trailing_zeros() as usize;
                    m &= m - 1;
                    c.trail = trail.push(slot_op[s], c.trail, step);
                    c.depth += 1;
                }
                c.lin = lin;
                if !best_set || c.depth > best.0 {
                    best = (c.depth, c.trail);
                    best_set = true;
                }
                if lin & xbit != 0 {
                    c.lin &= !xbit;
                    c.after_blind = false;
                    let h = mix64(lin_hash(c.lin) ^ sh);
                    next.insert(h, c, &sets);
                    continue;
                }
                *states += 1;
                if *states > limits.max_states {
                    return Some(SearchOutcome::OutOfStates(limits.max_states));
                }
                // Branch: every open completed operation that changes the state, then every
                // pending operation that would.
                let mut cand = open_mask & !lin & !ro_mask;
                while cand != 0 {
                    let s = cand.trailing_zeros() as usize;
                    cand &= cand - 1;
                    let y = slot_op[s];
                    let op = &ops[part[y as usize]];
                    let Some(out) = &op.output else { continue };
                    if let Some(ns) = model.step(&c.state, &op.input, out) {
                        let t = trail.push(y, c.trail, step);
                        work.push(Cfg {
                            lin: lin | (1 << s),
                            pend: c.pend,
                            trail: t,
                            depth: c.depth + 1,
                            uses: c.uses,
                            after_blind: false,
                            state: ns,
                        });
                    }
                }
                {
                    // Linearize the next member of group `g` (its members are interchangeable,
                    // so only the first not yet used is tried).
                    let mut expand = |g, after_blind| {
                        let gr = &groups[g as usize];
                        let (member, pend) = if relaxed {
                            (gr.members[0], 0)
                        } else {
                            let used = sets.count(c.pend, g);
                            if used >= called[g as usize] {
                                return;
                            }
                            (gr.members[used as usize], sets.bump(c.pend, g))
                        };
                        let t = trail.push(member, c.trail, step);
                        work.push(Cfg {
                            lin,
                            pend,
                            trail: t,
                            depth: c.depth + 1,
                            uses: c.uses + 1,
                            after_blind,
                            state: gr.state.clone(),
                        });
                    };
                    if !c.after_blind {
                        for &g in &active {
                            if groups[g as usize].state != c.state {
                                expand(g, true);
                            }
                        }
                    }
                    if let Some(gs) = cond_by_when.get(&sh) {
                        for &g in gs {
                            if groups[g as usize].when.as_ref() == Some(&c.state) {
                                expand(g, false);
                            }
                        }
                    }
                }
                for &p in &others {
                    let key = n_groups + p;
                    if !relaxed && sets.count(c.pend, key) > 0 {
                        continue;
                    }
                    let op = &ops[part[p as usize]];
                    if let Some(ns) = model.step_pending(&c.state, &op.input).filter(|s| *s != c.state) {
                        let t = trail.push(p, c.trail, step);
                        let pend = if relaxed { 0 } else { sets.bump(c.pend, key) };
                        work.push(Cfg {
                            lin,
                            pend,
                            trail: t,
                            depth: c.depth + 1,
                            uses: c.uses + 1,
                            after_blind: false,
                            state: ns,
                        });
                    }
                }
            }
        }
        seen.clear();
        next.drain_into(&mut frontier);
        if frontier.is_empty() {
            let path = trail.path(best.1);
            let path = match repair(model, ops, part, &path, &local, &pending) {
                Ok(p) | Err(p) => p,
            };
            let deepest = path.into_iter().map(|l| part[l as usize]).collect();
            return Some(SearchOutcome::NotLinearizable { deepest, states: *states });
        }
        open_mask &= !xbit;
        ro_mask &= !xbit;
        if trail.nodes.len() > trail.next_gc {
            let mut roots: Vec<u32> = frontier.iter().map(|c| c.trail).collect();
            trail.collect(&mut roots);
            for (c, r) in frontier.iter_mut().zip(roots) {
                c.trail = r;
            }
        }
    }
    if mode != Mode::Relaxed {
        return Some(SearchOutcome::Linearizable);
    }
    // A relaxed witness is a real linearization if it uses no pending operation too often.
    // (The few that used the fewest: a witness is cheap to check, a wide frontier is not.)
    frontier.sort_by_key(|c| c.uses);
    for c in frontier.iter().take(16) {
        let path = trail.path(c.trail);
        if repair(model, ops, part, &path, &local, &pending).is_ok() {
            return Some(SearchOutcome::Linearizable);
        }
    }
    None
}
