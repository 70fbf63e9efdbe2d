//! `faultline explore`: coverage-guided search over fault schedules.
//!
//! A corpus holds schedules (an explicit fault list and the seed it ran with). Each generation
//! picks [`GENERATION`] parents by energy (schedules that found more new coverage, and were
//! picked less, are picked more), mutates each (add, drop, shift or stretch a fault, change its
//! target, splice two schedules, change the seed), runs the mutants in parallel, and merges them
//! in generation order: a mutant that reached coverage no earlier run did joins the corpus. The
//! first violation stops the search (repro written, exit 1); otherwise it stops at the run
//! budget (exit 0). Coverage is the `sometimes` marks fired, the protocol's abstract states and
//! transitions between them (`Protocol::abstract_state`), and the kinds of message delivered
//! across a fault. Every draw comes from `--seed` and mutants are merged in a fixed order, so
//! the search is the same whatever `--jobs` is.

use crate::commands::{run_with, EXIT_BAD_INPUT};
use crate::registry::Registry;
use crate::sweep::{prepare, write_repro, Prepared};
use crate::{errln, outln};
use faultline_lincheck::export::ExportFormat;
use faultline_sim::check::Verdict;
use faultline_sim::hash::StableHasher;
use faultline_sim::prng::{Prng, Stream};
use faultline_sim::report::RunReport;
use faultline_sim::runner::RunExtras;
use faultline_sim::scenario::{FaultKindSpec, FaultSpec, NodeSel, Probability, Scenario, ShapeSpec};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Mutants run per generation: fixed, so the search does not depend on `--jobs`.
pub const GENERATION: usize = 16;
/// Most schedules kept in the corpus (the oldest finds are dropped first beyond it).
pub const MAX_CORPUS: usize = 4096;
/// Most faults in one schedule.
pub const MAX_FAULTS: usize = 64;

/// `faultline explore`'s arguments.
#[derive(Clone, Debug)]
pub struct Args {
    /// Scenario files or directories.
    pub paths: Vec<PathBuf>,
    /// Planted bugs.
    pub bugs: Vec<String>,
    /// Run budget.
    pub runs: u64,
    /// The search's seed.
    pub seed: u64,
    /// Threads.
    pub jobs: Option<usize>,
    /// Where the repro of a violation goes.
    pub out: PathBuf,
}

/// One schedule of the corpus.
#[derive(Clone, Debug)]
struct Entry {
    scenario: usize,
    seed: u64,
    faults: Vec<FaultSpec>,
    /// New coverage keys it brought.
    found: u64,
    /// Times picked as a parent.
    picks: u64,
}

/// What one run of the search is.
#[derive(Clone, Debug)]
struct Candidate {
    scenario: usize,
    seed: u64,
    /// `None`: the scenario as written (its nemesis draws the schedule).
    faults: Option<Vec<FaultSpec>>,
}

/// How the search ended.
#[derive(Debug)]
pub struct Outcome {
    /// Runs made.
    pub runs: u64,
    /// The first violation: its scenario, seed, invariant and repro file name.
    pub found: Option<(String, u64, String, String)>,
    /// Distinct coverage keys reached.
    pub coverage: usize,
    /// Schedules in the corpus.
    pub corpus: usize,
    /// Declared marks never fired, per scenario.
    pub marks_missing: Vec<(String, Vec<String>)>,
}

fn scenario_of(p: &Prepared, faults: &Option<Vec<FaultSpec>>) -> Scenario {
    let mut s = p.scenario.clone();
    if let Some(f) = faults {
        s.faults = f.clone();
        s.nemesis = None;
    }
    s
}

/// A random target: the scenario's own nemesis target if it names one (a scenario that
/// aims its faults at the leader means the other nodes are not to be hit), else the leader, a
/// random node or a fixed one.
fn random_target(rng: &mut Prng, s: &Scenario) -> NodeSel {
    match s.nemesis.as_ref().map(|n| n.target) {
        Some(NodeSel::Random) | None => match rng.below(3) {
            0 => NodeSel::Leader,
            1 => NodeSel::Random,
            _ => NodeSel::Id(rng.below(u64::from(s.nodes.0.max(1))) as u32),
        },
        Some(t) => t,
    }
}

