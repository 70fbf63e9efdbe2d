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
