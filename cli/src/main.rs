//! `faultline`: deterministic simulation testing for distributed protocols.
//!
//! Exit codes (see `../shared/CONTRACT.md`): 0 every run passed, 1 a violation, 2 bad input or
//! usage, 3 inconclusive.

mod commands;
mod registry;

use clap::{Parser, Subcommand};
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
        #[arg(long, default_value_t = 20_000_000)]
        max_states: u64,
        /// Wall-clock budget per check, in milliseconds, before answering unknown.
        #[arg(long, default_value_t = 60_000)]
        timeout_ms: u64,
        /// History files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
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
        Command::CheckHistory { model, format, init, explain, max_states, timeout_ms, files } => {
            commands::check_history(model, format, init, explain, max_states, timeout_ms, files)
        }
    };
    ExitCode::from(code)
}
