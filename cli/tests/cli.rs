//! End-to-end tests: the real binary against `../shared/CONTRACT.md`.

mod common;

use common::{code, fresh_dir, root, run, stderr, stdout};
use std::path::{Path, PathBuf};

fn scenario(name: &str) -> PathBuf {
    root().join("scenarios").join(name)
}

fn tmp(name: &str) -> PathBuf {
    fresh_dir("e2e-tmp", name)
}

#[test]
fn text_output_starts_with_the_seed_and_ends_with_verdict_and_hash() {
    let o = run(&["run", scenario("register-steady.toml").to_str().unwrap(), "--seed", "0x2a"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("seed=42 "), "{out}");
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("verdict=pass trace_hash="), "{last}");
    assert_eq!(last.len(), "verdict=pass trace_hash=".len() + 16);
}

#[test]
fn json_output_has_the_contract_fields() {
    let o = run(&["run", scenario("register-steady.toml").to_str().unwrap(), "--format", "json", "--seed", "7"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("one JSON object");
    for key in [
        "scenario",
        "protocol",
        "seed",
        "bugs",
        "verdict",
        "violations",
        "trace_hash",
        "events",
        "messages",
        "ops",
        "availability",
        "latency_ms",
        "sim_time_ms",
        "wall_ms",
    ] {
        assert!(v.get(key).is_some(), "missing `{key}` in {v}");
    }
    for key in ["sent", "delivered", "dropped", "duplicated"] {
        assert!(v["messages"][key].is_u64(), "messages.{key}");
    }
    for key in ["invoked", "ok", "failed", "indeterminate"] {
        assert!(v["ops"][key].is_u64(), "ops.{key}");
    }
    for key in ["p50", "p90", "p99", "p999", "max"] {
        assert!(v["latency_ms"][key].is_number(), "latency_ms.{key}");
    }
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["seed"], 7);
    let a = v["availability"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&a));
}

