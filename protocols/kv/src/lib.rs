//! The replicated key-value state machine that Raft and Multi-Paxos share: the client command,
//! its answer, the store that applies it, and how both are spelled for `faultline_lincheck`'s
//! `Kv` model.
//!
//! Commands are compact (`Copy`, a few bytes: keys are `u8`, values `u32` tokens) so logs,
//! messages and ghost state never allocate per command. A key's value is the list of tokens
//! written to it: a put replaces it with one token, an append adds one, and a compare-and-set
//! swaps a value that is exactly one given token. Appended tokens are mostly unique, so a lost
//! or doubled append shows in later reads. Client sessions (applying a retried command once)
//! are the replicating protocol's business, not the store's.

use faultline_lincheck::models::{Kv, KvInput, KvOutput};
use faultline_lincheck::Operation;
use faultline_sim::prelude::{History, Op, Outcome, Violation};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// A client command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvCmd {
    /// Read a key.
    Get {
        /// The key.
        key: u8,
    },
    /// Replace a key's value with one token.
    Put {
        /// The key.
        key: u8,
        /// The token written.
        value: u32,
    },
    /// Append a token to a key's value.
    Append {
        /// The key.
        key: u8,
        /// The token appended.
        value: u32,
    },
    /// Replace the value with `new` iff it is exactly the one token `expected`.
    Cas {
        /// The key.
        key: u8,
        /// The token the value must equal.
        expected: u32,
        /// The token installed.
        new: u32,
    },
}

impl KvCmd {
    /// The key the command reads or writes.
    pub fn key(&self) -> u8 {
        match *self {
            KvCmd::Get { key } | KvCmd::Put { key, .. } | KvCmd::Append { key, .. } | KvCmd::Cas { key, .. } => key,
        }
    }

    /// Does the command leave the store unchanged?
    pub fn is_read(&self) -> bool {
        matches!(self, KvCmd::Get { .. })
    }
}

/// The answer to a command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvAnswer {
    /// The tokens read (empty if never written).
    Value(Vec<u32>),
    /// The put or append took effect.
    Done,
    /// Whether the compare-and-set swapped.
    Swapped(bool),
}

/// The store: one token list per key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvData {
    values: Vec<Vec<u32>>,
}

impl KvData {
    fn slot(&mut self, key: u8) -> &mut Vec<u32> {
        let k = usize::from(key);
        if self.values.len() <= k {
            self.values.resize(k + 1, Vec::new());
        }
        &mut self.values[k]
    }

    /// Applies `cmd` and returns its answer.
    pub fn apply(&mut self, cmd: &KvCmd) -> KvAnswer {
        match *cmd {
            KvCmd::Get { key } => self.read(key),
            KvCmd::Put { key, value } => {
                let v = self.slot(key);
                v.clear();
                v.push(value);
                KvAnswer::Done
            }
            KvCmd::Append { key, value } => {
                self.slot(key).push(value);
                KvAnswer::Done
            }
            KvCmd::Cas { key, expected, new } => {
                let v = self.slot(key);
                let swap = v.len() == 1 && v[0] == expected;
                if swap {
                    v[0] = new;
                }
                KvAnswer::Swapped(swap)
            }
        }
    }

    /// The value of `key`, as a read answers it.
    pub fn read(&self, key: u8) -> KvAnswer {
        KvAnswer::Value(self.values.get(usize::from(key)).cloned().unwrap_or_default())
    }
}

/// Tokens as one string for the lincheck model, `"7,9,"`: concatenating two spellings spells
/// the concatenated lists, so the model's string append matches the store's.
pub fn tokens_text(tokens: &[u32]) -> String {
    let mut s = String::with_capacity(tokens.len() * 4);
    for t in tokens {
        let _ = write!(s, "{t},");
    }
    s
}

/// The command as `faultline_lincheck`'s `Kv` model spells it.
pub fn lin_input(cmd: &KvCmd) -> KvInput {
    let key = |k: u8| format!("k{k}");
    match *cmd {
        KvCmd::Get { key: k } => KvInput::Get { key: key(k) },
        KvCmd::Put { key: k, value } => KvInput::Put { key: key(k), value: tokens_text(&[value]) },
        KvCmd::Append { key: k, value } => KvInput::Append { key: key(k), value: tokens_text(&[value]) },
        KvCmd::Cas { key: k, expected, new } => {
            KvInput::Cas { key: key(k), expected: tokens_text(&[expected]), new: tokens_text(&[new]) }
        }
    }
}

/// The answer as the `Kv` model spells it, or `None` if it does not fit the command (itself a
/// finding: the caller renders it as an impossible read).
pub fn lin_output(cmd: &KvCmd, answer: &KvAnswer) -> Option<KvOutput> {
    match (cmd, answer) {
        (KvCmd::Get { .. }, KvAnswer::Value(v)) => Some(KvOutput::Get(tokens_text(v))),
        (KvCmd::Put { .. }, KvAnswer::Done) => Some(KvOutput::Put),
        (KvCmd::Append { .. }, KvAnswer::Done) => Some(KvOutput::Append),
        (KvCmd::Cas { .. }, KvAnswer::Swapped(b)) => Some(KvOutput::Cas(*b)),
        _ => None,
    }
}

