//! Settings read from a scenario's `[config]` table.

use faultline_sim::protocol::ConfigError;
use faultline_sim::validate::{ms, within};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Raft's settings. Times are local-clock milliseconds: each node measures them on its own,
/// possibly drifting, clock.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, bound = "A: Serialize + DeserializeOwned + Default")]
pub struct RaftConfig<A> {
    /// Nodes `0..voters` form the initial configuration (default: every node). The others start
    /// outside the cluster and join through an `add_server` operator request.
    pub voters: Option<u32>,
    /// Lower bound of the randomized election timeout; also the check-quorum period and the
    /// time a follower refuses votes after hearing from a leader.
    pub election_timeout_ms: u64,
    /// Upper bound (exclusive) of the randomized election timeout (default: twice the lower).
    pub election_timeout_max_ms: Option<u64>,
    /// Leader heartbeat period (also the lease renewal period).
    pub heartbeat_ms: u64,
    /// Pre-vote (thesis §9.6): a node asks whether it could win before raising its term.
    pub pre_vote: bool,
    /// Check-quorum: a leader that has not heard from a majority for an election timeout steps
    /// down, and a node that heard from a leader within the election timeout ignores votes.
    pub check_quorum: bool,
    /// Serve reads from the leader's lease instead of a read-index round. Needs `check_quorum`
    /// (without it the node falls back to read-index reads) and a clock-drift bound.
    pub lease_reads: bool,
    /// The largest clock drift the lease assumes, in parts per million.
    pub drift_bound_ppm: u64,
    /// Take a snapshot once this many entries were applied since the last one.
    pub snapshot_every: u64,
    /// Most entries in one AppendEntries message.
    pub max_batch: u64,
    /// A new leader appends a no-op of its term at once (thesis §6.4), so it can commit, serve
    /// reads and change the configuration without waiting for a client. Safety does not depend
    /// on it; off, the run replays the paper's Figure 8 exactly, and reads and membership
    /// changes wait for the term's first client write to commit.
    pub noop_on_election: bool,
    /// The application's settings (for the KV store: keys and operation mix).
    pub app: A,
}

impl<A: Default> Default for RaftConfig<A> {
    fn default() -> Self {
        RaftConfig {
            voters: None,
            election_timeout_ms: 100,
            election_timeout_max_ms: None,
            heartbeat_ms: 20,
            pre_vote: true,
            check_quorum: true,
            lease_reads: false,
            drift_bound_ppm: 50_000,
            snapshot_every: 64,
            max_batch: 16,
            noop_on_election: true,
            app: A::default(),
        }
    }
}

impl<A> RaftConfig<A> {
    /// Checks Raft's own settings against each other and the cluster size (the application's
    /// are checked by its [`StateMachine`](crate::StateMachine)).
    pub fn validate(&self, nodes: u32) -> Result<(), ConfigError> {
        within("nodes", u64::from(nodes), 1, u64::from(crate::log::MAX_NODES))?;
        if let Some(v) = self.voters {
            within("voters", u64::from(v), 1, u64::from(nodes))?;
        }
        ms("election_timeout_ms", self.election_timeout_ms, 2)?;
        if let Some(max) = self.election_timeout_max_ms {
            ms("election_timeout_max_ms", max, self.election_timeout_ms + 1)?;
        }
        if self.heartbeat_ms == 0 || self.heartbeat_ms >= self.election_timeout_ms {
            return Err(ConfigError::new(
                "heartbeat_ms",
                format!(
                    "must be positive and below election_timeout_ms ({}), got {}",
                    self.election_timeout_ms, self.heartbeat_ms
                ),
            ));
        }
        within("drift_bound_ppm", self.drift_bound_ppm, 0, 999_999)?;
        within("snapshot_every", self.snapshot_every, 1, 1_000_000_000)?;
        within("max_batch", self.max_batch, 1, 1_000_000)
    }

    /// The exclusive upper bound of the election timeout.
    pub fn election_timeout_max_ms(&self) -> u64 {
        self.election_timeout_max_ms.unwrap_or(2 * self.election_timeout_ms).max(self.election_timeout_ms + 1)
    }

    /// How long a lease lasts on the leader's clock after the start of a heartbeat round a
    /// majority acknowledged: followers refuse votes for `election_timeout_ms` of *their* time
    /// after that round reached them, so with every rate within `±drift` of true time the lease
    /// must end before `election_timeout · (1 − drift) / (1 + drift)` of leader time.
    pub fn lease_ms(&self) -> u64 {
        let d = self.drift_bound_ppm.min(999_999);
        self.election_timeout_ms * (1_000_000 - d) / (1_000_000 + d)
    }
}
