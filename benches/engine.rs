//! Engine throughput on the bundled scenarios: one replication per
//! iteration, graph built outside the timed loop, engine reused as in a
//! real sweep. Criterion reports time per run and events/s (throughput is
//! the run's event count). Figures and the machine they ran on are in
//! docs/performance.md.
//!
//! The `floor` group runs `procurement-bench` through a hand-written
//! simulation of just that chain (`support/reference_chain.rs`, the same
//! queue, streams and samplers, none of the engine's generality): the
//! engine cannot be faster than that on the same machine, and the gap is
//! what its generality costs.

// Output recording is for the differential test only.
#[path = "support/reference_chain.rs"]
#[allow(dead_code)]
mod reference_chain;

use cascade::engine::Engine;
use cascade::model::Model;
use cascade::rng::run_key;
use cascade::runner::graph_for;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn bundled(name: &str) -> Model {
    let scenario = cascade::bundled::find(name).expect("bundled scenario");
    cascade::scenario::parse(name, scenario.text).expect("bundled scenarios are valid")
}

fn runs(c: &mut Criterion) {
    let mut group = c.benchmark_group("run");
    group.sample_size(20).measurement_time(Duration::from_secs(6)).warm_up_time(Duration::from_secs(1));
    for name in ["procurement-bench", "procurement", "mesh-10k", "mesh-ic-100k"] {
        let model = bundled(name);
        let graph = graph_for(&model, 1, 0, 0);
        let mut engine = Engine::new(&model);
        // Mean events per run over a few replications, for events/s.
        let sample: u64 = (0..8).map(|r| engine.run(&model, &graph, &run_key(1, 0, r), false).events).sum();
        group.throughput(Throughput::Elements(sample / 8));
        let mut replication = 0u64;
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                replication = (replication + 1) % 8;
                black_box(engine.run(&model, &graph, &run_key(1, 0, replication), false))
            })
        });
    }
    group.finish();
}

fn floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("floor");
    group.sample_size(20).measurement_time(Duration::from_secs(6)).warm_up_time(Duration::from_secs(1));
    let model = bundled("procurement-bench");
    let graph = graph_for(&model, 1, 0, 0);
    let mut chain = reference_chain::ReferenceChain::new(&model, &graph);
    let sample: u64 = (0..8).map(|r| chain.run(&run_key(1, 0, r)).events).sum();
    group.throughput(Throughput::Elements(sample / 8));
    let mut replication = 0u64;
    group.bench_function("procurement-bench-reference-chain", |b| {
        b.iter(|| {
            replication = (replication + 1) % 8;
            black_box(chain.run(&run_key(1, 0, replication)))
        })
    });
    group.finish();
}

fn graphs(c: &mut Criterion) {
    let mut group = c.benchmark_group("graph");
    group.sample_size(10).measurement_time(Duration::from_secs(5));
    let model = bundled("mesh-ic-100k");
    group.bench_function("erdos_renyi_100k_degree_4", |b| b.iter(|| black_box(graph_for(&model, 1, 0, 0))));
    group.finish();
}

criterion_group!(benches, runs, floor, graphs);
criterion_main!(benches);
