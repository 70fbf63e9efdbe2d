//! Settings read from a scenario's `[config]` table, and the node layout they imply.

use faultline_raft::RaftConfig;
use faultline_sim::prelude::{ConfigError, NodeId};
use faultline_sim::validate::{ms, percents, within};
use serde::{Deserialize, Serialize};

/// The lock service's settings. Times are local-clock milliseconds: each node measures them on
/// its own, possibly drifting, clock.
///
/// Node layout: nodes `0..servers` are the cell (Raft replicas), the next `client_nodes` nodes
/// run the client library (workload client `c` is attached to client node `c % client_nodes`),
/// and the last node is the protected resource. A scenario must set
/// `nodes = servers + client_nodes + 1`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockConfig {
    /// Cell size (3 or 5).
    pub servers: u32,
    /// Client-library nodes.
    pub client_nodes: u32,
    /// Locks are `0..locks` (at most [`crate::cell::MAX_LOCKS`]).
    pub locks: u8,
    /// Session lease the master grants per KeepAlive, master time.
    pub lease_ms: u64,
    /// KeepAlive period of a client, client time.
    pub keepalive_ms: u64,
    /// Grace period after the local lease ran out (jeopardy) before the client gives the
    /// session up.
    pub grace_ms: u64,
    /// A lock freed because its holder's session expired is not granted again for this long.
    pub lock_delay_ms: u64,
    /// ρ: the largest clock rate error (either way) the lease arithmetic assumes.
    pub drift_bound_ppm: u64,
    /// A client resends a call that got no answer after this long (to the next server).
    pub rpc_timeout_ms: u64,
    /// A queued acquire asks again after this long.
    pub poll_ms: u64,
    /// A blocking acquire gives up (and leaves the queue) after this long.
    pub acquire_wait_ms: u64,
    /// The "work" a holder does before each write to the resource: it checks its lease, then
    /// works this long, then writes without checking again (the gap a GC pause falls into).
    pub work_ms: u64,
    /// Check mutual exclusion of believed ownership in true time. Off only in scenarios that
    /// break exclusion on purpose to watch what fencing does at the resource.
    pub check_exclusion: bool,
    /// Raft election timeout (lower bound), server time.
    pub election_timeout_ms: u64,
    /// Raft heartbeat period.
    pub heartbeat_ms: u64,
    /// Workload: percentage of blocking acquires.
    pub acquire_percent: u64,
    /// Workload: percentage of try-acquires (the rest are releases).
    pub try_percent: u64,
}

impl Default for LockConfig {
    fn default() -> Self {
        LockConfig {
            servers: 3,
            client_nodes: 3,
            locks: 1,
            lease_ms: 300,
            keepalive_ms: 80,
            grace_ms: 400,
            lock_delay_ms: 100,
            drift_bound_ppm: 10_000,
            rpc_timeout_ms: 40,
            poll_ms: 15,
            acquire_wait_ms: 400,
            work_ms: 10,
            check_exclusion: true,
            election_timeout_ms: 100,
            heartbeat_ms: 20,
            acquire_percent: 40,
            try_percent: 15,
        }
    }
}

/// What a node is, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A cell server (Raft replica).
    Server,
    /// A client-library node.
    Client,
    /// The protected resource.
    Resource,
}

impl LockConfig {
    /// Checks the settings against each other and the layout against the cluster size.
    pub fn validate(&self, nodes: u32) -> Result<(), ConfigError> {
        within("servers", u64::from(self.servers), 1, u64::from(faultline_raft::MAX_NODES))?;
        within("client_nodes", u64::from(self.client_nodes), 1, 1_000)?;
        if nodes != self.nodes() {
            return Err(ConfigError::new(
                "nodes",
                format!(
                    "the lock layout needs nodes = servers + client_nodes + 1 = {} + {} + 1 = {}, not {nodes}",
                    self.servers,
                    self.client_nodes,
                    self.nodes()
                ),
            ));
        }
        within("locks", u64::from(self.locks), 1, u64::from(crate::cell::MAX_LOCKS))?;
        for (f, v) in [
            ("lease_ms", self.lease_ms),
            ("keepalive_ms", self.keepalive_ms),
            ("rpc_timeout_ms", self.rpc_timeout_ms),
            ("poll_ms", self.poll_ms),
            ("election_timeout_ms", self.election_timeout_ms),
            ("heartbeat_ms", self.heartbeat_ms),
        ] {
            ms(f, v, 1)?;
        }
        for (f, v) in [
            ("grace_ms", self.grace_ms),
            ("lock_delay_ms", self.lock_delay_ms),
            ("acquire_wait_ms", self.acquire_wait_ms),
            ("work_ms", self.work_ms),
        ] {
            ms(f, v, 0)?;
        }
        if self.keepalive_ms >= self.lease_ms {
            return Err(ConfigError::new(
                "keepalive_ms",
                format!(
                    "KeepAlives must come more often than the lease runs out: {} >= lease_ms {}",
                    self.keepalive_ms, self.lease_ms
                ),
            ));
        }
        within("drift_bound_ppm", self.drift_bound_ppm, 0, 999_999)?;
        percents(&[("acquire_percent", self.acquire_percent), ("try_percent", self.try_percent)])?;
        self.raft().validate(self.servers)
    }

    /// Nodes the layout needs.
    pub fn nodes(&self) -> u32 {
        self.servers + self.client_nodes + 1
    }

    /// The role of node `id`.
    pub fn role(&self, id: NodeId) -> Role {
        if id.0 < self.servers {
            Role::Server
        } else if id.0 < self.servers + self.client_nodes {
            Role::Client
        } else {
            Role::Resource
        }
    }

    /// The resource node.
    pub fn resource(&self) -> NodeId {
        NodeId(self.servers + self.client_nodes)
    }

    /// The Raft settings of the cell.
    pub fn raft(&self) -> RaftConfig<()> {
        RaftConfig {
            election_timeout_ms: self.election_timeout_ms,
            heartbeat_ms: self.heartbeat_ms,
            drift_bound_ppm: self.drift_bound_ppm,
            ..RaftConfig::default()
        }
    }

    /// The client's local lease for a grant of `lease_ms` master milliseconds, in local
    /// nanoseconds: the master's lease lasts at least `lease / (1 + ρ)` of true time, the
    /// client's `l` local nanoseconds at most `l / (1 − ρ)`, so `l = lease · (1 − ρ) / (1 + ρ)`
    /// ends first. `margin = false` is the planted bug that forgets the drift.
    pub fn client_lease_ns(&self, lease_ms: u64, margin: bool) -> u64 {
        let ns = u128::from(lease_ms) * 1_000_000;
        if !margin {
            return ns as u64;
        }
        let rho = u128::from(self.drift_bound_ppm.min(999_999));
        (ns * (1_000_000 - rho) / (1_000_000 + rho)) as u64
    }
}
