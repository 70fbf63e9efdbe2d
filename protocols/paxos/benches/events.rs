//! Events per second of a 5-node Multi-Paxos run with every check on (per-step ghost checks,
//! persist-before-send observation, the end-of-run linearizability check): `cargo bench -p
//! faultline-paxos`. Target: at least one million events per second per core.
//!
//! The figure divides events by the CPU time of this thread (from `/proc/thread-self/schedstat`
//! where available), so other work on a shared machine does not skew it; wall-clock figures are
//! printed too.

// A measuring tool outside any simulation: it may read the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use faultline_paxos::{MultiPaxos, Paxos};
use faultline_sim::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// CPU time of this thread in nanoseconds, if the platform tells.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn bench<P: Protocol>(name: &str, seeds: u64) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../scenarios/{name}.toml"));
    let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    // Warm up caches and the allocator.
    let _ = Simulation::<P>::new(&s, &RunOptions::seeded(u64::MAX)).expect("scenario fits").run();
    let (wall, cpu) = (Instant::now(), thread_cpu_ns());
    let mut events = 0;
    for seed in 0..seeds {
        let r = Simulation::<P>::new(&s, &RunOptions::seeded(seed)).expect("scenario fits").run();
        assert_eq!(r.verdict, Verdict::Pass, "{name} seed {seed}: {:?}", r.violations);
        events += r.events;
    }
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu_s = match (cpu, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => wall_s,
    };
    println!(
        "{name}: {seeds} runs, {events} events, {:.0} events/s per core (cpu {cpu_s:.2}s), {:.0} events/s wall ({wall_s:.2}s)",
        events as f64 / cpu_s,
        events as f64 / wall_s
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported, all benches run.
    bench::<MultiPaxos>("multipaxos-steady", 40);
    bench::<MultiPaxos>("multipaxos-failover", 20);
    bench::<Paxos>("paxos-chaos", 100);
}
