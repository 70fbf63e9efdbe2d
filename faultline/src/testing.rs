//! Sweeps from `cargo test`, as madsim and turmoil users expect.
//!
//! ```no_run
//! # type MyRaft = faultline_sim::example::Register;
//! #[test]
//! fn scenarios_pass() {
//!     // Every scenario in the crate's scenarios/ × seeds 0..200, on every core. On a failure it
//!     // panics with the scenario, seed, violation, the repro file and the exact replay and
//!     // shrink commands.
//!     faultline::testing::sweep::<MyRaft>("scenarios/", 0..200);
//! }
//! ```
//!
//! More control through [`Sweep`]: planted bugs, swarm testing, the determinism check, several
//! protocols, and a [`Report`] to inspect instead of a panic.
//!
//! Environment overrides, for nightly jobs that want more than the quick default:
//! - `FAULTLINE_SEEDS=N` runs N seeds from the range's start (`FAULTLINE_SEEDS=A..B` a range);
//! - `FAULTLINE_CHECK_DETERMINISM=N` runs every Nth run twice and fails it as
//!   `sim.nondeterminism` if the two runs differ (`1`: every run);
//! - `FAULTLINE_JOBS=N` sets the threads.
//!
//! Outputs (the sweep's reports and a repro file per failure) go to
//! `<target dir>/faultline/test/<name>/`, never into the source tree.

use crate::registry::Registry;
use crate::sweep::{self, Seeds};
use faultline_sim::check::Verdict;
use faultline_sim::protocol::Protocol;
use faultline_sim::runner::{ProtocolRunner, Runner};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Sweeps `scenarios` (a file or a directory of `*.toml`) over `seeds` with protocol `P`, and
/// panics with every failure's scenario, seed, violation, repro and replay and shrink commands
/// if any run fails or is inconclusive.
pub fn sweep<P: Protocol>(scenarios: impl AsRef<Path>, seeds: Range<u64>) {
    Sweep::new(scenarios).seeds(seeds).assert_pass::<P>();
}

/// A sweep to run from a test: what [`sweep`] does, with knobs.
#[derive(Clone, Debug)]
pub struct Sweep {
    paths: Vec<PathBuf>,
    seeds: Range<u64>,
    bugs: Vec<String>,
    swarm: bool,
    jobs: Option<usize>,
    check_determinism: Option<u64>,
    out: Option<PathBuf>,
    binary: Option<String>,
}

impl Sweep {
    /// A sweep of `scenarios` (a file or a directory of `*.toml`) over seeds `0..32`.
    pub fn new(scenarios: impl AsRef<Path>) -> Sweep {
        Sweep {
            paths: vec![scenarios.as_ref().to_path_buf()],
            seeds: 0..32,
            bugs: Vec::new(),
            swarm: false,
            jobs: None,
            check_determinism: None,
            out: None,
            binary: None,
        }
    }

    /// Adds another scenario file or directory.
    pub fn scenario(mut self, path: impl AsRef<Path>) -> Sweep {
        self.paths.push(path.as_ref().to_path_buf());
        self
    }

    /// The seeds (`FAULTLINE_SEEDS` overrides them).
    pub fn seeds(mut self, seeds: Range<u64>) -> Sweep {
        self.seeds = seeds;
        self
    }

    /// Switches on a planted bug in the scenarios whose protocol declares it.
    pub fn bug(mut self, name: &str) -> Sweep {
        self.bugs.push(name.to_string());
        self
    }

    /// Swarm testing: each seed also draws which fault kinds are on and how often.
    pub fn swarm(mut self) -> Sweep {
        self.swarm = true;
        self
    }

