//! The `cargo test` helpers and the determinism check, on the example register and on a
//! protocol that reads per-process randomness (as raft-rs does with `thread_rng`).

use faultline::testing::{self, Sweep};
use faultline_sim::example::Register;
use faultline_sim::prelude::*;
use serde::{Deserialize, Serialize};
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::time::Duration;

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

#[test]
fn a_clean_sweep_passes() {
    testing::sweep::<Register>(scenarios().join("register-steady.toml"), 0..16);
}

#[test]
fn a_failure_panics_with_seed_violation_repro_and_the_replay_and_shrink_commands() {
    let sweep = Sweep::new(scenarios().join("register-crash.toml")).seeds(0..8).bug("register.no-sync");
    let report = sweep.clone().run::<Register>();
    assert!(!report.failures.is_empty(), "the planted bug is caught");
    let f = &report.failures[0];
    assert_eq!(f.scenario, "register-crash");
    assert!(f.invariant.starts_with("register."), "{f:?}");
    let repro = f.repro.as_ref().expect("a repro file");
    assert!(repro.is_file(), "{}", repro.display());
    assert!(repro.is_absolute());
    let text = std::fs::read_to_string(repro).unwrap();
    assert!(text.contains("protocol = \"register\""), "the repro names its protocol");
    // Under cargo test the commands run the package under test.
    let replay = f.replay.as_ref().unwrap();
    assert!(replay.starts_with("cargo run --release -p faultline -- replay "), "{replay}");
    assert!(f.shrink.as_ref().unwrap().contains(" -- shrink "));
    // Outputs stay out of the source tree.
    assert!(!repro.starts_with(env!("CARGO_MANIFEST_DIR")) || repro.components().any(|c| c.as_os_str() == "target"));

    let panic = std::panic::catch_unwind(|| sweep.assert_pass::<Register>()).expect_err("a failing sweep panics");
    let msg = panic.downcast_ref::<String>().expect("a message");
    for needle in ["FAIL register-crash seed=", "register.", "repro:", "replay:", "shrink:", "scenario:"] {
        assert!(msg.contains(needle), "`{needle}` missing from:\n{msg}");
    }
}

#[test]
fn the_determinism_check_passes_a_deterministic_protocol() {
    let report = Sweep::new(scenarios().join("register-crash.toml")).seeds(0..6).check_determinism(1).run::<Register>();
    assert!(report.passed(), "{}", report.describe());
    assert_eq!(report.runs, 6);
}

/// A gossip protocol whose nodes wait a random time between rounds: drawn from the node's own
/// stream when `ambient` is off, from per-process randomness (`RandomState`, the source of
/// `HashMap` order, standing in for `thread_rng`) when it is on.
#[derive(Debug)]
struct Gossip {
    id: NodeId,
    n: u32,
    ambient: bool,
    heard: u64,
}

#[derive(Clone, Debug, Hash)]
struct Rumour(u64);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GossipConfig {
    #[serde(default)]
    ambient: bool,
}

impl Gossip {
    fn pause_ms(&self, ctx: &mut Ctx<Self>) -> u64 {
        if self.ambient {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(self.id.0);
            5 + h.finish() % 20
        } else {
            5 + ctx.rng().below(20)
        }
    }
}

impl Protocol for Gossip {
    const NAME: &'static str = "gossip";
    type Config = GossipConfig;
    type Msg = Rumour;
    type Timer = ();
    type Durable = ();
    type Input = u8;
    type Output = u64;
    type Ghost = ();

    fn start(env: &Env<Self>, _d: &(), ctx: &mut Ctx<Self>) -> Self {
        let g = Gossip { id: env.id, n: env.nodes, ambient: env.config.ambient, heard: 0 };
        let ms = g.pause_ms(ctx);
        ctx.set_timer((), Duration::from_millis(ms));
        g
    }
    fn on_message(&mut self, _from: NodeId, msg: Rumour, _ctx: &mut Ctx<Self>) {
        self.heard = self.heard.max(msg.0);
    }
    fn on_timer(&mut self, _t: (), ctx: &mut Ctx<Self>) {
        ctx.send(NodeId((self.id.0 + 1) % self.n), Rumour(self.heard + 1));
        let ms = self.pause_ms(ctx);
        ctx.set_timer((), Duration::from_millis(ms));
    }
    fn on_request(&mut self, req: RequestId, _input: u8, ctx: &mut Ctx<Self>) {
        ctx.reply(req, self.heard);
    }
    fn generate(_c: &GossipConfig, _client: u32, _rng: &mut Prng) -> u8 {
        0
    }
}

fn gossip_scenario(name: &str, ambient: bool) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\nprotocol = \"gossip\"\nnodes = 3\nduration_ms = 500\n[workload]\nclients = 1\n\
             [config]\nambient = {ambient}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_determinism_check_catches_ambient_randomness_and_names_the_first_differing_event() {
    let clean = Sweep::new(gossip_scenario("gossip-seeded", false)).seeds(0..4).check_determinism(1).run::<Gossip>();
    assert!(clean.passed(), "{}", clean.describe());

    let report = Sweep::new(gossip_scenario("gossip-ambient", true)).seeds(0..4).check_determinism(1).run::<Gossip>();
    assert_eq!(report.failures.len(), 4, "every run diverges: {}", report.describe());
    for f in &report.failures {
        assert_eq!(f.invariant, "sim.nondeterminism");
        // The first timers are armed at start, so the first difference is a timer firing (or
        // a delivery) at a different time: the detail names its index, time, kind and node.
        assert!(f.detail.contains("diverge at event "), "{}", f.detail);
        assert!(f.detail.contains("first run t="), "{}", f.detail);
        assert!(f.detail.contains("second run t="), "{}", f.detail);
        assert!(f.detail.contains(" node=n"), "{}", f.detail);
    }
    // Without the check the same sweep passes: nothing else notices.
    let unchecked = Sweep::new(gossip_scenario("gossip-ambient", true)).seeds(0..4).run::<Gossip>();
    assert!(unchecked.passed(), "{}", unchecked.describe());
}

#[test]
fn every_nth_run_is_checked() {
    // Every 3rd of 6 runs checked: runs at positions 0 and 3 fail, the others pass.
    let report = Sweep::new(gossip_scenario("gossip-nth", true)).seeds(10..16).check_determinism(3).run::<Gossip>();
    let seeds: Vec<u64> = report.failures.iter().map(|f| f.seed).collect();
    assert_eq!(seeds, vec![10, 13], "{}", report.describe());
}
