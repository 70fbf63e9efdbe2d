//! Per-node clocks with offset, drift and jumps.
//!
//! A node's local clock reads `BASE + offset + t + t * drift_ppm / 1_000_000` at true time `t`
//! (nanoseconds, integer arithmetic, the drift term rounded toward negative infinity), plus every
//! jump applied so far. `BASE` keeps readings positive whatever the offset. A protocol only ever
//! sees this reading; checkers see true time.
//!
//! Timers measure *elapsed local time* at the rate of the clock (like a monotonic clock whose
//! oscillator drifts): a timer for local duration `d` fires after true duration
//! `ceil(d * 1e6 / (1e6 + drift_ppm))`. Jumps change what `now()` reads but not when armed timers
//! fire, as with wall-clock steps on a real machine.
//!
//! A node also has a *monotonic* reading ([`Clock::monotonic`], `Ctx::monotonic`): the same
//! drifting oscillator without the jumps, like `CLOCK_MONOTONIC`. A protocol that measures
//! elapsed time (leases, "heard from the leader lately") must use it: the wall reading can step
//! backwards and stretch a lease.

use crate::time::Time;
use std::time::Duration;

/// Local clocks start here (about 11.6 days) so that negative offsets and backward jumps never
/// make a reading negative.
pub const BASE_NS: i64 = 1_000_000 * 1_000_000_000;

/// Bounds on drift accepted anywhere: ±50% is far past any real oscillator, and keeps the
/// timer arithmetic away from division by zero.
pub const MAX_DRIFT_PPM: i64 = 500_000;

/// One node's clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// Fixed offset from true time, plus every jump applied so far (ns).
    pub offset_ns: i64,
    /// Rate error in parts per million: +100 runs 100 µs fast per true second.
    pub drift_ppm: i64,
    /// The sum of every jump so far (ns): what the wall reading has and the monotonic one has not.
    pub stepped_ns: i64,
}

impl Clock {
    /// A clock with the given offset and drift.
    pub fn new(offset_ns: i64, drift_ppm: i64) -> Clock {
        assert!(drift_ppm.unsigned_abs() <= MAX_DRIFT_PPM.unsigned_abs(), "drift {drift_ppm} ppm out of bounds");
        Clock { offset_ns, drift_ppm, stepped_ns: 0 }
    }

