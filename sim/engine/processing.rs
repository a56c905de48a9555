//! Processing: an agent's output for one input (gain, noise, memory
//! context, hallucination, compromise), and its effects: records, actions
//! and the messages it sends.

use super::actions::Attempt;
use super::dedupe::{DONE_CLEAN, DONE_CORRUPT};
use super::{Detail, Engine, EventKind, Message, Record, TraceKind, Value, NEVER};
use crate::mitigation::access::Decision;
use crate::model::{FaultKind, Injection, Model, OutputRule, NONE, NO_FAULT};
use crate::rng;
use crate::topology::Graph;

/// Whether fault `root`'s injection has the flag `flag` picks (`relay`, `notes`).
fn injection_has(model: &Model, root: u16, flag: fn(&Injection) -> bool) -> bool {
    model.faults[root as usize].kind.injection().is_some_and(flag)
}

/// The output an agent computed for one input.
#[derive(Clone, Copy, Debug)]
pub(super) struct Output {
    pub(super) signal: f64,
    pub(super) shift: f64,
    pub(super) root: u16,
    pub(super) injection: bool,
    /// The injection is relayed: carried on by an agent it did not compromise.
    pub(super) relayed: bool,
}

impl Output {
    pub(super) fn value(&self) -> Value {
        Value { signal: self.signal, shift: self.shift, root: self.root }
    }
}

impl Engine {
    pub(super) fn service_done(&mut self, model: &Model, graph: &Graph, agent: u32) {
        let id = self.agents[agent as usize].current;
        self.process(model, graph, agent, id);
        match self.dequeue(agent) {
            NONE => {
                let state = &mut self.agents[agent as usize];
                state.busy = false;
                state.current = NONE;
            }
            next => self.start_service(model, agent, next),
        }
    }

    /// The input at the head of `agent`'s queue, taken off it (`NONE`: empty).
    #[inline(always)]
    pub(super) fn dequeue(&mut self, agent: u32) -> u32 {
        let state = &mut self.agents[agent as usize];
        let next = state.head;
        if next != NONE {
            state.head = self.messages[next as usize].next;
            if state.head == NONE {
                state.tail = NONE;
            }
        }
        next
    }

    /// Agent `agent` finished processing input `id`: its output and effects.
    #[inline(always)]
    pub(super) fn process(&mut self, model: &Model, graph: &Graph, agent: u32, id: u32) {
        let input = self.messages[id as usize];
        self.metrics.processed += 1;
        self.metrics.sojourn_total += self.now - input.arrived_at;
        let output = self.compute_output(model, graph, agent, &input);
        self.record(TraceKind::Process, agent, id, Detail::None, output.value());
        if let Some(row) = self.trace.last_mut().filter(|_| self.tracing) {
            row.started = self.starts.get(id as usize).copied().filter(|&s| s != NEVER).unwrap_or(self.now);
        }
        let corrupted = output.root != NO_FAULT;
        // A check's output counts as its own only when it passes it on.
        let check = model.agents[agent as usize].check.is_some();
        if !check {
            self.update_corrupt_now(agent, corrupted);
        }
        if self.claim_effects(model, &input, corrupted) && self.check_passes(model, agent, id, &output) {
            if check {
                self.update_corrupt_now(agent, corrupted);
            }
            self.effects(model, graph, agent, id, &input, output);
        }
    }

    /// Agent `agent`'s latest output is `corrupted` (or not), unless it is
    /// quarantined.
    #[inline(always)]
    fn update_corrupt_now(&mut self, agent: u32, corrupted: bool) {
        let state = &self.agents[agent as usize];
        if corrupted != state.corrupt_now && !state.quarantined {
            self.set_corrupt_now(agent, corrupted);
        }
    }

    /// Whether this output has effects: clean outputs only when clean traffic
    /// is relayed, and never twice for the same task and content class.
    pub(super) fn claim_effects(&mut self, model: &Model, input: &Message, corrupted: bool) -> bool {
        if !corrupted && !model.clean_relay {
            return false;
        }
        // Source deliveries start new tasks, but the agent may see the task
        // again through a cycle, so what it did is recorded all the same.
        if !self.agents[input.receiver as usize].may_repeat {
            return true;
        }
        if corrupted {
            self.mark_done(input, DONE_CORRUPT)
        } else {
            let fresh = self.done_for(input) == 0;
            self.mark_done(input, DONE_CLEAN);
            fresh
        }
    }

