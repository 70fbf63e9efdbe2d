//! faultline's bare event loop against turmoil on the same token-ring workload, in one process.
//!
//! A ring of 5 nodes with a fixed one-way link latency and no loss. Each node injects `T`
//! tokens at the start and forwards every token it receives to the next node (`id + 1 mod 5`).
//! Both simulators run until the same number of deliveries (1.6 million, or 160 thousand with
//! `--quick`); each run's CPU time is taken from the calling thread's CPU clock (both simulators
//! are single-threaded), and the figure is deliveries per CPU-second.
//!
//! Run with `cargo run --release --manifest-path scripts/turmoil-bench/Cargo.toml [-- --quick]`.

use faultline_sim::prelude::*;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Nodes in the ring.
const NODES: u32 = 5;
/// Deliveries per run (a tenth of it with `--quick`).
const DELIVERIES: u64 = 1_600_000;
/// Measurements of each simulator per configuration, interleaved.
const REPEATS: usize = 3;
/// The UDP port every turmoil host binds.
const PORT: u16 = 9000;

/// One workload configuration.
#[derive(Clone, Copy, Debug)]
struct Workload {
    /// Tokens each node injects at the start.
    tokens: u32,
    /// Fixed one-way link latency, ms.
    latency_ms: u64,
    /// Deliveries to run for.
    deliveries: u64,
    /// The faultline/turmoil ratio this configuration should reach, if it has a target.
    target_ratio: Option<f64>,
}

impl Workload {
    /// Simulated time that yields `deliveries`: every token makes one hop per `latency_ms`, so
    /// the ring delivers `NODES * tokens` messages every `latency_ms`.
    fn sim_ms(&self) -> u64 {
        let per_hop = u64::from(NODES * self.tokens);
        self.deliveries.div_ceil(per_hop) * self.latency_ms
    }

    /// Deliveries the ring makes in `sim_ms` (a multiple of one hop of every token).
    fn expected_deliveries(&self) -> u64 {
        self.sim_ms() / self.latency_ms * u64::from(NODES * self.tokens)
    }
}

/// What one run of either simulator did and cost.
#[derive(Clone, Copy, Debug)]
struct Measurement {
    /// Messages delivered to nodes.
    deliveries: u64,
    /// Simulated time reached, ms.
    sim_ms: u64,
    /// CPU time of this thread.
    thread_cpu: Duration,
    /// CPU time of the whole process (to show that no other thread did work).
    process_cpu: Duration,
    /// Wall-clock time.
    wall: Duration,
}

impl Measurement {
    /// Deliveries per CPU-second of this thread.
    fn rate(&self) -> f64 {
        self.deliveries as f64 / self.thread_cpu.as_secs_f64()
    }
}

/// Reads one of the kernel's CPU clocks.
fn cpu_clock(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec and `clock` is one of the clocks that every
    // Linux kernel has; clock_gettime writes only to `ts`.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock}) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `f` and measures it; `f` returns (deliveries, simulated ms reached).
fn measure(f: impl FnOnce() -> (u64, u64)) -> Measurement {
    let (t0, p0, w0) =
        (cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID), cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID), Instant::now());
    let (deliveries, sim_ms) = f();
    Measurement {
        deliveries,
        sim_ms,
        thread_cpu: cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID) - t0,
        process_cpu: cpu_clock(libc::CLOCK_PROCESS_CPUTIME_ID) - p0,
        wall: w0.elapsed(),
    }
}

// ---------------------------------------------------------------------------------------------
// faultline
// ---------------------------------------------------------------------------------------------

/// A faultline node of the ring: no timer, `tokens` tokens injected at start.
#[derive(Debug)]
struct Ring {
    /// This node.
    id: NodeId,
    /// Ring size.
    n: u32,
    /// Tokens this node received (and forwarded).
    passed: u64,
}

/// A token: its hop count so far.
#[derive(Clone, Debug, Hash)]
struct Token(u64);

