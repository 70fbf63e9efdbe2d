//! The store's settings (`[config]` in a scenario) and client-visible types.

use crate::placement::Strategy;
use faultline_sim::protocol::ConfigError;
use faultline_sim::validate::{ms, percents, within};
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
    /// Checks the settings against each other and the cluster size (a bad scenario is bad
    /// input, refused before the run).
    pub fn validate(&self, nodes: u32) -> Result<(), ConfigError> {
        within("n", u64::from(self.n), 1, crate::placement::MAX_REPLICAS as u64)?;
        within("r", u64::from(self.r), 1, u64::from(self.n))?;
        within("w", u64::from(self.w), 1, u64::from(self.n))?;
        within("keys", self.keys, 1, MAX_KEYS)?;
        within("vnodes", u64::from(self.vnodes), 1, 1024)?;
        within("position_bits", u64::from(self.position_bits), 1, 64)?;
        within("initial_members", u64::from(self.initial_members), 0, u64::from(nodes))?;
        let members = if self.initial_members == 0 { nodes } else { self.initial_members };
        if self.n > members {
            return Err(ConfigError::new(
                "n",
                format!("{} replicas need at least {} members, the ring starts with {members}", self.n, self.n),
            ));
        }
        percents(&[("read_percent", self.read_percent)])?;
        for (f, v) in [
            ("retry_ms", self.retry_ms),
            ("op_timeout_ms", self.op_timeout_ms),
            ("gossip_ms", self.gossip_ms),
            ("anti_entropy_ms", self.anti_entropy_ms),
            ("sloppy_after_ms", self.sloppy_after_ms),
        ] {
            ms(f, v, 1)?;
        }
        if let Some(t) = self.converge_by_ms {
            ms("converge_by_ms", t, 0)?;
        }
        Ok(())
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
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
