//! Clients: closed and open loops, time-outs, and how outcomes are recorded.

use faultline_sim::example::Register;
use faultline_sim::prelude::*;

fn run(
    text: &str,
    seed: u64,
) -> (RunReport, Vec<Op<faultline_sim::example::RegisterOp, faultline_sim::example::RegisterAnswer>>) {
    let s = Scenario::from_toml_str("w.toml", text).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Simulation::<Register>::new(&s, &RunOptions::seeded(seed)).unwrap();
    sim.run_until(s.duration());
    let ops = sim.history().ops.clone();
    (sim.finish(), ops)
}

const BASE: &str = "name = \"w\"\nprotocol = \"register\"\nnodes = 3\nduration_ms = 10000\n";

#[test]
fn open_loop_arrivals_follow_the_rate() {
    let (r, _) = run(&format!("{BASE}[workload]\nclients = 4\nmode = \"open\"\nrate_per_s = 200\n"), 1);
    // 200/s for 10 s: about 2000 arrivals (Poisson: ±5% is over 4 standard deviations).
    assert!((1900..=2100).contains(&r.ops.invoked), "{}", r.ops.invoked);
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
}

#[test]
fn open_loop_arrivals_do_not_wait_for_answers() {
    // The primary is down from 2 s to 6 s, so nothing is answered; open-loop calls keep arriving
    // at the same rate (a closed loop would slow to one call per time-out per client).
    let faults = "[[faults]]\nat_ms = 2000\nkind = \"crash\"\nnode = 0\nfor_ms = 4000\n";
    let calls_while_down = |mode: &str| {
        let (_, ops) =
            run(&format!("{BASE}[workload]\nclients = 4\n{mode}timeout_ms = 1000\nattempts = 1\n{faults}"), 1);
        ops.iter().filter(|o| (2_100_000_000..6_000_000_000).contains(&o.call_ns)).count()
    };
    let open = calls_while_down("mode = \"open\"\nrate_per_s = 200\n");
    let closed = calls_while_down("");
    assert!((700..=860).contains(&open), "open loop: {open} calls in 3.9 s at 200/s");
    assert!(closed < 100, "closed loop: {closed}");
}

#[test]
fn closed_loop_clients_wait_and_think() {
    let (r, ops) = run(&format!("{BASE}[workload]\nclients = 2\nthink_ms = [50, 50]\n"), 2);
    for c in 0..2 {
        let mine: Vec<_> = ops.iter().filter(|o| o.client == c).collect();
        for w in mine.windows(2) {
            let done = w[0].return_ns.expect("no faults: every op answered");
            assert!(w[1].call_ns >= done + 50_000_000, "client {c} called before thinking");
        }
    }
    // 2 clients × 10 s / (50 ms think + a few ms latency) ≈ 370 operations.
    assert!((300..=400).contains(&r.ops.invoked), "{}", r.ops.invoked);
    assert_eq!(r.ops.ok, r.ops.invoked - ops.iter().filter(|o| o.return_ns.is_none()).count() as u64);
}

#[test]
fn timeouts_are_indeterminate_never_failed() {
    // The primary is down from 2 s to 6 s: writes sent to it time out. They may or may not have
    // taken effect, so they are indeterminate, and the history check still passes.
    let text = format!(
        "{BASE}[workload]\nclients = 3\ntimeout_ms = 100\nattempts = 2\n\
         [[faults]]\nat_ms = 2000\nkind = \"crash\"\nnode = 0\nfor_ms = 4000\n"
    );
    let (r, ops) = run(&text, 3);
    assert!(r.ops.indeterminate > 0);
    for o in &ops {
        if o.outcome == Outcome::Indeterminate {
            assert!(o.return_ns.is_none() && o.output.is_none());
        }
    }
    // Backups reject (the client is told "not the primary") — when every attempt was rejected
    // and none timed out, the op definitely did not happen: failed.
    assert!(ops.iter().filter(|o| o.outcome == Outcome::Failed).all(|o| o.return_ns.is_some()));
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    assert!(r.recovery.longest_outage_ms >= 3_900, "{:?}", r.recovery);
}

#[test]
fn limits_bound_every_run() {
    let (r, _) = run(&format!("{BASE}[limits]\nmax_events = 500\n"), 4);
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(r.unknown_reason.as_deref().unwrap().contains("max_events"));
    assert_eq!(r.events, 500);
    let (r, ops) = run(&format!("{BASE}[limits]\nmax_history = 25\n"), 4);
    assert_eq!(ops.len(), 25);
    assert_eq!(r.verdict, Verdict::Pass);
}

#[test]
fn liveness_and_availability_bounds_fail_runs() {
    // The primary never comes back: nothing succeeds after the crash, so liveness fails.
    let text = format!(
        "{BASE}[workload]\ntimeout_ms = 100\n[[faults]]\nat_ms = 1000\nkind = \"crash\"\nnode = 0\n\
         [checks]\nliveness_ms = 2000\n"
    );
    let (r, _) = run(&text, 5);
    assert_eq!(r.first_invariant(), Some("sim.liveness"), "{:?}", r.violations);
    let text = format!(
        "{BASE}[workload]\ntimeout_ms = 100\n[[faults]]\nat_ms = 1000\nkind = \"crash\"\nnode = 0\nfor_ms = 8000\n\
         [checks]\nmin_availability = 0.9\n"
    );
    let (r, _) = run(&text, 5);
    assert_eq!(r.first_invariant(), Some("sim.availability"), "{:?}", r.violations);
}

#[test]
fn the_history_check_uses_the_scenarios_state_budget() {
    // The same busy run: decided within the default budget, inconclusive (never a pass) when the
    // scenario allows the checker a single state.
    let text = format!("{BASE}[workload]\nclients = 8\nthink_ms = [0, 1]\n");
    let (r, _) = run(&text, 3);
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.violations);
    let (r, _) = run(&format!("{text}[checks]\nhistory_budget = 1\n"), 3);
    assert_eq!(r.verdict, Verdict::Unknown, "{:?}", r.violations);
    let reason = r.unknown_reason.expect("a reason");
    assert!(reason.starts_with("register.linearizable"), "{reason}");
}
