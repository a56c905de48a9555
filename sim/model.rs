//! The compiled model: plain data with integer indices, built from a
//! scenario file by [`crate::scenario`] and read (never changed) by the
//! engine. Nothing here knows about files or text formats.

use crate::dist::Dist;
use crate::mitigation::access::CredentialKind;
use crate::time::Micros;

/// "No such index" for `u32` links (no parent, no sender, no channel).
pub const NONE: u32 = u32::MAX;
/// "No fault": the root of a clean message or record.
pub const NO_FAULT: u16 = u16::MAX;
/// "No kind": a task of a source without `kinds`; in a route, any kind.
pub const NO_KIND: u16 = u16::MAX;

/// What an agent does in the system; a label for outputs and generators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Monitor,
    Planner,
    Recommender,
    Executor,
    Reconciler,
    Oversight,
    Reviewer,
}

impl Role {
    /// Every role, in the order of the scenario docs.
    pub const ALL: [Role; 8] = [
        Role::Agent,
        Role::Monitor,
        Role::Planner,
        Role::Recommender,
        Role::Executor,
        Role::Reconciler,
        Role::Oversight,
        Role::Reviewer,
    ];

    /// The name a scenario gives it (`role = "..."`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Monitor => "monitor",
            Role::Planner => "planner",
            Role::Recommender => "recommender",
            Role::Executor => "executor",
            Role::Reconciler => "reconciler",
            Role::Oversight => "oversight",
            Role::Reviewer => "reviewer",
        }
    }
}

/// Where an agent sends each output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputRule {
    /// Every out-channel gets a copy.
    #[default]
    All,
    /// One out-channel chosen uniformly at random.
    RandomOne,
    /// Out-channels in turn.
    RoundRobin,
    /// `k` distinct out-channels chosen uniformly at random (all of them
    /// when the agent has `k` or fewer): delegation to k of n neighbours.
    Random(u32),
    /// The first of the agent's `routes` whose kind is the task's kind.
    ByKind,
    /// The first of the agent's `routes` whose `below` is above the output signal.
    BySignal,
}

impl OutputRule {
    /// Whether the rule follows the agent's `routes`.
    pub fn routes(self) -> bool {
        matches!(self, OutputRule::ByKind | OutputRule::BySignal)
    }
}

/// One entry of a router's table: tasks of `kind` (`ByKind`; `NO_KIND`:
/// any) or outputs whose signal is below `below` (`BySignal`; infinite:
/// any) go to the first available receiver of `channels`, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub kind: u16,
    pub below: f64,
    /// Channel indices, at least one; later ones are failovers.
    pub channels: Vec<u32>,
}

/// One agent's fixed parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Agent {
    pub name: String,
    pub role: Role,
    /// Time to process one input, at each of its servers.
    pub service: Dist,
    /// Servers sharing its FIFO queue (people in a review pool); 1 for most.
    pub servers: u32,
    /// When its servers start work (`None`: at any time).
    pub hours: Option<crate::time::Hours>,
    /// Output signal = gain * input signal + noise.
    pub gain: f64,
    /// Standard deviation of the output noise.
    pub noise: f64,
    pub output: OutputRule,
    /// Performs a side-effecting action for every input it processes.
    pub action: bool,
    /// The resource that action uses (`NONE`: not modelled, never checked).
    pub action_resource: u32,
    /// The resources its tasks need, as a bit set over `Model::resources`.
    pub scope: u64,
    /// The standing credential it acts with (`NONE`: none declared).
    pub credential: u32,
    /// A human sponsor is accountable for it.
    pub sponsored: bool,
    /// Writes a memory record after processing each input.
    pub memory_write: bool,
    /// Reads this many most recent visible records as context (0 = none).
    pub memory_read: u32,
    /// Weight of the memory context in the output signal, in [0, 1].
    pub memory_weight: f64,
    /// Chance that a corrupted input (message or memory) corrupts the output.
    pub propagation: f64,
    /// Factor on the chance that an injection it accepts compromises it
    /// (1: as the fault says; 0: immune), in [0, 1].
    pub susceptibility: f64,
    /// A router's table (`OutputRule::ByKind`, `OutputRule::BySignal`).
    pub routes: Vec<Route>,
    /// Chance that a corrupted output is sent on a wrong route.
    pub misroute: f64,
    /// Skip receivers that are quarantined or held when another is listed
    /// (a route's later channels; for `RandomOne` and `RoundRobin`, the
    /// other out-channels).
    pub failover: bool,
    /// Waits for a task's inputs from several in-channels and processes
    /// them as one (`None`: each input is processed alone).
    pub join: Option<Join>,
    /// A verification step: its verdict on each output (`None`: no check).
    pub check: Option<Check>,
}

