//! Throughput and trade-offs of the ring store; run with `cargo bench -p faultline-ring`.
//!
//! 1. Events per second of the simulator running the ring store, checks on, on two scenarios.
//! 2. Availability of several (N, R, W) choices, strict and sloppy, under the same partitions
//!    (`ring-partition-change`, same seeds), with the checks that apply to each.
//! 3. The run time of `compare_placements(100, 256, 1_000_000, 3)` and its output.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // wall-clock timing of the harness itself

use faultline_ring::{compare_placements, RingStore};
use faultline_sim::prelude::*;
use std::time::Instant;

fn load(name: &str) -> Scenario {
    let path = format!("{}/../../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Scenario::load(std::path::Path::new(&path)).expect("scenario loads")
}

fn main() {
    for name in ["ring-growth", "ring-crash-replica", "ring-heavy-loss"] {
        let s = load(name);
        let seeds = 100u64;
        let start = Instant::now();
        let mut events = 0u64;
        for seed in 0..seeds {
            let r = Simulation::<RingStore>::new(&s, &RunOptions::seeded(seed)).expect("valid").run();
            assert_eq!(r.verdict, Verdict::Pass, "{name} seed {seed}: {:?}", r.violations);
            events += r.events;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name}: {seeds} runs, {events} events in {secs:.2}s: {:.0} events/s, {:.1} ms/run",
            events as f64 / secs,
            secs * 1e3 / seeds as f64
        );
    }

    println!("\navailability under the partitions of ring-partition-change, one attempt per op (100 seeds each):");
    println!("{:<18} {:>12} {:>8}", "N,R,W", "availability", "verdict");
    for (n, r, w, sloppy) in
        [(3, 2, 2, false), (3, 1, 3, false), (3, 3, 1, false), (5, 3, 3, false), (3, 1, 1, false), (3, 2, 2, true)]
    {
        let mut s = load("ring-partition-change");
        s.source = None; // take [config] from the table below, not from the file text
        for (k, v) in [("n", n), ("r", r), ("w", w)] {
            s.config.insert(k.into(), toml::Value::Integer(v));
        }
        s.config.insert("sloppy".into(), toml::Value::Boolean(sloppy));
        // One attempt per operation: a client stuck on the wrong side of a partition fails
        // instead of retrying elsewhere, so availability reflects the quorum choice.
        s.workload.attempts = 1;
        let (mut avail, mut passed) = (0.0, 0);
        for seed in 0..100 {
            let rep = Simulation::<RingStore>::new(&s, &RunOptions::seeded(seed)).expect("valid").run();
            avail += rep.availability;
            passed += u32::from(rep.verdict == Verdict::Pass);
        }
        let label = format!("{n},{r},{w}{}", if sloppy { " sloppy" } else { "" });
        println!("{label:<18} {:>12.4} {:>5}/100 pass", avail / 100.0, passed);
    }

    let start = Instant::now();
    let c = compare_placements(100, 256, 1_000_000, 3);
    println!("\n{c}\ncompare_placements(100, 256, 1_000_000, 3): {:.2}s", start.elapsed().as_secs_f64());
}
