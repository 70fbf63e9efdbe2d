//! Prints a coarse timeline of one run: client sessions and beliefs, and the cell's lock 0.
//! `cargo run --release -p faultline-lock --example trace -- SCENARIO SEED FROM_MS TO_MS [bug]`
use faultline_lock::Lock;
use faultline_sim::prelude::*;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let scenario = Scenario::load(std::path::Path::new(&a[1])).expect("scenario");
    let seed: u64 = a[2].parse().unwrap();
    let (from, to): (u64, u64) = (a[3].parse().unwrap(), a[4].parse().unwrap());
    let bugs = a.get(5).map(|b| vec![b.clone()]).unwrap_or_default();
    let mut sim = Simulation::<Lock>::new(&scenario, &RunOptions { seed, bugs }).unwrap();
    let mut t = from;
    sim.run_until(Time::from_ms(from));
    while t <= to {
        let mut line = format!("{t:5}ms");
        for i in 0..scenario.nodes.0 {
            let node = NodeId(i);
            match sim.node(node) {
                Some(Lock::Server(s)) if s.is_leader() => {
                    let app = &s.raft.state().app;
                    if let Some(l) = app.locks.first() {
                        line += &format!(
                            " | M{} L0 h={:?} g={} d={} w={:?}",
                            i, l.holder, l.generation, l.delayed, l.waiters
                        );
                    }
                }
                Some(Lock::Client(c)) => {
                    let local = sim.local_clock(node);
                    line += &format!(
                        " | c{} s={:?} {:?} held={:?} cs={:?} lease_left={}ms",
                        i,
                        c.session,
                        c.status,
                        c.held,
                        c.in_cs,
                        (c.lease_end.0 as i64 - local.0 as i64) / 1_000_000
                    );
                }
                _ => {}
            }
        }
        println!("{line}");
        t += 10;
        if !sim.run_until(Time::from_ms(t)) {
            println!("stopped");
            break;
        }
    }
}
