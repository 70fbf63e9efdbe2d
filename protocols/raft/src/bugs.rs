//! Raft's planted bugs: real-world mistakes, each switched on with `--bug raft.NAME` and each
//! caught by a named check in the Raft scenarios.

use faultline_sim::prelude::{BugInfo, Bugs};

/// The planted bugs (the table [`crate::Raft`] declares as `Protocol::BUGS`).
pub const RAFT_BUGS: &[BugInfo] = &[
    BugInfo {
        name: "raft.commit-prior-term",
        breaks: "the leader commits an entry of an earlier term by counting its replicas (Raft paper, Figure 8), \
                 so a later leader without it can overwrite a committed entry",
        caught_by: "raft.leader-completeness",
        scenarios: &["raft-figure8", "raft-leader-crashes"],
    },
    BugInfo {
        name: "raft.term-in-memory",
        breaks: "term and vote are kept only in memory: after a restart a node can vote twice in a term",
        caught_by: "raft.vote-durable",
        scenarios: &["raft-steady"],
    },
    BugInfo {
        name: "raft.vote-persisted-after-reply",
        breaks: "a voter sends its vote before the vote is synced, so a crash can forget a vote that counted",
        caught_by: "raft.vote-durable",
        scenarios: &["raft-steady"],
    },
    BugInfo {
        name: "raft.vote-skips-log-check",
        breaks: "a voter grants its vote without the up-to-date check, so a candidate missing committed \
                 entries can win",
        caught_by: "raft.leader-completeness",
        scenarios: &["raft-leader-isolated"],
    },
    BugInfo {
        name: "raft.follower-commit-no-min",
        breaks: "a follower takes the min of leaderCommit with its last log index instead of the last entry \
                 the AppendEntries matched, so an empty heartbeat commits a stale tail",
        caught_by: "raft.state-machine-safety",
        scenarios: &["raft-leader-isolated", "raft-flapping"],
    },
    BugInfo {
        name: "raft.truncate-always",
        breaks: "a follower truncates its log after prevLogIndex on every AppendEntries, even a matching, \
                 delayed one, dropping entries it acknowledged",
        caught_by: "raft.commit-durable",
        scenarios: &["raft-steady"],
    },
    BugInfo {
        name: "raft.send-before-sync",
        breaks: "a follower acknowledges entries before syncing them, so a crash loses entries a leader \
                 counted as replicated",
        caught_by: "raft.ack-durable",
        scenarios: &["raft-steady"],
    },
    BugInfo {
        name: "raft.lease-without-check-quorum",
        breaks: "the leader serves lease reads although check-quorum (and with it the voters' lease) is off, \
                 so another leader can be elected during the lease",
        caught_by: "raft.lease-exclusive",
        scenarios: &["raft-lease-no-check-quorum"],
    },
    BugInfo {
        name: "raft.lease-no-drift-margin",
        breaks: "the lease lasts a full election timeout of the leader's clock, with no margin for clock \
                 drift, so it can outlive the voters' promise",
        caught_by: "raft.lease-exclusive",
        scenarios: &["raft-lease-drift"],
    },
    BugInfo {
        name: "raft.lease-through-transfer",
        breaks: "a leader that gave up a leadership transfer after sending TimeoutNow serves lease reads \
                 again, although the target may still act on that message and win with votes that skip \
                 the voters' lease",
        caught_by: "raft.lease-exclusive",
        scenarios: &["raft-lease-transfer"],
    },
    BugInfo {
        name: "raft.lease-wall-clock",
        breaks: "leases and leader stickiness are measured on the wall clock instead of the monotonic one, so \
                 a clock stepped back keeps a deposed leader's lease alive (and one stepped forward ends a \
                 voter's promise early)",
        caught_by: "raft.lease-exclusive",
        scenarios: &["raft-lease-clock-jump"],
    },
    BugInfo {
        name: "raft.config-before-term-commit",
        breaks: "a new leader appends a membership change before it committed an entry of its own term, so a \
                 configuration it never saw (appended by a deposed leader) and its own can both elect or \
                 commit without overlapping (Ongaro, raft-dev 2015)",
        caught_by: "raft.leader-completeness",
        scenarios: &["raft-config-before-commit"],
    },
    BugInfo {
        name: "raft.no-dedup",
        breaks: "the state machine applies a retried command again instead of answering it from the client \
                 session",
        caught_by: "raft.linearizable",
        scenarios: &["raft-steady"],
    },
];

/// The bugs switched on, resolved once at start.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BugFlags {
    pub commit_prior_term: bool,
    pub term_in_memory: bool,
    pub vote_persisted_after_reply: bool,
    pub vote_skips_log_check: bool,
    pub follower_commit_no_min: bool,
    pub truncate_always: bool,
    pub send_before_sync: bool,
    pub lease_without_check_quorum: bool,
    pub lease_no_drift_margin: bool,
    pub lease_through_transfer: bool,
    pub lease_wall_clock: bool,
    pub config_before_term_commit: bool,
    pub no_dedup: bool,
}

impl From<Bugs> for BugFlags {
    fn from(b: Bugs) -> Self {
        BugFlags {
            commit_prior_term: b.has("raft.commit-prior-term"),
            term_in_memory: b.has("raft.term-in-memory"),
            vote_persisted_after_reply: b.has("raft.vote-persisted-after-reply"),
            vote_skips_log_check: b.has("raft.vote-skips-log-check"),
            follower_commit_no_min: b.has("raft.follower-commit-no-min"),
            truncate_always: b.has("raft.truncate-always"),
            send_before_sync: b.has("raft.send-before-sync"),
            lease_without_check_quorum: b.has("raft.lease-without-check-quorum"),
            lease_no_drift_margin: b.has("raft.lease-no-drift-margin"),
            lease_through_transfer: b.has("raft.lease-through-transfer"),
            lease_wall_clock: b.has("raft.lease-wall-clock"),
            config_before_term_commit: b.has("raft.config-before-term-commit"),
            no_dedup: b.has("raft.no-dedup"),
        }
    }
}