/// A verification step (lint, a test suite, a judge): each output it
/// would pass on fails with `detect` when corrupted and `false_fail` when
/// clean; a failed task goes back to `retry` (its input there again) at
/// most `max_retries` times, then to `escalate`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Check {
    pub detect: f64,
    pub false_fail: f64,
    /// The producer that redoes a failed task (`NONE`: none).
    pub retry: u32,
    pub max_retries: u32,
    /// Where a task goes once its retries are spent (`NONE`: it is lost).
    pub escalate: u32,
}

/// A joining agent's rule: how many of its in-channels a task must arrive
/// on, how long it waits after the first, and how it combines them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Join {
    /// Inputs (from distinct in-channels) that complete the join, 1 to the
    /// agent's in-channels.
    pub inputs: u32,
    /// From the task's first input; then it proceeds with what it has.
    pub timeout: Option<Micros>,
    pub combine: Combine,
}

/// How a join makes one input of several.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Signals and corruptions averaged: one corrupted input shifts the output.
    Mean,
    /// The median input by signal (the mean of the middle two when even):
    /// a minority of corrupted inputs is outvoted.
    Median,
    /// The inputs of the majority, clean or corrupted, averaged (all of
    /// them on a tie): a minority of corrupted inputs is outvoted.
    Vote,
    /// Corrupted if any input is: the clean inputs' mean plus the largest
    /// corruption.
    Any,
}

/// A directed agent-to-agent channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Channel {
    pub from: u32,
    pub to: u32,
    pub latency: Dist,
    /// Chance that a corrupted message on this channel corrupts the receiver's output.
    pub propagation: f64,
    /// Factor on the chance that an injection arriving on this channel
    /// compromises the receiver, in [0, 1].
    pub trust: f64,
}

/// How a source spaces its emissions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrival {
    /// Exponential gaps with this mean (µs).
    Poisson { mean_gap: f64 },
    /// A fixed period (µs, > 0).
    Periodic { period: Micros },
}

/// An external feed delivering clean work to one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub name: String,
    pub target: u32,
    pub arrival: Arrival,
    /// Time of the first emission (periodic) or start of the process (Poisson).
    pub start: Micros,
    /// Stop after this many emissions.
    pub count: Option<u64>,
    pub signal_mean: f64,
    pub signal_sd: f64,
    /// Each task's kind drawn from `(kind, cumulative share)` (empty: no kind).
    pub kinds: Vec<(u16, f64)>,
}

/// Which memory partition a record goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partition {
    /// The one shared store (shared mode).
    Shared,
    /// An agent's own partition (isolated mode).
    Agent(u32),
}

/// A fault: what goes wrong, where and when. `end` is exclusive.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Source messages into `agent` during [start, end) carry `shift`.
    PoisonedFeed { agent: u32, start: Micros, end: Micros, shift: f64 },
    /// During [start, end), each output of `agent` is corrupted by `shift`
    /// with probability `effect`.
    CompromisedAgent { agent: u32, start: Micros, end: Micros, shift: f64, effect: f64 },
    /// Each output of an agent in `agents` during [start, end) is corrupted
    /// by `shift` with probability `rate`.
    Hallucination { agents: Vec<u32>, rate: f64, start: Micros, end: Micros, shift: f64 },
    /// Source messages into `agent` during [start, end) carry `shift` and
    /// an injection that may compromise the agents accepting it.
    PromptInjection { agent: u32, start: Micros, end: Micros, shift: f64, injection: Injection },
    /// Forged, unsigned messages on `channel` at Poisson times during [start, end).
    SpoofedSender { channel: u32, start: Micros, end: Micros, mean_gap: f64, shift: f64 },
    /// `records` corrupted records written into `partition` at `at`, which
    /// may carry an injection that compromises the agents reading them.
    MemoryPoisoning { partition: Partition, at: Micros, records: u32, shift: f64, injection: Option<Injection> },
    /// Each agent in `agents` attempts actions outside its task at Poisson
    /// times (mean gap `mean_gap` per agent) during [start, end), each on a
    /// resource drawn uniformly from `resources`. With `only_compromised`,
    /// only compromised agents attempt, and the attempt's root is the fault
    /// that compromised them; a successful write to a resource that
    /// controls an agent compromises that agent by `shift`.
    OutOfScope {
        agents: Vec<u32>,
        resources: Vec<u32>,
        start: Micros,
        end: Micros,
        mean_gap: f64,
        only_compromised: bool,
        shift: f64,
    },
}

