//! A reference implementation of one narrow case of the model: a chain of
//! agents fed by one Poisson source, with at most a poisoned feed at its
//! head and nothing else (no mitigations, noise, memory or other faults).
//!
//! It is written out by hand, separately from the engine, and serves two
//! purposes:
//! - a differential test (`tests/reference_chain.rs`): on such a chain the
//!   engine must reproduce its run metrics and every output exactly, draw
//!   for draw;
//! - the floor benchmark (`benches/engine.rs`, group `floor`): the same
//!   work with none of the engine's generality, so the gap between the two
//!   is what the general engine costs (docs/performance.md).
//!
//! It uses the crate's event queue and samplers on the same streams in the
//! same order as the engine, so the draws line up; everything else (agent
//! state, queues, message records, fault windows, metrics) is its own.

use cascade::dist::Dist;
use cascade::engine::{EventKind, EventQueue};
use cascade::model::{Arrival, FaultKind, Model, OutputRule, NONE};
use cascade::rng::{self, SimRng, Stream};
use cascade::time::{round_micros, Micros};
use cascade::topology::Graph;

/// What one run of the chain produced (a subset of `RunMetrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainResult {
    pub events: u64,
    pub messages: u64,
    pub corrupted_messages: u64,
    pub processed: u64,
    pub sojourn_total: Micros,
    pub actions: u64,
    pub corrupted_actions: u64,
    /// When a corrupted input was last accepted, if ever.
    pub last_corrupt_accept: Option<Micros>,
}

/// One processed input: when, at which agent, the output signal and
/// whether the output is corrupted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Output {
    pub time: Micros,
    pub agent: u32,
    pub signal: f64,
    pub corrupted: bool,
}

/// One agent of the chain: its parameters and its state in a run.
struct Stage {
    service: Dist,
    gain: f64,
    /// The agent's propagation times its in-channel's (1 for the head).
    propagation: f64,
    action: bool,
    /// Latency to the next agent (`None` for the tail).
    latency: Option<Dist>,
    /// The item in service (`None`: idle).
    current: Option<usize>,
    waiting: std::collections::VecDeque<usize>,
}

/// A message: its signal, the corrupted share and when it arrived.
#[derive(Clone, Copy)]
struct Item {
    stage: usize,
    signal: f64,
    shift: f64,
    corrupted: bool,
    arrived_at: Micros,
}

/// The poisoned feed: source messages in `[start, end)` carry `shift`.
struct Poison {
    start: Micros,
    end: Micros,
    shift: f64,
}

/// Materiality: a corrupted output whose shift is below `material` is clean.
fn faded(shift: f64, material: f64) -> bool {
    shift.abs() < material
}

/// The chain, its buffers and its run state; reused across runs.
pub struct ReferenceChain {
    stages: Vec<Stage>,
    /// The smallest shift still counted as the poisoned feed's corruption.
    material: f64,
    horizon: Micros,
    mean_gap: f64,
    signal_mean: f64,
    signal_sd: f64,
    poison: Option<Poison>,
    queue: EventQueue,
    items: Vec<Item>,
    result: ChainResult,
    /// Every output of the last run, in order, when `keep_outputs` is set.
    outputs: Vec<Output>,
    keep_outputs: bool,
}

impl ReferenceChain {
    /// The chain `model` describes.
    ///
    /// # Panics
    /// When `model` is not a plain chain `0 -> 1 -> ... -> n-1` with one
    /// Poisson source into agent 0 and at most one poisoned feed there.
    pub fn new(model: &Model, graph: &Graph) -> ReferenceChain {
        let n = model.agents.len();
        assert!(model.mitigations == Default::default(), "no mitigations");
        assert!(model.clean_relay, "clean traffic is relayed");
        assert_eq!(graph.channels.len(), n - 1, "a chain has n - 1 channels");
        assert!(graph.channels.iter().enumerate().all(|(c, ch)| ch.from as usize == c && ch.to as usize == c + 1));
        assert_eq!(model.sources.len(), 1, "one source");
        let source = &model.sources[0];
        let Arrival::Poisson { mean_gap } = source.arrival else { panic!("a Poisson source") };
        assert!(source.target == 0 && source.start == 0 && source.count.is_none());
        let poison = match model.faults.as_slice() {
            [] => None,
            [fault] => match fault.kind {
                FaultKind::PoisonedFeed { agent: 0, start, end, shift } => Some(Poison { start, end, shift }),
                _ => panic!("only a poisoned feed into the head"),
            },
            _ => panic!("at most one fault"),
        };
        let stages = model
            .agents
            .iter()
            .enumerate()
            .map(|(a, agent)| {
                assert!(agent.noise == 0.0 && agent.memory_read == 0 && !agent.memory_write, "plain agents");
                // Other output rules draw or rotate; resource actions meet access checks.
                assert!(agent.output == OutputRule::All && agent.action_resource == NONE, "plain agents");
                let channel = a.checked_sub(1).map(|c| &graph.channels[c]);
                Stage {
                    service: agent.service,
                    gain: agent.gain,
                    propagation: agent.propagation * channel.map_or(1.0, |c| c.propagation),
                    action: agent.action,
                    latency: graph.channels.get(a).map(|c| c.latency),
                    current: None,
                    waiting: std::collections::VecDeque::new(),
                }
            })
            .collect();
        ReferenceChain {
            stages,
            material: poison.as_ref().map_or(0.0, |p| model.materiality.threshold(p.shift)),
            horizon: model.horizon,
            mean_gap,
            signal_mean: source.signal_mean,
            signal_sd: source.signal_sd,
            poison,
            queue: EventQueue::default(),
            items: Vec::new(),
            result: ChainResult::default(),
            outputs: Vec::new(),
            keep_outputs: false,
        }
    }

