//! Scenario files: TOML, validated on load, errors that name file, line and column.
//!
//! A scenario names the protocol and everything about the world it runs in: cluster size,
//! duration, network, clocks, disk, workload, an explicit fault schedule, a random nemesis,
//! checks and limits. The protocol's own settings live in `[config]` and are validated by the
//! protocol's `Config` type. Unknown fields are rejected everywhere.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::path::Path;

/// Largest cluster a scenario may ask for. The connectivity matrix is `nodes²`.
pub const MAX_NODES: u32 = 256;
/// Largest number of clients.
pub const MAX_CLIENTS: u32 = 10_000;

/// A scenario file that could not be loaded: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file (as given by the user).
    pub file: String,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// 1-based column, if known.
    pub column: Option<usize>,
    /// What is wrong, naming the field.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
            (Some(l), None) => write!(f, "{}:{}: {}", self.file, l, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    /// An error at a byte span of `text`.
    pub fn at(file: &str, text: &str, span: Option<std::ops::Range<usize>>, message: impl Into<String>) -> Self {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = line_col(text, s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ScenarioError { file: file.to_string(), line, column, message: message.into() }
    }

    /// Converts a `toml` deserialization error.
    pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> Self {
        ScenarioError::at(file, text, e.span(), e.message().trim().to_string())
    }
}

/// Reads a text file; invalid UTF-8 is an error at the line and column of the first bad byte.
pub fn read_text(path: &Path, what: &str) -> Result<String, ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: None,
        column: None,
        message: format!("cannot read {what}: {e}"),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..good]).into_owned();
        ScenarioError::at(&file, &text, Some(good..good), format!("the {what} is not valid UTF-8 (byte {good})"))
    })
}

/// 1-based line and column of byte offset `pos` in `text`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(pos, |nl| pos - nl - 1) + 1;
    (line, col)
}

/// A [`crate::validate::Loc`] with owned names (after adding a prefix).
enum OwnedLoc {
    Top,
    Table(String),
    Entry(String, usize),
}

impl OwnedLoc {
    fn as_loc(&self) -> crate::validate::Loc<'_> {
        match self {
            OwnedLoc::Top => crate::validate::Loc::Top,
            OwnedLoc::Table(t) => crate::validate::Loc::Table(t),
            OwnedLoc::Entry(a, i) => crate::validate::Loc::Entry(a, *i),
        }
    }
}

/// A whole scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, shown in reports.
    pub name: String,
    /// What the scenario exercises and why.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The protocol to run (`faultline bugs` lists the known ones).
    pub protocol: String,
    /// Cluster size.
    pub nodes: Nodes,
    /// Simulated duration of the run.
    pub duration_ms: Positive,
    /// The seed used when the command line gives none.
    #[serde(default)]
    pub seed: Seed,
    /// Network model.
    #[serde(default)]
    pub network: NetworkSpec,
    /// Clock model.
    #[serde(default)]
    pub clocks: ClockSpec,
    /// Disk model.
    #[serde(default)]
    pub disk: DiskSpec,
    /// Client workload.
    #[serde(default)]
    pub workload: WorkloadSpec,
    /// An explicit fault schedule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Random faults drawn from the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<NemesisSpec>,
    /// Operator requests at fixed times (membership changes, leadership transfer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<RequestSpec>,
    /// Which end-of-run checks apply and their bounds.
    #[serde(default)]
    pub checks: CheckSpec,
    /// Hard limits on the run.
    #[serde(default)]
    pub limits: LimitSpec,
    /// A positive control: the violation this scenario expects (the run passes only if it occurs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<ExpectSpec>,
    /// Protocol-specific settings, validated by the protocol.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub config: toml::Table,
    /// Where this scenario was loaded from (not part of the file).
    #[serde(skip)]
    pub source: Option<SourceText>,
}

/// The file a scenario came from and its text, kept so that later validation (of `[config]`,
/// of node indices) can still point at lines.
#[derive(Clone, Debug)]
pub struct SourceText {
    /// The path as given.
    pub file: String,
    /// The file's contents.
    pub text: String,
    /// The table the scenario sits in within the file: empty for a scenario file, `scenario`
    /// in a repro file.
    pub prefix: String,
}

