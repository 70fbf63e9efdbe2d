//! # faultline
//!
//! Deterministic simulation testing for distributed protocols, as a library: every command of
//! the `faultline` tool and `cargo test` helpers, for any protocol that implements
//! [`Protocol`](faultline_sim::protocol::Protocol) — the built-in ones or the user's own.
//!
//! - [`cli`]: the command line (`run`, `replay`, `sweep`, `shrink`, `report merge`, `bugs`,
//!   `check-history`). A binary for your protocol is `faultline::cli::main(&[&Runner::<P>::new()])`.
//! - [`testing`]: sweeps from `#[test]` functions, with the failure, its repro and the replay and
//!   shrink commands in the panic message.
//! - [`determinism`]: the self-check that runs a seed twice and names the first event that
//!   differs.
//!
//! The simulator itself is [`faultline_sim`] (re-exported as [`sim`]).

#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod determinism;
pub mod explain;
pub mod explore;
pub mod out;
pub mod registry;
pub mod report_merge;
pub mod shrink;
pub mod swarm;
pub mod sweep;
pub mod testing;

pub use faultline_sim as sim;
pub use faultline_sim::runner::{ProtocolRunner, Runner};
pub use registry::Registry;
