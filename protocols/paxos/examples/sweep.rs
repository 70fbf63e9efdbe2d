//! Runs a scenario over a range of seeds and summarizes: `cargo run --release -p faultline-paxos
//! --example sweep -- SCENARIO.toml SEEDS [BUG ...]`. Prints verdict counts, the first failing seed
//! and its first violation, and events per second.

// A measuring tool outside any simulation: it may read the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use faultline_paxos::{MultiPaxos, Paxos};
use faultline_sim::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

fn sweep<P: Protocol>(s: &Scenario, seeds: u64, bugs: &[String]) {
    let mut verdicts: BTreeMap<String, u64> = BTreeMap::new();
    let mut first_fail: Option<(u64, String)> = None;
    let mut events = 0u64;
    let mut marks: BTreeMap<String, u64> = BTreeMap::new();
    let (mut ok, mut invoked) = (0u64, 0u64);
    let start = Instant::now();
    for seed in 0..seeds {
        let r = Simulation::<P>::new(s, &RunOptions { seed, bugs: bugs.to_vec() }).expect("scenario fits").run();
        events += r.events;
        ok += r.ops.ok;
        invoked += r.ops.invoked;
        for (k, v) in &r.marks.0 {
            *marks.entry(k.clone()).or_default() += v.min(&1);
        }
        let key = match (r.verdict, r.first_invariant()) {
            (Verdict::Fail, Some(inv)) => format!("fail:{inv}"),
            (v, _) => v.as_str().to_string(),
        };
        if r.verdict != Verdict::Pass && first_fail.is_none() {
            let detail = r
                .violations
                .first()
                .map(|v| format!("{} at {}ms: {}", v.invariant, v.at_ms, v.detail))
                .or(r.unknown_reason.clone())
                .unwrap_or_default();
            first_fail = Some((seed, detail));
        }
        *verdicts.entry(key).or_default() += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("scenario={} seeds={seeds} bugs={bugs:?}", s.name);
    println!("verdicts: {verdicts:?}");
    println!("ops ok/invoked: {ok}/{invoked}");
    println!("runs hitting each mark: {marks:?}");
    if let Some((seed, d)) = first_fail {
        println!("first non-pass seed: {seed}: {d}");
    }
    println!("events={events} wall={secs:.2}s events/s={:.0}", events as f64 / secs);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let s = Scenario::load(std::path::Path::new(&args[0])).expect("scenario loads");
    let seeds: u64 = args.get(1).map_or(100, |x| x.parse().expect("seed count"));
    let bugs: Vec<String> = args[2.min(args.len())..].to_vec();
    match s.protocol.as_str() {
        "paxos" => sweep::<Paxos>(&s, seeds, &bugs),
        "multipaxos" => sweep::<MultiPaxos>(&s, seeds, &bugs),
        other => panic!("not a paxos scenario: {other}"),
    }
}
