//! One Raft node: the sans-IO state machine. Every handler takes one input and emits its outputs
//! through `Ctx` in the order that makes them safe: state that a message depends on is written
//! and synced before the message is sent.

use crate::bugs::BugFlags;
use crate::config::RaftConfig;
use crate::kv::KvStore;
use crate::log::{Entry, Log, Members, Payload};
use crate::message::{RaftInput, RaftMsg};
use crate::state_machine::{Applied, Replicated, Snapshot, StateMachine};
use crate::storage::{RaftDisk, RaftWrite};
use faultline_sim::prelude::{Ctx, Env, NodeId, RequestId, Time};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Most heartbeat rounds whose start time a leader remembers for its lease.
const MAX_ROUNDS_KEPT: usize = 256;

/// A node's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Probing with pre-votes whether an election could succeed.
    PreCandidate,
    /// Campaigning in its term.
    Candidate,
    /// Leads its term.
    Leader,
}

/// Timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftTimer {
    /// Follower/candidate: start an election. Leader: the check-quorum period.
    Election,
    /// Leader: send heartbeats.
    Heartbeat,
}

/// The leader's view of one follower.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Progress {
    /// Next index to send.
    pub next: u64,
    /// Highest index known to match.
    pub matched: u64,
    /// Highest heartbeat round acknowledged.
    pub round: u64,
    /// Heard from in the current check-quorum period.
    pub active: bool,
    /// Probing for the match point: send one batch at a time and do not advance `next` until
    /// it is acknowledged. Otherwise replicating: `next` advances as batches are sent.
    pub probing: bool,
}

/// A read waiting for its read index to be confirmed and applied.
#[derive(Debug)]
struct PendingRead<C> {
    req: RequestId,
    cmd: C,
    /// The heartbeat round, started after the read arrived, that a majority must acknowledge.
    round: u64,
    /// The commit index the read must see applied (0: not fixed yet, the leader has not
    /// committed an entry of its term).
    index: u64,
}

/// One Raft node replicating the state machine `S` (by default the KV store).
#[derive(Debug)]
pub struct Raft<S: StateMachine = KvStore> {
    pub(crate) id: NodeId,
    pub(crate) nodes: u32,
    pub(crate) cfg: RaftConfig<S::Config>,
    pub(crate) bugs: BugFlags,
    // Persistent state (mirrored on disk).
    pub(crate) term: u64,
    pub(crate) vote: Option<NodeId>,
    pub(crate) log: Log<S::Command>,
    pub(crate) snapshot: Option<Arc<Snapshot<S>>>,
    // Volatile state.
    pub(crate) role: Role,
    pub(crate) leader: Option<NodeId>,
    pub(crate) commit: u64,
    pub(crate) sm: Replicated<S>,
    /// The configuration in force: the latest in the log, committed or not.
    pub(crate) members: Members,
    /// Index of the entry that holds it (the snapshot's index if none in the log).
    pub(crate) members_index: u64,
    /// The configuration as of the snapshot.
    base_members: Members,
    votes: u64,
    /// Local time this node last heard from a leader (or restarted): the voter's side of
    /// check-quorum and leases.
    heard_leader_at: Time,
    // Leader state.
    pub(crate) progress: Vec<Progress>,
    round: u64,
    rounds: VecDeque<(u64, Time)>,
    lease_round: u64,
    lease_until: Option<Time>,
    /// This leader sent a TimeoutNow in its term: the target may win whenever that message
    /// arrives, with votes that ignore the voters' lease, so this term serves no more lease reads.
    lease_given_up: bool,
    pending: BTreeMap<u64, RequestId>,
    reads: Vec<PendingRead<S::Command>>,
    transfer: Option<NodeId>,
    // Instrumentation read by the checker (never by the protocol).
    /// Lowest log index written by the handler that ran last (`u64::MAX`: none).
    pub(crate) touched: u64,
    /// True right after (re)start, until the first handler.
    pub(crate) fresh: bool,
    /// Reads served from the lease so far.
    pub(crate) lease_reads: u64,
}

