//! Explanations of non-linearizable histories: where the search got stuck, a small failing
//! sub-history, and a self-contained HTML timeline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Instant;

use crate::checker::{search, Limits, SearchOutcome};
use crate::{Model, Operation};

/// One operation of the failing part, rendered for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpSummary {
    /// Index into the checked `ops` slice.
    pub index: usize,
    /// The client that issued it.
    pub client: u64,
    /// Call time.
    pub call: u64,
    /// Return time; `None` if it never returned.
    pub ret: Option<u64>,
    /// [`Model::describe`] of the operation.
    pub text: String,
}

/// Why a history is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// Index of the failing partition among the model's partitions ([`Model::partition`]) sorted by
    /// size (then by first operation), the order in which they are checked.
    pub partition_index: usize,
    /// [`Model::describe_partition`] of it, e.g. `key "3"`; empty for an unpartitioned model.
    pub partition: String,
    /// Every operation of the failing partition, in the order of the checked slice.
    pub ops: Vec<OpSummary>,
    /// The longest sequence of operations the search managed to linearize (indices into the
    /// checked slice, in linearization order). Every order extending it fails.
    pub longest_prefix: Vec<usize>,
    /// The operation that could not be linearized after that prefix: the completed operation
    /// with the earliest return among those left (index into the checked slice).
    pub stuck: Option<usize>,
    /// A small sub-history (indices into the checked slice, in the part's order) that is by itself
    /// not linearizable. It contains the stuck operation and, when the stuck answer is possible in
    /// the full history if its timing is ignored, enough operations to keep it possible: so it
    /// shows an ordering violation rather than a value from nowhere.
    pub minimal: Vec<usize>,
    /// Whether `minimal` is 1-minimal: removing any single operation loses one of the properties
    /// above (false when minimisation was skipped or ran out of effort).
    pub minimal_is_minimal: bool,
}

impl Explanation {
    /// A few lines of plain text: the partition, the stuck operation and the small sub-history.
    pub fn summary(&self) -> String {
        let by_index: BTreeMap<usize, &OpSummary> = self.ops.iter().map(|o| (o.index, o)).collect();
        let mut s = String::new();
        if !self.partition.is_empty() {
            let _ = writeln!(s, "failing part: {}", self.partition);
        }
        let _ =
            writeln!(s, "longest linearizable prefix: {} of {} operations", self.longest_prefix.len(), self.ops.len());
        if let Some(o) = self.stuck.and_then(|i| by_index.get(&i)) {
            let _ = writeln!(s, "stuck at: client {}: {}", o.client, o.text);
        }
        let _ = writeln!(s, "not linearizable on its own ({} operations):", self.minimal.len());
        for i in &self.minimal {
            if let Some(o) = by_index.get(i) {
                let ret = o.ret.map_or_else(|| "...".to_string(), |r| r.to_string());
                let _ = writeln!(s, "  client {} [{}, {}] {}", o.client, o.call, ret, o.text);
            }
        }
        s
    }
}

/// Effort allowed for minimising: sub-histories tried, configurations explored per try and in
/// total. Counted in states rather than time so that the explanation is the same on every run
/// (only the caller's own wall-clock budget can cut it short). Scaled to the effort the verdict
/// took, since sub-histories of a hard history are hard too.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Effort {
    tries: usize,
    per_try: u64,
    total: u64,
}

impl Effort {
    pub(crate) fn scaled_to(verdict_states: u64) -> Effort {
        Effort {
            tries: 1000,
            per_try: verdict_states.max(50_000),
            total: verdict_states.saturating_mul(4).max(250_000),
        }
    }
}

/// Builds the explanation of failing part `part` from its search's deepest point; minimises a
/// failing sub-history when `minimize` gives an effort.
pub(crate) fn build<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    partition_index: usize,
    deepest: &[usize],
    minimize: Option<Effort>,
    deadline: Option<Instant>,
) -> Explanation {
    let summaries: Vec<OpSummary> = part
        .iter()
        .map(|&i| {
            let op = &ops[i];
            let completed = op.ret.is_some() && op.output.is_some();
            OpSummary {
                index: i,
                client: op.client,
                call: op.call,
                ret: if completed { op.ret } else { None },
                text: model.describe(&op.input, op.output.as_ref().filter(|_| completed)),
            }
        })
        .collect();
    let in_prefix: std::collections::HashSet<usize> = deepest.iter().copied().collect();
    let stuck = summaries
        .iter()
        .filter(|o| !in_prefix.contains(&o.index))
        .filter_map(|o| o.ret.map(|r| (r, o.index)))
        .min()
        .map(|(_, i)| i);
    let (minimal, minimal_is_minimal) = match minimize {
        Some(effort) => minimize_history(model, ops, part, stuck, effort, deadline),
        None => (part.to_vec(), false),
    };
    Explanation {
        partition_index,
        partition: model.describe_partition(ops, part),
        ops: summaries,
        longest_prefix: deepest.to_vec(),
        stuck,
        minimal,
        minimal_is_minimal,
    }
}

