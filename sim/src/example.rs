//! A primary-backup register: the simulator's own small, real protocol, and the worked example
//! of putting a protocol under faultline.
//!
//! Node 0 is the primary. A write gets the next version, is made durable on the primary, copied
//! to every backup, and answered once every backup has acknowledged a version at least as new.
//! The primary retransmits copies on a timer, so loss only delays. Reads are answered by the
//! primary from its current value. There is no fail-over: when the primary is unreachable the
//! register is unavailable, never inconsistent.
//!
//! Checks: every node's version never decreases, across restarts too (`register.monotonic`); a
//! backup acknowledges only what it has synced (`register.ack-durable`); the client history is
//! linearizable as a register (`register.linearizable`).

use crate::check::Violation;
use crate::history::{History, Outcome};
use crate::prng::Prng;
use crate::protocol::{BugInfo, Ctx, Durable, Env, NodeId, Protocol, RequestId, View};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The primary.
const PRIMARY: NodeId = NodeId(0);

/// Settings from the scenario's `[config]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegisterConfig {
    /// Written values are drawn from `0..values`.
    pub values: u64,
    /// Percentage of reads in the workload.
    pub read_percent: u64,
    /// Retransmission period of the primary, local ms.
    pub retransmit_ms: u64,
}

impl Default for RegisterConfig {
    fn default() -> Self {
        RegisterConfig { values: 5, read_percent: 50, retransmit_ms: 20 }
    }
}

/// A client operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterOp {
    /// Read the value.
    Read,
    /// Write a value.
    Write(u64),
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterAnswer {
    /// The value read (`None` before any write).
    Value(Option<u64>),
    /// The write is durable on every node.
    Written,
}

/// Messages between the primary and the backups.
#[derive(Clone, Debug, Hash)]
pub enum RegisterMsg {
    /// The primary's current version and value.
    Copy {
        /// Version.
        version: u64,
        /// Value.
        value: u64,
    },
    /// A backup holds (durably) this version or a newer one.
    Ack {
        /// Version.
        version: u64,
    },
}

/// What a node keeps on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisterDisk {
    /// Current version (0: never written).
    pub version: u64,
    /// Current value.
    pub value: Option<u64>,
    /// Highest request sequence applied per client, with the version it produced (primary
    /// only), so a retried write applies once.
    pub applied: BTreeMap<u32, (u32, u64)>,
}

/// One durable write.
#[derive(Clone, Debug)]
pub struct RegisterWrite {
    version: u64,
    value: u64,
    applied: Option<(u32, u32)>,
}

impl Durable for RegisterDisk {
    type Write = RegisterWrite;
    fn apply(&mut self, w: &RegisterWrite) {
        self.version = w.version;
        self.value = Some(w.value);
        if let Some((client, seq)) = w.applied {
            self.applied.insert(client, (seq, w.version));
        }
    }
}

/// The only timer: the primary's retransmission tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retransmit;

/// One node of the register.
#[derive(Debug)]
pub struct Register {
    id: NodeId,
    nodes: u32,
    config: RegisterConfig,
    disk: RegisterDisk,
    /// Primary: highest version each backup acknowledged.
    acked: Vec<u64>,
    /// Primary: writes waiting for acknowledgements.
    waiting: Vec<(RequestId, u64)>,
    bug_no_sync: bool,
    bug_ack_before_sync: bool,
    bug_read_from_backup: bool,
}

/// Ghost state of the register's checker.
#[derive(Debug, Default)]
pub struct RegisterGhost {
    /// Highest version ever seen at each node.
    max_version: BTreeMap<u32, u64>,
}

impl Register {
    fn replicated(&self, version: u64) -> bool {
        (1..self.nodes as usize).all(|b| self.acked[b] >= version)
    }

    fn answer_replicated(&mut self, ctx: &mut Ctx<Self>) {
        let mut still = Vec::with_capacity(self.waiting.len());
        for (req, version) in std::mem::take(&mut self.waiting) {
            if self.replicated(version) {
                ctx.reply(req, RegisterAnswer::Written);
            } else {
                still.push((req, version));
            }
        }
        self.waiting = still;
    }

