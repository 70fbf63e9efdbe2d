//! Timers fire when they were last armed for, once, in the order of their arming among events
//! of the same time; re-arming to a later time (which queues no event, see `ArmedTimer` in
//! world.rs), to an earlier time, and cancelling all behave as if each arming queued its own.

use faultline_sim::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct NoConfig {}

/// One node that plays a fixed script of timer calls on a 10 ms tick and records every fire.
#[derive(Debug)]
struct Script {
    start: Time,
    /// (timer, ms after start) of every fire.
    fired: Vec<(char, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum T {
    Tick(u64),
    Named(char),
}

impl Script {
    fn ms(&self, ctx: &Ctx<Self>) -> u64 {
        (ctx.monotonic().0 - self.start.0) / 1_000_000
    }
}

impl Protocol for Script {
    const NAME: &'static str = "timer-script";
    type Config = NoConfig;
    type Msg = ();
    type Timer = T;
    type Durable = ();
    type Input = u64;
    type Output = u64;
    type Ghost = ();

    fn start(_env: &Env<Self>, _d: &(), ctx: &mut Ctx<Self>) -> Self {
        ctx.set_timer(T::Tick(10), Duration::from_millis(10));
        ctx.set_timer(T::Named('a'), Duration::from_millis(10));
        ctx.set_timer(T::Named('b'), Duration::from_millis(50));
        ctx.set_timer(T::Named('c'), Duration::from_millis(40));
        Script { start: ctx.monotonic(), fired: Vec::new() }
    }

    fn on_message(&mut self, _from: NodeId, _msg: (), _ctx: &mut Ctx<Self>) {}

    fn on_timer(&mut self, t: T, ctx: &mut Ctx<Self>) {
        // `Tick(at)` is the tick armed for `at` ms; a pause delays it, and the script with it.
        let now = self.ms(ctx);
        let after = |ms: u64| Duration::from_millis(ms);
        match t {
            T::Named(name) => self.fired.push((name, now)),
            T::Tick(at) => {
                match at {
                    // 'a' is pushed later on every tick up to 100 ms: it fires once, at 125.
                    10..=100 if at != 10 => ctx.set_timer(T::Named('a'), after(25)),
                    _ => {}
                }
                match at {
                    20 => ctx.set_timer(T::Named('c'), after(5)),   // earlier: 25, not 40
                    30 => ctx.cancel_timer(T::Named('b')),          // never fires
                    50 => ctx.set_timer(T::Named('g'), after(100)), // queued for 150 ...
                    80 => ctx.set_timer(T::Named('h'), after(70)),  // 150, armed before g's re-arm
                    90 => ctx.set_timer(T::Named('g'), after(60)),  // ... re-armed to 150: after h
                    60 => ctx.set_timer(T::Named('d'), after(20)),
                    70 => ctx.set_timer(T::Named('e'), after(10)), // 80, after d
                    _ => {}
                }
                if at < 200 {
                    ctx.set_timer(T::Tick(at + 10), after(10));
                }
            }
        }
    }

    fn on_request(&mut self, req: RequestId, input: u64, ctx: &mut Ctx<Self>) {
        ctx.reply(req, input);
    }

    fn generate(_c: &NoConfig, _client: u32, rng: &mut Prng) -> u64 {
        rng.below(2)
    }
}

fn run(extra: &str) -> Vec<(char, u64)> {
    let text = format!(
        "name = \"timers\"\nprotocol = \"timer-script\"\nnodes = 1\nduration_ms = 400\n\
         [network]\ndelay = {{ dist = \"fixed\", ms = 1 }}\n[workload]\nclients = 0\n{extra}"
    );
    let scenario = Scenario::from_toml_str("timers.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Simulation::<Script>::new(&scenario, &RunOptions::seeded(1)).unwrap_or_else(|e| panic!("{e}"));
    sim.run_until(Time::from_ms(400));
    sim.node(NodeId(0)).expect("up").fired.clone()
}

#[test]
fn rearmed_cancelled_and_tied_timers_fire_as_armed() {
    let fired = run("");
    assert_eq!(fired, [('a', 10), ('c', 25), ('d', 80), ('e', 80), ('a', 125), ('h', 150), ('g', 150)]);
}

#[test]
fn a_timer_due_during_a_pause_fires_on_resume_at_its_armed_place() {
    // Paused from 75 to 130 ms: d, e and the 80 ms tick wait and run on resume in that order,
    // and so does 'a' (due at 95 by then). The delayed ticks then re-arm 'a' (from the waiting
    // event) and 'g' from 130 on: a at 150 + 25, h at 130 + 70 and g at 140 + 60, after h.
    let fired = run("[[faults]]\nat_ms = 75\nkind = \"pause\"\nnode = 0\nfor_ms = 55\n");
    assert_eq!(fired, [('a', 10), ('c', 25), ('d', 130), ('e', 130), ('a', 175), ('h', 200), ('g', 200)]);
}
