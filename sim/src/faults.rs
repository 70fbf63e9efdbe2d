//! The fault schedule: explicit `[[faults]]` entries and the random nemesis, materialized before
//! the run into one time-ordered list of actions. Making the nemesis explicit up front is what
//! lets a shrinker treat a random run's faults as a list it can cut.

use crate::network::Partition;
use crate::prng::{Prng, Stream};
use crate::protocol::NodeId;
use crate::scenario::{FaultKindSpec, FaultSpec, NemesisSpec, NodeSel, Scenario, ShapeSpec};
use crate::scenario::{FaultKindSpec as K, Probability};
use crate::time::Time;

/// Which node an action applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Resolved when the action runs (e.g. "the leader").
    Sel(NodeSel),
    /// The node that action `index` of the schedule was applied to (restart what was crashed).
    SameAs(usize),
}

/// One thing the nemesis does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Cut links.
    Partition {
        /// The shape.
        shape: ShapeSpec,
        /// The node the shape centres on (isolated node, bridge, minority member).
        node: Option<NodeSel>,
        /// For one-way: senders.
        from: Vec<u32>,
        /// For one-way: receivers.
        to: Vec<u32>,
        /// For groups.
        groups: Vec<Vec<u32>>,
    },
    /// Restore all links.
    Heal,
    /// Crash a node.
    Crash(Target),
    /// Restart a crashed node.
    Restart(Target),
    /// Freeze a node.
    Pause(Target),
    /// Unfreeze a node.
    Resume(Target),
    /// Step a node's clock (ns).
    ClockJump(Target, i64),
    /// Set a node's drift.
    ClockDrift(Target, i64),
    /// Set the loss probability (ppm).
    Loss(u32),
    /// Restore the scenario's loss probability.
    RestoreLoss,
}

impl Action {
    /// True for actions that end a fault (heal, restart, resume, restore loss).
    pub fn is_recovery(&self) -> bool {
        matches!(self, Action::Heal | Action::Restart(_) | Action::Resume(_) | Action::RestoreLoss)
    }
}

/// An action at a true time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultEvent {
    /// When.
    pub at: Time,
    /// What.
    pub action: Action,
}

