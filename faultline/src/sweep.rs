//! `faultline sweep`: many scenarios × a seed range, spread over cores, with sharding, swarm
//! testing, fail-fast, resume, and the reports of `faultline-reports`.
//!
//! Each simulation stays single-threaded; a rayon pool of `--jobs` threads runs different
//! (scenario, seed) pairs at once. Finished runs go to the journal (`journal.jsonl`) from the one
//! collecting thread, in whatever order they finish; every report is then written from the
//! journal sorted by (scenario, seed), so the outputs do not depend on `--jobs`.

use crate::commands::{scenario_files, worst, EXIT_BAD_INPUT};
use crate::registry::Registry;
use crate::swarm;
use crate::{errln, outln};
use faultline_lincheck::export::ExportFormat;
use faultline_reports::stats::or_dash;
use faultline_reports::{journal, RunRecord, ScenarioInfo, SweepInfo};
use faultline_sim::check::Verdict;
use faultline_sim::runner::{Repro, RunExtras};
use faultline_sim::scenario::Scenario;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The default seed range: small enough that a sweep over every scenario in `scenarios/`
/// finishes in well under a minute on two cores.
pub const DEFAULT_SEEDS: &str = "0..32";

/// How often a running sweep rewrites `results.csv` with the runs finished so far.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// A half-open seed range `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    /// First seed.
    pub start: u64,
    /// One past the last.
    pub end: u64,
}

/// Parses `A..B` (B excluded), `A..=B` (B included) or a single seed `N`; decimal or 0x hex.
pub fn parse_seeds(s: &str) -> Result<Seeds, String> {
    let p = faultline_sim::scenario::parse_seed;
    let bad = || format!("`{s}` is not a seed range (A..B, A..=B or N; decimal or 0x hex)");
    let r = if let Some((a, b)) = s.split_once("..=") {
        let (a, b) = (p(a)?, p(b)?);
        Seeds { start: a, end: b.checked_add(1).ok_or_else(bad)? }
    } else if let Some((a, b)) = s.split_once("..") {
        Seeds { start: p(a)?, end: p(b)? }
    } else {
        let a = p(s).map_err(|_| bad())?;
        Seeds { start: a, end: a.checked_add(1).ok_or_else(bad)? }
    };
    if r.end <= r.start {
        return Err(format!("`{s}`: empty seed range"));
    }
    Ok(r)
}

/// How a sweep is split across machines (nextest's syntax).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partition {
    /// `count:M/N`: the Mth of every N (scenario, seed) pairs, round-robin over the sweep's list.
    Count {
        /// This shard, 1-based.
        m: u64,
        /// Shards in all.
        n: u64,
    },
    /// `hash:M/N`: the pairs whose stable hash of (scenario name, seed) is M-1 modulo N.
    Hash {
        /// This shard, 1-based.
        m: u64,
        /// Shards in all.
        n: u64,
    },
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Partition::Count { m, n } => write!(f, "count:{m}/{n}"),
            Partition::Hash { m, n } => write!(f, "hash:{m}/{n}"),
        }
    }
}

