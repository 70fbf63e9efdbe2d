//! `faultline shrink`: from a failing repro, search for a smaller run that fails the *same*
//! invariant, and write it as a repro whose scenario has an explicit, editable fault schedule.
//!
//! Each step makes a candidate scenario, re-runs it, and keeps it only if the run still fails
//! with the same first invariant and is simpler (fewer faults, or as many and no more events).
//! The steps go in order of what they remove, most first:
//!
//! 1. make the faults explicit: the run's applied fault actions (`RunReport::explicit_faults`,
//!    nodes resolved, partitions as concrete groups) replace `[[faults]]` and `[nemesis]`;
//! 2. drop fault events with delta debugging (ddmin);
//! 3. shorten fault windows: move each recovery (heal, restart, resume, loss restored) earlier;
//! 4. cut clients, then operations per client;
//! 5. shorten the run to just after the violation;
//! 6. try fewer nodes, where the scenario stays valid for the protocol;
//! 7. simplify each fault: start it later (a crash moved towards its restart), narrow a
//!    partition (a node moved from a smaller side to the largest; one sender or receiver fewer
//!    in a one-way cut), halve a clock jump or drift;
//! 8. drop faults again, now also under other seeds: a deep failure is chaotic, since removing
//!    any fault shifts every later network and timeout draw, so a schedule 1-minimal under its
//!    own seed often still fails under another one. Each candidate (chunks of halving size,
//!    earliest first, then single faults) runs with the current seed and then with up to
//!    [`RESEEDS`] others derived from the original; the first that fails is kept, seed and all;
//! 9. steps 2–8 again while a pass makes progress and the budget lasts (at most
//!    [`MAX_PASSES`]), then once more 3 and 7, and each fault with its recovery written as one
//!    entry with `for_ms` where that keeps the failure.
//!
//! Steps 1–7 keep the seed, so the network's, the clocks' and the nodes' random streams are the
//! same in every candidate; only step 8 changes it, and the output says so. The effort is
//! bounded by `--max-runs` re-runs.

use crate::commands::{run_one, EXIT_BAD_INPUT};
use crate::registry::Registry;
use crate::{errln, outln};
use faultline_sim::check::Verdict;
use faultline_sim::report::RunReport;
use faultline_sim::runner::{ProtocolRunner, Repro};
use faultline_sim::scenario::{FaultKindSpec as K, FaultSpec, NodeSel, Positive, Scenario};
use std::path::{Path, PathBuf};

/// Default bound on re-runs.
pub const DEFAULT_MAX_RUNS: u32 = 400;

/// Other seeds a candidate of the reseeding step may run with, after the current one.
pub const RESEEDS: u64 = 8;

/// Most passes over the steps (each pass after the first runs only if the one before made
/// progress).
const MAX_PASSES: u32 = 4;

/// The sizes a shrink reports before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Fault actions applied.
    pub faults: usize,
    /// Clients.
    pub clients: u32,
    /// Operations invoked.
    pub ops: u64,
    /// Simulated duration, ms.
    pub duration_ms: u64,
    /// Cluster size.
    pub nodes: u32,
    /// Events delivered.
    pub events: u64,
}

impl Size {
    fn of(s: &Scenario, r: &RunReport) -> Size {
        Size {
            faults: r.faults.len(),
            clients: s.workload.clients,
            ops: r.ops.invoked,
            duration_ms: s.duration_ms.0,
            nodes: s.nodes.0,
            events: r.events,
        }
    }
}

/// One shrinking step.
type Step<'r> = fn(&mut Shrinker<'r>);

struct Shrinker<'r> {
    reg: &'r Registry<'r>,
    runner: &'r dyn ProtocolRunner,
    /// The seed of the best run so far (changed only by the reseeding step).
    seed: u64,
    /// The repro's own seed, from which the reseeding step derives the others.
    original_seed: u64,
    bugs: Vec<String>,
    target: String,
    runs: u32,
    max_runs: u32,
    /// The smallest failing scenario so far and its report.
    best: Scenario,
    best_report: RunReport,
}

