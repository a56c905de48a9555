//! `cascade sweep`: a grid of scenario values x R replications on common
//! random numbers, whole or one shard of it.

use super::stream::{self, summarise_points, PointSpill, Stopped, SPILL};
use super::{Common, Progress, Scenario};
use crate::error::{Error, Result};
use crate::metrics::{CheckCounts, RunMetrics};
use crate::results::{charts, files, jsonl::ShardJsonl, Staging, SweepInfo};
use crate::runner;
use crate::summary::{CheckTotals, Summary};
use crate::sweep::{Axis, Shard};
use std::io::Write;
use std::ops::Range;
use std::path::PathBuf;

/// What `sweep` takes.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub common: Common,
    /// Replications per point.
    pub runs: u64,
    /// Axes added to (or replacing those of) the scenario's `[sweep]`.
    pub set: Vec<Axis>,
    /// Compute only this slice of the (point, replication) space.
    pub shard: Option<Shard>,
    /// Each point on its own random streams instead of common random numbers.
    pub independent: bool,
}

impl Default for SweepOptions {
    /// 200 replications per point, the whole grid, common random numbers.
    fn default() -> SweepOptions {
        SweepOptions { common: Common::default(), runs: 200, set: Vec::new(), shard: None, independent: false }
    }
}

/// What `sweep` computed and where it wrote it.
#[derive(Clone, Debug)]
pub struct SweepOutcome {
    pub dir: PathBuf,
    pub info: SweepInfo,
    /// Each point's summary (of no runs, for points outside a shard).
    pub summaries: Vec<Summary>,
}

/// Runs the grid (or the shard's slice of it) and writes the sweep's
/// files: `runs.csv`, `summary.csv`, charts and `report.html` for a whole
/// sweep, `runs.jsonl` and `runs.csv` for a shard. Runs stream into the
/// staging directory as they finish, and each point is summarised from a
/// spill in two passes, so memory does not grow with the number of runs.
pub fn sweep(scenario: &Scenario, options: &SweepOptions, progress: &dyn Progress) -> Result<SweepOutcome> {
    let grid = scenario.grid(&options.set)?;
    let total = crate::limits::streamed_runs("--runs", options.runs, grid.points(), 1)?;
    let models = scenario.points(&grid)?;
    options.common.admit(scenario, &models)?;
    let slice = options.shard.map_or(0..total, |s| s.slice(total));
    let leaf = options.shard.map_or("sweep".to_string(), |s| format!("sweep-shard-{}-of-{}", s.index, s.count));
    let dir = options.common.out_dir(&scenario.model, "sweep", &leaf)?;
    progress.planned(slice.end - slice.start);
    let common = !options.independent;
    let (seed, threads, budget) = (options.common.seed, options.common.threads, options.common.budget);
    let mut info = SweepInfo::of(&grid, options.runs, common, options.shard);
    info.agents = models.iter().map(|m| m.agents.len() as u32).collect();
    info.horizons = models.iter().map(|m| m.horizon).collect();
    info.checks = same_checks(&models).map_err(|e| e.in_file(scenario.label.as_str()))?;
    let io = |e| Error::io(&dir, e);
    let staging = Staging::new(&dir).map_err(io)?;
    let plan = runner::Sweep { models: &models, runs: options.runs, seed, common, threads, budget };
    let streamed = stream_points(&staging, &plan, slice.clone(), &info, options.shard.is_some(), progress)
        .map_err(|e| e.into_error(&scenario.label, &dir))?;
    let drawn = if options.shard.is_some() { Vec::new() } else { charts::cdf_points(&info) };
    let (summaries, curves, contained) = summarise_points(&staging, &streamed.points, &drawn).map_err(io)?;
    let summarised =
        files::Summarised { summaries: &summaries, curves: &curves, contained: &contained, checks: &streamed.checks };
    staging.remove(SPILL).map_err(io)?;
    info.runs_sha256 = streamed.digest;
    let (names, files): (&[&str], _) = match options.shard {
        Some(_) => (&["runs.jsonl", "runs.csv"], Vec::new()),
        None => {
            let title = &scenario.model.name;
            (&["runs.csv"], files::sweep_summary_files(title, seed, &info, &summarised))
        }
    };
    let mut manifest =
        scenario.manifest("sweep", &options.common, (slice.start, slice.end - slice.start), names, &files);
    manifest.sweep = Some(info.clone());
    staging.finish(&files, &manifest).map_err(io)?;
    Ok(SweepOutcome { dir, info, summaries })
}

