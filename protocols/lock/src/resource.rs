//! The protected resource: a separate node (a file server, a database) that accepts writes
//! carrying a sequencer and rejects any whose generation is lower than the highest it has seen
//! for that lock — fencing, which keeps it consistent even when a paused or delayed old holder
//! writes after the lock moved on.

use crate::message::{LockMsg, LockWrite};
use crate::protocol::Lock;
use faultline_sim::prelude::{Ctx, NodeId};
use std::collections::BTreeMap;

/// The resource node.
#[derive(Debug)]
pub struct Resource {
    /// Highest generation accepted per lock.
    pub max: BTreeMap<u8, u64>,
    /// Writes accepted.
    pub accepted: u64,
    /// Writes rejected as stale.
    pub rejected: u64,
    /// The last accepted write: (lock, generation, client node).
    pub last: (u8, u64, u32),
    no_fencing: bool,
}

impl Resource {
    /// Starts from the durable fence.
    pub fn start(fence: &BTreeMap<u8, u64>, no_fencing: bool) -> Resource {
        Resource { max: fence.clone(), accepted: 0, rejected: 0, last: (0, 0, 0), no_fencing }
    }

    /// A write arrives.
    pub fn on_message(&mut self, _from: NodeId, msg: LockMsg, ctx: &mut Ctx<Lock>) {
        let LockMsg::Write { lock, token, client } = msg else { return };
        let max = self.max.get(&lock).copied().unwrap_or(0);
        if token < max && !self.no_fencing {
            // The sequencer is older than one already seen: its holder lost the lock.
            ctx.sometimes("lock.resource-rejected-stale");
            self.rejected += 1;
            return;
        }
        if token > max {
            self.max.insert(lock, token);
            ctx.write(LockWrite::Fence { lock, token });
            ctx.sync();
        }
        self.accepted += 1;
        self.last = (lock, token, client);
    }
}

#[cfg(test)]
mod tests {
    use crate::config::LockConfig;
    use crate::message::LockMsg;
    use crate::protocol::Lock;
    use faultline_sim::driver::Driver;
    use faultline_sim::prelude::NodeId;

    fn accepted_rejected(d: &Driver<Lock>) -> (u64, u64) {
        match d.node() {
            Lock::Resource(r) => (r.accepted, r.rejected),
            other => panic!("not the resource: {other:?}"),
        }
    }

    /// The resource accepts any number of writes under the highest sequencer it has seen (a
    /// holder writes once per piece of work) and refuses only older ones.
    #[test]
    fn fencing_refuses_only_older_sequencers() {
        let cfg = LockConfig::default();
        let mut d = Driver::<Lock>::start(cfg.resource(), cfg.nodes(), cfg.clone(), &[]).expect("valid");
        let write = |token| LockMsg::Write { lock: 0, token, client: 3 };
        for token in [2, 2, 3, 3] {
            d.message(NodeId(3), write(token));
        }
        assert_eq!(accepted_rejected(&d), (4, 0));
        d.message(NodeId(4), write(2));
        assert_eq!(accepted_rejected(&d), (4, 1));
    }
}
