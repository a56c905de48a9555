//! Monte Carlo replications in parallel, with results in run order.
//!
//! Run `r` of sweep point `p` always uses the key derived from
//! `(seed, p, r)`, whichever thread computes it; results are collected in
//! run-index order, so outputs are identical for any thread count.

pub use crate::engine::{Budget, Overrun};
use crate::engine::{Engine, Replayed};
use crate::metrics::RunMetrics;
use crate::model::{Model, Topology};
use crate::rng::{self, Stream};
use crate::sweep::PointRun;
use crate::topology::Graph;
use rayon::prelude::*;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which runs to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub seed: u64,
    pub point: u64,
    /// Replications `first .. first + count`.
    pub first: u64,
    pub count: u64,
    /// What each run may use.
    pub budget: Budget,
}

impl Plan {
    /// Replications `0 .. count` of point 0 from `seed`, on the default budget.
    pub fn new(seed: u64, count: u64) -> Plan {
        Plan { seed, point: 0, first: 0, count, budget: Budget::default() }
    }
}

/// A run that used its whole budget before its horizon: which one (its
/// point as the plan numbers it, and its replication) and what it used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overran {
    pub point: u64,
    pub run: u64,
    pub overrun: Overrun,
}

/// The replication index used for a topology that is fixed across replications.
const FIXED_TOPOLOGY_REPLICATION: u64 = u64::MAX;

/// Whether each replication draws its own graph.
pub fn redraws(model: &Model) -> bool {
    matches!(model.topology, Topology::Generated { redraw: true, .. })
}

/// The graph of replication `replication` (the shared one when the topology is fixed).
pub fn graph_for(model: &Model, seed: u64, point: u64, replication: u64) -> Graph {
    let mut graph = Graph::default();
    draw_graph(&mut graph, model, seed, point, replication);
    graph
}

fn draw_graph(graph: &mut Graph, model: &Model, seed: u64, point: u64, replication: u64) {
    let replication = if redraws(model) { replication } else { FIXED_TOPOLOGY_REPLICATION };
    let mut topology_rng = rng::stream(&rng::run_key(seed, point, replication), Stream::Topology);
    graph.rebuild(model, &mut topology_rng);
}

/// One run, alone, with its trace (for `replay`), held to `budget`.
pub fn replay(
    model: &Model,
    plan_seed: u64,
    point: u64,
    replication: u64,
    budget: Budget,
) -> Result<Replayed, Overran> {
    let graph = graph_for(model, plan_seed, point, replication);
    let mut engine = Engine::new(model);
    engine.set_budget(budget);
    let mut metrics = engine.run(model, &graph, &rng::run_key(plan_seed, point, replication), true);
    if let Some(overrun) = engine.overrun() {
        return Err(Overran { point, run: replication, overrun });
    }
    metrics.run = replication;
    Ok(engine.replayed(metrics))
}

/// Runs the plan on `threads` worker threads (0 = all cores; never more
/// threads than runs), calling `progress` with the number of runs
/// finished so far. When runs use their whole budget, the plan stops
/// starting runs past the first of them, and names it: the first in run
/// order, whatever the thread count (every run before it is computed).
pub fn run_plan(
    model: &Model,
    plan: Plan,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<RunMetrics>, Overran> {
    let threads = if threads == 0 { 0 } else { threads.min(plan.count.max(1) as usize) };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let shared_graph = (!redraws(model)).then(|| graph_for(model, plan.seed, plan.point, 0));
    let done = AtomicU64::new(0);
    // The lowest replication known to overrun; runs past it are skipped.
    let first_overrun = AtomicU64::new(u64::MAX);
    let results: Vec<Result<RunMetrics, Option<Overrun>>> = pool.install(|| {
        (plan.first..plan.first + plan.count)
            .into_par_iter()
            .map_init(
                || {
                    let mut engine = Engine::new(model);
                    engine.set_budget(plan.budget);
                    (engine, Graph::default())
                },
                |(engine, own_graph), replication| {
                    if replication > first_overrun.load(Ordering::Relaxed) {
                        return Err(None);
                    }
                    let graph = match &shared_graph {
                        Some(graph) => graph,
                        None => {
                            draw_graph(own_graph, model, plan.seed, plan.point, replication);
                            &*own_graph
                        }
                    };
                    let key = rng::run_key(plan.seed, plan.point, replication);
                    let mut metrics = engine.run(model, graph, &key, false);
                    if let Some(overrun) = engine.overrun() {
                        first_overrun.fetch_min(replication, Ordering::Relaxed);
                        return Err(Some(overrun));
                    }
                    metrics.run = replication;
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                    Ok(metrics)
                },
            )
            .collect()
    });
    // Every run before the first overrun was computed: the first error in
    // run order is that overrun, never a skipped run.
    results
        .into_iter()
        .zip(plan.first..)
        .map(|(result, run)| {
            result.map_err(|overrun| Overran {
                point: plan.point,
                run,
                overrun: overrun.expect("runs are skipped only past an overrun"),
            })
        })
        .collect()
}

/// Runs the flat indices `slice` of a sweep's `models.len()` points x `runs`
/// replications on `threads` threads, in index order. Run `r` of point `p`
/// uses the key of `(seed, 0, r)` (common random numbers), or of
/// `(seed, p, r)` when `!common`; each run held to `budget`. An overrun
/// names the sweep's point.
#[allow(clippy::too_many_arguments)]
pub fn run_points(
    models: &[Model],
    runs: u64,
    seed: u64,
    common: bool,
    slice: Range<u64>,
    threads: usize,
    budget: Budget,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<PointRun>, Overran> {
    let mut results = Vec::with_capacity((slice.end - slice.start) as usize);
    for (point, model) in models.iter().enumerate() {
        let point = point as u64;
        let (start, end) = (slice.start.max(point * runs), slice.end.min((point + 1) * runs));
        if start >= end {
            continue;
        }
        let first = start - point * runs;
        let plan = Plan { seed, point: if common { 0 } else { point }, first, count: end - start, budget };
        let done_before = results.len() as u64;
        let batch = run_plan(model, plan, threads, &|done| progress(done_before + done))
            .map_err(|overran| Overran { point, ..overran })?;
        results.extend(batch.into_iter().map(|m| (point, m)));
    }
    Ok(results)
}
