//! Monte Carlo replications in parallel, with results in run order.
//!
//! Run `r` of sweep point `p` always uses the key derived from
//! `(seed, p, r)`, whichever thread computes it; results are collected in
//! run-index order, so outputs are identical for any thread count.

pub use crate::engine::{Budget, Overrun};
use crate::engine::{Engine, Replayed};
use crate::metrics::{CheckCounts, RunMetrics};
use crate::model::{Model, Topology};
use crate::rng::{self, Stream};
use crate::sweep::PointRun;
use crate::topology::Graph;
use rayon::prelude::*;
use std::ops::{ControlFlow, Range};
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

/// Runs computed in parallel before they are handed on in run order, per
/// worker thread: what bounds memory whatever the number of runs.
const BATCH_RUNS_PER_THREAD: u64 = 1024;

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
    let mut runs = Vec::with_capacity(plan.count.min(1 << 20) as usize);
    run_plan_into(model, plan, threads, progress, &mut |run, _| {
        runs.push(run);
        ControlFlow::Continue(())
    })?;
    Ok(runs)
}

/// [`run_plan`], handing each run to `sink` in run order as batches of
/// them finish, with what each check did in it, so memory does not grow
/// with the number of runs; no run is started once `sink` breaks. On an
/// overrun, `sink` has had every run before it.
pub fn run_plan_into(
    model: &Model,
    plan: Plan,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(RunMetrics, &[CheckCounts]) -> ControlFlow<()>,
) -> Result<(), Overran> {
    let threads = if threads == 0 { 0 } else { threads.min(plan.count.max(1) as usize) };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let shared_graph = (!redraws(model)).then(|| graph_for(model, plan.seed, plan.point, 0));
    let done = AtomicU64::new(0);
    let batch = BATCH_RUNS_PER_THREAD * pool.current_num_threads() as u64;
    let end = plan.first + plan.count;
    let mut start = plan.first;
    while start < end {
        let runs = start..end.min(start.saturating_add(batch));
        let results = pool.install(|| run_batch(model, plan, runs.clone(), shared_graph.as_ref(), &done, progress));
        // Every run before the first overrun was computed: the first error
        // in run order is that overrun, never a skipped run.
        for (result, run) in results.into_iter().zip(runs.clone()) {
            let overran = |overrun: Option<Overrun>| Overran {
                point: plan.point,
                run,
                overrun: overrun.expect("runs are skipped only past an overrun"),
            };
            let (metrics, checks) = result.map_err(overran)?;
            if sink(metrics, &checks).is_break() {
                return Ok(());
            }
        }
        start = runs.end;
    }
    Ok(())
}

/// A run's metrics and what each check did in it.
type Finished = (RunMetrics, Vec<CheckCounts>);

/// The replications `runs` of `plan`, in parallel on the current pool, in
/// run order: a run's metrics and check counts, its overrun, or `None`
/// for a run skipped past a known overrun.
fn run_batch(
    model: &Model,
    plan: Plan,
    runs: Range<u64>,
    shared_graph: Option<&Graph>,
    done: &AtomicU64,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<Result<Finished, Option<Overrun>>> {
    // The lowest replication known to overrun; runs past it are skipped.
    let first_overrun = AtomicU64::new(u64::MAX);
    runs.into_par_iter()
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
                let graph = match shared_graph {
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
                Ok((metrics, engine.check_counts().to_vec()))
            },
        )
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
    let mut results = Vec::with_capacity((slice.end - slice.start).min(1 << 20) as usize);
    let sweep = Sweep { models, runs, seed, common, threads, budget };
    run_points_into(&sweep, slice, progress, &mut |point, run, _| {
        results.push((point, run));
        ControlFlow::Continue(())
    })?;
    Ok(results)
}

/// What a sweep runs: its points' models, `runs` replications each, from
/// `seed`, on common random numbers or not, on `threads` threads, each run
/// held to `budget`.
#[derive(Clone, Copy, Debug)]
pub struct Sweep<'a> {
    pub models: &'a [Model],
    pub runs: u64,
    pub seed: u64,
    pub common: bool,
    pub threads: usize,
    pub budget: Budget,
}

/// What [`run_points_into`] hands each run to: its point, its metrics and
/// what its checks did; it breaks to stop the sweep.
pub type PointSink<'a> = dyn FnMut(u64, RunMetrics, &[CheckCounts]) -> ControlFlow<()> + 'a;

/// [`run_points`], handing each (point, run) and what the run's checks
/// did to `sink` in index order as
/// batches finish, so memory does not grow with the number of runs; no
/// run is started once `sink` breaks.
pub fn run_points_into(
    sweep: &Sweep,
    slice: Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut PointSink,
) -> Result<(), Overran> {
    let (runs, mut done_before) = (sweep.runs, 0);
    for (point, model) in sweep.models.iter().enumerate() {
        let point = point as u64;
        let (start, end) = (slice.start.max(point * runs), slice.end.min((point + 1) * runs));
        if start >= end {
            continue;
        }
        let first = start - point * runs;
        let plan = Plan {
            seed: sweep.seed,
            point: if sweep.common { 0 } else { point },
            first,
            count: end - start,
            budget: sweep.budget,
        };
        let progress = |done| progress(done_before + done);
        let mut broke = false;
        run_plan_into(model, plan, sweep.threads, &progress, &mut |run, checks| {
            let flow = sink(point, run, checks);
            broke = flow.is_break();
            flow
        })
        .map_err(|overran| Overran { point, ..overran })?;
        if broke {
            return Ok(());
        }
        done_before += end - start;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = r#"
        name = "chain"
        horizon = "1m"
        quiet_window = "10s"
        [[agents]]
        id = "A"
        [[agents]]
        id = "B"
        [[channels]]
        from = "A"
        to = "B"
        latency = "5ms"
        [[sources]]
        id = "feed"
        target = "A"
        arrival = { process = "poisson", per_second = 0.2 }
    "#;

    /// Runs reach the sink in run order across batches; once it breaks, no
    /// further batch is started.
    #[test]
    fn batches_hand_runs_on_in_order_and_stop_when_the_sink_breaks() {
        let model = crate::scenario::parse("chain.toml", CHAIN).unwrap();
        let count = 2 * BATCH_RUNS_PER_THREAD * 2 + 7;
        let all = run_plan(&model, Plan::new(3, count), 2, &|_| {}).unwrap();
        assert_eq!(all.iter().map(|m| m.run).collect::<Vec<_>>(), (0..count).collect::<Vec<_>>());
        assert_eq!(all, run_plan(&model, Plan::new(3, count), 1, &|_| {}).unwrap(), "any thread count");
        let (mut seen, done) = (Vec::new(), AtomicU64::new(0));
        let progress = |d: u64| {
            done.fetch_max(d, Ordering::Relaxed);
        };
        run_plan_into(&model, Plan::new(3, count), 2, &progress, &mut |m, _| {
            seen.push(m);
            if m.run == 1500 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(seen[..], all[..1501]);
        assert_eq!(done.load(Ordering::Relaxed), 2 * BATCH_RUNS_PER_THREAD, "the first batch only");
    }
}
