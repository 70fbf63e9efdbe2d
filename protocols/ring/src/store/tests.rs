//! Handler-level tests of one ring node, driven by hand (`faultline_sim::driver`): what each
//! message and tick must do to the outcome (what is answered, counted, stored and sent), for the
//! cases the scenarios reach too rarely to pin down. The simulated runs in `tests/` check the
//! same rules end to end.

use super::*;
use faultline_sim::driver::{replies, sends, Driver};

type D = Driver<RingStore>;

fn cfg() -> RingConfig {
    RingConfig { keys: 16, ..RingConfig::default() }
}

fn sloppy() -> RingConfig {
    RingConfig { sloppy: true, ..cfg() }
}

/// Node 0 of a `nodes`-node cluster, every node a member.
fn node0(nodes: u32, cfg: RingConfig) -> D {
    Driver::start(NodeId(0), nodes, cfg, &[]).expect("valid configuration")
}

fn req(seq: u32) -> RequestId {
    RequestId { client: 0, seq }
}

fn item(counter: u64, value: u64) -> Item {
    Item { version: Version { counter, node: 7, tag: counter }, value }
}

fn pref(d: &D, kind: SetKind, key: u64) -> Vec<u32> {
    let mut v = Vec::new();
    d.node().pref(kind, key, &mut v);
    v
}

/// The first key whose read preference list satisfies `f`.
fn key_where(d: &D, f: impl Fn(&[u32]) -> bool) -> u64 {
    (0..d.node().cfg.keys).find(|&k| f(&pref(d, SetKind::Read, k))).expect("some key fits")
}

fn read_ack(d: &mut D, from: u32, op: u64, key: u64, for_node: u32, item: Item) -> Vec<Command<RingStore>> {
    d.message(NodeId(from), RingMsg::ReadAck { op, key, for_node, item, ready: true })
}

fn put_ack(d: &mut D, from: u32, op: u64, key: u64, version: Version) -> Vec<Command<RingStore>> {
    d.message(NodeId(from), RingMsg::PutAck { op, key, version, for_node: from })
}

/// `(to, for_node)` of every `Read` among `out`.
fn reads(out: &[Command<RingStore>]) -> Vec<(u32, u32)> {
    sends(out)
        .filter_map(|(to, m)| match m {
            RingMsg::Read { for_node, .. } => Some((to.0, *for_node)),
            _ => None,
        })
        .collect()
}

/// `(to, op, item, hint)` of every `Put` among `out`.
fn puts(out: &[Command<RingStore>]) -> Vec<(u32, u64, Item, Option<u32>)> {
    sends(out)
        .filter_map(|(to, m)| match m {
            RingMsg::Put { op, item, hint, .. } => Some((to.0, *op, *item, *hint)),
            _ => None,
        })
        .collect()
}

fn answers(out: &[Command<RingStore>]) -> Vec<Reply<RingOutput>> {
    replies(out).into_iter().map(|(_, r)| r.clone()).collect()
}

/// The disk after applying every write among `cmds` to `disk`.
fn applied(mut disk: RingDisk, cmds: &[Command<RingStore>]) -> RingDisk {
    for c in cmds {
        if let Command::Write(w) = c {
            disk.apply(w);
        }
    }
    disk
}

/// Moves `node` to `status` in node 0's view (as a merged gossip would) and rebuilds its rings.
fn set_status(d: &mut D, node: u32, status: Status) {
    let n = d.node_mut();
    let version = n.view.get(node).version + 1;
    n.view.set(node, Entry { version, status });
    n.rebuild_rings();
}