impl Scenario {
    /// Loads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = read_text(path, "scenario")?;
        Scenario::from_toml_str(&file, &text)
    }

    /// Parses and validates scenario text; `file` names it in errors.
    pub fn from_toml_str(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let mut s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::from_toml(file, text, &e))?;
        s.source = Some(SourceText { file: file.to_string(), text: text.to_string(), prefix: String::new() });
        s.validate()?;
        Ok(s)
    }

    /// Cross-field checks that a field's own type cannot make: node indices, fault shapes,
    /// times against the duration, and the ceilings that keep every run bounded (see
    /// [`crate::validate`]).
    pub fn validate(&self) -> Result<(), ScenarioError> {
        crate::validate::scenario(self)
    }

    /// The end of the run as true time.
    pub fn duration(&self) -> crate::time::Time {
        crate::time::Time::from_ms(self.duration_ms.0)
    }

    fn file(&self) -> &str {
        self.source.as_ref().map_or("<scenario>", |s| s.file.as_str())
    }

    /// An error pointing at `key`: the `[key]` table's header if there is one, else the first
    /// line (in any section) that assigns it, else line 1.
    pub fn error_at_key(&self, key: &str, message: String) -> ScenarioError {
        use crate::validate::{locate_key, Loc};
        let Some(src) = &self.source else {
            return ScenarioError { file: self.file().into(), line: None, column: None, message };
        };
        let table = self.prefixed(key);
        let pos = crate::validate::locate(&src.text, Loc::Table(&table), None)
            .or_else(|| locate_key(&src.text, self.prefixed_loc(Loc::Top).as_loc(), key))
            .or_else(|| crate::validate::locate_anywhere(&src.text, key))
            .unwrap_or(0);
        ScenarioError::at(&src.file, &src.text, Some(pos..pos), message)
    }

    fn prefixed(&self, table: &str) -> String {
        match self.source.as_ref().map(|s| s.prefix.as_str()) {
            Some(p) if !p.is_empty() => format!("{p}.{table}"),
            _ => table.to_string(),
        }
    }

    fn prefixed_loc(&self, loc: crate::validate::Loc<'_>) -> OwnedLoc {
        use crate::validate::Loc;
        let prefix = self.source.as_ref().map_or("", |s| s.prefix.as_str());
        match loc {
            Loc::Top if prefix.is_empty() => OwnedLoc::Top,
            Loc::Top => OwnedLoc::Table(prefix.to_string()),
            Loc::Table(t) => OwnedLoc::Table(self.prefixed(t)),
            Loc::Entry(a, i) => OwnedLoc::Entry(self.prefixed(a), i),
        }
    }

    /// An error pointing at `key` in the section `loc` (or at the section's header when the key
    /// is not written there, or at line 1 when neither is).
    pub fn error_at(&self, loc: crate::validate::Loc<'_>, key: Option<&str>, message: String) -> ScenarioError {
        let (file, text) = match &self.source {
            Some(s) => (s.file.as_str(), s.text.as_str()),
            None => return ScenarioError { file: self.file().into(), line: None, column: None, message },
        };
        let pos = crate::validate::locate(text, self.prefixed_loc(loc).as_loc(), key).unwrap_or(0);
        ScenarioError::at(file, text, Some(pos..pos), message)
    }

    /// An error at `field` of table `table`; a dotted field (`app.keys`) is `keys` in
    /// `[table.app]`, or the `app = {…}` line of `[table]`.
    pub fn error_in_table(&self, table: &str, field: &str, message: String) -> ScenarioError {
        use crate::validate::{locate_key, Loc};
        let text = self.source.as_ref().map_or("", |s| s.text.as_str());
        if let Some((prefix, key)) = field.rsplit_once('.') {
            let sub = format!("{table}.{prefix}");
            if locate_key(text, self.prefixed_loc(Loc::Table(&sub)).as_loc(), key).is_some() {
                return self.error_at(Loc::Table(&sub), Some(key), message);
            }
            let first = prefix.split('.').next().unwrap_or(prefix);
            return self.error_at(Loc::Table(table), Some(first), message);
        }
        self.error_at(Loc::Table(table), Some(field), message)
    }

    /// An error pointing at the `index`th `[[array]]` header.
    pub fn error_at_array_entry(&self, array: &str, index: usize, message: &str) -> ScenarioError {
        self.error_at(crate::validate::Loc::Entry(array, index), None, message.to_string())
    }

    /// Serializes back to TOML (used for repro files).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a loaded scenario serializes")
    }

    /// Deserializes the protocol's `[config]` table into `C`, with errors pointing into the file.
    pub fn protocol_config<C: serde::de::DeserializeOwned + Default>(&self) -> Result<C, ScenarioError> {
        #[derive(Deserialize)]
        struct Only<C> {
            #[serde(default = "Option::default")]
            config: Option<C>,
        }
        #[derive(Deserialize)]
        struct InRepro<C> {
            scenario: Only<C>,
        }
        if let Some(src) = &self.source {
            // Parse from the text so errors carry a span; other fields are ignored here.
            let parsed = if src.prefix.is_empty() {
                toml::from_str::<Only<C>>(&src.text)
            } else {
                toml::from_str::<InRepro<C>>(&src.text).map(|r| r.scenario)
            };
            let only = parsed.map_err(|e| {
                let mut err = ScenarioError::from_toml(&src.file, &src.text, &e);
                err.message = format!("config: {}", err.message);
                err
            })?;
            if let Some(c) = only.config {
                return Ok(c);
            }
        }
        if self.config.is_empty() {
            return Ok(C::default());
        }
        C::deserialize(toml::Value::Table(self.config.clone())).map_err(|e| ScenarioError {
            file: self.file().into(),
            line: None,
            column: None,
            message: format!("config: {}", e.message().trim()),
        })
    }
}

