//! The discrete-event engine: one run of a compiled [`Model`] on a
//! [`Graph`], from a run key to [`RunMetrics`].
//!
//! An [`Engine`] holds every buffer a run needs and is reused across
//! replications: after the first few runs nothing on the per-event path
//! allocates. The engine knows nothing of files, text or the CLI.
//!
//! Invariants (checked by debug assertions and property tests):
//! - simulated time never decreases;
//! - a message or record is corrupted exactly when it has a root fault, and
//!   a clean one carries no shift;
//! - every random draw comes from the run's own streams.

mod credentials;
mod memory;
mod queue;
mod trace;

pub use memory::{Context, MemoryStore, Record};
pub use queue::{EventKind, EventQueue};
pub use trace::{TraceKind, TraceRow};

use crate::metrics::RunMetrics;
use crate::mitigation::access::{self, AgentAccess, Decision};
use crate::mitigation::breaker::{SeedBreaker, State, Verdict};
use crate::mitigation::detector::{self, Baseline};
use crate::mitigation::sliding::SlidingBreaker;
use crate::mitigation::{BreakerConfig, Caps};
use crate::model::{AccessKind, Arrival, FaultKind, Model, OutputRule, NONE, NO_FAULT};
use crate::rng::{self, SimRng, Stream};
use crate::time::{round_micros, Micros};
use crate::topology::Graph;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A message in flight or processed, with its hidden ground truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Message {
    /// The unit of work this message belongs to (one per source emission).
    pub task: u32,
    /// Provenance: the message whose processing produced this one.
    pub parent: u32,
    /// Claimed sender agent (`NONE` for a source).
    pub sender: u32,
    pub receiver: u32,
    /// Channel index (`NONE` for a source).
    pub channel: u32,
    /// Hops from the source.
    pub depth: u32,
    pub signed: bool,
    pub signal: f64,
    /// Ground truth: the corruption's share of `signal` (0 when clean).
    pub shift: f64,
    /// Ground truth: root fault, or `NO_FAULT` when clean.
    pub root: u16,
    /// Carries a prompt injection of fault `root`.
    pub injection: bool,
    pub arrived_at: Micros,
    /// Next message in the receiver's FIFO queue.
    next: u32,
}

impl Message {
    /// Ground truth: the message is corrupted.
    #[inline]
    pub fn corrupted(&self) -> bool {
        self.root != NO_FAULT
    }
}

#[derive(Clone, Copy, Debug)]
struct AgentState {
    busy: bool,
    current: u32,
    head: u32,
    tail: u32,
    compromised_by: u16,
    compromise_shift: f64,
    carries_injection: bool,
    round_robin: u32,
    accepted_corrupt: bool,
    produced_corrupt: bool,
    origin: bool,
    /// Can receive one task twice (see `Graph::may_repeat`).
    may_repeat: bool,
    /// Caps: messages in flight, the end of the current cycle (exclusive)
    /// and what was sent in it, and the end of a cooldown.
    in_flight: u32,
    cycle_end: Micros,
    sent_in_cycle: u32,
    held_until: Micros,
    /// Stopped by a reviewer: accepts and produces nothing.
    quarantined: bool,
    /// Dedupe fast path: the task this agent most recently acted on and
    /// what it did (`DONE_*` bits); older tasks live in `Engine::dedupe`.
    recent_task: u32,
    recent_done: u8,
    /// When the agent began its latest task (`NEVER`: not yet).
    task_start: Micros,
}

/// "Not yet" for times.
const NEVER: Micros = Micros::MAX;

impl AgentState {
    const IDLE: AgentState = AgentState {
        busy: false,
        current: NONE,
        head: NONE,
        tail: NONE,
        compromised_by: NO_FAULT,
        compromise_shift: 0.0,
        carries_injection: false,
        round_robin: 0,
        accepted_corrupt: false,
        produced_corrupt: false,
        origin: false,
        may_repeat: false,
        in_flight: 0,
        cycle_end: 0,
        sent_in_cycle: 0,
        held_until: 0,
        quarantined: false,
        recent_task: NONE,
        recent_done: 0,
        task_start: NEVER,
    };
}

/// Multiplicative hasher for the dedupe table's `u64` keys. The table is
/// only probed, never iterated, so its order cannot reach any output.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (value ^ (value >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

const DONE_CLEAN: u8 = 1;
const DONE_CORRUPT: u8 = 2;

/// The output an agent computed for one input.
#[derive(Clone, Copy, Debug)]
struct Output {
    signal: f64,
    shift: f64,
    root: u16,
    injection: bool,
}

struct Streams {
    arrivals: SimRng,
    timing: SimRng,
    faults: SimRng,
    behaviour: SimRng,
    mitigation: SimRng,
}

impl Streams {
    fn new(key: &[u8; 32]) -> Streams {
        Streams {
            arrivals: rng::stream(key, Stream::Arrivals),
            timing: rng::stream(key, Stream::Timing),
            faults: rng::stream(key, Stream::Faults),
            behaviour: rng::stream(key, Stream::Behaviour),
            mitigation: rng::stream(key, Stream::Mitigation),
        }
    }
}