/// The checks of a sweep's points ([`crate::model::Model::check_names`]),
/// which must be the same at every point for `checks.csv` to line up.
fn same_checks(models: &[crate::model::Model]) -> Result<Vec<(u32, String)>> {
    let first = models[0].check_names();
    match models.iter().position(|m| m.check_names() != first) {
        None => Ok(first),
        Some(point) => {
            let names = |checks: Vec<(u32, String)>| checks.into_iter().map(|(_, n)| n).collect::<Vec<_>>().join(", ");
            let (here, there) = (names(first), names(models[point].check_names()));
            let differs = format!("point {point} has checks [{there}], point 0 has [{here}]; a sweep needs the same checks (agents with a check) at every point");
            Err(Error::key("sweep", differs))
        }
    }
}

/// What streaming a sweep's runs left: each point's bytes of the spill
/// (empty for points outside a shard), what each point's checks did, and
/// a shard's `runs.jsonl` digest.
struct Streamed {
    points: Vec<Range<u64>>,
    checks: Vec<CheckTotals>,
    digest: Option<String>,
}

/// Runs `slice` of the sweep, streaming each run in order to `runs.csv`,
/// the spill and, for a shard, `runs.jsonl`.
fn stream_points(
    staging: &Staging,
    plan: &runner::Sweep,
    slice: Range<u64>,
    info: &SweepInfo,
    shard: bool,
    progress: &dyn Progress,
) -> std::result::Result<Streamed, Stopped> {
    let mut sink = PointSpill::create(staging, info)?;
    let mut jsonl = if shard { Some(ShardJsonl::new(staging.create("runs.jsonl")?)) } else { None };
    let mut failed = None;
    let mut checks = vec![CheckTotals::default(); info.points as usize];
    let mut write = |point: u64, m: &RunMetrics, counts: &[CheckCounts]| -> std::io::Result<()> {
        checks[point as usize].add(counts);
        sink.write(point, m)?;
        match &mut jsonl {
            Some(jsonl) => jsonl.write(point, m, counts),
            None => Ok(()),
        }
    };
    runner::run_points_into(plan, slice, &|done| progress.done(done), &mut |point, m, counts| {
        stream::go_on(&mut failed, write(point, &m, counts))
    })
    .map_err(Stopped::Overran)?;
    if let Some(e) = failed {
        return Err(Stopped::Io(e));
    }
    let points = sink.finish()?;
    let digest = match jsonl {
        None => None,
        Some(jsonl) => {
            let (mut out, digest) = jsonl.finish();
            out.flush()?;
            Some(digest)
        }
    };
    Ok(Streamed { points, checks, digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_needs_the_same_checks_at_every_point() {
        let model = Scenario::resolve("coding-agents").unwrap().model;
        let names = vec![(2, "lint".to_string()), (3, "ci".to_string()), (4, "reviewers".to_string())];
        assert_eq!(same_checks(std::slice::from_ref(&model)).unwrap(), names);
        let mut fewer = model.clone();
        fewer.agents[3].check = None;
        assert_eq!(same_checks(&[model.clone(), model.clone()]).unwrap(), names);
        let e = same_checks(&[model.clone(), model, fewer]).unwrap_err().in_file("s.toml").to_string();
        assert_eq!(e, "s.toml: sweep: point 2 has checks [lint, reviewers], point 0 has [lint, ci, reviewers]; a sweep needs the same checks (agents with a check) at every point");
    }
}
