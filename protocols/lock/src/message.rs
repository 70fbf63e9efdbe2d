//! Messages, timers, durable state and the client-facing operations of the lock protocol.

use crate::cell::{CellAnswer, CellCmd, LockCell};
use faultline_raft::storage::{RaftDisk, RaftWrite};
use faultline_raft::{RaftMsg, RaftTimer};
use faultline_sim::prelude::{Durable, NodeId, RequestId, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the master grants with a session answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeaseGrant {
    /// The lease, a duration on the master's clock: the client times it from *before* it sent
    /// the call, minus the drift margin.
    pub lease_ms: u64,
    /// The master's own deadline reading. Meaningless on another clock; only the planted bug
    /// `lock.absolute-deadline` uses it.
    pub master_deadline: Time,
}

/// A message between nodes.
#[derive(Clone, Debug, Hash)]
pub enum LockMsg {
    /// Between cell servers: the embedded Raft's traffic.
    Raft(RaftMsg<LockCell>),
    /// Client library → cell: a call (retries keep `req`, so the cell applies it once).
    Call {
        /// Request id: `client` is `2 · node + channel`.
        req: RequestId,
        /// The call.
        cmd: CellCmd,
    },
    /// Cell → client library: the committed answer.
    Answer {
        /// The call answered.
        req: RequestId,
        /// The answer.
        answer: CellAnswer,
        /// For session opens and renewals: the lease.
        lease: Option<LeaseGrant>,
    },
    /// Cell → client library: not (yet) the master; try `hint`.
    NotMaster {
        /// The call refused.
        req: RequestId,
        /// Where to try next.
        hint: Option<NodeId>,
    },
    /// Client library → resource: a write under a sequencer.
    Write {
        /// Lock.
        lock: u8,
        /// The sequencer's generation.
        token: u64,
        /// The writing client node.
        client: u32,
    },
}

/// Timers of every role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockTimer {
    /// Server: the embedded Raft's timers.
    Raft(RaftTimer),
    /// Master: a session's lease ran out on the master's clock.
    SessionExpiry(u64),
    /// Master: a lock's lock-delay is over.
    LockDelay(u8),
    /// Client: send a KeepAlive.
    KeepAlive,
    /// Client: resend the call on a channel.
    Retry(u8),
    /// Client: the local lease may have run out.
    LeaseEnd,
    /// Client: the grace period is over.
    GraceEnd,
    /// Client: ask again about a queued acquire.
    Poll,
    /// Client: a blocking acquire waited long enough.
    OpDeadline,
    /// Client: the work under the lock is done; write it.
    WorkDone,
}

/// What a node keeps on disk.
#[derive(Clone, Debug, Default)]
pub struct LockDisk {
    /// Server: Raft's term, vote, log and snapshot.
    pub raft: RaftDisk<LockCell>,
    /// Resource: highest sequencer generation accepted per lock.
    pub fence: BTreeMap<u8, u64>,
}

/// One durable write.
#[derive(Debug)]
pub enum LockWrite {
    /// Server: a Raft write.
    Raft(RaftWrite<LockCell>),
    /// Resource: the highest generation accepted for a lock.
    Fence {
        /// Lock.
        lock: u8,
        /// Generation.
        token: u64,
    },
}

impl Durable for LockDisk {
    type Write = LockWrite;
    fn apply(&mut self, w: &LockWrite) {
        match w {
            LockWrite::Raft(r) => self.raft.apply(r),
            LockWrite::Fence { lock, token } => {
                let t = self.fence.entry(*lock).or_insert(0);
                *t = (*t).max(*token);
            }
        }
    }
}

/// A workload operation, sent to the client's library node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockOp {
    /// Take the lock, waiting in its queue up to `acquire_wait_ms`.
    Acquire {
        /// Lock.
        lock: u8,
    },
    /// Take the lock if it is free now.
    TryAcquire {
        /// Lock.
        lock: u8,
    },
    /// Give the lock back.
    Release {
        /// Lock.
        lock: u8,
    },
}

impl LockOp {
    /// The lock the operation is about.
    pub fn lock(self) -> u8 {
        match self {
            LockOp::Acquire { lock } | LockOp::TryAcquire { lock } | LockOp::Release { lock } => lock,
        }
    }
}

/// The answer to a workload operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockAnswer {
    /// The lock is held, under this sequencer generation.
    Granted {
        /// Generation.
        token: u64,
    },
    /// Not acquired (busy, or waited too long): no effect.
    NotGranted,
    /// This client already holds it: no effect.
    AlreadyHeld,
    /// Released.
    Released,
    /// This client did not hold it: no effect.
    NotHeld,
}

impl LockAnswer {
    /// Did the operation take effect?
    pub fn ok(self) -> bool {
        matches!(self, LockAnswer::Granted { .. } | LockAnswer::Released)
    }
}
