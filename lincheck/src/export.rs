//! Writing histories out, so a run's client history can be taken to `check-history` or to other
//! tools (Knossos, Porcupine, Elle).
//!
//! Two formats, the ones [`crate::formats`] reads back:
//!
//! - **faultline JSON Lines**: one operation per line with its interval, exactly what the checker
//!   saw; `check-history --format json` gives the same verdict as the run.
//! - **Jepsen EDN**: one operation map per line, invocations and completions in time order, with
//!   Jepsen's conventions: a client whose operation never returned continues as a new process
//!   (Jepsen's rule: a process has at most one operation open), and an operation that surely had
//!   no effect (a compare-and-set that did not swap, a failed lock call) is `:fail`. EDN has no
//!   times, only order, and Jepsen reads a nil read and a `:fail`ed compare-and-set as
//!   constraining nothing, so an EDN history can be linearizable where the JSON one is not
//!   (never the other way round).

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::models::{KvInput, KvOutput, MutexInput, MutexOutput, RegisterInput, RegisterOutput};
use crate::Operation;

/// A history format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// faultline JSON Lines (`--format json`).
    Json,
    /// Jepsen EDN, one map per line (`--format edn`).
    Edn,
}

impl ExportFormat {
    /// The name `check-history --format` takes.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Edn => "edn",
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(ExportFormat::Json),
            "edn" => Ok(ExportFormat::Edn),
            other => Err(format!("unknown history format `{other}` (expected json or edn)")),
        }
    }
}

/// A history written out, with what `check-history` needs to read it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedHistory {
    /// The `check-history --model` name.
    pub model: &'static str,
    /// The `--init` value, for a register that does not start at nil.
    pub init: Option<i64>,
    /// The format of `text`.
    pub format: ExportFormat,
    /// The history.
    pub text: String,
}

impl ExportedHistory {
    /// The `check-history` arguments that read this history back (before the file name).
    pub fn check_args(&self) -> String {
        let init = self.init.map_or(String::new(), |v| format!(" --init {v}"));
        format!("--model {} --format {}{init}", self.model, self.format.name())
    }
}

/// An operation kind the writers know.
pub trait Record {
    /// The output type.
    type Output;
    /// faultline JSON `input` and `output` (`null` for an operation that never returned).
    fn json(&self, output: Option<&Self::Output>) -> (Value, Value);
    /// Jepsen EDN: `:f`, the invocation's `:value`, the completion's `:type` (when it returned)
    /// and `:value`, and an optional `:key`.
    fn edn(&self, output: Option<&Self::Output>) -> Edn;
}

/// One operation's EDN fields (see [`Record::edn`]).
pub struct Edn {
    /// `:f`.
    pub f: &'static str,
    /// `:key`, for key-value operations.
    pub key: Option<String>,
    /// The invocation's `:value`.
    pub invoke: String,
    /// `:ok` or `:fail`.
    pub done: &'static str,
    /// The completion's `:value`.
    pub value: String,
}

/// Writes `ops` in `format`.
pub fn write<I: Record<Output = O>, O>(ops: &[Operation<I, O>], format: ExportFormat) -> String {
    match format {
        ExportFormat::Json => json_lines(ops),
        ExportFormat::Edn => edn(ops),
    }
}

/// faultline JSON Lines.
pub fn json_lines<I: Record<Output = O>, O>(ops: &[Operation<I, O>]) -> String {
    let mut s = String::with_capacity(ops.len() * 100);
    for o in ops {
        let (input, output) = o.input.json(o.output.as_ref());
        let line = json!({"client": o.client, "call": o.call, "return": o.ret, "input": input, "output": output});
        let _ = writeln!(s, "{line}");
    }
    s
}

