//! Linearizability checking of client histories.
//!
//! A history is a list of [`Operation`]s: who called what, when the call started, when (and whether)
//! it returned and with which answer. [`check`] decides whether the history is linearizable with
//! respect to a sequential [`Model`]: whether every completed operation can be given a single
//! instant inside its call/return interval such that running the operations one by one, in the
//! order of those instants, on the model gives every recorded answer.
//!
//! Two engines, run in turn on each part until one has a verdict:
//!
//! - a depth-first search, Wing & Gong's with Lowe's just-in-time linearization and a cache of
//!   visited configurations (as in Porcupine): the calls and returns form a doubly linked list;
//!   linearizing an operation *lifts* its call and return out of the list, backtracking *unlifts*
//!   them; a configuration is the set of linearized operations (a bitset) plus the model state, and
//!   none is explored twice. Short and easy histories end here (a quick, bounded first try);
//! - a frontier search (`frontier.rs`) that sweeps the history once in time order keeping only the
//!   configurations possible at the current instant, with exact reductions (reads linearized as
//!   soon as legal, interchangeable pending operations used earliest-first) and a relaxed first
//!   pass whose empty frontier proves a history not linearizable. Its memory is the frontier, not
//!   the history, so long histories cost about linear time and hard ones (stale reads at high
//!   concurrency) get definite verdicts. It is tested against the exhaustive search on random
//!   histories (`checker.rs`, `engines`).
//!
//! The depth-first search with the remaining budget is the last resort.
//! Independent parts of a history (per key, see [`Model::partition`]) are checked separately and in
//! parallel (P-compositionality); the verdict never depends on thread scheduling, except that a
//! wall-clock budget may run out at different points.
//!
//! Operations that never completed (timeouts, crashes, Jepsen `:info`) have `ret: None`: they may
//! have taken effect at any point after their call, or never.
//!
//! ```
//! use faultline_lincheck::{check, Budget, Operation, Verdict};
//! use faultline_lincheck::models::{CasRegister, RegisterInput, RegisterOutput};
//!
//! let ops = vec![
//!     Operation { client: 0, call: 0, ret: Some(10), input: RegisterInput::Write(1), output: Some(RegisterOutput::Write) },
//!     Operation { client: 1, call: 5, ret: Some(6), input: RegisterInput::Read, output: Some(RegisterOutput::Read(Some(1))) },
//!     Operation { client: 1, call: 7, ret: Some(8), input: RegisterInput::Read, output: Some(RegisterOutput::Read(None)) },
//! ];
//! // The second read saw the old value after the first one saw the new: not linearizable.
//! let verdict = check(&CasRegister::default(), &ops, &Budget::default());
//! assert!(matches!(verdict, Verdict::NotLinearizable(_)));
//! ```
//!
//! Recorded histories (Jepsen logs, Jepsen EDN, faultline JSON) are read by [`formats`], and
//! [`check_history_files`] implements the `faultline check-history` command.

#![warn(missing_docs)]

mod checker;
mod command;
mod edn;
mod explain;
pub mod export;
pub mod formats;
mod frontier;
pub mod gen;
mod hash;
pub mod models;

use std::fmt::Debug;
use std::hash::Hash;

pub use checker::{check, check_with, check_with_effort, CheckOptions, Effort};
pub use command::{check_history_files, explain_text, models, CheckHistoryOptions, HistoryOutcome};
pub use explain::{explain_html, explain_html_page, explain_section, Explanation, OpSummary, EXPLAIN_STYLE};
pub use formats::{Format, InputError};

/// A sequential specification: the object the history is supposed to behave like.
///
/// `step` is the heart of it: from `state`, may the operation `input` have answered `output`, and if
/// so, which state follows? Models must be deterministic functions of their arguments, and `Sync`
/// (with `Sync` inputs and outputs) because partitions are checked on several threads.
pub trait Model: Sync {
    /// The model's state. Equal states must behave identically; the checker caches
    /// (linearized operations, state) pairs by this equality and hash.
    type State: Clone + Eq + Hash;
    /// What a client asked for.
    type Input: Debug + Sync;
    /// What the client was told.
    type Output: Debug + Sync;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// `Some(next)` when `input` answered with `output` is legal in `state`, `None` otherwise.
    fn step(&self, state: &Self::State, input: &Self::Input, output: &Self::Output) -> Option<Self::State>;

    /// The state after `input` took effect without its answer ever being observed (the operation
    /// timed out or its client crashed), or `None` when it cannot take effect in `state` (for
    /// example, acquiring a held lock). The default says a pending operation never takes effect,
    /// which is only right for read-only operations: override it for anything that writes.
    fn step_pending(&self, state: &Self::State, input: &Self::Input) -> Option<Self::State> {
        let _ = input;
        Some(state.clone())
    }

    /// Whether `input` answered with `output` leaves every state unchanged: [`Model::step`] returns
    /// `None` or `Some(state.clone())` for every `state` (a read, a compare-and-set that did not
    /// swap). The checker then linearizes such an operation as soon as it is legal instead of
    /// trying it at every later point, which is exact: any linearization can be rewritten to take
    /// it at the first legal instant. The default, `false`, is always safe.
    fn read_only(&self, input: &Self::Input, output: &Self::Output) -> bool {
        let _ = (input, output);
        false
    }

