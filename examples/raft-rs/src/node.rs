//! One node: raft-rs's `RawNode` driven by faultline's events, with the replicated KV store
//! and client sessions beside it.
//!
//! Every handler feeds raft-rs its input (a tick, a message, a proposal, a read-index request),
//! then [`RaftRs::drive`] processes the `Ready` exactly as raft-rs documents it: messages go out
//! at once; committed entries are applied; new entries and the hard state are written to disk
//! and *synced*; only then are `persisted_messages` sent; `advance`, and the `LightReady`'s
//! commit index, messages and committed entries are handled the same way.
//!
//! ## The election timeout comes from the node's seeded stream
//! raft-rs redraws its randomized election timeout from `rand::thread_rng()` inside
//! `Raft::reset`, which runs whenever the node changes term or role. Left alone, the same seed
//! would give a different run each time. raft-rs reads that value only in `tick_election`, and
//! never in the same call after a reset, so after every call into raft-rs the adapter puts
//! back its own draw: a fresh one from `Ctx::rng` in `election_tick..2 * election_tick`
//! whenever the node's `(term, role)` changed (that is when raft-rs resets), the previous one
//! otherwise. It goes through `Raft::set_randomized_election_timeout`, public (though hidden
//! from the docs) in raft-rs 0.7. The `raft-rs.thread-rng` planted bug skips this.

use crate::bugs::BugFlags;
use crate::config::{RaftRsConfig, ReadMode};
use crate::message::{decode, encode, Msg};
use crate::storage::{Disk, DiskWrite, Store};
use faultline_kv::{KvAnswer, KvCmd, KvData};
use faultline_sim::prelude::{Ctx, Env, NodeId, RequestId};
use raft::eraftpb::{Entry, EntryType};
use raft::{RawNode, StateRole};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The adapter's only timer: one raft-rs tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick;

/// How many `Ready`s one event may process: a Ready's own effects (applying entries, a read
/// state) can make another one ready at once.
const READY_ROUNDS: usize = 8;

/// One node of the replicated KV store.
pub struct RaftRs {
    pub(crate) id: NodeId,
    pub(crate) nodes: u32,
    /// raft-rs itself, over the node's disk.
    pub(crate) raw: RawNode<Store>,
    tick: Duration,
    election_tick: u64,
    read_mode: ReadMode,
    bugs: BugFlags,
    /// The KV store: the state machine rebuilt from the log on every restart.
    kv: KvData,
    /// Per client: the last applied request's sequence number and its answer.
    sessions: BTreeMap<u32, (u32, KvAnswer)>,
    /// Index of the last applied entry.
    pub(crate) applied: u64,
    /// Running digest of every applied entry (see [`chain`]).
    pub(crate) chain: u64,
    /// Requests proposed here, answered when applied here.
    writes: BTreeSet<RequestId>,
    /// Gets waiting for their read index.
    reads: BTreeMap<RequestId, KvCmd>,
    /// Gets with a read index, answered once it is applied.
    ready_reads: Vec<(u64, RequestId, KvCmd)>,
    /// The election timeout (ticks) drawn from the node's stream.
    timeout: usize,
    /// `(term, role)` when `timeout` was drawn.
    seen: (u64, StateRole),
    /// Events handled since this incarnation started (the checker tells restarts by it).
    pub(crate) events: u64,
    /// The lowest log index written while handling the current event (`u64::MAX`: none), so
    /// the checker compares only what changed.
    pub(crate) touched: u64,
    /// Writes issued since the last sync (only the `send-before-sync` bug leaves any).
    unsynced: bool,
}

impl std::fmt::Debug for RaftRs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.raw.raft;
        f.debug_struct("RaftRs")
            .field("id", &self.id)
            .field("term", &r.term)
            .field("role", &r.state)
            .field("leader", &r.leader_id)
            .field("commit", &r.raft_log.committed)
            .field("last", &r.raft_log.last_index())
            .field("applied", &self.applied)
            .field("timeout", &self.timeout)
            .finish()
    }
}

pub use faultline_raft::safety::chain;

/// The digest of an entry as the checks compare it: its term, type and data.
pub fn entry_digest(e: &Entry) -> u64 {
    faultline_sim::hash::StableHasher::digest(&(e.term, e.entry_type as i32, &e.data[..]))
}

