//! The report of one run: the contract's JSON fields, and what the sweep's reports draw from.

use crate::check::{Marks, Verdict, Violation};
use crate::hash::EventKind;
use crate::history::Outcome;
use crate::scenario::Scenario;
use crate::time::Time;
use crate::world::TraceRecord;
use serde::{Deserialize, Serialize};

/// Event and message counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Events delivered (what the trace hash covers).
    pub events: u64,
    /// Messages handed to the network.
    pub sent: u64,
    /// Messages delivered to a node.
    pub delivered: u64,
    /// Messages lost: cut links, random loss, crashed receivers, lost client traffic.
    pub dropped: u64,
    /// Messages the network duplicated.
    pub duplicated: u64,
    /// Client operations invoked.
    pub invoked: u64,
    /// ... answered ok.
    pub ok: u64,
    /// ... that definitely did not take effect.
    pub failed: u64,
    /// ... whose effect is unknown.
    pub indeterminate: u64,
}

/// A fault as it was applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFault {
    /// True time (ns).
    pub at_ns: u64,
    /// Index in the materialized schedule.
    pub index: usize,
    /// What was done, readably.
    pub action: String,
    /// The node it hit, once resolved.
    pub node: Option<u32>,
    /// True for heal, restart, resume and restore-loss.
    pub recovery: bool,
}

/// Timing of one client operation, for latency and availability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpTiming {
    /// Client.
    pub client: u32,
    /// Invocation (ns).
    pub call_ns: u64,
    /// Answer (ns), if answered.
    pub return_ns: Option<u64>,
    /// Outcome.
    pub outcome: Outcome,
    /// Still in flight when the run ended: neither answered nor given up, so it says nothing
    /// about availability (the charts leave it out).
    #[serde(default)]
    pub pending: bool,
}

/// Message counts as the contract names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageStats {
    /// Handed to the network.
    pub sent: u64,
    /// Delivered.
    pub delivered: u64,
    /// Lost.
    pub dropped: u64,
    /// Duplicated.
    pub duplicated: u64,
}

/// Operation counts as the contract names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpStats {
    /// Invoked.
    pub invoked: u64,
    /// Answered ok.
    pub ok: u64,
    /// Definitely not applied.
    pub failed: u64,
    /// Unknown.
    pub indeterminate: u64,
}

/// Latency quantiles of ok operations, in milliseconds (0 when there are none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
}

/// Liveness after the last fault.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// Time of the last fault action (its heal), ms.
    pub last_heal_ms: u64,
    /// From the last heal to the first ok answer to an operation invoked after it, ms.
    pub recovery_ms: Option<u64>,
    /// The longest stretch with no ok answer, ms.
    pub longest_outage_ms: u64,
}

