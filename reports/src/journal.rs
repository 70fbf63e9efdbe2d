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