/// Starts a write of `key` at node 0 and brings it to its put phase with read answers from the
/// first two replicas of the read set; returns the op id and the version it writes.
fn write_in_put_phase(d: &mut D, key: u64, seq: u32) -> (u64, Version) {
    d.request(req(seq), RingInput::Put { key, value: 100 + u64::from(seq) });
    let op = d.node().next_op;
    let p = pref(d, SetKind::Read, key);
    read_ack(d, p[0], op, key, p[0], Item::default());
    let out = read_ack(d, p[1], op, key, p[1], Item::default());
    let sent = puts(&out);
    assert!(!sent.is_empty(), "the read quorum starts the put phase");
    (op, sent[0].2.version)
}

#[test]
fn operator_changes_out_of_range_or_repeated_are_refused() {
    let mut d = node0(5, cfg());
    let out = d.request(req(1), RingInput::Join(5));
    assert!(d.node().changes().is_empty(), "node 5 does not exist in a 5-node cluster");
    assert!(out.is_empty());
    let out = d.request(req(2), RingInput::Leave(4));
    let queued = vec![Change { target: 4, kind: ChangeKind::Leave, phase: 0 }];
    assert_eq!(d.node().changes(), queued.as_slice());
    // Queued durably, before anything acts on it: a restarted driver resumes it.
    let wrote = out.iter().position(|c| matches!(c, Command::Write(RingWrite::Changes(c)) if *c == queued));
    let synced = out.iter().rposition(|c| matches!(c, Command::Sync));
    assert!(wrote.is_some() && synced > wrote, "{out:?}");
    d.request(req(3), RingInput::Leave(4));
    assert_eq!(d.node().changes().len(), 1, "the same change twice is one change");
    d.request(req(4), RingInput::Fail(4));
    assert_eq!(d.node().changes().len(), 2, "a different kind for the same node is another");
}

#[test]
fn a_restart_takes_a_new_incarnation_so_its_versions_never_repeat_the_last_ones() {
    let mut first = node0(3, cfg());
    let disk = applied(RingDisk::default(), first.started());
    assert_eq!(disk.incarnation, 1);
    let key = 0;
    let (_, v1) = write_in_put_phase(&mut first, key, 1);
    // The first operation of incarnation 1: its tag carries both.
    assert_eq!(v1.tag, (1 << 32) | 1);

    let mut second = Driver::<RingStore>::start_from(NodeId(0), 3, cfg(), &[], &disk).unwrap();
    let disk = applied(disk, second.started());
    assert_eq!(disk.incarnation, 2, "each start is a new incarnation, durable before any version uses it");
    let (_, v2) = write_in_put_phase(&mut second, key, 1);
    assert_eq!(v2.tag, (2 << 32) | 1);
    assert_ne!(v1, v2, "the same operation id after a restart makes a different version");
}

#[test]
fn a_write_takes_the_next_counter_after_the_newest_read() {
    let mut d = node0(5, cfg());
    let key = 3;
    d.request(req(1), RingInput::Put { key, value: 9 });
    let p = pref(&d, SetKind::Read, key);
    read_ack(&mut d, p[0], 1, key, p[0], item(6, 1));
    let out = read_ack(&mut d, p[1], 1, key, p[1], item(4, 2));
    let sent = puts(&out);
    assert!(sent.iter().all(|s| s.2.version.counter == 7 && s.2.version.node == 0 && s.2.value == 9));
    let targets: Vec<u32> = sent.iter().map(|s| s.0).collect();
    assert_eq!(targets, p, "to every replica of the write sets, none twice");
}

#[test]
fn a_read_of_a_key_never_written_finds_nothing_and_repairs_nothing() {
    let mut d = node0(5, cfg());
    let key = 1;
    d.request(req(1), RingInput::Get { key });
    let p = pref(&d, SetKind::Read, key);
    read_ack(&mut d, p[0], 1, key, p[0], Item::default());
    let out = read_ack(&mut d, p[1], 1, key, p[1], Item::default());
    assert_eq!(answers(&out), vec![Reply::Ok(RingOutput::Value { version: Version::default(), value: None })]);
    assert!(puts(&out).is_empty());
}

