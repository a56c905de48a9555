//! Every way a scenario can be wrong gets one line with file, key and
//! what was expected.

use super::*;
use crate::dist::Dist;
use crate::mitigation::breaker::SeedBreakerConfig;
use crate::mitigation::detector::DetectorConfig;
use crate::mitigation::sliding::{Preset, Window};
use crate::mitigation::{BreakerConfig, Caps, Mitigations, Review, ZeroTrust};
use crate::model::{FaultKind, Materiality, Role};
use crate::time::{Micros, SECOND};

const BASE: &str = r#"
name = "t"
horizon = "1h"
quiet_window = "5m"
[[agents]]
id = "A"
[[agents]]
id = "B"
[[channels]]
from = "A"
to = "B"
[[sources]]
id = "s"
target = "A"
arrival = { process = "poisson", per_second = 1.0 }
"#;

/// A refused scenario's file, key and expectation.
struct Refused {
    file: String,
    key: String,
    message: String,
    line: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

fn refused(e: Error) -> Refused {
    let line = e.to_string();
    match e {
        Error::Input { file, key, expected } => Refused { file, key, message: expected, line },
        other => panic!("an input error expected, got {other}"),
    }
}

fn error(text: &str) -> Refused {
    refused(parse("f.toml", text).expect_err("scenario should be refused"))
}

fn assert_refused(text: &str, key: &str, fragment: &str) {
    let e = error(text);
    assert_eq!(e.key, key, "{e}");
    assert!(e.message.contains(fragment), "{e}");
    assert!(e.line.starts_with("f.toml") && !e.line.contains('\n'), "{e}");
}

#[test]
fn base_scenario_compiles() {
    let model = parse("f.toml", BASE).unwrap();
    assert_eq!(model.agents.len(), 2);
    assert_eq!(model.horizon, 3_600 * SECOND);
    assert!(model.clean_relay);
    assert_eq!(model.onset(), None);
    let Topology::Explicit(channels) = &model.topology else { panic!("explicit expected") };
    assert_eq!((channels[0].from, channels[0].to, channels[0].propagation), (0, 1, 1.0));
}

#[test]
fn unknown_keys_are_refused_everywhere() {
    assert_refused(&format!("colour = 1\n{BASE}"), "colour", "unknown field `colour`");
    assert_refused(&BASE.replace("id = \"B\"", "id = \"B\"\nspeed = 2"), "agents[1].speed", "expected one of");
    assert_refused(&BASE.replace("to = \"B\"", "to = \"B\"\nweight = 1"), "channels[0].weight", "unknown field");
    assert_refused(
        &BASE.replace("per_second = 1.0", "per_second = 1.0, burst = 2"),
        "sources[0].arrival",
        "unknown field `burst`",
    );
    assert_refused(&format!("{BASE}\n[memory]\nsize = 3"), "memory.size", "unknown field `size`");
}

#[test]
fn wrong_types_are_refused() {
    assert_refused(&BASE.replace("id = \"B\"", "id = \"B\"\ngain = \"high\""), "agents[1].gain", "expected f64");
    assert_refused(&BASE.replace("horizon = \"1h\"", "horizon = 3600"), "horizon", "a duration like");
    assert_refused(&BASE.replace("id = \"B\"", "id = \"B\"\nrole = \"wizard\""), "agents[1].role", "unknown variant");
    assert_refused(&BASE.replace("id = \"B\"", "id = \"B\"\noutput = \"some\""), "agents[1].output", "unknown variant");
}

#[test]
fn syntax_errors_name_the_line() {
    let e = error("name = \"x\"\nhorizon = \"1h\nquiet_window = \"1m\"");
    assert!(e.file.starts_with("f.toml:2"), "{e}");
    assert!(!e.to_string().contains('\n'));
}

#[test]
fn missing_required_keys_are_named() {
    assert_refused(&BASE.replace("horizon = \"1h\"", ""), "", "missing field `horizon`");
    assert_refused(&BASE.replace("id = \"B\"", ""), "agents[1].id", "missing");
}

#[test]
fn impossible_values_are_refused() {
    assert_refused(&BASE.replace("\"5m\"", "\"2h\""), "quiet_window", "shorter than the horizon");
    assert_refused(&BASE.replace("\"1h\"", "\"0s\""), "horizon", "positive");
    assert_refused(
        &BASE.replace("id = \"B\"", "id = \"B\"\npropagation = 1.5"),
        "agents[1].propagation",
        "probability",
    );
    assert_refused(&BASE.replace("id = \"B\"", "id = \"B\"\nnoise = -1.0"), "agents[1].noise", ">= 0");
    assert_refused(&BASE.replace("id = \"B\"", "id = \"B\"\ngain = nan"), "agents[1].gain", "finite");
    assert_refused(&BASE.replace("id = \"B\"", "id = \"B\"\nmemory = { read = 99 }"), "agents[1].memory.read", "32");
    assert_refused(&BASE.replace("per_second = 1.0", "per_second = 0.0"), "sources[0].arrival.per_second", "> 0");
    assert_refused(
        &BASE.replace("{ process = \"poisson\", per_second = 1.0 }", "{ process = \"periodic\", period = \"0s\" }"),
        "sources[0].arrival.period",
        "positive",
    );
    assert_refused(
        &BASE.replace("target = \"A\"", "target = \"A\"\nsignal = { sd = -2.0 }"),
        "sources[0].signal.sd",
        ">= 0",
    );
    assert_refused(
        &BASE.replace("to = \"B\"", "to = \"B\"\npropagation = -0.1"),
        "channels[0].propagation",
        "probability",
    );
    assert_refused(&format!("{BASE}\n[memory]\ncapacity = 0"), "memory.capacity", "between 1");
}

#[test]
fn agent_references_must_exist() {
    assert_refused(
        &BASE.replace("to = \"B\"", "to = \"Q\""),
        "channels[0].to",
        "unknown agent id \"Q\"; expected one of A, B",
    );
    assert_refused(&BASE.replace("target = \"A\"", "target = \"Z\""), "sources[0].target", "unknown agent id");
    let fault = "[[faults]]\nkind = \"compromised_agent\"\nagent = \"C\"\nstart = \"1m\"\nshift = 1.0";
    assert_refused(&format!("{BASE}\n{fault}"), "faults[0].agent", "unknown agent id \"C\"");
    let halluc = "[[faults]]\nkind = \"hallucination\"\nagents = [\"A\", \"X\"]\nrate = 0.1\nshift = 1.0";
    assert_refused(&format!("{BASE}\n{halluc}"), "faults[0].agents[1]", "unknown agent id \"X\"");
}

#[test]
fn duplicates_and_self_loops_are_refused() {
    assert_refused(&BASE.replace("id = \"B\"", "id = \"A\""), "agents[1].id", "duplicate agent id");
    assert_refused(&format!("{BASE}\n[[channels]]\nfrom = \"A\"\nto = \"B\""), "channels[1]", "duplicate channel");
    assert_refused(&BASE.replace("to = \"B\"", "to = \"A\""), "channels[0].to", "itself");
    let source = "[[sources]]\nid = \"s\"\ntarget = \"B\"\narrival = { process = \"periodic\", period = \"1s\" }";
    assert_refused(&format!("{BASE}\n{source}"), "sources[1].id", "duplicate source id");
}

#[test]
fn grants_must_be_acyclic_and_isolated() {
    let grants = |list: &str| format!("{BASE}\n[memory]\nmode = \"isolated\"\ngrants = [{list}]");
    let three = BASE.replace("[[channels]]", "[[agents]]\nid = \"C\"\n[[channels]]");
    let cyclic = format!(
        "{three}\n[memory]\nmode = \"isolated\"\ngrants = [{{ reader = \"A\", owner = \"B\" }}, {{ reader = \"B\", owner = \"C\" }}, {{ reader = \"C\", owner = \"A\" }}]"
    );
    assert_refused(&cyclic, "memory.grants", "cyclic grant A -> B -> C -> A");
    assert!(parse("f.toml", &grants("{ reader = \"A\", owner = \"B\" }")).is_ok());
    assert_refused(&grants("{ reader = \"A\", owner = \"A\" }"), "memory.grants[0]", "own partition");
    assert_refused(&grants("{ reader = \"A\", owner = \"Q\" }"), "memory.grants[0].owner", "unknown agent id");
    let shared = format!("{BASE}\n[memory]\ngrants = [{{ reader = \"A\", owner = \"B\" }}]");
    assert_refused(&shared, "memory.grants", "isolated");
}

#[test]
fn fault_windows_and_rates_are_checked() {
    let feed =
        |extra: &str| format!("{BASE}\n[[faults]]\nkind = \"poisoned_feed\"\nagent = \"A\"\nshift = 1.0\n{extra}");
    assert_refused(&feed("start = \"2h\""), "faults[0].start", "before the horizon");
    assert_refused(&feed("start = \"1m\"\nduration = \"0s\""), "faults[0].duration", "positive");
    let model = parse("f.toml", &feed("start = \"1m\"\nduration = \"2m\"")).unwrap();
    assert_eq!(
        model.faults[0].kind,
        FaultKind::PoisonedFeed { agent: 0, start: 60 * SECOND, end: 180 * SECOND, shift: 1.0 }
    );
    assert_eq!(model.faults[0].name, "poisoned_feed#0");
    assert_eq!(model.onset(), Some(60 * SECOND));
    let injection = "[[faults]]\nkind = \"prompt_injection\"\nagent = \"A\"\nstart = \"1m\"\nprobability = 2.0";
    assert_refused(&format!("{BASE}\n{injection}"), "faults[0].probability", "probability");
    let spoof = "[[faults]]\nkind = \"spoofed_sender\"\nfrom = \"B\"\nto = \"A\"\nstart = \"1m\"\nper_second = 1.0\nshift = 1.0";
    assert_refused(&format!("{BASE}\n{spoof}"), "faults[0].to", "no channel B -> A");
    let spoof_rate =
        spoof.replace("from = \"B\"\nto = \"A\"", "from = \"A\"\nto = \"B\"").replace("1.0\nshift", "0.0\nshift");
    assert_refused(&format!("{BASE}\n{spoof_rate}"), "faults[0].per_second", "> 0");
}

#[test]
fn memory_poisoning_targets_match_the_memory_mode() {
    let poison =
        |owner: &str| format!("[[faults]]\nkind = \"memory_poisoning\"\n{owner}at = \"1m\"\nrecords = 3\nshift = 1.0");
    assert!(parse("f.toml", &format!("{BASE}\n{}", poison(""))).is_ok());
    assert_refused(&format!("{BASE}\n{}", poison("owner = \"A\"\n")), "faults[0].owner", "memory is shared");
    let isolated = format!("{BASE}\n[memory]\nmode = \"isolated\"\n{}", poison(""));
    assert_refused(&isolated, "faults[0].owner", "memory is isolated");
    let zero = format!("{BASE}\n{}", poison("").replace("records = 3", "records = 0"));
    assert_refused(&zero, "faults[0].records", "at least 1");
    let late = format!("{BASE}\n{}", poison("").replace("at = \"1m\"", "at = \"3h\""));
    assert_refused(&late, "faults[0].at", "before the horizon");
}

const GENERATED: &str = r#"
name = "g"
horizon = "1h"
quiet_window = "5m"
[topology]
generator = { kind = "erdos_renyi", n = 100, mean_degree = 3.0 }
[topology.agent]
propagation = 0.5
"#;

#[test]
fn generated_topologies_compile_and_check_their_parameters() {
    let model = parse("f.toml", GENERATED).unwrap();
    assert_eq!(model.agents.len(), 100);
    assert_eq!(model.agents[99].name, "n99");
    assert_eq!(model.agents[0].propagation, 0.5);
    let with = |generator: &str| GENERATED.replace("{ kind = \"erdos_renyi\", n = 100, mean_degree = 3.0 }", generator);
    assert_refused(
        &with("{ kind = \"erdos_renyi\", n = 10, mean_degree = 30.0 }"),
        "topology.generator.mean_degree",
        "n - 1",
    );
    assert_refused(&with("{ kind = \"barabasi_albert\", n = 10, m = 10 }"), "topology.generator.m", "less than n");
    assert_refused(&with("{ kind = \"watts_strogatz\", n = 10, k = 3, beta = 0.1 }"), "topology.generator.k", "even");
    assert_refused(
        &with("{ kind = \"watts_strogatz\", n = 10, k = 2, beta = 1.5 }"),
        "topology.generator.beta",
        "probability",
    );
    assert_refused(&with("{ kind = \"chain\", n = 0 }"), "topology.generator.n", "at least 1");
    assert_refused(&with("{ kind = \"kary_tree\", k = 10, depth = 12 }"), "topology.generator.depth", "more than");
    assert_refused(&with("{ kind = \"torus\", n = 10 }"), "topology.generator.kind", "unknown variant");
    assert_refused(&with("{ kind = \"chain\", n = 3, m = 2 }"), "topology.generator", "unknown field `m`");
    assert_refused(&format!("{GENERATED}\n[[agents]]\nid = \"x\""), "topology", "remove [[agents]]");
    assert_refused(&GENERATED.replace("propagation = 0.5", "id = \"x\""), "topology.agent.id", "remove the id");
    let tree = parse("f.toml", &with("{ kind = \"kary_tree\", k = 3, depth = 2 }")).unwrap();
    assert_eq!(tree.agents.len(), 13);
}

#[test]
fn layered_topologies_name_agents_by_role() {
    let layered = GENERATED.replace(
        "generator = { kind = \"erdos_renyi\", n = 100, mean_degree = 3.0 }",
        "generator = { kind = \"layered\", layers = [{ role = \"planner\", count = 2, fanout = 1 }, { role = \"executor\", count = 3, agent = { action = true } }] }",
    );
    let model = parse("f.toml", &layered).unwrap();
    let names: Vec<&str> = model.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["planner0", "planner1", "executor0", "executor1", "executor2"]);
    assert!(model.agents[2].action && !model.agents[0].action);
    assert_eq!(model.agents[2].role, Role::Executor);
    let empty = layered.replace("count = 3", "count = 0");
    assert_refused(&empty, "topology.generator.layers[1].count", "at least 1");
}

