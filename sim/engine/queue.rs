//! The future event list: a binary min-heap ordered by `(time, sequence)`.
//!
//! The sequence number is assigned when an event is scheduled, so events at
//! the same microsecond run in the order they were scheduled, on every
//! platform. The heap's storage is kept between runs.

use crate::time::Micros;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

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
}

impl EventKind {
    const SHIFT: u32 = 60;

    fn encode(self) -> u64 {
        let (tag, index) = match self {
            EventKind::SourceEmit(i) => (0u64, i),
            EventKind::Arrive(i) => (1, i),
            EventKind::ServiceDone(i) => (2, i),
            EventKind::Fault(i) => (3, i),
        };
        (tag << Self::SHIFT) | index as u64
    }

    fn decode(word: u64) -> EventKind {
        let index = word as u32;
        match word >> Self::SHIFT {
            0 => EventKind::SourceEmit(index),
            1 => EventKind::Arrive(index),
            2 => EventKind::ServiceDone(index),
            _ => EventKind::Fault(index),
        }
    }
}

/// Pending events, earliest first.
#[derive(Default, Debug)]
pub struct EventQueue {
    heap: BinaryHeap<Reverse<(Micros, u64, u64)>>,
    next_sequence: u64,
}

impl EventQueue {
    /// Empties the queue and restarts sequence numbers, keeping storage.
    pub fn reset(&mut self) {
        self.heap.clear();
        self.next_sequence = 0;
    }

    /// Schedules `kind` at `time`.
    #[inline]
    pub fn push(&mut self, time: Micros, kind: EventKind) {
        self.heap.push(Reverse((time, self.next_sequence, kind.encode())));
        self.next_sequence += 1;
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(Micros, EventKind)> {
        self.heap.pop().map(|Reverse((time, _, word))| (time, EventKind::decode(word)))
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
        queue.push(1, EventKind::Arrive(u32::MAX));
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(
            order,
            vec![
                (1, EventKind::Arrive(u32::MAX)),
                (3, EventKind::ServiceDone(2)),
                (5, EventKind::Arrive(1)),
                (5, EventKind::SourceEmit(3)),
                (5, EventKind::Fault(4)),
            ]
        );
        assert!(queue.is_empty());
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
