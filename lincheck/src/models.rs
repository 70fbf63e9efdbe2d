//! Ready-made models: registers, a key-value store (per key or as one map) and a mutex.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use crate::export::{self, ExportFormat, ExportedHistory};
use crate::hash::mix64;
use crate::{Model, Operation, PendingEffect};

// ---------------------------------------------------------------------------------------------
// Registers

/// What a register client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterInput {
    /// Read the value.
    Read,
    /// Overwrite the value.
    Write(i64),
    /// Set the value to `new` if it equals `expected`.
    Cas {
        /// The value the client expects.
        expected: i64,
        /// The value to install.
        new: i64,
    },
}

/// What a register client was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// The value read; `None` for nil (never written).
    Read(Option<i64>),
    /// The write was acknowledged.
    Write,
    /// Whether the compare-and-set swapped.
    Cas(bool),
}

fn show(v: Option<i64>) -> String {
    v.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

fn register_step(
    state: Option<i64>,
    input: &RegisterInput,
    output: &RegisterOutput,
    allow_cas: bool,
) -> Option<Option<i64>> {
    match (input, output) {
        (RegisterInput::Read, RegisterOutput::Read(v)) => (*v == state).then_some(state),
        (RegisterInput::Write(v), RegisterOutput::Write) => Some(Some(*v)),
        (RegisterInput::Cas { expected, new }, RegisterOutput::Cas(ok)) if allow_cas => {
            let matches = state == Some(*expected);
            match (matches, ok) {
                (true, true) => Some(Some(*new)),
                (false, false) => Some(state),
                _ => None,
            }
        }
        _ => None,
    }
}

fn register_pending(state: Option<i64>, input: &RegisterInput, allow_cas: bool) -> Option<Option<i64>> {
    match input {
        RegisterInput::Read => Some(state),
        RegisterInput::Write(v) => Some(Some(*v)),
        RegisterInput::Cas { expected, new } if allow_cas => {
            Some(if state == Some(*expected) { Some(*new) } else { state })
        }
        RegisterInput::Cas { .. } => None,
    }
}

fn register_describe(input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
    match (input, output) {
        (RegisterInput::Read, Some(RegisterOutput::Read(v))) => format!("read -> {}", show(*v)),
        (RegisterInput::Read, _) => "read -> ?".to_string(),
        (RegisterInput::Write(v), None) => format!("write {v} (never returned)"),
        (RegisterInput::Write(v), _) => format!("write {v}"),
        (RegisterInput::Cas { expected, new }, Some(RegisterOutput::Cas(ok))) => {
            format!("cas {expected} -> {new}: {}", if *ok { "swapped" } else { "did not swap" })
        }
        (RegisterInput::Cas { expected, new }, _) => format!("cas {expected} -> {new}: ?"),
    }
}

/// The two registers differ only in whether a `Cas` input is legal.
macro_rules! register_model {
    ($model:ident, $allow_cas:expr) => {
        impl Model for $model {
            type State = Option<i64>;
            type Input = RegisterInput;
            type Output = RegisterOutput;
            fn init(&self) -> Option<i64> {
                self.init
            }
            fn step(&self, s: &Option<i64>, i: &RegisterInput, o: &RegisterOutput) -> Option<Option<i64>> {
                register_step(*s, i, o, $allow_cas)
            }
            fn step_pending(&self, s: &Option<i64>, i: &RegisterInput) -> Option<Option<i64>> {
                register_pending(*s, i, $allow_cas)
            }
            fn read_only(&self, _: &RegisterInput, o: &RegisterOutput) -> bool {
                matches!(o, RegisterOutput::Read(_) | RegisterOutput::Cas(false))
            }
            fn pending_effect(&self, i: &RegisterInput) -> Option<PendingEffect<Option<i64>>> {
                match i {
                    RegisterInput::Read => Some(PendingEffect::Nothing),
                    RegisterInput::Write(v) => Some(PendingEffect::Blind(Some(*v))),
                    RegisterInput::Cas { expected, new } if $allow_cas => {
                        Some(PendingEffect::Conditional { when: Some(*expected), then: Some(*new) })
                    }
                    // Never legal: it changes nothing.
                    RegisterInput::Cas { .. } => Some(PendingEffect::Nothing),
                }
            }
            fn describe(&self, i: &RegisterInput, o: Option<&RegisterOutput>) -> String {
                register_describe(i, o)
            }
            fn export(
                &self,
                ops: &[Operation<RegisterInput, RegisterOutput>],
                format: ExportFormat,
            ) -> Option<ExportedHistory> {
                let model = if $allow_cas { "cas-register" } else { "register" };
                Some(ExportedHistory { model, init: self.init, format, text: export::write(ops, format) })
            }
        }
    };
}

/// A read/write register (no compare-and-set; a `Cas` input is never legal). Starts as `init`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Register {
    /// The initial value; `None` is nil.
    pub init: Option<i64>,
}