/// The ring's `[config]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RingConfig {
    /// Tokens each node injects at the start.
    tokens: u32,
}

impl Protocol for Ring {
    const NAME: &'static str = "token-ring";
    type Config = RingConfig;
    type Msg = Token;
    type Timer = ();
    type Durable = ();
    type Input = u64;
    type Output = u64;
    type Ghost = ();

    fn start(env: &Env<Self>, _durable: &(), ctx: &mut Ctx<Self>) -> Self {
        let next = NodeId((env.id.0 + 1) % env.nodes);
        for _ in 0..env.config.tokens {
            ctx.send(next, Token(0));
        }
        Ring { id: env.id, n: env.nodes, passed: 0 }
    }

    fn on_message(&mut self, _from: NodeId, msg: Token, ctx: &mut Ctx<Self>) {
        self.passed += 1;
        ctx.send(NodeId((self.id.0 + 1) % self.n), Token(msg.0 + 1));
    }

    fn on_timer(&mut self, _timer: (), _ctx: &mut Ctx<Self>) {}

    fn on_request(&mut self, req: RequestId, input: u64, ctx: &mut Ctx<Self>) {
        ctx.reply(req, input);
    }

    fn generate(_config: &RingConfig, _client: u32, rng: &mut Prng) -> u64 {
        rng.below(10)
    }
}

/// The faultline scenario for `w`: ends by duration, with the event budget raised past the run.
fn faultline_scenario(w: &Workload) -> Scenario {
    let text = format!(
        "name = \"turmoil-bench\"\nprotocol = \"token-ring\"\nnodes = {NODES}\nduration_ms = {dur}\n\
         [config]\ntokens = {tokens}\n\
         [network]\ndelay = {{ dist = \"fixed\", ms = {lat} }}\n\
         [workload]\nclients = 0\n\
         [checks]\nhistory = false\n\
         [limits]\nmax_events = {max_events}\n",
        dur = w.sim_ms(),
        tokens = w.tokens,
        lat = w.latency_ms,
        max_events = 2 * w.expected_deliveries() + 1_000,
    );
    Scenario::from_toml_str("turmoil-bench.toml", &text).unwrap_or_else(|e| panic!("bench scenario: {e:?}"))
}

/// One faultline run to the end of the scenario: (deliveries, simulated ms).
fn run_faultline(s: &Scenario) -> (u64, u64) {
    let mut sim = Simulation::<Ring>::new(s, &RunOptions::seeded(1)).expect("valid scenario");
    let end = Time::from_ms(s.duration_ms.0);
    assert!(sim.run_until(end), "the faultline run stopped before its end");
    let passed: u64 = (0..NODES).map(|i| sim.node(NodeId(i)).expect("no crashes").passed).sum();
    let report = sim.finish();
    assert!(report.unknown_reason.is_none(), "faultline run inconclusive: {:?}", report.unknown_reason);
    assert_eq!(report.messages.delivered, passed, "the report's delivered count and the nodes' disagree");
    (report.messages.delivered, report.sim_time_ms)
}

// ---------------------------------------------------------------------------------------------
// turmoil
// ---------------------------------------------------------------------------------------------

/// The software of turmoil host `n{id}`: bind, send `tokens` 8-byte tokens to the next host,
/// then forward every token received, counting it in `count`.
async fn turmoil_node(id: u32, tokens: u32, count: Rc<Cell<u64>>) -> turmoil::Result {
    let sock = turmoil::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, PORT)).await?;
    let next = SocketAddr::new(turmoil::lookup(format!("n{}", (id + 1) % NODES)), PORT);
    for _ in 0..tokens {
        sock.send_to(&0u64.to_le_bytes(), next).await?;
    }
    let mut buf = [0u8; 8];
    loop {
        let (len, _from) = sock.recv_from(&mut buf).await?;
        assert_eq!(len, 8, "a token is 8 bytes");
        count.set(count.get() + 1);
        let hops = u64::from_le_bytes(buf) + 1;
        sock.send_to(&hops.to_le_bytes(), next).await?;
    }
}

