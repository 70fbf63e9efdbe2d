//! Reading recorded histories.
//!
//! Three formats:
//!
//! - **`jepsen-log`**: Jepsen's console log, one event per line,
//!   `INFO  jepsen.util - <process> <type> <f> <value>` (tabs or spaces). Lines of any other shape
//!   are not events and are ignored.
//! - **`edn`**: Jepsen EDN histories, either one operation map per line or one vector of maps
//!   spread over many lines (`;` comments allowed). `:process :nemesis` entries are skipped.
//! - **`json`**: faultline's own format: a JSON array, or JSON Lines, of operations
//!   `{"client": 1, "call": 100, "return": 250, "input": {...}, "output": {...}}` with `call` and
//!   `return` in nanoseconds; `return` and `output` are `null` (or absent) for an operation that
//!   never completed. Inputs and outputs per model:
//!   - registers: `{"op":"read"}` → `{"value":3}` (or `{"value":null}`), `{"op":"write","value":3}`
//!     → `{"ok":true}`, `{"op":"cas","expected":1,"new":2}` → `{"ok":true}` / `{"ok":false}`;
//!   - key-value: `{"op":"get","key":"k"}` → `{"value":"v"}` (`""` or `null` when absent),
//!     `{"op":"put","key":"k","value":"v"}`, `{"op":"append","key":"k","value":"v"}` →
//!     `{"ok":true}`, `{"op":"cas","key":"k","expected":"a","new":"b"}` → `{"ok":bool}`;
//!   - mutex: `{"op":"acquire"}` / `{"op":"release"}` → `{"ok":true}` / `{"ok":false}`.
//!
//!   A write, put or append answered `{"ok":false}` surely did not happen and is left out; a
//!   compare-and-set answered `{"ok":false}` stays, as "did not swap". Record an operation whose
//!   outcome is unknown (timeout, crash) with `"return": null`, never as failed.
//!
//! In the Jepsen formats, event order gives time and the conventions are Jepsen's (as Knossos reads
//! them): `:ok` completes an operation, `:info` leaves it open (it may or may not have taken
//! effect), and `:fail` means it did not take effect, for every `:f` (a failed compare-and-set
//! included): the operation is left out. An `:ok` read whose value is nil has an unknown result
//! that matches any state (a read of a register never written is nil too, so this is exact for
//! the initial state as well); being a read, it constrains nothing and is left out. Operations
//! with no completion stay open. faultline's JSON keeps its explicit meaning: there `{"value":
//! null}` is a read of nil and `{"ok":false}` a compare-and-set that did not swap. Knossos'
//! `(cas-register 0)` starts at 0: pass `--init 0`. For key-value models an operation's key is `:key`, or else its value is a
//! `[key value]` tuple as `jepsen.independent` writes.
//!
//! Errors never panic: they name the line and column.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::edn::{self, Edn, EdnError, Reader};
use crate::models::{
    KvInput, KvOutput, Micro, MultiInput, MultiOutput, MutexInput, MutexOutput, RegisterInput, RegisterOutput,
};
use crate::Operation;

/// A history file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Jepsen console log lines (`jepsen-log`).
    JepsenLog,
    /// Jepsen EDN operation maps (`edn`).
    Edn,
    /// faultline JSON (`json`).
    Json,
    /// Guess from the content (`auto`).
    #[default]
    Auto,
}

impl Format {
    /// The name `--format` accepts.
    pub fn name(self) -> &'static str {
        match self {
            Format::JepsenLog => "jepsen-log",
            Format::Edn => "edn",
            Format::Json => "json",
            Format::Auto => "auto",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "jepsen-log" | "jepsen" | "log" => Ok(Format::JepsenLog),
            "edn" => Ok(Format::Edn),
            "json" | "jsonl" => Ok(Format::Json),
            "auto" => Ok(Format::Auto),
            _ => Err(format!("unknown format `{s}` (expected jepsen-log, edn, json or auto)")),
        }
    }
}

/// Bad input: what is wrong and where. Displays as `FILE:LINE:COL: message` (or `FILE: message`
/// when no position applies). `check-history` exits with code 2 on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The file (or other source) name.
    pub file: String,
    /// 1-based line; 0 when not about a position.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    /// An error about a whole file (no position).
    pub fn file(file: &str, message: impl Into<String>) -> InputError {
        InputError { file: file.to_string(), line: 0, col: 0, message: message.into() }
    }
    fn at(file: &str, (line, col): (usize, usize), message: impl Into<String>) -> InputError {
        InputError { file: file.to_string(), line, col, message: message.into() }
    }
    /// The process exit code for bad input.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.col) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (l, 0) => write!(f, "{}:{}: {}", self.file, l, self.message),
            (l, c) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
        }
    }
}

impl std::error::Error for InputError {}

/// Guesses the format of `text`; `None` when it looks like none of them. An empty text is an
/// (empty) Jepsen log.
pub fn detect(text: &str) -> Option<Format> {
    let mut r = Reader::new(text);
    let Some(first) = r.skip_ws() else {
        return Some(Format::JepsenLog);
    };
    if text.contains("jepsen.util - ") {
        return Some(Format::JepsenLog);
    }
    let rest = text.trim_start();
    let after = |s: &str| s[1..].trim_start().chars().next();
    match first {
        // skip_ws skipped `;` comments: only EDN has them.
        _ if text.trim_start().starts_with(';') => Some(Format::Edn),
        b'{' => match after(rest) {
            Some('"') | Some('}') => Some(Format::Json),
            _ => Some(Format::Edn),
        },
        b'[' => {
            let inner = rest[1..].trim_start();
            match inner.chars().next() {
                Some('{') => match after(inner) {
                    Some('"') | Some('}') => Some(Format::Json),
                    _ => Some(Format::Edn),
                },
                Some(']') => Some(Format::Json),
                _ => Some(Format::Edn),
            }
        }
        b'#' => Some(Format::Edn),
        _ => None,
    }
}

/// Reads a register history (`read`, `write`, and `cas` when `allow_cas`).
pub fn parse_register(
    file: &str,
    text: &str,
    format: Format,
    allow_cas: bool,
) -> Result<Vec<Operation<RegisterInput, RegisterOutput>>, InputError> {
    parse(file, text, format, |op| register_from_jepsen(op, allow_cas), |i, o| register_from_json(i, o, allow_cas))
}

/// Reads a key-value history (`get`, `put`, `append`, `cas`).
pub fn parse_kv(file: &str, text: &str, format: Format) -> Result<Vec<Operation<KvInput, KvOutput>>, InputError> {
    parse(file, text, format, kv_from_jepsen, kv_from_json)
}