/// A client history of KV commands as lincheck operations: `cmd` picks each operation's command
/// (`None`: not a client KV operation, e.g. an operator request, left out); failed operations
/// are left out too (they never took effect), and indeterminate ones stay open. An `ok` answer
/// that does not fit its command is an error naming both.
pub fn lincheck_ops<I, F>(history: &History<I, KvAnswer>, cmd: F) -> Result<Vec<Operation<KvInput, KvOutput>>, String>
where
    F: Fn(&Op<I, KvAnswer>) -> Option<&KvCmd>,
{
    let mut ops = Vec::with_capacity(history.ops.len());
    for op in &history.ops {
        let Some(c) = cmd(op) else { continue };
        let (ret, output) = match (op.outcome, &op.output) {
            (Outcome::Failed, _) => continue,
            (Outcome::Ok, Some(answer)) => match lin_output(c, answer) {
                Some(output) => (op.return_ns, Some(output)),
                None => return Err(format!("client {} got {answer:?} for {c:?}", op.client)),
            },
            _ => (None, None),
        };
        ops.push(Operation { client: u64::from(op.client), call: op.call_ns, ret, input: lin_input(c), output });
    }
    Ok(ops)
}

/// The end-of-run check of a replicated KV store: its client history (see [`lincheck_ops`]) is
/// linearizable as lincheck's `Kv` model (partitioned by key), within `budget`; a violation is
/// named `invariant`. Returns why the check was inconclusive, if it was.
pub fn check_linearizable<I, F>(
    history: &History<I, KvAnswer>,
    cmd: F,
    invariant: &str,
    budget: u64,
    out: &mut Vec<Violation>,
) -> Option<String>
where
    F: Fn(&Op<I, KvAnswer>) -> Option<&KvCmd>,
{
    match lincheck_ops(history, cmd) {
        Ok(ops) => faultline_sim::lin::verdict(&Kv::new(), &ops, invariant, budget, out),
        Err(detail) => {
            out.push(Violation::new(invariant, None, detail));
            None
        }
    }
}

/// The client workload of a replicated KV store, shared by the KV adapters (faultline's Raft and
/// the raft-rs example): a get with `read_percent`, a compare-and-set with `cas_percent`, else a
/// put or an append, half each, on a key in `0..keys`. `below(n)` draws uniformly from `0..n`
/// (the client's seeded stream: `|n| rng.below(n)`).
pub fn generate(
    keys: u8,
    values: u32,
    read_percent: u64,
    cas_percent: u64,
    below: &mut impl FnMut(u64) -> u64,
) -> KvCmd {
    let key = below(u64::from(keys.max(1))) as u8;
    let values = u64::from(values.max(1));
    let roll = below(100);
    if roll < read_percent {
        KvCmd::Get { key }
    } else if roll < read_percent + cas_percent {
        KvCmd::Cas { key, expected: below(values) as u32, new: below(values) as u32 }
    } else if below(2) < 1 {
        // `Prng::chance(1, 2)` draws exactly this.
        KvCmd::Put { key, value: below(values) as u32 }
    } else {
        // Appended tokens are mostly unique, so a lost or doubled append shows in reads.
        KvCmd::Append { key, value: values as u32 + below(1_000_000) as u32 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_applies_each_command() {
        let mut kv = KvData::default();
        assert_eq!(kv.apply(&KvCmd::Get { key: 2 }), KvAnswer::Value(vec![]));
        assert_eq!(kv.apply(&KvCmd::Append { key: 2, value: 7 }), KvAnswer::Done);
        assert_eq!(kv.apply(&KvCmd::Cas { key: 2, expected: 7, new: 9 }), KvAnswer::Swapped(true));
        assert_eq!(kv.apply(&KvCmd::Append { key: 2, value: 3 }), KvAnswer::Done);
        assert_eq!(kv.read(2), KvAnswer::Value(vec![9, 3]));
        // Only a value of exactly one token can be swapped.
        assert_eq!(kv.apply(&KvCmd::Cas { key: 2, expected: 9, new: 1 }), KvAnswer::Swapped(false));
        assert_eq!(kv.apply(&KvCmd::Put { key: 2, value: 4 }), KvAnswer::Done);
        assert_eq!(kv.apply(&KvCmd::Get { key: 2 }), KvAnswer::Value(vec![4]));
        assert_eq!(kv.read(0), KvAnswer::Value(vec![]), "other keys untouched");
    }

    #[test]
    fn lincheck_spelling_matches_the_store() {
        let cmd = KvCmd::Cas { key: 2, expected: 1, new: 4 };
        assert_eq!(lin_input(&cmd), KvInput::Cas { key: "k2".into(), expected: "1,".into(), new: "4,".into() });
        assert_eq!(lin_output(&cmd, &KvAnswer::Swapped(false)), Some(KvOutput::Cas(false)));
        assert_eq!(lin_output(&cmd, &KvAnswer::Done), None);
        let read = KvCmd::Get { key: 0 };
        assert_eq!(lin_output(&read, &KvAnswer::Value(vec![12, 3])), Some(KvOutput::Get("12,3,".into())));
        assert_eq!(tokens_text(&[1]) + &tokens_text(&[2]), tokens_text(&[1, 2]));
    }

    #[test]
    fn commands_keep_their_scenario_spelling() {
        let cmd: KvCmd = serde_json::from_str(r#"{"put":{"key":7,"value":1}}"#).unwrap();
        assert_eq!(cmd, KvCmd::Put { key: 7, value: 1 });
        assert_eq!(cmd.key(), 7);
        assert!(!cmd.is_read() && KvCmd::Get { key: 0 }.is_read());
    }
}
