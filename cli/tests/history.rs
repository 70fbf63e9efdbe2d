//! Histories out: `run --history` and `sweep` write the client history the run's check saw, and
//! `check-history` on that file gives the run's verdict back.

mod common;

use common::{code, fresh_dir, run, stderr, stdout};

/// Runs the `check-history` commands a run printed; returns (stdout, exit code) of each.
fn check_printed(err: &str) -> Vec<(String, i32)> {
    err.lines()
        .filter_map(|l| l.trim().strip_prefix("faultline check-history "))
        .map(|args| {
            let mut argv = vec!["check-history"];
            argv.extend(args.split_whitespace());
            let o = run(&argv);
            (stdout(&o), code(&o))
        })
        .collect()
}

fn run_with_history(scenario: &str, bug: Option<&str>, format: &str) -> (i32, String, Vec<(String, i32)>) {
    let dir = fresh_dir("history-test", &format!("{scenario}-{}-{format}", bug.unwrap_or("none")));
    let file = dir.join(format!("h.{format}")).display().to_string();
    let path = format!("scenarios/{scenario}.toml");
    let out = dir.display().to_string();
    let mut args = vec!["run", path.as_str(), "--history", &file, "--history-format", format, "--out", &out];
    if let Some(b) = bug {
        args.extend(["--bug", b]);
    }
    let o = run(&args);
    let err = stderr(&o);
    let checks = check_printed(&err);
    (code(&o), stdout(&o), checks)
}

#[test]
fn a_run_history_checks_to_the_runs_verdict_in_json_and_edn() {
    for format in ["json", "edn"] {
        let (c, out, checks) = run_with_history("raft-steady", Some("raft.no-dedup"), format);
        assert_eq!(c, 1, "{out}");
        assert!(out.contains("VIOLATION raft.linearizable"), "{out}");
        assert_eq!(checks.len(), 1, "{format}: one history, one command");
        assert!(checks[0].0.contains(": not linearizable"), "{format}: {checks:?}");
        assert_eq!(checks[0].1, 1);

        let (c, out, checks) = run_with_history("raft-steady", None, format);
        assert_eq!(c, 0, "{out}");
        assert_eq!(checks.len(), 1);
        assert!(checks[0].0.contains(": linearizable"), "{format}: {checks:?}");
        assert_eq!(checks[0].1, 0);
    }
    // A register (cas-register model) and a lock service (a mutex history per lock) too.
    let (c, _, checks) = run_with_history("register-steady", Some("register.read-from-backup"), "json");
    assert_eq!(c, 1);
    assert!(checks.len() == 1 && checks[0].1 == 1, "{checks:?}");
    let (c, _, checks) = run_with_history("lock-failover", None, "json");
    assert_eq!(c, 0);
    assert!(!checks.is_empty() && checks.iter().all(|(o, c)| *c == 0 && o.contains(": linearizable")), "{checks:?}");
}

#[test]
fn a_protocol_without_a_history_model_says_so_and_writes_nothing() {
    let dir = fresh_dir("history-test", "paxos");
    let file = dir.join("h.jsonl");
    let o = run(&["run", "scenarios/paxos-dueling.toml", "--history", &file.display().to_string()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("none written"), "{}", stderr(&o));
    assert!(!file.exists());
}

#[test]
fn history_needs_one_scenario_and_a_known_format() {
    let o = run(&["run", "scenarios", "--history", "target/history-test/x.jsonl"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--history needs a single scenario"), "{}", stderr(&o));
    let o = run(&["run", "scenarios/raft-steady.toml", "--history", "x", "--history-format", "csv"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn sweep_writes_the_history_of_every_failing_run_beside_its_repro() {
    let dir = fresh_dir("history-test", "sweep");
    let out = dir.display().to_string();
    let o = run(&["sweep", "scenarios/raft-steady.toml", "--seeds", "0..4", "--bug", "raft.no-dedup", "--out", &out]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let mut failures = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(core) = name.strip_prefix("repro-").and_then(|n| n.strip_suffix(".toml")) else { continue };
        failures += 1;
        let history = dir.join(format!("history-{core}.jsonl"));
        assert!(history.is_file(), "no history beside {name}");
        let repro = std::fs::read_to_string(entry.path()).unwrap();
        assert!(repro.contains(&format!("client history: history-{core}.jsonl")), "{repro}");
        let c = run(&["check-history", "--model", "kv", "--format", "json", &history.display().to_string()]);
        assert_eq!(code(&c), 1, "{}", stdout(&c));
    }
    assert!(failures > 0);
    // summary.md puts the failures, with their replay commands, before any table.
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let (f, t) = (md.find("## Failures").unwrap(), md.find("| scenario |").unwrap());
    let replay = md.find("replay").unwrap();
    assert!(f < replay && replay < t, "{md}");
    // Passing runs leave no history behind.
    let histories = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("history-"))
        .count();
    assert_eq!(histories, failures);
}
