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
    /// Accept a changed scenario whose metrics hold (else [`Error::Changed`]).
    pub compare_changed: bool,
    /// Read the results of an earlier `run` (the scenario as written)
    /// and/or `sweep` (the grid) from these directories.
    pub results: Vec<PathBuf>,
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
            results: Vec::new(),
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
    /// The scenario changed since the baseline: the line that says so.
    pub changed: Option<String>,
    /// Wall time of the comparison, for the JUnit report.
    pub seconds: f64,
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
    let started = std::time::Instant::now();
    if options.runs < 2 {
        return Err(Error::argument("--runs", "a baseline needs at least 2 runs per point (a standard deviation)"));
    }
    let grid = scenario.grid(&[])?;
    let existing = read_baseline(&options.baseline, options.update)?;
    let hash = scenario.hash();
    let keys: Vec<String> = grid.axes.iter().map(|a| a.key.clone()).collect();
    let path = options.baseline.display().to_string();
    if let Some(b) = existing.as_ref().filter(|_| !options.update) {
        check::admit(b, &keys).map_err(|e| e.in_file(&path))?;
    }
    let (seed, runs) = existing.as_ref().map_or((options.common.seed, options.runs), |b| (b.seed, b.runs));
    // The grid's points, then the scenario as written (unless it is the
    // only point): a sweep must not hide what the file itself does.
    let mut labels: Vec<Vec<String>> = (0..grid.points()).map(|p| grid.labels(p)).collect();
    let mut models = scenario.points(&grid)?.into_owned();
    if !grid.axes.is_empty() {
        labels.push(Vec::new());
        models.push(scenario.model.clone());
    }
    let (estimates, seed, runs) = if options.results.is_empty() {
        let points = models.len() as u64;
        let flag = if existing.is_some() { format!("{path}: runs") } else { "--runs".to_string() };
        let total = crate::limits::runs(&flag, runs, points, 1)?;
        // The grid's points, then the scenario as written (not a point).
        let (grid_points, as_written) = models.split_at(models.len() - usize::from(!grid.axes.is_empty()));
        options.common.admit(scenario, grid_points)?;
        options.common.admit(scenario, as_written)?;
        let (threads, budget) = (options.common.threads, options.common.budget);
        let results = runner::run_points(&models, runs, seed, true, 0..total, threads, budget, &|_| {})
            .map_err(|o| super::overran(&scenario.label, o))?;
        (check::estimates_of(&sweep::summaries(&sweep::per_point(points, &results))), seed, runs)
    } else {
        read_results(&options.results, &hash, &labels)?
    };
    let rules = existing.as_ref().map_or_else(check::default_rules, |b| b.rules.clone());
    let fresh = Baseline {
        scenario: scenario.model.name.clone(),
        scenario_sha256: hash.clone(),
        model_version: MODEL_VERSION,
        seed,
        runs,
        points: check::points_of(&labels, &estimates, &rules),
        keys,
        rules,
    };
    let reference = existing.as_ref().unwrap_or(&fresh);
    let rows = check::compare(reference, &fresh.points);
    let changed = existing.as_ref().and_then(|b| check::changed(b, &scenario.label, &hash));
    Ok(CheckOutcome { rows, fresh, changed, seconds: started.elapsed().as_secs_f64() })
}

/// The baseline at `path`; with `update`, none when the file does not
/// exist yet. A file that exists but cannot be read or parsed is an error
/// even with `update`: its rules would be lost.
fn read_baseline(path: &Path, update: bool) -> Result<Option<Baseline>> {
    let name = path.display().to_string();
    match super::read_text(path, crate::limits::MAX_INPUT_BYTES) {
        Ok(text) => Ok(Some(check::parse_baseline(&text).map_err(|e| e.in_file(&name))?)),
        Err(e) if update && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::input(&name, "no such baseline; create it with --update"))
        }
        Err(e) => Err(Error::input(&name, format!("cannot read the baseline ({e}); --update does not replace it"))),
    }
}

/// Writes the JUnit report (with `junit`) and, with `update`, the fresh
/// baseline, each file replaced whole; returns the baseline's path when
/// it was written.
pub fn write(outcome: &CheckOutcome, options: &CheckOptions) -> Result<Option<PathBuf>> {
    let name = &outcome.fresh.scenario;
    if let Some(file) = &options.junit {
        results::write_file(file, check::junit(name, &outcome.rows, outcome.seconds).as_bytes())
            .map_err(|e| Error::io(file, e))?;
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

/// Estimates, seed and runs per point (in `labels` order) from output
/// directories of this scenario: a `run` gives the scenario as written
/// (the point with no values), a `sweep` the grid's points. A point no
/// directory holds has no estimates (its rows are MISSING).
fn read_results(dirs: &[PathBuf], hash: &str, labels: &[Vec<String>]) -> Result<(Estimates, u64, u64)> {
    const EXPECTED: &str = "a run or sweep output";
    let mut estimates: Estimates = vec![BTreeMap::new(); labels.len()];
    let mut replications = None;
    for dir in dirs {
        let name = dir.display().to_string();
        let manifest = read_manifest(dir, EXPECTED)?;
        if manifest.model_version != MODEL_VERSION {
            let found =
                format!("results of model version {}, this is {MODEL_VERSION}; run them again", manifest.model_version);
            return Err(Error::input(&name, found));
        }
        if manifest.scenario_sha256 != hash {
            return Err(Error::input(
                &name,
                "results of another scenario or another version of it (its scenario hash differs)",
            ));
        }
        let read =
            check::estimates_from_csv(&read_output(dir, "summary.csv", crate::limits::MAX_RESULTS_BYTES, EXPECTED)?)
                .map_err(|e| e.in_file(&name))?;
        let runs = manifest.sweep.as_ref().map_or(manifest.runs, |s| s.runs_per_point);
        if replications.is_some_and(|r| r != (manifest.seed, runs)) {
            return Err(Error::input(&name, "another seed or number of runs than the other results directory"));
        }
        replications = Some((manifest.seed, runs));
        match &manifest.sweep {
            None => estimates[labels.len() - 1] = read.into_iter().next().unwrap_or_default(),
            // The grid's points, by their values: a sweep of other keys or
            // values (`--set`) is another grid.
            Some(info) if labels.len() > 1 && info.all_labels()[..] == labels[..labels.len() - 1] => {
                for (slot, point) in estimates.iter_mut().zip(read) {
                    *slot = point;
                }
            }
            Some(_) => {
                return Err(Error::input(&name, "a sweep of other keys or values than the scenario's [sweep]"));
            }
        }
    }
    let (seed, runs) = replications.expect("at least one results directory");
    Ok((estimates, seed, runs))
}
