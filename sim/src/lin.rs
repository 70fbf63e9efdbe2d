//! Turning a linearizability verdict into violations, for protocols' `check_end`.

use crate::check::Violation;
use std::cell::{Cell, RefCell};

use faultline_lincheck::export::{ExportFormat, ExportedHistory};

use crate::report::HistoryCheck;
use faultline_lincheck::{Budget, CheckOptions, Model, Operation, Verdict};

/// Memory budget of one partition's search in a run's history check. Counted from the
/// checker's structure sizes, so the verdict is the same on every machine.
pub const DEFAULT_MEMORY_BUDGET_BYTES: u64 = faultline_lincheck::DEFAULT_MEMORY_BYTES;

thread_local! {
    /// The effort of the checks [`verdict`] ran on this thread since the last [`take_effort`]:
    /// the simulator reads it around `check_end` (a simulation runs on one thread), so the run
    /// report can show it without every protocol passing it back.
    static EFFORT: Cell<Option<HistoryCheck>> = const { Cell::new(None) };
}

thread_local! {
    /// The format [`verdict`] should write the checked histories in, and what it wrote (one per
    /// call: a protocol may check several, e.g. one per lock).
    static EXPORT: Cell<Option<ExportFormat>> = const { Cell::new(None) };
    static EXPORTED: RefCell<Vec<ExportedHistory>> = const { RefCell::new(Vec::new()) };
}

/// Asks the next [`verdict`] calls on this thread to write their history out (or not).
pub(crate) fn request_export(format: Option<ExportFormat>) {
    EXPORT.with(|e| e.set(format));
    EXPORTED.with(|e| e.borrow_mut().clear());
}

/// Takes the histories written out since [`request_export`], and stops exporting.
pub(crate) fn take_export() -> Vec<ExportedHistory> {
    EXPORT.with(|e| e.set(None));
    EXPORTED.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

/// Takes (and clears) the effort recorded on this thread.
pub(crate) fn take_effort() -> Option<HistoryCheck> {
    EFFORT.with(|e| e.take())
}

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
    if let Some(format) = EXPORT.with(Cell::get) {
        if let Some(h) = model.export(ops, format) {
            EXPORTED.with(|e| e.borrow_mut().push(h));
        }
    }
    let budget = Budget { max_states, max_wall_ms: None, max_memory_bytes: Some(DEFAULT_MEMORY_BUDGET_BYTES) };
    let opts = CheckOptions { budget, minimize: true, threads: 1 };
    let (v, effort) = faultline_lincheck::check_with_effort(model, ops, &opts);
    EFFORT.with(|e| {
        let a = e.get().unwrap_or_default();
        e.set(Some(HistoryCheck { states: a.states + effort.states, peak_bytes: a.peak_bytes.max(effort.peak_bytes) }));
    });
    match v {
        Verdict::Linearizable => None,
        Verdict::NotLinearizable(e) => {
            out.push(Violation::new(invariant, None, e.summary().trim_end().replace('\n', "; ")));
            None
        }
        Verdict::Unknown(reason) => Some(format!("{invariant}: {reason}")),
    }
}