impl Shrinker<'_> {
    fn budget_left(&self) -> bool {
        self.runs < self.max_runs
    }

    /// Runs `cand`; true (and it becomes the best) if it fails the target invariant first.
    fn try_keep(&mut self, cand: Scenario) -> bool {
        self.try_keep_seeded(cand, self.seed)
    }

    /// [`Self::try_keep`] with `seed`, which becomes the shrink's seed if the candidate is kept.
    fn try_keep_seeded(&mut self, mut cand: Scenario, seed: u64) -> bool {
        if !self.budget_left() {
            return false;
        }
        cand.source = None;
        if cand.validate().is_err() || self.runner.validate(&cand, &self.bugs).is_err() {
            return false;
        }
        self.runs += 1;
        match run_one(self.reg, &cand, seed, &self.bugs, None) {
            Ok(r)
                if r.verdict == Verdict::Fail
                    && r.first_invariant() == Some(self.target.as_str())
                    && self.smaller(&r) =>
            {
                self.best = cand;
                self.best_report = r;
                self.seed = seed;
                true
            }
            _ => false,
        }
    }

    /// [`Self::try_keep`], then the same candidate under each of the other seeds in turn.
    fn try_keep_reseeded(&mut self, cand: &Scenario) -> bool {
        if self.try_keep(cand.clone()) {
            return true;
        }
        for k in 1..=RESEEDS {
            let seed = other_seed(self.original_seed, k);
            if seed != self.seed && self.try_keep_seeded(cand.clone(), seed) {
                return true;
            }
        }
        false
    }

    /// Is the failing run `r` simpler than the best so far? Fewer faults, or as many and no
    /// more events. A step that keeps the faults (cuts clients, shortens windows or the run)
    /// is never kept if the run gets longer: that is how a shrink that made no progress on a
    /// deep failure once ended with more events than it started with. Fault count comes
    /// first, though: dropping a crash can let the cluster do a little more (lock.no-fencing:
    /// 7 faults and 2,301 events to 3 faults and 2,326, then 2,143 once the windows shrink),
    /// and holding it to the event count would stop that shrink at 5 faults.
    fn smaller(&self, r: &RunReport) -> bool {
        let (faults, best_faults) = (r.faults.len(), self.best_report.faults.len());
        faults < best_faults || (faults == best_faults && r.events <= self.best_report.events)
    }

    fn with_faults(&self, faults: Vec<FaultSpec>) -> Scenario {
        let mut s = self.best.clone();
        s.faults = faults;
        s
    }

    /// Delta debugging over the fault list (Zeller and Hildebrandt, 2002), trying the empty
    /// schedule first.
    fn ddmin_faults(&mut self) {
        let mut items = self.best.faults.clone();
        if items.is_empty() {
            return;
        }
        if self.try_keep(self.with_faults(Vec::new())) {
            return;
        }
        let mut n = 2usize;
        while items.len() >= 2 && self.budget_left() {
            let chunk = items.len().div_ceil(n);
            let parts: Vec<Vec<FaultSpec>> = items.chunks(chunk).map(<[FaultSpec]>::to_vec).collect();
            let mut reduced = false;
            for p in &parts {
                if self.try_keep(self.with_faults(p.clone())) {
                    items = p.clone();
                    n = 2;
                    reduced = true;
                    break;
                }
            }
            if !reduced && parts.len() > 2 {
                for i in 0..parts.len() {
                    let complement: Vec<FaultSpec> = parts
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .flat_map(|(_, p)| p.iter().cloned())
                        .collect();
                    if self.try_keep(self.with_faults(complement.clone())) {
                        items = complement;
                        n = (n - 1).max(2);
                        reduced = true;
                        break;
                    }
                }
            }
            if !reduced {
                if n >= items.len() {
                    break;
                }
                n = (2 * n).min(items.len());
            }
        }
        // ddmin ends 1-minimal only if the last round tried every single removal; make sure.
        let mut i = 0;
        while i < self.best.faults.len() && self.budget_left() {
            let mut fewer = self.best.faults.clone();
            fewer.remove(i);
            if !self.try_keep(self.with_faults(fewer)) {
                i += 1;
            }
        }
    }

    /// Moves each recovery entry earlier, halving its distance to the fault it ends.
    fn shorten_windows(&mut self) {
        let base_loss = self.best.network.loss.ppm();
        let mut i = 0;
        while i < self.best.faults.len() && self.budget_left() {
            let faults = &self.best.faults;
            let Some(start) = opener_of(faults, i, base_loss) else {
                i += 1;
                continue;
            };
            for _ in 0..6 {
                let faults = &self.best.faults;
                let at = faults[i].at_ms;
                let from = faults[start].at_ms;
                if at <= from + 1 {
                    break;
                }
                let mut cand = faults.clone();
                cand[i].at_ms = from + (at - from) / 2;
                if !self.try_keep(self.with_faults(cand)) {
                    break;
                }
            }
            i += 1;
        }
    }

    fn cut_clients_and_ops(&mut self) {
        let clients = self.best.workload.clients;
        let mut tries: Vec<u32> = vec![1];
        let mut c = clients / 2;
        while c > 1 {
            tries.push(c);
            c /= 2;
        }
        tries.push(clients.saturating_sub(1));
        tries.sort_unstable();
        tries.dedup();
        for c in tries.into_iter().filter(|&c| c >= 1 && c < clients) {
            let mut cand = self.best.clone();
            cand.workload.clients = c;
            if self.try_keep(cand) {
                break;
            }
        }
        // Fewest operations per client that still fail (binary search; the most any client did
        // is known to fail, as it changes nothing).
        let mut per_client = std::collections::BTreeMap::<u32, u32>::new();
        for o in &self.best_report.op_timings {
            *per_client.entry(o.client).or_default() += 1;
        }
        let most = per_client.values().copied().max().unwrap_or(0);
        let (mut lo, mut hi) = (1u32, most);
        while lo < hi && self.budget_left() {
            let mid = lo + (hi - lo) / 2;
            let mut cand = self.best.clone();
            cand.workload.max_ops_per_client = Some(mid);
            if self.try_keep(cand) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
    }

    fn with_duration(&self, ms: u64) -> Scenario {
        let mut s = self.best.clone();
        s.duration_ms = Positive(ms.max(1));
        s.faults.retain(|f| f.at_ms <= ms);
        s
    }

    fn shorten_duration(&mut self) {
        let at = self.best_report.violations.first().map_or(self.best.duration_ms.0, |v| v.at_ms);
        if at + 1 < self.best.duration_ms.0 && self.try_keep(self.with_duration(at + 1)) {
            return;
        }
        let (mut lo, mut hi) = (1u64, self.best.duration_ms.0);
        while lo < hi && self.budget_left() {
            let mid = lo + (hi - lo) / 2;
            if self.try_keep(self.with_duration(mid)) {
                hi = self.best.duration_ms.0;
            } else {
                lo = mid + 1;
            }
        }
    }

    fn fewer_nodes(&mut self) {
        let n = self.best.nodes.0;
        for k in 1..n {
            if !self.budget_left() {
                return;
            }
            if let Some(cand) = with_nodes(&self.best, k) {
                if self.try_keep(cand) {
                    return;
                }
            }
        }
    }

    /// Simplifies each fault in place: starts it later (halving the distance to its recovery),
    /// narrows a partition, halves a clock jump or drift. Keeps each change that still fails.
    fn simplify_faults(&mut self) {
        let base_loss = self.best.network.loss.ppm();
        let mut i = 0;
        while i < self.best.faults.len() && self.budget_left() {
            // Start later: for an entry with `for_ms`, or for the opener of a later recovery.
            for _ in 0..4 {
                let Some(cand) = later_start(&self.best.faults, i, base_loss) else { break };
                if !self.try_keep(self.with_faults(cand)) {
                    break;
                }
            }
            // Narrow: one node fewer on the cut side, as long as that keeps failing.
            let mut j = 0;
            while let Some(cand) = narrowed(&self.best.faults, i, j) {
                if !self.budget_left() {
                    break;
                }
                if !self.try_keep(self.with_faults(cand)) {
                    j += 1;
                }
            }
            // Halve a clock jump or drift.
            for _ in 0..6 {
                let Some(cand) = halved_clock(&self.best.faults, i) else { break };
                if !self.try_keep(self.with_faults(cand)) {
                    break;
                }
            }
            i += 1;
        }
    }

    /// Drops chunks of faults of halving size (earliest first), then single faults, each
    /// candidate under the current seed and then under others (see the module's step 8).
    fn drop_faults_reseeded(&mut self) {
        let mut size = (self.best.faults.len() / 2).max(1);
        loop {
            let mut start = 0;
            while start < self.best.faults.len() && self.budget_left() {
                let mut faults = self.best.faults.clone();
                let end = (start + size).min(faults.len());
                faults.drain(start..end);
                let cand = self.with_faults(faults);
                if !self.try_keep_reseeded(&cand) {
                    start += size;
                }
            }
            if size == 1 || !self.budget_left() {
                break;
            }
            size /= 2;
        }
    }

    /// Writes each fault and the recovery that ends it as one entry with `for_ms`.
    fn pair_windows(&mut self) {
        let base_loss = self.best.network.loss.ppm();
        let mut i = 0;
        while i < self.best.faults.len() && self.budget_left() {
            let faults = &self.best.faults;
            if let Some(start) = opener_of(faults, i, base_loss) {
                if faults[start].for_ms.is_none() {
                    let mut cand = faults.clone();
                    cand[start].for_ms = Some(faults[i].at_ms - faults[start].at_ms);
                    cand.remove(i);
                    if self.try_keep(self.with_faults(cand)) {
                        continue;
                    }
                }
            }
            i += 1;
        }
    }
}