impl<S: StateMachine> Raft<S> {
    pub(crate) fn start(env: &Env<Self>, disk: &RaftDisk<S>, ctx: &mut Ctx<Self>) -> Self {
        let cfg = env.config.clone();
        debug_assert!(cfg.validate(env.nodes).is_ok(), "validated before the run: {:?}", cfg.validate(env.nodes));
        let voters = cfg.voters.unwrap_or(env.nodes).clamp(1, env.nodes);
        let base_members = disk.snapshot.as_ref().map_or(Members::first(voters), |s| s.members);
        let sm = disk.snapshot.as_ref().map_or_else(Replicated::default, |s| s.state.clone());
        assert_eq!(sm.applied, disk.log.snap_index, "snapshot state and log agree");
        let mut node = Raft {
            id: env.id,
            nodes: env.nodes,
            bugs: BugFlags::from(env.bugs),
            term: disk.term,
            vote: disk.vote,
            log: disk.log.clone(),
            snapshot: disk.snapshot.clone(),
            role: Role::Follower,
            leader: None,
            commit: disk.log.snap_index,
            sm,
            members: base_members,
            members_index: disk.log.snap_index,
            base_members,
            votes: 0,
            heard_leader_at: Time::ZERO,
            progress: vec![Progress::default(); env.nodes as usize],
            round: 0,
            rounds: VecDeque::new(),
            lease_round: 0,
            lease_until: None,
            lease_given_up: false,
            pending: BTreeMap::new(),
            reads: Vec::new(),
            transfer: None,
            touched: disk.log.snap_index + 1,
            fresh: true,
            lease_reads: 0,
            cfg,
        };
        node.heard_leader_at = node.clock(ctx);
        node.recompute_members();
        node.reset_election_timer(ctx);
        node
    }

    /// Current term.
    pub fn term(&self) -> u64 {
        self.term
    }
    /// Current role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Commit index.
    pub fn commit_index(&self) -> u64 {
        self.commit
    }
    /// The replicated state as applied here.
    pub fn state(&self) -> &Replicated<S> {
        &self.sm
    }
    /// The configuration in force here.
    pub fn members(&self) -> Members {
        self.members
    }
    /// The log (after the snapshot).
    pub fn log(&self) -> &Log<S::Command> {
        &self.log
    }

    /// One line for timelines: role, term, commit and last index, applied index.
    pub fn summary_line(&self) -> String {
        let role = match self.role {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        };
        format!("{role} t{} commit {}/{} applied {}", self.term, self.commit, self.log.last_index(), self.sm.applied)
    }

    /// For a protocol that embeds Raft: call at the start of each of its own steps, so Raft's
    /// checks (`check::check_step`) judge only what this step did, also when the step does not
    /// reach Raft at all.
    pub fn begin_step(&mut self) {
        self.fresh = false;
        self.touched = u64::MAX;
    }

    /// Called at the start of every handler.
    fn begin(&mut self, ctx: &mut Ctx<Self>) {
        self.begin_step();
        self.maybe_compact(ctx);
    }

    // ---------------------------------------------------------------------------------------
    // Handlers

    pub(crate) fn handle_message(&mut self, from: NodeId, msg: RaftMsg<S>, ctx: &mut Ctx<Self>) {
        self.begin(ctx);
        match msg {
            RaftMsg::RequestVote { term, last_index, last_term, pre, transfer } => {
                self.on_request_vote(from, term, (last_term, last_index), pre, transfer, ctx)
            }
            RaftMsg::Vote { term, granted, pre } => self.on_vote(from, term, granted, pre, ctx),
            RaftMsg::Append { term, prev_index, prev_term, entries, commit, round } => {
                self.on_append(from, term, prev_index, prev_term, entries, commit, round, ctx)
            }
            RaftMsg::AppendReply { term, success, index, conflict_term, prev_index, round } => {
                self.on_append_reply(from, term, success, index, conflict_term, prev_index, round, ctx)
            }
            RaftMsg::InstallSnapshot { term, snapshot, round } => {
                self.on_install_snapshot(from, term, snapshot, round, ctx)
            }
            RaftMsg::TimeoutNow { term } => {
                if term > self.term && self.become_follower(term, Some(from), ctx) {
                    self.save_hard_state(ctx);
                }
                if term == self.term && self.role != Role::Leader && self.members.contains(self.id) {
                    ctx.sometimes("raft.transfer-timeout-now");
                    self.start_election(true, ctx);
                }
            }
        }
    }

