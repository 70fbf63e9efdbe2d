//! Scenario validation: every value a run depends on is checked before the run, so a mistake in
//! a scenario is an error naming file, line, column and field (exit 2), never a panic or a
//! "violation" inside the simulator, and every run stays bounded.
//!
//! The ceilings here are what keeps integer arithmetic on scenario values far from overflow
//! (every time is at most [`MAX_TIME_MS`], so nanoseconds fit in `u64` with room for sums), so
//! debug and release builds agree on every input the loader accepts.

use crate::scenario::{
    shape_name, DelaySpec, FaultKindSpec as K, FaultSpec, NodeSel, Range, Scenario, ScenarioError, ShapeSpec,
    WorkloadMode, MAX_CLIENTS,
};

/// The largest simulated time (and any time span) a scenario may name: about 11.6 days.
pub const MAX_TIME_MS: u64 = 1_000_000_000;
/// Attempts per client operation.
pub const MAX_ATTEMPTS: u32 = 1_000;
/// Open-loop arrivals per simulated second.
pub const MAX_RATE_PER_S: u64 = 1_000_000;
/// Ceiling of `limits.max_events`.
pub const MAX_EVENTS: u64 = 10_000_000_000;
/// Ceiling of `limits.max_queue`.
pub const MAX_QUEUE: u64 = 100_000_000;
/// Ceiling of `limits.max_history`: a history is kept in memory to the end of the run.
pub const MAX_HISTORY: u64 = 2_000_000;
/// Ceiling of `limits.wall_ms`: one day.
pub const MAX_WALL_MS: u64 = 86_400_000;
/// Ceiling of `checks.history_budget`.
pub const MAX_HISTORY_BUDGET: u64 = 10_000_000_000;
/// Longest scenario name (repro file names use a bounded prefix of it).
pub const MAX_NAME_CHARS: usize = 1_000;

/// For a protocol's [`Protocol::validate`](crate::protocol::Protocol::validate): `field` must be
/// in `lo..=hi`.
pub fn within(field: &str, value: u64, lo: u64, hi: u64) -> Result<(), crate::protocol::ConfigError> {
    if value < lo || value > hi {
        return Err(crate::protocol::ConfigError::new(field, format!("must be in {lo}..={hi}, got {value}")));
    }
    Ok(())
}

/// A time setting of a protocol, in ms: at least `min`, at most [`MAX_TIME_MS`].
pub fn ms(field: &str, value: u64, min: u64) -> Result<(), crate::protocol::ConfigError> {
    within(field, value, min, MAX_TIME_MS)
}

/// Percentages of a workload mix: each at most 100, together at most 100.
pub fn percents(fields: &[(&str, u64)]) -> Result<(), crate::protocol::ConfigError> {
    for &(f, v) in fields {
        within(f, v, 0, 100)?;
    }
    let sum: u64 = fields.iter().map(|&(_, v)| v).sum();
    if sum > 100 {
        let names: Vec<&str> = fields.iter().map(|&(f, _)| f).collect();
        return Err(crate::protocol::ConfigError::new(
            fields[fields.len() - 1].0,
            format!("{} add up to {sum}, more than 100", names.join(" + ")),
        ));
    }
    Ok(())
}

/// Where in the file a value sits.
#[derive(Clone, Copy, Debug)]
pub enum Loc<'a> {
    /// The top level (keys before any table header).
    Top,
    /// A table, e.g. `network` or `config.app`.
    Table(&'a str),
    /// The `index`th entry of an array of tables, e.g. `faults` 2.
    Entry(&'a str, usize),
}

/// The byte offset of `key` (or of the section header when `key` is `None` or not written) in
/// `text`. Best effort: it reads lines, not TOML.
pub fn locate(text: &str, loc: Loc<'_>, key: Option<&str>) -> Option<usize> {
    let (header, at) = scan(text, loc, key);
    at.or(header)
}

/// The byte offset of `key` in section `loc`, only if it is written there.
pub fn locate_key(text: &str, loc: Loc<'_>, key: &str) -> Option<usize> {
    scan(text, loc, Some(key)).1
}

/// (the section's header, the key in it).
fn scan(text: &str, loc: Loc<'_>, key: Option<&str>) -> (Option<usize>, Option<usize>) {
    #[derive(PartialEq)]
    enum Cur {
        Top,
        Table(String),
        Entry(String, usize),
    }
    let want = match loc {
        Loc::Top => Cur::Top,
        Loc::Table(t) => Cur::Table(t.to_string()),
        Loc::Entry(a, i) => Cur::Entry(a.to_string(), i),
    };
    let mut cur = Cur::Top;
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut header: Option<usize> = if matches!(want, Cur::Top) { Some(0) } else { None };
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let t = line.trim();
        let indent = line.len() - line.trim_start().len();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = match counts.iter_mut().find(|(k, _)| *k == name) {
                Some((_, c)) => {
                    *c += 1;
                    *c - 1
                }
                None => {
                    counts.push((name.clone(), 1));
                    0
                }
            };
            cur = Cur::Entry(name, n);
            if cur == want {
                header = Some(start + indent);
            }
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            cur = Cur::Table(name.trim().to_string());
            if cur == want {
                header = Some(start + indent);
            }
            continue;
        }
        if cur != want {
            continue;
        }
        if let Some(k) = key {
            if let Some(p) = key_position(line, k) {
                return (header, Some(start + p));
            }
        }
    }
    (header, None)
}

