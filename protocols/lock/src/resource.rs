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