register_model!(Register, false);

/// A register with read, write and compare-and-set (Jepsen's `cas-register`). Starts as `init`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CasRegister {
    /// The initial value; `None` (the default) is nil.
    pub init: Option<i64>,
}

register_model!(CasRegister, true);

// ---------------------------------------------------------------------------------------------
// Mutex

/// What a lock client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MutexInput {
    /// Take the lock.
    Acquire,
    /// Give it back.
    Release,
}

/// What a lock client was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MutexOutput {
    /// True when the operation succeeded; a failed operation had no effect.
    pub ok: bool,
}

/// A lock without owners: `acquire` succeeds only when free, `release` only when held.
/// The state is `true` while held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mutex;

impl Model for Mutex {
    type State = bool;
    type Input = MutexInput;
    type Output = MutexOutput;
    fn init(&self) -> bool {
        false
    }
    fn export(&self, ops: &[Operation<MutexInput, MutexOutput>], format: ExportFormat) -> Option<ExportedHistory> {
        Some(ExportedHistory { model: "mutex", init: None, format, text: export::write(ops, format) })
    }
    fn step(&self, held: &bool, i: &MutexInput, o: &MutexOutput) -> Option<bool> {
        if !o.ok {
            return Some(*held);
        }
        match i {
            MutexInput::Acquire => (!*held).then_some(true),
            MutexInput::Release => (*held).then_some(false),
        }
    }
    fn step_pending(&self, held: &bool, i: &MutexInput) -> Option<bool> {
        self.step(held, i, &MutexOutput { ok: true })
    }
    fn read_only(&self, _: &MutexInput, o: &MutexOutput) -> bool {
        !o.ok
    }
    fn pending_effect(&self, i: &MutexInput) -> Option<PendingEffect<bool>> {
        let held = *i == MutexInput::Release;
        Some(PendingEffect::Conditional { when: held, then: !held })
    }
    fn describe(&self, i: &MutexInput, o: Option<&MutexOutput>) -> String {
        let what = match i {
            MutexInput::Acquire => "acquire",
            MutexInput::Release => "release",
        };
        match o {
            Some(MutexOutput { ok: true }) => format!("{what}: ok"),
            Some(MutexOutput { ok: false }) => format!("{what}: failed"),
            None => format!("{what}: ?"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Key-value store

/// What a key-value client asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvInput {
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Replace a key's value.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Concatenate to a key's value.
    Append {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
    /// Set the key to `new` if its value equals `expected`.
    Cas {
        /// The key.
        key: String,
        /// The value the client expects.
        expected: String,
        /// The value to install.
        new: String,
    },
}

impl KvInput {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get { key }
            | KvInput::Put { key, .. }
            | KvInput::Append { key, .. }
            | KvInput::Cas { key, .. } => key,
        }
    }
}

/// What a key-value client was told.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KvOutput {
    /// The value read; `""` when the key was never written.
    Get(String),
    /// The put was acknowledged.
    Put,
    /// The append was acknowledged.
    Append,
    /// Whether the compare-and-set swapped.
    Cas(bool),
}

/// A key's value as the models track it: exact, but compact.
///
/// Values are only ever compared with strings the history mentions (read results and
/// compare-and-set expectations, the *dictionary*). So a value is represented by the range of
/// dictionary strings it is a prefix of (they are contiguous in sorted order) and its length; a
/// value that is a prefix of none is *dead*: no append can revive it, and all dead values behave
/// alike. This makes a value 12 bytes, copying free and comparison O(1), whatever its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvValue {
    lo: u32,
    hi: u32,
    len: u32,
}

