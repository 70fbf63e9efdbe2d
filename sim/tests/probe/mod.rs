//! A probe protocol for the simulator's own tests: every node pings every other node on a
//! timer, counts what it receives, and keeps a counter on disk that it syncs every other tick.
//! Small enough that a test can predict exactly what each fault must do to it.

#![allow(dead_code)]

use faultline_sim::prelude::*;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    pub tick_ms: u64,
}

#[derive(Debug)]
pub struct Probe {
    pub id: NodeId,
    pub n: u32,
    pub tick_ms: u64,
    /// Pings received, per sender.
    pub received: Vec<u64>,
    /// Ticks handled.
    pub ticks: u64,
    /// In-memory counter (written every tick, synced every other).
    pub counter: u64,
    /// Local clock at the last tick.
    pub last_tick_local: Time,
    pub restarted: bool,
}

#[derive(Clone, Debug, Hash)]
pub struct Ping(pub u64);

#[derive(Clone, Debug, Default)]
pub struct Disk {
    pub counter: u64,
}

impl Durable for Disk {
    type Write = u64;
    fn apply(&mut self, w: &u64) {
        self.counter = *w;
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tick;

impl Protocol for Probe {
    const NAME: &'static str = "probe";
    type Config = ProbeConfig;
    type Msg = Ping;
    type Timer = Tick;
    type Durable = Disk;
    type Input = u64;
    type Output = u64;
    type Ghost = ();

    fn start(env: &Env<Self>, disk: &Disk, ctx: &mut Ctx<Self>) -> Self {
        let tick_ms = if env.config.tick_ms == 0 { 10 } else { env.config.tick_ms };
        ctx.set_timer(Tick, Duration::from_millis(tick_ms));
        Probe {
            id: env.id,
            n: env.nodes,
            tick_ms,
            received: vec![0; env.nodes as usize],
            ticks: 0,
            counter: disk.counter,
            last_tick_local: ctx.now(),
            restarted: env.restarted,
        }
    }

    fn on_message(&mut self, from: NodeId, _msg: Ping, _ctx: &mut Ctx<Self>) {
        self.received[from.index()] += 1;
    }

    fn on_timer(&mut self, _t: Tick, ctx: &mut Ctx<Self>) {
        self.ticks += 1;
        self.last_tick_local = ctx.now();
        self.counter += 1;
        ctx.write(self.counter);
        if self.counter.is_multiple_of(2) {
            ctx.sync();
        }
        for peer in 0..self.n {
            if peer != self.id.0 {
                ctx.send(NodeId(peer), Ping(self.ticks));
            }
        }
        ctx.set_timer(Tick, Duration::from_millis(self.tick_ms));
    }

    fn on_request(&mut self, req: RequestId, input: u64, ctx: &mut Ctx<Self>) {
        ctx.reply(req, input + self.counter);
    }

    fn generate(_c: &ProbeConfig, _client: u32, rng: &mut Prng) -> u64 {
        rng.below(10)
    }
}

pub fn scenario(extra: &str) -> Scenario {
    let text = format!(
        "name = \"probe\"\nprotocol = \"probe\"\nnodes = 3\nduration_ms = 10000\n\
         [network]\ndelay = {{ dist = \"fixed\", ms = 1 }}\n[workload]\nclients = 0\n{extra}"
    );
    Scenario::from_toml_str("probe.toml", &text).unwrap_or_else(|e| panic!("{e}"))
}

pub fn sim(extra: &str, seed: u64) -> Simulation<Probe> {
    Simulation::<Probe>::new(&scenario(extra), &RunOptions::seeded(seed)).unwrap_or_else(|e| panic!("{e}"))
}
