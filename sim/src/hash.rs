//! Stable hashing: message digests and the rolling trace hash.
//!
//! Both are specified here and must not change without changing every recorded hash:
//! - [`StableHasher`] digests a value through its `std::hash::Hash` impl, but writes every integer
//!   as little-endian `u64` (so `usize`, lengths and enum discriminants hash the same on 32- and
//!   64-bit machines) and mixes words with a fixed multiply-rotate, never with a random key.
//! - [`TraceHasher`] feeds a fixed 40-byte little-endian record per delivered event into
//!   xxh3-64 (seed 0) and prints the result as 16 hex digits.

use std::hash::{Hash, Hasher};
use xxhash_rust::xxh3::Xxh3;

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// A deterministic, platform-independent `Hasher` for message digests.
#[derive(Clone, Debug)]
pub struct StableHasher {
    h: u64,
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher { h: 0x243F_6A88_85A3_08D3 }
    }
}

impl StableHasher {
    #[inline]
    fn mix(&mut self, v: u64) {
        self.h = (self.h ^ v).wrapping_mul(K).rotate_left(29);
    }

    /// The digest of `value`.
    pub fn digest<T: Hash + ?Sized>(value: &T) -> u64 {
        let mut h = StableHasher::default();
        value.hash(&mut h);
        h.finish()
    }
}

impl Hasher for StableHasher {
    #[inline]
    fn finish(&self) -> u64 {
        // Final avalanche (from splitmix64) so nearby inputs give unrelated digests.
        let mut z = self.h;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.mix(i as u64);
        self.mix((i >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    #[inline]
    fn write_i8(&mut self, i: i8) {
        self.mix(i as i64 as u64);
    }
    #[inline]
    fn write_i16(&mut self, i: i16) {
        self.mix(i as i64 as u64);
    }
    #[inline]
    fn write_i32(&mut self, i: i32) {
        self.mix(i as i64 as u64);
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.mix(i as u64);
    }
    #[inline]
    fn write_isize(&mut self, i: isize) {
        self.mix(i as i64 as u64);
    }
}

/// The kind byte of a trace record. Part of the trace-hash specification: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventKind {
    /// A node started (at time zero or on restart).
    Start = 1,
    /// A message delivered to a node.
    Deliver = 2,
    /// A timer fired.
    Timer = 3,
    /// A client request reached a node.
    Request = 4,
    /// A reply reached a client.
    Reply = 5,
    /// A client gave up waiting for a reply.
    ClientTimeout = 6,
    /// A fault was applied (partition, heal, crash, restart, pause, resume, clock jump).
    Fault = 7,
    /// A client invoked a new operation.
    Invoke = 8,
}

/// The rolling hash of every event the simulator delivers, in order.
pub struct TraceHasher {
    xxh: Xxh3,
    events: u64,
}

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher { xxh: Xxh3::new(), events: 0 }
    }
}

impl std::fmt::Debug for TraceHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TraceHasher({} events)", self.events)
    }
}

impl TraceHasher {
    /// Adds one event: true time, kind, the node it happened at, the other party (sender, client
    /// or fault index; `u32::MAX` for none) and a digest of the payload.
    #[inline]
    pub fn record(&mut self, time_ns: u64, kind: EventKind, node: u32, other: u32, digest: u64) {
        let mut rec = [0u8; 40];
        rec[0..8].copy_from_slice(&time_ns.to_le_bytes());
        rec[8..16].copy_from_slice(&(kind as u64).to_le_bytes());
        rec[16..20].copy_from_slice(&node.to_le_bytes());
        rec[20..24].copy_from_slice(&other.to_le_bytes());
        rec[24..32].copy_from_slice(&digest.to_le_bytes());
        rec[32..40].copy_from_slice(&self.events.to_le_bytes());
        self.xxh.update(&rec);
        self.events += 1;
    }

    /// The hash so far, as 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.xxh.digest())
    }

    /// Events recorded so far.
    pub fn events(&self) -> u64 {
        self.events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Hash)]
    enum M {
        A { x: u32, s: String },
        B(Vec<u64>),
    }

    #[test]
    fn digests_are_pinned() {
        let a = StableHasher::digest(&M::A { x: 1, s: "hi".into() });
        let b = StableHasher::digest(&M::B(vec![1, 2, 3]));
        assert_ne!(a, b);
        assert_eq!(a, StableHasher::digest(&M::A { x: 1, s: "hi".into() }));
        assert_eq!((a, b), GOLDEN_DIGESTS);
    }
    const GOLDEN_DIGESTS: (u64, u64) = (2787152815765003503, 12565044478609195227);

    #[test]
    fn trace_hash_is_pinned_and_order_sensitive() {
        let mut t = TraceHasher::default();
        t.record(1, EventKind::Deliver, 0, 1, 7);
        t.record(2, EventKind::Timer, 1, u32::MAX, 9);
        let mut u = TraceHasher::default();
        u.record(2, EventKind::Timer, 1, u32::MAX, 9);
        u.record(1, EventKind::Deliver, 0, 1, 7);
        assert_ne!(t.hex(), u.hex());
        assert_eq!(t.hex(), GOLDEN_TRACE);
    }
    const GOLDEN_TRACE: &str = "697a4c33aad7bab4";
}
