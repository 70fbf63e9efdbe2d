//! The command line: every command of the outside contract, for whatever protocols the binary
//! registers.
//!
//! A user's own binary is three lines:
//!
//! ```no_run
//! use faultline::Runner;
//! # mod my_crate { pub type MyProtocol = faultline_sim::example::Register; }
//!
//! fn main() -> std::process::ExitCode {
//!     faultline::cli::main(&[&Runner::<my_crate::MyProtocol>::new()])
//! }
//! ```
//!
//! It gets `run`, `replay`, `sweep` (seeds across cores, sharding, swarm, resume, reports),
//! `shrink`, `report merge`, `bugs` and `check-history`, with the contract's exit codes:
//! 0 every run passed, 1 a violation, 2 bad input or usage, 3 inconclusive. A binary with
//! commands of its own adds them with [`App::command`].

use crate::registry::Registry;
use crate::{commands, report_merge, shrink, sweep};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use faultline_lincheck::export::ExportFormat;
use faultline_sim::runner::ProtocolRunner;
use std::path::PathBuf;
use std::process::ExitCode;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    Text,
    /// One JSON object per run.
    Json,
}

/// Deterministic simulation testing for distributed protocols.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one simulation (or one per scenario in a directory).
    ///
    /// Example: faultline run scenarios/register-steady.toml --seed 0x2a --format json
    Run {
        /// A scenario file, or a directory standing for every *.toml in it.
        scenario: PathBuf,
        /// Seed, decimal or 0x hex (default: the scenario's own seed).
        #[arg(long, value_parser = parse_seed)]
        seed: Option<u64>,
        /// Switch on a planted bug (repeatable), e.g. --bug register.no-sync.
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
        /// Write every delivered event as JSON Lines to FILE.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Where repro files of failing runs go.
        #[arg(long, value_name = "DIR", default_value = "target/faultline")]
        out: PathBuf,
        /// Write the run's client history to FILE, as the end-of-run linearizability check saw
        /// it, for `check-history` and other tools (one file more per extra history, e.g. per lock).
        #[arg(long, value_name = "FILE")]
        history: Option<PathBuf>,
        /// The format of --history: json (faultline JSON Lines) or edn (Jepsen, one map per line).
        #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = ["json", "edn"])]
        history_format: String,
    },
    /// Re-run a repro file exactly; the trace hash must equal the recorded one.
    ///
    /// Example: faultline replay target/faultline/repro-register-steady-42.toml
    Replay {
        /// The repro file.
        repro: PathBuf,
        /// Write every delivered event as JSON Lines to FILE.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Guided search over fault schedules: keep the schedules that reach new coverage (marks,
    /// the protocol's abstract states and transitions, message kinds delivered across a fault),
    /// mutate them, stop at the first violation (exit 1, repro written) or at the run budget
    /// (exit 0). The same --seed gives the same search whatever --jobs is.
    ///
    /// Example: faultline explore scenarios/raft-generic.toml --bug raft.commit-prior-term --runs 2000
    Explore {
        /// Scenario files, or directories standing for every *.toml in them.
        #[arg(required = true, value_name = "SCENARIO_OR_DIR")]
        scenarios: Vec<PathBuf>,
        /// Switch on a planted bug (repeatable) in the scenarios whose protocol declares it.
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
        /// Run budget.
        #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..))]
        runs: u64,
        /// The search's seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Threads running simulations (default: one per core). The search does not depend on it.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        jobs: Option<u64>,
        /// Where the repro of a violation goes.
        #[arg(long, value_name = "DIR", default_value = "target/faultline/explore")]
        out: PathBuf,
    },
    /// Explain one run on a self-contained HTML page: the violation, the fault schedule, each
    /// node's state over time, the messages before the end, and for a history violation the
    /// operations of the failing part with the small failing sub-history outlined.
    ///
    /// Example: faultline explain target/faultline/repro-raft-figure8-0.toml --at 900
    Explain {
        /// A repro file (or a scenario, with --seed and --bug).
        repro: PathBuf,
        /// Where to write the page (default: the input with .html).
        #[arg(short = 'o', long = "output", value_name = "FILE.html")]
        output: Option<PathBuf>,
        /// Also print each node's state at this true time (ms).
        #[arg(long, value_name = "MS")]
        at: Option<u64>,
        /// The seed, for a scenario (a repro has its own).
        #[arg(long)]
        seed: Option<u64>,
        /// Planted bugs to switch on (added to a repro's own).
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
    },
    /// Check recorded client histories for linearizability.
    ///
    /// Example: faultline check-history --model cas-register ../shared/reference/histories/porcupine/jepsen/etcd_000.log
    CheckHistory {
        /// The sequential model: register, cas-register, kv (partitioned by key), kv-whole, mutex, multi-register (Knossos txn of reads and writes).
        #[arg(long)]
        model: String,
        /// History format: jepsen-log, edn or json (guessed from the content when absent).
        #[arg(long)]
        format: Option<String>,
        /// Initial value of a register (an integer or nil; default nil).
        #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
        init: Option<String>,
        /// Write an HTML explanation of the non-linearizable histories to this file.
        #[arg(long, value_name = "FILE.html")]
        explain: Option<PathBuf>,
        /// Explored-state budget per history partition before answering unknown.
        #[arg(long, default_value_t = 5_000_000)]
        max_states: u64,
        /// Wall-clock budget per check, in milliseconds, before answering unknown.
        #[arg(long, default_value_t = 60_000)]
        timeout_ms: u64,
        /// Memory budget of one history partition's search, in MiB, before answering unknown.
        #[arg(long, default_value_t = 1024)]
        max_memory_mb: u64,
        /// History files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run many scenarios × seeds in parallel and write results.csv, summary.md, report.html,
    /// junit.xml and a repro per failure.
    ///
    /// Example: faultline sweep scenarios/ --seeds 0..100 --jobs 2 --out target/faultline
    Sweep {
        /// Scenario files, or directories standing for every *.toml in them.
        #[arg(required = true, value_name = "SCENARIO_OR_DIR")]
        scenarios: Vec<PathBuf>,
        /// Seeds: A..B (B excluded), A..=B, or one seed N; decimal or 0x hex.
        #[arg(long, value_parser = sweep::parse_seeds, default_value = sweep::DEFAULT_SEEDS)]
        seeds: sweep::Seeds,
        /// Threads running simulations (default: one per core). Results do not depend on it.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        jobs: Option<u64>,
        /// Run only this shard: hash:M/N (by a stable hash of scenario and seed) or count:M/N
        /// (round-robin); merge the shards with `faultline report merge`.
        #[arg(long, value_parser = sweep::parse_partition, value_name = "hash:M/N|count:M/N")]
        partition: Option<sweep::Partition>,
        /// Swarm testing: each seed also draws which fault kinds are on and at what rates.
        #[arg(long)]
        swarm: bool,
        /// Switch on a planted bug (repeatable) in the scenarios whose protocol declares it.
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
        /// Output directory.
        #[arg(long, value_name = "DIR", default_value = "target/faultline")]
        out: PathBuf,
        /// Stop starting new runs after the first failure.
        #[arg(long)]
        fail_fast: bool,
        /// Keep the runs already recorded in DIR (an interrupted sweep) and run only the rest.
        #[arg(long)]
        resume: bool,
        /// Run every Nth run of the sweep twice (N = 1, every run, when no N is given) and fail it
        /// as `sim.nondeterminism`, naming the first differing event, if the two runs differ.
        #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1",
              value_parser = clap::value_parser!(u64).range(1..))]
        check_determinism: Option<u64>,
        /// Stop starting new runs once every `sometimes` mark the scenarios' protocols declare has
        /// fired (the seed range is the most it runs); exit 3 if some never did, naming them.
        #[arg(long)]
        until_all_marks: bool,
    },
    /// Minimise a failing repro into a smaller one that fails the same invariant.
    ///
    /// Drops faults, clients, operations, nodes and time, simplifies the faults left, and last
    /// tries dropping faults under other seeds (the shrunk repro then carries the new seed).
    ///
    /// Exits 1 when the shrunk repro is written (it fails, as it must), 2 when the repro cannot
    /// be read or does not fail.
    ///
    /// Example: faultline shrink target/faultline/repro-register-crash-3.toml -o small.toml
    Shrink {
        /// The failing repro file.
        repro: PathBuf,
        /// Where to write the shrunk repro (default: REPRO-shrunk.toml beside it).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// Bound on re-runs.
        #[arg(long, default_value_t = shrink::DEFAULT_MAX_RUNS)]
        max_runs: u32,
    },
    /// Work with sweep reports.
    ///
    /// Example: faultline report merge shard-1 shard-2 --out target/faultline
    Report {
        #[command(subcommand)]
        command: report_merge::ReportCommand,
    },
    /// List the planted bugs.
    ///
    /// Example: faultline bugs --protocol register --format json
    Bugs {
        /// Only this protocol's bugs.
        #[arg(long)]
        protocol: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

fn parse_seed(s: &str) -> Result<u64, String> {
    faultline_sim::scenario::parse_seed(s)
}

/// A command a binary adds beside the contract's (the built-in `faultline` adds `ring`).
struct Extra<'a> {
    command: clap::Command,
    run: Box<dyn Fn(&clap::ArgMatches) -> u8 + 'a>,
}