/// Jepsen EDN, events in time order (at equal times invocations first: the checker takes
/// operations that touch at an instant as concurrent, and so does this order).
pub fn edn<I: Record<Output = O>, O>(ops: &[Operation<I, O>]) -> String {
    let mut events: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * ops.len());
    for (k, o) in ops.iter().enumerate() {
        events.push((o.call, 0, k));
        if let (Some(r), Some(_)) = (o.ret, &o.output) {
            events.push((r, 1, k));
        }
    }
    events.sort_unstable();
    // A process per client, until the client invokes while its process still has an operation
    // open (one left open for good, or answered late): then a fresh process, as Jepsen requires
    // a process to have at most one operation open.
    let mut next_process = ops.iter().map(|o| o.client).max().map_or(0, |m| m + 1);
    let mut process_of_client: std::collections::BTreeMap<u64, u64> = Default::default();
    let mut busy: std::collections::BTreeSet<u64> = Default::default();
    let mut process = vec![0u64; ops.len()];
    let mut s = String::with_capacity(ops.len() * 160);
    let key = |k: &Option<String>| k.as_ref().map_or(String::new(), |k| format!(", :key {}", edn_str(k)));
    for (_, kind, k) in events {
        let o = &ops[k];
        let e = o.input.edn(o.output.as_ref());
        if kind == 0 {
            let mut p = *process_of_client.entry(o.client).or_insert(o.client);
            if busy.contains(&p) {
                p = next_process;
                next_process += 1;
                process_of_client.insert(o.client, p);
            }
            process[k] = p;
            let _ = writeln!(s, "{{:process {p}, :type :invoke, :f :{}{}, :value {}}}", e.f, key(&e.key), e.invoke);
            if o.ret.is_none() || o.output.is_none() {
                // Left open for good: `:info` right away, and the process never used again.
                let _ = writeln!(s, "{{:process {p}, :type :info, :f :{}{}, :value :timed-out}}", e.f, key(&e.key));
            }
            busy.insert(p);
        } else {
            busy.remove(&process[k]);
            let _ = writeln!(
                s,
                "{{:process {}, :type {}, :f :{}{}, :value {}}}",
                process[k],
                e.done,
                e.f,
                key(&e.key),
                e.value
            );
        }
    }
    s
}