/// The result of one run: every field of the contract's `run --format json`, and more.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    /// Scenario name.
    pub scenario: String,
    /// Protocol name.
    pub protocol: String,
    /// The seed.
    pub seed: u64,
    /// Planted bugs on.
    pub bugs: Vec<String>,
    /// pass / fail / unknown.
    pub verdict: Verdict,
    /// What failed.
    pub violations: Vec<Violation>,
    /// Why the verdict is unknown, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
    /// For a positive control: the assumption broken on purpose and whether the expected
    /// violation occurred.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Expected>,
    /// xxh3-64 over every delivered event, 16 hex digits.
    pub trace_hash: String,
    /// Events delivered.
    pub events: u64,
    /// Message counts.
    pub messages: MessageStats,
    /// Operation counts.
    pub ops: OpStats,
    /// ok / invoked (1.0 when nothing was invoked).
    pub availability: f64,
    /// Latency of ok operations.
    pub latency_ms: Latency,
    /// Simulated time reached, ms.
    pub sim_time_ms: u64,
    /// Wall-clock time of the run, ms (filled in by the caller: the simulator never reads it).
    pub wall_ms: u64,
    /// Liveness after the last fault.
    pub recovery: Recovery,
    /// `sometimes` marks hit.
    pub marks: Marks,
    /// Faults as applied.
    pub faults: Vec<AppliedFault>,
    /// What the end-of-run linearizability check spent (absent when none ran): explored
    /// configurations and the peak bytes of one partition's search, to tune `[checks]
    /// history_budget` with.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub history_check: Option<HistoryCheck>,
    /// The client histories written out (one per check the protocol ran, e.g. one per lock),
    /// when the caller asked for them
    /// ([`RunExtras::export_history`](crate::runner::RunExtras::export_history)) and the
    /// protocol's check uses a model that can write them.
    #[serde(skip)]
    pub history: Vec<faultline_lincheck::export::ExportedHistory>,
    /// Per-operation timing (for charts; not in the JSON output).
    #[serde(skip)]
    pub op_timings: Vec<OpTiming>,
    /// The last events before the end (for the space-time diagram).
    #[serde(skip)]
    pub recent: Vec<TraceRecord>,
    /// Coverage keys for guided search, sorted (abstract states, transitions between them,
    /// message kinds delivered across a fault), when the caller asked for them
    /// ([`Simulation::keep_coverage`](crate::world::Simulation::keep_coverage)); empty otherwise.
    #[serde(skip)]
    pub coverage: Vec<u64>,
    /// Each node's [`Protocol::summary`](crate::protocol::Protocol::summary) whenever it changed
    /// (and `down` at a crash), as `(true time ns, node, summary)`, when the caller asked for it
    /// ([`Simulation::keep_timeline`](crate::world::Simulation::keep_timeline)); empty otherwise.
    #[serde(skip)]
    pub timeline: Vec<(u64, u32, String)>,
    /// Every event of the run, in order, when the caller asked for them
    /// ([`Simulation::keep_trace`](crate::world::Simulation::keep_trace)); empty otherwise.
    #[serde(skip)]
    pub trace: Vec<TraceRecord>,
    /// The client history, kept for failing runs.
    #[serde(skip)]
    pub history_json: Option<serde_json::Value>,
    /// Every fault action applied, as explicit `[[faults]]` entries with resolved nodes and
    /// shapes: replacing a scenario's faults and nemesis with these reproduces the run's faults
    /// (the starting point of shrinking).
    #[serde(skip)]
    pub explicit_faults: Vec<crate::scenario::FaultSpec>,
}

/// The effort of the end-of-run history check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryCheck {
    /// Configurations explored, over every partition.
    pub states: u64,
    /// Peak bytes one partition's search held.
    pub peak_bytes: u64,
}

/// A positive control's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// The invariant that had to fail.
    pub violation: String,
    /// The assumption the scenario breaks on purpose.
    pub assumption: String,
    /// Whether it failed.
    pub observed: bool,
}

/// What [`build`] needs.
pub(crate) struct Inputs<'a> {
    pub scenario: &'a Scenario,
    pub protocol: &'static str,
    pub seed: u64,
    pub bugs: Vec<String>,
    pub violations: Vec<Violation>,
    pub unknown: Option<String>,
    pub trace_hash: String,
    pub counters: Counters,
    pub sim_time: Time,
    pub marks: Marks,
    pub faults: Vec<AppliedFault>,
    pub last_heal: Time,
    pub ops: Vec<OpTiming>,
    pub check_liveness: bool,
}

