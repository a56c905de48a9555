//! `cascade run`: N replications of a scenario, optionally paired with the
//! same replications with some mitigations off.

use super::stream::{self, Stopped};
use super::{Common, Progress, Scenario};
use crate::error::{Error, Result};
use crate::metrics::RunMetrics;
use crate::model::Model;
use crate::paired::{self, PairedMetric};
use crate::results::{self, csv::RunsCsv, files, Staging};
use crate::runner::{self, Plan};
use crate::summary::{self, CheckTotals, Summary};
use std::io::Write;
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
    /// What each check did, over the runs (with the scenario's mitigations).
    pub checks: CheckTotals,
    /// With `paired_off`: each metric with and without, and the paired difference.
    pub paired: Option<Vec<PairedMetric>>,
}

/// Runs the replications, streaming `runs.csv` (and `runs_without.csv`)
/// into the staging directory as they finish, writes `summary.csv` (and the
/// paired files) with `manifest.json`, and returns the summary. Memory does
/// not grow with the number of runs: the summaries read the runs back from
/// a spill file ([`crate::results::spill`]) in two passes.
pub fn run(scenario: &Scenario, options: &RunOptions, progress: &dyn Progress) -> Result<RunOutcome> {
    let model = &scenario.model;
    let copies = if options.paired_off.is_empty() { 1 } else { 2 };
    crate::limits::streamed_runs("--runs", options.runs, 1, copies)?;
    options.common.admit(scenario, std::slice::from_ref(model))?;
    let dir = options.common.out_dir(model, "run", "run")?;
    let without = if options.paired_off.is_empty() {
        None
    } else {
        let mitigations = model.mitigations.without(&options.paired_off)?;
        Some(Model { mitigations, ..model.clone() })
    };
    let plan = Plan { budget: options.common.budget, ..Plan::new(options.common.seed, options.runs) };
    progress.planned(options.runs * copies);
    let staging = Staging::new(&dir).map_err(|e| Error::io(&dir, e))?;
    let arm = |model: &Model, csv: &str, spill: &str, before: u64| {
        let progress = |done| progress.done(before + done);
        stream(&staging, model, plan, options.common.threads, &progress, [csv, spill])
            .map_err(|e| e.into_error(&scenario.label, &dir))
    };
    let checks = arm(model, "runs.csv", WITH, 0)?;
    if let Some(without) = &without {
        arm(without, "runs_without.csv", WITHOUT, options.runs)?;
    }
    let io = |e| Error::io(&dir, e);
    let (summary, curve) =
        summary::summarize_twice(|add| stream::read_spill(&staging, WITH, None, &mut |_, m| add(m))).map_err(io)?;
    let paired = match without {
        None => None,
        Some(_) => Some(paired::compare_twice(|add| read_pairs(&staging, add)).map_err(io)?),
    };
    for spill in [WITH, WITHOUT].iter().take(copies as usize) {
        staging.remove(spill).map_err(io)?;
    }
    let files = files::run_summary_files(model, &summary, &checks, curve, paired.as_deref());
    let mut manifest = scenario.manifest("run", &options.common, (0, options.runs), &["runs.csv"], &files);
    if paired.is_some() {
        // Listed where it was before runs streamed: just before paired.csv.
        manifest.files.insert(manifest.files.len() - 1, "runs_without.csv".to_string());
    }
    staging.finish(&files, &manifest).map_err(io)?;
    Ok(RunOutcome { dir, summary, checks, paired })
}

/// The spill files of the runs with the scenario's mitigations and without.
const WITH: &str = ".runs.spill";
const WITHOUT: &str = ".runs_without.spill";

/// Runs `plan` on `model`, streaming each run in order to the `runs.csv`
/// and the spill named by `names`; what each check did, over the runs.
fn stream(
    staging: &Staging,
    model: &Model,
    plan: Plan,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    names: [&str; 2],
) -> std::result::Result<CheckTotals, Stopped> {
    let [csv, spill] = names;
    let mut checks = CheckTotals::default();
    let mut csv = RunsCsv::new(staging.create(csv)?)?;
    let mut spill = staging.create(spill)?;
    let mut failed = None;
    runner::run_plan_into(model, plan, threads, progress, &mut |m, counts| {
        checks.add(counts);
        let written = csv.write(0, &m).and_then(|()| results::spill::write(&mut spill, 0, &m).map(|_| ()));
        stream::go_on(&mut failed, written)
    })
    .map_err(Stopped::Overran)?;
    if let Some(e) = failed {
        return Err(Stopped::Io(e));
    }
    csv.finish()?.flush()?;
    spill.flush()?;
    Ok(checks)
}

/// The runs with and without, pair by pair, to `each`.
fn read_pairs(staging: &Staging, each: &mut dyn FnMut(&RunMetrics, &RunMetrics)) -> std::io::Result<()> {
    let mut with = results::spill::Reader::new(staging.open(WITH)?);
    let mut without = results::spill::Reader::new(staging.open(WITHOUT)?);
    loop {
        match (with.next_run()?, without.next_run()?) {
            (Some((_, a)), Some((_, b))) => each(&a, &b),
            (None, None) => return Ok(()),
            _ => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "spill files of unequal length")),
        }
    }
}