#[test]
fn a_read_answers_the_newest_and_repairs_exactly_the_stale_repliers() {
    let mut d = node0(5, RingConfig { r: 3, ..cfg() });
    let key = 2;
    d.request(req(1), RingInput::Get { key });
    let p = pref(&d, SetKind::Read, key);
    read_ack(&mut d, p[0], 1, key, p[0], item(5, 50));
    read_ack(&mut d, p[1], 1, key, p[1], item(3, 30));
    let out = read_ack(&mut d, p[2], 1, key, p[2], item(5, 50));
    assert_eq!(answers(&out), vec![Reply::Ok(RingOutput::Value { version: item(5, 50).version, value: Some(50) })]);
    assert_eq!(puts(&out), vec![(p[1], 0, item(5, 50), None)], "only the stale replier, as read repair (op 0)");
}

#[test]
fn a_read_answer_counts_once_per_replica_and_only_for_its_operation() {
    let mut d = node0(5, cfg());
    let key = 4;
    d.request(req(1), RingInput::Get { key });
    let p = pref(&d, SetKind::Read, key);
    read_ack(&mut d, p[0], 1, key, p[0], item(1, 1));
    assert!(answers(&read_ack(&mut d, p[0], 1, key, p[0], item(1, 1))).is_empty(), "a duplicate");
    assert!(answers(&read_ack(&mut d, p[1], 2, key, p[1], item(1, 1))).is_empty(), "another op id");
    assert!(answers(&read_ack(&mut d, p[1], 1, key + 1, p[1], item(1, 1))).is_empty(), "another key");
    let stranger = (0..5).find(|n| !p.contains(n)).unwrap();
    assert!(answers(&read_ack(&mut d, stranger, 1, key, p[1], item(1, 1))).is_empty(), "not a stand-in");
    assert_eq!(answers(&read_ack(&mut d, p[1], 1, key, p[1], item(1, 1))).len(), 1);
}

#[test]
fn a_put_acknowledgement_counts_only_for_the_version_being_written_and_once_per_node() {
    let mut d = node0(5, cfg());
    let key = 5;
    let p = pref(&d, SetKind::Read, key);
    // An acknowledgement during the read phase promises nothing about this write.
    d.request(req(1), RingInput::Put { key, value: 1 });
    assert!(answers(&put_ack(&mut d, p[0], 1, key, item(9, 0).version)).is_empty());
    read_ack(&mut d, p[0], 1, key, p[0], Item::default());
    let out = read_ack(&mut d, p[1], 1, key, p[1], Item::default());
    let v = puts(&out)[0].2.version;
    assert!(d.node().ops[0].acked.is_empty(), "the read-phase acknowledgement was not kept");
    // An acknowledgement of an older copy of the key (an earlier write, a hand-off) does not.
    let older = Version { counter: v.counter - 1, ..v };
    assert!(answers(&put_ack(&mut d, p[0], 1, key, older)).is_empty());
    assert!(answers(&put_ack(&mut d, p[0], 1, key, v)).is_empty(), "one of W = 2");
    assert!(answers(&put_ack(&mut d, p[0], 1, key, v)).is_empty(), "the same node again is still one");
    assert!(answers(&put_ack(&mut d, p[1], 2, key, v)).is_empty(), "another op id");
    assert!(answers(&put_ack(&mut d, p[1], 1, key + 1, v)).is_empty(), "another key");
    let out = put_ack(&mut d, p[1], 1, key, older);
    assert!(answers(&out).is_empty(), "the second node's older copy does not count either");
    // A newer version durable there includes this write's effect on the order: it counts.
    let newer = Version { counter: v.counter + 1, ..v };
    assert_eq!(answers(&put_ack(&mut d, p[1], 1, key, newer)), vec![Reply::Ok(RingOutput::Written { version: v })]);
}

