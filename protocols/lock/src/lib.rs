//! # faultline-lock
//!
//! A Chubby-style lock service (Burrows, OSDI 2006) on faultline's own Raft, checked in true
//! time under clock skew, drift and pauses.
//!
//! - [`cell`]: the replicated state — sessions, exclusive locks with wait queues, sequencers
//!   (lock, generation) that strictly increase per lock and survive fail-over, lock-delay, the
//!   master epoch — as a `faultline_raft::StateMachine`.
//! - [`server`]: a cell server: a `Raft<LockCell>` driven through its own `Ctx`, plus the
//!   master's clock-driven duties (session lease timers, lock-delay, the takeover rule).
//! - [`client`]: the client library: sessions with KeepAlive, a conservative local lease timed
//!   from before the call with a drift margin, jeopardy and grace period, acquire / try-acquire
//!   with timeout / release, and writes to the resource under the lock's sequencer.
//! - [`resource`]: the protected resource, fencing by sequencer.
//! - [`check`]: mutual exclusion of believed ownership in true time, fencing, sequencer
//!   monotonicity, expired sessions stay expired, fail-over honours old leases, and per-lock
//!   mutex linearizability.
//! - [`bugs`]: the planted bugs ([`LOCK_BUGS`]).
//!
//! Register [`Lock`] with the runner; its protocol name is `lock`. Node layout (from
//! `[config]`): `0..servers` the cell, then `client_nodes` client libraries, then the resource.

#![warn(missing_docs)]

pub mod bugs;
pub mod cell;
pub mod check;
pub mod client;
pub mod config;
pub mod message;
mod protocol;
pub mod resource;
pub mod server;

pub use bugs::LOCK_BUGS;
pub use cell::LockCell;
pub use config::LockConfig;
pub use message::{LockAnswer, LockOp};
pub use protocol::Lock;
