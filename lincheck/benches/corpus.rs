//! Times the checker on the whole Porcupine reference corpus, per file, parsing excluded.
//!
//! `cargo bench -p faultline-lincheck --bench corpus` (optionally `-- RUNS`, default 5). Prints,
//! per file, wall times of the bare verdict (as Porcupine's reported times are): the first run, the
//! fastest and the median of RUNS runs; the mean CPU time per run of the whole process (all threads,
//! from /proc/self/stat, Linux only: less disturbed than wall time on a busy machine, though coarse:
//! 10 ms ticks over RUNS runs); and the wall time of one run that also minimises the explanation of
//! a failure. Then totals per corpus.

use std::path::PathBuf;
use std::time::Instant;

use faultline_lincheck::formats::{parse_kv, parse_register, Format};
use faultline_lincheck::models::{CasRegister, Kv, KvWhole};
use faultline_lincheck::{check_with, Budget, CheckOptions, Model, Operation, Verdict};

fn time<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], minimize: bool) -> (f64, bool) {
    let opts = CheckOptions { budget: Budget::unlimited(), minimize, ..CheckOptions::default() };
    let t = Instant::now();
    let v = check_with(model, ops, &opts);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(!matches!(v, Verdict::Unknown(_)));
    (ms, v.is_linearizable())
}

struct Stat {
    first: f64,
    min: f64,
    median: f64,
    cpu: f64,
    explained: f64,
}

/// CPU time (user + system) of the whole process so far, in ms; NaN where /proc is missing.
fn process_cpu_ms() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = stat.rsplit(')').next() else { return f64::NAN };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the command name.
    let ticks: f64 = f.get(11..13).map_or(f64::NAN, |t| t.iter().filter_map(|x| x.parse::<f64>().ok()).sum());
    ticks * 10.0
}

fn measure<M: Model>(model: &M, ops: &[Operation<M::Input, M::Output>], runs: usize, expected: bool) -> Stat {
    let mut ts = Vec::new();
    let cpu0 = process_cpu_ms();
    for _ in 0..runs {
        let (ms, lin) = time(model, ops, false);
        assert_eq!(lin, expected, "wrong verdict");
        ts.push(ms);
    }
    let cpu = (process_cpu_ms() - cpu0) / runs as f64;
    let first = ts[0];
    ts.sort_by(f64::total_cmp);
    let (explained, _) = time(model, ops, true);
    Stat { first, min: ts[0], median: ts[ts.len() / 2], cpu, explained }
}

fn main() {
    let runs: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(5);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/histories/porcupine");
    let tsv = std::fs::read_to_string(dir.join("EXPECTED.tsv"))
        .unwrap_or_else(|e| panic!("reference corpus missing at {}: {e}", dir.display()));
    println!(
        "{:<24} {:<27} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "file", "model", "first ms", "min ms", "median ms", "cpu ms", "explain ms"
    );
    // Per corpus: first, min, median, cpu, explain.
    let mut totals: Vec<(&str, [f64; 5])> = Vec::new();
    for line in tsv.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let expected = match c[2] {
            "yes" => true,
            "no" => false,
            _ => continue,
        };
        let text = std::fs::read_to_string(dir.join(c[0])).expect("read history");
        let (group, s) = match c[1] {
            "etcd_cas_register" => {
                let ops = parse_register(c[0], &text, Format::JepsenLog, true).expect("parse");
                ("etcd (cas-register)", measure(&CasRegister::default(), &ops, runs, expected))
            }
            "kv_partitioned_by_key" => {
                let ops = parse_kv(c[0], &text, Format::Edn).expect("parse");
                ("kv (partitioned)", measure(&Kv::new(), &ops, runs, expected))
            }
            _ => {
                let ops = parse_kv(c[0], &text, Format::Edn).expect("parse");
                ("kv-whole (one map)", measure(&KvWhole::new(), &ops, runs, expected))
            }
        };
        println!(
            "{:<24} {:<27} {:>9.3} {:>9.3} {:>9.3} {:>9.1} {:>10.3}",
            c[0], c[1], s.first, s.min, s.median, s.cpu, s.explained
        );
        let row = [s.first, s.min, s.median, s.cpu, s.explained];
        match totals.iter_mut().find(|t| t.0 == group) {
            Some(t) => t.1.iter_mut().zip(row).for_each(|(a, b)| *a += b),
            None => totals.push((group, row)),
        }
    }
    println!();
    println!(
        "{:<52} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "total", "first ms", "min ms", "median ms", "cpu ms", "explain ms"
    );
    for (g, [f, mi, me, c, e]) in totals {
        println!("{g:<52} {f:>9.3} {mi:>9.3} {me:>9.3} {c:>9.1} {e:>10.3}");
    }
}
