//! Deterministic generators of long client histories, for benchmarks and tests.
//!
//! A history is simulated against a true sequential object: time advances in ticks; at each tick
//! one client, drawn from a seeded PRNG, moves its operation one stage on (call → take effect →
//! return), so every operation takes effect strictly inside its interval and the history is
//! linearizable by construction, with about `clients` operations in flight at once. A share of
//! the state-changing operations is left *open*: the client gives up (Jepsen `:info`) and the
//! operation either took effect or never did (half each); like Jepsen, the client then continues
//! as a new process (`process + clients`). Optionally one read, in the middle of the history, is
//! given a value nobody wrote, which makes the history not linearizable.
//!
//! ```
//! use faultline_lincheck::gen::{register_history, jepsen_log, GenOptions};
//! use faultline_lincheck::formats::{parse_register, Format};
//! use faultline_lincheck::{check, models::CasRegister, Budget};
//!
//! let ops = register_history(&GenOptions { ops: 2_000, ..GenOptions::default() });
//! let log = jepsen_log(&ops);
//! let parsed = parse_register("gen.log", &log, Format::JepsenLog, true).unwrap();
//! // Jepsen's conventions leave out reads of nil and compare-and-sets that failed.
//! assert!(parsed.len() <= ops.len());
//! assert!(check(&CasRegister::default(), &parsed, &Budget::default()).is_linearizable());
//! ```

use std::fmt::Write as _;

use crate::models::{KvInput, KvOutput, RegisterInput, RegisterOutput};
use crate::Operation;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenOptions {
    /// Concurrent clients (at least 1).
    pub clients: usize,
    /// Operations in the history.
    pub ops: usize,
    /// Share of state-changing operations (writes; for key-value also puts, appends and
    /// compare-and-sets) left open, in parts per thousand (20 = 2%).
    pub open_per_mille: u32,
    /// Values a write or compare-and-set draws from (`0..values`, like Jepsen's `(rand-int 5)`).
    pub values: u32,
    /// Keys (key-value histories only).
    pub keys: u32,
    /// Give one read in the middle a value nobody wrote.
    pub wrong_read: bool,
    /// The PRNG seed.
    pub seed: u64,
}

impl Default for GenOptions {
    /// 5 clients, 10,000 operations, 2% of writes open, values 0..5, one key, seed 1.
    fn default() -> Self {
        GenOptions { clients: 5, ops: 10_000, open_per_mille: 20, values: 5, keys: 1, wrong_read: false, seed: 1 }
    }
}

/// SplitMix64: small, fast and fully determined by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        crate::hash::mix64(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n.max(1) as u128) >> 64) as u64
    }
    fn per_mille(&mut self, p: u32) -> bool {
        self.below(1000) < p as u64
    }
}

/// One client's operation in flight.
struct Flight<I, O> {
    process: u64,
    call: u64,
    input: I,
    /// Set once it took effect.
    output: Option<O>,
    /// Will never return.
    open: bool,
}

/// The simulation shared by both generators: `draw` picks an input, `apply` runs it on the true
/// object and gives the answer, `writes` says whether an input changes state (may be left open).
fn simulate<I: Clone, O: Clone, S>(
    opts: &GenOptions,
    mut state: S,
    mut draw: impl FnMut(&mut Rng) -> I,
    mut apply: impl FnMut(&mut S, &I) -> O,
    writes: impl Fn(&I) -> bool,
) -> Vec<Operation<I, O>> {
    let clients = opts.clients.max(1);
    let mut rng = Rng(opts.seed ^ 0x5eed_0f11_570e_1e00);
    let mut flights: Vec<Option<Flight<I, O>>> = (0..clients).map(|_| None).collect();
    let mut process: Vec<u64> = (0..clients as u64).collect();
    let mut out: Vec<Operation<I, O>> = Vec::with_capacity(opts.ops);
    let mut started = 0usize;
    let mut t: u64 = 0;
    while started < opts.ops || flights.iter().any(Option::is_some) {
        t += 1;
        let c = rng.below(clients as u64) as usize;
        match flights[c].take() {
            None if started < opts.ops => {
                started += 1;
                let input = draw(&mut rng);
                let open = writes(&input) && rng.per_mille(opts.open_per_mille);
                flights[c] = Some(Flight { process: process[c], call: t, input, output: None, open });
            }
            None => {}
            Some(mut f) if f.output.is_none() && !(f.open && rng.below(2) == 0) => {
                f.output = Some(apply(&mut state, &f.input));
                flights[c] = Some(f);
            }
            Some(f) if f.open => {
                // Gave up: maybe took effect, maybe not; the client continues as a new process.
                out.push(Operation { client: f.process, call: f.call, ret: None, input: f.input, output: None });
                process[c] += clients as u64;
            }
            Some(f) => {
                out.push(Operation { client: f.process, call: f.call, ret: Some(t), input: f.input, output: f.output });
            }
        }
    }
    out.sort_by_key(|o| o.call);
    out
}