/// The turmoil ring: `tokens` tokens per host, `latency_ms` links, meant to run `sim_ms`
/// simulated ms; and the counter its hosts bump on every token received.
fn turmoil_sim(tokens: u32, latency_ms: u64, sim_ms: u64) -> (turmoil::Sim<'static>, Rc<Cell<u64>>) {
    let latency = Duration::from_millis(latency_ms);
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_millis(2 * sim_ms + 1_000))
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(latency)
        .max_message_latency(latency)
        .fail_rate(0.0)
        .repair_rate(1.0)
        // All `tokens` tokens from the previous host land in one tick: the default receive
        // buffer of 64 datagrams would drop some.
        .udp_capacity((4 * tokens as usize).max(64))
        .rng_seed(1)
        .build();
    let count = Rc::new(Cell::new(0u64));
    for id in 0..NODES {
        let count = count.clone();
        sim.host(format!("n{id}"), move || turmoil_node(id, tokens, count.clone()));
    }
    (sim, count)
}

/// One turmoil run, stepped until the ring made `w.expected_deliveries()` deliveries:
/// (deliveries, simulated ms).
fn run_turmoil(w: &Workload) -> (u64, u64) {
    let (mut sim, count) = turmoil_sim(w.tokens, w.latency_ms, w.sim_ms());
    // No client: `sim.run()` would return at once, so step the hosts by hand.
    let max_steps = 2 * w.sim_ms() + 1_000;
    let target = w.expected_deliveries();
    let mut steps = 0;
    while count.get() < target {
        sim.step().expect("turmoil step");
        steps += 1;
        assert!(steps <= max_steps, "turmoil stalled at {} of {target} deliveries", count.get());
    }
    let sim_ms = sim.elapsed().as_millis() as u64;
    drop(sim);
    (count.get(), sim_ms)
}

/// turmoil's cost of one step (one 1 ms tick of all 5 hosts) with nothing in flight: the ring
/// with no tokens, its hosts blocked in `recv_from`. CPU time per step, building the simulation
/// not counted.
fn turmoil_idle_step(steps: u64) -> Duration {
    let (mut sim, count) = turmoil_sim(0, 5, steps);
    sim.step().expect("turmoil step"); // the hosts bind their sockets
    let m = measure(|| {
        for _ in 0..steps {
            sim.step().expect("turmoil step");
        }
        (0, 0)
    });
    assert_eq!(count.get(), 0);
    m.thread_cpu / steps as u32
}

// ---------------------------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------------------------

/// The turmoil version this binary was built with, from the package's lock file.
fn turmoil_version() -> &'static str {
    let lock = include_str!("../Cargo.lock");
    lock.split("[[package]]")
        .find(|p| p.contains("name = \"turmoil\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or("unknown")
}

/// Median of a non-empty slice.
fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Formats a rate in deliveries per CPU-second.
fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:7.2} M/s", r / 1e6)
    } else {
        format!("{:7.1} k/s", r / 1e3)
    }
}

/// Prints one measurement.
fn print_measurement(who: &str, m: &Measurement) {
    let extra = m.process_cpu.saturating_sub(m.thread_cpu);
    let note = if extra > m.thread_cpu / 20 {
        format!("  (process CPU {:.3} s)", m.process_cpu.as_secs_f64())
    } else {
        String::new()
    };
    println!(
        "    {who:<9} {:>9} deliveries  sim {:>6} ms  cpu {:7.3} s  wall {:7.3} s  {}{note}",
        m.deliveries,
        m.sim_ms,
        m.thread_cpu.as_secs_f64(),
        m.wall.as_secs_f64(),
        fmt_rate(m.rate()),
    );
}

