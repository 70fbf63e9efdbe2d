//! The subcommands.

use crate::cli::Format;
use crate::out;
use crate::registry::Registry;
use crate::{errln, outln};
use faultline_lincheck::export::{ExportFormat, ExportedHistory};
use faultline_sim::check::Verdict;
use faultline_sim::report::RunReport;
use faultline_sim::runner::{Repro, RunExtras};
use faultline_sim::scenario::{Scenario, ScenarioError};
use faultline_sim::world::RunOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Exit code for bad input or usage.
pub const EXIT_BAD_INPUT: u8 = 2;

/// Combines exit codes: a violation outranks inconclusive, which outranks a pass.
pub fn worst(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        2 => 3,
        1 => 2,
        3 => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// The scenario files named by a path: the file itself, or every `*.toml` in a directory,
/// sorted by name.
pub fn scenario_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: cannot read directory: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!("{}: no *.toml scenario files in this directory", path.display()));
        }
        Ok(files)
    } else if path.exists() {
        Ok(vec![path.to_path_buf()])
    } else {
        Err(format!("{}: no such file or directory", path.display()))
    }
}

fn open_trace(path: Option<&Path>) -> Result<Option<Box<dyn Write>>, String> {
    match path {
        None => Ok(None),
        Some(p) => {
            let f = std::fs::File::create(p).map_err(|e| format!("{}: cannot create trace file: {e}", p.display()))?;
            Ok(Some(Box::new(std::io::BufWriter::new(f))))
        }
    }
}

/// What a file given to `run` or `sweep` holds: a scenario, or a repro file (its inline
/// scenario, with the seed and planted bugs it pins).
#[derive(Clone, Debug)]
pub struct Input {
    /// The scenario.
    pub scenario: Scenario,
    /// The repro's seed (a scenario file's own seed is `scenario.seed`).
    pub seed: Option<u64>,
    /// The repro's planted bugs.
    pub bugs: Vec<String>,
}

/// Loads a scenario or a repro file (told apart by the repro's `[scenario]` table).
pub fn load_input(path: &Path) -> Result<Input, ScenarioError> {
    let text = faultline_sim::scenario::read_text(path, "scenario")?;
    let file = path.display().to_string();
    let is_repro = text.lines().any(|l| l.trim() == "[scenario]") && text.contains("trace_hash");
    if is_repro {
        let r = Repro::from_toml_str(&file, &text)?;
        Ok(Input { scenario: r.scenario, seed: Some(r.seed.0), bugs: r.bugs })
    } else {
        Ok(Input { scenario: Scenario::from_toml_str(&file, &text)?, seed: None, bugs: Vec::new() })
    }
}

/// `a` then the names of `b` not in `a`.
pub fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut v = a.to_vec();
    v.extend(b.iter().filter(|x| !a.contains(x)).cloned());
    v
}

/// Runs one scenario with one seed under the command line's budget (the scenario's
/// `limits.wall_ms`, Ctrl-C): loads nothing, prints nothing but an optional progress line.
pub fn run_one(
    reg: &Registry,
    scenario: &Scenario,
    seed: u64,
    bugs: &[String],
    trace: Option<Box<dyn Write>>,
) -> Result<RunReport, ScenarioError> {
    run_with(reg, scenario, seed, bugs, RunExtras { trace, ..RunExtras::default() }, false)
}