#[test]
fn a_tick_answers_a_read_whose_quorum_the_view_change_made_smaller() {
    let mut d = node0(3, cfg());
    let key = 0;
    d.request(req(1), RingInput::Get { key });
    read_ack(&mut d, 1, 1, key, 1, item(2, 20));
    set_status(&mut d, 0, Status::Left);
    set_status(&mut d, 2, Status::Left);
    assert_eq!(pref(&d, SetKind::Read, key), vec![1]);
    d.set_now_ms(20);
    let out = d.fire(RingTimer::Tick);
    assert_eq!(answers(&out), vec![Reply::Ok(RingOutput::Value { version: item(2, 20).version, value: Some(20) })]);
}

#[test]
fn answers_from_a_node_that_left_the_read_set_do_not_count() {
    let mut d = node0(5, cfg());
    let key = key_where(&node0(5, cfg()), |p| !p.contains(&0));
    let p = pref(&d, SetKind::Read, key);
    d.request(req(1), RingInput::Get { key });
    read_ack(&mut d, p[0], 1, key, p[0], item(1, 1));
    set_status(&mut d, p[0], Status::Left);
    let p2 = pref(&d, SetKind::Read, key);
    assert!(!p2.contains(&p[0]) && p2.contains(&p[1]));
    assert!(answers(&read_ack(&mut d, p[1], 1, key, p[1], item(1, 1))).is_empty());
    d.set_now_ms(20);
    let out = d.fire(RingTimer::Tick);
    assert!(answers(&out).is_empty(), "one of the current read set's replicas answered, R = 2");
    // The tick asks again exactly those of the current read set that have not answered.
    let mut asked: Vec<u32> = reads(&out).iter().map(|r| r.0).collect();
    asked.sort_unstable();
    let mut want: Vec<u32> = p2.iter().copied().filter(|&n| n != p[1]).collect();
    want.sort_unstable();
    assert_eq!(asked, want);
}

#[test]
fn without_sloppy_quorums_no_stand_in_is_asked_however_long_a_replica_is_silent() {
    let mut d = node0(7, cfg());
    let key = 0;
    d.request(req(1), RingInput::Get { key });
    let p = pref(&d, SetKind::Read, key);
    d.set_now_ms(300);
    let out = d.fire(RingTimer::Tick);
    assert!(d.node().ops[0].standins.is_empty());
    assert!(reads(&out).iter().all(|(to, f)| to == f && p.contains(to)));
    assert!(answers(&out).is_empty(), "no answer at all: not a quorum");
}

#[test]
fn a_sloppy_read_asks_one_stand_in_outside_the_preference_list_per_silent_replica() {
    let mut d = node0(7, sloppy());
    let key = 0;
    d.request(req(1), RingInput::Get { key });
    let p = pref(&d, SetKind::Read, key);
    read_ack(&mut d, p[0], 1, key, p[0], item(1, 1));
    d.set_now_ms(20);
    d.fire(RingTimer::Tick);
    assert!(d.node().ops[0].standins.is_empty(), "not before sloppy_after_ms");
    d.set_now_ms(60);
    let out = d.fire(RingTimer::Tick);
    assert!(answers(&out).is_empty(), "one answer of R = 2 is not a quorum, sloppy or not");
    let standins = d.node().ops[0].standins.clone();
    let mut intended: Vec<u32> = standins.iter().map(|s| s.1).collect();
    intended.sort_unstable();
    let mut silent: Vec<u32> = p[1..].to_vec();
    silent.sort_unstable();
    assert_eq!(intended, silent, "one stand-in for each silent replica, none for the one that answered");
    for &(s, _) in &standins {
        assert!(!p.contains(&s), "a stand-in is never a replica it would double-count");
    }
    assert_ne!(standins[0].0, standins[1].0, "distinct stand-ins");
    assert!(standins.iter().all(|&(s, f)| reads(&out).contains(&(s, f))), "each is asked, for its replica");
    d.set_now_ms(80);
    d.fire(RingTimer::Tick);
    assert_eq!(d.node().ops[0].standins, standins, "one stand-in per replica, however many ticks");
    // The stand-in's answer counts for the replica it stands in for.
    let (s, f) = standins[0];
    let out = read_ack(&mut d, s, 1, key, f, item(2, 2));
    assert_eq!(answers(&out), vec![Reply::Ok(RingOutput::Value { version: item(2, 2).version, value: Some(2) })]);
    assert_eq!(puts(&out), vec![(p[0], 0, item(2, 2), None)], "the stale replica is repaired");
}