macro_rules! bounded_int {
    ($(#[$doc:meta])* $name:ident, $ty:ty, $min:expr, $max:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub $ty);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = i64::deserialize(d)?;
                if v < ($min as i64) || v > ($max as i64) {
                    return Err(de::Error::custom(format!(
                        "{} must be in {}..={}, got {}", $what, $min, $max, v
                    )));
                }
                Ok($name(v as $ty))
            }
        }
    };
}

bounded_int!(
    /// A cluster size, 1..=MAX_NODES.
    Nodes, u32, 1, MAX_NODES, "nodes"
);
bounded_int!(
    /// A positive millisecond count.
    Positive, u64, 1, i64::MAX, "value"
);
bounded_int!(
    /// A non-negative millisecond count.
    Millis, u64, 0, i64::MAX, "value"
);

/// A probability in `[0, 1]`, kept as parts per million so decisions use integers only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Probability(pub u32);

impl Probability {
    /// Parts per million.
    pub fn ppm(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Probability;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a probability between 0 and 1")
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Probability, E> {
                if !(0.0..=1.0).contains(&x) {
                    return Err(E::custom(format!("probability must be between 0 and 1, got {x}")));
                }
                Ok(Probability((x * 1e6).round() as u32))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Probability, E> {
                if x == 0 || x == 1 {
                    Ok(Probability(x as u32 * 1_000_000))
                } else {
                    Err(E::custom(format!("probability must be between 0 and 1, got {x}")))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Probability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(f64::from(self.0) / 1e6)
    }
}

/// A seed: a non-negative integer, or a string in decimal or `0x` hex (TOML integers stop at
/// 2⁶³−1, seeds go to 2⁶⁴−1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seed(pub u64);

/// Parses a seed written in decimal or `0x` hex.
pub fn parse_seed(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        t.parse::<u64>()
    };
    r.map_err(|_| format!("`{s}` is not a seed (decimal or 0x hex, 0..=2^64-1)"))
}

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Seed;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a seed (non-negative integer or \"0x…\" string)")
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Seed, E> {
                u64::try_from(x).map(Seed).map_err(|_| E::custom("seed must not be negative"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Seed, E> {
                parse_seed(s).map(Seed).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Seed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match i64::try_from(self.0) {
            Ok(x) => s.serialize_i64(x),
            Err(_) => s.serialize_str(&format!("{:#x}", self.0)),
        }
    }
}

/// An inclusive range `[min, max]` of non-negative integers, written as a two-element array or a
/// single number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Lower bound (inclusive).
    pub min: u64,
    /// Upper bound (inclusive).
    pub max: u64,
}

impl Range {
    /// `[x, x]`.
    pub const fn exactly(x: u64) -> Range {
        Range { min: x, max: x }
    }
}

impl<'de> Deserialize<'de> for Range {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum R {
            One(i64),
            Two(Vec<i64>),
        }
        let bad = || de::Error::custom("expected a non-negative number or [min, max] with min <= max");
        match R::deserialize(d).map_err(|_| bad())? {
            R::One(x) if x >= 0 => Ok(Range::exactly(x as u64)),
            R::Two(v) if v.len() == 2 && v[0] >= 0 && v[0] <= v[1] => Ok(Range { min: v[0] as u64, max: v[1] as u64 }),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Range {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.min, self.max].serialize(s)
    }
}

/// A signed inclusive range, for clock jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedRange {
    /// Lower bound (inclusive).
    pub min: i64,
    /// Upper bound (inclusive).
    pub max: i64,
}

impl<'de> Deserialize<'de> for SignedRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<i64>::deserialize(d)?;
        if v.len() == 2 && v[0] <= v[1] {
            Ok(SignedRange { min: v[0], max: v[1] })
        } else {
            Err(de::Error::custom("expected [min, max] with min <= max"))
        }
    }
}