    fn copy_to_lagging(&self, ctx: &mut Ctx<Self>) {
        let Some(value) = self.disk.value else { return };
        for b in 1..self.nodes {
            if self.acked[b as usize] < self.disk.version {
                ctx.send(NodeId(b), RegisterMsg::Copy { version: self.disk.version, value });
            }
        }
    }
}

impl Protocol for Register {
    const NAME: &'static str = "register";
    const BUGS: &'static [BugInfo] = &[
        BugInfo {
            name: "register.no-sync",
            breaks: "the primary never syncs its writes, so a crash forgets acknowledged writes",
            caught_by: "register.monotonic",
            scenarios: &["register-crash"],
        },
        BugInfo {
            name: "register.ack-before-sync",
            breaks: "a backup acknowledges a copy before making it durable",
            caught_by: "register.ack-durable",
            scenarios: &["register-steady"],
        },
        BugInfo {
            name: "register.read-from-backup",
            breaks: "backups answer reads from their possibly stale copy",
            caught_by: "register.linearizable",
            scenarios: &["register-steady"],
        },
    ];
    const MARKS: &'static [&'static str] = &["register.retry-deduplicated"];

    type Config = RegisterConfig;
    type Msg = RegisterMsg;
    type Timer = Retransmit;
    type Durable = RegisterDisk;
    type Input = RegisterOp;
    type Output = RegisterAnswer;
    type Ghost = RegisterGhost;

    fn start(env: &Env<Self>, disk: &RegisterDisk, ctx: &mut Ctx<Self>) -> Self {
        let node = Register {
            id: env.id,
            nodes: env.nodes,
            config: env.config.clone(),
            disk: disk.clone(),
            acked: vec![0; env.nodes as usize],
            waiting: Vec::new(),
            bug_no_sync: env.bugs.has("register.no-sync"),
            bug_ack_before_sync: env.bugs.has("register.ack-before-sync"),
            bug_read_from_backup: env.bugs.has("register.read-from-backup"),
        };
        if node.id == PRIMARY {
            ctx.set_timer(Retransmit, Duration::from_millis(node.config.retransmit_ms));
        }
        node
    }

    fn on_message(&mut self, from: NodeId, msg: RegisterMsg, ctx: &mut Ctx<Self>) {
        match msg {
            RegisterMsg::Copy { version, value } => {
                if version > self.disk.version {
                    let w = RegisterWrite { version, value, applied: None };
                    self.disk.apply(&w);
                    ctx.write(w);
                    if self.bug_ack_before_sync {
                        ctx.send(from, RegisterMsg::Ack { version });
                        ctx.sync();
                        return;
                    }
                    ctx.sync();
                }
                ctx.send(from, RegisterMsg::Ack { version: self.disk.version });
            }
            RegisterMsg::Ack { version } => {
                if self.id == PRIMARY && version > self.acked[from.index()] {
                    self.acked[from.index()] = version;
                    self.answer_replicated(ctx);
                }
            }
        }
    }

    fn on_timer(&mut self, _timer: Retransmit, ctx: &mut Ctx<Self>) {
        self.copy_to_lagging(ctx);
        ctx.set_timer(Retransmit, Duration::from_millis(self.config.retransmit_ms));
    }

    fn on_request(&mut self, req: RequestId, op: RegisterOp, ctx: &mut Ctx<Self>) {
        if self.id != PRIMARY {
            if self.bug_read_from_backup && op == RegisterOp::Read {
                return ctx.reply(req, RegisterAnswer::Value(self.disk.value));
            }
            return ctx.reject(req, Some(PRIMARY));
        }
        match op {
            RegisterOp::Read => ctx.reply(req, RegisterAnswer::Value(self.disk.value)),
            RegisterOp::Write(value) => {
                if let Some(&(seq, version)) = self.disk.applied.get(&req.client) {
                    if req.seq <= seq {
                        // A retry of a write already applied: wait for (or confirm) its copies.
                        ctx.sometimes("register.retry-deduplicated");
                        self.waiting.push((req, version));
                        return self.answer_replicated(ctx);
                    }
                }
                let w = RegisterWrite { version: self.disk.version + 1, value, applied: Some((req.client, req.seq)) };
                self.disk.apply(&w);
                ctx.write(w);
                if !self.bug_no_sync {
                    ctx.sync();
                }
                self.waiting.push((req, self.disk.version));
                if self.nodes == 1 {
                    return self.answer_replicated(ctx);
                }
                self.copy_to_lagging(ctx);
            }
        }
    }

    fn validate(c: &RegisterConfig, _nodes: u32) -> Result<(), crate::protocol::ConfigError> {
        crate::validate::within("values", c.values, 1, u64::from(u32::MAX))?;
        crate::validate::percents(&[("read_percent", c.read_percent)])?;
        crate::validate::ms("retransmit_ms", c.retransmit_ms, 1)
    }

    fn generate(config: &RegisterConfig, _client: u32, rng: &mut Prng) -> RegisterOp {
        if rng.chance(config.read_percent.min(100), 100) {
            RegisterOp::Read
        } else {
            RegisterOp::Write(rng.below(config.values.max(1)))
        }
    }

    fn is_leader(&self) -> bool {
        self.id == PRIMARY
    }

    fn check_step(ghost: &mut RegisterGhost, view: &View<Self>, node: NodeId, out: &mut Vec<Violation>) {
        let Some(state) = view.node(node).state else { return };
        let max = ghost.max_version.entry(node.0).or_insert(0);
        if state.disk.version < *max {
            out.push(Violation::new(
                "register.monotonic",
                Some(node),
                format!("version went back from {} to {}", *max, state.disk.version),
            ));
        }
        *max = (*max).max(state.disk.version);
    }

    fn observe_send(
        _ghost: &mut RegisterGhost,
        view: &View<Self>,
        from: NodeId,
        _to: NodeId,
        msg: &RegisterMsg,
        out: &mut Vec<Violation>,
    ) {
        if let RegisterMsg::Ack { version } = msg {
            let synced = view.node(from).synced.version;
            if synced < *version {
                out.push(Violation::new(
                    "register.ack-durable",
                    Some(from),
                    format!("acknowledged version {version} with only version {synced} durable"),
                ));
            }
        }
    }

    fn check_end(
        _ghost: &mut RegisterGhost,
        view: &View<Self>,
        history: &History<RegisterOp, RegisterAnswer>,
        out: &mut Vec<Violation>,
    ) -> Option<String> {
        crate::example::linearizable(history, view.history_budget, out)
    }
}

/// Checks the history against a sequential register.
fn linearizable(
    history: &History<RegisterOp, RegisterAnswer>,
    history_budget: u64,
    out: &mut Vec<Violation>,
) -> Option<String> {
    use faultline_lincheck::models::{RegisterInput, RegisterOutput};
    let ops: Vec<_> = history
        .ops
        .iter()
        .filter(|o| o.outcome != Outcome::Failed)
        .map(|o| faultline_lincheck::Operation {
            client: u64::from(o.client),
            call: o.call_ns,
            ret: if o.outcome == Outcome::Ok { o.return_ns } else { None },
            input: match o.input {
                RegisterOp::Read => RegisterInput::Read,
                RegisterOp::Write(v) => RegisterInput::Write(v as i64),
            },
            output: match (&o.outcome, &o.output) {
                (Outcome::Ok, Some(RegisterAnswer::Value(v))) => Some(RegisterOutput::Read(v.map(|x| x as i64))),
                (Outcome::Ok, Some(RegisterAnswer::Written)) => Some(RegisterOutput::Write),
                _ => None,
            },
        })
        .collect();
    let model = faultline_lincheck::models::CasRegister { init: None };
    crate::lin::verdict(&model, &ops, "register.linearizable", history_budget, out)
}
