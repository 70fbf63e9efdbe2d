//! The replicated key-value store on the ring: the `ring` protocol.
//!
//! ## Requests
//! Any member coordinates any request. A read sends `Read` to the key's preference list in the
//! *read set* and answers with the newest `(version, value)` once R of them replied, then repairs
//! the stale repliers (read repair). A write first does the same read to learn the highest
//! version, takes `counter + 1` (so versions follow real time for non-overlapping writes), then
//! sends `Put` to the preference lists of the *old* and the *new* write sets and answers once W
//! nodes of each acknowledged. A replica acknowledges a put only after syncing it. Loss is handled
//! by retransmission on a tick; a coordinator gives up after `op_timeout_ms` (a read or a write
//! still in its read phase is rejected, which is honest: nothing was written; a write whose puts
//! went out is left unanswered, so the client sees it as indeterminate).
//!
//! ## Membership changes
//! The node that receives an operator `join`/`leave`/`fail` drives the change through three
//! statuses (see [`crate::membership`]). Before each next phase, every member must have
//! acknowledged (after syncing) the current one: a barrier. So at any moment live views are at
//! most one phase apart, and each adjacent pair of phases has intersecting read and write quorums:
//!
//! - phase 0/1: reads use the old set; phase-1 writes need W in old *and* new;
//! - phase 1/2: every write needs W in both; phase-2 reads use the new set;
//! - phase 2/3: phase-3 writes need W in the new set, which phase-2 reads use.
//!
//! Between phases 1 and 2 the driver streams: for every key whose new preference list has nodes
//! not in its read preference list (the gainers), it reads the key from R nodes of the read set
//! (so it sees every write completed in phase 0, by quorum intersection) and hands it to the
//! gainers, which acknowledge after syncing. Only then may a gainer be read from. Old owners drop
//! a key only once their view shows no change in progress and they are in none of the key's sets:
//! after the new owners have it.
//!
//! Keys are `0..keys` (small): ownership transfer walks the key space where a production system
//! would stream token ranges; the logic is the same.
//!
//! ## Repair
//! Read repair after reads, periodic anti-entropy between replicas (digest of versions, then push
//! and pull of the differences) and, with sloppy quorums, hinted handoff from stand-ins.

use crate::config::{Item, RingConfig, RingInput, RingOutput, Version};
use crate::hash::key_hash;
use crate::membership::{Entry, MemberView, SetKind, Status, SET_KINDS};
use crate::placement::{AnyPlacement, Placement, RingBugs};
use faultline_sim::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// Most operations a coordinator keeps in flight (explicit limit; more are rejected).
pub const MAX_INFLIGHT: usize = 1024;

/// The kinds of membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Add a node.
    Join,
    /// Remove a live node with its help.
    Leave,
    /// Remove a dead node: it is left out of barriers and streaming sources.
    Fail,
}

/// A membership change a node drives (durable, so a restarted driver resumes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Change {
    /// The node joining or leaving.
    pub target: u32,
    /// Which change.
    pub kind: ChangeKind,
    /// 0: queued; 1..=3: the phase announced (and waiting for its barrier).
    pub phase: u8,
}

impl Change {
    fn status(&self, phase: u8) -> Status {
        match (self.kind, phase) {
            (ChangeKind::Join, 1) => Status::Joining,
            (ChangeKind::Join, 2) => Status::JoinReady,
            (ChangeKind::Join, _) => Status::Normal,
            (_, 1) => Status::Leaving,
            (_, 2) => Status::LeaveReady,
            (_, _) => Status::Left,
        }
    }
}

/// What a node keeps on disk.
#[derive(Clone, Debug, Default)]
pub struct RingDisk {
    /// The membership view (`None`: never changed from the configured initial one).
    pub view: Option<Vec<Entry>>,
    /// Key → newest item held.
    pub data: BTreeMap<u64, Item>,
    /// `(intended node, key)` → item held for it as a stand-in (sloppy quorums).
    pub hints: BTreeMap<(u32, u64), Item>,
    /// Changes this node drives, the active one first.
    pub changes: Vec<Change>,
    /// How many times this node's data directory was lost (the durability check's premise).
    pub wipes: u32,
    /// Starts of this node (part of every version it makes).
    pub incarnation: u32,
    /// The data directory was lost and not yet rebuilt from the other replicas: this node must
    /// not count in read quorums (it would break their intersection with write quorums).
    pub recovering: bool,
}

/// One durable write.
#[derive(Clone, Debug)]
pub enum RingWrite {
    /// The whole view (small: one entry per node).
    View(Vec<Entry>),
    /// Store an item.
    Put(u64, Item),
    /// Drop a key no longer replicated here.
    Drop(u64),
    /// Store a hint.
    Hint(u32, u64, Item),
    /// A hint was delivered (up to this version).
    HintDone(u32, u64, Version),
    /// The driver's change list.
    Changes(Vec<Change>),
    /// The data directory is lost.
    Wipe,
    /// The node started again.
    Incarnation(u32),
    /// Rebuilt after a wipe.
    Recovered,
}

impl Durable for RingDisk {
    type Write = RingWrite;
    fn apply(&mut self, w: &RingWrite) {
        match w {
            RingWrite::View(v) => self.view = Some(v.clone()),
            RingWrite::Put(k, item) => {
                let cur = self.data.entry(*k).or_default();
                if item.version > cur.version {
                    *cur = *item;
                }
            }
            RingWrite::Drop(k) => {
                self.data.remove(k);
            }
            RingWrite::Hint(n, k, item) => {
                let cur = self.hints.entry((*n, *k)).or_default();
                if item.version > cur.version {
                    *cur = *item;
                }
            }
            RingWrite::HintDone(n, k, v) => {
                if self.hints.get(&(*n, *k)).is_some_and(|h| h.version <= *v) {
                    self.hints.remove(&(*n, *k));
                }
            }
            RingWrite::Changes(c) => self.changes = c.clone(),
            RingWrite::Incarnation(i) => self.incarnation = *i,
            RingWrite::Recovered => self.recovering = false,
            RingWrite::Wipe => {
                self.data.clear();
                self.hints.clear();
                self.wipes += 1;
                self.recovering = true;
            }
        }
    }
}

/// Timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingTimer {
    /// Retransmissions, time-outs, the driver, hinted handoff.
    Tick,
    /// Membership gossip.
    Gossip,
    /// Anti-entropy with one peer.
    AntiEntropy,
}

/// Messages.
#[derive(Clone, Debug, Hash)]
pub enum RingMsg {
    /// Coordinator → replica (or stand-in for `for_node`): your item for `key`?
    Read {
        /// Operation id at the coordinator.
        op: u64,
        /// Key.
        key: u64,
        /// The replica this answer counts for.
        for_node: u32,
    },
    /// The answer.
    ReadAck {
        /// Operation id.
        op: u64,
        /// Key.
        key: u64,
        /// Counts for.
        for_node: u32,
        /// Newest item held (zero version if none).
        item: Item,
        /// False while recovering from a wipe: the answer must not count.
        ready: bool,
    },
    /// Coordinator → replica: store (as a hint for `hint` if given).
    Put {
        /// Operation id (0: read repair, no answer awaited).
        op: u64,
        /// Key.
        key: u64,
        /// Item.
        item: Item,
        /// Stand-in for this node.
        hint: Option<u32>,
    },
    /// Stored durably.
    PutAck {
        /// Operation id.
        op: u64,
        /// Key.
        key: u64,
        /// The version now durable (or newer).
        version: Version,
        /// Counts for.
        for_node: u32,
    },
    /// Push-pull gossip of the view.
    Gossip {
        /// The sender's view.
        view: Vec<Entry>,
        /// Answer with your view if it is newer somewhere.
        reply: bool,
    },
    /// Driver → member: adopt this view and acknowledge `target`'s entry.
    ViewPush {
        /// The node changing.
        target: u32,
        /// The driver's view.
        view: Vec<Entry>,
    },
    /// Member → driver: my (synced) entry for `target` has this version.
    ViewAck {
        /// The node changing.
        target: u32,
        /// Version.
        version: u64,
    },
    /// Driver → read replica: your item for `key` (streaming).
    Fetch {
        /// Key.
        key: u64,
    },
    /// The answer.
    FetchAck {
        /// Key.
        key: u64,
        /// Item.
        item: Item,
        /// False while recovering from a wipe: the answer must not count.
        ready: bool,
    },
    /// Driver → gainer: store this.
    Handoff {
        /// Key.
        key: u64,
        /// Item.
        item: Item,
    },
    /// Stored durably.
    HandoffAck {
        /// Key.
        key: u64,
        /// Version now durable (or newer).
        version: Version,
    },
    /// Anti-entropy: my versions of the keys we share.
    Digest {
        /// `(key, version)`.
        items: Vec<(u64, Version)>,
    },
    /// Anti-entropy: newer items for you.
    Items {
        /// `(key, item)`.
        items: Vec<(u64, Item)>,
    },
    /// Anti-entropy: send me these.
    Pull {
        /// Keys.
        keys: Vec<u64>,
    },
    /// Stand-in → intended replica: the hinted item.
    HintPut {
        /// Key.
        key: u64,
        /// Item.
        item: Item,
    },
    /// Stored durably.
    HintAck {
        /// Key.
        key: u64,
        /// Version.
        version: Version,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Get,
    Put(u64),
}

#[derive(Clone, Debug)]
struct PendingOp {
    id: u64,
    req: RequestId,
    key: u64,
    kind: OpKind,
    /// Local time the operation started.
    started: Time,
    /// Local time the put phase started (`None`: still reading).
    put_started: Option<Time>,
    /// The item being written (put phase).
    writing: Item,
    /// Read phase: who answered (for whom) and with which version.
    answers: Vec<(u32, u32, Version)>,
    best: Item,
    /// Put phase: for whom acknowledgements came.
    acked: Vec<u32>,
    /// Stand-ins asked: `(stand-in, intended)`.
    standins: Vec<(u32, u32)>,
}

#[derive(Clone, Debug, Default)]
struct KeyStream {
    key: u64,
    gainers: Vec<u32>,
    sources: Vec<u32>,
    answered: Vec<u32>,
    best: Item,
    acked: Vec<u32>,
    done: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    merge_unversioned: bool,
    read_before_handoff: bool,
    drop_before_handoff: bool,
    no_barrier: bool,
}

/// One node of the ring store.
#[derive(Debug)]
pub struct RingStore {
    id: u32,
    nodes: u32,
    cfg: RingConfig,
    flags: Flags,
    disk: RingDisk,
    view: MemberView,
    /// One placement per set kind (read, old, new).
    rings: [AnyPlacement; 3],
    ops: Vec<PendingOp>,
    next_op: u64,
    /// Driver: which members acknowledged the current phase.
    barrier: Vec<bool>,
    /// Driver: streaming progress (phase 1, after its barrier).
    stream: Option<Vec<KeyStream>>,
    /// After a wipe: per key, the other replicas' answers (rebuilt from R of them).
    recovery: Vec<KeyStream>,
    ticks: u64,
    scratch: Vec<u32>,
    scratch2: Vec<u32>,
}

impl RingStore {
    /// This node's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The membership view.
    pub fn view(&self) -> &MemberView {
        &self.view
    }

    /// The placement of a set.
    pub fn ring(&self, kind: SetKind) -> &AnyPlacement {
        &self.rings[kind as usize]
    }

    /// The in-memory data (key → item).
    pub fn data(&self) -> &BTreeMap<u64, Item> {
        &self.disk.data
    }

    /// The replication factor.
    pub fn replicas(&self) -> usize {
        self.cfg.n as usize
    }

    /// The changes this node drives.
    pub fn changes(&self) -> &[Change] {
        &self.disk.changes
    }

    fn pref(&self, kind: SetKind, key: u64, out: &mut Vec<u32>) {
        self.rings[kind as usize].preference_list(key_hash(key), self.cfg.n as usize, out);
    }