/// A random fault of a kind the scenario's nemesis may draw (partition, crash, pause, clock
/// jump, loss burst; all of them without a nemesis), undone after a while.
fn random_fault(rng: &mut Prng, s: &Scenario) -> FaultSpec {
    let duration = s.duration_ms.0.max(10);
    let at_ms = rng.below(duration * 9 / 10);
    let for_ms = Some(1 + rng.below((duration / 8).max(2)));
    let weights = s.nemesis.as_ref().map_or([1; 5], |n| n.weights());
    let kinds: Vec<usize> = (0..5).filter(|&k| weights[k] > 0).collect();
    let kind = if kinds.is_empty() { 1 } else { kinds[rng.below(kinds.len() as u64) as usize] };
    let mut f = FaultSpec {
        at_ms,
        kind: FaultKindSpec::Crash,
        node: Some(random_target(rng, s)),
        shape: None,
        from: None,
        to: None,
        groups: None,
        for_ms,
        delta_ms: None,
        drift_ppm: None,
        loss: None,
    };
    match kind {
        0 => {
            f.kind = FaultKindSpec::Partition;
            f.shape = Some(match rng.below(3) {
                0 => ShapeSpec::Isolate,
                1 => ShapeSpec::MajorityMinority,
                _ => ShapeSpec::Halves,
            });
        }
        1 => {}
        2 => f.kind = FaultKindSpec::Pause,
        3 => {
            f.kind = FaultKindSpec::ClockJump;
            f.for_ms = None;
            let jump = s.nemesis.as_ref().map_or((-100, 100), |n| (n.jump_ms.min, n.jump_ms.max));
            f.delta_ms = Some(rng.range_i64(jump.0, jump.1));
        }
        _ => {
            f.kind = FaultKindSpec::Loss;
            f.node = None;
            f.loss = Some(Probability(100_000 + rng.below(400_000) as u32));
        }
    }
    f
}

/// One to three mutations of `parent`'s schedule (or a splice with `other`).
fn mutate(rng: &mut Prng, parent: &Entry, other: &Entry, s: &Scenario) -> Candidate {
    let mut faults = parent.faults.clone();
    let mut seed = parent.seed;
    let duration = s.duration_ms.0.max(10);
    for _ in 0..1 + rng.below(3) {
        match rng.below(9) {
            0 | 1 if faults.len() < MAX_FAULTS => {
                let f = random_fault(rng, s);
                let at = faults.partition_point(|g| g.at_ms <= f.at_ms);
                faults.insert(at, f);
            }
            2 if !faults.is_empty() => {
                faults.remove(rng.below(faults.len() as u64) as usize);
            }
            3 if !faults.is_empty() => {
                let i = rng.below(faults.len() as u64) as usize;
                let shift = rng.below((duration / 10).max(2)) as i64 - (duration / 20) as i64;
                faults[i].at_ms = (faults[i].at_ms as i64 + shift).clamp(0, duration as i64 - 1) as u64;
                faults.sort_by_key(|f| f.at_ms);
            }
            4 if !faults.is_empty() => {
                let i = rng.below(faults.len() as u64) as usize;
                if let Some(d) = faults[i].for_ms {
                    faults[i].for_ms = Some(if rng.below(2) == 0 { (d / 2).max(1) } else { d.saturating_mul(2) });
                }
            }
            5 if !faults.is_empty() => {
                let i = rng.below(faults.len() as u64) as usize;
                if faults[i].node.is_some() {
                    faults[i].node = Some(random_target(rng, s));
                }
            }
            6 if parent.scenario == other.scenario => {
                let cut = rng.below(duration);
                faults.retain(|f| f.at_ms < cut);
                faults.extend(other.faults.iter().filter(|f| f.at_ms >= cut).cloned());
                faults.truncate(MAX_FAULTS);
            }
            7 if faults.len() + 6 <= MAX_FAULTS => {
                // A burst: the same kind of fault again and again at short intervals (a storm of
                // leader crashes, of pauses, of flapping partitions), which single additions
                // reach only slowly.
                let mut f = random_fault(rng, s);
                let gap = 5 + rng.below(40);
                for _ in 0..2 + rng.below(5) {
                    f.for_ms = Some(5 + rng.below(75));
                    let at = faults.partition_point(|g| g.at_ms <= f.at_ms);
                    faults.insert(at, f.clone());
                    f.at_ms = (f.at_ms + gap + f.for_ms.unwrap_or(0) / 2).min(duration - 1);
                }
            }
            _ => seed = rng.next_u64(),
        }
    }
    Candidate { scenario: parent.scenario, seed, faults: Some(faults) }
}

/// Picks a parent: weight `(1 + found) * 8 / (1 + picks)`, at least 1.
fn pick(rng: &mut Prng, corpus: &[Entry]) -> usize {
    let weight = |e: &Entry| ((1 + e.found.min(1000)) * 8 / (1 + e.picks)).max(1);
    let total: u64 = corpus.iter().map(weight).sum();
    let mut r = rng.below(total);
    for (i, e) in corpus.iter().enumerate() {
        let w = weight(e);
        if r < w {
            return i;
        }
        r -= w;
    }
    corpus.len() - 1
}

/// The coverage keys of a run: its own (states, transitions, messages across faults) and the
/// marks it fired.
fn keys(r: &RunReport) -> Vec<u64> {
    let mut k = r.coverage.clone();
    k.extend(r.marks.0.keys().map(|m| StableHasher::digest(&(4u8, m.as_str()))));
    k
}

