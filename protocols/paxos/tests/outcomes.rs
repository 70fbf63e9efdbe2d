//! Outcomes the safety checks cannot see, checked on the nodes themselves by stepping the
//! simulation: who leads, how far behind a replica falls, whether every replica catches up. A
//! protocol can be safe and still lose these (a leader that never tells the followers, a replica
//! that never catches up after a partition), so a `sometimes` mark that the path ran is not enough.

mod common;

use common::scenario;
use faultline_paxos::{MultiPaxos, Paxos};
use faultline_sim::prelude::*;

const SEEDS: u64 = 60;

fn sim<P: Protocol>(name: &str, seed: u64) -> Simulation<P> {
    Simulation::<P>::new(&scenario(name), &RunOptions::seeded(seed)).unwrap_or_else(|e| panic!("{e}"))
}

fn ids(n: u32) -> impl Iterator<Item = NodeId> {
    (0..n).map(NodeId)
}

/// With no faults one leader is elected and keeps leading, and a follower is never more than one
/// message delay behind it: every slot the leader applies reaches every follower in at most the
/// network's largest delay (5 ms in `multipaxos-steady`), plus the 1 ms sampling step.
#[test]
fn a_fault_free_leader_leads_alone_and_followers_keep_up() {
    const MAX_DELAY_MS: u64 = 5;
    for seed in 0..SEEDS {
        let s = scenario("multipaxos-steady");
        let (nodes, end_ms) = (s.nodes.0, s.duration_ms.0);
        let mut w = sim::<MultiPaxos>("multipaxos-steady", seed);
        // reached[node][k]: the first sampled time (ms) at which node's applied prefix was > k.
        let mut reached: Vec<Vec<u64>> = vec![Vec::new(); nodes as usize];
        let mut leader = None;
        for t in 1..=end_ms {
            w.run_until(Time::from_ms(t));
            for id in ids(nodes) {
                let node = w.node(id).expect("no crashes here");
                let r = &mut reached[id.index()];
                while (r.len() as u64) < node.applied() {
                    r.push(t);
                }
            }
            if t >= 400 {
                let leaders: Vec<NodeId> = ids(nodes).filter(|&id| w.node(id).expect("up").is_leader()).collect();
                assert_eq!(leaders.len(), 1, "seed {seed} at {t} ms: leaders {leaders:?}");
                assert!(leader.is_none_or(|l| l == leaders[0]), "seed {seed} at {t} ms: leadership moved");
                leader = Some(leaders[0]);
            }
        }
        let leader = leader.expect("a leader");
        let led = &reached[leader.index()];
        assert!(led.len() > 100, "seed {seed}: the leader applied only {} commands", led.len());
        for id in ids(nodes).filter(|&id| id != leader) {
            let mine = &reached[id.index()];
            for (k, &at) in led.iter().enumerate() {
                let due = at + MAX_DELAY_MS + 1;
                if due > end_ms {
                    break;
                }
                let got = mine.get(k).copied();
                assert!(
                    got.is_some_and(|g| g <= due),
                    "seed {seed}: {id} applied slot {k} at {got:?} ms, the leader at {at} ms"
                );
            }
            for slot in 0..mine.len() as u64 {
                let (a, b) = (w.node(id).and_then(|n| n.learned(slot)), w.node(leader).and_then(|n| n.learned(slot)));
                assert_eq!(a, b, "seed {seed}: {id} and the leader disagree on slot {slot}");
            }
        }
    }
}

/// After the nemesis stops (its last fault heals by 2,000 ms in these scenarios), every replica
/// catches up: by the end each has applied at least what the furthest replica had applied
/// 300 ms earlier, and they agree on it.
#[test]
fn replicas_catch_up_after_faults() {
    for name in ["multipaxos-partitions", "multipaxos-crash", "multipaxos-failover"] {
        let s = scenario(name);
        let (nodes, end_ms) = (s.nodes.0, s.duration_ms.0);
        for seed in 0..SEEDS {
            let mut w = sim::<MultiPaxos>(name, seed);
            w.run_until(Time::from_ms(end_ms - 300));
            let target = ids(nodes).filter_map(|id| w.node(id)).map(|n| n.applied()).max().expect("a node is up");
            w.run_until(Time::from_ms(end_ms));
            let best = ids(nodes).filter_map(|id| w.node(id)).max_by_key(|n| n.applied()).expect("up");
            for id in ids(nodes) {
                let n = w.node(id).unwrap_or_else(|| panic!("{name} seed {seed}: {id} is down at the end"));
                assert!(
                    n.applied() >= target,
                    "{name} seed {seed}: {id} applied {} by the end; {target} were applied 300 ms earlier",
                    n.applied()
                );
                for slot in 0..n.applied() {
                    assert_eq!(n.learned(slot), best.learned(slot), "{name} seed {seed}: {id} slot {slot}");
                }
            }
        }
    }
}

/// A Paxos proposer running a ballot reports itself as leader (fault targets `leader` aim at it),
/// and one that has learned the decision no longer does.
#[test]
fn a_paxos_proposer_in_a_ballot_is_the_leader() {
    for seed in 0..SEEDS {
        let s = scenario("paxos-dueling");
        let mut w = sim::<Paxos>("paxos-dueling", seed);
        let mut led = false;
        for t in 1..=s.duration_ms.0 {
            w.run_until(Time::from_ms(t));
            led |= ids(s.nodes.0).any(|id| w.node(id).is_some_and(|n| n.is_leader()));
            for n in ids(s.nodes.0).filter_map(|id| w.node(id)) {
                assert!(!(n.is_leader() && n.learned().is_some()), "seed {seed} at {t} ms: a leader that learned");
            }
        }
        assert!(led, "seed {seed}: no proposer ever ran a ballot");
    }
}
