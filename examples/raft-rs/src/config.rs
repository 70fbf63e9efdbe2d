//! Settings read from a scenario's `[config]` table.

use faultline_sim::protocol::ConfigError;
use faultline_sim::validate::{ms, within};
use serde::{Deserialize, Serialize};

/// How gets are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadMode {
    /// raft-rs's ReadIndex (`ReadOnlyOption::Safe`): the leader confirms it still leads with a
    /// heartbeat round, and the read is answered once the node applied the read index.
    ReadIndex,
    /// Gets are proposed and applied like writes.
    Log,
}

/// The adapter's settings. Times are local-clock milliseconds of the node's own (possibly
/// drifting) clock; raft-rs itself counts only ticks.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftRsConfig {
    /// One raft-rs tick, in local milliseconds.
    pub tick_ms: u64,
    /// raft-rs `election_tick`: the randomized election timeout is drawn from
    /// `election_tick..2 * election_tick` ticks, from the node's seeded stream.
    pub election_tick: u64,
    /// raft-rs `heartbeat_tick`.
    pub heartbeat_tick: u64,
    /// raft-rs `pre_vote`.
    pub pre_vote: bool,
    /// raft-rs `check_quorum`.
    pub check_quorum: bool,
    /// How gets are served.
    pub read_mode: ReadMode,
    /// raft-rs `max_inflight_msgs`.
    pub max_inflight_msgs: u64,
    /// raft-rs `max_size_per_msg` (bytes of entries in one append).
    pub max_size_per_msg: u64,
    /// Keys are `0..keys`.
    pub keys: u8,
    /// Percentage of gets.
    pub read_percent: u64,
    /// Percentage of compare-and-sets (the rest are puts and appends, half each).
    pub cas_percent: u64,
    /// Put and compare-and-set values are drawn from `0..values` (small, so CAS can succeed).
    pub values: u32,
}

impl Default for RaftRsConfig {
    fn default() -> Self {
        RaftRsConfig {
            tick_ms: 10,
            election_tick: 10,
            heartbeat_tick: 2,
            pre_vote: true,
            check_quorum: true,
            read_mode: ReadMode::ReadIndex,
            max_inflight_msgs: 64,
            max_size_per_msg: 4096,
            keys: 3,
            read_percent: 40,
            cas_percent: 15,
            values: 4,
        }
    }
}

/// Largest cluster: raft-rs has no limit, the checks keep per-node state in small vectors.
pub const MAX_NODES: u32 = 64;

impl RaftRsConfig {
    /// Checks every limit the adapter and raft-rs rely on, so a bad `[config]` is bad input
    /// (exit 2) and never a panic inside `RawNode::new`.
    pub fn validate(&self, nodes: u32) -> Result<(), ConfigError> {
        within("nodes", u64::from(nodes), 1, u64::from(MAX_NODES))?;
        ms("tick_ms", self.tick_ms, 1)?;
        within("heartbeat_tick", self.heartbeat_tick, 1, 1_000_000)?;
        within("election_tick", self.election_tick, self.heartbeat_tick + 1, 1_000_000)
            .map_err(|e| ConfigError::new(e.field, format!("{} (must exceed heartbeat_tick)", e.message)))?;
        within("max_inflight_msgs", self.max_inflight_msgs, 1, 1_000_000)?;
        within("max_size_per_msg", self.max_size_per_msg, 1, 1 << 30)?;
        within("keys", u64::from(self.keys), 1, 255)?;
        within("read_percent", self.read_percent, 0, 100)?;
        within("cas_percent", self.cas_percent, 0, 100 - self.read_percent)?;
        within("values", u64::from(self.values), 1, 1_000_000)?;
        // Whatever passed above must satisfy raft-rs's own validation too.
        self.raft_config(1, 0).validate().map_err(|e| ConfigError::new("election_tick", e.to_string()))
    }

    /// The raft-rs configuration of node `id` (raft-rs ids start at 1).
    pub fn raft_config(&self, id: u64, applied: u64) -> raft::Config {
        let election = self.election_tick as usize;
        raft::Config {
            id,
            election_tick: election,
            heartbeat_tick: self.heartbeat_tick as usize,
            // The bounds raft-rs draws its own timeout from; the adapter overrides the draw
            // with one from the node's seeded stream in the same range (see `node`).
            min_election_tick: election,
            max_election_tick: 2 * election,
            applied,
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            max_inflight_msgs: self.max_inflight_msgs as usize,
            max_size_per_msg: self.max_size_per_msg,
            read_only_option: raft::ReadOnlyOption::Safe,
            ..raft::Config::default()
        }
    }
}