    fn rebuild_rings(&mut self) {
        let mut members = std::mem::take(&mut self.scratch);
        for kind in SET_KINDS {
            self.view.set_members(kind, &mut members);
            if self.rings[kind as usize].members() != members.as_slice() {
                self.rings[kind as usize].set_members(&members);
            }
        }
        self.scratch = members;
    }

    /// After the view changed: persist it (before anything that depends on it), rebuild rings,
    /// drop keys handed off.
    fn view_changed(&mut self, ctx: &mut Ctx<Self>) {
        self.disk.view = Some(self.view.entries().to_vec());
        ctx.write(RingWrite::View(self.view.entries().to_vec()));
        self.rebuild_rings();
        self.drop_unowned(ctx);
        ctx.sync();
    }

    fn replicates(&self, key: u64, kinds: &[SetKind]) -> bool {
        let mut pref = Vec::with_capacity(self.cfg.n as usize);
        kinds.iter().any(|&k| {
            self.pref(k, key, &mut pref);
            pref.contains(&self.id)
        })
    }

    fn drop_unowned(&mut self, ctx: &mut Ctx<Self>) {
        let kinds: &[SetKind] = if self.flags.drop_before_handoff {
            // Planted: drop as soon as the future excludes us, before the gainers have the data.
            &[SetKind::New]
        } else {
            if self.view.in_transition() {
                return; // hand-off may still read from us
            }
            &SET_KINDS
        };
        let gone: Vec<u64> = self.disk.data.keys().copied().filter(|&k| !self.replicates(k, kinds)).collect();
        for k in gone {
            self.disk.data.remove(&k);
            ctx.write(RingWrite::Drop(k));
            ctx.sometimes("ring.dropped-handed-off-key");
        }
    }

    fn merge_view(&mut self, entries: &[Entry], ctx: &mut Ctx<Self>) -> bool {
        if entries.len() != self.view.entries().len() {
            return false;
        }
        let out = self.view.merge(entries, self.flags.merge_unversioned);
        if out.changed {
            self.view_changed(ctx);
        }
        out.other_is_behind
    }

    /// Stores an item if newer; returns true if a write was issued (caller syncs).
    fn store(&mut self, key: u64, item: Item, ctx: &mut Ctx<Self>) -> bool {
        if item.version == Version::default() {
            return false;
        }
        let cur = self.disk.data.entry(key).or_default();
        if item.version > cur.version {
            *cur = item;
            ctx.write(RingWrite::Put(key, item));
            return true;
        }
        false
    }

    fn local_item(&self, key: u64, for_node: u32) -> Item {
        let mut best = self.disk.data.get(&key).copied().unwrap_or_default();
        if for_node != self.id {
            if let Some(h) = self.disk.hints.get(&(for_node, key)) {
                if h.version > best.version {
                    best = *h;
                }
            }
        }
        best
    }

    // ---- coordinator ----

    fn start_op(&mut self, req: RequestId, key: u64, kind: OpKind, ctx: &mut Ctx<Self>) {
        if self.ops.iter().any(|o| o.req == req) {
            return; // a retry of an operation in flight here: it will be answered once
        }
        if self.ops.len() >= MAX_INFLIGHT || key >= self.cfg.keys {
            return ctx.reject(req, None);
        }
        let mut pref = std::mem::take(&mut self.scratch);
        self.pref(SetKind::Read, key, &mut pref);
        if pref.is_empty() {
            self.scratch = pref;
            return ctx.reject(req, None);
        }
        self.next_op += 1;
        let id = self.next_op;
        for &p in &pref {
            ctx.send(NodeId(p), RingMsg::Read { op: id, key, for_node: p });
        }
        self.scratch = pref;
        self.ops.push(PendingOp {
            id,
            req,
            key,
            kind,
            started: ctx.now(),
            put_started: None,
            writing: Item::default(),
            answers: Vec::new(),
            best: Item::default(),
            acked: Vec::new(),
            standins: Vec::new(),
        });
    }

    fn quorum(want: u32, pref_len: usize) -> usize {
        (want as usize).min(pref_len)
    }

    fn on_read_ack(&mut self, from: u32, op: u64, key: u64, for_node: u32, item: Item, ctx: &mut Ctx<Self>) {
        let Some(i) = self.ops.iter().position(|o| o.id == op && o.key == key) else { return };
        if self.ops[i].put_started.is_some() {
            return;
        }
        let o = &mut self.ops[i];
        if from != for_node && !o.standins.contains(&(from, for_node)) {
            return;
        }
        if o.answers.iter().any(|a| a.1 == for_node) {
            return;
        }
        o.answers.push((from, for_node, item.version));
        if item.version > o.best.version {
            o.best = item;
        }
        let mut pref = std::mem::take(&mut self.scratch);
        self.pref(SetKind::Read, key, &mut pref);
        let o = &self.ops[i];
        let counted = o.answers.iter().filter(|a| pref.contains(&a.1)).count();
        let done = counted >= Self::quorum(self.cfg.r, pref.len());
        self.scratch = pref;
        if done {
            self.read_quorum_reached(i, ctx);
        }
    }

    fn read_quorum_reached(&mut self, i: usize, ctx: &mut Ctx<Self>) {
        let best = self.ops[i].best;
        let key = self.ops[i].key;
        match self.ops[i].kind {
            OpKind::Get => {
                let o = self.ops.swap_remove(i);
                let value = (best.version != Version::default()).then_some(best.value);
                ctx.reply(o.req, RingOutput::Value { version: best.version, value });
                // Read repair: bring the stale repliers up to the version returned.
                if best.version != Version::default() {
                    for &(node, for_node, v) in &o.answers {
                        if v < best.version {
                            let hint = (node != for_node).then_some(for_node);
                            ctx.send(NodeId(node), RingMsg::Put { op: 0, key, item: best, hint });
                            ctx.sometimes("ring.read-repair");
                        }
                    }
                }
            }
            OpKind::Put(value) => {
                let tag = (u64::from(self.disk.incarnation) << 32) | (self.ops[i].id & 0xffff_ffff);
                let version = Version { counter: best.version.counter + 1, node: self.id, tag };
                let o = &mut self.ops[i];
                o.writing = Item { version, value };
                o.put_started = Some(ctx.now());
                o.standins.clear();
                self.send_puts(i, ctx);
            }
        }
    }