/// Measures one configuration, interleaved, and prints it; returns whether its target was met.
/// `idle_step` is turmoil's cost of one step with nothing in flight, to show how much of its
/// time the ticking alone takes.
fn bench(w: &Workload, idle_step: Duration) -> Option<bool> {
    println!(
        "T={} tokens/node, {} ms links: {} deliveries expected in {} ms simulated",
        w.tokens,
        w.latency_ms,
        w.expected_deliveries(),
        w.sim_ms()
    );
    let scenario = faultline_scenario(w);
    let mut ratios = Vec::new();
    let (mut fl_rates, mut tm_rates, mut tm_cpu) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 1..=REPEATS {
        println!("  run {rep}");
        let fl = measure(|| run_faultline(&scenario));
        print_measurement("faultline", &fl);
        let tm = measure(|| run_turmoil(w));
        print_measurement("turmoil", &tm);
        let diff = (fl.deliveries as f64 - tm.deliveries as f64).abs() / fl.deliveries as f64;
        assert!(diff < 0.03, "delivery counts differ by {:.1}%", diff * 100.0);
        let ratio = fl.rate() / tm.rate();
        println!("    ratio     {ratio:.1}x");
        ratios.push(ratio);
        fl_rates.push(fl.rate());
        tm_rates.push(tm.rate());
        tm_cpu.push(tm.thread_cpu.as_secs_f64());
    }
    let med = median(&ratios);
    println!(
        "  median: faultline {}, turmoil {}, ratio {med:.1}x",
        fmt_rate(median(&fl_rates)).trim(),
        fmt_rate(median(&tm_rates)).trim()
    );
    let ticking = idle_step.as_secs_f64() * w.sim_ms() as f64;
    println!(
        "  turmoil ticking alone ({} steps at {:.2} us): {ticking:.3} s = {:.0}% of its median CPU",
        w.sim_ms(),
        idle_step.as_secs_f64() * 1e6,
        100.0 * ticking / median(&tm_cpu)
    );
    let met = w.target_ratio.map(|t| med >= t);
    match w.target_ratio {
        Some(t) => println!("  target {t}x: {}", if med >= t { "met" } else { "not met" }),
        None => println!("  (reference, no target)"),
    }
    println!();
    met
}

fn main() {
    let mut quick = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => quick = true,
            "-h" | "--help" => {
                println!("usage: turmoil-bench [--quick]   (--quick: 10x fewer deliveries)");
                return;
            }
            other => {
                eprintln!("unknown argument `{other}` (try --help)");
                std::process::exit(2);
            }
        }
    }
    let deliveries = if quick { DELIVERIES / 10 } else { DELIVERIES };
    println!(
        "faultline-sim (path ../../sim) vs turmoil {}: ring of {NODES} nodes, no loss, {deliveries} deliveries per run{}",
        turmoil_version(),
        if quick { " (--quick)" } else { "" }
    );
    println!("figures are deliveries per CPU-second of the benchmark thread; {REPEATS} runs each, interleaved");
    // Warm-up, untimed: the first run of a process pays for page faults and cold caches.
    let warm = Workload { tokens: 16, latency_ms: 5, deliveries: DELIVERIES / 10, target_ratio: None };
    run_faultline(&faultline_scenario(&warm));
    run_turmoil(&warm);
    let idle_step = turmoil_idle_step(20_000);
    println!(
        "turmoil idle step (5 hosts blocked in recv, nothing in flight): {:.2} us CPU per 1 ms tick\n",
        idle_step.as_secs_f64() * 1e6
    );
    let workloads = [
        Workload { tokens: 16, latency_ms: 5, deliveries, target_ratio: Some(20.0) },
        Workload { tokens: 256, latency_ms: 5, deliveries, target_ratio: Some(10.0) },
        Workload { tokens: 8, latency_ms: 1, deliveries, target_ratio: None },
    ];
    let results: Vec<_> = workloads.iter().map(|w| bench(w, idle_step)).collect();
    println!("summary:");
    for (w, met) in workloads.iter().zip(&results) {
        if let (Some(t), Some(met)) = (w.target_ratio, met) {
            println!("  T={} {} ms: target {t}x: {}", w.tokens, w.latency_ms, if *met { "met" } else { "not met" });
        }
    }
}