impl Serialize for SignedRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.min, self.max].serialize(s)
    }
}

/// Which node a fault or request targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeSel {
    /// A fixed node.
    Id(u32),
    /// Whichever node believes it leads at that moment (a random node if none does).
    Leader,
    /// A random node that does not believe it leads.
    Follower,
    /// A random node.
    Random,
}

impl fmt::Display for NodeSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeSel::Id(i) => write!(f, "{i}"),
            NodeSel::Leader => f.write_str("leader"),
            NodeSel::Follower => f.write_str("follower"),
            NodeSel::Random => f.write_str("random"),
        }
    }
}

impl<'de> Deserialize<'de> for NodeSel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NodeSel;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a node index or one of \"leader\", \"follower\", \"random\"")
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<NodeSel, E> {
                u32::try_from(x).map(NodeSel::Id).map_err(|_| E::custom(format!("{x} is not a node index")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<NodeSel, E> {
                match s {
                    "leader" => Ok(NodeSel::Leader),
                    "follower" => Ok(NodeSel::Follower),
                    "random" => Ok(NodeSel::Random),
                    _ => Err(E::custom(format!(
                        "unknown node selector `{s}` (a node index, \"leader\", \"follower\" or \"random\")"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for NodeSel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NodeSel::Id(i) => s.serialize_u32(*i),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

/// Network model.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Delay between nodes.
    #[serde(default = "default_delay")]
    pub delay: DelaySpec,
    /// Probability that a node-to-node message is lost.
    #[serde(default)]
    pub loss: Probability,
    /// Probability that a node-to-node message is delivered twice.
    #[serde(default)]
    pub duplicate: Probability,
    /// Delay between clients and nodes (each way).
    #[serde(default = "default_client_delay")]
    pub client_delay: DelaySpec,
    /// Probability that a client request or reply is lost.
    #[serde(default)]
    pub client_loss: Probability,
}

impl Default for NetworkSpec {
    fn default() -> Self {
        NetworkSpec {
            delay: default_delay(),
            loss: Probability(0),
            duplicate: Probability(0),
            client_delay: default_client_delay(),
            client_loss: Probability(0),
        }
    }
}

fn default_delay() -> DelaySpec {
    DelaySpec::Uniform { min_ms: 1, max_ms: 5 }
}

fn default_client_delay() -> DelaySpec {
    DelaySpec::Uniform { min_ms: 0, max_ms: 1 }
}

/// A delay distribution, in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum DelaySpec {
    /// Always `ms`.
    Fixed {
        /// The delay.
        ms: u64,
    },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform {
        /// Lower bound.
        min_ms: u64,
        /// Upper bound.
        max_ms: u64,
    },
    /// `min_ms` plus an exponential tail with the given mean, capped at `max_ms`.
    Exponential {
        /// Mean delay (including `min_ms`).
        mean_ms: u64,
        /// Lower bound.
        min_ms: u64,
        /// Upper bound.
        max_ms: u64,
    },
}

impl DelaySpec {
    /// Converts to the network's delay model; errors if bounds are inconsistent.
    pub fn to_delay(&self) -> Result<crate::network::Delay, String> {
        const MS: u64 = 1_000_000;
        match *self {
            DelaySpec::Fixed { ms } => Ok(crate::network::Delay::Fixed(ms.saturating_mul(MS))),
            DelaySpec::Uniform { min_ms, max_ms } if min_ms <= max_ms => Ok(crate::network::Delay::Uniform {
                min_ns: min_ms.saturating_mul(MS),
                max_ns: max_ms.saturating_mul(MS),
            }),
            DelaySpec::Exponential { mean_ms, min_ms, max_ms } if min_ms <= mean_ms && mean_ms <= max_ms => {
                Ok(crate::network::Delay::Exponential {
                    mean_ns: mean_ms.saturating_mul(MS),
                    min_ns: min_ms.saturating_mul(MS),
                    max_ns: max_ms.saturating_mul(MS),
                })
            }
            DelaySpec::Uniform { .. } => Err("uniform delay needs min_ms <= max_ms".into()),
            DelaySpec::Exponential { .. } => Err("exponential delay needs min_ms <= mean_ms <= max_ms".into()),
        }
    }
}

/// Clock model: each node's offset and drift drawn uniformly within bounds, or set per node.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    /// Offsets are drawn from `[-max_offset_ms, max_offset_ms]`.
    #[serde(default)]
    pub max_offset_ms: u64,
    /// Drifts are drawn from `[-max_drift_ppm, max_drift_ppm]`.
    #[serde(default)]
    pub max_drift_ppm: u64,
    /// Per-node settings that override the drawn ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node: Vec<NodeClockSpec>,
}

/// One node's fixed clock settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeClockSpec {
    /// The node.
    pub node: u32,
    /// Offset from true time.
    #[serde(default)]
    pub offset_ms: i64,
    /// Drift in ppm (positive runs fast).
    #[serde(default)]
    pub drift_ppm: i64,
}

/// Disk model.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskSpec {
    /// On a crash, keep a random prefix of the writes that were not yet synced (torn writes),
    /// instead of losing all of them.
    #[serde(default)]
    pub torn_writes: bool,
}

/// Closed loop (each client waits for its answer, thinks, then calls again) or open loop
/// (calls arrive at a fixed mean rate whatever the answers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadMode {
    /// Each client has at most one operation in flight.
    #[default]
    Closed,
    /// Poisson arrivals at `rate_per_s`, spread over the clients.
    Open,
}

/// Client workload.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Number of clients.
    #[serde(default = "default_clients")]
    pub clients: u32,
    /// Closed or open loop.
    #[serde(default)]
    pub mode: WorkloadMode,
    /// Think time between an answer and the next call (closed loop).
    #[serde(default = "default_think")]
    pub think_ms: Range,
    /// Mean arrivals per simulated second (open loop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_s: Option<u64>,
    /// How long a client waits for an answer before trying again or giving up.
    #[serde(default = "default_timeout")]
    pub timeout_ms: Positive,
    /// Attempts per operation, the first included (1 = never retry).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// No calls before this.
    #[serde(default)]
    pub start_ms: u64,
    /// No new calls after this (default: the end of the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<u64>,
    /// Each client stops after this many operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ops_per_client: Option<u32>,
}

fn default_clients() -> u32 {
    3
}
fn default_think() -> Range {
    Range { min: 0, max: 10 }
}
fn default_timeout() -> Positive {
    Positive(1_000)
}
fn default_attempts() -> u32 {
    3
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            clients: default_clients(),
            mode: WorkloadMode::Closed,
            think_ms: default_think(),
            rate_per_s: None,
            timeout_ms: default_timeout(),
            attempts: default_attempts(),
            start_ms: 0,
            stop_ms: None,
            max_ops_per_client: None,
        }
    }
}