#[test]
fn a_sloppy_write_during_a_join_keeps_stand_ins_off_both_write_sets() {
    let mut d = node0(8, RingConfig { initial_members: 6, ..sloppy() });
    set_status(&mut d, 6, Status::Joining);
    let key = (0..16)
        .find(|&k| pref(&d, SetKind::New, k).contains(&6) && !pref(&d, SetKind::Old, k).contains(&0))
        .expect("a key node 6 gains");
    let (old, new) = (pref(&d, SetKind::Old, key), pref(&d, SetKind::New, key));
    let (op, v) = write_in_put_phase(&mut d, key, 1);
    put_ack(&mut d, old[0], op, key, v);
    d.set_now_ms(60);
    d.fire(RingTimer::Tick);
    let standins = d.node().ops[0].standins.clone();
    let mut wanted: Vec<u32> = old.iter().chain(&new).copied().filter(|&n| n != old[0]).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut intended: Vec<u32> = standins.iter().map(|s| s.1).collect();
    intended.sort_unstable();
    assert_eq!(intended, wanted, "a stand-in for every silent replica of either set, the gainer too");
    for &(s, _) in &standins {
        assert!(!old.contains(&s) && !new.contains(&s), "stand-in {s} is a replica: {old:?} {new:?}");
    }
}

#[test]
fn a_stand_in_answers_with_the_hint_it_holds_for_the_replica_it_stands_for() {
    let mut d = node0(5, cfg());
    let key = 3;
    d.node_mut().disk.data.insert(key, item(3, 30));
    d.node_mut().disk.hints.insert((2, key), item(5, 50));
    let ack = |out: Vec<Command<RingStore>>| {
        sends(&out)
            .find_map(|(_, m)| match m {
                RingMsg::ReadAck { item, .. } => Some(*item),
                _ => None,
            })
            .unwrap()
    };
    let read = |d: &mut D, for_node| d.message(NodeId(1), RingMsg::Read { op: 1, key, for_node });
    assert_eq!(ack(read(&mut d, 2)), item(5, 50), "the hint is newer than its own copy");
    assert_eq!(ack(read(&mut d, 0)), item(3, 30), "for itself, its own copy");
    d.node_mut().disk.data.insert(key, item(7, 70));
    assert_eq!(ack(read(&mut d, 2)), item(7, 70), "its own copy is newer than the hint");
}

/// A leave that node 4 makes, as the driver (node 0) streams it: which keys move, from where.
fn streams_of(kind: ChangeKind) -> (D, Vec<KeyStream>) {
    let mut d = node0(5, cfg());
    set_status(&mut d, 4, if kind == ChangeKind::Join { Status::Joining } else { Status::Leaving });
    let c = Change { target: 4, kind, phase: 1 };
    d.step(|n, _| n.start_stream(&c));
    let s = d.node().stream.clone().unwrap();
    (d, s)
}

