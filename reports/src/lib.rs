//! Report writers for sweeps: `results.csv`, `timings.csv`, `summary.md`, `junit.xml` and a
//! self-contained `report.html`, all built from the same list of [`RunRecord`]s.
//!
//! A sweep appends each finished run's record to `journal.jsonl` in its output directory (one
//! JSON object per line, flushed at once) and rewrites the reports from the journal with
//! [`write_all`]. Because the reports are a pure function of the sweep's description
//! ([`SweepInfo`]) and the records sorted by (scenario, seed), a sweep gives byte-identical
//! `results.csv` (and `junit.xml` up to its wall-clock `time=` attributes) for any number of
//! threads, an interrupted sweep resumed with
//! `--resume` gives the same reports as an uninterrupted one, and merging the journals of shards
//! gives exactly what one unsharded sweep would have written.
//!
//! Availability is defined in [`availability`].

pub mod availability;
pub mod explain;
pub mod html;
pub mod journal;
pub mod junit;
pub mod latency;
pub mod record;
pub mod stats;
pub mod summary;
mod svg;

pub use record::{ResultRow, RunRecord};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

/// One scenario of a sweep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    /// Its name.
    pub name: String,
    /// Its protocol.
    pub protocol: String,
    /// The file it was loaded from, as given on the command line.
    pub file: String,
    /// The `sometimes` marks its protocol declares (`Protocol::MARKS`): the reports flag those
    /// that no run of the scenario hit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<String>,
}

/// What a sweep was asked to do: stored as `sweep.json` beside its outputs so that `--resume`
/// and `report merge` can check they combine runs of the same sweep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepInfo {
    /// The faultline version that ran it.
    pub faultline_version: String,
    /// The binary that ran it: the one the printed replay commands name (a user's own binary
    /// knows protocols `faultline` does not).
    #[serde(default = "default_binary")]
    pub binary: String,
    /// The scenarios, in sweep order.
    pub scenarios: Vec<ScenarioInfo>,
    /// First seed.
    pub seed_start: u64,
    /// One past the last seed.
    pub seed_end: u64,
    /// Planted bugs asked for (each applies to the scenarios of its protocol).
    pub bugs: Vec<String>,
    /// Swarm testing on.
    pub swarm: bool,
    /// This shard, e.g. `hash:1/4` (None: the whole sweep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
}

fn default_binary() -> String {
    "faultline".to_string()
}

impl SweepInfo {
    /// True if `other` describes the same sweep (possibly another shard of it).
    pub fn same_sweep(&self, other: &SweepInfo) -> bool {
        self.scenarios == other.scenarios
            && self.seed_start == other.seed_start
            && self.seed_end == other.seed_end
            && self.bugs == other.bugs
            && self.swarm == other.swarm
    }

    /// Number of (scenario, seed) runs in the whole (unsharded) sweep.
    pub fn total_runs(&self) -> u64 {
        self.scenarios.len() as u64 * self.seed_end.saturating_sub(self.seed_start)
    }

    /// The seed range as `A..B`.
    pub fn seeds(&self) -> String {
        format!("{}..{}", self.seed_start, self.seed_end)
    }
}

/// Writes `contents` to `path` atomically: to a temporary file beside it, then renamed over it,
/// so a reader (or an interrupted sweep) never sees a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Sorts records into report order, (scenario, seed), keeping the last record of a key that
/// appears twice.
pub fn sort_records(records: &mut Vec<RunRecord>) {
    records.reverse();
    records.sort_by_key(RunRecord::key);
    records.dedup_by_key(|r| r.key());
}

/// `results.csv`: one row per run, no wall-clock column.
pub fn results_csv(records: &[RunRecord]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if records.is_empty() {
        w.write_record(RESULT_COLUMNS).expect("writes to memory");
    }
    for r in records {
        w.serialize(&r.row).expect("a row serializes");
    }
    w.into_inner().expect("writes to memory")
}

/// The header of `results.csv` (what an empty sweep writes).
pub const RESULT_COLUMNS: &[&str] = &[
    "scenario",
    "protocol",
    "seed",
    "bugs",
    "swarm",
    "verdict",
    "invariant",
    "at_ms",
    "node",
    "detail",
    "violations",
    "trace_hash",
    "events",
    "messages_sent",
    "messages_delivered",
    "messages_dropped",
    "messages_duplicated",
    "ops_invoked",
    "ops_ok",
    "ops_failed",
    "ops_indeterminate",
    "availability",
    "latency_ms_p50",
    "latency_ms_p90",
    "latency_ms_p99",
    "latency_ms_p999",
    "latency_ms_max",
    "sim_time_ms",
    "last_heal_ms",
    "recovery_ms",
    "longest_outage_ms",
    "repro",
];