/// Reads a mutex history (`acquire`, `release`).
pub fn parse_mutex(
    file: &str,
    text: &str,
    format: Format,
) -> Result<Vec<Operation<MutexInput, MutexOutput>>, InputError> {
    parse(file, text, format, mutex_from_jepsen, mutex_from_json)
}

/// Reads a multi-register history (Knossos' `multi-register`: `:f :txn` operations whose value
/// is a vector of `[:read k v]` / `[:write k v]` micro-operations; in faultline JSON, `{"op":
/// "txn", "txn": [["read", "x", null], ["write", "y", 2]]}` answered `{"txn": [["read", "x", 1],
/// ["write", "y", 2]]}`).
pub fn parse_multi_register(
    file: &str,
    text: &str,
    format: Format,
) -> Result<Vec<Operation<MultiInput, MultiOutput>>, InputError> {
    parse(file, text, format, multi_from_jepsen, multi_from_json)
}

/// A transaction's micro-operations, each with the value it names (read or written).
type Micros = Vec<(Micro, Option<i64>)>;

/// One micro-operation `[f k v]` of a transaction: (micro, value).
fn micro_of(f: &str, key: String, v: Option<i64>, what: &str) -> Result<(Micro, Option<i64>), String> {
    match f {
        "read" | "r" => Ok((Micro::Read { key }, v)),
        "write" | "w" => match v {
            Some(value) => Ok((Micro::Write { key, value }, None)),
            None => Err(format!("{what}: a write needs an integer value")),
        },
        other => Err(format!("{what}: unknown micro-operation `{other}` (expected read or write)")),
    }
}

fn multi_from_jepsen(op: &RawOp) -> Converted<MultiInput, MultiOutput> {
    let (kind, done, done_pos) = completion(op);
    if op.f != "txn" {
        return Err((op.pos, format!("unknown multi-register operation :{} (expected :txn)", op.f)));
    }
    let micros = |v: &Edn, pos: Pos| -> Result<Micros, (Pos, String)> {
        let Some(items) = v.seq() else {
            return Err((pos, format!("txn: expected a vector of [f k v], found `{}`", short(v))));
        };
        items
            .iter()
            .map(|m| match m.seq() {
                Some([f, k, v]) => {
                    let f = match f {
                        Edn::Keyword(f) | Edn::Symbol(f) | Edn::Str(f) => f.as_str(),
                        other => return Err((pos, format!("txn: micro-operation kind `{}`", short(other)))),
                    };
                    let key = string_of(k, pos, "txn key")?;
                    let v = int_or_nil(v, pos, "txn value")?;
                    micro_of(f, key, v, "txn").map_err(|e| (pos, e))
                }
                _ => Err((pos, format!("txn: expected [f k v], found `{}`", short(m)))),
            })
            .collect()
    };
    let invoked = micros(&op.value, op.value_pos)?;
    let input = MultiInput { ops: invoked.iter().map(|(m, _)| m.clone()).collect() };
    Ok(match kind {
        Kind::Ok => {
            let seen = micros(done, done_pos)?;
            if seen.len() != invoked.len() || seen.iter().zip(&invoked).any(|((a, _), (b, _))| !same_micro(a, b)) {
                return Err((done_pos, "txn: the completion's micro-operations differ from the invocation's".into()));
            }
            Some((input, Some(MultiOutput { reads: seen.into_iter().map(|(_, v)| v).collect() })))
        }
        // Jepsen's convention: `:fail` had no effect.
        Kind::Fail => None,
        _ => Some((input, None)),
    })
}

/// Same kind and key (a write's value may be restated).
fn same_micro(a: &Micro, b: &Micro) -> bool {
    match (a, b) {
        (Micro::Read { key: x }, Micro::Read { key: y }) => x == y,
        (Micro::Write { key: x, value: v }, Micro::Write { key: y, value: w }) => x == y && v == w,
        _ => false,
    }
}

fn multi_from_json(input: &Value, output: Option<&Value>) -> JsonConverted<MultiInput, MultiOutput> {
    if op_name(input)? != "txn" {
        return Err(format!("unknown multi-register op `{}` (expected txn)", op_name(input)?));
    }
    let micros = |v: Option<&Value>| -> Result<Micros, String> {
        let Some(Value::Array(items)) = v else {
            return Err("`txn` must be an array of [f, key, value]".into());
        };
        items
            .iter()
            .map(|m| match m.as_array().map(Vec::as_slice) {
                Some([Value::String(f), k, v]) => {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        other => return Err(format!("txn key must be a string, found `{other}`")),
                    };
                    let v = match v {
                        Value::Null => None,
                        v => Some(
                            v.as_i64().ok_or_else(|| format!("txn value must be an integer or null, found `{v}`"))?,
                        ),
                    };
                    micro_of(f, key, v, "txn")
                }
                _ => Err(format!("txn: expected [f, key, value], found `{m}`")),
            })
            .collect()
    };
    let invoked = micros(input.get("txn"))?;
    let ops = MultiInput { ops: invoked.iter().map(|(m, _)| m.clone()).collect() };
    let out = match output {
        None => None,
        Some(o) => {
            if !ok_field(o)? {
                return Ok(None);
            }
            let seen = micros(o.get("txn"))?;
            if seen.len() != invoked.len() || seen.iter().zip(&invoked).any(|((a, _), (b, _))| !same_micro(a, b)) {
                return Err("txn: the output's micro-operations differ from the input's".into());
            }
            Some(MultiOutput { reads: seen.into_iter().map(|(_, v)| v).collect() })
        }
    };
    Ok(Some((ops, out)))
}

type Converted<I, O> = Result<Option<(I, Option<O>)>, (Pos, String)>;
/// `Ok(None)`: the operation surely did not happen (a failed write) and is left out.
type JsonConverted<I, O> = Result<Option<(I, Option<O>)>, String>;
type Pos = (usize, usize);

