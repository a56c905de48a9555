//! The application layer: every command as a library function that takes
//! a resolved [`Scenario`] and a plain option struct and returns what it
//! computed, having written its output directory. The CLI (`main.rs`) is
//! argument parsing, these calls and printing; a notebook, a test or
//! another program can make the same calls.
//!
//! Architecture invariant: the application layer and the CLI are the only
//! code that reads or writes files (the results layer's directory writer
//! does the writing); everything below takes and returns values.

pub mod check;
pub mod import;
pub mod merge;
pub mod replay;
pub mod run;
mod stream;
pub mod sweep;
pub mod tune;
pub mod validate;

use crate::bundled;
use crate::error::{Error, Result};
use crate::limits;
use crate::model::Model;
use crate::results::{self, Files, Manifest, MODEL_VERSION};
use crate::runner::{Budget, Overran, Overrun};
use crate::scenario;
use crate::sweep::{Axis, Grid};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// A scenario resolved once: how it is named, its bytes (whose SHA-256
/// the manifest records), its TOML document (which a sweep writes its
/// points' values into) and its compiled model.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The path given, or `scenarios/NAME.toml` for a bundled scenario.
    pub label: String,
    pub bytes: Vec<u8>,
    pub document: toml::Table,
    pub model: Model,
}

impl Scenario {
    /// A scenario file (a path, or anything ending in `.toml` or holding a
    /// `/`) or the name of a bundled scenario.
    pub fn resolve(name: &str) -> Result<Scenario> {
        let path = Path::new(name);
        if path.exists() || name.ends_with(".toml") || name.contains('/') {
            let bytes = read_bounded(path, limits::MAX_INPUT_BYTES).map_err(|e| {
                Error::input(
                    name,
                    format!(
                        "cannot read the scenario file ({e}); expected a readable TOML file or a bundled name (cascade list)"
                    ),
                )
            })?;
            let text =
                String::from_utf8(bytes).map_err(|_| Error::input(name, "not UTF-8 text; expected a TOML file"))?;
            return Scenario::from_text(name, text);
        }
        let found = bundled::find(name).ok_or_else(|| {
            let names: Vec<&str> = bundled::SCENARIOS.iter().map(|s| s.name).collect();
            Error::input(
                name,
                format!("no such file or bundled scenario; expected a path or one of {}", names.join(", ")),
            )
        })?;
        Scenario::from_text(&format!("scenarios/{}.toml", found.name), found.text.to_string())
    }

    /// Scenario text named `label` in errors and manifests; its `[sweep]`
    /// table must be well formed whichever command reads it (its points
    /// are compiled only by the commands that run them, and `validate`).
    pub fn from_text(label: &str, text: String) -> Result<Scenario> {
        let (model, document) = scenario::parse_with_document(label, &text)?;
        crate::sweep::grid_of(&document).map_err(|e| e.in_file(label))?;
        Ok(Scenario { label: label.to_string(), bytes: text.into_bytes(), document, model })
    }

    /// Hex SHA-256 of the scenario's bytes.
    pub fn hash(&self) -> String {
        results::scenario_hash(&self.bytes)
    }

    /// The grid of the scenario's `[sweep]` table, with `set` added (an
    /// axis of the same key replaced).
    pub fn grid(&self, set: &[Axis]) -> Result<Grid> {
        let mut grid = crate::sweep::grid_of(&self.document).map_err(|e| e.in_file(self.label.as_str()))?;
        for axis in set {
            grid.set(axis.clone());
        }
        crate::sweep::check_size(&grid).map_err(|e| e.in_file(self.label.as_str()))?;
        Ok(grid)
    }