#[test]
fn distributions_report_their_key() {
    let bad = BASE.replace("id = \"B\"", "id = \"B\"\nservice = { dist = \"uniform\", min = \"2s\", max = \"1s\" }");
    assert_refused(&bad, "agents[1].service", "must not exceed");
}

#[test]
fn one_parse_gives_the_model_and_the_document() {
    let (model, document) = parse_with_document("t.toml", BASE).unwrap();
    assert_eq!(model, parse("t.toml", BASE).unwrap());
    assert_eq!(document, toml::from_str::<toml::Table>(BASE).unwrap());
    let e = refused(parse_with_document("t.toml", &format!("{BASE}\nnoise = \"loud\"")).unwrap_err());
    assert!(e.file.starts_with("t.toml:") && e.key.ends_with("noise"), "errors keep their line: {e}");
}

#[test]
fn omitted_templates_take_the_documented_defaults() {
    let bare = GENERATED.replace("[topology.agent]\npropagation = 0.5\n", "");
    let model = parse("f.toml", &bare).unwrap();
    let agent = &model.agents[0];
    assert_eq!((agent.gain, agent.propagation, agent.noise, agent.memory_read), (1.0, 1.0, 0.0, 0));
    let Topology::Generated { channel, redraw, .. } = &model.topology else { panic!("generated expected") };
    assert_eq!((channel.propagation, channel.latency, *redraw), (1.0, crate::dist::Dist::Fixed(0), false));
}