/// Parses `hash:M/N` or `count:M/N` with 1 ≤ M ≤ N.
pub fn parse_partition(s: &str) -> Result<Partition, String> {
    let bad = || format!("`{s}` is not a partition (hash:M/N or count:M/N, 1 <= M <= N)");
    let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
    let (m, n) = rest.split_once('/').ok_or_else(bad)?;
    let (m, n): (u64, u64) = (m.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if m == 0 || n == 0 || m > n {
        return Err(bad());
    }
    match kind {
        "count" => Ok(Partition::Count { m, n }),
        "hash" => Ok(Partition::Hash { m, n }),
        _ => Err(bad()),
    }
}

impl Partition {
    /// Whether the `position`th pair of the sweep, (scenario, seed), belongs to this shard.
    pub fn contains(&self, position: u64, scenario: &str, seed: u64) -> bool {
        match *self {
            Partition::Count { m, n } => position % n == m - 1,
            Partition::Hash { m, n } => pair_hash(scenario, seed) % n == m - 1,
        }
    }
}

/// A stable hash of (scenario name, seed): xxh3-64 of the name's bytes, a zero byte, and the
/// seed as 8 little-endian bytes. The same on every machine and every version of Rust.
pub fn pair_hash(scenario: &str, seed: u64) -> u64 {
    let mut bytes = Vec::with_capacity(scenario.len() + 9);
    bytes.extend_from_slice(scenario.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(&seed.to_le_bytes());
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// What `faultline sweep` was asked to do.
pub struct Args {
    /// Scenario files or directories.
    pub paths: Vec<PathBuf>,
    /// Seeds.
    pub seeds: Seeds,
    /// Threads (None: one per core).
    pub jobs: Option<usize>,
    /// This shard.
    pub partition: Option<Partition>,
    /// Swarm testing.
    pub swarm: bool,
    /// Planted bugs, each applied to the scenarios whose protocol declares it.
    pub bugs: Vec<String>,
    /// Output directory.
    pub out: PathBuf,
    /// Stop at the first failure.
    pub fail_fast: bool,
    /// Skip runs already in the output directory's journal.
    pub resume: bool,
    /// Run every Nth run twice and fail it as `sim.nondeterminism` if the runs differ.
    pub check_determinism: Option<u64>,
    /// Stop starting new runs once every `sometimes` mark its protocols declare has fired
    /// (moonpool's `UntilAllSometimesReached`); the seed range is then the most it runs.
    pub until_all_marks: bool,
}

/// The declared marks (of every scenario's protocol) that no record fired, in name order.
pub fn marks_never_fired(info: &SweepInfo, records: &[RunRecord]) -> Vec<String> {
    let fired: BTreeSet<&str> = records.iter().flat_map(|r| r.marks.keys().map(String::as_str)).collect();
    let declared: BTreeSet<&str> = info.scenarios.iter().flat_map(|s| s.marks.iter().map(String::as_str)).collect();
    declared.into_iter().filter(|m| !fired.contains(m)).map(str::to_string).collect()
}

/// A loaded, validated scenario of the sweep.
pub(crate) struct Prepared {
    pub(crate) scenario: Scenario,
    pub(crate) bugs: Vec<String>,
}

/// Loads every scenario, checks names are unique and that every bug applies to some scenario.
pub(crate) fn prepare(
    reg: &Registry,
    paths: &[PathBuf],
    bugs: &[String],
) -> Result<(Vec<Prepared>, Vec<ScenarioInfo>), String> {
    let mut files = Vec::new();
    for p in paths {
        files.extend(scenario_files(p)?);
    }
    let mut prepared = Vec::new();
    let mut infos = Vec::new();
    let mut names = BTreeSet::new();
    let mut used = BTreeSet::new();
    for f in files {
        let input = crate::commands::load_input(&f).map_err(|e| e.to_string())?;
        let scenario = input.scenario;
        if !names.insert(scenario.name.clone()) {
            return Err(format!("{}: scenario name `{}` appears twice in the sweep", f.display(), scenario.name));
        }
        let runner = reg.find(&scenario.protocol).map_err(|m| scenario.error_at_key("protocol", m).to_string())?;
        // A bug applies to the scenarios whose protocol declares it.
        let mine: Vec<String> =
            bugs.iter().filter(|b| runner.bugs().iter().any(|x| x.name == b.as_str())).cloned().collect();
        used.extend(mine.iter().cloned());
        // A repro file brings its own planted bugs.
        let mine = crate::commands::union(&input.bugs, &mine);
        runner.validate(&scenario, &mine).map_err(|e| e.to_string())?;
        infos.push(ScenarioInfo {
            name: scenario.name.clone(),
            protocol: scenario.protocol.clone(),
            file: f.display().to_string(),
            marks: runner.marks().iter().map(|m| m.to_string()).collect(),
        });
        prepared.push(Prepared { scenario, bugs: mine });
    }
    if let Some(b) = bugs.iter().find(|b| !used.contains(*b)) {
        let known: Vec<&str> = reg.runners().iter().flat_map(|r| r.bugs().iter().map(|b| b.name)).collect();
        return Err(format!(
            "--bug {b}: no scenario of the sweep runs a protocol that declares it (known bugs: {})",
            known.join(", ")
        ));
    }
    Ok((prepared, infos))
}

/// Writes a failing run's repro (with the swarm draw in its notes) and returns its file name.
pub(crate) fn write_repro(
    reg: &Registry,
    scenario: &Scenario,
    report: &faultline_sim::report::RunReport,
    swarm: Option<&str>,
    out: &Path,
) -> Result<String, String> {
    let name = crate::commands::repro_file_name(&report.scenario, report.seed);
    let mut repro = Repro::of(scenario, report).written_by(reg.binary());
    if let Some(s) = swarm {
        repro.notes.push(format!(
            "swarm testing: the scenario below is the swarm-modified one; options drawn for seed {}: {s}",
            report.seed
        ));
    }
    // The client history goes beside the repro, for check-history and other tools.
    if !report.history.is_empty() {
        let path = out.join(crate::commands::history_file_name(&name));
        let written = crate::commands::write_histories(&report.history, &path)?;
        for (h, p) in report.history.iter().zip(&written) {
            let file = p.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned());
            repro.notes.push(format!("client history: {file} (check-history {} {file})", h.check_args()));
        }
    }
    faultline_reports::write_atomic(&out.join(&name), repro.to_toml().as_bytes())
        .map_err(|e| format!("{}: cannot write repro: {e}", out.join(&name).display()))?;
    Ok(name)
}

/// One run of the sweep: which scenario, which seed, and its position in the whole sweep's
/// order (what `--check-determinism N` and `count:M/N` count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Pair {
    scenario: usize,
    seed: u64,
    position: u64,
}

/// One run of the sweep; `None` when Ctrl-C stopped it half-way (not a result: `--resume`
/// runs it again).
fn run_pair(reg: &Registry, p: &Prepared, pair: Pair, args: &Args) -> Result<Option<RunRecord>, String> {
    let (scenario, draw) = if args.swarm {
        let (s, d) = swarm::draw(&p.scenario, pair.seed);
        (std::borrow::Cow::Owned(s), Some(d))
    } else {
        (std::borrow::Cow::Borrowed(&p.scenario), None)
    };
    let started = Instant::now();
    let twice = args.check_determinism.is_some_and(|n| pair.position.is_multiple_of(n));
    let mut report = if twice {
        crate::determinism::run_twice(reg, &scenario, pair.seed, &p.bugs).map_err(|e| e.to_string())?.0
    } else {
        // With the history written out: kept only for a failing run (beside its repro).
        let extras = RunExtras { export_history: Some(ExportFormat::Json), ..RunExtras::default() };
        crate::commands::run_with(reg, &scenario, pair.seed, &p.bugs, extras, false).map_err(|e| e.to_string())?
    };
    let wall_us = started.elapsed().as_micros() as u64;
    report.wall_ms = wall_us / 1000;
    if report.unknown_reason.as_deref() == Some(crate::out::INTERRUPTED_REASON) {
        return Ok(None);
    }
    let repro = if report.verdict == Verdict::Fail {
        Some(write_repro(reg, &scenario, &report, draw.as_deref(), &args.out)?)
    } else {
        None
    };
    Ok(Some(RunRecord::of(pair.scenario, scenario.duration_ms.0, &report, wall_us, repro, draw)))
}

/// Exit code of a set of records: 1 if any failed, else 3 if any was inconclusive, else 0.
pub fn exit_code(records: &[RunRecord]) -> u8 {
    records.iter().fold(0, |c, r| worst(c, r.row.verdict().exit_code() as u8))
}

/// Prints the failures with their replay commands, one line per scenario, and the final count
/// line (which must come last).
pub fn print_outcome(records: &[RunRecord], out: &Path, info: &SweepInfo) {
    let replay_dir = faultline_reports::display_dir(out);
    for r in records.iter().filter(|r| r.row.verdict() != Verdict::Pass) {
        let row = &r.row;
        if row.verdict() == Verdict::Fail {
            let node = row.node.map_or(String::new(), |n| format!(" node=n{n}"));
            outln!(
                "FAIL {} seed={}: {} at {}ms{node}: {}",
                row.scenario,
                row.seed,
                row.invariant,
                row.at_ms.unwrap_or(0),
                row.detail
            );
        } else {
            outln!("UNKNOWN {} seed={}: {}", row.scenario, row.seed, row.detail);
        }
        if !row.swarm.is_empty() {
            outln!("  swarm: {}", row.swarm);
        }
        if !row.repro.is_empty() {
            outln!("  {}", faultline_reports::replay_command(&info.binary, &replay_dir, &row.repro));
        }
    }
    for st in faultline_reports::stats::per_scenario(info, records) {
        outln!(
            "{}: {} runs, {} failed{}, availability {}, latency p50 {}ms p99 {}ms",
            st.name,
            st.runs,
            st.failed,
            if st.unknown > 0 { format!(", {} inconclusive", st.unknown) } else { String::new() },
            or_dash(st.availability(), 4),
            or_dash(st.latency_ms(0.5), 3),
            or_dash(st.latency_ms(0.99), 3),
        );
    }
    let missing = info.total_runs().saturating_sub(records.len() as u64);
    if missing > 0 && info.partition.is_none() {
        outln!(
            "{missing} of {} runs not done (fail-fast, --until-all-marks or interrupted: `--resume` finishes them)",
            info.total_runs()
        );
    }
    let unknown = records.iter().filter(|r| r.row.verdict() == Verdict::Unknown).count();
    if unknown > 0 {
        outln!("{unknown} inconclusive");
    }
    outln!(
        "reports: {}",
        ["results.csv", "summary.md", "report.html", "junit.xml"].map(|f| out.join(f).display().to_string()).join(" ")
    );
    let passed = records.iter().filter(|r| r.row.verdict() == Verdict::Pass).count();
    let failed = records.iter().filter(|r| r.row.verdict() == Verdict::Fail).count();
    outln!("{passed} passed, {failed} failed");
}

/// Appends `summary.md` to `$GITHUB_STEP_SUMMARY` when it is set.
pub fn append_step_summary(out: &Path) {
    let Some(target) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) else { return };
    let Ok(text) = std::fs::read(out.join("summary.md")) else { return };
    use std::io::Write;
    let r = std::fs::OpenOptions::new().create(true).append(true).open(&target).and_then(|mut f| f.write_all(&text));
    if let Err(e) = r {
        errln!("warning: cannot append to $GITHUB_STEP_SUMMARY ({}): {e}", PathBuf::from(target).display());
    }
}

