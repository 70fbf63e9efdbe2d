//! Each fault really happens, and does exactly what it says.

mod probe;

use faultline_sim::prelude::*;
use faultline_sim::scenario::Scenario;
use probe::{sim, Probe};

fn received(s: &Simulation<Probe>, at: u32) -> Vec<u64> {
    s.node(NodeId(at)).expect("node up").received.clone()
}

#[test]
fn a_partition_blocks_exactly_the_links_it_names() {
    // Groups {0} | {1, 2} from 1s to 3s.
    let mut s = sim(
        "[[faults]]\nat_ms = 1000\nkind = \"partition\"\nshape = \"groups\"\ngroups = [[0], [1, 2]]\nfor_ms = 2000\n",
        1,
    );
    s.run_until(Time::from_ms(1_010));
    let before: Vec<Vec<u64>> = (0..3).map(|i| received(&s, i)).collect();
    s.run_until(Time::from_ms(2_990));
    let during: Vec<Vec<u64>> = (0..3).map(|i| received(&s, i)).collect();
    for to in 0..3usize {
        for from in 0..3usize {
            if to == from {
                continue;
            }
            let grew = during[to][from] > before[to][from];
            let same_side = (to == 0) == (from == 0);
            assert_eq!(grew, same_side, "{from}->{to}: before {} during {}", before[to][from], during[to][from]);
        }
    }
    s.run_until(Time::from_ms(3_500));
    let after: Vec<Vec<u64>> = (0..3).map(|i| received(&s, i)).collect();
    assert!(after[0][1] > during[0][1] && after[1][0] > during[1][0], "heal restores the links");
    assert!(s.links().is_healed());
}

#[test]
fn a_one_way_partition_blocks_one_direction_only() {
    let mut s = sim("[[faults]]\nat_ms = 1000\nkind = \"partition\"\nshape = \"one-way\"\nfrom = [0]\nto = [1]\n", 2);
    s.run_until(Time::from_ms(1_010));
    let (b01, b10) = (received(&s, 1)[0], received(&s, 0)[1]);
    s.run_until(Time::from_ms(5_000));
    assert_eq!(received(&s, 1)[0], b01, "0 -> 1 is cut");
    assert!(received(&s, 0)[1] > b10 + 100, "1 -> 0 still works");
    assert!(received(&s, 2)[0] > 100, "0 -> 2 still works");
}

#[test]
fn loss_and_duplication_happen_at_their_rates() {
    let report =
        Simulation::<Probe>::new(&probe::scenario("").clone_with("network.loss", "0.2"), &RunOptions::seeded(3))
            .unwrap()
            .run();
    let m = report.messages;
    let rate = m.dropped as f64 / m.sent as f64;
    assert!((0.18..0.22).contains(&rate), "loss {rate} over {} messages", m.sent);

    let report =
        Simulation::<Probe>::new(&probe::scenario("").clone_with("network.duplicate", "0.1"), &RunOptions::seeded(3))
            .unwrap()
            .run();
    let m = report.messages;
    let rate = m.duplicated as f64 / m.sent as f64;
    assert!((0.09..0.11).contains(&rate), "duplication {rate} over {} messages", m.sent);
    // Nothing is lost without loss; at most one tick's pings (3 nodes × 2 peers, doubled) are
    // still in flight when the run ends.
    assert!(m.delivered <= m.sent + m.duplicated && m.delivered + 12 >= m.sent + m.duplicated, "{m:?}");
    assert_eq!(m.dropped, 0);
}

#[test]
fn drift_shows_in_local_clocks_and_timers() {
    // Node 1 runs 1% fast, node 2 1% slow, node 0 exact.
    let mut s = sim(
        "[[clocks.node]]\nnode = 1\ndrift_ppm = 10000\n[[clocks.node]]\nnode = 2\ndrift_ppm = -10000\n[config]\ntick_ms = 10\n",
        4,
    );
    let t0: Vec<u64> = (0..3).map(|i| s.local_clock(NodeId(i)).as_ns()).collect();
    s.run_until(Time::from_ms(10_000));
    let t1: Vec<u64> = (0..3).map(|i| s.local_clock(NodeId(i)).as_ns()).collect();
    assert_eq!(t1[0] - t0[0], 10_000_000_000);
    assert_eq!(t1[1] - t0[1], 10_100_000_000);
    assert_eq!(t1[2] - t0[2], 9_900_000_000);
    // Timers run on local time: the fast node ticks about 1% more often.
    let ticks: Vec<u64> = (0..3).map(|i| s.node(NodeId(i)).unwrap().ticks).collect();
    assert_eq!(ticks[0], 1000);
    assert!((1009..=1011).contains(&ticks[1]), "{ticks:?}");
    assert!((989..=991).contains(&ticks[2]), "{ticks:?}");
}

