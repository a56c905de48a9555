//! Sources and arrivals: a source's emission (with the feed faults that
//! poison it), a message's delivery to its receiver (boundary, dedupe,
//! acceptance, injection) and the receiver's FIFO queue.

use super::routing::Task;
use super::{Detail, Engine, EventKind, Message, TraceKind, Value};
use crate::model::{Arrival, FaultKind, Model, NONE, NO_FAULT};
use crate::rng;
use crate::topology::Graph;

impl Engine {
    pub(super) fn source_emit(&mut self, model: &Model, graph: &Graph, s: u32) {
        let source = &model.sources[s as usize];
        let mut signal = source.signal_mean;
        if source.signal_sd > 0.0 {
            signal += source.signal_sd * rng::std_normal(&mut self.streams.arrivals);
        }
        let kind = self.draw_kind(source);
        let task = self.new_task(Task::of_kind(kind, self.now));
        let mut message = Message {
            task,
            parent: NONE,
            sender: NONE,
            receiver: source.target,
            channel: NONE,
            depth: 0,
            signed: true,
            signal,
            shift: 0.0,
            root: NO_FAULT,
            injection: false,
            arrived_at: self.now,
            next: NONE,
        };
        self.apply_feed_faults(model, &mut message);
        let id = self.new_message(message);
        self.record(TraceKind::SourceEmit, source.target, id, Detail::None, message.value());
        self.emitted[s as usize] += 1;
        if source.count.is_none_or(|count| self.emitted[s as usize] < count) {
            let next = match source.arrival {
                Arrival::Periodic { period } => self.now.saturating_add(period),
                Arrival::Poisson { mean_gap } => self.now.saturating_add(self.gap(mean_gap)),
            };
            self.schedule(model, next, EventKind::SourceEmit(s));
        }
        self.arrive(model, graph, id);
    }

    pub(super) fn apply_feed_faults(&mut self, model: &Model, message: &mut Message) {
        for &f in &self.feed_faults {
            let (agent, start, end, shift, injection) = match model.faults[f as usize].kind {
                FaultKind::PoisonedFeed { agent, start, end, shift } => (agent, start, end, shift, false),
                FaultKind::PromptInjection { agent, start, end, shift, .. } => (agent, start, end, shift, true),
                _ => continue,
            };
            if agent != message.receiver || self.now < start || self.now >= end {
                continue;
            }
            message.signal += shift;
            message.shift += shift;
            message.injection |= injection;
            if message.root == NO_FAULT {
                message.root = f;
            }
            self.agents[agent as usize].origin = true;
        }
    }

    pub(super) fn arrive(&mut self, model: &Model, graph: &Graph, id: u32) {
        let message = self.messages[id as usize];
        let agent = message.receiver;
        if self.agents[agent as usize].quarantined {
            self.lose(agent, id, message.task);
            return;
        }
        if message.channel != NONE && !self.guards.is_empty() && !self.boundary(model, graph, id, &message) {
            return;
        }
        if self.is_duplicate(&message) {
            self.record(TraceKind::DropDuplicate, agent, id, Detail::Peer(message.sender), message.value());
            return;
        }
        if message.channel != NONE {
            self.last_clean_signal[message.channel as usize] = message.signal - message.shift;
        }
        self.record(TraceKind::Accept, agent, id, Detail::Peer(message.sender), message.value());
        if message.corrupted() {
            self.accept_corrupted(agent);
            if message.injection {
                self.try_injection(model, agent, message.root, id);
            }
        }
        self.messages[id as usize].arrived_at = self.now;
        if message.channel != NONE && model.agents[agent as usize].join.is_some() {
            self.join_input(model, graph, agent, id);
        } else {
            self.enqueue(model, agent, id);
        }
    }

    /// Input `id` starts service at `agent`, or waits in its FIFO queue.
    #[inline(always)]
    pub(super) fn enqueue(&mut self, model: &Model, agent: u32, id: u32) {
        let state = &mut self.agents[agent as usize];
        if state.pooled {
            self.enqueue_pooled(model, agent, id);
        } else if state.busy {
            if state.tail == NONE {
                state.head = id;
            } else {
                self.messages[state.tail as usize].next = id;
            }
            state.tail = id;
        } else {
            self.start_service(model, agent, id);
        }
    }

    pub(super) fn accept_corrupted(&mut self, agent: u32) {
        self.agents[agent as usize].accepted_corrupt = true;
        self.last_corrupt_accept = Some(self.now);
    }

    pub(super) fn try_injection(&mut self, model: &Model, agent: u32, fault: u16, message: u32) {
        let FaultKind::PromptInjection { probability, shift, replicate, .. } = model.faults[fault as usize].kind else {
            return;
        };
        if self.agents[agent as usize].compromised_by != NO_FAULT || !rng::chance(&mut self.streams.faults, probability)
        {
            return;
        }
        let state = &mut self.agents[agent as usize];
        state.compromised_by = fault;
        state.compromise_shift = shift;
        state.carries_injection = replicate;
        self.record(TraceKind::Compromise, agent, message, Detail::None, Value::new(0.0, 0.0, fault));
    }

    #[inline(always)]
    pub(super) fn start_service(&mut self, model: &Model, agent: u32, id: u32) {
        let state = &mut self.agents[agent as usize];
        state.busy = true;
        state.current = id;
        state.task_start = self.now;
        let done = self.now.saturating_add(model.agents[agent as usize].service.sample(&mut self.streams.timing));
        self.review_started(model, agent, id, done);
        self.schedule(model, done, EventKind::ServiceDone(agent));
    }
}