fn parse<I, O>(
    file: &str,
    text: &str,
    format: Format,
    from_jepsen: impl Fn(&RawOp) -> Converted<I, O>,
    from_json: impl Fn(&Value, Option<&Value>) -> JsonConverted<I, O>,
) -> Result<Vec<Operation<I, O>>, InputError> {
    let format = match format {
        Format::Auto => detect(text).ok_or_else(|| {
            InputError::at(
                file,
                (1, 1),
                "cannot tell the history format from the content; pass --format jepsen-log, edn or json",
            )
        })?,
        f => f,
    };
    match format {
        Format::Json => parse_json(file, text, from_json),
        Format::JepsenLog | Format::Edn | Format::Auto => {
            let events = if format == Format::Edn { read_edn_events(text) } else { read_log_events(text) }
                .map_err(|(p, m)| InputError::at(file, p, m))?;
            let raw = pair(&events).map_err(|(p, m)| InputError::at(file, p, m))?;
            let mut out = Vec::with_capacity(raw.len());
            for op in &raw {
                if let Some((input, output)) = from_jepsen(op).map_err(|(p, m)| InputError::at(file, p, m))? {
                    let ret = if output.is_some() { op.ret } else { None };
                    out.push(Operation { client: op.client, call: op.call, ret, input, output });
                }
            }
            Ok(out)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Jepsen events

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

fn kind_of(s: &str) -> Option<Kind> {
    match s {
        "invoke" => Some(Kind::Invoke),
        "ok" => Some(Kind::Ok),
        "fail" => Some(Kind::Fail),
        "info" => Some(Kind::Info),
        _ => None,
    }
}

#[derive(Debug)]
struct RawEvent {
    process: u64,
    kind: Kind,
    f: String,
    key: Option<Edn>,
    value: Edn,
    pos: Pos,
    value_pos: Pos,
}

/// A Jepsen invocation paired with its completion.
#[derive(Debug)]
pub(crate) struct RawOp {
    client: u64,
    call: u64,
    /// Event index of an `:ok`/`:fail` completion.
    ret: Option<u64>,
    f: String,
    key: Option<Edn>,
    value: Edn,
    pos: Pos,
    value_pos: Pos,
    completion: Option<(Kind, Edn, Pos)>,
}

fn edn_err(e: EdnError) -> (Pos, String) {
    ((e.line, e.col), e.message)
}

/// Character column (1-based) of byte offset `b` in `line`.
fn col_of(line: &str, b: usize) -> usize {
    line[..b].chars().count() + 1
}

fn read_log_events(text: &str) -> Result<Vec<RawEvent>, (Pos, String)> {
    const MARK: &str = "jepsen.util - ";
    let mut events = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let ln = ln + 1;
        let Some(at) = line.find(MARK) else { continue };
        let rest = &line[at + MARK.len()..];
        // Split off process, type and f; the value is whatever follows.
        let mut fields: Vec<(usize, &str)> = Vec::with_capacity(3);
        let mut i = 0;
        let bytes = rest.as_bytes();
        while fields.len() < 3 {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if start == i {
                break;
            }
            fields.push((start, &rest[start..i]));
        }
        if fields.len() < 3 {
            continue;
        }
        let Some(kind) = fields[1].1.strip_prefix(':').and_then(kind_of) else {
            continue;
        };
        let Some(f) = fields[2].1.strip_prefix(':') else {
            continue;
        };
        let process = match fields[0].1.parse::<u64>() {
            Ok(p) => p,
            // `:nemesis` and other named processes are not clients.
            Err(_) if fields[0].1.starts_with(':') => continue,
            Err(_) => continue,
        };
        let value_text = rest[i..].trim();
        let lead = rest[i..].len() - rest[i..].trim_start().len();
        let value_pos = (ln, col_of(line, at + MARK.len() + i + lead));
        let value = if value_text.is_empty() {
            Edn::Nil
        } else {
            let col = value_pos.1;
            let mut r = Reader::at(value_text, ln, col);
            let v = r.read().map_err(edn_err)?.unwrap_or(Edn::Nil);
            if r.skip_ws().is_some() {
                return Err((r.position(), "unexpected text after the value".into()));
            }
            v
        };
        events.push(RawEvent {
            process,
            kind,
            f: f.to_string(),
            key: None,
            value,
            pos: (ln, col_of(line, at + MARK.len() + fields[0].0)),
            value_pos,
        });
    }
    Ok(events)
}

fn read_edn_events(text: &str) -> Result<Vec<RawEvent>, (Pos, String)> {
    let mut r = Reader::new(text);
    let mut events = Vec::new();
    while let Some(c) = r.skip_ws() {
        if c == b'[' || c == b'(' {
            // A history written as one vector of maps.
            let close = if c == b'[' { b']' } else { b')' };
            let open_pos = r.position();
            r.consume();
            loop {
                match r.skip_ws() {
                    None => return Err((open_pos, format!("missing `{}` closing this history", close as char))),
                    Some(c) if c == close => {
                        r.consume();
                        break;
                    }
                    Some(_) => {
                        let pos = r.position();
                        if let Some(form) = r.read().map_err(edn_err)? {
                            if let Some(e) = edn_event(&form, pos)? {
                                events.push(e);
                            }
                        }
                    }
                }
            }
        } else {
            let pos = r.position();
            if let Some(form) = r.read().map_err(edn_err)? {
                if let Some(e) = edn_event(&form, pos)? {
                    events.push(e);
                }
            }
        }
    }
    Ok(events)
}

fn name_of(v: &Edn) -> Option<&str> {
    match v {
        Edn::Keyword(s) | Edn::Symbol(s) | Edn::Str(s) => Some(s),
        _ => None,
    }
}

fn edn_event(form: &Edn, pos: Pos) -> Result<Option<RawEvent>, (Pos, String)> {
    if !matches!(form, Edn::Map(_)) {
        return Err((pos, format!("expected an operation map, found `{}`", short(form))));
    }
    let process = match form.get("process") {
        Some(Edn::Int(p)) if *p >= 0 => *p as u64,
        Some(Edn::Int(p)) => return Err((pos, format!("negative :process {p}"))),
        // :nemesis and other named processes are not clients.
        Some(Edn::Keyword(_)) | Some(Edn::Symbol(_)) | Some(Edn::Str(_)) => return Ok(None),
        Some(other) => return Err((pos, format!("bad :process `{}`", short(other)))),
        None => return Err((pos, "operation map without :process".into())),
    };
    let kind = match form.get("type") {
        Some(t) => name_of(t)
            .and_then(kind_of)
            .ok_or_else(|| (pos, format!("bad :type `{}` (expected :invoke, :ok, :fail or :info)", short(t))))?,
        None => return Err((pos, "operation map without :type".into())),
    };
    let f = match form.get("f") {
        Some(f) => name_of(f).ok_or_else(|| (pos, format!("bad :f `{}`", short(f))))?.to_string(),
        None => return Err((pos, "operation map without :f".into())),
    };
    Ok(Some(RawEvent {
        process,
        kind,
        f,
        key: form.get("key").cloned(),
        value: form.get("value").cloned().unwrap_or(Edn::Nil),
        pos,
        value_pos: pos,
    }))
}

fn short(v: &Edn) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        let t: String = s.chars().take(39).collect();
        format!("{t}…")
    } else {
        s
    }
}