/// Greedy delta debugging: drop chunks of operations, halving the chunk size, keeping a removal
/// whenever the rest is still (decidedly) not linearizable.
///
/// Plain greedy removal degenerates: drop the write a read saw and the lone read is "not
/// linearizable" (a value from nowhere), which explains nothing. So when the stuck operation's
/// answer is possible in the full part if only its timing is ignored (its interval widened to all
/// time), every candidate must keep that property too: the sub-history then shows a real-time
/// ordering violation, with the operations that make the answer possible and those that make it
/// too late. The stuck operation itself is never removed.
fn minimize_history<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    part: &[usize],
    stuck: Option<usize>,
    effort: Effort,
    deadline: Option<Instant>,
) -> (Vec<usize>, bool) {
    let spent = std::cell::Cell::new(0u64);
    let run = |cand: &[usize], relax: Option<usize>| {
        let left = effort.total.saturating_sub(spent.get());
        let limits = Limits {
            max_states: effort.per_try.min(left),
            used: Default::default(),
            deadline,
            cancel: None,
            relax,
            max_memory: u64::MAX,
            peak_bytes: Default::default(),
        };
        let r = search(model, ops, cand, &limits);
        spent.set(spent.get() + limits.used.get());
        r
    };
    let fails = |cand: &[usize]| matches!(run(cand, None), SearchOutcome::NotLinearizable { .. });
    let possible = |cand: &[usize]| match stuck {
        Some(s) => matches!(run(cand, Some(s)), SearchOutcome::Linearizable),
        None => false,
    };
    // Operations called after the stuck one returned rarely matter to its failure: start from the
    // history up to that point when it fails too (it is also far cheaper to search).
    let cut: Vec<usize> = match stuck.and_then(|s| ops[s].ret) {
        Some(t) => part.iter().copied().filter(|&i| ops[i].call <= t).collect(),
        None => part.to_vec(),
    };
    let base: &[usize] = if cut.len() < part.len() && fails(&cut) { &cut } else { part };
    let informative = possible(base);
    let keeps = |cand: &[usize]| fails(cand) && (!informative || possible(cand));
    let out_of_effort = |tries: usize| {
        tries >= effort.tries || spent.get() >= effort.total || deadline.is_some_and(|d| Instant::now() >= d)
    };
    // Candidates are `rest` plus the stuck operation, in the part's order.
    let pos: std::collections::HashMap<usize, usize> = part.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let with_stuck = |rest: &[usize]| -> Vec<usize> {
        let mut v = rest.to_vec();
        if let Some(s) = stuck {
            let at = v.partition_point(|i| pos.get(i) < pos.get(&s));
            v.insert(at, s);
        }
        v
    };
    let others: Vec<usize> = base.iter().copied().filter(|&i| Some(i) != stuck).collect();
    // Pending operations are optional, so dropping them can only make linearizing harder; but
    // they may be what makes the stuck answer possible, so check like any other removal.
    let completed: Vec<usize> =
        others.iter().copied().filter(|&i| ops[i].ret.is_some() && ops[i].output.is_some()).collect();
    let mut rest = if completed.len() < others.len() && keeps(&with_stuck(&completed)) { completed } else { others };
    let mut tries = 1usize;
    // Checking a big sub-history costs far more than a small one (whole-map models interleave
    // every key), so first look for a small failing window: the stuck operation and its 4, 8,
    // 16, ... nearest neighbours in time.
    if let Some(s) = stuck {
        let t = ops[s].call;
        let mut near = rest.clone();
        near.sort_by_key(|&i| (ops[i].call.abs_diff(t), pos.get(&i).copied()));
        let mut k = 4;
        while k < near.len() && !out_of_effort(tries) {
            let mut window = near[..k].to_vec();
            window.sort_by_key(|i| pos.get(i).copied());
            tries += 1;
            if keeps(&with_stuck(&window)) {
                rest = window;
                break;
            }
            k *= 2;
        }
    }
    let mut chunk = rest.len().div_ceil(2).max(1);
    loop {
        let mut removed_any = false;
        // Later operations are more often irrelevant: try removing from the end first.
        let mut end = rest.len();
        while end > 0 {
            if out_of_effort(tries) {
                return (with_stuck(&rest), false);
            }
            let start = end.saturating_sub(chunk);
            let cand: Vec<usize> = rest[..start].iter().chain(&rest[end..]).copied().collect();
            tries += 1;
            let full = with_stuck(&cand);
            if !full.is_empty() && keeps(&full) {
                rest = cand;
                removed_any = true;
            }
            end = start;
        }
        if chunk == 1 && !removed_any {
            return (with_stuck(&rest), true);
        }
        if !removed_any {
            chunk = chunk.div_ceil(2);
        } else {
            chunk = chunk.min(rest.len().div_ceil(2)).max(1);
        }
    }
}

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Writes a self-contained HTML page (inline CSS and SVG, no external assets) explaining one
/// non-linearizable history. `title` is typically the file name.
pub fn explain_html(title: &str, explanation: &Explanation, out: &mut dyn Write) -> io::Result<()> {
    explain_html_page(&[(title, explanation)], out)
}

