//! The scripted three-ballot case happens exactly as its scenario describes.

mod common;

use common::scenario;
use faultline_paxos::ballot::Ballot;
use faultline_paxos::paxos::PaxosOutput;
use faultline_paxos::Paxos;
use faultline_sim::prelude::*;

#[test]
fn a_prepare_quorum_of_a_and_c_adopts_w() {
    let s = scenario("paxos-three-ballots");
    for seed in 0..5 {
        let mut sim = Simulation::<Paxos>::new(&s, &RunOptions::seeded(seed)).unwrap();
        assert!(sim.run_until(Time::from_ms(39)));
        let accepted = |n: u32| sim.synced(NodeId(n)).accepted_in(0);
        // A holds (1,n0)=v, C holds (1,n2)=w, B holds (2,n1)=v: three ballots, two values.
        assert_eq!(accepted(0), Some((Ballot::new(1, 0), 1)));
        assert_eq!(accepted(2), Some((Ballot::new(1, 2), 2)));
        assert_eq!(accepted(1), Some((Ballot::new(2, 1), 1)));
        assert!((0..3).all(|n| sim.node(NodeId(n)).unwrap().learned().is_none()), "nothing chosen yet");
        // A's new ballot with promises {A, C} must adopt C's w.
        assert!(sim.run_until(Time::from_ms(59)));
        assert_eq!(sim.synced(NodeId(0)).accepted_in(0), Some((Ballot::new(3, 0), 2)));
        assert_eq!(sim.synced(NodeId(2)).accepted_in(0), Some((Ballot::new(3, 0), 2)));
        assert_eq!(sim.node(NodeId(0)).unwrap().learned(), Some(2));
        let report = sim.run();
        assert_eq!(report.verdict, Verdict::Pass, "{:?}", report.violations);
        assert!(report.ops.ok > 0);
    }
}

#[test]
fn every_client_is_told_the_one_chosen_value() {
    let s = scenario("paxos-three-ballots");
    let mut sim = Simulation::<Paxos>::new(&s, &RunOptions::seeded(3)).unwrap();
    sim.run_until(s.duration());
    let answers: Vec<_> = sim.history().ok().map(|o| o.output.unwrap()).collect();
    assert!(!answers.is_empty());
    assert!(answers.iter().all(|&a| a == PaxosOutput::Chosen(2)), "{answers:?}");
}
