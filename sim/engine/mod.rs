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

mod actions;
mod arrivals;
mod boundary;
mod caps;
mod checks;
mod dedupe;
mod faults;
mod joins;
mod memory;
mod pools;
mod processing;
mod queue;
mod review;
mod routing;
mod trace;

pub use memory::{Context, MemoryStore, Record};
pub use queue::{EventKind, EventQueue};
pub use trace::{Detail, TraceKind, TraceRow, Value};

use boundary::Guard;
use dedupe::KeyHasher;
use review::ReviewCase;
use routing::Task;

use crate::limits;
use crate::metrics::{CheckCounts, RunMetrics, PREVALENCE_SAMPLES};
use crate::mitigation::access::AgentAccess;
use crate::model::{Arrival, FaultKind, Model, NONE, NO_FAULT};
use crate::rng::{self, SimRng, Stream};
use crate::time::{round_micros, Micros};
use crate::topology::Graph;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

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
    /// The message's signal as a trace row shows it.
    #[inline]
    pub fn value(&self) -> Value {
        Value { signal: self.signal, shift: self.shift, root: self.root }
    }

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
    /// Was compromised at some time in the run.
    ever_compromised: bool,
    round_robin: u32,
    accepted_corrupt: bool,
    produced_corrupt: bool,
    /// Its latest output was corrupted (and it is not quarantined since).
    corrupt_now: bool,
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
    /// Served by a pool of servers (`servers` > 1, or a reviewer), of
    /// which `free` are idle; otherwise by the single server above.
    pooled: bool,
    free: u32,
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
        ever_compromised: false,
        round_robin: 0,
        accepted_corrupt: false,
        produced_corrupt: false,
        corrupt_now: false,
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
        pooled: false,
        free: 0,
    };
}

struct Streams {
    arrivals: SimRng,
    timing: SimRng,
    faults: SimRng,
    behaviour: SimRng,
    mitigation: SimRng,
    routing: SimRng,
    checks: SimRng,
}

impl Streams {
    fn new(key: &[u8; 32]) -> Streams {
        Streams {
            arrivals: rng::stream(key, Stream::Arrivals),
            timing: rng::stream(key, Stream::Timing),
            faults: rng::stream(key, Stream::Faults),
            behaviour: rng::stream(key, Stream::Behaviour),
            mitigation: rng::stream(key, Stream::Mitigation),
            routing: rng::stream(key, Stream::Routing),
            checks: rng::stream(key, Stream::Checks),
        }
    }
}

/// What one run may use: events processed (and messages created, which
/// each become an event) and, when it is traced, trace rows. The defaults are [`limits::EVENTS_PER_RUN`] and [`limits::TRACE_ROWS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub events: u64,
    pub trace_rows: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { events: limits::EVENTS_PER_RUN, trace_rows: limits::TRACE_ROWS }
    }
}

/// Why a run stopped before its horizon: it had used its whole budget of
/// events or trace rows when simulated time `at` came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overrun {
    Events { at: Micros, budget: u64 },
    TraceRows { at: Micros, budget: u64 },
}

/// One replayed run: its metrics, its event trace, and the memory records
/// held at the horizon (rolled-back ones included, in write order) with
/// their provenance.
#[derive(Clone, Debug)]
pub struct Replayed {
    pub metrics: RunMetrics,
    /// What each check did ([`Engine::check_counts`]).
    pub checks: Vec<CheckCounts>,
    pub trace: Vec<TraceRow>,
    /// The record ids trace rows name, by their `records` ranges.
    pub records_named: Vec<u64>,
    /// Each record with its provenance: `(message id, message)`, newest first.
    pub records: Vec<(Record, Vec<(u32, Message)>)>,
    /// Each task's kind (`model::NO_KIND`: none), by task index.
    pub task_kinds: Vec<u16>,
}

