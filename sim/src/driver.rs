//! One node of a protocol driven by hand, input by input, outside the simulator: the unit-test
//! harness of a sans-IO protocol (in the style of etcd raft's tests). The test delivers a message,
//! fires a timer or submits a request at a local time it chooses, and reads back the outputs the
//! handler issued and the node's state. Nothing is delivered on its own: the test is the network.
//!
//! ```
//! use faultline_sim::driver::Driver;
//! use faultline_sim::example::Register;
//! use faultline_sim::prelude::*;
//!
//! let mut d = Driver::<Register>::start(NodeId(0), 3, Default::default(), &[]).unwrap();
//! let out = d.request(RequestId { client: 0, seq: 1 }, faultline_sim::example::RegisterOp::Read);
//! assert!(!out.is_empty(), "a request is answered or forwarded");
//! ```

use crate::check::Marks;
use crate::prng::{Prng, Stream};
use crate::protocol::{Bugs, Command, Ctx, Env, NodeId, Protocol, Reply, RequestId};
use crate::time::Time;

/// A started node, its random stream, its local clock and the outputs of the last step.
pub struct Driver<P: Protocol> {
    node: P,
    id: NodeId,
    rng: Prng,
    out: Vec<Command<P>>,
    marks: Marks,
    now: Time,
    started: Vec<Command<P>>,
}

impl<P: Protocol> Driver<P> {
    /// Starts node `id` of a `nodes`-node cluster from an empty disk at local time zero, with
    /// the planted bugs `bugs` (names from [`Protocol::BUGS`]) switched on.
    pub fn start(id: NodeId, nodes: u32, config: P::Config, bugs: &[&str]) -> Result<Self, String> {
        Self::start_from(id, nodes, config, bugs, &P::Durable::default())
    }

    /// Like [`Driver::start`], from what `disk` holds (a restart).
    pub fn start_from(
        id: NodeId,
        nodes: u32,
        config: P::Config,
        bugs: &[&str],
        disk: &P::Durable,
    ) -> Result<Self, String> {
        P::validate(&config, nodes).map_err(|e| e.to_string())?;
        let names: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
        let bugs = Bugs::resolve(P::BUGS, &names)?;
        let env = Env { id, nodes, config: &config, bugs, restarted: false };
        // The node's own stream, as the simulator seeds it under seed 1.
        let mut rng = Prng::new(1, Stream::Node, id.0);
        let (mut out, mut marks) = (Vec::new(), Marks::default());
        let node = P::start(&env, disk, &mut Ctx::new(id, Time::ZERO, &mut rng, &mut out, &mut marks));
        Ok(Driver { node, id, rng, out: Vec::new(), marks, now: Time::ZERO, started: out })
    }

    /// The node's state.
    pub fn node(&self) -> &P {
        &self.node
    }

    /// The node's state, to set up a case by hand.
    pub fn node_mut(&mut self) -> &mut P {
        &mut self.node
    }

    /// What `start` issued (its first messages and timers).
    pub fn started(&self) -> &[Command<P>] {
        &self.started
    }

    /// The local time the next step sees.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Moves the local clock to `ms` (it may go back, as a stepped clock does).
    pub fn set_now_ms(&mut self, ms: u64) {
        self.now = Time::from_ms(ms);
    }

    /// Moves the local clock to `t`, to the nanosecond.
    pub fn set_now(&mut self, t: Time) {
        self.now = t;
    }

    /// How often each `sometimes` mark was hit so far.
    pub fn marks(&self) -> &Marks {
        &self.marks
    }

    /// Runs `f` on the node with a context at the current local time, as a handler runs: for
    /// reaching a protocol's internal entry points from its own unit tests. Returns the outputs.
    pub fn step(&mut self, f: impl FnOnce(&mut P, &mut Ctx<P>)) -> Vec<Command<P>> {
        self.out.clear();
        f(&mut self.node, &mut Ctx::new(self.id, self.now, &mut self.rng, &mut self.out, &mut self.marks));
        std::mem::take(&mut self.out)
    }

    /// Delivers `msg` from `from`; returns the handler's outputs.
    pub fn message(&mut self, from: NodeId, msg: P::Msg) -> Vec<Command<P>> {
        self.step(|n, ctx| n.on_message(from, msg, ctx))
    }

    /// Fires `timer` at local time `at_ms`; returns the handler's outputs.
    pub fn timer(&mut self, timer: P::Timer, at_ms: u64) -> Vec<Command<P>> {
        self.set_now_ms(at_ms);
        self.step(|n, ctx| n.on_timer(timer, ctx))
    }

    /// Fires `timer` at the current local time (see [`Driver::set_now`]).
    pub fn fire(&mut self, timer: P::Timer) -> Vec<Command<P>> {
        self.step(|n, ctx| n.on_timer(timer, ctx))
    }

    /// Submits a client request; returns the handler's outputs.
    pub fn request(&mut self, req: RequestId, input: P::Input) -> Vec<Command<P>> {
        self.step(|n, ctx| n.on_request(req, input, ctx))
    }
}

/// The messages among `out`, as `(to, message)`.
pub fn sends<P: Protocol>(out: &[Command<P>]) -> impl Iterator<Item = (NodeId, &P::Msg)> {
    out.iter().filter_map(|c| match c {
        Command::Send(to, m) => Some((*to, m)),
        _ => None,
    })
}

/// The client answers among `out`.
pub fn replies<P: Protocol>(out: &[Command<P>]) -> Vec<(RequestId, &Reply<P::Output>)> {
    out.iter()
        .filter_map(|c| match c {
            Command::Reply(r, a) => Some((*r, a)),
            _ => None,
        })
        .collect()
}

/// The timers armed among `out`, with their local delays.
pub fn timers<P: Protocol>(out: &[Command<P>]) -> Vec<(&P::Timer, std::time::Duration)> {
    out.iter()
        .filter_map(|c| match c {
            Command::SetTimer(t, d) => Some((t, *d)),
            _ => None,
        })
        .collect()
}