    /// Threads (default: `FAULTLINE_JOBS`, else one per core).
    pub fn jobs(mut self, jobs: usize) -> Sweep {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// Runs every `every`th run twice and fails it as `sim.nondeterminism`, naming the first
    /// differing event, if the runs differ.
    pub fn check_determinism(mut self, every: u64) -> Sweep {
        self.check_determinism = Some(every.max(1));
        self
    }

    /// Where the reports and repro files go (default `<target dir>/faultline/test/<name>`).
    pub fn out(mut self, dir: impl AsRef<Path>) -> Sweep {
        self.out = Some(dir.as_ref().to_path_buf());
        self
    }

    /// How the printed replay and shrink commands start (default:
    /// `cargo run --release -p <this package> --`).
    pub fn binary(mut self, command: impl Into<String>) -> Sweep {
        self.binary = Some(command.into());
        self
    }

    /// Runs the sweep with protocol `P` and returns what happened.
    ///
    /// # Panics
    /// On bad input (a scenario that does not load, an unknown bug): a test cannot go on.
    pub fn run<P: Protocol>(self) -> Report {
        self.run_with(&[&Runner::<P>::new()])
    }

    /// Runs the sweep and panics with every failure if any run failed or was inconclusive.
    pub fn assert_pass<P: Protocol>(self) {
        self.run::<P>().assert_pass();
    }

    /// Runs the sweep over several protocols (each scenario picks its own by name).
    ///
    /// # Panics
    /// On bad input, as [`Sweep::run`].
    pub fn run_with(self, runners: &[&dyn ProtocolRunner]) -> Report {
        let seeds = env_seeds(&self.seeds);
        let check_determinism = env_u64("FAULTLINE_CHECK_DETERMINISM").or(self.check_determinism);
        let jobs = self.jobs.or_else(|| env_u64("FAULTLINE_JOBS").map(|j| j.max(1) as usize));
        let out = self.out.clone().unwrap_or_else(|| default_out(&self, &seeds));
        let binary = self.binary.clone().unwrap_or_else(default_binary);
        let reg = Registry::new(runners).with_binary(binary);
        let args = sweep::Args {
            paths: self.paths.clone(),
            seeds: Seeds { start: seeds.start, end: seeds.end },
            jobs,
            partition: None,
            swarm: self.swarm,
            bugs: self.bugs.clone(),
            out: out.clone(),
            fail_fast: false,
            resume: false,
            check_determinism,
            until_all_marks: false,
        };
        let outcome = match sweep::execute(&reg, &args, false) {
            Ok(o) => o,
            Err(e) => panic!("faultline: the sweep cannot start: {e}"),
        };
        if let Some(e) = &outcome.error {
            panic!("faultline: the sweep stopped: {e}");
        }
        let abs = |p: PathBuf| std::fs::canonicalize(&p).unwrap_or(p);
        let out_abs = abs(out);
        let mut report = Report {
            runs: outcome.records.len(),
            failures: Vec::new(),
            inconclusive: Vec::new(),
            out: out_abs.clone(),
            description: format!(
                "{} × seeds {}..{}{}{}",
                self.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "),
                seeds.start,
                seeds.end,
                if self.bugs.is_empty() { String::new() } else { format!(" with --bug {}", self.bugs.join(" --bug ")) },
                if self.swarm { " (swarm)" } else { "" },
            ),
        };
        for r in &outcome.records {
            let row = &r.row;
            let verdict = row.verdict();
            if verdict == Verdict::Pass {
                continue;
            }
            let repro = (!row.repro.is_empty()).then(|| abs(out_abs.join(&row.repro)));
            let file = outcome.info.scenarios.get(r.scenario_index).map(|s| s.file.clone()).unwrap_or_default();
            let f = Failure {
                scenario: row.scenario.clone(),
                file,
                seed: row.seed,
                invariant: row.invariant.clone(),
                at_ms: row.at_ms,
                node: row.node,
                detail: row.detail.clone(),
                replay: repro.as_ref().map(|p| reg.command("replay", &p.display().to_string())),
                shrink: repro.as_ref().map(|p| reg.command("shrink", &p.display().to_string())),
                repro,
            };
            if verdict == Verdict::Fail {
                report.failures.push(f);
            } else {
                report.inconclusive.push(f);
            }
        }
        report
    }
}

/// What a test sweep found.
#[derive(Clone, Debug)]
pub struct Report {
    /// Runs done.
    pub runs: usize,
    /// Failing runs, in (scenario, seed) order.
    pub failures: Vec<Failure>,
    /// Inconclusive runs (a budget ran out).
    pub inconclusive: Vec<Failure>,
    /// The directory with the reports and repro files.
    pub out: PathBuf,
    description: String,
}

/// One failing (or inconclusive) run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Scenario name.
    pub scenario: String,
    /// The scenario file.
    pub file: String,
    /// The seed.
    pub seed: u64,
    /// The first violated invariant (empty for an inconclusive run).
    pub invariant: String,
    /// When it was seen, simulated ms.
    pub at_ms: Option<u64>,
    /// Where.
    pub node: Option<u32>,
    /// What was seen (or why the run is inconclusive).
    pub detail: String,
    /// The repro file.
    pub repro: Option<PathBuf>,
    /// The exact command that replays it.
    pub replay: Option<String>,
    /// The exact command that shrinks it.
    pub shrink: Option<String>,
}

/// How many failures a panic message spells out.
const SHOWN: usize = 10;

