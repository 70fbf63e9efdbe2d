//! The subcommands.

use crate::cli::Format;
use crate::registry::Registry;
use faultline_sim::check::Verdict;
use faultline_sim::report::RunReport;
use faultline_sim::runner::Repro;
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

/// Runs one scenario with one seed: loads nothing, prints nothing.
pub fn run_one(
    reg: &Registry,
    scenario: &Scenario,
    seed: u64,
    bugs: &[String],
    trace: Option<Box<dyn Write>>,
) -> Result<RunReport, ScenarioError> {
    let runner = reg.find(&scenario.protocol).map_err(|m| scenario.error_at_key("protocol", m))?;
    let started = Instant::now();
    let mut report = runner.run(scenario, &RunOptions { seed, bugs: bugs.to_vec() }, trace)?;
    report.wall_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Writes a repro for a failing run and returns its path.
pub fn write_repro(reg: &Registry, scenario: &Scenario, report: &RunReport, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create directory: {e}", dir.display()))?;
    let path = dir.join(format!("repro-{}-{}.toml", sanitize(&report.scenario), report.seed));
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, Repro::of(scenario, report).written_by(reg.binary()).to_toml())
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("{}: cannot write repro: {e}", path.display()))?;
    Ok(path)
}

/// A file-name-safe version of a scenario name.
pub fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

fn print_report(report: &RunReport, format: Format) {
    match format {
        Format::Text => print!("{}", report.to_text()),
        Format::Json => println!("{}", serde_json::to_string(report).expect("a report serializes")),
    }
}

/// `faultline run`.
pub fn run(
    reg: &Registry,
    path: &Path,
    seed: Option<u64>,
    bugs: &[String],
    trace: Option<&Path>,
    format: Format,
    out: &Path,
) -> u8 {
    let files = match scenario_files(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if trace.is_some() && files.len() > 1 {
        eprintln!("error: --trace needs a single scenario file, not a directory");
        return EXIT_BAD_INPUT;
    }
    let mut code = 0;
    for file in files {
        let scenario = match Scenario::load(&file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                code = worst(code, EXIT_BAD_INPUT);
                continue;
            }
        };
        let trace = match open_trace(trace) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        };
        let seed = seed.unwrap_or(scenario.seed.0);
        let report = match run_one(reg, &scenario, seed, bugs, trace) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                code = worst(code, EXIT_BAD_INPUT);
                continue;
            }
        };
        print_report(&report, format);
        if report.verdict == Verdict::Fail {
            match write_repro(reg, &scenario, &report, out) {
                Ok(p) => {
                    eprintln!("repro written; replay it with:\n  {}", reg.command("replay", &p.display().to_string()))
                }
                Err(e) => eprintln!("warning: {e}"),
            }
        }
        code = worst(code, report.verdict.exit_code() as u8);
    }
    code
}

/// `faultline replay`.
pub fn replay(reg: &Registry, path: &Path, trace: Option<&Path>, format: Format) -> u8 {
    let repro = match Repro::load(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if repro.faultline_version != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "warning: repro written by faultline {}, replaying with {}: the trace may differ",
            repro.faultline_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    let trace = match open_trace(trace) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let report = match run_one(reg, &repro.scenario, repro.seed.0, &repro.bugs, trace) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return EXIT_BAD_INPUT;
        }
    };
    print_report(&report, format);
    if report.trace_hash != repro.trace_hash {
        eprintln!(
            "NOT REPRODUCED: trace hash {} differs from the recorded {} (same binary, scenario, seed and bugs must agree)",
            report.trace_hash, repro.trace_hash
        );
        return 1;
    }
    eprintln!("reproduced: trace hash {} matches", report.trace_hash);
    report.verdict.exit_code() as u8
}

/// `faultline bugs`.
pub fn bugs(reg: &Registry, protocol: Option<&str>, format: Format) -> u8 {
    let runners = reg.runners();
    if let Some(p) = protocol {
        if let Err(e) = reg.find(p) {
            eprintln!("error: {e}");
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
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows).expect("serializes")),
        Format::Text => {
            for b in &rows {
                println!("{}", b["name"].as_str().unwrap_or_default());
                println!("    protocol:  {}", b["protocol"].as_str().unwrap_or_default());
                println!("    breaks:    {}", b["breaks"].as_str().unwrap_or_default());
                println!("    caught by: {}", b["caught_by"].as_str().unwrap_or_default());
                let sc: Vec<&str> =
                    b["scenarios"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
                println!("    scenarios: {}", sc.join(", "));
            }
            println!("{} planted bugs", rows.len());
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
    max_states: u64,
    timeout_ms: u64,
    files: Vec<PathBuf>,
) -> u8 {
    use faultline_lincheck::{Budget, CheckHistoryOptions, Format as HistoryFormat};
    if !faultline_lincheck::models().contains(&model.as_str()) {
        eprintln!("error: unknown model `{model}` (known: {})", faultline_lincheck::models().join(", "));
        return EXIT_BAD_INPUT;
    }
    let format = match format.as_deref().map(str::parse::<HistoryFormat>) {
        None => HistoryFormat::Auto,
        Some(Ok(f)) => f,
        Some(Err(e)) => {
            eprintln!("error: --format: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let opts = CheckHistoryOptions {
        model,
        format,
        init,
        explain,
        budget: Budget { max_states, max_wall_ms: Some(timeout_ms) },
        files,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match faultline_lincheck::check_history_files(&opts, &mut out) {
        Ok(outcome) => outcome.exit_code() as u8,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}