/// A command-line application over a [`Registry`]: the contract's commands plus any the binary
/// adds.
pub struct App<'a> {
    registry: Registry<'a>,
    about: Option<String>,
    extras: Vec<Extra<'a>>,
}

impl<'a> App<'a> {
    /// The application for these protocols.
    pub fn new(runners: &[&'a dyn ProtocolRunner]) -> App<'a> {
        App { registry: Registry::new(runners), about: None, extras: Vec::new() }
    }

    /// The application over an existing registry.
    pub fn with_registry(registry: Registry<'a>) -> App<'a> {
        App { registry, about: None, extras: Vec::new() }
    }

    /// The one-line description `--help` shows.
    pub fn about(mut self, about: impl Into<String>) -> App<'a> {
        self.about = Some(about.into());
        self
    }

    /// Adds a command of the binary's own: `command` describes its arguments (clap builder or
    /// `Args::augment_args`), `run` executes it and returns the exit code.
    pub fn command(mut self, command: clap::Command, run: impl Fn(&clap::ArgMatches) -> u8 + 'a) -> App<'a> {
        self.extras.push(Extra { command, run: Box::new(run) });
        self
    }

    fn clap(&self) -> clap::Command {
        let mut cmd =
            Cli::command().name(self.registry.binary().to_string()).bin_name(self.registry.binary().to_string());
        if let Some(a) = &self.about {
            cmd = cmd.about(a.clone());
        }
        for e in &self.extras {
            cmd = cmd.subcommand(e.command.clone());
        }
        cmd
    }

    /// Parses `args` (the first is the program name) and runs the command; returns its exit
    /// code. Usage errors exit 2, `--help` and `--version` 0.
    pub fn run_from<I, T>(&self, args: I) -> u8
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = match self.clap().try_get_matches_from(args) {
            Ok(m) => m,
            Err(e) => {
                let _ = e.print();
                return if e.use_stderr() { commands::EXIT_BAD_INPUT } else { 0 };
            }
        };
        if let Some((name, sub)) = matches.subcommand() {
            if let Some(e) = self.extras.iter().find(|e| e.command.get_name() == name) {
                return (e.run)(sub);
            }
        }
        match Cli::from_arg_matches(&matches) {
            Ok(cli) => dispatch(&self.registry, cli.command),
            Err(e) => {
                let _ = e.print();
                commands::EXIT_BAD_INPUT
            }
        }
    }

    /// Runs the command this process was started with and returns its exit code.
    pub fn main(&self) -> ExitCode {
        crate::out::catch_interrupts();
        ExitCode::from(self.run_from(std::env::args_os()))
    }
}

/// The whole tool for `runners`: parses this process's arguments, runs the command, returns the
/// exit code for `main` to return.
pub fn main(runners: &[&dyn ProtocolRunner]) -> ExitCode {
    App::new(runners).main()
}

fn dispatch(reg: &Registry, command: Command) -> u8 {
    match command {
        Command::Run { scenario, seed, bugs, trace, format, out, history, history_format } => {
            let outputs = commands::RunOutputs {
                trace: trace.as_deref(),
                history: history.as_deref().map(|h| (h, history_format.parse().unwrap_or(ExportFormat::Json))),
                out_dir: &out,
            };
            commands::run(reg, &scenario, seed, &bugs, format, &outputs)
        }
        Command::Replay { repro, trace, format } => commands::replay(reg, &repro, trace.as_deref(), format),
        Command::Bugs { protocol, format } => commands::bugs(reg, protocol.as_deref(), format),
        Command::Explore { scenarios, bugs, runs, seed, jobs, out } => crate::explore::explore(
            reg,
            crate::explore::Args { paths: scenarios, bugs, runs, seed, jobs: jobs.map(|j| j as usize), out },
        ),
        Command::Explain { repro, output, at, seed, bugs } => {
            crate::explain::explain(reg, &repro, seed, &bugs, output.as_deref(), at)
        }
        Command::Sweep {
            scenarios,
            seeds,
            jobs,
            partition,
            swarm,
            bugs,
            out,
            fail_fast,
            resume,
            check_determinism,
            until_all_marks,
        } => sweep::sweep(
            reg,
            sweep::Args {
                paths: scenarios,
                seeds,
                jobs: jobs.map(|j| j as usize),
                partition,
                swarm,
                bugs,
                out,
                fail_fast,
                resume,
                check_determinism,
                until_all_marks,
            },
        ),
        Command::Shrink { repro, output, max_runs } => shrink::shrink(reg, &repro, output.as_deref(), max_runs),
        Command::Report { command: report_merge::ReportCommand::Merge { dirs, out } } => {
            report_merge::merge(reg, &dirs, &out)
        }
        Command::CheckHistory { model, format, init, explain, max_states, timeout_ms, max_memory_mb, files } => {
            let budget = faultline_lincheck::Budget {
                max_states,
                max_wall_ms: Some(timeout_ms),
                max_memory_bytes: Some(max_memory_mb.saturating_mul(1 << 20)),
            };
            commands::check_history(model, format, init, explain, budget, files)
        }
    }
}
