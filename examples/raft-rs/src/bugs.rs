//! The adapter's planted bugs: mistakes an integrator of raft-rs makes, each switched on with
//! `--bug raft-rs.NAME` and each caught by a named check.

use faultline_sim::prelude::{BugInfo, Bugs};

/// The planted bugs (the table [`crate::RaftRs`] declares as `Protocol::BUGS`).
pub const RAFT_RS_BUGS: &[BugInfo] = &[
    BugInfo {
        name: "raft-rs.send-before-sync",
        breaks: "the adapter sends `Ready::persisted_messages` (a candidate's vote requests, votes, append acknowledgements) \
                 Ready's entries and hard state are synced, so a crash forgets what the messages promised",
        caught_by: "raft-rs.vote-durable",
        scenarios: &["raft-rs-steady", "raft-rs-crash-storm"],
    },
    BugInfo {
        name: "raft-rs.no-dedup",
        breaks: "the state machine applies a retried client command again instead of answering it from the \
                 client's session",
        caught_by: "raft-rs.linearizable",
        scenarios: &["raft-rs-steady"],
    },
    BugInfo {
        name: "raft-rs.stale-read",
        breaks: "a node that believes it leads answers gets from its own applied state without a ReadIndex \
                 round, so a deposed leader serves values a newer leader has overwritten",
        caught_by: "raft-rs.linearizable",
        scenarios: &["raft-rs-partitions", "raft-rs-partial-connectivity"],
    },
    BugInfo {
        name: "raft-rs.thread-rng",
        breaks: "the adapter leaves raft-rs's randomized election timeout as raft-rs draws it, from \
                 `rand::thread_rng()`, so the same seed no longer gives the same run",
        caught_by: "sim.nondeterminism",
        scenarios: &["raft-rs-crash-storm"],
    },
];

/// The bugs switched on, resolved once at start.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BugFlags {
    pub send_before_sync: bool,
    pub no_dedup: bool,
    pub stale_read: bool,
    pub thread_rng: bool,
}

impl From<Bugs> for BugFlags {
    fn from(b: Bugs) -> Self {
        BugFlags {
            send_before_sync: b.has("raft-rs.send-before-sync"),
            no_dedup: b.has("raft-rs.no-dedup"),
            stale_read: b.has("raft-rs.stale-read"),
            thread_rng: b.has("raft-rs.thread-rng"),
        }
    }
}
