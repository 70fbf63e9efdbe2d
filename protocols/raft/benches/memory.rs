//! Peak memory of one long run: `raft-steady` (5 nodes, every check on) stretched to 600 s of
//! simulated time, about 1.6 M events and 100,000 client operations. Prints the peak resident
//! set (VmHWM) per million events against the target of 64 MiB:
//! `cargo bench -p faultline-raft --bench memory` (`RAFT_MEMORY_MS` changes the duration).
//!
//! The bench binary uses the system allocator; the CLI uses mimalloc, whose peak is printed by
//! `/usr/bin/time -v faultline run` for comparison.

use faultline_raft::Raft;
use faultline_sim::prelude::*;

const TARGET_MIB_PER_MILLION_EVENTS: f64 = 64.0;

#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/raft-steady.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let duration_ms: u64 = std::env::var("RAFT_MEMORY_MS").ok().and_then(|s| s.parse().ok()).unwrap_or(600_000);
    let text = text.replace("duration_ms = 3000", &format!("duration_ms = {duration_ms}"));
    let scenario = Scenario::from_toml_str("raft-steady-long.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    let before_kib = peak_rss_kib().unwrap_or(0);
    let report = Simulation::<Raft>::new(&scenario, &RunOptions::seeded(0)).unwrap().run();
    assert_eq!(report.verdict, Verdict::Pass);
    let peak_kib = peak_rss_kib().unwrap_or(0);
    let mib = peak_kib as f64 / 1024.0;
    let per_million = mib / (report.events as f64 / 1e6);
    println!(
        "raft-steady {duration_ms} ms: {} events, {} client operations, peak RSS {mib:.1} MiB \
         (before the run {:.1} MiB) = {per_million:.1} MiB per million events; target {TARGET_MIB_PER_MILLION_EVENTS} \
         ({:.2}x of target: {})",
        report.events,
        report.ops.invoked,
        before_kib as f64 / 1024.0,
        per_million / TARGET_MIB_PER_MILLION_EVENTS,
        if per_million <= TARGET_MIB_PER_MILLION_EVENTS { "met" } else { "not met" },
    );
}

/// The process's peak resident set in KiB, from /proc/self/status (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
