//! Differential test: on a plain chain (one Poisson source, a poisoned
//! feed at the head, no mitigations) the engine must reproduce, run for
//! run, what an independent hand-written simulation of that chain
//! computes from the same random streams (`benches/support/reference_chain.rs`).

mod common;

#[path = "../benches/support/reference_chain.rs"]
mod reference_chain;

use cascade::engine::{Engine, TraceKind};
use cascade::model::{Model, NO_FAULT};
use cascade::rng::run_key;
use cascade::runner::graph_for;
use proptest::prelude::*;
use reference_chain::{ChainResult, Output, ReferenceChain};

/// The engine's run metrics in the reference's terms, and its
/// containment verdict and time.
fn engine_result(
    engine: &mut Engine,
    model: &Model,
    graph: &cascade::topology::Graph,
    key: &[u8; 32],
) -> (ChainResult, bool, Option<u64>) {
    let m = engine.run(model, graph, key, true);
    let result = ChainResult {
        events: m.events,
        messages: m.messages,
        corrupted_messages: m.corrupted_messages,
        processed: m.processed,
        sojourn_total: m.sojourn_total,
        actions: m.actions,
        corrupted_actions: m.corrupted_actions,
        last_corrupt_accept: None,
    };
    (result, m.contained, m.t_contain)
}

/// Containment as docs/metrics.md defines it, from the last corrupted
/// acceptance: contained when it falls before the quiet window; the time
/// is measured from onset (0 when nothing corrupted was ever accepted).
fn containment(model: &Model, last: Option<u64>) -> (bool, Option<u64>) {
    let Some(onset) = model.onset() else { return (true, None) };
    match last {
        None => (true, Some(0)),
        Some(last) if last <= model.horizon - model.quiet_window => (true, Some(last - onset)),
        Some(_) => (false, None),
    }
}

fn agree(model: &Model, seed: u64, runs: u64) -> Vec<ChainResult> {
    let graph = graph_for(model, seed, 0, 0);
    let mut engine = Engine::new(model);
    let mut reference = ReferenceChain::new(model, &graph).keeping_outputs();
    (0..runs)
        .map(|r| {
            let key = run_key(seed, 0, r);
            let expected = reference.run(&key);
            let (contained, t_contain) = containment(model, expected.last_corrupt_accept);
            let got = engine_result(&mut engine, model, &graph, &key);
            let want = (ChainResult { last_corrupt_accept: None, ..expected }, contained, t_contain);
            assert_eq!(got, want, "{} seed {seed} run {r}: engine and reference differ", model.name);
            // Every output, in order, to the bit: time, agent, signal, corruption.
            let outputs: Vec<Output> = engine
                .trace()
                .iter()
                .filter(|row| row.kind == TraceKind::Process)
                .map(|row| Output {
                    time: row.time,
                    agent: row.agent,
                    signal: row.signal,
                    corrupted: row.root != NO_FAULT,
                })
                .collect();
            let expected_outputs = reference.outputs();
            if let Some(i) =
                (0..outputs.len().max(expected_outputs.len())).find(|&i| outputs.get(i) != expected_outputs.get(i))
            {
                panic!(
                    "{} seed {seed} run {r}: output {i} differs: engine {:?}, reference {:?}",
                    model.name,
                    outputs.get(i),
                    expected_outputs.get(i)
                );
            }
            expected
        })
        .collect()
}

#[test]
fn engine_matches_the_reference_on_procurement_bench() {
    let model = common::bundled("procurement-bench");
    let results = agree(&model, 7, 12);
    // Not vacuous: the runs carry traffic and corruption.
    assert!(results.iter().all(|r| r.processed > 10_000 && r.corrupted_messages > 1_000));
    assert!(results.iter().any(|r| r.corrupted_actions > 0));
}

/// Six agents, gains other than 1, lossy propagation on agents and
/// channels, a busy head (queues form), poisoned for `poisoned` from 5m.
fn six_agent_chain(poisoned: &str) -> Model {
    common::model(&six_agent_text(poisoned))
}

fn six_agent_text(poisoned: &str) -> String {
    let text = r#"
name = "chain-6"
horizon = "20m"
quiet_window = "2m"

[topology]
generator = { kind = "chain", n = 6 }

[topology.agent]
service = { dist = "exponential", mean = "700ms" }
gain = 1.5
propagation = 0.8
action = true

[topology.channel]
latency = { dist = "lognormal", median = "30ms", sigma = 0.8 }
propagation = 0.7

[[sources]]
id = "feed"
target = "n0"
arrival = { process = "poisson", per_second = 1.2 }
signal = { mean = 50.0, sd = 5.0 }

[[faults]]
kind = "poisoned_feed"
agent = "n0"
start = "5m"
duration = "POISONED"
shift = 12.0
"#;
    text.replace("POISONED", poisoned)
}