impl Report {
    /// True if every run passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.inconclusive.is_empty()
    }

    /// The failure of `scenario` with `seed`, if that run failed.
    pub fn failure(&self, scenario: &str, seed: u64) -> Option<&Failure> {
        self.failures.iter().find(|f| f.scenario == scenario && f.seed == seed)
    }

    /// Panics with every failure (the first ten spelled out) unless every run passed.
    pub fn assert_pass(&self) {
        if !self.passed() {
            panic!("{}", self.describe());
        }
    }

    /// The failures as the panic message prints them.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "faultline: {} failed and {} inconclusive of {} runs ({}); reports in {}\n",
            self.failures.len(),
            self.inconclusive.len(),
            self.runs,
            self.description,
            self.out.display()
        );
        for f in self.failures.iter().chain(&self.inconclusive).take(SHOWN) {
            if f.invariant.is_empty() {
                let _ = writeln!(s, "UNKNOWN {} seed={}: {}", f.scenario, f.seed, f.detail);
            } else {
                let node = f.node.map_or(String::new(), |n| format!(" node=n{n}"));
                let _ = writeln!(
                    s,
                    "FAIL {} seed={}: {} at {}ms{node}: {}",
                    f.scenario,
                    f.seed,
                    f.invariant,
                    f.at_ms.unwrap_or(0),
                    f.detail
                );
            }
            let _ = writeln!(s, "  scenario: {}", f.file);
            if let (Some(r), Some(replay), Some(shrink)) = (&f.repro, &f.replay, &f.shrink) {
                let _ = writeln!(s, "  repro:    {}", r.display());
                let _ = writeln!(s, "  replay:   {replay}");
                let _ = writeln!(s, "  shrink:   {shrink}");
            }
        }
        let more = (self.failures.len() + self.inconclusive.len()).saturating_sub(SHOWN);
        if more > 0 {
            let _ = writeln!(s, "… and {more} more (see {}/summary.md)", self.out.display());
        }
        s
    }
}

/// The seeds after `FAULTLINE_SEEDS`: a count from the range's start, or a range.
fn env_seeds(seeds: &Range<u64>) -> Range<u64> {
    seeds_override(seeds, std::env::var("FAULTLINE_SEEDS").ok().as_deref())
}

fn seeds_override(seeds: &Range<u64>, value: Option<&str>) -> Range<u64> {
    let Some(v) = value else { return seeds.clone() };
    let v = v.trim();
    if v.contains("..") {
        match sweep::parse_seeds(v) {
            Ok(s) => s.start..s.end,
            Err(e) => panic!("FAULTLINE_SEEDS: {e}"),
        }
    } else {
        match v.parse::<u64>() {
            Ok(n) if n > 0 => seeds.start..seeds.start.saturating_add(n),
            _ => panic!("FAULTLINE_SEEDS=`{v}`: expected a seed count N or a range A..B"),
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}=`{v}`: expected a positive integer"),
    }
}

/// `cargo run --release -p <package> --` for the package under test (cargo sets
/// `CARGO_PKG_NAME` when it runs tests), else `faultline`.
fn default_binary() -> String {
    match std::env::var("CARGO_PKG_NAME") {
        Ok(p) if !p.is_empty() => format!("cargo run --release -p {p} --"),
        _ => "faultline".to_string(),
    }
}

/// `<target dir>/faultline/test/<name>`: the target directory is the one the test binary runs
/// from (`target/<profile>/deps/…`), or `CARGO_TARGET_DIR`, so outputs never land in the source
/// tree; the name is the first scenario's and a hash of the whole sweep, so concurrent tests do
/// not share a directory.
fn default_out(s: &Sweep, seeds: &Range<u64>) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).or_else(|| {
        let exe = std::env::current_exe().ok()?;
        let deps = exe.ancestors().find(|a| a.file_name().is_some_and(|n| n == "deps"))?;
        Some(deps.parent()?.parent()?.to_path_buf())
    });
    let target = target.unwrap_or_else(|| std::env::temp_dir().join("faultline-target"));
    let key = format!("{:?} {:?} {:?} {} {:?}", s.paths, seeds, s.bugs, s.swarm, s.check_determinism);
    let first = s.paths[0].file_stem().map_or("sweep".into(), |f| f.to_string_lossy().into_owned());
    let name =
        format!("{}-{:08x}", crate::commands::sanitize(&first), xxhash_rust::xxh3::xxh3_64(key.as_bytes()) as u32);
    target.join("faultline").join("test").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_override_is_a_count_from_the_start_or_a_range() {
        assert_eq!(seeds_override(&(5..10), None), 5..10);
        assert_eq!(seeds_override(&(5..10), Some("1000")), 5..1005);
        assert_eq!(seeds_override(&(5..10), Some("0..=9")), 0..10);
        assert_eq!(seeds_override(&(5..10), Some(" 100..200 ")), 100..200);
        assert!(std::panic::catch_unwind(|| seeds_override(&(0..1), Some("many"))).is_err());
        assert!(std::panic::catch_unwind(|| seeds_override(&(0..1), Some("0"))).is_err());
    }
}
