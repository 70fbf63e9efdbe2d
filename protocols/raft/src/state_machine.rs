//! The pluggable application the log drives, and the replicated state around it (client
//! sessions, the applied index).
//!
//! # Plugging in another service
//! [`Raft<S>`](crate::Raft) is generic over `S: StateMachine`; the KV store ([`crate::KvStore`]) is
//! the default. To replicate something else (e.g. a Chubby-style lock cell):
//! 1. define the state and implement [`StateMachine`] for it: the command type clients send, its
//!    output, which commands are read-only ([`StateMachine::is_read`], answered through a read
//!    index or lease without a log entry), [`StateMachine::apply`] for the rest, a workload
//!    generator and the end-of-run history check;
//! 2. give it its own protocol name ([`StateMachine::PROTOCOL`]) and scenarios; Raft's planted
//!    bugs ([`crate::RAFT_BUGS`]) and run-time safety checks come along unchanged;
//! 3. register `Raft<YourState>` with the runner.
//!
//! Deduplication of retried commands is done here, not by the application: each log entry
//! carries its `RequestId` and [`Replicated`] keeps each client's last applied request and
//! answer, so a retried command is applied once and answered with the first answer.

use crate::log::{Entry, Members, Payload};
use faultline_sim::prelude::{History, Prng, Violation};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};

/// A deterministic state machine replicated by Raft.
pub trait StateMachine: Clone + Debug + Default + 'static {
    /// The name scenarios use for this service (`protocol = "…"`).
    const PROTOCOL: &'static str;
    /// Application settings, the `[config.app]` table.
    type Config: DeserializeOwned + Serialize + Default + Clone + Debug;
    /// A client command.
    type Command: Clone + Debug + Hash + PartialEq + Serialize + DeserializeOwned;
    /// Its answer.
    type Output: Clone + Debug + Hash + Serialize;

    /// True for commands that only read: they are answered after a read-index round (or under
    /// a lease) from the applied state, never logged.
    fn is_read(cmd: &Self::Command) -> bool;
    /// Applies a command (never called for reads). Must be deterministic.
    fn apply(&mut self, cmd: &Self::Command) -> Self::Output;
    /// Answers a read-only command from the current state.
    fn read(&self, cmd: &Self::Command) -> Self::Output;
    /// The workload: client `client`'s next command.
    fn generate(config: &Self::Config, client: u32, rng: &mut Prng) -> Self::Command;
    /// Checks the `[config.app]` settings before the run; the field is a key of `app`.
    fn validate(_config: &Self::Config) -> Result<(), faultline_sim::protocol::ConfigError> {
        Ok(())
    }
    /// The end-of-run check of the client history (e.g. linearizability against a model,
    /// exploring at most `history_budget` states per partition: the scenario's
    /// `checks.history_budget`). Returns `Some(reason)` when it could not decide.
    fn check_history(
        history: &History<crate::RaftInput<Self::Command>, Self::Output>,
        history_budget: u64,
        out: &mut Vec<Violation>,
    ) -> Option<String>;
}

pub use crate::safety::chain;

/// The digest of an entry, as the log-matching and state-machine checks compare it.
#[inline]
pub fn entry_digest<C: Hash>(e: &Entry<C>) -> u64 {
    faultline_sim::hash::StableHasher::digest(e)
}

/// The application plus what Raft keeps beside it: client sessions and the applied index.
#[derive(Clone, Debug)]
pub struct Replicated<S: StateMachine> {
    /// The application state.
    pub app: S,
    /// Per client: the last applied request's sequence number and its answer.
    pub sessions: BTreeMap<u32, (u32, S::Output)>,
    /// Index of the last applied entry.
    pub applied: u64,
    /// Running digest of every applied entry (see [`chain`]).
    pub chain: u64,
}

impl<S: StateMachine> Default for Replicated<S> {
    fn default() -> Self {
        Replicated { app: S::default(), sessions: BTreeMap::new(), applied: 0, chain: 0 }
    }
}

/// What applying one entry produced.
#[derive(Debug)]
pub enum Applied<O> {
    /// Not a client command.
    Internal,
    /// A command, applied now or earlier (a retry): its answer.
    Answer(O),
    /// A retry of a request older than the client's latest: its answer is no longer known.
    Stale,
}

impl<S: StateMachine> Replicated<S> {
    /// Applies entry `index`, the next one. With `dedup` off (a planted bug) a retried command
    /// is applied again.
    pub fn apply(&mut self, index: u64, entry: &Entry<S::Command>, dedup: bool) -> Applied<S::Output> {
        assert_eq!(index, self.applied + 1, "entries are applied in order, once");
        self.applied = index;
        self.chain = chain(self.chain, index, entry_digest(entry));
        let Payload::Command { req, cmd } = &entry.payload else { return Applied::Internal };
        if let Some((seq, out)) = self.sessions.get(&req.client) {
            if dedup && req.seq == *seq {
                return Applied::Answer(out.clone());
            }
            if dedup && req.seq < *seq {
                return Applied::Stale;
            }
        }
        let out = self.app.apply(cmd);
        self.sessions.insert(req.client, (req.seq, out.clone()));
        Applied::Answer(out)
    }
}

/// A snapshot: the replicated state as of `index`, and the configuration in force there.
#[derive(Clone, Debug)]
pub struct Snapshot<S: StateMachine> {
    /// Last entry covered.
    pub index: u64,
    /// Its term.
    pub term: u64,
    /// The configuration as of `index`.
    pub members: Members,
    /// The state after applying entries `1..=index`.
    pub state: Replicated<S>,
}

impl<S: StateMachine> Hash for Snapshot<S> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // The running digest stands for the state: it covers every applied entry.
        (self.index, self.term, self.members.0, self.state.chain).hash(h);
    }
}