    /// Sends the put of op `i` to every write-set replica not yet acknowledged.
    fn send_puts(&mut self, i: usize, ctx: &mut Ctx<Self>) {
        let (mut a, mut b) = (std::mem::take(&mut self.scratch), std::mem::take(&mut self.scratch2));
        let o = &self.ops[i];
        self.pref(SetKind::Old, o.key, &mut a);
        self.pref(SetKind::New, o.key, &mut b);
        for &p in b.iter() {
            if !a.contains(&p) {
                a.push(p);
            }
        }
        for &p in &a {
            if !o.acked.contains(&p) {
                ctx.send(NodeId(p), RingMsg::Put { op: o.id, key: o.key, item: o.writing, hint: None });
            }
        }
        for &(s, intended) in &o.standins {
            if !o.acked.contains(&intended) {
                ctx.send(NodeId(s), RingMsg::Put { op: o.id, key: o.key, item: o.writing, hint: Some(intended) });
            }
        }
        self.scratch = a;
        self.scratch2 = b;
    }

    fn on_put_ack(&mut self, op: u64, key: u64, version: Version, for_node: u32, ctx: &mut Ctx<Self>) {
        let Some(i) = self.ops.iter().position(|o| o.id == op && o.key == key) else { return };
        let o = &mut self.ops[i];
        if o.put_started.is_none() || version < o.writing.version || o.acked.contains(&for_node) {
            return;
        }
        o.acked.push(for_node);
        self.try_complete_write(i, ctx);
    }

    fn try_complete_write(&mut self, i: usize, ctx: &mut Ctx<Self>) -> bool {
        let (mut a, mut b) = (std::mem::take(&mut self.scratch), std::mem::take(&mut self.scratch2));
        let o = &self.ops[i];
        self.pref(SetKind::Old, o.key, &mut a);
        self.pref(SetKind::New, o.key, &mut b);
        let in_old = a.iter().filter(|p| o.acked.contains(p)).count();
        let in_new = b.iter().filter(|p| o.acked.contains(p)).count();
        let done = in_old >= Self::quorum(self.cfg.w, a.len()) && in_new >= Self::quorum(self.cfg.w, b.len());
        if done && a != b {
            ctx.sometimes("ring.joint-write");
        }
        self.scratch = a;
        self.scratch2 = b;
        if done {
            let o = self.ops.swap_remove(i);
            ctx.reply(o.req, RingOutput::Written { version: o.writing.version });
        }
        done
    }

    /// With sloppy quorums: for each replica of `o` that has not answered, ask the next node on
    /// the ring beyond the preference lists to stand in for it.
    fn add_standins(&mut self, i: usize) {
        let key = self.ops[i].key;
        let reading = self.ops[i].put_started.is_none();
        let mut wanted = std::mem::take(&mut self.scratch);
        let mut extended = std::mem::take(&mut self.scratch2);
        if reading {
            self.pref(SetKind::Read, key, &mut wanted);
        } else {
            self.pref(SetKind::Old, key, &mut wanted);
            self.pref(SetKind::New, key, &mut extended);
            for &p in &extended {
                if !wanted.contains(&p) {
                    wanted.push(p);
                }
            }
        }
        let all = self.rings[SetKind::New as usize].members().len();
        self.rings[SetKind::New as usize].preference_list(
            key_hash(key),
            all.min(crate::placement::MAX_REPLICAS),
            &mut extended,
        );
        let o = &mut self.ops[i];
        for &p in &wanted {
            let answered = if reading { o.answers.iter().any(|a| a.1 == p) } else { o.acked.contains(&p) };
            if answered || o.standins.iter().any(|s| s.1 == p) {
                continue;
            }
            let standin =
                extended.iter().copied().find(|c| !wanted.contains(c) && !o.standins.iter().any(|s| s.0 == *c));
            if let Some(s) = standin {
                o.standins.push((s, p));
            }
        }
        self.scratch = wanted;
        self.scratch2 = extended;
    }

    fn tick_ops(&mut self, ctx: &mut Ctx<Self>) {
        let now = ctx.now();
        let timeout = Duration::from_millis(self.cfg.op_timeout_ms);
        let sloppy_after = Duration::from_millis(self.cfg.sloppy_after_ms);
        let mut i = 0;
        while i < self.ops.len() {
            let o = &self.ops[i];
            if now.saturating_since(o.started) >= timeout {
                let o = self.ops.swap_remove(i);
                if o.put_started.is_none() {
                    ctx.reject(o.req, None); // nothing was written
                }
                continue;
            }
            let phase_start = o.put_started.unwrap_or(o.started);
            if self.cfg.sloppy && now.saturating_since(phase_start) >= sloppy_after {
                self.add_standins(i);
            }
            if self.ops[i].put_started.is_some() {
                if self.try_complete_write(i, ctx) {
                    continue; // the view moved and the quorum is now met
                }
                self.send_puts(i, ctx);
            } else {
                let mut pref = std::mem::take(&mut self.scratch);
                self.pref(SetKind::Read, self.ops[i].key, &mut pref);
                let o = &self.ops[i];
                for &p in &pref {
                    if !o.answers.iter().any(|a| a.1 == p) {
                        ctx.send(NodeId(p), RingMsg::Read { op: o.id, key: o.key, for_node: p });
                    }
                }
                for &(s, p) in &o.standins {
                    if !o.answers.iter().any(|a| a.1 == p) {
                        ctx.send(NodeId(s), RingMsg::Read { op: o.id, key: o.key, for_node: p });
                    }
                }
                let counted = o.answers.iter().filter(|a| pref.contains(&a.1)).count();
                let sloppy_counted = o.answers.len();
                let need = Self::quorum(self.cfg.r, pref.len());
                self.scratch = pref;
                if counted >= need || (self.cfg.sloppy && sloppy_counted >= need) {
                    self.read_quorum_reached(i, ctx);
                    continue;
                }
            }
            i += 1;
        }
    }