/// [`run_one`] with everything [`RunExtras`] offers, and a progress line when `progress`.
pub fn run_with(
    reg: &Registry,
    scenario: &Scenario,
    seed: u64,
    bugs: &[String],
    mut extras: RunExtras,
    progress: bool,
) -> Result<RunReport, ScenarioError> {
    let runner = reg.find(&scenario.protocol).map_err(|m| scenario.error_at_key("protocol", m))?;
    if extras.watchdog.is_none() {
        extras.watchdog = Some(out::watchdog(scenario.limits.wall_ms, progress));
    }
    let started = Instant::now();
    let mut report = runner.run_with(scenario, &RunOptions { seed, bugs: bugs.to_vec() }, extras)?;
    report.wall_ms = started.elapsed().as_millis() as u64;
    if progress && report.wall_ms >= 1_000 {
        // Clear the progress line.
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    Ok(report)
}

/// The file name of a failure's repro: `repro-<scenario>-<seed>.toml`, with a long scenario
/// name cut to a prefix and a hash of the whole name (file names have a length limit).
pub fn repro_file_name(scenario: &str, seed: u64) -> String {
    const KEEP: usize = 64;
    let clean = sanitize(scenario);
    let name = if clean.len() > KEEP {
        format!("{}-{:08x}", &clean[..KEEP], xxhash_rust::xxh3::xxh3_64(scenario.as_bytes()) as u32)
    } else {
        clean
    };
    format!("repro-{name}-{seed}.toml")
}

/// The file name of the client history written beside repro `repro_name`
/// (`repro-X-7.toml` → `history-X-7.jsonl`).
pub fn history_file_name(repro_name: &str) -> String {
    let core = repro_name.strip_prefix("repro-").unwrap_or(repro_name);
    format!("history-{}.jsonl", core.strip_suffix(".toml").unwrap_or(core))
}

/// Writes a repro for a failing run and returns its path.
pub fn write_repro(reg: &Registry, scenario: &Scenario, report: &RunReport, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create directory: {e}", dir.display()))?;
    let path = dir.join(repro_file_name(&report.scenario, report.seed));
    faultline_reports::write_atomic(&path, Repro::of(scenario, report).written_by(reg.binary()).to_toml().as_bytes())
        .map_err(|e| format!("{}: cannot write repro: {e}", path.display()))?;
    Ok(path)
}

/// A file-name-safe version of a scenario name.
pub fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

fn print_report(report: &RunReport, format: Format, replay: Option<&ReplayOutcome>) {
    match format {
        Format::Text => out::text(&report.to_text()),
        Format::Json => {
            let mut v = serde_json::to_value(report).expect("a report serializes");
            if let (Some(r), Some(obj)) = (replay, v.as_object_mut()) {
                obj.insert("replay".into(), r.to_json());
            }
            outln!("{}", serde_json::to_string(&v).expect("a report serializes"));
        }
    }
}

/// Where `run` writes what it writes besides its report.
pub struct RunOutputs<'a> {
    /// The `--trace` file.
    pub trace: Option<&'a Path>,
    /// The `--history` file and format.
    pub history: Option<(&'a Path, ExportFormat)>,
    /// Where repro files go.
    pub out_dir: &'a Path,
}

/// Writes a run's exported histories: the first to `path`, any others beside it as
/// `<stem>-2.<ext>`, `<stem>-3.<ext>`, ...; returns the paths written.
pub fn write_histories(histories: &[ExportedHistory], path: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::with_capacity(histories.len());
    for (k, h) in histories.iter().enumerate() {
        let p = if k == 0 {
            path.to_path_buf()
        } else {
            let stem = path.file_stem().map_or_else(|| "history".into(), |s| s.to_string_lossy().into_owned());
            let ext = path.extension().map_or(String::new(), |e| format!(".{}", e.to_string_lossy()));
            path.with_file_name(format!("{stem}-{}{ext}", k + 1))
        };
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create directory: {e}", dir.display()))?;
        }
        faultline_reports::write_atomic(&p, h.text.as_bytes())
            .map_err(|e| format!("{}: cannot write history: {e}", p.display()))?;
        written.push(p);
    }
    Ok(written)
}

/// The `check-history` command that reads an exported history back.
pub fn check_history_command(reg: &Registry, h: &ExportedHistory, path: &Path) -> String {
    format!(
        "{} check-history {} {}",
        reg.binary(),
        h.check_args(),
        faultline_reports::shell_quote(&path.display().to_string())
    )
}

