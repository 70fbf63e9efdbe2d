//! Simulated events per second on a 5-node Raft scenario with every check on (run-time
//! invariants and the end-of-run linearizability check): `cargo bench -p faultline-raft`.

use faultline_raft::Raft;
use faultline_sim::prelude::*;

#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/raft-steady.toml");
    let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let runs: u64 = std::env::var("RAFT_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let start = std::time::Instant::now();
    let mut events = 0u64;
    for seed in 0..runs {
        let r = Simulation::<Raft>::new(&scenario, &RunOptions::seeded(seed)).unwrap().run();
        assert_eq!(r.verdict, Verdict::Pass, "seed {seed}");
        events += r.events;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "raft-steady (5 nodes, all checks): {runs} runs, {events} events in {secs:.2} s wall = {:.0} events/s",
        events as f64 / secs
    );
    if let Some(cpu) = cpu_seconds() {
        // The machine may be shared: CPU time of this process is the per-core figure.
        println!("  {cpu:.2} s of CPU = {:.0} events per CPU-second", events as f64 / cpu);
    }
}

/// User + system CPU time of this process, from /proc (Linux; clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