#[test]
fn a_clock_jump_moves_readings_not_true_time() {
    let mut s = sim("[[faults]]\nat_ms = 1000\nkind = \"clock-jump\"\nnode = 0\ndelta_ms = -500\n", 5);
    s.run_until(Time::from_ms(999));
    let before = s.local_clock(NodeId(0)).as_ns();
    s.run_until(Time::from_ms(1_001));
    let after = s.local_clock(NodeId(0)).as_ns();
    assert_eq!(after as i64 - before as i64, 2_000_000 - 500_000_000);
    assert_eq!(s.now(), Time::from_ms(1_001));
}

#[test]
fn a_crash_loses_volatile_and_unsynced_state_but_keeps_synced() {
    // Tick every 10ms; the counter is synced on even values only. Crash at 1005ms: 100 ticks
    // done, counter 100 synced. Crash at 1015ms instead: 101 written, 100 synced.
    let mut s = sim("[[faults]]\nat_ms = 1015\nkind = \"crash\"\nnode = 1\nfor_ms = 100\n[config]\ntick_ms = 10\n", 6);
    s.run_until(Time::from_ms(1_014));
    let up = s.node(NodeId(1)).unwrap();
    assert_eq!((up.counter, s.synced(NodeId(1)).counter), (101, 100));
    assert!(up.received[0] > 0);
    s.run_until(Time::from_ms(1_016));
    assert!(s.node(NodeId(1)).is_none(), "crashed");
    assert_eq!(s.synced(NodeId(1)).counter, 100, "synced survives, unsynced 101 is lost");
    let peer_before = s.node(NodeId(0)).unwrap().received[1];
    s.run_until(Time::from_ms(1_110));
    assert_eq!(s.node(NodeId(0)).unwrap().received[1], peer_before, "a crashed node sends nothing");
    s.run_until(Time::from_ms(1_116));
    let back = s.node(NodeId(1)).expect("restarted");
    assert!(back.restarted);
    assert_eq!(back.counter, 100, "restarted from synced state only");
    assert_eq!(back.received, vec![0, 0, 0], "volatile state is gone");
}

#[test]
fn torn_writes_keep_a_prefix_of_unsynced_writes() {
    // With torn writes on, the synced counter after the crash is 100 or 101, never more.
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let mut s = sim("[disk]\ntorn_writes = true\n[[faults]]\nat_ms = 1015\nkind = \"crash\"\nnode = 1\n[config]\ntick_ms = 10\n", seed);
        s.run_until(Time::from_ms(1_020));
        seen.insert(s.synced(NodeId(1)).counter);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![100, 101]);
}

#[test]
fn a_pause_freezes_a_node_and_then_it_catches_up() {
    let mut s = sim("[[faults]]\nat_ms = 1000\nkind = \"pause\"\nnode = 2\nfor_ms = 2000\n[config]\ntick_ms = 10\n", 7);
    s.run_until(Time::from_ms(1_001));
    let frozen = s.node(NodeId(2)).unwrap();
    let (ticks, got) = (frozen.ticks, frozen.received.clone());
    s.run_until(Time::from_ms(2_999));
    assert!(s.is_paused(NodeId(2)));
    let still = s.node(NodeId(2)).unwrap();
    assert_eq!((still.ticks, &still.received), (ticks, &got), "nothing handled while paused");
    let sent_by_2 = s.node(NodeId(0)).unwrap().received[2];
    s.run_until(Time::from_ms(3_000));
    let woke = s.node(NodeId(2)).unwrap();
    assert!(!s.is_paused(NodeId(2)));
    assert!(woke.received[0] >= got[0] + 190, "messages that waited are handled on resume");
    assert_eq!(woke.ticks, ticks + 1, "a due timer fires once on resume");
    assert!(s.node(NodeId(0)).unwrap().received[2] <= sent_by_2 + 1);
}

/// Small helper: a scenario with one dotted key overridden.
trait CloneWith {
    fn clone_with(&self, key: &str, value: &str) -> Scenario;
}

impl CloneWith for Scenario {
    fn clone_with(&self, key: &str, value: &str) -> Scenario {
        let (table, field) = key.split_once('.').unwrap();
        let mut text = self.source.as_ref().unwrap().text.clone();
        text = text.replace(&format!("[{table}]\n"), &format!("[{table}]\n{field} = {value}\n"));
        Scenario::from_toml_str("probe.toml", &text).unwrap()
    }
}