    pub(crate) fn handle_timer(&mut self, timer: RaftTimer, ctx: &mut Ctx<Self>) {
        self.begin(ctx);
        match (timer, self.role) {
            (RaftTimer::Heartbeat, Role::Leader) => {
                self.new_round(ctx);
                self.broadcast_heartbeat(ctx);
                ctx.set_timer(RaftTimer::Heartbeat, Duration::from_millis(self.cfg.heartbeat_ms));
            }
            (RaftTimer::Heartbeat, _) => {}
            (RaftTimer::Election, Role::Leader) => {
                if self.cfg.check_quorum {
                    let mut active = 1u64 << self.id.0;
                    for (i, p) in self.progress.iter_mut().enumerate() {
                        if p.active {
                            active |= 1 << i;
                        }
                        p.active = false;
                    }
                    if !self.members.is_quorum(active) {
                        ctx.sometimes("raft.check-quorum-step-down");
                        self.become_follower(self.term, None, ctx);
                        return;
                    }
                }
                if self.transfer.take().is_some() {
                    ctx.sometimes("raft.transfer-aborted");
                }
                ctx.set_timer(RaftTimer::Election, Duration::from_millis(self.cfg.election_timeout_ms));
            }
            (RaftTimer::Election, _) => {
                self.reset_election_timer(ctx);
                // A node removed by a committed configuration stays quiet. One whose removal is
                // not known committed still campaigns (counting only the new configuration's
                // votes): it may hold the only copy of that configuration, and without it the
                // remaining members could wait forever for a vote it will not give.
                if !self.members.contains(self.id) && self.members_index <= self.commit {
                    return;
                }
                if self.cfg.pre_vote {
                    self.start_pre_vote(ctx);
                } else {
                    self.start_election(false, ctx);
                }
            }
        }
    }