impl RaftRs {
    /// Starts node `env.id` from what it synced (`disk`), replaying the log into the store.
    pub(crate) fn start(env: &Env<Self>, disk: &Disk, ctx: &mut Ctx<Self>) -> Self {
        let cfg: &RaftRsConfig = env.config;
        let mut disk = disk.clone();
        // raft-rs refuses a commit index past the log; entries are written before the hard
        // state, so this only guards against a disk written by something else.
        disk.hard_state.commit = disk.hard_state.commit.min(disk.last_index());
        let store = Store { disk, voters: (1..=u64::from(env.nodes)).collect() };
        // The state machine is not on disk: `applied = 0` makes raft-rs hand every committed
        // entry to the node again after a restart.
        let config = cfg.raft_config(u64::from(env.id.0) + 1, 0);
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = RawNode::new(&config, store, &logger)
            .expect("a configuration `validate` accepted and a log that starts at 1 always make a RawNode");
        let mut node = RaftRs {
            id: env.id,
            nodes: env.nodes,
            tick: Duration::from_millis(cfg.tick_ms),
            election_tick: cfg.election_tick,
            read_mode: cfg.read_mode,
            bugs: env.bugs.into(),
            raw,
            kv: KvData::default(),
            sessions: BTreeMap::new(),
            applied: 0,
            chain: 0,
            writes: BTreeSet::new(),
            reads: BTreeMap::new(),
            ready_reads: Vec::new(),
            timeout: 0,
            seen: (0, StateRole::Follower),
            events: 0,
            touched: u64::MAX,
            unsynced: false,
        };
        node.after_raft(ctx);
        ctx.set_timer(Tick, node.tick);
        node
    }

    /// Is this node raft-rs's leader?
    pub fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    pub(crate) fn on_tick(&mut self, ctx: &mut Ctx<Self>) {
        self.begin();
        if self.unsynced {
            // The `send-before-sync` bug syncs on the next tick, as a batching fsync would.
            ctx.sync();
            self.unsynced = false;
        }
        self.raw.tick();
        self.after_raft(ctx);
        ctx.set_timer(Tick, self.tick);
    }

    pub(crate) fn on_message(&mut self, msg: Msg, ctx: &mut Ctx<Self>) {
        self.begin();
        // A message raft-rs cannot use (from an unknown peer, a local message type) is an
        // error it reports and otherwise ignores: so does the adapter.
        let _ = self.raw.step(*msg.0);
        self.after_raft(ctx);
    }

    pub(crate) fn on_request(&mut self, req: RequestId, cmd: KvCmd, ctx: &mut Ctx<Self>) {
        self.begin();
        if !self.is_leader() {
            // Nothing was done with it: safe to refuse, pointing at the leader if known.
            let leader = self.raw.raft.leader_id;
            let hint = (leader >= 1 && leader <= u64::from(self.nodes)).then(|| NodeId(leader as u32 - 1));
            return ctx.reject(req, hint);
        }
        if cmd.is_read() && self.bugs.stale_read {
            ctx.reply(req, self.kv.read(cmd.key()));
            return;
        }
        if cmd.is_read() && self.read_mode == ReadMode::ReadIndex {
            self.reads.insert(req, cmd);
            self.raw.read_index(encode(req, &cmd));
        } else {
            match self.raw.propose(Vec::new(), encode(req, &cmd)) {
                Ok(()) => {
                    self.writes.insert(req);
                }
                // Dropped (e.g. during a leadership transfer): not in the log, never will be.
                Err(_) => return ctx.reject(req, None),
            }
        }
        self.after_raft(ctx);
    }

    /// Starts handling an event.
    fn begin(&mut self) {
        self.events += 1;
        self.touched = u64::MAX;
    }

    /// After every call into raft-rs: the seeded election timeout, then the `Ready`s.
    fn after_raft(&mut self, ctx: &mut Ctx<Self>) {
        self.seed_timeout(ctx);
        for _ in 0..READY_ROUNDS {
            if !self.raw.has_ready() {
                break;
            }
            self.drive(ctx);
            self.seed_timeout(ctx);
        }
    }

    /// Replaces raft-rs's `thread_rng` election timeout with the node's own draw (module docs).
    fn seed_timeout(&mut self, ctx: &mut Ctx<Self>) {
        let key = (self.raw.raft.term, self.raw.raft.state);
        if key != self.seen || self.timeout == 0 {
            if key.1 == StateRole::Leader && self.seen.1 != StateRole::Leader {
                ctx.sometimes("raft-rs.leader-elected");
            }
            if key.1 != StateRole::Leader {
                // Read-index requests die with the leadership (raft-rs drops its read queue).
                self.reads.clear();
            }
            self.seen = key;
            let e = self.election_tick;
            self.timeout = (e + ctx.rng().below(e)) as usize;
        }
        if !self.bugs.thread_rng && self.raw.raft.randomized_election_timeout() != self.timeout {
            self.raw.raft.set_randomized_election_timeout(self.timeout);
        }
    }