    // ---- driver of membership changes ----

    fn persist_changes(&mut self, ctx: &mut Ctx<Self>) {
        ctx.write(RingWrite::Changes(self.disk.changes.clone()));
        ctx.sync();
    }

    fn enter_phase(&mut self, phase: u8, ctx: &mut Ctx<Self>) {
        let c = &mut self.disk.changes[0];
        c.phase = phase;
        let c = *c;
        let e = self.view.get(c.target);
        self.view.set(c.target, Entry { version: e.version + 1, status: c.status(phase) });
        self.view_changed(ctx);
        self.persist_changes(ctx);
        self.barrier = vec![false; self.nodes as usize];
        self.stream = None;
        self.push_view(ctx);
    }

    fn barrier_members(&self, c: &Change) -> impl Iterator<Item = u32> + '_ {
        let skip = (c.kind == ChangeKind::Fail).then_some(c.target);
        self.view.members().chain(std::iter::once(c.target)).filter(move |&m| Some(m) != skip)
    }

    fn push_view(&mut self, ctx: &mut Ctx<Self>) {
        let Some(c) = self.disk.changes.first().copied() else { return };
        let mut to: Vec<u32> = self.barrier_members(&c).filter(|&m| !self.barrier[m as usize]).collect();
        to.sort_unstable();
        to.dedup();
        for m in to {
            if m == self.id {
                self.barrier[m as usize] = true;
                continue;
            }
            ctx.send(NodeId(m), RingMsg::ViewPush { target: c.target, view: self.view.entries().to_vec() });
        }
    }

    fn barrier_done(&self, c: &Change) -> bool {
        self.flags.no_barrier || self.barrier_members(c).all(|m| self.barrier[m as usize])
    }

    fn tick_driver(&mut self, ctx: &mut Ctx<Self>) {
        let Some(c) = self.disk.changes.first().copied() else { return };
        if c.phase == 0 {
            if self.view.in_transition() {
                return; // one change at a time
            }
            let s = self.view.get(c.target).status;
            let valid = match c.kind {
                ChangeKind::Join => !s.is_member(),
                ChangeKind::Leave | ChangeKind::Fail => s == Status::Normal,
            };
            if !valid {
                self.disk.changes.remove(0);
                self.persist_changes(ctx);
                return;
            }
            ctx.sometimes("ring.change-started");
            return self.enter_phase(1, ctx);
        }
        if !self.barrier_done(&c) {
            if self.ticks.is_multiple_of(2) {
                self.push_view(ctx);
            }
            return;
        }
        match c.phase {
            1 => {
                if self.stream.is_none() {
                    self.start_stream(&c);
                }
                if self.stream_step(ctx) {
                    self.enter_phase(2, ctx);
                }
            }
            2 => self.enter_phase(3, ctx),
            _ => {
                ctx.sometimes("ring.change-completed");
                self.disk.changes.remove(0);
                self.persist_changes(ctx);
                self.stream = None;
                if !self.disk.changes.is_empty() {
                    self.tick_driver(ctx);
                }
            }
        }
    }

    fn start_stream(&mut self, c: &Change) {
        let mut streams = Vec::new();
        let (mut read, mut new) = (Vec::new(), Vec::new());
        for key in 0..self.cfg.keys {
            self.pref(SetKind::Read, key, &mut read);
            self.pref(SetKind::New, key, &mut new);
            let gainers: Vec<u32> = new.iter().copied().filter(|g| !read.contains(g)).collect();
            if gainers.is_empty() {
                continue;
            }
            let sources: Vec<u32> =
                read.iter().copied().filter(|&s| !(c.kind == ChangeKind::Fail && s == c.target)).collect();
            streams.push(KeyStream { key, gainers, sources, ..KeyStream::default() });
        }
        if self.flags.read_before_handoff {
            // Planted: declare the gainers ready without waiting for their data.
            streams.clear();
        }
        self.stream = Some(streams);
    }

    /// Sends what streaming still needs; true when every key is handed off.
    fn stream_step(&mut self, ctx: &mut Ctx<Self>) -> bool {
        let r = self.cfg.r;
        let Some(streams) = self.stream.as_mut() else { return false };
        let mut all = true;
        for s in streams.iter_mut().filter(|s| !s.done) {
            if s.sources.is_empty() {
                s.done = true; // nobody to read from: nothing was ever stored there
                continue;
            }
            if s.answered.len() < Self::quorum(r, s.sources.len()) {
                for &src in s.sources.iter().filter(|x| !s.answered.contains(x)) {
                    ctx.send(NodeId(src), RingMsg::Fetch { key: s.key });
                }
                all = false;
                continue;
            }
            if s.best.version == Version::default() {
                s.done = true;
                continue;
            }
            for &g in s.gainers.iter().filter(|g| !s.acked.contains(g)) {
                ctx.send(NodeId(g), RingMsg::Handoff { key: s.key, item: s.best });
            }
            if s.gainers.iter().all(|g| s.acked.contains(g)) {
                s.done = true;
                ctx.sometimes("ring.key-handed-off");
            } else {
                all = false;
            }
        }
        all
    }

    fn on_fetch_ack(&mut self, from: u32, key: u64, item: Item) {
        let Some(streams) = self.stream.as_mut() else { return };
        let Some(s) = streams.iter_mut().find(|s| s.key == key) else { return };
        if !s.sources.contains(&from) || s.answered.contains(&from) {
            return;
        }
        s.answered.push(from);
        if item.version > s.best.version {
            s.best = item;
        }
    }