/// The boundary state of one channel: validation baseline and breaker.
#[derive(Clone, Debug, Default)]
struct Guard {
    baseline: Baseline,
    breaker: SeedBreaker,
    sliding: SlidingBreaker,
    /// A corrupted message arrived since the breaker last closed.
    corruption_seen: bool,
}

/// A pending human review: a breaker alert's tripping message and how
/// many hops back along its provenance the reviewer has walked, or a
/// gateway alert's actor (`message` = `NONE`).
#[derive(Clone, Copy, Debug)]
struct ReviewCase {
    message: u32,
    hops: u32,
    /// The agent a gateway log names (`NONE`: the credential does not say).
    actor: u32,
    /// Ground truth: the blocked action had a fault behind it.
    corrupted: bool,
}

impl ReviewCase {
    fn of_message(message: u32, hops: u32) -> ReviewCase {
        ReviewCase { message, hops, actor: NONE, corrupted: false }
    }
}

/// An action attempt: who, on what, for which message (`NONE` outside a
/// task), with which root fault and corruption shift.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    agent: u32,
    resource: u32,
    message: u32,
    signal: f64,
    shift: f64,
    root: u16,
}

/// Everything one run mutates; reused across runs.
pub struct Engine {
    guards: Vec<Guard>,
    reviews: Vec<ReviewCase>,
    chain: Vec<u32>,
    first_detection: Option<Micros>,
    queue: EventQueue,
    messages: Vec<Message>,
    agents: Vec<AgentState>,
    memory: MemoryStore,
    dedupe: HashMap<u64, u8, BuildHasherDefault<KeyHasher>>,
    emitted: Vec<u64>,
    last_clean_signal: Vec<f64>,
    streams: Streams,
    /// Per agent: the hallucination faults that cover it (CSR over `hallucination_faults`).
    hallucination_start: Vec<u32>,
    hallucination_faults: Vec<u16>,
    /// Faults acting on source messages (poisoned feeds, injections).
    feed_faults: Vec<u16>,
    /// Each agent's credential and gateway policy (empty: actions unchecked).
    access: Vec<AgentAccess>,
    trace: Vec<TraceRow>,
    tracing: bool,
    now: Micros,
    next_task: u32,
    last_corrupt_accept: Option<Micros>,
    metrics: RunMetrics,
}

impl Engine {
    /// An engine sized for `model`.
    pub fn new(model: &Model) -> Engine {
        let n = model.agents.len();
        let mut hallucination_start = vec![0u32; n + 1];
        let mut per_agent: Vec<Vec<u16>> = vec![Vec::new(); n];
        let mut feed_faults = Vec::new();
        for (f, fault) in model.faults.iter().enumerate() {
            match &fault.kind {
                FaultKind::Hallucination { agents, .. } => {
                    agents.iter().for_each(|&a| per_agent[a as usize].push(f as u16))
                }
                FaultKind::PoisonedFeed { .. } | FaultKind::PromptInjection { .. } => feed_faults.push(f as u16),
                _ => {}
            }
        }
        let mut hallucination_faults = Vec::new();
        for (a, faults) in per_agent.iter().enumerate() {
            hallucination_faults.extend_from_slice(faults);
            hallucination_start[a + 1] = hallucination_faults.len() as u32;
        }
        Engine {
            guards: Vec::new(),
            reviews: Vec::new(),
            chain: Vec::new(),
            first_detection: None,
            queue: EventQueue::default(),
            messages: Vec::new(),
            agents: vec![AgentState::IDLE; n],
            memory: MemoryStore::new(model),
            dedupe: HashMap::default(),
            emitted: vec![0; model.sources.len()],
            last_clean_signal: Vec::new(),
            streams: Streams::new(&[0; 32]),
            hallucination_start,
            hallucination_faults,
            feed_faults,
            access: credentials::plan(model),
            trace: Vec::new(),
            tracing: false,
            now: 0,
            next_task: 0,
            last_corrupt_accept: None,
            metrics: RunMetrics::default(),
        }
    }

    /// Runs one replication and returns its metrics. With `tracing`, the
    /// event trace is kept for [`Engine::trace`].
    pub fn run(&mut self, model: &Model, graph: &Graph, key: &[u8; 32], tracing: bool) -> RunMetrics {
        self.reset(model, graph, key, tracing);
        self.schedule_initial(model);
        while let Some((time, kind)) = self.queue.pop() {
            debug_assert!(time >= self.now, "time went backwards: {time} < {}", self.now);
            if time > model.horizon {
                break;
            }
            self.now = time;
            self.metrics.events += 1;
            match kind {
                EventKind::SourceEmit(s) => self.source_emit(model, graph, s),
                EventKind::Arrive(m) => {
                    self.landed(model, m);
                    self.arrive(model, graph, m)
                }
                EventKind::ServiceDone(a) => self.service_done(model, graph, a),
                EventKind::Fault(f) => self.fault_acts(model, graph, f),
                EventKind::Review(r) => self.review(model, r),
            }
        }
        self.finish(model)
    }

    /// The trace of the last run made with `tracing`.
    pub fn trace(&self) -> &[TraceRow] {
        &self.trace
    }

