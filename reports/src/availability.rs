//! Availability, defined once and computed the same way everywhere.
//!
//! - **Availability** of a run is `ok / invoked`: of the client operations invoked, the fraction
//!   answered ok (1.0 when none was invoked, in `results.csv` and the run's JSON, as the contract
//!   has it). Failed and indeterminate operations count against it. The simulator computes it
//!   per run ([`RunReport::availability`]); over many runs the sweep pools the counts
//!   (`Σ ok / Σ invoked`), it does not average the fractions. The reports show a scenario or a
//!   window in which nothing was invoked as "–", never as 1.
//! - **Availability per window**: simulated time is cut into [`WINDOWS`] equal windows; an
//!   operation belongs to the window in which it was *invoked*, and the window's availability is
//!   `ok / invoked` of those operations (undefined, and not drawn, when none was invoked).
//!   Operations still in flight when the run ended (neither answered nor given up) are left out:
//!   they would otherwise show as a drop in the last windows that no client saw.
//!   Throughput per window is the number of ok operations invoked in it per simulated second;
//!   latency quantiles per window are over those operations' latencies.
//! - **Recovery**: the time from the last heal (the last fault action) to the first ok answer
//!   to an operation invoked after it ([`Recovery::recovery_ms`]), and the longest stretch of
//!   simulated time with no ok answer at all ([`Recovery::longest_outage_ms`]); both from the
//!   simulator.
//! - A scenario may demand a minimum (`[checks] min_availability`), which the simulator enforces
//!   as the invariant `sim.availability`.
//!
//! [`RunReport::availability`]: faultline_sim::report::RunReport::availability
//! [`Recovery::recovery_ms`]: faultline_sim::report::Recovery::recovery_ms
//! [`Recovery::longest_outage_ms`]: faultline_sim::report::Recovery::longest_outage_ms

use faultline_sim::history::Outcome;
use faultline_sim::report::{AppliedFault, OpTiming};
use serde::{Deserialize, Serialize};

/// How many windows a run's simulated time is cut into for the charts.
pub const WINDOWS: usize = 50;

/// `ok / invoked`, with the convention that nothing invoked means fully available.
pub fn ratio(ok: u64, invoked: u64) -> f64 {
    if invoked == 0 {
        1.0
    } else {
        ok as f64 / invoked as f64
    }
}

/// Per-window counts and latency quantiles of one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowSeries {
    /// Width of a window, ms of simulated time.
    pub window_ms: u64,
    /// Windows the run reached (a run that stops at a violation reaches fewer than
    /// [`WINDOWS`]); later windows hold no data and are not drawn.
    pub reached: usize,
    /// Operations invoked in each window.
    pub invoked: Vec<u32>,
    /// ... of which answered ok.
    pub ok: Vec<u32>,
    /// ... of which failed (refused or given up, known not to have taken effect).
    #[serde(default)]
    pub failed: Vec<u32>,
    /// ... of which indeterminate (given up after a timeout: may have taken effect).
    #[serde(default)]
    pub indeterminate: Vec<u32>,
    /// Median latency of those ok operations, ms (None: no ok operation).
    pub p50_ms: Vec<Option<f64>>,
    /// 99th percentile.
    pub p99_ms: Vec<Option<f64>>,
    /// Maximum.
    pub max_ms: Vec<Option<f64>>,
}

impl WindowSeries {
    /// Availability of window `i`, if anything was invoked in it.
    pub fn availability(&self, i: usize) -> Option<f64> {
        let inv = *self.invoked.get(i)?;
        (inv > 0).then(|| ratio(u64::from(self.ok[i]), u64::from(inv)))
    }

    /// Ok operations per simulated second in window `i`, if the run reached it.
    pub fn throughput(&self, i: usize) -> Option<f64> {
        self.rate(&self.ok, i)
    }

    /// Failed operations per simulated second in window `i`, if the run reached it.
    pub fn failed_rate(&self, i: usize) -> Option<f64> {
        self.rate(&self.failed, i)
    }

    /// Indeterminate operations per simulated second in window `i`, if the run reached it.
    pub fn indeterminate_rate(&self, i: usize) -> Option<f64> {
        self.rate(&self.indeterminate, i)
    }

    fn rate(&self, counts: &[u32], i: usize) -> Option<f64> {
        (i < self.reached)
            .then(|| f64::from(counts.get(i).copied().unwrap_or(0)) * 1000.0 / self.window_ms.max(1) as f64)
    }
}