    /// After a wipe: read every key this node replicates from R of the other replicas before
    /// counting in read quorums again (as a replaced node bootstraps before serving).
    fn tick_recovery(&mut self, ctx: &mut Ctx<Self>) {
        if !self.disk.recovering {
            return;
        }
        if self.recovery.is_empty() {
            let mut pref = Vec::new();
            for key in 0..self.cfg.keys {
                if !self.replicates(key, &SET_KINDS) {
                    continue;
                }
                self.pref(SetKind::Read, key, &mut pref);
                let sources: Vec<u32> = pref.iter().copied().filter(|&p| p != self.id).collect();
                if !sources.is_empty() {
                    self.recovery.push(KeyStream { key, sources, ..KeyStream::default() });
                }
            }
            if self.recovery.is_empty() {
                self.finish_recovery(ctx);
                return;
            }
        }
        let r = self.cfg.r;
        let mut all = true;
        let mut wrote = false;
        for i in 0..self.recovery.len() {
            let s = &self.recovery[i];
            if s.done {
                continue;
            }
            if s.answered.len() >= Self::quorum(r, s.sources.len()) {
                let (key, best) = (s.key, s.best);
                self.recovery[i].done = true;
                wrote |= self.store(key, best, ctx);
                continue;
            }
            all = false;
            for &src in s.sources.iter().filter(|x| !s.answered.contains(x)) {
                ctx.send(NodeId(src), RingMsg::Fetch { key: s.key });
            }
        }
        if wrote {
            ctx.sync();
        }
        if all {
            self.finish_recovery(ctx);
        }
    }

    fn finish_recovery(&mut self, ctx: &mut Ctx<Self>) {
        self.disk.recovering = false;
        self.recovery.clear();
        ctx.write(RingWrite::Recovered);
        ctx.sync();
        ctx.sometimes("ring.recovered-after-wipe");
    }

    fn on_recovery_ack(&mut self, from: u32, key: u64, item: Item) {
        let Some(s) = self.recovery.iter_mut().find(|s| s.key == key) else { return };
        if !s.sources.contains(&from) || s.answered.contains(&from) {
            return;
        }
        s.answered.push(from);
        if item.version > s.best.version {
            s.best = item;
        }
    }

    fn on_handoff_ack(&mut self, from: u32, key: u64, version: Version) {
        let Some(streams) = self.stream.as_mut() else { return };
        let Some(s) = streams.iter_mut().find(|s| s.key == key) else { return };
        if s.gainers.contains(&from) && version >= s.best.version && !s.acked.contains(&from) {
            s.acked.push(from);
        }
    }

    // ---- repair ----

    fn anti_entropy(&mut self, ctx: &mut Ctx<Self>) {
        let mut peers: Vec<u32> = self.view.members().filter(|&m| m != self.id).collect();
        if peers.is_empty() || !self.view.get(self.id).status.is_member() {
            return;
        }
        peers.sort_unstable();
        let peer = peers[ctx.rng().below(peers.len() as u64) as usize];
        let items: Vec<(u64, Version)> =
            self.disk.data.iter().filter(|(&k, _)| self.shares(k, peer)).map(|(&k, it)| (k, it.version)).collect();
        ctx.send(NodeId(peer), RingMsg::Digest { items });
    }

    /// Is `peer` a replica of `key` in some set of our view?
    fn shares(&self, key: u64, peer: u32) -> bool {
        let mut pref = Vec::with_capacity(self.cfg.n as usize);
        SET_KINDS.iter().any(|&k| {
            self.pref(k, key, &mut pref);
            pref.contains(&peer)
        })
    }

    fn on_digest(&mut self, from: u32, items: Vec<(u64, Version)>, ctx: &mut Ctx<Self>) {
        let theirs: BTreeMap<u64, Version> = items.into_iter().collect();
        let mut push = Vec::new();
        for (&k, it) in &self.disk.data {
            if theirs.get(&k).is_none_or(|v| *v < it.version) && self.shares(k, from) {
                push.push((k, *it));
            }
        }
        let pull: Vec<u64> = theirs
            .iter()
            .filter(|(k, v)| self.disk.data.get(k).is_none_or(|it| it.version < **v))
            .map(|(&k, _)| k)
            .collect();
        if !push.is_empty() {
            ctx.sometimes("ring.anti-entropy-push");
            ctx.send(NodeId(from), RingMsg::Items { items: push });
        }
        if !pull.is_empty() {
            ctx.send(NodeId(from), RingMsg::Pull { keys: pull });
        }
    }

    fn tick_hints(&mut self, ctx: &mut Ctx<Self>) {
        for (&(node, key), &item) in &self.disk.hints {
            ctx.send(NodeId(node), RingMsg::HintPut { key, item });
        }
    }
}