impl Hash for KvValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // `hi` is determined by `lo` and `len`.
        state.write_u64(((self.lo as u64) << 32) | self.len as u64);
    }
}

#[derive(PartialEq, Eq)]
enum TailOrd {
    Less,
    StartsWith,
    Greater,
}

/// Compares `t[l..]` with `s`: less, starting with `s`, or greater. A byte loop: `s` is usually
/// a few bytes, where calling memcmp costs more than the comparison.
#[inline]
fn cmp_tail(t: &[u8], l: usize, s: &[u8]) -> TailOrd {
    let tail = t.get(l..).unwrap_or(&[]);
    for (i, &b) in s.iter().enumerate() {
        match tail.get(i) {
            None => return TailOrd::Less,
            Some(&c) if c < b => return TailOrd::Less,
            Some(&c) if c > b => return TailOrd::Greater,
            _ => {}
        }
    }
    TailOrd::StartsWith
}

const DEAD: KvValue = KvValue { lo: u32::MAX, hi: 0, len: 0 };

/// The strings and keys of one history, sorted.
#[derive(Debug, Default)]
struct KvDict {
    strings: Vec<Box<[u8]>>,
    keys: Vec<String>,
}

impl KvDict {
    fn from_ops(ops: &[Operation<KvInput, KvOutput>]) -> KvDict {
        let mut strings: Vec<Box<[u8]>> = vec![Box::from(&b""[..])];
        let mut keys = Vec::new();
        for op in ops {
            keys.push(op.input.key().to_string());
            if let KvInput::Cas { expected, .. } = &op.input {
                strings.push(expected.as_bytes().into());
            }
            if let Some(KvOutput::Get(v)) = &op.output {
                strings.push(v.as_bytes().into());
            }
        }
        strings.sort_unstable();
        strings.dedup();
        keys.sort_unstable();
        keys.dedup();
        KvDict { strings, keys }
    }