#[test]
fn streaming_moves_each_key_to_its_gainers_from_its_read_replicas() {
    for kind in [ChangeKind::Leave, ChangeKind::Fail] {
        let (d, streams) = streams_of(kind);
        let mut moved = Vec::new();
        for key in 0..16 {
            let (read, new) = (pref(&d, SetKind::Read, key), pref(&d, SetKind::New, key));
            let gainers: Vec<u32> = new.iter().copied().filter(|g| !read.contains(g)).collect();
            if gainers.is_empty() {
                continue;
            }
            moved.push(key);
            let s = streams.iter().find(|s| s.key == key).expect("a stream per key that moves");
            assert_eq!(s.gainers, gainers);
            // A failed node cannot be read from; a leaving one is, until it has handed off.
            let sources: Vec<u32> = read.iter().copied().filter(|&n| !(kind == ChangeKind::Fail && n == 4)).collect();
            assert_eq!(s.sources, sources, "{kind:?} key {key}");
            if kind == ChangeKind::Leave {
                assert!(s.sources.contains(&4));
            }
        }
        assert!(!moved.is_empty());
        let keys: Vec<u64> = streams.iter().map(|s| s.key).collect();
        assert_eq!(keys, moved, "no stream for a key that does not move");
    }
}

#[test]
fn streaming_counts_each_source_once_and_hands_off_the_newest_copy() {
    let (mut d, streams) = streams_of(ChangeKind::Leave);
    let s = streams[0].clone();
    let stranger = (0..5).find(|n| !s.sources.contains(n)).unwrap();
    let fetch = |d: &mut D, from: u32, it: Item| {
        d.message(NodeId(from), RingMsg::FetchAck { key: s.key, item: it, ready: true });
    };
    fetch(&mut d, s.sources[0], item(4, 40));
    fetch(&mut d, s.sources[0], item(4, 40));
    fetch(&mut d, stranger, item(9, 90));
    let st = &d.node().stream.as_ref().unwrap()[0];
    assert_eq!(st.answered, vec![s.sources[0]], "a duplicate and a non-source do not count");
    assert_eq!(st.best, item(4, 40));
    let out = d.step(|n, ctx| assert!(!n.stream_step(ctx)));
    let refetched: Vec<u32> =
        sends(&out).filter(|(_, m)| matches!(m, RingMsg::Fetch { key } if *key == s.key)).map(|(to, _)| to.0).collect();
    assert_eq!(refetched, s.sources[1..].to_vec(), "R = 2: asks the sources that have not answered");
    assert!(!sends(&out).any(|(_, m)| matches!(m, RingMsg::Handoff { key, .. } if *key == s.key)));
    fetch(&mut d, s.sources[1], item(6, 60));
    fetch(&mut d, s.sources[1], item(2, 20));
    assert_eq!(d.node().stream.as_ref().unwrap()[0].best, item(6, 60), "the newest copy read");
    let out = d.step(|n, ctx| assert!(!n.stream_step(ctx)));
    let handed: Vec<(u32, Item)> = sends(&out)
        .filter_map(|(to, m)| match m {
            RingMsg::Handoff { key, item } if *key == s.key => Some((to.0, *item)),
            _ => None,
        })
        .collect();
    assert_eq!(handed, s.gainers.iter().map(|&g| (g, item(6, 60))).collect::<Vec<_>>());
    // Only a gainer's acknowledgement of that copy (or newer), once, completes the key.
    let g = s.gainers[0];
    let ack = |d: &mut D, from: u32, version: Version| {
        d.message(NodeId(from), RingMsg::HandoffAck { key: s.key, version });
    };
    ack(&mut d, g, item(4, 40).version);
    ack(&mut d, stranger, item(6, 60).version);
    assert!(d.node().stream.as_ref().unwrap()[0].acked.is_empty(), "an older copy, a non-gainer");
    ack(&mut d, g, item(6, 60).version);
    ack(&mut d, g, item(6, 60).version);
    assert_eq!(d.node().stream.as_ref().unwrap()[0].acked, vec![g]);
    d.step(|n, ctx| {
        n.stream_step(ctx);
    });
    assert_eq!(d.node().stream.as_ref().unwrap()[0].done, s.gainers.len() == 1);
}