/// The kind of an explicit fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKindSpec {
    /// Cut links in a shape (see `shape`).
    Partition,
    /// Restore every link.
    Heal,
    /// Crash a node (restarts after `for_ms` if given).
    Crash,
    /// Restart a crashed node.
    Restart,
    /// Freeze a node, like a GC stall (resumes after `for_ms` if given).
    Pause,
    /// Unfreeze a node.
    Resume,
    /// Step a node's clock by `delta_ms`.
    ClockJump,
    /// Set a node's drift to `drift_ppm`.
    ClockDrift,
    /// Change the message loss probability to `loss` (restored after `for_ms` if given).
    Loss,
}

/// The shape of a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShapeSpec {
    /// Cut `node` off from everyone.
    Isolate,
    /// A minority (with `node` in it, if given) and a majority.
    MajorityMinority,
    /// Two random halves.
    Halves,
    /// Two sides that see only `node` (the bridge), which sees both; the sides are `groups`
    /// (two lists) if given, else a random split.
    Bridge,
    /// Each node reaches only its two neighbours.
    Ring,
    /// Messages from `from` to `to` are lost; the other way works.
    OneWay,
    /// Explicit `groups`: nodes in different groups cannot talk.
    Groups,
}

/// One entry of the explicit fault schedule (`[[faults]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When (true time).
    pub at_ms: u64,
    /// What.
    pub kind: FaultKindSpec,
    /// The target node, where the kind needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeSel>,
    /// Partition shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<ShapeSpec>,
    /// For `one-way`: senders whose messages are cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<u32>>,
    /// For `one-way`: receivers cut off from `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<u32>>,
    /// For `groups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Vec<u32>>>,
    /// Undo the fault after this long (heal, restart, resume, restore loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<u64>,
    /// For `clock-jump`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_ms: Option<i64>,
    /// For `clock-drift`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_ppm: Option<i64>,
    /// For `loss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Probability>,
}

