//! Differential test: on a plain chain (one Poisson source, a poisoned
//! feed at the head, no mitigations) the engine must reproduce, run for
//! run, what an independent hand-written simulation of that chain
//! computes from the same random streams (`benches/support/reference_chain.rs`).

mod common;

#[path = "../benches/support/reference_chain.rs"]
mod reference_chain;

use cascade::engine::Engine;
use cascade::model::Model;
use cascade::rng::run_key;
use cascade::runner::graph_for;
use reference_chain::{ChainResult, ReferenceChain};

/// The engine's run metrics in the reference's terms, and its
/// containment verdict and time.
fn engine_result(
    engine: &mut Engine,
    model: &Model,
    graph: &cascade::topology::Graph,
    key: &[u8; 32],
) -> (ChainResult, bool, Option<u64>) {
    let m = engine.run(model, graph, key, false);
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
    let onset = model.onset().expect("the chain has a fault");
    match last {
        None => (true, Some(0)),
        Some(last) if last <= model.horizon - model.quiet_window => (true, Some(last - onset)),
        Some(_) => (false, None),
    }
}

fn agree(model: &Model, seed: u64, runs: u64) -> Vec<ChainResult> {
    let graph = graph_for(model, seed, 0, 0);
    let mut engine = Engine::new(model);
    let mut reference = ReferenceChain::new(model, &graph);
    (0..runs)
        .map(|r| {
            let key = run_key(seed, 0, r);
            let expected = reference.run(&key);
            let (contained, t_contain) = containment(model, expected.last_corrupt_accept);
            let got = engine_result(&mut engine, model, &graph, &key);
            let want = (ChainResult { last_corrupt_accept: None, ..expected }, contained, t_contain);
            assert_eq!(got, want, "{} seed {seed} run {r}: engine and reference differ", model.name);
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
    common::model(&text.replace("POISONED", poisoned))
}

#[test]
fn engine_matches_the_reference_on_a_longer_lossy_chain() {
    let model = six_agent_chain("4m");
    let results = agree(&model, 3, 20);
    assert!(results.iter().all(|r| r.corrupted_messages > 0 && r.processed > 1_000));
    assert!(results.iter().all(|r| containment(&model, r.last_corrupt_accept).0), "a 4m window is contained");
}

#[test]
fn engine_matches_the_reference_when_the_feed_stays_poisoned() {
    // Poisoned to the horizon: no run is contained.
    let model = six_agent_chain("15m");
    let results = agree(&model, 5, 10);
    assert!(results.iter().all(|r| !containment(&model, r.last_corrupt_accept).0));
}
