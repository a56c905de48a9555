//! The future event list, ordered by `(time, sequence)`.
//!
//! The sequence number is assigned when an event is scheduled, so events at
//! the same microsecond run in the order they were scheduled, on every
//! platform. The heap's storage is kept between runs.

use crate::time::Micros;

/// What happens at an event (indices into the run's tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A source emits its next message.
    SourceEmit(u32),
    /// A message arrives at its receiver.
    Arrive(u32),
    /// An agent finishes processing its current message.
    ServiceDone(u32),
    /// A fault acts (compromise starts, a spoofed message, memory poisoning).
    Fault(u32),
    /// A human review of an alert comes due.
    Review(u32),
    /// A join's timeout comes (index into the run's joins).
    JoinTimeout(u32),
    /// A pooled agent's server finishes input `message`.
    PoolDone(u32),
    /// A shift starts at an agent with working hours.
    ShiftStart(u32),
}

impl EventKind {
    /// Indices must fit in 29 bits (three bits name the kind).
    pub const MAX_INDEX: u32 = (1 << 29) - 1;

    fn encode(self) -> u32 {
        let (tag, index) = match self {
            EventKind::SourceEmit(i) => (0u32, i),
            EventKind::Arrive(i) => (1, i),
            EventKind::ServiceDone(i) => (2, i),
            EventKind::Fault(i) => (3, i),
            EventKind::Review(i) => (4, i),
            EventKind::JoinTimeout(i) => (5, i),
            EventKind::PoolDone(i) => (6, i),
            EventKind::ShiftStart(i) => (7, i),
        };
        assert!(index <= Self::MAX_INDEX, "event index {index} exceeds 2^29 - 1");
        (tag << 29) | index
    }

    fn decode(word: u32) -> EventKind {
        let index = word & Self::MAX_INDEX;
        match word >> 29 {
            0 => EventKind::SourceEmit(index),
            1 => EventKind::Arrive(index),
            2 => EventKind::ServiceDone(index),
            3 => EventKind::Fault(index),
            4 => EventKind::Review(index),
            5 => EventKind::JoinTimeout(index),
            6 => EventKind::PoolDone(index),
            _ => EventKind::ShiftStart(index),
        }
    }
}

/// Pending events, earliest first, as `u128` keys laid out as time (high
/// 64 bits), sequence number (32 bits), encoded event (low 32 bits), so one
/// integer comparison orders by `(time, sequence)`.
///
/// While few events are pending (the usual case: one per busy agent, source
/// and message in flight) the keys sit in a fixed array sorted latest
/// first, so a pop takes the last one and a push is one step of insertion
/// sort. Past [`SORTED_MAX`] pending events they move to a 4-ary min-heap
/// (an ascending sorted array already is one), and back once at most
/// [`SORTED_RETURN`] remain. Keys are unique, so both layouts pop the same
/// sequence; at most one of them holds keys at a time.
#[derive(Debug)]
pub struct EventQueue {
    sorted: [u128; SORTED_MAX],
    sorted_len: usize,
    heap: Vec<u128>,
    next_sequence: u64,
}

/// The most pending events kept in the sorted array.
pub const SORTED_MAX: usize = 24;
/// A heap this small goes back to the sorted array.
pub const SORTED_RETURN: usize = 8;

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue { sorted: [0; SORTED_MAX], sorted_len: 0, heap: Vec::new(), next_sequence: 0 }
    }
}

impl EventQueue {
    /// Empties the queue and restarts sequence numbers, keeping storage.
    pub fn reset(&mut self) {
        self.sorted_len = 0;
        self.heap.clear();
        self.next_sequence = 0;
    }

