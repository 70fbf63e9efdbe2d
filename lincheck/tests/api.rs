//! The checker's budget, explanations, HTML and the check-history entry point.

use std::path::PathBuf;

use faultline_lincheck::formats::{parse_kv, parse_register, Format};
use faultline_lincheck::models::{CasRegister, Kv, KvInput, KvOutput, RegisterInput, RegisterOutput};
use faultline_lincheck::{
    check, check_history_files, explain_html, models, Budget, CheckHistoryOptions, HistoryOutcome, Operation, Verdict,
};

fn corpus(rel: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/histories/porcupine").join(rel);
    assert!(p.is_file(), "reference history missing: {} (the shared/ folder beside the checkout)", p.display());
    p
}

fn w(client: u64, call: u64, ret: u64, v: i64) -> Operation<RegisterInput, RegisterOutput> {
    Operation { client, call, ret: Some(ret), input: RegisterInput::Write(v), output: Some(RegisterOutput::Write) }
}
fn r(client: u64, call: u64, ret: u64, v: Option<i64>) -> Operation<RegisterInput, RegisterOutput> {
    Operation { client, call, ret: Some(ret), input: RegisterInput::Read, output: Some(RegisterOutput::Read(v)) }
}

/// 24 concurrent writes, then a read of a value nobody wrote: every subset of writes is a distinct
/// configuration, far beyond a small budget.
fn explosive() -> Vec<Operation<RegisterInput, RegisterOutput>> {
    let mut ops: Vec<_> = (0..24).map(|i| w(i, 0, 100, i as i64)).collect();
    ops.push(r(99, 200, 201, Some(1000)));
    ops
}

#[test]
fn tiny_state_budget_gives_unknown() {
    let v = check(
        &CasRegister::default(),
        &explosive(),
        &Budget { max_states: 1000, max_wall_ms: None, max_memory_bytes: None },
    );
    match v {
        Verdict::Unknown(why) => assert!(why.contains("1000"), "{why}"),
        other => panic!("expected unknown, got {other:?}"),
    }
}

#[test]
fn tiny_memory_budget_gives_unknown_naming_memory() {
    let budget = Budget { max_states: u64::MAX, max_wall_ms: None, max_memory_bytes: Some(1 << 20) };
    let (v, effort) = faultline_lincheck::check_with_effort(
        &CasRegister::default(),
        &explosive(),
        &faultline_lincheck::CheckOptions { budget, minimize: false, threads: 1 },
    );
    assert!(matches!(v, Verdict::Unknown(ref why) if why.contains("memory budget of 1 MiB")), "{v:?}");
    assert!(effort.peak_bytes > 1 << 20 && effort.states > 0, "{effort:?}");
}

#[test]
fn effort_counts_states_the_same_on_every_call() {
    let ops = explosive();
    let opts = faultline_lincheck::CheckOptions { budget: Budget::unlimited(), minimize: false, threads: 0 };
    let (_, a) = faultline_lincheck::check_with_effort(&CasRegister::default(), &ops[..ops.len() / 2], &opts);
    let (_, b) = faultline_lincheck::check_with_effort(&CasRegister::default(), &ops[..ops.len() / 2], &opts);
    assert!(a.states > 0);
    assert_eq!(a, b);
}

#[test]
fn tiny_time_budget_gives_unknown() {
    let v = check(
        &CasRegister::default(),
        &explosive(),
        &Budget { max_states: u64::MAX, max_wall_ms: Some(1), max_memory_bytes: None },
    );
    assert!(matches!(v, Verdict::Unknown(ref why) if why.contains("time")), "{v:?}");
}

#[test]
fn pending_ops_may_or_may_not_take_effect() {
    let pending_write = Operation { client: 1, call: 0, ret: None, input: RegisterInput::Write(5), output: None };
    // Took effect before the read...
    let ops = vec![pending_write.clone(), r(2, 10, 11, Some(5))];
    assert!(check(&CasRegister::default(), &ops, &Budget::default()).is_linearizable());
    // ... or never.
    let ops = vec![pending_write.clone(), r(2, 10, 11, None)];
    assert!(check(&CasRegister::default(), &ops, &Budget::default()).is_linearizable());
    // But not before its call.
    let ops = vec![r(2, 0, 1, Some(5)), pending_write.clone()];
    let ops: Vec<_> = ops
        .into_iter()
        .enumerate()
        .map(|(k, mut o)| {
            if k == 1 {
                o.call = 5
            }
            o
        })
        .collect();
    assert!(!check(&CasRegister::default(), &ops, &Budget::default()).is_linearizable());
    // Not twice either: 5 then nil then 5 again needs two writes.
    let ops = vec![pending_write, r(2, 10, 11, Some(5)), r(2, 12, 13, None)];
    assert!(!check(&CasRegister { init: None }, &ops, &Budget::default()).is_linearizable());
}