/// `faultline run`: a scenario file, a directory of them, or a repro file (its scenario, seed
/// and bugs; `--seed` and `--bug` still apply on top).
pub fn run(
    reg: &Registry,
    path: &Path,
    seed: Option<u64>,
    bugs: &[String],
    format: Format,
    outputs: &RunOutputs,
) -> u8 {
    let RunOutputs { trace, history, out_dir } = *outputs;
    let files = match scenario_files(path) {
        Ok(f) => f,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if trace.is_some() && files.len() > 1 {
        errln!("error: --trace needs a single scenario file, not a directory");
        return EXIT_BAD_INPUT;
    }
    if history.is_some() && files.len() > 1 {
        errln!("error: --history needs a single scenario file, not a directory");
        return EXIT_BAD_INPUT;
    }
    let progress = files.len() == 1 && out::progress_wanted();
    let mut code = 0;
    for file in files {
        let input = match load_input(&file) {
            Ok(s) => s,
            Err(e) => {
                errln!("error: {e}");
                code = worst(code, EXIT_BAD_INPUT);
                continue;
            }
        };
        let trace = match open_trace(trace) {
            Ok(t) => t,
            Err(e) => {
                errln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        };
        let scenario = &input.scenario;
        let seed = seed.or(input.seed).unwrap_or(scenario.seed.0);
        let bugs = union(&input.bugs, bugs);
        let extras = RunExtras { trace, export_history: history.map(|(_, f)| f), ..RunExtras::default() };
        let report = match run_with(reg, scenario, seed, &bugs, extras, progress) {
            Ok(r) => r,
            Err(e) => {
                errln!("error: {e}");
                code = worst(code, EXIT_BAD_INPUT);
                continue;
            }
        };
        print_report(&report, format, None);
        if let Some((path, _)) = history {
            if report.history.is_empty() {
                errln!("warning: --history: this run checked no history a shipped model can write (none written)");
            }
            match write_histories(&report.history, path) {
                Ok(paths) => {
                    for (h, p) in report.history.iter().zip(&paths) {
                        errln!("history written; check it with:\n  {}", check_history_command(reg, h, p));
                    }
                }
                Err(e) => {
                    errln!("error: {e}");
                    code = worst(code, EXIT_BAD_INPUT);
                }
            }
        }
        if report.verdict == Verdict::Fail {
            match write_repro(reg, scenario, &report, out_dir) {
                Ok(p) => {
                    errln!("repro written; replay it with:\n  {}", reg.command("replay", &p.display().to_string()))
                }
                Err(e) => errln!("warning: {e}"),
            }
        }
        if out::interrupted() {
            errln!("interrupted");
            return worst(code, 3);
        }
        code = worst(code, report.verdict.exit_code() as u8);
    }
    code
}

/// `replay`'s exit code when the run no longer matches its recording and does not pass.
pub const EXIT_DIVERGED: u8 = 4;

/// How a replay compares with its recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayOutcome {
    /// `reproduced`, `passes-now` or `diverged`.
    pub status: &'static str,
    /// What differs from the recording (empty when reproduced).
    pub differences: Vec<String>,
    /// The exit code.
    pub code: u8,
}

impl ReplayOutcome {
    /// Compares a replayed run with its repro file: same trace hash, verdict and first
    /// violation is `reproduced` (exit: the verdict's code, 1 for a failure); otherwise a run
    /// that passes is `passes-now` (exit 0) and any other is `diverged` (exit 4).
    pub fn of(repro: &Repro, report: &RunReport) -> ReplayOutcome {
        let recorded_verdict =
            repro.verdict.unwrap_or(if repro.invariant.is_some() { Verdict::Fail } else { Verdict::Pass });
        let mut differences = Vec::new();
        if report.trace_hash != repro.trace_hash {
            differences.push(format!("trace hash {} (recorded {})", report.trace_hash, repro.trace_hash));
        }
        if report.verdict != recorded_verdict {
            differences.push(format!("verdict {} (recorded {})", report.verdict.as_str(), recorded_verdict.as_str()));
        }
        let first = report.first_invariant();
        if first != repro.invariant.as_deref() {
            differences.push(format!(
                "first violation {} (recorded {})",
                first.unwrap_or("none"),
                repro.invariant.as_deref().unwrap_or("none")
            ));
        }
        if differences.is_empty() {
            ReplayOutcome { status: "reproduced", differences, code: report.verdict.exit_code() as u8 }
        } else if report.verdict == Verdict::Pass {
            ReplayOutcome { status: "passes-now", differences, code: 0 }
        } else {
            ReplayOutcome { status: "diverged", differences, code: EXIT_DIVERGED }
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "status": self.status, "differences": self.differences })
    }
}