    /// Every point's model: the scenario itself when the grid has no axes.
    pub fn points(&self, grid: &Grid) -> Result<Cow<'_, [Model]>> {
        if grid.axes.is_empty() {
            return Ok(Cow::Borrowed(std::slice::from_ref(&self.model)));
        }
        Ok(Cow::Owned(crate::sweep::compile_points(&self.label, &self.document, grid)?))
    }

    /// The manifest of an output of `command` on this scenario: `streamed`
    /// files (written as runs finished), then `files`.
    fn manifest(
        &self,
        command: &str,
        common: &Common,
        (first_run, runs): (u64, u64),
        streamed: &[&str],
        files: &Files,
    ) -> Manifest {
        Manifest {
            tool: "cascade".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            model_version: MODEL_VERSION,
            command: command.to_string(),
            scenario_name: self.model.name.clone(),
            scenario_file: self.label.clone(),
            scenario_sha256: self.hash(),
            seed: common.seed,
            point: 0,
            first_run,
            runs,
            command_line: common.command_line.clone(),
            files: streamed.iter().map(|s| s.to_string()).chain(files.iter().map(|(name, _)| name.clone())).collect(),
            sweep: None,
        }
    }
}

/// A bundled scenario's TOML text (`cascade show`).
pub fn bundled_text(name: &str) -> Result<&'static str> {
    bundled::find(name).map(|s| s.text).ok_or_else(|| {
        let names: Vec<&str> = bundled::SCENARIOS.iter().map(|s| s.name).collect();
        Error::input(name, format!("no such bundled scenario; expected one of {}", names.join(", ")))
    })
}

/// Every bundled scenario's name and the first line of its description.
pub fn bundled_list() -> Vec<(&'static str, String)> {
    bundled::SCENARIOS
        .iter()
        .map(|s| {
            let description = scenario::parse(s.name, s.text).map(|m| m.description).unwrap_or_default();
            (s.name, description.lines().next().unwrap_or("").to_string())
        })
        .collect()
}

/// What every command that runs replications takes.
#[derive(Clone, Debug)]
pub struct Common {
    /// Master seed; with the scenario bytes and the version it fixes every result.
    pub seed: u64,
    /// Worker threads (0 = one per core); results do not depend on it.
    pub threads: usize,
    /// Output directory; `None` is `out/<scenario name>/<command>`.
    pub out: Option<PathBuf>,
    /// Replace an output directory another command made.
    pub force: bool,
    /// The command line, as the manifest records it.
    pub command_line: Vec<String>,
    /// What each run may use (events; trace rows for a replay).
    pub budget: Budget,
}

impl Default for Common {
    /// Seed 1, one thread per core, `out/<scenario name>/<command>`, the default budget.
    fn default() -> Common {
        Common { seed: 1, threads: 0, out: None, force: false, command_line: Vec::new(), budget: Budget::default() }
    }
}

impl Common {
    /// Checks the options against the limits ([`limits::threads`], a
    /// budget of at least one event and one trace row) and `scenario`'s
    /// points (`models`) against the event budget
    /// ([`crate::scenario::budget::check`]), before anything runs; returns
    /// the largest estimate of a run's events (0 with no models).
    pub fn admit(&self, scenario: &Scenario, models: &[Model]) -> Result<f64> {
        limits::threads(self.threads)?;
        if self.budget.events == 0 {
            return Err(Error::argument("--max-events", "0; expected at least 1 event per run"));
        }
        if self.budget.trace_rows == 0 {
            return Err(Error::argument("--max-trace-rows", "0; expected at least 1 row"));
        }
        let mut most = 0.0f64;
        for (point, model) in models.iter().enumerate() {
            let events = crate::scenario::budget::check(model, self.budget.events).map_err(|e| match e {
                Error::Input { key, expected, .. } if models.len() > 1 => Error::Input {
                    file: scenario.label.clone(),
                    key,
                    expected: format!("{expected} (at sweep point {point})"),
                },
                e => e.in_file(scenario.label.as_str()),
            })?;
            most = most.max(events);
        }
        Ok(most)
    }

    /// The output directory of `command` on `model` (`leaf` names it
    /// under `out/<scenario name>/`, e.g. `run` or `replay-4`), checked
    /// before any computing: [`results::prepare_dir`].
    pub fn out_dir(&self, model: &Model, command: &str, leaf: &str) -> Result<PathBuf> {
        let dir = self.out.clone().unwrap_or_else(|| PathBuf::from("out").join(&model.name).join(leaf));
        results::prepare_dir(&dir, command, self.force)?;
        Ok(dir)
    }
}

