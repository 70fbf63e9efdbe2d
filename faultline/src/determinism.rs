//! The determinism self-check: run a seed twice in this process and compare the two runs event
//! by event (FoundationDB re-runs a share of its simulations; madsim has
//! `MADSIM_TEST_CHECK_DETERMINISM`).
//!
//! Same binary, scenario, seed and bugs must give the same trace. Protocol code is where that
//! breaks: an ambient `thread_rng()`, a `HashMap` iterated in its per-process random order, the
//! wall clock. Two runs in one process see different values of each, so the second run diverges;
//! the check names the first event that differs, which points at the handler that read them.

use crate::registry::Registry;
use faultline_sim::check::Violation;
use faultline_sim::report::{kind_name, RunReport};
use faultline_sim::runner::RunExtras;
use faultline_sim::scenario::{Scenario, ScenarioError};
use faultline_sim::world::{RunOptions, TraceRecord};
use std::fmt;

/// The invariant a nondeterministic run fails.
pub const NONDETERMINISM: &str = "sim.nondeterminism";

/// Where two runs of the same seed part ways.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the first event that differs (0-based, in trace order).
    pub index: usize,
    /// That event in the first run (`None`: the first run had ended).
    pub first: Option<TraceRecord>,
    /// That event in the second run (`None`: the second run had ended).
    pub second: Option<TraceRecord>,
    /// Events in each run.
    pub lengths: (usize, usize),
}

/// `t=12.345678ms deliver n2←n1 digest 0123…`, or `end of run`.
fn describe(r: Option<&TraceRecord>) -> String {
    let Some(r) = r else { return "end of run".to_string() };
    let other = if r.other == u32::MAX { String::new() } else { format!(" other={}", r.other) };
    format!(
        "t={}.{:06}ms {} node={}{other} digest={:016x}",
        r.time_ns / 1_000_000,
        r.time_ns % 1_000_000,
        kind_name(r.kind),
        if r.node == u32::MAX { "-".to_string() } else { format!("n{}", r.node) },
        r.digest
    )
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "two runs of the same seed diverge at event {} (of {} and {}): first run {}; second run {}",
            self.index,
            self.lengths.0,
            self.lengths.1,
            describe(self.first.as_ref()),
            describe(self.second.as_ref())
        )
    }
}

/// The same event, as far as the trace hash is concerned (the send time is bookkeeping).
fn same(a: &TraceRecord, b: &TraceRecord) -> bool {
    (a.time_ns, a.kind, a.node, a.other, a.digest) == (b.time_ns, b.kind, b.node, b.other, b.digest)
}

/// The first event where `a` and `b` differ, if they do.
pub fn first_divergence(a: &[TraceRecord], b: &[TraceRecord]) -> Option<Divergence> {
    let index = match a.iter().zip(b).position(|(x, y)| !same(x, y)) {
        Some(i) => i,
        None if a.len() == b.len() => return None,
        None => a.len().min(b.len()),
    };
    Some(Divergence { index, first: a.get(index).copied(), second: b.get(index).copied(), lengths: (a.len(), b.len()) })
}

/// Runs `scenario` twice with `seed` and `bugs` and compares the runs. Returns the first run's
/// report; when the runs differ (in their events, trace hash or verdict) it fails the
/// invariant [`NONDETERMINISM`] with the first differing event in its detail.
pub fn run_twice(
    reg: &Registry,
    scenario: &Scenario,
    seed: u64,
    bugs: &[String],
) -> Result<(RunReport, Option<Divergence>), ScenarioError> {
    let runner = reg.find(&scenario.protocol).map_err(|m| scenario.error_at_key("protocol", m))?;
    let opts = RunOptions { seed, bugs: bugs.to_vec() };
    let keep = || RunExtras {
        keep_trace: true,
        watchdog: Some(crate::out::watchdog(scenario.limits.wall_ms, false)),
        ..RunExtras::default()
    };
    let mut first = runner.run_with(scenario, &opts, keep())?;
    let second = runner.run_with(scenario, &opts, keep())?;
    let divergence = first_divergence(&first.trace, &second.trace);
    let detail = match &divergence {
        Some(d) => Some(d.to_string()),
        None if first.trace_hash != second.trace_hash || first.verdict != second.verdict => Some(format!(
            "two runs of the same seed have the same events but end differently: trace hash {} / {}, verdict {} / {} \
             (an end-of-run check is nondeterministic)",
            first.trace_hash,
            second.trace_hash,
            first.verdict.as_str(),
            second.verdict.as_str()
        )),
        None => None,
    };
    first.trace = Vec::new();
    if let Some(detail) = detail {
        let at_ns = divergence.as_ref().and_then(|d| d.first.or(d.second)).map_or(0, |r| r.time_ns);
        let node = divergence.as_ref().and_then(|d| d.first.or(d.second)).map(|r| r.node).filter(|&n| n != u32::MAX);
        let mut v = Violation::new(NONDETERMINISM, node.map(faultline_sim::protocol::NodeId), detail);
        v.at_ns = at_ns;
        v.at_ms = at_ns / 1_000_000;
        first.violations.insert(0, v);
        first.verdict = faultline_sim::check::Verdict::Fail;
        first.unknown_reason = None;
    }
    Ok((first, divergence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::hash::EventKind;

    fn rec(t: u64, node: u32, digest: u64) -> TraceRecord {
        TraceRecord { time_ns: t, kind: EventKind::Deliver, node, other: 0, digest, sent_ns: 0 }
    }

    #[test]
    fn names_the_first_differing_event_or_the_shorter_end() {
        let a = vec![rec(1, 0, 1), rec(2, 1, 2), rec(3, 2, 3)];
        assert_eq!(first_divergence(&a, &a), None);
        let mut b = a.clone();
        b[1].digest = 9;
        let d = first_divergence(&a, &b).unwrap();
        assert_eq!((d.index, d.first, d.second), (1, Some(a[1]), Some(b[1])));
        assert!(d.to_string().contains("event 1"), "{d}");
        assert!(d.to_string().contains("deliver node=n1"), "{d}");
        let d = first_divergence(&a, &a[..2]).unwrap();
        assert_eq!((d.index, d.second), (2, None));
        assert!(d.to_string().contains("second run end of run"), "{d}");
        // The send time is not part of what must agree.
        let mut c = a.clone();
        c[0].sent_ns = 77;
        assert_eq!(first_divergence(&a, &c), None);
    }
}