#[test]
fn mitigations_compile_with_defaults_and_check_their_values() {
    let on = format!("{BASE}\n[mitigations.validation]\n[mitigations.breaker]");
    let model = parse("f.toml", &on).unwrap();
    assert_eq!(model.mitigations.validation, Some(DetectorConfig::ZScore { threshold: 3.0, warmup: 20 }));
    assert_eq!(model.mitigations.breaker, Some(BreakerConfig::Seed(SeedBreakerConfig::default())));
    let off = format!("{BASE}\n[mitigations.validation]\nenabled = false");
    assert_eq!(parse("f.toml", &off).unwrap().mitigations, Mitigations::default());
    let with = |table: &str| format!("{BASE}\n{table}");
    assert_refused(&with("[mitigations.breaker]"), "mitigations.breaker", "needs [mitigations.validation] or");
    assert_refused(
        &with("[mitigations.validation]\ndetector = \"bernoulli\""),
        "mitigations.validation.true_positive",
        "missing",
    );
    assert_refused(
        &with("[mitigations.validation]\ndetector = \"bernoulli\"\ntrue_positive = 0.5\nthreshold = 2.0"),
        "mitigations.validation.threshold",
        "only applies to detector = \"zscore\"",
    );
    assert_refused(
        &with("[mitigations.validation]\ntrue_positive = 0.5"),
        "mitigations.validation.true_positive",
        "bernoulli",
    );
    assert_refused(&with("[mitigations.validation]\nthreshold = -1.0"), "mitigations.validation.threshold", "> 0");
    assert_refused(
        &with("[mitigations.validation]\ndetector = \"bernoulli\"\ntrue_positive = 1.5"),
        "mitigations.validation.true_positive",
        "probability",
    );
    let breaker = |line: &str| with(&format!("[mitigations.validation]\n[mitigations.breaker]\n{line}"));
    assert_refused(&breaker("failure_threshold = 0"), "mitigations.breaker.failure_threshold", "at least 1");
    assert_refused(&breaker("window = 65"), "mitigations.breaker.window", "between 1 and 64");
    assert_refused(&breaker("half_open_max_probes = 0"), "mitigations.breaker.half_open_max_probes", "at least 1");
    assert_refused(&breaker("anomaly_threshold = 2.0"), "mitigations.breaker.anomaly_threshold", "probability");
    assert_refused(&breaker("mode = \"hybrid\""), "mitigations.breaker.mode", "unknown variant");
    assert_refused(&breaker("reset = \"5m\""), "mitigations.breaker.reset", "unknown field");
    assert_refused(&with("[mitigations.firewall]"), "mitigations.firewall", "unknown field");
    let tuned = breaker("failure_threshold = 5\nreset_timeout = \"1m\"\nwindow = 10\nhalf_open_max_probes = 2");
    let Some(BreakerConfig::Seed(config)) = parse("f.toml", &tuned).unwrap().mitigations.breaker else {
        panic!("seed breaker expected")
    };
    assert_eq!(
        (config.failure_threshold, config.reset_timeout, config.window, config.half_open_max_probes),
        (5, 60 * SECOND, 10, 2)
    );
}