    /// The trivial dictionary used by models built without a history (only `""` is exact).
    fn trivial() -> &'static KvDict {
        static D: OnceLock<KvDict> = OnceLock::new();
        D.get_or_init(|| KvDict::from_ops(&[]))
    }

    fn empty(&self) -> KvValue {
        KvValue { lo: 0, hi: self.strings.len() as u32, len: 0 }
    }

    /// `v` followed by `s`.
    fn extend(&self, v: KvValue, s: &[u8]) -> KvValue {
        if v == DEAD {
            return DEAD;
        }
        if s.is_empty() {
            return v;
        }
        let l = v.len as usize;
        // A value from another model's dictionary is out of range here: treat it as dead
        // rather than panic.
        let Some(range) = self.strings.get(v.lo as usize..v.hi as usize) else {
            return DEAD;
        };
        // Every string in range starts with the value; they are sorted by what follows it, so
        // those continuing with `s` are contiguous.
        let lo = range.partition_point(|t| cmp_tail(t, l, s) == TailOrd::Less);
        let hi = lo + range[lo..].partition_point(|t| cmp_tail(t, l, s) == TailOrd::StartsWith);
        if lo == hi {
            DEAD
        } else {
            KvValue { lo: v.lo + lo as u32, hi: v.lo + hi as u32, len: (l + s.len()) as u32 }
        }
    }

    fn equals(&self, v: KvValue, s: &[u8]) -> bool {
        if v == DEAD || v.len as usize != s.len() {
            return false;
        }
        let Some(t) = self.strings.get(v.lo as usize) else {
            return false;
        };
        // Values that differ usually differ at the end (they grow by appends): look there first.
        t.len() >= s.len() && t[..s.len()].last() == s.last() && t[..s.len()] == *s
    }

    /// The state after a completed operation, if legal.
    fn step(&self, v: KvValue, i: &KvInput, o: &KvOutput) -> Option<KvValue> {
        match (i, o) {
            (KvInput::Get { .. }, KvOutput::Get(got)) => self.equals(v, got.as_bytes()).then_some(v),
            (KvInput::Put { value, .. }, KvOutput::Put) => Some(self.extend(self.empty(), value.as_bytes())),
            (KvInput::Append { value, .. }, KvOutput::Append) => Some(self.extend(v, value.as_bytes())),
            (KvInput::Cas { expected, new, .. }, KvOutput::Cas(ok)) => {
                match (self.equals(v, expected.as_bytes()), ok) {
                    (true, true) => Some(self.extend(self.empty(), new.as_bytes())),
                    (false, false) => Some(v),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The effect of a pending `i` in the shapes the checker knows: a get changes nothing, a put
    /// and an append of text that occurs in no dictionary string (every value it extends becomes
    /// dead) are blind writes, a compare-and-set is conditional.
    fn pending_effect(&self, i: &KvInput) -> Option<PendingEffect<KvValue>> {
        match i {
            KvInput::Get { .. } => Some(PendingEffect::Nothing),
            KvInput::Put { value, .. } => Some(PendingEffect::Blind(self.extend(self.empty(), value.as_bytes()))),
            KvInput::Append { value, .. } if !value.is_empty() => {
                let a = value.as_bytes();
                let occurs = self.strings.iter().any(|t| t.windows(a.len()).any(|w| w == a));
                (!occurs).then_some(PendingEffect::Blind(DEAD))
            }
            KvInput::Cas { expected, new, .. } => {
                // Exact only when the expected string is a value of this dictionary (it always
                // is for the history the dictionary was built from).
                let when = self.extend(self.empty(), expected.as_bytes());
                (when != DEAD && self.equals(when, expected.as_bytes()))
                    .then(|| PendingEffect::Conditional { when, then: self.extend(self.empty(), new.as_bytes()) })
            }
            _ => None,
        }
    }

    fn step_pending(&self, v: KvValue, i: &KvInput) -> KvValue {
        match i {
            KvInput::Get { .. } => v,
            KvInput::Put { value, .. } => self.extend(self.empty(), value.as_bytes()),
            KvInput::Append { value, .. } => self.extend(v, value.as_bytes()),
            KvInput::Cas { expected, new, .. } => {
                if self.equals(v, expected.as_bytes()) {
                    self.extend(self.empty(), new.as_bytes())
                } else {
                    v
                }
            }
        }
    }
}

/// Gets and compare-and-sets that did not swap never change a key-value state.
fn kv_read_only(o: &KvOutput) -> bool {
    matches!(o, KvOutput::Get(_) | KvOutput::Cas(false))
}

fn kv_describe(i: &KvInput, o: Option<&KvOutput>) -> String {
    match (i, o) {
        (KvInput::Get { key }, Some(KvOutput::Get(v))) => format!("get({key:?}) -> {v:?}"),
        (KvInput::Get { key }, _) => format!("get({key:?}) -> ?"),
        (KvInput::Put { key, value }, _) => format!("put({key:?}, {value:?})"),
        (KvInput::Append { key, value }, _) => format!("append({key:?}, {value:?})"),
        (KvInput::Cas { key, expected, new }, Some(KvOutput::Cas(ok))) => {
            format!("cas({key:?}, {expected:?} -> {new:?}): {}", if *ok { "swapped" } else { "did not swap" })
        }
        (KvInput::Cas { key, expected, new }, _) => format!("cas({key:?}, {expected:?} -> {new:?}): ?"),
    }
}

/// A key-value store with get/put/append/cas, checked one key at a time (each key is an
/// independent partition). The state is one key's value.
///
/// [`check`](crate::check) specializes the model to the history's strings automatically; to call
/// [`Model::step`] yourself, build it with [`Kv::for_history`] (a model without a history only
/// compares values against `""` exactly).
#[derive(Clone, Debug, Default)]
pub struct Kv {
    dict: Option<Arc<KvDict>>,
}

impl Kv {
    /// A model for any history (specialized by `check`).
    pub fn new() -> Kv {
        Kv::default()
    }
    /// A model that knows every string of `ops`.
    pub fn for_history(ops: &[Operation<KvInput, KvOutput>]) -> Kv {
        Kv { dict: Some(Arc::new(KvDict::from_ops(ops))) }
    }
    fn dict(&self) -> &KvDict {
        match &self.dict {
            Some(d) => d,
            None => KvDict::trivial(),
        }
    }
}

impl Model for Kv {
    type State = KvValue;
    type Input = KvInput;
    type Output = KvOutput;
    fn export(&self, ops: &[Operation<KvInput, KvOutput>], format: ExportFormat) -> Option<ExportedHistory> {
        Some(ExportedHistory { model: "kv", init: None, format, text: export::write(ops, format) })
    }
    fn init(&self) -> KvValue {
        self.dict().empty()
    }
    fn step(&self, s: &KvValue, i: &KvInput, o: &KvOutput) -> Option<KvValue> {
        self.dict().step(*s, i, o)
    }
    fn step_pending(&self, s: &KvValue, i: &KvInput) -> Option<KvValue> {
        Some(self.dict().step_pending(*s, i))
    }
    fn read_only(&self, _: &KvInput, o: &KvOutput) -> bool {
        kv_read_only(o)
    }
    fn pending_effect(&self, i: &KvInput) -> Option<PendingEffect<KvValue>> {
        self.dict().pending_effect(i)
    }
    fn partition(&self, ops: &[Operation<KvInput, KvOutput>]) -> Vec<Vec<usize>> {
        let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_key.entry(op.input.key()).or_default().push(i);
        }
        by_key.into_values().collect()
    }
    fn describe_partition(&self, ops: &[Operation<KvInput, KvOutput>], part: &[usize]) -> String {
        part.first().and_then(|&i| ops.get(i)).map(|op| format!("key {:?}", op.input.key())).unwrap_or_default()
    }
    fn describe(&self, i: &KvInput, o: Option<&KvOutput>) -> String {
        kv_describe(i, o)
    }
    fn specialize(&self, ops: &[Operation<KvInput, KvOutput>]) -> Option<Kv> {
        Some(Kv::for_history(ops))
    }
}

/// The whole map of a [`KvWhole`] model: one [`KvValue`] per key of the history, plus a hash kept
/// up to date incrementally so that hashing a state costs O(1).
#[derive(Clone, Debug)]
pub struct KvMap {
    vals: Box<[KvValue]>,
    hash: u64,
}

impl PartialEq for KvMap {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.vals == other.vals
    }
}
impl Eq for KvMap {}
impl Hash for KvMap {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

fn slot_hash(key: usize, v: KvValue) -> u64 {
    mix64(((key as u64) << 40) ^ ((v.lo as u64) << 20) ^ v.len as u64 ^ ((v.len as u64) << 52))
}

impl KvMap {
    fn set(&self, key: usize, v: KvValue) -> KvMap {
        let mut next = self.clone();
        let old = next.vals[key];
        if old != v {
            next.hash ^= slot_hash(key, old) ^ slot_hash(key, v);
            next.vals[key] = v;
        }
        next
    }
}

/// The same key-value store as [`Kv`], but as one state for the whole map and no partitioning:
/// far harder, since operations on different keys are interleaved in the search. Each state is a
/// small array of compact values with a cached hash.
#[derive(Clone, Debug, Default)]
pub struct KvWhole {
    dict: Option<Arc<KvDict>>,
}

impl KvWhole {
    /// A model for any history (specialized by `check`).
    pub fn new() -> KvWhole {
        KvWhole::default()
    }
    /// A model that knows every key and string of `ops`.
    pub fn for_history(ops: &[Operation<KvInput, KvOutput>]) -> KvWhole {
        KvWhole { dict: Some(Arc::new(KvDict::from_ops(ops))) }
    }
    fn dict(&self) -> &KvDict {
        match &self.dict {
            Some(d) => d,
            None => KvDict::trivial(),
        }
    }
}

impl Model for KvWhole {
    type State = KvMap;
    type Input = KvInput;
    type Output = KvOutput;
    fn export(&self, ops: &[Operation<KvInput, KvOutput>], format: ExportFormat) -> Option<ExportedHistory> {
        Some(ExportedHistory { model: "kv-whole", init: None, format, text: export::write(ops, format) })
    }
    fn init(&self) -> KvMap {
        let d = self.dict();
        let vals: Box<[KvValue]> = vec![d.empty(); d.keys.len()].into();
        let hash = vals.iter().enumerate().fold(0, |h, (k, v)| h ^ slot_hash(k, *v));
        KvMap { vals, hash }
    }
    fn step(&self, s: &KvMap, i: &KvInput, o: &KvOutput) -> Option<KvMap> {
        let d = self.dict();
        // Keys the model does not know (only without a history) are never legal.
        let k = d.keys.binary_search_by(|x| x.as_str().cmp(i.key())).ok()?;
        let cur = *s.vals.get(k)?;
        let v = d.step(cur, i, o)?;
        Some(if v == cur { s.clone() } else { s.set(k, v) })
    }
    fn step_pending(&self, s: &KvMap, i: &KvInput) -> Option<KvMap> {
        let d = self.dict();
        let k = d.keys.binary_search_by(|x| x.as_str().cmp(i.key())).ok()?;
        let cur = *s.vals.get(k)?;
        Some(s.set(k, d.step_pending(cur, i)))
    }
    fn read_only(&self, _: &KvInput, o: &KvOutput) -> bool {
        kv_read_only(o)
    }
    fn describe(&self, i: &KvInput, o: Option<&KvOutput>) -> String {
        kv_describe(i, o)
    }
    fn specialize(&self, ops: &[Operation<KvInput, KvOutput>]) -> Option<KvWhole> {
        Some(KvWhole::for_history(ops))
    }
}

// ---------------------------------------------------------------------------------------------
// Multi-register (Knossos' `multi-register`)

/// One micro-operation of a multi-register transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Micro {
    /// Read register `key`: the value seen, `None` when unknown (Jepsen writes nil for a read
    /// whose value it does not know, and Knossos matches nil with any value).
    Read {
        /// The register.
        key: String,
    },
    /// Write `value` to register `key`.
    Write {
        /// The register.
        key: String,
        /// The value written.
        value: i64,
    },
}

/// A transaction over several registers (Jepsen's `:f :txn` with `[[:read k v] [:write k v]]`),
/// applied atomically, micro-operations in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MultiInput {
    /// The micro-operations.
    pub ops: Vec<Micro>,
}

