//! Runs a lock scenario over a range of seeds and prints the verdicts, the first violations,
//! availability of acquires and events/s.
//!
//! `cargo run --release -p faultline-lock --example sweep -- scenarios/lock-failover.toml 200 [bug]`

use faultline_lock::{Lock, LockOp};
use faultline_sim::prelude::*;
use std::collections::BTreeMap;

// Wall-clock time here only measures the sweep's speed (events/s); it never enters a run.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("scenario path");
    let seeds: u64 = args.get(2).map_or(100, |s| s.parse().expect("seed count"));
    let bugs: Vec<String> = args.get(3).map(|b| vec![b.clone()]).unwrap_or_default();
    let scenario = Scenario::load(std::path::Path::new(path)).expect("scenario loads");
    let start = std::time::Instant::now();
    let (mut events, mut verdicts, mut firsts) = (0u64, BTreeMap::new(), BTreeMap::new());
    let (mut acq_invoked, mut acq_ok, mut marks) = (0u64, 0u64, BTreeMap::<String, u64>::new());
    let mut first_fail = None;
    for seed in 0..seeds {
        let opts = RunOptions { seed, bugs: bugs.clone() };
        let sim = Simulation::<Lock>::new(&scenario, &opts).expect("scenario fits");
        let mut sim = sim;
        sim.run_until(scenario.duration());
        for op in &sim.history().ops {
            if matches!(op.input, LockOp::Acquire { .. } | LockOp::TryAcquire { .. }) {
                acq_invoked += 1;
                if op.outcome == Outcome::Ok {
                    acq_ok += 1;
                }
            }
        }
        let r = sim.finish();
        events += r.events;
        *verdicts.entry(r.verdict.as_str()).or_insert(0u64) += 1;
        for (k, v) in &r.marks.0 {
            *marks.entry(k.clone()).or_default() += v;
        }
        let first = r.first_invariant().unwrap_or("-").to_string();
        if r.verdict != Verdict::Pass && first_fail.is_none() {
            first_fail = Some((seed, r.to_text()));
        }
        *firsts.entry(first).or_insert(0u64) += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{path} seeds={seeds} bugs={bugs:?}");
    println!("verdicts: {verdicts:?}");
    println!("first violations: {firsts:?}");
    println!(
        "acquire availability (ok/invoked): {acq_ok}/{acq_invoked} = {:.3}",
        acq_ok as f64 / acq_invoked.max(1) as f64
    );
    println!("marks: {marks:?}");
    println!("events={events} wall={secs:.2}s events/s={:.0}", events as f64 / secs);
    if let Some((seed, s)) = first_fail {
        println!("--- first non-pass seed {seed}:\n{s}");
    }
}