    /// Keeps every output of each run for [`ReferenceChain::outputs`].
    pub fn keeping_outputs(mut self) -> ReferenceChain {
        self.keep_outputs = true;
        self
    }

    /// The outputs of the last run (empty unless `keeping_outputs`).
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// One run under the 32-byte run key `key`.
    pub fn run(&mut self, key: &[u8; 32]) -> ChainResult {
        let mut arrivals = rng::stream(key, Stream::Arrivals);
        let mut timing = rng::stream(key, Stream::Timing);
        let mut behaviour = rng::stream(key, Stream::Behaviour);
        self.queue.reset();
        self.items.clear();
        self.outputs.clear();
        self.result = ChainResult::default();
        for stage in &mut self.stages {
            stage.current = None;
            stage.waiting.clear();
        }
        let first = round_micros(rng::exponential(&mut arrivals, self.mean_gap));
        self.schedule(first, EventKind::SourceEmit(0));
        while let Some((now, event)) = self.queue.pop() {
            if now > self.horizon {
                break;
            }
            self.result.events += 1;
            match event {
                EventKind::SourceEmit(_) => self.emit(now, &mut arrivals, &mut timing),
                EventKind::Arrive(item) => self.arrive(now, item as usize, &mut timing),
                EventKind::ServiceDone(stage) => self.done(now, stage as usize, &mut timing, &mut behaviour),
                other => unreachable!("a chain has no {other:?}"),
            }
        }
        self.result
    }

    fn schedule(&mut self, at: Micros, event: EventKind) {
        if at <= self.horizon {
            self.queue.push(at, event);
        }
    }

    fn new_item(&mut self, item: Item) -> usize {
        self.result.messages += 1;
        self.result.corrupted_messages += item.corrupted as u64;
        self.items.push(item);
        self.items.len() - 1
    }

    fn emit(&mut self, now: Micros, arrivals: &mut SimRng, timing: &mut SimRng) {
        let mut signal = self.signal_mean;
        if self.signal_sd > 0.0 {
            signal += self.signal_sd * rng::std_normal(arrivals);
        }
        let mut item = Item { stage: 0, signal, shift: 0.0, corrupted: false, arrived_at: now };
        if let Some(poison) = self.poison.as_ref().filter(|p| (p.start..p.end).contains(&now)) {
            item.signal += poison.shift;
            item.shift = poison.shift;
            item.corrupted = true;
        }
        let id = self.new_item(item);
        let next = now.saturating_add(round_micros(rng::exponential(arrivals, self.mean_gap)));
        self.schedule(next, EventKind::SourceEmit(0));
        self.arrive(now, id, timing);
    }

    fn arrive(&mut self, now: Micros, id: usize, timing: &mut SimRng) {
        let item = &mut self.items[id];
        item.arrived_at = now;
        if item.corrupted {
            self.result.last_corrupt_accept = Some(now);
        }
        let stage = item.stage;
        if self.stages[stage].current.is_some() {
            self.stages[stage].waiting.push_back(id);
        } else {
            self.start(now, stage, id, timing);
        }
    }

    fn start(&mut self, now: Micros, stage: usize, id: usize, timing: &mut SimRng) {
        let state = &mut self.stages[stage];
        state.current = Some(id);
        let done = now.saturating_add(state.service.sample(timing));
        self.schedule(done, EventKind::ServiceDone(stage as u32));
    }

    fn done(&mut self, now: Micros, stage: usize, timing: &mut SimRng, behaviour: &mut SimRng) {
        let input = self.items[self.stages[stage].current.expect("a completion has an item in service")];
        let spec = &self.stages[stage];
        self.result.processed += 1;
        self.result.sojourn_total += now - input.arrived_at;
        let relayed = input.corrupted && rng::chance(behaviour, spec.propagation);
        let shift = if relayed { spec.gain * input.shift } else { 0.0 };
        let signal = spec.gain * (input.signal - input.shift) + shift;
        let corrupted = relayed && !faded(shift, self.material);
        let shift = if corrupted { shift } else { 0.0 };
        if self.keep_outputs {
            self.outputs.push(Output { time: now, agent: stage as u32, signal, corrupted });
        }
        if spec.action {
            self.result.actions += 1;
            self.result.corrupted_actions += corrupted as u64;
        }
        if let Some(latency) = spec.latency {
            let id = self.new_item(Item { stage: stage + 1, signal, shift, corrupted, arrived_at: 0 });
            let at = now.saturating_add(latency.sample(timing));
            self.schedule(at, EventKind::Arrive(id as u32));
        }
        match self.stages[stage].waiting.pop_front() {
            Some(next) => self.start(now, stage, next, timing),
            None => self.stages[stage].current = None,
        }
    }
}
