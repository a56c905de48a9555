//! `cascade run`: N replications of a scenario, optionally paired with the
//! same replications with some mitigations off.

use super::{write, Common, Progress, Scenario};
use crate::error::Result;
use crate::model::Model;
use crate::paired::{self, PairedMetric};
use crate::results::files;
use crate::runner::{self, Plan};
use crate::summary::{self, Summary};
use std::path::PathBuf;

/// What `run` takes.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub common: Common,
    /// Replications.
    pub runs: u64,
    /// Mitigations to turn off for a paired comparison (empty: none).
    pub paired_off: Vec<String>,
}

impl Default for RunOptions {
    /// 1,000 replications, no paired comparison.
    fn default() -> RunOptions {
        RunOptions { common: Common::default(), runs: 1000, paired_off: Vec::new() }
    }
}

/// What `run` computed and where it wrote it.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub summary: Summary,
    /// With `paired_off`: each metric with and without, and the paired difference.
    pub paired: Option<Vec<PairedMetric>>,
}

/// Runs the replications, writes `runs.csv`, `summary.csv` (and the paired
/// files) with `manifest.json`, and returns the summary.
pub fn run(scenario: &Scenario, options: &RunOptions, progress: &dyn Progress) -> Result<RunOutcome> {
    let model = &scenario.model;
    let copies = if options.paired_off.is_empty() { 1 } else { 2 };
    crate::limits::runs("--runs", options.runs, 1, copies)?;
    options.common.admit(scenario, std::slice::from_ref(model))?;
    let dir = options.common.out_dir(model, "run", "run")?;
    let without = if options.paired_off.is_empty() {
        None
    } else {
        let mitigations = model.mitigations.without(&options.paired_off)?;
        Some(Model { mitigations, ..model.clone() })
    };
    let plan = Plan { budget: options.common.budget, ..Plan::new(options.common.seed, options.runs) };
    let threads = options.common.threads;
    progress.planned(options.runs * copies);
    let overran = |o| super::overran(&scenario.label, o);
    let runs = runner::run_plan(model, plan, threads, &|done| progress.done(done)).map_err(overran)?;
    let without = without
        .map(|m| runner::run_plan(&m, plan, threads, &|done| progress.done(options.runs + done)))
        .transpose()
        .map_err(overran)?;
    let summary = summary::summarize(&runs);
    let paired = without.as_ref().map(|without| paired::compare(&runs, without));
    let files = files::run_files(&model.name, &runs, &summary, without.as_deref().zip(paired.as_deref()));
    write(&dir, &files, &scenario.manifest("run", &options.common, 0, options.runs, &files))?;
    Ok(RunOutcome { dir, summary, paired })
}
