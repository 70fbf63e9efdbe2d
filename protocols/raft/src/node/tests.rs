//! Unit tests of one Raft node driven by hand (`faultline_sim::driver`): what its accessors and
//! timeline line report, which the simulated runs read only through the checks.

use super::*;
use crate::{KvCmd, RaftInput};
use faultline_sim::driver::{replies, sends, Driver};
use faultline_sim::protocol::{Command, Protocol};

type D = Driver<Raft>;
type Cfg = <Raft as Protocol>::Config;
type Msg = RaftMsg<KvStore>;
type Out = Vec<Command<Raft>>;

/// Node 0 of `nodes`, a follower at term 0, its clock well past any election time-out.
fn follower(nodes: u32, tweak: impl FnOnce(&mut Cfg)) -> D {
    let mut cfg = RaftConfig::default();
    tweak(&mut cfg);
    let late_ms = 10 * cfg.election_timeout_max_ms();
    let mut d = D::start(NodeId(0), nodes, cfg, &[]).expect("valid configuration");
    d.set_now_ms(late_ms);
    d
}

/// Node 0 elected leader of term 1 by the votes of nodes `1..=nodes/2`; with `acked`, every
/// follower has acknowledged the leader's no-op, so it is committed and everyone is caught up.
fn leader(nodes: u32, acked: bool, tweak: impl FnOnce(&mut Cfg)) -> D {
    let mut d = follower(nodes, tweak);
    d.fire(RaftTimer::Election);
    assert_eq!(d.node().role(), Role::PreCandidate);
    for p in 1..=nodes / 2 {
        d.message(NodeId(p), Msg::Vote { term: 1, granted: true, pre: true });
    }
    assert_eq!((d.node().role(), d.node().term()), (Role::Candidate, 1));
    for p in 1..=nodes / 2 {
        d.message(NodeId(p), Msg::Vote { term: 1, granted: true, pre: false });
    }
    assert_eq!(d.node().role(), Role::Leader);
    if acked {
        for p in 1..nodes {
            ack(&mut d, p, 1);
        }
        assert_eq!(d.node().commit_index(), 1);
    }
    d
}

/// Node `from`'s successful answer to the leader's latest round, matching through `index`.
fn ack(d: &mut D, from: u32, index: u64) -> Out {
    let (term, round) = (d.node().term, d.node().round);
    d.message(NodeId(from), Msg::AppendReply { term, success: true, index, conflict_term: 0, prev_index: 0, round })
}

fn request_vote(term: u64, pre: bool) -> Msg {
    Msg::RequestVote { term, last_index: 0, last_term: 0, pre, transfer: false }
}

/// `(to, granted, pre)` of every `Vote` among `out`.
fn votes_sent(out: &Out) -> Vec<(u32, bool, bool)> {
    sends(out)
        .filter_map(|(to, m)| match m {
            Msg::Vote { granted, pre, .. } => Some((to.0, *granted, *pre)),
            _ => None,
        })
        .collect()
}

/// `(to, prev_index, number of entries)` of every `Append` among `out`.
fn appends(out: &Out) -> Vec<(u32, u64, usize)> {
    sends(out)
        .filter_map(|(to, m)| match m {
            Msg::Append { prev_index, entries, .. } => Some((to.0, *prev_index, entries.len())),
            _ => None,
        })
        .collect()
}

fn snapshots_sent(out: &Out) -> usize {
    sends(out).filter(|(_, m)| matches!(m, Msg::InstallSnapshot { .. })).count()
}

fn timeout_nows(out: &Out) -> Vec<u32> {
    sends(out).filter(|(_, m)| matches!(m, Msg::TimeoutNow { .. })).map(|(to, _)| to.0).collect()
}

fn put(seq: u32) -> RaftInput<KvCmd> {
    let _ = seq;
    RaftInput::Client(KvCmd::Put { key: 1, value: seq })
}

fn rid(seq: u32) -> RequestId {
    RequestId { client: 0, seq }
}

/// Node 0 of `nodes`, the only voter, elected: it needs nobody's vote or acknowledgement.
fn lone_leader(nodes: u32) -> Driver<Raft> {
    lone_leader_with(nodes, |_| {})
}

