//! Sources and arrivals: a source's emission (with the feed faults that
//! poison it), a message's delivery to its receiver (boundary, dedupe,
//! acceptance, injection) and the receiver's FIFO queue.

use super::routing::Task;
use super::{Detail, Engine, EventKind, Message, TraceKind, Value};
use crate::model::{Arrival, FaultKind, Model, NONE, NO_FAULT};
use crate::rng;
use crate::topology::Graph;

/// How an injection reached the agent it may compromise.
#[derive(Clone, Copy, Debug)]
pub(super) enum Via {
    /// In a message: from a source (`first`: its first target) or on a
    /// channel of this trust.
    Message { first: bool, trust: f64 },
    /// In a memory record read as context (`planted` by the fault: its
    /// first target).
    Memory { planted: bool },
}

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

    pub(super) fn arrive(&mut self, model: &Model, graph: &Graph, mut id: u32) {
        let mut message = self.messages[id as usize];
        let agent = message.receiver;
        if self.agents[agent as usize].quarantined {
            self.lose(agent, id, message.task);
            return;
        }
        if message.channel != NONE && !self.guards.is_empty() {
            self.delivered = id;
            if !self.boundary(model, graph, id, &message) {
                return;
            }
            // A sanitising guard may have delivered a cleaned copy.
            id = self.delivered;
            message = self.messages[id as usize];
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
                self.injected(model, graph, id, &message);
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

    /// Message `id`, accepted, carries an injection. Only a source's message
    /// reaches the first target: a retried or escalated task (no channel,
    /// a check as its sender) reaches a later agent.
    #[inline(never)]
    fn injected(&mut self, model: &Model, graph: &Graph, id: u32, message: &Message) {
        let trust = if message.channel == NONE { 1.0 } else { graph.channels[message.channel as usize].trust };
        let via = Via::Message { first: message.sender == NONE, trust };
        self.try_injection(model, message.receiver, message.root, id, via);
    }

    /// An injection of fault `fault`, accepted by `agent` in message
    /// `message` (or read from memory), may compromise it: with the
    /// injection's chance for its first target or for later agents, times
    /// the agent's susceptibility and the channel's trust.
    pub(super) fn try_injection(&mut self, model: &Model, agent: u32, fault: u16, message: u32, via: Via) {
        let kind = &model.faults[fault as usize].kind;
        let Some(injection) = kind.injection() else {
            return;
        };
        let (first, trust) = match via {
            Via::Message { first, trust } => (first, trust),
            Via::Memory { planted } => (planted, 1.0),
        };
        let chance = if first { injection.first } else { injection.spread };
        let p = chance * model.agents[agent as usize].susceptibility * trust;
        let state = &self.agents[agent as usize];
        if state.compromised_by != NO_FAULT || state.quarantined || !rng::chance(&mut self.streams.faults, p) {
            return;
        }
        self.compromise(agent, fault, kind.shift(), injection.replicate);
        self.metrics.memory_compromises += matches!(via, Via::Memory { .. }) as u64;
        self.record(TraceKind::Compromise, agent, message, Detail::None, Value::new(0.0, 0.0, fault));
    }

    /// `agent` is taken over by fault `fault`: its outputs carry `shift`
    /// (and, with `carries`, the fault's injection).
    pub(super) fn compromise(&mut self, agent: u32, fault: u16, shift: f64, carries: bool) {
        let state = &mut self.agents[agent as usize];
        state.compromised_by = fault;
        state.compromise_shift = shift;
        state.carries_injection = carries;
        state.ever_compromised = true;
    }

    #[inline(always)]
    pub(super) fn start_service(&mut self, model: &Model, agent: u32, id: u32) {
        let state = &mut self.agents[agent as usize];
        state.busy = true;
        state.current = id;
        state.task_start = self.now;
        self.note_start(id);
        let done = self.now.saturating_add(model.agents[agent as usize].service.sample(&mut self.streams.timing));
        self.review_started(model, agent, id, done);
        self.schedule(model, done, EventKind::ServiceDone(agent));
    }
}