/// The TOML spelling of a fault kind.
pub fn kind_name(k: FaultKindSpec) -> &'static str {
    match k {
        FaultKindSpec::Partition => "partition",
        FaultKindSpec::Heal => "heal",
        FaultKindSpec::Crash => "crash",
        FaultKindSpec::Restart => "restart",
        FaultKindSpec::Pause => "pause",
        FaultKindSpec::Resume => "resume",
        FaultKindSpec::ClockJump => "clock-jump",
        FaultKindSpec::ClockDrift => "clock-drift",
        FaultKindSpec::Loss => "loss",
    }
}

/// The TOML spelling of a shape.
pub fn shape_name(s: ShapeSpec) -> &'static str {
    match s {
        ShapeSpec::Isolate => "isolate",
        ShapeSpec::MajorityMinority => "majority-minority",
        ShapeSpec::Halves => "halves",
        ShapeSpec::Bridge => "bridge",
        ShapeSpec::Ring => "ring",
        ShapeSpec::OneWay => "one-way",
        ShapeSpec::Groups => "groups",
    }
}

/// The random nemesis: one fault at a time, drawn from the fault stream, between `start_ms` and
/// `until_ms`; everything is healed at `until_ms` so liveness can be judged after it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemesisSpec {
    /// First fault no earlier than this.
    #[serde(default)]
    pub start_ms: u64,
    /// Everything healed by this time (default: 3/4 of the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<u64>,
    /// Quiet time between one fault's end and the next one's start.
    #[serde(default = "default_interval")]
    pub interval_ms: Range,
    /// How long each fault lasts.
    #[serde(default = "default_fault_duration")]
    pub duration_ms: Range,
    /// Relative weight of partitions (shape drawn among `shapes`).
    #[serde(default)]
    pub partition: u64,
    /// Relative weight of crash + restart.
    #[serde(default)]
    pub crash: u64,
    /// Relative weight of pause + resume.
    #[serde(default)]
    pub pause: u64,
    /// Relative weight of a clock jump.
    #[serde(default)]
    pub clock_jump: u64,
    /// Relative weight of a burst of message loss.
    #[serde(default)]
    pub loss_burst: u64,
    /// Clock jump sizes.
    #[serde(default = "default_jump")]
    pub jump_ms: SignedRange,
    /// Loss probability during a burst.
    #[serde(default = "default_burst_loss")]
    pub burst_loss: Probability,
    /// Which node crashes, pauses and isolations aim at.
    #[serde(default = "default_target")]
    pub target: NodeSel,
    /// Shapes a partition is drawn from (default: all that need no explicit lists).
    #[serde(default = "default_shapes")]
    pub shapes: Vec<ShapeSpec>,
}