fn lone_leader_with(nodes: u32, tweak: impl FnOnce(&mut Cfg)) -> Driver<Raft> {
    let mut cfg = RaftConfig { voters: Some(1), ..RaftConfig::default() };
    tweak(&mut cfg);
    let late_ms = 10 * cfg.election_timeout_max_ms();
    let mut d = Driver::<Raft>::start(NodeId(0), nodes, cfg, &[]).expect("valid configuration");
    let n = d.node();
    assert_eq!((n.role(), n.term(), n.commit_index()), (Role::Follower, 0, 0));
    assert_eq!(n.members(), Members::first(1));
    assert_eq!(n.summary_line(), "follower t0 commit 0/0 applied 0");
    d.set_now_ms(late_ms);
    // Pre-vote, then the vote: each round is one election time-out.
    for _ in 0..4 {
        if d.node().role() == Role::Leader {
            break;
        }
        d.fire(RaftTimer::Election);
    }
    assert_eq!(d.node().role(), Role::Leader);
    d
}

#[test]
fn a_lone_voter_elects_itself_and_commits_on_its_own_persistence() {
    let mut d = lone_leader(1);
    // The leader's no-op of its term, committed and applied at once: the only voter has it.
    assert_eq!((d.node().term(), d.node().commit_index()), (1, 1));
    assert_eq!(d.node().summary_line(), "leader t1 commit 1/1 applied 1");
    let out = d.request(RequestId { client: 0, seq: 0 }, RaftInput::Client(KvCmd::Put { key: 3, value: 9 }));
    assert_eq!(d.node().commit_index(), 2);
    assert_eq!(d.node().summary_line(), "leader t1 commit 2/2 applied 2");
    assert_eq!(replies::<Raft>(&out).len(), 1, "the write is answered once committed");
}

#[test]
fn an_added_server_is_in_the_configuration_as_soon_as_it_is_appended() {
    let mut d = lone_leader(2);
    d.request(RequestId { client: 0, seq: 0 }, RaftInput::AddServer(1));
    // Single-server changes take effect on append, before they commit (thesis §4.1); commit now
    // needs node 1 too, so it stays at the no-op.
    assert_eq!(d.node().members(), Members::first(2));
    assert_eq!(d.node().commit_index(), 1);
    assert_eq!(d.node().summary_line(), "leader t1 commit 1/2 applied 1");
}

#[test]
fn a_timeout_now_of_the_current_or_a_newer_term_starts_an_election_and_a_stale_one_does_not() {
    let mut d = follower(3, |_| {});
    d.node_mut().term = 2;
    d.message(NodeId(1), Msg::TimeoutNow { term: 3 });
    assert_eq!((d.node().role(), d.node().term()), (Role::Candidate, 4), "adopts term 3, campaigns in 4");
    let mut d = follower(3, |_| {});
    d.node_mut().term = 5;
    let out = d.message(NodeId(1), Msg::TimeoutNow { term: 3 });
    assert_eq!((d.node().role(), d.node().term()), (Role::Follower, 5));
    assert!(votes_sent(&out).is_empty() && sends(&out).count() == 0, "{out:?}");
}

#[test]
fn a_new_command_goes_at_once_to_every_follower_that_is_caught_up() {
    let mut d = leader(3, true, |_| {});
    let out = d.request(rid(1), put(1));
    assert_eq!(appends(&out), vec![(1, 1, 1), (2, 1, 1)]);
    // A follower still probing hears of it at its next heartbeat, not now.
    d.node_mut().progress[2].probing = true;
    let out = d.request(rid(2), put(2));
    assert_eq!(appends(&out), vec![(1, 2, 1)], "node 1 is pipelined: its next is the new entry");
}

#[test]
fn only_a_leader_hands_over_and_only_once_the_target_has_its_whole_log() {
    let mut d = follower(3, |_| {});
    let out = d.request(rid(1), RaftInput::TransferLeadership(1));
    assert!(timeout_nows(&out).is_empty() && d.node().transfer.is_none(), "a follower has nothing to hand over");
    let mut d = leader(3, false, |_| {});
    ack(&mut d, 2, 1);
    let out = d.request(rid(1), RaftInput::TransferLeadership(1));
    assert_eq!(d.node().transfer, Some(NodeId(1)));
    assert!(timeout_nows(&out).is_empty(), "node 1 lacks the no-op");
    let out = ack(&mut d, 2, 1);
    assert!(timeout_nows(&out).is_empty(), "an answer from another node");
    let out = ack(&mut d, 1, 1);
    assert_eq!(timeout_nows(&out), vec![1], "caught up: now");
}

