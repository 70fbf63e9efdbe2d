//! The store's settings (`[config]` in a scenario) and client-visible types.

use crate::placement::Strategy;
use serde::{Deserialize, Serialize};

/// Largest key space (keys are `0..keys`; ownership transfer walks it, see `store`).
pub const MAX_KEYS: u64 = 4096;

/// Settings from the scenario's `[config]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingConfig {
    /// Nodes `0..initial_members` start as members; the rest are spares that may join later.
    /// 0 means every node.
    pub initial_members: u32,
    /// Placement strategy.
    pub placement: Strategy,
    /// Virtual nodes per physical node (ring).
    pub vnodes: u32,
    /// Token width of the ring in bits (64: no collisions in practice; 16: frequent collisions,
    /// which exercises the tie-break).
    pub position_bits: u32,
    /// Replicas per key (N).
    pub n: u32,
    /// Read quorum (R).
    pub r: u32,
    /// Write quorum (W).
    pub w: u32,
    /// Sloppy quorums with hinted handoff: stand-in nodes count for unreachable replicas. Trades
    /// the read-your-writes guarantee for availability.
    pub sloppy: bool,
    /// Keys are `0..keys`.
    pub keys: u64,
    /// Percentage of client operations that are reads.
    pub read_percent: u64,
    /// Coordinator retransmission and driver period, local ms.
    pub retry_ms: u64,
    /// A coordinator gives up on an operation after this long, local ms.
    pub op_timeout_ms: u64,
    /// Gossip period, local ms.
    pub gossip_ms: u64,
    /// Anti-entropy period, local ms.
    pub anti_entropy_ms: u64,
    /// With `sloppy`, ask stand-ins once a replica has not answered for this long, local ms.
    pub sloppy_after_ms: u64,
    /// If set, the membership views of all live members must agree at this true time (the
    /// scenario sets it to "last heal + bound").
    pub converge_by_ms: Option<u64>,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            initial_members: 0,
            placement: Strategy::Ring,
            vnodes: 64,
            position_bits: 64,
            n: 3,
            r: 2,
            w: 2,
            sloppy: false,
            keys: 32,
            read_percent: 50,
            retry_ms: 20,
            op_timeout_ms: 400,
            gossip_ms: 50,
            anti_entropy_ms: 200,
            sloppy_after_ms: 40,
            converge_by_ms: None,
        }
    }
}

impl RingConfig {
    /// Asserts the settings are coherent (a bad scenario is a usage error, caught at start).
    pub fn validate(&self) {
        assert!(self.n >= 1 && self.n as usize <= crate::placement::MAX_REPLICAS, "config.n out of range");
        assert!(self.r >= 1 && self.r <= self.n, "config.r must be in 1..=n");
        assert!(self.w >= 1 && self.w <= self.n, "config.w must be in 1..=n");
        assert!(self.keys >= 1 && self.keys <= MAX_KEYS, "config.keys must be in 1..={MAX_KEYS}");
        assert!(self.vnodes >= 1 && self.vnodes <= 1024, "config.vnodes must be in 1..=1024");
        assert!((1..=64).contains(&self.position_bits), "config.position_bits must be in 1..=64");
        assert!(self.retry_ms >= 1 && self.gossip_ms >= 1 && self.anti_entropy_ms >= 1);
    }

    /// Strict quorums: R + W > N and no stand-ins. Only then is read-your-writes promised.
    pub fn strict(&self) -> bool {
        !self.sloppy && self.r + self.w > self.n
    }
}

/// A version: last writer wins by `(counter, node)`. `counter` is one more than the highest
/// counter a read quorum reported, so a write that starts after another completed gets a higher
/// version (with strict quorums).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// Logical counter.
    pub counter: u64,
    /// The coordinator that made it (tie-break).
    pub node: u32,
    /// Unique per coordinator: `(incarnation << 32) | operation`, so that two writes one
    /// coordinator versions concurrently (or before and after a crash) never share a version.
    pub tag: u64,
}

/// A stored value and its version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Item {
    /// Version (zero: absent).
    pub version: Version,
    /// Value.
    pub value: u64,
}

/// A client or operator request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RingInput {
    /// Read a key.
    Get {
        /// The key.
        key: u64,
    },
    /// Write a key.
    Put {
        /// The key.
        key: u64,
        /// The value (unique per write in generated workloads).
        value: u64,
    },
    /// Operator: node joins (the receiving node drives the change).
    Join(u32),
    /// Operator: node leaves gracefully.
    Leave(u32),
    /// Operator: node is declared permanently failed (removed without its help).
    Fail(u32),
    /// Operator: the node's data directory is lost (received by that node).
    Wipe(u32),
}

/// The answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RingOutput {
    /// A read's newest version among a read quorum (`value: None` if never written).
    Value {
        /// Version read (zero if none).
        version: Version,
        /// Value read.
        value: Option<u64>,
    },
    /// The write is durable on a write quorum with this version.
    Written {
        /// The version the write got.
        version: Version,
    },
}
