//! The sweep journal, `journal.jsonl`: one [`RunRecord`] per line, appended and flushed as each
//! run ends. It is what survives an interruption; every report is rebuilt from it.

use crate::record::RunRecord;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The journal's file name inside a sweep's output directory.
pub const FILE: &str = "journal.jsonl";
/// The sweep description's file name.
pub const INFO_FILE: &str = "sweep.json";

/// The journal path in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Reads a journal. A last line cut short by an interruption (no newline, or not valid JSON) is
/// ignored; a bad line anywhere else is an error. Returns the records and the number of bytes
/// of whole, valid lines (where appending may continue).
pub fn read(path: &Path) -> Result<(Vec<RunRecord>, u64), String> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(format!("{}: cannot read journal: {e}", path.display())),
    };
    let mut records = Vec::new();
    let mut good = 0usize;
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < text.len() {
        line_no += 1;
        let Some(nl) = text[start..].iter().position(|&b| b == b'\n') else {
            break; // an unfinished last line: the run it describes is simply run again
        };
        let line = &text[start..start + nl];
        let next = start + nl + 1;
        if !line.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<RunRecord>(line) {
                Ok(r) => records.push(r),
                Err(_) if next >= text.len() => break,
                Err(e) => return Err(format!("{}:{line_no}: not a journal record: {e}", path.display())),
            }
        }
        good = next;
        start = next;
    }
    Ok((records, good as u64))
}

/// An open journal that appends one line per record.
pub struct Writer {
    file: File,
}

impl Writer {
    /// Opens `path` for appending after cutting it to `keep_bytes` (dropping an unfinished last
    /// line); `keep_bytes = 0` starts a new journal.
    pub fn open(path: &Path, keep_bytes: u64) -> io::Result<Writer> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        file.set_len(keep_bytes)?;
        Ok(Writer { file })
    }

    /// Appends one record as a single write of a whole line, then flushes it to the OS.
    pub fn append(&mut self, r: &RunRecord) -> io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::availability::WindowSeries;
    use crate::record::ResultRow;

    /// A passing record of scenario "s" (protocol "p"), for tests across the crate.
    pub(crate) fn record(seed: u64) -> RunRecord {
        let row = ResultRow {
            scenario: "s".into(),
            protocol: "p".into(),
            seed,
            bugs: String::new(),
            swarm: String::new(),
            verdict: "pass".into(),
            invariant: String::new(),
            at_ms: None,
            node: None,
            detail: String::new(),
            violations: 0,
            trace_hash: format!("{seed:016x}"),
            events: 10,
            messages_sent: 0,
            messages_delivered: 0,
            messages_dropped: 0,
            messages_duplicated: 0,
            ops_invoked: 3,
            ops_ok: 2,
            ops_failed: 0,
            ops_indeterminate: 1,
            availability: 2.0 / 3.0,
            latency_ms_p50: 0.1 + seed as f64 / 7.0,
            latency_ms_p90: 0.0,
            latency_ms_p99: 0.0,
            latency_ms_p999: 0.0,
            latency_ms_max: 0.0,
            sim_time_ms: 100,
            last_heal_ms: 0,
            recovery_ms: Some(0),
            longest_outage_ms: 5,
            repro: String::new(),
        };
        RunRecord {
            scenario_index: 0,
            row,
            wall_us: 1,
            duration_ms: 100,
            marks: Default::default(),
            latency_us: vec![(100, 2)],
            windows: WindowSeries::default(),
            fault_spans: Vec::new(),
            recent: Vec::new(),
            violation_ns: None,
        }
    }

    #[test]
    fn a_cut_last_line_is_dropped_and_appending_continues_after_the_last_whole_one() {
        let dir = std::env::temp_dir().join(format!("faultline-journal-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = path(&dir);
        let mut w = Writer::open(&p, 0).unwrap();
        for seed in 0..3 {
            w.append(&record(seed)).unwrap();
        }
        drop(w);
        let whole = std::fs::read(&p).unwrap();
        let (recs, good) = read(&p).unwrap();
        assert_eq!((recs.len(), good), (3, whole.len() as u64));
        assert_eq!(recs[1], record(1), "floats and all round-trip exactly");
        // Interrupted in the middle of writing the fourth line.
        let mut cut = whole.clone();
        cut.extend_from_slice(&serde_json::to_vec(&record(3)).unwrap()[..40]);
        std::fs::write(&p, &cut).unwrap();
        let (recs, good) = read(&p).unwrap();
        assert_eq!((recs.len(), good), (3, whole.len() as u64));
        let mut w = Writer::open(&p, good).unwrap();
        w.append(&record(3)).unwrap();
        drop(w);
        let (recs, _) = read(&p).unwrap();
        assert_eq!(recs.iter().map(|r| r.row.seed).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        // A bad line that is not the last is an error, not silently skipped.
        let mut bad = b"{not json}\n".to_vec();
        bad.extend_from_slice(&std::fs::read(&p).unwrap());
        std::fs::write(&p, bad).unwrap();
        assert!(read(&p).unwrap_err().contains(":1:"));
        assert_eq!(read(&dir.join("missing.jsonl")).unwrap().0.len(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn results_csv_is_sorted_deduplicated_and_reads_back() {
        let mut recs = vec![record(2), record(0), record(1), record(0)];
        crate::sort_records(&mut recs);
        assert_eq!(recs.iter().map(|r| r.row.seed).collect::<Vec<_>>(), vec![0, 1, 2]);
        let csv = crate::results_csv(&recs);
        let text = String::from_utf8(csv.clone()).unwrap();
        assert_eq!(text.lines().next().unwrap(), crate::RESULT_COLUMNS.join(","));
        let dir = std::env::temp_dir().join(format!("faultline-csv-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        crate::write_atomic(&dir.join("results.csv"), &csv).unwrap();
        let rows = crate::read_results_csv(&dir.join("results.csv")).unwrap();
        assert_eq!(rows, recs.iter().map(|r| r.row.clone()).collect::<Vec<_>>());
        let empty = String::from_utf8(crate::results_csv(&[])).unwrap();
        assert_eq!(empty.trim_end(), crate::RESULT_COLUMNS.join(","));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
