//! # faultline-sim
//!
//! A deterministic, single-threaded simulated world for sans-IO distributed protocols.
//!
//! - [`protocol`]: the [`Protocol`](protocol::Protocol) trait a protocol implements (start with
//!   its docs: they hold a worked example).
//! - [`world`]: the event loop ([`Simulation`](world::Simulation)).
//! - [`scenario`]: scenario files.
//! - [`network`], [`clock`], [`faults`]: the fault model.
//! - [`driver`]: one node driven by hand, for unit tests of a protocol.
//! - [`prng`], [`hash`]: seeded randomness and the trace hash — the determinism guarantees.
//! - [`report`], [`runner`]: results, type-erased runners and repro files.
//!
//! Inside a simulation nothing reads the wall clock, spawns a thread, iterates a `HashMap` or
//! draws ambient randomness: `clippy.toml` forbids it, and same scenario + seed + bugs gives the
//! same trace hash.

#![warn(missing_docs)]

pub mod check;
pub mod clock;
pub mod driver;
pub mod example;
pub mod faults;
pub mod hash;
pub mod history;
pub mod lin;
pub mod network;
pub mod prng;
pub mod protocol;
pub mod queue;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod time;
pub mod validate;
pub mod world;

/// The names a protocol implementation needs.
pub mod prelude {
    pub use crate::check::{Marks, Verdict, Violation};
    pub use crate::history::{History, Op, Outcome};
    pub use crate::prng::Prng;
    pub use crate::protocol::{
        BugInfo, Bugs, Command, ConfigError, Ctx, Durable, Env, NodeId, NodeView, Protocol, Reply, RequestId, View,
    };
    pub use crate::report::RunReport;
    pub use crate::runner::{ProtocolRunner, Repro, Runner};
    pub use crate::scenario::Scenario;
    pub use crate::time::{ms, Time};
    pub use crate::world::{RunOptions, Simulation};
}