#[test]
fn caps_and_zero_trust_compile() {
    let with = |table: &str| format!("{BASE}\n{table}");
    let model = parse("f.toml", &with("[mitigations.caps]\n[mitigations.zero_trust]")).unwrap();
    assert_eq!(model.mitigations.caps, Some(Caps::default()));
    assert_eq!(
        model.mitigations.zero_trust,
        Some(ZeroTrust { max_chain_depth: 0, action: crate::mitigation::GuardAction::Reject })
    );
    assert!(model.mitigations.guards_channels());
    let tuned = with("[mitigations.caps]\nmax_fanout = 2\nmax_depth = 0\ncycle = \"10s\"\ncooldown = \"0s\"");
    let caps = parse("f.toml", &tuned).unwrap().mitigations.caps.unwrap();
    assert_eq!((caps.max_fanout, caps.max_depth, caps.cycle, caps.cooldown), (2, 0, 10 * SECOND, 0));
    assert_refused(&with("[mitigations.caps]\ncycle = \"0s\""), "mitigations.caps.cycle", "positive");
    assert_refused(&with("[mitigations.caps]\nmax_fanout = -1"), "mitigations.caps.max_fanout", "invalid value");
    assert_refused(
        &with("[mitigations.zero_trust]\nsignatures = true"),
        "mitigations.zero_trust.signatures",
        "unknown field",
    );
    // Zero trust alone is enough validation for a breaker.
    assert!(parse("f.toml", &with("[mitigations.zero_trust]\n[mitigations.breaker]")).is_ok());
    let off = with("[mitigations.caps]\nenabled = false\n[mitigations.zero_trust]\nenabled = false");
    assert_eq!(parse("f.toml", &off).unwrap().mitigations, Mitigations::default());
}

