//! Swarm testing: each seed also draws which fault kinds are on and how often they strike,
//! within the bounds the scenario sets, so that across a sweep some runs see only crashes, some
//! only partitions, some a quiet network (Groce et al., "Swarm Testing", ISSTA 2012: leaving
//! features out of a test often finds more bugs than always turning everything on).
//!
//! The draws come from the seed's own `Stream::Swarm`, so they never shift the network's, the
//! workload's or the nemesis's draws, and the same seed always gives the same options. The
//! modified scenario is what runs and what a repro pins.

use faultline_sim::prng::{Prng, Stream};
use faultline_sim::scenario::{Probability, Range, Scenario};

/// Nemesis fault kinds, in the order of `NemesisSpec::weights`.
const KINDS: [&str; 5] = ["partition", "crash", "pause", "clock_jump", "loss_burst"];

/// The scenario as swarm testing modifies it for `seed`, and a one-line description of the
/// options drawn (e.g. `partition=off crash=x3 pause=x1 interval_ms=[150,700] loss=0.01`).
///
/// - each nemesis fault kind with a positive weight is on or off with even odds (at least one
///   stays on), and an enabled kind's weight is multiplied by 1 to 4;
/// - the nemesis's quiet interval and fault duration are narrowed to a sub-range of the
///   scenario's ranges (so faults strike more or less often, for shorter or longer);
/// - network loss, duplication and client loss are scaled down to 0, ¼, ½, ¾ or all of the
///   scenario's value.
pub fn draw(base: &Scenario, seed: u64) -> (Scenario, String) {
    let mut rng = Prng::new(seed, Stream::Swarm, 0);
    let mut s = base.clone();
    s.source = None;
    let mut desc: Vec<String> = Vec::new();
    if let Some(nem) = s.nemesis.as_mut() {
        let weights = nem.weights();
        let positive: Vec<usize> = (0..KINDS.len()).filter(|&k| weights[k] > 0).collect();
        let mut on: Vec<bool> = positive.iter().map(|_| rng.chance(1, 2)).collect();
        if !on.iter().any(|&x| x) {
            let keep = rng.below(positive.len() as u64) as usize;
            on[keep] = true;
        }
        let mut new = [0u64; 5];
        for (i, &k) in positive.iter().enumerate() {
            if on[i] {
                let factor = rng.range(1, 4);
                new[k] = weights[k].saturating_mul(factor);
                desc.push(format!("{}=x{factor}", KINDS[k]));
            } else {
                desc.push(format!("{}=off", KINDS[k]));
            }
        }
        nem.partition = new[0];
        nem.crash = new[1];
        nem.pause = new[2];
        nem.clock_jump = new[3];
        nem.loss_burst = new[4];
        nem.interval_ms = sub_range(&mut rng, nem.interval_ms);
        nem.duration_ms = sub_range(&mut rng, nem.duration_ms);
        desc.push(format!("interval_ms=[{},{}]", nem.interval_ms.min, nem.interval_ms.max));
        desc.push(format!("fault_ms=[{},{}]", nem.duration_ms.min, nem.duration_ms.max));
    }
    let net = &mut s.network;
    for (name, p) in [("loss", &mut net.loss), ("duplicate", &mut net.duplicate), ("client_loss", &mut net.client_loss)]
    {
        if p.ppm() > 0 {
            let quarters = rng.below(5) as u32;
            *p = Probability(p.ppm() / 4 * quarters + if quarters == 4 { p.ppm() % 4 } else { 0 });
            desc.push(format!("{name}={}", f64::from(p.ppm()) / 1e6));
        }
    }
    if desc.is_empty() {
        desc.push("nothing to vary (no nemesis, no loss or duplication)".into());
    }
    (s, desc.join(" "))
}

/// A sub-range of `r`: both ends drawn within it, in order.
fn sub_range(rng: &mut Prng, r: Range) -> Range {
    let a = rng.range(r.min, r.max);
    let b = rng.range(r.min, r.max);
    Range { min: a.min(b), max: a.max(b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "name = \"t\"\nprotocol = \"register\"\nnodes = 3\nduration_ms = 1000\n\
        [network]\nloss = 0.04\n[nemesis]\ncrash = 1\npartition = 2\npause = 1\ninterval_ms = [100, 500]\n";

    #[test]
    fn draws_are_deterministic_within_bounds_and_keep_a_fault_on() {
        let base = Scenario::from_toml_str("t.toml", BASE).unwrap();
        let mut differ = false;
        for seed in 0..64 {
            let (a, da) = draw(&base, seed);
            let (b, db) = draw(&base, seed);
            assert_eq!(da, db, "same seed, same draw");
            assert_eq!(a.to_toml(), b.to_toml());
            let nem = a.nemesis.as_ref().unwrap();
            assert!(nem.weights().iter().any(|&w| w > 0), "seed {seed}: {da}");
            assert_eq!((nem.clock_jump, nem.loss_burst), (0, 0), "kinds off in the scenario stay off");
            assert!(nem.crash <= 4 && nem.partition <= 8 && nem.pause <= 4);
            assert!(100 <= nem.interval_ms.min && nem.interval_ms.max <= 500);
            assert!(a.network.loss.ppm() <= 40_000);
            a.validate().unwrap();
            differ |= da != draw(&base, seed + 1).1;
        }
        assert!(differ, "seeds draw different options");
    }
}