fn is_restore(f: &FaultSpec, base_loss: u32) -> bool {
    f.kind == K::Loss && f.loss.is_some_and(|p| p.ppm() == base_loss)
}

/// For a recovery entry at `i`, the index of the fault it ends: the latest earlier entry of the
/// matching kind (and node), unless another recovery of the same kind comes between them.
fn opener_of(faults: &[FaultSpec], i: usize, base_loss: u32) -> Option<usize> {
    let f = &faults[i];
    let opens = |g: &FaultSpec| -> bool {
        match f.kind {
            K::Heal => g.kind == K::Partition,
            K::Restart => g.kind == K::Crash && g.node == f.node,
            K::Resume => g.kind == K::Pause && g.node == f.node,
            K::Loss if is_restore(f, base_loss) => g.kind == K::Loss && !is_restore(g, base_loss),
            _ => false,
        }
    };
    let recovery = matches!(f.kind, K::Heal | K::Restart | K::Resume) || is_restore(f, base_loss);
    if !recovery {
        return None;
    }
    let same_recovery =
        |g: &FaultSpec| g.kind == f.kind && g.node == f.node && (g.kind != K::Loss || is_restore(g, base_loss));
    for j in (0..i).rev() {
        let g = &faults[j];
        if opens(g) {
            return g.for_ms.is_none().then_some(j);
        }
        if same_recovery(g) {
            return None;
        }
    }
    None
}

