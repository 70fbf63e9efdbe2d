//! The page of `faultline explain`: one self-contained HTML file (inline CSS and SVG, no
//! scripts) for one run: what failed, the fault schedule on a time axis, each node's role and
//! state over time, the messages around the violation, and for a history violation the
//! operations of the failing part with the small failing sub-history outlined. Every string
//! shown is escaped.

use crate::availability::{fault_spans, FaultSpan};
use crate::record::RecentEvent;
use crate::svg::{self, esc};
use faultline_sim::report::AppliedFault;
use faultline_sim::world::TraceRecord;
use std::fmt::Write;

/// Events in the space-time diagram around the violation (the wider one shows four times as
/// many).
pub const WINDOW_EVENTS: usize = 60;

/// The first violation of a run, as the page shows it.
pub struct ShownViolation<'a> {
    /// Invariant name.
    pub invariant: &'a str,
    /// True time, ns.
    pub at_ns: u64,
    /// Where.
    pub node: Option<u32>,
    /// What the check said.
    pub detail: &'a str,
}

/// Everything the page shows of one run.
pub struct ExplainRun<'a> {
    /// Scenario name.
    pub scenario: &'a str,
    /// Protocol name.
    pub protocol: &'a str,
    /// Seed.
    pub seed: u64,
    /// Planted bugs.
    pub bugs: &'a [String],
    /// `pass`, `fail` or `unknown`.
    pub verdict: &'a str,
    /// Why the run was inconclusive, if it was.
    pub unknown: Option<&'a str>,
    /// Trace hash (hex).
    pub trace_hash: &'a str,
    /// Events handled.
    pub events: u64,
    /// Nodes.
    pub nodes: u32,
    /// Where the run stopped, ms of simulated time.
    pub end_ms: u64,
    /// The first violation.
    pub violation: Option<ShownViolation<'a>>,
    /// The faults applied.
    pub faults: &'a [AppliedFault],
    /// Each node's summary whenever it changed: (true time ns, node, summary).
    pub timeline: &'a [(u64, u32, String)],
    /// Every event of the run.
    pub trace: &'a [TraceRecord],
    /// History explanations: (title, HTML fragment from `faultline_lincheck::explain_section`).
    pub history: Vec<(String, String)>,
    /// Extra CSS the history fragments need (`faultline_lincheck::EXPLAIN_STYLE`).
    pub history_style: &'a str,
    /// Commands to show: (what, command line).
    pub commands: Vec<(&'a str, String)>,
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d2330; background: #fff; max-width: 1100px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 6px; border-bottom: 1px solid #dde; padding-bottom: 4px; }
table.facts td, table.facts th, table.state td, table.state th { border: 1px solid #d6d9e0; padding: 3px 8px; text-align: left; }
table.facts, table.state { border-collapse: collapse; margin: 8px 0; } th { background: #f2f4f8; }
code { background: #f4f5f7; padding: 1px 4px; border-radius: 3px; font-size: 12.5px; }
.violation-box { border-left: 4px solid #b3261e; background: #fdf1f0; padding: 8px 12px; margin: 10px 0; }
.violation-box .name { color: #b3261e; font-weight: 600; }
.pass { color: #1b7f3b; } .fail { color: #b3261e; font-weight: 600; } .unknown { color: #9a6700; font-weight: 600; }
.note { color: #555; font-size: 12.5px; } .scroll { overflow-x: auto; max-width: 100%; }
svg.chart { background: #fcfcfd; border: 1px solid #e3e6ec; border-radius: 4px; }
svg .tick { font-size: 10.5px; fill: #555; } svg .lane-label { font-size: 11px; fill: #333; } svg .axis { stroke: #888; }
svg .seg-text { font-size: 10px; fill: #1d2330; pointer-events: none; } svg .fault-bar { fill: #f4a3a3; stroke: #d9534f; }
svg .fault-text { font-size: 10px; fill: #8f2d2a; } svg .fault-instant { stroke: #d9534f; stroke-width: 2; }
svg .violation { stroke: #b3261e; stroke-width: 2; } svg .violation-label { font-size: 11px; fill: #b3261e; font-weight: 600; }
svg .lane { stroke: #c9ced8; } svg .msg { stroke: #4a6fa5; stroke-width: 1; opacity: .75; } svg .msg-early { stroke-dasharray: 3 3; }
svg .ev { fill: #4a6fa5; } svg .ev-timer { fill: #8a8f99; } svg .ev-fault { fill: #d9534f; } svg .ev-start { fill: #1b7f3b; }
svg .ev-invoke, svg .ev-reply { fill: #9a6700; } svg .ev-client-timeout { fill: #e07b00; } svg .ev-net-fault { stroke: #d9534f; stroke-width: 2; }
"#;

const LANE_H: f64 = 22.0;
const LEFT: f64 = 70.0;
const WIDTH: f64 = 1000.0;
const TOP: f64 = 10.0;

/// The colour of a node's lane segment, by the first word of its summary.
fn role_color(summary: &str) -> &'static str {
    match summary.split_whitespace().next().unwrap_or("") {
        "leader" => "#8fd19e",
        "follower" => "#cfe2f3",
        "candidate" | "pre-candidate" => "#f9cb9c",
        "down" => "#d9d9d9",
        "" => "#f4f5f7",
        _ => "#e6e0f8",
    }
}

/// Time axis: `[0, end_ms]` over `[LEFT, WIDTH - 10]`.
struct Axis {
    end_ms: f64,
}

impl Axis {
    fn x(&self, ms: f64) -> f64 {
        LEFT + ms.clamp(0.0, self.end_ms) / self.end_ms * (WIDTH - 10.0 - LEFT)
    }

    fn ticks(&self, s: &mut String, y: f64) {
        let step = svg::nice_step(self.end_ms, 8.0);
        let mut t = 0.0;
        while t <= self.end_ms + 1e-9 {
            let _ = write!(
                s,
                r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                self.x(t),
                y,
                t as u64
            );
            t += step;
        }
    }

    fn violation(&self, s: &mut String, at_ms: Option<f64>, y0: f64, y1: f64) {
        if let Some(t) = at_ms {
            let _ = write!(
                s,
                r#"<line class="violation" x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}"><title>violation at {3:.3} ms</title></line>"#,
                self.x(t),
                y0,
                y1,
                t
            );
        }
    }
}

fn svg_open(s: &mut String, id: &str, height: f64, label: &str) {
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img" aria-label="{}">"#,
        esc(label)
    );
}

/// Lanes: one per node, then `network`; bars where a node was crashed or paused, bands where a
/// network-wide fault held, a mark at instant faults.
fn fault_chart(r: &ExplainRun<'_>, spans: &[FaultSpan], axis: &Axis, at_ms: Option<f64>) -> String {
    let lanes = r.nodes as usize + 1;
    let height = TOP + LANE_H * lanes as f64 + 24.0;
    let mut s = String::new();
    svg_open(&mut s, "faults", height, "fault schedule");
    for i in 0..lanes {
        let y = TOP + LANE_H * i as f64;
        let name = if i < r.nodes as usize { format!("n{i}") } else { "network".to_string() };
        let _ = write!(
            s,
            r#"<text class="lane-label" x="8" y="{:.1}">{}</text><line class="lane" x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/>"#,
            y + 15.0,
            esc(&name),
            y + LANE_H,
            WIDTH - 10.0,
            y + LANE_H
        );
    }
    for f in spans {
        let lane = f.node.filter(|&n| n < r.nodes).map_or(r.nodes as usize, |n| n as usize);
        let y = TOP + LANE_H * lane as f64;
        let (x0, x1) = (axis.x(f.start_ms), axis.x(f.end_ms));
        let text = if f.end_ms > f.start_ms {
            format!("{} ({:.0}–{:.0} ms)", f.label, f.start_ms, f.end_ms)
        } else {
            format!("{} at {:.0} ms", f.label, f.start_ms)
        };
        if f.end_ms > f.start_ms {
            let _ = write!(
                s,
                r#"<rect class="fault-bar" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
                y + 3.0,
                (x1 - x0).max(1.5),
                LANE_H - 6.0,
                esc(&text)
            );
            if x1 - x0 > 40.0 {
                let _ = write!(
                    s,
                    r#"<text class="fault-text" x="{:.1}" y="{:.1}">{}</text>"#,
                    x0 + 3.0,
                    y + 15.0,
                    esc(&f.label)
                );
            }
        } else {
            let _ = write!(
                s,
                r#"<line class="fault-instant" x1="{x0:.1}" y1="{:.1}" x2="{x0:.1}" y2="{:.1}"><title>{}</title></line>"#,
                y + 2.0,
                y + LANE_H - 2.0,
                esc(&text)
            );
        }
    }
    axis.violation(&mut s, at_ms, TOP, TOP + LANE_H * lanes as f64);
    axis.ticks(&mut s, height - 8.0);
    s.push_str("</svg>");
    s
}

/// Lanes: one per node, coloured by role over time, each segment titled with the summary.
fn timeline_chart(r: &ExplainRun<'_>, axis: &Axis, at_ms: Option<f64>) -> String {
    let lanes = r.nodes as usize;
    let height = TOP + LANE_H * lanes as f64 + 24.0;
    let mut s = String::new();
    svg_open(&mut s, "timeline", height, "node states over time");
    for n in 0..r.nodes {
        let y = TOP + LANE_H * n as f64;
        let _ = write!(s, r#"<text class="lane-label" x="8" y="{:.1}">n{n}</text>"#, y + 15.0);
        let entries: Vec<&(u64, u32, String)> = r.timeline.iter().filter(|e| e.1 == n).collect();
        for (k, (t, _, summary)) in entries.iter().map(|e| (e.0, e.1, &e.2)).enumerate() {
            let start = t as f64 / 1e6;
            let end = entries.get(k + 1).map_or(r.end_ms as f64, |e| e.0 as f64 / 1e6);
            let (x0, x1) = (axis.x(start), axis.x(end));
            let _ = write!(
                s,
                r#"<rect class="seg" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
                y + 2.0,
                (x1 - x0).max(0.5),
                LANE_H - 4.0,
                role_color(summary),
                esc(&format!("n{n} from {start:.3} ms: {summary}"))
            );
            // Room for about 6 px per character.
            if x1 - x0 > 6.0 * summary.len() as f64 + 6.0 {
                let _ = write!(
                    s,
                    r#"<text class="seg-text" x="{:.1}" y="{:.1}">{}</text>"#,
                    x0 + 3.0,
                    y + 15.0,
                    esc(summary)
                );
            }
        }
    }
    axis.violation(&mut s, at_ms, TOP, TOP + LANE_H * lanes as f64);
    axis.ticks(&mut s, height - 8.0);
    s.push_str("</svg>");
    s
}

/// Each node's summary at true time `at_ns`: its last entry at or before it.
pub fn states_at(timeline: &[(u64, u32, String)], nodes: u32, at_ns: u64) -> Vec<(u32, Option<(u64, String)>)> {
    (0..nodes)
        .map(|n| {
            let last = timeline.iter().rfind(|e| e.1 == n && e.0 <= at_ns);
            (n, last.map(|e| (e.0, e.2.clone())))
        })
        .collect()
}

fn recent(trace: &[TraceRecord], events: usize) -> Vec<RecentEvent> {
    trace[trace.len().saturating_sub(events)..].iter().map(RecentEvent::from).collect()
}

/// The whole page.
pub fn explain_page(r: &ExplainRun<'_>) -> String {
    let at_ms = r.violation.as_ref().map(|v| v.at_ns as f64 / 1e6);
    let end_ms = (r.end_ms.max(1)) as f64;
    let axis = Axis { end_ms };
    let spans = fault_spans(r.faults, r.end_ms);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>faultline explain: {} seed {}</title><style>{STYLE}{}</style></head><body>\n",
        esc(r.scenario),
        r.seed,
        r.history_style
    );
    let _ = writeln!(h, "<h1>{} <small>({}) seed {}</small></h1>", esc(r.scenario), esc(r.protocol), r.seed);
    let _ = writeln!(
        h,
        "<table class=\"facts\"><tr><th>verdict</th><td class=\"{}\">{}</td><th>bugs</th><td>{}</td><th>events</th><td>{}</td>\
         <th>simulated</th><td>{} ms</td><th>trace hash</th><td><code>{}</code></td></tr></table>",
        match r.verdict {
            "fail" => "fail",
            "pass" => "pass",
            _ => "unknown",
        },
        esc(r.verdict),
        if r.bugs.is_empty() { "none".to_string() } else { esc(&r.bugs.join(", ")) },
        r.events,
        r.end_ms,
        esc(r.trace_hash)
    );
    h.push_str("<section id=\"violation\">");
    match &r.violation {
        Some(v) => {
            let _ = write!(
                h,
                "<div class=\"violation-box\"><span class=\"name\">{}</span> at {:.3} ms{}: {}</div>",
                esc(v.invariant),
                v.at_ns as f64 / 1e6,
                v.node.map_or(String::new(), |n| format!(" on n{n}")),
                esc(v.detail)
            );
        }
        None => {
            let _ = write!(
                h,
                "<p>No invariant was violated{}.</p>",
                r.unknown.map_or(String::new(), |u| format!("; the run was inconclusive: {}", esc(u)))
            );
        }
    }
    for (what, cmd) in &r.commands {
        let _ = write!(h, "<div>{}: <code>{}</code></div>", esc(what), esc(cmd));
    }
    h.push_str("</section>\n");

    let _ = writeln!(
        h,
        "<h2>Faults</h2><p class=\"note\">{} fault actions; bars: a node crashed or paused; the last lane: partitions, \
         loss and other network-wide faults; red line: the violation. Hover for details.</p><div class=\"scroll\">{}</div>",
        r.faults.len(),
        fault_chart(r, &spans, &axis, at_ms)
    );

    if r.timeline.iter().any(|e| !e.2.is_empty()) {
        let _ = writeln!(
            h,
            "<h2>Nodes over time</h2><p class=\"note\">Each node's state as its protocol summarises it (green: leading, \
             blue: following, orange: campaigning, grey: down); hover a segment for the full line.</p><div class=\"scroll\">{}</div>",
            timeline_chart(r, &axis, at_ms)
        );
        if let Some(v) = &r.violation {
            h.push_str("<table class=\"state\" id=\"state-at-violation\"><tr><th>node</th><th>since (ms)</th><th>state at the violation</th></tr>");
            for (n, st) in states_at(r.timeline, r.nodes, v.at_ns) {
                match st {
                    Some((t, s)) => {
                        let _ = write!(h, "<tr><td>n{n}</td><td>{:.3}</td><td>{}</td></tr>", t as f64 / 1e6, esc(&s));
                    }
                    None => {
                        let _ = write!(h, "<tr><td>n{n}</td><td></td><td>not started</td></tr>");
                    }
                }
            }
            h.push_str("</table>\n");
        }
    }

    if !r.trace.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Messages before the end</h2><p class=\"note\">The last {} events: lanes are nodes and clients, arrows are \
             messages, requests and replies; the thick red line is where the violation was detected.</p>\
             <div class=\"scroll\" id=\"spacetime\">{}</div>",
            WINDOW_EVENTS.min(r.trace.len()),
            svg::space_time(&recent(r.trace, WINDOW_EVENTS), r.violation.as_ref().map(|v| v.at_ns))
        );
        if r.trace.len() > WINDOW_EVENTS {
            let wide = WINDOW_EVENTS * 4;
            let _ = writeln!(
                h,
                "<details id=\"spacetime-wide\"><summary>Widen: the last {} events</summary><div class=\"scroll\">{}</div></details>",
                wide.min(r.trace.len()),
                svg::space_time(&recent(r.trace, wide), r.violation.as_ref().map(|v| v.at_ns))
            );
        }
    }

    if !r.history.is_empty() {
        h.push_str("<section id=\"history\"><h2>History</h2>");
        for (title, section) in &r.history {
            let _ = write!(h, "<div class=\"history-part\" data-title=\"{}\">{section}</div>", esc(title));
        }
        h.push_str("</section>\n");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::hash::EventKind;

    #[test]
    fn the_page_has_every_section_and_escapes_what_it_shows() {
        let faults = vec![
            AppliedFault { at_ns: 10_000_000, index: 0, action: "crash 1".into(), node: Some(1), recovery: false },
            AppliedFault { at_ns: 30_000_000, index: 1, action: "restart 1".into(), node: Some(1), recovery: true },
        ];
        let timeline = vec![
            (0, 0, "follower t0".to_string()),
            (5_000_000, 0, "leader t1 <b>".to_string()),
            (0, 1, "follower t0".to_string()),
            (10_000_000, 1, "down".to_string()),
        ];
        let trace: Vec<TraceRecord> = (0..100)
            .map(|i| TraceRecord {
                time_ns: i * 400_000,
                kind: EventKind::Deliver,
                node: (i % 2) as u32,
                other: ((i + 1) % 2) as u32,
                digest: i,
                sent_ns: (i * 400_000).saturating_sub(100_000),
            })
            .collect();
        let bugs = vec!["x.bug".to_string()];
        let page = explain_page(&ExplainRun {
            scenario: "s<1>",
            protocol: "raft",
            seed: 7,
            bugs: &bugs,
            verdict: "fail",
            unknown: None,
            trace_hash: "00ff",
            events: 100,
            nodes: 2,
            end_ms: 40,
            violation: Some(ShownViolation { invariant: "raft.x", at_ns: 39_000_000, node: Some(0), detail: "a & b" }),
            faults: &faults,
            timeline: &timeline,
            trace: &trace,
            history: vec![("h".into(), "<p>part</p>".into())],
            history_style: "",
            commands: vec![("replay", "faultline replay 'a b.toml'".into())],
        });
        for id in [
            "id=\"violation\"",
            "id=\"faults\"",
            "id=\"timeline\"",
            "id=\"spacetime\"",
            "id=\"spacetime-wide\"",
            "id=\"history\"",
            "id=\"state-at-violation\"",
        ] {
            assert!(page.contains(id), "{id}");
        }
        assert!(page.contains("s&lt;1&gt;") && !page.contains("s<1>"));
        assert!(page.contains("a &amp; b"));
        assert!(page.contains("leader t1 &lt;b&gt;"));
        assert!(page.contains("crash n1 (10–30 ms)"), "the crash is a bar on n1's lane");
        assert!(!page.contains("<script"));
        let at = states_at(&timeline, 2, 20_000_000);
        assert_eq!(at[0].1.as_ref().map(|s| s.1.as_str()), Some("leader t1 <b>"));
        assert_eq!(at[1].1.as_ref().map(|s| s.1.as_str()), Some("down"));
    }
}