/// Progress of a command's replications, for a progress bar.
pub trait Progress: Sync {
    /// The runs planned so far (tuning plans more as it refines).
    fn planned(&self, runs: u64);
    /// The runs finished so far.
    fn done(&self, runs: u64);
}

/// No progress shown.
pub struct Silent;

impl Progress for Silent {
    fn planned(&self, _: u64) {}
    fn done(&self, _: u64) {}
}

/// A run that used its whole budget, as the error naming it (the
/// scenario's `label`).
fn overran(label: &str, overran: Overran) -> Error {
    let run = format!("run {} of point {}", overran.run, overran.point);
    let (what, at, remedy) = match overran.overrun {
        Overrun::Events { at, budget } => (format!("{budget} events"), at, "--max-events"),
        Overrun::TraceRows { at, budget } => (format!("{budget} trace rows"), at, "--max-trace-rows"),
    };
    let at = crate::time::format_seconds(at);
    Error::input(
        label,
        format!("{run} used its budget of {what} at simulated time {at} s, before its horizon; expected a scenario that does less (a lower rate, a shorter horizon), or a larger {remedy}"),
    )
}

/// Writes `files` and `manifest` into `dir` as one result.
fn write(dir: &Path, files: &Files, manifest: &Manifest) -> Result<()> {
    results::write_dir(dir, files, manifest).map_err(|e| Error::io(dir, e))
}

/// The bytes of the regular file at `path`, refused (as invalid data) when
/// it is anything else (a FIFO would block, a device never end) or longer
/// than `limit`.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error as IoError, ErrorKind, Read};
    // Looked at before opening: opening a FIFO blocks until a writer comes.
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(IoError::new(ErrorKind::InvalidData, "not a regular file"));
    }
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(metadata.len().min(limit) as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(IoError::new(ErrorKind::InvalidData, format!("longer than {limit} bytes")));
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
fn read_text(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_bounded(path, limit)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// A file of an output directory, of at most `limit` bytes; `expected`
/// says what the directory should be.
fn read_output(dir: &Path, name: &str, limit: u64, expected: &str) -> Result<String> {
    read_text(&dir.join(name), limit)
        .map_err(|e| Error::input(dir.display().to_string(), format!("cannot read {name} ({e}); expected {expected}")))
}

/// A file of an output directory, opened to be read a part at a time; a
/// FIFO or a device is refused, as [`read_bounded`] refuses them.
fn open_output(dir: &Path, name: &str, expected: &str) -> Result<std::fs::File> {
    let path = dir.join(name);
    let open = || {
        if !std::fs::metadata(&path)?.is_file() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "not a regular file"));
        }
        std::fs::File::open(&path)
    };
    open()
        .map_err(|e| Error::input(dir.display().to_string(), format!("cannot read {name} ({e}); expected {expected}")))
}

