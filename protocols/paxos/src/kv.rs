//! The replicated state machine of Multi-Paxos: a key-value store with get, put, append and
//! compare-and-set, deduplicating retried commands by client request id.
//!
//! Commands are compact (`Copy`, a few bytes) so the log, messages and ghost state never allocate
//! per command; values are rendered as strings only when applied and when the history is checked
//! against `faultline_lincheck`'s `Kv` model.

use faultline_lincheck::models::{KvInput, KvOutput};
use faultline_sim::prelude::RequestId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A client command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvOp {
    /// Read a key.
    Get {
        /// The key.
        key: u8,
    },
    /// Replace a key's value with `value`.
    Put {
        /// The key.
        key: u8,
        /// The token written.
        value: u32,
    },
    /// Append `value` to a key's value.
    Append {
        /// The key.
        key: u8,
        /// The token appended.
        value: u32,
    },
    /// Replace the value with `new` iff it is exactly `expected`.
    Cas {
        /// The key.
        key: u8,
        /// The token the value must equal.
        expected: u32,
        /// The token installed.
        new: u32,
    },
}

/// The answer to a command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvAnswer {
    /// The value read (`""` if never written).
    Value(String),
    /// The put or append took effect.
    Done,
    /// Whether the compare-and-set swapped.
    Swapped(bool),
}

/// One log entry: a client command with its request id, or a no-op filling a hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A hole filled by a new leader: nothing to apply.
    Noop,
    /// A client command.
    Cmd(RequestId, KvOp),
}

/// Writes token `t` as it appears in values: `"t,"`.
fn push_token(s: &mut String, t: u32) {
    let _ = write!(s, "{t},");
}

/// Token `t` as a value string.
pub fn token(t: u32) -> String {
    let mut s = String::new();
    push_token(&mut s, t);
    s
}

/// Is `v` exactly the value `"t,"`? (Compares without building the string.)
fn is_token(v: &str, t: u32) -> bool {
    let Some(digits) = v.strip_suffix(',') else { return false };
    // Values are only ever written as canonical tokens, so a digit string parses back exactly.
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && digits.parse::<u32>() == Ok(t)
}

/// The key-value store and its client sessions.
#[derive(Clone, Debug, Default)]
pub struct KvStore {
    values: BTreeMap<u8, String>,
    /// Per client, the highest request sequence applied and the answer of a write (a read is
    /// not cached: re-executing it later in the log is still within the client's call).
    sessions: BTreeMap<u32, (u32, Option<KvAnswer>)>,
    /// The last `apply` met a request id it had applied before.
    duplicate: bool,
}

impl KvStore {
    /// The answer already given to write `req`, if it was the client's latest applied command.
    pub fn answered(&self, req: RequestId) -> Option<&KvAnswer> {
        self.sessions.get(&req.client).filter(|(seq, _)| *seq == req.seq).and_then(|(_, a)| a.as_ref())
    }

    /// Did the last [`KvStore::apply`] meet a request id already applied?
    pub fn applied_again(&self) -> bool {
        self.duplicate
    }

    /// Applies `op` for `req` and returns its answer if `answer` is asked for (a replica that
    /// owes no client an answer skips copying read values). With `dedup`, a write whose request
    /// id was already applied is not applied again: the latest one's answer is returned again,
    /// an older one's is `None`. Reads are executed again.
    pub fn apply(&mut self, req: RequestId, op: KvOp, dedup: bool, answer: bool) -> Option<KvAnswer> {
        let seen = self.sessions.get(&req.client);
        self.duplicate = seen.is_some_and(|(seq, _)| req.seq <= *seq);
        if dedup && !matches!(op, KvOp::Get { .. }) {
            if let Some((seq, cached)) = seen {
                if req.seq == *seq {
                    return cached.clone().filter(|_| answer);
                }
                if req.seq < *seq {
                    return None;
                }
            }
        }
        let result = match op {
            KvOp::Get { key } => {
                let value = answer.then(|| self.values.get(&key).cloned().unwrap_or_default());
                self.sessions.insert(req.client, (req.seq, None));
                return value.map(KvAnswer::Value);
            }
            KvOp::Put { key, value } => {
                let v = self.values.entry(key).or_default();
                v.clear();
                push_token(v, value);
                KvAnswer::Done
            }
            KvOp::Append { key, value } => {
                push_token(self.values.entry(key).or_default(), value);
                KvAnswer::Done
            }
            KvOp::Cas { key, expected, new } => {
                let v = self.values.entry(key).or_default();
                let swap = is_token(v, expected);
                if swap {
                    v.clear();
                    push_token(v, new);
                }
                KvAnswer::Swapped(swap)
            }
        };
        self.sessions.insert(req.client, (req.seq, Some(result.clone())));
        Some(result)
    }
}