/// What a transaction's reads saw, one entry per micro-operation (`None` for a write, and for
/// a read whose value is unknown: it matches anything).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MultiOutput {
    /// Per micro-operation: the value read.
    pub reads: Vec<Option<i64>>,
}

/// Knossos' `multi-register`: registers named by key, all starting at nil, changed by
/// transactions of reads and writes. A read must see the register's current value; a read of
/// nil (unknown) matches any value, as Knossos has it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MultiRegister;

impl MultiRegister {
    fn apply(
        s: &std::collections::BTreeMap<String, i64>,
        i: &MultiInput,
        o: Option<&MultiOutput>,
    ) -> Option<std::collections::BTreeMap<String, i64>> {
        let mut next: Option<std::collections::BTreeMap<String, i64>> = None;
        for (k, m) in i.ops.iter().enumerate() {
            match m {
                Micro::Read { key } => {
                    let seen = o.and_then(|o| o.reads.get(k).copied().flatten());
                    if let Some(v) = seen {
                        let cur = next.as_ref().unwrap_or(s).get(key).copied();
                        if cur != Some(v) {
                            return None;
                        }
                    }
                }
                Micro::Write { key, value } => {
                    next.get_or_insert_with(|| s.clone()).insert(key.clone(), *value);
                }
            }
        }
        Some(next.unwrap_or_else(|| s.clone()))
    }
}