/// Pairs invocations with completions by process.
fn pair(events: &[RawEvent]) -> Result<Vec<RawOp>, (Pos, String)> {
    let mut ops: Vec<RawOp> = Vec::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    for (t, ev) in events.iter().enumerate() {
        let t = t as u64;
        if ev.kind == Kind::Invoke {
            if let Some(&prev) = open.get(&ev.process) {
                return Err((
                    ev.pos,
                    format!(
                        "process {} invokes :{} while its :{} from line {} is still open",
                        ev.process, ev.f, ops[prev].f, ops[prev].pos.0
                    ),
                ));
            }
            open.insert(ev.process, ops.len());
            ops.push(RawOp {
                client: ev.process,
                call: t,
                ret: None,
                f: ev.f.clone(),
                key: ev.key.clone(),
                value: ev.value.clone(),
                pos: ev.pos,
                value_pos: ev.value_pos,
                completion: None,
            });
            continue;
        }
        let Some(idx) = open.remove(&ev.process) else {
            return Err((ev.pos, format!("process {} completes :{} it never invoked", ev.process, ev.f)));
        };
        let op = &mut ops[idx];
        if op.f != ev.f {
            return Err((
                ev.pos,
                format!("completion :{} does not match the invocation :{} on line {}", ev.f, op.f, op.pos.0),
            ));
        }
        if ev.kind != Kind::Info {
            op.ret = Some(t);
        }
        op.completion = Some((ev.kind, ev.value.clone(), ev.value_pos));
    }
    Ok(ops)
}

/// The completion of a raw op, as (kind, value, position); `Info` when there is none.
fn completion(op: &RawOp) -> (Kind, &Edn, Pos) {
    match &op.completion {
        Some((k, v, p)) => (*k, v, *p),
        None => (Kind::Info, &Edn::Nil, op.pos),
    }
}

fn int_or_nil(v: &Edn, pos: Pos, what: &str) -> Result<Option<i64>, (Pos, String)> {
    match v {
        Edn::Nil => Ok(None),
        Edn::Int(i) => Ok(Some(*i)),
        other => Err((pos, format!("{what}: expected an integer or nil, found `{}`", short(other)))),
    }
}

fn int_pair(v: &Edn, pos: Pos) -> Result<(i64, i64), (Pos, String)> {
    match v.seq() {
        Some([Edn::Int(a), Edn::Int(b)]) => Ok((*a, *b)),
        _ => Err((pos, format!("cas: expected [expected new] integers, found `{}`", short(v)))),
    }
}

fn register_from_jepsen(op: &RawOp, allow_cas: bool) -> Converted<RegisterInput, RegisterOutput> {
    let (kind, done, done_pos) = completion(op);
    match op.f.as_str() {
        "read" => Ok(match kind {
            // Jepsen's convention (Knossos' register models): an `:ok` read of nil is a read whose
            // result is unknown, matching any state. A read changes nothing, so a read that
            // constrains nothing is no operation at all: leave it out.
            Kind::Ok => match int_or_nil(done, done_pos, "read result")? {
                None => None,
                v => Some((RegisterInput::Read, Some(RegisterOutput::Read(v)))),
            },
            // A failed read surely did not happen; it could not have changed anything anyway.
            Kind::Fail => None,
            _ => Some((RegisterInput::Read, None)),
        }),
        "write" => {
            let Some(v) = int_or_nil(&op.value, op.value_pos, "write")? else {
                return Err((op.pos, "write: expected an integer, found nil".into()));
            };
            Ok(match kind {
                Kind::Ok => Some((RegisterInput::Write(v), Some(RegisterOutput::Write))),
                Kind::Fail => None,
                _ => Some((RegisterInput::Write(v), None)),
            })
        }
        "cas" if allow_cas => {
            let (expected, new) = int_pair(&op.value, op.value_pos)?;
            let input = RegisterInput::Cas { expected, new };
            // Jepsen's convention: `:fail` means the operation did not take effect, for every
            // `:f`, compare-and-set included.
            Ok(match kind {
                Kind::Ok => Some((input, Some(RegisterOutput::Cas(true)))),
                Kind::Fail => None,
                _ => Some((input, None)),
            })
        }
        "cas" => Err((op.pos, "model `register` has no :cas (use `cas-register`)".into())),
        f => Err((op.pos, format!("unknown register operation :{f} (expected :read, :write or :cas)"))),
    }
}

fn string_of(v: &Edn, pos: Pos, what: &str) -> Result<String, (Pos, String)> {
    match v {
        Edn::Str(s) => Ok(s.clone()),
        Edn::Int(i) => Ok(i.to_string()),
        Edn::Keyword(k) => Ok(k.clone()),
        Edn::Nil => Ok(String::new()),
        other => Err((pos, format!("{what}: expected a string, found `{}`", short(other)))),
    }
}

fn kv_from_jepsen(op: &RawOp) -> Converted<KvInput, KvOutput> {
    let (kind, done, done_pos) = completion(op);
    // The key is :key, or else the value is a jepsen.independent [key value] tuple.
    let (key, value, done) = match &op.key {
        Some(k) => (string_of(k, op.pos, "key")?, &op.value, done),
        None => match op.value.seq() {
            Some([k, v]) => {
                let done = match done.seq() {
                    Some([_, d]) => d,
                    _ => &Edn::Nil,
                };
                (string_of(k, op.pos, "key")?, v, done)
            }
            _ => return Err((op.pos, "key-value operation without :key or a [key value] tuple".into())),
        },
    };
    let pending_or = |input: KvInput, output: KvOutput| -> Option<(KvInput, Option<KvOutput>)> {
        match kind {
            Kind::Ok => Some((input, Some(output))),
            Kind::Fail => None,
            _ => Some((input, None)),
        }
    };
    match op.f.as_str() {
        "get" | "read" => {
            // An `:ok` read of nil has an unknown result (Jepsen's convention, as for registers):
            // it constrains nothing and is left out. An absent key reads as "".
            if kind == Kind::Ok && matches!(done, Edn::Nil) {
                return Ok(None);
            }
            let got = if kind == Kind::Ok { string_of(done, done_pos, "get result")? } else { String::new() };
            Ok(pending_or(KvInput::Get { key }, KvOutput::Get(got)))
        }
        "put" | "write" => {
            let value = string_of(value, op.value_pos, "put")?;
            Ok(pending_or(KvInput::Put { key, value }, KvOutput::Put))
        }
        "append" => {
            let value = string_of(value, op.value_pos, "append")?;
            Ok(pending_or(KvInput::Append { key, value }, KvOutput::Append))
        }
        "cas" => {
            let Some([e, n]) = value.seq() else {
                return Err((op.pos, format!("cas: expected [expected new], found `{}`", short(value))));
            };
            let input = KvInput::Cas {
                key,
                expected: string_of(e, op.value_pos, "cas expected")?,
                new: string_of(n, op.value_pos, "cas new")?,
            };
            Ok(pending_or(input, KvOutput::Cas(true)))
        }
        f => Err((op.pos, format!("unknown key-value operation :{f} (expected :get, :put, :append or :cas)"))),
    }
}