fn default_interval() -> Range {
    Range { min: 200, max: 1_000 }
}
fn default_fault_duration() -> Range {
    Range { min: 200, max: 2_000 }
}
fn default_jump() -> SignedRange {
    SignedRange { min: -1_000, max: 1_000 }
}
fn default_burst_loss() -> Probability {
    Probability(500_000)
}
fn default_target() -> NodeSel {
    NodeSel::Random
}
fn default_shapes() -> Vec<ShapeSpec> {
    vec![ShapeSpec::Isolate, ShapeSpec::MajorityMinority, ShapeSpec::Halves, ShapeSpec::Bridge, ShapeSpec::Ring]
}

impl NemesisSpec {
    /// Weights in the order partition, crash, pause, clock jump, loss burst.
    pub fn weights(&self) -> [u64; 5] {
        [self.partition, self.crash, self.pause, self.clock_jump, self.loss_burst]
    }
}

/// An operator request at a fixed time (e.g. a membership change). Not part of the client
/// history.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// When.
    pub at_ms: u64,
    /// Which node receives it.
    pub node: NodeSel,
    /// The protocol's request, in its serde form.
    pub input: toml::Value,
}

/// End-of-run checks.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// After the last fault heals, some operation must complete within this bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_ms: Option<u64>,
    /// Minimum ok / invoked over the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_availability: Option<Probability>,
    /// Run the protocol's end-of-run history check (linearizability).
    #[serde(default = "yes")]
    pub history: bool,
    /// Explored-state budget of the history check, per partition (key); past it the run is
    /// inconclusive (exit 3), never a pass.
    #[serde(default = "default_history_budget")]
    pub history_budget: u64,
}

fn yes() -> bool {
    true
}
fn default_history_budget() -> u64 {
    crate::lin::DEFAULT_STATE_BUDGET
}

impl Default for CheckSpec {
    fn default() -> Self {
        CheckSpec { liveness_ms: None, min_availability: None, history: true, history_budget: default_history_budget() }
    }
}

/// Hard limits: every run ends.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    /// Events handled before the run stops as inconclusive.
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Events queued at once before the run stops as inconclusive.
    #[serde(default = "default_max_queue")]
    pub max_queue: u64,
    /// Client operations recorded; clients stop calling at this size.
    #[serde(default = "default_max_history")]
    pub max_history: u64,
    /// Wall-clock time one run may take before it stops as inconclusive (enforced by the
    /// command-line tool, which may read the wall clock; the simulator never does).
    #[serde(default = "default_wall_ms")]
    pub wall_ms: u64,
}

fn default_max_events() -> u64 {
    20_000_000
}
fn default_max_queue() -> u64 {
    1_000_000
}
fn default_max_history() -> u64 {
    100_000
}
fn default_wall_ms() -> u64 {
    60_000
}

impl Default for LimitSpec {
    fn default() -> Self {
        LimitSpec {
            max_events: default_max_events(),
            max_queue: default_max_queue(),
            max_history: default_max_history(),
            wall_ms: default_wall_ms(),
        }
    }
}

