//! Small inline-SVG charts: line charts with shaded fault windows, bar charts, and a space-time
//! diagram. Every string placed in the SVG goes through [`esc`].

use crate::availability::FaultSpan;
use crate::record::{EventKindName, RecentEvent};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Escapes text for HTML/SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number for an SVG attribute: fixed precision, no exponent.
fn n(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "0".into()
    }
}

/// A tick step giving about `target` ticks over `span`: 1, 2 or 5 times a power of ten.
pub(crate) fn nice_step(span: f64, target: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / target;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn fmt_tick(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}").trim_end_matches('0').to_string()
    }
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
    /// A cross at each point, no line (failed operations).
    Cross,
    /// A hollow diamond at each point, no line (indeterminate operations).
    Diamond,
}

/// One series of a chart; `None` points break a line.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Stroke colour.
    pub color: &'static str,
    /// Points (x, y).
    pub points: Vec<Option<(f64, f64)>>,
    /// Line or marks.
    pub style: Style,
}

/// A line chart.
pub struct LineChart<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// X axis label.
    pub x_label: &'a str,
    /// Y axis label.
    pub y_label: &'a str,
    /// X axis end (starts at 0).
    pub x_max: f64,
    /// Fixed Y axis end, or None to fit the data.
    pub y_max: Option<f64>,
    /// A logarithmic Y axis (powers of ten; points at or below 0 are not drawn), so one spike
    /// does not flatten the rest.
    pub log_y: bool,
    /// The series.
    pub series: Vec<Series>,
    /// Fault windows to shade and label.
    pub shade: &'a [FaultSpan],
}

const W: f64 = 640.0;
const H: f64 = 262.0;
const L: f64 = 56.0;
const R: f64 = 12.0;
/// Top of the plot area: the title and, below it, the legend sit above it, outside the plot.
const T: f64 = 50.0;
const B: f64 = 40.0;
/// Baseline of the legend row.
const LEGEND_Y: f64 = 38.0;
// The legend row (its text descends a few px below the baseline) stays above the plot area.
const _: () = assert!(LEGEND_Y + 6.0 < T);
/// Width given to one legend entry.
const LEGEND_STEP: f64 = 150.0;

/// The Y axis: where a value lands (0 at the bottom of the plot, 1 at the top) and its ticks.
struct YAxis {
    log: bool,
    lo: f64,
    hi: f64,
}

impl YAxis {
    fn fit(c: &LineChart<'_>) -> YAxis {
        let values = || c.series.iter().flat_map(|s| s.points.iter().flatten().map(|p| p.1));
        let data_max = values().fold(0.0f64, f64::max);
        if c.log_y {
            let min_pos = values().filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
            if !min_pos.is_finite() {
                return YAxis { log: true, lo: 0.1, hi: 10.0 };
            }
            let lo = 10f64.powf(min_pos.log10().floor());
            let hi = 10f64.powf((data_max.log10() + 1e-9).ceil()).max(lo * 10.0);
            YAxis { log: true, lo, hi: c.y_max.unwrap_or(hi) }
        } else {
            YAxis { log: false, lo: 0.0, hi: c.y_max.unwrap_or(if data_max > 0.0 { data_max * 1.1 } else { 1.0 }) }
        }
    }

    /// Where `y` lands, 0..=1, or `None` when it cannot be drawn (≤ 0 on a log axis).
    fn frac(&self, y: f64) -> Option<f64> {
        if self.log {
            (y > 0.0).then(|| ((y.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())).clamp(0.0, 1.0))
        } else {
            Some((y.clamp(self.lo, self.hi) - self.lo) / (self.hi - self.lo))
        }
    }

    fn ticks(&self) -> Vec<f64> {
        let mut out = Vec::new();
        if self.log {
            let mut t = self.lo;
            while t <= self.hi * 1.0001 {
                out.push(t);
                t *= 10.0;
            }
        } else {
            let step = nice_step(self.hi, 4.0);
            let mut t = 0.0;
            while t <= self.hi * 1.0001 {
                out.push(t);
                t += step;
            }
        }
        out
    }
}