/// The CSS of an explanation's drawing, for a page that embeds [`explain_section`].
pub const EXPLAIN_STYLE: &str = "\
.legend span{display:inline-block;padding:0 .5em;margin-right:.5em;border-radius:3px}\n\
.op rect{stroke:#555;stroke-width:.5}\n.op text{font-size:10px;pointer-events:none}\n\
.pre rect{fill:#b7e4b0}.stuck rect{fill:#f28b82;stroke:#a00;stroke-width:2}\n\
.other rect{fill:#e0e0e0}.min rect{stroke:#e37400;stroke-width:2.5}\n\
.pending rect{stroke-dasharray:4 2;fill-opacity:.5}\n\
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}\n\
.scroll{overflow-x:auto;border:1px solid #eee}\n";

const LEGEND: &str = "<p class=\"legend\"><span style=\"background:#b7e4b0\">in longest linearizable prefix</span>\
<span style=\"background:#f28b82\">stuck: could not be linearized next</span>\
<span style=\"border:2px solid #e37400\">in the small failing sub-history</span>\
<span style=\"border:1px dashed #555\">never returned</span></p>\n";

/// One explanation as an HTML fragment (legend, text, the operations drawn as intervals per
/// client with the small failing sub-history outlined), for a page with [`EXPLAIN_STYLE`].
pub fn explain_section(title: &str, explanation: &Explanation) -> String {
    let mut s = String::from(LEGEND);
    render_section(&mut s, title, explanation);
    s
}

/// Like [`explain_html`] for several histories on one page, one section each.
pub fn explain_html_page(sections: &[(&str, &Explanation)], out: &mut dyn Write) -> io::Result<()> {
    let mut s = String::new();
    s.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>faultline: linearizability explanation</title>\n<style>\n\
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\n\
h2{border-bottom:1px solid #ccc;padding-bottom:.2em}\n",
    );
    s.push_str(EXPLAIN_STYLE);
    s.push_str("</style></head><body>\n<h1>Linearizability explanation</h1>\n");
    s.push_str(LEGEND);
    if sections.is_empty() {
        s.push_str("<p>No history failed the check.</p>\n");
    }
    for (title, e) in sections {
        render_section(&mut s, title, e);
    }
    s.push_str("</body></html>\n");
    out.write_all(s.as_bytes())
}

