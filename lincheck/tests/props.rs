//! Property tests: histories made linearizable by construction are accepted, and on small random
//! histories the checker agrees with a brute-force reference that tries every order.

use std::collections::BTreeMap;

use faultline_lincheck::models::{
    CasRegister, Kv, KvInput, KvOutput, KvWhole, Mutex, MutexInput, MutexOutput, RegisterInput, RegisterOutput,
};
use faultline_lincheck::{check, Budget, Model, Operation, Verdict};
use proptest::prelude::*;

type Op<M> = Operation<<M as Model>::Input, <M as Model>::Output>;

/// The reference: tries every subset of the pending operations and every order of the chosen
/// operations that respects real time (a before b whenever a returned before b was called).
fn brute_force<M: Model>(model: &M, ops: &[Op<M>]) -> bool {
    let completed: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].output.is_some()).collect();
    let pending: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].output.is_none()).collect();
    for mask in 0u32..(1 << pending.len()) {
        let mut chosen = completed.clone();
        chosen.extend(pending.iter().enumerate().filter(|(k, _)| mask & (1 << k) != 0).map(|(_, &i)| i));
        let mut used = vec![false; ops.len()];
        if orders(model, ops, &chosen, &mut used, &mut Vec::new(), model.init()) {
            return true;
        }
    }
    false
}

fn orders<M: Model>(
    model: &M,
    ops: &[Op<M>],
    chosen: &[usize],
    used: &mut [bool],
    seq: &mut Vec<usize>,
    state: M::State,
) -> bool {
    if seq.len() == chosen.len() {
        return true;
    }
    for &i in chosen {
        if used[i] {
            continue;
        }
        // i may go next only if no other unplaced chosen op returned before i was called.
        let blocked = chosen.iter().any(|&j| !used[j] && j != i && ops[j].ret.is_some_and(|r| r < ops[i].call));
        if blocked {
            continue;
        }
        let next = match &ops[i].output {
            Some(o) => model.step(&state, &ops[i].input, o),
            None => model.step_pending(&state, &ops[i].input),
        };
        if let Some(ns) = next {
            used[i] = true;
            seq.push(i);
            if orders(model, ops, chosen, used, seq, ns) {
                return true;
            }
            seq.pop();
            used[i] = false;
        }
    }
    false
}

fn verdict<M: Model>(model: &M, ops: &[Op<M>]) -> bool
where
    M::Input: Clone,
    M::Output: Clone,
{
    match check(model, ops, &Budget::unlimited()) {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable(e) => {
            // The explanation's sub-history must fail on its own.
            let sub: Vec<Op<M>> = e.minimal.iter().map(|&i| ops[i].clone()).collect();
            assert!(
                matches!(check(model, &sub, &Budget::unlimited()), Verdict::NotLinearizable(_)),
                "minimal sub-history is linearizable"
            );
            false
        }
        Verdict::Unknown(w) => panic!("unknown with an unlimited budget: {w}"),
    }
}

/// A naive key-value model over real strings: the reference for the compact one.
struct NaiveKv;
impl Model for NaiveKv {
    type State = BTreeMap<String, String>;
    type Input = KvInput;
    type Output = KvOutput;
    fn init(&self) -> Self::State {
        BTreeMap::new()
    }
    fn step(&self, s: &Self::State, i: &KvInput, o: &KvOutput) -> Option<Self::State> {
        let cur = s.get(i.key()).cloned().unwrap_or_default();
        let mut n = s.clone();
        match (i, o) {
            (KvInput::Get { .. }, KvOutput::Get(v)) => (cur == *v).then_some(n),
            (KvInput::Put { key, value }, KvOutput::Put) => {
                n.insert(key.clone(), value.clone());
                Some(n)
            }
            (KvInput::Append { key, value }, KvOutput::Append) => {
                n.insert(key.clone(), cur + value);
                Some(n)
            }
            (KvInput::Cas { key, expected, new }, KvOutput::Cas(ok)) => match (cur == *expected, ok) {
                (true, true) => {
                    n.insert(key.clone(), new.clone());
                    Some(n)
                }
                (false, false) => Some(n),
                _ => None,
            },
            _ => None,
        }
    }
    fn step_pending(&self, s: &Self::State, i: &KvInput) -> Option<Self::State> {
        let cur = s.get(i.key()).cloned().unwrap_or_default();
        let out = match i {
            KvInput::Get { .. } => KvOutput::Get(cur),
            KvInput::Put { .. } => KvOutput::Put,
            KvInput::Append { .. } => KvOutput::Append,
            KvInput::Cas { expected, .. } => KvOutput::Cas(cur == *expected),
        };
        self.step(s, i, &out)
    }
}

// ---------------------------------------------------------------------------------------------
// Generators

#[derive(Clone, Debug)]
struct Shape {
    /// Per op: how far the call starts before, and the return ends after, its linearization point.
    before: u64,
    after: u64,
    /// Never returned (but took effect).
    pending: bool,
}

fn shapes(n: usize) -> impl Strategy<Value = Vec<Shape>> {
    prop::collection::vec(
        (0u64..40, 0u64..40, prop::bool::weighted(0.15)).prop_map(|(before, after, pending)| Shape {
            before,
            after,
            pending,
        }),
        n,
    )
}