impl Protocol for RingStore {
    const NAME: &'static str = "ring";
    const BUGS: &'static [BugInfo] = &[
        BugInfo {
            name: "ring.modulo",
            breaks: "places keys by hash % n over the members, so a join or leave moves almost every key",
            caught_by: "ring.minimal-movement",
            scenarios: &["ring-growth"],
        },
        BugInfo {
            name: "ring.next-vnodes",
            breaks: "takes the next R virtual nodes as replicas, so two replicas can be one host",
            caught_by: "ring.distinct-replicas",
            scenarios: &["ring-growth"],
        },
        BugInfo {
            name: "ring.wraparound",
            breaks: "an off-by-one at the end of the ring: keys past the last point go to the last point",
            caught_by: "ring.successor",
            scenarios: &["ring-growth"],
        },
        BugInfo {
            name: "ring.vnode-collision",
            breaks: "points are keyed by position alone, so colliding tokens overwrite each other and owners depend on join order",
            caught_by: "ring.pure",
            scenarios: &["ring-growth"],
        },
        BugInfo {
            name: "ring.merge-unversioned",
            breaks: "membership merge adopts the other view's status without comparing versions, so stale views undo changes",
            caught_by: "ring.view-monotonic",
            scenarios: &["ring-rejoin-stale"],
        },
        BugInfo {
            name: "ring.read-before-handoff",
            breaks: "a new owner is read from before the hand-off of its keys completed",
            caught_by: "ring.read-your-writes",
            scenarios: &["ring-growth"],
        },
        BugInfo {
            name: "ring.drop-before-handoff",
            breaks: "an old owner drops a key as soon as the new view excludes it, before the new owner has it",
            caught_by: "ring.read-your-writes",
            scenarios: &["ring-growth"],
        },
        BugInfo {
            name: "ring.no-barrier",
            breaks: "the driver advances phases without waiting for every member to acknowledge the previous one",
            caught_by: "ring.write-order",
            scenarios: &["ring-partition-change"],
        },
    ];
    const MARKS: &'static [&'static str] = &[
        "ring.anti-entropy-push",
        "ring.change-completed",
        "ring.change-started",
        "ring.dropped-handed-off-key",
        "ring.hint-delivered",
        "ring.hint-stored",
        "ring.joint-write",
        "ring.key-handed-off",
        "ring.read-repair",
        "ring.recovered-after-wipe",
        "ring.restarted-with-disk-view",
        "ring.wiped",
    ];

    type Config = RingConfig;
    type Msg = RingMsg;
    type Timer = RingTimer;
    type Durable = RingDisk;
    type Input = RingInput;
    type Output = RingOutput;
    type Ghost = crate::check::RingGhost;

    fn validate(cfg: &RingConfig, nodes: u32) -> Result<(), faultline_sim::protocol::ConfigError> {
        cfg.validate(nodes)
    }

    fn start(env: &Env<Self>, disk: &RingDisk, ctx: &mut Ctx<Self>) -> Self {
        let cfg = env.config.clone();
        let bugs = env.bugs;
        let ring_bugs = RingBugs {
            wraparound: bugs.has("ring.wraparound"),
            next_vnodes: bugs.has("ring.next-vnodes"),
            collision_overwrite: bugs.has("ring.vnode-collision"),
        };
        let strategy = if bugs.has("ring.modulo") { crate::placement::Strategy::Modulo } else { cfg.placement };
        let initial = if cfg.initial_members == 0 { env.nodes } else { cfg.initial_members.min(env.nodes) };
        let view = match &disk.view {
            Some(v) => MemberView::from_entries(v.clone()),
            None => MemberView::initial(env.nodes, &(0..initial).collect::<Vec<_>>()),
        };
        let empty = || AnyPlacement::empty(strategy, cfg.vnodes, cfg.position_bits, ring_bugs);
        let mut node = RingStore {
            id: env.id.0,
            nodes: env.nodes,
            flags: Flags {
                merge_unversioned: bugs.has("ring.merge-unversioned"),
                read_before_handoff: bugs.has("ring.read-before-handoff"),
                drop_before_handoff: bugs.has("ring.drop-before-handoff"),
                no_barrier: bugs.has("ring.no-barrier"),
            },
            disk: disk.clone(),
            view,
            rings: [empty(), empty(), empty()],
            ops: Vec::new(),
            next_op: 0,
            barrier: vec![false; env.nodes as usize],
            stream: None,
            recovery: Vec::new(),
            ticks: 0,
            scratch: Vec::new(),
            scratch2: Vec::new(),
            cfg,
        };
        node.rebuild_rings();
        // A new incarnation, durable before any version that carries it can exist.
        node.disk.incarnation += 1;
        ctx.write(RingWrite::Incarnation(node.disk.incarnation));
        ctx.sync();
        // Spread the periodic work so nodes do not tick in lockstep.
        let jitter = |ctx: &mut Ctx<Self>, ms: u64| Duration::from_millis(1 + ctx.rng().below(ms.max(1)));
        let (r, g, a) = (node.cfg.retry_ms, node.cfg.gossip_ms, node.cfg.anti_entropy_ms);
        let d = jitter(ctx, r);
        ctx.set_timer(RingTimer::Tick, d);
        let d = jitter(ctx, g);
        ctx.set_timer(RingTimer::Gossip, d);
        let d = jitter(ctx, a);
        ctx.set_timer(RingTimer::AntiEntropy, d);
        if env.restarted {
            ctx.sometimes("ring.restarted-with-disk-view");
        }
        node
    }

    fn on_message(&mut self, from: NodeId, msg: RingMsg, ctx: &mut Ctx<Self>) {
        let from = from.0;
        match msg {
            RingMsg::Read { op, key, for_node } => {
                let item = self.local_item(key, for_node);
                let ready = !self.disk.recovering || for_node != self.id;
                ctx.send(NodeId(from), RingMsg::ReadAck { op, key, for_node, item, ready });
            }
            RingMsg::ReadAck { op, key, for_node, item, ready } => {
                if ready {
                    self.on_read_ack(from, op, key, for_node, item, ctx);
                }
            }
            RingMsg::Put { op, key, item, hint } => {
                let for_node = match hint {
                    Some(h) if h != self.id => {
                        let cur = self.disk.hints.entry((h, key)).or_default();
                        if item.version > cur.version {
                            *cur = item;
                            ctx.write(RingWrite::Hint(h, key, item));
                            ctx.sometimes("ring.hint-stored");
                        }
                        h
                    }
                    _ => {
                        self.store(key, item, ctx);
                        self.id
                    }
                };
                ctx.sync(); // durable before the acknowledgement that promises it
                if op != 0 {
                    ctx.send(NodeId(from), RingMsg::PutAck { op, key, version: item.version, for_node });
                }
            }
            RingMsg::PutAck { op, key, version, for_node } => self.on_put_ack(op, key, version, for_node, ctx),
            RingMsg::Gossip { view, reply } => {
                let behind = self.merge_view(&view, ctx);
                if behind && reply {
                    ctx.send(NodeId(from), RingMsg::Gossip { view: self.view.entries().to_vec(), reply: false });
                }
            }
            RingMsg::ViewPush { target, view } => {
                self.merge_view(&view, ctx);
                if (target as usize) < self.view.entries().len() {
                    ctx.send(NodeId(from), RingMsg::ViewAck { target, version: self.view.get(target).version });
                }
            }
            RingMsg::ViewAck { target, version } => {
                if let Some(c) = self.disk.changes.first() {
                    if c.target == target && c.phase > 0 && version >= self.view.get(target).version {
                        self.barrier[from as usize] = true;
                    }
                }
            }
            RingMsg::Fetch { key } => {
                let item = self.local_item(key, self.id);
                ctx.send(NodeId(from), RingMsg::FetchAck { key, item, ready: !self.disk.recovering });
            }
            RingMsg::FetchAck { key, item, ready } => {
                if ready {
                    self.on_fetch_ack(from, key, item);
                    self.on_recovery_ack(from, key, item);
                }
            }
            RingMsg::Handoff { key, item } => {
                self.store(key, item, ctx);
                ctx.sync();
                let version = self.disk.data.get(&key).map_or(Version::default(), |i| i.version);
                ctx.send(NodeId(from), RingMsg::HandoffAck { key, version });
            }
            RingMsg::HandoffAck { key, version } => self.on_handoff_ack(from, key, version),
            RingMsg::Digest { items } => self.on_digest(from, items, ctx),
            RingMsg::Items { items } => {
                let mut wrote = false;
                for (k, item) in items {
                    wrote |= self.store(k, item, ctx);
                }
                if wrote {
                    ctx.sync();
                }
            }
            RingMsg::Pull { keys } => {
                let items: Vec<(u64, Item)> =
                    keys.iter().filter_map(|k| self.disk.data.get(k).map(|it| (*k, *it))).collect();
                if !items.is_empty() {
                    ctx.send(NodeId(from), RingMsg::Items { items });
                }
            }
            RingMsg::HintPut { key, item } => {
                if self.store(key, item, ctx) {
                    ctx.sometimes("ring.hint-delivered");
                }
                ctx.sync();
                let version = self.disk.data.get(&key).map_or(Version::default(), |i| i.version);
                ctx.send(NodeId(from), RingMsg::HintAck { key, version });
            }
            RingMsg::HintAck { key, version } => {
                if self.disk.hints.get(&(from, key)).is_some_and(|h| h.version <= version) {
                    self.disk.hints.remove(&(from, key));
                    ctx.write(RingWrite::HintDone(from, key, version));
                    ctx.sync();
                }
            }
        }
    }

    fn on_timer(&mut self, timer: RingTimer, ctx: &mut Ctx<Self>) {
        match timer {
            RingTimer::Tick => {
                self.ticks += 1;
                self.tick_ops(ctx);
                self.tick_driver(ctx);
                self.tick_recovery(ctx);
                if self.ticks.is_multiple_of(5) && !self.disk.hints.is_empty() {
                    self.tick_hints(ctx);
                }
                ctx.set_timer(RingTimer::Tick, Duration::from_millis(self.cfg.retry_ms));
            }
            RingTimer::Gossip => {
                let peers: Vec<u32> = self.view.members().filter(|&m| m != self.id).collect();
                if !peers.is_empty() {
                    let peer = peers[ctx.rng().below(peers.len() as u64) as usize];
                    ctx.send(NodeId(peer), RingMsg::Gossip { view: self.view.entries().to_vec(), reply: true });
                }
                ctx.set_timer(RingTimer::Gossip, Duration::from_millis(self.cfg.gossip_ms));
            }
            RingTimer::AntiEntropy => {
                self.anti_entropy(ctx);
                ctx.set_timer(RingTimer::AntiEntropy, Duration::from_millis(self.cfg.anti_entropy_ms));
            }
        }
    }

    fn on_request(&mut self, req: RequestId, input: RingInput, ctx: &mut Ctx<Self>) {
        let change = |target: u32, kind: ChangeKind| Change { target, kind, phase: 0 };
        let queue = |me: &mut Self, c: Change, ctx: &mut Ctx<Self>| {
            if c.target < me.nodes && !me.disk.changes.contains(&c) {
                me.disk.changes.push(c);
                me.persist_changes(ctx);
            }
        };
        match input {
            RingInput::Get { key } | RingInput::Put { key, .. } if !self.view.get(self.id).status.is_member() => {
                // Not a member: point the client at the key's owner.
                let hint = self.rings[SetKind::Read as usize].owner(key_hash(key)).map(NodeId);
                ctx.reject(req, hint);
            }
            RingInput::Get { key } => self.start_op(req, key, OpKind::Get, ctx),
            RingInput::Put { key, value } => self.start_op(req, key, OpKind::Put(value), ctx),
            RingInput::Join(t) => queue(self, change(t, ChangeKind::Join), ctx),
            RingInput::Leave(t) => queue(self, change(t, ChangeKind::Leave), ctx),
            RingInput::Fail(t) => queue(self, change(t, ChangeKind::Fail), ctx),
            RingInput::Wipe(t) => {
                if t == self.id {
                    self.disk.apply(&RingWrite::Wipe);
                    self.recovery.clear();
                    ctx.write(RingWrite::Wipe);
                    ctx.sync();
                    ctx.sometimes("ring.wiped");
                }
            }
        }
    }

    fn generate(cfg: &RingConfig, _client: u32, rng: &mut Prng) -> RingInput {
        let key = rng.below(cfg.keys.max(1));
        if rng.chance(cfg.read_percent.min(100), 100) {
            RingInput::Get { key }
        } else {
            // Random 64-bit values: distinct per write with overwhelming probability, which lets
            // the checker tie a read to the write it observed.
            RingInput::Put { key, value: rng.next_u64() }
        }
    }

    fn check_step(ghost: &mut Self::Ghost, view: &View<Self>, node: NodeId, out: &mut Vec<Violation>) {
        crate::check::check_step(ghost, view, node, out);
    }

    fn observe_send(
        _ghost: &mut Self::Ghost,
        view: &View<Self>,
        from: NodeId,
        _to: NodeId,
        msg: &RingMsg,
        out: &mut Vec<Violation>,
    ) {
        crate::check::observe_send(view, from, msg, out);
    }

    fn check_end(
        ghost: &mut Self::Ghost,
        view: &View<Self>,
        history: &History<RingInput, RingOutput>,
        out: &mut Vec<Violation>,
    ) -> Option<String> {
        crate::check::check_end(ghost, view, history, out);
        None
    }
}

#[cfg(test)]
mod tests;
