//! The correct ring store passes every `scenarios/ring-*.toml` on 500 seeds, deterministically.

mod common;

use faultline_sim::prelude::*;

const SEEDS: u64 = 500;

/// Runs `SEEDS` seeds; every run must pass. Returns summed marks for coverage assertions.
fn sweep(name: &str) -> Marks {
    let s = common::scenario(name);
    assert_eq!(s.name, name, "name equals the file stem");
    assert!(!s.description.is_empty(), "{name} has a description");
    let mut marks = Marks::default();
    let mut ok = 0;
    for seed in 0..SEEDS {
        let r = common::run(&s, seed, &[]);
        assert_eq!(r.verdict, Verdict::Pass, "{name} seed {seed}: {:?} {:?}", r.violations, r.unknown_reason);
        assert!(r.events < 50_000, "{name} seed {seed}: {} events, keep runs short", r.events);
        ok += r.ops.ok;
        for (k, v) in r.marks.0 {
            *marks.0.entry(k).or_default() += v;
        }
    }
    assert!(ok > SEEDS * 100, "{name}: clients got work done ({ok} ok operations)");
    marks
}

#[test]
fn growth_10_to_12_under_writes() {
    let m = sweep("ring-growth");
    assert_eq!(m.get("ring.change-completed"), 2 * SEEDS, "both joins complete on every seed");
    assert!(m.get("ring.key-handed-off") > 0 && m.get("ring.dropped-handed-off-key") > 0);
    assert!(m.get("ring.joint-write") > 0, "writes ran during the transition");
}

#[test]
fn leave_and_rejoin_with_a_stale_view() {
    let m = sweep("ring-rejoin-stale");
    assert_eq!(m.get("ring.change-completed"), 4 * SEEDS, "leave, leave, rejoin, rejoin complete");
    assert!(m.get("ring.restarted-with-disk-view") >= SEEDS);
}

#[test]
fn partitions_during_membership_changes() {
    let m = sweep("ring-partition-change");
    assert_eq!(m.get("ring.change-completed"), 2 * SEEDS, "changes complete once partitions heal");
}

#[test]
fn crash_of_replicas_during_writes() {
    let m = sweep("ring-crash-replica");
    assert!(m.get("sim.crash") > SEEDS);
    assert!(m.get("ring.read-repair") > 0);
}

#[test]
fn heavy_loss_with_anti_entropy() {
    let m = sweep("ring-heavy-loss");
    assert!(m.get("ring.anti-entropy-push") > 0);
    assert_eq!(m.get("ring.recovered-after-wipe"), SEEDS, "the wiped node rebuilds on every seed");
}

#[test]
fn sloppy_quorums_with_hinted_handoff() {
    let m = sweep("ring-sloppy-quorum");
    assert!(m.get("ring.hint-stored") > SEEDS, "stand-ins took writes");
    assert!(m.get("ring.hint-delivered") > SEEDS / 2, "and handed them on");
}

#[test]
fn the_generic_scenario_for_guided_search_is_safe() {
    let m = sweep("ring-generic");
    assert!(m.get("ring.hint-stored") + m.get("ring.anti-entropy-push") > 0, "faults made replicas catch up");
}

#[test]
fn every_ring_scenario_file_is_tested() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.starts_with("ring-") && f.ends_with(".toml"))
        .collect();
    files.sort();
    let tested = [
        "ring-crash-replica.toml",
        "ring-generic.toml",
        "ring-growth.toml",
        "ring-heavy-loss.toml",
        "ring-partition-change.toml",
        "ring-rejoin-stale.toml",
        "ring-sloppy-quorum.toml",
    ];
    assert_eq!(files, tested);
}

#[test]
fn same_seed_same_trace() {
    for name in ["ring-growth", "ring-crash-replica"] {
        let s = common::scenario(name);
        let a = common::run(&s, 7, &[]);
        let b = common::run(&s, 7, &[]);
        let c = common::run(&s, 8, &[]);
        assert_eq!(a.trace_hash, b.trace_hash, "{name}: same seed, same trace");
        assert_ne!(a.trace_hash, c.trace_hash, "{name}: another seed, another trace");
    }
}
