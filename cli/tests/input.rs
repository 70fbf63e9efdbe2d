//! Verdicts a user can trust: replay that notices change, bad input that is never a
//! "violation", every run bounded. Each test runs the real binary.

mod common;

use common::{code, fresh_dir, root, run, stderr, stdout};
use std::path::{Path, PathBuf};

fn scenario(name: &str) -> String {
    root().join("scenarios").join(name).display().to_string()
}

fn tmp(name: &str) -> PathBuf {
    fresh_dir("e2e-input", name)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A failing run's repro file, written by `run`.
fn failing_repro(dir: &Path) -> String {
    let o = run(&["run", &scenario("raft-steady.toml"), "--bug", "raft.no-dedup", "--out", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    dir.join("repro-raft-steady-0.toml").display().to_string()
}

#[test]
fn replay_tells_reproduced_passes_now_and_diverged_apart() {
    let dir = tmp("replay");
    let repro = failing_repro(&dir);
    let text = std::fs::read_to_string(&repro).unwrap();
    assert!(text.contains("verdict = \"fail\""), "the repro records its verdict:\n{text}");

    let o = run(&["replay", &repro, "--format", "json"]);
    assert_eq!(code(&o), 1, "reproduced: {}", stderr(&o));
    assert!(stderr(&o).contains("reproduced: trace hash"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["replay"]["status"], "reproduced");

    // The bug line deleted: the run passes now. The trace hash covers the client answers, so it
    // differs too (it used to match, and replay said "reproduced").
    let nobug = write(&dir, "nobug.toml", &text.replace("bugs = [\"raft.no-dedup\"]\n", ""));
    let o = run(&["replay", &nobug, "--format", "json"]);
    assert_eq!(code(&o), 0, "passes now: {}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("NOT reproduced (passes-now)"), "{err}");
    assert!(err.contains("trace hash") && err.contains("verdict pass (recorded fail)"), "{err}");
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["replay"]["status"], "passes-now");

    // Still failing, but not the recorded run: diverged (exit 4).
    let recorded = text.lines().find(|l| l.starts_with("trace_hash = ")).unwrap();
    let other = write(&dir, "other.toml", &text.replace(recorded, "trace_hash = \"0123456789abcdef\""));
    let o = run(&["replay", &other]);
    assert_eq!(code(&o), 4, "diverged: {}", stderr(&o));
    assert!(stderr(&o).contains("NOT reproduced (diverged): trace hash"), "{}", stderr(&o));
    let wrong =
        write(&dir, "wrong-inv.toml", &text.replace("invariant = \"raft.linearizable\"", "invariant = \"raft.x\""));
    let o = run(&["replay", &wrong]);
    assert_eq!(code(&o), 4, "another first violation: {}", stderr(&o));
    assert!(stderr(&o).contains("first violation raft.linearizable (recorded raft.x)"), "{}", stderr(&o));
}

const HEAD: &str = "name = \"x\"\nprotocol = \"raft\"\nnodes = 5\nduration_ms = 500\n";

/// Runs a scenario text and expects bad input (exit 2) whose message names `file:LINE:` and
/// `needle`, and never a panic or a violation.
fn bad(dir: &Path, name: &str, text: &str, line: usize, needle: &str) {
    let path = write(dir, name, text);
    let o = run(&["run", &path, "--out", dir.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(code(&o), 2, "{name}: exit {}\n{err}\n{}", code(&o), stdout(&o));
    assert!(err.contains(&format!("{name}:{line}:")), "{name}: expected line {line} in: {err}");
    assert!(err.contains(needle), "{name}: expected `{needle}` in: {err}");
    assert!(!err.contains("panicked") && !stdout(&o).contains("VIOLATION"), "{name}: {err}");
}

#[test]
fn configuration_mistakes_are_bad_input_never_a_violation() {
    let dir = tmp("config");
    bad(&dir, "raft-65.toml", "name = \"x\"\nprotocol = \"raft\"\nnodes = 65\nduration_ms = 500\n", 3, "nodes");
    bad(&dir, "paxos-65.toml", "name = \"x\"\nprotocol = \"paxos\"\nnodes = 65\nduration_ms = 500\n", 3, "nodes");
    bad(&dir, "mp-65.toml", "name = \"x\"\nprotocol = \"multipaxos\"\nnodes = 100\nduration_ms = 500\n", 3, "nodes");
    bad(
        &dir,
        "heartbeat.toml",
        &format!("{HEAD}[config]\nelection_timeout_ms = 100\nheartbeat_ms = 150\n"),
        7,
        "heartbeat_ms",
    );
    bad(
        &dir,
        "lock-layout.toml",
        "name = \"x\"\nprotocol = \"lock\"\nnodes = 4\nduration_ms = 500\n[config]\nservers = 3\nclient_nodes = 3\n",
        3,
        "servers + client_nodes + 1",
    );
    bad(
        &dir,
        "ring-r.toml",
        "name = \"x\"\nprotocol = \"ring\"\nnodes = 5\nduration_ms = 500\n[config]\nr = 9\n",
        6,
        "config.r",
    );
    bad(
        &dir,
        "target.toml",
        &format!("{HEAD}[nemesis]\ncrash = 1\ntarget = 99\n"),
        7,
        "nemesis.target: 99 is not a node",
    );
    bad(&dir, "fault.toml", &format!("{HEAD}[[faults]]\nat_ms = 10\nkind = \"crash\"\nnode = 99\n"), 8, "not a node");
    bad(
        &dir,
        "jump.toml",
        &format!("{HEAD}[[faults]]\nat_ms = 10\nkind = \"clock-jump\"\nnode = 0\ndelta_ms = 9223372036854775807\n"),
        9,
        "delta_ms",
    );
}

#[test]
fn nonsense_is_refused_and_unbounded_runs_cannot_start() {
    let dir = tmp("nonsense");
    bad(&dir, "clients.toml", &format!("{HEAD}[workload]\nclients = 100000\n"), 6, "workload.clients");
    bad(
        &dir,
        "duration.toml",
        "name = \"x\"\nprotocol = \"raft\"\nnodes = 5\nduration_ms = 9223372036854775807\n",
        4,
        "duration_ms",
    );
    bad(
        &dir,
        "groups.toml",
        &format!("{HEAD}[[faults]]\nat_ms = 10\nkind = \"partition\"\nshape = \"groups\"\ngroups = [[0, 0, 0], [0]]\n"),
        9,
        "appears twice",
    );
    bad(
        &dir,
        "one-way.toml",
        &format!("{HEAD}[[faults]]\nat_ms = 10\nkind = \"partition\"\nshape = \"one-way\"\nfrom = []\nto = [1]\n"),
        9,
        "must not be empty",
    );
    bad(&dir, "attempts.toml", &format!("{HEAD}[workload]\nattempts = 0\n"), 6, "workload.attempts");
    bad(&dir, "name.toml", "name = \"\"\nprotocol = \"raft\"\nnodes = 5\nduration_ms = 500\n", 1, "name");
    bad(
        &dir,
        "for.toml",
        &format!("{HEAD}[[faults]]\nat_ms = 10\nkind = \"crash\"\nnode = 1\nfor_ms = 0\n"),
        9,
        "for_ms",
    );
    bad(
        &dir,
        "stray.toml",
        &format!("{HEAD}[[faults]]\nat_ms = 10\nkind = \"crash\"\nnode = 1\ndelta_ms = 5\n"),
        9,
        "does not apply",
    );
}

#[test]
fn a_run_past_its_wall_clock_budget_is_inconclusive_and_says_which_budget() {
    let dir = tmp("wall");
    let path = write(
        &dir,
        "long.toml",
        "name = \"long\"\nprotocol = \"register\"\nnodes = 3\nduration_ms = 900000000\n[workload]\nclients = 50\n\
         [limits]\nwall_ms = 300\nmax_history = 2000000\n",
    );
    let o = run(&["run", &path, "--format", "json", "--out", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["verdict"], "unknown");
    assert!(v["unknown_reason"].as_str().unwrap().contains("limits.wall_ms"), "{v}");
}

#[test]
fn invalid_utf8_is_an_error_with_its_position() {
    let dir = tmp("utf8");
    let path = dir.join("bad-utf8.toml");
    std::fs::write(&path, b"name = \"x\"\nprotocol = \"raft\"\nnodes = 5\ndur\xff\xfeation_ms = 500\n").unwrap();
    let o = run(&["run", path.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("bad-utf8.toml:4:4: the scenario is not valid UTF-8"), "{}", stderr(&o));
    // The same for a repro file.
    let repro = failing_repro(&dir);
    let mut bytes = std::fs::read(&repro).unwrap();
    bytes.splice(0..0, b"\n\xc3".iter().copied());
    std::fs::write(&repro, bytes).unwrap();
    let o = run(&["replay", &repro]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains(":2:1: the repro is not valid UTF-8"), "{}", stderr(&o));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    for args in [vec!["bugs", "--format", "json"], vec!["run", &scenario("raft-steady.toml"), "--trace", "/dev/stdout"]]
    {
        let mut child = common::bin().args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut first = [0u8; 100];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The reading end is closed here, like `| head -c 100`.
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let status = child.wait().unwrap();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(matches!(status.code(), Some(0..=3)), "{args:?}: {status:?} {err}");
    }
}

#[test]
fn a_long_scenario_name_gets_a_bounded_repro_file_name() {
    let dir = tmp("long-name");
    let name = "n".repeat(300);
    let text = std::fs::read_to_string(scenario("register-crash.toml"))
        .unwrap()
        .replace("name = \"register-crash\"", &format!("name = \"{name}\""));
    let path = write(&dir, "long-name.toml", &text);
    let out = dir.join("out");
    let o = run(&["sweep", &path, "--seeds", "0..4", "--bug", "register.no-sync", "--out", out.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}\n{}", stdout(&o), stderr(&o));
    let repros: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|f| f.starts_with("repro-"))
        .collect();
    assert!(!repros.is_empty());
    assert!(repros.iter().all(|f| f.len() < 100), "{repros:?}");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains(&repros[0]), "the failure is in summary.md");
}

#[test]
fn ctrl_c_on_a_sweep_writes_the_reports_for_what_finished_and_the_resume_command() {
    let dir = tmp("ctrl-c");
    let out = dir.join("out");
    let child = common::bin()
        .args([
            "sweep",
            &scenario("raft-steady.toml"),
            "--seeds",
            "0..100000",
            "--jobs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until some runs are in the journal, then interrupt.
    let journal = out.join("journal.jsonl");
    for _ in 0..600 {
        if std::fs::read_to_string(&journal).map(|t| t.lines().count()).unwrap_or(0) >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("--resume"), "{err}");
    for f in ["results.csv", "summary.md", "report.html", "junit.xml"] {
        assert!(out.join(f).is_file(), "{f} written");
    }
    let rows = std::fs::read_to_string(out.join("results.csv")).unwrap().lines().count();
    assert!(rows >= 4, "results.csv holds the finished runs ({rows} lines)");
    assert!(String::from_utf8_lossy(&o.stdout).trim_end().lines().last().unwrap().ends_with("failed"));
}

#[test]
fn negative_init_values_are_accepted() {
    let dir = tmp("init");
    let h = write(
        &dir,
        "h.edn",
        "{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value -5}\n",
    );
    let o = run(&["check-history", "--model", "register", "--init", "-5", &h]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
}
