//! The bare event loop: tokens passed around a ring of nodes, plus a timer per node, with no
//! checks and no clients. Measures simulator overhead per event (target: ≥ 5 million events per
//! second per core). Run with `cargo bench -p faultline-sim`.

use faultline_sim::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug)]
struct Ring {
    id: NodeId,
    n: u32,
    passed: u64,
}

#[derive(Clone, Debug, Hash)]
struct Token(u64);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Config {}

impl Protocol for Ring {
    const NAME: &'static str = "token-ring";
    type Config = Config;
    type Msg = Token;
    type Timer = ();
    type Durable = ();
    type Input = u64;
    type Output = u64;
    type Ghost = ();

    fn start(env: &Env<Self>, _d: &(), ctx: &mut Ctx<Self>) -> Self {
        let n = env.nodes;
        // Each node injects 16 tokens.
        for t in 0..16 {
            ctx.send(NodeId((env.id.0 + 1) % n), Token(t));
        }
        ctx.set_timer((), Duration::from_millis(1));
        Ring { id: env.id, n, passed: 0 }
    }

    fn on_message(&mut self, _from: NodeId, msg: Token, ctx: &mut Ctx<Self>) {
        self.passed += 1;
        ctx.send(NodeId((self.id.0 + 1) % self.n), Token(msg.0 + 1));
    }

    fn on_timer(&mut self, _t: (), ctx: &mut Ctx<Self>) {
        ctx.set_timer((), Duration::from_millis(1));
    }

    fn on_request(&mut self, req: RequestId, input: u64, ctx: &mut Ctx<Self>) {
        ctx.reply(req, input);
    }

    fn generate(_c: &Config, _client: u32, rng: &mut Prng) -> u64 {
        rng.below(10)
    }
}

fn scenario() -> Scenario {
    Scenario::from_toml_str(
        "bench.toml",
        "name = \"bench\"\nprotocol = \"token-ring\"\nnodes = 4\nduration_ms = 20000\n\
         [network]\ndelay = { dist = \"uniform\", min_ms = 1, max_ms = 9 }\n[workload]\nclients = 0\n",
    )
    .expect("bench scenario")
}

fn run(s: &Scenario) -> RunReport {
    Simulation::<Ring>::new(s, &RunOptions::seeded(1)).expect("valid").run()
}

fn main() {
    let s = scenario();
    let events = run(&s).events;
    println!("one run: {events} events");
    divan::Divan::from_args().main();
}

#[divan::bench(sample_count = 10)]
fn token_ring(bencher: divan::Bencher) {
    let s = scenario();
    let events = run(&s).events;
    bencher.counter(divan::counter::ItemsCount::new(events as usize)).bench(|| run(&s));
}
