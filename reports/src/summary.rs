//! `summary.md`: every failure with its replay command first, then per scenario runs, failures,
//! availability, latency, speed and `sometimes` coverage. GitHub renders it as a job summary.

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

/// The Markdown summary.
pub fn markdown(info: &SweepInfo, stats: &[ScenarioStats], records: &[RunRecord], replay_dir: &str) -> String {
    let mut s = String::new();
    let count = |v: Verdict| records.iter().filter(|r| r.row.verdict() == v).count();
    let (passed, failed, unknown) = (count(Verdict::Pass), count(Verdict::Fail), count(Verdict::Unknown));
    let _ = writeln!(s, "# faultline sweep\n");
    let _ = write!(
        s,
        "{} runs: **{passed} passed, {failed} failed**{} · {} scenarios × seeds `{}`",
        records.len(),
        if unknown > 0 { format!(", {unknown} inconclusive") } else { String::new() },
        info.scenarios.len(),
        info.seeds()
    );
    if !info.bugs.is_empty() {
        let _ = write!(s, " · planted bugs: {}", md_escape(&info.bugs.join(", ")));
    }
    if info.swarm {
        let _ = write!(s, " · swarm testing");
    }
    let missing = info.total_runs().saturating_sub(records.len() as u64);
    if missing > 0 {
        let _ = write!(s, " · **{missing} runs missing** (a shard, an interrupted or a fail-fast sweep)");
    }
    let _ = writeln!(s, "\n");
    // Failures first: what a reader of a red CI job needs, before any table.
    let failures: Vec<&RunRecord> = records.iter().filter(|r| r.row.verdict() != Verdict::Pass).collect();
    if !failures.is_empty() {
        let _ = writeln!(s, "## Failures\n");
        for r in failures {
            let row = &r.row;
            let what = if row.invariant.is_empty() { "inconclusive".to_string() } else { md_escape(&row.invariant) };
            let at = row.at_ms.map_or(String::new(), |t| format!(" at {t} ms"));
            let node = row.node.map_or(String::new(), |n| format!(" (node n{n})"));
            let _ = writeln!(
                s,
                "- **{}** seed {}: {what}{at}{node}: {}",
                md_escape(&row.scenario),
                row.seed,
                md_escape(&row.detail)
            );
            if !row.swarm.is_empty() {
                let _ = writeln!(s, "  - swarm: {}", md_escape(&row.swarm));
            }
            if !row.repro.is_empty() {
                let _ = writeln!(s, "  - `{}`", replay_command(&info.binary, replay_dir, &row.repro).replace('`', "'"));
            }
        }
        let _ = writeln!(s, "\n## Scenarios\n");
    }
    let _ = writeln!(
        s,
        "| scenario | protocol | runs | failed | unknown | availability (worst run) | latency p50 / p99 / max ms | \
         max recovery ms | longest outage ms | events/s |"
    );
    let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for st in stats {
        let recovery = match (st.max_recovery_ms, st.never_recovered) {
            (_, n) if n > 0 => format!("never ({n} runs)"),
            (Some(r), _) => r.to_string(),
            (None, _) => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} ({}) | {} / {} / {} | {} | {} | {:.0} |",
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
            st.max_outage_ms,
            st.events_per_s()
        );
    }
    let with_marks: Vec<&ScenarioStats> = stats.iter().filter(|st| !st.marks.is_empty()).collect();
    if !with_marks.is_empty() {
        let _ = writeln!(s, "\n## Sometimes marks\n");
        let _ = writeln!(
            s,
            "Runs in which each `sometimes` mark fired, and its total hits. ⚠ lists the marks of the same protocol \
             (declared in `Protocol::MARKS`, or fired in another scenario of this sweep) that never fired in this one: if \
             the scenario claims to exercise them, it does not.\n"
        );
        // Per protocol: declared marks that no scenario of the sweep reached at all.
        let mut unreached: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for st in &with_marks {
            let never: BTreeSet<&str> = st.marks.iter().filter(|(_, c)| c.runs == 0).map(|(m, _)| m.as_str()).collect();
            let all = unreached.entry(st.protocol.as_str()).or_insert_with(|| never.clone());
            all.retain(|m| never.contains(m));
        }
        for (protocol, marks) in unreached.iter().filter(|(_, m)| !m.is_empty()) {
            let marks: Vec<String> = marks.iter().map(|m| md_escape(m)).collect();
            let _ =
                writeln!(s, "⚠ `{}`: no scenario of this sweep reached {}.\n", md_escape(protocol), marks.join(", "));
        }
        let _ = writeln!(s, "| scenario | mark | runs fired | hits |");
        let _ = writeln!(s, "|---|---|--:|--:|");
        for st in &with_marks {
            for (m, c) in st.marks.iter().filter(|(_, c)| c.runs > 0) {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} / {} | {} |",
                    md_escape(&st.name),
                    md_escape(m),
                    c.runs,
                    st.runs,
                    c.hits
                );
            }
            let never: Vec<String> = st.marks.iter().filter(|(_, c)| c.runs == 0).map(|(m, _)| md_escape(m)).collect();
            if !never.is_empty() {
                let _ = writeln!(
                    s,
                    "| {} | ⚠ never fired: {} | 0 / {} | 0 |",
                    md_escape(&st.name),
                    never.join(", "),
                    st.runs
                );
            }
        }
    }
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
        assert!(md.contains("| s | p.common | 1 / 2 | 3 |"), "{md}");
        assert!(md.contains("⚠ never fired: p.rare"), "{md}");
        assert!(md.contains("no scenario of this sweep reached p.rare."), "{md}");
    }

    #[test]
    fn markdown_special_characters_are_escaped() {
        assert_eq!(md_escape("a|b*c\nd<e>"), "a\\|b\\*c d\\<e\\>");
    }
}
