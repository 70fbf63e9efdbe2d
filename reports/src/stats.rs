//! Per-scenario aggregates over a sweep's runs, shared by `summary.md`, `junit.xml` and
//! `report.html` so every report says the same thing.

use crate::availability::ratio;
use crate::record::RunRecord;
use crate::SweepInfo;
use faultline_sim::check::Verdict;
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, BTreeSet};

/// One `sometimes` mark over a scenario's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MarkStats {
    /// Runs in which it fired at least once.
    pub runs: u64,
    /// Total hits.
    pub hits: u64,
}

/// Everything the reports show about one scenario.
#[derive(Clone, Debug)]
pub struct ScenarioStats {
    /// Scenario name.
    pub name: String,
    /// Protocol.
    pub protocol: String,
    /// Position in the sweep.
    pub index: usize,
    /// Runs recorded.
    pub runs: u64,
    /// ... by verdict.
    pub passed: u64,
    /// Failed.
    pub failed: u64,
    /// Inconclusive.
    pub unknown: u64,
    /// Operations invoked, summed over runs.
    pub invoked: u64,
    /// ... answered ok.
    pub ok: u64,
    /// Lowest availability of a single run that invoked anything (`None`: none did).
    pub worst_availability: Option<f64>,
    /// Latency of every ok operation of every run.
    pub latency: Histogram<u64>,
    /// The largest latency seen, ms (exact).
    pub latency_max_ms: f64,
    /// Events, summed.
    pub events: u64,
    /// Messages sent, summed.
    pub messages_sent: u64,
    /// Wall-clock µs, summed.
    pub wall_us: u64,
    /// Longest recovery after the last heal, ms.
    pub max_recovery_ms: Option<u64>,
    /// Runs that went on past their last heal and in which nothing succeeded after it.
    pub never_recovered: u64,
    /// Longest stretch without a success in any run, ms.
    pub max_outage_ms: u64,
    /// `sometimes` marks: every mark seen for this protocol anywhere in the sweep, with this
    /// scenario's counts (zero means it never fired here).
    pub marks: BTreeMap<String, MarkStats>,
    /// Indices (into the sorted records) of this scenario's runs.
    pub records: Vec<usize>,
}

impl ScenarioStats {
    /// Pooled availability, Σ ok / Σ invoked; `None` when nothing was invoked (shown as "–":
    /// a scenario whose runs stop before any client operation is not perfectly available).
    pub fn availability(&self) -> Option<f64> {
        (self.invoked > 0).then(|| ratio(self.ok, self.invoked))
    }

    /// Latency quantile `q` of the ok operations, ms; `None` when none succeeded.
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        (!self.latency.is_empty()).then(|| crate::latency::quantile_ms(&self.latency, q))
    }

    /// The largest latency, ms; `None` when no operation succeeded.
    pub fn latency_max(&self) -> Option<f64> {
        (!self.latency.is_empty()).then_some(self.latency_max_ms)
    }

    /// Events per wall-clock second (0 when too fast to time).
    pub fn events_per_s(&self) -> f64 {
        if self.wall_us == 0 {
            0.0
        } else {
            self.events as f64 * 1e6 / self.wall_us as f64
        }
    }

    /// Messages sent per ok operation, if any succeeded.
    pub fn messages_per_op(&self) -> Option<f64> {
        (self.ok > 0).then(|| self.messages_sent as f64 / self.ok as f64)
    }
}

/// Aggregates `records` (sorted by (scenario, seed)) per scenario of the sweep, in sweep order.
/// Scenarios with no records are left out.
pub fn per_scenario(info: &SweepInfo, records: &[RunRecord]) -> Vec<ScenarioStats> {
    let mut by_index: BTreeMap<usize, ScenarioStats> = BTreeMap::new();
    // Marks known per protocol: the ones it declares, and any that fired in some scenario of the
    // protocol (so an undeclared one is still reachable); a scenario where one never fired is
    // flagged.
    let mut known: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in &info.scenarios {
        known.entry(s.protocol.as_str()).or_default().extend(s.marks.iter().map(String::as_str));
    }
    for r in records {
        let set = known.entry(r.row.protocol.as_str()).or_default();
        set.extend(r.marks.keys().map(String::as_str).filter(|m| !m.starts_with("sim.")));
    }
    for (i, r) in records.iter().enumerate() {
        let s = by_index.entry(r.scenario_index).or_insert_with(|| {
            let name = info.scenarios.get(r.scenario_index).map_or(r.row.scenario.clone(), |s| s.name.clone());
            ScenarioStats {
                name,
                protocol: r.row.protocol.clone(),
                index: r.scenario_index,
                runs: 0,
                passed: 0,
                failed: 0,
                unknown: 0,
                invoked: 0,
                ok: 0,
                worst_availability: None,
                latency: crate::latency::histogram(),
                latency_max_ms: 0.0,
                events: 0,
                messages_sent: 0,
                wall_us: 0,
                max_recovery_ms: None,
                never_recovered: 0,
                max_outage_ms: 0,
                marks: known
                    .get(r.row.protocol.as_str())
                    .into_iter()
                    .flatten()
                    .map(|m| (m.to_string(), MarkStats::default()))
                    .collect(),
                records: Vec::new(),
            }
        });
        s.runs += 1;
        match r.row.verdict() {
            Verdict::Pass => s.passed += 1,
            Verdict::Fail => s.failed += 1,
            Verdict::Unknown => s.unknown += 1,
        }
        s.invoked += r.row.ops_invoked;
        s.ok += r.row.ops_ok;
        if r.row.ops_invoked > 0 {
            s.worst_availability = Some(s.worst_availability.map_or(r.row.availability, |w| w.min(r.row.availability)));
        }
        crate::latency::add_buckets(&mut s.latency, &r.latency_us);
        s.latency_max_ms = s.latency_max_ms.max(r.row.latency_ms_max);
        s.events += r.row.events;
        s.messages_sent += r.row.messages_sent;
        s.wall_us += r.wall_us;
        match r.row.recovery_ms {
            Some(x) => s.max_recovery_ms = Some(s.max_recovery_ms.map_or(x, |m| m.max(x))),
            None if r.row.last_heal_ms > 0 && r.row.sim_time_ms > r.row.last_heal_ms => s.never_recovered += 1,
            None => {}
        }
        s.max_outage_ms = s.max_outage_ms.max(r.row.longest_outage_ms);
        for (m, &n) in &r.marks {
            let e = s.marks.entry(m.clone()).or_default();
            e.runs += 1;
            e.hits += n;
        }
        s.records.push(i);
    }
    by_index.into_values().collect()
}

/// `value` with `decimals` decimals, or "–" when there is none.
pub fn or_dash(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.decimals$}"))
}
