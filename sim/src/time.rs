//! Simulated time.
//!
//! True time is an integer count of nanoseconds since the start of the run. Only the simulator
//! and the checkers see it; a protocol sees its node's local clock (see [`crate::clock`]).

use std::fmt;
use std::time::Duration;

/// A point in simulated time, in nanoseconds since the start of the run (true time), or a reading
/// of a node's local clock (same unit, arbitrary origin).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    /// The start of the run.
    pub const ZERO: Time = Time(0);
    /// Later than every reachable instant.
    pub const MAX: Time = Time(u64::MAX);

    /// From milliseconds, saturating at [`Time::MAX`] (so debug and release agree on every
    /// input; scenario validation keeps real values far below it).
    pub const fn from_ms(ms: u64) -> Time {
        Time(ms.saturating_mul(1_000_000))
    }

    /// From microseconds, saturating.
    pub const fn from_us(us: u64) -> Time {
        Time(us.saturating_mul(1_000))
    }

    /// Nanoseconds.
    pub const fn as_ns(self) -> u64 {
        self.0
    }

    /// Whole milliseconds (rounded down).
    pub const fn as_ms(self) -> u64 {
        self.0 / 1_000_000
    }

    /// Milliseconds as a float, for reports only (never for decisions).
    pub fn as_ms_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// `self + d`, saturating at [`Time::MAX`].
    pub fn saturating_add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(duration_ns(d)))
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl std::ops::Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        self.saturating_add(d)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 / 1_000_000;
        let us = (self.0 / 1_000) % 1_000;
        write!(f, "{ms}.{us:03}ms")
    }
}

/// A duration in nanoseconds as `u64`, saturating.
pub fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Milliseconds to a [`Duration`]; shorthand for protocol code.
pub const fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}