    pub(super) fn compute_output(&mut self, model: &Model, graph: &Graph, agent: u32, input: &Message) -> Output {
        let spec = &model.agents[agent as usize];
        let channel_p = if input.channel == NONE { 1.0 } else { graph.channels[input.channel as usize].propagation };
        let mut output = Output { signal: 0.0, shift: 0.0, root: NO_FAULT, injection: false, relayed: false };
        if input.corrupted() && rng::chance(&mut self.streams.behaviour, spec.propagation * channel_p) {
            output.shift = spec.gain * input.shift;
            output.root = input.root;
            if input.injection
                && injection_has(model, input.root, |i| i.relay)
                && self.agents[agent as usize].compromised_by != input.root
            {
                output.injection = true;
                output.relayed = true;
            }
        }
        output.signal = spec.gain * (input.signal - input.shift) + output.shift;
        if spec.noise > 0.0 {
            output.signal += spec.noise * rng::std_normal(&mut self.streams.behaviour);
        }
        if spec.memory_read > 0 {
            self.mix_memory(model, agent, &mut output);
        }
        self.hallucinate(model, agent, &mut output);
        let state = &self.agents[agent as usize];
        if state.compromised_by != NO_FAULT && self.takes_effect(model, state.compromised_by) {
            let state = &self.agents[agent as usize];
            output.signal += state.compromise_shift;
            output.shift += state.compromise_shift;
            output.root = state.compromised_by;
            output.injection = state.carries_injection;
            output.relayed = false;
        }
        if output.root == NO_FAULT || self.faded(output.shift, output.root) && !output.injection {
            output.root = NO_FAULT;
            output.shift = 0.0;
        }
        output
    }

    /// Whether this output of an agent that fault `fault` compromised is
    /// corrupted (with the fault's effect; no draw when that is 1).
    #[inline]
    fn takes_effect(&mut self, model: &Model, fault: u16) -> bool {
        rng::chance(&mut self.streams.faults, model.faults[fault as usize].kind.effect())
    }

    /// Whether a corruption by `root` whose shift is now `shift` has faded
    /// below materiality (an injection's text does not fade).
    #[inline]
    pub(super) fn faded(&self, shift: f64, root: u16) -> bool {
        shift.abs() < self.material[root as usize]
    }

    #[inline(never)]
    pub(super) fn mix_memory(&mut self, model: &Model, agent: u32, output: &mut Output) {
        let spec = &model.agents[agent as usize];
        let context = self.memory.read_recent(agent, spec.memory_read);
        if context.count == 0 {
            return;
        }
        let count = context.count as f64;
        let context_shift = context.sum_shift / count;
        let mut context_signal = (context.sum_signal - context.sum_shift) / count;
        let weight = spec.memory_weight;
        output.shift *= 1.0 - weight;
        if context.corrupted > 0 {
            let shift_read = weight * context.sum_shift / count;
            if self.faded(shift_read, context.root) && context.injected == NO_FAULT {
                // Corrupted records too small a share of the context to
                // matter: their residue is read as part of the value.
                context_signal += context_shift;
            } else {
                self.accept_corrupted(agent);
                self.record(
                    TraceKind::MemoryRead,
                    agent,
                    NONE,
                    Detail::Count(context.corrupted),
                    Value::new(0.0, shift_read, context.root),
                );
                if self.tracing {
                    let read = self.memory.corrupted_read(spec.memory_read).collect::<Vec<_>>();
                    self.name_records(read.into_iter());
                }
                if rng::chance(&mut self.streams.behaviour, spec.propagation) {
                    context_signal += context_shift;
                    output.shift += shift_read;
                    if output.root == NO_FAULT {
                        output.root = context.root;
                    }
                    let taken = self.agents[agent as usize].compromised_by == context.injected;
                    if context.injected != NO_FAULT
                        && injection_has(model, context.injected, |i| i.relay)
                        && !output.injection
                        && !taken
                    {
                        output.injection = true;
                        output.relayed = true;
                        output.root = context.injected;
                    }
                }
            }
        }
        output.signal = (1.0 - weight) * output.signal + weight * context_signal;
        if context.injected != NO_FAULT {
            let via = super::arrivals::Via::Memory { planted: context.planted };
            self.try_injection(model, agent, context.injected, NONE, via);
        }
    }

    #[inline]
    pub(super) fn hallucinate(&mut self, model: &Model, agent: u32, output: &mut Output) {
        if !self.hallucination_faults.is_empty() {
            self.hallucinate_with(model, agent, output);
        }
    }

    /// Each hallucination fault covering `agent` may add its shift to the
    /// output (out of line: most scenarios have none).
    #[inline(never)]
    pub(super) fn hallucinate_with(&mut self, model: &Model, agent: u32, output: &mut Output) {
        let range =
            self.hallucination_start[agent as usize] as usize..self.hallucination_start[agent as usize + 1] as usize;
        for i in range {
            let f = self.hallucination_faults[i];
            let FaultKind::Hallucination { rate, start, end, shift, .. } = model.faults[f as usize].kind else {
                continue;
            };
            if self.now < start || self.now >= end || !rng::chance(&mut self.streams.faults, rate) {
                continue;
            }
            output.signal += shift;
            output.shift += shift;
            if output.root == NO_FAULT {
                output.root = f;
            }
            self.agents[agent as usize].origin = true;
            self.record(TraceKind::Hallucinate, agent, NONE, Detail::None, Value::new(output.signal, shift, f));
        }
    }