/// An EDN string literal.
fn edn_str(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            '\r' => s.push_str("\\r"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

impl Record for RegisterInput {
    type Output = RegisterOutput;
    fn json(&self, output: Option<&RegisterOutput>) -> (Value, Value) {
        let input = match self {
            RegisterInput::Read => json!({"op": "read"}),
            RegisterInput::Write(v) => json!({"op": "write", "value": v}),
            RegisterInput::Cas { expected, new } => json!({"op": "cas", "expected": expected, "new": new}),
        };
        let output = match output {
            None => Value::Null,
            Some(RegisterOutput::Read(v)) => json!({ "value": v }),
            Some(RegisterOutput::Write) => json!({"ok": true}),
            Some(RegisterOutput::Cas(ok)) => json!({ "ok": ok }),
        };
        (input, output)
    }
    fn edn(&self, output: Option<&RegisterOutput>) -> Edn {
        let (f, invoke) = match self {
            RegisterInput::Read => ("read", "nil".to_string()),
            RegisterInput::Write(v) => ("write", v.to_string()),
            RegisterInput::Cas { expected, new } => ("cas", format!("[{expected} {new}]")),
        };
        let (done, value) = match output {
            Some(RegisterOutput::Read(v)) => (":ok", v.map_or_else(|| "nil".to_string(), |v| v.to_string())),
            Some(RegisterOutput::Cas(false)) => (":fail", invoke.clone()),
            _ => (":ok", invoke.clone()),
        };
        Edn { f, key: None, invoke, done, value }
    }
}

impl Record for KvInput {
    type Output = KvOutput;
    fn json(&self, output: Option<&KvOutput>) -> (Value, Value) {
        let input = match self {
            KvInput::Get { key } => json!({"op": "get", "key": key}),
            KvInput::Put { key, value } => json!({"op": "put", "key": key, "value": value}),
            KvInput::Append { key, value } => json!({"op": "append", "key": key, "value": value}),
            KvInput::Cas { key, expected, new } => json!({"op": "cas", "key": key, "expected": expected, "new": new}),
        };
        let output = match output {
            None => Value::Null,
            Some(KvOutput::Get(v)) => json!({ "value": v }),
            Some(KvOutput::Cas(ok)) => json!({ "ok": ok }),
            Some(KvOutput::Put | KvOutput::Append) => json!({"ok": true}),
        };
        (input, output)
    }
    fn edn(&self, output: Option<&KvOutput>) -> Edn {
        let (f, key, invoke) = match self {
            KvInput::Get { key } => ("get", key, "nil".to_string()),
            KvInput::Put { key, value } => ("put", key, edn_str(value)),
            KvInput::Append { key, value } => ("append", key, edn_str(value)),
            KvInput::Cas { key, expected, new } => ("cas", key, format!("[{} {}]", edn_str(expected), edn_str(new))),
        };
        let (done, value) = match output {
            Some(KvOutput::Get(v)) => (":ok", edn_str(v)),
            Some(KvOutput::Cas(false)) => (":fail", invoke.clone()),
            _ => (":ok", invoke.clone()),
        };
        Edn { f, key: Some(key.clone()), invoke, done, value }
    }
}

impl Record for MutexInput {
    type Output = MutexOutput;
    fn json(&self, output: Option<&MutexOutput>) -> (Value, Value) {
        let op = match self {
            MutexInput::Acquire => "acquire",
            MutexInput::Release => "release",
        };
        (json!({ "op": op }), output.map_or(Value::Null, |o| json!({"ok": o.ok})))
    }
    fn edn(&self, output: Option<&MutexOutput>) -> Edn {
        let f = match self {
            MutexInput::Acquire => "acquire",
            MutexInput::Release => "release",
        };
        // A failed lock call had no effect: Jepsen's `:fail`, exactly.
        let done = if output.is_some_and(|o| !o.ok) { ":fail" } else { ":ok" };
        Edn { f, key: None, invoke: "nil".into(), done, value: "nil".into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{parse_kv, parse_mutex, parse_register, Format};
    use crate::gen::{kv_history, register_history, GenOptions};
    use crate::models::{CasRegister, Kv};
    use crate::{check, Budget};

    #[test]
    fn json_round_trips_exactly_and_edn_keeps_the_verdict() {
        for wrong_read in [false, true] {
            let o = GenOptions { ops: 2_000, wrong_read, ..GenOptions::default() };
            let ops = register_history(&o);
            let back = parse_register("h", &json_lines(&ops), Format::Json, true).unwrap();
            assert_eq!(back, ops);
            let v = check(&CasRegister::default(), &ops, &Budget::default()).is_linearizable();
            assert_eq!(v, !wrong_read);
            let e = parse_register("h", &edn(&ops), Format::Edn, true).unwrap();
            assert_eq!(check(&CasRegister::default(), &e, &Budget::default()).is_linearizable(), v);

            let o = GenOptions { ops: 2_000, keys: 3, wrong_read, ..GenOptions::default() };
            let ops = kv_history(&o);
            assert_eq!(parse_kv("h", &json_lines(&ops), Format::Json).unwrap(), ops);
            let e = parse_kv("h", &edn(&ops), Format::Edn).unwrap();
            assert_eq!(check(&Kv::new(), &e, &Budget::default()).is_linearizable(), !wrong_read);
        }
    }

    #[test]
    fn edn_gives_an_abandoning_client_a_new_process_and_escapes_strings() {
        let ops = vec![
            Operation { client: 0, call: 0, ret: None, input: MutexInput::Acquire, output: None },
            Operation {
                client: 0,
                call: 5,
                ret: Some(6),
                input: MutexInput::Release,
                output: Some(MutexOutput { ok: false }),
            },
        ];
        let text = edn(&ops);
        assert!(text.contains("{:process 0, :type :info"), "{text}");
        assert!(text.contains("{:process 1, :type :fail, :f :release"), "{text}");
        assert_eq!(parse_mutex("h", &text, Format::Edn).unwrap().len(), 1);
        let kv = vec![Operation {
            client: 2,
            call: 1,
            ret: Some(2),
            input: KvInput::Put { key: "a\"b".into(), value: "x\\y\n".into() },
            output: Some(KvOutput::Put),
        }];
        assert_eq!(parse_kv("h", &edn(&kv), Format::Edn).unwrap()[0].input, kv[0].input);
    }
}
