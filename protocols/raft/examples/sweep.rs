//! Runs a scenario over a range of seeds (optionally with a planted bug) and prints a summary:
//! `cargo run --release -p faultline-raft --example sweep -- SCENARIO.toml FIRST COUNT [BUG]`.

use faultline_raft::Raft;
use faultline_sim::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let first: u64 = args.get(2).map_or(0, |s| s.parse().unwrap());
    let count: u64 = args.get(3).map_or(100, |s| s.parse().unwrap());
    let bugs: Vec<String> = args.get(4).into_iter().cloned().collect();
    let stop_at_first = !bugs.is_empty() && args.get(5).is_none_or(|a| a != "all");
    let scenario = Scenario::load(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    let (mut pass, mut fail, mut unknown, mut events, mut ok_ops) = (0, 0, 0, 0u64, 0u64);
    let mut invariants = std::collections::BTreeMap::<String, u64>::new();
    let mut marks = std::collections::BTreeMap::<String, u64>::new();
    for seed in first..first + count {
        let opts = RunOptions { seed, bugs: bugs.clone() };
        let r = Simulation::<Raft>::new(&scenario, &opts).unwrap().run();
        events += r.events;
        ok_ops += r.ops.ok;
        for (k, v) in &r.marks.0 {
            *marks.entry(k.clone()).or_default() += v;
        }
        match r.verdict {
            Verdict::Pass => pass += 1,
            Verdict::Fail => {
                fail += 1;
                let inv = r.first_invariant().unwrap_or("?").to_string();
                if fail <= 3 || stop_at_first {
                    println!("seed {seed}: FAIL {inv}: {:?}", r.violations.first().map(|v| (&v.detail, v.at_ms)));
                }
                *invariants.entry(inv).or_default() += 1;
                if stop_at_first {
                    println!("seeds to first failure: {}", seed - first + 1);
                    break;
                }
            }
            Verdict::Unknown => {
                unknown += 1;
                if unknown <= 3 {
                    println!("seed {seed}: UNKNOWN {:?}", r.unknown_reason);
                }
            }
        }
    }
    println!(
        "pass {pass} fail {fail} unknown {unknown} events/run {} ok-ops/run {}",
        events / count.max(1),
        ok_ops / count.max(1)
    );
    println!("failures by invariant: {invariants:?}");
    println!("marks: {marks:?}");
}
