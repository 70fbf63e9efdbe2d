//! Long and hard histories: time and memory against length, and the stale-read files.
//!
//! `cargo bench -p faultline-lincheck --bench long` (optionally `-- MAX_OPS`, default 1,000,000).
//! For generated linearizable histories (5 clients, 2% of writes left open; register: Jepsen log,
//! cas-register model; key-value: faultline JSON, 3 keys) of growing length, and for each file of
//! `../shared/reference/histories/stale-reads/`, prints the verdict, parse and check wall times,
//! the explored states, the search's peak bytes, and the process's peak resident memory. Each
//! point runs in a child process of its own, so its peak memory is its own.

use std::process::Command;
use std::time::Instant;

use faultline_lincheck::formats::{parse_kv, parse_register, Format};
use faultline_lincheck::gen::{jepsen_log, kv_history, kv_json_lines, register_history, GenOptions};
use faultline_lincheck::models::{CasRegister, Kv};
use faultline_lincheck::{check_with_effort, Budget, CheckOptions, Effort, Verdict};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    kb / 1024.0
}

fn report(what: &str, parse_s: f64, check_s: f64, v: &Verdict, e: Effort) {
    println!(
        "{what:<44} {:<18} {parse_s:>8.3} {check_s:>8.3} {:>11} {:>10.1} {:>10.1}",
        match v {
            Verdict::Linearizable => "linearizable".to_string(),
            Verdict::NotLinearizable(_) => "not linearizable".to_string(),
            Verdict::Unknown(_) => "unknown".to_string(),
        },
        e.states,
        e.peak_bytes as f64 / (1 << 20) as f64,
        peak_rss_mib()
    );
}

fn opts() -> CheckOptions {
    CheckOptions { budget: Budget::unlimited(), minimize: false, threads: 1 }
}

/// One point, in this (child) process.
fn point(kind: &str, arg: &str) {
    match kind {
        "register" => {
            let n: usize = arg.parse().unwrap();
            let log = jepsen_log(&register_history(&GenOptions { ops: n, ..GenOptions::default() }));
            let t = Instant::now();
            let ops = parse_register("gen", &log, Format::JepsenLog, true).unwrap();
            drop(log);
            let parse_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let (v, e) = check_with_effort(&CasRegister::default(), &ops, &opts());
            report(&format!("cas-register, {n} ops"), parse_s, t.elapsed().as_secs_f64(), &v, e);
        }
        "kv" => {
            let n: usize = arg.parse().unwrap();
            let text = kv_json_lines(&kv_history(&GenOptions { ops: n, keys: 3, ..GenOptions::default() }));
            let t = Instant::now();
            let ops = parse_kv("gen", &text, Format::Json).unwrap();
            drop(text);
            let parse_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let (v, e) = check_with_effort(&Kv::new(), &ops, &opts());
            report(&format!("kv (3 keys), {n} ops"), parse_s, t.elapsed().as_secs_f64(), &v, e);
        }
        _ => {
            let text = std::fs::read_to_string(arg).unwrap();
            let t = Instant::now();
            let ops = parse_kv(arg, &text, Format::Json).unwrap();
            let parse_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let (v, e) = check_with_effort(&Kv::new(), &ops, &opts());
            let name = std::path::Path::new(arg).file_name().unwrap().to_string_lossy().into_owned();
            report(&format!("stale-reads/{name}"), parse_s, t.elapsed().as_secs_f64(), &v, e);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if let Some(kind) = std::env::var_os("LONG_BENCH_POINT") {
        point(&kind.to_string_lossy(), &args[0]);
        return;
    }
    let max: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    println!(
        "{:<44} {:<18} {:>8} {:>8} {:>11} {:>10} {:>10}",
        "history", "verdict", "parse s", "check s", "states", "search MiB", "peak RSS"
    );
    let me = std::env::current_exe().unwrap();
    let child = |kind: &str, arg: &str| {
        let out = Command::new(&me).env("LONG_BENCH_POINT", kind).arg(arg).output().unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/histories/stale-reads");
    let mut files: Vec<_> = std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    for f in files {
        child("file", &f.display().to_string());
    }
    for kind in ["register", "kv"] {
        let mut n = 10_000;
        while n <= max {
            child(kind, &n.to_string());
            n = if n.to_string().starts_with('1') { n * 3 } else { n / 3 * 10 };
        }
    }
}