/// How an injected instruction takes agents over: carried by a message or
/// a memory record, it compromises an agent that accepts it with a chance
/// of `first` or `spread` times the agent's susceptibility (and, on a
/// channel, the channel's trust). A compromised agent's outputs are then
/// corrupted by the fault's shift, each with probability `effect`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Injection {
    /// For its first target: the fault's agent receiving a poisoned feed
    /// message, or an agent reading a planted record.
    pub first: f64,
    /// For every later agent: one that receives it in another agent's
    /// output or reads it in a record an agent wrote.
    pub spread: f64,
    /// Compromised agents' outputs carry it on.
    pub replicate: bool,
    /// Agents not compromised that pass its corrupted content on (their
    /// propagation) carry it on too: relayed, quoted, summarised.
    pub relay: bool,
    /// The records written by agents that carry it on (replicating or
    /// relaying) carry it too, and may compromise their readers.
    pub notes: bool,
    /// Chance each output of an agent it compromised is corrupted.
    pub effect: f64,
}

impl FaultKind {
    /// The injection the fault carries, if any.
    pub fn injection(&self) -> Option<&Injection> {
        match self {
            FaultKind::PromptInjection { injection, .. } => Some(injection),
            FaultKind::MemoryPoisoning { injection, .. } => injection.as_ref(),
            _ => None,
        }
    }

    /// Chance that each output of an agent this fault compromised is
    /// corrupted (1 for faults that compromise without an effect).
    pub fn effect(&self) -> f64 {
        match self {
            FaultKind::CompromisedAgent { effect, .. } => *effect,
            _ => self.injection().map_or(1.0, |i| i.effect),
        }
    }

    /// When the fault starts acting.
    pub fn start(&self) -> Micros {
        match *self {
            FaultKind::PoisonedFeed { start, .. }
            | FaultKind::CompromisedAgent { start, .. }
            | FaultKind::Hallucination { start, .. }
            | FaultKind::PromptInjection { start, .. }
            | FaultKind::SpoofedSender { start, .. }
            | FaultKind::OutOfScope { start, .. } => start,
            FaultKind::MemoryPoisoning { at, .. } => at,
        }
    }

    /// The shift the fault puts on a signal it corrupts.
    pub fn shift(&self) -> f64 {
        match *self {
            FaultKind::PoisonedFeed { shift, .. }
            | FaultKind::CompromisedAgent { shift, .. }
            | FaultKind::Hallucination { shift, .. }
            | FaultKind::PromptInjection { shift, .. }
            | FaultKind::SpoofedSender { shift, .. }
            | FaultKind::MemoryPoisoning { shift, .. }
            | FaultKind::OutOfScope { shift, .. } => shift,
        }
    }

    /// Short name used in outputs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            FaultKind::PoisonedFeed { .. } => "poisoned_feed",
            FaultKind::CompromisedAgent { .. } => "compromised_agent",
            FaultKind::Hallucination { .. } => "hallucination",
            FaultKind::PromptInjection { .. } => "prompt_injection",
            FaultKind::SpoofedSender { .. } => "spoofed_sender",
            FaultKind::MemoryPoisoning { .. } => "memory_poisoning",
            FaultKind::OutOfScope { .. } => "out_of_scope",
        }
    }
}

/// How far a corruption's shift may fade before it is no longer harm.
///
/// Shifts fade as they are averaged with clean values (memory context,
/// gains below 1). Once an output's shift is smaller than the threshold,
/// the output is clean again: it loses its root fault and stops counting
/// in every metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Materiality {
    /// A fraction of the root fault's own `|shift|` (the default, 0.1).
    Relative(f64),
    /// A size in signal units, whatever the fault.
    Absolute(f64),
}

impl Materiality {
    /// The default: a corruption that has lost nine tenths of its size.
    pub const DEFAULT: Materiality = Materiality::Relative(0.1);

    /// The smallest `|shift|` still counted as corruption for a fault
    /// whose own shift is `fault_shift` (0: nothing ever fades).
    pub fn threshold(self, fault_shift: f64) -> f64 {
        match self {
            Materiality::Relative(fraction) => fraction * fault_shift.abs(),
            Materiality::Absolute(size) => size,
        }
    }
}

/// A named fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub name: String,
    pub kind: FaultKind,
}

/// Whether an action reads or writes its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    Read,
    Write,
}

/// Something agents act on: a tool, an API, a repository, a pipeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub name: String,
    pub access: AccessKind,
    /// The agent whose behaviour this resource configures (`NONE`: none):
    /// a corrupted write that succeeds compromises it.
    pub controls: u32,
}

