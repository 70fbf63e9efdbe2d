//! What guided search (`faultline explore`) costs per run: the same schedules of the generic
//! Raft scenario run plain and with coverage collected (the abstract state after every step,
//! message kinds across faults), interleaved so both see the same machine:
//! `cargo bench -p faultline-raft --bench coverage`. The target is at most 1.3×.

use faultline_raft::Raft;
use faultline_sim::prelude::*;

#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/raft-generic.toml");
    let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let runs: u64 = std::env::var("RAFT_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let (mut plain, mut guided) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let mut events = 0u64;
    for seed in 0..runs {
        let t = std::time::Instant::now();
        let a = Simulation::<Raft>::new(&scenario, &RunOptions::seeded(seed)).unwrap().run();
        plain += t.elapsed();
        let t = std::time::Instant::now();
        let b = Simulation::<Raft>::new(&scenario, &RunOptions::seeded(seed)).unwrap().keep_coverage().run();
        guided += t.elapsed();
        assert_eq!(a.trace_hash, b.trace_hash, "coverage never changes the run");
        events += a.events;
    }
    println!(
        "raft-generic, {runs} runs ({events} events each way): plain {:.2} s, with coverage {:.2} s: {:.2}× (target ≤ 1.3×)",
        plain.as_secs_f64(),
        guided.as_secs_f64(),
        guided.as_secs_f64() / plain.as_secs_f64()
    );
}