    /// Schedules `kind` at `time`.
    ///
    /// # Panics
    /// After 2^32 events scheduled in one run (the bound on a run's size).
    #[inline(always)]
    pub fn push(&mut self, time: Micros, kind: EventKind) {
        assert!(self.next_sequence < 1 << 32, "more than 2^32 events scheduled in one run");
        let key = ((time as u128) << 64) | ((self.next_sequence as u128) << 32) | kind.encode() as u128;
        self.next_sequence += 1;
        if self.sorted_len < SORTED_MAX && self.heap.is_empty() {
            self.sorted_insert(key);
        } else {
            self.heap_push(key);
        }
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(Micros, EventKind)> {
        let top = if self.heap.is_empty() {
            self.sorted_len = self.sorted_len.checked_sub(1)?;
            self.sorted[self.sorted_len]
        } else {
            self.heap_pop()
        };
        Some(((top >> 64) as Micros, EventKind::decode(top as u32)))
    }

    /// Inserts into the latest-first sorted array: after every later key.
    #[inline]
    fn sorted_insert(&mut self, key: u128) {
        let keys = &mut self.sorted[..=self.sorted_len];
        self.sorted_len += 1;
        let mut hole = keys.len() - 1;
        while hole > 0 && keys[hole - 1] < key {
            keys[hole] = keys[hole - 1];
            hole -= 1;
        }
        keys[hole] = key;
    }

    /// Pushes onto the heap, first moving the full sorted array there.
    #[inline(never)]
    fn heap_push(&mut self, key: u128) {
        let heap = &mut self.heap;
        if heap.is_empty() {
            // Latest first reversed is earliest first: a valid min-heap.
            heap.extend(self.sorted[..self.sorted_len].iter().rev());
            self.sorted_len = 0;
        }
        let mut hole = heap.len();
        heap.push(key);
        while hole > 0 {
            let parent = (hole - 1) / 4;
            if heap[parent] <= key {
                break;
            }
            heap[hole] = heap[parent];
            hole = parent;
        }
        heap[hole] = key;
    }

    /// Pops the heap's root; a small heap goes back to the sorted array.
    #[inline(never)]
    fn heap_pop(&mut self) -> u128 {
        // A heap holds more than SORTED_RETURN keys: it hands back below that.
        debug_assert!(self.heap.len() > SORTED_RETURN);
        let last = self.heap.pop().expect("the heap is not empty");
        let top = self.heap[0];
        self.sift_down(last);
        if self.heap.len() <= SORTED_RETURN {
            let len = self.heap.len();
            self.sorted[..len].copy_from_slice(&self.heap);
            self.sorted[..len].sort_unstable_by(|a, b| b.cmp(a));
            self.sorted_len = len;
            self.heap.clear();
        }
        top
    }

    /// Places `key` starting from the root, moving smaller children up.
    fn sift_down(&mut self, key: u128) {
        let heap = &mut self.heap;
        let len = heap.len();
        let mut hole = 0;
        loop {
            let first = 4 * hole + 1;
            if first >= len {
                break;
            }
            let mut best = first;
            for child in first + 1..(first + 4).min(len) {
                if heap[child] < heap[best] {
                    best = child;
                }
            }
            if heap[best] >= key {
                break;
            }
            heap[hole] = heap[best];
            hole = best;
        }
        heap[hole] = key;
    }

    pub fn len(&self) -> usize {
        self.sorted_len + self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_schedule_order() {
        let mut queue = EventQueue::default();
        queue.push(5, EventKind::Arrive(1));
        queue.push(3, EventKind::ServiceDone(2));
        queue.push(5, EventKind::SourceEmit(3));
        queue.push(5, EventKind::Fault(4));
        queue.push(5, EventKind::Review(6));
        queue.push(5, EventKind::JoinTimeout(7));
        queue.push(5, EventKind::PoolDone(8));
        queue.push(5, EventKind::ShiftStart(9));
        queue.push(1, EventKind::Arrive(EventKind::MAX_INDEX));
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(
            order,
            vec![
                (1, EventKind::Arrive(EventKind::MAX_INDEX)),
                (3, EventKind::ServiceDone(2)),
                (5, EventKind::Arrive(1)),
                (5, EventKind::SourceEmit(3)),
                (5, EventKind::Fault(4)),
                (5, EventKind::Review(6)),
                (5, EventKind::JoinTimeout(7)),
                (5, EventKind::PoolDone(8)),
                (5, EventKind::ShiftStart(9)),
            ]
        );
        assert!(queue.is_empty());
    }

    #[test]
    #[should_panic(expected = "exceeds 2^29 - 1")]
    fn oversized_indices_are_refused() {
        EventQueue::default().push(0, EventKind::Fault(1 << 29));
    }

    #[test]
    fn pops_in_order_under_random_pushes_and_pops() {
        use crate::rng::{below, run_key, stream, Stream};
        let mut rng = stream(&run_key(1, 0, 0), Stream::Timing);
        let mut queue = EventQueue::default();
        let mut reference: Vec<(u64, u64, u32)> = Vec::new();
        let mut sequence = 0;
        for step in 0..5_000u32 {
            if below(&mut rng, 3) > 0 {
                let time = below(&mut rng, 50);
                queue.push(time, EventKind::Arrive(step));
                reference.push((time, sequence, step));
                sequence += 1;
            } else {
                reference.sort_unstable();
                let expected = (!reference.is_empty()).then(|| reference.remove(0));
                let got = queue.pop();
                assert_eq!(got, expected.map(|(time, _, step)| (time, EventKind::Arrive(step))));
            }
            assert_eq!(queue.len(), reference.len());
        }
    }

    #[test]
    fn few_pending_events_stay_in_the_sorted_array() {
        let mut queue = EventQueue::default();
        let layout = |q: &EventQueue| (q.sorted_len, q.heap.len());
        for i in 0..SORTED_MAX as u32 {
            queue.push(u64::from(i * 7 % 11), EventKind::Arrive(i));
        }
        assert_eq!(layout(&queue), (SORTED_MAX, 0));
        assert!(!queue.is_empty());
        queue.push(3, EventKind::Arrive(99));
        assert_eq!(layout(&queue), (0, SORTED_MAX + 1), "past SORTED_MAX all keys move to the heap");
        while queue.len() > SORTED_RETURN + 1 {
            queue.pop();
            assert_eq!(layout(&queue).0, 0);
        }
        queue.pop();
        assert_eq!(layout(&queue), (SORTED_RETURN, 0), "a small heap goes back to the array");
        queue.push(0, EventKind::Fault(1));
        assert_eq!(layout(&queue), (SORTED_RETURN + 1, 0));
        assert_eq!(queue.pop(), Some((0, EventKind::Fault(1))));
    }

    #[test]
    fn moves_between_sorted_array_and_heap_without_reordering() {
        use crate::rng::{below, run_key, stream, Stream};
        let mut rng = stream(&run_key(2, 0, 0), Stream::Timing);
        let mut queue = EventQueue::default();
        let mut reference = std::collections::BTreeSet::new();
        let (mut sequence, mut heap_phases, mut sorted_phases) = (0u64, 0, 0);
        // Phases that fill past SORTED_MAX and drain below SORTED_RETURN.
        for phase in 0..40u32 {
            let target = if phase % 2 == 0 {
                SORTED_MAX + 1 + below(&mut rng, 40) as usize
            } else {
                below(&mut rng, 4) as usize
            };
            while queue.len() != target {
                if queue.len() < target {
                    let time = below(&mut rng, 30);
                    queue.push(time, EventKind::Review(sequence as u32));
                    reference.insert((time, sequence));
                    sequence += 1;
                } else {
                    let expected = reference.pop_first().map(|(time, seq)| (time, EventKind::Review(seq as u32)));
                    assert_eq!(queue.pop(), expected);
                }
                assert_eq!(queue.len(), reference.len());
            }
            heap_phases += !queue.heap.is_empty() as u32;
            sorted_phases += (queue.heap.is_empty() && queue.sorted_len > 0) as u32;
        }
        assert!(heap_phases >= 10 && sorted_phases >= 5, "{heap_phases} heap, {sorted_phases} sorted phases");
        while let Some(event) = queue.pop() {
            let (time, seq) = reference.pop_first().unwrap();
            assert_eq!(event, (time, EventKind::Review(seq as u32)));
        }
        assert!(reference.is_empty());
    }

    #[test]
    fn reset_restarts_sequence() {
        let mut queue = EventQueue::default();
        queue.push(1, EventKind::Arrive(0));
        queue.reset();
        assert_eq!(queue.len(), 0);
        queue.push(2, EventKind::Arrive(7));
        queue.push(2, EventKind::Arrive(8));
        assert_eq!(queue.pop(), Some((2, EventKind::Arrive(7))));
    }
}