/// Everything one run mutates; reused across runs.
pub struct Engine {
    guards: Vec<Guard>,
    reviews: Vec<ReviewCase>,
    /// Reviews waiting for a server of the review pool, oldest first.
    review_queue: std::collections::VecDeque<u32>,
    /// Each review's wait for a reviewer this run (for its p99).
    review_waits: Vec<Micros>,
    /// Scratch: the out-channels a `random = k` output picks from.
    picked: Vec<u32>,
    /// The message a boundary delivers: the one that arrived, or its
    /// sanitised copy.
    delivered: u32,
    chain: Vec<u32>,
    first_detection: Option<Micros>,
    queue: EventQueue,
    messages: Vec<Message>,
    /// Indexed by task id.
    tasks: Vec<Task>,
    /// Joins of this run (the first `joins_used`; storage kept across
    /// runs), found by `(task << 32) | agent` (probed, never iterated).
    joins: Vec<joins::PendingJoin>,
    joins_used: usize,
    join_index: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
    join_parts: Vec<joins::Part>,
    /// Retries each check gave each task, by `(task << 32) | check`.
    retries_by: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
    /// What each check did this run, by agent index (ascending).
    check_counts: Vec<CheckCounts>,
    /// Each channel's place among its receiver's in-channels.
    in_place: Vec<u8>,
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
    /// Per fault: the smallest `|shift|` that still counts as its corruption.
    material: Vec<f64>,
    /// Each agent's credential and gateway policy (empty: actions unchecked).
    access: Vec<AgentAccess>,
    trace: Vec<TraceRow>,
    /// The record ids trace rows name (`TraceRow::records` ranges).
    trace_records: Vec<u64>,
    tracing: bool,
    /// When tracing: each input's service start, by message id (for the
    /// `process` row's `started`).
    starts: Vec<Micros>,
    now: Micros,
    next_task: u32,
    last_corrupt_accept: Option<Micros>,
    /// Agents whose `corrupt_now` holds, and the next prevalence sample to take.
    corrupted_now: u32,
    next_sample: usize,
    metrics: RunMetrics,
    budget: Budget,
    overrun: Option<Overrun>,
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
            review_queue: std::collections::VecDeque::new(),
            review_waits: Vec::new(),
            picked: Vec::new(),
            delivered: NONE,
            chain: Vec::new(),
            first_detection: None,
            queue: EventQueue::default(),
            messages: Vec::new(),
            tasks: Vec::new(),
            joins: Vec::new(),
            joins_used: 0,
            join_index: HashMap::default(),
            join_parts: Vec::new(),
            retries_by: HashMap::default(),
            check_counts: checks::counts_of(model),
            in_place: Vec::new(),
            agents: vec![AgentState::IDLE; n],
            memory: MemoryStore::new(model),
            dedupe: HashMap::default(),
            emitted: vec![0; model.sources.len()],
            last_clean_signal: Vec::new(),
            streams: Streams::new(&[0; 32]),
            hallucination_start,
            hallucination_faults,
            feed_faults,
            material: Vec::new(),
            access: actions::plan(model),
            trace: Vec::new(),
            trace_records: Vec::new(),
            tracing: false,
            starts: Vec::new(),
            now: 0,
            next_task: 0,
            last_corrupt_accept: None,
            corrupted_now: 0,
            next_sample: 0,
            metrics: RunMetrics::default(),
            budget: Budget::default(),
            overrun: None,
        }
    }

    /// The budget every later run is held to.
    pub fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
    }

    /// Whether the last run stopped short of its horizon, having used its
    /// budget (its metrics then cover only the time before).
    pub fn overrun(&self) -> Option<Overrun> {
        self.overrun
    }

    /// Runs one replication and returns its metrics. With `tracing`, the
    /// event trace is kept for [`Engine::trace`]. A run stops when it has
    /// used its [`Budget`] ([`Engine::overrun`]).
    pub fn run(&mut self, model: &Model, graph: &Graph, key: &[u8; 32], tracing: bool) -> RunMetrics {
        self.reset(model, graph, key, tracing);
        self.schedule_initial(model);
        while let Some((time, kind)) = self.queue.pop() {
            debug_assert!(time >= self.now, "time went backwards: {time} < {}", self.now);
            if time > model.horizon {
                break;
            }
            self.now = time;
            // Messages count against the event budget too: one event may
            // send to every out-channel.
            if self.metrics.events == self.budget.events || self.messages.len() as u64 > self.budget.events {
                self.overrun = Some(Overrun::Events { at: time, budget: self.budget.events });
                break;
            }
            self.metrics.events += 1;
            match kind {
                EventKind::SourceEmit(s) => self.source_emit(model, graph, s),
                EventKind::Arrive(m) => {
                    self.landed(model, m);
                    self.arrive(model, graph, m)
                }
                EventKind::ServiceDone(a) => self.service_done(model, graph, a),
                EventKind::Fault(f) => self.fault_acts(model, graph, f),
                EventKind::Review(r) => self.review_done(model, r),
                EventKind::JoinTimeout(j) => self.join_timeout(model, graph, j),
                EventKind::PoolDone(m) => self.pool_done(model, graph, m),
                EventKind::ShiftStart(a) => self.shift_start(model, a),
            }
            if self.trace.len() as u64 > self.budget.trace_rows {
                self.overrun = Some(Overrun::TraceRows { at: time, budget: self.budget.trace_rows });
                break;
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

    /// The last run, made with `tracing`, as a replay reports it: `metrics`,
    /// the trace, and every record in memory at the horizon in write order
    /// with its provenance.
    pub fn replayed(&self, metrics: RunMetrics) -> Replayed {
        let mut records: Vec<Record> = self.memory.all_records().copied().collect();
        records.sort_by_key(|r| r.sequence);
        let records = records
            .into_iter()
            .map(|r| (r, self.provenance(&r).into_iter().map(|id| (id, self.messages[id as usize])).collect()))
            .collect();
        Replayed {
            metrics,
            checks: self.check_counts.clone(),
            trace: self.trace.clone(),
            records_named: self.trace_records.clone(),
            records,
            task_kinds: self.tasks.iter().map(|t| t.kind).collect(),
        }
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
        self.overrun = None;
        self.messages.clear();
        self.tasks.clear();
        self.joins_used = 0;
        self.join_index.clear();
        self.retries_by.clear();
        self.reset_check_counts(model);
        if model.joins() {
            self.place_in_channels(graph);
        }
        self.agents.clear();
        self.agents.extend(graph.may_repeat.iter().map(|&r| AgentState { may_repeat: r, ..AgentState::IDLE }));
        self.pool_agents(model);
        debug_assert_eq!(self.agents.len(), model.agents.len());
        self.memory.reset();
        self.dedupe.clear();
        self.emitted.iter_mut().for_each(|e| *e = 0);
        self.last_clean_signal.clear();
        self.last_clean_signal.resize(graph.channels.len(), 0.0);
        self.streams = Streams::new(key);
        self.trace.clear();
        self.trace_records.clear();
        self.tracing = tracing;
        self.starts.clear();
        self.now = 0;
        self.next_task = 0;
        self.last_corrupt_accept = None;
        self.metrics = RunMetrics::default();
        self.metrics.prevalence.horizon = model.horizon;
        self.corrupted_now = 0;
        self.next_sample = 0;
        self.guards.clear();
        if model.mitigations.guards_channels() {
            self.guards.resize(graph.channels.len(), Guard::default());
        }
        self.first_detection = None;
        self.reviews.clear();
        self.review_queue.clear();
        self.review_waits.clear();
        self.material.clear();
        self.material.extend(model.faults.iter().map(|f| model.materiality.threshold(f.kind.shift())));
    }

    fn schedule_initial(&mut self, model: &Model) {
        self.schedule_shifts(model);
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

    #[inline]
    fn gap(&mut self, mean_gap: f64) -> Micros {
        round_micros(rng::exponential(&mut self.streams.arrivals, mean_gap))
    }

    fn fault_gap(&mut self, mean_gap: f64) -> Micros {
        round_micros(rng::exponential(&mut self.streams.faults, mean_gap))
    }

    #[inline]
    fn record(&mut self, kind: TraceKind, agent: u32, message: u32, detail: Detail, value: Value) {
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
                detail,
                depth,
                signal: value.signal,
                shift: value.shift,
                root: value.root,
                records: (0, 0),
                started: self.now,
            });
        }
    }

    /// When tracing, notes that input `id` starts service now.
    #[inline(always)]
    fn note_start(&mut self, id: u32) {
        if self.tracing {
            if self.starts.len() <= id as usize {
                self.starts.resize(id as usize + 1, NEVER);
            }
            self.starts[id as usize] = self.now;
        }
    }

    /// Names `ids` as the records the last trace row concerns.
    fn name_records(&mut self, ids: impl Iterator<Item = u64>) {
        if let Some(row) = self.trace.last_mut().filter(|_| self.tracing) {
            let from = self.trace_records.len() as u32;
            self.trace_records.extend(ids);
            row.records = (from, self.trace_records.len() as u32);
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

    fn new_task(&mut self, task: Task) -> u32 {
        let id = self.next_task;
        self.next_task += 1;
        self.tasks.push(task);
        debug_assert_eq!(self.tasks.len(), self.next_task as usize);
        id
    }

    /// Agent `agent`'s latest output is now corrupted (or no longer is):
    /// the samples before now keep the old count.
    #[inline(never)]
    fn set_corrupt_now(&mut self, agent: u32, corrupt: bool) {
        debug_assert_ne!(self.agents[agent as usize].corrupt_now, corrupt);
        self.sample_prevalence_before(self.now);
        self.agents[agent as usize].corrupt_now = corrupt;
        if corrupt {
            self.corrupted_now += 1;
        } else {
            self.corrupted_now -= 1;
        }
    }

    /// Takes every prevalence sample due before `time`.
    fn sample_prevalence_before(&mut self, time: Micros) {
        let prevalence = &mut self.metrics.prevalence;
        while self.next_sample < PREVALENCE_SAMPLES && prevalence.time(self.next_sample) < time {
            prevalence.counts[self.next_sample] = self.corrupted_now;
            self.next_sample += 1;
        }
    }

    fn finish(&mut self, model: &Model) -> RunMetrics {
        self.sample_prevalence_before(Micros::MAX);
        let mut metrics = self.metrics;
        metrics.agents_reached = self.agents.iter().filter(|a| a.accepted_corrupt && !a.origin).count() as u32;
        metrics.agents_corrupted = self.agents.iter().filter(|a| a.produced_corrupt).count() as u32;
        metrics.agents_compromised = self.agents.iter().filter(|a| a.ever_compromised && !a.origin).count() as u32;
        metrics.origins_compromised = self.agents.iter().filter(|a| a.ever_compromised && a.origin).count() as u32;
        metrics.corrupted_records_left = self.memory.records().filter(|r| r.root != NO_FAULT).count() as u64;
        (metrics.tasks, metrics.tasks_delivered, metrics.tasks_lost) = self.count_tasks();
        self.total_checks(&mut metrics);
        metrics.reviewer_capacity = pools::reviewer_capacity(model);
        metrics.review_wait_p99 = pools::p99(&mut self.review_waits);
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
        debug_assert_eq!(metrics.check(model.agents.len() as u32, model.horizon), Ok(()));
        debug_assert!(self.check_counts.iter().all(|c| c.check().is_ok()), "{:?}", self.check_counts);
        metrics
    }
}

#[cfg(test)]
mod tests;