/// An output directory's `manifest.json`.
fn read_manifest(dir: &Path, expected: &str) -> Result<Manifest> {
    serde_json::from_str(&read_output(dir, "manifest.json", limits::MAX_RESULTS_BYTES, expected)?).map_err(|e| {
        Error::Input { file: dir.display().to_string(), key: "manifest.json".into(), expected: e.to_string() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = r#"
        name = "chain"
        horizon = "10m"
        quiet_window = "1m"
        [[agents]]
        id = "A"
        [[agents]]
        id = "B"
        action = true
        [[channels]]
        from = "A"
        to = "B"
        latency = "50ms"
        [[sources]]
        id = "feed"
        target = "A"
        arrival = { process = "periodic", period = "1s" }
        [[faults]]
        kind = "poisoned_feed"
        agent = "A"
        start = "1m"
        duration = "1m"
        shift = -30.0
        [mitigations.validation]
        [mitigations.breaker]
        [sweep]
        "mitigations.breaker.failure_threshold" = [1, 3]
    "#;

    /// The commands called as a library would call them, on a fresh
    /// directory: each writes its result and returns what it computed.
    #[test]
    fn commands_as_library_calls() {
        let dir = std::env::temp_dir().join(format!("cascade-app-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Scenario::from_text("chain.toml", CHAIN.to_string()).unwrap();
        let common = |sub: &str| Common { out: Some(dir.join(sub)), ..Common::default() };
        let run = run::RunOptions { common: common("run"), runs: 6, paired_off: vec!["all".into()] };
        let outcome = run::run(&s, &run, &Silent).unwrap();
        assert_eq!(outcome.summary.runs, 6);
        assert!(outcome.paired.is_some() && dir.join("run/paired.csv").exists());
        let replay =
            replay::replay(&s, &replay::ReplayOptions { common: common("replay"), run: 2, ..Default::default() })
                .unwrap();
        assert!(replay.trace_rows > 0 && dir.join("replay/trace.csv").exists());
        let validation = validate::validate(&s, crate::limits::EVENTS_PER_RUN).unwrap();
        assert_eq!((validation.agents, validation.points), (2, Some(2)));
        assert_eq!(validation.mitigations, ["validation", "breaker"]);
        let shard = |i| sweep::SweepOptions {
            common: common(&format!("shard-{i}")),
            runs: 3,
            shard: Some(crate::sweep::Shard { index: i, count: 2 }),
            ..sweep::SweepOptions::default()
        };
        for i in [1, 2] {
            sweep::sweep(&s, &shard(i), &Silent).unwrap();
        }
        let whole =
            sweep::sweep(&s, &sweep::SweepOptions { common: common("whole"), runs: 3, ..Default::default() }, &Silent)
                .unwrap();
        assert_eq!(whole.summaries.len(), 2);
        let shards = [dir.join("shard-2"), dir.join("shard-1")];
        let merged = merge::merge(&shards, &dir.join("merged"), false, vec![]).unwrap();
        assert_eq!((merged.shards, merged.runs), (2, 6));
        let read = |d: &str| std::fs::read(dir.join(d).join("summary.csv")).unwrap();
        assert_eq!(read("merged"), read("whole"), "a merge of shards is the whole sweep");
        let check = check::CheckOptions {
            common: Common::default(),
            runs: 4,
            baseline: dir.join("baseline.toml"),
            update: true,
            ..Default::default()
        };
        let fresh = check::check(&s, &check).unwrap();
        assert_eq!(check::write(&fresh, &check).unwrap(), Some(dir.join("baseline.toml")));
        let again = check::check(&s, &check::CheckOptions { update: false, ..check.clone() }).unwrap();
        assert_eq!(again.failures(), 0, "a baseline holds on the results it was made from");
        let one = check::check(&s, &check::CheckOptions { runs: 1, ..check }).unwrap_err();
        assert_eq!(one.exit_code(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn scenarios_resolve_from_bundled_names_and_points_reuse_the_model() {
        let s = Scenario::resolve("procurement-guarded").unwrap();
        assert_eq!(s.label, "scenarios/procurement-guarded.toml");
        assert_eq!(s.hash(), results::scenario_hash(bundled::find("procurement-guarded").unwrap().text.as_bytes()));
        let grid = s.grid(&[]).unwrap();
        assert_eq!(grid.points(), 20);
        assert!(matches!(s.points(&Grid::default()).unwrap(), Cow::Borrowed([m]) if *m == s.model));
        assert_eq!(s.points(&grid).unwrap().len(), 20);
        let set = crate::sweep::parse_set("mitigations.breaker.failure_threshold=1,2").unwrap();
        assert_eq!(s.grid(&[set]).unwrap().points(), 2 * 4, "--set replaces the axis of its key");
        let e = Scenario::resolve("no-such-scenario").unwrap_err();
        assert!(e.to_string().starts_with("no-such-scenario: no such file or bundled scenario"), "{e}");
        let e = Scenario::resolve("/nonexistent/s.toml").unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/s.toml: cannot read the scenario file"), "{e}");
        assert_eq!(e.exit_code(), 2);
    }
}