    /// The local reading at true time `t`.
    #[inline]
    pub fn local(&self, t: Time) -> Time {
        let t = i128::from(t.0);
        let drift = (t * i128::from(self.drift_ppm)).div_euclid(1_000_000);
        let local = i128::from(BASE_NS) + i128::from(self.offset_ns) + t + drift;
        Time(local.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The monotonic reading at true time `t`: the wall reading without the jumps. It advances
    /// at the clock's (drifting) rate and never steps.
    #[inline]
    pub fn monotonic(&self, t: Time) -> Time {
        let wall = i128::from(self.local(t).0);
        Time((wall - i128::from(self.stepped_ns)).clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The true duration after which the local clock has advanced by `local`.
    #[inline]
    pub fn true_duration(&self, local: Duration) -> u64 {
        let d = local.as_nanos();
        let rate = (1_000_000 + self.drift_ppm) as u128;
        let t = (d * 1_000_000).div_ceil(rate);
        u64::try_from(t).unwrap_or(u64::MAX)
    }

    /// The earliest true time at which this clock reads at least `local` (assuming no further
    /// jumps); `Time::ZERO` if it already did at the start. Checkers use it to place a node's
    /// local deadline in true time.
    pub fn true_time_of(&self, local: Time) -> Time {
        let rate = i128::from(1_000_000 + self.drift_ppm);
        let since_base = i128::from(local.0) - i128::from(BASE_NS) - i128::from(self.offset_ns);
        if since_base <= 0 {
            return Time::ZERO;
        }
        // local(t) = t + floor(t * drift / 1e6) is non-decreasing: start from the real-valued
        // inverse and step to the exact first t.
        let mut t = (since_base * 1_000_000 / rate).max(0);
        let reading = |t: i128| t + (t * i128::from(self.drift_ppm)).div_euclid(1_000_000);
        while t > 0 && reading(t - 1) >= since_base {
            t -= 1;
        }
        while reading(t) < since_base {
            t += 1;
        }
        Time(t.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The earliest true time at which the monotonic reading is at least `mono` (assuming no
    /// further drift changes).
    pub fn true_time_of_monotonic(&self, mono: Time) -> Time {
        let wall = i128::from(mono.0) + i128::from(self.stepped_ns);
        self.true_time_of(Time(wall.clamp(0, i128::from(u64::MAX)) as u64))
    }

    /// Steps the clock by `delta_ns` (forward if positive). The monotonic reading does not move.
    pub fn jump(&mut self, delta_ns: i64) {
        self.offset_ns = self.offset_ns.saturating_add(delta_ns);
        self.stepped_ns = self.stepped_ns.saturating_add(delta_ns);
    }

    /// Changes the rate from true time `now` on, keeping both readings continuous.
    pub fn set_drift(&mut self, now: Time, drift_ppm: i64) {
        let (wall, stepped) = (i128::from(self.local(now).0), self.stepped_ns);
        let mut next = Clock::new(self.offset_ns, drift_ppm);
        let shift = wall - i128::from(next.local(now).0);
        next.offset_ns = next.offset_ns.saturating_add(shift as i64);
        next.stepped_ns = stepped;
        debug_assert_eq!(next.local(now), self.local(now), "a rate change does not step the clock");
        *self = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_shows_in_readings() {
        let fast = Clock::new(0, 100);
        let slow = Clock::new(0, -100);
        let t = Time::from_ms(10_000); // 10 s
                                       // 100 ppm over 10 s is 1 ms.
        assert_eq!(fast.local(t).0 as i64 - BASE_NS, 10_001_000_000);
        assert_eq!(slow.local(t).0 as i64 - BASE_NS, 9_999_000_000);
    }

    #[test]
    fn offset_and_jump() {
        let mut c = Clock::new(-5_000, 0);
        assert_eq!(c.local(Time(10_000)).0 as i64 - BASE_NS, 5_000);
        c.jump(-1_000_000);
        assert_eq!(c.local(Time(10_000)).0 as i64 - BASE_NS, -995_000);
    }

    #[test]
    fn monotonic_ignores_jumps_and_drift_changes_keep_it_continuous() {
        let mut c = Clock::new(3_000, 1_000);
        let t = Time::from_ms(500);
        let (wall, mono) = (c.local(t), c.monotonic(t));
        c.jump(-200_000_000);
        assert_eq!(c.local(t).0, wall.0 - 200_000_000);
        assert_eq!(c.monotonic(t), mono, "a step moves only the wall reading");
        c.set_drift(t, -50_000);
        assert_eq!(c.local(t).0, wall.0 - 200_000_000);
        assert_eq!(c.monotonic(t), mono);
        let later = Time::from_ms(1_500);
        // One true second at -5% drift.
        assert_eq!(c.monotonic(later).0 - mono.0, 950_000_000);
        assert_eq!(c.local(later).0 - c.local(t).0, 950_000_000);
        // A monotonic deadline maps back to true time although the wall reading stepped.
        let deadline = Time(c.monotonic(later).0);
        let back = c.true_time_of_monotonic(deadline);
        assert!(back <= later && c.monotonic(back) >= deadline);
        assert!(c.monotonic(Time(back.0 - 1)) < deadline);
    }

    #[test]
    fn true_time_of_inverts_local() {
        for drift in [-300_000, -123, 0, 77, 250_000] {
            let c = Clock::new(-7_000, drift);
            for t in [0u64, 1, 999, 1_000_000, 123_456_789_012] {
                let local = c.local(Time(t));
                let back = c.true_time_of(local);
                assert!(back <= Time(t) && c.local(back) >= local, "drift {drift} t {t}");
                assert!(back.0 == 0 || c.local(Time(back.0 - 1)) < local);
            }
        }
    }

    #[test]
    fn timers_follow_the_local_rate() {
        let fast = Clock::new(0, 500_000 / 5); // +10%
        let d = fast.true_duration(Duration::from_millis(110));
        assert_eq!(d, 100_000_000);
        let start = Time(1_234);
        let elapsed = fast.local(Time(start.0 + d)).0 - fast.local(start).0;
        assert!(elapsed >= 110_000_000);
        let exact = Clock::default();
        assert_eq!(exact.true_duration(Duration::from_millis(5)), 5_000_000);
    }
}
