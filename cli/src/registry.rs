//! The protocols this binary knows, by scenario name.

use faultline_sim::runner::{ProtocolRunner, Runner};

static REGISTER: Runner<faultline_sim::example::Register> = Runner::new();
static RING: Runner<faultline_ring::RingStore> = Runner::new();
static RAFT: Runner<faultline_raft::Raft> = Runner::new();
static LOCK: Runner<faultline_lock::Lock> = Runner::new();
static PAXOS: Runner<faultline_paxos::Paxos> = Runner::new();
static MULTIPAXOS: Runner<faultline_paxos::MultiPaxos> = Runner::new();

/// Every registered protocol, in the order `faultline bugs` lists them.
pub fn runners() -> Vec<&'static dyn ProtocolRunner> {
    vec![&REGISTER, &RAFT, &PAXOS, &MULTIPAXOS, &RING, &LOCK]
}

/// The runner for `name`, or an error listing the known ones.
pub fn find(name: &str) -> Result<&'static dyn ProtocolRunner, String> {
    runners().into_iter().find(|r| r.name() == name).ok_or_else(|| {
        let known: Vec<&str> = runners().iter().map(|r| r.name()).collect();
        format!("unknown protocol `{name}` (known: {})", known.join(", "))
    })
}
