//! The replicated state machine of Multi-Paxos: the shared key-value store of `faultline-kv`
//! (the same one Raft replicates), plus client sessions that apply a retried command once.

use faultline_kv::KvData;
pub use faultline_kv::{lin_input, lin_output, KvAnswer, KvCmd};
use faultline_sim::prelude::RequestId;
use std::collections::BTreeMap;

/// One log entry: a client command with its request id, or a no-op filling a hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entry {
    /// A hole filled by a new leader: nothing to apply.
    Noop,
    /// A client command.
    Cmd(RequestId, KvCmd),
}

/// The key-value store and its client sessions.
#[derive(Clone, Debug, Default)]
pub struct KvStore {
    data: KvData,
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
    pub fn apply(&mut self, req: RequestId, op: KvCmd, dedup: bool, answer: bool) -> Option<KvAnswer> {
        let seen = self.sessions.get(&req.client);
        self.duplicate = seen.is_some_and(|(seq, _)| req.seq <= *seq);
        if dedup && !op.is_read() {
            if let Some((seq, cached)) = seen {
                if req.seq == *seq {
                    return cached.clone().filter(|_| answer);
                }
                if req.seq < *seq {
                    return None;
                }
            }
        }
        if op.is_read() {
            let value = answer.then(|| self.data.read(op.key()));
            self.sessions.insert(req.client, (req.seq, None));
            return value;
        }
        let result = self.data.apply(&op);
        self.sessions.insert(req.client, (req.seq, Some(result.clone())));
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_apply_once_per_request_id() {
        let mut kv = KvStore::default();
        let r = |client, seq| RequestId { client, seq };
        let get = |kv: &mut KvStore, seq| kv.apply(r(1, seq), KvCmd::Get { key: 1 }, true, true);
        assert_eq!(kv.apply(r(0, 1), KvCmd::Append { key: 1, value: 7 }, true, true), Some(KvAnswer::Done));
        assert_eq!(kv.apply(r(0, 1), KvCmd::Append { key: 1, value: 7 }, true, true), Some(KvAnswer::Done));
        assert!(kv.applied_again());
        assert_eq!(get(&mut kv, 1), Some(KvAnswer::Value(vec![7])));
        let cas = KvCmd::Cas { key: 1, expected: 7, new: 9 };
        assert_eq!(kv.apply(r(0, 2), cas, true, true), Some(KvAnswer::Swapped(true)));
        assert_eq!(kv.apply(r(0, 1), KvCmd::Append { key: 1, value: 7 }, true, true), None, "older than the latest");
        assert_eq!(get(&mut kv, 2), Some(KvAnswer::Value(vec![9])));
        assert_eq!(kv.answered(r(0, 2)), Some(&KvAnswer::Swapped(true)));
        assert_eq!(kv.answered(r(1, 2)), None, "reads are not cached");
        assert_eq!(
            kv.apply(r(0, 3), KvCmd::Cas { key: 1, expected: 99, new: 1 }, true, true),
            Some(KvAnswer::Swapped(false))
        );
        // Without deduplication a retried append lands twice.
        kv.apply(r(2, 1), KvCmd::Append { key: 1, value: 3 }, false, false);
        kv.apply(r(2, 1), KvCmd::Append { key: 1, value: 3 }, false, false);
        assert_eq!(get(&mut kv, 3), Some(KvAnswer::Value(vec![9, 3, 3])));
        assert_eq!(
            kv.apply(r(0, 4), KvCmd::Cas { key: 1, expected: 9, new: 1 }, true, true),
            Some(KvAnswer::Swapped(false))
        );
    }
}