fn mutex_from_jepsen(op: &RawOp) -> Converted<MutexInput, MutexOutput> {
    let (kind, _, _) = completion(op);
    let input = match op.f.as_str() {
        "acquire" | "lock" => MutexInput::Acquire,
        "release" | "unlock" => MutexInput::Release,
        f => return Err((op.pos, format!("unknown mutex operation :{f} (expected :acquire or :release)"))),
    };
    Ok(match kind {
        Kind::Ok => Some((input, Some(MutexOutput { ok: true }))),
        Kind::Fail => None,
        _ => Some((input, None)),
    })
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Line and column of byte offset `b` of `text`.
fn line_col(text: &str, b: usize) -> Pos {
    let before = &text[..b];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..b].chars().count() + 1)
}

fn parse_json<I, O>(
    file: &str,
    text: &str,
    from_json: impl Fn(&Value, Option<&Value>) -> JsonConverted<I, O>,
) -> Result<Vec<Operation<I, O>>, InputError> {
    // Byte offsets, turned into line and column only for an error (counting lines for every
    // value would make parsing quadratic).
    let mut values: Vec<(Value, usize)> = Vec::new();
    let json_err = |base: usize, e: serde_json::Error| {
        let (bl, bc) = line_col(text, base);
        let (l, c) = (e.line(), e.column());
        let pos = if l <= 1 { (bl, bc + c.saturating_sub(1)) } else { (bl + l - 1, c) };
        InputError::at(file, pos, format!("invalid JSON: {e}"))
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        // One array: walk its elements ourselves to know where each starts.
        let mut pos = text.len() - trimmed.len() + 1;
        loop {
            let rest = &text[pos..];
            let skip = rest.len() - rest.trim_start().len();
            pos += skip;
            if text[pos..].starts_with(']') {
                pos += 1;
                break;
            }
            if pos >= text.len() {
                return Err(InputError::at(file, line_col(text, pos), "missing `]` at the end of the JSON array"));
            }
            let mut stream = serde_json::Deserializer::from_str(&text[pos..]).into_iter::<Value>();
            match stream.next() {
                Some(Ok(v)) => {
                    values.push((v, pos));
                    pos += stream.byte_offset();
                }
                Some(Err(e)) => return Err(json_err(pos, e)),
                None => {
                    return Err(InputError::at(file, line_col(text, pos), "missing `]` at the end of the JSON array"))
                }
            }
            let rest = &text[pos..];
            pos += rest.len() - rest.trim_start().len();
            match text[pos..].chars().next() {
                Some(',') => pos += 1,
                Some(']') => {}
                Some(c) => {
                    return Err(InputError::at(file, line_col(text, pos), format!("expected `,` or `]`, found `{c}`")))
                }
                None => {
                    return Err(InputError::at(file, line_col(text, pos), "missing `]` at the end of the JSON array"))
                }
            }
        }
        if !text[pos..].trim().is_empty() {
            let skip = text[pos..].len() - text[pos..].trim_start().len();
            return Err(InputError::at(file, line_col(text, pos + skip), "unexpected text after the JSON array"));
        }
    } else {
        // JSON Lines (any whitespace-separated sequence of values, in fact).
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        loop {
            let before = stream.byte_offset();
            match stream.next() {
                None => break,
                Some(Ok(v)) => {
                    let rest = &text[before..];
                    let start = before + (rest.len() - rest.trim_start().len());
                    values.push((v, start));
                }
                Some(Err(e)) => return Err(json_err(0, e)),
            }
        }
    }
    let mut ops = Vec::with_capacity(values.len());
    for (v, pos) in &values {
        if let Some(op) = json_op(v, &from_json).map_err(|m| InputError::at(file, line_col(text, *pos), m))? {
            ops.push(op);
        }
    }
    Ok(ops)
}

fn json_op<I, O>(
    v: &Value,
    from_json: &impl Fn(&Value, Option<&Value>) -> JsonConverted<I, O>,
) -> Result<Option<Operation<I, O>>, String> {
    let Value::Object(m) = v else {
        return Err(format!("expected an operation object, found `{v}`"));
    };
    let u64_field = |name: &str| -> Result<Option<u64>, String> {
        match m.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => {
                x.as_u64().map(Some).ok_or_else(|| format!("`{name}` must be a non-negative integer, found `{x}`"))
            }
        }
    };
    let client = u64_field("client")?.ok_or("operation without `client`")?;
    let call = u64_field("call")?.ok_or("operation without `call`")?;
    let ret = match u64_field("return")? {
        Some(r) => Some(r),
        None => u64_field("ret")?,
    };
    if let Some(r) = ret {
        if r < call {
            return Err(format!("`return` {r} is before `call` {call}"));
        }
    }
    let input = m.get("input").ok_or("operation without `input`")?;
    let output = match m.get("output") {
        None | Some(Value::Null) => None,
        Some(o) => Some(o),
    };
    if ret.is_some() && output.is_none() {
        return Err("a completed operation (with `return`) needs an `output`".into());
    }
    let Some((input, output)) = from_json(input, output.filter(|_| ret.is_some()))? else {
        return Ok(None);
    };
    Ok(Some(Operation { client, call, ret: if output.is_some() { ret } else { None }, input, output }))
}

fn op_name(input: &Value) -> Result<&str, String> {
    input.get("op").and_then(Value::as_str).ok_or_else(|| format!("`input` needs a string field `op`, found `{input}`"))
}

