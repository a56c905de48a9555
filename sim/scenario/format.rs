//! The scenario file format: serde structs mirroring the TOML, every
//! table `deny_unknown_fields`. Validation and compilation into the model
//! happen in the sibling modules; nothing here checks a value.

use super::access;
use crate::dist::Dist;
use crate::mitigation::GuardAction;
use crate::model::{OutputRule, Role};
use crate::time::Duration;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScenarioFile {
    pub(super) name: String,
    #[serde(default)]
    pub(super) description: String,
    pub(super) horizon: Duration,
    pub(super) quiet_window: Duration,
    /// Fraction of a fault's own shift below which a faded corruption is clean.
    pub(super) materiality: Option<f64>,
    /// The same, as a size in signal units for every fault.
    pub(super) material_shift: Option<f64>,
    #[serde(default)]
    pub(super) workload: WorkloadSpec,
    #[serde(default)]
    pub(super) agents: Vec<AgentSpec>,
    #[serde(default)]
    pub(super) channels: Vec<ChannelSpec>,
    pub(super) topology: Option<TopologySpec>,
    #[serde(default)]
    pub(super) sources: Vec<SourceSpec>,
    #[serde(default)]
    pub(super) memory: MemorySpec,
    #[serde(default)]
    pub(super) faults: Vec<FaultSpec>,
    #[serde(default)]
    pub(super) resources: Vec<access::ResourceSpec>,
    #[serde(default)]
    pub(super) credentials: Vec<access::CredentialSpec>,
    #[serde(default)]
    pub(super) mitigations: MitigationsSpec,
    /// The grid for `cascade sweep`; checked by [`crate::sweep`].
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) sweep: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct MitigationsSpec {
    pub(super) validation: Option<ValidationSpec>,
    pub(super) zero_trust: Option<ZeroTrustSpec>,
    pub(super) breaker: Option<BreakerSpec>,
    pub(super) caps: Option<CapsSpec>,
    pub(super) review: Option<ReviewSpec>,
    pub(super) credentials: Option<access::TaskCredentialsSpec>,
    pub(super) gateway: Option<access::GatewaySpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewSpec {
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    pub(super) delay: Option<Dist>,
    pub(super) pool: Option<String>,
    #[serde(default = "yes")]
    pub(super) provenance: bool,
    #[serde(default = "yes")]
    pub(super) rollback: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ZeroTrustSpec {
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    #[serde(default)]
    pub(super) max_chain_depth: u32,
    #[serde(default)]
    pub(super) action: GuardAction,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CapsSpec {
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    pub(super) max_fanout: Option<u32>,
    pub(super) max_depth: Option<u32>,
    pub(super) max_messages_per_cycle: Option<u32>,
    pub(super) cycle: Option<Duration>,
    pub(super) cooldown: Option<Duration>,
    pub(super) max_in_flight: Option<u32>,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum DetectorKind {
    #[default]
    Zscore,
    Bernoulli,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ValidationSpec {
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    #[serde(default)]
    pub(super) detector: DetectorKind,
    pub(super) threshold: Option<f64>,
    pub(super) warmup: Option<u32>,
    pub(super) true_positive: Option<f64>,
    pub(super) false_positive: Option<f64>,
    #[serde(default)]
    pub(super) action: GuardAction,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum BreakerMode {
    #[default]
    Seed,
    Sliding,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum PresetSpec {
    Resilience4j,
    Polly,
    Hystrix,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum WindowKind {
    Count,
    Time,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BreakerSpec {
    #[serde(default = "yes")]
    pub(super) enabled: bool,
    #[serde(default)]
    pub(super) mode: BreakerMode,
    pub(super) failure_threshold: Option<u32>,
    pub(super) anomaly_threshold: Option<f64>,
    pub(super) window: Option<u32>,
    pub(super) reset_timeout: Option<Duration>,
    pub(super) half_open_max_probes: Option<u32>,
    pub(super) preset: Option<PresetSpec>,
    pub(super) window_type: Option<WindowKind>,
    pub(super) window_size: Option<u32>,
    pub(super) minimum_calls: Option<u32>,
    pub(super) failure_rate: Option<f64>,
    pub(super) wait_in_open: Option<Duration>,
    pub(super) half_open_calls: Option<u32>,
}

impl BreakerSpec {
    /// The first key set that belongs to the other mode, if any.
    pub(super) fn foreign_key(&self) -> Option<&'static str> {
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
pub(super) struct WorkloadSpec {
    #[serde(default = "yes")]
    pub(super) clean_relay: bool,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec { clean_relay: true }
    }
}

pub(super) fn yes() -> bool {
    true
}
pub(super) fn one() -> f64 {
    1.0
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct AgentSpec {
    pub(super) id: Option<String>,
    pub(super) role: Option<Role>,
    #[serde(default)]
    pub(super) service: Dist,
    #[serde(default = "one_server")]
    pub(super) servers: u32,
    pub(super) hours: Option<HoursSpec>,
    #[serde(default = "one")]
    pub(super) gain: f64,
    #[serde(default)]
    pub(super) noise: f64,
    #[serde(default)]
    pub(super) output: OutputRule,
    #[serde(default)]
    pub(super) action: access::ActionSpec,
    pub(super) scope: Option<Vec<String>>,
    pub(super) credential: Option<String>,
    pub(super) sponsor: Option<String>,
    #[serde(default)]
    pub(super) memory: AgentMemorySpec,
    #[serde(default = "one")]
    pub(super) propagation: f64,
    #[serde(default = "one")]
    pub(super) susceptibility: f64,
    #[serde(default)]
    pub(super) routes: Vec<RouteSpec>,
    #[serde(default)]
    pub(super) misroute: f64,
    pub(super) failover: Option<bool>,
    pub(super) join: Option<JoinSpec>,
    pub(super) check: Option<CheckSpec>,
}

/// Working hours: `hours = { start = "9h", end = "17h", days = 5 }`.
#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub(super) struct HoursSpec {
    pub(super) start: Duration,
    pub(super) end: Duration,
    #[serde(default = "seven_days")]
    pub(super) days: u32,
}

fn seven_days() -> u32 {
    7
}

/// A verification step's `check = { detect, false_fail, retry, max_retries, escalate }`.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckSpec {
    pub(super) detect: f64,
    #[serde(default)]
    pub(super) false_fail: f64,
    pub(super) retry: Option<String>,
    pub(super) max_retries: Option<u32>,
    pub(super) escalate: Option<String>,
}

/// A joining agent's `join = { inputs, timeout, combine }`.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct JoinSpec {
    #[serde(default)]
    pub(super) inputs: JoinInputs,
    pub(super) timeout: Option<Duration>,
    #[serde(default = "mean")]
    pub(super) combine: crate::model::Combine,
}

fn one_server() -> u32 {
    1
}

fn mean() -> crate::model::Combine {
    crate::model::Combine::Mean
}

/// `"all"` of a joining agent's in-channels, or how many of them.
#[derive(Clone, Copy, Default)]
pub(super) enum JoinInputs {
    #[default]
    All,
    Of(i64),
}

impl<'de> Deserialize<'de> for JoinInputs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InputsVisitor;
        impl serde::de::Visitor<'_> for InputsVisitor {
            type Value = JoinInputs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"all\" or a number of in-channels")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<JoinInputs, E> {
                match v {
                    "all" => Ok(JoinInputs::All),
                    _ => Err(E::custom(format!("expected \"all\" or a number of in-channels, got {v:?}"))),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<JoinInputs, E> {
                Ok(JoinInputs::Of(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<JoinInputs, E> {
                Ok(JoinInputs::Of(i64::try_from(v).unwrap_or(i64::MAX)))
            }
        }
        deserializer.deserialize_any(InputsVisitor)
    }
}

/// One entry of a router's table (`output = "by_kind"` or `"by_signal"`).
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteSpec {
    pub(super) kind: Option<String>,
    pub(super) below: Option<f64>,
    pub(super) to: OneOrMany,
}

/// An agent id, or a list of them in order of preference.
#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(super) fn ids(&self) -> &[String] {
        match self {
            OneOrMany::One(id) => std::slice::from_ref(id),
            OneOrMany::Many(ids) => ids,
        }
    }
}

/// The agent an empty table describes (the same defaults as serde's).
impl Default for AgentSpec {
    fn default() -> Self {
        AgentSpec {
            id: None,
            role: None,
            service: Dist::default(),
            servers: 1,
            hours: None,
            gain: one(),
            noise: 0.0,
            output: OutputRule::default(),
            action: access::ActionSpec::None,
            scope: None,
            credential: None,
            sponsor: None,
            memory: AgentMemorySpec::default(),
            propagation: one(),
            susceptibility: one(),
            routes: Vec::new(),
            misroute: 0.0,
            failover: None,
            join: None,
            check: None,
        }
    }
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct AgentMemorySpec {
    #[serde(default)]
    pub(super) write: bool,
    #[serde(default)]
    pub(super) read: u32,
    #[serde(default)]
    pub(super) weight: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChannelSpec {
    pub(super) from: String,
    pub(super) to: String,
    #[serde(default)]
    pub(super) latency: Dist,
    #[serde(default = "one")]
    pub(super) propagation: f64,
    #[serde(default = "one")]
    pub(super) trust: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChannelTemplate {
    #[serde(default)]
    pub(super) latency: Dist,
    #[serde(default = "one")]
    pub(super) propagation: f64,
    #[serde(default = "one")]
    pub(super) trust: f64,
}

/// The channel an empty table describes (the same defaults as serde's).
impl Default for ChannelTemplate {
    fn default() -> Self {
        ChannelTemplate { latency: Dist::default(), propagation: one(), trust: one() }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TopologySpec {
    pub(super) generator: GeneratorSpec,
    #[serde(default)]
    pub(super) redraw: bool,
    #[serde(default)]
    pub(super) agent: AgentSpec,
    #[serde(default)]
    pub(super) channel: ChannelTemplate,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum GeneratorSpec {
    Chain { n: u32 },
    KaryTree { k: u32, depth: u32 },
    Layered { layers: Vec<LayerSpec> },
    ErdosRenyi { n: u32, mean_degree: f64 },
    BarabasiAlbert { n: u32, m: u32 },
    WattsStrogatz { n: u32, k: u32, beta: f64 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LayerSpec {
    pub(super) role: Role,
    pub(super) count: u32,
    #[serde(default)]
    pub(super) fanout: u32,
    pub(super) agent: Option<AgentSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SourceSpec {
    pub(super) id: String,
    pub(super) target: String,
    pub(super) arrival: ArrivalSpec,
    #[serde(default)]
    pub(super) start: Duration,
    pub(super) count: Option<u64>,
    #[serde(default)]
    pub(super) signal: SignalSpec,
    #[serde(default)]
    pub(super) kinds: Vec<KindSpec>,
}

/// A kind of task and its share of a source's tasks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KindSpec {
    pub(super) name: String,
    pub(super) share: f64,
}

#[derive(Deserialize)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum ArrivalSpec {
    Poisson { per_second: f64 },
    Periodic { period: Duration },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct SignalSpec {
    #[serde(default)]
    pub(super) mean: f64,
    #[serde(default)]
    pub(super) sd: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MemorySpec {
    #[serde(default)]
    pub(super) mode: MemoryMode,
    #[serde(default = "default_capacity")]
    pub(super) capacity: u32,
    #[serde(default)]
    pub(super) grants: Vec<GrantSpec>,
}

impl Default for MemorySpec {
    fn default() -> Self {
        MemorySpec { mode: MemoryMode::Shared, capacity: default_capacity(), grants: Vec::new() }
    }
}

pub(super) fn default_capacity() -> u32 {
    64
}

#[derive(Deserialize, Default, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub(super) enum MemoryMode {
    #[default]
    Shared,
    Isolated,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantSpec {
    pub(super) reader: String,
    pub(super) owner: String,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum FaultSpec {
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
        #[serde(default = "one")]
        effect: f64,
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
        spread_probability: Option<f64>,
        #[serde(default)]
        replicate: bool,
        #[serde(default)]
        relay: bool,
        #[serde(default)]
        notes: bool,
        effect: Option<f64>,
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
        /// The chance a reader of a planted record is compromised (0: the
        /// records carry no instruction).
        #[serde(default)]
        probability: f64,
        spread_probability: Option<f64>,
        #[serde(default)]
        replicate: bool,
        #[serde(default)]
        relay: bool,
        #[serde(default)]
        notes: bool,
        effect: Option<f64>,
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
