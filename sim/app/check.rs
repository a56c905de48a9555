//! `cascade check`: a scenario's results against a committed baseline.

use super::{read_manifest, read_output, Common, Scenario};
use crate::check::{self, Baseline, Estimate, Row};
use crate::error::{Error, Result};
use crate::results::{self, MODEL_VERSION};
use crate::runner;
use crate::sweep;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `check` takes.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Seed and threads; the seed (and `runs`) only for a new baseline.
    pub common: Common,
    pub runs: u64,
    /// The baseline file (TOML).
    pub baseline: PathBuf,
    /// Rewrite the baseline from the current results (its rules kept).
    pub update: bool,
    /// Compare although the scenario changed since the baseline.
    pub compare_changed: bool,
    /// Read the results of an earlier `run` or `sweep` from this directory.
    pub results: Option<PathBuf>,
    /// Also write JUnit XML here.
    pub junit: Option<PathBuf>,
    /// How the command was invoked, for the header of a rewritten baseline.
    pub scenario_argument: String,
}

impl Default for CheckOptions {
    /// A new baseline of 200 replications per point; `baseline.toml`.
    fn default() -> CheckOptions {
        CheckOptions {
            common: Common::default(),
            runs: 200,
            baseline: PathBuf::from("baseline.toml"),
            update: false,
            compare_changed: false,
            results: None,
            junit: None,
            scenario_argument: String::new(),
        }
    }
}

/// Every compared point and metric, and the baseline the results make.
#[derive(Clone, Debug)]
pub struct CheckOutcome {
    pub rows: Vec<Row>,
    /// The results as a baseline, with the old baseline's rules (what
    /// `update` writes).
    pub fresh: Baseline,
}

impl CheckOutcome {
    /// The rows that did not hold (regressed or missing).
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.verdict != "ok").count()
    }
}

/// Compares the scenario's results (run now, or read from `results`) with
/// the baseline. Writes nothing: [`write`] does, once the comparison is shown.
pub fn check(scenario: &Scenario, options: &CheckOptions) -> Result<CheckOutcome> {
    if options.runs < 2 {
        return Err(Error::argument("--runs", "a baseline needs at least 2 runs per point (a standard deviation)"));
    }
    let grid = scenario.grid(&[])?;
    let path = options.baseline.display().to_string();
    let existing = match std::fs::read_to_string(&options.baseline) {
        Ok(text) => Some(check::parse_baseline(&text).map_err(|e| e.in_file(&path))?),
        Err(_) if options.update => None,
        Err(e) => return Err(Error::input(&path, format!("cannot read the baseline ({e}); create it with --update"))),
    };
    let hash = scenario.hash();
    let keys: Vec<String> = grid.axes.iter().map(|a| a.key.clone()).collect();
    if let Some(b) = existing.as_ref().filter(|_| !options.update) {
        check::admit(b, &scenario.label, &hash, &keys, options.compare_changed).map_err(|e| e.in_file(&path))?;
    }
    let (seed, runs) = existing.as_ref().map_or((options.common.seed, options.runs), |b| (b.seed, b.runs));
    let (estimates, seed, runs) = match &options.results {
        Some(dir) => read_results(dir, &hash, grid.points())?,
        None => {
            let models = scenario.points(&grid)?;
            let points = grid.points();
            let results =
                runner::run_points(&models, runs, seed, true, 0..points * runs, options.common.threads, &|_| {});
            (check::estimates_of(&sweep::summaries(&sweep::per_point(points, &results))), seed, runs)
        }
    };
    let labels: Vec<Vec<String>> = (0..grid.points()).map(|p| grid.labels(p)).collect();
    let rules = existing.as_ref().map_or_else(check::default_rules, |b| b.rules.clone());
    let fresh = Baseline {
        scenario: scenario.model.name.clone(),
        scenario_sha256: hash,
        model_version: MODEL_VERSION,
        seed,
        runs,
        points: check::points_of(&labels, &estimates, &rules),
        keys,
        rules,
    };
    let reference = existing.as_ref().unwrap_or(&fresh);
    let now: Vec<_> = fresh.points.iter().map(|p| p.metrics.clone()).collect();
    let rows = check::compare(reference, &now);
    Ok(CheckOutcome { rows, fresh })
}

/// Writes the JUnit report (with `junit`) and, with `update`, the fresh
/// baseline, each file replaced whole; returns the baseline's path when
/// it was written.
pub fn write(outcome: &CheckOutcome, options: &CheckOptions) -> Result<Option<PathBuf>> {
    let name = &outcome.fresh.scenario;
    if let Some(file) = &options.junit {
        results::write_file(file, check::junit(name, &outcome.rows).as_bytes()).map_err(|e| Error::io(file, e))?;
    }
    if !options.update {
        return Ok(None);
    }
    let path = &options.baseline;
    let text = toml::to_string(&outcome.fresh).expect("a baseline serialises to TOML");
    let header = format!(
        "# cascade baseline of {name}: `cascade check {} --baseline {} --update` rewrites it.\n",
        options.scenario_argument,
        path.display()
    );
    results::write_file(path, (header + &text).as_bytes()).map_err(|e| Error::io(path, e))?;
    Ok(Some(path.clone()))
}

type Estimates = Vec<BTreeMap<String, Estimate>>;

/// Estimates, seed and runs per point from an output directory of this scenario.
fn read_results(dir: &Path, hash: &str, points: u64) -> Result<(Estimates, u64, u64)> {
    const EXPECTED: &str = "a run or sweep output";
    let name = dir.display().to_string();
    let manifest = read_manifest(dir, EXPECTED)?;
    if manifest.scenario_sha256 != hash {
        return Err(Error::input(
            &name,
            "results of another scenario or another version of it (its scenario hash differs)",
        ));
    }
    let estimates =
        check::estimates_from_csv(&read_output(dir, "summary.csv", EXPECTED)?).map_err(|e| e.in_file(&name))?;
    if estimates.len() as u64 != points {
        return Err(Error::input(&name, format!("{} points, the scenario has {points}", estimates.len())));
    }
    let runs = manifest.sweep.as_ref().map_or(manifest.runs, |s| s.runs_per_point);
    Ok((estimates, manifest.seed, runs))
}
