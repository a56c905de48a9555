//! The future event list: a binary min-heap ordered by `(time, sequence)`.
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
            _ => EventKind::Review(index),
        }
    }
}

/// Pending events, earliest first: a 4-ary min-heap of `u128` keys laid out
/// as time (high 64 bits), sequence number (32 bits), encoded event (low 32
/// bits), so one integer comparison orders by `(time, sequence)`.
#[derive(Default, Debug)]
pub struct EventQueue {
    heap: Vec<u128>,
    next_sequence: u64,
}

impl EventQueue {
    /// Empties the queue and restarts sequence numbers, keeping storage.
    pub fn reset(&mut self) {
        self.heap.clear();
        self.next_sequence = 0;
    }

    /// Schedules `kind` at `time`.
    ///
    /// # Panics
    /// After 2^32 events scheduled in one run (the bound on a run's size).
    #[inline]
    pub fn push(&mut self, time: Micros, kind: EventKind) {
        assert!(self.next_sequence < 1 << 32, "more than 2^32 events scheduled in one run");
        let key = ((time as u128) << 64) | ((self.next_sequence as u128) << 32) | kind.encode() as u128;
        self.next_sequence += 1;
        let heap = &mut self.heap;
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

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(Micros, EventKind)> {
        let last = self.heap.pop()?;
        let top = if self.heap.is_empty() {
            last
        } else {
            let top = self.heap[0];
            self.sift_down(last);
            top
        };
        Some(((top >> 64) as Micros, EventKind::decode(top as u32)))
    }

    /// Places `key` starting from the root, moving smaller children up.
    #[inline]
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
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