impl Model for MultiRegister {
    type State = std::collections::BTreeMap<String, i64>;
    type Input = MultiInput;
    type Output = MultiOutput;
    fn init(&self) -> Self::State {
        Default::default()
    }
    fn step(&self, s: &Self::State, i: &MultiInput, o: &MultiOutput) -> Option<Self::State> {
        Self::apply(s, i, Some(o))
    }
    fn step_pending(&self, s: &Self::State, i: &MultiInput) -> Option<Self::State> {
        // Its reads saw nothing anyone knows; its writes may have happened.
        Self::apply(s, i, None)
    }
    fn read_only(&self, i: &MultiInput, _: &MultiOutput) -> bool {
        i.ops.iter().all(|m| matches!(m, Micro::Read { .. }))
    }
    fn describe(&self, i: &MultiInput, o: Option<&MultiOutput>) -> String {
        let parts: Vec<String> = i
            .ops
            .iter()
            .enumerate()
            .map(|(k, m)| match m {
                Micro::Read { key } => match o.and_then(|o| o.reads.get(k).copied().flatten()) {
                    Some(v) => format!("r {key} {v}"),
                    None => format!("r {key} ?"),
                },
                Micro::Write { key, value } => format!("w {key} {value}"),
            })
            .collect();
        format!("txn [{}]", parts.join(", "))
    }
}