#[test]
fn a_follower_that_heard_its_leader_within_an_election_timeout_ignores_candidates() {
    let mut d = follower(3, |_| {});
    let t0 = 10 * d.node().cfg.election_timeout_max_ms();
    let timeout = d.node().cfg.election_timeout_ms;
    d.message(
        NodeId(1),
        Msg::Append { term: 1, prev_index: 0, prev_term: 0, entries: Vec::new(), commit: 0, round: 1 },
    );
    assert_eq!(d.node().leader, Some(NodeId(1)));
    d.set_now_ms(t0 + timeout / 2);
    let out = d.message(NodeId(2), request_vote(2, false));
    assert_eq!((d.node().term(), votes_sent(&out)), (1, vec![]), "in the lease: ignored");
    let out = d.message(NodeId(2), request_vote(1, false));
    assert_eq!(votes_sent(&out), vec![(2, false, false)], "the current term is answered: no");
    d.set_now_ms(t0 + timeout + 1);
    let out = d.message(NodeId(2), request_vote(2, false));
    assert_eq!((d.node().term(), votes_sent(&out)), (2, vec![(2, true, false)]), "past the lease");
}

#[test]
fn a_repeated_request_of_the_candidate_voted_for_is_granted_again_and_no_other() {
    let mut d = follower(3, |_| {});
    let out = d.message(NodeId(1), request_vote(2, false));
    assert_eq!(votes_sent(&out), vec![(1, true, false)]);
    // Its answer may have been lost: the same candidate asks again in the same term.
    let out = d.message(NodeId(1), request_vote(2, false));
    assert_eq!(votes_sent(&out), vec![(1, true, false)]);
    let out = d.message(NodeId(2), request_vote(2, false));
    assert_eq!(votes_sent(&out), vec![(2, false, false)]);
    assert_eq!(d.node().vote, Some(NodeId(1)));
}

#[test]
fn a_pre_vote_for_the_current_term_is_granted_only_where_a_real_vote_would_be() {
    let no_lease = |c: &mut Cfg| c.check_quorum = false;
    let mut d = follower(3, no_lease);
    d.node_mut().term = 2;
    d.node_mut().vote = Some(NodeId(1));
    assert_eq!(votes_sent(&d.message(NodeId(1), request_vote(2, true))), vec![(1, true, true)], "voted for it");
    assert_eq!(votes_sent(&d.message(NodeId(2), request_vote(2, true))), vec![(2, false, true)], "voted for another");
    let mut d = follower(3, no_lease);
    d.node_mut().term = 2;
    assert_eq!(votes_sent(&d.message(NodeId(2), request_vote(2, true))), vec![(2, true, true)], "free");
    d.node_mut().leader = Some(NodeId(1));
    assert_eq!(votes_sent(&d.message(NodeId(2), request_vote(2, true))), vec![(2, false, true)], "has a leader");
}

#[test]
fn refusals_never_count_as_votes_and_a_newer_term_in_one_ends_the_campaign() {
    let mut d = follower(5, |_| {});
    d.fire(RaftTimer::Election);
    assert_eq!(d.node().role(), Role::PreCandidate);
    for p in 1..=2 {
        d.message(NodeId(p), Msg::Vote { term: 0, granted: false, pre: true });
    }
    assert_eq!((d.node().role(), d.node().term()), (Role::PreCandidate, 0), "refusals of its own term");
    d.message(NodeId(3), Msg::Vote { term: 1, granted: false, pre: true });
    assert_eq!((d.node().role(), d.node().term()), (Role::Follower, 1), "a voter already in term 1");
    // A candidate told of a newer term by a refusal steps down into it.
    let mut d = follower(5, |_| {});
    d.fire(RaftTimer::Election);
    for p in 1..=2 {
        d.message(NodeId(p), Msg::Vote { term: 1, granted: true, pre: true });
    }
    assert_eq!((d.node().role(), d.node().term()), (Role::Candidate, 1));
    d.message(NodeId(1), Msg::Vote { term: 1, granted: false, pre: false });
    assert_eq!(d.node().role(), Role::Candidate);
    d.message(NodeId(2), Msg::Vote { term: 3, granted: false, pre: false });
    assert_eq!((d.node().role(), d.node().term(), d.node().vote), (Role::Follower, 3, None));
}

