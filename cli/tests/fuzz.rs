//! Mutation fuzzing of the inputs: every shipped scenario and a set of repro files, mutated a few
//! thousand ways (lines deleted or duplicated, numbers made huge, negative, fractional or
//! strings, keys renamed, garbage and invalid UTF-8 inserted, files truncated). For every case:
//! no panic, an error names file:line:col, and a run that starts ends within its bound without a
//! `sim.panic` (a configuration mistake is bad input, never a violation).
//!
//! Runs in-process through the library (the same code the binary runs), each run with a small
//! wall-clock budget, so the whole fuzz takes seconds.

use faultline::commands::{load_input, ReplayOutcome};
use faultline::Runner;
use faultline_sim::prng::{Prng, Stream};
use faultline_sim::runner::{ProtocolRunner, Repro, RunExtras};
use faultline_sim::scenario::ScenarioError;
use faultline_sim::world::RunOptions;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Per-run wall-clock budget in the fuzz.
const WALL_MS: u64 = 20;

fn runners() -> Vec<Box<dyn ProtocolRunner>> {
    vec![
        Box::new(Runner::<faultline_sim::example::Register>::new()),
        Box::new(Runner::<faultline_raft::Raft>::new()),
        Box::new(Runner::<faultline_paxos::Paxos>::new()),
        Box::new(Runner::<faultline_paxos::MultiPaxos>::new()),
        Box::new(Runner::<faultline_ring::RingStore>::new()),
        Box::new(Runner::<faultline_lock::Lock>::new()),
    ]
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// One mutation of `text`, drawn from `rng`.
fn mutate(text: &[u8], rng: &mut Prng) -> Vec<u8> {
    let s = String::from_utf8_lossy(text).into_owned();
    let mut lines: Vec<String> = s.lines().map(String::from).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let i = rng.below(lines.len() as u64) as usize;
    match rng.below(10) {
        9 => return set_key(&lines, rng),
        0 => {
            lines.remove(i);
        }
        1 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        2 => {
            // A number made huge, negative, fractional, zero or a string.
            let repl = [
                "9223372036854775807",
                "-9223372036854775808",
                "-1",
                "0",
                "0.5",
                "1e300",
                "\"x\"",
                "18446744073709551615",
            ][rng.below(8) as usize];
            let nums: Vec<usize> =
                (0..lines.len()).filter(|&j| lines[j].contains(|c: char| c.is_ascii_digit())).collect();
            if let Some(&j) = nums.get(rng.below(nums.len().max(1) as u64) as usize) {
                let l = &lines[j];
                let start = l.find(|c: char| c.is_ascii_digit()).unwrap();
                let end = l[start..].find(|c: char| !c.is_ascii_digit() && c != '_').map_or(l.len(), |e| start + e);
                lines[j] = format!("{}{repl}{}", &l[..start], &l[end..]);
            }
        }
        3 => {
            if let Some(eq) = lines[i].find('=') {
                lines[i].insert(eq.saturating_sub(1), 'x');
            }
        }
        4 => {
            let garbage = ["]]][[", "= = =", "[nemesis]", "[[faults]]", "x = ", "\"\"\"", "{", "nodes = 3"]
                [rng.below(8) as usize];
            lines.insert(i, garbage.to_string());
        }
        5 => {
            let mut out = lines.join("\n").into_bytes();
            let at = rng.below(out.len() as u64 + 1) as usize;
            out.splice(at..at, [0xff, 0xc3, 0x28].iter().copied());
            return out;
        }
        6 => {
            let out = lines.join("\n").into_bytes();
            let at = rng.below(out.len() as u64 + 1) as usize;
            return out[..at].to_vec();
        }
        7 => {
            // A value replaced by a far-out node index or duration.
            let keys = [
                "node = 250",
                "target = 99",
                "nodes = 200",
                "clients = 20000",
                "duration_ms = 4000000000",
                "at_ms = 999999999",
            ];
            lines.insert(i, keys[rng.below(keys.len() as u64) as usize].to_string());
        }
        _ => {
            // Two mutations at once.
            let once = mutate(lines.join("\n").as_bytes(), rng);
            return mutate(&once, rng);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

/// Values a scenario may not hold, by section: the mutation sets one (replacing the key if the
/// section has it, adding it, or adding the section).
const EXTREMES: &[(&str, &str, &str)] = &[
    ("nemesis", "target", "99"),
    ("nemesis", "crash", "1"),
    ("nemesis", "until_ms", "999999999"),
    ("nemesis", "jump_ms", "[-9223372036854775807, 9223372036854775807]"),
    ("nemesis", "shapes", "[\"one-way\"]"),
    ("workload", "clients", "100000"),
    ("workload", "attempts", "0"),
    ("workload", "think_ms", "[0, 9223372036854775807]"),
    ("workload", "rate_per_s", "0"),
    ("workload", "timeout_ms", "9223372036854775807"),
    ("network", "delay", "{ dist = \"fixed\", ms = 9223372036854775807 }"),
    ("network", "loss", "1.0"),
    ("clocks", "max_offset_ms", "9223372036854775807"),
    ("clocks", "max_drift_ppm", "9223372036854775807"),
    ("limits", "max_events", "0"),
    ("limits", "max_queue", "1"),
    ("limits", "wall_ms", "0"),
    ("checks", "history_budget", "0"),
    ("checks", "liveness_ms", "0"),
    ("config", "heartbeat_ms", "100000"),
    ("config", "servers", "0"),
    ("config", "n", "0"),
    ("config", "w", "99"),
    ("config", "locks", "0"),
    ("config", "keys", "0"),
    ("config", "voters", "99"),
    ("config", "window", "0"),
    ("config", "max_batch", "0"),
    ("config", "initial_members", "1"),
    ("", "nodes", "1"),
    ("", "nodes", "256"),
    ("", "duration_ms", "1"),
];

fn set_key(lines: &[String], rng: &mut Prng) -> Vec<u8> {
    let (section, key, value) = EXTREMES[rng.below(EXTREMES.len() as u64) as usize];
    let mut lines = lines.to_vec();
    let header = format!("[{section}]");
    let start = if section.is_empty() { Some(0) } else { lines.iter().position(|l| l.trim() == header).map(|i| i + 1) };
    let line = format!("{key} = {value}");
    match start {
        Some(from) => {
            let end = (from..lines.len()).find(|&j| lines[j].trim_start().starts_with('[')).unwrap_or(lines.len());
            let found = (from..end).find(|&j| {
                lines[j].trim_start().starts_with(&format!("{key} "))
                    || lines[j].trim_start().starts_with(&format!("{key}="))
            });
            match found {
                Some(j) => lines[j] = line,
                None => lines.insert(from, line),
            }
        }
        None => {
            lines.push(header);
            lines.push(line);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

/// What one case did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    /// Refused with an error at a position.
    Refused,
    /// Ran to a verdict.
    Ran,
}

/// A refusal, or why it is a defect.
fn check_error(case: &str, e: &ScenarioError) -> Result<Seen, String> {
    if e.line.is_none() || e.column.is_none() {
        return Err(format!("{case}: error without line and column: {e}"));
    }
    Ok(Seen::Refused)
}

fn check_run(case: &str, runners: &[Box<dyn ProtocolRunner>], path: &Path) -> Result<Seen, String> {
    let input = match load_input(path) {
        Ok(i) => i,
        Err(e) => return check_error(case, &e),
    };
    let Some(runner) = runners.iter().find(|r| r.name() == input.scenario.protocol) else {
        return Ok(Seen::Refused); // an unknown protocol is refused by the command (tested end to end)
    };
    let opts = RunOptions { seed: input.seed.unwrap_or(input.scenario.seed.0), bugs: input.bugs.clone() };
    let started = Instant::now();
    let extras = RunExtras { watchdog: Some(faultline::out::watchdog(WALL_MS, false)), ..RunExtras::default() };
    let report = match runner.run_with(&input.scenario, &opts, extras) {
        Ok(r) => r,
        Err(e) => return check_error(case, &e),
    };
    // A run is bounded by its wall budget; the end-of-run history check has its own (states)
    // budget, and a run stopped early skips it. Generous slack: this is a bound, not a timing.
    if started.elapsed() > Duration::from_secs(20) {
        return Err(format!("{case}: the run took {:?} with a {WALL_MS} ms budget", started.elapsed()));
    }
    if let Some(v) = report.violations.iter().find(|v| v.invariant == "sim.panic") {
        return Err(format!("{case}: a panic inside the run (bad input taken as a violation?): {}", v.detail));
    }
    Ok(Seen::Ran)
}

/// Fuzzes `files`, `per_file` mutations each; returns the defects and the counts of refused and
/// run cases.
fn fuzz_files(name: &str, base: u64, files: &[PathBuf], per_file: u64) -> (Vec<String>, usize, usize) {
    let dir = root().join("target").join("fuzz").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cases: Vec<(usize, u64)> = (0..files.len()).flat_map(|f| (0..per_file).map(move |k| (f, k))).collect();
    let results: Vec<Result<Seen, String>> = cases
        .par_iter()
        .map_init(runners, |runners, &(f, k)| {
            let original = std::fs::read(&files[f]).unwrap();
            let mut rng = Prng::new(base + k, Stream::Workload, f as u32);
            let text = mutate(&original, &mut rng);
            let path = dir.join(format!("{f}-{k}.toml"));
            std::fs::write(&path, &text).unwrap();
            let case = format!("{} mutation {k} ({})", files[f].display(), path.display());
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_run(&case, runners, &path)));
            match r {
                Ok(Ok(seen)) => {
                    let _ = std::fs::remove_file(&path);
                    Ok(seen)
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(format!("{case}: panicked")),
            }
        })
        .collect();
    let refused = results.iter().filter(|r| matches!(r, Ok(Seen::Refused))).count();
    let ran = results.iter().filter(|r| matches!(r, Ok(Seen::Ran))).count();
    (results.into_iter().filter_map(Result::err).collect(), refused, ran)
}

/// Fails on any defect, and unless the mutations both refused and ran a fair share of cases (a
/// fuzz that only ever hits the parser, or never does, tests little).
fn assert_clean(what: &str, (defects, refused, ran): (Vec<String>, usize, usize)) {
    assert!(
        defects.is_empty(),
        "{what}: {} defects, first 10:\n{}",
        defects.len(),
        defects[..defects.len().min(10)].join("\n")
    );
    let total = refused + ran;
    assert!(
        refused * 10 >= total && ran * 10 >= total,
        "{what}: {refused} refused, {ran} ran: the mutations are lopsided"
    );
}

#[test]
fn mutated_scenarios_never_panic_and_every_error_has_a_position() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40);
    assert_clean("scenarios", fuzz_files("scenarios", 0, &files, 50));
}

#[test]
fn mutated_repro_files_never_panic_and_every_error_has_a_position() {
    // Repros of failing runs of several protocols.
    let dir = root().join("target").join("fuzz").join("repro-src");
    std::fs::create_dir_all(&dir).unwrap();
    let runners = runners();
    let mut files = Vec::new();
    for (file, bug, seed) in [
        ("register-crash.toml", "register.no-sync", 2),
        ("raft-steady.toml", "raft.no-dedup", 0),
        ("paxos-chaos.toml", "paxos.no-sync", 0),
        ("lock-failover.toml", "lock.no-fencing", 0),
        ("ring-crash-replica.toml", "ring.modulo", 0),
    ] {
        let input = load_input(&root().join("scenarios").join(file)).unwrap();
        let runner = runners.iter().find(|r| r.name() == input.scenario.protocol).unwrap();
        let report = runner.run(&input.scenario, &RunOptions { seed, bugs: vec![bug.to_string()] }, None).unwrap();
        let path = dir.join(file);
        std::fs::write(&path, Repro::of(&input.scenario, &report).to_toml()).unwrap();
        // The unmutated repro replays as itself.
        let repro = Repro::load(&path).unwrap();
        let again =
            runner.run(&repro.scenario, &RunOptions { seed: repro.seed.0, bugs: repro.bugs.clone() }, None).unwrap();
        assert_eq!(ReplayOutcome::of(&repro, &again).status, "reproduced", "{file}");
        files.push(path);
    }
    assert_clean("repros", fuzz_files("repros", 1000, &files, 120));
}

#[test]
fn mutated_histories_never_panic_and_every_error_names_its_file() {
    use faultline_lincheck::{check_history_files, Budget, CheckHistoryOptions, Format};
    let shared = root().join("../shared/reference/histories");
    // (file, model): Jepsen logs, EDN key-value, faultline JSON (a stale-read file, cut short).
    let dir = root().join("target").join("fuzz").join("history-src");
    std::fs::create_dir_all(&dir).unwrap();
    let stale = std::fs::read_to_string(shared.join("stale-reads/lease-isolated-0.jsonl")).unwrap();
    let short: String = stale.lines().take(300).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("stale-short.jsonl"), short).unwrap();
    let sources = [
        (shared.join("porcupine/jepsen/etcd_000.log"), "cas-register"),
        (shared.join("porcupine/jepsen/etcd_001.log"), "cas-register"),
        (shared.join("porcupine/kv/c01-ok.txt"), "kv"),
        (shared.join("porcupine/kv/c01-bad.txt"), "kv-whole"),
        (dir.join("stale-short.jsonl"), "kv"),
    ];
    let out = root().join("target").join("fuzz").join("histories");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let cases: Vec<(usize, u64)> = (0..sources.len()).flat_map(|f| (0..160).map(move |k| (f, k))).collect();
    let results: Vec<Result<bool, String>> = cases
        .par_iter()
        .map(|&(f, k)| {
            let (src, model) = &sources[f];
            let original = std::fs::read(src).unwrap();
            let mut rng = Prng::new(5000 + k, Stream::Workload, f as u32);
            let text = mutate(&original, &mut rng);
            let path = out.join(format!("{f}-{k}.txt"));
            std::fs::write(&path, &text).unwrap();
            let name = path.display().to_string();
            let opts = CheckHistoryOptions {
                model: model.to_string(),
                format: Format::Auto,
                files: vec![path.clone()],
                budget: Budget { max_states: 200_000, max_wall_ms: Some(2_000), max_memory_bytes: Some(256 << 20) },
                ..Default::default()
            };
            let r =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_history_files(&opts, &mut Vec::new())));
            match r {
                Err(_) => Err(format!("{name} ({model}): panicked")),
                Ok(Ok(outcome)) => {
                    let _ = std::fs::remove_file(&path);
                    assert!((0..=3).contains(&outcome.exit_code()));
                    Ok(true)
                }
                Ok(Err(e)) => {
                    let shown = e.to_string();
                    if !shown.starts_with(&name) {
                        return Err(format!("{name}: error does not name the file: {shown}"));
                    }
                    let _ = std::fs::remove_file(&path);
                    Ok(false)
                }
            }
        })
        .collect();
    let defects: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(defects.is_empty(), "{} defects, first: {:?}", defects.len(), &defects[..defects.len().min(10)]);
    let checked = results.iter().filter(|r| matches!(r, Ok(true))).count();
    let refused = results.iter().filter(|r| matches!(r, Ok(false))).count();
    assert!(checked * 10 >= results.len() && refused * 10 >= results.len(), "{checked} checked, {refused} refused");
}
