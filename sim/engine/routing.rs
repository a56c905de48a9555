//! Routing: the one out-channel a picking output rule sends on (a
//! router's table, misroutes, failover past quarantined and held
//! receivers), each task's kind, and which tasks were delivered or lost.

use super::processing::Output;
use super::{Detail, Engine, Message, TraceKind};
use crate::model::{Model, OutputRule, Source, NONE, NO_FAULT, NO_KIND};
use crate::rng;
use crate::time::Micros;
use crate::topology::Graph;

/// A task reached an agent with no out-channels (its work is done).
const DELIVERED: u8 = 1;
/// A message of the task could not be delivered: no route matched, or its
/// receiver was quarantined.
const LOST: u8 = 2;
/// A forged task (`spoofed_sender`): not work, never counted.
const FORGED: u8 = 4;

/// What the engine knows of one task.
#[derive(Clone, Copy, Debug)]
pub(super) struct Task {
    pub(super) kind: u16,
    flags: u8,
    /// When its source emitted it.
    start: Micros,
}

impl Task {
    pub(super) const FORGED: Task = Task { kind: NO_KIND, flags: FORGED, start: 0 };

    /// A source's task of `kind`, emitted at `start`.
    pub(super) fn of_kind(kind: u16, start: Micros) -> Task {
        Task { kind, flags: 0, start }
    }
}

impl Engine {
    /// The kind of source `source`'s next task (`NO_KIND` when it has none).
    pub(super) fn draw_kind(&mut self, source: &Source) -> u16 {
        if source.kinds.is_empty() {
            return NO_KIND;
        }
        let u = rng::unit(&mut self.streams.routing);
        source.kinds.iter().find(|&&(_, upto)| u < upto).map_or(NO_KIND, |&(kind, _)| kind)
    }

    /// Whether `channel`'s receiver can take work: not quarantined, not held.
    fn available(&self, graph: &Graph, channel: u32) -> bool {
        let state = &self.agents[graph.channels[channel as usize].to as usize];
        !state.quarantined && self.now >= state.held_until
    }

    /// The channel `agent`'s output for its input `id` goes on under a rule
    /// that picks one (`channels` its out-channels, not empty); `NONE` when
    /// no route matches.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn pick(
        &mut self,
        model: &Model,
        graph: &Graph,
        agent: u32,
        channels: &[u32],
        id: u32,
        input: &Message,
        output: &Output,
    ) -> u32 {
        let spec = &model.agents[agent as usize];
        match spec.output {
            OutputRule::All | OutputRule::Random(_) => unreachable!("the rule sends on several channels"),
            OutputRule::RandomOne => self.pick_random(graph, channels, spec.failover),
            OutputRule::RoundRobin => self.pick_round_robin(graph, agent, channels, spec.failover),
            OutputRule::ByKind | OutputRule::BySignal => self.route(model, graph, agent, id, input, output),
        }
    }

    fn pick_random(&mut self, graph: &Graph, channels: &[u32], failover: bool) -> u32 {
        let open = if failover { channels.iter().filter(|&&c| self.available(graph, c)).count() } else { 0 };
        if open == 0 || open == channels.len() {
            return channels[rng::below(&mut self.streams.behaviour, channels.len() as u64) as usize];
        }
        let nth = rng::below(&mut self.streams.behaviour, open as u64) as usize;
        *channels.iter().filter(|&&c| self.available(graph, c)).nth(nth).expect("nth of the open channels")
    }

    fn pick_round_robin(&mut self, graph: &Graph, agent: u32, channels: &[u32], failover: bool) -> u32 {
        let turn = self.agents[agent as usize].round_robin;
        let first = turn as usize % channels.len();
        let pick = (0..channels.len())
            .map(|k| (first + k) % channels.len())
            .find(|&i| !failover || self.available(graph, channels[i]))
            .unwrap_or(first);
        // The next turn is the one after the pick (the same modulo the
        // channels as counting turns, which is all a turn is read for).
        self.agents[agent as usize].round_robin = pick as u32 + 1;
        channels[pick]
    }

    /// A router's choice: the first route matching the task's kind (or the
    /// output's signal), another one when a corrupted output is misrouted,
    /// and its first available receiver with failover.
    fn route(&mut self, model: &Model, graph: &Graph, agent: u32, id: u32, input: &Message, output: &Output) -> u32 {
        let spec = &model.agents[agent as usize];
        let kind = self.tasks[input.task as usize].kind;
        let matched = match spec.output {
            OutputRule::ByKind => spec.routes.iter().position(|r| r.kind == NO_KIND || r.kind == kind),
            _ => spec.routes.iter().position(|r| output.signal < r.below),
        };
        let Some(matched) = matched else { return NONE };
        let mut r = matched;
        let others = spec.routes.len() as u64 - 1;
        if output.root != NO_FAULT && others > 0 && rng::chance(&mut self.streams.routing, spec.misroute) {
            let wrong = rng::below(&mut self.streams.routing, others) as usize;
            r = if wrong >= r { wrong + 1 } else { wrong };
            self.metrics.misrouted += 1;
        }
        let targets = &spec.routes[r].channels;
        let open = targets.iter().copied().find(|&c| !spec.failover || self.available(graph, c));
        let channel = open.unwrap_or(targets[0]);
        if r != matched {
            let to = graph.channels[channel as usize].to;
            self.record(TraceKind::Misroute, agent, id, Detail::Peer(to), output.value());
        }
        channel
    }

    /// Task `task` reached a sink.
    #[inline]
    pub(super) fn deliver(&mut self, task: u32) {
        let task = &mut self.tasks[task as usize];
        if task.flags & (DELIVERED | FORGED) == 0 {
            self.metrics.delivery_time_total += self.now - task.start;
        }
        task.flags |= DELIVERED;
    }

    /// Message `id` of task `task` could not be delivered at `agent`.
    pub(super) fn lose(&mut self, agent: u32, id: u32, task: u32) {
        self.tasks[task as usize].flags |= LOST;
        let value = self.messages[id as usize].value();
        self.record(TraceKind::Lost, agent, id, Detail::None, value);
    }

    /// Tasks of the run's sources, those delivered, and those lost and
    /// never delivered (a task is one or neither, never both).
    pub(super) fn count_tasks(&self) -> (u64, u64, u64) {
        let (mut tasks, mut delivered, mut lost) = (0, 0, 0);
        for task in self.tasks.iter().filter(|t| t.flags & FORGED == 0) {
            tasks += 1;
            delivered += (task.flags & DELIVERED != 0) as u64;
            lost += (task.flags & (DELIVERED | LOST) == LOST) as u64;
        }
        (tasks, delivered, lost)
    }
}