/// A cas-register history (Jepsen's `cas-register` workload: a third each of reads, writes and
/// compare-and-sets, values drawn from `0..values`), starting at nil, in call order.
pub fn register_history(opts: &GenOptions) -> Vec<Operation<RegisterInput, RegisterOutput>> {
    let values = opts.values.max(1) as u64;
    let mut ops = simulate(
        opts,
        None::<i64>,
        |rng| match rng.below(3) {
            0 => RegisterInput::Read,
            1 => RegisterInput::Write(rng.below(values) as i64),
            _ => RegisterInput::Cas { expected: rng.below(values) as i64, new: rng.below(values) as i64 },
        },
        |s, i| match i {
            RegisterInput::Read => RegisterOutput::Read(*s),
            RegisterInput::Write(v) => {
                *s = Some(*v);
                RegisterOutput::Write
            }
            RegisterInput::Cas { expected, new } => {
                let ok = *s == Some(*expected);
                if ok {
                    *s = Some(*new);
                }
                RegisterOutput::Cas(ok)
            }
        },
        |i| !matches!(i, RegisterInput::Read),
    );
    if opts.wrong_read {
        let reads: Vec<usize> =
            (0..ops.len()).filter(|&k| matches!(ops[k].output, Some(RegisterOutput::Read(_)))).collect();
        if let Some(&k) = reads.get(reads.len() / 2) {
            ops[k].output = Some(RegisterOutput::Read(Some(values as i64)));
        }
    }
    ops
}

/// A key-value history over `keys` keys (`k0`, `k1`, ...): 40% gets, 20% puts of values from
/// `0..values` (written `"3,"`), 20% appends of unique tokens (`"123,"`), 20% compare-and-sets,
/// in call order.
pub fn kv_history(opts: &GenOptions) -> Vec<Operation<KvInput, KvOutput>> {
    let values = opts.values.max(1) as u64;
    let keys = opts.keys.max(1) as u64;
    let mut token = 0u64;
    let mut ops = simulate(
        opts,
        std::collections::BTreeMap::<String, String>::new(),
        |rng| {
            let key = format!("k{}", rng.below(keys));
            match rng.below(5) {
                0 | 1 => KvInput::Get { key },
                2 => KvInput::Put { key, value: format!("{},", rng.below(values)) },
                3 => {
                    token += 1;
                    KvInput::Append { key, value: format!("{token},") }
                }
                _ => KvInput::Cas {
                    key,
                    expected: format!("{},", rng.below(values)),
                    new: format!("{},", rng.below(values)),
                },
            }
        },
        |s, i| {
            let cur = s.get(i.key()).cloned().unwrap_or_default();
            match i {
                KvInput::Get { .. } => KvOutput::Get(cur),
                KvInput::Put { key, value } => {
                    s.insert(key.clone(), value.clone());
                    KvOutput::Put
                }
                KvInput::Append { key, value } => {
                    s.insert(key.clone(), cur + value);
                    KvOutput::Append
                }
                KvInput::Cas { key, expected, new } => {
                    let ok = cur == *expected;
                    if ok {
                        s.insert(key.clone(), new.clone());
                    }
                    KvOutput::Cas(ok)
                }
            }
        },
        |i| !matches!(i, KvInput::Get { .. }),
    );
    if opts.wrong_read {
        let gets: Vec<usize> = (0..ops.len()).filter(|&k| matches!(ops[k].output, Some(KvOutput::Get(_)))).collect();
        if let Some(&k) = gets.get(gets.len() / 2) {
            ops[k].output = Some(KvOutput::Get("nobody wrote this,".into()));
        }
    }
    ops
}

