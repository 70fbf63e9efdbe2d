//! The register's planted bugs are caught by the checks that claim them.

use faultline_sim::example::Register;
use faultline_sim::prelude::*;

fn first_failing_seed(text: &str, bug: &str, budget: u64) -> Option<(u64, RunReport)> {
    let s = Scenario::from_toml_str("bug.toml", text).unwrap();
    (0..budget).find_map(|seed| {
        let opts = RunOptions { seed, bugs: vec![bug.to_string()] };
        let r = Simulation::<Register>::new(&s, &opts).unwrap().run();
        (r.verdict == Verdict::Fail).then_some((seed, r))
    })
}

const STEADY: &str = "name = \"s\"\nprotocol = \"register\"\nnodes = 3\nduration_ms = 2000\n[workload]\nclients = 3\n";
const CRASHY: &str = "name = \"c\"\nprotocol = \"register\"\nnodes = 3\nduration_ms = 4000\n\
    [workload]\nclients = 3\ntimeout_ms = 100\n[nemesis]\ncrash = 1\ntarget = 0\ninterval_ms = [100, 300]\nduration_ms = [20, 200]\n";

#[test]
fn ack_before_sync_is_caught_by_ack_durable() {
    let (seed, r) = first_failing_seed(STEADY, "register.ack-before-sync", 5).expect("caught");
    assert_eq!(r.first_invariant(), Some("register.ack-durable"), "seed {seed}");
}

#[test]
fn no_sync_is_caught_by_monotonic() {
    let (seed, r) = first_failing_seed(CRASHY, "register.no-sync", 50).expect("caught within 50 seeds");
    assert_eq!(r.first_invariant(), Some("register.monotonic"), "seed {seed}");
}

#[test]
fn the_same_scenarios_pass_without_the_bugs() {
    for text in [STEADY, CRASHY] {
        let s = Scenario::from_toml_str("ok.toml", text).unwrap();
        for seed in 0..20 {
            let r = Simulation::<Register>::new(&s, &RunOptions::seeded(seed)).unwrap().run();
            assert_eq!(r.verdict, Verdict::Pass, "seed {seed}: {:?}", r.violations);
        }
    }
}

#[test]
fn unknown_bug_names_are_refused() {
    let s = Scenario::from_toml_str("ok.toml", STEADY).unwrap();
    let err =
        Simulation::<Register>::new(&s, &RunOptions { seed: 0, bugs: vec!["register.nope".into()] }).err().unwrap();
    assert!(err.message.contains("unknown bug `register.nope`"), "{err}");
}