/// What a sweep did.
pub struct Outcome {
    /// The sweep's description (as `sweep.json` holds it).
    pub info: SweepInfo,
    /// Every run of this shard recorded so far (resumed ones included), in report order.
    pub records: Vec<RunRecord>,
    /// Runs executed by this invocation.
    pub ran: usize,
    /// Wall time of this invocation's runs.
    pub elapsed: std::time::Duration,
    /// Threads used.
    pub jobs: usize,
    /// Events of this invocation's runs.
    pub new_events: u64,
    /// An error that stopped the sweep after it started (the reports hold what finished).
    pub error: Option<String>,
    /// Ctrl-C stopped the sweep (the reports hold what finished; `--resume` runs the rest).
    pub interrupted: bool,
}

/// Runs a sweep and writes its reports; prints nothing but the progress bar (when `progress`
/// and standard error is a terminal). An `Err` is bad input: nothing ran.
pub fn execute(reg: &Registry, args: &Args, progress: bool) -> Result<Outcome, String> {
    let (prepared, infos) = prepare(reg, &args.paths, &args.bugs)?;
    let info = SweepInfo {
        faultline_version: env!("CARGO_PKG_VERSION").to_string(),
        binary: reg.binary().to_string(),
        scenarios: infos,
        seed_start: args.seeds.start,
        seed_end: args.seeds.end,
        bugs: args.bugs.clone(),
        swarm: args.swarm,
        partition: args.partition.map(|p| p.to_string()),
    };
    // The (scenario, seed) pairs of this shard, in sweep order.
    let mut work: Vec<Pair> = Vec::new();
    let mut position = 0u64;
    for (i, p) in prepared.iter().enumerate() {
        for seed in args.seeds.start..args.seeds.end {
            if args.partition.is_none_or(|part| part.contains(position, &p.scenario.name, seed)) {
                work.push(Pair { scenario: i, seed, position });
            }
            position += 1;
        }
    }
    let out = &args.out;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: cannot create output directory: {e}", out.display()))?;
    let info_path = out.join(journal::INFO_FILE);
    let journal_path = journal::path(out);
    let (mut records, keep_bytes) = if args.resume {
        match std::fs::read_to_string(&info_path) {
            Ok(text) => match serde_json::from_str::<SweepInfo>(&text) {
                Ok(old) if old.same_sweep(&info) && old.partition == info.partition => {}
                Ok(_) => {
                    return Err(format!(
                        "--resume: {} holds the results of a different sweep (other scenarios, seeds, bugs, swarm \
                         or partition); use another --out or drop --resume",
                        out.display()
                    ))
                }
                Err(e) => return Err(format!("{}: {e}", info_path.display())),
            },
            Err(_) => errln!("note: --resume: nothing to resume in {}, starting afresh", out.display()),
        }
        journal::read(&journal_path)?
    } else {
        // A new sweep: reports of an earlier one in the same directory must not linger.
        for f in faultline_reports::REPORT_FILES {
            let _ = std::fs::remove_file(out.join(f));
        }
        (Vec::new(), 0)
    };
    let wanted: BTreeSet<(usize, u64)> = work.iter().map(|p| (p.scenario, p.seed)).collect();
    records.retain(|r| {
        wanted.contains(&r.key()) && info.scenarios.get(r.scenario_index).is_some_and(|s| s.name == r.row.scenario)
    });
    let done: BTreeSet<(usize, u64)> = records.iter().map(RunRecord::key).collect();
    let pending: Vec<Pair> = work.iter().copied().filter(|p| !done.contains(&(p.scenario, p.seed))).collect();
    faultline_reports::write_atomic(&info_path, serde_json::to_string_pretty(&info).expect("serializes").as_bytes())
        .map_err(|e| format!("{}: {e}", info_path.display()))?;
    let mut jw =
        journal::Writer::open(&journal_path, keep_bytes).map_err(|e| format!("{}: {e}", journal_path.display()))?;
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    if progress {
        outln!(
            "sweep: {} scenarios × seeds {}{}{} = {} runs{}{} on {jobs} threads",
            prepared.len(),
            info.seeds(),
            if args.swarm { " (swarm)" } else { "" },
            args.partition.map_or(String::new(), |p| format!(", shard {p}")),
            work.len(),
            if done.is_empty() { String::new() } else { format!(" ({} already done, resuming)", done.len()) },
            args.check_determinism.map_or(String::new(), |n| if n == 1 {
                ", each run twice (determinism check)".to_string()
            } else {
                format!(", every {n}th run twice (determinism check)")
            }),
        );
    }

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("sweep-{i}"))
        .build()
        .map_err(|e| format!("cannot start {jobs} threads: {e}"))?;
    let bar = if progress && std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(pending.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} runs {msg} [{elapsed_precise}, eta {eta}]")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let stop = AtomicBool::new(false);
    // For --until-all-marks: what the scenarios declare, and what runs (resumed ones too) fired.
    let declared: BTreeSet<String> = info.scenarios.iter().flat_map(|s| s.marks.iter().cloned()).collect();
    let mut fired: BTreeSet<String> = records.iter().flat_map(|r| r.marks.keys().cloned()).collect();
    if args.until_all_marks && declared.iter().all(|m| fired.contains(m)) {
        stop.store(true, Ordering::Relaxed);
    }
    let started = Instant::now();
    let mut error: Option<String> = None;
    let mut failed_now = 0u64;
    let mut new_events = 0u64;
    let mut ran = 0usize;
    let mut last_flush = Instant::now();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<Result<Option<RunRecord>, String>>();
        let (prepared, pending, stop) = (&prepared, &pending, &stop);
        let pool = &pool;
        scope.spawn(move || {
            pool.install(|| {
                pending.par_iter().with_max_len(1).for_each_with(tx, |tx, &pair| {
                    if stop.load(Ordering::Relaxed) || crate::out::interrupted() {
                        return;
                    }
                    let _ = tx.send(run_pair(reg, &prepared[pair.scenario], pair, args));
                });
            });
        });
        for msg in rx {
            match msg {
                Ok(None) => {}
                Ok(Some(rec)) => {
                    if let Err(e) = jw.append(&rec) {
                        error.get_or_insert(format!("{}: cannot append to journal: {e}", journal_path.display()));
                        stop.store(true, Ordering::Relaxed);
                    }
                    new_events += rec.row.events;
                    ran += 1;
                    if rec.row.verdict() == Verdict::Fail {
                        failed_now += 1;
                        bar.set_message(format!("{failed_now} failed"));
                        if args.fail_fast {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    if args.until_all_marks {
                        fired.extend(rec.marks.keys().cloned());
                        if declared.iter().all(|m| fired.contains(m)) {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    records.push(rec);
                    bar.inc(1);
                    // Keep results.csv current during a long sweep, so an interrupted one leaves
                    // every finished run there too (the journal has them in any case).
                    if last_flush.elapsed() >= FLUSH_EVERY {
                        let mut sorted = records.clone();
                        faultline_reports::sort_records(&mut sorted);
                        let _ = faultline_reports::write_atomic(
                            &out.join("results.csv"),
                            &faultline_reports::results_csv(&sorted),
                        );
                        last_flush = Instant::now();
                    }
                }
                Err(e) => {
                    error.get_or_insert(e);
                    stop.store(true, Ordering::Relaxed);
                }
            }
        }
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    faultline_reports::sort_records(&mut records);
    write_explanations(reg, out, &records);
    let replay_dir = faultline_reports::display_dir(out);
    if let Err(e) = faultline_reports::write_all(out, &info, &replay_dir, &records) {
        error.get_or_insert(format!("{}: cannot write reports: {e}", out.display()));
    }
    let interrupted = crate::out::interrupted();
    Ok(Outcome { info, records, ran, elapsed, jobs, new_events, error, interrupted })
}

/// The failures that get an explanation page: the first [`faultline_reports::html::MAX_DIAGRAMS`]
/// of each scenario with a repro, in the records' order.
fn explained_failures(records: &[RunRecord]) -> Vec<&RunRecord> {
    let mut per_scenario = std::collections::BTreeMap::<usize, usize>::new();
    let mut chosen = Vec::new();
    for r in records.iter().filter(|r| r.row.verdict() == Verdict::Fail && !r.row.repro.is_empty()) {
        let n = per_scenario.entry(r.scenario_index).or_default();
        if *n < faultline_reports::html::MAX_DIAGRAMS {
            *n += 1;
            chosen.push(r);
        }
    }
    chosen
}

/// Explanation pages for the first failures of each scenario (as many as report.html draws
/// space-time diagrams for), written beside their repros: one more run each, so a sweep full
/// of failures does not write thousands of pages; `explain` makes any other one.
pub(crate) fn write_explanations(reg: &Registry, out: &Path, records: &[RunRecord]) {
    for r in explained_failures(records) {
        let repro = out.join(&r.row.repro);
        let page = out.join(faultline_reports::explain_file_name(&r.row.repro));
        if page.is_file() {
            continue; // a resumed sweep wrote it already: the run is the same
        }
        let result = crate::commands::load_input(&repro).map_err(|e| e.to_string()).and_then(|input| {
            let seed = input.seed.unwrap_or(input.scenario.seed.0);
            crate::explain::page(reg, &input.scenario, seed, &input.bugs, &repro.display().to_string())
        });
        match result {
            Ok((html, _)) => {
                if let Err(e) = faultline_reports::write_atomic(&page, html.as_bytes()) {
                    errln!("warning: {}: cannot write: {e}", page.display());
                }
            }
            Err(e) => errln!("warning: {}: cannot explain: {e}", repro.display()),
        }
    }
}

/// `faultline sweep`.
pub fn sweep(reg: &Registry, args: Args) -> u8 {
    let o = match execute(reg, &args, true) {
        Ok(o) => o,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    append_step_summary(&args.out);
    if let Some(e) = &o.error {
        errln!("error: {e}");
        return EXIT_BAD_INPUT;
    }
    let secs = o.elapsed.as_secs_f64();
    outln!(
        "ran {} runs in {:.2}s wall on {} threads ({:.0} runs/s, {:.0} events/s)",
        o.ran,
        secs,
        o.jobs,
        o.ran as f64 / secs.max(1e-9),
        o.new_events as f64 / secs.max(1e-9)
    );
    let mut code = exit_code(&o.records);
    if args.until_all_marks {
        let missing = marks_never_fired(&o.info, &o.records);
        if missing.is_empty() {
            outln!("every declared sometimes mark fired, after {} runs", o.records.len());
        } else {
            outln!("sometimes marks that never fired in {} runs: {}", o.records.len(), missing.join(", "));
            // Not a violation, but the sweep did not show what it was asked to: inconclusive.
            code = worst(code, 3);
        }
    }
    print_outcome(&o.records, &args.out, &o.info);
    if o.interrupted {
        errln!(
            "interrupted: the reports hold the {} runs that finished; run the rest with:\n  {}",
            o.records.len(),
            resume_command(reg)
        );
        return worst(code, 3);
    }
    code
}

/// This invocation's command line with `--resume` (added if missing).
fn resume_command(reg: &Registry) -> String {
    let mut parts = vec![reg.binary().to_string()];
    let args: Vec<String> = std::env::args().skip(1).collect();
    parts.extend(args.iter().map(|a| faultline_reports::shell_quote(a)));
    if !args.iter().any(|a| a == "--resume") {
        parts.push("--resume".into());
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges() {
        assert_eq!(parse_seeds("0..10").unwrap(), Seeds { start: 0, end: 10 });
        assert_eq!(parse_seeds("5..=7").unwrap(), Seeds { start: 5, end: 8 });
        assert_eq!(parse_seeds("0x10..0x20").unwrap(), Seeds { start: 16, end: 32 });
        assert_eq!(parse_seeds("42").unwrap(), Seeds { start: 42, end: 43 });
        assert!(parse_seeds("5..5").is_err());
        assert!(parse_seeds("a..b").is_err());
        assert!(parse_seeds("18446744073709551615..=18446744073709551615").is_err());
    }

    #[test]
    fn partitions_split_every_pair_exactly_once() {
        assert!(parse_partition("hash:0/2").is_err());
        assert!(parse_partition("hash:3/2").is_err());
        assert!(parse_partition("slice:1/2").is_err());
        assert_eq!(parse_partition("count:2/3").unwrap().to_string(), "count:2/3");
        for kind in ["count", "hash"] {
            let shards: Vec<Partition> = (1..=3).map(|m| parse_partition(&format!("{kind}:{m}/3")).unwrap()).collect();
            let mut sizes = [0u32; 3];
            for pos in 0..300u64 {
                let (name, seed) = (if pos < 150 { "a" } else { "b" }, pos % 150);
                let owners: Vec<usize> = (0..3).filter(|&k| shards[k].contains(pos, name, seed)).collect();
                assert_eq!(owners.len(), 1, "{kind}: pair {pos} owned by {owners:?}");
                sizes[owners[0]] += 1;
            }
            assert!(sizes.iter().all(|&s| s >= 70), "{kind}: unbalanced {sizes:?}");
        }
        // Stable across versions and machines, so shards on different machines agree: pinned
        // (the values agree with the reference xxh3 in python-xxhash).
        assert_eq!(format!("{:016x}", pair_hash("register-crash", 7)), "7fc1bf3c079dd1b8");
        assert_eq!(format!("{:016x}", pair_hash("raft-steady", 0)), "bff0feb83009a338");
    }
}