/// Names of the built-in models, as `check-history --model` accepts them.
pub const MODEL_NAMES: &[&str] = &["register", "cas-register", "kv", "kv-whole", "mutex", "multi-register"];

#[cfg(test)]
mod tests {
    use super::*;

    fn op<I, O>(input: I, output: O) -> Operation<I, O> {
        Operation { client: 0, call: 0, ret: Some(1), input, output: Some(output) }
    }

    #[test]
    fn cas_register_steps() {
        let m = CasRegister::default();
        let s = m.init();
        assert_eq!(s, None);
        assert_eq!(m.step(&s, &RegisterInput::Read, &RegisterOutput::Read(None)), Some(None));
        assert_eq!(m.step(&s, &RegisterInput::Read, &RegisterOutput::Read(Some(0))), None);
        let s = m.step(&s, &RegisterInput::Write(3), &RegisterOutput::Write).unwrap();
        assert_eq!(s, Some(3));
        let cas = RegisterInput::Cas { expected: 3, new: 4 };
        assert_eq!(m.step(&s, &cas, &RegisterOutput::Cas(true)), Some(Some(4)));
        assert_eq!(m.step(&s, &cas, &RegisterOutput::Cas(false)), None);
        assert_eq!(m.step(&Some(1), &cas, &RegisterOutput::Cas(false)), Some(Some(1)));
        assert_eq!(m.step(&Some(1), &cas, &RegisterOutput::Cas(true)), None);
        assert_eq!(m.step_pending(&Some(3), &cas), Some(Some(4)));
        assert_eq!(m.step_pending(&Some(1), &cas), Some(Some(1)));
        // Mismatched output kinds are never legal.
        assert_eq!(m.step(&s, &RegisterInput::Read, &RegisterOutput::Write), None);
        assert_eq!(CasRegister { init: Some(7) }.init(), Some(7));
    }

    #[test]
    fn register_rejects_cas() {
        let m = Register::default();
        let cas = RegisterInput::Cas { expected: 0, new: 1 };
        assert_eq!(m.step(&None, &cas, &RegisterOutput::Cas(false)), None);
        assert_eq!(m.step_pending(&None, &cas), None);
        assert_eq!(m.step(&None, &RegisterInput::Write(1), &RegisterOutput::Write), Some(Some(1)));
    }

    #[test]
    fn mutex_steps() {
        let m = Mutex;
        let ok = MutexOutput { ok: true };
        assert_eq!(m.step(&false, &MutexInput::Acquire, &ok), Some(true));
        assert_eq!(m.step(&true, &MutexInput::Acquire, &ok), None);
        assert_eq!(m.step(&true, &MutexInput::Release, &ok), Some(false));
        assert_eq!(m.step(&false, &MutexInput::Release, &ok), None);
        assert_eq!(m.step(&true, &MutexInput::Acquire, &MutexOutput { ok: false }), Some(true));
        assert_eq!(m.step_pending(&true, &MutexInput::Acquire), None);
    }

