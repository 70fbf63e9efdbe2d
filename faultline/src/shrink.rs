//! `faultline shrink`: from a failing repro, search for a smaller run that fails the *same*
//! invariant, and write it as a repro whose scenario has an explicit, editable fault schedule.
//!
//! The seed stays fixed throughout, so the network's, the clocks' and the nodes' random streams
//! are the same in every candidate; only the schedule and the workload change. Each step makes a
//! candidate scenario, re-runs it, and keeps it only if the run still fails with the same first
//! invariant:
//!
//! 1. make the faults explicit: the run's applied fault actions (`RunReport::explicit_faults`,
//!    nodes resolved, partitions as concrete groups) replace `[[faults]]` and `[nemesis]`;
//! 2. drop fault events with delta debugging (ddmin);
//! 3. shorten fault windows: move each recovery (heal, restart, resume, loss restored) earlier;
//! 4. cut clients, then operations per client;
//! 5. shorten the run to just after the violation;
//! 6. try fewer nodes, where the scenario stays valid for the protocol;
//! 7. once more 2–3 on what is left, then write each fault with its recovery as one entry with
//!    `for_ms` where that keeps the failure.
//!
//! The effort is bounded by `--max-runs` re-runs.

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
    seed: u64,
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
    fn try_keep(&mut self, mut cand: Scenario) -> bool {
        if !self.budget_left() {
            return false;
        }
        cand.source = None;
        if cand.validate().is_err() || self.runner.validate(&cand, &self.bugs).is_err() {
            return false;
        }
        self.runs += 1;
        match run_one(self.reg, &cand, self.seed, &self.bugs, None) {
            Ok(r)
                if r.verdict == Verdict::Fail
                    && r.first_invariant() == Some(self.target.as_str())
                    && self.smaller(&r) =>
            {
                self.best = cand;
                self.best_report = r;
                true
            }
            _ => false,
        }
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
    let steps: [(&str, Step<'_>); 6] = [
        ("drop fault events", Shrinker::ddmin_faults),
        ("shorten fault windows", Shrinker::shorten_windows),
        ("cut clients and operations", Shrinker::cut_clients_and_ops),
        ("shorten the run", Shrinker::shorten_duration),
        ("fewer nodes", Shrinker::fewer_nodes),
        ("drop fault events again", Shrinker::ddmin_faults),
    ];
    for (name, step) in steps {
        if !made_explicit && name.contains("fault") {
            continue;
        }
        step(&mut sh);
        outln!(
            "  {name}: {} faults, {} events ({} re-runs so far)",
            sh.best.faults.len(),
            sh.best_report.events,
            sh.runs
        );
    }
    if made_explicit {
        sh.shorten_windows();
        sh.pair_windows();
    }
    let after = Size::of(&sh.best, &sh.best_report);
    let mut out = Repro::of(&sh.best, &sh.best_report).written_by(reg.binary());
    out.notes = repro.notes.clone();
    out.notes.push(format!(
        "shrunk by `shrink` from {} in {} re-runs, same seed and invariant {target}: faults {}→{}, clients {}→{}, \
         ops {}→{}, duration_ms {}→{}, nodes {}→{}, events {}→{}",
        input.display(),
        sh.runs,
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
    outln!("{} re-runs; still fails {target} (trace hash {})", sh.runs, sh.best_report.trace_hash);
    outln!("shrunk repro written; replay it with:\n  {}", reg.command("replay", &path.display().to_string()));
    1
}