/// Reads `results.csv` back.
pub fn read_results_csv(path: &Path) -> Result<Vec<ResultRow>, String> {
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    r.deserialize().map(|row| row.map_err(|e| format!("{}: {e}", path.display()))).collect()
}

/// `timings.csv`: the wall-clock figures, kept apart so `results.csv` stays deterministic.
pub fn timings_csv(records: &[RunRecord]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Timing<'a> {
        scenario: &'a str,
        seed: u64,
        wall_us: u64,
        events: u64,
        events_per_s: u64,
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    if records.is_empty() {
        w.write_record(["scenario", "seed", "wall_us", "events", "events_per_s"]).expect("writes to memory");
    }
    for r in records {
        w.serialize(Timing {
            scenario: &r.row.scenario,
            seed: r.row.seed,
            wall_us: r.wall_us,
            events: r.row.events,
            events_per_s: r.events_per_s().round() as u64,
        })
        .expect("a row serializes");
    }
    w.into_inner().expect("writes to memory")
}

/// The names of the report files [`write_all`] writes.
pub const REPORT_FILES: &[&str] = &["results.csv", "timings.csv", "summary.md", "junit.xml", "report.html"];

/// Writes every report into `out` from `records` (sorted with [`sort_records`]). `replay_dir` is
/// how the replay commands in the reports name the output directory.
pub fn write_all(out: &Path, info: &SweepInfo, replay_dir: &str, records: &[RunRecord]) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    let stats = stats::per_scenario(info, records);
    write_atomic(&out.join("results.csv"), &results_csv(records))?;
    write_atomic(&out.join("timings.csv"), &timings_csv(records))?;
    write_atomic(&out.join("summary.md"), summary::markdown(info, &stats, records, replay_dir).as_bytes())?;
    write_atomic(&out.join("junit.xml"), junit::xml(info, &stats, records, replay_dir).as_bytes())?;
    // Failures whose explanation page sits beside their repro get a link to it.
    let explained = |repro: &str| out.join(explain_file_name(repro)).is_file();
    write_atomic(&out.join("report.html"), html::page(info, &stats, records, replay_dir, &explained).as_bytes())?;
    Ok(())
}

/// How reports name the output directory in the commands they print: relative to the working
/// directory when it lies below it (so a CI log or step summary reads the same on every
/// runner), else as given.
pub fn display_dir(out: &Path) -> String {
    if out.is_relative() {
        return out.display().to_string();
    }
    match std::env::current_dir() {
        Ok(cwd) => match out.strip_prefix(&cwd) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => out.display().to_string(),
        },
        Err(_) => out.display().to_string(),
    }
}

/// The file name of the `explain` page of a repro: `repro-S-7.toml` → `explain-S-7.html`.
pub fn explain_file_name(repro: &str) -> String {
    let stem = repro.strip_suffix(".toml").unwrap_or(repro);
    format!("explain-{}.html", stem.strip_prefix("repro-").unwrap_or(stem))
}

/// `binary SUBCOMMAND REPRO`, the repro named by its path under `replay_dir`.
fn repro_command(binary: &str, subcommand: &str, replay_dir: &str, repro: &str) -> String {
    let path =
        if replay_dir.is_empty() { repro.to_string() } else { format!("{}/{repro}", replay_dir.trim_end_matches('/')) };
    format!("{binary} {subcommand} {}", shell_quote(&path))
}

/// The exact command with which `binary` replays a failure's repro file.
pub fn replay_command(binary: &str, replay_dir: &str, repro: &str) -> String {
    repro_command(binary, "replay", replay_dir, repro)
}

/// The command that writes a failure's explanation page.
pub fn explain_command(binary: &str, replay_dir: &str, repro: &str) -> String {
    repro_command(binary, "explain", replay_dir, repro)
}

/// The command that shrinks a failure's repro.
pub fn shrink_command(binary: &str, replay_dir: &str, repro: &str) -> String {
    repro_command(binary, "shrink", replay_dir, repro)
}

/// Quotes a path for a POSIX shell when it needs quoting.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=+@%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