    /// What `input` does when it takes effect without an answer ever being seen, if it has one
    /// of the simple shapes of [`PendingEffect`] (agreeing with [`Model::step_pending`]). The
    /// checker then treats pending operations with the same effect as interchangeable (only the
    /// earliest-called unused one is ever used, which is exact) and finds the useful ones by
    /// state instead of trying each. The default, `None`, is always safe.
    fn pending_effect(&self, input: &Self::Input) -> Option<PendingEffect<Self::State>> {
        let _ = input;
        None
    }

    /// The history written out for `check-history` and other tools, if this model knows how
    /// (the shipped models do); `None`, the default, when it does not.
    fn export(
        &self,
        ops: &[Operation<Self::Input, Self::Output>],
        format: export::ExportFormat,
    ) -> Option<export::ExportedHistory> {
        let _ = (ops, format);
        None
    }

    /// Splits the history into independent parts (e.g. one per key) that are checked separately:
    /// the whole history is linearizable iff every part is (P-compositionality). Each inner vector
    /// lists indices into `ops`, in increasing order. The default is one part with everything.
    fn partition(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Vec<Vec<usize>> {
        vec![(0..ops.len()).collect()]
    }

    /// A short label for a part returned by [`Model::partition`], used in explanations
    /// (e.g. `key "x"`). `part` lists indices into `ops`.
    fn describe_partition(&self, ops: &[Operation<Self::Input, Self::Output>], part: &[usize]) -> String {
        let _ = (ops, part);
        String::new()
    }

    /// A human-readable rendering of one operation for explanations.
    fn describe(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(o) => format!("{input:?} -> {o:?}"),
            None => format!("{input:?} -> ?"),
        }
    }

    /// A version of this model tuned for checking exactly `ops` (e.g. with every string the history
    /// mentions interned), or `None` to use `self` as is. [`check`] calls it once per history.
    fn specialize(&self, ops: &[Operation<Self::Input, Self::Output>]) -> Option<Self>
    where
        Self: Sized,
    {
        let _ = ops;
        None
    }
}

/// The effect of a pending operation, as [`Model::pending_effect`] describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PendingEffect<S> {
    /// It never changes the state (a read): `step_pending(s)` is `Some(s)` or `None` for every `s`.
    Nothing,
    /// A blind write: `step_pending(s) == Some(state)` for every `s`.
    Blind(S),
    /// A conditional write (a compare-and-set): `step_pending(when) == Some(then)`, and in every
    /// other state it changes nothing (`Some(s)` or `None`).
    Conditional {
        /// The only state in which it has an effect.
        when: S,
        /// The state it leaves there.
        then: S,
    },
}

/// One client operation of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// Which client issued it (a lane in explanations; the checker does not require a client's
    /// operations to be sequential).
    pub client: u64,
    /// When the call started (any monotonic unit, e.g. ns or event index).
    pub call: u64,
    /// When the answer arrived; `None` if it never did: the operation may have taken effect at any
    /// point after `call`, or never.
    pub ret: Option<u64>,
    /// What was asked.
    pub input: I,
    /// The answer; `None` exactly when `ret` is `None`.
    pub output: Option<O>,
}

/// The result of a linearizability check.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Some order of the operations explains every answer.
    Linearizable,
    /// No order does; the explanation says where the search got stuck.
    NotLinearizable(Box<Explanation>),
    /// The budget ran out before a verdict; the string says which budget.
    Unknown(String),
}

impl Verdict {
    /// True for [`Verdict::Linearizable`].
    pub fn is_linearizable(&self) -> bool {
        matches!(self, Verdict::Linearizable)
    }
}

impl std::fmt::Display for Verdict {
    /// `linearizable`, `not linearizable` or `unknown (why)`, as `check-history` prints them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Linearizable => f.write_str("linearizable"),
            Verdict::NotLinearizable(_) => f.write_str("not linearizable"),
            Verdict::Unknown(why) => write!(f, "unknown ({why})"),
        }
    }
}

/// How much work a check may do before answering [`Verdict::Unknown`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Most distinct configurations (linearized set, model state) explored *per partition*. Counting
    /// per partition keeps the verdict independent of thread scheduling.
    pub max_states: u64,
    /// Wall-clock limit for the whole check, in milliseconds (the only source of nondeterminism).
    pub max_wall_ms: Option<u64>,
    /// Most bytes one partition's search structures may hold (counted from their sizes, so the
    /// verdict stays the same on every machine).
    pub max_memory_bytes: Option<u64>,
}

/// The default memory budget: 1 GiB.
pub const DEFAULT_MEMORY_BYTES: u64 = 1 << 30;

impl Budget {
    /// No limit at all: the check runs until it has a verdict.
    pub fn unlimited() -> Budget {
        Budget { max_states: u64::MAX, max_wall_ms: None, max_memory_bytes: None }
    }
}

impl Default for Budget {
    /// 5 million states per partition, one minute of wall time and 1 GiB per partition's search.
    /// The depth-first search's cache keeps every explored state, at about n/8 + 40 bytes plus the
    /// model state for a part of n operations; the frontier search keeps only the configurations
    /// possible at one point of the history.
    fn default() -> Budget {
        Budget { max_states: 5_000_000, max_wall_ms: Some(60_000), max_memory_bytes: Some(DEFAULT_MEMORY_BYTES) }
    }
}
