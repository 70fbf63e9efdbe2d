//! Type-erased access to protocols, so the command line can pick one by name, and repro files.

use crate::protocol::{BugInfo, Protocol};
use crate::report::RunReport;
use crate::scenario::{Scenario, ScenarioError, Seed};
use crate::world::{RunOptions, Simulation};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::marker::PhantomData;

/// A protocol behind a name: what the CLI and the sweep call.
pub trait ProtocolRunner: Send + Sync {
    /// The protocol's scenario name.
    fn name(&self) -> &'static str;
    /// Its planted bugs.
    fn bugs(&self) -> &'static [BugInfo];
    /// Its declared `sometimes` marks (`Protocol::MARKS`).
    fn marks(&self) -> &'static [&'static str];
    /// Checks everything about a scenario that depends on the protocol (its `[config]`, operator
    /// requests, bug names) without running it.
    fn validate(&self, scenario: &Scenario, bugs: &[String]) -> Result<(), ScenarioError>;
    /// Runs one simulation with what `extras` asks for beyond the report.
    fn run_with(&self, scenario: &Scenario, opts: &RunOptions, extras: RunExtras) -> Result<RunReport, ScenarioError>;

    /// Runs one simulation; `trace` receives the JSON-lines trace if given.
    fn run(
        &self,
        scenario: &Scenario,
        opts: &RunOptions,
        trace: Option<Box<dyn Write>>,
    ) -> Result<RunReport, ScenarioError> {
        self.run_with(scenario, opts, RunExtras { trace, ..RunExtras::default() })
    }
}

/// What a caller may ask of a run beyond its [`RunReport`]. None of it changes the run.
#[derive(Default)]
pub struct RunExtras {
    /// Receives every event as a JSON line (the `--trace` file).
    pub trace: Option<Box<dyn Write>>,
    /// Keep every event's record in [`RunReport::trace`] (the determinism check compares them).
    pub keep_trace: bool,
    /// Asked now and then whether to go on (wall-clock budget, interrupts, progress display).
    pub watchdog: Option<crate::world::Watchdog>,
    /// Write the client history out in this format ([`RunReport::history`]), as the protocol's
    /// end-of-run check saw it.
    pub export_history: Option<faultline_lincheck::export::ExportFormat>,
    /// Keep each node's summary whenever it changes ([`RunReport::timeline`], for `explain`).
    pub timeline: bool,
    /// Collect coverage keys ([`RunReport::coverage`], for `explore`).
    pub coverage: bool,
}

/// The [`ProtocolRunner`] of protocol `P`.
pub struct Runner<P>(PhantomData<fn() -> P>);

impl<P: Protocol> Runner<P> {
    /// The runner as a `'static` trait object.
    pub const fn new() -> Runner<P> {
        Runner(PhantomData)
    }
}

impl<P: Protocol> Default for Runner<P> {
    fn default() -> Self {
        Runner::new()
    }
}

impl<P: Protocol> ProtocolRunner for Runner<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn bugs(&self) -> &'static [BugInfo] {
        P::BUGS
    }

    fn marks(&self) -> &'static [&'static str] {
        P::MARKS
    }

    fn validate(&self, scenario: &Scenario, bugs: &[String]) -> Result<(), ScenarioError> {
        Simulation::<P>::new(scenario, &RunOptions { seed: 0, bugs: bugs.to_vec() }).map(|_| ())
    }

    fn run_with(&self, scenario: &Scenario, opts: &RunOptions, extras: RunExtras) -> Result<RunReport, ScenarioError> {
        let mut sim = Simulation::<P>::new(scenario, opts)?;
        if let Some(t) = extras.trace {
            sim = sim.with_trace(t);
        }
        if extras.keep_trace {
            sim = sim.keep_trace();
        }
        if extras.timeline {
            sim = sim.keep_timeline();
        }
        if extras.coverage {
            sim = sim.keep_coverage();
        }
        if let Some(w) = extras.watchdog {
            sim = sim.with_watchdog(w);
        }
        if let Some(f) = extras.export_history {
            sim = sim.export_history(f);
        }
        // A protocol's failed assertion is a finding, not a crash of the tool: report it as a
        // violation so sweeps, repros and shrinking treat it like any other.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.run())) {
            Ok(report) => Ok(report),
            Err(payload) => Ok(panic_report(scenario, P::NAME, opts, payload)),
        }
    }
}

