//! `faultline-raft-rs`: every faultline command, for raft-rs under faultline.

fn main() -> std::process::ExitCode {
    faultline::cli::main(&[&faultline::Runner::<faultline_raft_rs::RaftRs>::new()])
}
