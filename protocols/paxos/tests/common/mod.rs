//! Helpers shared by the integration tests: loading the shipped scenarios and sweeping seeds.

#![allow(dead_code)]

use faultline_sim::prelude::*;
use std::path::PathBuf;

/// The repository's `scenarios/` directory.
pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// Loads `scenarios/NAME.toml`.
pub fn scenario(name: &str) -> Scenario {
    let path = scenarios_dir().join(format!("{name}.toml"));
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs one seed.
pub fn run<P: Protocol>(s: &Scenario, seed: u64, bugs: &[&str]) -> RunReport {
    let opts = RunOptions { seed, bugs: bugs.iter().map(|b| b.to_string()).collect() };
    Simulation::<P>::new(s, &opts).unwrap_or_else(|e| panic!("{e}")).run()
}

/// Runs seeds `0..seeds` without bugs and asserts every run passes; returns how many runs hit
/// each `sometimes` mark.
pub fn all_pass<P: Protocol>(name: &str, seeds: u64) -> std::collections::BTreeMap<String, u64> {
    let s = scenario(name);
    assert_eq!(s.name, name, "a scenario's name is its file stem");
    assert!(!s.description.is_empty(), "{name} has a description");
    let mut marks = std::collections::BTreeMap::new();
    for seed in 0..seeds {
        let r = run::<P>(&s, seed, &[]);
        assert_eq!(
            r.verdict,
            Verdict::Pass,
            "{name} seed {seed}: {:?} {:?}\n{}",
            r.violations,
            r.unknown_reason,
            r.to_text()
        );
        for k in r.marks.0.keys() {
            *marks.entry(k.clone()).or_insert(0) += 1;
        }
    }
    marks
}

/// The first seed in `0..budget` whose run with `bug` fails, and its report.
pub fn first_failure<P: Protocol>(name: &str, bug: &str, budget: u64) -> Option<(u64, RunReport)> {
    let s = scenario(name);
    (0..budget).find_map(|seed| {
        let r = run::<P>(&s, seed, &[bug]);
        (r.verdict == Verdict::Fail).then_some((seed, r))
    })
}

/// Every planted bug of `P` is caught in the first scenario its `BugInfo` names, within `budget`
/// seeds, by the invariant it claims. Returns `(bug, seeds to first failure)`.
pub fn bugs_are_caught<P: Protocol>(budget: u64) -> Vec<(&'static str, u64)> {
    let mut found = Vec::new();
    for bug in P::BUGS {
        let scenario = bug.scenarios[0];
        let (seed, r) = first_failure::<P>(scenario, bug.name, budget)
            .unwrap_or_else(|| panic!("{} not caught in {scenario} within {budget} seeds", bug.name));
        assert_eq!(
            r.first_invariant(),
            Some(bug.caught_by),
            "{} in {scenario} seed {seed} was caught by the wrong check: {:?}",
            bug.name,
            r.violations
        );
        println!("{} ({}): caught by {} at seed {seed} ({} runs)", P::NAME, bug.name, bug.caught_by, seed + 1);
        found.push((bug.name, seed + 1));
    }
    found
}