    pub(super) fn effects(
        &mut self,
        model: &Model,
        graph: &Graph,
        agent: u32,
        id: u32,
        input: &Message,
        output: Output,
    ) {
        if self.agents[agent as usize].quarantined {
            self.lose(agent, id, input.task);
            return;
        }
        let spec = &model.agents[agent as usize];
        let corrupted = output.root != NO_FAULT;
        if corrupted {
            self.agents[agent as usize].produced_corrupt = true;
            self.metrics.injections_relayed += output.relayed as u64;
        }
        if spec.memory_write {
            let partition = self.memory.partition_of(agent);
            let record = Record {
                time: self.now,
                sequence: 0,
                agent,
                message: id,
                signal: output.signal,
                shift: output.shift,
                root: output.root,
                injection: output.injection && injection_has(model, output.root, |i| i.notes),
                removed: false,
            };
            let sequence = self.memory.write(partition, record);
            self.metrics.records += 1;
            self.metrics.corrupted_records += corrupted as u64;
            self.record(TraceKind::RecordWrite, agent, id, Detail::Record(sequence), output.value());
        }
        if spec.action && spec.action_resource == NONE {
            // An action on no modelled resource: nothing to check.
            self.metrics.actions += 1;
            self.metrics.corrupted_actions += corrupted as u64;
            self.record(TraceKind::Action, agent, id, Detail::None, output.value());
        } else if spec.action {
            let resource = spec.action_resource;
            let attempt =
                Attempt { agent, resource, message: id, signal: output.signal, shift: output.shift, root: output.root };
            if self.act(model, &attempt) != Decision::Allowed && !corrupted {
                self.metrics.clean_actions_blocked += 1;
            }
        }
        let mut channels = graph.out_channels(agent);
        if channels.is_empty() {
            self.deliver(input.task);
            return;
        }
        if let Some(caps) = model.mitigations.caps.filter(|c| c.max_fanout > 0) {
            channels = &channels[..channels.len().min(caps.max_fanout as usize)];
        }
        match spec.output {
            OutputRule::All => {
                for &c in channels {
                    self.send(model, graph, c, id, input, output);
                }
                return;
            }
            OutputRule::Random(k) => return self.send_to_some(model, graph, k, channels, id, input, output),
            _ => {}
        }
        match self.pick(model, graph, agent, channels, id, input, &output) {
            NONE => self.lose(agent, id, input.task),
            channel => self.send(model, graph, channel, id, input, output),
        }
    }

    /// `k` distinct channels of `channels`, uniformly at random (a partial
    /// Fisher-Yates shuffle), each get a copy; all of them when there are
    /// no more than `k`.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn send_to_some(
        &mut self,
        model: &Model,
        graph: &Graph,
        k: u32,
        channels: &[u32],
        id: u32,
        input: &Message,
        output: Output,
    ) {
        let mut picked = std::mem::take(&mut self.picked);
        picked.clear();
        picked.extend_from_slice(channels);
        let n = picked.len();
        let k = (k as usize).min(n);
        for i in 0..k {
            if k < n {
                let j = i + rng::below(&mut self.streams.behaviour, (n - i) as u64) as usize;
                picked.swap(i, j);
            }
            self.send(model, graph, picked[i], id, input, output);
        }
        self.picked = picked;
    }

    #[inline(always)]
    pub(super) fn send(
        &mut self,
        model: &Model,
        graph: &Graph,
        channel: u32,
        parent: u32,
        input: &Message,
        output: Output,
    ) {
        let spec = &graph.channels[channel as usize];
        if let Some(caps) = &model.mitigations.caps {
            if self.capped(caps, spec.from, input.depth + 1) {
                if output.root == NO_FAULT {
                    self.metrics.capped_clean += 1;
                } else {
                    self.metrics.capped_corrupted += 1;
                }
                self.record(TraceKind::Capped, spec.from, parent, Detail::Peer(spec.to), output.value());
                return;
            }
            let state = &mut self.agents[spec.from as usize];
            state.in_flight += 1;
            state.sent_in_cycle += 1;
        }
        let message = Message {
            task: input.task,
            parent,
            sender: spec.from,
            receiver: spec.to,
            channel,
            depth: input.depth + 1,
            signed: true,
            signal: output.signal,
            shift: output.shift,
            root: output.root,
            injection: output.injection,
            arrived_at: 0,
            next: NONE,
        };
        let id = self.new_message(message);
        self.record(TraceKind::Send, spec.from, id, Detail::Peer(spec.to), message.value());
        let at = self.now.saturating_add(spec.latency.sample(&mut self.streams.timing));
        self.schedule(model, at, EventKind::Arrive(id));
    }
}
