//! `faultline`: deterministic simulation testing for distributed protocols.
//!
//! Exit codes (see `../shared/CONTRACT.md`): 0 every run passed, 1 a violation, 2 bad input or
//! usage, 3 inconclusive.

mod commands;
mod registry;
mod report_merge;
mod shrink;
mod swarm;
mod sweep;

use clap::{Parser, Subcommand};

// A sweep runs thousands of short simulations per thread, each allocating and freeing its queue,
// history and checker cache. glibc's malloc returns that memory to the kernel after every run and
// faults it back in on the next (15% of a register sweep was page faults, serialised on the
// process's memory map); mimalloc keeps it per thread. It does not touch determinism: no
// simulation output depends on addresses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

/// Deterministic simulation testing for distributed protocols.
#[derive(Parser, Debug)]
#[command(name = "faultline", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable lines.
    Text,
    /// One JSON object per run.
    Json,
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
    /// Check recorded client histories for linearizability.
    ///
    /// Example: faultline check-history --model cas-register ../shared/reference/histories/porcupine/jepsen/etcd_000.log
    CheckHistory {
        /// The sequential model: register, cas-register, kv (partitioned by key), kv-whole, mutex.
        #[arg(long)]
        model: String,
        /// History format: jepsen-log, edn or json (guessed from the content when absent).
        #[arg(long)]
        format: Option<String>,
        /// Initial value of a register (an integer or nil; default nil).
        #[arg(long, value_name = "VALUE")]
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
    },
    /// Minimise a failing repro into a smaller one that fails the same invariant.
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
    /// Compare key placement strategies: balance and keys moved on one join and one leave,
    /// beside what theory predicts.
    ///
    /// Example: faultline ring --nodes 100 --vnodes 256 --keys 1000000
    Ring {
        /// Physical nodes.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=10_000))]
        nodes: u32,
        /// Virtual nodes per physical node (ring strategy).
        #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
        vnodes: u32,
        /// Keys placed.
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        keys: u64,
        /// Replicas per key (preference-list length).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
        replicas: u32,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run { scenario, seed, bugs, trace, format, out } => {
            commands::run(&scenario, seed, &bugs, trace.as_deref(), format, &out)
        }
        Command::Replay { repro, trace, format } => commands::replay(&repro, trace.as_deref(), format),
        Command::Bugs { protocol, format } => commands::bugs(protocol.as_deref(), format),
        Command::Ring { nodes, vnodes, keys, replicas } => {
            if replicas >= nodes {
                eprintln!("error: --replicas ({replicas}) must be smaller than --nodes ({nodes})");
                return ExitCode::from(commands::EXIT_BAD_INPUT);
            }
            println!("{}", faultline_ring::compare_placements(nodes, vnodes, keys, replicas));
            0
        }
        Command::Sweep { scenarios, seeds, jobs, partition, swarm, bugs, out, fail_fast, resume } => {
            sweep::sweep(sweep::Args {
                paths: scenarios,
                seeds,
                jobs: jobs.map(|j| j as usize),
                partition,
                swarm,
                bugs,
                out,
                fail_fast,
                resume,
            })
        }
        Command::Shrink { repro, output, max_runs } => shrink::shrink(&repro, output.as_deref(), max_runs),
        Command::Report { command: report_merge::ReportCommand::Merge { dirs, out } } => {
            report_merge::merge(&dirs, &out)
        }
        Command::CheckHistory { model, format, init, explain, max_states, timeout_ms, files } => {
            commands::check_history(model, format, init, explain, max_states, timeout_ms, files)
        }
    };
    ExitCode::from(code)
}