#[test]
fn review_needs_a_breaker_and_takes_defaults() {
    let base = format!("{BASE}\n[mitigations.zero_trust]\n[mitigations.breaker]\n[mitigations.review]");
    let review = parse("f.toml", &base).unwrap().mitigations.review.unwrap();
    assert_eq!(
        review,
        Review { delay: Dist::Exponential { mean: 600e6 }, pool: crate::model::NONE, provenance: true, rollback: true }
    );
    let tuned = parse("f.toml", &format!("{base}\ndelay = \"2m\"\nprovenance = false\nrollback = false")).unwrap();
    assert_eq!(
        tuned.mitigations.review,
        Some(Review { delay: Dist::Fixed(120 * SECOND), pool: crate::model::NONE, provenance: false, rollback: false })
    );
    assert_refused(&format!("{BASE}\n[mitigations.review]"), "mitigations.review", "needs [mitigations.breaker]");
    assert_refused(&format!("{base}\nreviewer = \"alice\""), "mitigations.review.reviewer", "unknown field");
}

#[test]
fn sliding_breakers_take_presets_and_overrides() {
    let breaker =
        |lines: &str| format!("{BASE}\n[mitigations.validation]\n[mitigations.breaker]\nmode = \"sliding\"\n{lines}");
    let get = |lines: &str| match parse("f.toml", &breaker(lines)).unwrap().mitigations.breaker {
        Some(BreakerConfig::Sliding(c)) => c,
        other => panic!("sliding expected, got {other:?}"),
    };
    assert_eq!(get(""), Preset::Resilience4j.config());
    assert_eq!(get("preset = \"polly\""), Preset::Polly.config());
    assert_eq!(get("preset = \"hystrix\""), Preset::Hystrix.config());
    let tuned = get(
        "preset = \"hystrix\"\nwindow_type = \"count\"\nwindow_size = 50\nfailure_rate = 0.2\nwait_in_open = \"30s\"",
    );
    assert_eq!((tuned.window, tuned.failure_rate, tuned.wait_in_open), (Window::Count(50), 0.2, 30 * SECOND));
    assert_eq!(tuned.minimum_calls, 20, "the preset supplies what is not overridden");
    assert_refused(
        &breaker("failure_threshold = 3"),
        "mitigations.breaker.failure_threshold",
        "only applies to mode = \"seed\"",
    );
    assert_refused(
        &format!("{BASE}\n[mitigations.validation]\n[mitigations.breaker]\npreset = \"polly\""),
        "mitigations.breaker.preset",
        "only applies to mode = \"sliding\"",
    );
    assert_refused(&breaker("failure_rate = 0.0"), "mitigations.breaker.failure_rate", "(0, 1]");
    assert_refused(&breaker("window_size = 0"), "mitigations.breaker.window_size", "1 to 1024");
    assert_refused(
        &breaker("window_type = \"time\"\nwindow_size = 7200"),
        "mitigations.breaker.window_size",
        "1 to 3600",
    );
    assert_refused(&breaker("half_open_calls = 0"), "mitigations.breaker.half_open_calls", "at least 1");
    assert_refused(&breaker("preset = \"netflix\""), "mitigations.breaker.preset", "unknown variant");
}

const ACCESS: &str = r#"
[[resources]]
name = "orders.write"
access = "write"
[[resources]]
name = "ci.write"
access = "write"
controls = "B"
[[credentials]]
name = "svc"
kind = "shared_account"
grants = ["orders.write"]
gains = [{ at = "10m", grants = ["ci.write"] }]
[[credentials]]
name = "jit"
kind = "task_scoped"
grants = ["orders.write", "ci.write"]
ttl = "30s"
"#;

fn with_access(agent_a: &str, extra: &str) -> String {
    format!("{}\n{ACCESS}\n{extra}", BASE.replace("id = \"A\"", &format!("id = \"A\"\n{agent_a}")))
}

#[test]
fn access_layer_compiles_to_bit_sets() {
    use crate::mitigation::access::CredentialKind;
    use crate::model::AccessKind;
    let text = with_access("action = \"orders.write\"\ncredential = \"svc\"\nsponsor = \"alice\"", "");
    let model = parse("f.toml", &text).unwrap();
    let a = &model.agents[0];
    assert_eq!((a.action, a.action_resource, a.scope, a.credential, a.sponsored), (true, 0, 0b01, 0, true));
    assert_eq!(model.resources[1].controls, 1);
    assert_eq!(model.resources[1].access, AccessKind::Write);
    let svc = &model.credentials[0];
    assert_eq!(
        (svc.kind, svc.grants, svc.grants_at(0), svc.grants_at(600 * SECOND)),
        (CredentialKind::SharedAccount, 1, 1, 3)
    );
    assert_eq!((model.credentials[1].kind, model.credentials[1].ttl), (CredentialKind::TaskScoped, 30 * SECOND));
    assert!(model.access_checked());
    let jit = parse("f.toml", &format!("{text}\n[mitigations.credentials]\nttl = \"1m\"")).unwrap();
    assert_eq!(jit.mitigations.credentials.unwrap().ttl, 60 * SECOND);
    let gated = parse("f.toml", &format!("{text}\n[mitigations.gateway]\n[mitigations.review]")).unwrap();
    assert!(
        gated.mitigations.gateway.unwrap().alert && gated.mitigations.review.is_some(),
        "gateway alerts feed review"
    );
    assert!(!parse("f.toml", BASE).unwrap().access_checked());
    // A resource listed twice is in the scope once; the default scope is the action's resource.
    let text = with_access("action = \"ci.write\"\ncredential = \"svc\"\nscope = [\"ci.write\", \"ci.write\"]", "");
    assert_eq!(parse("f.toml", &text).unwrap().agents[0].scope, 0b10);
    let text = with_access("action = \"ci.write\"\ncredential = \"svc\"", "");
    assert_eq!(parse("f.toml", &text).unwrap().agents[0].scope, 0b10);
}