#[test]
fn a_wiped_node_rebuilds_each_key_from_r_other_replicas_counting_each_once() {
    let mut d = node0(5, cfg());
    d.request(RequestId { client: u32::MAX, seq: 1 }, RingInput::Wipe(0));
    assert!(d.node().disk.recovering);
    d.set_now_ms(20);
    let out = d.fire(RingTimer::Tick);
    let rec = d.node().recovery.clone();
    assert!(!rec.is_empty());
    let s = &rec[0];
    assert!(!s.sources.contains(&0), "never from itself");
    let fetched: Vec<u32> =
        sends(&out).filter(|(_, m)| matches!(m, RingMsg::Fetch { key } if *key == s.key)).map(|(to, _)| to.0).collect();
    assert_eq!(fetched, s.sources);
    let stranger = (1..5).find(|n| !s.sources.contains(n)).unwrap();
    let fetch = |d: &mut D, from: u32, it: Item| {
        d.message(NodeId(from), RingMsg::FetchAck { key: s.key, item: it, ready: true });
    };
    fetch(&mut d, s.sources[0], item(3, 30));
    fetch(&mut d, s.sources[0], item(3, 30));
    fetch(&mut d, stranger, item(9, 90));
    d.message(NodeId(s.sources[1]), RingMsg::FetchAck { key: s.key, item: item(8, 80), ready: false });
    let r = &d.node().recovery[0];
    assert_eq!((r.answered.clone(), r.best), (vec![s.sources[0]], item(3, 30)), "duplicates, strangers, unready");
    fetch(&mut d, s.sources[1], item(5, 50));
    fetch(&mut d, s.sources[1], item(1, 10));
    assert_eq!(d.node().recovery[0].best, item(5, 50));
    d.set_now_ms(40);
    let out = d.fire(RingTimer::Tick);
    assert_eq!(d.node().data().get(&s.key), Some(&item(5, 50)), "the newest of R copies is stored");
    assert!(!sends(&out).any(|(_, m)| matches!(m, RingMsg::Fetch { key } if *key == s.key)));
    assert!(d.node().disk.recovering, "other keys are still being rebuilt");
}

