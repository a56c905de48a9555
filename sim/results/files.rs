//! The files a command writes, assembled from its results: a run's, a
//! replay's, a sweep's (whole or one shard) and a tuning's. `sweep` and
//! `merge` both assemble through [`sweep_summary_files`], so a merge of shards is
//! byte-identical to one machine's sweep.

use super::{charts, csv, report, trace, SweepInfo};
use crate::engine::Replayed;
use crate::model::Model;
use crate::paired::PairedMetric;
use crate::summary::{CheckTotals, Contained, PrevalenceSample, Summary};

/// Output files: name and bytes, in the order they are written.
pub type Files = Vec<(String, Vec<u8>)>;

/// A run's files other than the runs themselves (which stream to
/// `runs.csv` and `runs_without.csv`): `summary.csv`, `checks.csv` when
/// `model` has checks, `prevalence.csv` and its chart (with runs), and
/// with a paired comparison `paired.csv`.
pub fn run_summary_files(
    model: &Model,
    summary: &Summary,
    checks: &CheckTotals,
    curve: Vec<PrevalenceSample>,
    paired: Option<&[PairedMetric]>,
) -> Files {
    let mut files = vec![("summary.csv".to_string(), csv::summary_csv(summary))];
    if model.checks() {
        let checks = std::slice::from_ref(checks);
        files.push(("checks.csv".to_string(), csv::checks_csv(None, &model.check_names(), checks)));
    }
    files.push(("prevalence.csv".to_string(), csv::prevalence_csv(None, std::slice::from_ref(&curve))));
    if summary.runs > 0 {
        files.extend(charts::render("chart-prevalence", &charts::run_prevalence(&model.name, summary.runs, curve)));
    }
    if let Some(rows) = paired {
        files.push(("paired.csv".to_string(), csv::paired_csv(rows)));
    }
    files
}

/// A replayed run's files: `trace.csv`, `memory.csv`, its `runs.csv` row,
/// `checks.csv` when `model` has checks, and the timeline chart.
pub fn replay_files(model: &Model, replayed: &Replayed, run: u64) -> Files {
    let mut files = vec![
        ("trace.csv".to_string(), trace::trace_csv(model, &replayed.trace, &replayed.records_named)),
        ("memory.csv".to_string(), trace::memory_csv(model, &replayed.records)),
        ("runs.csv".to_string(), csv::runs_csv(&[replayed.metrics])),
    ];
    if model.checks() {
        let mut checks = CheckTotals::default();
        checks.add(&replayed.checks);
        let checks = std::slice::from_ref(&checks);
        files.push(("checks.csv".to_string(), csv::checks_csv(None, &model.check_names(), checks)));
    }
    files.extend(charts::render("timeline", &charts::timeline(model, &replayed.trace, run)));
    files
}

/// What a sweep's points came to, each slice indexed by point: the
/// summaries, the prevalence curves, the times to containment of the
/// points the CDF chart draws ([`charts::cdf_points`]) and what the
/// checks did.
#[derive(Clone, Copy, Debug)]
pub struct Summarised<'a> {
    pub summaries: &'a [Summary],
    pub curves: &'a [Vec<PrevalenceSample>],
    pub contained: &'a [Option<Contained>],
    pub checks: &'a [CheckTotals],
}

/// A whole sweep's files other than `runs.csv` (which streams):
/// `summary.csv`, `checks.csv` when the sweep has checks,
/// `prevalence.csv`, the charts and `report.html`. `sweep` and `merge`
/// both write through it, so a merge of shards is byte-identical to one
/// machine.
pub fn sweep_summary_files(title: &str, seed: u64, info: &SweepInfo, points: &Summarised) -> Files {
    let Summarised { summaries, curves, contained, checks } = *points;
    let (keys, labels) = (info.keys(), info.all_labels());
    let pareto = charts::Pareto::of(summaries);
    let figures = charts::sweep_charts(info, summaries, contained, curves, &pareto);
    let front: Vec<u64> = pareto.front.iter().map(|&i| i as u64).collect();
    let report = report::sweep_report(title, seed, info, summaries, (&pareto, &front), &figures);
    let mut files = vec![("summary.csv".to_string(), csv::sweep_summary_csv(&keys, &labels, summaries))];
    if !info.checks.is_empty() {
        files.push(("checks.csv".to_string(), csv::checks_csv(Some((&keys, &labels)), &info.checks, checks)));
    }
    files.push(("prevalence.csv".to_string(), csv::prevalence_csv(Some((&keys, &labels)), curves)));
    files.extend(figures.into_iter().flat_map(|f| f.files));
    files.push(("report.html".to_string(), report));
    files
}
