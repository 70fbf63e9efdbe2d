//! Shared helpers for the ring's integration tests.
#![allow(dead_code)]

use faultline_ring::RingStore;
use faultline_sim::prelude::*;

/// Loads `scenarios/NAME.toml`.
pub fn scenario(name: &str) -> Scenario {
    let path = format!("{}/../../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Scenario::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs one seed with the given bugs.
pub fn run(s: &Scenario, seed: u64, bugs: &[&str]) -> RunReport {
    let opts = RunOptions { seed, bugs: bugs.iter().map(|b| b.to_string()).collect() };
    Simulation::<RingStore>::new(s, &opts).expect("scenario fits the protocol").run()
}

/// The first seed in `0..budget` whose run fails, with its report.
pub fn first_failure(s: &Scenario, bugs: &[&str], budget: u64) -> Option<(u64, RunReport)> {
    (0..budget).find_map(|seed| {
        let r = run(s, seed, bugs);
        (r.verdict == Verdict::Fail).then_some((seed, r))
    })
}