/// Runs the search.
pub fn execute(reg: &Registry, args: &Args) -> Result<Outcome, String> {
    let (prepared, infos) = prepare(reg, &args.paths, &args.bugs)?;
    if prepared.is_empty() {
        return Err("no scenarios to explore".into());
    }
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(|e| e.to_string())?;
    let mut rng = Prng::new(args.seed, Stream::Search, 0);
    let mut corpus: Vec<Entry> = Vec::new();
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    let mut marks: Vec<BTreeSet<String>> = vec![BTreeSet::new(); prepared.len()];
    let mut runs = 0u64;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: cannot create: {e}", args.out.display()))?;
    while runs < args.runs && !crate::out::interrupted() {
        let n = GENERATION.min((args.runs - runs) as usize);
        // The generation's candidates, drawn in order from the search's own stream.
        let candidates: Vec<Candidate> = (0..n)
            .map(|k| {
                if corpus.len() < prepared.len() * 2 {
                    // Seed the corpus: each scenario as written, its nemesis drawing the faults.
                    Candidate { scenario: (corpus.len() + k) % prepared.len(), seed: rng.next_u64(), faults: None }
                } else {
                    let i = pick(&mut rng, &corpus);
                    corpus[i].picks += 1;
                    let j = pick(&mut rng, &corpus);
                    let s = &prepared[corpus[i].scenario].scenario;
                    mutate(&mut rng, &corpus[i], &corpus[j], s)
                }
            })
            .collect();
        let results: Vec<(Candidate, Option<RunReport>)> = pool.install(|| {
            candidates
                .into_par_iter()
                .map(|c| {
                    let p = &prepared[c.scenario];
                    let scenario = scenario_of(p, &c.faults);
                    let runner = reg.find(&scenario.protocol).ok();
                    let valid =
                        scenario.validate().is_ok() && runner.is_some_and(|r| r.validate(&scenario, &p.bugs).is_ok());
                    if !valid {
                        return (c, None);
                    }
                    let extras = RunExtras { coverage: true, ..RunExtras::default() };
                    let report = run_with(reg, &scenario, c.seed, &p.bugs, extras, false).ok();
                    (c, report)
                })
                .collect()
        });
        for (c, report) in results {
            runs += 1;
            let Some(report) = report else { continue };
            let p = &prepared[c.scenario];
            marks[c.scenario].extend(report.marks.0.keys().cloned());
            if report.verdict == Verdict::Fail {
                // Run it once more with its history kept, for the repro's history file.
                let scenario = scenario_of(p, &c.faults);
                let extras = RunExtras { export_history: Some(ExportFormat::Json), ..RunExtras::default() };
                let report = run_with(reg, &scenario, c.seed, &p.bugs, extras, false).map_err(|e| e.to_string())?;
                let repro = write_repro(reg, &scenario, &report, None, &args.out)?;
                let invariant = report.first_invariant().unwrap_or("").to_string();
                return Ok(Outcome {
                    runs,
                    found: Some((scenario.name.clone(), c.seed, invariant, repro)),
                    coverage: seen.len(),
                    corpus: corpus.len(),
                    marks_missing: Vec::new(),
                });
            }
            let new: Vec<u64> = keys(&report).into_iter().filter(|k| !seen.contains(k)).collect();
            if new.is_empty() && c.faults.is_some() {
                continue;
            }
            seen.extend(new.iter().copied());
            let faults = c.faults.clone().unwrap_or_else(|| report.explicit_faults.clone());
            corpus.push(Entry { scenario: c.scenario, seed: c.seed, faults, found: new.len() as u64, picks: 0 });
            if corpus.len() > MAX_CORPUS {
                corpus.remove(0);
            }
        }
    }
    let marks_missing = infos
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let missing: Vec<String> = info.marks.iter().filter(|m| !marks[i].contains(*m)).cloned().collect();
            (info.name.clone(), missing)
        })
        .collect();
    Ok(Outcome { runs, found: None, coverage: seen.len(), corpus: corpus.len(), marks_missing })
}

/// `faultline explore`: exit 1 with a repro at the first violation, 0 at the run budget, 2 on
/// bad input.
pub fn explore(reg: &Registry, args: Args) -> u8 {
    outln!("explore: {} run budget, search seed {}, {} mutants per generation", args.runs, args.seed, GENERATION);
    let o = match execute(reg, &args) {
        Ok(o) => o,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    match &o.found {
        Some((scenario, seed, invariant, repro)) => {
            let path = args.out.join(repro).display().to_string();
            outln!("FAIL {scenario} seed={seed}: {invariant} after {} runs", o.runs);
            outln!("repro written; replay, shrink and explain it with:");
            outln!("  {}", reg.command("replay", &path));
            outln!("  {}", reg.command("shrink", &path));
            outln!("  {}", reg.command("explain", &path));
            outln!("found after {} runs", o.runs);
            1
        }
        None => {
            outln!("{} runs, no violation; {} coverage keys, {} schedules in the corpus", o.runs, o.coverage, o.corpus);
            for (name, missing) in &o.marks_missing {
                if !missing.is_empty() {
                    outln!("  {name}: marks never fired: {}", missing.join(", "));
                }
            }
            outln!("no violation in {} runs", o.runs);
            0
        }
    }
}
