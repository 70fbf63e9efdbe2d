//! Every planted bug is caught by the check that claims it, within a stated seed budget, in the
//! scenario its `BugInfo` names.

use faultline_raft::{Raft, RAFT_BUGS};
use faultline_sim::prelude::*;
use std::path::PathBuf;

fn scenario(name: &str) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(format!("{name}.toml"));
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs seeds `0..budget` with `bug` on; returns the first failing seed and its first invariant.
fn first_failure(scenario_name: &str, bug: &str, budget: u64) -> Option<(u64, String)> {
    let s = scenario(scenario_name);
    (0..budget).find_map(|seed| {
        let opts = RunOptions { seed, bugs: vec![bug.to_string()] };
        let r = Simulation::<Raft>::new(&s, &opts).unwrap().run();
        (r.verdict == Verdict::Fail).then(|| (seed, r.first_invariant().unwrap_or("").to_string()))
    })
}

fn caught(bug: &str, budget: u64) {
    let info = RAFT_BUGS.iter().find(|b| b.name == bug).expect("declared");
    let scenario = info.scenarios[0];
    let (seed, inv) = first_failure(scenario, bug, budget)
        .unwrap_or_else(|| panic!("{bug} not caught in {budget} seeds of {scenario}"));
    assert_eq!(inv, info.caught_by, "{bug}: seed {seed} failed {inv}, expected {}", info.caught_by);
    eprintln!("{bug}: caught by {inv} in {scenario} at seed {seed} ({} seeds)", seed + 1);
}

#[test]
fn commit_prior_term() {
    // The scripted Figure 8 catches it on every seed ...
    caught("raft.commit-prior-term", 5);
    // ... and the same crashes left to chance find it too, within the budget.
    let (seed, inv) = first_failure("raft-leader-crashes", "raft.commit-prior-term", 1000).expect("caught by chance");
    assert_eq!(inv, "raft.leader-completeness", "seed {seed}");
    eprintln!("raft.commit-prior-term: caught by {inv} in raft-leader-crashes at seed {seed}");
}
#[test]
fn term_in_memory() {
    caught("raft.term-in-memory", 5);
}
#[test]
fn vote_persisted_after_reply() {
    caught("raft.vote-persisted-after-reply", 5);
}
#[test]
fn vote_skips_log_check() {
    caught("raft.vote-skips-log-check", 20);
}
#[test]
fn follower_commit_no_min() {
    caught("raft.follower-commit-no-min", 20);
}
#[test]
fn truncate_always() {
    caught("raft.truncate-always", 5);
}
#[test]
fn send_before_sync() {
    caught("raft.send-before-sync", 5);
}
#[test]
fn lease_without_check_quorum() {
    caught("raft.lease-without-check-quorum", 20);
}
#[test]
fn lease_no_drift_margin() {
    caught("raft.lease-no-drift-margin", 20);
}
#[test]
fn lease_through_transfer() {
    caught("raft.lease-through-transfer", 20);
}
#[test]
fn lease_wall_clock() {
    caught("raft.lease-wall-clock", 20);
}
#[test]
fn config_before_term_commit() {
    caught("raft.config-before-term-commit", 20);
}
#[test]
fn no_dedup() {
    caught("raft.no-dedup", 20);
}

#[test]
fn every_bug_has_a_test_and_a_scenario_file() {
    let tested = [
        "raft.commit-prior-term",
        "raft.term-in-memory",
        "raft.vote-persisted-after-reply",
        "raft.vote-skips-log-check",
        "raft.follower-commit-no-min",
        "raft.truncate-always",
        "raft.send-before-sync",
        "raft.lease-without-check-quorum",
        "raft.lease-no-drift-margin",
        "raft.lease-through-transfer",
        "raft.lease-wall-clock",
        "raft.config-before-term-commit",
        "raft.no-dedup",
    ];
    assert_eq!(RAFT_BUGS.iter().map(|b| b.name).collect::<Vec<_>>(), tested);
    for b in RAFT_BUGS {
        for s in b.scenarios {
            scenario(s);
        }
    }
}

#[test]
fn unknown_bugs_are_refused() {
    let s = scenario("raft-steady");
    let err = Simulation::<Raft>::new(&s, &RunOptions { seed: 0, bugs: vec!["raft.nope".into()] }).err().unwrap();
    assert!(err.message.contains("unknown bug"), "{err}");
}
