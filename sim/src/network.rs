//! The simulated network: per-message delay, loss, duplication, and a directed connectivity
//! matrix that partitions of any shape write into.

use crate::prng::Prng;
use crate::protocol::NodeId;
use crate::time::Time;

/// How long a message spends in flight. All bounds are inclusive, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delay {
    /// Always the same.
    Fixed(u64),
    /// Uniform in `[min, max]`.
    Uniform {
        /// Lower bound.
        min_ns: u64,
        /// Upper bound.
        max_ns: u64,
    },
    /// `min + Exp(mean - min)`, capped at `max`: mostly fast with a long tail, which reorders.
    Exponential {
        /// Mean (including `min_ns`).
        mean_ns: u64,
        /// Lower bound.
        min_ns: u64,
        /// Upper bound.
        max_ns: u64,
    },
}

impl Delay {
    /// Draws one delay.
    #[inline]
    pub fn sample(&self, rng: &mut Prng) -> u64 {
        match *self {
            Delay::Fixed(ns) => ns,
            Delay::Uniform { min_ns, max_ns } => rng.range(min_ns, max_ns),
            Delay::Exponential { mean_ns, min_ns, max_ns } => {
                let extra = rng.exponential(mean_ns.saturating_sub(min_ns));
                min_ns.saturating_add(extra).min(max_ns)
            }
        }
    }

    /// The largest delay this distribution can produce.
    pub fn max_ns(&self) -> u64 {
        match *self {
            Delay::Fixed(ns) => ns,
            Delay::Uniform { max_ns, .. } | Delay::Exponential { max_ns, .. } => max_ns,
        }
    }
}

/// Network parameters in force (faults may change them during a run).
#[derive(Clone, Copy, Debug)]
pub struct NetParams {
    /// Delay between nodes.
    pub delay: Delay,
    /// Probability (ppm) that a node-to-node message is lost.
    pub loss_ppm: u32,
    /// Probability (ppm) that a node-to-node message is delivered twice.
    pub duplicate_ppm: u32,
    /// Delay between a client and a node, each way.
    pub client_delay: Delay,
    /// Probability (ppm) that a client request or reply is lost.
    pub client_loss_ppm: u32,
}

/// What happens to one message handed to the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Not delivered: the link is cut or the message was lost.
    Dropped,
    /// Delivered once after the given delay.
    Once(u64),
    /// Delivered twice, after each delay.
    Twice(u64, u64),
}

/// A directed connectivity matrix: `blocked(a, b)` cuts messages from `a` to `b` only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links {
    n: usize,
    blocked: Vec<bool>,
    cut_count: usize,
}

impl Links {
    /// A fully connected network of `n` nodes.
    pub fn new(n: usize) -> Links {
        Links { n, blocked: vec![false; n * n], cut_count: 0 }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True for a network of no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Can a message from `from` reach `to` right now?
    #[inline]
    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        !self.blocked[from.index() * self.n + to.index()]
    }

    /// Cuts or restores the one-way link `from → to`. A node always reaches itself.
    pub fn set(&mut self, from: NodeId, to: NodeId, blocked: bool) {
        if from == to {
            return;
        }
        let cell = &mut self.blocked[from.index() * self.n + to.index()];
        if *cell != blocked {
            *cell = blocked;
            if blocked {
                self.cut_count += 1;
            } else {
                self.cut_count -= 1;
            }
        }
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.blocked.iter_mut().for_each(|b| *b = false);
        self.cut_count = 0;
    }

    /// True when no link is cut.
    pub fn is_healed(&self) -> bool {
        self.cut_count == 0
    }

    /// Applies a shape on top of a healed network.
    pub fn apply(&mut self, shape: &Partition) {
        self.heal();
        match shape {
            Partition::Groups(groups) => {
                let mut group_of = vec![usize::MAX; self.n];
                for (g, members) in groups.iter().enumerate() {
                    for &m in members {
                        group_of[m.index()] = g;
                    }
                }
                for a in 0..self.n {
                    for b in 0..self.n {
                        // Nodes named in no group form a group of their own.
                        let cut = group_of[a] != group_of[b];
                        self.set(NodeId(a as u32), NodeId(b as u32), cut);
                    }
                }
            }
            Partition::Bridge { left, right, bridge } => {
                for &a in left {
                    for &b in right {
                        self.set(a, b, true);
                        self.set(b, a, true);
                    }
                }
                let _ = bridge;
            }
            Partition::Ring => {
                let n = self.n;
                for a in 0..n {
                    for b in 0..n {
                        let d = a.abs_diff(b);
                        let neighbours = d <= 1 || d == n - 1;
                        self.set(NodeId(a as u32), NodeId(b as u32), !neighbours);
                    }
                }
            }
            Partition::OneWay { from, to } => {
                for &a in from {
                    for &b in to {
                        self.set(a, b, true);
                    }
                }
            }
        }
    }
}