#[test]
fn hearing_the_leader_of_its_own_term_keeps_the_vote_cast_in_it() {
    let heartbeat = Msg::Append { term: 1, prev_index: 0, prev_term: 0, entries: Vec::new(), commit: 0, round: 1 };
    // A candidate that lost: it voted for itself, and a restart must not let it vote again.
    let mut d = follower(5, |_| {});
    d.fire(RaftTimer::Election);
    for p in 1..=2 {
        d.message(NodeId(p), Msg::Vote { term: 1, granted: true, pre: true });
    }
    assert_eq!((d.node().role(), d.node().vote), (Role::Candidate, Some(NodeId(0))));
    let out = d.message(NodeId(1), heartbeat);
    assert_eq!((d.node().role(), d.node().leader, d.node().vote), (Role::Follower, Some(NodeId(1)), Some(NodeId(0))));
    assert!(!out.iter().any(|c| matches!(c, Command::Write(RaftWrite::HardState { vote: None, .. }))), "{out:?}");
}

#[test]
fn an_append_wholly_inside_the_snapshot_is_acknowledged_through_its_end() {
    let mut d = lone_leader_with(2, |c| c.snapshot_every = 1);
    d.request(rid(1), put(1));
    d.request(rid(2), put(2));
    let snap = d.node().log.snap_index;
    assert!(snap >= 2, "compacted through {snap}");
    let entries = vec![Entry { term: 1, payload: Payload::Noop }];
    let out = d.message(NodeId(1), Msg::Append { term: 2, prev_index: 0, prev_term: 0, entries, commit: 0, round: 7 });
    let acks: Vec<_> = sends(&out)
        .filter_map(|(_, m)| match m {
            Msg::AppendReply { success, index, round, .. } => Some((*success, *index, *round)),
            _ => None,
        })
        .collect();
    assert_eq!(acks, vec![(true, 1, 7)]);
}

#[test]
fn a_snapshot_installed_drops_the_requests_it_covers_and_keeps_later_ones() {
    let mut d = lone_leader_with(2, |c| c.snapshot_every = 1);
    d.request(rid(1), put(1));
    d.request(rid(2), put(2));
    let snap = d.node().snapshot.clone().expect("compacted");
    let mut d = follower(3, |_| {});
    d.node_mut().pending.insert(snap.index - 1, rid(8));
    d.node_mut().pending.insert(snap.index, rid(9));
    d.node_mut().pending.insert(snap.index + 2, rid(10));
    d.message(NodeId(1), Msg::InstallSnapshot { term: 3, snapshot: snap.clone(), round: 1 });
    assert_eq!(d.node().commit_index(), snap.index);
    assert_eq!(d.node().pending.iter().map(|(&i, &r)| (i, r)).collect::<Vec<_>>(), vec![(snap.index + 2, rid(10))]);
}

#[test]
fn a_leader_told_of_a_newer_term_by_a_follower_steps_down_into_it() {
    let mut d = leader(3, true, |_| {});
    d.message(
        NodeId(1),
        Msg::AppendReply { term: 4, success: false, index: 0, conflict_term: 0, prev_index: 0, round: 0 },
    );
    assert_eq!((d.node().role(), d.node().term()), (Role::Follower, 4));
}

#[test]
fn back_off_goes_to_the_followers_hint_and_never_below_what_it_acknowledged() {
    let mut d = leader(3, true, |_| {});
    for i in 2..=4 {
        d.request(rid(i), put(i));
    }
    // Node 1 holds entries 1..=2 only: it refuses an append after 4 and hints at 3.
    let term = d.node().term;
    let out = d.message(
        NodeId(1),
        Msg::AppendReply { term, success: false, index: 3, conflict_term: 0, prev_index: 4, round: 0 },
    );
    assert_eq!(appends(&out), vec![(1, 2, 2)], "resumes right after entry 2");
    // A hint below what node 2 acknowledged is clamped: its entries 1..=3 are known to match.
    d.node_mut().progress[2].matched = 3;
    let out = d.message(
        NodeId(2),
        Msg::AppendReply { term, success: false, index: 1, conflict_term: 0, prev_index: 4, round: 0 },
    );
    assert_eq!(appends(&out), vec![(2, 3, 1)]);
}