/// `faultline replay`.
pub fn replay(reg: &Registry, path: &Path, trace: Option<&Path>, format: Format) -> u8 {
    let repro = match Repro::load(path) {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if repro.faultline_version != env!("CARGO_PKG_VERSION") {
        errln!(
            "warning: repro written by faultline {}, replaying with {}: the trace may differ",
            repro.faultline_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    let trace = match open_trace(trace) {
        Ok(t) => t,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let extras = RunExtras { trace, ..RunExtras::default() };
    let report = match run_with(reg, &repro.scenario, repro.seed.0, &repro.bugs, extras, out::progress_wanted()) {
        Ok(r) => r,
        Err(e) => {
            let hint = match &repro.binary {
                Some(b) if b != reg.binary() => format!(" (the repro was written by `{b}`)"),
                _ => String::new(),
            };
            errln!("error: {e}{hint}");
            return EXIT_BAD_INPUT;
        }
    };
    let outcome = ReplayOutcome::of(&repro, &report);
    print_report(&report, format, Some(&outcome));
    if outcome.status == "reproduced" {
        errln!(
            "reproduced: trace hash {}, verdict {}{}",
            report.trace_hash,
            report.verdict.as_str(),
            report.first_invariant().map_or(String::new(), |i| format!(", first violation {i}"))
        );
    } else {
        errln!("NOT reproduced ({}): {}", outcome.status, outcome.differences.join("; "));
    }
    outcome.code
}

/// `faultline bugs`.
pub fn bugs(reg: &Registry, protocol: Option<&str>, format: Format) -> u8 {
    let runners = reg.runners();
    if let Some(p) = protocol {
        if let Err(e) = reg.find(p) {
            errln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    }
    let rows: Vec<serde_json::Value> = runners
        .iter()
        .filter(|r| protocol.is_none_or(|p| p == r.name()))
        .flat_map(|r| {
            r.bugs().iter().map(move |b| {
                serde_json::json!({
                    "name": b.name,
                    "protocol": r.name(),
                    "breaks": b.breaks,
                    "caught_by": b.caught_by,
                    "scenarios": b.scenarios,
                })
            })
        })
        .collect();
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&rows).expect("serializes")),
        Format::Text => {
            for b in &rows {
                outln!("{}", b["name"].as_str().unwrap_or_default());
                outln!("    protocol:  {}", b["protocol"].as_str().unwrap_or_default());
                outln!("    breaks:    {}", b["breaks"].as_str().unwrap_or_default());
                outln!("    caught by: {}", b["caught_by"].as_str().unwrap_or_default());
                let sc: Vec<&str> =
                    b["scenarios"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
                outln!("    scenarios: {}", sc.join(", "));
            }
            outln!("{} planted bugs", rows.len());
        }
    }
    0
}

/// `faultline check-history`.
pub fn check_history(
    model: String,
    format: Option<String>,
    init: Option<String>,
    explain: Option<PathBuf>,
    budget: faultline_lincheck::Budget,
    files: Vec<PathBuf>,
) -> u8 {
    use faultline_lincheck::{CheckHistoryOptions, Format as HistoryFormat};
    if !faultline_lincheck::models().contains(&model.as_str()) {
        errln!("error: unknown model `{model}` (known: {})", faultline_lincheck::models().join(", "));
        return EXIT_BAD_INPUT;
    }
    let format = match format.as_deref().map(str::parse::<HistoryFormat>) {
        None => HistoryFormat::Auto,
        Some(Ok(f)) => f,
        Some(Err(e)) => {
            errln!("error: --format: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let opts = CheckHistoryOptions { model, format, init, explain, budget, files };
    let mut out = out::QuietStdout;
    match faultline_lincheck::check_history_files(&opts, &mut out) {
        Ok(outcome) => outcome.exit_code() as u8,
        Err(e) => {
            errln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}
