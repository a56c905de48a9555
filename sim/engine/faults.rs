//! Faults that act on their own schedule: compromised agents, spoofed
//! senders, out-of-scope attempts and memory poisoning.

use super::actions::Attempt;
use super::{memory, Detail, Engine, EventKind, Message, TraceKind, Value};
use crate::mitigation::access::Decision;
use crate::model::{AccessKind, FaultKind, Model, NONE, NO_FAULT};
use crate::rng;
use crate::topology::Graph;

impl Engine {
    pub(super) fn fault_acts(&mut self, model: &Model, graph: &Graph, f: u32) {
        let fault = f as u16;
        match model.faults[f as usize].kind {
            FaultKind::CompromisedAgent { agent, end, .. } if self.now >= end => {
                let state = &mut self.agents[agent as usize];
                if state.compromised_by == fault {
                    state.compromised_by = NO_FAULT;
                    state.compromise_shift = 0.0;
                    self.record(TraceKind::CompromiseEnds, agent, NONE, Detail::None, Value::new(0.0, 0.0, fault));
                }
            }
            FaultKind::CompromisedAgent { agent, shift, end, .. } => {
                self.schedule(model, end, EventKind::Fault(f));
                self.compromise(agent, fault, shift, false);
                self.agents[agent as usize].origin = true;
                self.record(TraceKind::Compromise, agent, NONE, Detail::None, Value::new(shift, shift, fault));
            }
            FaultKind::SpoofedSender { channel, end, mean_gap, shift, .. } => {
                let id = self.spoof(graph, channel, fault, shift);
                let next = self.now.saturating_add(self.fault_gap(mean_gap));
                if next < end {
                    self.schedule(model, next, EventKind::Fault(f));
                }
                self.arrive(model, graph, id);
            }
            FaultKind::OutOfScope { ref agents, ref resources, end, mean_gap, only_compromised, shift, .. } => {
                let agent = agents[rng::below(&mut self.streams.faults, agents.len() as u64) as usize];
                let resource = resources[rng::below(&mut self.streams.faults, resources.len() as u64) as usize];
                let next = self.now.saturating_add(self.fault_gap(mean_gap / agents.len() as f64));
                if next < end {
                    self.schedule(model, next, EventKind::Fault(f));
                }
                self.out_of_scope(model, agent, resource, fault, only_compromised, shift);
            }
            FaultKind::MemoryPoisoning { partition, records, shift, injection, .. } => {
                let base = self.memory.newest(partition).map_or(0.0, |r| r.signal - r.shift);
                let planted = memory::planted(self.now, base + shift, shift, fault, injection.is_some());
                let first = (0..records).map(|_| self.memory.write(partition, planted)).min().unwrap_or(0);
                self.metrics.records += records as u64;
                self.metrics.corrupted_records += records as u64;
                let value = Value::new(base + shift, shift, fault);
                self.record(TraceKind::MemoryPoison, NONE, NONE, Detail::Count(records), value);
                self.name_records(first..first + records as u64);
            }
            _ => {}
        }
    }

    /// An agent tries an action outside its task (fault `fault`).
    pub(super) fn out_of_scope(
        &mut self,
        model: &Model,
        agent: u32,
        resource: u32,
        fault: u16,
        only_compromised: bool,
        shift: f64,
    ) {
        let state = &mut self.agents[agent as usize];
        if state.quarantined || (only_compromised && state.compromised_by == NO_FAULT) {
            return;
        }
        let root = if only_compromised { state.compromised_by } else { fault };
        let attempt = Attempt { agent, resource, message: NONE, signal: shift, shift, root };
        if self.act(model, &attempt) == Decision::Allowed {
            self.metrics.out_of_scope_succeeded += 1;
            return;
        }
        self.metrics.out_of_scope_blocked += 1;
        self.metrics.out_of_scope_blocked_writes +=
            (model.resources[resource as usize].access == AccessKind::Write) as u64;
        let injected = matches!(model.faults[root as usize].kind, FaultKind::PromptInjection { .. });
        self.metrics.out_of_scope_blocked_injected += injected as u64;
    }

    pub(super) fn spoof(&mut self, graph: &Graph, channel: u32, fault: u16, shift: f64) -> u32 {
        let spec = &graph.channels[channel as usize];
        let task = self.new_task(super::routing::Task::FORGED);
        let signal = self.last_clean_signal[channel as usize] + shift;
        let message = Message {
            task,
            parent: NONE,
            sender: spec.from,
            receiver: spec.to,
            channel,
            depth: 1,
            signed: false,
            signal,
            shift,
            root: fault,
            injection: false,
            arrived_at: self.now,
            next: NONE,
        };
        let id = self.new_message(message);
        self.record(TraceKind::Spoof, spec.to, id, Detail::Peer(spec.from), Value::new(signal, shift, fault));
        id
    }
}
