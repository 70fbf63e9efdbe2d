//! Every planted bug is caught, within a budget of 1,000 seeds, in the scenario its `BugInfo`
//! names first, by the invariant it claims; and the livelock bug is only ever a liveness finding.

mod common;

use common::{bugs_are_caught, run, scenario};
use faultline_paxos::{MultiPaxos, Paxos};
use faultline_sim::prelude::*;

/// Seeds a planted bug may take to be caught.
const BUDGET: u64 = 1_000;

#[test]
fn paxos_bugs_are_caught() {
    let found = bugs_are_caught::<Paxos>(BUDGET);
    assert!(found.len() >= 6);
}

#[test]
fn multipaxos_bugs_are_caught() {
    let found = bugs_are_caught::<MultiPaxos>(BUDGET);
    assert!(found.len() >= 6);
}

#[test]
fn bug_tables_name_shipped_scenarios_of_their_protocol() {
    fn check<P: Protocol>() {
        for bug in P::BUGS {
            assert!(bug.name.starts_with(&format!("{}.", P::NAME)), "{}", bug.name);
            assert!(!bug.scenarios.is_empty(), "{}", bug.name);
            for name in bug.scenarios {
                assert_eq!(scenario(name).protocol, P::NAME, "{} names {name}", bug.name);
            }
        }
    }
    check::<Paxos>();
    check::<MultiPaxos>();
}

#[test]
fn the_duelling_livelock_is_a_liveness_finding_never_a_safety_one() {
    let s = scenario("paxos-dueling");
    for seed in 0..50 {
        let r = run::<Paxos>(&s, seed, &["paxos.no-backoff"]);
        assert_eq!(r.verdict, Verdict::Fail, "seed {seed}: the livelock should be caught");
        for v in &r.violations {
            assert_eq!(v.invariant, "sim.liveness", "seed {seed}: {v:?}");
        }
    }
}

#[test]
fn the_three_ballot_script_catches_both_adoption_bugs_on_every_seed() {
    let s = scenario("paxos-three-ballots");
    for bug in ["paxos.own-value", "paxos.first-value"] {
        for seed in 0..20 {
            let r = run::<Paxos>(&s, seed, &[bug]);
            assert_eq!(r.first_invariant(), Some("paxos.proposal-safe"), "{bug} seed {seed}");
        }
    }
}
