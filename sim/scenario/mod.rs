//! Scenario files: the TOML format, its validation, and compilation into a
//! [`Model`].
//!
//! Every problem is reported as one [`ScenarioError`] naming the file, the
//! key (a dotted path such as `agents[2].service.mean`) and what was
//! expected. Unknown keys are refused everywhere.

use crate::dist::Dist;
use crate::mitigation::breaker::SeedBreakerConfig;
use crate::mitigation::detector::DetectorConfig;
use crate::mitigation::sliding::{Preset, SlidingConfig, Window};
use crate::mitigation::{BreakerConfig, Caps, Mitigations, Review, ZeroTrust};
use crate::model::{
    Agent, Arrival, Channel, Fault, FaultKind, Generator, Memory, Model, OutputRule, Partition, Role, Source, Topology,
    NONE,
};
use crate::time::{Duration, Micros, SECOND};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// A scenario refused: file, key and what was expected, on one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    /// Dotted key path, or empty for the whole file.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)
        }
    }
}

impl std::error::Error for ScenarioError {}

/// An error before the file name is known.
#[derive(Debug)]
struct KeyError {
    key: String,
    message: String,
}

fn err<T>(key: impl Into<String>, message: impl Into<String>) -> Result<T, KeyError> {
    Err(KeyError { key: key.into(), message: message.into() })
}