/// A positive control.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectSpec {
    /// The invariant that must fail for the run to pass.
    pub violation: String,
    /// The assumption the scenario breaks on purpose, shown in reports.
    pub assumption: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = "name = \"t\"\nprotocol = \"p\"\nnodes = 3\nduration_ms = 1000\n";

    fn err(text: &str) -> ScenarioError {
        Scenario::from_toml_str("s.toml", text).expect_err("should be rejected")
    }

    #[test]
    fn minimal_scenario_loads_with_defaults() {
        let s = Scenario::from_toml_str("s.toml", MIN).unwrap();
        assert_eq!(s.nodes.0, 3);
        assert_eq!(s.workload.clients, 3);
        assert_eq!(s.network.loss.ppm(), 0);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = err(&format!("{MIN}[network]\nloss = 1.5\n"));
        assert_eq!((e.line, e.file.as_str()), (Some(6), "s.toml"));
        assert!(e.message.contains("between 0 and 1"), "{e}");
        assert!(e.to_string().starts_with("s.toml:6:"), "{e}");

        let e = err("name = \"t\"\nprotocol = \"p\"\nnodes = 0\nduration_ms = 1000\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("nodes"), "{e}");

        let e = err(&format!("{MIN}colour = \"red\"\n"));
        assert_eq!(e.line, Some(5));
        assert!(e.message.contains("colour"), "{e}");

        let e = err("name = \"t\"\nprotocol = \"p\"\nnodes = \"three\"\nduration_ms = 1000\n");
        assert_eq!(e.line, Some(3));

        let e = err("name = \"t\"\nprotocol = \"p\"\nnodes = 3\n");
        assert!(e.message.contains("duration_ms"), "{e}");
    }

    #[test]
    fn fault_validation_points_at_the_entry() {
        let e = err(&format!("{MIN}\n[[faults]]\nat_ms = 10\nkind = \"crash\"\nnode = 0\n\n[[faults]]\nat_ms = 10\nkind = \"crash\"\nnode = 7\n"));
        assert_eq!(e.line, Some(14), "the `node` line of the second entry: {e}");
        assert!(e.message.contains("not a node"), "{e}");
        let e = err(&format!("{MIN}[[faults]]\nat_ms = 10\nkind = \"partition\"\n"));
        assert!(e.message.contains("shape"), "{e}");
        let e = err(&format!("{MIN}[[faults]]\nat_ms = 10\nkind = \"explode\"\n"));
        assert_eq!(e.line, Some(7), "{e}");
    }

    #[test]
    fn seeds_and_ranges() {
        assert_eq!(parse_seed("0xff").unwrap(), 255);
        assert_eq!(parse_seed("18446744073709551615").unwrap(), u64::MAX);
        assert!(parse_seed("-1").is_err());
        let s = Scenario::from_toml_str("s", &format!("{MIN}seed = \"0xffffffffffffffff\"\n")).unwrap();
        assert_eq!(s.seed.0, u64::MAX);
        let e = err(&format!("{MIN}[workload]\nthink_ms = [5, 1]\n"));
        assert_eq!(e.line, Some(6));
    }

    #[test]
    fn round_trips_through_toml() {
        let text = format!(
            "{MIN}seed = 9\n[network]\nloss = 0.05\ndelay = {{ dist = \"exponential\", mean_ms = 3, min_ms = 1, max_ms = 50 }}\n\
             [[faults]]\nat_ms = 100\nkind = \"partition\"\nshape = \"isolate\"\nnode = \"leader\"\nfor_ms = 50\n\
             [config]\nfoo = 1\n"
        );
        let s = Scenario::from_toml_str("s", &text).unwrap();
        let again = Scenario::from_toml_str("s2", &s.to_toml()).unwrap();
        assert_eq!(again.to_toml(), s.to_toml());
        assert_eq!(again.network.loss.ppm(), 50_000);
        assert_eq!(again.faults[0].node, Some(NodeSel::Leader));
    }
}
