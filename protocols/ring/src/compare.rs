//! `faultline ring`: compare placement strategies on load balance and key movement.
//!
//! For `n` nodes (ids `0..n`), `v` virtual nodes and `K` keys (`0..K`, hashed with
//! [`crate::hash::key_hash`]), each strategy is measured on three member sets: the base, the base
//! plus a joining node (id `n`, so it sorts last), and the base minus a leaving node (id `n / 2`,
//! from the middle: jump hash's weak spot). Per strategy: the owners' load max/mean and
//! stddev/mean, the fraction of keys whose owner moved on the join and on the leave, how many of
//! those moves were *stray* (to a node other than the joiner, from a node other than the leaver),
//! and the fraction of replica slots that changed, next to what theory predicts.
//!
//! Runs outside the simulator, so it may use threads: the key range is cut into fixed chunks whose
//! integer counts are summed in chunk order, so the output never depends on scheduling.

use crate::hash::key_hash;
use crate::placement::{AnyPlacement, JumpHash, Modulo, Placement, Rendezvous, RingBugs, VnodeRing};
use std::fmt;

/// Keys per work chunk (fixed, so the split does not depend on the machine).
const CHUNK_KEYS: u64 = 1 << 16;

/// One strategy's measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategyStats {
    /// Strategy name.
    pub name: &'static str,
    /// Largest owner load over the mean (1.0 = perfect).
    pub max_over_mean: f64,
    /// Standard deviation of owner loads over the mean.
    pub stddev_over_mean: f64,
    /// What theory predicts for `stddev_over_mean`.
    pub theory_stddev_over_mean: f64,
    /// Fraction of keys whose owner changed when one node joined.
    pub moved_on_join: f64,
    /// What theory predicts for it.
    pub theory_join: f64,
    /// Keys whose owner moved to a node other than the joiner.
    pub stray_on_join: u64,
    /// Fraction of keys whose owner changed when one node left.
    pub moved_on_leave: f64,
    /// What theory predicts for it (`None`: no closed form for this strategy and leaver).
    pub theory_leave: Option<f64>,
    /// Keys whose owner moved away from a node other than the leaver.
    pub stray_on_leave: u64,
    /// Fraction of replica slots (key × replica) that changed on the join.
    pub replicas_moved_on_join: f64,
    /// Fraction of replica slots that changed on the leave.
    pub replicas_moved_on_leave: f64,
}

/// The result of [`compare_placements`].
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Nodes in the base member set.
    pub nodes: u32,
    /// Virtual nodes per node (ring only).
    pub vnodes: u32,
    /// Keys placed.
    pub keys: u64,
    /// Replicas per key.
    pub replicas: u32,
    /// The node that joins.
    pub joiner: u32,
    /// The node that leaves.
    pub leaver: u32,
    /// One row per strategy: ring, jump, rendezvous, modulo.
    pub strategies: Vec<StrategyStats>,
}

#[derive(Clone, Debug, Default)]
struct Counts {
    load: Vec<u64>,
    moved_join: u64,
    stray_join: u64,
    moved_leave: u64,
    stray_leave: u64,
    replica_join: u64,
    replica_leave: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        if self.load.len() < o.load.len() {
            self.load.resize(o.load.len(), 0);
        }
        for (a, b) in self.load.iter_mut().zip(&o.load) {
            *a += b;
        }
        self.moved_join += o.moved_join;
        self.stray_join += o.stray_join;
        self.moved_leave += o.moved_leave;
        self.stray_leave += o.stray_leave;
        self.replica_join += o.replica_join;
        self.replica_leave += o.replica_leave;
    }
}

fn count_range(
    p: [&AnyPlacement; 3],
    keys: std::ops::Range<u64>,
    replicas: usize,
    joiner: u32,
    leaver: u32,
    n: usize,
) -> Counts {
    let mut c = Counts { load: vec![0; n + 1], ..Counts::default() };
    let (mut base, mut join, mut leave) = (Vec::new(), Vec::new(), Vec::new());
    for k in keys {
        let h = key_hash(k);
        p[0].preference_list(h, replicas, &mut base);
        p[1].preference_list(h, replicas, &mut join);
        p[2].preference_list(h, replicas, &mut leave);
        let owner = base[0];
        c.load[owner as usize] += 1;
        if join[0] != owner {
            c.moved_join += 1;
            c.stray_join += u64::from(join[0] != joiner);
        }
        if leave[0] != owner {
            c.moved_leave += 1;
            c.stray_leave += u64::from(owner != leaver);
        }
        c.replica_join += join.iter().filter(|x| !base.contains(x)).count() as u64;
        c.replica_leave += leave.iter().filter(|x| !base.contains(x)).count() as u64;
    }
    c
}