// ---------------------------------------------------------------- file format

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    #[serde(default)]
    description: String,
    horizon: Duration,
    quiet_window: Duration,
    #[serde(default)]
    workload: WorkloadSpec,
    #[serde(default)]
    agents: Vec<AgentSpec>,
    #[serde(default)]
    channels: Vec<ChannelSpec>,
    topology: Option<TopologySpec>,
    #[serde(default)]
    sources: Vec<SourceSpec>,
    #[serde(default)]
    memory: MemorySpec,
    #[serde(default)]
    faults: Vec<FaultSpec>,
    #[serde(default)]
    resources: Vec<access::ResourceSpec>,
    #[serde(default)]
    credentials: Vec<access::CredentialSpec>,
    #[serde(default)]
    mitigations: MitigationsSpec,
    /// The grid for `cascade sweep`; checked by [`crate::sweep`].
    #[serde(default)]
    #[allow(dead_code)]
    sweep: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MitigationsSpec {
    validation: Option<ValidationSpec>,
    zero_trust: Option<ZeroTrustSpec>,
    breaker: Option<BreakerSpec>,
    caps: Option<CapsSpec>,
    review: Option<ReviewSpec>,
    credentials: Option<access::TaskCredentialsSpec>,
    gateway: Option<access::GatewaySpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewSpec {
    #[serde(default = "yes")]
    enabled: bool,
    delay: Option<Dist>,
    #[serde(default = "yes")]
    provenance: bool,
    #[serde(default = "yes")]
    rollback: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ZeroTrustSpec {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    max_chain_depth: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapsSpec {
    #[serde(default = "yes")]
    enabled: bool,
    max_fanout: Option<u32>,
    max_depth: Option<u32>,
    max_messages_per_cycle: Option<u32>,
    cycle: Option<Duration>,
    cooldown: Option<Duration>,
    max_in_flight: Option<u32>,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum DetectorKind {
    #[default]
    Zscore,
    Bernoulli,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidationSpec {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    detector: DetectorKind,
    threshold: Option<f64>,
    warmup: Option<u32>,
    true_positive: Option<f64>,
    false_positive: Option<f64>,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum BreakerMode {
    #[default]
    Seed,
    Sliding,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum PresetSpec {
    Resilience4j,
    Polly,
    Hystrix,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum WindowKind {
    Count,
    Time,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakerSpec {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    mode: BreakerMode,
    failure_threshold: Option<u32>,
    anomaly_threshold: Option<f64>,
    window: Option<u32>,
    reset_timeout: Option<Duration>,
    half_open_max_probes: Option<u32>,
    preset: Option<PresetSpec>,
    window_type: Option<WindowKind>,
    window_size: Option<u32>,
    minimum_calls: Option<u32>,
    failure_rate: Option<f64>,
    wait_in_open: Option<Duration>,
    half_open_calls: Option<u32>,
}

impl BreakerSpec {
    /// The first key set that belongs to the other mode, if any.
    fn foreign_key(&self) -> Option<&'static str> {
        let seed = [
            ("failure_threshold", self.failure_threshold.is_some()),
            ("anomaly_threshold", self.anomaly_threshold.is_some()),
            ("window", self.window.is_some()),
            ("reset_timeout", self.reset_timeout.is_some()),
            ("half_open_max_probes", self.half_open_max_probes.is_some()),
        ];
        let sliding = [
            ("preset", self.preset.is_some()),
            ("window_type", self.window_type.is_some()),
            ("window_size", self.window_size.is_some()),
            ("minimum_calls", self.minimum_calls.is_some()),
            ("failure_rate", self.failure_rate.is_some()),
            ("wait_in_open", self.wait_in_open.is_some()),
            ("half_open_calls", self.half_open_calls.is_some()),
        ];
        let other: &[(&'static str, bool)] = if self.mode == BreakerMode::Seed { &sliding } else { &seed };
        other.iter().find(|(_, set)| *set).map(|(name, _)| *name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkloadSpec {
    #[serde(default = "yes")]
    clean_relay: bool,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec { clean_relay: true }
    }
}

fn yes() -> bool {
    true
}
fn one() -> f64 {
    1.0
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct AgentSpec {
    id: Option<String>,
    role: Option<Role>,
    #[serde(default)]
    service: Dist,
    #[serde(default = "one")]
    gain: f64,
    #[serde(default)]
    noise: f64,
    #[serde(default)]
    output: OutputRule,
    #[serde(default)]
    action: access::ActionSpec,
    scope: Option<Vec<String>>,
    credential: Option<String>,
    sponsor: Option<String>,
    #[serde(default)]
    memory: AgentMemorySpec,
    #[serde(default = "one")]
    propagation: f64,
}

/// The agent an empty table describes (the same defaults as serde's).
impl Default for AgentSpec {
    fn default() -> Self {
        AgentSpec {
            id: None,
            role: None,
            service: Dist::default(),
            gain: one(),
            noise: 0.0,
            output: OutputRule::default(),
            action: access::ActionSpec::None,
            scope: None,
            credential: None,
            sponsor: None,
            memory: AgentMemorySpec::default(),
            propagation: one(),
        }
    }
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct AgentMemorySpec {
    #[serde(default)]
    write: bool,
    #[serde(default)]
    read: u32,
    #[serde(default)]
    weight: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelSpec {
    from: String,
    to: String,
    #[serde(default)]
    latency: Dist,
    #[serde(default = "one")]
    propagation: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelTemplate {
    #[serde(default)]
    latency: Dist,
    #[serde(default = "one")]
    propagation: f64,
}

/// The channel an empty table describes (the same defaults as serde's).
impl Default for ChannelTemplate {
    fn default() -> Self {
        ChannelTemplate { latency: Dist::default(), propagation: one() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopologySpec {
    generator: GeneratorSpec,
    #[serde(default)]
    redraw: bool,
    #[serde(default)]
    agent: AgentSpec,
    #[serde(default)]
    channel: ChannelTemplate,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum GeneratorSpec {
    Chain { n: u32 },
    KaryTree { k: u32, depth: u32 },
    Layered { layers: Vec<LayerSpec> },
    ErdosRenyi { n: u32, mean_degree: f64 },
    BarabasiAlbert { n: u32, m: u32 },
    WattsStrogatz { n: u32, k: u32, beta: f64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerSpec {
    role: Role,
    count: u32,
    #[serde(default)]
    fanout: u32,
    agent: Option<AgentSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSpec {
    id: String,
    target: String,
    arrival: ArrivalSpec,
    #[serde(default)]
    start: Duration,
    count: Option<u64>,
    #[serde(default)]
    signal: SignalSpec,
}

#[derive(Deserialize)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
enum ArrivalSpec {
    Poisson { per_second: f64 },
    Periodic { period: Duration },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SignalSpec {
    #[serde(default)]
    mean: f64,
    #[serde(default)]
    sd: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemorySpec {
    #[serde(default)]
    mode: MemoryMode,
    #[serde(default = "default_capacity")]
    capacity: u32,
    #[serde(default)]
    grants: Vec<GrantSpec>,
}

impl Default for MemorySpec {
    fn default() -> Self {
        MemorySpec { mode: MemoryMode::Shared, capacity: default_capacity(), grants: Vec::new() }
    }
}

fn default_capacity() -> u32 {
    64
}

#[derive(Deserialize, Default, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum MemoryMode {
    #[default]
    Shared,
    Isolated,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantSpec {
    reader: String,
    owner: String,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum FaultSpec {
    PoisonedFeed {
        name: Option<String>,
        agent: String,
        start: Duration,
        duration: Option<Duration>,
        shift: f64,
    },
    CompromisedAgent {
        name: Option<String>,
        agent: String,
        start: Duration,
        duration: Option<Duration>,
        shift: f64,
    },
    Hallucination {
        name: Option<String>,
        agents: Option<Vec<String>>,
        rate: f64,
        #[serde(default)]
        start: Duration,
        duration: Option<Duration>,
        shift: f64,
    },
    PromptInjection {
        name: Option<String>,
        agent: String,
        start: Duration,
        duration: Option<Duration>,
        probability: f64,
        #[serde(default)]
        shift: f64,
        #[serde(default)]
        replicate: bool,
    },
    SpoofedSender {
        name: Option<String>,
        from: String,
        to: String,
        start: Duration,
        duration: Option<Duration>,
        per_second: f64,
        shift: f64,
    },
    MemoryPoisoning {
        name: Option<String>,
        owner: Option<String>,
        at: Duration,
        records: u32,
        shift: f64,
    },
    OutOfScope {
        name: Option<String>,
        agents: Vec<String>,
        resources: Vec<String>,
        #[serde(default)]
        start: Duration,
        duration: Option<Duration>,
        mean_gap: Duration,
        #[serde(default)]
        only_compromised: bool,
        #[serde(default)]
        shift: f64,
    },
}

// ---------------------------------------------------------------- loading

/// Reads, parses, validates and compiles a scenario file.
pub fn load(path: &std::path::Path) -> Result<Model, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        key: String::new(),
        message: format!("cannot read the scenario file ({e}); expected a readable TOML file"),
    })?;
    parse(&file, &text)
}

/// Parses, validates and compiles scenario text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Model, ScenarioError> {
    let with_file = |e: KeyError| ScenarioError { file: file.to_string(), key: e.key, message: e.message };
    let spec = deserialize(file, text)?;
    compile(spec).map_err(with_file)
}

/// Validates and compiles a scenario already parsed into a TOML document
/// (a sweep point: the file with some values replaced). Errors name the
/// key, not a line: the document has no text.
pub fn parse_document(file: &str, document: toml::Table) -> Result<Model, ScenarioError> {
    let spec: ScenarioFile = serde_path_to_error::deserialize(toml::Value::Table(document)).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        ScenarioError { file: file.to_string(), key, message: one_line(&e.into_inner().to_string()) }
    })?;
    compile(spec).map_err(|e| ScenarioError { file: file.to_string(), key: e.key, message: e.message })
}

fn deserialize(file: &str, text: &str) -> Result<ScenarioFile, ScenarioError> {
    let located = |message: String, key: String, span: Option<std::ops::Range<usize>>| {
        let line = span.map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let file = match line {
            Some(line) => format!("{file}:{line}"),
            None => file.to_string(),
        };
        ScenarioError { file, key, message: one_line(&message) }
    };
    let deserializer =
        toml::Deserializer::parse(text).map_err(|e| located(e.message().to_string(), String::new(), e.span()))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        let inner = e.into_inner();
        located(inner.message().to_string(), key, inner.span())
    })
}

/// `message` with its whitespace runs (newlines included) collapsed: one line.
pub fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------- compiling

struct Names {
    index: BTreeMap<String, u32>,
}

impl Names {
    fn lookup(&self, key: &str, id: &str) -> Result<u32, KeyError> {
        match self.index.get(id) {
            Some(&i) => Ok(i),
            None => {
                let known: Vec<&str> = self.index.keys().take(8).map(String::as_str).collect();
                let more = if self.index.len() > 8 { ", ..." } else { "" };
                err(key, format!("unknown agent id \"{id}\"; expected one of {}{more}", known.join(", ")))
            }
        }
    }
}

fn compile(spec: ScenarioFile) -> Result<Model, KeyError> {
    if spec.horizon.0 == 0 {
        return err("horizon", "must be a positive duration");
    }
    if spec.quiet_window.0 >= spec.horizon.0 {
        return err("quiet_window", "must be shorter than the horizon");
    }
    let catalog = access::Catalog::new(&spec.resources, &spec.credentials)?;
    let (agents, topology) = match spec.topology {
        Some(topology) => {
            if !spec.agents.is_empty() || !spec.channels.is_empty() {
                return err(
                    "topology",
                    "a generated topology defines the agents and channels; remove [[agents]] and [[channels]]",
                );
            }
            compile_generated(topology, &catalog)?
        }
        None => compile_explicit(&spec.agents, &spec.channels, &catalog)?,
    };
    if agents.is_empty() {
        return err("agents", "expected at least one agent (or a [topology] generator)");
    }
    let names = Names { index: agents.iter().enumerate().map(|(i, a)| (a.name.clone(), i as u32)).collect() };
    let horizon = spec.horizon.0;
    let sources = compile_sources(&spec.sources, &names)?;
    let memory = compile_memory(&spec.memory, &names)?;
    let resources = catalog.resources(&spec.resources, &names)?;
    let faults = compile_faults(spec.faults, &names, &topology, horizon, &memory, &catalog)?;
    let credentials = catalog.credentials(&spec.credentials)?;
    let mitigations = compile_mitigations(&spec.mitigations)?;
    if !credentials.is_empty() || mitigations.credentials.is_some() {
        let generated = matches!(topology, Topology::Generated { .. });
        access::check_actors(&agents, &faults, |i| {
            if generated {
                "topology.agent".to_string()
            } else {
                format!("agents[{i}]")
            }
        })?;
    }
    Ok(Model {
        name: spec.name,
        description: spec.description,
        horizon,
        quiet_window: spec.quiet_window.0,
        clean_relay: spec.workload.clean_relay,
        agents,
        topology,
        sources,
        faults,
        memory,
        resources,
        credentials,
        mitigations,
    })
}

fn compile_mitigations(spec: &MitigationsSpec) -> Result<Mitigations, KeyError> {
    let validation = match &spec.validation {
        Some(v) if v.enabled => Some(compile_validation(v)?),
        _ => None,
    };
    let breaker = match &spec.breaker {
        Some(b) if b.enabled => Some(compile_breaker(b)?),
        _ => None,
    };
    let zero_trust =
        spec.zero_trust.as_ref().filter(|z| z.enabled).map(|z| ZeroTrust { max_chain_depth: z.max_chain_depth });
    if breaker.is_some() && validation.is_none() && zero_trust.is_none() {
        return err(
            "mitigations.breaker",
            "needs [mitigations.validation] or [mitigations.zero_trust] enabled: the breaker counts failed checks",
        );
    }
    let caps = match &spec.caps {
        Some(c) if c.enabled => Some(compile_caps(c)?),
        _ => None,
    };
    let review = spec.review.as_ref().filter(|r| r.enabled).map(|r| Review {
        delay: r.delay.unwrap_or(Dist::Exponential { mean: 600.0 * SECOND as f64 }),
        provenance: r.provenance,
        rollback: r.rollback,
    });
    let credentials = access::task_credentials(&spec.credentials)?;
    let gateway = access::gateway(&spec.gateway);
    let mitigations = Mitigations { validation, zero_trust, breaker, caps, review, credentials, gateway };
    if review.is_some() && !mitigations.alerts() {
        return err(
            "mitigations.review",
            "needs [mitigations.breaker] or an alerting [mitigations.gateway]: reviews start from alerts",
        );
    }
    Ok(mitigations)
}

fn compile_caps(spec: &CapsSpec) -> Result<Caps, KeyError> {
    let d = Caps::default();
    let cycle = spec.cycle.map_or(d.cycle, |c| c.0);
    if cycle == 0 {
        return err("mitigations.caps.cycle", "must be a positive duration");
    }
    Ok(Caps {
        max_fanout: spec.max_fanout.unwrap_or(d.max_fanout),
        max_depth: spec.max_depth.unwrap_or(d.max_depth),
        max_per_cycle: spec.max_messages_per_cycle.unwrap_or(d.max_per_cycle),
        cycle,
        cooldown: spec.cooldown.map_or(d.cooldown, |c| c.0),
        max_in_flight: spec.max_in_flight.unwrap_or(d.max_in_flight),
    })
}

fn compile_validation(spec: &ValidationSpec) -> Result<DetectorConfig, KeyError> {
    let key = "mitigations.validation";
    let only = |name: &str, kind: &str| err(format!("{key}.{name}"), format!("only applies to detector = \"{kind}\""));
    match spec.detector {
        DetectorKind::Zscore => {
            if spec.true_positive.is_some() {
                return only("true_positive", "bernoulli");
            }
            if spec.false_positive.is_some() {
                return only("false_positive", "bernoulli");
            }
            let threshold = spec.threshold.unwrap_or(3.0);
            if !(threshold.is_finite() && threshold > 0.0) {
                return err(
                    format!("{key}.threshold"),
                    format!("must be a number of standard deviations > 0, got {threshold}"),
                );
            }
            Ok(DetectorConfig::ZScore { threshold, warmup: spec.warmup.unwrap_or(20).max(2) })
        }
        DetectorKind::Bernoulli => {
            if spec.threshold.is_some() {
                return only("threshold", "zscore");
            }
            if spec.warmup.is_some() {
                return only("warmup", "zscore");
            }
            let Some(true_positive) = spec.true_positive else {
                return err(
                    format!("{key}.true_positive"),
                    "missing; expected the detection probability of a corrupted message",
                );
            };
            let true_positive = check_probability(&format!("{key}.true_positive"), true_positive)?;
            let false_positive =
                check_probability(&format!("{key}.false_positive"), spec.false_positive.unwrap_or(0.0))?;
            Ok(DetectorConfig::Bernoulli { true_positive, false_positive })
        }
    }
}

fn compile_breaker(spec: &BreakerSpec) -> Result<BreakerConfig, KeyError> {
    let key = "mitigations.breaker";
    if let Some(name) = spec.foreign_key() {
        let mode = if spec.mode == BreakerMode::Seed { "sliding" } else { "seed" };
        return err(format!("{key}.{name}"), format!("only applies to mode = \"{mode}\""));
    }
    match spec.mode {
        BreakerMode::Seed => compile_seed_breaker(spec).map(BreakerConfig::Seed),
        BreakerMode::Sliding => compile_sliding_breaker(spec).map(BreakerConfig::Sliding),
    }
}

fn compile_sliding_breaker(spec: &BreakerSpec) -> Result<SlidingConfig, KeyError> {
    let key = "mitigations.breaker";
    let base = spec.preset.map_or(Preset::Resilience4j, |p| match p {
        PresetSpec::Resilience4j => Preset::Resilience4j,
        PresetSpec::Polly => Preset::Polly,
        PresetSpec::Hystrix => Preset::Hystrix,
    });
    let d = base.config();
    let (kind, size) = match d.window {
        Window::Count(n) => (WindowKind::Count, n),
        Window::Time(n) => (WindowKind::Time, n),
    };
    let kind = spec.window_type.unwrap_or(kind);
    let size = spec.window_size.unwrap_or(size);
    let window = match kind {
        WindowKind::Count if (1..=1024).contains(&size) => Window::Count(size),
        WindowKind::Time if (1..=3600).contains(&size) => Window::Time(size),
        WindowKind::Count => return err(format!("{key}.window_size"), format!("must be 1 to 1024 calls, got {size}")),
        WindowKind::Time => return err(format!("{key}.window_size"), format!("must be 1 to 3600 seconds, got {size}")),
    };
    let failure_rate = spec.failure_rate.unwrap_or(d.failure_rate);
    if !(failure_rate > 0.0 && failure_rate <= 1.0) {
        return err(format!("{key}.failure_rate"), format!("must be a rate in (0, 1], got {failure_rate}"));
    }
    let half_open_calls = spec.half_open_calls.unwrap_or(d.half_open_calls);
    if half_open_calls == 0 {
        return err(format!("{key}.half_open_calls"), "must be at least 1 call");
    }
    Ok(SlidingConfig {
        window,
        minimum_calls: spec.minimum_calls.unwrap_or(d.minimum_calls).max(1),
        failure_rate,
        wait_in_open: spec.wait_in_open.map_or(d.wait_in_open, |w| w.0),
        half_open_calls,
    })
}

fn compile_seed_breaker(spec: &BreakerSpec) -> Result<SeedBreakerConfig, KeyError> {
    let key = "mitigations.breaker";
    let defaults = SeedBreakerConfig::default();
    let failure_threshold = spec.failure_threshold.unwrap_or(defaults.failure_threshold);
    if failure_threshold == 0 {
        return err(format!("{key}.failure_threshold"), "must be at least 1 failure");
    }
    let anomaly_threshold = check_probability(
        &format!("{key}.anomaly_threshold"),
        spec.anomaly_threshold.unwrap_or(defaults.anomaly_threshold),
    )?;
    let window = spec.window.unwrap_or(defaults.window);
    if !(1..=64).contains(&window) {
        return err(format!("{key}.window"), format!("must be between 1 and 64 validations, got {window}"));
    }
    let half_open_max_probes = spec.half_open_max_probes.unwrap_or(defaults.half_open_max_probes);
    if half_open_max_probes == 0 {
        return err(format!("{key}.half_open_max_probes"), "must be at least 1 probe");
    }
    Ok(SeedBreakerConfig {
        failure_threshold,
        anomaly_threshold,
        window,
        reset_timeout: spec.reset_timeout.map_or(defaults.reset_timeout, |d| d.0),
        half_open_max_probes,
    })
}

fn check_probability(key: &str, value: f64) -> Result<f64, KeyError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        err(key, format!("must be a probability between 0 and 1, got {value}"))
    }
}

fn check_finite(key: &str, value: f64) -> Result<f64, KeyError> {
    if value.is_finite() {
        Ok(value)
    } else {
        err(key, format!("must be a finite number, got {value}"))
    }
}

fn compile_agent(
    key: &str,
    spec: &AgentSpec,
    name: String,
    role: Role,
    catalog: &access::Catalog,
) -> Result<Agent, KeyError> {
    check_finite(&format!("{key}.gain"), spec.gain)?;
    if !(spec.noise.is_finite() && spec.noise >= 0.0) {
        return err(format!("{key}.noise"), format!("must be a standard deviation >= 0, got {}", spec.noise));
    }
    check_probability(&format!("{key}.propagation"), spec.propagation)?;
    check_probability(&format!("{key}.memory.weight"), spec.memory.weight)?;
    if spec.memory.read > 32 {
        return err(format!("{key}.memory.read"), format!("must be at most 32 records, got {}", spec.memory.read));
    }
    let mut agent = Agent {
        name,
        role,
        service: spec.service,
        gain: spec.gain,
        noise: spec.noise,
        output: spec.output,
        action: false,
        action_resource: NONE,
        scope: 0,
        credential: NONE,
        sponsored: false,
        memory_write: spec.memory.write,
        memory_read: spec.memory.read,
        memory_weight: spec.memory.weight,
        propagation: spec.propagation,
    };
    let access = access::AgentAccessSpec {
        action: &spec.action,
        scope: spec.scope.as_deref(),
        credential: spec.credential.as_deref(),
        sponsor: spec.sponsor.as_deref(),
    };
    catalog.resolve_agent(key, &access, &mut agent)?;
    Ok(agent)
}

fn compile_explicit(
    agent_specs: &[AgentSpec],
    channel_specs: &[ChannelSpec],
    catalog: &access::Catalog,
) -> Result<(Vec<Agent>, Topology), KeyError> {
    let mut agents = Vec::with_capacity(agent_specs.len());
    let mut seen = BTreeMap::new();
    for (i, spec) in agent_specs.iter().enumerate() {
        let key = format!("agents[{i}]");
        let Some(id) = spec.id.clone().filter(|id| !id.trim().is_empty()) else {
            return err(format!("{key}.id"), "missing; expected a non-empty agent id");
        };
        if seen.insert(id.clone(), i).is_some() {
            return err(format!("{key}.id"), format!("duplicate agent id \"{id}\"; expected unique ids"));
        }
        agents.push(compile_agent(&key, spec, id, spec.role.unwrap_or(Role::Agent), catalog)?);
    }
    let names = Names { index: agents.iter().enumerate().map(|(i, a)| (a.name.clone(), i as u32)).collect() };
    let mut channels = Vec::with_capacity(channel_specs.len());
    let mut pairs = BTreeMap::new();
    for (i, spec) in channel_specs.iter().enumerate() {
        let key = format!("channels[{i}]");
        let from = names.lookup(&format!("{key}.from"), &spec.from)?;
        let to = names.lookup(&format!("{key}.to"), &spec.to)?;
        if from == to {
            return err(
                format!("{key}.to"),
                format!("a channel from \"{}\" to itself; expected another agent", spec.to),
            );
        }
        if pairs.insert((from, to), i).is_some() {
            return err(key, format!("duplicate channel {} -> {}; expected one channel per pair", spec.from, spec.to));
        }
        check_probability(&format!("{key}.propagation"), spec.propagation)?;
        channels.push(Channel { from, to, latency: spec.latency, propagation: spec.propagation });
    }
    Ok((agents, Topology::Explicit(channels)))
}

fn compile_generated(spec: TopologySpec, catalog: &access::Catalog) -> Result<(Vec<Agent>, Topology), KeyError> {
    if spec.agent.id.is_some() {
        return err("topology.agent.id", "generated agents are named n0, n1, ...; remove the id");
    }
    check_probability("topology.channel.propagation", spec.channel.propagation)?;
    let channel = Channel { from: 0, to: 0, latency: spec.channel.latency, propagation: spec.channel.propagation };
    let template_role = spec.agent.role.unwrap_or(Role::Agent);
    let (generator, agents) = match spec.generator {
        GeneratorSpec::Layered { layers } => compile_layers(&layers, &spec.agent, catalog)?,
        other => {
            let generator = compile_generator(other)?;
            let n = crate::topology::agent_count(&generator);
            let template = compile_agent("topology.agent", &spec.agent, String::new(), template_role, catalog)?;
            let agents = (0..n).map(|i| Agent { name: format!("n{i}"), ..template.clone() }).collect();
            (generator, agents)
        }
    };
    Ok((agents, Topology::Generated { generator, channel, redraw: spec.redraw }))
}

const MAX_AGENTS: u64 = 50_000_000;

fn compile_generator(spec: GeneratorSpec) -> Result<Generator, KeyError> {
    let at_least = |key: &str, value: u32, min: u32| {
        if value < min {
            err(format!("topology.generator.{key}"), format!("must be at least {min}, got {value}"))
        } else {
            Ok(())
        }
    };
    let generator = match spec {
        GeneratorSpec::Chain { n } => {
            at_least("n", n, 1)?;
            Generator::Chain { n }
        }
        GeneratorSpec::KaryTree { k, depth } => {
            at_least("k", k, 1)?;
            let mut total: u64 = 1;
            let mut level: u64 = 1;
            for _ in 0..depth {
                level = level.saturating_mul(k as u64);
                total = total.saturating_add(level);
            }
            if total > MAX_AGENTS {
                return err(
                    "topology.generator.depth",
                    format!("a {k}-ary tree of depth {depth} has more than {MAX_AGENTS} agents"),
                );
            }
            Generator::KaryTree { k, depth }
        }
        GeneratorSpec::ErdosRenyi { n, mean_degree } => {
            at_least("n", n, 2)?;
            if !(mean_degree.is_finite() && mean_degree >= 0.0 && mean_degree <= (n - 1) as f64) {
                return err(
                    "topology.generator.mean_degree",
                    format!("must be between 0 and n - 1 = {}, got {mean_degree}", n - 1),
                );
            }
            Generator::ErdosRenyi { n, mean_degree }
        }
        GeneratorSpec::BarabasiAlbert { n, m } => {
            at_least("m", m, 1)?;
            if m >= n {
                return err("topology.generator.m", format!("must be less than n = {n}, got {m}"));
            }
            Generator::BarabasiAlbert { n, m }
        }
        GeneratorSpec::WattsStrogatz { n, k, beta } => {
            at_least("n", n, 3)?;
            if k == 0 || k % 2 == 1 || k >= n {
                return err(
                    "topology.generator.k",
                    format!("must be an even number of neighbours between 2 and n - 1, got {k}"),
                );
            }
            check_probability("topology.generator.beta", beta)?;
            Generator::WattsStrogatz { n, k, beta }
        }
        GeneratorSpec::Layered { .. } => unreachable!("layered topologies are compiled by compile_layers"),
    };
    if crate::topology::agent_count(&generator) as u64 > MAX_AGENTS {
        return err("topology.generator.n", format!("must be at most {MAX_AGENTS} agents"));
    }
    Ok(generator)
}

fn compile_layers(
    layers: &[LayerSpec],
    template: &AgentSpec,
    catalog: &access::Catalog,
) -> Result<(Generator, Vec<Agent>), KeyError> {
    if layers.is_empty() {
        return err("topology.generator.layers", "expected at least one layer");
    }
    let mut agents = Vec::new();
    let mut role_counts: BTreeMap<String, u32> = BTreeMap::new();
    for (l, layer) in layers.iter().enumerate() {
        let key = format!("topology.generator.layers[{l}]");
        if layer.count == 0 {
            return err(format!("{key}.count"), "must be at least 1 agent");
        }
        let spec = layer.agent.as_ref().unwrap_or(template);
        if spec.id.is_some() {
            return err(format!("{key}.agent.id"), "generated agents are named by role; remove the id");
        }
        let prototype = compile_agent(&format!("{key}.agent"), spec, String::new(), layer.role, catalog)?;
        let role_name =
            serde_json::to_value(layer.role).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        for _ in 0..layer.count {
            let counter = role_counts.entry(role_name.clone()).or_default();
            agents.push(Agent { name: format!("{role_name}{counter}"), ..prototype.clone() });
            *counter += 1;
        }
    }
    if agents.len() as u64 > MAX_AGENTS {
        return err("topology.generator.layers", format!("must total at most {MAX_AGENTS} agents"));
    }
    let generator = Generator::Layered {
        sizes: layers.iter().map(|l| l.count).collect(),
        fanout: layers.iter().map(|l| l.fanout).collect(),
    };
    Ok((generator, agents))
}

fn compile_sources(specs: &[SourceSpec], names: &Names) -> Result<Vec<Source>, KeyError> {
    let mut seen = BTreeMap::new();
    let mut sources = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let key = format!("sources[{i}]");
        if seen.insert(spec.id.clone(), i).is_some() {
            return err(format!("{key}.id"), format!("duplicate source id \"{}\"; expected unique ids", spec.id));
        }
        let target = names.lookup(&format!("{key}.target"), &spec.target)?;
        let arrival = match spec.arrival {
            ArrivalSpec::Poisson { per_second } if per_second.is_finite() && per_second > 0.0 => {
                Arrival::Poisson { mean_gap: SECOND as f64 / per_second }
            }
            ArrivalSpec::Poisson { per_second } => {
                return err(
                    format!("{key}.arrival.per_second"),
                    format!("must be a rate > 0 per second, got {per_second}"),
                )
            }
            ArrivalSpec::Periodic { period } if period.0 > 0 => Arrival::Periodic { period: period.0 },
            ArrivalSpec::Periodic { .. } => return err(format!("{key}.arrival.period"), "must be a positive duration"),
        };
        check_finite(&format!("{key}.signal.mean"), spec.signal.mean)?;
        if !(spec.signal.sd.is_finite() && spec.signal.sd >= 0.0) {
            return err(
                format!("{key}.signal.sd"),
                format!("must be a standard deviation >= 0, got {}", spec.signal.sd),
            );
        }
        sources.push(Source {
            name: spec.id.clone(),
            target,
            arrival,
            start: spec.start.0,
            count: spec.count,
            signal_mean: spec.signal.mean,
            signal_sd: spec.signal.sd,
        });
    }
    Ok(sources)
}

fn compile_memory(spec: &MemorySpec, names: &Names) -> Result<Memory, KeyError> {
    if spec.capacity == 0 || spec.capacity > 1 << 20 {
        return err("memory.capacity", format!("must be between 1 and {} records, got {}", 1 << 20, spec.capacity));
    }
    let isolated = spec.mode == MemoryMode::Isolated;
    if !isolated && !spec.grants.is_empty() {
        return err("memory.grants", "grants need mode = \"isolated\"; shared memory is readable by every agent");
    }
    let mut grants = Vec::with_capacity(spec.grants.len());
    for (i, grant) in spec.grants.iter().enumerate() {
        let reader = names.lookup(&format!("memory.grants[{i}].reader"), &grant.reader)?;
        let owner = names.lookup(&format!("memory.grants[{i}].owner"), &grant.owner)?;
        if reader == owner {
            return err(
                format!("memory.grants[{i}]"),
                "an agent always reads its own partition; expected two different agents",
            );
        }
        grants.push((reader, owner));
    }
    if let Some(cycle) = find_grant_cycle(&grants) {
        let path: Vec<&str> = cycle.iter().map(|&a| names_of(names, a)).collect();
        return err(
            "memory.grants",
            format!(
                "cyclic grant {}; expected grants that form no cycle (a cycle is a shared pool)",
                path.join(" -> ")
            ),
        );
    }
    Ok(Memory { isolated, capacity: spec.capacity, grants })
}

fn names_of(names: &Names, index: u32) -> &str {
    names.index.iter().find(|(_, &i)| i == index).map(|(n, _)| n.as_str()).unwrap_or("?")
}

/// A cycle in the reader -> owner grant graph, as the list of agents on it
/// (first repeated at the end), or `None`.
fn find_grant_cycle(grants: &[(u32, u32)]) -> Option<Vec<u32>> {
    let mut edges: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(reader, owner) in grants {
        edges.entry(reader).or_default().push(owner);
    }
    // Iterative DFS with colours: 1 = on stack, 2 = done.
    let mut colour: BTreeMap<u32, u8> = BTreeMap::new();
    for &start in edges.keys() {
        if colour.contains_key(&start) {
            continue;
        }
        let mut stack: Vec<(u32, usize)> = vec![(start, 0)];
        colour.insert(start, 1);
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let successors = edges.get(&node).map(Vec::as_slice).unwrap_or(&[]);
            if *next < successors.len() {
                let succ = successors[*next];
                *next += 1;
                match colour.get(&succ) {
                    Some(1) => {
                        let from = stack.iter().position(|&(n, _)| n == succ).unwrap_or(0);
                        let mut cycle: Vec<u32> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(succ);
                        return Some(cycle);
                    }
                    Some(_) => {}
                    None => {
                        colour.insert(succ, 1);
                        stack.push((succ, 0));
                    }
                }
            } else {
                colour.insert(node, 2);
                stack.pop();
            }
        }
    }
    None
}

struct FaultContext<'a> {
    names: &'a Names,
    topology: &'a Topology,
    horizon: Micros,
    memory: &'a Memory,
    catalog: &'a access::Catalog,
}

fn compile_faults(
    specs: Vec<FaultSpec>,
    names: &Names,
    topology: &Topology,
    horizon: Micros,
    memory: &Memory,
    catalog: &access::Catalog,
) -> Result<Vec<Fault>, KeyError> {
    if specs.len() >= crate::model::NO_FAULT as usize {
        return err("faults", format!("at most {} faults", crate::model::NO_FAULT - 1));
    }
    let context = FaultContext { names, topology, horizon, memory, catalog };
    specs.into_iter().enumerate().map(|(i, spec)| compile_fault(&format!("faults[{i}]"), i, spec, &context)).collect()
}

fn window(
    key: &str,
    start: Duration,
    duration: Option<Duration>,
    horizon: Micros,
) -> Result<(Micros, Micros), KeyError> {
    if start.0 >= horizon {
        return err(format!("{key}.start"), "must be before the horizon");
    }
    match duration {
        Some(d) if d.0 == 0 => {
            err(format!("{key}.duration"), "must be a positive duration (omit it for 'until the horizon')")
        }
        Some(d) => Ok((start.0, start.0.saturating_add(d.0))),
        None => Ok((start.0, Micros::MAX)),
    }
}

fn compile_fault(key: &str, index: usize, spec: FaultSpec, cx: &FaultContext) -> Result<Fault, KeyError> {
    let shift_key = format!("{key}.shift");
    let (name, kind) = match spec {
        FaultSpec::PoisonedFeed { name, agent, start, duration, shift } => {
            let agent = cx.names.lookup(&format!("{key}.agent"), &agent)?;
            let (start, end) = window(key, start, duration, cx.horizon)?;
            let shift = check_finite(&shift_key, shift)?;
            (name, FaultKind::PoisonedFeed { agent, start, end, shift })
        }
        FaultSpec::CompromisedAgent { name, agent, start, duration, shift } => {
            let agent = cx.names.lookup(&format!("{key}.agent"), &agent)?;
            let (start, end) = window(key, start, duration, cx.horizon)?;
            (name, FaultKind::CompromisedAgent { agent, start, end, shift: check_finite(&shift_key, shift)? })
        }
        FaultSpec::Hallucination { name, agents, rate, start, duration, shift } => {
            let agents = match agents {
                Some(list) => lookup_all(&format!("{key}.agents"), &list, cx.names)?,
                None => (0..cx.names.index.len() as u32).collect(),
            };
            let rate = check_probability(&format!("{key}.rate"), rate)?;
            let (start, end) = window(key, start, duration, cx.horizon)?;
            (name, FaultKind::Hallucination { agents, rate, start, end, shift: check_finite(&shift_key, shift)? })
        }
        FaultSpec::PromptInjection { name, agent, start, duration, probability, shift, replicate } => {
            let agent = cx.names.lookup(&format!("{key}.agent"), &agent)?;
            let probability = check_probability(&format!("{key}.probability"), probability)?;
            let (start, end) = window(key, start, duration, cx.horizon)?;
            let shift = check_finite(&shift_key, shift)?;
            (name, FaultKind::PromptInjection { agent, start, end, probability, shift, replicate })
        }
        FaultSpec::SpoofedSender { name, from, to, start, duration, per_second, shift } => {
            let channel = spoof_channel(key, &from, &to, cx)?;
            if !(per_second.is_finite() && per_second > 0.0) {
                return err(format!("{key}.per_second"), format!("must be a rate > 0 per second, got {per_second}"));
            }
            let (start, end) = window(key, start, duration, cx.horizon)?;
            let mean_gap = SECOND as f64 / per_second;
            (name, FaultKind::SpoofedSender { channel, start, end, mean_gap, shift: check_finite(&shift_key, shift)? })
        }
        FaultSpec::MemoryPoisoning { name, owner, at, records, shift } => {
            let partition = match (owner, cx.memory.isolated) {
                (Some(owner), true) => Partition::Agent(cx.names.lookup(&format!("{key}.owner"), &owner)?),
                (None, false) => Partition::Shared,
                (Some(_), false) => {
                    return err(format!("{key}.owner"), "memory is shared; remove owner (or use mode = \"isolated\")")
                }
                (None, true) => {
                    return err(
                        format!("{key}.owner"),
                        "memory is isolated; expected the agent whose partition is poisoned",
                    )
                }
            };
            if records == 0 {
                return err(format!("{key}.records"), "must be at least 1 record");
            }
            let (at, _) = window(key, at, None, cx.horizon)
                .map_err(|_| KeyError { key: format!("{key}.at"), message: "must be before the horizon".into() })?;
            (name, FaultKind::MemoryPoisoning { partition, at, records, shift: check_finite(&shift_key, shift)? })
        }
        FaultSpec::OutOfScope { name, agents, resources, start, duration, mean_gap, only_compromised, shift } => {
            let agents = lookup_all(&format!("{key}.agents"), &agents, cx.names)?;
            if agents.is_empty() {
                return err(format!("{key}.agents"), "expected at least one agent id");
            }
            let resources = cx.catalog.indices(&format!("{key}.resources"), &resources)?;
            if resources.is_empty() {
                return err(format!("{key}.resources"), "expected at least one resource name");
            }
            if mean_gap.0 == 0 {
                return err(format!("{key}.mean_gap"), "must be a positive duration between attempts");
            }
            let (start, end) = window(key, start, duration, cx.horizon)?;
            let shift = check_finite(&shift_key, shift)?;
            let mean_gap = mean_gap.0 as f64;
            (name, FaultKind::OutOfScope { agents, resources, start, end, mean_gap, only_compromised, shift })
        }
    };
    let name = name.unwrap_or_else(|| format!("{}#{index}", kind.kind_name()));
    Ok(Fault { name, kind })
}

fn lookup_all(key: &str, ids: &[String], names: &Names) -> Result<Vec<u32>, KeyError> {
    ids.iter().enumerate().map(|(j, id)| names.lookup(&format!("{key}[{j}]"), id)).collect()
}

fn spoof_channel(key: &str, from: &str, to: &str, cx: &FaultContext) -> Result<u32, KeyError> {
    let from_index = cx.names.lookup(&format!("{key}.from"), from)?;
    let to_index = cx.names.lookup(&format!("{key}.to"), to)?;
    let Topology::Explicit(channels) = cx.topology else {
        return err(key, "spoofed_sender needs an explicit topology with the channel listed");
    };
    match channels.iter().position(|c| c.from == from_index && c.to == to_index) {
        Some(i) => Ok(i as u32),
        None => err(format!("{key}.to"), format!("no channel {from} -> {to}; expected an existing channel")),
    }
}

mod access;

#[cfg(test)]
mod tests;
