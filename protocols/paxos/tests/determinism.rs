//! Same scenario + seed + bugs ⇒ the same trace hash; different seeds ⇒ different runs.

mod common;

use common::{run, scenario};
use faultline_paxos::{MultiPaxos, Paxos};

#[test]
fn paxos_runs_replay_exactly() {
    let s = scenario("paxos-chaos");
    for seed in [0, 7, 99] {
        let a = run::<Paxos>(&s, seed, &[]);
        let b = run::<Paxos>(&s, seed, &[]);
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(a.events, b.events);
        let bugged = run::<Paxos>(&s, seed, &["paxos.learner-by-value"]);
        assert_eq!(bugged.trace_hash, run::<Paxos>(&s, seed, &["paxos.learner-by-value"]).trace_hash);
    }
    assert_ne!(run::<Paxos>(&s, 1, &[]).trace_hash, run::<Paxos>(&s, 2, &[]).trace_hash);
}

#[test]
fn multipaxos_runs_replay_exactly() {
    let s = scenario("multipaxos-failover");
    for seed in [0, 13] {
        let a = run::<MultiPaxos>(&s, seed, &[]);
        let b = run::<MultiPaxos>(&s, seed, &[]);
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(a.ops, b.ops);
    }
    assert_ne!(run::<MultiPaxos>(&s, 1, &[]).trace_hash, run::<MultiPaxos>(&s, 2, &[]).trace_hash);
}
