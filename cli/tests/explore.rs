//! End-to-end tests of `faultline explore` (guided search) and `sweep --until-all-marks`.

mod common;

use common::{code, fresh_dir, root, run, stderr, stdout};

fn scenario(name: &str) -> String {
    root().join("scenarios").join(name).display().to_string()
}

#[test]
fn explore_finds_a_planted_bug_writes_a_repro_that_replays_and_is_the_same_for_any_jobs() {
    let mut outputs = Vec::new();
    for jobs in ["1", "2"] {
        let dir = fresh_dir("explore-tests", &format!("found-{jobs}"));
        let o = run(&[
            "explore",
            &scenario("raft-generic.toml"),
            "--bug",
            "raft.follower-commit-no-min",
            "--runs",
            "400",
            "--seed",
            "3",
            "--jobs",
            jobs,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 1, "{}\n{}", stdout(&o), stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("found after "), "{text}");
        assert!(text.contains(" replay ") && text.contains(" shrink ") && text.contains(" explain "), "{text}");
        let repro = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "toml"))
            .expect("a repro");
        let r = run(&["replay", repro.to_str().unwrap()]);
        assert_eq!(code(&r), 1, "the repro reproduces the failure: {}", stderr(&r));
        outputs.push(text.replace(dir.to_str().unwrap(), "OUT").replace(&format!("--jobs {jobs}"), ""));
    }
    assert_eq!(outputs[0], outputs[1], "the search does not depend on --jobs");
}

#[test]
fn explore_of_a_correct_protocol_ends_at_its_budget_with_a_coverage_summary() {
    let dir = fresh_dir("explore-tests", "clean");
    let o = run(&["explore", &scenario("raft-generic.toml"), "--runs", "64", "--out", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("64 runs, no violation;") && text.contains("coverage keys"), "{text}");
    assert!(text.contains("marks never fired"), "the summary names the marks no run reached: {text}");
}

#[test]
fn explore_bad_input_exits_2() {
    let dir = fresh_dir("explore-tests", "bad");
    let o = run(&["explore", &scenario("raft-generic.toml"), "--bug", "raft.nope", "--out", dir.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("raft.nope"), "{}", stderr(&o));
    let o = run(&["explore", dir.join("missing.toml").to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn until_all_marks_stops_early_or_names_the_marks_that_never_fired() {
    let dir = fresh_dir("explore-tests", "marks");
    // register declares marks a steady run reaches quickly: the sweep stops well before its range.
    let o = run(&[
        "sweep",
        &scenario("register-crash.toml"),
        "--seeds",
        "0..500",
        "--until-all-marks",
        "--jobs",
        "1",
        "--out",
        dir.join("a").to_str().unwrap(),
    ]);
    let text = stdout(&o);
    if code(&o) == 0 {
        assert!(text.contains("every declared sometimes mark fired, after "), "{text}");
        let runs: usize = text.split("fired, after ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert!(runs < 500, "stopped early: {text}");
    } else {
        assert_eq!(code(&o), 3, "{text}");
        assert!(text.contains("sometimes marks that never fired in 500 runs: "), "{text}");
    }
    // Raft's generic scenario has no membership changes: those marks never fire, and it says so.
    let o = run(&[
        "sweep",
        &scenario("raft-generic.toml"),
        "--seeds",
        "0..20",
        "--until-all-marks",
        "--out",
        dir.join("b").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 3, "{}", stdout(&o));
    assert!(stdout(&o).contains("raft.add-server"), "{}", stdout(&o));
    assert!(stdout(&o).lines().last().unwrap().ends_with("20 passed, 0 failed"), "{}", stdout(&o));
}
