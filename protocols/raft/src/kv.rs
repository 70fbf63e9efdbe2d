//! The default replicated service: a key-value store with get, put, append and compare-and-set,
//! checked for linearizability with lincheck's `Kv` model.
//!
//! Values are kept as token lists so that commands and log entries stay small and allocation
//! free; each token `t` stands for the string `"t."`, so an append is a string concatenation
//! exactly as the model sees it.

use crate::message::RaftInput;
use crate::state_machine::StateMachine;
use faultline_lincheck::models::{Kv, KvInput, KvOutput};
use faultline_lincheck::{check_with, Budget, CheckOptions, Operation, Verdict};
use faultline_sim::prelude::{History, Outcome, Prng, Violation};
use serde::{Deserialize, Serialize};

/// States the linearizability search may explore per key before giving up (deterministic: no
/// wall-clock budget inside a simulation).
pub const LINCHECK_MAX_STATES: u64 = 2_000_000;

/// Workload settings (`[config.app]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KvConfig {
    /// Keys are `0..keys`.
    pub keys: u8,
    /// Percentage of gets.
    pub read_percent: u64,
    /// Percentage of compare-and-sets (the rest are puts and appends, half each).
    pub cas_percent: u64,
    /// Put and compare-and-set values are drawn from `0..values` (small, so CAS can succeed).
    pub values: u32,
}

impl Default for KvConfig {
    fn default() -> Self {
        KvConfig { keys: 3, read_percent: 40, cas_percent: 15, values: 4 }
    }
}

/// A KV command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvCmd {
    /// Read a key.
    Get {
        /// Key.
        key: u8,
    },
    /// Replace a key's value by one token.
    Put {
        /// Key.
        key: u8,
        /// Token.
        value: u32,
    },
    /// Append a token.
    Append {
        /// Key.
        key: u8,
        /// Token.
        value: u32,
    },
    /// Replace the value by `new` if it is exactly `expected`.
    Cas {
        /// Key.
        key: u8,
        /// Expected single token.
        expected: u32,
        /// New single token.
        new: u32,
    },
}

/// A KV answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvResult {
    /// The tokens read.
    Value(Vec<u32>),
    /// Put or append done.
    Done,
    /// Whether the CAS swapped.
    Swapped(bool),
}

/// The store: one token list per key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvStore {
    values: Vec<Vec<u32>>,
}

impl KvStore {
    fn slot(&mut self, key: u8) -> &mut Vec<u32> {
        let k = key as usize;
        if self.values.len() <= k {
            self.values.resize(k + 1, Vec::new());
        }
        &mut self.values[k]
    }
}

impl StateMachine for KvStore {
    const PROTOCOL: &'static str = "raft";
    type Config = KvConfig;
    type Command = KvCmd;
    type Output = KvResult;

    fn is_read(cmd: &KvCmd) -> bool {
        matches!(cmd, KvCmd::Get { .. })
    }

    fn apply(&mut self, cmd: &KvCmd) -> KvResult {
        match *cmd {
            KvCmd::Get { key } => KvResult::Value(self.slot(key).clone()),
            KvCmd::Put { key, value } => {
                let v = self.slot(key);
                v.clear();
                v.push(value);
                KvResult::Done
            }
            KvCmd::Append { key, value } => {
                self.slot(key).push(value);
                KvResult::Done
            }
            KvCmd::Cas { key, expected, new } => {
                let v = self.slot(key);
                let swap = v.len() == 1 && v[0] == expected;
                if swap {
                    v[0] = new;
                }
                KvResult::Swapped(swap)
            }
        }
    }

    fn read(&self, cmd: &KvCmd) -> KvResult {
        let key = match *cmd {
            KvCmd::Get { key } | KvCmd::Put { key, .. } | KvCmd::Append { key, .. } | KvCmd::Cas { key, .. } => key,
        };
        KvResult::Value(self.values.get(key as usize).cloned().unwrap_or_default())
    }

    fn generate(cfg: &KvConfig, _client: u32, rng: &mut Prng) -> KvCmd {
        let key = rng.below(u64::from(cfg.keys.max(1))) as u8;
        let values = u64::from(cfg.values.max(1));
        let roll = rng.below(100);
        if roll < cfg.read_percent {
            KvCmd::Get { key }
        } else if roll < cfg.read_percent + cfg.cas_percent {
            KvCmd::Cas { key, expected: rng.below(values) as u32, new: rng.below(values) as u32 }
        } else if rng.chance(1, 2) {
            KvCmd::Put { key, value: rng.below(values) as u32 }
        } else {
            // Appended tokens are mostly unique, so a lost or doubled append shows in reads.
            KvCmd::Append { key, value: values as u32 + rng.below(1_000_000) as u32 }
        }
    }

    fn check_history(history: &History<RaftInput<KvCmd>, KvResult>, out: &mut Vec<Violation>) -> Option<String> {
        let ops = to_lincheck(history);
        let opts =
            CheckOptions { budget: Budget { max_states: LINCHECK_MAX_STATES, max_wall_ms: None }, minimize: true };
        match check_with(&Kv::new(), &ops, &opts) {
            Verdict::Linearizable => None,
            Verdict::NotLinearizable(why) => {
                out.push(Violation::new("raft.linearizable", None, why.summary()));
                None
            }
            Verdict::Unknown(reason) => Some(format!("raft.linearizable: {reason}")),
        }
    }
}

fn text(tokens: &[u32]) -> String {
    let mut s = String::with_capacity(tokens.len() * 4);
    for t in tokens {
        s.push_str(&t.to_string());
        s.push('.');
    }
    s
}

/// The client history as lincheck operations (failed operations left out; operator requests
/// are not client operations).
pub fn to_lincheck(history: &History<RaftInput<KvCmd>, KvResult>) -> Vec<Operation<KvInput, KvOutput>> {
    let mut ops = Vec::with_capacity(history.ops.len());
    for op in &history.ops {
        let RaftInput::Client(cmd) = op.input else { continue };
        if op.outcome == Outcome::Failed {
            continue;
        }
        let input = match cmd {
            KvCmd::Get { key } => KvInput::Get { key: key.to_string() },
            KvCmd::Put { key, value } => KvInput::Put { key: key.to_string(), value: text(&[value]) },
            KvCmd::Append { key, value } => KvInput::Append { key: key.to_string(), value: text(&[value]) },
            KvCmd::Cas { key, expected, new } => {
                KvInput::Cas { key: key.to_string(), expected: text(&[expected]), new: text(&[new]) }
            }
        };
        let (ret, output) = match (op.outcome, &op.output) {
            (Outcome::Ok, Some(o)) => {
                let out = match (cmd, o) {
                    (KvCmd::Get { .. }, KvResult::Value(v)) => KvOutput::Get(text(v)),
                    (KvCmd::Put { .. }, _) => KvOutput::Put,
                    (KvCmd::Append { .. }, _) => KvOutput::Append,
                    (KvCmd::Cas { .. }, KvResult::Swapped(b)) => KvOutput::Cas(*b),
                    // An answer of the wrong shape can match nothing: a get answered "done"
                    // is rendered as a read of an impossible value.
                    (_, _) => KvOutput::Get("<malformed>".into()),
                };
                (op.return_ns, Some(out))
            }
            _ => (None, None),
        };
        let (ret, output) = if ret.is_none() { (None, None) } else { (ret, output) };
        ops.push(Operation { client: u64::from(op.client), call: op.call_ns, ret, input, output });
    }
    ops
}