/// Cuts `[0, span_ms)` into [`WINDOWS`] windows and sorts the operations into them; the run
/// ended at `end_ms`.
pub fn windows(ops: &[OpTiming], span_ms: u64, end_ms: u64) -> WindowSeries {
    let window_ms = span_ms.div_ceil(WINDOWS as u64).max(1);
    let reached = (end_ms.div_ceil(window_ms) as usize).clamp(1, WINDOWS);
    let mut invoked = vec![0u32; WINDOWS];
    let mut ok = vec![0u32; WINDOWS];
    let mut failed = vec![0u32; WINDOWS];
    let mut indeterminate = vec![0u32; WINDOWS];
    let mut lat: Vec<Vec<u64>> = vec![Vec::new(); WINDOWS];
    for o in ops.iter().filter(|o| !o.pending) {
        let w = ((o.call_ns / 1_000_000 / window_ms) as usize).min(WINDOWS - 1);
        invoked[w] += 1;
        match (o.outcome, o.return_ns) {
            (Outcome::Ok, Some(r)) => {
                ok[w] += 1;
                lat[w].push(r.saturating_sub(o.call_ns));
            }
            (Outcome::Failed, _) => failed[w] += 1,
            _ => indeterminate[w] += 1,
        }
    }
    let q = |v: &[u64], permille: usize| -> Option<f64> {
        if v.is_empty() {
            return None;
        }
        let rank = (v.len() * permille).div_ceil(1000).max(1);
        Some(v[rank.min(v.len()) - 1] as f64 / 1e6)
    };
    let mut p50_ms = Vec::with_capacity(WINDOWS);
    let mut p99_ms = Vec::with_capacity(WINDOWS);
    let mut max_ms = Vec::with_capacity(WINDOWS);
    for v in &mut lat {
        v.sort_unstable();
        p50_ms.push(q(v, 500));
        p99_ms.push(q(v, 990));
        max_ms.push(q(v, 1000));
    }
    WindowSeries { window_ms, reached, invoked, ok, failed, indeterminate, p50_ms, p99_ms, max_ms }
}

/// A stretch of simulated time during which a fault was in force (or, for clock jumps and
/// drift changes, the instant it happened: `start_ms == end_ms`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultSpan {
    /// Start, ms.
    pub start_ms: f64,
    /// End, ms.
    pub end_ms: f64,
    /// What it was, e.g. `crash n0`.
    pub label: String,
    /// The node it hit (`None`: the network, or every node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Partition,
    Crash(Option<u32>),
    Pause(Option<u32>),
    Loss,
}

/// Pairs each applied fault with the action that ends it (heal ends partitions, restart a
/// crash of the same node, resume a pause, restoring loss a loss burst). Faults still in force
/// at the end of the run end at `end_ms`.
pub fn fault_spans(faults: &[AppliedFault], end_ms: u64) -> Vec<FaultSpan> {
    let mut open: Vec<(Open, f64, String)> = Vec::new();
    let mut out = Vec::new();
    let node_of = |k: Open| match k {
        Open::Crash(n) | Open::Pause(n) => n,
        _ => None,
    };
    let close =
        |open: &mut Vec<(Open, f64, String)>, out: &mut Vec<FaultSpan>, t: f64, which: &dyn Fn(Open) -> bool| {
            open.retain(|(k, start, label)| {
                if which(*k) {
                    out.push(FaultSpan { start_ms: *start, end_ms: t, label: label.clone(), node: node_of(*k) });
                    false
                } else {
                    true
                }
            });
        };
    for f in faults {
        let t = f.at_ns as f64 / 1e6;
        let word = f.action.split_whitespace().next().unwrap_or("");
        match word {
            "heal" => close(&mut open, &mut out, t, &|k| k == Open::Partition),
            "restart" => {
                close(&mut open, &mut out, t, &|k| matches!(k, Open::Crash(n) if n == f.node || f.node.is_none()))
            }
            "resume" => {
                close(&mut open, &mut out, t, &|k| matches!(k, Open::Pause(n) if n == f.node || f.node.is_none()))
            }
            "restore" => close(&mut open, &mut out, t, &|k| k == Open::Loss),
            "partition" => {
                close(&mut open, &mut out, t, &|k| k == Open::Partition);
                open.push((Open::Partition, t, f.action.clone()));
            }
            "crash" => open.push((Open::Crash(f.node), t, label(f))),
            "pause" => open.push((Open::Pause(f.node), t, label(f))),
            "loss" => {
                close(&mut open, &mut out, t, &|k| k == Open::Loss);
                open.push((Open::Loss, t, f.action.clone()));
            }
            _ => out.push(FaultSpan { start_ms: t, end_ms: t, label: label(f), node: f.node }),
        }
    }
    let end = end_ms as f64;
    close(&mut open, &mut out, end, &|_| true);
    out.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms).then(a.end_ms.total_cmp(&b.end_ms)));
    out
}

