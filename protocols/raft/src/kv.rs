//! The default replicated service: the shared key-value store of `faultline-kv` (get, put,
//! append and compare-and-set on token lists), checked for linearizability with lincheck's `Kv`
//! model. Client sessions (a retried command applies once) live in [`crate::Replicated`].

use crate::message::RaftInput;
use crate::state_machine::StateMachine;
use faultline_kv::KvData;
pub use faultline_kv::{KvAnswer, KvCmd};
use faultline_sim::prelude::{History, Op, Prng, Violation};
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
        // Operator requests (membership changes) are not client operations.
        fn cmd(op: &Op<RaftInput<KvCmd>, KvAnswer>) -> Option<&KvCmd> {
            match &op.input {
                RaftInput::Client(cmd) => Some(cmd),
                _ => None,
            }
        }
        faultline_kv::check_linearizable(history, cmd, "raft.linearizable", history_budget, out)
    }
}