/// The command as `faultline_lincheck`'s `Kv` model spells it.
pub fn lin_input(op: &KvOp) -> KvInput {
    let key = |k: u8| format!("k{k}");
    match *op {
        KvOp::Get { key: k } => KvInput::Get { key: key(k) },
        KvOp::Put { key: k, value } => KvInput::Put { key: key(k), value: token(value) },
        KvOp::Append { key: k, value } => KvInput::Append { key: key(k), value: token(value) },
        KvOp::Cas { key: k, expected, new } => KvInput::Cas { key: key(k), expected: token(expected), new: token(new) },
    }
}

/// The answer as `faultline_lincheck`'s `Kv` model spells it, or `None` if it does not fit the
/// command (itself a finding).
pub fn lin_output(op: &KvOp, answer: &KvAnswer) -> Option<KvOutput> {
    match (op, answer) {
        (KvOp::Get { .. }, KvAnswer::Value(v)) => Some(KvOutput::Get(v.clone())),
        (KvOp::Put { .. }, KvAnswer::Done) => Some(KvOutput::Put),
        (KvOp::Append { .. }, KvAnswer::Done) => Some(KvOutput::Append),
        (KvOp::Cas { .. }, KvAnswer::Swapped(b)) => Some(KvOutput::Cas(*b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_apply_once_per_request_id() {
        let mut kv = KvStore::default();
        let r = |client, seq| RequestId { client, seq };
        let get = |kv: &mut KvStore, seq| kv.apply(r(1, seq), KvOp::Get { key: 1 }, true, true);
        assert_eq!(kv.apply(r(0, 1), KvOp::Append { key: 1, value: 7 }, true, true), Some(KvAnswer::Done));
        assert_eq!(kv.apply(r(0, 1), KvOp::Append { key: 1, value: 7 }, true, true), Some(KvAnswer::Done));
        assert!(kv.applied_again());
        assert_eq!(get(&mut kv, 1), Some(KvAnswer::Value("7,".into())));
        let cas = KvOp::Cas { key: 1, expected: 7, new: 9 };
        assert_eq!(kv.apply(r(0, 2), cas, true, true), Some(KvAnswer::Swapped(true)));
        assert_eq!(kv.apply(r(0, 1), KvOp::Append { key: 1, value: 7 }, true, true), None, "older than the latest");
        assert_eq!(get(&mut kv, 2), Some(KvAnswer::Value("9,".into())));
        assert_eq!(kv.answered(r(0, 2)), Some(&KvAnswer::Swapped(true)));
        assert_eq!(kv.answered(r(1, 2)), None, "reads are not cached");
        assert_eq!(
            kv.apply(r(0, 3), KvOp::Cas { key: 1, expected: 99, new: 1 }, true, true),
            Some(KvAnswer::Swapped(false))
        );
        // Without deduplication a retried append lands twice.
        kv.apply(r(2, 1), KvOp::Append { key: 1, value: 3 }, false, false);
        kv.apply(r(2, 1), KvOp::Append { key: 1, value: 3 }, false, false);
        assert_eq!(get(&mut kv, 3), Some(KvAnswer::Value("9,3,3,".into())));
        assert_eq!(
            kv.apply(r(0, 4), KvOp::Cas { key: 1, expected: 9, new: 1 }, true, true),
            Some(KvAnswer::Swapped(false))
        );
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(is_token("12,", 12));
        assert!(!is_token("12,", 1));
        assert!(!is_token("1,2,", 2));
        assert!(!is_token("", 0));
        assert!(!is_token(",", 0));
    }

    #[test]
    fn lincheck_spelling_matches_the_store() {
        let op = KvOp::Cas { key: 2, expected: 1, new: 4 };
        assert_eq!(lin_input(&op), KvInput::Cas { key: "k2".into(), expected: "1,".into(), new: "4,".into() });
        assert_eq!(lin_output(&op, &KvAnswer::Swapped(false)), Some(KvOutput::Cas(false)));
        assert_eq!(lin_output(&op, &KvAnswer::Done), None);
    }
}
