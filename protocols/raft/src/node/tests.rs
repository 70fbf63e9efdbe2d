//! Unit tests of one Raft node driven by hand (`faultline_sim::driver`): what its accessors and
//! timeline line report, which the simulated runs read only through the checks.

use super::*;
use crate::{KvCmd, RaftInput};
use faultline_sim::driver::{replies, Driver};

/// Node 0 of `nodes`, the only voter, elected: it needs nobody's vote or acknowledgement.
fn lone_leader(nodes: u32) -> Driver<Raft> {
    let cfg = RaftConfig { voters: Some(1), ..RaftConfig::default() };
    let late_ms = 10 * cfg.election_timeout_max_ms();
    let mut d = Driver::<Raft>::start(NodeId(0), nodes, cfg, &[]).expect("valid configuration");
    let n = d.node();
    assert_eq!((n.role(), n.term(), n.commit_index()), (Role::Follower, 0, 0));
    assert_eq!(n.members(), Members::first(1));
    assert_eq!(n.summary_line(), "follower t0 commit 0/0 applied 0");
    d.set_now_ms(late_ms);
    // Pre-vote, then the vote: each round is one election time-out.
    for _ in 0..4 {
        if d.node().role() == Role::Leader {
            break;
        }
        d.fire(RaftTimer::Election);
    }
    assert_eq!(d.node().role(), Role::Leader);
    d
}

#[test]
fn a_lone_voter_elects_itself_and_commits_on_its_own_persistence() {
    let mut d = lone_leader(1);
    // The leader's no-op of its term, committed and applied at once: the only voter has it.
    assert_eq!((d.node().term(), d.node().commit_index()), (1, 1));
    assert_eq!(d.node().summary_line(), "leader t1 commit 1/1 applied 1");
    let out = d.request(RequestId { client: 0, seq: 0 }, RaftInput::Client(KvCmd::Put { key: 3, value: 9 }));
    assert_eq!(d.node().commit_index(), 2);
    assert_eq!(d.node().summary_line(), "leader t1 commit 2/2 applied 2");
    assert_eq!(replies::<Raft>(&out).len(), 1, "the write is answered once committed");
}

#[test]
fn an_added_server_is_in_the_configuration_as_soon_as_it_is_appended() {
    let mut d = lone_leader(2);
    d.request(RequestId { client: 0, seq: 0 }, RaftInput::AddServer(1));
    // Single-server changes take effect on append, before they commit (thesis §4.1); commit now
    // needs node 1 too, so it stays at the no-op.
    assert_eq!(d.node().members(), Members::first(2));
    assert_eq!(d.node().commit_index(), 1);
    assert_eq!(d.node().summary_line(), "leader t1 commit 1/2 applied 1");
}
