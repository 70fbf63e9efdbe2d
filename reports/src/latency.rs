//! Latency percentiles over many runs, from an HDR histogram.
//!
//! Each run's ok-operation latencies are recorded in microseconds with two significant digits
//! (1% precision), and kept as the histogram's non-empty buckets; a scenario's percentiles come
//! from the sum of its runs' histograms, so they are exact up to that precision whatever the
//! number of runs.

use hdrhistogram::Histogram;

/// Largest latency the histogram holds: one simulated hour, in µs. Larger values are clamped.
pub const MAX_US: u64 = 3_600_000_000;

/// An empty latency histogram (µs, 2 significant digits).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_US, 2).expect("valid histogram bounds")
}

/// Records a latency given in ns.
pub fn record_ns(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record((ns / 1_000).clamp(1, MAX_US));
}

/// The non-empty buckets as (value µs, count).
pub fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect()
}

/// Adds buckets written by [`buckets`].
pub fn add_buckets(h: &mut Histogram<u64>, buckets: &[(u64, u64)]) {
    for &(v, n) in buckets {
        h.saturating_record_n(v.clamp(1, MAX_US), n);
    }
}

/// The `q`th quantile in ms (0 for an empty histogram).
pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip_and_merge() {
        let mut a = histogram();
        for ms in 1..=100u64 {
            record_ns(&mut a, ms * 1_000_000);
        }
        let mut b = histogram();
        add_buckets(&mut b, &buckets(&a));
        add_buckets(&mut b, &buckets(&a));
        assert_eq!(b.len(), 200);
        let p50 = quantile_ms(&b, 0.5);
        assert!((49.0..=51.0).contains(&p50), "{p50}");
        let p99 = quantile_ms(&b, 0.99);
        assert!((98.0..=100.5).contains(&p99), "{p99}");
        assert_eq!(quantile_ms(&histogram(), 0.5), 0.0);
    }
}
