//! What a sweep keeps of one run: a flat row for `results.csv`, the wall-clock timing for
//! `timings.csv`, and the compact series the charts draw from.
//!
//! A [`RunRecord`] is written as one JSON line to the sweep's journal the moment the run ends, so
//! an interrupted sweep keeps every finished run, `--resume` can skip them, and `report merge`
//! can rebuild every output file of a sharded sweep from the shards' journals alone.

use crate::availability::{self, FaultSpan, WindowSeries};
use faultline_sim::check::Verdict;
use faultline_sim::hash::EventKind;
use faultline_sim::history::Outcome;
use faultline_sim::report::RunReport;
use faultline_sim::world::TraceRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One row of `results.csv`: the contract's JSON fields, flattened, plus the recovery figures.
/// Nothing here depends on the wall clock or on `--jobs`, so the file is byte-identical for any
/// number of threads and for a merged set of shards.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Scenario name.
    pub scenario: String,
    /// Protocol name.
    pub protocol: String,
    /// Seed.
    pub seed: u64,
    /// Planted bugs on, `;`-separated.
    pub bugs: String,
    /// Swarm options drawn for this seed (empty without `--swarm`).
    pub swarm: String,
    /// `pass`, `fail` or `unknown`.
    pub verdict: String,
    /// First violated invariant (empty if none).
    pub invariant: String,
    /// When it was detected, ms of true time.
    pub at_ms: Option<u64>,
    /// The node it concerns.
    pub node: Option<u32>,
    /// What was seen (or why the run is inconclusive), on one line.
    pub detail: String,
    /// Number of violations.
    pub violations: usize,
    /// Trace hash.
    pub trace_hash: String,
    /// Events delivered.
    pub events: u64,
    /// Messages handed to the network.
    pub messages_sent: u64,
    /// Messages delivered.
    pub messages_delivered: u64,
    /// Messages lost.
    pub messages_dropped: u64,
    /// Messages duplicated.
    pub messages_duplicated: u64,
    /// Operations invoked.
    pub ops_invoked: u64,
    /// ... answered ok.
    pub ops_ok: u64,
    /// ... that definitely did not take effect.
    pub ops_failed: u64,
    /// ... whose effect is unknown.
    pub ops_indeterminate: u64,
    /// ok / invoked.
    pub availability: f64,
    /// Latency quantiles of ok operations, ms.
    pub latency_ms_p50: f64,
    /// 90th percentile.
    pub latency_ms_p90: f64,
    /// 99th percentile.
    pub latency_ms_p99: f64,
    /// 99.9th percentile.
    pub latency_ms_p999: f64,
    /// Maximum.
    pub latency_ms_max: f64,
    /// Simulated time reached, ms.
    pub sim_time_ms: u64,
    /// Time of the last fault action, ms.
    pub last_heal_ms: u64,
    /// From the last heal to the first success, ms (empty if none).
    pub recovery_ms: Option<u64>,
    /// Longest stretch with no successful answer, ms.
    pub longest_outage_ms: u64,
    /// The repro file, relative to the sweep's output directory (failures only).
    pub repro: String,
}

impl ResultRow {
    /// The verdict as the enum.
    pub fn verdict(&self) -> Verdict {
        match self.verdict.as_str() {
            "pass" => Verdict::Pass,
            "fail" => Verdict::Fail,
            _ => Verdict::Unknown,
        }
    }
}

/// One event of the space-time diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentEvent {
    /// True time, ns.
    pub t_ns: u64,
    /// `deliver`, `timer`, `request`, `reply`, `client-timeout`, `fault`, `invoke`, `start`.
    pub kind: EventKindName,
    /// Where: the node, or the client for `invoke`, `reply` and `client-timeout`.
    pub node: u32,
    /// The other party: sender, client, fault index; `u32::MAX` for none.
    pub other: u32,
    /// For a delivery, when the sender sent it (true time, ns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_ns: Option<u64>,
}

impl From<&TraceRecord> for RecentEvent {
    fn from(r: &TraceRecord) -> Self {
        RecentEvent {
            t_ns: r.time_ns,
            kind: r.kind.into(),
            node: r.node,
            other: r.other,
            sent_ns: (r.sent_ns != faultline_sim::world::NOT_SENT).then_some(r.sent_ns),
        }
    }
}

/// [`EventKind`] in a serializable form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKindName {
    /// A node started.
    Start,
    /// A message delivered (`node` ← `other`).
    Deliver,
    /// A timer fired.
    Timer,
    /// A client request reached `node` from client `other`.
    Request,
    /// A reply from node `other` reached client `node`.
    Reply,
    /// Client `node` gave up waiting.
    ClientTimeout,
    /// A fault hit `node` (or the network).
    Fault,
    /// Client `node` invoked an operation.
    Invoke,
}