    /// The messages of the last run, indexed by message id.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The memory records held at the end of the last run.
    pub fn memory(&self) -> &MemoryStore {
        &self.memory
    }

    /// What chain of agents and inputs produced `record`: the ids of the
    /// message its writer processed, that message's parent, and so on back
    /// to the source (or forged) message that started the task, newest
    /// first (see [`Engine::messages`]). Empty for a record planted by a
    /// fault. It follows parent links: nothing was copied at write time.
    pub fn provenance(&self, record: &Record) -> Vec<u32> {
        let mut chain = Vec::new();
        let mut current = record.message;
        while current != NONE {
            chain.push(current);
            current = self.messages[current as usize].parent;
        }
        chain
    }

    fn reset(&mut self, model: &Model, graph: &Graph, key: &[u8; 32], tracing: bool) {
        self.queue.reset();
        self.messages.clear();
        self.agents.clear();
        self.agents.extend(graph.may_repeat.iter().map(|&r| AgentState { may_repeat: r, ..AgentState::IDLE }));
        debug_assert_eq!(self.agents.len(), model.agents.len());
        self.memory.reset();
        self.dedupe.clear();
        self.emitted.iter_mut().for_each(|e| *e = 0);
        self.last_clean_signal.clear();
        self.last_clean_signal.resize(graph.channels.len(), 0.0);
        self.streams = Streams::new(key);
        self.trace.clear();
        self.tracing = tracing;
        self.now = 0;
        self.next_task = 0;
        self.last_corrupt_accept = None;
        self.metrics = RunMetrics::default();
        self.guards.clear();
        if model.mitigations.guards_channels() {
            self.guards.resize(graph.channels.len(), Guard::default());
        }
        self.first_detection = None;
        self.reviews.clear();
    }

    fn schedule_initial(&mut self, model: &Model) {
        for (s, source) in model.sources.iter().enumerate() {
            let first = match source.arrival {
                Arrival::Periodic { .. } => source.start,
                Arrival::Poisson { mean_gap } => source.start.saturating_add(self.gap(mean_gap)),
            };
            if source.count != Some(0) {
                self.schedule(model, first, EventKind::SourceEmit(s as u32));
            }
        }
        for (f, fault) in model.faults.iter().enumerate() {
            match fault.kind {
                FaultKind::CompromisedAgent { start, .. } | FaultKind::MemoryPoisoning { at: start, .. } => {
                    self.schedule(model, start, EventKind::Fault(f as u32))
                }
                FaultKind::SpoofedSender { start, mean_gap, .. } => {
                    let first = start.saturating_add(self.fault_gap(mean_gap));
                    self.schedule(model, first, EventKind::Fault(f as u32));
                }
                FaultKind::OutOfScope { ref agents, start, mean_gap, .. } => {
                    let first = start.saturating_add(self.fault_gap(mean_gap / agents.len() as f64));
                    self.schedule(model, first, EventKind::Fault(f as u32));
                }
                _ => {}
            }
        }
    }

    #[inline]
    fn schedule(&mut self, model: &Model, time: Micros, kind: EventKind) {
        if time <= model.horizon {
            self.queue.push(time, kind);
        }
    }

    fn gap(&mut self, mean_gap: f64) -> Micros {
        round_micros(rng::exponential(&mut self.streams.arrivals, mean_gap))
    }

    fn fault_gap(&mut self, mean_gap: f64) -> Micros {
        round_micros(rng::exponential(&mut self.streams.faults, mean_gap))
    }

    #[inline]
    fn record(&mut self, kind: TraceKind, agent: u32, message: u32, other: u32, signal: f64, root: u16) {
        if self.tracing {
            let (parent, task, depth) = match self.messages.get(message as usize) {
                Some(m) => (m.parent, m.task, m.depth),
                None => (NONE, NONE, 0),
            };
            self.trace.push(TraceRow {
                time: self.now,
                kind,
                agent,
                message,
                parent,
                task,
                other,
                depth,
                signal,
                root,
            });
        }
    }

    fn new_message(&mut self, message: Message) -> u32 {
        debug_assert!(message.corrupted() || message.shift == 0.0, "clean messages carry no shift");
        let id = self.messages.len() as u32;
        self.messages.push(message);
        self.metrics.messages += 1;
        if message.corrupted() {
            self.metrics.corrupted_messages += 1;
        }
        id
    }

    fn new_task(&mut self) -> u32 {
        let task = self.next_task;
        self.next_task += 1;
        task
    }

    // ------------------------------------------------------------ sources