fn label(f: &AppliedFault) -> String {
    let word = f.action.split_whitespace().next().unwrap_or("fault");
    match f.node {
        Some(n) => format!("{word} n{n}"),
        None => f.action.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(call_ms: u64, ret_ms: Option<u64>, outcome: Outcome) -> OpTiming {
        OpTiming {
            client: 0,
            call_ns: call_ms * 1_000_000,
            return_ns: ret_ms.map(|r| r * 1_000_000),
            outcome,
            pending: false,
        }
    }

    #[test]
    fn windows_count_by_invocation_and_compute_ok_over_invoked() {
        let ops = vec![
            op(0, Some(2), Outcome::Ok),
            op(5, Some(9), Outcome::Ok),
            op(15, None, Outcome::Indeterminate),
            op(25, Some(26), Outcome::Failed),
            op(499, Some(500), Outcome::Ok),
        ];
        let w = windows(&ops, 500, 500);
        assert_eq!(w.window_ms, 10);
        assert_eq!((w.invoked[0], w.ok[0]), (2, 2));
        assert_eq!((w.invoked[1], w.ok[1]), (1, 0));
        assert_eq!(w.availability(0), Some(1.0));
        assert_eq!(w.availability(1), Some(0.0));
        assert_eq!(w.availability(2), Some(0.0));
        assert_eq!(w.availability(3), None, "nothing invoked: undefined, not 1");
        assert_eq!(w.invoked[WINDOWS - 1], 1);
        assert_eq!(w.p50_ms[0], Some(2.0));
        assert_eq!(w.max_ms[0], Some(4.0));
        assert_eq!(w.throughput(0), Some(200.0));
        let short = windows(&ops[..2], 500, 35);
        assert_eq!((short.reached, short.throughput(3), short.throughput(4)), (4, Some(0.0), None));
        assert_eq!(ratio(0, 0), 1.0);
        assert_eq!(ratio(3, 4), 0.75);
        assert_eq!((w.failed[2], w.indeterminate[1]), (1, 1), "failed and indeterminate are counted apart");
    }

    #[test]
    fn operations_in_flight_at_the_end_are_left_out_of_the_last_window() {
        let mut ops = vec![op(480, Some(482), Outcome::Ok), op(485, Some(486), Outcome::Ok)];
        // Invoked in the last window and still waiting when the run ended at 500 ms.
        for call in [490, 495, 498] {
            ops.push(OpTiming { pending: true, ..op(call, None, Outcome::Indeterminate) });
        }
        let w = windows(&ops, 500, 500);
        assert_eq!((w.invoked[WINDOWS - 2], w.ok[WINDOWS - 2]), (2, 2));
        assert_eq!(w.invoked[WINDOWS - 1], 0, "nothing but in-flight operations: no data, not a drop");
        assert_eq!(w.availability(WINDOWS - 1), None);
        assert_eq!(w.availability(WINDOWS - 2), Some(1.0));
        // An operation given up after a timeout is not in flight: it counts against availability.
        ops.push(op(499, None, Outcome::Indeterminate));
        let w = windows(&ops, 500, 500);
        assert_eq!((w.availability(WINDOWS - 1), w.indeterminate[WINDOWS - 1]), (Some(0.0), 1));
    }

    fn fault(at_ms: u64, action: &str, node: Option<u32>, recovery: bool) -> AppliedFault {
        AppliedFault { at_ns: at_ms * 1_000_000, index: 0, action: action.into(), node, recovery }
    }

    #[test]
    fn fault_spans_pair_faults_with_their_recovery() {
        let faults = vec![
            fault(10, "crash 0", Some(0), false),
            fault(20, "partition halves", None, false),
            fault(30, "restart target of #0", Some(0), true),
            fault(35, "clock-jump 1 by 5ms", Some(1), false),
            fault(40, "heal", None, true),
            fault(50, "pause 2", Some(2), false),
        ];
        let spans = fault_spans(&faults, 100);
        let got: Vec<(f64, f64, &str)> = spans.iter().map(|s| (s.start_ms, s.end_ms, s.label.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (10.0, 30.0, "crash n0"),
                (20.0, 40.0, "partition halves"),
                (35.0, 35.0, "clock-jump n1"),
                (50.0, 100.0, "pause n2"),
            ]
        );
    }
}
