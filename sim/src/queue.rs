//! The event queue: a 4-ary min-heap of 128-bit keys ordered by (time, sequence number), with
//! payloads kept in a slab so the heap only moves 16-byte integers. Ties in time are broken by
//! insertion order, which makes the order of simultaneous events deterministic.
//!
//! A key is `time << 64 | seq << SLOT_BITS | slot`: one integer comparison orders two events,
//! and a 4-ary heap is half as deep as a binary one, with the four children of a node on one
//! cache line. A sequence number can be reserved now and used by a later push (`push_at`), so
//! an event can take its place in the order before it is queued: the world uses this to re-arm
//! a timer without queueing an event per re-arm.

use crate::time::Time;

/// Bits of a key's low half that name the slab slot: 2^28 queued events, above the ceiling of
/// `limits.max_queue` (validation keeps it at 10^8).
const SLOT_BITS: u32 = 28;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
/// Sequence numbers available to one run: 2^36, more than its events can use (the ceiling of
/// `limits.max_events` is 10^10); the world stops a run that reaches it (`exhausted`).
const SEQ_LIMIT: u64 = 1 << (64 - SLOT_BITS);
/// Children per heap node.
const ARITY: usize = 4;

const _: () = assert!(crate::validate::MAX_QUEUE < (1 << SLOT_BITS));

/// A deterministic priority queue of events.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: Vec<u128>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { heap: Vec::new(), slab: Vec::new(), free: Vec::new(), next_seq: 0 }
    }
}

#[inline]
fn key(time: Time, seq: u64, slot: u32) -> u128 {
    debug_assert!(seq < SEQ_LIMIT && u64::from(slot) <= SLOT_MASK);
    (u128::from(time.0) << 64) | u128::from((seq << SLOT_BITS) | u64::from(slot))
}

#[inline]
fn key_time(k: u128) -> Time {
    Time((k >> 64) as u64)
}

#[inline]
fn key_seq(k: u128) -> u64 {
    k as u64 >> SLOT_BITS
}

#[inline]
fn key_slot(k: u128) -> usize {
    (k as u64 & SLOT_MASK) as usize
}