#[test]
fn engine_matches_the_reference_on_a_longer_lossy_chain() {
    let model = six_agent_chain("4m");
    let results = agree(&model, 3, 20);
    assert!(results.iter().all(|r| r.corrupted_messages > 0 && r.processed > 1_000));
    assert!(results.iter().all(|r| containment(&model, r.last_corrupt_accept).0), "a 4m window is contained");
}

#[test]
fn engine_matches_the_reference_when_gains_fade_the_shift() {
    // Gain 0.5 at every agent: the shift halves per hop, 12 -> 6 -> 3 ->
    // 1.5 -> 0.75 (n3's output, below a tenth of 12): n4 and n5 never see
    // corruption, however much traffic reaches them.
    let text = six_agent_text("4m").replace("gain = 1.5", "gain = 0.5");
    let results = agree(&common::model(&text), 3, 20);
    assert!(results.iter().all(|r| r.corrupted_messages > 0));
    let reached = |text: &str| {
        let model = common::model(text);
        common::runs(&model, 3, 20, 1).iter().map(|m| m.agents_reached).max().unwrap()
    };
    assert_eq!(reached(&text), 3, "n1, n2 and n3 at most");
    assert_eq!(reached(&format!("materiality = 0.0\n{text}")), 5, "without materiality the label reaches n5");
}

#[test]
fn engine_matches_the_reference_when_the_feed_stays_poisoned() {
    // Poisoned to the horizon: no run is contained.
    let model = six_agent_chain("15m");
    let results = agree(&model, 5, 10);
    assert!(results.iter().all(|r| !containment(&model, r.last_corrupt_accept).0));
}

/// A distribution as scenario text, over microseconds.
fn dist() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..300_000).prop_map(|v| format!("\"{v}us\"")),
        (1u64..800_000).prop_map(|m| format!("{{ dist = \"exponential\", mean = \"{m}us\" }}")),
        (1u64..400_000, 0.0f64..1.5)
            .prop_map(|(m, s)| format!("{{ dist = \"lognormal\", median = \"{m}us\", sigma = {s} }}")),
        (0u64..300_000, 0u64..900_000)
            .prop_map(|(a, w)| format!("{{ dist = \"uniform\", min = \"{a}us\", max = \"{}us\" }}", a + w)),
    ]
}

/// One agent's keys: service, gain, propagation, action.
fn agent() -> impl Strategy<Value = String> {
    (dist(), 0.25f64..2.0, 0.0f64..=1.0, any::<bool>()).prop_map(|(service, gain, p, action)| {
        format!("service = {service}\ngain = {gain}\npropagation = {p}\naction = {action}\n")
    })
}

/// A random plain chain as scenario text: 2-6 agents with any service
/// law, gain, propagation and action flag; channels with any latency law
/// and propagation; a Poisson source; maybe a poisoned feed at the head.
fn plain_chain() -> impl Strategy<Value = String> {
    let agents = prop::collection::vec(agent(), 2..=6);
    let channels = prop::collection::vec((dist(), 0.0f64..=1.0), 5);
    let source = (0.2f64..4.0, -50.0f64..50.0, 0.0f64..5.0);
    let fault = prop::option::of((0.0f64..1.0, 1u64..400, -20.0f64..20.0));
    (agents, channels, source, fault, 30u64..400, 1u64..100).prop_map(
        |(agents, channels, (rate, mean, sd), fault, horizon, quiet)| {
            let mut text = format!(
                "name = \"random-chain\"\nhorizon = \"{horizon}s\"\nquiet_window = \"{}s\"\n",
                quiet.min(horizon - 1)
            );
            for (i, keys) in agents.iter().enumerate() {
                text += &format!("\n[[agents]]\nid = \"a{i}\"\n{keys}");
            }
            for (i, (latency, p)) in channels.iter().take(agents.len() - 1).enumerate() {
                text += &format!(
                    "\n[[channels]]\nfrom = \"a{i}\"\nto = \"a{}\"\nlatency = {latency}\npropagation = {p}\n",
                    i + 1
                );
            }
            text += &format!(
                "\n[[sources]]\nid = \"feed\"\ntarget = \"a0\"\narrival = {{ process = \"poisson\", per_second = {rate} }}\nsignal = {{ mean = {mean}, sd = {sd} }}\n"
            );
            if let Some((at, duration, shift)) = fault {
                let start = (at * horizon as f64) as u64;
                text += &format!(
                    "\n[[faults]]\nkind = \"poisoned_feed\"\nagent = \"a0\"\nstart = \"{start}s\"\nduration = \"{duration}s\"\nshift = {shift}\n"
                );
            }
            text
        },
    )
}

proptest! {
    // A fixed seed keeps CI reproducible; to explore further, raise `cases`
    // and make the seed random locally.
    #![proptest_config(ProptestConfig {
        cases: 96,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xc4a1_2e5f),
        ..ProptestConfig::default()
    })]

    /// Any plain chain: the engine and the reference agree run for run.
    #[test]
    fn engine_matches_the_reference_on_random_chains(text in plain_chain(), seed in 0u64..1_000) {
        let model = common::model(&text);
        agree(&model, seed, 3);
    }
}