fn i64_field(v: &Value, name: &str) -> Result<i64, String> {
    v.get(name).and_then(Value::as_i64).ok_or_else(|| format!("`{name}` must be an integer in `{v}`"))
}

fn ok_field(v: &Value) -> Result<bool, String> {
    match v.get("ok") {
        Some(Value::Bool(b)) => Ok(*b),
        None => Ok(true),
        Some(x) => Err(format!("`ok` must be true or false, found `{x}`")),
    }
}

fn register_from_json(
    input: &Value,
    output: Option<&Value>,
    allow_cas: bool,
) -> JsonConverted<RegisterInput, RegisterOutput> {
    match op_name(input)? {
        "read" => {
            let out = output
                .map(|o| match o.get("value") {
                    None | Some(Value::Null) => Ok(RegisterOutput::Read(None)),
                    Some(x) => x
                        .as_i64()
                        .map(|v| RegisterOutput::Read(Some(v)))
                        .ok_or_else(|| format!("read `value` must be an integer or null, found `{x}`")),
                })
                .transpose()?;
            Ok(Some((RegisterInput::Read, out)))
        }
        "write" => {
            let v = i64_field(input, "value")?;
            // A failed write surely did not happen: leave it out.
            if let Some(o) = output {
                if !ok_field(o)? {
                    return Ok(None);
                }
            }
            Ok(Some((RegisterInput::Write(v), output.map(|_| RegisterOutput::Write))))
        }
        "cas" if allow_cas => {
            let expected = i64_field(input, "expected")?;
            let new = i64_field(input, "new")?;
            let out = output.map(ok_field).transpose()?.map(RegisterOutput::Cas);
            Ok(Some((RegisterInput::Cas { expected, new }, out)))
        }
        "cas" => Err("model `register` has no cas (use `cas-register`)".into()),
        other => Err(format!("unknown register op `{other}` (expected read, write or cas)")),
    }
}

fn str_field(v: &Value, name: &str) -> Result<String, String> {
    match v.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(format!("`{name}` must be a string in `{v}`")),
    }
}

fn kv_from_json(input: &Value, output: Option<&Value>) -> JsonConverted<KvInput, KvOutput> {
    let key = str_field(input, "key")?;
    match op_name(input)? {
        "get" => {
            let out = output
                .map(|o| match o.get("value") {
                    None | Some(Value::Null) => Ok(KvOutput::Get(String::new())),
                    Some(Value::String(s)) => Ok(KvOutput::Get(s.clone())),
                    Some(x) => Err(format!("get `value` must be a string or null, found `{x}`")),
                })
                .transpose()?;
            Ok(Some((KvInput::Get { key }, out)))
        }
        "put" | "append" => {
            let value = str_field(input, "value")?;
            // A failed put or append surely did not happen: leave it out.
            if let Some(o) = output {
                if !ok_field(o)? {
                    return Ok(None);
                }
            }
            Ok(Some(if op_name(input)? == "put" {
                (KvInput::Put { key, value }, output.map(|_| KvOutput::Put))
            } else {
                (KvInput::Append { key, value }, output.map(|_| KvOutput::Append))
            }))
        }
        "cas" => {
            let expected = str_field(input, "expected")?;
            let new = str_field(input, "new")?;
            let out = output.map(ok_field).transpose()?.map(KvOutput::Cas);
            Ok(Some((KvInput::Cas { key, expected, new }, out)))
        }
        other => Err(format!("unknown key-value op `{other}` (expected get, put, append or cas)")),
    }
}

fn mutex_from_json(input: &Value, output: Option<&Value>) -> JsonConverted<MutexInput, MutexOutput> {
    let i = match op_name(input)? {
        "acquire" => MutexInput::Acquire,
        "release" => MutexInput::Release,
        other => return Err(format!("unknown mutex op `{other}` (expected acquire or release)")),
    };
    let out = output.map(ok_field).transpose()?.map(|ok| MutexOutput { ok });
    Ok(Some((i, out)))
}

