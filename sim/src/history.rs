//! The client history: every operation a client invoked, with true-time stamps and outcome.

use serde::{Deserialize, Serialize};

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Completed with an answer.
    Ok,
    /// Definitely did not take effect (every attempt was rejected).
    Failed,
    /// Unknown: timed out, or its node crashed, or the run ended first. It may take effect at
    /// any point after its invocation, or never. Never treat it as failed.
    Indeterminate,
}

/// One client operation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Op<I, O> {
    /// The client that issued it.
    pub client: u32,
    /// The client's sequence number for it.
    pub seq: u32,
    /// True time of invocation (ns).
    pub call_ns: u64,
    /// True time the answer arrived (ns); `None` unless [`Outcome::Ok`] or [`Outcome::Failed`].
    pub return_ns: Option<u64>,
    /// The request.
    pub input: I,
    /// The answer, when `Ok`.
    pub output: Option<O>,
    /// How it ended.
    pub outcome: Outcome,
    /// How many times the client sent it (1 = no retry).
    pub attempts: u32,
}

/// A run's client history, in invocation order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct History<I, O> {
    /// Operations in invocation order.
    pub ops: Vec<Op<I, O>>,
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        History { ops: Vec::new() }
    }
}

impl<I, O> History<I, O> {
    /// Operations that completed `Ok`.
    pub fn ok(&self) -> impl Iterator<Item = &Op<I, O>> {
        self.ops.iter().filter(|o| o.outcome == Outcome::Ok)
    }
}