/// Builds the run's schedule: explicit faults, then the nemesis, stably sorted by time.
pub fn materialize(s: &Scenario, seed: u64) -> Vec<FaultEvent> {
    let mut out: Vec<FaultEvent> = Vec::new();
    for f in &s.faults {
        push_explicit(&mut out, f, s.network.loss.ppm());
    }
    if let Some(nem) = &s.nemesis {
        let mut rng = Prng::new(seed, Stream::Faults, 0);
        nemesis(&mut out, nem, s, &mut rng);
    }
    // Stable: same-time actions keep the order they were written in. Indices change, so
    // SameAs references are remapped.
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by_key(|&i| out[i].at);
    let mut new_index = vec![0; out.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let remap = |t: Target| match t {
        Target::SameAs(i) => Target::SameAs(new_index[i]),
        other => other,
    };
    order
        .into_iter()
        .map(|i| {
            let mut e = out[i].clone();
            e.action = match e.action {
                Action::Restart(t) => Action::Restart(remap(t)),
                Action::Resume(t) => Action::Resume(remap(t)),
                a => a,
            };
            e
        })
        .collect()
}

fn push_explicit(out: &mut Vec<FaultEvent>, f: &FaultSpec, base_loss_ppm: u32) {
    let at = Time::from_ms(f.at_ms);
    let node = || Target::Sel(f.node.expect("validated: kind needs node"));
    let start = out.len();
    let (action, undo) = match f.kind {
        FaultKindSpec::Partition => (
            Action::Partition {
                shape: f.shape.expect("validated: partition needs shape"),
                node: f.node,
                from: f.from.clone().unwrap_or_default(),
                to: f.to.clone().unwrap_or_default(),
                groups: f.groups.clone().unwrap_or_default(),
            },
            Some(Action::Heal),
        ),
        FaultKindSpec::Heal => (Action::Heal, None),
        FaultKindSpec::Crash => (Action::Crash(node()), Some(Action::Restart(Target::SameAs(start)))),
        FaultKindSpec::Restart => (Action::Restart(node()), None),
        FaultKindSpec::Pause => (Action::Pause(node()), Some(Action::Resume(Target::SameAs(start)))),
        FaultKindSpec::Resume => (Action::Resume(node()), None),
        FaultKindSpec::ClockJump => {
            (Action::ClockJump(node(), f.delta_ms.unwrap_or(0).saturating_mul(1_000_000)), None)
        }
        FaultKindSpec::ClockDrift => (Action::ClockDrift(node(), f.drift_ppm.unwrap_or(0)), None),
        FaultKindSpec::Loss => (Action::Loss(f.loss.map_or(base_loss_ppm, |p| p.ppm())), Some(Action::RestoreLoss)),
    };
    out.push(FaultEvent { at, action });
    if let (Some(for_ms), Some(undo)) = (f.for_ms, undo) {
        out.push(FaultEvent { at: Time::from_ms(f.at_ms.saturating_add(for_ms)), action: undo });
    }
}

fn nemesis(out: &mut Vec<FaultEvent>, nem: &NemesisSpec, s: &Scenario, rng: &mut Prng) {
    let until = nem.until_ms.unwrap_or(s.duration_ms.0.saturating_mul(3) / 4);
    let weights = nem.weights();
    let mut t = nem.start_ms.saturating_add(rng.range(nem.interval_ms.min, nem.interval_ms.max));
    while t < until {
        let len = rng.range(nem.duration_ms.min, nem.duration_ms.max).max(1);
        let end = t.saturating_add(len).min(until);
        let start = out.len();
        let kind = rng.weighted(&weights).expect("validated: some weight is positive");
        let target = Target::Sel(nem.target);
        let (action, undo) = match kind {
            0 => {
                let shape = *rng.pick(&nem.shapes).unwrap_or(&ShapeSpec::Halves);
                let node = match shape {
                    ShapeSpec::Isolate | ShapeSpec::Bridge | ShapeSpec::MajorityMinority => Some(nem.target),
                    _ => None,
                };
                (Action::Partition { shape, node, from: vec![], to: vec![], groups: vec![] }, Some(Action::Heal))
            }
            1 => (Action::Crash(target), Some(Action::Restart(Target::SameAs(start)))),
            2 => (Action::Pause(target), Some(Action::Resume(Target::SameAs(start)))),
            3 => (
                Action::ClockJump(target, rng.range_i64(nem.jump_ms.min, nem.jump_ms.max).saturating_mul(1_000_000)),
                None,
            ),
            _ => (Action::Loss(nem.burst_loss.ppm()), Some(Action::RestoreLoss)),
        };
        out.push(FaultEvent { at: Time::from_ms(t), action });
        if let Some(undo) = undo {
            out.push(FaultEvent { at: Time::from_ms(end), action: undo });
        }
        t = end.saturating_add(rng.range(nem.interval_ms.min, nem.interval_ms.max).max(1));
    }
    if s.nemesis.is_some() && !out.is_empty() {
        // A final heal makes "after the last heal" well defined for liveness checks.
        out.push(FaultEvent { at: Time::from_ms(until), action: Action::Heal });
    }
}

/// The time of the last action in the schedule: after it, the world is as healthy as the
/// scenario makes it.
pub fn last_fault_time(schedule: &[FaultEvent]) -> Time {
    schedule.last().map_or(Time::ZERO, |e| e.at)
}

/// A readable one-line description of an action.
pub fn describe(a: &Action) -> String {
    let t = |t: &Target| match t {
        Target::Sel(s) => s.to_string(),
        Target::SameAs(i) => format!("target of #{i}"),
    };
    match a {
        Action::Partition { shape, node, from, to, groups } => {
            let mut s = format!("partition {}", crate::scenario::shape_name(*shape));
            if let Some(n) = node {
                s += &format!(" node={n}");
            }
            if !from.is_empty() {
                s += &format!(" from={from:?} to={to:?}");
            }
            if !groups.is_empty() {
                s += &format!(" groups={groups:?}");
            }
            s
        }
        Action::Heal => "heal".into(),
        Action::Crash(x) => format!("crash {}", t(x)),
        Action::Restart(x) => format!("restart {}", t(x)),
        Action::Pause(x) => format!("pause {}", t(x)),
        Action::Resume(x) => format!("resume {}", t(x)),
        Action::ClockJump(x, d) => format!("clock-jump {} by {}ms", t(x), d / 1_000_000),
        Action::ClockDrift(x, d) => format!("clock-drift {} to {d}ppm", t(x)),
        Action::Loss(p) => format!("loss {}", f64::from(*p) / 1e6),
        Action::RestoreLoss => "restore loss".into(),
    }
}

/// An applied action as an explicit `[[faults]]` entry: nodes resolved to ids and random shapes
/// to the groups they produced, so the entry means the same thing in any run.
pub fn explicit_spec(
    at: Time,
    action: &Action,
    node: Option<NodeId>,
    partition: Option<&Partition>,
    base_loss_ppm: u32,
) -> FaultSpec {
    let mut f = FaultSpec {
        at_ms: at.as_ms(),
        kind: K::Heal,
        node: node.map(|n| NodeSel::Id(n.0)),
        shape: None,
        from: None,
        to: None,
        groups: None,
        for_ms: None,
        delta_ms: None,
        drift_ppm: None,
        loss: None,
    };
    let ids = |v: &[NodeId]| v.iter().map(|n| n.0).collect::<Vec<u32>>();
    match action {
        Action::Partition { .. } => {
            f.kind = K::Partition;
            match partition {
                Some(Partition::Groups(groups)) => {
                    f.shape = Some(ShapeSpec::Groups);
                    f.groups = Some(groups.iter().map(|g| ids(g)).collect());
                    f.node = None;
                }
                Some(Partition::Bridge { left, right, bridge }) => {
                    f.shape = Some(ShapeSpec::Bridge);
                    f.node = Some(NodeSel::Id(bridge.0));
                    f.groups = Some(vec![ids(left), ids(right)]);
                }
                Some(Partition::Ring) | None => {
                    f.shape = Some(ShapeSpec::Ring);
                    f.node = None;
                }
                Some(Partition::OneWay { from, to }) => {
                    f.shape = Some(ShapeSpec::OneWay);
                    f.node = None;
                    f.from = Some(ids(from));
                    f.to = Some(ids(to));
                }
            }
        }
        Action::Heal => f.kind = K::Heal,
        Action::Crash(_) => f.kind = K::Crash,
        Action::Restart(_) => f.kind = K::Restart,
        Action::Pause(_) => f.kind = K::Pause,
        Action::Resume(_) => f.kind = K::Resume,
        Action::ClockJump(_, d) => {
            f.kind = K::ClockJump;
            f.delta_ms = Some(d / 1_000_000);
        }
        Action::ClockDrift(_, ppm) => {
            f.kind = K::ClockDrift;
            f.drift_ppm = Some(*ppm);
        }
        Action::Loss(ppm) => {
            f.kind = K::Loss;
            f.loss = Some(Probability(*ppm));
        }
        Action::RestoreLoss => {
            f.kind = K::Loss;
            f.loss = Some(Probability(base_loss_ppm));
        }
    }
    f
}

/// A digest of an action as resolved (concrete node, concrete partition, parameters), for the
/// trace hash: selectors like "leader" or "random" are not part of it, only what they chose.
pub fn resolved_digest(action: &Action, node: Option<NodeId>, partition: Option<&Partition>) -> u64 {
    let (tag, param): (u8, i64) = match action {
        Action::Partition { .. } => (1, 0),
        Action::Heal => (2, 0),
        Action::Crash(_) => (3, 0),
        Action::Restart(_) => (4, 0),
        Action::Pause(_) => (5, 0),
        Action::Resume(_) => (6, 0),
        Action::ClockJump(_, d) => (7, *d),
        Action::ClockDrift(_, d) => (8, *d),
        Action::Loss(p) => (9, i64::from(*p)),
        Action::RestoreLoss => unreachable!("digest the loss it restores instead"),
    };
    let node = match action {
        Action::Partition { .. } => None,
        _ => node.map(|n| n.0),
    };
    crate::hash::StableHasher::digest(&(tag, param, node, partition))
}