    fn get(k: &str, v: &str) -> Operation<KvInput, KvOutput> {
        op(KvInput::Get { key: k.into() }, KvOutput::Get(v.into()))
    }
    fn append(k: &str, v: &str) -> Operation<KvInput, KvOutput> {
        op(KvInput::Append { key: k.into(), value: v.into() }, KvOutput::Append)
    }
    fn put(k: &str, v: &str) -> Operation<KvInput, KvOutput> {
        op(KvInput::Put { key: k.into(), value: v.into() }, KvOutput::Put)
    }

    /// Runs ops sequentially, returning how many steps were legal before the first illegal one.
    fn run<M: Model<Input = KvInput, Output = KvOutput>>(m: &M, ops: &[Operation<KvInput, KvOutput>]) -> usize {
        let mut s = m.init();
        for (k, o) in ops.iter().enumerate() {
            match m.step(&s, &o.input, o.output.as_ref().unwrap()) {
                Some(n) => s = n,
                None => return k,
            }
        }
        ops.len()
    }

    #[test]
    fn kv_values_are_exact() {
        let ops = vec![get("a", ""), append("a", "x"), append("a", "y"), get("a", "xy"), get("a", "x")];
        let m = Kv::for_history(&ops);
        assert_eq!(run(&m, &ops), 4, "get x after xy is illegal");
        let ops2 = vec![
            put("a", "zz"),
            append("a", "q"),
            get("a", "zzq"),
            put("a", "x"),
            append("a", "yz"),
            get("a", "xyz"),
            append("a", "w"),
            // The value is now "xyzw", a prefix of no known string: dead, but still unequal to all.
            get("a", "xyz"),
        ];
        let m = Kv::for_history(&ops2);
        assert_eq!(run(&m, &ops2), 7);
        let cas_ops = vec![
            put("a", "1"),
            op(KvInput::Cas { key: "a".into(), expected: "1".into(), new: "2".into() }, KvOutput::Cas(true)),
            op(KvInput::Cas { key: "a".into(), expected: "1".into(), new: "3".into() }, KvOutput::Cas(false)),
            get("a", "2"),
            op(KvInput::Cas { key: "a".into(), expected: "1".into(), new: "3".into() }, KvOutput::Cas(true)),
        ];
        let m = Kv::for_history(&cas_ops);
        assert_eq!(run(&m, &cas_ops), 4);
    }

    #[test]
    fn kv_whole_tracks_keys_separately() {
        let ops = vec![
            append("a", "1"),
            append("b", "2"),
            get("a", "1"),
            get("b", "2"),
            append("a", "3"),
            get("a", "13"),
            get("b", "13"),
        ];
        let m = KvWhole::for_history(&ops);
        assert_eq!(run(&m, &ops), 6);
        // Equal maps reached by different paths are equal and hash alike.
        let s = m.init();
        let a = m.step(&s, &ops[0].input, ops[0].output.as_ref().unwrap()).unwrap();
        let ab = m.step(&a, &ops[1].input, ops[1].output.as_ref().unwrap()).unwrap();
        let b = m.step(&s, &ops[1].input, ops[1].output.as_ref().unwrap()).unwrap();
        let ba = m.step(&b, &ops[0].input, ops[0].output.as_ref().unwrap()).unwrap();
        assert_eq!(ab, ba);
        assert_eq!(crate::hash::hash_one(&ab), crate::hash::hash_one(&ba));
        assert_ne!(a, b);
    }

    #[test]
    fn kv_partitions_by_key() {
        let ops = vec![get("b", ""), get("a", ""), append("b", "x")];
        let m = Kv::new();
        assert_eq!(m.partition(&ops), vec![vec![1], vec![0, 2]]);
        assert_eq!(m.describe_partition(&ops, &[0, 2]), "key \"b\"");
    }
}