fn render_section(s: &mut String, title: &str, e: &Explanation) {
    let _ = writeln!(s, "<section><h2>{}</h2>", esc(title));
    if !e.partition.is_empty() {
        let _ = writeln!(s, "<p>Failing part: <b>{}</b></p>", esc(&e.partition));
    }
    let _ = writeln!(
        s,
        "<p>The search linearized at most {} of the part's {} operations; the small sub-history \
         below ({} operations{}) is not linearizable on its own.</p>",
        e.longest_prefix.len(),
        e.ops.len(),
        e.minimal.len(),
        if e.minimal_is_minimal { ", removing any one of them makes it linearizable" } else { "" }
    );

    // Times are compressed to ranks so that one slow operation does not squash the rest.
    let mut times: Vec<u64> = e.ops.iter().flat_map(|o| std::iter::once(o.call).chain(o.ret)).collect();
    times.sort_unstable();
    times.dedup();
    let rank = |t: u64| times.partition_point(|&x| x < t);
    let clients: Vec<u64> = {
        let mut c: Vec<u64> = e.ops.iter().map(|o| o.client).collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let lane = |c: u64| clients.partition_point(|&x| x < c);
    let order: BTreeMap<usize, usize> = e.longest_prefix.iter().enumerate().map(|(k, &i)| (i, k + 1)).collect();
    let minimal: std::collections::HashSet<usize> = e.minimal.iter().copied().collect();
    const X0: usize = 70;
    const STEP: usize = 14;
    const LANE_H: usize = 26;
    let width = X0 + (times.len() + 2) * STEP + 20;
    let height = clients.len() * LANE_H + 30;
    let _ = writeln!(
        s,
        "<div class=\"scroll\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\">"
    );
    for (k, c) in clients.iter().enumerate() {
        let y = k * LANE_H + 20;
        let _ = writeln!(
            s,
            "<text x=\"4\" y=\"{}\" font-size=\"11\">client {}</text><line x1=\"{X0}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#eee\"/>",
            y + 13,
            c,
            y + LANE_H - 2,
            width,
            y + LANE_H - 2
        );
    }
    let end_rank = times.len() + 1;
    for o in &e.ops {
        let x1 = X0 + rank(o.call) * STEP;
        let x2 = X0 + o.ret.map_or(end_rank, rank) * STEP + STEP / 2;
        let y = lane(o.client) * LANE_H + 20;
        let mut class = String::from("op ");
        class.push_str(if Some(o.index) == e.stuck {
            "stuck"
        } else if order.contains_key(&o.index) {
            "pre"
        } else {
            "other"
        });
        if minimal.contains(&o.index) {
            class.push_str(" min");
        }
        if o.ret.is_none() {
            class.push_str(" pending");
        }
        let label = match order.get(&o.index) {
            Some(k) => format!("#{k} {}", o.text),
            None => o.text.clone(),
        };
        let ret = o.ret.map_or_else(|| "never".to_string(), |r| r.to_string());
        let _ = writeln!(
            s,
            "<g class=\"{class}\"><title>{}</title><rect x=\"{x1}\" y=\"{y}\" width=\"{}\" height=\"{}\" rx=\"3\"/><text x=\"{}\" y=\"{}\">{}</text></g>",
            esc(&format!("op {} client {} call {} return {}: {}", o.index, o.client, o.call, ret, label)),
            x2.saturating_sub(x1).max(4),
            LANE_H - 6,
            x1 + 3,
            y + 14,
            esc(&truncate(&label, (x2.saturating_sub(x1)) / 6))
        );
    }
    if let Some(st) = e.stuck.and_then(|i| e.ops.iter().find(|o| o.index == i)) {
        if let Some(r) = st.ret {
            let x = X0 + rank(r) * STEP + STEP / 2;
            let _ = writeln!(
                s,
                "<line x1=\"{x}\" y1=\"10\" x2=\"{x}\" y2=\"{height}\" stroke=\"#a00\" stroke-dasharray=\"3 3\"/><text x=\"{}\" y=\"10\" font-size=\"10\" fill=\"#a00\">stuck here</text>",
                x + 3
            );
        }
    }
    s.push_str("</svg></div>\n");

    let by_index: BTreeMap<usize, &OpSummary> = e.ops.iter().map(|o| (o.index, o)).collect();
    s.push_str("<h3>Small failing sub-history</h3>\n<table><tr><th>op</th><th>client</th><th>call</th><th>return</th><th>operation</th></tr>\n");
    for i in &e.minimal {
        if let Some(o) = by_index.get(i) {
            row(s, o);
        }
    }
    s.push_str("</table>\n<h3>Longest linearizable prefix (in linearization order)</h3>\n<table><tr><th>op</th><th>client</th><th>call</th><th>return</th><th>operation</th></tr>\n");
    for i in &e.longest_prefix {
        if let Some(o) = by_index.get(i) {
            row(s, o);
        }
    }
    s.push_str("</table></section>\n");
}

fn row(s: &mut String, o: &OpSummary) {
    let ret = o.ret.map_or_else(|| "never".to_string(), |r| r.to_string());
    let _ = writeln!(
        s,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        o.index,
        o.client,
        o.call,
        esc(&ret),
        esc(&o.text)
    );
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else if max_chars <= 1 {
        String::new()
    } else {
        let mut t: String = s.chars().take(max_chars - 1).collect();
        t.push('…');
        t
    }
}