    pub(crate) fn handle_request(&mut self, req: RequestId, input: RaftInput<S::Command>, ctx: &mut Ctx<Self>) {
        self.begin(ctx);
        match input {
            RaftInput::Client(cmd) if S::is_read(&cmd) => self.on_read(req, cmd, ctx),
            RaftInput::Client(cmd) => {
                if self.role != Role::Leader || self.transfer.is_some() {
                    return ctx.reject(req, self.hint());
                }
                let index = self.append(Payload::Command { req, cmd }, ctx);
                self.pending.insert(index, req);
                for p in self.peers() {
                    let pr = self.progress[p.index()];
                    if !pr.probing && pr.next == index {
                        self.send_append(p, ctx);
                    }
                }
                self.maybe_commit(ctx);
            }
            RaftInput::AddServer(n) => {
                let n = NodeId(n);
                if n.0 < self.nodes && !self.members.contains(n) && self.may_change_config(ctx) {
                    ctx.sometimes("raft.add-server");
                    self.progress[n.index()] =
                        Progress { next: self.log.last_index() + 1, probing: true, ..Progress::default() };
                    self.append(Payload::Config(self.members.with(n)), ctx);
                    self.broadcast_append(ctx);
                }
            }
            RaftInput::RemoveServer(n) => {
                let n = NodeId(n);
                if self.members.contains(n) && self.members.count() > 1 && self.may_change_config(ctx) {
                    ctx.sometimes("raft.remove-server");
                    self.append(Payload::Config(self.members.without(n)), ctx);
                    self.broadcast_append(ctx);
                    self.maybe_commit(ctx);
                }
            }
            RaftInput::TransferLeadership(t) => {
                let t = NodeId(t);
                if self.role == Role::Leader && t != self.id && self.members.contains(t) && self.transfer.is_none() {
                    ctx.sometimes("raft.transfer");
                    self.transfer = Some(t);
                    if self.progress[t.index()].matched == self.log.last_index() {
                        self.send_timeout_now(t, ctx);
                    } else {
                        self.send_append(t, ctx);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Elections

    fn start_pre_vote(&mut self, ctx: &mut Ctx<Self>) {
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes = 1 << self.id.0;
        let msg = RaftMsg::RequestVote {
            term: self.term + 1,
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
            pre: true,
            transfer: false,
        };
        for p in self.peers() {
            ctx.send(p, msg.clone());
        }
        if self.members.is_quorum(self.votes) {
            self.start_election(false, ctx);
        }
    }

    fn start_election(&mut self, transfer: bool, ctx: &mut Ctx<Self>) {
        ctx.sometimes("raft.election");
        self.term += 1;
        self.vote = Some(self.id);
        self.role = Role::Candidate;
        self.leader = None;
        self.votes = 1 << self.id.0;
        // The vote for itself must be durable before anyone can count on this term.
        self.save_hard_state(ctx);
        let msg = RaftMsg::RequestVote {
            term: self.term,
            last_index: self.log.last_index(),
            last_term: self.log.last_term(),
            pre: false,
            transfer,
        };
        for p in self.peers() {
            ctx.send(p, msg.clone());
        }
        self.reset_election_timer(ctx);
        if self.members.is_quorum(self.votes) {
            self.become_leader(ctx);
        }
    }

    fn on_request_vote(
        &mut self,
        from: NodeId,
        term: u64,
        last: (u64, u64),
        pre: bool,
        transfer: bool,
        ctx: &mut Ctx<Self>,
    ) {
        // Leader stickiness (thesis §4.2.3, etcd's in-lease check): a node that heard from a
        // leader less than an election timeout ago ignores candidates, so a node that merely
        // lost touch cannot depose a healthy leader — and a leader's lease stays exclusive.
        let in_lease = self.cfg.check_quorum
            && !transfer
            && (self.role == Role::Leader || self.since(self.heard_leader_at, ctx) < self.cfg.election_timeout_ms);
        if term > self.term && in_lease {
            ctx.sometimes("raft.vote-ignored-in-lease");
            return;
        }
        if term < self.term {
            return ctx.send(from, RaftMsg::Vote { term: self.term, granted: false, pre });
        }
        let up_to_date = last >= (self.log.last_term(), self.log.last_index()) || self.bugs.vote_skips_log_check;
        if pre {
            let can_vote =
                term > self.term || self.vote == Some(from) || (self.vote.is_none() && self.leader.is_none());
            let granted = can_vote && up_to_date;
            let term = if granted { term } else { self.term };
            return ctx.send(from, RaftMsg::Vote { term, granted, pre: true });
        }
        let stepped = term > self.term && self.become_follower(term, None, ctx);
        let can_vote = self.vote == Some(from) || (self.vote.is_none() && self.leader.is_none());
        let granted = can_vote && up_to_date;
        let reply = RaftMsg::Vote { term: self.term, granted, pre: false };
        if granted {
            self.vote = Some(from);
            self.reset_election_timer(ctx);
            if self.bugs.vote_persisted_after_reply {
                self.write_hard_state(ctx);
                ctx.send(from, reply);
                ctx.sync();
                return;
            }
        }
        if granted || stepped {
            self.save_hard_state(ctx);
        }
        ctx.send(from, reply);
    }

    fn on_vote(&mut self, from: NodeId, term: u64, granted: bool, pre: bool, ctx: &mut Ctx<Self>) {
        if pre {
            if self.role == Role::PreCandidate && granted && term == self.term + 1 {
                self.votes |= 1 << from.0;
                if self.members.is_quorum(self.votes) {
                    self.start_election(false, ctx);
                }
            } else if !granted && term > self.term && self.become_follower(term, None, ctx) {
                self.save_hard_state(ctx);
            }
            return;
        }
        if term > self.term {
            if self.become_follower(term, None, ctx) {
                self.save_hard_state(ctx);
            }
            return;
        }
        if self.role == Role::Candidate && term == self.term && granted {
            self.votes |= 1 << from.0;
            if self.members.is_quorum(self.votes) {
                self.become_leader(ctx);
            }
        }
    }

    fn become_leader(&mut self, ctx: &mut Ctx<Self>) {
        ctx.sometimes("raft.leader-elected");
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.transfer = None;
        self.votes = 0;
        let next = self.log.last_index() + 1;
        for p in self.progress.iter_mut() {
            *p = Progress { next, matched: 0, round: 0, active: false, probing: true };
        }
        self.rounds.clear();
        self.lease_round = self.round;
        self.lease_until = None;
        self.lease_given_up = false;
        // A no-op of its own term lets the leader commit (and serve reads) without a client.
        if self.cfg.noop_on_election {
            self.append(Payload::Noop, ctx);
        }
        self.new_round(ctx);
        self.broadcast_append(ctx);
        ctx.set_timer(RaftTimer::Heartbeat, Duration::from_millis(self.cfg.heartbeat_ms));
        ctx.set_timer(RaftTimer::Election, Duration::from_millis(self.cfg.election_timeout_ms));
        self.maybe_commit(ctx);
    }

    /// Steps down (or stays) a follower, in `term` if it is newer. Returns true if the term
    /// changed, in which case the caller must save the hard state before replying.
    fn become_follower(&mut self, term: u64, leader: Option<NodeId>, ctx: &mut Ctx<Self>) -> bool {
        let changed = term > self.term;
        if changed {
            self.term = term;
            self.vote = None;
        }
        if self.role == Role::Leader {
            ctx.cancel_timer(RaftTimer::Heartbeat);
            self.lease_until = None;
            self.transfer = None;
            // A deposed leader refuses votes for a while, as a follower that just heard from it.
            self.heard_leader_at = self.clock(ctx);
            for r in self.reads.drain(..) {
                ctx.reject(r.req, leader);
            }
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.votes = 0;
        self.reset_election_timer(ctx);
        changed
    }

    // ---------------------------------------------------------------------------------------
    // Replication: follower side

    #[allow(clippy::too_many_arguments)]
    fn on_append(
        &mut self,
        from: NodeId,
        term: u64,
        prev_index: u64,
        prev_term: u64,
        mut entries: Vec<Entry<S::Command>>,
        leader_commit: u64,
        round: u64,
        ctx: &mut Ctx<Self>,
    ) {
        if term < self.term {
            // A stale leader: tell it the term so it steps down.
            let reply =
                RaftMsg::AppendReply { term: self.term, success: false, index: 0, conflict_term: 0, prev_index, round };
            return ctx.send(from, reply);
        }
        self.follow(term, from, ctx);
        let (mut prev, mut prev_term) = (prev_index, prev_term);
        if prev < self.log.snap_index {
            // The start is compacted here, hence committed, hence equal to the leader's.
            let skip = (self.log.snap_index - prev) as usize;
            if skip >= entries.len() {
                let index = prev + entries.len() as u64;
                return self.reply_append(from, true, index, 0, prev_index, round, ctx);
            }
            entries.drain(..skip);
            prev = self.log.snap_index;
            prev_term = self.log.snap_term;
        }
        if self.log.term(prev) != Some(prev_term) {
            // Fast back-off: say where the leader should look next.
            let (index, conflict_term) = if prev > self.log.last_index() {
                (self.log.last_index() + 1, 0)
            } else {
                let t = self.log.term(prev).expect("in log");
                (self.log.first_of_term(prev), t)
            };
            ctx.sometimes("raft.append-rejected");
            return self.reply_append(from, false, index, conflict_term, prev_index, round, ctx);
        }
        let last_new = prev + entries.len() as u64;
        let first_new = if self.bugs.truncate_always {
            Some(0)
        } else {
            entries.iter().enumerate().position(|(k, e)| self.log.term(prev + 1 + k as u64) != Some(e.term))
        };
        let mut wrote = false;
        if let Some(k) = first_new {
            let from_index = prev + 1 + k as u64;
            if from_index <= self.log.last_index() {
                ctx.sometimes("raft.log-truncated");
            }
            entries.drain(..k);
            self.log.splice(from_index, &entries);
            self.touched = self.touched.min(from_index);
            let config_changed =
                self.members_index >= from_index || entries.iter().any(|e| matches!(e.payload, Payload::Config(_)));
            ctx.write(RaftWrite::Entries { from: from_index, entries });
            wrote = true;
            if config_changed {
                self.recompute_members();
            }
        }
        // The follower can only vouch for entries this message matched, never for a stale tail
        // beyond them (an empty heartbeat matches only at its prevLogIndex).
        let limit = if self.bugs.follower_commit_no_min { self.log.last_index() } else { last_new };
        let new_commit = leader_commit.min(limit);
        if wrote && self.bugs.send_before_sync {
            self.reply_append(from, true, last_new, 0, prev_index, round, ctx);
            ctx.sync();
        } else {
            if wrote {
                ctx.sync();
            }
            self.reply_append(from, true, last_new, 0, prev_index, round, ctx);
        }
        if new_commit > self.commit {
            self.commit = new_commit;
            self.apply_committed(ctx);
        }
    }

    fn on_install_snapshot(
        &mut self,
        from: NodeId,
        term: u64,
        snap: Arc<Snapshot<S>>,
        round: u64,
        ctx: &mut Ctx<Self>,
    ) {
        if term < self.term {
            let reply = RaftMsg::AppendReply {
                term: self.term,
                success: false,
                index: 0,
                conflict_term: 0,
                prev_index: 0,
                round,
            };
            return ctx.send(from, reply);
        }
        self.follow(term, from, ctx);
        if snap.index > self.commit {
            ctx.sometimes("raft.snapshot-installed");
            self.log.compact(snap.index, snap.term);
            self.sm = snap.state.clone();
            self.commit = snap.index;
            self.base_members = snap.members;
            self.snapshot = Some(snap.clone());
            self.pending.retain(|&i, _| i > snap.index);
            self.recompute_members();
            ctx.write(RaftWrite::Snapshot(snap.clone()));
            ctx.sync();
        }
        self.reply_append(from, true, snap.index, 0, snap.index, round, ctx);
    }

    /// Accepts `from` as the leader of `term` (stepping down if needed).
    fn follow(&mut self, term: u64, from: NodeId, ctx: &mut Ctx<Self>) {
        if term > self.term || self.role != Role::Follower {
            if self.become_follower(term, Some(from), ctx) {
                self.save_hard_state(ctx);
            }
        } else {
            self.reset_election_timer(ctx);
        }
        self.leader = Some(from);
        self.heard_leader_at = self.clock(ctx);
    }

    #[allow(clippy::too_many_arguments)]
    fn reply_append(
        &mut self,
        to: NodeId,
        success: bool,
        index: u64,
        conflict_term: u64,
        prev_index: u64,
        round: u64,
        ctx: &mut Ctx<Self>,
    ) {
        ctx.send(to, RaftMsg::AppendReply { term: self.term, success, index, conflict_term, prev_index, round });
    }

    // ---------------------------------------------------------------------------------------
    // Replication: leader side

    #[allow(clippy::too_many_arguments)]
    fn on_append_reply(
        &mut self,
        from: NodeId,
        term: u64,
        success: bool,
        index: u64,
        conflict_term: u64,
        prev_index: u64,
        round: u64,
        ctx: &mut Ctx<Self>,
    ) {
        if term > self.term {
            if self.become_follower(term, None, ctx) {
                self.save_hard_state(ctx);
            }
            return;
        }
        if self.role != Role::Leader || term < self.term {
            return;
        }
        let last = self.log.last_index();
        let p = &mut self.progress[from.index()];
        p.active = true;
        p.round = p.round.max(round);
        if success {
            p.probing = false;
            p.matched = p.matched.max(index);
            p.next = p.next.max(p.matched + 1);
            let (matched, next) = (p.matched, p.next);
            self.maybe_commit(ctx);
            if self.role == Role::Leader {
                if self.transfer == Some(from) && matched == self.log.last_index() {
                    self.send_timeout_now(from, ctx);
                }
                if next <= self.log.last_index() {
                    self.send_append(from, ctx);
                }
            }
        } else if prev_index >= p.matched && prev_index > 0 {
            // Fast back-off (thesis §5.3): skip the follower's whole conflicting term at once.
            let hint = match conflict_term {
                0 => index,
                t => self.log.last_of_term(t, prev_index).map_or(index, |i| i + 1),
            };
            p.next = hint.min(prev_index).min(last + 1).max(p.matched + 1);
            p.probing = true;
            self.send_append(from, ctx);
        }
        self.update_quorum_round(ctx);
    }

    /// Sends `to` a batch of what it lacks from its next index, or the snapshot if that is
    /// compacted. While replicating, advances the next index optimistically (pipelining); a loss
    /// then shows as a rejection of the next heartbeat, which backs it off into probing.
    fn send_append(&mut self, to: NodeId, ctx: &mut Ctx<Self>) {
        let p = &mut self.progress[to.index()];
        if p.next <= self.log.snap_index {
            let snap = self.snapshot.as_ref().expect("a compacted log has a snapshot").clone();
            ctx.sometimes("raft.snapshot-sent");
            p.next = snap.index + 1;
            p.probing = true;
            ctx.send(to, RaftMsg::InstallSnapshot { term: self.term, snapshot: snap, round: self.round });
            return;
        }
        let prev = p.next - 1;
        let prev_term = self.log.term(prev).expect("next index within the log");
        let last = self.log.last_index().min(prev + self.cfg.max_batch.max(1));
        let entries = self.log.slice(prev + 1, last).to_vec();
        if !p.probing {
            p.next = last + 1;
        }
        let msg = RaftMsg::Append {
            term: self.term,
            prev_index: prev,
            prev_term,
            entries,
            commit: self.commit,
            round: self.round,
        };
        ctx.send(to, msg);
    }

    /// Heartbeats: empty AppendEntries at each follower's next index (the paper's), carrying the
    /// commit index and the round. A follower whose snapshot is due gets it instead.
    fn broadcast_heartbeat(&mut self, ctx: &mut Ctx<Self>) {
        for to in self.peers() {
            let next = self.progress[to.index()].next;
            if next <= self.log.snap_index {
                self.send_append(to, ctx);
                continue;
            }
            let prev_term = self.log.term(next - 1).expect("next index within the log");
            let msg = RaftMsg::Append {
                term: self.term,
                prev_index: next - 1,
                prev_term,
                entries: Vec::new(),
                commit: self.commit,
                round: self.round,
            };
            ctx.send(to, msg);
        }
    }

    fn broadcast_append(&mut self, ctx: &mut Ctx<Self>) {
        for p in self.peers() {
            self.send_append(p, ctx);
        }
    }

    /// Advances the commit index to the highest entry of the current term stored on a majority.
    fn maybe_commit(&mut self, ctx: &mut Ctx<Self>) {
        if self.role != Role::Leader {
            return;
        }
        let matched = self.members.iter().map(|m| {
            if m == self.id {
                self.log.last_index()
            } else {
                self.progress[m.index()].matched
            }
        });
        let n = Members::kth_largest(matched, self.members.quorum() as usize);
        // Figure 8: counting replicas only commits entries of the leader's own term; earlier
        // ones are committed indirectly, by the log matching property.
        if n > self.commit && (self.log.term(n) == Some(self.term) || self.bugs.commit_prior_term) {
            self.commit = n;
            self.apply_committed(ctx);
        }
    }

    fn apply_committed(&mut self, ctx: &mut Ctx<Self>) {
        while self.sm.applied < self.commit && self.sm.applied < self.log.last_index() {
            let index = self.sm.applied + 1;
            let entry = self.log.get(index);
            let applied = self.sm.apply(index, entry, !self.bugs.no_dedup);
            if let Some(req) = self.pending.remove(&index) {
                match (&entry.payload, applied) {
                    (Payload::Command { req: r, .. }, Applied::Answer(out)) if *r == req => ctx.reply(req, out),
                    _ => ctx.sometimes("raft.proposal-overwritten"),
                }
            }
        }
        if self.role == Role::Leader && !self.members.contains(self.id) && self.commit >= self.members_index {
            // Thesis §4.2.2: a removed leader steps down once its removal is committed.
            ctx.sometimes("raft.leader-removed");
            self.become_follower(self.term, None, ctx);
        }
        self.serve_reads(ctx);
    }

    // ---------------------------------------------------------------------------------------
    // Reads

    fn on_read(&mut self, req: RequestId, cmd: S::Command, ctx: &mut Ctx<Self>) {
        if self.role != Role::Leader || self.transfer.is_some() {
            return ctx.reject(req, self.hint());
        }
        let committed_in_term = self.log.term(self.commit) == Some(self.term);
        let given_up = self.lease_given_up && !self.bugs.lease_through_transfer;
        let lease_valid = !given_up && self.lease_until.is_some_and(|t| self.clock(ctx) < t);
        if self.lease_enabled() && committed_in_term && lease_valid {
            debug_assert_eq!(self.sm.applied, self.commit, "a leader applies synchronously");
            ctx.sometimes("raft.lease-read");
            self.lease_reads += 1;
            let out = self.sm.app.read(&cmd);
            return ctx.reply(req, out);
        }
        // Read index (thesis §6.4): confirm leadership with a round started after the read
        // arrived, then answer once the commit index of that moment is applied.
        self.new_round(ctx);
        let index = if committed_in_term { self.commit } else { 0 };
        self.reads.push(PendingRead { req, cmd, round: self.round, index });
        self.broadcast_heartbeat(ctx);
        self.serve_reads(ctx);
    }

    /// Hands leadership to `to` (thesis §3.10). Its election skips the voters' lease check, so
    /// this leader's lease is void from here to the end of its term, even if the transfer is
    /// later abandoned: the message may still arrive.
    fn send_timeout_now(&mut self, to: NodeId, ctx: &mut Ctx<Self>) {
        self.lease_given_up = true;
        self.lease_until = None;
        ctx.send(to, RaftMsg::TimeoutNow { term: self.term });
    }

    fn lease_enabled(&self) -> bool {
        self.cfg.lease_reads && (self.cfg.check_quorum || self.bugs.lease_without_check_quorum)
    }

    fn new_round(&mut self, ctx: &mut Ctx<Self>) {
        self.round += 1;
        if self.rounds.len() == MAX_ROUNDS_KEPT {
            self.rounds.pop_front();
        }
        self.rounds.push_back((self.round, self.clock(ctx)));
    }

    /// The highest round a majority (this leader included) acknowledged.
    fn quorum_round(&self) -> u64 {
        let rounds =
            self.members.iter().map(|m| if m == self.id { self.round } else { self.progress[m.index()].round });
        Members::kth_largest(rounds, self.members.quorum() as usize)
    }

    fn update_quorum_round(&mut self, ctx: &mut Ctx<Self>) {
        if self.role != Role::Leader {
            return;
        }
        let q = self.quorum_round();
        if q > self.lease_round {
            self.lease_round = q;
            while self.rounds.front().is_some_and(|&(r, _)| r < q) {
                self.rounds.pop_front();
            }
            if let Some(&(r, start)) = self.rounds.front() {
                if r == q {
                    let lease_ms = if self.bugs.lease_no_drift_margin {
                        self.cfg.election_timeout_ms
                    } else {
                        self.cfg.lease_ms()
                    };
                    self.lease_until = Some(start.saturating_add(Duration::from_millis(lease_ms)));
                }
            }
        }
        self.serve_reads(ctx);
    }

    fn serve_reads(&mut self, ctx: &mut Ctx<Self>) {
        if self.reads.is_empty() || self.role != Role::Leader {
            return;
        }
        let q = self.quorum_round();
        let committed_in_term = self.log.term(self.commit) == Some(self.term);
        let (commit, applied) = (self.commit, self.sm.applied);
        let app = &self.sm.app;
        self.reads.retain_mut(|r| {
            if r.index == 0 && committed_in_term {
                r.index = commit;
            }
            if r.round <= q && r.index != 0 && r.index <= applied {
                ctx.reply(r.req, app.read(&r.cmd));
                false
            } else {
                true
            }
        });
    }

    // ---------------------------------------------------------------------------------------
    // Membership

    /// Single-server changes are safe one at a time, and only once this leader committed an
    /// entry of its term (Ongaro, raft-dev 2015: otherwise two configurations that do not
    /// overlap can both decide).
    fn may_change_config(&self, ctx: &mut Ctx<Self>) -> bool {
        if self.role != Role::Leader {
            return false;
        }
        if self.members_index > self.commit {
            ctx.sometimes("raft.config-change-waits");
            return false;
        }
        if self.log.term(self.commit) == Some(self.term) {
            return true;
        }
        ctx.sometimes("raft.config-change-before-term-commit");
        self.bugs.config_before_term_commit
    }

    fn recompute_members(&mut self) {
        (self.members_index, self.members) =
            self.log.config_at(self.log.last_index()).unwrap_or((self.log.snap_index, self.base_members));
    }

    // ---------------------------------------------------------------------------------------
    // Storage

    /// Appends an entry of the current term to the leader's log, durably (the leader counts
    /// itself among the replicas).
    fn append(&mut self, payload: Payload<S::Command>, ctx: &mut Ctx<Self>) -> u64 {
        let entry = Entry { term: self.term, payload };
        let index = self.log.last_index() + 1;
        let is_config = matches!(entry.payload, Payload::Config(_));
        self.log.entries.push(entry.clone());
        self.touched = self.touched.min(index);
        ctx.write(RaftWrite::Entries { from: index, entries: vec![entry] });
        ctx.sync();
        if is_config {
            self.recompute_members();
        }
        index
    }

    fn write_hard_state(&mut self, ctx: &mut Ctx<Self>) {
        if !self.bugs.term_in_memory {
            ctx.write(RaftWrite::HardState { term: self.term, vote: self.vote });
        }
    }

    /// Writes and syncs term and vote: call before sending anything that depends on them.
    fn save_hard_state(&mut self, ctx: &mut Ctx<Self>) {
        self.write_hard_state(ctx);
        ctx.sync();
    }

    /// Compacts the log into a snapshot once enough entries are applied. Runs at the start of a
    /// handler, so the checker has seen every entry applied before it disappears.
    fn maybe_compact(&mut self, ctx: &mut Ctx<Self>) {
        let applied = self.sm.applied;
        if applied < self.log.snap_index + self.cfg.snapshot_every.max(1) {
            return;
        }
        let term = self.log.term(applied).expect("applied entries are in the log");
        let members = self.log.config_at(applied).map_or(self.base_members, |(_, m)| m);
        let snap = Arc::new(Snapshot { index: applied, term, members, state: self.sm.clone() });
        self.log.compact(applied, term);
        self.base_members = members;
        self.snapshot = Some(snap.clone());
        ctx.write(RaftWrite::Snapshot(snap));
        ctx.sometimes("raft.compacted");
    }

    // ---------------------------------------------------------------------------------------
    // Helpers

    fn peers(&self) -> impl Iterator<Item = NodeId> {
        let me = self.id;
        self.members.iter().filter(move |&p| p != me)
    }

    fn hint(&self) -> Option<NodeId> {
        self.leader.filter(|&l| l != self.id).or(self.transfer)
    }

    fn since(&self, t: Time, ctx: &Ctx<Self>) -> u64 {
        self.clock(ctx).saturating_since(t).as_millis() as u64
    }

    /// The clock elapsed time is measured on (leases, "heard from a leader lately"): the
    /// monotonic one, since a wall clock can step back and stretch an interval — unless the
    /// planted `raft.lease-wall-clock` bug uses the wall clock.
    fn clock(&self, ctx: &Ctx<Self>) -> Time {
        if self.bugs.lease_wall_clock {
            ctx.now()
        } else {
            ctx.monotonic()
        }
    }

    fn reset_election_timer(&mut self, ctx: &mut Ctx<Self>) {
        let lo = self.cfg.election_timeout_ms * 1_000;
        let hi = self.cfg.election_timeout_max_ms() * 1_000 - 1;
        let us = ctx.rng().range(lo, hi);
        ctx.set_timer(RaftTimer::Election, Duration::from_micros(us));
    }
}

#[cfg(test)]
mod tests;