/// Runs `inputs` sequentially on `model`, then widens each op around its linearization point
/// (10 * i + 5): the sequential order stays a valid linearization.
fn widen<M: Model>(
    model: &M,
    inputs: Vec<M::Input>,
    shapes: &[Shape],
    outputs: impl Fn(&M::State, &M::Input) -> M::Output,
) -> Vec<Op<M>> {
    let mut state = model.init();
    let mut ops = Vec::new();
    for (i, (input, sh)) in inputs.into_iter().zip(shapes).enumerate() {
        let out = outputs(&state, &input);
        state = model.step(&state, &input, &out).expect("generated output is legal");
        let at = 10 * i as u64 + 100;
        ops.push(Operation {
            client: i as u64,
            call: at - sh.before.min(at),
            ret: (!sh.pending).then_some(at + sh.after),
            input,
            output: (!sh.pending).then_some(out),
        });
    }
    ops
}

fn reg_input() -> impl Strategy<Value = RegisterInput> {
    prop_oneof![
        Just(RegisterInput::Read),
        (0i64..3).prop_map(RegisterInput::Write),
        (0i64..3, 0i64..3).prop_map(|(expected, new)| RegisterInput::Cas { expected, new }),
    ]
}

fn reg_output(s: &Option<i64>, i: &RegisterInput) -> RegisterOutput {
    match i {
        RegisterInput::Read => RegisterOutput::Read(*s),
        RegisterInput::Write(_) => RegisterOutput::Write,
        RegisterInput::Cas { expected, .. } => RegisterOutput::Cas(*s == Some(*expected)),
    }
}

fn kv_input() -> impl Strategy<Value = KvInput> {
    let key = prop::sample::select(vec!["a", "b"]).prop_map(String::from);
    let val = prop::sample::select(vec!["", "x", "y", "xy"]).prop_map(String::from);
    prop_oneof![
        key.clone().prop_map(|key| KvInput::Get { key }),
        (key.clone(), val.clone()).prop_map(|(key, value)| KvInput::Put { key, value }),
        (key.clone(), val.clone()).prop_map(|(key, value)| KvInput::Append { key, value }),
        (key, val.clone(), val).prop_map(|(key, expected, new)| KvInput::Cas { key, expected, new }),
    ]
}

fn kv_output(s: &BTreeMap<String, String>, i: &KvInput) -> KvOutput {
    let cur = s.get(i.key()).cloned().unwrap_or_default();
    match i {
        KvInput::Get { .. } => KvOutput::Get(cur),
        KvInput::Put { .. } => KvOutput::Put,
        KvInput::Append { .. } => KvOutput::Append,
        KvInput::Cas { expected, .. } => KvOutput::Cas(cur == *expected),
    }
}

