//! `faultline explain REPRO [-o FILE.html] [--at MS]`: re-runs a repro (or a scenario at its
//! seed) with everything a person needs kept (every event, each node's summary whenever it
//! changes, the client history as the check saw it) and writes one self-contained page
//! ([`faultline_reports::explain`]); `--at MS` also prints each node's state at that true time.

use crate::commands::{load_input, run_with, EXIT_BAD_INPUT};
use crate::registry::Registry;
use crate::{errln, outln};
use faultline_lincheck::export::ExportFormat;
use faultline_lincheck::{explain_section, explain_text, Budget, Format, EXPLAIN_STYLE};
use faultline_reports::explain::{explain_page, states_at, ExplainRun, ShownViolation};
use faultline_sim::runner::RunExtras;
use std::path::{Path, PathBuf};

/// Where the page goes by default: beside a repro (`NAME.html`); for a scenario file, which
/// lives in a source tree, `target/faultline/explain-SCENARIO-SEED.html`.
fn default_output(input: &Path, is_repro: bool, scenario: &str, seed: u64) -> PathBuf {
    if is_repro {
        input.with_extension("html")
    } else {
        PathBuf::from("target/faultline").join(format!("explain-{}-{seed}.html", crate::commands::sanitize(scenario)))
    }
}

/// Runs `scenario` at `seed` with `bugs`, keeping what the page needs, and renders the page;
/// `input` is the file the commands on it name. Returns the page and the run's report.
pub fn page(
    reg: &Registry,
    scenario: &faultline_sim::scenario::Scenario,
    seed: u64,
    bugs: &[String],
    input: &str,
) -> Result<(String, faultline_sim::report::RunReport), String> {
    let extras = RunExtras {
        keep_trace: true,
        timeline: true,
        export_history: Some(ExportFormat::Json),
        ..RunExtras::default()
    };
    let report = run_with(reg, scenario, seed, bugs, extras, false).map_err(|e| e.to_string())?;
    // The history as the end-of-run check saw it, explained where it is not linearizable.
    let mut history = Vec::new();
    for (i, h) in report.history.iter().enumerate() {
        let name = format!("history {}", i + 1);
        match explain_text(h.model, h.init, Format::Json, &name, &h.text, Budget::default()) {
            Ok(Some(e)) => history.push((format!("{name} ({})", h.model), explain_section(&name, &e))),
            Ok(None) => {}
            Err(e) => errln!("warning: the run's history cannot be explained: {e}"),
        }
    }
    let first = report.violations.first();
    let html = explain_page(&ExplainRun {
        scenario: &report.scenario,
        protocol: &report.protocol,
        seed: report.seed,
        bugs: &report.bugs,
        verdict: report.verdict.as_str(),
        unknown: report.unknown_reason.as_deref(),
        trace_hash: &report.trace_hash,
        events: report.events,
        nodes: scenario.nodes.0,
        end_ms: report.sim_time_ms,
        violation: first.map(|v| ShownViolation {
            invariant: &v.invariant,
            at_ns: v.at_ns,
            node: v.node,
            detail: &v.detail,
        }),
        faults: &report.faults,
        timeline: &report.timeline,
        trace: &report.trace,
        history,
        history_style: EXPLAIN_STYLE,
        commands: vec![
            ("replay", reg.command("replay", input)),
            ("shrink", reg.command("shrink", input)),
            ("state at a time", format!("{} --at MS", reg.command("explain", input))),
        ],
    });
    Ok((html, report))
}

/// Runs the command; returns the exit code (0: page written, 2: bad input).
pub fn explain(
    reg: &Registry,
    input: &Path,
    seed: Option<u64>,
    bugs: &[String],
    output: Option<&Path>,
    at_ms: Option<u64>,
) -> u8 {
    let loaded = match load_input(input) {
        Ok(l) => l,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let seed = seed.or(loaded.seed).unwrap_or(loaded.scenario.seed.0);
    let bugs = crate::commands::union(&loaded.bugs, bugs);
    let (page, report) = match page(reg, &loaded.scenario, seed, &bugs, &input.display().to_string()) {
        Ok(p) => p,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let nodes = loaded.scenario.nodes.0;
    if let Some(ms) = at_ms {
        outln!("nodes at {ms} ms (true time):");
        for (n, st) in states_at(&report.timeline, nodes, ms.saturating_mul(1_000_000)) {
            match st {
                Some((t, s)) if s.is_empty() => {
                    outln!("  n{n}: up since {:.3} ms (its protocol gives no summary)", t as f64 / 1e6)
                }
                Some((t, s)) => outln!("  n{n}: {s} (since {:.3} ms)", t as f64 / 1e6),
                None => outln!("  n{n}: not started"),
            }
        }
        let t = ms as f64;
        let in_force: Vec<String> = faultline_reports::availability::fault_spans(&report.faults, report.sim_time_ms)
            .iter()
            .filter(|f| f.start_ms <= t && (t < f.end_ms || f.start_ms == f.end_ms && f.start_ms == t))
            .map(|f| format!("{} (since {:.0} ms)", f.label, f.start_ms))
            .collect();
        outln!("faults in force: {}", if in_force.is_empty() { "none".to_string() } else { in_force.join("; ") });
    }
    let first = report.violations.first();
    let path = output
        .map_or_else(|| default_output(input, loaded.seed.is_some(), &loaded.scenario.name, seed), Path::to_path_buf);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(dir) {
            errln!("error: {}: cannot create: {e}", dir.display());
            return EXIT_BAD_INPUT;
        }
    }
    if let Err(e) = faultline_reports::write_atomic(&path, page.as_bytes()) {
        errln!("error: {}: cannot write: {e}", path.display());
        return EXIT_BAD_INPUT;
    }
    outln!(
        "seed={} verdict={} {}trace_hash={}",
        report.seed,
        report.verdict.as_str(),
        first.map_or(String::new(), |v| format!("first violation {} at {} ms; ", v.invariant, v.at_ms)),
        report.trace_hash
    );
    outln!("explanation written: {}", path.display());
    0
}
