//! # faultline-ring
//!
//! Consistent hashing and a Dynamo-style replicated key-value store on it, under faultline.
//!
//! - [`placement`]: the [`Placement`](placement::Placement) trait and four strategies: a ring with
//!   virtual nodes, jump consistent hash, rendezvous hashing and the `hash % n` baseline. Hashing
//!   is xxh3 with fixed seeds ([`hash`]).
//! - [`compare`]: [`compare_placements`], the `faultline ring` report: load balance and keys moved
//!   on a join and a leave, next to theory.
//! - [`membership`]: the versioned membership view and its three-phase changes, spread by gossip.
//! - [`store`]: the `ring` protocol ([`RingStore`]): coordinators, N replicas, R/W quorums (strict,
//!   or sloppy with hinted handoff), hand-off before drop, read repair, anti-entropy.
//! - [`check`]: the checkers (ring math at run time, membership, durability, read-your-writes).

#![warn(missing_docs)]

pub mod check;
pub mod compare;
pub mod config;
pub mod hash;
pub mod membership;
pub mod placement;
pub mod store;

pub use compare::{compare_placements, Comparison, StrategyStats};
pub use config::{Item, RingConfig, RingInput, RingOutput, Version};
pub use store::RingStore;
