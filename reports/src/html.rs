//! `report.html`: one self-contained file (inline CSS and SVG, no scripts, nothing fetched) with
//! the sweep's table and, per scenario, latency quantiles over simulated time with fault windows
//! shaded, availability and throughput per time window, and a space-time diagram of the last
//! events before each of the first failures. Every string shown is escaped.

use crate::availability::{ratio, WINDOWS};
use crate::record::RunRecord;
use crate::stats::{or_dash, ScenarioStats};
use crate::svg::{self, esc, LineChart, Series, Style};
use crate::{replay_command, SweepInfo};
use faultline_sim::check::Verdict;
use std::fmt::Write;

/// Space-time diagrams drawn per scenario (the first failures in seed order).
pub const MAX_DIAGRAMS: usize = 3;
/// Failures listed per scenario in the HTML (all are in `summary.md` and `results.csv`).
pub const MAX_LISTED: usize = 50;

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d2330; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 32px 0 6px; border-bottom: 1px solid #dde; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #d6d9e0; padding: 3px 8px; text-align: right; }
th { background: #f2f4f8; } td.l, th.l { text-align: left; }
.fail { color: #b3261e; font-weight: 600; } .pass { color: #1b7f3b; } .unknown { color: #9a6700; font-weight: 600; }
code { background: #f4f5f7; padding: 1px 4px; border-radius: 3px; font-size: 12.5px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { background: #fcfcfd; border: 1px solid #e3e6ec; border-radius: 4px; }
svg .title { font-size: 13px; font-weight: 600; fill: #1d2330; } svg .tick { font-size: 10.5px; fill: #555; }
svg .label { font-size: 11px; fill: #333; } svg .legend { font-size: 11px; fill: #333; }
svg .axis { stroke: #888; } svg .grid { stroke: #eceef2; } svg .fault { fill: #f4a3a3; fill-opacity: .35; }
svg .fault-instant { stroke: #d9534f; stroke-dasharray: 2 2; } svg .fault-label { font-size: 9.5px; fill: #8f2d2a; } svg .bar { fill: #6c8ebf; } svg .whisker { stroke: #333; stroke-width: 1.5; }
svg .lane { stroke: #c9ced8; } svg .lane-label { font-size: 11px; fill: #333; }
svg .msg { stroke: #4a6fa5; stroke-width: 1; opacity: .75; } svg .msg-early { stroke-dasharray: 3 3; }
svg .violation { stroke: #b3261e; stroke-width: 2; } svg .violation-label { font-size: 11px; fill: #b3261e; font-weight: 600; }
svg .ev { fill: #4a6fa5; } svg .ev-timer { fill: #8a8f99; } svg .ev-fault { fill: #d9534f; } svg .ev-start { fill: #1b7f3b; }
svg .ev-invoke, svg .ev-reply { fill: #9a6700; } svg .ev-client-timeout { fill: #e07b00; } svg .ev-net-fault { stroke: #d9534f; stroke-width: 2; }
.scroll { overflow-x: auto; max-width: 100%; }
.note { color: #555; font-size: 12.5px; }
"#;

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Unknown => "unknown",
    }
}

/// The whole page.
pub fn page(
    info: &SweepInfo,
    stats: &[ScenarioStats],
    records: &[RunRecord],
    replay_dir: &str,
    explained: &dyn Fn(&str) -> bool,
) -> String {
    let mut h = String::new();
    let count = |v: Verdict| records.iter().filter(|r| r.row.verdict() == v).count();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>faultline sweep</title><style>{STYLE}</style></head><body>\n"
    );
    let _ = write!(h, "<h1>faultline sweep</h1><p>");
    let _ = write!(
        h,
        "{} runs: <span class=\"pass\">{} passed</span>, <span class=\"fail\">{} failed</span>",
        records.len(),
        count(Verdict::Pass),
        count(Verdict::Fail)
    );
    let unknown = count(Verdict::Unknown);
    if unknown > 0 {
        let _ = write!(h, ", <span class=\"unknown\">{unknown} inconclusive</span>");
    }
    let _ = write!(h, " · {} scenarios × seeds <code>{}</code>", info.scenarios.len(), esc(&info.seeds()));
    if !info.bugs.is_empty() {
        let _ = write!(h, " · planted bugs: <code>{}</code>", esc(&info.bugs.join(", ")));
    }
    if info.swarm {
        h.push_str(" · swarm testing");
    }
    h.push_str(" · faultline ");
    h.push_str(&esc(&info.faultline_version));
    h.push_str("</p>\n");
    h.push_str(
        "<p class=\"note\">Availability = ok / invoked client operations (pooled over runs; per window: of the operations \
         invoked in that window; operations still in flight when a run ended are left out). “–”: nothing was invoked, or \
         nothing succeeded, so there is nothing to measure. Latency is of ok operations, on a log axis. Shaded and \
         labelled: the fault windows of the run drawn (a failing scenario draws its first failing seed). Crosses are \
         failed operations, diamonds indeterminate ones (per second, by invocation).</p>\n",
    );

    // The overview table.
    h.push_str(
        "<table><tr><th class=\"l\">scenario</th><th class=\"l\">protocol</th><th>runs</th><th>failed</th><th>unknown</th>\
         <th>availability</th><th>worst run</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>msgs / ok op</th><th>events/s</th></tr>\n",
    );
    for st in stats {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\"><a href=\"#s{}\">{}</a></td><td class=\"l\">{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td></tr>",
            st.index,
            esc(&st.name),
            esc(&st.protocol),
            st.runs,
            if st.failed > 0 { "fail" } else { "pass" },
            st.failed,
            st.unknown,
            or_dash(st.availability(), 4),
            or_dash(st.worst_availability, 4),
            or_dash(st.latency_ms(0.5), 3),
            or_dash(st.latency_ms(0.99), 3),
            or_dash(st.latency_max(), 3),
            st.messages_per_op().map_or("–".into(), |m| format!("{m:.2}")),
            st.events_per_s()
        );
    }
    h.push_str("</table>\n");
    if !stats.is_empty() {
        h.push_str("<div class=\"charts\">");
        let avail: Vec<svg::Bar> = stats
            .iter()
            .map(|st| {
                // Only runs that invoked something have an availability.
                let runs: Vec<f64> = st
                    .records
                    .iter()
                    .map(|&i| &records[i].row)
                    .filter(|r| r.ops_invoked > 0)
                    .map(|r| r.availability)
                    .collect();
                let whisker = (!runs.is_empty())
                    .then(|| runs.iter().fold((1.0f64, 0.0f64), |(lo, hi), &a| (lo.min(a), hi.max(a))));
                (st.name.clone(), st.availability(), whisker)
            })
            .collect();
        h.push_str(&svg::bar_chart("availability per scenario (whisker: worst to best run)", "ok / invoked", &avail));
        let mpo: Vec<svg::Bar> = stats
            .iter()
            .map(|st| {
                let per_run: Vec<f64> = st
                    .records
                    .iter()
                    .map(|&i| &records[i].row)
                    .filter(|r| r.ops_ok > 0)
                    .map(|r| r.messages_sent as f64 / r.ops_ok as f64)
                    .collect();
                let whisker = (!per_run.is_empty())
                    .then(|| per_run.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &m| (lo.min(m), hi.max(m))));
                (st.name.clone(), st.messages_per_op(), whisker)
            })
            .collect();
        h.push_str(&svg::bar_chart(
            "messages per ok operation (whisker: min to max run)",
            "messages sent / ok operations",
            &mpo,
        ));
        h.push_str("</div>\n");
    }

    for st in stats {
        scenario_section(&mut h, st, records, &info.binary, replay_dir, explained);
    }
    h.push_str("</body></html>\n");
    h
}

fn scenario_section(
    h: &mut String,
    st: &ScenarioStats,
    records: &[RunRecord],
    binary: &str,
    replay_dir: &str,
    explained: &dyn Fn(&str) -> bool,
) {
    let runs: Vec<&RunRecord> = st.records.iter().map(|&i| &records[i]).collect();
    let Some(&first) = runs.first() else { return };
    let rep = runs.iter().copied().find(|r| r.row.verdict() == Verdict::Fail).unwrap_or(first);
    let _ = write!(
        h,
        "<h2 id=\"s{}\">{} <small>({})</small></h2><p>{} runs, <span class=\"{}\">{} failed</span>, {} inconclusive · \
         availability {} · latency p50 {} ms, p99 {} ms, max {} ms",
        st.index,
        esc(&st.name),
        esc(&st.protocol),
        st.runs,
        if st.failed > 0 { "fail" } else { "pass" },
        st.failed,
        st.unknown,
        or_dash(st.availability(), 4),
        or_dash(st.latency_ms(0.5), 3),
        or_dash(st.latency_ms(0.99), 3),
        or_dash(st.latency_max(), 3)
    );
    let never: Vec<&str> = st.marks.iter().filter(|(_, c)| c.runs == 0).map(|(m, _)| m.as_str()).collect();
    if !never.is_empty() {
        let _ =
            write!(h, " · <span class=\"unknown\">sometimes marks that never fired: {}</span>", esc(&never.join(", ")));
    }
    h.push_str("</p>\n");

    let w = &rep.windows;
    let wms = w.window_ms as f64;
    // A failing scenario draws its failing run, cropped to where that run stopped, so a run
    // cut short by its violation is not a mostly empty chart.
    let x_max = if rep.row.verdict() == Verdict::Fail { wms * w.reached.max(1) as f64 } else { wms * WINDOWS as f64 };
    let mid = |i: usize| (i as f64 + 0.5) * wms;
    let seed_label = format!("seed {}", rep.row.seed);
    let series =
        |vals: &[Option<f64>]| vals.iter().enumerate().map(|(i, v)| v.map(|v| (mid(i), v))).collect::<Vec<_>>();
    // Pooled over every run of the scenario, window by window.
    let mut inv = vec![0u64; WINDOWS];
    let mut ok = vec![0u64; WINDOWS];
    let mut reached = vec![0u64; WINDOWS];
    for r in &runs {
        for i in 0..WINDOWS.min(r.windows.invoked.len()).min(r.windows.reached) {
            inv[i] += u64::from(r.windows.invoked[i]);
            ok[i] += u64::from(r.windows.ok[i]);
            reached[i] += 1;
        }
    }
    let pooled_avail: Vec<Option<(f64, f64)>> =
        (0..WINDOWS).map(|i| (inv[i] > 0).then(|| (mid(i), ratio(ok[i], inv[i])))).collect();
    let pooled_tput: Vec<Option<(f64, f64)>> = (0..WINDOWS)
        .map(|i| (reached[i] > 0).then(|| (mid(i), ok[i] as f64 * 1000.0 / wms / reached[i] as f64)))
        .collect();

    h.push_str("<div class=\"charts\">");
    h.push_str(&svg::line_chart(&LineChart {
        title: &format!("latency of ok operations over simulated time ({seed_label})"),
        x_label: "simulated time (ms), by invocation",
        y_label: "latency (ms)",
        x_max,
        y_max: None,
        log_y: true,
        series: vec![
            Series { label: "p50".into(), color: "#2b6cb0", points: series(&w.p50_ms), style: Style::Line },
            Series { label: "p99".into(), color: "#c05621", points: series(&w.p99_ms), style: Style::Line },
            Series { label: "max".into(), color: "#718096", points: series(&w.max_ms), style: Style::Dashed },
        ],
        shade: &rep.fault_spans,
    }));
    h.push_str(&svg::line_chart(&LineChart {
        title: "availability per time window (ok / invoked)",
        x_label: "simulated time (ms), by invocation",
        y_label: "availability",
        x_max,
        y_max: Some(1.05),
        log_y: false,
        series: vec![
            Series {
                label: seed_label.clone(),
                color: "#2b6cb0",
                points: (0..WINDOWS).map(|i| w.availability(i).map(|a| (mid(i), a))).collect(),
                style: Style::Line,
            },
            Series {
                label: format!("all {} runs", runs.len()),
                color: "#2f855a",
                points: pooled_avail,
                style: Style::Dashed,
            },
        ],
        shade: &rep.fault_spans,
    }));
    h.push_str(&svg::line_chart(&LineChart {
        title: "operations per simulated second (ok, failed, indeterminate)",
        x_label: "simulated time (ms), by invocation",
        y_label: "ops / s",
        x_max,
        y_max: None,
        log_y: false,
        series: vec![
            Series {
                label: format!("ok, {seed_label}"),
                color: "#2b6cb0",
                points: (0..WINDOWS).map(|i| w.throughput(i).map(|t| (mid(i), t))).collect(),
                style: Style::Line,
            },
            Series { label: "ok, mean over runs".into(), color: "#2f855a", points: pooled_tput, style: Style::Dashed },
            Series {
                label: "failed".into(),
                color: "#b3261e",
                points: (0..WINDOWS).map(|i| w.failed_rate(i).filter(|&r| r > 0.0).map(|r| (mid(i), r))).collect(),
                style: Style::Cross,
            },
            Series {
                label: "indeterminate".into(),
                color: "#9a6700",
                points: (0..WINDOWS)
                    .map(|i| w.indeterminate_rate(i).filter(|&r| r > 0.0).map(|r| (mid(i), r)))
                    .collect(),
                style: Style::Diamond,
            },
        ],
        shade: &rep.fault_spans,
    }));
    h.push_str("</div>\n");

    let failures: Vec<&RunRecord> = runs.iter().copied().filter(|r| r.row.verdict() != Verdict::Pass).collect();
    if failures.is_empty() {
        return;
    }
    h.push_str("<h3>Failures</h3><table><tr><th>seed</th><th class=\"l\">verdict</th><th class=\"l\">invariant</th><th>at ms</th><th>node</th><th class=\"l\">detail</th><th class=\"l\">replay</th><th class=\"l\">explain</th></tr>\n");
    for r in failures.iter().take(MAX_LISTED) {
        let row = &r.row;
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l {}\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td><td class=\"l\"><code>{}</code></td><td class=\"l\">{}</td></tr>",
            row.seed,
            verdict_class(row.verdict()),
            esc(&row.verdict),
            esc(&row.invariant),
            row.at_ms.map_or(String::new(), |t| t.to_string()),
            row.node.map_or(String::new(), |n| format!("n{n}")),
            esc(&row.detail),
            if row.repro.is_empty() { String::new() } else { esc(&replay_command(binary, replay_dir, &row.repro)) },
            if row.repro.is_empty() {
                String::new()
            } else if explained(&row.repro) {
                let page = crate::explain_file_name(&row.repro);
                format!("<a class=\"explain\" href=\"{}\">{}</a>", esc(&page), esc(&page))
            } else {
                format!("<code>{}</code>", esc(&crate::explain_command(binary, replay_dir, &row.repro)))
            }
        );
    }
    h.push_str("</table>\n");
    if failures.len() > MAX_LISTED {
        let _ = writeln!(
            h,
            "<p class=\"note\">{} more failures in summary.md and results.csv.</p>",
            failures.len() - MAX_LISTED
        );
    }
    for r in failures.iter().filter(|r| !r.recent.is_empty()).take(MAX_DIAGRAMS) {
        let _ = write!(
            h,
            "<h3>Space-time diagram: seed {} — {}</h3><p class=\"note\">Lanes are nodes and clients; arrows are messages, \
             requests and replies (drawn from the sender's latest handled event: the simulator records deliveries, not sends); \
             red lines are network-wide faults; the thick red line is where the violation was detected.</p><div class=\"scroll\">",
            r.row.seed,
            esc(&r.row.invariant)
        );
        h.push_str(&svg::space_time(&r.recent, r.violation_ns));
        h.push_str("</div>\n");
    }
}