pub(crate) fn build(i: Inputs<'_>) -> RunReport {
    let mut violations = i.violations;
    let c = i.counters;
    let availability = if c.invoked == 0 { 1.0 } else { c.ok as f64 / c.invoked as f64 };
    let mut lat: Vec<u64> =
        i.ops.iter().filter(|o| o.outcome == Outcome::Ok).filter_map(|o| o.return_ns.map(|r| r - o.call_ns)).collect();
    lat.sort_unstable();
    let recovery = recovery(&i.ops, i.last_heal, i.sim_time);
    if i.check_liveness {
        if let Some(bound) = i.scenario.checks.liveness_ms {
            let deadline = i.last_heal.as_ms().saturating_add(bound);
            let judged = deadline <= i.sim_time.as_ms();
            match recovery.recovery_ms {
                Some(r) if r <= bound => {}
                _ if judged => violations.push(Violation {
                    invariant: "sim.liveness".into(),
                    at_ms: deadline,
                    at_ns: deadline.saturating_mul(1_000_000),
                    node: None,
                    detail: match recovery.recovery_ms {
                        Some(r) => format!(
                            "first success {r}ms after the last heal at {}ms; bound {bound}ms",
                            i.last_heal.as_ms()
                        ),
                        None => format!(
                            "no operation succeeded within {bound}ms of the last heal at {}ms",
                            i.last_heal.as_ms()
                        ),
                    },
                }),
                _ => {}
            }
        }
        if let Some(min) = i.scenario.checks.min_availability {
            let min = f64::from(min.ppm()) / 1e6;
            if availability < min {
                violations.push(Violation {
                    invariant: "sim.availability".into(),
                    at_ms: i.sim_time.as_ms(),
                    at_ns: i.sim_time.0,
                    node: None,
                    detail: format!("availability {availability:.4} below the scenario's minimum {min}"),
                });
            }
        }
    }
    let mut verdict = if !violations.is_empty() {
        Verdict::Fail
    } else if i.unknown.is_some() {
        Verdict::Unknown
    } else {
        Verdict::Pass
    };
    let expected = i.scenario.expect.as_ref().map(|e| {
        let observed = violations.iter().any(|v| v.invariant == e.violation);
        verdict = if observed {
            Verdict::Pass
        } else if verdict == Verdict::Unknown {
            Verdict::Unknown
        } else {
            Verdict::Fail
        };
        Expected { violation: e.violation.clone(), assumption: e.assumption.clone(), observed }
    });
    if let Some(e) = &expected {
        if !e.observed && verdict == Verdict::Fail && violations.is_empty() {
            violations.push(Violation {
                invariant: "sim.expected-violation".into(),
                at_ms: i.sim_time.as_ms(),
                at_ns: i.sim_time.0,
                node: None,
                detail: format!(
                    "positive control: expected `{}` to fail (assumption broken: {})",
                    e.violation, e.assumption
                ),
            });
        }
    }
    RunReport {
        scenario: i.scenario.name.clone(),
        protocol: i.protocol.to_string(),
        seed: i.seed,
        bugs: i.bugs,
        verdict,
        violations,
        unknown_reason: i.unknown,
        expected,
        trace_hash: i.trace_hash,
        events: c.events,
        messages: MessageStats { sent: c.sent, delivered: c.delivered, dropped: c.dropped, duplicated: c.duplicated },
        ops: OpStats { invoked: c.invoked, ok: c.ok, failed: c.failed, indeterminate: c.indeterminate },
        availability,
        latency_ms: Latency {
            p50: quantile_ms(&lat, 500),
            p90: quantile_ms(&lat, 900),
            p99: quantile_ms(&lat, 990),
            p999: quantile_ms(&lat, 999),
            max: lat.last().map_or(0.0, |&x| x as f64 / 1e6),
        },
        sim_time_ms: i.sim_time.as_ms(),
        wall_ms: 0,
        recovery,
        marks: i.marks,
        faults: i.faults,
        op_timings: i.ops,
        recent: Vec::new(),
        coverage: Vec::new(),
        timeline: Vec::new(),
        trace: Vec::new(),
        history_json: None,
        history_check: None,
        history: Vec::new(),
        explicit_faults: Vec::new(),
    }
}

/// The `permille`th quantile (nearest rank) of sorted nanoseconds, in ms.
fn quantile_ms(sorted: &[u64], permille: u64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (sorted.len() as u64 * permille).div_ceil(1000).max(1) as usize;
    sorted[rank.min(sorted.len()) - 1] as f64 / 1e6
}

/// Recovery after the last heal, and the longest outage, from operation timings.
pub fn recovery(ops: &[OpTiming], last_heal: Time, end: Time) -> Recovery {
    let first_after =
        ops.iter().filter(|o| o.outcome == Outcome::Ok && o.call_ns >= last_heal.0).filter_map(|o| o.return_ns).min();
    let mut successes: Vec<u64> = ops.iter().filter(|o| o.outcome == Outcome::Ok).filter_map(|o| o.return_ns).collect();
    successes.sort_unstable();
    let mut longest = 0;
    let mut prev = 0;
    for s in successes.iter().copied().chain(std::iter::once(end.0)) {
        longest = longest.max(s.saturating_sub(prev));
        prev = s;
    }
    Recovery {
        last_heal_ms: last_heal.as_ms(),
        recovery_ms: first_after.map(|r| (r - last_heal.0) / 1_000_000),
        longest_outage_ms: longest / 1_000_000,
    }
}

