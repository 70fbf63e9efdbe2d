//! The default replicated service: the shared key-value store of `faultline-kv` (get, put,
//! append and compare-and-set on token lists), checked for linearizability with lincheck's `Kv`
//! model. Client sessions (a retried command applies once) live in [`crate::Replicated`].

use crate::message::RaftInput;
use crate::state_machine::StateMachine;
use faultline_kv::{lin_input, lin_output, malformed_output, KvData};
pub use faultline_kv::{KvAnswer, KvCmd};
use faultline_lincheck::models::{Kv, KvInput, KvOutput};
use faultline_lincheck::Operation;
use faultline_sim::prelude::{History, Outcome, Prng, Violation};
use serde::{Deserialize, Serialize};

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

/// The store Raft replicates by default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvStore(KvData);

impl StateMachine for KvStore {
    const PROTOCOL: &'static str = "raft";
    type Config = KvConfig;
    type Command = KvCmd;
    type Output = KvAnswer;

    fn is_read(cmd: &KvCmd) -> bool {
        cmd.is_read()
    }

    fn apply(&mut self, cmd: &KvCmd) -> KvAnswer {
        self.0.apply(cmd)
    }

    fn read(&self, cmd: &KvCmd) -> KvAnswer {
        self.0.read(cmd.key())
    }

    fn generate(cfg: &KvConfig, _client: u32, rng: &mut Prng) -> KvCmd {
        faultline_kv::generate(cfg.keys, cfg.values, cfg.read_percent, cfg.cas_percent, &mut |n| rng.below(n))
    }

    fn check_history(
        history: &History<RaftInput<KvCmd>, KvAnswer>,
        history_budget: u64,
        out: &mut Vec<Violation>,
    ) -> Option<String> {
        faultline_sim::lin::verdict(&Kv::new(), &to_lincheck(history), "raft.linearizable", history_budget, out)
    }
}

/// The client history as lincheck operations (failed operations left out; operator requests
/// are not client operations).
pub fn to_lincheck(history: &History<RaftInput<KvCmd>, KvAnswer>) -> Vec<Operation<KvInput, KvOutput>> {
    let mut ops = Vec::with_capacity(history.ops.len());
    for op in &history.ops {
        let RaftInput::Client(cmd) = op.input else { continue };
        if op.outcome == Outcome::Failed {
            continue;
        }
        let (ret, output) = match (op.outcome, &op.output, op.return_ns) {
            (Outcome::Ok, Some(answer), Some(ret)) => {
                (Some(ret), Some(lin_output(&cmd, answer).unwrap_or_else(malformed_output)))
            }
            _ => (None, None),
        };
        ops.push(Operation { client: u64::from(op.client), call: op.call_ns, ret, input: lin_input(&cmd), output });
    }
    ops
}
