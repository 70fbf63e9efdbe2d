//! # faultline-raft
//!
//! Raft (Ongaro & Ousterhout 2014; Ongaro's thesis 2014) as a sans-IO state machine under the
//! faultline simulator, with its safety invariants checked at run time and planted bugs that
//! the checks must catch.
//!
//! - [`node`]: one node — leader election with randomized timeouts, pre-vote and check-quorum;
//!   log replication with the consistency check and fast back-off; the commit rule; read-index
//!   and lease reads; snapshots and InstallSnapshot; single-server membership changes and
//!   leadership transfer. Term, vote and log are synced before anything that depends on them is
//!   sent.
//! - [`state_machine`]: the pluggable application ([`StateMachine`]) with client sessions that
//!   apply a retried command once. [`kv`] is the default: a key-value store (get, put, append,
//!   cas) checked for linearizability.
//! - [`safety`]: Election Safety, Leader Append-Only, Log Matching, Leader Completeness, State
//!   Machine Safety and the durability checks, over ghost state, for any Raft that exposes its
//!   term, role, log and commit index through [`safety::RaftNodeView`]; [`check`] plugs this
//!   crate's [`Raft`] into them.
//! - [`bugs`]: the planted bugs ([`RAFT_BUGS`]).
//!
//! Register [`Raft`] (that is, `Raft<KvStore>`) with the runner; its protocol name is `raft`.

#![warn(missing_docs)]

pub mod bugs;
pub mod check;
pub mod config;
pub mod kv;
pub mod log;
pub mod message;
pub mod node;
mod protocol;
pub mod safety;
pub mod state_machine;
pub mod storage;

pub use bugs::RAFT_BUGS;
pub use config::RaftConfig;
pub use kv::{KvAnswer, KvCmd, KvConfig, KvStore};
pub use log::MAX_NODES;
pub use message::{RaftInput, RaftMsg};
pub use node::{Raft, RaftTimer, Role};
pub use state_machine::{Replicated, Snapshot, StateMachine};