/// The first assignment of `key` in any section.
pub fn locate_anywhere(text: &str, key: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if !t.starts_with('[') {
            if let Some(p) = key_position(line, key) {
                return Some(offset + p);
            }
        }
        offset += line.len();
    }
    None
}

/// Where `key = …` is assigned on `line` (also inside an inline table), if it is.
fn key_position(line: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = line[from..].find(key) {
        let at = from + i;
        let before = line[..at].chars().next_back();
        let after = line[at + key.len()..].trim_start();
        let boundary = before.is_none_or(|c| c.is_whitespace() || c == '{' || c == ',' || c == '.');
        if boundary && after.starts_with('=') && !after.starts_with("==") {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

/// Checks a scenario. The error points at the field.
pub fn scenario(s: &Scenario) -> Result<(), ScenarioError> {
    let v = V { s };
    v.top()?;
    v.network()?;
    v.clocks()?;
    v.workload()?;
    v.faults()?;
    v.nemesis()?;
    v.requests()?;
    v.checks_and_limits()?;
    Ok(())
}

struct V<'a> {
    s: &'a Scenario,
}

impl V<'_> {
    fn err(&self, loc: Loc<'_>, key: &str, message: String) -> ScenarioError {
        self.s.error_at(loc, Some(key), message)
    }

    fn n(&self) -> u32 {
        self.s.nodes.0
    }

    fn time(&self, loc: Loc<'_>, key: &str, what: &str, ms: u64) -> Result<(), ScenarioError> {
        if ms > MAX_TIME_MS {
            return Err(self.err(loc, key, format!("{what}: {ms} ms is beyond the limit of {MAX_TIME_MS} ms")));
        }
        Ok(())
    }

    fn range(&self, loc: Loc<'_>, key: &str, what: &str, r: Range) -> Result<(), ScenarioError> {
        self.time(loc, key, what, r.max)
    }

    fn node(&self, loc: Loc<'_>, key: &str, what: &str, sel: &NodeSel) -> Result<(), ScenarioError> {
        match *sel {
            NodeSel::Id(i) if i >= self.n() => Err(self.err(
                loc,
                key,
                format!("{what}: {i} is not a node (nodes = {}, so 0..={})", self.n(), self.n() - 1),
            )),
            _ => Ok(()),
        }
    }

    fn top(&self) -> Result<(), ScenarioError> {
        let s = self.s;
        if s.name.trim().is_empty() {
            return Err(self.err(Loc::Top, "name", "name: must not be empty".into()));
        }
        if s.name.chars().count() > MAX_NAME_CHARS {
            return Err(self.err(Loc::Top, "name", format!("name: longer than {MAX_NAME_CHARS} characters")));
        }
        if s.name.chars().any(char::is_control) {
            return Err(self.err(Loc::Top, "name", "name: must not contain control characters".into()));
        }
        if s.protocol.trim().is_empty() {
            return Err(self.err(Loc::Top, "protocol", "protocol: must not be empty".into()));
        }
        self.time(Loc::Top, "duration_ms", "duration_ms", s.duration_ms.0)
    }

    fn delay(&self, key: &str, d: &DelaySpec) -> Result<(), ScenarioError> {
        let loc = Loc::Table("network");
        let what = format!("network.{key}");
        let max = match *d {
            DelaySpec::Fixed { ms } => ms,
            DelaySpec::Uniform { max_ms, .. } | DelaySpec::Exponential { max_ms, .. } => max_ms,
        };
        self.time(loc, key, &what, max)?;
        d.to_delay().map_err(|m| self.err(loc, key, format!("{what}: {m}")))?;
        Ok(())
    }

    fn network(&self) -> Result<(), ScenarioError> {
        self.delay("delay", &self.s.network.delay)?;
        self.delay("client_delay", &self.s.network.client_delay)
    }

    fn clocks(&self) -> Result<(), ScenarioError> {
        let c = &self.s.clocks;
        let loc = Loc::Table("clocks");
        self.time(loc, "max_offset_ms", "clocks.max_offset_ms", c.max_offset_ms)?;
        if c.max_drift_ppm > crate::clock::MAX_DRIFT_PPM as u64 {
            return Err(self.err(
                loc,
                "max_drift_ppm",
                format!("clocks.max_drift_ppm: {} is beyond ±{} ppm", c.max_drift_ppm, crate::clock::MAX_DRIFT_PPM),
            ));
        }
        for (i, nc) in c.node.iter().enumerate() {
            let loc = Loc::Entry("clocks.node", i);
            if nc.node >= self.n() {
                return Err(self.err(loc, "node", format!("clocks.node[{i}].node: {} is not a node", nc.node)));
            }
            if c.node[..i].iter().any(|o| o.node == nc.node) {
                return Err(self.err(loc, "node", format!("clocks.node[{i}].node: node {} is set twice", nc.node)));
            }
            if nc.offset_ms.unsigned_abs() > MAX_TIME_MS {
                return Err(self.err(
                    loc,
                    "offset_ms",
                    format!("clocks.node[{i}].offset_ms: beyond ±{MAX_TIME_MS} ms"),
                ));
            }
            if nc.drift_ppm.unsigned_abs() > crate::clock::MAX_DRIFT_PPM.unsigned_abs() {
                return Err(self.err(
                    loc,
                    "drift_ppm",
                    format!("clocks.node[{i}].drift_ppm must be within ±{}", crate::clock::MAX_DRIFT_PPM),
                ));
            }
        }
        Ok(())
    }

    fn workload(&self) -> Result<(), ScenarioError> {
        let w = &self.s.workload;
        let loc = Loc::Table("workload");
        let dur = self.s.duration_ms.0;
        if w.clients > MAX_CLIENTS {
            return Err(self.err(loc, "clients", format!("workload.clients: {} is above {MAX_CLIENTS}", w.clients)));
        }
        if w.attempts == 0 || w.attempts > MAX_ATTEMPTS {
            return Err(self.err(
                loc,
                "attempts",
                format!("workload.attempts must be in 1..={MAX_ATTEMPTS}, got {}", w.attempts),
            ));
        }
        self.range(loc, "think_ms", "workload.think_ms", w.think_ms)?;
        self.time(loc, "timeout_ms", "workload.timeout_ms", w.timeout_ms.0)?;
        if w.start_ms > dur {
            return Err(self.err(
                loc,
                "start_ms",
                format!("workload.start_ms: {} is after the end of the run ({dur})", w.start_ms),
            ));
        }
        if let Some(stop) = w.stop_ms {
            if stop < w.start_ms || stop > dur {
                return Err(self.err(
                    loc,
                    "stop_ms",
                    format!(
                        "workload.stop_ms must be within start_ms..=duration_ms ({}..={dur}), got {stop}",
                        w.start_ms
                    ),
                ));
            }
        }
        if w.max_ops_per_client == Some(0) {
            return Err(self.err(loc, "max_ops_per_client", "workload.max_ops_per_client must be at least 1".into()));
        }
        match (w.mode, w.rate_per_s) {
            (WorkloadMode::Open, None) => {
                return Err(self.err(loc, "mode", "workload.mode = \"open\" needs workload.rate_per_s".into()))
            }
            (_, Some(r)) if r == 0 || r > MAX_RATE_PER_S => {
                return Err(self.err(
                    loc,
                    "rate_per_s",
                    format!("workload.rate_per_s must be in 1..={MAX_RATE_PER_S}, got {r}"),
                ))
            }
            (WorkloadMode::Closed, Some(_)) => {
                return Err(self.err(loc, "rate_per_s", "workload.rate_per_s applies to mode = \"open\" only".into()))
            }
            _ => {}
        }
        Ok(())
    }

    fn faults(&self) -> Result<(), ScenarioError> {
        for (i, f) in self.s.faults.iter().enumerate() {
            self.fault(i, f)?;
        }
        Ok(())
    }

    fn fault(&self, i: usize, f: &FaultSpec) -> Result<(), ScenarioError> {
        let loc = Loc::Entry("faults", i);
        let dur = self.s.duration_ms.0;
        let p = format!("faults[{i}]");
        if f.at_ms > dur {
            return Err(self.err(
                loc,
                "at_ms",
                format!("{p}.at_ms: {} is after the end of the run (duration_ms = {dur})", f.at_ms),
            ));
        }
        if let Some(sel) = &f.node {
            self.node(loc, "node", &format!("{p}.node"), sel)?;
        }
        // Fields that the kind does not use are a mistake, not something to ignore.
        let kind = crate::scenario::kind_name(f.kind);
        let uses = |field: &str| -> bool {
            match field {
                "node" => !matches!(f.kind, K::Heal | K::Loss),
                "shape" | "from" | "to" | "groups" => f.kind == K::Partition,
                "for_ms" => matches!(f.kind, K::Partition | K::Crash | K::Pause | K::Loss),
                "delta_ms" => f.kind == K::ClockJump,
                "drift_ppm" => f.kind == K::ClockDrift,
                "loss" => f.kind == K::Loss,
                _ => true,
            }
        };
        let given = [
            ("node", f.node.is_some()),
            ("shape", f.shape.is_some()),
            ("from", f.from.is_some()),
            ("to", f.to.is_some()),
            ("groups", f.groups.is_some()),
            ("for_ms", f.for_ms.is_some()),
            ("delta_ms", f.delta_ms.is_some()),
            ("drift_ppm", f.drift_ppm.is_some()),
            ("loss", f.loss.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(field, set)| *set && !uses(field)) {
            return Err(self.err(loc, field, format!("{p}.{field}: does not apply to kind = \"{kind}\"")));
        }
        let needs_node = matches!(f.kind, K::Crash | K::Restart | K::Pause | K::Resume | K::ClockJump | K::ClockDrift);
        if needs_node && f.node.is_none() {
            return Err(self.err(loc, "kind", format!("{p}: kind = \"{kind}\" needs `node`")));
        }
        if let Some(ms) = f.for_ms {
            if ms == 0 {
                return Err(self.err(
                    loc,
                    "for_ms",
                    format!("{p}.for_ms must be positive (leave it out for a fault that lasts)"),
                ));
            }
            self.time(loc, "for_ms", &format!("{p}.for_ms"), ms)?;
        }
        match f.kind {
            K::Partition => self.partition(loc, &p, f)?,
            K::ClockJump => match f.delta_ms {
                None => return Err(self.err(loc, "kind", format!("{p}: kind = \"clock-jump\" needs `delta_ms`"))),
                Some(0) => return Err(self.err(loc, "delta_ms", format!("{p}.delta_ms: a jump of 0 ms does nothing"))),
                Some(d) if d.unsigned_abs() > MAX_TIME_MS => {
                    return Err(self.err(loc, "delta_ms", format!("{p}.delta_ms: beyond ±{MAX_TIME_MS} ms")))
                }
                _ => {}
            },
            K::ClockDrift => match f.drift_ppm {
                None => return Err(self.err(loc, "kind", format!("{p}: kind = \"clock-drift\" needs `drift_ppm`"))),
                Some(d) if d.unsigned_abs() > crate::clock::MAX_DRIFT_PPM.unsigned_abs() => {
                    return Err(self.err(
                        loc,
                        "drift_ppm",
                        format!("{p}.drift_ppm must be within ±{}", crate::clock::MAX_DRIFT_PPM),
                    ))
                }
                _ => {}
            },
            K::Loss if f.loss.is_none() => {
                return Err(self.err(loc, "kind", format!("{p}: kind = \"loss\" needs `loss`")))
            }
            _ => {}
        }
        Ok(())
    }

    fn partition(&self, loc: Loc<'_>, p: &str, f: &FaultSpec) -> Result<(), ScenarioError> {
        let n = self.n();
        let Some(shape) = f.shape else {
            return Err(self.err(loc, "kind", format!("{p}: kind = \"partition\" needs `shape`")));
        };
        let name = shape_name(shape);
        let node_used = matches!(shape, ShapeSpec::Isolate | ShapeSpec::Bridge | ShapeSpec::MajorityMinority);
        if matches!(shape, ShapeSpec::Isolate | ShapeSpec::Bridge) && f.node.is_none() {
            return Err(self.err(loc, "shape", format!("{p}: shape = \"{name}\" needs `node`")));
        }
        if !node_used && f.node.is_some() {
            return Err(self.err(loc, "node", format!("{p}.node: does not apply to shape = \"{name}\"")));
        }
        let lists_ok = |key: &str, set: bool, wanted: bool| -> Result<(), ScenarioError> {
            if set && !wanted {
                return Err(self.err(loc, key, format!("{p}.{key}: does not apply to shape = \"{name}\"")));
            }
            Ok(())
        };
        lists_ok("from", f.from.is_some(), shape == ShapeSpec::OneWay)?;
        lists_ok("to", f.to.is_some(), shape == ShapeSpec::OneWay)?;
        lists_ok("groups", f.groups.is_some(), matches!(shape, ShapeSpec::Groups | ShapeSpec::Bridge))?;
        let ids = |key: &str, list: &[u32]| -> Result<(), ScenarioError> {
            if list.is_empty() {
                return Err(self.err(loc, key, format!("{p}.{key}: must not be empty")));
            }
            for (j, &x) in list.iter().enumerate() {
                if x >= n {
                    return Err(self.err(loc, key, format!("{p}.{key}: node {x} is not a node (nodes = {n})")));
                }
                if list[..j].contains(&x) {
                    return Err(self.err(loc, key, format!("{p}.{key}: node {x} appears twice")));
                }
            }
            Ok(())
        };
        match shape {
            ShapeSpec::OneWay => {
                let (Some(from), Some(to)) = (&f.from, &f.to) else {
                    return Err(self.err(loc, "shape", format!("{p}: shape = \"one-way\" needs `from` and `to`")));
                };
                ids("from", from)?;
                ids("to", to)?;
                if from.iter().all(|x| to.contains(x)) && to.iter().all(|x| from.contains(x)) && from.len() == 1 {
                    return Err(self.err(loc, "to", format!("{p}: a one-way cut from a node to itself cuts nothing")));
                }
            }
            ShapeSpec::Groups | ShapeSpec::Bridge => {
                let Some(groups) = &f.groups else {
                    if shape == ShapeSpec::Groups {
                        return Err(self.err(loc, "shape", format!("{p}: shape = \"groups\" needs `groups`")));
                    }
                    return Ok(());
                };
                let all: Vec<u32> = groups.iter().flatten().copied().collect();
                if groups.iter().any(Vec::is_empty) {
                    return Err(self.err(loc, "groups", format!("{p}.groups: a group must not be empty")));
                }
                ids("groups", &all)?;
                if shape == ShapeSpec::Bridge {
                    if groups.len() != 2 {
                        return Err(self.err(loc, "groups", format!("{p}.groups: a bridge has exactly two sides")));
                    }
                    if let Some(NodeSel::Id(b)) = f.node {
                        if all.contains(&b) {
                            return Err(self.err(
                                loc,
                                "groups",
                                format!("{p}.groups: the bridge node {b} is on a side"),
                            ));
                        }
                    }
                } else {
                    let covered = all.len() as u32 == n;
                    let parts = groups.len() + usize::from(!covered);
                    if parts < 2 {
                        return Err(self.err(
                            loc,
                            "groups",
                            format!("{p}.groups: one group of every node cuts nothing"),
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn nemesis(&self) -> Result<(), ScenarioError> {
        let Some(nem) = &self.s.nemesis else { return Ok(()) };
        let loc = Loc::Table("nemesis");
        let dur = self.s.duration_ms.0;
        if nem.weights().iter().all(|&x| x == 0) {
            return Err(self.s.error_at(loc, None, "nemesis: every fault weight is zero".into()));
        }
        if nem.weights().iter().any(|&w| w > 1_000_000) {
            return Err(self.s.error_at(loc, None, "nemesis: fault weights must be at most 1000000".into()));
        }
        self.node(loc, "target", "nemesis.target", &nem.target)?;
        let until = nem.until_ms.unwrap_or(dur.saturating_mul(3) / 4);
        if until > dur {
            return Err(self.err(
                loc,
                "until_ms",
                format!("nemesis.until_ms: {until} is after the end of the run ({dur})"),
            ));
        }
        if nem.start_ms > until {
            return Err(self.err(
                loc,
                "start_ms",
                format!("nemesis.start_ms: {} is after until_ms ({until})", nem.start_ms),
            ));
        }
        self.range(loc, "interval_ms", "nemesis.interval_ms", nem.interval_ms)?;
        self.range(loc, "duration_ms", "nemesis.duration_ms", nem.duration_ms)?;
        if nem.jump_ms.min.unsigned_abs() > MAX_TIME_MS || nem.jump_ms.max.unsigned_abs() > MAX_TIME_MS {
            return Err(self.err(loc, "jump_ms", format!("nemesis.jump_ms: beyond ±{MAX_TIME_MS} ms")));
        }
        if nem.partition > 0 {
            if nem.shapes.is_empty() {
                return Err(self.err(
                    loc,
                    "shapes",
                    "nemesis.shapes: partitions are on but no shape is allowed".into(),
                ));
            }
            if let Some(s) = nem.shapes.iter().find(|s| matches!(s, ShapeSpec::OneWay | ShapeSpec::Groups)) {
                return Err(self.err(
                    loc,
                    "shapes",
                    format!("nemesis.shapes: \"{}\" needs explicit node lists; use [[faults]] for it", shape_name(*s)),
                ));
            }
        }
        Ok(())
    }

    fn requests(&self) -> Result<(), ScenarioError> {
        let dur = self.s.duration_ms.0;
        for (i, r) in self.s.requests.iter().enumerate() {
            let loc = Loc::Entry("requests", i);
            self.node(loc, "node", &format!("requests[{i}].node"), &r.node)?;
            if r.at_ms > dur {
                return Err(self.err(
                    loc,
                    "at_ms",
                    format!("requests[{i}].at_ms: {} is after the end of the run ({dur})", r.at_ms),
                ));
            }
        }
        Ok(())
    }

    fn checks_and_limits(&self) -> Result<(), ScenarioError> {
        let c = &self.s.checks;
        let loc = Loc::Table("checks");
        if let Some(ms) = c.liveness_ms {
            if ms == 0 {
                return Err(self.err(loc, "liveness_ms", "checks.liveness_ms must be positive".into()));
            }
            self.time(loc, "liveness_ms", "checks.liveness_ms", ms)?;
        }
        if c.history_budget == 0 || c.history_budget > MAX_HISTORY_BUDGET {
            return Err(self.err(
                loc,
                "history_budget",
                format!("checks.history_budget must be in 1..={MAX_HISTORY_BUDGET}"),
            ));
        }
        let l = &self.s.limits;
        let loc = Loc::Table("limits");
        for (key, v, max) in [
            ("max_events", l.max_events, MAX_EVENTS),
            ("max_queue", l.max_queue, MAX_QUEUE),
            ("max_history", l.max_history, MAX_HISTORY),
            ("wall_ms", l.wall_ms, MAX_WALL_MS),
        ] {
            if v == 0 || v > max {
                return Err(self.err(loc, key, format!("limits.{key} must be in 1..={max}, got {v}")));
            }
        }
        if let Some(e) = &self.s.expect {
            let loc = Loc::Table("expect");
            if e.violation.trim().is_empty() {
                return Err(self.err(loc, "violation", "expect.violation: name the invariant that must fail".into()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_keys_in_tables_entries_and_inline_tables() {
        let text = "name = \"x\"\nnodes = 3\n[network]\ndelay = { dist = \"fixed\", ms = 5 }\n[[faults]]\nat_ms = 1\n\
                    [[faults]]\nat_ms = 2\nnode = 9\n[config]\nheartbeat_ms = 7\n";
        let line = |pos: Option<usize>| crate::scenario::line_col(text, pos.unwrap()).0;
        assert_eq!(line(locate(text, Loc::Top, Some("nodes"))), 2);
        assert_eq!(line(locate(text, Loc::Table("network"), Some("ms"))), 4);
        assert_eq!(line(locate(text, Loc::Entry("faults", 1), Some("node"))), 9);
        assert_eq!(line(locate(text, Loc::Entry("faults", 1), Some("for_ms"))), 7, "falls back to the header");
        assert_eq!(line(locate(text, Loc::Table("config"), Some("heartbeat_ms"))), 11);
        assert_eq!(locate(text, Loc::Table("clocks"), Some("x")), None);
        assert_eq!(key_position("  at_ms = 3", "ms"), None, "a key is a whole word");
    }
}