fn panic_report(
    scenario: &Scenario,
    protocol: &str,
    opts: &RunOptions,
    payload: Box<dyn std::any::Any + Send>,
) -> RunReport {
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic with a non-string payload".into());
    // Re-running gives the same events up to the panic; the hash of a panicked run is defined
    // as the hash of its scenario, seed and message, so replay can still compare it.
    let mut h = crate::hash::StableHasher::default();
    std::hash::Hash::hash(&(scenario.name.as_str(), opts.seed, msg.as_str()), &mut h);
    let hash = format!("{:016x}", std::hash::Hasher::finish(&h));
    RunReport::panicked(scenario, protocol, opts, msg, hash)
}

/// Everything needed to reproduce one run exactly.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repro {
    /// The faultline version that wrote it.
    pub faultline_version: String,
    /// The binary that wrote it (`faultline`, or a user's own, e.g. `faultline-raft-rs`): the one
    /// that knows its protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    /// The seed.
    pub seed: Seed,
    /// Planted bugs on.
    #[serde(default)]
    pub bugs: Vec<String>,
    /// The trace hash the run produced.
    pub trace_hash: String,
    /// The first invariant that failed (what a shrink must preserve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invariant: Option<String>,
    /// The run's verdict (`fail` for a failure's repro; absent in repro files of older versions,
    /// which were always failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::check::Verdict>,
    /// Free-form notes (swarm draws, shrink history).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The scenario, inline.
    pub scenario: Scenario,
}

impl Repro {
    /// A repro of a finished run.
    pub fn of(scenario: &Scenario, report: &RunReport) -> Repro {
        let mut scenario = scenario.clone();
        scenario.source = None;
        Repro {
            faultline_version: env!("CARGO_PKG_VERSION").to_string(),
            binary: None,
            seed: Seed(report.seed),
            bugs: report.bugs.clone(),
            trace_hash: report.trace_hash.clone(),
            invariant: report.first_invariant().map(String::from),
            verdict: Some(report.verdict),
            notes: Vec::new(),
            scenario,
        }
    }

    /// The same repro, naming the binary that wrote it.
    pub fn written_by(mut self, binary: &str) -> Repro {
        self.binary = Some(binary.to_string());
        self
    }

    /// As TOML text.
    pub fn to_toml(&self) -> String {
        let bin = self.binary.as_deref().unwrap_or("faultline");
        let mut s = format!(
            "# faultline repro of protocol `{}`: `{bin} replay THIS_FILE` re-runs it exactly.\n",
            self.scenario.protocol
        );
        s += &toml::to_string(self).expect("a repro serializes");
        s
    }

    /// Reads a repro file.
    pub fn load(path: &std::path::Path) -> Result<Repro, ScenarioError> {
        let file = path.display().to_string();
        let text = crate::scenario::read_text(path, "repro")?;
        Repro::from_toml_str(&file, &text)
    }

    /// Parses repro text.
    pub fn from_toml_str(file: &str, text: &str) -> Result<Repro, ScenarioError> {
        let mut r: Repro = toml::from_str(text).map_err(|e| ScenarioError::from_toml(file, text, &e))?;
        r.scenario.source = Some(crate::scenario::SourceText {
            file: file.to_string(),
            text: text.to_string(),
            prefix: "scenario".to_string(),
        });
        r.scenario.validate()?;
        Ok(r)
    }
}
