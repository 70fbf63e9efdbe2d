//! The checks, over ghost state, in true time. Every per-step check is O(what changed): a client
//! step looks at other clients only when it starts believing it holds a lock; a server step
//! looks at its (small) session and lock tables only when it applied something.
//!
//! | invariant | what it says |
//! |---|---|
//! | `lock.mutual-exclusion` | at no true instant do two clients believe they hold the same lock |
//! | `lock.fencing` | the resource's accepted generations never decrease per lock (writes under different sequencers never interleave) |
//! | `lock.token-monotonic` | a generation names one grant: sequencers strictly increase per lock, across fail-overs |
//! | `lock.expired-session` | an expired session never comes back: never renewed again, never holds a lock |
//! | `lock.failover-lease` | a new master expires no session while a lease the old master granted still runs (in true time) |
//! | `lock.linearizable` | per lock, acquires and releases (and releases by expiry) linearize as a mutex |
//! | `raft.*` | every invariant of the Raft the cell servers embed (see `faultline_raft::check`) |
//!
//! A client's belief is [`ClientLib::believes`] at its clock's reading now; its local lease end
//! is placed in true time with [`ClientLib::true_time_of`].

use crate::cell::LockCell;
use crate::client::{ClientLib, Status};
use crate::config::Role;
use crate::message::LockMsg;
use crate::message::{LockAnswer, LockOp};
use crate::protocol::Lock;
use faultline_lincheck::models::{Mutex, MutexInput, MutexOutput};
use faultline_lincheck::Operation;
use faultline_raft::check::{RaftCluster, RaftGhost};
use faultline_raft::storage::RaftDisk;
use faultline_raft::Raft;
use faultline_sim::prelude::{History, NodeId, Outcome, View, Violation};
use std::collections::BTreeMap;

/// Synthetic history clients (releases by session expiry) are numbered from here.
const SYNTHETIC_CLIENT: u64 = 1 << 40;

/// The checker's ghost state.
#[derive(Debug, Default)]
pub struct LockGhost {
    /// Per node: bit set of locks the client believed it held after its last step.
    beliefs: Vec<u32>,
    /// Per node: the applied index of a server at its last checked step.
    applied: Vec<u64>,
    /// Session → an applied index at which it was seen expired (its expiry is at or before).
    dead: BTreeMap<u64, u64>,
    /// (lock, generation) → the session granted it.
    grants: BTreeMap<(u8, u64), u64>,
    /// Per lock: releases by expiry seen so far (the highest count on any server).
    freed: Vec<u64>,
    /// Releases by expiry, (lock, true time ns), for the history check.
    pub expiry_releases: Vec<(u8, u64)>,
    /// Per lock: the highest generation the resource accepted.
    fence: BTreeMap<u8, u64>,
    /// Writes the resource accepted so far.
    resource_accepted: u64,
    /// The embedded Raft's own checks' ghost state.
    raft: RaftGhost,
}

/// The cell servers (nodes `0..servers`) seen as a Raft cluster, so Raft's invariants run on the
/// Raft every server embeds.
struct Cell<'a, 'v>(&'a View<'v, Lock>);

impl RaftCluster<LockCell> for Cell<'_, '_> {
    fn size(&self) -> usize {
        self.0.config.servers as usize
    }
    fn raft(&self, id: NodeId) -> Option<&Raft<LockCell>> {
        match self.0.node(id).state {
            Some(Lock::Server(s)) => Some(&s.raft),
            _ => None,
        }
    }
    fn disk(&self, id: NodeId) -> &RaftDisk<LockCell> {
        &self.0.node(id).synced.raft
    }
}

/// "Persist before send" for the Raft messages between cell servers.
pub(crate) fn observe_send(
    g: &mut LockGhost,
    view: &View<Lock>,
    from: NodeId,
    to: NodeId,
    msg: &LockMsg,
    out: &mut Vec<Violation>,
) {
    if let LockMsg::Raft(m) = msg {
        faultline_raft::check::observe_send(&mut g.raft, &Cell(view), from, to, m, out);
    }
}

fn client<'a>(view: &View<'a, Lock>, id: NodeId) -> Option<&'a ClientLib> {
    match view.node(id).state {
        Some(Lock::Client(c)) => Some(c),
        _ => None,
    }
}

