//! `cascade tune`: the cheapest setting on a grid that meets every
//! target, refined between neighbours on numeric keys.

use super::{overran, write, Common, Progress, Scenario};
use crate::error::Result;
use crate::metrics::Metric;
use crate::results::{charts, csv};
use crate::runner::{self, Plan};
use crate::summary::{self, Summary};
use crate::sweep::{self, Axis};
use crate::tune::{self as targets, Target};
use std::path::PathBuf;
use toml::Value;

/// What `tune` takes.
#[derive(Clone, Debug)]
pub struct TuneOptions {
    pub common: Common,
    /// Replications per setting.
    pub runs: u64,
    /// Axes added to (or replacing those of) the scenario's `[sweep]`.
    pub set: Vec<Axis>,
    pub targets: Vec<Target>,
    /// The cost to minimise (default: the first of the catalogue's costs
    /// that is non-zero at some setting of the grid).
    pub minimize: Option<&'static Metric>,
    /// Rounds of refinement between the best setting and its neighbours.
    pub refine: u32,
}

impl Default for TuneOptions {
    /// 200 replications per setting, two rounds of refinement, no targets.
    fn default() -> TuneOptions {
        TuneOptions {
            common: Common::default(),
            runs: 200,
            set: Vec::new(),
            targets: Vec::new(),
            minimize: None,
            refine: 2,
        }
    }
}

/// Every setting tried, in order, with its summary, and the cheapest one
/// that meets every target.
#[derive(Clone, Debug)]
pub struct TuneOutcome {
    pub dir: PathBuf,
    pub keys: Vec<String>,
    pub settings: Vec<Vec<Value>>,
    pub summaries: Vec<Summary>,
    pub cost: &'static Metric,
    /// Index into `settings`; `None` when no setting meets the targets.
    pub best: Option<usize>,
}

/// Evaluates the grid, refines around the cheapest setting that meets the
/// targets, and writes `tune.csv`.
pub fn tune(scenario: &Scenario, options: &TuneOptions, progress: &dyn Progress) -> Result<TuneOutcome> {
    let grid = scenario.grid(&options.set)?;
    // Each setting's runs are summarised before the next one's run.
    crate::limits::runs("--runs", options.runs, 1, 1)?;
    options.common.admit(scenario, &[])?;
    let dir = options.common.out_dir(&scenario.model, "tune", "tune")?;
    let keys: Vec<String> = grid.axes.iter().map(|a| a.key.clone()).collect();
    let mut settings: Vec<Vec<Value>> =
        (0..grid.points()).map(|p| grid.values(p).into_iter().cloned().collect()).collect();
    let mut planned = settings.len() as u64 * options.runs;
    progress.planned(planned);
    let mut summaries = evaluate(scenario, options, &keys, &settings, 0, progress)?;
    let cost = options.minimize.unwrap_or_else(|| charts::cost_metric(&summaries));
    for _ in 0..options.refine {
        let Some(best) = targets::cheapest(&summaries, &options.targets, cost.name) else { break };
        let next = targets::refinements(&settings[best], &settings);
        if next.is_empty() {
            break;
        }
        let done = planned;
        planned += next.len() as u64 * options.runs;
        progress.planned(planned);
        summaries.extend(evaluate(scenario, options, &keys, &next, done, progress)?);
        settings.extend(next);
    }
    let best = targets::cheapest(&summaries, &options.targets, cost.name);
    let key_names: Vec<&str> = keys.iter().map(String::as_str).collect();
    let files =
        vec![("tune.csv".to_string(), csv::tune_csv(&key_names, &settings, &summaries, &options.targets, cost.name))];
    write(&dir, &files, &scenario.manifest("tune", &options.common, (0, options.runs), &[], &files))?;
    Ok(TuneOutcome { dir, keys, settings, summaries, cost, best })
}

/// Each setting's summary on the same random streams; `done` runs were
/// finished before these.
fn evaluate(
    scenario: &Scenario,
    options: &TuneOptions,
    keys: &[String],
    settings: &[Vec<Value>],
    done: u64,
    progress: &dyn Progress,
) -> Result<Vec<Summary>> {
    let mut summaries = Vec::with_capacity(settings.len());
    for (i, values) in settings.iter().enumerate() {
        let assignment: Vec<(&str, &Value)> = keys.iter().map(String::as_str).zip(values).collect();
        let model = sweep::compile_assignment(&scenario.label, &scenario.document, &assignment, "a tuned setting")?;
        options.common.admit(scenario, std::slice::from_ref(&model))?;
        let plan = Plan { budget: options.common.budget, ..Plan::new(options.common.seed, options.runs) };
        let before = done + i as u64 * options.runs;
        let runs = runner::run_plan(&model, plan, options.common.threads, &|d| progress.done(before + d))
            .map_err(|o| overran(&scenario.label, o))?;
        summaries.push(summary::summarize(&runs));
    }
    Ok(summaries)
}