/// A cross or a diamond centred on `(x, y)`.
fn mark(s: &mut String, style: Style, x: f64, y: f64, color: &str) {
    let r = 3.5;
    match style {
        Style::Cross => {
            let _ = write!(
                s,
                r#"<path class="mark-failed" d="M{} {}L{} {}M{} {}L{} {}" stroke="{color}" stroke-width="1.6"/>"#,
                n(x - r),
                n(y - r),
                n(x + r),
                n(y + r),
                n(x - r),
                n(y + r),
                n(x + r),
                n(y - r)
            );
        }
        _ => {
            let _ = write!(
                s,
                r#"<path class="mark-indeterminate" d="M{} {}L{} {}L{} {}L{} {}Z" fill="none" stroke="{color}" stroke-width="1.4"/>"#,
                n(x),
                n(y - r - 0.5),
                n(x + r + 0.5),
                n(y),
                n(x),
                n(y + r + 0.5),
                n(x - r - 0.5),
                n(y)
            );
        }
    }
}

/// Renders a line chart as an `<svg>` element. The plot area is the `rect.plot`; the legend
/// (`g.legend-box`) sits between the title and the plot, never on the data; fault windows are
/// shaded and labelled with their kind and target.
pub fn line_chart(c: &LineChart<'_>) -> String {
    let y_axis = YAxis::fit(c);
    let x_max = if c.x_max > 0.0 { c.x_max } else { 1.0 };
    let pw = W - L - R;
    let ph = H - T - B;
    let sx = |x: f64| L + x.clamp(0.0, x_max) / x_max * pw;
    let sy = |y: f64| y_axis.frac(y).map(|f| T + ph - f * ph);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">"#,
        W,
        H,
        W,
        H,
        esc(c.title)
    );
    let _ = write!(s, r#"<text x="{}" y="16" class="title">{}</text>"#, n(L), esc(c.title));
    let _ =
        write!(s, r#"<rect class="plot" x="{}" y="{}" width="{}" height="{}" fill="none"/>"#, n(L), n(T), n(pw), n(ph));
    for (k, f) in c.shade.iter().enumerate() {
        let (x0, x1) = (sx(f.start_ms), sx(f.end_ms));
        let text = if f.end_ms > f.start_ms {
            format!("{} ({:.0}–{:.0} ms)", f.label, f.start_ms, f.end_ms)
        } else {
            format!("{} at {:.0} ms", f.label, f.start_ms)
        };
        if f.end_ms > f.start_ms {
            let _ = write!(
                s,
                r#"<rect class="fault" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>"#,
                n(x0),
                n(T),
                n((x1 - x0).max(1.0)),
                n(ph),
                esc(&text)
            );
        } else {
            let _ = write!(
                s,
                r#"<line class="fault-instant" x1="{0}" y1="{1}" x2="{0}" y2="{2}"><title>{3}</title></line>"#,
                n(x0),
                n(T),
                n(T + ph),
                esc(&text)
            );
        }
        // The label inside the top of its band, in one of three rows so neighbours overlap less.
        let _ = write!(
            s,
            r#"<text class="fault-label" x="{}" y="{}">{}</text>"#,
            n(x0 + 2.0),
            n(T + 10.0 + 10.0 * (k % 3) as f64),
            esc(&f.label)
        );
    }
    // Axes and ticks.
    let _ = write!(s, r#"<line class="axis" x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>"#, n(L), n(T), n(T + ph));
    let _ = write!(s, r#"<line class="axis" x1="{0}" y1="{1}" x2="{2}" y2="{1}"/>"#, n(L), n(T + ph), n(L + pw));
    let xs = nice_step(x_max, 6.0);
    let mut x = 0.0;
    while x <= x_max * 1.0001 {
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            n(sx(x)),
            n(T + ph + 14.0),
            fmt_tick(x)
        );
        x += xs;
    }
    for y in y_axis.ticks() {
        let Some(py) = sy(y) else { continue };
        let _ = write!(s, r#"<line class="grid" x1="{0}" y1="{1}" x2="{2}" y2="{1}"/>"#, n(L), n(py), n(L + pw));
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
            n(L - 4.0),
            n(py + 4.0),
            fmt_tick(y)
        );
    }
    let _ = write!(
        s,
        r#"<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>"#,
        n(L + pw / 2.0),
        n(H - 6.0),
        esc(c.x_label)
    );
    let y_label = if y_axis.log { format!("{} (log)", c.y_label) } else { c.y_label.to_string() };
    let _ = write!(
        s,
        r#"<text class="label" x="12" y="{0}" text-anchor="middle" transform="rotate(-90 12 {0})">{1}</text>"#,
        n(T + ph / 2.0),
        esc(&y_label)
    );
    // The series, then the legend above the plot.
    for se in &c.series {
        if matches!(se.style, Style::Cross | Style::Diamond) {
            for &(x, y) in se.points.iter().flatten().filter(|p| p.0 <= x_max * 1.0001) {
                if let Some(py) = sy(y) {
                    mark(&mut s, se.style, sx(x), py, se.color);
                }
            }
            continue;
        }
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for p in &se.points {
            // Past the axis's end (a chart cropped to a short run) is not drawn, not clamped.
            match p.filter(|&(x, _)| x <= x_max * 1.0001).and_then(|(x, y)| sy(y).map(|py| (sx(x), py))) {
                Some(p) => runs.last_mut().expect("non-empty").push(p),
                None if !runs.last().expect("non-empty").is_empty() => runs.push(Vec::new()),
                None => {}
            }
        }
        let dash = if se.style == Style::Dashed { r#" stroke-dasharray="5 3""# } else { "" };
        for run in runs.iter().filter(|r| !r.is_empty()) {
            if run.len() == 1 {
                let _ = write!(s, r#"<circle cx="{}" cy="{}" r="2.5" fill="{}"/>"#, n(run[0].0), n(run[0].1), se.color);
                continue;
            }
            let pts: Vec<String> = run.iter().map(|&(x, y)| format!("{},{}", n(x), n(y))).collect();
            let _ = write!(
                s,
                r#"<polyline class="series" fill="none" stroke="{}" stroke-width="1.8"{dash} points="{}"/>"#,
                se.color,
                pts.join(" ")
            );
        }
    }
    if c.series.iter().all(|se| se.points.iter().all(Option::is_none)) {
        let _ = write!(
            s,
            r#"<text class="label no-data" x="{}" y="{}" text-anchor="middle">– no operations to draw –</text>"#,
            n(L + pw / 2.0),
            n(T + ph / 2.0)
        );
    }
    s.push_str(r#"<g class="legend-box">"#);
    for (k, se) in c.series.iter().enumerate() {
        let lx = L + (k as f64) * LEGEND_STEP;
        match se.style {
            Style::Cross | Style::Diamond => mark(&mut s, se.style, lx + 8.0, LEGEND_Y - 4.0, se.color),
            _ => {
                let dash = if se.style == Style::Dashed { r#" stroke-dasharray="5 3""# } else { "" };
                let _ = write!(
                    s,
                    r#"<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}" stroke-width="2"{dash}/>"#,
                    n(lx),
                    n(LEGEND_Y - 4.0),
                    n(lx + 16.0),
                    se.color
                );
            }
        }
        let _ = write!(s, r#"<text class="legend" x="{}" y="{}">{}</text>"#, n(lx + 20.0), n(LEGEND_Y), esc(&se.label));
    }
    s.push_str("</g></svg>");
    s
}

/// One bar: label, value (`None`: nothing to measure, drawn as "–" with no bar), and an
/// optional (min, max) whisker.
pub type Bar = (String, Option<f64>, Option<(f64, f64)>);

/// A horizontal bar chart: one bar per label, with an optional (min, max) whisker.
pub fn bar_chart(title: &str, unit: &str, bars: &[Bar]) -> String {
    let row = 22.0;
    let left = 200.0;
    let width = 640.0;
    let height = T + row * bars.len() as f64 + 24.0;
    let max =
        bars.iter().map(|b| b.2.map_or(b.1.unwrap_or(0.0), |w| w.1.max(b.1.unwrap_or(0.0)))).fold(0.0f64, f64::max);
    let max = if max > 0.0 { max * 1.1 } else { 1.0 };
    let pw = width - left - 70.0;
    let sx = |v: f64| left + v.max(0.0) / max * pw;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}"><text x="8" y="16" class="title">{t}</text>"#,
        w = width,
        h = n(height),
        t = esc(title)
    );
    for (i, (label, v, whisker)) in bars.iter().enumerate() {
        let y = T + row * i as f64;
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
            n(left - 6.0),
            n(y + 14.0),
            esc(label)
        );
        let Some(v) = *v else {
            let _ = write!(
                s,
                r#"<text class="tick no-data" x="{}" y="{}">– <title>{}</title></text>"#,
                n(left + 4.0),
                n(y + 14.0),
                esc(&format!("{label}: nothing to measure"))
            );
            continue;
        };
        let _ = write!(
            s,
            r#"<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>"#,
            n(left),
            n(y + 3.0),
            n(sx(v) - left),
            n(row - 6.0),
            esc(&format!("{label}: {v:.3} {unit}"))
        );
        if let Some((lo, hi)) = whisker {
            let _ = write!(
                s,
                r#"<line class="whisker" x1="{0}" y1="{1}" x2="{2}" y2="{1}"/>"#,
                n(sx(*lo)),
                n(y + row / 2.0),
                n(sx(*hi))
            );
        }
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}">{}</text>"#,
            n(sx(whisker.map_or(v, |w| w.1.max(v))) + 4.0),
            n(y + 14.0),
            esc(&fmt_value(v))
        );
    }
    let _ = write!(
        s,
        r#"<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>"#,
        n(left + pw / 2.0),
        n(height - 6.0),
        esc(unit)
    );
    s.push_str("</svg>");
    s
}

fn fmt_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

/// A lane of the space-time diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Lane {
    Node(u32),
    Client(u32),
    Clients,
}

/// Most client lanes drawn one by one; beyond this all clients share one lane.
const MAX_CLIENT_LANES: usize = 8;

/// A space-time (Lamport) diagram of the last events before the end of a failing run: one lane
/// per node and client, events left to right in the order the simulator handled them, arrows
/// for messages, requests and replies.
///
/// The simulator records deliveries, not sends, so an arrow starts at the sender's latest event
/// handled before the delivery (that is where, sans-IO, the send was emitted, or at the latest
/// earlier), or at the left edge when the sender did nothing in the window.
pub fn space_time(events: &[RecentEvent], violation_ns: Option<u64>) -> String {
    let none = u32::MAX;
    let mut clients: Vec<u32> = Vec::new();
    let mut nodes: Vec<u32> = Vec::new();
    for e in events {
        match e.kind {
            EventKindName::Invoke | EventKindName::ClientTimeout => clients.push(e.node),
            EventKindName::Reply => {
                clients.push(e.node);
                if e.other != none {
                    nodes.push(e.other);
                }
            }
            EventKindName::Request => {
                nodes.push(e.node);
                if e.other != none {
                    clients.push(e.other);
                }
            }
            EventKindName::Deliver => {
                nodes.push(e.node);
                if e.other != none {
                    nodes.push(e.other);
                }
            }
            EventKindName::Fault if e.node == none => {}
            _ => nodes.push(e.node),
        }
    }
    nodes.sort_unstable();
    nodes.dedup();
    clients.sort_unstable();
    clients.dedup();
    let merged = clients.len() > MAX_CLIENT_LANES;
    let mut lanes: Vec<Lane> = nodes.iter().map(|&x| Lane::Node(x)).collect();
    if merged {
        lanes.push(Lane::Clients);
    } else {
        lanes.extend(clients.iter().map(|&c| Lane::Client(c)));
    }
    let lane_index: BTreeMap<Lane, usize> = lanes.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let client_lane = |c: u32| if merged { Lane::Clients } else { Lane::Client(c) };
    let lane_of = |e: &RecentEvent| -> Option<Lane> {
        match e.kind {
            EventKindName::Invoke | EventKindName::ClientTimeout | EventKindName::Reply => Some(client_lane(e.node)),
            EventKindName::Fault if e.node == none => None,
            _ => Some(Lane::Node(e.node)),
        }
    };

    let dx = 7.0;
    let left = 70.0;
    let top = 40.0;
    let lane_h = 34.0;
    let width = left + dx * events.len().max(1) as f64 + 30.0;
    let height = top + lane_h * lanes.len().max(1) as f64 + 30.0;
    let x_of = |i: usize| left + dx * i as f64 + dx / 2.0;
    let y_of = |l: Lane| top + lane_h * lane_index[&l] as f64 + lane_h / 2.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart spacetime" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="space-time diagram">"#,
        w = n(width),
        h = n(height)
    );
    s.push_str(
        r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4a6fa5"/></marker></defs>"##,
    );
    let _ = write!(
        s,
        r#"<text x="8" y="16" class="title">{}</text>"#,
        esc(&format!(
            "last {} events before the end (left to right in handling order; true time in ms below)",
            events.len()
        ))
    );
    for &l in &lanes {
        let name = match l {
            Lane::Node(x) => format!("n{x}"),
            Lane::Client(c) => format!("client {c}"),
            Lane::Clients => "clients".into(),
        };
        let y = y_of(l);
        let _ = write!(s, r#"<line class="lane" x1="{}" y1="{2}" x2="{}" y2="{2}"/>"#, n(left), n(width - 20.0), n(y));
        let _ = write!(
            s,
            r#"<text class="lane-label" x="{}" y="{}" text-anchor="end">{}</text>"#,
            n(left - 8.0),
            n(y + 4.0),
            esc(&name)
        );
    }
    // Time ticks every 32 events.
    for (i, e) in events.iter().enumerate().step_by(32) {
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            n(x_of(i)),
            n(height - 10.0),
            esc(&format!("{:.3}", e.t_ns as f64 / 1e6))
        );
    }
    if let Some(v) = violation_ns {
        let i = events.iter().position(|e| e.t_ns >= v).unwrap_or(events.len());
        let x = if i < events.len() { x_of(i) - dx / 2.0 } else { width - 24.0 };
        let _ = write!(
            s,
            r#"<line class="violation" x1="{0}" y1="{1}" x2="{0}" y2="{2}"/><text class="violation-label" x="{3}" y="{4}" text-anchor="end">{5}</text>"#,
            n(x),
            n(top - 10.0),
            n(height - 24.0),
            n(x - 3.0),
            n(top - 2.0),
            esc(&format!("violation at {:.3} ms", v as f64 / 1e6))
        );
    }
    // Arrows first, dots on top.
    let mut last_at: BTreeMap<Lane, usize> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let from = match e.kind {
            EventKindName::Deliver if e.other != none => Some(Lane::Node(e.other)),
            EventKindName::Request if e.other != none => Some(client_lane(e.other)),
            EventKindName::Reply if e.other != none => Some(Lane::Node(e.other)),
            _ => None,
        };
        if let (Some(from), Some(to)) = (from, lane_of(e)) {
            if lane_index.contains_key(&from) && from != to {
                // A delivery starts at the event the sender was handling when it sent (the last
                // one on its lane at the send time); other arrows, and deliveries sent before the
                // window, start at the sender's last event so far or at the left edge.
                let sender = match e.sent_ns {
                    Some(sent) => (0..i).rev().find(|&j| events[j].t_ns == sent && lane_of(&events[j]) == Some(from)),
                    None => last_at.get(&from).copied(),
                };
                let (x0, class) = match sender {
                    Some(j) => (x_of(j), "msg"),
                    None => (left, "msg msg-early"),
                };
                let _ = write!(
                    s,
                    r#"<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}" marker-end="url(#arrow)"/>"#,
                    class,
                    n(x0),
                    n(y_of(from)),
                    n(x_of(i)),
                    n(y_of(to))
                );
            }
        }
        if let Some(l) = lane_of(e) {
            last_at.insert(l, i);
        }
    }
    for (i, e) in events.iter().enumerate() {
        let kind = kind_label(e.kind);
        let tip = esc(&format!(
            "{kind} at {:.6} ms (node/client {}, other {})",
            e.t_ns as f64 / 1e6,
            e.node,
            if e.other == none { "-".to_string() } else { e.other.to_string() }
        ));
        match lane_of(e) {
            Some(l) => {
                let _ = write!(
                    s,
                    r#"<circle class="ev ev-{}" cx="{}" cy="{}" r="3"><title>{}</title></circle>"#,
                    kind,
                    n(x_of(i)),
                    n(y_of(l)),
                    tip
                );
            }
            None => {
                let _ = write!(
                    s,
                    r#"<line class="ev-net-fault" x1="{0}" y1="{1}" x2="{0}" y2="{2}"><title>{3}</title></line>"#,
                    n(x_of(i)),
                    n(top),
                    n(height - 24.0),
                    tip
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

fn kind_label(k: EventKindName) -> &'static str {
    match k {
        EventKindName::Start => "start",
        EventKindName::Deliver => "deliver",
        EventKindName::Timer => "timer",
        EventKindName::Request => "request",
        EventKindName::Reply => "reply",
        EventKindName::ClientTimeout => "client-timeout",
        EventKindName::Fault => "fault",
        EventKindName::Invoke => "invoke",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    fn chart(log_y: bool, points: Vec<Option<(f64, f64)>>, shade: &[FaultSpan]) -> String {
        line_chart(&LineChart {
            title: "t",
            x_label: "x",
            y_label: "latency",
            x_max: 100.0,
            y_max: None,
            log_y,
            series: vec![
                Series { label: "p50".into(), color: "#000", points, style: Style::Line },
                Series { label: "failed".into(), color: "#b00", points: vec![Some((50.0, 2.0))], style: Style::Cross },
            ],
            shade,
        })
    }

    #[test]
    fn a_log_axis_spans_powers_of_ten_and_the_legend_sits_above_the_plot() {
        let shade = [FaultSpan { start_ms: 10.0, end_ms: 40.0, label: "crash n1".into(), node: Some(1) }];
        let svg = chart(true, vec![Some((10.0, 0.5)), Some((20.0, 3.0)), Some((30.0, 900.0))], &shade);
        for tick in [">0.1<", ">1<", ">10<", ">100<", ">1000<"] {
            assert!(svg.contains(tick), "tick {tick} in {svg}");
        }
        assert!(svg.contains("latency (log)"));
        assert!(svg.contains(&format!(r#"<rect class="plot" x="{}" y="{}""#, n(L), n(T))));
        assert!(svg.contains(r#"class="mark-failed""#), "failed operations are crosses");
        assert!(svg.contains(r#"<text class="fault-label" x="#) && svg.contains(">crash n1</text>"));
        // A value of 0 cannot sit on a log axis: it breaks the line rather than clamping to it.
        let zero = chart(true, vec![Some((10.0, 1.0)), Some((20.0, 0.0)), Some((30.0, 10.0))], &[]);
        assert_eq!(zero.matches("<circle").count(), 2, "{zero}");
    }

    #[test]
    fn an_empty_chart_says_there_is_nothing_to_draw() {
        let svg = line_chart(&LineChart {
            title: "t",
            x_label: "x",
            y_label: "y",
            x_max: 100.0,
            y_max: Some(1.05),
            log_y: false,
            series: vec![Series { label: "a".into(), color: "#000", points: vec![None, None], style: Style::Line }],
            shade: &[],
        });
        assert!(svg.contains("no operations to draw"));
        let bars = bar_chart("b", "u", &[("x".into(), None, None), ("y".into(), Some(0.5), None)]);
        assert_eq!(bars.matches(r#"class="bar""#).count(), 1, "no bar for the scenario without data");
        assert!(bars.contains("x: nothing to measure"));
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(1000.0, 5.0), 200.0);
        assert_eq!(nice_step(3.0, 4.0), 1.0);
        assert_eq!(nice_step(0.0, 4.0), 1.0);
    }

    #[test]
    fn space_time_draws_lanes_arrows_and_the_violation() {
        let ev = |t_ns, kind, node, other| RecentEvent { t_ns, kind, node, other, sent_ns: None };
        let events = vec![
            ev(1_000_000, EventKindName::Invoke, 0, 1),
            ev(1_500_000, EventKindName::Request, 0, 0),
            ev(2_000_000, EventKindName::Deliver, 1, 0),
            ev(2_500_000, EventKindName::Fault, u32::MAX, 0),
            ev(3_000_000, EventKindName::Reply, 0, 0),
        ];
        let svg = space_time(&events, Some(2_200_000));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="lane""#).count(), 3, "n0, n1, client 0");
        assert_eq!(svg.matches("marker-end").count(), 3, "request, deliver, reply");
        assert!(svg.contains(r#"class="violation""#));
        assert!(svg.contains("ev-net-fault"));
    }

    #[test]
    fn a_delivery_arrow_starts_at_the_event_that_sent_it() {
        let ev = |t_ns, kind, node, other, sent_ns| RecentEvent { t_ns, kind, node, other, sent_ns };
        let events = vec![
            ev(1_000_000, EventKindName::Timer, 0, u32::MAX, None), // n0 sends here ...
            ev(2_000_000, EventKindName::Timer, 0, u32::MAX, None), // ... not here
            ev(3_000_000, EventKindName::Deliver, 1, 0, Some(1_000_000)),
            ev(4_000_000, EventKindName::Deliver, 1, 0, Some(500_000)), // sent before the window
        ];
        let svg = space_time(&events, None);
        // Event j sits at x = 70 + 7j + 3.5.
        assert!(svg.contains(r#"<line class="msg" x1="73.5""#), "{svg}");
        assert!(!svg.contains(r#"x1="80.5""#), "{svg}");
        assert!(svg.contains(r#"<line class="msg msg-early" x1="70.0""#), "{svg}");
    }
}