pub(crate) fn check_step(g: &mut LockGhost, view: &View<Lock>, node: NodeId, out: &mut Vec<Violation>) {
    if g.beliefs.len() < view.len() {
        g.beliefs.resize(view.len(), 0);
        g.applied.resize(view.len(), 0);
    }
    match view.config.role(node) {
        Role::Client if view.config.check_exclusion => check_client(g, view, node, out),
        Role::Client => {}
        Role::Server => {
            faultline_raft::check::check_step(&mut g.raft, &Cell(view), node, out);
            check_server(g, view, node, out)
        }
        Role::Resource => check_resource(g, view, out),
    }
}

/// Mutual exclusion in true time: when a client starts believing it holds a lock, no other
/// client may believe it holds it at this instant.
fn check_client(g: &mut LockGhost, view: &View<Lock>, node: NodeId, out: &mut Vec<Violation>) {
    let cfg = view.config;
    let now_beliefs = match client(view, node) {
        Some(c) => {
            let local = c.reading(&view.clock(node), view.now);
            (0..cfg.locks).filter(|&l| c.believes(l, local)).fold(0u32, |m, l| m | 1 << l)
        }
        None => 0,
    };
    let started = now_beliefs & !g.beliefs[node.index()];
    g.beliefs[node.index()] = now_beliefs;
    if started == 0 {
        return;
    }
    let me = client(view, node).expect("a believer is alive");
    for lock in (0..cfg.locks).filter(|l| started & (1 << l) != 0) {
        for other in (cfg.servers..cfg.servers + cfg.client_nodes).map(NodeId).filter(|&o| o != node) {
            let Some(c) = client(view, other) else { continue };
            let clock = view.clock(other);
            if c.believes(lock, c.reading(&clock, view.now)) {
                let why = if c.in_cs == Some(lock) {
                    "inside work it started under its lease".to_string()
                } else {
                    format!("its local lease ends at true time {}", c.true_time_of(&clock, c.lease_end))
                };
                out.push(Violation::new(
                    "lock.mutual-exclusion",
                    Some(node),
                    format!(
                        "{node} (session {:?}, generation {}) and {other} (session {:?}, generation {}) both believe \
                         they hold lock {lock}; {other} believes it because {why}{}",
                        me.session,
                        me.held.get(&lock).copied().unwrap_or(0),
                        c.session,
                        c.held.get(&lock).copied().unwrap_or(0),
                        if view.node(other).paused { " (it is paused)" } else { "" },
                    ),
                ));
                return;
            }
        }
    }
}

fn check_server(g: &mut LockGhost, view: &View<Lock>, node: NodeId, out: &mut Vec<Violation>) {
    let Some(Lock::Server(s)) = view.node(node).state else { return };
    let state = s.raft.state();
    if state.applied == g.applied[node.index()] {
        return;
    }
    // (A restarted server re-applies from its snapshot: its applied index may go back.)
    g.applied[node.index()] = state.applied;
    let app = &state.app;
    if g.freed.len() < app.locks.len() {
        g.freed.resize(app.locks.len(), 0);
    }
    for (i, l) in app.locks.iter().enumerate() {
        let lock = i as u8;
        if let Some(h) = l.holder {
            match g.grants.get(&(lock, l.generation)) {
                None => {
                    g.grants.insert((lock, l.generation), h);
                }
                Some(&other) if other != h => out.push(Violation::new(
                    "lock.token-monotonic",
                    Some(node),
                    format!(
                        "generation {} of lock {lock} granted to session {h}, but it was session {other}'s",
                        l.generation
                    ),
                )),
                Some(_) => {}
            }
            if !app.alive(h) {
                out.push(Violation::new(
                    "lock.expired-session",
                    Some(node),
                    format!("lock {lock} (generation {}) is held by session {h}, which has expired", l.generation),
                ));
            }
        }
        // The first server to apply an expiry that freed the lock is the leader that committed
        // it: that instant is the release's linearization point.
        while g.freed[i] < l.freed_by_expiry {
            g.freed[i] += 1;
            g.expiry_releases.push((lock, view.now.0));
        }
    }
    for (&sid, r) in &app.sessions {
        if r.alive {
            if let Some(&d) = g.dead.get(&sid) {
                if state.applied >= d {
                    out.push(Violation::new(
                        "lock.expired-session",
                        Some(node),
                        format!(
                            "session {sid} expired (by log index {d}) and is alive again at index {}",
                            state.applied
                        ),
                    ));
                }
            }
            continue;
        }
        if g.dead.contains_key(&sid) {
            continue;
        }
        g.dead.insert(sid, state.applied);
        // First seen expired. Expired by a master of a later epoch than the one that last
        // renewed it: that master must have waited out every lease its predecessor granted.
        if app.epoch > r.lease_epoch {
            let cn = NodeId(r.client);
            let Some(c) = client(view, cn) else { continue };
            if c.session == Some(sid) && c.status != Status::Opening {
                let ends = view.clock(cn).true_time_of(c.lease_end);
                if view.now < ends {
                    out.push(Violation::new(
                        "lock.failover-lease",
                        Some(node),
                        format!(
                            "the master of epoch {} expired session {sid} (last renewed in epoch {}) while its \
                             client's lease runs until true time {ends}",
                            app.epoch, r.lease_epoch
                        ),
                    ));
                }
            }
        }
    }
}

