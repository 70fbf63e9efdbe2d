//! End-to-end tests of `faultline explain`: the page of one failing run (written by the command
//! and beside a sweep's first failures, linked from report.html), the nodes' state at a given
//! time, bad input, and the page in headless Chromium (skipped without one, see
//! `common::chromium`).

mod common;

use common::{chromium, code, dump_dom, fresh_dir, root, run, stderr, stdout};
use std::path::{Path, PathBuf};

fn scenario(name: &str) -> String {
    root().join("scenarios").join(name).display().to_string()
}

/// A failing run of the Raft Figure 8 scenario with the commit-rule bug, and its repro.
fn failing_repro(dir: &Path) -> PathBuf {
    let out = dir.display().to_string();
    let o =
        run(&["run", &scenario("raft-figure8.toml"), "--seed", "0", "--bug", "raft.commit-prior-term", "--out", &out]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    dir.join("repro-raft-figure8-0.toml")
}

#[test]
fn explain_writes_one_page_with_every_section_and_prints_states_at_a_time() {
    let dir = fresh_dir("explain-tests", "page");
    let repro = failing_repro(&dir);
    let page = dir.join("page.html");
    let o = run(&["explain", repro.to_str().unwrap(), "-o", page.to_str().unwrap(), "--at", "900"]);
    assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("nodes at 900 ms (true time):"), "{text}");
    assert!(text.lines().filter(|l| l.trim_start().starts_with('n') && l.contains(" t")).count() >= 3, "{text}");
    assert!(text.contains("faults in force: "), "{text}");
    assert!(text.contains("first violation raft.leader-completeness"), "{text}");
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in [
        "id=\"violation\"",
        "raft.leader-completeness",
        "id=\"faults\"",
        "crash n0",
        "id=\"timeline\"",
        "leader t",
        "id=\"state-at-violation\"",
        "id=\"spacetime\"",
        "faultline replay ",
        "faultline shrink ",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(!html.contains("<script"), "self-contained, no scripts");
    // The same run gives the same page.
    let again = dir.join("again.html");
    assert_eq!(code(&run(&["explain", repro.to_str().unwrap(), "-o", again.to_str().unwrap()])), 0);
    assert_eq!(html, std::fs::read_to_string(&again).unwrap(), "deterministic");
}

#[test]
fn a_history_violation_is_drawn_with_its_small_failing_sub_history() {
    let dir = fresh_dir("explain-tests", "history");
    let out = dir.display().to_string();
    let o = run(&["run", &scenario("raft-steady.toml"), "--seed", "0", "--bug", "raft.no-dedup", "--out", &out]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let repro = dir.join("repro-raft-steady-0.toml");
    let o = run(&["explain", repro.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let html = std::fs::read_to_string(dir.join("repro-raft-steady-0.html")).unwrap();
    assert!(html.contains("id=\"history\""), "history section");
    assert!(
        html.contains("in the small failing sub-history") && html.contains(" min\""),
        "the sub-history is outlined"
    );
}

#[test]
fn bad_input_exits_2() {
    let dir = fresh_dir("explain-tests", "bad");
    let o = run(&["explain", dir.join("missing.toml").to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn a_sweep_writes_pages_for_its_first_failures_and_links_them() {
    let dir = fresh_dir("explain-tests", "sweep");
    let out = dir.display().to_string();
    let o = run(&[
        "sweep",
        &scenario("raft-figure8.toml"),
        "--seeds",
        "0..5",
        "--bug",
        "raft.commit-prior-term",
        "--out",
        &out,
    ]);
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|f| f.starts_with("explain-"))
        .collect();
    assert_eq!(pages.len(), 3, "the first three failures of the scenario: {pages:?}");
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("href=\"explain-raft-figure8-0.html\""), "linked from report.html");
    assert!(report.contains("explain ") && report.contains("repro-raft-figure8-4.toml"), "the others get the command");
    let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(summary.lines().count() <= 60);
    assert!(summary.contains(" shrink ") && summary.contains(" explain "), "{summary}");
}

#[test]
fn the_explain_page_renders_in_a_browser() {
    let Some(browser) = chromium() else { return };
    let dir = fresh_dir("explain-tests", "browser");
    let repro = failing_repro(&dir);
    let page = dir.join("page.html");
    assert_eq!(code(&run(&["explain", repro.to_str().unwrap(), "-o", page.to_str().unwrap()])), 0);
    let probe = r#"<script>
(function () {
  const q = (s) => document.querySelectorAll(s).length;
  const box = (s) => { const e = document.querySelector(s); if (!e) return 0; const r = e.getBoundingClientRect(); return r.width * r.height; };
  const out = { violation: q('#violation .violation-box'), fault_bars: q('#faults rect.fault-bar'), segments: q('#timeline rect.seg'),
    state_rows: q('#state-at-violation tr'), arrows: q('#spacetime line, #spacetime path'), faults_area: box('#faults'), timeline_area: box('#timeline') };
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
</script>"#;
    let html = std::fs::read_to_string(&page).unwrap();
    let probed = dir.join("probe.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{probe}</body>"))).unwrap();
    let dom = dump_dom(&browser, &probed);
    let json = dom.split("<pre id=\"probe\">").nth(1).and_then(|r| r.split("</pre>").next()).expect("the probe ran");
    let v: serde_json::Value = serde_json::from_str(&json.replace("&quot;", "\"")).unwrap();
    assert_eq!(v["violation"], 1, "{v}");
    assert!(v["fault_bars"].as_u64().unwrap() >= 3, "crashes drawn: {v}");
    assert!(v["segments"].as_u64().unwrap() >= 5, "node states drawn: {v}");
    assert_eq!(v["state_rows"], 6, "a header and five nodes: {v}");
    assert!(v["arrows"].as_u64().unwrap() > 0, "{v}");
    assert!(
        v["faults_area"].as_f64().unwrap() > 10_000.0 && v["timeline_area"].as_f64().unwrap() > 10_000.0,
        "laid out: {v}"
    );
}

#[test]
fn explaining_a_scenario_file_writes_under_target_not_into_the_source_tree() {
    let o = run(&["explain", &scenario("register-crash.toml"), "--seed", "1", "--bug", "register.no-sync"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!root().join("scenarios/register-crash.html").exists(), "nothing written beside the scenario");
    assert!(root().join("target/faultline/explain-register-crash-1.html").is_file(), "{}", stdout(&o));
}
