//! Prints each node's role, term, commit and last index over time for one seed:
//! `cargo run --release -p faultline-raft --example inspect -- SCENARIO.toml SEED FROM_MS STEP_MS [BUG]`.

use faultline_raft::Raft;
use faultline_sim::prelude::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scenario = Scenario::load(std::path::Path::new(&args[1])).unwrap_or_else(|e| panic!("{e}"));
    let seed: u64 = args[2].parse().unwrap();
    let from: u64 = args[3].parse().unwrap();
    let step: u64 = args[4].parse().unwrap();
    let bugs: Vec<String> = args.get(5).into_iter().cloned().collect();
    let mut sim = Simulation::<Raft>::new(&scenario, &RunOptions { seed, bugs }).unwrap();
    let mut t = from;
    while t <= scenario.duration_ms.0 {
        let go = sim.run_until(Time::from_ms(t));
        let mut line = format!("t={t:5}");
        for i in 0..scenario.nodes.0 {
            match sim.node(NodeId(i)) {
                None => line += " | down",
                Some(n) => {
                    line += &format!(
                        " | {:?} t{} c{} a{} l{} m{:b}/{}",
                        n.role(),
                        n.term(),
                        n.commit_index(),
                        n.state().applied,
                        n.log().last_index(),
                        n.members().0,
                        n.log().last_term()
                    )
                }
            }
        }
        println!("{line}");
        if !go {
            break;
        }
        t += step;
    }
    let r = sim.finish();
    println!("{:?} {:?}", r.verdict, r.violations.first());
}