#[test]
fn a_snapshot_is_sent_once_not_again_with_every_heartbeat() {
    let mut d = lone_leader_with(2, |c| c.snapshot_every = 1);
    d.request(rid(1), put(1));
    d.request(rid(2), put(2));
    let out = d.request(rid(3), RaftInput::AddServer(1));
    let term = d.node().term;
    let last = d.node().log.last_index();
    let mut sent = snapshots_sent(&out);
    let out = d.message(
        NodeId(1),
        Msg::AppendReply { term, success: false, index: 1, conflict_term: 0, prev_index: last, round: 0 },
    );
    sent += snapshots_sent(&out);
    assert_eq!(sent, 1, "node 1 has nothing: it needs the snapshot");
    let out = d.fire(RaftTimer::Heartbeat);
    assert_eq!((snapshots_sent(&out), appends(&out).len()), (0, 1), "{out:?}");
}

#[test]
fn a_removed_leader_leads_until_its_removal_commits_then_steps_down() {
    let mut d = leader(2, true, |_| {});
    d.request(rid(1), RaftInput::RemoveServer(0));
    assert!(!d.node().members().contains(NodeId(0)));
    assert_eq!(d.node().role(), Role::Leader, "it must commit its own removal");
    let last = d.node().log.last_index();
    ack(&mut d, 1, last);
    assert_eq!(d.node().commit_index(), last);
    assert_eq!(d.node().role(), Role::Follower);
}

#[test]
fn the_lease_runs_from_the_start_of_the_round_a_quorum_acknowledged_even_an_earlier_one() {
    let mut d = leader(3, true, |c| c.lease_reads = true);
    let before = d.node().lease_until;
    let t = 20 * d.node().cfg.election_timeout_max_ms();
    d.set_now_ms(t);
    d.fire(RaftTimer::Heartbeat);
    let first = d.node().round;
    d.set_now_ms(t + 5);
    d.fire(RaftTimer::Heartbeat);
    let term = d.node().term;
    d.message(
        NodeId(1),
        Msg::AppendReply { term, success: true, index: 1, conflict_term: 0, prev_index: 0, round: first },
    );
    let lease_ms = d.node().cfg.lease_ms();
    assert!(d.node().lease_until > before, "{before:?} -> {:?}", d.node().lease_until);
    assert_eq!(d.node().lease_until.map(|u| u.as_ms()), Some(t + lease_ms), "from the first round's start");
}

#[test]
fn a_read_is_answered_once_a_round_after_it_is_acknowledged_and_its_term_has_a_commit() {
    // Before the no-op commits: the read waits for it.
    let mut d = leader(3, false, |_| {});
    let get = RaftInput::Client(KvCmd::Get { key: 1 });
    let out = d.request(rid(1), get);
    assert!(replies::<Raft>(&out).is_empty());
    let out = ack(&mut d, 1, 1);
    assert_eq!(replies::<Raft>(&out).len(), 1, "the no-op committed and the read's round acknowledged");
    // After: only a round started after the read arrived confirms the leadership.
    let mut d = leader(3, true, |_| {});
    let out = d.request(rid(2), RaftInput::Client(KvCmd::Get { key: 1 }));
    assert!(replies::<Raft>(&out).is_empty(), "not yet confirmed");
    let term = d.node().term;
    let stale = d.node().round - 1;
    let out = d.message(
        NodeId(1),
        Msg::AppendReply { term, success: true, index: 1, conflict_term: 0, prev_index: 0, round: stale },
    );
    assert!(replies::<Raft>(&out).is_empty(), "an answer to an older round");
    let out = ack(&mut d, 2, 1);
    assert_eq!(replies::<Raft>(&out).len(), 1);
}

#[test]
fn the_log_is_compacted_exactly_every_snapshot_every_entries() {
    let mut d = lone_leader_with(1, |c| c.snapshot_every = 3);
    for i in 1..=5 {
        d.request(rid(i), put(i));
    }
    // Entries 1 (the no-op) ..= 6 applied; compaction runs at the start of a handler.
    d.fire(RaftTimer::Heartbeat);
    assert_eq!(d.node().log.snap_index, 6);
    let mut d = lone_leader_with(1, |c| c.snapshot_every = 3);
    d.request(rid(1), put(1));
    d.request(rid(2), put(2));
    assert_eq!(d.node().log.snap_index, 0, "two applied");
    d.fire(RaftTimer::Heartbeat);
    assert_eq!(d.node().log.snap_index, 3, "three applied");
}