#[test]
fn explanation_of_a_corpus_failure() {
    let text = std::fs::read_to_string(corpus("jepsen/etcd_000.log")).unwrap();
    let ops = parse_register("etcd_000.log", &text, Format::JepsenLog, true).unwrap();
    let Verdict::NotLinearizable(e) = check(&CasRegister::default(), &ops, &Budget::default()) else {
        panic!("etcd_000 is not linearizable")
    };
    // The minimal sub-history fails by itself and is much smaller.
    let sub: Vec<_> = e.minimal.iter().map(|&i| ops[i].clone()).collect();
    assert!(matches!(check(&CasRegister::default(), &sub, &Budget::default()), Verdict::NotLinearizable(_)));
    assert!(e.minimal.len() < ops.len() / 4, "minimal has {} of {}", e.minimal.len(), ops.len());
    assert!(e.minimal_is_minimal);
    // The stuck answer is possible if its timing is ignored: an ordering violation, not a value
    // from nowhere. Dropping any other op makes the sub-history linearizable or loses that.
    let stuck = e.stuck.expect("a stuck op");
    let k_stuck = e.minimal.iter().position(|&i| i == stuck).expect("the stuck op is kept");
    let relaxed = |mut h: Vec<Operation<RegisterInput, RegisterOutput>>, k: usize| {
        h[k].call = 0;
        h[k].ret = Some(u64::MAX);
        check(&CasRegister::default(), &h, &Budget::default()).is_linearizable()
    };
    assert!(relaxed(sub.clone(), k_stuck));
    assert!(sub.len() >= 2, "more than a lone value from nowhere: {}", e.summary());
    for k in (0..sub.len()).filter(|&k| k != k_stuck) {
        let mut less = sub.clone();
        less.remove(k);
        let k_s = if k < k_stuck { k_stuck - 1 } else { k_stuck };
        assert!(
            check(&CasRegister::default(), &less, &Budget::default()).is_linearizable() || !relaxed(less, k_s),
            "op {k} could be dropped"
        );
    }
    // The longest prefix is a legal sequential run, and the stuck op is not in it.
    let m = CasRegister::default();
    let mut s = faultline_lincheck::Model::init(&m);
    for &i in &e.longest_prefix {
        s = match &ops[i].output {
            Some(o) => faultline_lincheck::Model::step(&m, &s, &ops[i].input, o),
            None => faultline_lincheck::Model::step_pending(&m, &s, &ops[i].input),
        }
        .expect("prefix is a legal sequential run");
    }
    assert!(!e.longest_prefix.contains(&stuck));
    assert!(e.summary().contains("stuck at"));
}

#[test]
fn explanations_are_deterministic_and_name_the_key() {
    let text = std::fs::read_to_string(corpus("kv/c50-bad.txt")).unwrap();
    let ops = parse_kv("c50-bad.txt", &text, Format::Edn).unwrap();
    let first = match check(&Kv::new(), &ops, &Budget::default()) {
        Verdict::NotLinearizable(e) => e,
        v => panic!("{v:?}"),
    };
    assert!(first.partition.starts_with("key \""), "{}", first.partition);
    for _ in 0..5 {
        match check(&Kv::new(), &ops, &Budget::default()) {
            Verdict::NotLinearizable(e) => assert_eq!(e, first),
            v => panic!("{v:?}"),
        }
    }
}