#[test]
fn access_layer_mistakes_are_refused() {
    let acting = "action = \"orders.write\"\ncredential = \"svc\"";
    assert_refused(
        &with_access("action = \"orders.read\"", ""),
        "agents[0].action",
        "unknown resource \"orders.read\"",
    );
    assert_refused(&with_access("action = 3", ""), "agents[0].action", "true, false or the name of the resource");
    assert_refused(&with_access("credential = \"root\"", ""), "agents[0].credential", "expected one of jit, svc");
    assert_refused(&with_access(&format!("{acting}\nscope = [\"ci.write\"]"), ""), "agents[0].scope", "must include");
    assert_refused(&with_access(&format!("{acting}\nsponsor = \" \""), ""), "agents[0].sponsor", "accountable human");
    assert_refused(&with_access("action = \"orders.write\"", ""), "agents[0].credential", "this agent acts");
    assert_refused(&with_access("action = true\ncredential = \"svc\"", ""), "agents[0].action", "name of the resource");
    assert_refused(
        &BASE.replace("id = \"A\"", "id = \"A\"\ncredential = \"svc\""),
        "agents[0].credential",
        "no [[credentials]] are declared",
    );
    let dup = ACCESS.replace("name = \"ci.write\"", "name = \"orders.write\"");
    assert_refused(&format!("{BASE}\n{dup}"), "resources[1].name", "duplicate name \"orders.write\"");
    assert_refused(
        &with_access("", "").replace("access = \"write\"\ncontrols", "access = \"exec\"\ncontrols"),
        "resources[1].access",
        "expected `read` or `write`",
    );
    assert_refused(
        &with_access("", "").replace("controls = \"B\"", "controls = \"Z\""),
        "resources[1].controls",
        "unknown agent id",
    );
    assert_refused(&with_access("", "").replace("ttl = \"30s\"", ""), "credentials[1].ttl", "positive token lifetime");
    assert_refused(&with_access("", "").replace("ttl = \"30s\"", "ttl = \"0s\""), "credentials[1].ttl", "positive");
    assert_refused(
        &with_access(acting, "[mitigations.credentials]\nttl = \"0s\""),
        "mitigations.credentials.ttl",
        "positive",
    );
    let off =
        parse("f.toml", &with_access(acting, "[mitigations.credentials]\nenabled = false\nttl = \"1s\"")).unwrap();
    assert!(off.mitigations.credentials.is_none());
    let one_us = parse("f.toml", &with_access(acting, "[mitigations.credentials]\nttl = \"1us\"")).unwrap();
    assert_eq!(one_us.mitigations.credentials.unwrap().ttl, 1);
    assert_refused(
        &with_access("", "").replace("grants = [\"orders.write\"]\n", "grants = [\"orders.write\"]\nttl = \"1s\"\n"),
        "credentials[0].ttl",
        "only applies",
    );
    assert_refused(
        &with_access("", "")
            .replace("{ at = \"10m\", grants = [\"ci.write\"] }", "{ at = \"10m\", grants = [\"cd\"] }"),
        "credentials[0].gains[0].grants[0]",
        "unknown resource \"cd\"",
    );
    assert_refused(
        &with_access("", "").replace("kind = \"shared_account\"", "kind = \"root\""),
        "credentials[0].kind",
        "expected one of",
    );
    let many: String = (0..65).map(|i| format!("[[resources]]\nname = \"r{i}\"\naccess = \"read\"\n")).collect();
    assert_refused(&format!("{BASE}\n{many}"), "resources", "at most 64 resources");
    assert_refused(
        &with_access(acting, "[mitigations.credentials]"),
        "mitigations.credentials.ttl",
        "positive token lifetime",
    );
    assert_refused(
        &with_access(acting, "[mitigations.gateway]\nmode = 1"),
        "mitigations.gateway.mode",
        "unknown field",
    );
    assert_refused(
        &with_access(acting, "[mitigations.gateway]\nalert = false\n[mitigations.review]"),
        "mitigations.review",
        "alerting [mitigations.gateway]",
    );
}

