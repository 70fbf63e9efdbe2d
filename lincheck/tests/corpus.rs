//! Every verdict of the Porcupine reference corpus (../shared/reference/histories/porcupine).

use std::path::PathBuf;

use faultline_lincheck::formats::{parse_kv, parse_register, Format};
use faultline_lincheck::models::{CasRegister, Kv, KvWhole};
use faultline_lincheck::{check_with, Budget, CheckOptions, Model, Operation, Verdict};

fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/histories/porcupine");
    assert!(
        dir.join("EXPECTED.tsv").is_file(),
        "the reference corpus is missing: expected {} (the shared/ folder beside the checkout)",
        dir.display()
    );
    dir
}

struct Row {
    file: String,
    model: String,
    expected: bool,
}

fn rows() -> Vec<Row> {
    let dir = corpus_dir();
    let text = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("read EXPECTED.tsv");
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 3, "short row in EXPECTED.tsv: {line:?}");
        let expected = match cols[2] {
            "yes" => true,
            "no" => false,
            // etcd_095: empty, no verdict (the README says so).
            "" if cols[0].ends_with("etcd_095.log") => continue,
            other => panic!("unexpected verdict {other:?} in row {line:?}"),
        };
        rows.push(Row { file: cols[0].to_string(), model: cols[1].to_string(), expected });
    }
    rows
}

/// Checks one row; for a failure, also checks that the explanation's small sub-history fails on
/// its own (skipped for the whole-map model, whose explanations are slow to minimise).
fn verdict(row: &Row) -> Verdict {
    let path = corpus_dir().join(&row.file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    fn run<M: Model>(m: &M, ops: &[Operation<M::Input, M::Output>], minimize: bool) -> Verdict
    where
        M::Input: Clone,
        M::Output: Clone,
    {
        let v = check_with(m, ops, &CheckOptions { budget: Budget::unlimited(), minimize, ..CheckOptions::default() });
        if let (Verdict::NotLinearizable(e), true) = (&v, minimize) {
            let sub: Vec<_> = e.minimal.iter().map(|&i| ops[i].clone()).collect();
            assert!(
                matches!(
                    check_with(
                        m,
                        &sub,
                        &CheckOptions { budget: Budget::unlimited(), minimize: false, ..CheckOptions::default() }
                    ),
                    Verdict::NotLinearizable(_)
                ),
                "the minimal sub-history is linearizable"
            );
        }
        v
    }
    match row.model.as_str() {
        "etcd_cas_register" => {
            let ops = parse_register(&row.file, &text, Format::JepsenLog, true).unwrap_or_else(|e| panic!("{e}"));
            run(&CasRegister::default(), &ops, true)
        }
        "kv_partitioned_by_key" => {
            let ops = parse_kv(&row.file, &text, Format::Edn).unwrap_or_else(|e| panic!("{e}"));
            run(&Kv::new(), &ops, true)
        }
        m if m.starts_with("kv_no_partition") => {
            let ops = parse_kv(&row.file, &text, Format::Edn).unwrap_or_else(|e| panic!("{e}"));
            run(&KvWhole::new(), &ops, false)
        }
        m => panic!("unknown model {m:?} in EXPECTED.tsv"),
    }
}

#[test]
fn every_expected_verdict_matches() {
    let rows = rows();
    assert_eq!(rows.iter().filter(|r| r.model == "etcd_cas_register").count(), 102);
    assert_eq!(rows.iter().filter(|r| r.model == "kv_partitioned_by_key").count(), 6);
    assert_eq!(rows.iter().filter(|r| r.model.starts_with("kv_no_partition")).count(), 4);
    let mut wrong = Vec::new();
    for row in &rows {
        let v = verdict(row);
        let ok = match &v {
            Verdict::Linearizable => row.expected,
            Verdict::NotLinearizable(e) => {
                // The explanation's small sub-history must itself fail.
                assert!(!e.minimal.is_empty(), "{}: empty minimal sub-history", row.file);
                !row.expected
            }
            Verdict::Unknown(why) => panic!("{} ({}): unknown: {why}", row.file, row.model),
        };
        if !ok {
            wrong.push(format!(
                "{} ({}): expected linearizable={}, got {:?}",
                row.file,
                row.model,
                row.expected,
                v.is_linearizable()
            ));
        }
    }
    assert!(wrong.is_empty(), "verdicts differ from EXPECTED.tsv:\n{}", wrong.join("\n"));
}

#[test]
fn auto_detection_reads_the_corpus() {
    let dir = corpus_dir();
    let text = std::fs::read_to_string(dir.join("jepsen/etcd_000.log")).unwrap();
    assert_eq!(faultline_lincheck::formats::detect(&text), Some(Format::JepsenLog));
    let text = std::fs::read_to_string(dir.join("kv/c01-ok.txt")).unwrap();
    assert_eq!(faultline_lincheck::formats::detect(&text), Some(Format::Edn));
}

/// The stale-read histories (../shared/reference/histories/stale-reads): every file gets a
/// definite verdict within the default state budget and a 1 GiB memory budget, and the verdicts
/// the README knows hold (times and memory are in `cargo bench --bench long`).
#[test]
fn stale_read_histories_get_definite_known_verdicts() {
    let dir = corpus_dir().join("../stale-reads");
    // From the README: 0, 1, 3 not linearizable; 5 linearizable; 2 and 4 unknown to its authors.
    let known = [(0, Some(false)), (1, Some(false)), (2, None), (3, Some(false)), (4, None), (5, Some(true))];
    for (k, expected) in known {
        let path = dir.join(format!("lease-isolated-{k}.jsonl"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let ops = parse_kv(&path.display().to_string(), &text, Format::Json).unwrap();
        assert!(ops.len() > 5_000);
        let budget = Budget { max_wall_ms: None, max_memory_bytes: Some(1 << 30), ..Budget::default() };
        let (v, effort) = faultline_lincheck::check_with_effort(
            &Kv::new(),
            &ops,
            &CheckOptions { budget, minimize: false, threads: 1 },
        );
        assert!(!matches!(v, Verdict::Unknown(_)), "{k}: {v}");
        assert!(effort.peak_bytes < 1 << 30, "{k}: {effort:?}");
        if let Some(lin) = expected {
            assert_eq!(v.is_linearizable(), lin, "lease-isolated-{k}");
        }
    }
}
