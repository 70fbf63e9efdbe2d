//! Violations, verdicts and `sometimes` coverage marks.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The invariant's name, `PROTOCOL.NAME` or `sim.NAME` (e.g. `raft.election-safety`).
    pub invariant: String,
    /// True time of detection, whole milliseconds.
    pub at_ms: u64,
    /// True time of detection, nanoseconds.
    pub at_ns: u64,
    /// The node it concerns, if one.
    pub node: Option<u32>,
    /// What was seen.
    pub detail: String,
}

impl Violation {
    /// A violation of `invariant` at node `node`, stamped by the simulator.
    pub fn new(invariant: impl Into<String>, node: Option<crate::protocol::NodeId>, detail: impl Into<String>) -> Self {
        Violation { invariant: invariant.into(), at_ms: 0, at_ns: 0, node: node.map(|n| n.0), detail: detail.into() }
    }
}

/// The outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check passed.
    Pass,
    /// A check failed.
    Fail,
    /// A check or the run itself ran out of budget before deciding.
    Unknown,
}

impl Verdict {
    /// The process exit code the contract assigns.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::Unknown => 3,
        }
    }

    /// `pass`, `fail` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Unknown => "unknown",
        }
    }
}

/// Counts of `sometimes` marks hit during a run, by name (sorted, for stable output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marks(pub BTreeMap<String, u64>);

impl Marks {
    /// Counts one hit of `mark`.
    #[inline]
    pub fn hit(&mut self, mark: &'static str) {
        // Look up before inserting so the common case allocates nothing.
        if let Some(c) = self.0.get_mut(mark) {
            *c += 1;
        } else {
            self.0.insert(mark.to_string(), 1);
        }
    }

    /// Hits of `mark` so far.
    pub fn get(&self, mark: &str) -> u64 {
        self.0.get(mark).copied().unwrap_or(0)
    }
}