/// A resolved partition shape over concrete nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Partition {
    /// Nodes in different groups cannot talk, either way. Covers isolation (`[[x], rest]`),
    /// majority/minority splits and random halves.
    Groups(Vec<Vec<NodeId>>),
    /// `left` and `right` cannot talk to each other; `bridge` talks to both.
    Bridge {
        /// One side.
        left: Vec<NodeId>,
        /// The other side.
        right: Vec<NodeId>,
        /// Sees both sides.
        bridge: NodeId,
    },
    /// Each node reaches only its two neighbours in id order (partial connectivity).
    Ring,
    /// Messages from any of `from` to any of `to` are lost; the reverse direction works.
    OneWay {
        /// Senders whose messages are cut.
        from: Vec<NodeId>,
        /// Receivers that stop hearing from `from`.
        to: Vec<NodeId>,
    },
}

impl NetParams {
    /// Decides the fate of one node-to-node message. Draws from the network stream in a fixed
    /// order (loss, delay, duplicate, second delay) so the stream's use does not depend on
    /// anything but the message count.
    #[inline]
    pub fn node_fate(&self, rng: &mut Prng) -> Fate {
        if self.loss_ppm > 0 && rng.chance_ppm(self.loss_ppm) {
            return Fate::Dropped;
        }
        let first = self.delay.sample(rng);
        if self.duplicate_ppm > 0 && rng.chance_ppm(self.duplicate_ppm) {
            return Fate::Twice(first, self.delay.sample(rng));
        }
        Fate::Once(first)
    }

    /// Decides the fate of a client request or reply.
    #[inline]
    pub fn client_fate(&self, rng: &mut Prng) -> Fate {
        if self.client_loss_ppm > 0 && rng.chance_ppm(self.client_loss_ppm) {
            return Fate::Dropped;
        }
        Fate::Once(self.client_delay.sample(rng))
    }
}

/// Delivery time for a message sent at `now` after `delay_ns`.
#[inline]
pub fn arrival(now: Time, delay_ns: u64) -> Time {
    Time(now.0.saturating_add(delay_ns))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prng::Stream;

    fn ids(v: &[u32]) -> Vec<NodeId> {
        v.iter().map(|&i| NodeId(i)).collect()
    }

    #[test]
    fn groups_block_exactly_across() {
        let mut l = Links::new(5);
        l.apply(&Partition::Groups(vec![ids(&[0, 1]), ids(&[2, 3, 4])]));
        for a in 0..5u32 {
            for b in 0..5u32 {
                let same = (a < 2) == (b < 2);
                assert_eq!(l.connected(NodeId(a), NodeId(b)), same, "{a}->{b}");
            }
        }
        l.heal();
        assert!(l.is_healed());
    }

    #[test]
    fn one_way_blocks_one_direction_only() {
        let mut l = Links::new(3);
        l.apply(&Partition::OneWay { from: ids(&[0]), to: ids(&[1, 2]) });
        assert!(!l.connected(NodeId(0), NodeId(1)));
        assert!(!l.connected(NodeId(0), NodeId(2)));
        assert!(l.connected(NodeId(1), NodeId(0)));
        assert!(l.connected(NodeId(2), NodeId(0)));
        assert!(l.connected(NodeId(1), NodeId(2)));
        assert!(!l.is_healed());
    }

    #[test]
    fn bridge_and_ring() {
        let mut l = Links::new(5);
        l.apply(&Partition::Bridge { left: ids(&[0, 1]), right: ids(&[3, 4]), bridge: NodeId(2) });
        assert!(!l.connected(NodeId(0), NodeId(4)));
        assert!(l.connected(NodeId(0), NodeId(2)) && l.connected(NodeId(2), NodeId(4)));
        assert!(l.connected(NodeId(4), NodeId(2)) && l.connected(NodeId(2), NodeId(0)));
        l.apply(&Partition::Ring);
        assert!(l.connected(NodeId(0), NodeId(4)) && l.connected(NodeId(0), NodeId(1)));
        assert!(!l.connected(NodeId(0), NodeId(2)) && !l.connected(NodeId(1), NodeId(3)));
    }

    #[test]
    fn loss_and_duplication_rates() {
        let p = NetParams {
            delay: Delay::Uniform { min_ns: 10, max_ns: 20 },
            loss_ppm: 100_000,
            duplicate_ppm: 200_000,
            client_delay: Delay::Fixed(1),
            client_loss_ppm: 0,
        };
        let mut rng = Prng::new(9, Stream::Network, 0);
        let (mut lost, mut dup, n) = (0u32, 0u32, 100_000u32);
        for _ in 0..n {
            match p.node_fate(&mut rng) {
                Fate::Dropped => lost += 1,
                Fate::Twice(a, b) => {
                    assert!((10..=20).contains(&a) && (10..=20).contains(&b));
                    dup += 1
                }
                Fate::Once(a) => assert!((10..=20).contains(&a)),
            }
        }
        // 10% lost; 20% of the rest duplicated. Tolerance: ±0.5 percentage points.
        assert!((9_500..10_500).contains(&lost), "lost {lost}");
        assert!((17_500..18_500).contains(&dup), "duplicated {dup}");
    }

    #[test]
    fn exponential_delay_respects_bounds() {
        let d = Delay::Exponential { mean_ns: 5_000, min_ns: 1_000, max_ns: 20_000 };
        let mut rng = Prng::new(1, Stream::Network, 0);
        let mut sum = 0;
        for _ in 0..50_000 {
            let x = d.sample(&mut rng);
            assert!((1_000..=20_000).contains(&x));
            sum += x;
        }
        let mean = sum / 50_000;
        assert!((4_700..5_200).contains(&mean), "mean {mean}");
    }
}
