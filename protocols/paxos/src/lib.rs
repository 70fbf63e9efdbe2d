//! # faultline-paxos
//!
//! Single-decree Paxos ([`Paxos`], scenario name `paxos`) and Multi-Paxos with a replicated
//! key-value store ([`MultiPaxos`], scenario name `multipaxos`), as sans-IO state machines for
//! the faultline simulator, with the checks that judge them and the bugs planted to prove the
//! checks can fail.
//!
//! - [`ballot`]: ballots `(round, node)` and quorum sets.
//! - [`acceptor`]: the acceptor, the durable heart of both protocols.
//! - [`ghost`]: ghost state deriving "chosen" from every acceptance, and the consensus checks.
//! - [`paxos`]: single-decree Paxos.
//! - [`multipaxos`] and [`kv`]: Multi-Paxos and its key-value state machine.

#![warn(missing_docs)]

pub mod acceptor;
pub mod ballot;
pub mod ghost;
pub mod kv;
pub mod multipaxos;
pub mod paxos;

pub use multipaxos::MultiPaxos;
pub use paxos::Paxos;