/// A standing credential. Grants are bit sets over `Model::resources`.
#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
    pub name: String,
    pub kind: CredentialKind,
    pub grants: u64,
    /// Grants added later (privilege creep): `(from, grants)`.
    pub gains: Vec<(Micros, u64)>,
    /// Token lifetime (task-scoped only; 0 otherwise).
    pub ttl: Micros,
}

impl Credential {
    /// What the credential grants at `now`.
    pub fn grants_at(&self, now: Micros) -> u64 {
        self.gains.iter().filter(|(from, _)| *from <= now).fold(self.grants, |all, (_, more)| all | more)
    }
}

/// Memory layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Memory {
    /// `false`: one shared store; `true`: a partition per agent plus grants.
    pub isolated: bool,
    /// Records kept per partition (oldest overwritten first).
    pub capacity: u32,
    /// `(reader, owner)`: reader may read owner's partition (isolated mode).
    pub grants: Vec<(u32, u32)>,
}

/// A seeded topology generator.
#[derive(Clone, Debug, PartialEq)]
pub enum Generator {
    Chain {
        n: u32,
    },
    KaryTree {
        k: u32,
        depth: u32,
    },
    /// Layer sizes; each agent links to `fanout[l]` random agents of layer l+1 (0 = all).
    Layered {
        sizes: Vec<u32>,
        fanout: Vec<u32>,
    },
    ErdosRenyi {
        n: u32,
        mean_degree: f64,
    },
    BarabasiAlbert {
        n: u32,
        m: u32,
    },
    WattsStrogatz {
        n: u32,
        k: u32,
        beta: f64,
    },
}

/// Where the channels come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Topology {
    /// Channels listed in the scenario.
    Explicit(Vec<Channel>),
    /// Channels drawn by a generator with a channel template.
    Generated {
        generator: Generator,
        channel: Channel,
        /// Draw a new graph for every replication (else one per scenario and seed).
        redraw: bool,
    },
}

/// A whole compiled scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub name: String,
    pub description: String,
    pub horizon: Micros,
    /// A corrupted acceptance inside the last `quiet_window` means "not contained".
    pub quiet_window: Micros,
    /// When a faded corruption stops counting.
    pub materiality: Materiality,
    /// Agents relay clean outputs (false: only corrupted traffic is simulated).
    pub clean_relay: bool,
    /// Task kinds the sources draw, in order of first appearance.
    pub kinds: Vec<String>,
    pub agents: Vec<Agent>,
    pub topology: Topology,
    pub sources: Vec<Source>,
    pub faults: Vec<Fault>,
    pub memory: Memory,
    /// At most 64, so scopes and grants are `u64` bit sets.
    pub resources: Vec<Resource>,
    pub credentials: Vec<Credential>,
    pub mitigations: crate::mitigation::Mitigations,
}

impl Model {
    /// Fault onset: the start of the earliest fault, if any.
    pub fn onset(&self) -> Option<Micros> {
        self.faults.iter().map(|f| f.kind.start()).min()
    }

    /// Whether the scenario routes work: kinds, routers or failover.
    pub fn routes_work(&self) -> bool {
        !self.kinds.is_empty() || self.agents.iter().any(|a| a.output.routes() || a.failover)
    }

    /// Whether any agent joins its inputs.
    pub fn joins(&self) -> bool {
        self.agents.iter().any(|a| a.join.is_some())
    }

    /// Whether a fault can take an agent over: a compromised agent, an
    /// injection, or an out-of-scope write to a resource controlling an agent.
    pub fn compromises(&self) -> bool {
        let controls = self.resources.iter().any(|r| r.controls != NONE);
        self.faults.iter().any(|f| match f.kind {
            FaultKind::CompromisedAgent { .. } | FaultKind::PromptInjection { .. } => true,
            FaultKind::MemoryPoisoning { injection, .. } => injection.is_some(),
            FaultKind::OutOfScope { .. } => controls,
            _ => false,
        })
    }

    /// Whether any agent is a verification step.
    pub fn checks(&self) -> bool {
        self.agents.iter().any(|a| a.check.is_some())
    }

    /// Each check's agent index and name, in agent order.
    pub fn check_names(&self) -> Vec<(u32, String)> {
        let checks = self.agents.iter().enumerate().filter(|(_, a)| a.check.is_some());
        checks.map(|(i, a)| (i as u32, a.name.clone())).collect()
    }

    /// Whether actions are checked against credentials at all.
    pub fn access_checked(&self) -> bool {
        !self.credentials.is_empty() || self.mitigations.credentials.is_some()
    }
}
