//! Turning a linearizability verdict into violations, for protocols' `check_end`.

use crate::check::Violation;
use faultline_lincheck::{Budget, CheckOptions, Model, Operation, Verdict};

/// Explored-state budget per partition when a protocol does not say: enough for every history
/// the shipped scenarios produce, and bounded so a run always ends (the checker's cache costs
/// a few hundred bytes per state).
pub const DEFAULT_STATE_BUDGET: u64 = 2_000_000;

/// Checks `ops` against `model`; pushes a violation of `invariant` if they are not linearizable,
/// and returns `Some(reason)` if the check ran out of budget. Only the explored-state budget
/// (`max_states` per partition: pass [`crate::protocol::View::history_budget`]) is used, never
/// wall time, so the verdict is the same on every machine. It runs on the calling thread: a
/// simulation stays single-threaded, and a sweep already keeps every core busy.
pub fn verdict<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    invariant: &str,
    max_states: u64,
    out: &mut Vec<Violation>,
) -> Option<String> {
    let opts = CheckOptions { budget: Budget { max_states, max_wall_ms: None }, minimize: true, threads: 1 };
    match faultline_lincheck::check_with(model, ops, &opts) {
        Verdict::Linearizable => None,
        Verdict::NotLinearizable(e) => {
            out.push(Violation::new(invariant, None, e.summary().trim_end().replace('\n', "; ")));
            None
        }
        Verdict::Unknown(reason) => Some(format!("{invariant}: {reason}")),
    }
}