/// Writes a register history as a Jepsen console log (`INFO  jepsen.util - 3\t:invoke\t:write\t4`),
/// events in time order. An open operation gets an `:info :timed-out` completion right after
/// its invocation (the verdict is the same wherever it goes: `:info` leaves it open for good).
pub fn jepsen_log(ops: &[Operation<RegisterInput, RegisterOutput>]) -> String {
    // (time, 0 = invoke / 1 = complete, index)
    let mut events: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * ops.len());
    for (k, o) in ops.iter().enumerate() {
        events.push((o.call, 0, k));
        if let Some(r) = o.ret {
            events.push((r, 1, k));
        }
    }
    events.sort_unstable();
    let mut s = String::with_capacity(ops.len() * 80);
    let value = |i: &RegisterInput| match i {
        RegisterInput::Read => "nil".to_string(),
        RegisterInput::Write(v) => v.to_string(),
        RegisterInput::Cas { expected, new } => format!("[{expected} {new}]"),
    };
    let f = |i: &RegisterInput| match i {
        RegisterInput::Read => "read",
        RegisterInput::Write(_) => "write",
        RegisterInput::Cas { .. } => "cas",
    };
    for (_, kind, k) in events {
        let o = &ops[k];
        if kind == 0 {
            let _ = writeln!(s, "INFO  jepsen.util - {}\t:invoke\t:{}\t{}", o.client, f(&o.input), value(&o.input));
            if o.ret.is_none() {
                let _ = writeln!(s, "INFO  jepsen.util - {}\t:info\t:{}\t:timed-out", o.client, f(&o.input));
            }
            continue;
        }
        let (t, v) = match (&o.input, &o.output) {
            (_, Some(RegisterOutput::Read(v))) => (":ok", v.map_or_else(|| "nil".to_string(), |v| v.to_string())),
            (i, Some(RegisterOutput::Cas(false))) => (":fail", value(i)),
            (i, _) => (":ok", value(i)),
        };
        let _ = writeln!(s, "INFO  jepsen.util - {}\t{t}\t:{}\t{v}", o.client, f(&o.input));
    }
    s
}

/// Writes a key-value history as faultline JSON Lines (times are the generator's ticks).
pub fn kv_json_lines(ops: &[Operation<KvInput, KvOutput>]) -> String {
    crate::export::json_lines(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::{parse_kv, parse_register, Format};
    use crate::models::{CasRegister, Kv};
    use crate::{check, Budget, Verdict};

    #[test]
    fn deterministic_and_shaped() {
        let o = GenOptions { ops: 3_000, ..GenOptions::default() };
        let a = register_history(&o);
        assert_eq!(a, register_history(&o));
        assert_ne!(a, register_history(&GenOptions { seed: 2, ..o.clone() }));
        assert_eq!(a.len(), 3_000);
        let open = a.iter().filter(|x| x.ret.is_none()).count();
        let writes = a.iter().filter(|x| !matches!(x.input, RegisterInput::Read)).count();
        assert!(open > 0 && open * 1000 < writes * 40, "{open} open of {writes}");
        for x in &a {
            assert_eq!(x.ret.is_some(), x.output.is_some());
            assert!(x.ret.is_none_or(|r| r > x.call));
        }
    }

    #[test]
    fn round_trips_and_verdicts() {
        let o = GenOptions { ops: 4_000, ..GenOptions::default() };
        let ops = register_history(&o);
        let parsed = parse_register("g.log", &jepsen_log(&ops), Format::JepsenLog, true).unwrap();
        // Jepsen's conventions leave out reads of nil and compare-and-sets that did not swap
        // (`:fail`); everything else comes back.
        let kept = ops
            .iter()
            .filter(|x| !matches!(x.output, Some(RegisterOutput::Read(None)) | Some(RegisterOutput::Cas(false))))
            .count();
        assert_eq!(parsed.len(), kept);
        assert!(check(&CasRegister::default(), &parsed, &Budget::default()).is_linearizable());
        let bad = register_history(&GenOptions { wrong_read: true, ..o.clone() });
        assert!(matches!(check(&CasRegister::default(), &bad, &Budget::default()), Verdict::NotLinearizable(_)));

        let o = GenOptions { ops: 3_000, keys: 3, ..GenOptions::default() };
        let ops = kv_history(&o);
        let parsed = parse_kv("g.jsonl", &kv_json_lines(&ops), Format::Json).unwrap();
        assert_eq!(parsed, ops);
        assert!(check(&Kv::new(), &ops, &Budget::default()).is_linearizable());
        let bad = kv_history(&GenOptions { wrong_read: true, ..o });
        assert!(matches!(check(&Kv::new(), &bad, &Budget::default()), Verdict::NotLinearizable(_)));
    }
}