    /// Writes to the disk raft-rs reads and to faultline's durable storage alike.
    fn write(&mut self, w: DiskWrite, ctx: &mut Ctx<Self>) {
        if let DiskWrite::Append(entries) = &w {
            self.touched = entries.first().map_or(self.touched, |e| self.touched.min(e.index));
        }
        faultline_sim::prelude::Durable::apply(&mut self.raw.mut_store().disk, &w);
        ctx.write(w);
    }

    fn send(&self, msgs: Vec<raft::eraftpb::Message>, ctx: &mut Ctx<Self>) {
        for m in msgs {
            if m.to >= 1 && m.to <= u64::from(self.nodes) {
                ctx.send(NodeId(m.to as u32 - 1), Msg(Box::new(m)));
            }
        }
    }

    /// Processes one `Ready` (module docs for the order).
    fn drive(&mut self, ctx: &mut Ctx<Self>) {
        let mut rd = self.raw.ready();
        self.send(rd.take_messages(), ctx);
        // No node compacts its log, so no leader ever sends a snapshot and a Ready never
        // carries one.
        debug_assert!(rd.snapshot().get_metadata().index == 0, "no snapshots without compaction");
        self.apply(rd.take_committed_entries(), ctx);
        let mut wrote = false;
        if !rd.entries().is_empty() {
            self.write(DiskWrite::Append(rd.take_entries()), ctx);
            wrote = true;
        }
        if let Some(hs) = rd.hs() {
            self.write(DiskWrite::HardState(hs.clone()), ctx);
            wrote = true;
        }
        for rs in rd.take_read_states() {
            if let Some((req, cmd)) = decode(&rs.request_ctx) {
                if self.reads.remove(&req).is_some() {
                    self.ready_reads.push((rs.index, req, cmd));
                }
            }
        }
        let persisted = rd.take_persisted_messages();
        if self.bugs.send_before_sync {
            self.unsynced |= wrote;
        } else if wrote {
            // Durable before anything that depends on it leaves the node.
            ctx.sync();
        }
        self.send(persisted, ctx);
        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            // Persisting the commit index is optional (raft-rs recovers it), so no sync.
            let mut hs = self.raw.store().disk.hard_state.clone();
            hs.commit = commit;
            self.write(DiskWrite::HardState(hs), ctx);
        }
        self.send(light.take_messages(), ctx);
        self.apply(light.take_committed_entries(), ctx);
        self.raw.advance_apply();
        self.serve_reads(ctx);
    }

    /// Applies committed entries in order, once per client request, and answers the requests
    /// proposed here.
    fn apply(&mut self, entries: Vec<Entry>, ctx: &mut Ctx<Self>) {
        for e in entries {
            if e.index != self.applied + 1 {
                continue; // raft-rs hands out each entry once, in order
            }
            self.applied = e.index;
            self.chain = chain(self.chain, e.index, entry_digest(&e));
            if e.entry_type != EntryType::EntryNormal {
                continue;
            }
            // Empty data: the no-op a new leader appends.
            let Some((req, cmd)) = decode(&e.data) else { continue };
            let dedup = !self.bugs.no_dedup;
            let answer = match self.sessions.get(&req.client) {
                Some((seq, a)) if dedup && req.seq == *seq => {
                    ctx.sometimes("raft-rs.retry-deduplicated");
                    Some(a.clone())
                }
                // A retry of a request older than the client's latest: its answer is gone, and
                // the client stopped waiting for it.
                Some((seq, _)) if dedup && req.seq < *seq => None,
                _ => {
                    let a = self.kv.apply(&cmd);
                    self.sessions.insert(req.client, (req.seq, a.clone()));
                    Some(a)
                }
            };
            if self.writes.remove(&req) {
                if let Some(a) = answer {
                    ctx.reply(req, a);
                }
            }
            // A client has one request in flight: older ones will never be answered here.
            self.writes.retain(|r| r.client != req.client || r.seq > req.seq);
        }
    }

    /// Answers the gets whose read index is applied.
    fn serve_reads(&mut self, ctx: &mut Ctx<Self>) {
        if self.ready_reads.is_empty() {
            return;
        }
        let applied = self.applied;
        let kv = &self.kv;
        self.ready_reads.retain(|&(index, req, cmd)| {
            if index > applied {
                return true;
            }
            ctx.sometimes("raft-rs.read-index-served");
            ctx.reply(req, kv.read(cmd.key()));
            false
        });
    }
}