/// Measures every strategy for `nodes` nodes, `vnodes` points per node (ring), `keys` keys and
/// `replicas` replicas per key. Deterministic: same arguments, same result, on any machine.
pub fn compare_placements(nodes: u32, vnodes: u32, keys: u64, replicas: u32) -> Comparison {
    assert!(nodes >= 2, "need at least two nodes to measure a leave");
    assert!(vnodes >= 1 && keys >= 1 && replicas >= 1);
    assert!(replicas as usize <= crate::placement::MAX_REPLICAS);
    let base: Vec<u32> = (0..nodes).collect();
    let joiner = nodes;
    let leaver = nodes / 2;
    let with_joiner: Vec<u32> = (0..=nodes).collect();
    let without_leaver: Vec<u32> = base.iter().copied().filter(|&m| m != leaver).collect();
    let sets = [&base, &with_joiner, &without_leaver];
    let ring = |m: &Vec<u32>| AnyPlacement::Ring(VnodeRing::build(m, vnodes, 64, RingBugs::default()));
    let strategies: Vec<[AnyPlacement; 3]> = vec![
        sets.map(ring),
        sets.map(|m| AnyPlacement::Jump(JumpHash::new(m))),
        sets.map(|m| AnyPlacement::Rendezvous(Rendezvous::new(m))),
        sets.map(|m| AnyPlacement::Modulo(Modulo::new(m))),
    ];
    let chunks: Vec<std::ops::Range<u64>> =
        (0..keys.div_ceil(CHUNK_KEYS)).map(|i| i * CHUNK_KEYS..((i + 1) * CHUNK_KEYS).min(keys)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
    let n = nodes as usize;
    let r = replicas as usize;
    let mut rows = Vec::new();
    for p in &strategies {
        let parts = [&p[0], &p[1], &p[2]];
        // Each worker takes every `threads`-th chunk; results are put back in chunk order.
        let mut per_chunk: Vec<Option<Counts>> = vec![None; chunks.len()];
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let chunks = &chunks;
                    s.spawn(move || {
                        (t..chunks.len())
                            .step_by(threads)
                            .map(|i| (i, count_range(parts, chunks[i].clone(), r, joiner, leaver, n)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                for (i, c) in h.join().expect("a placement worker panicked") {
                    per_chunk[i] = Some(c);
                }
            }
        });
        let mut total = Counts { load: vec![0; n + 1], ..Counts::default() };
        for c in per_chunk.iter().flatten() {
            total.add(c);
        }
        rows.push(stats(p[0].name(), &total, nodes, vnodes, keys, replicas));
    }
    Comparison { nodes, vnodes, keys, replicas, joiner, leaver, strategies: rows }
}

fn stats(name: &'static str, c: &Counts, nodes: u32, vnodes: u32, keys: u64, replicas: u32) -> StrategyStats {
    let n = f64::from(nodes);
    let loads = &c.load[..nodes as usize];
    let mean = keys as f64 / n;
    let max = *loads.iter().max().expect("nodes >= 2") as f64;
    let var = loads.iter().map(|&l| (l as f64 - mean).powi(2)).sum::<f64>() / n;
    // Sampling noise alone: each node's load is ~Binomial(K, 1/n), so stddev/mean ≈ √(n/K).
    let sampling = (n / keys as f64).sqrt();
    let (theory_sd, theory_join, theory_leave) = match name {
        // Arc lengths of v points per node: stddev/mean ≈ 1/√v, plus sampling noise.
        "ring" => ((1.0 / f64::from(vnodes) + n / keys as f64).sqrt(), 1.0 / (n + 1.0), Some(1.0 / n)),
        "rendezvous" => (sampling, 1.0 / (n + 1.0), Some(1.0 / n)),
        // Removing a middle bucket renumbers every later one: no minimal-movement promise.
        "jump" => (sampling, 1.0 / (n + 1.0), None),
        _ => (sampling, n / (n + 1.0), Some((n - 1.0) / n)),
    };
    let slots = (keys * u64::from(replicas)) as f64;
    StrategyStats {
        name,
        max_over_mean: max / mean,
        stddev_over_mean: var.sqrt() / mean,
        theory_stddev_over_mean: theory_sd,
        moved_on_join: c.moved_join as f64 / keys as f64,
        theory_join,
        stray_on_join: c.stray_join,
        moved_on_leave: c.moved_leave as f64 / keys as f64,
        theory_leave,
        stray_on_leave: c.stray_leave,
        replicas_moved_on_join: c.replica_join as f64 / slots,
        replicas_moved_on_leave: c.replica_leave as f64 / slots,
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "placement comparison: {} nodes, {} vnodes/node (ring), {} keys, {} replicas; join n{}, leave n{}",
            self.nodes, self.vnodes, self.keys, self.replicas, self.joiner, self.leaver
        )?;
        writeln!(f, "hash: xxh3-64, key seed {:#x}", crate::hash::KEY_SEED)?;
        writeln!(
            f,
            "{:<11} {:>8} {:>9} {:>9}  {:>8} {:>8} {:>7}  {:>8} {:>8} {:>7}  {:>8} {:>8}",
            "strategy",
            "max/mean",
            "sd/mean",
            "theory",
            "join",
            "theory",
            "stray",
            "leave",
            "theory",
            "stray",
            "rep.join",
            "rep.leave"
        )?;
        for s in &self.strategies {
            let leave_theory = s.theory_leave.map_or("-".to_string(), |t| format!("{t:.5}"));
            writeln!(
                f,
                "{:<11} {:>8.4} {:>9.5} {:>9.5}  {:>8.5} {:>8.5} {:>7}  {:>8.5} {:>8} {:>7}  {:>8.5} {:>8.5}",
                s.name,
                s.max_over_mean,
                s.stddev_over_mean,
                s.theory_stddev_over_mean,
                s.moved_on_join,
                s.theory_join,
                s.stray_on_join,
                s.moved_on_leave,
                leave_theory,
                s.stray_on_leave,
                s.replicas_moved_on_join,
                s.replicas_moved_on_leave
            )?;
        }
        write!(
            f,
            "join/leave: fraction of keys whose owner moved; stray: moves not to the joiner / not from the leaver;\n\
             rep.*: fraction of replica slots changed (theory: same as the owner's fraction for consistent strategies)"
        )
    }
}
