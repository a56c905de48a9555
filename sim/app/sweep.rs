//! `cascade sweep`: a grid of scenario values x R replications on common
//! random numbers, whole or one shard of it.

use super::{overran, write, Common, Progress, Scenario};
use crate::error::Result;
use crate::results::{files, scenario_hash, SweepInfo};
use crate::runner;
use crate::summary::Summary;
use crate::sweep::{self, Axis, Shard};
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
/// sweep, `runs.jsonl` and `runs.csv` for a shard.
pub fn sweep(scenario: &Scenario, options: &SweepOptions, progress: &dyn Progress) -> Result<SweepOutcome> {
    let grid = scenario.grid(&options.set)?;
    let total = crate::limits::runs("--runs", options.runs, grid.points(), 1)?;
    let models = scenario.points(&grid)?;
    options.common.admit(scenario, &models)?;
    let slice = options.shard.map_or(0..total, |s| s.slice(total));
    let leaf = options.shard.map_or("sweep".to_string(), |s| format!("sweep-shard-{}-of-{}", s.index, s.count));
    let dir = options.common.out_dir(&scenario.model, "sweep", &leaf)?;
    progress.planned(slice.end - slice.start);
    let common = !options.independent;
    let (seed, threads) = (options.common.seed, options.common.threads);
    let budget = options.common.budget;
    let results = runner::run_points(&models, options.runs, seed, common, slice.clone(), threads, budget, &|done| {
        progress.done(done)
    })
    .map_err(|o| overran(&scenario.label, o))?;
    let mut info = SweepInfo::of(&grid, options.runs, common, options.shard);
    info.agents = models.iter().map(|m| m.agents.len() as u32).collect();
    info.horizons = models.iter().map(|m| m.horizon).collect();
    let per_point = sweep::per_point(info.points, &results);
    let summaries = sweep::summaries(&per_point);
    let files = match options.shard {
        Some(_) => files::shard_files(&info, &results),
        None => files::sweep_files(&scenario.model.name, seed, &info, &results, &per_point, &summaries),
    };
    info.runs_sha256 = options
        .shard
        .and_then(|_| files.iter().find(|(name, _)| name == "runs.jsonl"))
        .map(|(_, bytes)| scenario_hash(bytes));
    let mut manifest = scenario.manifest("sweep", &options.common, slice.start, slice.end - slice.start, &files);
    manifest.sweep = Some(info.clone());
    write(&dir, &files, &manifest)?;
    Ok(SweepOutcome { dir, info, summaries })
}