impl<E> EventQueue<E> {
    /// An empty queue with room for `capacity` events before it allocates.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: Vec::with_capacity(capacity),
            slab: Vec::with_capacity(capacity),
            free: Vec::with_capacity(capacity),
            next_seq: 0,
        }
    }

    /// Schedules `event` at `time`, after every event already scheduled at that time.
    #[inline]
    pub fn push(&mut self, time: Time, event: E) {
        let seq = self.reserve_seq();
        self.push_at(time, seq, event);
    }

    /// The sequence number the next push would take; later pushes take later ones. The number
    /// orders an event pushed with it by `push_at`, as if it had been pushed now.
    #[inline]
    pub fn reserve_seq(&mut self) -> u64 {
        // Past the limit every event shares the last number (ties then break by slot) until
        // the world sees `exhausted` and stops the run at the end of the step.
        let seq = self.next_seq.min(SEQ_LIMIT - 1);
        self.next_seq += 1;
        seq
    }

    /// True once the run has used every sequence number.
    #[inline]
    pub fn exhausted(&self) -> bool {
        self.next_seq >= SEQ_LIMIT
    }

    /// Schedules `event` at `time` with a sequence number from `reserve_seq`. Each reserved
    /// number may be queued once at a time.
    #[inline]
    pub fn push_at(&mut self, time: Time, seq: u64, event: E) {
        debug_assert!(seq < self.next_seq, "sequence number {seq} was not reserved");
        let slot = match self.free.pop() {
            Some(slot) => {
                debug_assert!(self.slab[slot as usize].is_none());
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                let slot = self.slab.len() as u64;
                // The world stops a run once more than limits.max_queue events are queued.
                assert!(slot <= SLOT_MASK, "event queue holds more than 2^{SLOT_BITS} events");
                self.slab.push(Some(event));
                slot as u32
            }
        };
        self.heap.push(key(time, seq, slot));
        self.sift_up(self.heap.len() - 1);
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.pop_with_seq().map(|(t, _, e)| (t, e))
    }

    /// Removes and returns the earliest event with its time and sequence number.
    #[inline]
    pub fn pop_with_seq(&mut self) -> Option<(Time, u64, E)> {
        let last = self.heap.pop()?;
        let top = if self.heap.is_empty() {
            last
        } else {
            let top = self.heap[0];
            self.sift_down(last);
            top
        };
        let slot = key_slot(top);
        let event = self.slab[slot].take().expect("queued slot holds an event");
        self.free.push(slot as u32);
        Some((key_time(top), key_seq(top), event))
    }

    /// The time of the earliest event.
    #[inline]
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.first().map(|&k| key_time(k))
    }

    /// Number of queued events.
    #[inline]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when nothing is queued.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    #[inline]
    fn sift_up(&mut self, mut i: usize) {
        let k = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent] <= k {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = k;
    }

    /// Puts `k` at the root, which it replaces, and moves it down to its place.
    #[inline]
    fn sift_down(&mut self, k: u128) {
        let heap = &mut self.heap[..];
        let n = heap.len();
        let mut i = 0;
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            // The smallest child, chosen without branches: which child wins is data the
            // branch predictor cannot learn.
            let last = (first + ARITY).min(n);
            let mut min = first;
            let mut min_key = heap[first];
            for (c, &ck) in heap[first + 1..last].iter().enumerate() {
                let less = ck < min_key;
                min = if less { first + 1 + c } else { min };
                min_key = if less { ck } else { min_key };
            }
            if min_key >= k {
                break;
            }
            heap[i] = min_key;
            i = min;
        }
        heap[i] = k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_insertion() {
        let mut q = EventQueue::default();
        q.push(Time(5), "c");
        q.push(Time(1), "a");
        q.push(Time(5), "d");
        q.push(Time(1), "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }

    #[test]
    fn reuses_slots() {
        let mut q = EventQueue::default();
        for i in 0..100u64 {
            q.push(Time(i), i);
            assert_eq!(q.pop(), Some((Time(i), i)));
        }
        assert_eq!(q.slab.len(), 1);
        assert!(q.is_empty());
    }

    /// Against a sort by (time, insertion order), with pushes and pops interleaved, many ties,
    /// and events queued after the sequence number that orders them was reserved.
    #[test]
    fn matches_a_stable_sort() {
        let mut state = 7u64;
        let mut below = |n: u64| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let mut q = EventQueue::default();
        let mut reference: Vec<(u64, u64)> = Vec::new(); // (time, insertion number)
        let mut popped = Vec::new();
        let mut expected = Vec::new();
        let mut now = 0u64;
        let mut held: Option<(u64, u64, u64)> = None; // (time, seq, n) pushed later with push_at
        for n in 0..20_000u64 {
            if n % 7 == 0 && held.is_none() {
                // Reserve a place now, queue the event later.
                let t = now + below(20);
                held = Some((t, q.reserve_seq(), n));
                continue;
            }
            if n % 7 == 3 {
                if let Some((t, seq, m)) = held.take() {
                    // Ordered by its reserved number among the events of its time.
                    q.push_at(Time(t.max(now)), seq, m);
                    reference.push((t.max(now), m));
                }
            }
            if below(3) < 2 {
                let t = now + below(20);
                q.push(Time(t), n);
                reference.push((t, n));
            } else if let Some((t, e)) = q.pop() {
                reference.sort();
                let first = reference.remove(0);
                expected.push(first);
                popped.push((t.0, e));
                now = t.0;
            }
        }
        while let Some((t, e)) = q.pop() {
            popped.push((t.0, e));
        }
        reference.sort();
        expected.extend(reference);
        assert_eq!(popped, expected);
    }
}