impl From<EventKind> for EventKindName {
    fn from(k: EventKind) -> Self {
        match k {
            EventKind::Start => EventKindName::Start,
            EventKind::Deliver => EventKindName::Deliver,
            EventKind::Timer => EventKindName::Timer,
            EventKind::Request => EventKindName::Request,
            EventKind::Reply => EventKindName::Reply,
            EventKind::ClientTimeout => EventKindName::ClientTimeout,
            EventKind::Fault => EventKindName::Fault,
            EventKind::Invoke => EventKindName::Invoke,
        }
    }
}

/// Everything a sweep keeps of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Position of the scenario in the sweep's list (outputs are in (scenario, seed) order).
    pub scenario_index: usize,
    /// The row of `results.csv`.
    pub row: ResultRow,
    /// Wall-clock time of the run, µs (goes to `timings.csv` only).
    pub wall_us: u64,
    /// The scenario's duration, ms (the x axis of the charts).
    pub duration_ms: u64,
    /// `sometimes` marks hit, by name.
    pub marks: BTreeMap<String, u64>,
    /// Latency of ok operations as an HDR histogram's recorded buckets: (µs, count).
    pub latency_us: Vec<(u64, u64)>,
    /// Per-window availability, throughput and latency.
    pub windows: WindowSeries,
    /// Fault windows, for shading.
    pub fault_spans: Vec<FaultSpan>,
    /// The last events before the end (failures only), for the space-time diagram.
    pub recent: Vec<RecentEvent>,
    /// Violation times in ns (failures only), to mark on the space-time diagram.
    pub violation_ns: Option<u64>,
}

impl RunRecord {
    /// The record of a finished run that took `wall_us` of wall-clock time. `repro` is the repro
    /// file's name relative to the output directory, for failures; `swarm` the drawn swarm
    /// options, if any.
    pub fn of(
        scenario_index: usize,
        duration_ms: u64,
        report: &RunReport,
        wall_us: u64,
        repro: Option<String>,
        swarm: Option<String>,
    ) -> RunRecord {
        let first = report.violations.first();
        // One line per row: a multi-line detail (a linearizability explanation) is joined with
        // " | " so results.csv stays one run per line; the repro and replay show it whole.
        let detail = match (first, &report.unknown_reason) {
            (Some(v), _) => v.detail.as_str(),
            (None, Some(r)) => r.as_str(),
            (None, None) => "",
        };
        let detail = detail.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" | ");
        let row = ResultRow {
            scenario: report.scenario.clone(),
            protocol: report.protocol.clone(),
            seed: report.seed,
            bugs: report.bugs.join(";"),
            swarm: swarm.unwrap_or_default(),
            verdict: report.verdict.as_str().to_string(),
            invariant: first.map(|v| v.invariant.clone()).unwrap_or_default(),
            at_ms: first.map(|v| v.at_ms),
            node: first.and_then(|v| v.node),
            detail,
            violations: report.violations.len(),
            trace_hash: report.trace_hash.clone(),
            events: report.events,
            messages_sent: report.messages.sent,
            messages_delivered: report.messages.delivered,
            messages_dropped: report.messages.dropped,
            messages_duplicated: report.messages.duplicated,
            ops_invoked: report.ops.invoked,
            ops_ok: report.ops.ok,
            ops_failed: report.ops.failed,
            ops_indeterminate: report.ops.indeterminate,
            availability: report.availability,
            latency_ms_p50: report.latency_ms.p50,
            latency_ms_p90: report.latency_ms.p90,
            latency_ms_p99: report.latency_ms.p99,
            latency_ms_p999: report.latency_ms.p999,
            latency_ms_max: report.latency_ms.max,
            sim_time_ms: report.sim_time_ms,
            last_heal_ms: report.recovery.last_heal_ms,
            recovery_ms: report.recovery.recovery_ms,
            longest_outage_ms: report.recovery.longest_outage_ms,
            repro: repro.unwrap_or_default(),
        };
        let failed = report.verdict == Verdict::Fail;
        let mut hist = crate::latency::histogram();
        for o in &report.op_timings {
            if let (Outcome::Ok, Some(r)) = (o.outcome, o.return_ns) {
                crate::latency::record_ns(&mut hist, r.saturating_sub(o.call_ns));
            }
        }
        RunRecord {
            scenario_index,
            wall_us,
            duration_ms,
            marks: report.marks.0.clone(),
            latency_us: crate::latency::buckets(&hist),
            windows: availability::windows(&report.op_timings, duration_ms.max(report.sim_time_ms), report.sim_time_ms),
            fault_spans: availability::fault_spans(&report.faults, report.sim_time_ms),
            recent: if failed { report.recent.iter().map(RecentEvent::from).collect() } else { Vec::new() },
            violation_ns: if failed { first.map(|v| v.at_ns) } else { None },
            row,
        }
    }

    /// The (scenario, seed) key that orders and deduplicates records.
    pub fn key(&self) -> (usize, u64) {
        (self.scenario_index, self.row.seed)
    }

    /// Events per wall-clock second of this run (0 when too fast to time).
    pub fn events_per_s(&self) -> f64 {
        if self.wall_us == 0 {
            0.0
        } else {
            self.row.events as f64 * 1e6 / self.wall_us as f64
        }
    }
}
