//! `summary.md`: failures with their replay, shrink and explain commands first, then per
//! scenario runs, failures, availability and latency, and the `sometimes` marks no scenario
//! reached; at most [`MAX_LINES`] lines, for a GitHub job summary.

use crate::record::RunRecord;
use crate::stats::{or_dash, ScenarioStats};
use crate::{replay_command, SweepInfo};
use faultline_sim::check::Verdict;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Escapes text for a Markdown table cell or a line of prose.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Most lines summary.md has: a GitHub step summary should be read at a glance.
pub const MAX_LINES: usize = 60;
/// Failures listed one by one (the rest are counted; all are in results.csv and report.html).
pub const MAX_FAILURES_LISTED: usize = 8;

/// The Markdown summary: at most [`MAX_LINES`] lines, the same bytes for the same sweep (no
/// wall-clock figures: those are in timings.csv), failures first with the commands that
/// replay, shrink and explain each, then the scenarios (failing ones first) as far as the
/// line budget allows, then the `sometimes` marks no scenario reached. Everything else is in
/// report.html.
pub fn markdown(info: &SweepInfo, stats: &[ScenarioStats], records: &[RunRecord], replay_dir: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let count = |v: Verdict| records.iter().filter(|r| r.row.verdict() == v).count();
    let (passed, failed, unknown) = (count(Verdict::Pass), count(Verdict::Fail), count(Verdict::Unknown));
    lines.push("# faultline sweep".into());
    lines.push(String::new());
    let mut head = format!(
        "{} runs: **{passed} passed, {failed} failed**{} · {} scenarios × seeds `{}`",
        records.len(),
        if unknown > 0 { format!(", {unknown} inconclusive") } else { String::new() },
        info.scenarios.len(),
        info.seeds()
    );
    if !info.bugs.is_empty() {
        let _ = write!(head, " · planted bugs: {}", md_escape(&info.bugs.join(", ")));
    }
    if info.swarm {
        head.push_str(" · swarm testing");
    }
    let missing = info.total_runs().saturating_sub(records.len() as u64);
    if missing > 0 {
        let _ = write!(head, " · **{missing} runs missing** (a shard, an interrupted or a fail-fast sweep)");
    }
    lines.push(head);

    // Failures first: what a reader of a red CI job needs, before any table.
    let failures: Vec<&RunRecord> = records.iter().filter(|r| r.row.verdict() != Verdict::Pass).collect();
    if !failures.is_empty() {
        lines.push(String::new());
        lines.push(format!("## Failures ({})", failures.len()));
        lines.push(String::new());
        for r in failures.iter().take(MAX_FAILURES_LISTED) {
            let row = &r.row;
            let what = if row.invariant.is_empty() { "inconclusive".to_string() } else { md_escape(&row.invariant) };
            let at = row.at_ms.map_or(String::new(), |t| format!(" at {t} ms"));
            let node = row.node.map_or(String::new(), |n| format!(" (node n{n})"));
            let swarm =
                if row.swarm.is_empty() { String::new() } else { format!(" · swarm: {}", md_escape(&row.swarm)) };
            lines.push(format!(
                "- **{}** seed {}: {what}{at}{node}: {}{swarm}",
                md_escape(&row.scenario),
                row.seed,
                md_escape(&row.detail)
            ));
            if !row.repro.is_empty() {
                let code = |c: String| format!("`{}`", c.replace('`', "'"));
                lines.push(format!(
                    "  - {} · {} · {}",
                    code(replay_command(&info.binary, replay_dir, &row.repro)),
                    code(crate::shrink_command(&info.binary, replay_dir, &row.repro)),
                    code(crate::explain_command(&info.binary, replay_dir, &row.repro))
                ));
            }
        }
        if failures.len() > MAX_FAILURES_LISTED {
            lines.push(format!(
                "- … and {} more: every failure is in results.csv and report.html",
                failures.len() - MAX_FAILURES_LISTED
            ));
        }
    }

    // Marks no scenario of the sweep reached, per protocol (the per-scenario counts are in
    // report.html).
    let mut unreached: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for st in stats.iter().filter(|st| !st.marks.is_empty()) {
        let never: BTreeSet<&str> = st.marks.iter().filter(|(_, c)| c.runs == 0).map(|(m, _)| m.as_str()).collect();
        let all = unreached.entry(st.protocol.as_str()).or_insert_with(|| never.clone());
        all.retain(|m| never.contains(m));
    }
    let mut coverage: Vec<String> = unreached
        .iter()
        .filter(|(_, m)| !m.is_empty())
        .map(|(protocol, marks)| {
            let marks: Vec<String> = marks.iter().map(|m| md_escape(m)).collect();
            format!("- ⚠ `{}`: no scenario of this sweep reached {}", md_escape(protocol), marks.join(", "))
        })
        .collect();
    if !coverage.is_empty() {
        coverage.insert(0, String::new());
        coverage.insert(1, "## Sometimes marks never reached".into());
        coverage.insert(2, String::new());
    }

    // The scenarios, failing ones first, as many as fit.
    let mut order: Vec<&ScenarioStats> = stats.iter().collect();
    order.sort_by_key(|st| (st.failed == 0 && st.unknown == 0, st.index));
    let fixed = lines.len() + coverage.len() + 6; // heading, blank, table head (2), overflow line, blank
    let room = MAX_LINES.saturating_sub(fixed).max(1);
    lines.push(String::new());
    lines.push("## Scenarios".into());
    lines.push(String::new());
    lines.push(
        "| scenario | protocol | runs | failed | unknown | availability (worst run) | latency p50 / p99 / max ms | \
         max recovery ms | longest outage ms |"
            .into(),
    );
    lines.push("|---|---|--:|--:|--:|--:|--:|--:|--:|".into());
    let shown = if order.len() > room { room - 1 } else { order.len() };
    for st in order.iter().take(shown) {
        let recovery = match (st.max_recovery_ms, st.never_recovered) {
            (_, n) if n > 0 => format!("never ({n} runs)"),
            (Some(r), _) => r.to_string(),
            (None, _) => "–".into(),
        };
        lines.push(format!(
            "| {} | {} | {} | {} | {} | {} ({}) | {} / {} / {} | {} | {} |",
            md_escape(&st.name),
            md_escape(&st.protocol),
            st.runs,
            st.failed,
            st.unknown,
            or_dash(st.availability(), 4),
            or_dash(st.worst_availability, 4),
            or_dash(st.latency_ms(0.5), 3),
            or_dash(st.latency_ms(0.99), 3),
            or_dash(st.latency_max(), 3),
            recovery,
            st.max_outage_ms
        ));
    }
    if order.len() > shown {
        let rest = &order[shown..];
        let runs: u64 = rest.iter().map(|st| st.runs).sum();
        let bad = rest.iter().filter(|st| st.failed > 0 || st.unknown > 0).count();
        lines.push(format!(
            "\n… and {} more scenarios ({runs} runs{}): every scenario is in report.html",
            rest.len(),
            if bad > 0 { format!(", {bad} of them with failures") } else { ", all passed".to_string() }
        ));
    }
    lines.extend(coverage);
    let mut s = lines.join("\n");
    s.push('\n');
    debug_assert!(s.lines().count() <= MAX_LINES + 1, "summary.md has {} lines", s.lines().count());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_marks_that_no_run_hit_are_flagged() {
        let info = SweepInfo {
            faultline_version: "test".into(),
            binary: "faultline".into(),
            scenarios: vec![crate::ScenarioInfo {
                name: "s".into(),
                protocol: "p".into(),
                file: "s.toml".into(),
                marks: vec!["p.common".into(), "p.rare".into()],
            }],
            seed_start: 0,
            seed_end: 2,
            bugs: Vec::new(),
            swarm: false,
            partition: None,
        };
        let mut records = vec![crate::journal::tests::record(0), crate::journal::tests::record(1)];
        records[0].marks.insert("p.common".into(), 3);
        let stats = crate::stats::per_scenario(&info, &records);
        let md = markdown(&info, &stats, &records, "out");
        assert!(md.contains("no scenario of this sweep reached p.rare"), "{md}");
        assert!(!md.contains("p.common"), "reached marks are counted in report.html only: {md}");
    }

    #[test]
    fn a_big_sweep_fits_in_sixty_lines_failures_first_with_their_commands() {
        let scenarios: Vec<crate::ScenarioInfo> = (0..45)
            .map(|i| crate::ScenarioInfo {
                name: format!("s{i}"),
                protocol: "p".into(),
                file: format!("s{i}.toml"),
                marks: vec!["p.rare".into()],
            })
            .collect();
        let info = SweepInfo {
            faultline_version: "test".into(),
            binary: "faultline".into(),
            scenarios,
            seed_start: 0,
            seed_end: 20,
            bugs: Vec::new(),
            swarm: false,
            partition: None,
        };
        let mut records = Vec::new();
        for i in 0..45usize {
            for seed in 0..20 {
                let mut r = crate::journal::tests::record(seed);
                r.scenario_index = i;
                r.row.scenario = format!("s{i}");
                if i == 40 {
                    r.row.verdict = "fail".into();
                    r.row.invariant = "p.safety".into();
                    r.row.repro = format!("repro-s{i}-{seed}.toml");
                }
                records.push(r);
            }
        }
        let stats = crate::stats::per_scenario(&info, &records);
        let md = markdown(&info, &stats, &records, "out");
        assert!(md.lines().count() <= MAX_LINES, "{} lines:\n{md}", md.lines().count());
        let failures = md.find("## Failures (20)").expect("failures section");
        assert!(failures < md.find("## Scenarios").unwrap(), "failures before any table");
        assert!(md.contains("`faultline replay out/repro-s40-0.toml` · `faultline shrink out/repro-s40-0.toml` · `faultline explain out/repro-s40-0.toml`"), "{md}");
        assert!(md.contains("… and 12 more: every failure"), "{md}");
        let first_row = md.lines().find(|l| l.starts_with("| s") && !l.starts_with("| scenario")).unwrap();
        assert!(first_row.starts_with("| s40 |"), "the failing scenario heads the table: {first_row}");
        assert!(md.contains("more scenarios") && md.contains("all passed"), "{md}");
        assert!(!md.contains("events/s"), "no wall-clock figures");
        assert_eq!(md, markdown(&info, &stats, &records, "out"), "deterministic");
    }

    #[test]
    fn markdown_special_characters_are_escaped() {
        assert_eq!(md_escape("a|b*c\nd<e>"), "a\\|b\\*c d\\<e\\>");
    }
}
