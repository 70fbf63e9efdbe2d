//! `faultline report merge`: turns the output directories of a sharded sweep into exactly the
//! report one unsharded sweep would have written (same `results.csv`, `junit.xml`, and the same
//! summary and HTML up to wall-clock figures), with every repro file copied over and the
//! explanation pages that sweep would have written made from them.

use crate::commands::EXIT_BAD_INPUT;
use crate::registry::Registry;
use crate::sweep::{append_step_summary, exit_code, print_outcome};
use crate::{errln, outln};
use faultline_reports::{journal, RunRecord, SweepInfo};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn load_shard(dir: &Path) -> Result<(SweepInfo, Vec<RunRecord>), String> {
    let info_path = dir.join(journal::INFO_FILE);
    let text = std::fs::read_to_string(&info_path).map_err(|e| {
        format!("{}: cannot read ({e}); is this the --out directory of a `faultline sweep`?", info_path.display())
    })?;
    let info: SweepInfo = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", info_path.display()))?;
    let (records, _) = journal::read(&journal::path(dir))?;
    Ok((info, records))
}

/// `faultline report merge DIR... --out DIR`.
pub fn merge(reg: &Registry, dirs: &[PathBuf], out: &Path) -> u8 {
    let mut merged: Option<SweepInfo> = None;
    let mut records: Vec<RunRecord> = Vec::new();
    let mut partitions = BTreeSet::new();
    for dir in dirs {
        let (info, recs) = match load_shard(dir) {
            Ok(x) => x,
            Err(e) => {
                errln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        };
        if let Some(m) = &merged {
            if !m.same_sweep(&info) {
                errln!(
                    "error: {}: not a shard of the same sweep as {} (scenarios, seeds, bugs and swarm must agree)",
                    dir.display(),
                    dirs[0].display()
                );
                return EXIT_BAD_INPUT;
            }
        } else {
            merged = Some(info.clone());
        }
        if let Some(p) = &info.partition {
            if !partitions.insert(p.clone()) {
                errln!("warning: shard {p} given twice; its runs are counted once");
            }
        }
        // Copy the repro files next to the merged report, so its replay commands work.
        if dir.as_path() != out {
            for r in recs.iter().filter(|r| !r.row.repro.is_empty()) {
                let (from, to) = (dir.join(&r.row.repro), out.join(&r.row.repro));
                if let Err(e) = std::fs::create_dir_all(out).and_then(|_| std::fs::copy(&from, &to).map(|_| ())) {
                    errln!("warning: {}: cannot copy to {}: {e}", from.display(), to.display());
                }
                // And the client histories written beside it (`history-…jsonl`, `-2`, …).
                let stem = crate::commands::history_file_name(&r.row.repro);
                let stem = stem.trim_end_matches(".jsonl");
                for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let f = entry.file_name().to_string_lossy().into_owned();
                    let ours = f.strip_prefix(stem).is_some_and(|rest| {
                        rest == ".jsonl"
                            || rest
                                .strip_prefix('-')
                                .and_then(|r| r.strip_suffix(".jsonl"))
                                .is_some_and(|k| k.parse::<u32>().is_ok())
                    });
                    if ours {
                        if let Err(e) = std::fs::copy(entry.path(), out.join(&f)) {
                            errln!("warning: {}: cannot copy to {}: {e}", entry.path().display(), out.display());
                        }
                    }
                }
            }
        }
        records.extend(recs);
    }
    let Some(mut info) = merged else {
        errln!("error: no shard directories given");
        return EXIT_BAD_INPUT;
    };
    info.partition = None;
    faultline_reports::sort_records(&mut records);
    let missing = info.total_runs().saturating_sub(records.len() as u64);
    if missing > 0 {
        errln!(
            "warning: the shards hold {} of the sweep's {} runs ({missing} missing: a shard not given, interrupted or \
             stopped by --fail-fast)",
            records.len(),
            info.total_runs()
        );
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        errln!("error: {}: cannot create: {e}", out.display());
        return EXIT_BAD_INPUT;
    }
    // The pages the unsharded sweep would have written (each scenario's first failures, which
    // need not be a shard's first), made again from the copied repros, one run each: a shard's
    // page names the repro in the shard's directory, and a shard may have none.
    crate::sweep::write_explanations(reg, out, &records);
    // The merged directory is itself a sweep's output: it can be merged or resumed again.
    let mut lines = Vec::new();
    for r in &records {
        lines.extend(serde_json::to_vec(r).expect("a record serializes"));
        lines.push(b'\n');
    }
    let written = faultline_reports::write_atomic(&journal::path(out), &lines)
        .and_then(|_| {
            faultline_reports::write_atomic(
                &out.join(journal::INFO_FILE),
                serde_json::to_string_pretty(&info).expect("serializes").as_bytes(),
            )
        })
        .and_then(|_| faultline_reports::write_all(out, &info, &faultline_reports::display_dir(out), &records));
    if let Err(e) = written {
        errln!("error: {}: cannot write the merged report: {e}", out.display());
        return EXIT_BAD_INPUT;
    }
    append_step_summary(out);
    outln!("merged {} shard directories: {} of {} runs", dirs.len(), records.len(), info.total_runs());
    print_outcome(&records, out, &info);
    exit_code(&records)
}

/// `faultline report` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ReportCommand {
    /// Merge the output directories of sweep shards into one report, exactly as one unsharded
    /// sweep would have written it.
    ///
    /// Example: faultline report merge shard-1 shard-2 --out target/faultline
    Merge {
        /// The shards' --out directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged report goes.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}
