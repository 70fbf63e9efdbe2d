//! Correct Paxos and Multi-Paxos pass every shipped scenario on 500 seeds, and the scenarios
//! really exercise what they claim (their `sometimes` marks are hit).

mod common;

use common::all_pass;
use faultline_paxos::{MultiPaxos, Paxos};

/// Seeds per scenario in the test suite (longer sweeps are reported, not run here).
const SEEDS: u64 = 500;

fn hit(marks: &std::collections::BTreeMap<String, u64>, mark: &str) -> u64 {
    marks.get(mark).copied().unwrap_or(0)
}

#[test]
fn paxos_dueling() {
    let m = all_pass::<Paxos>("paxos-dueling", SEEDS);
    assert_eq!(hit(&m, "paxos.preempted"), SEEDS, "every run duels");
    assert_eq!(hit(&m, "paxos.learned"), SEEDS);
}

#[test]
fn paxos_three_ballots() {
    let m = all_pass::<Paxos>("paxos-three-ballots", SEEDS);
    assert_eq!(hit(&m, "paxos.adopted-other-value"), SEEDS, "the script makes proposers adopt");
}

#[test]
fn paxos_acceptor_restart() {
    let m = all_pass::<Paxos>("paxos-acceptor-restart", SEEDS);
    assert_eq!(hit(&m, "sim.restart"), SEEDS);
}

#[test]
fn paxos_chaos() {
    let m = all_pass::<Paxos>("paxos-chaos", SEEDS);
    assert!(hit(&m, "paxos.retry-timeout") > SEEDS / 10, "{m:?}");
}

#[test]
fn paxos_partitions() {
    let m = all_pass::<Paxos>("paxos-partitions", SEEDS);
    assert!(hit(&m, "paxos.adopted-other-value") > SEEDS / 10, "{m:?}");
}

#[test]
fn multipaxos_steady() {
    let m = all_pass::<MultiPaxos>("multipaxos-steady", SEEDS);
    assert_eq!(hit(&m, "multipaxos.leader-elected"), SEEDS);
}

#[test]
fn multipaxos_failover() {
    let m = all_pass::<MultiPaxos>("multipaxos-failover", SEEDS);
    assert!(hit(&m, "multipaxos.leader-deposed") > SEEDS / 2, "{m:?}");
    assert!(hit(&m, "multipaxos.hole-filled") > 0, "{m:?}");
    assert!(hit(&m, "sim.restart") > SEEDS / 2, "{m:?}");
}

#[test]
fn multipaxos_lossy() {
    let m = all_pass::<MultiPaxos>("multipaxos-lossy", SEEDS);
    assert!(hit(&m, "multipaxos.retry-answered") > SEEDS / 2, "{m:?}");
}

#[test]
fn multipaxos_partitions() {
    let m = all_pass::<MultiPaxos>("multipaxos-partitions", SEEDS);
    assert!(hit(&m, "multipaxos.leader-deposed") > SEEDS / 2, "{m:?}");
    assert!(hit(&m, "multipaxos.catch-up") > SEEDS / 2, "{m:?}");
}

#[test]
fn multipaxos_crash() {
    let m = all_pass::<MultiPaxos>("multipaxos-crash", SEEDS);
    assert_eq!(hit(&m, "sim.restart"), SEEDS);
}