#[test]
fn out_of_scope_faults_are_checked() {
    let acting = "action = \"orders.write\"\ncredential = \"svc\"";
    let fault = "[[faults]]\nkind = \"out_of_scope\"\nagents = [\"A\"]\nresources = [\"ci.write\"]\nmean_gap = \"1m\"";
    let model = parse("f.toml", &with_access(acting, fault)).unwrap();
    let FaultKind::OutOfScope { ref agents, ref resources, mean_gap, only_compromised, end, .. } = model.faults[0].kind
    else {
        panic!("out_of_scope expected")
    };
    assert_eq!(
        (agents.as_slice(), resources.as_slice(), mean_gap, only_compromised, end),
        (&[0][..], &[1][..], 60e6, false, Micros::MAX)
    );
    assert_eq!(model.faults[0].name, "out_of_scope#0");
    assert_refused(&with_access(acting, &fault.replace("[\"A\"]", "[]")), "faults[0].agents", "at least one agent");
    assert_refused(
        &with_access(acting, &fault.replace("[\"A\"]", "[\"Q\"]")),
        "faults[0].agents[0]",
        "unknown agent id",
    );
    assert_refused(
        &with_access(acting, &fault.replace("[\"ci.write\"]", "[]")),
        "faults[0].resources",
        "at least one resource",
    );
    assert_refused(
        &with_access(acting, &fault.replace("[\"ci.write\"]", "[\"x\"]")),
        "faults[0].resources[0]",
        "unknown resource",
    );
    assert_refused(&with_access(acting, &fault.replace("\"1m\"", "\"0s\"")), "faults[0].mean_gap", "positive duration");
    // B attempts actions, so it needs a credential too.
    assert_refused(
        &with_access(acting, &fault.replace("[\"A\"]", "[\"B\"]")),
        "agents[1].credential",
        "this agent acts",
    );
}

#[test]
fn materiality_is_a_fraction_or_a_size_and_defaults_to_a_tenth() {
    assert_eq!(parse("t.toml", BASE).unwrap().materiality, Materiality::Relative(0.1));
    let with = |line: &str| format!("{line}\n{BASE}");
    assert_eq!(parse("t.toml", &with("materiality = 0.25")).unwrap().materiality, Materiality::Relative(0.25));
    assert_eq!(parse("t.toml", &with("material_shift = 2.0")).unwrap().materiality, Materiality::Absolute(2.0));
    assert_refused(&with("materiality = 1.5"), "materiality", "between 0 and 1");
    assert_refused(&with("materiality = nan"), "materiality", "between 0 and 1");
    assert_refused(&with("material_shift = -1.0"), "material_shift", "at least 0");
    assert_refused(&with("material_shift = inf"), "material_shift", "finite");
    assert_refused(&with("materiality = 0.1\nmaterial_shift = 1.0"), "material_shift", "not both");
    assert_eq!(Materiality::Relative(0.1).threshold(-30.0), 3.0);
    assert_eq!(Materiality::Absolute(2.0).threshold(-30.0), 2.0);
}

/// BASE with a third agent C, a channel A -> C, and kinds on the source.
fn router(output_and_routes: &str) -> String {
    BASE.replace("id = \"A\"", &format!("id = \"A\"\n{output_and_routes}"))
        .replace("[[channels]]", "[[agents]]\nid = \"C\"\n[[channels]]\nfrom = \"A\"\nto = \"C\"\n[[channels]]")
        .replace(
            "per_second = 1.0 }",
            "per_second = 1.0 }\nkinds = [{ name = \"x\", share = 0.25 }, { name = \"y\", share = 0.75 }]",
        )
}

#[test]
fn kinds_and_routes_compile_to_channels() {
    let model = parse(
        "f.toml",
        &router("output = \"by_kind\"\nroutes = [{ kind = \"y\", to = [\"B\", \"C\"] }, { to = \"C\" }]"),
    )
    .unwrap();
    assert_eq!(model.kinds, ["x", "y"]);
    assert_eq!(model.sources[0].kinds, [(0, 0.25), (1, 1.0)]);
    let a = &model.agents[0];
    assert!(a.failover && model.routes_work());
    assert_eq!(a.routes[0], crate::model::Route { kind: 1, below: f64::INFINITY, channels: vec![1, 0] });
    assert_eq!(a.routes[1].kind, crate::model::NO_KIND);
    let by_signal = parse("f.toml", &router("output = \"by_signal\"\nfailover = false\nroutes = [{ below = 1.0, to = \"B\" }, { below = 2.0, to = \"C\" }]")).unwrap();
    assert_eq!(by_signal.agents[0].routes[1].below, 2.0);
    assert!(!by_signal.agents[0].failover);
    let plain = parse("f.toml", BASE).unwrap();
    assert!(!plain.routes_work() && !plain.agents[0].failover);
}

