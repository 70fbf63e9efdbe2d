//! The planted bugs, each a real-world lock-service mistake, each caught by a named check.

use faultline_sim::prelude::{BugInfo, Bugs};

/// The planted bugs (`Protocol::BUGS`).
pub const LOCK_BUGS: &[BugInfo] = &[
    BugInfo {
        name: "lock.absolute-deadline",
        breaks: "the client takes the master's absolute lease deadline and compares it with its own clock, \
                 so a client whose clock is behind the master's believes in its lease too long",
        caught_by: "lock.mutual-exclusion",
        scenarios: &["lock-client-partition"],
    },
    BugInfo {
        name: "lock.lease-from-reply",
        breaks: "the client starts timing its lease when the answer arrives instead of before it sent the \
                 KeepAlive, so its lease outlives the master's by the call's latency",
        caught_by: "lock.mutual-exclusion",
        scenarios: &["lock-client-partition"],
    },
    BugInfo {
        name: "lock.no-drift-margin",
        breaks: "the client's local lease is the master's full lease, with no margin for the drift bound, so \
                 a slow client clock outlives the master's lease",
        caught_by: "lock.mutual-exclusion",
        scenarios: &["lock-drift-within"],
    },
    BugInfo {
        name: "lock.no-fencing",
        breaks: "the resource accepts writes whatever their sequencer, so a paused old holder's write lands \
                 after the new holder's",
        caught_by: "lock.fencing",
        scenarios: &["lock-gc-pause-fenced"],
    },
    BugInfo {
        name: "lock.memory-generation",
        breaks: "the master numbers grants from a counter in its memory, so after a fail-over the new master \
                 hands out generation numbers already used",
        caught_by: "lock.token-monotonic",
        scenarios: &["lock-failover"],
    },
    BugInfo {
        name: "lock.keepalive-revives",
        breaks: "a KeepAlive for an expired session renews it, so a session whose locks were freed comes back",
        caught_by: "lock.expired-session",
        scenarios: &["lock-client-partition"],
    },
    BugInfo {
        name: "lock.early-takeover",
        breaks: "a new master starts its sessions' lease timers at zero instead of a full lease, so it expires \
                 sessions (and regrants their locks) while leases the old master granted still run",
        caught_by: "lock.failover-lease",
        scenarios: &["lock-failover"],
    },
    BugInfo {
        name: "lock.waiter-no-recheck",
        breaks: "a freed lock goes to the head of its queue without re-checking that the waiter's session is \
                 still alive (the 2020 etcd lock bug), so an expired session gets the lock",
        caught_by: "lock.expired-session",
        scenarios: &["lock-client-partition"],
    },
    BugInfo {
        name: "lock.client-wall-clock",
        breaks: "the client library times its lease on the wall clock instead of the monotonic one, so a \
                 clock stepped back while it is cut off keeps it believing in a lock the master gave away",
        caught_by: "lock.mutual-exclusion",
        scenarios: &["lock-client-clock-jump"],
    },
    // Bugs of the Raft every cell server embeds, passed through to it: they show Raft's own
    // invariants run inside lock runs.
    BugInfo {
        name: "lock.raft-send-before-sync",
        breaks: "a cell server acknowledges Raft entries before syncing them, so a crash loses entries the \
                 master counted as replicated",
        caught_by: "raft.ack-durable",
        scenarios: &["lock-failover"],
    },
    BugInfo {
        name: "lock.raft-term-in-memory",
        breaks: "a cell server keeps its Raft term and vote only in memory: after a restart it can vote \
                 twice in a term, and two masters can be elected",
        caught_by: "raft.vote-durable",
        scenarios: &["lock-failover"],
    },
];

/// The Raft bugs among `bugs`, for the Raft a cell server embeds.
pub(crate) fn raft_bugs(bugs: Bugs) -> Bugs {
    // `lock.raft-X` is Raft's `raft.X`.
    let names: Vec<String> =
        bugs.names().into_iter().filter_map(|n| n.strip_prefix("lock.raft-")).map(|n| format!("raft.{n}")).collect();
    Bugs::resolve(faultline_raft::RAFT_BUGS, &names).expect("the lock declares only bugs Raft has")
}

/// The bugs switched on, resolved once at start.
#[derive(Clone, Copy, Debug, Default)]
pub struct BugFlags {
    /// `lock.absolute-deadline`.
    pub absolute_deadline: bool,
    /// `lock.lease-from-reply`.
    pub lease_from_reply: bool,
    /// `lock.no-drift-margin`.
    pub no_drift_margin: bool,
    /// `lock.no-fencing`.
    pub no_fencing: bool,
    /// `lock.memory-generation`.
    pub memory_generation: bool,
    /// `lock.keepalive-revives`.
    pub keepalive_revives: bool,
    /// `lock.early-takeover`.
    pub early_takeover: bool,
    /// `lock.waiter-no-recheck`.
    pub waiter_no_recheck: bool,
    /// `lock.client-wall-clock`.
    pub client_wall_clock: bool,
}

impl From<Bugs> for BugFlags {
    fn from(b: Bugs) -> Self {
        BugFlags {
            absolute_deadline: b.has("lock.absolute-deadline"),
            lease_from_reply: b.has("lock.lease-from-reply"),
            no_drift_margin: b.has("lock.no-drift-margin"),
            no_fencing: b.has("lock.no-fencing"),
            memory_generation: b.has("lock.memory-generation"),
            keepalive_revives: b.has("lock.keepalive-revives"),
            early_takeover: b.has("lock.early-takeover"),
            waiter_no_recheck: b.has("lock.waiter-no-recheck"),
            client_wall_clock: b.has("lock.client-wall-clock"),
        }
    }
}