    fn source_emit(&mut self, model: &Model, graph: &Graph, s: u32) {
        let source = &model.sources[s as usize];
        let mut signal = source.signal_mean;
        if source.signal_sd > 0.0 {
            signal += source.signal_sd * rng::std_normal(&mut self.streams.arrivals);
        }
        let task = self.new_task();
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
        self.record(TraceKind::SourceEmit, source.target, id, NONE, message.signal, message.root);
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

    fn apply_feed_faults(&mut self, model: &Model, message: &mut Message) {
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

    // ------------------------------------------------------------ arrivals

    fn arrive(&mut self, model: &Model, graph: &Graph, id: u32) {
        let message = self.messages[id as usize];
        let agent = message.receiver;
        if self.agents[agent as usize].quarantined {
            return;
        }
        if message.channel != NONE && !self.guards.is_empty() && !self.boundary(model, graph, id, &message) {
            return;
        }
        if self.is_duplicate(&message) {
            self.record(TraceKind::DropDuplicate, agent, id, message.sender, message.signal, message.root);
            return;
        }
        if message.channel != NONE {
            self.last_clean_signal[message.channel as usize] = message.signal - message.shift;
        }
        self.record(TraceKind::Accept, agent, id, message.sender, message.signal, message.root);
        if message.corrupted() {
            self.accept_corrupted(agent);
            if message.injection {
                self.try_injection(model, agent, message.root, id);
            }
        }
        self.messages[id as usize].arrived_at = self.now;
        let state = &mut self.agents[agent as usize];
        if state.busy {
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

    /// Zero-trust checks, boundary validation and the channel's breaker;
    /// `false` rejects the message. Out of line: it keeps `arrive`, which
    /// every message passes, small when no channel is guarded.
    #[inline(never)]
    fn boundary(&mut self, model: &Model, graph: &Graph, id: u32, message: &Message) -> bool {
        let mitigations = &model.mitigations;
        let corrupted = message.corrupted();
        let untrusted = mitigations.zero_trust.is_some_and(|z| {
            !message.signed
                || message.sender != graph.channels[message.channel as usize].from
                || (z.max_chain_depth > 0 && message.depth > z.max_chain_depth)
        });
        let Guard { baseline, breaker, sliding, corruption_seen } = &mut self.guards[message.channel as usize];
        *corruption_seen |= corrupted;
        let rng = &mut self.streams.mitigation;
        let mut validate = || {
            untrusted
                || mitigations
                    .validation
                    .as_ref()
                    .is_some_and(|v| detector::failed(v, baseline, message.signal, corrupted, rng))
        };
        // `closed`: this message closed the breaker (a probe that passed; the
        // breaker goes OPEN -> HALF_OPEN -> CLOSED within one message when a
        // single probe decides).
        let (verdict, closed) = match &mitigations.breaker {
            Some(BreakerConfig::Seed(config)) => {
                let was_closed = breaker.state == State::Closed;
                let verdict = breaker.on_message(config, self.now, validate);
                (verdict, !was_closed && breaker.state == State::Closed)
            }
            Some(BreakerConfig::Sliding(config)) => {
                let was_closed = sliding.state == State::Closed;
                let verdict = sliding.on_message(config, self.now, validate);
                (verdict, !was_closed && sliding.state == State::Closed)
            }
            None if validate() => (Verdict::RejectInvalid, false),
            None => (Verdict::Accept, false),
        };
        if closed {
            *corruption_seen = false;
        }
        let trip_was_false = !*corruption_seen;
        match verdict {
            Verdict::Accept => true,
            Verdict::AcceptThenTrip => {
                self.tripped(model, id, message, trip_was_false);
                true
            }
            _ => {
                self.reject(model, id, message, verdict, trip_was_false);
                false
            }
        }
    }

    fn reject(&mut self, model: &Model, id: u32, message: &Message, verdict: Verdict, trip_was_false: bool) {
        if message.corrupted() {
            self.metrics.rejected_corrupted += 1;
        } else {
            self.metrics.rejected_clean += 1;
        }
        let kind = if verdict == Verdict::RejectOpen { TraceKind::RejectOpen } else { TraceKind::RejectInvalid };
        self.record(kind, message.receiver, id, message.sender, message.signal, message.root);
        if verdict == Verdict::RejectOpen {
            return;
        }
        self.detected(model);
        if verdict == Verdict::Trip {
            self.tripped(model, id, message, trip_was_false);
        }
    }

    /// A failed check or an alert at or after onset counts as a detection.
    fn detected(&mut self, model: &Model) {
        if self.first_detection.is_none() && model.onset().is_some_and(|onset| self.now >= onset) {
            self.first_detection = Some(self.now);
        }
    }

    /// A breaker opened on this message: alert, cooldown, review.
    fn tripped(&mut self, model: &Model, id: u32, message: &Message, trip_was_false: bool) {
        self.detected(model);
        self.metrics.breaker_trips += 1;
        self.metrics.false_trips += trip_was_false as u64;
        self.record(TraceKind::Alert, message.receiver, id, message.sender, message.signal, message.root);
        if let Some(caps) = model.mitigations.caps.filter(|c| c.cooldown > 0) {
            self.hold(model, message.sender, caps.cooldown);
        }
        if let Some(review) = &model.mitigations.review {
            self.schedule_review(model, review.delay, ReviewCase::of_message(id, 0));
        }
    }

    fn schedule_review(&mut self, model: &Model, delay: crate::dist::Dist, case: ReviewCase) {
        let due = self.now.saturating_add(delay.sample(&mut self.streams.mitigation));
        self.reviews.push(case);
        self.schedule(model, due, EventKind::Review(self.reviews.len() as u32 - 1));
    }

    /// The agents that handled a message, newest first: its sender, the
    /// sender of its parent, and so on back to the agent a source fed.
    /// Forged messages have no handlers.
    fn fill_chain(&mut self, message: u32) {
        self.chain.clear();
        let mut current = self.messages[message as usize];
        while current.sender != NONE && current.signed {
            self.chain.push(current.sender);
            if current.parent == NONE {
                break;
            }
            current = self.messages[current.parent as usize];
        }
    }

    /// Ground truth: the agent where the message's corruption entered the
    /// message flow (first corrupted output along its provenance, or the
    /// agent fed a corrupted source message); `None` for forged messages.
    fn root_agent(&self, message: u32) -> Option<u32> {
        let mut current = self.messages[message as usize];
        let root = current.root;
        loop {
            if current.sender == NONE {
                return Some(current.receiver);
            }
            if !current.signed {
                return None;
            }
            let parent = self.messages[current.parent as usize];
            if parent.root != root {
                return Some(current.sender);
            }
            current = parent;
        }
    }

    /// A review comes due: quarantine whom the reviewer finds responsible.
    fn review(&mut self, model: &Model, index: u32) {
        let Some(review) = model.mitigations.review else { return };
        let case = self.reviews[index as usize];
        self.metrics.reviews += 1;
        if case.message == NONE {
            // A gateway alert: the log names the actor when its credential does.
            if case.corrupted && case.actor != NONE {
                // The actor made the fault's attempt itself: the right agent.
                self.quarantine(model, case.actor, NONE, true);
            }
            return;
        }
        let message = self.messages[case.message as usize];
        if !message.corrupted() {
            return;
        }
        let root = self.root_agent(case.message);
        if review.provenance {
            if let Some(agent) = root {
                self.quarantine(model, agent, case.message, self.agents[agent as usize].origin);
            }
            return;
        }
        self.fill_chain(case.message);
        let Some(&suspect) = self.chain.get(case.hops as usize) else { return };
        self.quarantine(model, suspect, case.message, self.agents[suspect as usize].origin);
        if Some(suspect) != root && (case.hops as usize + 1) < self.chain.len() {
            self.schedule_review(model, review.delay, ReviewCase::of_message(case.message, case.hops + 1));
        }
    }

    /// Stops `agent` for the rest of the run and rolls memory back;
    /// `culprit` is ground truth: the agent is where the fault entered.
    fn quarantine(&mut self, model: &Model, agent: u32, evidence: u32, culprit: bool) {
        let state = &mut self.agents[agent as usize];
        if state.quarantined {
            return;
        }
        state.quarantined = true;
        self.metrics.agents_quarantined += 1;
        if culprit {
            if self.metrics.t_attribute.is_none() {
                self.metrics.t_attribute = model.onset().map(|onset| self.now - onset);
            }
        } else {
            self.metrics.wrong_quarantines += 1;
        }
        self.record(TraceKind::Quarantine, agent, evidence, NONE, 0.0, NO_FAULT);
        let Some(review) = model.mitigations.review.filter(|r| r.rollback) else { return };
        let (clean, corrupted) = if review.provenance {
            let messages = &self.messages;
            self.memory.roll_back(|record| record.agent == agent || derived_from(messages, record.message, agent))
        } else {
            let since = self.first_detection.unwrap_or(self.now);
            self.memory.roll_back(|record| record.time >= since)
        };
        self.metrics.rolled_back_clean += clean;
        self.metrics.rolled_back_corrupted += corrupted;
    }

    /// Cooldown after a trip: `agent` sends nothing until `now + cooldown`.
    fn hold(&mut self, model: &Model, agent: u32, cooldown: Micros) {
        let state = &mut self.agents[agent as usize];
        let until = self.now.saturating_add(cooldown).min(model.horizon);
        let from = state.held_until.max(self.now);
        if until > from {
            self.metrics.held_time += until - from;
            state.held_until = until;
            self.record(TraceKind::Hold, agent, NONE, NONE, 0.0, NO_FAULT);
        }
    }

    /// A sent message reached its receiver: it is no longer in flight.
    fn landed(&mut self, model: &Model, id: u32) {
        if model.mitigations.caps.is_some() {
            let sender = self.messages[id as usize].sender;
            let state = &mut self.agents[sender as usize];
            state.in_flight = state.in_flight.saturating_sub(1);
        }
    }

    /// Whether the caps stop `agent` from sending a message of `depth` hops now.
    fn capped(&mut self, caps: &Caps, agent: u32, depth: u32) -> bool {
        let now = self.now;
        let state = &mut self.agents[agent as usize];
        if (caps.max_depth > 0 && depth > caps.max_depth)
            || now < state.held_until
            || (caps.max_in_flight > 0 && state.in_flight >= caps.max_in_flight)
        {
            return true;
        }
        // Cycles are [k * cycle, (k + 1) * cycle); time never goes back, so
        // a new cycle starts exactly when `now` passes the current one's end
        // (one division per cycle, not per message).
        if now >= state.cycle_end {
            state.cycle_end = (now / caps.cycle + 1).saturating_mul(caps.cycle);
            state.sent_in_cycle = 0;
        }
        caps.max_per_cycle > 0 && state.sent_in_cycle >= caps.max_per_cycle
    }

    fn accept_corrupted(&mut self, agent: u32) {
        self.agents[agent as usize].accepted_corrupt = true;
        self.last_corrupt_accept = Some(self.now);
    }

    fn dedupe_key(message: &Message) -> u64 {
        ((message.task as u64) << 32) | message.receiver as u64
    }

    /// What the receiver already did for the message's task (`DONE_*` bits).
    fn done_for(&self, message: &Message) -> u8 {
        let state = &self.agents[message.receiver as usize];
        if state.recent_task == message.task {
            state.recent_done
        } else {
            self.dedupe.get(&Self::dedupe_key(message)).copied().unwrap_or(0)
        }
    }

    /// Records `bit` for the message's task at its receiver; returns whether
    /// the bit was new.
    fn mark_done(&mut self, message: &Message, bit: u8) -> bool {
        let state = &mut self.agents[message.receiver as usize];
        let done = if state.recent_task == message.task {
            &mut state.recent_done
        } else {
            if state.recent_task != NONE {
                let evicted = ((state.recent_task as u64) << 32) | message.receiver as u64;
                self.dedupe.insert(evicted, state.recent_done);
            }
            state.recent_task = message.task;
            state.recent_done = self.dedupe.remove(&Self::dedupe_key(message)).unwrap_or(0);
            &mut state.recent_done
        };
        let before = *done;
        *done |= bit;
        before & bit == 0
    }

    /// A repeat delivery of a task the receiver already acted on with the
    /// same content class. Only agents that `may_repeat` can get one.
    #[inline]
    fn is_duplicate(&self, message: &Message) -> bool {
        message.channel != NONE && self.agents[message.receiver as usize].may_repeat && self.is_repeat(message)
    }

    /// The table lookup behind `is_duplicate`: the receiver's record for the
    /// message's task already holds this content class.
    #[inline(never)]
    fn is_repeat(&self, message: &Message) -> bool {
        let done = self.done_for(message);
        if message.corrupted() {
            done & DONE_CORRUPT != 0
        } else {
            done != 0
        }
    }

    fn try_injection(&mut self, model: &Model, agent: u32, fault: u16, message: u32) {
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
        self.record(TraceKind::Compromise, agent, message, NONE, 0.0, fault);
    }

    #[inline(always)]
    fn start_service(&mut self, model: &Model, agent: u32, id: u32) {
        let state = &mut self.agents[agent as usize];
        state.busy = true;
        state.current = id;
        state.task_start = self.now;
        let done = self.now.saturating_add(model.agents[agent as usize].service.sample(&mut self.streams.timing));
        self.schedule(model, done, EventKind::ServiceDone(agent));
    }

    // ------------------------------------------------------------ processing

    fn service_done(&mut self, model: &Model, graph: &Graph, agent: u32) {
        let id = self.agents[agent as usize].current;
        let input = self.messages[id as usize];
        self.metrics.processed += 1;
        self.metrics.sojourn_total += self.now - input.arrived_at;
        let output = self.compute_output(model, graph, agent, &input);
        self.record(TraceKind::Process, agent, id, NONE, output.signal, output.root);
        if self.claim_effects(model, &input, output.root != NO_FAULT) {
            self.effects(model, graph, agent, id, &input, output);
        }
        let state = &mut self.agents[agent as usize];
        if state.head == NONE {
            state.busy = false;
            state.current = NONE;
        } else {
            let next = state.head;
            state.head = self.messages[next as usize].next;
            if state.head == NONE {
                state.tail = NONE;
            }
            self.start_service(model, agent, next);
        }
    }

    /// Whether this output has effects: clean outputs only when clean traffic
    /// is relayed, and never twice for the same task and content class.
    fn claim_effects(&mut self, model: &Model, input: &Message, corrupted: bool) -> bool {
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

    fn compute_output(&mut self, model: &Model, graph: &Graph, agent: u32, input: &Message) -> Output {
        let spec = &model.agents[agent as usize];
        let channel_p = if input.channel == NONE { 1.0 } else { graph.channels[input.channel as usize].propagation };
        let mut output = Output { signal: 0.0, shift: 0.0, root: NO_FAULT, injection: false };
        if input.corrupted() && rng::chance(&mut self.streams.behaviour, spec.propagation * channel_p) {
            output.shift = spec.gain * input.shift;
            output.root = input.root;
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
        if state.compromised_by != NO_FAULT {
            output.signal += state.compromise_shift;
            output.shift += state.compromise_shift;
            output.root = state.compromised_by;
            output.injection = state.carries_injection;
        }
        if output.root == NO_FAULT {
            output.shift = 0.0;
        }
        output
    }

    #[inline(never)]
    fn mix_memory(&mut self, model: &Model, agent: u32, output: &mut Output) {
        let spec = &model.agents[agent as usize];
        let context = self.memory.read_recent(agent, spec.memory_read);
        if context.count == 0 {
            return;
        }
        let count = context.count as f64;
        let mut context_signal = (context.sum_signal - context.sum_shift) / count;
        let weight = spec.memory_weight;
        output.shift *= 1.0 - weight;
        if context.corrupted > 0 {
            self.accept_corrupted(agent);
            self.record(TraceKind::MemoryRead, agent, NONE, context.corrupted, 0.0, context.root);
            if rng::chance(&mut self.streams.behaviour, spec.propagation) {
                context_signal += context.sum_shift / count;
                output.shift += weight * context.sum_shift / count;
                if output.root == NO_FAULT {
                    output.root = context.root;
                }
            }
        }
        output.signal = (1.0 - weight) * output.signal + weight * context_signal;
    }

    #[inline]
    fn hallucinate(&mut self, model: &Model, agent: u32, output: &mut Output) {
        if !self.hallucination_faults.is_empty() {
            self.hallucinate_with(model, agent, output);
        }
    }

    /// Each hallucination fault covering `agent` may add its shift to the
    /// output (out of line: most scenarios have none).
    #[inline(never)]
    fn hallucinate_with(&mut self, model: &Model, agent: u32, output: &mut Output) {
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
            self.record(TraceKind::Hallucinate, agent, NONE, NONE, output.signal, f);
        }
    }

    fn effects(&mut self, model: &Model, graph: &Graph, agent: u32, id: u32, input: &Message, output: Output) {
        if self.agents[agent as usize].quarantined {
            return;
        }
        let spec = &model.agents[agent as usize];
        let corrupted = output.root != NO_FAULT;
        if corrupted {
            self.agents[agent as usize].produced_corrupt = true;
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
                removed: false,
            };
            self.memory.write(partition, record);
            self.metrics.records += 1;
            self.metrics.corrupted_records += corrupted as u64;
            self.record(TraceKind::RecordWrite, agent, id, NONE, output.signal, output.root);
        }
        if spec.action && spec.action_resource == NONE {
            // An action on no modelled resource: nothing to check.
            self.metrics.actions += 1;
            self.metrics.corrupted_actions += corrupted as u64;
            self.record(TraceKind::Action, agent, id, NONE, output.signal, output.root);
        } else if spec.action {
            let resource = spec.action_resource;
            let attempt =
                Attempt { agent, resource, message: id, signal: output.signal, shift: output.shift, root: output.root };
            if self.act(model, &attempt) != Decision::Allowed && !corrupted {
                self.metrics.clean_actions_blocked += 1;
            }
        }
        let mut channels = graph.out_channels(agent);
        if let Some(caps) = model.mitigations.caps.filter(|c| c.max_fanout > 0) {
            channels = &channels[..channels.len().min(caps.max_fanout as usize)];
        }
        let one = match spec.output {
            OutputRule::All => {
                for &c in channels {
                    self.send(model, graph, c, id, input, output);
                }
                return;
            }
            _ if channels.is_empty() => return,
            OutputRule::RandomOne => rng::below(&mut self.streams.behaviour, channels.len() as u64) as usize,
            OutputRule::RoundRobin => {
                let state = &mut self.agents[agent as usize];
                let pick = state.round_robin as usize % channels.len();
                state.round_robin = state.round_robin.wrapping_add(1);
                pick
            }
        };
        self.send(model, graph, channels[one], id, input, output);
    }

    #[inline(always)]
    fn send(&mut self, model: &Model, graph: &Graph, channel: u32, parent: u32, input: &Message, output: Output) {
        let spec = &graph.channels[channel as usize];
        if let Some(caps) = &model.mitigations.caps {
            if self.capped(caps, spec.from, input.depth + 1) {
                if output.root == NO_FAULT {
                    self.metrics.capped_clean += 1;
                } else {
                    self.metrics.capped_corrupted += 1;
                }
                self.record(TraceKind::Capped, spec.from, parent, spec.to, output.signal, output.root);
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
        self.record(TraceKind::Send, spec.from, id, spec.to, message.signal, message.root);
        let at = self.now.saturating_add(spec.latency.sample(&mut self.streams.timing));
        self.schedule(model, at, EventKind::Arrive(id));
    }

    // ------------------------------------------------------------ faults

    fn fault_acts(&mut self, model: &Model, graph: &Graph, f: u32) {
        let fault = f as u16;
        match model.faults[f as usize].kind {
            FaultKind::CompromisedAgent { agent, end, .. } if self.now >= end => {
                let state = &mut self.agents[agent as usize];
                if state.compromised_by == fault {
                    state.compromised_by = NO_FAULT;
                    state.compromise_shift = 0.0;
                    self.record(TraceKind::CompromiseEnds, agent, NONE, NONE, 0.0, fault);
                }
            }
            FaultKind::CompromisedAgent { agent, shift, end, .. } => {
                self.schedule(model, end, EventKind::Fault(f));
                let state = &mut self.agents[agent as usize];
                state.compromised_by = fault;
                state.compromise_shift = shift;
                state.carries_injection = false;
                state.origin = true;
                self.record(TraceKind::Compromise, agent, NONE, NONE, shift, fault);
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
            FaultKind::MemoryPoisoning { partition, records, shift, .. } => {
                let base = self.memory.newest(partition).map_or(0.0, |r| r.signal - r.shift);
                for _ in 0..records {
                    self.memory.write(partition, memory::planted(self.now, base + shift, shift, fault));
                }
                self.metrics.records += records as u64;
                self.metrics.corrupted_records += records as u64;
                self.record(TraceKind::MemoryPoison, NONE, NONE, records, base + shift, fault);
            }
            _ => {}
        }
    }

    /// An agent tries an action outside its task (fault `fault`).
    fn out_of_scope(
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

    /// An action attempt meets the credential and the gateway; returns
    /// the decision after counting and tracing it.
    fn act(&mut self, model: &Model, attempt: &Attempt) -> Decision {
        let Attempt { agent, resource, message, signal, root, .. } = *attempt;
        let checked = !self.access.is_empty() && resource != NONE;
        let decision = if checked { self.decide(model, agent, resource) } else { Decision::Allowed };
        match decision {
            Decision::Allowed => {
                self.metrics.actions += 1;
                self.metrics.corrupted_actions += (root != NO_FAULT) as u64;
                self.metrics.unattributable_actions += (checked && !self.access[agent as usize].attributable) as u64;
                self.record(TraceKind::Action, agent, message, resource, signal, root);
                if root != NO_FAULT && resource != NONE {
                    self.write_controls(model, attempt);
                }
            }
            Decision::Denied => self.record(TraceKind::ActionDenied, agent, message, resource, signal, root),
            Decision::Blocked => self.gateway_blocked(model, attempt),
        }
        decision
    }

    fn decide(&self, model: &Model, agent: u32, resource: u32) -> Decision {
        let access = &self.access[agent as usize];
        let grants =
            access.credential.and_then(|c| model.credentials.get(c as usize)).map_or(0, |c| c.grants_at(self.now));
        let start = self.agents[agent as usize].task_start;
        let task_start = (start != NEVER).then_some(start);
        access::decide(access, grants, resource, self.now, task_start, model.mitigations.gateway.is_some())
    }

    /// The gateway blocked an action: a detection, and an alert for review.
    fn gateway_blocked(&mut self, model: &Model, attempt: &Attempt) {
        let Attempt { agent, resource, message, signal, root, .. } = *attempt;
        self.record(TraceKind::ActionBlocked, agent, message, resource, signal, root);
        if !model.mitigations.gateway.is_some_and(|g| g.alert) {
            return;
        }
        self.detected(model);
        self.record(TraceKind::Alert, agent, NONE, resource, signal, root);
        if let Some(review) = &model.mitigations.review {
            let actor = if self.access[agent as usize].attributable { agent } else { NONE };
            let case = ReviewCase { message: NONE, hops: 0, actor, corrupted: root != NO_FAULT };
            self.schedule_review(model, review.delay, case);
        }
    }

    /// A corrupted write that went ahead on a resource controlling an agent
    /// compromises that agent (e.g. a CI pipeline whose config was changed).
    fn write_controls(&mut self, model: &Model, attempt: &Attempt) {
        let spec = &model.resources[attempt.resource as usize];
        if spec.access != AccessKind::Write || spec.controls == NONE {
            return;
        }
        let target = spec.controls;
        let state = &mut self.agents[target as usize];
        if state.compromised_by != NO_FAULT || state.quarantined {
            return;
        }
        state.compromised_by = attempt.root;
        state.compromise_shift = attempt.shift;
        state.carries_injection = false;
        self.accept_corrupted(target);
        self.record(TraceKind::Compromise, target, attempt.message, attempt.agent, attempt.shift, attempt.root);
    }

    fn spoof(&mut self, graph: &Graph, channel: u32, fault: u16, shift: f64) -> u32 {
        let spec = &graph.channels[channel as usize];
        let task = self.new_task();
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
        self.record(TraceKind::Spoof, spec.to, id, spec.from, signal, fault);
        id
    }

    // ------------------------------------------------------------ results

    fn finish(&mut self, model: &Model) -> RunMetrics {
        let mut metrics = self.metrics;
        metrics.agents_reached = self.agents.iter().filter(|a| a.accepted_corrupt && !a.origin).count() as u32;
        metrics.agents_corrupted = self.agents.iter().filter(|a| a.produced_corrupt).count() as u32;
        metrics.corrupted_records_left = self.memory.records().filter(|r| r.root != NO_FAULT).count() as u64;
        metrics.onset = model.onset();
        metrics.t_detect = self.first_detection.zip(metrics.onset).map(|(t, onset)| t - onset);
        metrics.contained = true;
        if let Some(onset) = metrics.onset {
            match self.last_corrupt_accept {
                None => metrics.t_contain = Some(0),
                Some(last) => {
                    debug_assert!(last >= onset, "corrupted input accepted before any fault started");
                    metrics.contained = last <= model.horizon - model.quiet_window;
                    metrics.t_contain = metrics.contained.then(|| last - onset);
                }
            }
        }
        metrics
    }
}

/// Whether `agent` handled any message on the provenance chain of `message`.
fn derived_from(messages: &[Message], message: u32, agent: u32) -> bool {
    let mut current = message;
    while current != NONE {
        let m = &messages[current as usize];
        if m.sender == agent || (m.sender == NONE && m.receiver == agent) {
            return true;
        }
        current = m.parent;
    }
    false
}

#[cfg(test)]
mod tests;
