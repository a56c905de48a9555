//! Invariants over randomly generated scenarios: time never goes backwards,
//! every corrupted message has a root fault that had started, provenance
//! links point backwards, and the metrics are internally consistent.

mod common;

use cascade::engine::{Detail, Engine, TraceKind};
use cascade::model::{Model, NONE, NO_FAULT};
use cascade::rng::run_key;
use cascade::runner::graph_for;
use proptest::prelude::*;

/// A generator and the names of two of its agents (the first is fed by the source).
fn topology() -> impl Strategy<Value = (String, [&'static str; 2])> {
    const N: [&str; 2] = ["n0", "n1"];
    prop_oneof![
        (2u32..12).prop_map(|n| (format!("{{ kind = \"chain\", n = {n} }}"), N)),
        (1u32..4, 1u32..4).prop_map(|(k, d)| (format!("{{ kind = \"kary_tree\", k = {k}, depth = {d} }}"), N)),
        (5u32..40, 0.5f64..3.0).prop_map(|(n, c)| (format!("{{ kind = \"erdos_renyi\", n = {n}, mean_degree = {c} }}"), N)),
        (5u32..40, 1u32..3).prop_map(|(n, m)| (format!("{{ kind = \"barabasi_albert\", n = {n}, m = {m} }}"), N)),
        (6u32..40, 0.0f64..1.0).prop_map(|(n, b)| (format!("{{ kind = \"watts_strogatz\", n = {n}, k = 2, beta = {b} }}"), N)),
        (1u32..4, 1u32..6, 0u32..3).prop_map(|(a, b, f)| (format!(
            "{{ kind = \"layered\", layers = [{{ role = \"planner\", count = {a}, fanout = {f} }}, {{ role = \"executor\", count = {b} }}, {{ role = \"oversight\", count = 1 }}] }}"
        ), ["planner0", "executor0"])),
    ]
}

/// A fault with `@A` standing for an agent name (filled in by `scenario`).
fn fault() -> impl Strategy<Value = String> {
    let agent = |i: u32| format!("@{}", i % 2);
    prop_oneof![
        (0u32..100, 0u64..60, -5.0f64..5.0).prop_map(move |(a, s, x)| format!(
            "kind = \"poisoned_feed\"\nagent = \"{}\"\nstart = \"{s}s\"\nduration = \"20s\"\nshift = {x}",
            agent(a)
        )),
        (0u32..100, 0u64..60).prop_map(move |(a, s)| format!(
            "kind = \"compromised_agent\"\nagent = \"{}\"\nstart = \"{s}s\"\nshift = 1.5",
            agent(a)
        )),
        (0.0f64..0.3).prop_map(|r| format!("kind = \"hallucination\"\nrate = {r}\nshift = 2.0\nstart = \"5s\"")),
        (0u32..100, 0.0f64..1.0, any::<bool>()).prop_map(move |(a, p, rep)| format!(
            "kind = \"prompt_injection\"\nagent = \"{}\"\nstart = \"0s\"\nprobability = {p}\nshift = 1.0\nreplicate = {rep}",
            agent(a)
        )),
        (0u64..60, 1u32..4).prop_map(|(t, r)| format!("kind = \"memory_poisoning\"\nat = \"{t}s\"\nrecords = {r}\nshift = 3.0")),
    ]
}

prop_compose! {
    fn scenario()(
        (topology, names) in topology(),
        output in prop_oneof![Just("all"), Just("random_one"), Just("round_robin")],
        propagation in 0.0f64..=1.0,
        channel_p in 0.0f64..=1.0,
        clean_relay in any::<bool>(),
        read in 0u32..4,
        rate in 0.2f64..5.0,
        faults in prop::collection::vec(fault(), 0..4),
    ) -> String {
        let faults: String = faults
            .iter()
            .map(|f| format!("[[faults]]\n{}\n", f.replace("@0", names[0]).replace("@1", names[1])))
            .collect();
        let source = names[0];
        format!(
            r#"name = "prop"
horizon = "90s"
quiet_window = "10s"
[workload]
clean_relay = {clean_relay}
[topology]
generator = {topology}
[topology.agent]
service = {{ dist = "exponential", mean = "200ms" }}
noise = 0.1
output = "{output}"
propagation = {propagation}
action = true
memory = {{ write = true, read = {read}, weight = 0.3 }}
[topology.channel]
latency = {{ dist = "lognormal", median = "100ms", sigma = 0.5 }}
propagation = {channel_p}
[[sources]]
id = "in"
target = "{source}"
arrival = {{ process = "poisson", per_second = {rate} }}
{faults}"#
        )
    }
}

fn compile(text: &str) -> Model {
    cascade::scenario::parse("prop.toml", text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn check_run(model: &Model, seed: u64) -> Result<(), TestCaseError> {
    let graph = graph_for(model, seed, 0, 0);
    let mut engine = Engine::new(model);
    let metrics = engine.run(model, &graph, &run_key(seed, 0, 0), true);
    let trace = engine.trace();
    let messages = engine.messages();
    let n = model.agents.len() as u32;

    prop_assert!(trace.windows(2).all(|w| w[0].time <= w[1].time), "time went backwards");
    prop_assert!(trace.iter().all(|r| r.time <= model.horizon));

    let mut created = vec![0u64; messages.len()];
    for row in trace.iter().filter(|r| matches!(r.kind, TraceKind::Send | TraceKind::SourceEmit | TraceKind::Spoof)) {
        created[row.message as usize] = row.time;
    }
    for (id, message) in messages.iter().enumerate() {
        prop_assert_eq!(message.corrupted(), message.root != NO_FAULT);
        if message.corrupted() {
            let root = message.root as usize;
            prop_assert!(root < model.faults.len(), "message {} has no valid root fault", id);
            prop_assert!(model.faults[root].kind.start() <= created[id], "corrupted before its root fault started");
        } else {
            prop_assert_eq!(message.shift, 0.0);
        }
        if message.parent != NONE {
            prop_assert!((message.parent as usize) < id, "provenance must point backwards");
            prop_assert_eq!(message.depth, messages[message.parent as usize].depth + 1);
            prop_assert_eq!(message.task, messages[message.parent as usize].task);
        }
    }
    // Duplicate suppression: an agent that can receive a task by several
    // paths acts at most once per task and output class.
    let acted_once = || {
        let mut seen: Vec<(u32, u32, bool)> = trace
            .iter()
            .filter(|r| r.kind == TraceKind::Action && r.message != NONE && graph.may_repeat[r.agent as usize])
            .map(|r| (r.agent, r.task, r.root != NO_FAULT))
            .collect();
        let total = seen.len();
        seen.sort_unstable();
        seen.dedup();
        seen.len() == total
    };
    prop_assert!(acted_once(), "an agent acted twice on one task and class");
    for record in engine.memory().records() {
        prop_assert!(record.root == NO_FAULT || (record.root as usize) < model.faults.len());
    }

    prop_assert!(metrics.agents_reached <= n && metrics.agents_corrupted <= n);
    prop_assert!(metrics.corrupted_messages <= metrics.messages);
    prop_assert!(metrics.corrupted_actions <= metrics.actions);
    prop_assert!(metrics.corrupted_records <= metrics.records);
    prop_assert_eq!(metrics.messages, messages.len() as u64);
    let corrupted_in_arena = messages.iter().filter(|m| m.corrupted()).count() as u64;
    prop_assert_eq!(metrics.corrupted_messages, corrupted_in_arena);
    if model.faults.is_empty() {
        prop_assert_eq!(metrics.corrupted_messages + metrics.corrupted_actions + metrics.corrupted_records, 0);
        prop_assert!(metrics.contained && metrics.t_contain.is_none());
    } else {
        let onset = metrics.onset.unwrap();
        prop_assert_eq!(metrics.contained, metrics.t_contain.is_some());
        if let Some(t) = metrics.t_contain {
            prop_assert!(onset + t <= model.horizon - model.quiet_window);
        }
    }
    if metrics.agents_reached > 0 {
        prop_assert!(metrics.corrupted_messages > 0 || metrics.corrupted_records > 0);
    }
    Ok(())
}

/// With fan-out cap k and depth cap d, the messages of one task reach at
/// most k + k^2 + ... + k^d distinct agents, whatever the topology, output
/// rule, faults and duplicates.
fn check_reach_bound(model: &Model, seed: u64) -> Result<(), TestCaseError> {
    let bound = model.mitigations.caps.and_then(|c| c.reach_bound()).expect("caps on");
    let graph = graph_for(model, seed, 0, 0);
    let mut engine = Engine::new(model);
    engine.run(model, &graph, &run_key(seed, 0, 0), true);
    let mut sends: Vec<(u32, Detail)> =
        engine.trace().iter().filter(|r| r.kind == TraceKind::Send).map(|r| (r.task, r.detail)).collect();
    sends.sort_unstable();
    sends.dedup();
    let mut per_task = std::collections::BTreeMap::new();
    for (task, _) in sends {
        *per_task.entry(task).or_insert(0u64) += 1;
    }
    for (task, reached) in per_task {
        prop_assert!(reached <= bound, "task {} reached {} agents, bound {}", task, reached, bound);
    }
    Ok(())
}

/// Random credentials, grants, gateway and out-of-scope attempts on top of
/// a random scenario whose agents all act on resource r0 under one credential.
fn access_layer() -> impl Strategy<Value = (String, String)> {
    let kinds = prop_oneof![Just("inherited"), Just("shared_account"), Just("static_key"), Just("task_scoped")];
    fn subset() -> impl Strategy<Value = std::collections::BTreeSet<u32>> {
        prop::collection::btree_set(0u32..4, 0..=4)
    }
    (kinds, subset(), subset(), 0u64..90, subset(), 1u64..3000, any::<bool>())
        .prop_flat_map(move |(kind, grants, gains, gain_at, scope, ttl, sponsored)| {
            let list = |set: &std::collections::BTreeSet<u32>| {
                set.iter().map(|r| format!("\"r{r}\"")).collect::<Vec<_>>().join(", ")
            };
            let mut scope = scope.clone();
            scope.insert(0);
            let ttl_line = if kind == "task_scoped" { format!("ttl = \"{ttl}ms\"\n") } else { String::new() };
            let resources: String =
                (0..4).map(|r| format!("[[resources]]\nname = \"r{r}\"\naccess = \"{}\"\n", ["read", "write"][r % 2])).collect();
            let declarations = format!(
                "{resources}[[credentials]]\nname = \"c\"\nkind = \"{kind}\"\ngrants = [{}]\n{ttl_line}gains = [{{ at = \"{gain_at}s\", grants = [{}] }}]\n",
                list(&grants),
                list(&gains)
            );
            let sponsor = if sponsored { "sponsor = \"s\"\n" } else { "" };
            let agent = format!("action = \"r0\"\nscope = [{}]\ncredential = \"c\"\n{sponsor}", list(&scope));
            (Just(declarations), Just(agent), subset(), 100u64..20_000, any::<bool>(), any::<bool>(), any::<bool>(), 100u64..5000)
        })
        .prop_map(|(declarations, agent, tried, gap, only_compromised, jit, gateway, jit_ttl)| {
            let tried: Vec<String> = tried.iter().map(|r| format!("\"r{r}\"")).collect();
            let tried = if tried.is_empty() { "\"r3\"".to_string() } else { tried.join(", ") };
            let mut extra = format!(
                "{declarations}[[faults]]\nkind = \"out_of_scope\"\nagents = [\"@0\", \"@1\"]\nresources = [{tried}]\nmean_gap = \"{gap}ms\"\nonly_compromised = {only_compromised}\nshift = 1.0\n"
            );
            if jit {
                extra += &format!("[mitigations.credentials]\nttl = \"{jit_ttl}ms\"\n");
            }
            if gateway {
                extra += "[mitigations.gateway]\n";
            }
            (agent, extra)
        })
}

/// Every action that went ahead was covered by the credential (and the
/// gateway's policy); the access metrics agree with the trace.
fn check_access(model: &Model, seed: u64) -> Result<(), TestCaseError> {
    use cascade::mitigation::access::CredentialKind;
    use cascade::model::AccessKind;
    let graph = graph_for(model, seed, 0, 0);
    let mut engine = Engine::new(model);
    let metrics = engine.run(model, &graph, &run_key(seed, 0, 0), true);
    let credential = &model.credentials[0];
    let agent = &model.agents[0];
    let jit = model.mitigations.credentials.is_some();
    let kind = if jit { CredentialKind::TaskScoped } else { credential.kind };
    let gateway = model.mitigations.gateway.is_some();
    let attributable = agent.sponsored
        && (kind == CredentialKind::TaskScoped || (kind == CredentialKind::StaticKey && model.agents.len() == 1));
    let acts = |k: TraceKind| matches!(k, TraceKind::Action | TraceKind::ActionDenied | TraceKind::ActionBlocked);
    let (mut unattributable, mut clean_blocked, mut attempts, mut blocked_writes) = (0u64, 0u64, 0u64, 0u64);
    for row in engine.trace().iter().filter(|r| acts(r.kind)) {
        let Detail::Resource(resource) = row.detail else {
            return Err(TestCaseError::fail(format!("an action on no resource at {}", row.time)));
        };
        let bit = 1u64 << resource;
        let grants = if jit { agent.scope } else { credential.grants_at(row.time) };
        let scoped = kind != CredentialKind::TaskScoped || agent.scope & bit != 0;
        let policy = kind == CredentialKind::Inherited || agent.scope & bit != 0;
        match row.kind {
            TraceKind::Action => {
                prop_assert!(grants & bit != 0 && scoped, "r{resource} went ahead without a grant at {}", row.time);
                prop_assert!(!gateway || policy, "r{resource} passed the gateway outside its policy");
                unattributable += !attributable as u64;
            }
            TraceKind::ActionBlocked => prop_assert!(gateway, "blocked without a gateway"),
            _ => {}
        }
        if row.message == NONE {
            attempts += 1;
            let write = model.resources[resource as usize].access == AccessKind::Write;
            blocked_writes += (row.kind != TraceKind::Action && write) as u64;
        } else if row.kind != TraceKind::Action && row.root == NO_FAULT {
            clean_blocked += 1;
        }
    }
    prop_assert_eq!(metrics.unattributable_actions, unattributable);
    prop_assert_eq!(metrics.clean_actions_blocked, clean_blocked);
    prop_assert_eq!(metrics.out_of_scope_succeeded + metrics.out_of_scope_blocked, attempts);
    prop_assert_eq!(metrics.out_of_scope_blocked_writes, blocked_writes);
    prop_assert!(metrics.out_of_scope_blocked_injected <= metrics.out_of_scope_blocked);
    Ok(())
}

proptest! {
    // A fixed seed keeps CI reproducible; set PROPTEST_RNG_SEED=random and
    // PROPTEST_CASES=5000 locally to explore further.
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed_ca5c),
        ..ProptestConfig::default()
    })]

    #[test]
    fn invariants_hold_on_random_scenarios(text in scenario(), seed in any::<u64>()) {
        check_run(&compile(&text), seed)?;
    }

    #[test]
    fn caps_bound_the_reach_of_a_single_source(
        text in scenario(),
        k in 1u32..4,
        d in 1u32..5,
        rate_cap in prop_oneof![Just(0u32), 1u32..50],
        seed in any::<u64>(),
    ) {
        let caps = format!(
            "[mitigations.caps]\nmax_fanout = {k}\nmax_depth = {d}\nmax_messages_per_cycle = {rate_cap}\ncycle = \"10s\"\n"
        );
        let model = compile(&format!("{text}\n{caps}"));
        check_run(&model, seed)?;
        check_reach_bound(&model, seed)?;
    }

    #[test]
    fn invariants_hold_with_every_boundary_mitigation(
        text in scenario(),
        true_positive in 0.0f64..=1.0,
        false_positive in 0.0f64..0.2,
        threshold in 1u32..4,
        provenance in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mitigations = format!(
            "[mitigations.validation]\ndetector = \"bernoulli\"\ntrue_positive = {true_positive}\nfalse_positive = {false_positive}\n\
             [mitigations.zero_trust]\n[mitigations.breaker]\nfailure_threshold = {threshold}\nreset_timeout = \"20s\"\n\
             [mitigations.caps]\n[mitigations.review]\ndelay = \"5s\"\nprovenance = {provenance}\n"
        );
        let model = compile(&format!("{text}\n{mitigations}"));
        check_run(&model, seed)?;
        check_reach_bound(&model, seed)?;
        let graph = graph_for(&model, seed, 0, 0);
        let metrics = Engine::new(&model).run(&model, &graph, &run_key(seed, 0, 0), false);
        prop_assert!(metrics.wrong_quarantines <= metrics.agents_quarantined);
        prop_assert!(metrics.false_trips <= metrics.breaker_trips);
        prop_assert!(metrics.agents_quarantined as u64 <= metrics.reviews, "every quarantine comes from a review");
        if metrics.t_attribute.is_some() {
            prop_assert!(metrics.agents_quarantined > metrics.wrong_quarantines);
        }
    }

    #[test]
    fn actions_go_ahead_only_as_credentials_and_the_gateway_allow(
        text in scenario(),
        (agent, extra) in access_layer(),
        seed in any::<u64>(),
    ) {
        let text = text.replace("action = true\n", &agent);
        let names = if text.contains("planner0") { ["planner0", "executor0"] } else { ["n0", "n1"] };
        let extra = extra.replace("@0", names[0]).replace("@1", names[1]);
        let model = compile(&format!("{text}\n{extra}"));
        check_run(&model, seed)?;
        check_access(&model, seed)?;
    }
}