fn check_resource(g: &mut LockGhost, view: &View<Lock>, out: &mut Vec<Violation>) {
    let Some(Lock::Resource(r)) = view.node(view.config.resource()).state else { return };
    if r.accepted == g.resource_accepted {
        return;
    }
    if r.accepted < g.resource_accepted {
        // A restarted resource counts its writes from 0 again (its fence is durable, its
        // counters are not): no write happened in this step. Found by guided search, which
        // crashed the resource; the counter's reset was read as a write of generation 0.
        g.resource_accepted = r.accepted;
        return;
    }
    g.resource_accepted = r.accepted;
    let (lock, token, from) = r.last;
    let max = g.fence.entry(lock).or_insert(0);
    if token < *max {
        out.push(Violation::new(
            "lock.fencing",
            Some(view.config.resource()),
            format!(
                "the resource accepted a write to lock {lock} from n{from} under generation {token} after one under {}",
                *max
            ),
        ));
    }
    *max = (*max).max(token);
}

/// Per lock, the client history plus releases by expiry must linearize as a mutex.
pub(crate) fn linearizable(
    g: &LockGhost,
    history: &History<LockOp, LockAnswer>,
    history_budget: u64,
    out: &mut Vec<Violation>,
) -> Option<String> {
    let mut per_lock: BTreeMap<u8, Vec<Operation<MutexInput, MutexOutput>>> = BTreeMap::new();
    for op in history.ops.iter().filter(|o| o.outcome != Outcome::Failed) {
        let input = match op.input {
            LockOp::Acquire { .. } | LockOp::TryAcquire { .. } => MutexInput::Acquire,
            LockOp::Release { .. } => MutexInput::Release,
        };
        let (ret, output) = match (op.outcome, op.output) {
            (Outcome::Ok, Some(a)) => (op.return_ns, Some(MutexOutput { ok: a.ok() })),
            _ => (None, None),
        };
        let (ret, output) = if ret.is_none() { (None, None) } else { (ret, output) };
        per_lock.entry(op.input.lock()).or_default().push(Operation {
            client: u64::from(op.client),
            call: op.call_ns,
            ret,
            input,
            output,
        });
    }
    for (k, &(lock, t)) in g.expiry_releases.iter().enumerate() {
        per_lock.entry(lock).or_default().push(Operation {
            client: SYNTHETIC_CLIENT + k as u64,
            call: t,
            ret: Some(t),
            input: MutexInput::Release,
            output: Some(MutexOutput { ok: true }),
        });
    }
    let mut unknown = None;
    for (lock, ops) in per_lock {
        let before = out.len();
        let name = "lock.linearizable";
        if let Some(r) = faultline_sim::lin::verdict(&Mutex, &ops, name, history_budget, out) {
            unknown = Some(format!("lock {lock}: {r}"));
        }
        for v in &mut out[before..] {
            v.detail = format!("lock {lock}: {}", v.detail);
        }
    }
    unknown
}