#[test]
fn malformed_kinds_and_routes_are_refused_by_key() {
    let kinds = |k: &str| BASE.replace("per_second = 1.0 }", &format!("per_second = 1.0 }}\nkinds = {k}"));
    assert_refused(&kinds("[{ name = \"x\", share = 0.5 }]"), "sources[0].kinds", "sum to 1, got 0.5");
    assert_refused(
        &kinds("[{ name = \"x\", share = 0.0 }, { name = \"y\", share = 1.0 }]"),
        "sources[0].kinds[0].share",
        "> 0",
    );
    assert_refused(
        &kinds("[{ name = \"x\", share = 0.5 }, { name = \"x\", share = 0.5 }]"),
        "sources[0].kinds[1].name",
        "twice",
    );
    assert_refused(&kinds("[{ name = \"../x\", share = 1.0 }]"), "sources[0].kinds[0].name", "letters");
    let many: Vec<String> = (0..65).map(|i| format!("{{ name = \"k{i}\", share = {} }}", 1.0 / 65.0)).collect();
    assert_refused(&kinds(&format!("[{}]", many.join(", "))), "sources[0].kinds[64].name", "at most 64 kinds");
    let r = |text: &str| router(text);
    assert_refused(&r("output = \"by_kind\""), "agents[0].routes", "expected 1 to 64 routes");
    assert_refused(&r("routes = [{ to = \"B\" }]"), "agents[0].routes", "only a router routes");
    assert_refused(&r("misroute = 0.5"), "agents[0].misroute", "only a router misroutes");
    assert_refused(
        &r("output = \"by_kind\"\nmisroute = 2.0\nroutes = [{ to = \"B\" }]"),
        "agents[0].misroute",
        "probability",
    );
    assert_refused(
        &r("output = \"by_kind\"\nroutes = [{ to = \"B\" }, { kind = \"x\", to = \"C\" }]"),
        "agents[0].routes[0].kind",
        "only the last",
    );
    assert_refused(
        &r("output = \"by_kind\"\nroutes = [{ kind = \"z\", to = \"B\" }]"),
        "agents[0].routes[0].kind",
        "unknown kind \"z\"; expected one of x, y",
    );
    assert_refused(
        &r("output = \"by_kind\"\nroutes = [{ kind = \"x\", to = \"B\" }, { kind = \"x\", to = \"C\" }]"),
        "agents[0].routes[1].kind",
        "routed twice",
    );
    assert_refused(
        &r("output = \"by_kind\"\nroutes = [{ kind = \"x\", below = 1.0, to = \"B\" }]"),
        "agents[0].routes[0].below",
        "remove below",
    );
    assert_refused(
        &r("output = \"by_signal\"\nroutes = [{ kind = \"x\", to = \"B\" }]"),
        "agents[0].routes[0].kind",
        "remove kind",
    );
    assert_refused(
        &r("output = \"by_signal\"\nroutes = [{ to = \"B\" }, { to = \"C\" }]"),
        "agents[0].routes[0].below",
        "only the last",
    );
    assert_refused(
        &r("output = \"by_signal\"\nroutes = [{ below = 2.0, to = \"B\" }, { below = 1.0, to = \"C\" }]"),
        "agents[0].routes[1].below",
        "above the route before's, got 1",
    );
    assert_refused(
        &r("output = \"by_signal\"\nroutes = [{ below = nan, to = \"B\" }]"),
        "agents[0].routes[0].below",
        "finite",
    );
    assert_refused(&r("output = \"by_kind\"\nroutes = [{ to = [] }]"), "agents[0].routes[0].to", "1 to 8 agent ids");
    assert_refused(&r("output = \"by_kind\"\nroutes = [{ to = \"Q\" }]"), "agents[0].routes[0].to", "unknown agent id");
    assert_refused(
        &r("output = \"by_kind\"\nroutes = [{ to = \"A\" }]"),
        "agents[0].routes[0].to",
        "no channel from \"A\" to \"A\"",
    );
    assert_refused(
        &r("output = \"by_kind\"\nroutes = [{ to = [\"B\", \"B\"] }]"),
        "agents[0].routes[0].to",
        "listed twice",
    );
    let kind_free =
        BASE.replace("id = \"A\"", "id = \"A\"\noutput = \"by_kind\"\nroutes = [{ kind = \"x\", to = \"B\" }]");
    assert_refused(&kind_free, "agents[0].routes[0].kind", "expected a kind a source gives (sources[].kinds)");
    let generated = "name = \"g\"\nhorizon = \"1h\"\nquiet_window = \"5m\"\n[topology]\ngenerator = { kind = \"chain\", n = 3 }\nagent = { output = \"by_kind\" }\n";
    assert_refused(generated, "topology.agent.output", "named receivers");
}

#[test]
fn route_tables_hold_their_limits_exactly() {
    let by_signal = |n: usize| {
        let routes: Vec<String> = (0..n).map(|j| format!("{{ below = {}.0, to = \"B\" }}", j + 1)).collect();
        router(&format!("output = \"by_signal\"\nroutes = [{}]", routes.join(", ")))
    };
    assert_eq!(parse("f.toml", &by_signal(64)).unwrap().agents[0].routes.len(), 64);
    assert_refused(&by_signal(65), "agents[0].routes", "expected 1 to 64 routes");
    assert_refused(
        &router("output = \"by_signal\"\nroutes = [{ below = 1.0, to = \"B\" }, { below = 1.0, to = \"C\" }]"),
        "agents[0].routes[1].below",
        "above the route before's, got 1",
    );
    let fan = |n: usize| {
        let mut text = router(&format!(
            "output = \"by_kind\"\nroutes = [{{ to = [{}] }}]",
            (0..n).map(|k| format!("\"R{k}\"")).collect::<Vec<_>>().join(", ")
        ));
        for k in 0..n {
            text.push_str(&format!("[[agents]]\nid = \"R{k}\"\n[[channels]]\nfrom = \"A\"\nto = \"R{k}\"\n"));
        }
        text
    };
    assert_eq!(parse("f.toml", &fan(8)).unwrap().agents[0].routes[0].channels.len(), 8);
    assert_refused(&fan(9), "agents[0].routes[0].to", "1 to 8 agent ids");
}
