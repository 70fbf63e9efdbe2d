//! `faultline`: the command-line tool with the built-in protocols. Every command lives in the
//! `faultline` library; this binary registers the protocols and adds `ring`.
//!
//! Exit codes (see `../shared/CONTRACT.md`): 0 every run passed, 1 a violation, 2 bad input or
//! usage, 3 inconclusive.

use clap::{Args, FromArgMatches};
use faultline::cli::App;
use faultline::Runner;
use std::process::ExitCode;

// A sweep runs thousands of short simulations per thread, each allocating and freeing its queue,
// history and checker cache. glibc's malloc returns that memory to the kernel after every run and
// faults it back in on the next (15% of a register sweep was page faults, serialised on the
// process's memory map); mimalloc keeps it per thread. It does not touch determinism: no
// simulation output depends on addresses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Compare key placement strategies: balance and keys moved on one join and one leave, beside
/// what theory predicts.
///
/// Example: faultline ring --nodes 100 --vnodes 256 --keys 1000000
#[derive(Args, Debug)]
struct Ring {
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
}

fn ring(m: &clap::ArgMatches) -> u8 {
    let r = match Ring::from_arg_matches(m) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.print();
            return 2;
        }
    };
    if r.replicas >= r.nodes {
        eprintln!("error: --replicas ({}) must be smaller than --nodes ({})", r.replicas, r.nodes);
        return 2;
    }
    println!("{}", faultline_ring::compare_placements(r.nodes, r.vnodes, r.keys, r.replicas));
    0
}

fn main() -> ExitCode {
    let (register, raft, paxos, multipaxos, ring_store, lock) = (
        Runner::<faultline_sim::example::Register>::new(),
        Runner::<faultline_raft::Raft>::new(),
        Runner::<faultline_paxos::Paxos>::new(),
        Runner::<faultline_paxos::MultiPaxos>::new(),
        Runner::<faultline_ring::RingStore>::new(),
        Runner::<faultline_lock::Lock>::new(),
    );
    let app = App::new(&[&register, &raft, &paxos, &multipaxos, &ring_store, &lock])
        .about("Deterministic simulation testing for distributed protocols.")
        .command(
            Ring::augment_args(clap::Command::new("ring"))
                .about("Compare key placement strategies: balance and keys moved on one join and one leave")
                .long_about(
                    "Compare key placement strategies: balance and keys moved on one join and one leave, beside \
                     what theory predicts.\n\nExample: faultline ring --nodes 100 --vnodes 256 --keys 1000000",
                ),
            ring,
        );
    app.main()
}