#[test]
fn html_is_self_contained_and_escaped() {
    let get = |c, call, ret, v: &str| Operation {
        client: c,
        call,
        ret: Some(ret),
        input: KvInput::Get { key: "<k>".into() },
        output: Some(KvOutput::Get(v.into())),
    };
    let ops = vec![
        Operation {
            client: 0,
            call: 0,
            ret: Some(1),
            input: KvInput::Put { key: "<k>".into(), value: "<script>&".into() },
            output: Some(KvOutput::Put),
        },
        get(1, 2, 3, "<script>&"),
        get(2, 4, 5, ""),
        Operation {
            client: 3,
            call: 0,
            ret: None,
            input: KvInput::Append { key: "<k>".into(), value: "\"q'".into() },
            output: None,
        },
    ];
    let Verdict::NotLinearizable(e) = check(&Kv::new(), &ops, &Budget::default()) else { panic!() };
    let mut out = Vec::new();
    explain_html("history <1>.json", &e, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"));
    assert!(!html.contains("<script"), "unescaped user text");
    assert!(!html.contains("<k>"));
    assert!(html.contains("&lt;script&gt;&amp;"));
    assert!(html.contains("history &lt;1&gt;.json"));
    assert!(!html.contains("http://") || !html.contains("src=\"http"), "no external assets");
    assert!(html.contains("stuck"));
}

fn tmp(name: &str, content: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lincheck-api");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn run(opts: &CheckHistoryOptions) -> (Result<HistoryOutcome, String>, String) {
    let mut out = Vec::new();
    let r = check_history_files(opts, &mut out).map_err(|e| e.to_string());
    (r, String::from_utf8(out).unwrap())
}

#[test]
fn check_history_contract() {
    assert!(models().contains(&"kv-whole"));
    let html = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lincheck-api-explain.html");
    let opts = CheckHistoryOptions {
        model: "cas-register".into(),
        files: vec![corpus("jepsen/etcd_002.log"), corpus("jepsen/etcd_000.log")],
        explain: Some(html.clone()),
        ..Default::default()
    };
    let (r, out) = run(&opts);
    assert_eq!(r, Ok(HistoryOutcome::NotLinearizable));
    assert_eq!(r.unwrap().exit_code(), 1);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].ends_with("etcd_002.log: linearizable"), "{out}");
    assert!(lines[1].ends_with("etcd_000.log: not linearizable"), "{out}");
    assert_eq!(lines[2], "1 passed, 1 failed");
    assert_eq!(lines.len(), 3);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("etcd_000.log") && page.contains("<svg"));

    // All good: exit 0.
    let (r, out) =
        run(&CheckHistoryOptions { model: "kv".into(), files: vec![corpus("kv/c10-ok.txt")], ..Default::default() });
    assert_eq!(r.map(|o| o.exit_code()), Ok(0));
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");

    // Out of budget: exit 3, unknown counted on its own line, the last line keeps its shape.
    let (r, out) = run(&CheckHistoryOptions {
        model: "kv-whole".into(),
        files: vec![corpus("kv/c10-bad.txt")],
        budget: Budget { max_states: 10, max_wall_ms: None, max_memory_bytes: None },
        ..Default::default()
    });
    assert_eq!(r.map(|o| o.exit_code()), Ok(3));
    assert!(out.contains("c10-bad.txt: unknown ("), "{out}");
    assert!(
        out.ends_with("1 unknown (out of budget: counted as neither passed nor failed)\n0 passed, 0 failed\n"),
        "{out}"
    );

    // --init: a register starting at 3.
    let f = tmp("init.json", r#"[{"client":1,"call":1,"return":2,"input":{"op":"read"},"output":{"value":3}}]"#);
    let (r, _) = run(&CheckHistoryOptions {
        model: "register".into(),
        init: Some("3".into()),
        files: vec![f.clone()],
        ..Default::default()
    });
    assert_eq!(r, Ok(HistoryOutcome::AllLinearizable));
    let (r, _) = run(&CheckHistoryOptions { model: "register".into(), files: vec![f.clone()], ..Default::default() });
    assert_eq!(r, Ok(HistoryOutcome::NotLinearizable));
}

#[test]
fn check_history_bad_input() {
    let bad = tmp("bad.jsonl", "{\"client\":1,\"call\":1,\"return\":2,\"input\":{\"op\":\"read\"},\"output\":{\"value\":3}}\n{\"client\": 1, \"call\": }\n");
    let (r, out) = run(&CheckHistoryOptions {
        model: "cas-register".into(),
        files: vec![corpus("jepsen/etcd_002.log"), bad.clone()],
        ..Default::default()
    });
    let e = r.unwrap_err();
    assert!(e.starts_with(&format!("{}:2:", bad.display())), "{e}");
    assert!(out.is_empty(), "nothing printed before bad input is reported: {out}");

    let (r, _) = run(&CheckHistoryOptions { model: "queue".into(), files: vec![bad.clone()], ..Default::default() });
    assert!(r.unwrap_err().contains("unknown model"));
    let (r, _) = run(&CheckHistoryOptions {
        model: "kv".into(),
        init: Some("1".into()),
        files: vec![bad.clone()],
        ..Default::default()
    });
    assert!(r.unwrap_err().contains("--init"));
    let (r, _) = run(&CheckHistoryOptions {
        model: "register".into(),
        init: Some("x y".into()),
        files: vec![bad.clone()],
        ..Default::default()
    });
    assert!(r.unwrap_err().contains("--init"));
    let (r, _) = run(&CheckHistoryOptions {
        model: "mutex".into(),
        files: vec![PathBuf::from("/nonexistent/h.json")],
        ..Default::default()
    });
    assert!(r.unwrap_err().starts_with("/nonexistent/h.json: cannot read"));
    let (r, _) = run(&CheckHistoryOptions { model: "mutex".into(), ..Default::default() });
    assert!(r.is_err());
    let garbage = tmp("garbage.bin", "\u{0}\u{1} not a history");
    let (r, _) = run(&CheckHistoryOptions { model: "mutex".into(), files: vec![garbage], ..Default::default() });
    assert!(r.unwrap_err().contains(":1:1: cannot tell the history format"));
    let nonutf8 = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lincheck-api-nonutf8.log");
    std::fs::write(&nonutf8, b"ok\n\xff\xfe").unwrap();
    let (r, _) = run(&CheckHistoryOptions { model: "mutex".into(), files: vec![nonutf8], ..Default::default() });
    assert!(r.unwrap_err().contains(":2:1: not valid UTF-8"));
}

#[test]
fn register_rejects_cas_files() {
    let (r, _) = run(&CheckHistoryOptions {
        model: "register".into(),
        files: vec![corpus("jepsen/etcd_002.log")],
        ..Default::default()
    });
    let e = r.unwrap_err();
    assert!(e.contains("cas-register"), "{e}");
}