/// The `k`-th seed other than `seed` the reseeding step tries (splitmix64 of the two).
fn other_seed(seed: u64, k: u64) -> u64 {
    let mut z = seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The schedule with fault `i` started halfway to its end (its `for_ms`, or the recovery entry
/// that ends it), re-sorted by time; None if it has no end or starts within 1 ms of it.
fn later_start(faults: &[FaultSpec], i: usize, base_loss: u32) -> Option<Vec<FaultSpec>> {
    let f = &faults[i];
    let mut cand = faults.to_vec();
    if let Some(len) = f.for_ms {
        if len < 2 {
            return None;
        }
        cand[i].at_ms = f.at_ms + len / 2;
        cand[i].for_ms = Some(len - len / 2);
    } else {
        let end = (i + 1..faults.len()).find(|&j| opener_of(faults, j, base_loss) == Some(i))?;
        let gap = faults[end].at_ms.checked_sub(f.at_ms)?;
        if gap < 2 {
            return None;
        }
        cand[i].at_ms = f.at_ms + gap / 2;
    }
    // Stable, so the moved fault stays before its recovery and after what it passed at equal times.
    cand.sort_by_key(|g| g.at_ms);
    Some(cand)
}

/// The schedule with partition `i` cut one node narrower, the `j`-th way of doing so: a node
/// of a smaller group moved into the largest, or one sender or receiver fewer in a one-way
/// cut. None once there is no `j`-th way.
fn narrowed(faults: &[FaultSpec], i: usize, j: usize) -> Option<Vec<FaultSpec>> {
    let f = &faults[i];
    if f.kind != K::Partition {
        return None;
    }
    let mut cand = faults.to_vec();
    if let Some(groups) = &f.groups {
        let largest = (0..groups.len()).max_by_key(|&g| (groups[g].len(), std::cmp::Reverse(g)))?;
        let movable: Vec<(usize, usize)> = (0..groups.len())
            .filter(|&g| g != largest)
            .flat_map(|g| (0..groups[g].len()).map(move |k| (g, k)))
            .collect();
        let &(g, k) = movable.get(j)?;
        let mut gs = groups.clone();
        let node = gs[g].remove(k);
        gs[largest].push(node);
        gs[largest].sort_unstable();
        gs.retain(|g| !g.is_empty());
        if gs.len() < 2 {
            return None; // no cut left: that is dropping the fault, step 2's job
        }
        cand[i].groups = Some(gs);
        return Some(cand);
    }
    let (from, to) = (f.from.as_ref()?, f.to.as_ref()?);
    if j < from.len() && from.len() > 1 {
        cand[i].from.as_mut()?.remove(j);
        return Some(cand);
    }
    let j = j.checked_sub(if from.len() > 1 { from.len() } else { 0 })?;
    if j < to.len() && to.len() > 1 {
        cand[i].to.as_mut()?.remove(j);
        return Some(cand);
    }
    None
}

/// The schedule with the clock jump or drift of fault `i` halved; None when there is none or
/// it is already within 1 of zero.
fn halved_clock(faults: &[FaultSpec], i: usize) -> Option<Vec<FaultSpec>> {
    let f = &faults[i];
    let mut cand = faults.to_vec();
    match (f.delta_ms, f.drift_ppm) {
        (Some(d), _) if d.unsigned_abs() > 1 => cand[i].delta_ms = Some(d / 2),
        (_, Some(p)) if p.unsigned_abs() > 1 => cand[i].drift_ppm = Some(p / 2),
        _ => return None,
    }
    Some(cand)
}

/// The scenario cut down to `k` nodes: faults, clocks and requests that name removed nodes are
/// dropped or narrowed; None if nothing sensible is left.
fn with_nodes(s: &Scenario, k: u32) -> Option<Scenario> {
    let mut c = s.clone();
    c.nodes = faultline_sim::scenario::Nodes(k);
    let keep = |x: &u32| *x < k;
    c.faults = s
        .faults
        .iter()
        .filter_map(|f| {
            let mut f = f.clone();
            if let Some(NodeSel::Id(n)) = f.node {
                if n >= k {
                    return None;
                }
            }
            if let Some(v) = f.from.as_mut() {
                v.retain(keep);
            }
            if let Some(v) = f.to.as_mut() {
                v.retain(keep);
            }
            if let Some(gs) = f.groups.as_mut() {
                for g in gs.iter_mut() {
                    g.retain(keep);
                }
                gs.retain(|g| !g.is_empty());
                if gs.len() < 2 {
                    return None;
                }
            }
            if f.from.as_ref().is_some_and(Vec::is_empty) || f.to.as_ref().is_some_and(Vec::is_empty) {
                return None;
            }
            Some(f)
        })
        .collect();
    c.clocks.node.retain(|n| n.node < k);
    if c.requests.iter().any(|r| matches!(r.node, NodeSel::Id(n) if n >= k)) {
        return None;
    }
    Some(c)
}

fn print_sizes(before: Size, after: Size) {
    outln!("{:<12} {:>10} {:>10}", "", "before", "after");
    let rows: [(&str, u64, u64); 6] = [
        ("faults", before.faults as u64, after.faults as u64),
        ("clients", u64::from(before.clients), u64::from(after.clients)),
        ("ops", before.ops, after.ops),
        ("duration_ms", before.duration_ms, after.duration_ms),
        ("nodes", u64::from(before.nodes), u64::from(after.nodes)),
        ("events", before.events, after.events),
    ];
    for (name, b, a) in rows {
        outln!("{name:<12} {b:>10} {a:>10}");
    }
}

/// The default output path: `NAME-shrunk.toml` beside the input.
fn default_output(input: &Path) -> PathBuf {
    let stem = input.file_stem().map_or("repro".into(), |s| s.to_string_lossy().into_owned());
    input.with_file_name(format!("{stem}-shrunk.toml"))
}

/// `faultline shrink`. Exits 1 when it wrote a (smaller or equal) repro that fails the same
/// invariant, 2 when the repro cannot be read or does not fail.
pub fn shrink(reg: &Registry, input: &Path, output: Option<&Path>, max_runs: u32) -> u8 {
    let repro = match Repro::load(input) {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let runner = match reg.find(&repro.scenario.protocol) {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {}: {e}", input.display());
            return EXIT_BAD_INPUT;
        }
    };
    let seed = repro.seed.0;
    let first = match run_one(reg, &repro.scenario, seed, &repro.bugs, None) {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {}: {e}", input.display());
            return EXIT_BAD_INPUT;
        }
    };
    let Some(target) = repro.invariant.clone().or_else(|| first.first_invariant().map(String::from)) else {
        errln!(
            "error: {}: the run does not fail (verdict {}): nothing to shrink",
            input.display(),
            first.verdict.as_str()
        );
        return EXIT_BAD_INPUT;
    };
    if first.verdict != Verdict::Fail || first.first_invariant() != Some(target.as_str()) {
        errln!(
            "error: {}: the run does not fail `{target}` first (verdict {}, first violation {}): nothing to shrink",
            input.display(),
            first.verdict.as_str(),
            first.first_invariant().unwrap_or("none")
        );
        return EXIT_BAD_INPUT;
    }
    let before = Size::of(&repro.scenario, &first);
    outln!("shrinking {} (seed={seed}, invariant {target}), at most {max_runs} re-runs", input.display());
    let mut sh = Shrinker {
        reg,
        runner,
        seed,
        original_seed: seed,
        bugs: repro.bugs.clone(),
        target: target.clone(),
        runs: 0,
        max_runs,
        best: repro.scenario.clone(),
        best_report: first.clone(),
    };
    let mut explicit = repro.scenario.clone();
    explicit.faults = first.explicit_faults.clone();
    explicit.nemesis = None;
    let made_explicit = sh.try_keep(explicit);
    if !made_explicit {
        outln!("note: the explicit fault schedule did not fail the same way; keeping the original faults");
    }
    let steps: [(&str, Step<'_>); 8] = [
        ("drop fault events", Shrinker::ddmin_faults),
        ("shorten fault windows", Shrinker::shorten_windows),
        ("cut clients and operations", Shrinker::cut_clients_and_ops),
        ("shorten the run", Shrinker::shorten_duration),
        ("fewer nodes", Shrinker::fewer_nodes),
        ("simplify each fault", Shrinker::simplify_faults),
        ("drop fault events again", Shrinker::ddmin_faults),
        ("drop fault events under other seeds", Shrinker::drop_faults_reseeded),
    ];
    // Passes until one changes nothing or the budget is spent: a smaller schedule, or another
    // seed, can make a step succeed that failed before (a fault droppable only once a
    // neighbour is gone).
    for pass in 1..=MAX_PASSES {
        let start = (sh.best.faults.len(), sh.best_report.events, sh.seed);
        for (name, step) in steps {
            if !made_explicit && name.contains("fault") {
                continue;
            }
            if pass > 1 && name.starts_with("drop fault events again") {
                continue; // the pass's first step is the same
            }
            step(&mut sh);
            let label = if pass == 1 { String::new() } else { format!("pass {pass} · ") };
            outln!(
                "  {label}{name}: {} faults, {} events ({} re-runs so far)",
                sh.best.faults.len(),
                sh.best_report.events,
                sh.runs
            );
        }
        if (sh.best.faults.len(), sh.best_report.events, sh.seed) == start || !sh.budget_left() {
            break;
        }
    }
    if made_explicit {
        sh.shorten_windows();
        sh.simplify_faults();
        sh.pair_windows();
    }
    let after = Size::of(&sh.best, &sh.best_report);
    let mut out = Repro::of(&sh.best, &sh.best_report).written_by(reg.binary());
    out.notes = repro.notes.clone();
    out.notes.push(format!(
        "shrunk by `shrink` from {} in {} re-runs, {} and invariant {target}: faults {}→{}, clients {}→{}, \
         ops {}→{}, duration_ms {}→{}, nodes {}→{}, events {}→{}",
        input.display(),
        sh.runs,
        if sh.seed == seed { "same seed".to_string() } else { format!("seed {seed}→{}", sh.seed) },
        before.faults,
        after.faults,
        before.clients,
        after.clients,
        before.ops,
        after.ops,
        before.duration_ms,
        after.duration_ms,
        before.nodes,
        after.nodes,
        before.events,
        after.events
    ));
    let path = output.map_or_else(|| default_output(input), Path::to_path_buf);
    if let Err(e) = faultline_reports::write_atomic(&path, out.to_toml().as_bytes()) {
        errln!("error: {}: cannot write: {e}", path.display());
        return EXIT_BAD_INPUT;
    }
    print_sizes(before, after);
    if sh.seed != seed {
        outln!("seed changed: {seed} → {} (a smaller schedule failed only under another seed)", sh.seed);
    }
    outln!("{} re-runs; still fails {target} (trace hash {})", sh.runs, sh.best_report.trace_hash);
    outln!("shrunk repro written; replay it with:\n  {}", reg.command("replay", &path.display().to_string()));
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(at_ms: u64, kind: K) -> FaultSpec {
        FaultSpec {
            at_ms,
            kind,
            node: None,
            shape: None,
            from: None,
            to: None,
            groups: None,
            for_ms: None,
            delta_ms: None,
            drift_ppm: None,
            loss: None,
        }
    }

    fn crash(at_ms: u64, node: u32) -> FaultSpec {
        FaultSpec { node: Some(NodeSel::Id(node)), ..fault(at_ms, K::Crash) }
    }

    fn restart(at_ms: u64, node: u32) -> FaultSpec {
        FaultSpec { node: Some(NodeSel::Id(node)), ..fault(at_ms, K::Restart) }
    }

    #[test]
    fn a_crash_starts_halfway_to_its_restart_and_stays_in_time_order() {
        // crash n0 at 100, crash n1 at 150, restart n0 at 300.
        let faults = vec![crash(100, 0), crash(150, 1), restart(300, 0)];
        let moved = later_start(&faults, 0, 0).expect("has a restart");
        let times: Vec<(u64, K)> = moved.iter().map(|f| (f.at_ms, f.kind)).collect();
        assert_eq!(times, [(150, K::Crash), (200, K::Crash), (300, K::Restart)]);
        assert_eq!(moved[1].node, Some(NodeSel::Id(0)), "the moved crash passed n1's");
        assert!(later_start(&faults, 1, 0).is_none(), "n1 is never restarted: no end to move towards");
        // With for_ms: later by half, and shorter by as much, so it still ends at 400.
        let windowed = vec![FaultSpec { for_ms: Some(300), ..crash(100, 0) }];
        let moved = later_start(&windowed, 0, 0).unwrap();
        assert_eq!((moved[0].at_ms, moved[0].for_ms), (250, Some(150)));
        let tight = vec![FaultSpec { for_ms: Some(1), ..crash(100, 0) }];
        assert!(later_start(&tight, 0, 0).is_none());
    }

    #[test]
    fn a_partition_narrows_one_node_at_a_time_and_never_to_nothing() {
        let p = FaultSpec { groups: Some(vec![vec![0, 1], vec![2], vec![3, 4, 5]]), ..fault(10, K::Partition) };
        let faults = vec![p];
        let ways: Vec<Vec<Vec<u32>>> =
            (0..).map_while(|j| narrowed(&faults, 0, j)).map(|c| c[0].groups.clone().unwrap()).collect();
        assert_eq!(
            ways,
            [
                vec![vec![1], vec![2], vec![0, 3, 4, 5]],
                vec![vec![0], vec![2], vec![1, 3, 4, 5]],
                vec![vec![0, 1], vec![2, 3, 4, 5]]
            ]
        );
        // Two groups of one: moving the only node of the smaller leaves no cut.
        let two = vec![FaultSpec { groups: Some(vec![vec![0], vec![1]]), ..fault(10, K::Partition) }];
        assert!(narrowed(&two, 0, 0).is_none());
        // One-way: a sender fewer, then a receiver fewer; never an empty side.
        let one_way = vec![FaultSpec { from: Some(vec![0, 1]), to: Some(vec![2]), ..fault(10, K::Partition) }];
        let ways: Vec<(Vec<u32>, Vec<u32>)> = (0..)
            .map_while(|j| narrowed(&one_way, 0, j))
            .map(|c| (c[0].from.clone().unwrap(), c[0].to.clone().unwrap()))
            .collect();
        assert_eq!(ways, [(vec![1], vec![2]), (vec![0], vec![2])]);
        assert!(narrowed(&[crash(1, 0)], 0, 0).is_none(), "only partitions narrow");
    }

    #[test]
    fn clock_faults_halve_towards_zero() {
        let jump = vec![FaultSpec { delta_ms: Some(-9), ..fault(5, K::ClockJump) }];
        assert_eq!(halved_clock(&jump, 0).unwrap()[0].delta_ms, Some(-4));
        let drift = vec![FaultSpec { drift_ppm: Some(1), ..fault(5, K::ClockDrift) }];
        assert!(halved_clock(&drift, 0).is_none());
        assert!(halved_clock(&[crash(1, 0)], 0).is_none());
    }

    #[test]
    fn other_seeds_are_fixed_distinct_and_not_the_original() {
        let seeds: Vec<u64> = (1..=RESEEDS).map(|k| other_seed(42, k)).collect();
        assert_eq!(seeds, (1..=RESEEDS).map(|k| other_seed(42, k)).collect::<Vec<_>>());
        let distinct: std::collections::BTreeSet<u64> = seeds.iter().copied().chain([42]).collect();
        assert_eq!(distinct.len(), RESEEDS as usize + 1);
    }
}