/// A random history with no structure at all: random intervals, random answers.
fn random_ops<I: std::fmt::Debug + Clone, O: std::fmt::Debug + Clone>(
    io: impl Strategy<Value = (I, O)>,
    max: usize,
) -> impl Strategy<Value = Vec<Operation<I, O>>> {
    prop::collection::vec((io, 0u64..30, 0u64..15, prop::bool::weighted(0.2)), 1..=max).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(k, ((i, o), call, len, pending))| Operation {
                client: k as u64,
                call,
                ret: (!pending).then_some(call + len),
                input: i,
                output: (!pending).then_some(o),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn widened_sequential_register_histories_are_linearizable(
        (inputs, sh) in (1usize..60).prop_flat_map(|n| (prop::collection::vec(reg_input(), n), shapes(n)))
    ) {
        let ops = widen(&CasRegister::default(), inputs, &sh, reg_output);
        prop_assert!(check(&CasRegister::default(), &ops, &Budget::unlimited()).is_linearizable());
    }

    #[test]
    fn widened_sequential_kv_histories_are_linearizable(
        (inputs, sh) in (1usize..40).prop_flat_map(|n| (prop::collection::vec(kv_input(), n), shapes(n)))
    ) {
        let ops = widen(&NaiveKv, inputs, &sh, kv_output);
        prop_assert!(check(&Kv::new(), &ops, &Budget::unlimited()).is_linearizable());
        prop_assert!(check(&KvWhole::new(), &ops, &Budget::unlimited()).is_linearizable());
    }

    #[test]
    fn corrupted_read_is_caught_unless_harmless(
        (inputs, sh) in (1usize..8).prop_flat_map(|n| (prop::collection::vec(reg_input(), n), shapes(n))),
        pick in any::<prop::sample::Index>(),
        wrong in prop::option::of(0i64..3),
    ) {
        let mut ops = widen(&CasRegister::default(), inputs, &sh, reg_output);
        let reads: Vec<usize> = (0..ops.len()).filter(|&i| matches!(ops[i].output, Some(RegisterOutput::Read(_)))).collect();
        prop_assume!(!reads.is_empty());
        let k = reads[pick.index(reads.len())];
        prop_assume!(ops[k].output != Some(RegisterOutput::Read(wrong)));
        ops[k].output = Some(RegisterOutput::Read(wrong));
        // Either the checker reports it, or the brute force finds the corruption harmless.
        let got = verdict(&CasRegister::default(), &ops);
        prop_assert_eq!(got, brute_force(&CasRegister::default(), &ops));
    }

    #[test]
    fn corrupted_kv_get_agrees_with_brute_force(
        (inputs, sh) in (1usize..7).prop_flat_map(|n| (prop::collection::vec(kv_input(), n), shapes(n))),
        pick in any::<prop::sample::Index>(),
        wrong in prop::sample::select(vec!["", "x", "y", "xy", "yx"]),
    ) {
        let mut ops = widen(&NaiveKv, inputs, &sh, kv_output);
        let gets: Vec<usize> = (0..ops.len()).filter(|&i| matches!(ops[i].output, Some(KvOutput::Get(_)))).collect();
        prop_assume!(!gets.is_empty());
        let k = gets[pick.index(gets.len())];
        ops[k].output = Some(KvOutput::Get(wrong.to_string()));
        let expect = brute_force(&NaiveKv, &ops);
        prop_assert_eq!(verdict(&Kv::new(), &ops), expect);
        prop_assert_eq!(verdict(&KvWhole::new(), &ops), expect);
    }

    #[test]
    fn random_register_histories_agree_with_brute_force(
        ops in random_ops((reg_input(), prop::option::of(0i64..3), any::<bool>()).prop_map(|(i, v, ok)| {
            let o = match i {
                RegisterInput::Read => RegisterOutput::Read(v),
                RegisterInput::Write(_) => RegisterOutput::Write,
                RegisterInput::Cas { .. } => RegisterOutput::Cas(ok),
            };
            (i, o)
        }), 7)
    ) {
        prop_assert_eq!(verdict(&CasRegister::default(), &ops), brute_force(&CasRegister::default(), &ops));
    }

    #[test]
    fn random_kv_histories_agree_with_brute_force(
        ops in random_ops((kv_input(), prop::sample::select(vec!["", "x", "y", "xy"]), any::<bool>()).prop_map(|(i, v, ok)| {
            let o = match i {
                KvInput::Get { .. } => KvOutput::Get(v.to_string()),
                KvInput::Put { .. } => KvOutput::Put,
                KvInput::Append { .. } => KvOutput::Append,
                KvInput::Cas { .. } => KvOutput::Cas(ok),
            };
            (i, o)
        }), 6)
    ) {
        let expect = brute_force(&NaiveKv, &ops);
        prop_assert_eq!(verdict(&Kv::new(), &ops), expect);
        prop_assert_eq!(verdict(&KvWhole::new(), &ops), expect);
    }

    #[test]
    fn random_mutex_histories_agree_with_brute_force(
        ops in random_ops((prop::bool::ANY, prop::bool::weighted(0.85)).prop_map(|(acq, ok)| {
            (if acq { MutexInput::Acquire } else { MutexInput::Release }, MutexOutput { ok })
        }), 7)
    ) {
        prop_assert_eq!(verdict(&Mutex, &ops), brute_force(&Mutex, &ops));
    }
}

// ---------------------------------------------------------------------------------------------
// Parsers never panic

const SAMPLES: &[&str] = &[
    "INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\nINFO  jepsen.util - 1\t:ok\t:cas\t[1 2]\nINFO  jepsen.util - 2 :invoke :read nil\nINFO  jepsen.util - 2 :info :read :timed-out\n",
    "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n{:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n",
    "; c\n[{:process 0 :type :invoke :f :acquire :value nil}\n {:process :nemesis :type :info :f :start}\n {:process 0 :type :ok :f :acquire}]\n",
    "[{\"client\":1,\"call\":1,\"return\":2,\"input\":{\"op\":\"get\",\"key\":\"k\"},\"output\":{\"value\":\"v\"}},\n {\"client\":2,\"call\":1,\"return\":null,\"input\":{\"op\":\"cas\",\"key\":\"k\",\"expected\":\"a\",\"new\":\"b\"},\"output\":null}]",
];

fn parse_all(text: &str) {
    use faultline_lincheck::formats::{parse_kv, parse_mutex, parse_register, Format};
    for f in [Format::Auto, Format::JepsenLog, Format::Edn, Format::Json] {
        let _ = parse_register("f", text, f, true);
        let _ = parse_kv("f", text, f);
        let _ = parse_mutex("f", text, f);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_mutated_histories(
        which in 0..SAMPLES.len(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(vec!['[', ']', '{', '}', '"', ':', ' ', '\n', '\\', 'é', '1', '-', ',', ';', '#'])), 1..6),
    ) {
        let mut chars: Vec<char> = SAMPLES[which].chars().collect();
        for (at, kind, c) in edits {
            let i = at.index(chars.len().max(1)).min(chars.len());
            match kind {
                0 if i < chars.len() => { chars.remove(i); }
                1 => chars.insert(i, c),
                _ if i < chars.len() => chars[i] = c,
                _ => {}
            }
        }
        let text: String = chars.into_iter().collect();
        parse_all(&text);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in "\\PC{0,200}") {
        parse_all(&text);
    }
}