#[test]
fn same_seed_same_hash_across_processes() {
    let hash = |seed: &str| {
        let o = run(&["run", scenario("register-crash.toml").to_str().unwrap(), "--seed", seed, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        v["trace_hash"].as_str().unwrap().to_string()
    };
    assert_eq!(hash("5"), hash("5"));
    assert_ne!(hash("5"), hash("6"));
}

#[test]
fn a_planted_bug_fails_writes_a_repro_and_replay_reproduces_it() {
    let out = tmp("repro");
    let o = run(&[
        "run",
        scenario("register-crash.toml").to_str().unwrap(),
        "--bug",
        "register.no-sync",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    assert!(stdout(&o).contains("VIOLATION register.monotonic"), "{}", stdout(&o));
    let err = stderr(&o);
    let cmd = err.lines().find(|l| l.trim_start().starts_with("faultline replay ")).expect("prints the replay command");
    let repro = cmd.trim_start().trim_start_matches("faultline replay ").trim();
    assert!(Path::new(repro).exists(), "{repro}");
    let r = run(&["replay", repro]);
    assert_eq!(code(&r), 1, "the violation reproduces: {}", stderr(&r));
    assert!(stderr(&r).contains("reproduced: trace hash"), "{}", stderr(&r));
    let first_hash = stdout(&o).lines().last().unwrap().to_string();
    assert_eq!(stdout(&r).lines().last().unwrap(), first_hash);

    // A tampered hash is reported as not reproduced: the run still fails, differently (exit 4).
    let text = std::fs::read_to_string(repro).unwrap();
    let bad = out.join("tampered.toml");
    let h = first_hash.rsplit('=').next().unwrap();
    std::fs::write(&bad, text.replace(h, "0000000000000000")).unwrap();
    let r = run(&["replay", bad.to_str().unwrap()]);
    assert_eq!(code(&r), 4, "{}", stderr(&r));
    assert!(stderr(&r).contains("NOT reproduced (diverged): trace hash"), "{}", stderr(&r));
}

#[test]
fn trace_file_is_json_lines_one_per_event() {
    let out = tmp("trace");
    let file = out.join("t.jsonl");
    let o = run(&[
        "run",
        scenario("register-steady.toml").to_str().unwrap(),
        "--format",
        "json",
        "--trace",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, v["events"].as_u64().unwrap());
    let mut deliveries = 0;
    for l in &lines {
        let e: serde_json::Value = serde_json::from_str(l).unwrap();
        let t = e["t_ns"].as_u64().expect("t_ns");
        assert!(e["kind"].is_string());
        // A delivery says when it was sent: never after it arrived.
        if e["kind"] == "deliver" {
            deliveries += 1;
            assert!(e["sent_ns"].as_u64().expect("sent_ns") <= t, "{l}");
        } else {
            assert!(e.get("sent_ns").is_none(), "{l}");
        }
    }
    assert!(deliveries > 0);
}

#[test]
fn bad_input_exits_2_naming_file_line_and_column() {
    let dir = tmp("bad");
    let cases = [
        ("wrong-type.toml", "name = \"x\"\nprotocol = \"register\"\nnodes = \"three\"\nduration_ms = 100\n", ":3:"),
        (
            "unknown-field.toml",
            "name = \"x\"\nprotocol = \"register\"\nnodes = 3\nduration_ms = 100\ncolour = 1\n",
            ":5:",
        ),
        (
            "probability.toml",
            "name = \"x\"\nprotocol = \"register\"\nnodes = 3\nduration_ms = 100\n[network]\nloss = 1.5\n",
            ":6:",
        ),
        ("zero-nodes.toml", "name = \"x\"\nprotocol = \"register\"\nnodes = 0\nduration_ms = 100\n", ":3:"),
        ("syntax.toml", "name = \"x\nprotocol = 1\n", ":1:"),
        ("protocol.toml", "name = \"x\"\nprotocol = \"nope\"\nnodes = 3\nduration_ms = 100\n", ":2:"),
        (
            "config.toml",
            "name = \"x\"\nprotocol = \"register\"\nnodes = 3\nduration_ms = 100\n[config]\nvalues = \"many\"\n",
            ":6:",
        ),
    ];
    for (file, text, at) in cases {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        let o = run(&["run", path.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{file}: {err}");
        assert!(err.contains(&format!("{file}{at}")), "{file}: expected `{file}{at}` in: {err}");
        assert!(!err.contains("panicked"), "{file}: {err}");
    }
    let o = run(&["run", dir.join("missing.toml").to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.toml"));
    let o = run(&["run", scenario("register-steady.toml").to_str().unwrap(), "--bug", "register.nope"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = run(&["frobnicate"]);
    assert_eq!(code(&o), 2);
    let o = run(&["run", scenario("register-steady.toml").to_str().unwrap(), "--seed", "-3"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn bugs_lists_every_planted_bug_as_json() {
    let o = run(&["bugs", "--format", "json"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = v.as_array().unwrap();
    assert!(rows.len() >= 3);
    for r in rows {
        for key in ["name", "protocol", "breaks", "caught_by", "scenarios"] {
            assert!(r.get(key).is_some(), "{key} in {r}");
        }
        let name = r["name"].as_str().unwrap();
        // PROTOCOL.NAME: bug names are per protocol (`--bug paxos.no-sync` switches on one bug
        // in one protocol).
        let protocol = r["protocol"].as_str().unwrap();
        assert!(name.starts_with(&format!("{protocol}.")), "{name} of {protocol}");
        for s in r["scenarios"].as_array().unwrap() {
            assert!(scenario(&format!("{}.toml", s.as_str().unwrap())).exists(), "{name} names scenario {s}");
        }
    }
    let o = run(&["bugs", "--protocol", "nope"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn every_planted_bug_is_caught_by_a_scenario_it_names() {
    // The promise behind `faultline bugs`: each bug fails one of its named scenarios, by the
    // invariant it names, within 1,000 seeds (a fail-fast sweep stops at the first failure).
    let o = run(&["bugs", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let out = tmp("bugs");
    for r in v.as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        let caught_by = r["caught_by"].as_str().unwrap();
        let mut seen = Vec::new();
        for s in r["scenarios"].as_array().unwrap() {
            let path = scenario(&format!("{}.toml", s.as_str().unwrap()));
            let dir = out.join(name);
            let _ = std::fs::remove_dir_all(&dir);
            let o = run(&[
                "sweep",
                path.to_str().unwrap(),
                "--bug",
                name,
                "--seeds",
                "0..1000",
                "--fail-fast",
                "--jobs",
                "2",
                "--out",
                dir.to_str().unwrap(),
            ]);
            if code(&o) != 1 {
                continue;
            }
            let mut rows = csv::Reader::from_path(dir.join("results.csv")).unwrap();
            let header = rows.headers().unwrap().clone();
            let (verdict, invariant) = (
                header.iter().position(|h| h == "verdict").unwrap(),
                header.iter().position(|h| h == "invariant").unwrap(),
            );
            for row in rows.records() {
                let row = row.unwrap();
                if &row[verdict] == "fail" {
                    seen.push(row[invariant].to_string());
                }
            }
            if seen.iter().any(|i| i == caught_by) {
                break;
            }
        }
        assert!(seen.iter().any(|i| i == caught_by), "{name}: expected `{caught_by}` to fail, saw {seen:?}");
    }
}

#[test]
fn every_shipped_scenario_passes_on_its_own_seed() {
    let o = run(&["run", root().join("scenarios").to_str().unwrap(), "--out", tmp("all").to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
}

#[test]
fn help_shows_every_command_with_an_example() {
    for cmd in ["run", "replay", "bugs", "check-history", "ring"] {
        let o = run(&[cmd, "--help"]);
        assert_eq!(code(&o), 0);
        assert!(stdout(&o).contains("Example: faultline"), "{cmd} --help");
    }
}

#[test]
fn ring_compares_placements_beside_theory() {
    let o = run(&["ring", "--nodes", "10", "--vnodes", "64", "--keys", "20000"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    for strategy in ["ring", "jump", "rendezvous", "modulo"] {
        assert!(out.lines().any(|l| l.starts_with(strategy)), "{strategy} missing in:\n{out}");
    }
    // `% n` moves almost everything on a join; consistent strategies about 1/(n+1).
    let join = |name: &str| -> f64 {
        let line = out.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(4).unwrap().parse().unwrap()
    };
    assert!(join("modulo") > 0.8, "{out}");
    assert!(join("rendezvous") < 0.15, "{out}");
    let o = run(&["ring", "--nodes", "3", "--replicas", "3"]);
    assert_eq!(code(&o), 2);
    let o = run(&["ring", "--nodes", "0"]);
    assert_eq!(code(&o), 2);
}

fn reference(path: &str) -> PathBuf {
    let p = root().join("..").join("shared").join("reference").join("histories").join("porcupine").join(path);
    assert!(p.exists(), "reference data missing: {} (../shared must sit beside the checkout)", p.display());
    p
}

#[test]
fn check_history_gives_the_reference_verdicts_and_exit_codes() {
    let ok = reference("jepsen/etcd_002.log");
    let bad = reference("jepsen/etcd_000.log");
    let o = run(&["check-history", "--model", "cas-register", ok.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("etcd_002.log: linearizable"), "{}", stdout(&o));
    assert_eq!(stdout(&o).lines().last().unwrap(), "1 passed, 0 failed");

    let html = tmp("explain").join("why.html");
    let o = run(&[
        "check-history",
        "--model",
        "cas-register",
        "--explain",
        html.to_str().unwrap(),
        ok.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stdout(&o).contains("etcd_000.log: not linearizable"), "{}", stdout(&o));
    assert_eq!(stdout(&o).lines().last().unwrap(), "1 passed, 1 failed");
    let page = std::fs::read_to_string(&html).expect("explanation written");
    assert!(page.contains("<svg"), "a timeline");

    let o = run(&["check-history", "--model", "kv", reference("kv/c01-bad.txt").to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let o = run(&["check-history", "--model", "kv-whole", reference("kv/c01-ok.txt").to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // Out of budget: inconclusive, exit 3.
    let o = run(&["check-history", "--model", "cas-register", "--max-states", "3", ok.to_str().unwrap()]);
    assert_eq!(code(&o), 3, "{}", stdout(&o));

    // Bad input: exit 2 naming the file and line; unknown model: exit 2.
    let garbage = tmp("garbage").join("h.json");
    std::fs::write(&garbage, "[{\"client\": 1, \"call\": \"soon\"}]\n").unwrap();
    let o = run(&["check-history", "--model", "cas-register", "--format", "json", garbage.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("h.json:1"), "{}", stderr(&o));
    let o = run(&["check-history", "--model", "queue", ok.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
}