/// The trace's name for an event kind.
pub fn kind_name(k: EventKind) -> &'static str {
    match k {
        EventKind::Start => "start",
        EventKind::Deliver => "deliver",
        EventKind::Timer => "timer",
        EventKind::Request => "request",
        EventKind::Reply => "reply",
        EventKind::ClientTimeout => "client-timeout",
        EventKind::Fault => "fault",
        EventKind::Invoke => "invoke",
    }
}

impl RunReport {
    /// The report of a run whose protocol panicked.
    pub fn panicked(
        scenario: &Scenario,
        protocol: &str,
        opts: &crate::world::RunOptions,
        message: String,
        trace_hash: String,
    ) -> RunReport {
        RunReport {
            scenario: scenario.name.clone(),
            protocol: protocol.to_string(),
            seed: opts.seed,
            bugs: opts.bugs.clone(),
            verdict: Verdict::Fail,
            violations: vec![Violation {
                invariant: "sim.panic".into(),
                at_ms: 0,
                at_ns: 0,
                node: None,
                detail: format!("the protocol panicked: {message}"),
            }],
            unknown_reason: None,
            expected: None,
            trace_hash,
            events: 0,
            messages: MessageStats::default(),
            ops: OpStats::default(),
            availability: 0.0,
            latency_ms: Latency::default(),
            sim_time_ms: 0,
            wall_ms: 0,
            recovery: Recovery::default(),
            marks: Marks::default(),
            faults: Vec::new(),
            op_timings: Vec::new(),
            recent: Vec::new(),
            coverage: Vec::new(),
            timeline: Vec::new(),
            trace: Vec::new(),
            history_json: None,
            history_check: None,
            history: Vec::new(),
            explicit_faults: Vec::new(),
        }
    }

    /// The contract's text output: seed first, verdict and trace hash last.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "seed={} scenario={} protocol={}", self.seed, self.scenario, self.protocol);
        if !self.bugs.is_empty() {
            let _ = writeln!(s, "bugs={}", self.bugs.join(","));
        }
        let _ = writeln!(
            s,
            "events={} sim_time={}ms messages: sent={} delivered={} dropped={} duplicated={}",
            self.events,
            self.sim_time_ms,
            self.messages.sent,
            self.messages.delivered,
            self.messages.dropped,
            self.messages.duplicated
        );
        let _ = writeln!(
            s,
            "ops: invoked={} ok={} failed={} indeterminate={} availability={:.4} latency_ms p50={:.3} p99={:.3} max={:.3}",
            self.ops.invoked,
            self.ops.ok,
            self.ops.failed,
            self.ops.indeterminate,
            self.availability,
            self.latency_ms.p50,
            self.latency_ms.p99,
            self.latency_ms.max
        );
        if !self.faults.is_empty() {
            let _ = writeln!(s, "faults applied: {}", self.faults.len());
        }
        if !self.marks.0.is_empty() {
            let marks: Vec<String> = self.marks.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(s, "sometimes: {}", marks.join(" "));
        }
        for v in &self.violations {
            let node = v.node.map_or(String::new(), |n| format!(" node=n{n}"));
            let _ = writeln!(s, "VIOLATION {} at {}ms{}: {}", v.invariant, v.at_ms, node, v.detail);
        }
        if let Some(e) = &self.expected {
            let _ = writeln!(
                s,
                "positive control: assumption broken on purpose: {}; expected `{}` to fail: {}",
                e.assumption,
                e.violation,
                if e.observed { "it did" } else { "it did NOT" }
            );
        }
        if let Some(r) = &self.unknown_reason {
            let _ = writeln!(s, "inconclusive: {r}");
        }
        let _ = writeln!(s, "verdict={} trace_hash={}", self.verdict.as_str(), self.trace_hash);
        s
    }

    /// The first violated invariant, if any.
    pub fn first_invariant(&self) -> Option<&str> {
        self.violations.first().map(|v| v.invariant.as_str())
    }
}