#[test]
fn anti_entropy_offers_a_peer_only_the_keys_it_replicates() {
    let mut d = node0(6, cfg());
    for k in 0..16 {
        d.node_mut().disk.data.insert(k, item(1, k));
    }
    for peer in 1..6 {
        for k in 0..16 {
            let replica = SET_KINDS.iter().any(|&s| pref(&d, s, k).contains(&peer));
            assert_eq!(d.node().shares(k, peer), replica, "key {k} peer {peer}");
        }
    }
    let peer = 1;
    assert!((0..16).any(|k| !d.node().shares(k, peer)), "some key peer 1 does not replicate");
    // A digest from the peer that lacks everything: push only what it replicates.
    let out = d.message(NodeId(peer), RingMsg::Digest { items: Vec::new() });
    let pushed: Vec<u64> = sends(&out)
        .filter_map(|(_, m)| match m {
            RingMsg::Items { items } => Some(items.iter().map(|i| i.0).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(pushed, (0..16).filter(|&k| d.node().shares(k, peer)).collect::<Vec<_>>());
}

#[test]
fn hints_are_offered_again_every_fifth_tick() {
    let mut d = node0(5, cfg());
    d.node_mut().disk.hints.insert((2, 1), item(1, 1));
    let mut offered = 0;
    for t in 1..=10 {
        d.set_now_ms(20 * t);
        let out = d.fire(RingTimer::Tick);
        offered += sends(&out).filter(|(to, m)| to.0 == 2 && matches!(m, RingMsg::HintPut { .. })).count();
    }
    assert_eq!(offered, 2);
}

#[test]
fn a_configuration_the_ring_cannot_run_is_refused_at_start() {
    for bad in [RingConfig { r: 9, ..cfg() }, RingConfig { keys: 0, ..cfg() }, RingConfig { n: 4, ..cfg() }] {
        let err = Driver::<RingStore>::start(NodeId(0), 3, bad.clone(), &[]).err();
        assert!(err.is_some(), "{bad:?} starts");
    }
}

#[test]
fn a_request_outside_the_key_space_or_past_the_in_flight_limit_is_refused() {
    let mut d = node0(5, cfg());
    let keys = d.node().cfg.keys;
    let out = d.request(req(1), RingInput::Get { key: keys });
    assert_eq!(answers(&out), vec![Reply::Reject { hint: None }], "key {keys} is outside 0..{keys}");
    assert!(d.node().ops.is_empty());
    for seq in 0..MAX_INFLIGHT as u32 {
        let out = d.request(req(10 + seq), RingInput::Get { key: u64::from(seq) % keys });
        assert!(answers(&out).is_empty(), "operation {seq} is taken");
    }
    assert_eq!(d.node().ops.len(), MAX_INFLIGHT);
    let out = d.request(req(1), RingInput::Get { key: 0 });
    assert_eq!(answers(&out), vec![Reply::Reject { hint: None }], "one past the limit");
}

#[test]
fn anti_entropy_pushes_what_the_peer_has_older_and_pulls_what_it_has_newer() {
    let mut d = node0(6, cfg());
    let peer = 1;
    let shared: Vec<u64> = (0..16).filter(|&k| d.node().shares(k, peer)).collect();
    assert!(shared.len() >= 3, "{shared:?}");
    let (older, same, newer) = (shared[0], shared[1], shared[2]);
    for k in [older, same, newer] {
        d.node_mut().disk.data.insert(k, item(5, k));
    }
    let digest = vec![(older, item(4, 0).version), (same, item(5, 0).version), (newer, item(6, 0).version)];
    let out = d.message(NodeId(peer), RingMsg::Digest { items: digest });
    let mut pushed = Vec::new();
    let mut pulled = Vec::new();
    for (to, m) in sends(&out) {
        assert_eq!(to.0, peer);
        match m {
            RingMsg::Items { items } => pushed.extend(items.iter().map(|i| i.0)),
            RingMsg::Pull { keys } => pulled.extend(keys.iter().copied()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pushed, vec![older]);
    assert_eq!(pulled, vec![newer]);
}

#[test]
fn items_received_are_stored_and_synced_before_anything_else() {
    let mut d = node0(5, cfg());
    let out = d.message(NodeId(1), RingMsg::Items { items: vec![(3, item(2, 9)), (4, item(1, 8))] });
    let disk = applied(RingDisk::default(), &out);
    assert_eq!(disk.data.get(&3), Some(&item(2, 9)));
    assert_eq!(disk.data.get(&4), Some(&item(1, 8)));
    assert!(matches!(out.last(), Some(Command::Sync)), "{out:?}");
    // Nothing newer: nothing written, nothing synced.
    let out = d.message(NodeId(1), RingMsg::Items { items: vec![(3, item(1, 0))] });
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn gossip_is_answered_only_when_asked_and_the_sender_is_behind() {
    let mut d = node0(5, cfg());
    let old = d.node().view.entries().to_vec();
    set_status(&mut d, 4, Status::Leaving);
    let gossip_back =
        |out: &[Command<RingStore>]| sends(out).filter(|(_, m)| matches!(m, RingMsg::Gossip { .. })).count();
    let out = d.message(NodeId(1), RingMsg::Gossip { view: old.clone(), reply: false });
    assert_eq!(gossip_back(&out), 0, "an answer to an answer would echo forever");
    let out = d.message(NodeId(1), RingMsg::Gossip { view: old, reply: true });
    assert_eq!(gossip_back(&out), 1, "the sender is behind and asked");
    let current = d.node().view.entries().to_vec();
    let out = d.message(NodeId(1), RingMsg::Gossip { view: current, reply: true });
    assert_eq!(gossip_back(&out), 0, "the sender is up to date");
}