/// Parses a single EDN value (exposed for `--init`).
pub(crate) fn parse_edn_value(text: &str) -> Result<Edn, String> {
    edn::parse_one(text).map_err(|e| e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "INFO  jepsen.util - 4\t:invoke\t:read\tnil\n\
        INFO  jepsen.util - 4\t:ok\t:read\tnil\n\
        some noise line\n\
        INFO  jepsen.util - 1   :invoke :write  1\n\
        INFO  jepsen.util - 2\t:invoke\t:cas\t[2 4]\n\
        INFO  jepsen.util - :nemesis\t:info\t:start\t\"cut {:a #{1}}\"\n\
        INFO  jepsen.util - 1\t:ok\t:write\t1\n\
        INFO  jepsen.util - 2\t:fail\t:cas\t[2 4]\n\
        INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
        INFO  jepsen.util - 3\t:fail\t:read\t:timed-out\n\
        INFO  jepsen.util - 5\t:invoke\t:write\t7\n\
        INFO  jepsen.util - 5\t:info\t:write\t:timed-out\n\
        INFO  jepsen.util - 6\t:invoke\t:cas\t[1 2]\n";

    /// Histories that are valid under Jepsen's conventions but not under "a failed cas did not
    /// swap" and "a nil read saw nil".
    #[test]
    fn jepsen_conventions_fail_means_no_effect_and_nil_reads_match_anything() {
        use crate::models::CasRegister;
        use crate::{check, Budget};
        let edn = "{:process 0, :type :invoke, :f :write, :value 1}\n\
            {:process 0, :type :ok, :f :write, :value 1}\n\
            {:process 1, :type :invoke, :f :cas, :value [1 2]}\n\
            {:process 1, :type :fail, :f :cas, :value [1 2]}\n\
            {:process 2, :type :invoke, :f :read, :value nil}\n\
            {:process 2, :type :ok, :f :read, :value nil}\n\
            {:process 3, :type :invoke, :f :write, :value 5}\n\
            {:process 3, :type :fail, :f :write, :value 5}\n\
            {:process 4, :type :invoke, :f :read, :value nil}\n\
            {:process 4, :type :ok, :f :read, :value 1}\n";
        let log: String = edn
            .lines()
            .map(|l| {
                let f = |k: &str| l.split(k).nth(1).unwrap().split([',', '}']).next().unwrap().trim().to_string();
                format!("INFO  jepsen.util - {}\t{}\t{}\t{}\n", f(":process "), f(":type "), f(":f "), f(":value "))
            })
            .collect();
        for (text, format) in [(edn, Format::Edn), (log.as_str(), Format::JepsenLog)] {
            let ops = parse_register("h", text, format, true).unwrap();
            // Only the write of 1 and the read of 1 stay: the failed cas and write did not take
            // effect, and the nil read constrains nothing.
            assert_eq!(ops.len(), 2, "{format:?}: {ops:?}");
            assert!(check(&CasRegister::default(), &ops, &Budget::default()).is_linearizable(), "{format:?}");
        }
        // A read of a value never written is still caught.
        let bad = edn.replace(":ok, :f :read, :value 1", ":ok, :f :read, :value 7");
        let ops = parse_register("h", &bad, Format::Edn, true).unwrap();
        assert!(!check(&CasRegister::default(), &ops, &Budget::default()).is_linearizable());
        // faultline's JSON keeps its explicit meaning: a cas answered false did not swap, which
        // is impossible here.
        let json = r#"{"client":0,"call":0,"return":1,"input":{"op":"write","value":1},"output":{"ok":true}}
{"client":1,"call":2,"return":3,"input":{"op":"cas","expected":1,"new":2},"output":{"ok":false}}"#;
        let ops = parse_register("h", json, Format::Json, true).unwrap();
        assert!(!check(&CasRegister::default(), &ops, &Budget::default()).is_linearizable());
    }

    #[test]
    fn multi_register_edn_and_json() {
        use crate::models::{Micro, MultiRegister};
        use crate::{check, Budget};
        let edn = "{:process 0, :type :invoke, :f :txn, :value [[:write :x 1] [:write :y 2]]}\n\
            {:process 0, :type :ok, :f :txn, :value [[:write :x 1] [:write :y 2]]}\n\
            {:process 1, :type :invoke, :f :txn, :value [[:read :x nil] [:read :y nil]]}\n\
            {:process 1, :type :ok, :f :txn, :value [[:read :x 1] [:read :y 2]]}\n\
            {:process 2, :type :invoke, :f :txn, :value [[:write :x 5]]}\n\
            {:process 2, :type :fail, :f :txn, :value [[:write :x 5]]}\n\
            {:process 3, :type :invoke, :f :txn, :value [[:read :x nil] [:write :y 3]]}\n\
            {:process 3, :type :ok, :f :txn, :value [[:read :x nil] [:write :y 3]]}\n";
        let ops = parse_multi_register("m", edn, Format::Auto).unwrap();
        assert_eq!(ops.len(), 3, "the failed txn is left out");
        assert_eq!(ops[0].input.ops[1], Micro::Write { key: "y".into(), value: 2 });
        assert!(check(&MultiRegister, &ops, &Budget::default()).is_linearizable());
        // Reading x=1 with y=3 before y=3 was written is impossible: the reads come after the
        // first txn only, so y is 2 there.
        let bad = edn.replace("[[:read :x 1] [:read :y 2]]", "[[:read :x 1] [:read :y 3]]");
        let ops = parse_multi_register("m", &bad, Format::Edn).unwrap();
        assert!(!check(&MultiRegister, &ops, &Budget::default()).is_linearizable());
        // A read of a value nobody wrote.
        let torn = edn.replace("[[:read :x 1] [:read :y 2]]", "[[:read :x 0] [:read :y 2]]");
        let ops = parse_multi_register("m", &torn, Format::Edn).unwrap();
        assert!(!check(&MultiRegister, &ops, &Budget::default()).is_linearizable());
        let json = r#"{"client":0,"call":0,"return":1,"input":{"op":"txn","txn":[["write","x",1]]},"output":{"txn":[["write","x",1]]}}
{"client":1,"call":2,"return":3,"input":{"op":"txn","txn":[["read","x",null]]},"output":{"txn":[["read","x",1]]}}"#;
        let ops = parse_multi_register("m", json, Format::Json).unwrap();
        assert!(check(&MultiRegister, &ops, &Budget::default()).is_linearizable());
        let e = parse_multi_register("m", "{:process 0, :type :invoke, :f :txn, :value [[:cas :x 1]]}\n", Format::Edn);
        assert!(e.unwrap_err().to_string().contains("unknown micro-operation"));
    }

    #[test]
    fn jepsen_log() {
        let ops = parse_register("x.log", LOG, Format::Auto, true).unwrap();
        use RegisterInput as I;
        use RegisterOutput as O;
        let got: Vec<_> = ops.iter().map(|o| (o.client, o.call, o.ret, o.input, o.output)).collect();
        assert_eq!(
            got,
            vec![
                // The `:ok` read of nil (unknown result) and the `:fail`ed cas are left out.
                (1, 2, Some(4), I::Write(1), Some(O::Write)),
                (5, 8, None, I::Write(7), None),
                (6, 10, None, I::Cas { expected: 1, new: 2 }, None),
            ]
        );
        let e = parse_register("x.log", LOG, Format::JepsenLog, false).unwrap_err();
        assert_eq!((e.line, e.col), (5, 21), "{e}"); // the process field of the :cas invocation
        assert!(e.message.contains("cas-register"), "{e}");
    }

    #[test]
    fn jepsen_log_errors() {
        let bad = "INFO  jepsen.util - 1 :invoke :cas [1 2\n";
        let e = parse_register("f", bad, Format::JepsenLog, true).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.to_string().starts_with("f:1:"), "{e}");
        let bad = "INFO  jepsen.util - 1 :invoke :read nil\nINFO  jepsen.util - 1 :ok :read \"x\"\n";
        let e = parse_register("f", bad, Format::JepsenLog, true).unwrap_err();
        assert_eq!((e.line, e.col), (2, 33), "{e}");
        let bad = "INFO  jepsen.util - 1 :ok :read 1\n";
        let e = parse_register("f", bad, Format::JepsenLog, true).unwrap_err();
        assert!(e.message.contains("never invoked"), "{e}");
        let bad = "INFO  jepsen.util - 1 :invoke :read nil\nINFO  jepsen.util - 1 :invoke :read nil\n";
        let e = parse_register("f", bad, Format::JepsenLog, true).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let bad = "INFO  jepsen.util - 1 :invoke :read nil\nINFO  jepsen.util - 1 :ok :write 1\n";
        let e = parse_register("f", bad, Format::JepsenLog, true).unwrap_err();
        assert!(e.message.contains("does not match"), "{e}");
        assert!(parse_register("f", "hello\n", Format::Auto, true).is_err());
        assert!(parse_register("f", "", Format::Auto, true).unwrap().is_empty());
    }

    #[test]
    fn edn_one_map_per_line() {
        let text = "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
            {:process 1, :type :invoke, :f :get, :key \"0\", :value nil}\n\
            {:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
            {:process 1, :type :ok, :f :get, :key \"0\", :value \"x 0 0 y\"}\n";
        let ops = parse_kv("c.txt", text, Format::Auto).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].input, KvInput::Append { key: "0".into(), value: "x 0 0 y".into() });
        assert_eq!((ops[0].call, ops[0].ret), (0, Some(2)));
        assert_eq!(ops[1].output, Some(KvOutput::Get("x 0 0 y".into())));
    }

    #[test]
    fn edn_vector_with_comments_and_nemesis() {
        let text = "; a Jepsen history\n[{:process 0, :type :invoke, :f :write, :value 3}\n \
            {:process :nemesis, :type :info, :f :start, :value nil}\n ; comment\n \
            {:process 0, :type :ok, :f :write, :value 3}\n \
            {:process 1 :type :invoke :f :read :value nil}\n \
            {:process 1 :type :ok :f :read :value 3}]\n";
        assert_eq!(detect(text), Some(Format::Edn));
        let ops = parse_register("h.edn", text, Format::Auto, true).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].output, Some(RegisterOutput::Read(Some(3))));
        // Independent [key value] tuples for kv.
        let kv = "{:process 0, :type :invoke, :f :read, :value [\"k\" nil]}\n{:process 0, :type :ok, :f :read, :value [\"k\" \"v\"]}\n";
        let ops = parse_kv("k.edn", kv, Format::Edn).unwrap();
        assert_eq!(ops[0].input, KvInput::Get { key: "k".into() });
        assert_eq!(ops[0].output, Some(KvOutput::Get("v".into())));
    }

    #[test]
    fn edn_errors() {
        let e =
            parse_kv("h.edn", "{:process 0 :type :invoke :f :get :key \"a\"}\n{:process 0 :type :ok\n", Format::Edn)
                .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse_kv("h.edn", "{:process 0 :type :begin :f :get :key \"a\"}\n", Format::Edn).unwrap_err();
        assert_eq!((e.line, e.col), (1, 1), "{e}");
        let e = parse_kv("h.edn", "[{:process 0 :type :invoke :f :get :key \"a\"}\n 7]\n", Format::Edn).unwrap_err();
        assert_eq!((e.line, e.col), (2, 2), "{e}");
        let e = parse_register("h.edn", "[{:process 0 :type :invoke :f :read}\n", Format::Edn, true).unwrap_err();
        assert!(e.message.contains("missing"), "{e}");
    }

    #[test]
    fn json_array_and_lines() {
        let arr = r#"[
  {"client": 1, "call": 10, "return": 20, "input": {"op": "write", "value": 3}, "output": {"ok": true}},
  {"client": 2, "call": 15, "return": null, "input": {"op": "cas", "expected": 3, "new": 4}, "output": null},
  {"client": 3, "call": 25, "return": 30, "input": {"op": "read"}, "output": {"value": 4}}
]"#;
        assert_eq!(detect(arr), Some(Format::Json));
        let ops = parse_register("h.json", arr, Format::Auto, true).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[1].ret, None);
        assert_eq!(ops[2].output, Some(RegisterOutput::Read(Some(4))));
        let lines = "{\"client\":1,\"call\":1,\"return\":2,\"input\":{\"op\":\"acquire\"},\"output\":{\"ok\":true}}\n\
                     {\"client\":2,\"call\":3,\"input\":{\"op\":\"release\"}}\n";
        let ops = parse_mutex("m.jsonl", lines, Format::Auto).unwrap();
        assert_eq!(ops[1].input, MutexInput::Release);
        assert_eq!(ops[1].output, None);
        let kv = r#"[{"client":1,"call":1,"return":2,"input":{"op":"get","key":"k"},"output":{"value":null}},
{"client":1,"call":3,"return":4,"input":{"op":"cas","key":"k","expected":"","new":"b"},"output":{"ok":false}}]"#;
        let ops = parse_kv("kv.json", kv, Format::Json).unwrap();
        assert_eq!(ops[0].output, Some(KvOutput::Get(String::new())));
        assert_eq!(ops[1].output, Some(KvOutput::Cas(false)));
    }

    #[test]
    fn json_failed_writes_are_left_out() {
        let text = r#"[{"client":1,"call":1,"return":2,"input":{"op":"write","value":1},"output":{"ok":false}},
{"client":1,"call":3,"return":4,"input":{"op":"cas","expected":1,"new":2},"output":{"ok":false}}]"#;
        let ops = parse_register("h.json", text, Format::Json, true).unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].output, Some(RegisterOutput::Cas(false)));
        let text =
            r#"{"client":1,"call":1,"return":2,"input":{"op":"put","key":"k","value":"v"},"output":{"ok":false}}"#;
        assert!(parse_kv("h.json", text, Format::Json).unwrap().is_empty());
    }

    #[test]
    fn json_errors() {
        let bad = "[\n {\"client\": 1, \"call\": 10, \"return\": 5, \"input\": {\"op\": \"read\"}, \"output\": {\"value\": 1}}\n]";
        let e = parse_register("h.json", bad, Format::Json, true).unwrap_err();
        assert_eq!((e.line, e.col), (2, 2), "{e}");
        assert!(e.message.contains("before"), "{e}");
        let bad = "[\n {\"client\": 1,, }\n]";
        let e = parse_register("h.json", bad, Format::Json, true).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let bad = "{\"client\":1,\"call\":1,\"return\":2,\"input\":{\"op\":\"read\"},\"output\":{\"value\":1}}\n{\"client\":1,\"call\":3,\"input\":{\"op\":\"jump\"}}\n";
        let e = parse_register("h.jsonl", bad, Format::Json, true).unwrap_err();
        assert_eq!((e.line, e.col), (2, 1), "{e}");
        let e = parse_register("h.json", "[1, 2", Format::Json, true).unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_kv(
            "h.json",
            "[{\"client\":1,\"call\":1,\"return\":2,\"input\":{\"op\":\"get\"},\"output\":{}}]",
            Format::Json,
        )
        .unwrap_err();
        assert!(e.message.contains("key"), "{e}");
        assert_eq!(e.to_string(), format!("h.json:1:2: {}", e.message));
    }

    #[test]
    fn formats_by_name() {
        assert_eq!("edn".parse::<Format>(), Ok(Format::Edn));
        assert_eq!("jepsen-log".parse::<Format>(), Ok(Format::JepsenLog));
        assert!("xml".parse::<Format>().is_err());
    }
}
