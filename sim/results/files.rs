//! The files a command writes, assembled from its results: a run's, a
//! replay's, a sweep's (whole or one shard) and a tuning's. `sweep` and
//! `merge` both assemble through [`sweep_files`], so a merge of shards is
//! byte-identical to one machine's sweep.

use super::{charts, csv, jsonl, report, trace, SweepInfo};
use crate::engine::Replayed;
use crate::metrics::RunMetrics;
use crate::model::Model;
use crate::paired::PairedMetric;
use crate::summary::{self, Summary};
use crate::sweep::PointRun;

/// Output files: name and bytes, in the order they are written.
pub type Files = Vec<(String, Vec<u8>)>;

/// A run's files: `runs.csv`, `summary.csv`, `prevalence.csv` and its
/// chart, and with a paired comparison the other variant's runs
/// (`runs_without.csv`) and the paired differences (`paired.csv`).
pub fn run_files(
    scenario: &str,
    runs: &[RunMetrics],
    summary: &Summary,
    paired: Option<(&[RunMetrics], &[PairedMetric])>,
) -> Files {
    let curve = summary::prevalence(runs);
    let mut files = vec![
        ("runs.csv".to_string(), csv::runs_csv(runs)),
        ("summary.csv".to_string(), csv::summary_csv(summary)),
        ("prevalence.csv".to_string(), csv::prevalence_csv(None, std::slice::from_ref(&curve))),
    ];
    if !runs.is_empty() {
        files.extend(charts::render("chart-prevalence", &charts::run_prevalence(scenario, runs.len() as u64, curve)));
    }
    if let Some((without, rows)) = paired {
        files.push(("runs_without.csv".to_string(), csv::runs_csv(without)));
        files.push(("paired.csv".to_string(), csv::paired_csv(rows)));
    }
    files
}

/// A replayed run's files: `trace.csv`, `memory.csv`, its `runs.csv` row and
/// the timeline chart.
pub fn replay_files(model: &Model, replayed: &Replayed, run: u64) -> Files {
    let mut files = vec![
        ("trace.csv".to_string(), trace::trace_csv(model, &replayed.trace, &replayed.records_named)),
        ("memory.csv".to_string(), trace::memory_csv(model, &replayed.records)),
        ("runs.csv".to_string(), csv::runs_csv(&[replayed.metrics])),
    ];
    files.extend(charts::render("timeline", &charts::timeline(model, &replayed.trace, run)));
    files
}

/// One shard's files: its exact results (`runs.jsonl`, for `merge`) and its
/// rows of the sweep's `runs.csv`.
pub fn shard_files(info: &SweepInfo, results: &[PointRun]) -> Files {
    vec![
        ("runs.jsonl".to_string(), jsonl::shard_jsonl(results)),
        ("runs.csv".to_string(), csv::sweep_runs_csv(&info.keys(), &info.all_labels(), results)),
    ]
}

/// A whole sweep's files, from its grid, its runs in (point, replication)
/// order, and their grouping and summaries per point: `runs.csv`, `summary.csv`, the charts and
/// `report.html` (`title` and `seed` head the report). `sweep` and `merge`
/// both write through here, so a merge of shards is byte-identical to one
/// machine.
pub fn sweep_files(
    title: &str,
    seed: u64,
    info: &SweepInfo,
    results: &[PointRun],
    per_point: &[Vec<RunMetrics>],
    summaries: &[Summary],
) -> Files {
    let (keys, labels) = (info.keys(), info.all_labels());
    let pareto = charts::Pareto::of(summaries);
    let curves: Vec<_> = per_point.iter().map(|runs| summary::prevalence(runs)).collect();
    let figures = charts::sweep_charts(info, summaries, per_point, &curves, &pareto);
    let front: Vec<u64> = pareto.front.iter().map(|&i| i as u64).collect();
    let report = report::sweep_report(title, seed, info, summaries, (&pareto, &front), &figures);
    let mut files = vec![
        ("runs.csv".to_string(), csv::sweep_runs_csv(&keys, &labels, results)),
        ("summary.csv".to_string(), csv::sweep_summary_csv(&keys, &labels, summaries)),
        ("prevalence.csv".to_string(), csv::prevalence_csv(Some((&keys, &labels)), &curves)),
    ];
    files.extend(figures.into_iter().flat_map(|f| f.files));
    files.push(("report.html".to_string(), report));
    files
}
