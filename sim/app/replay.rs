//! `cascade replay`: one replication alone, with its full event trace.

use super::{overran, write, Common, Scenario};
use crate::error::{Error, Result};
use crate::results::otlp::{self, OtlpOptions};
use crate::results::{dir, files};
use crate::runner;
use std::path::PathBuf;

/// What `replay` takes.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub common: Common,
    /// The replication (the `run` column of `runs.csv`).
    pub run: u64,
    /// Also write the run as OTLP JSON traces to this file.
    pub otlp: Option<PathBuf>,
    /// Unix seconds simulated time zero maps to in the OTLP export.
    pub epoch: u64,
}

/// The default epoch of an OTLP export: 2026-01-01T00:00:00Z.
pub const EPOCH: u64 = 1_767_225_600;

impl Default for ReplayOptions {
    /// Replication 0 of seed 1.
    fn default() -> ReplayOptions {
        ReplayOptions { common: Common::default(), run: 0, otlp: None, epoch: EPOCH }
    }
}

/// Where `replay` wrote the run and how many trace rows it has.
#[derive(Clone, Debug)]
pub struct ReplayOutcome {
    pub dir: PathBuf,
    pub trace_rows: usize,
    /// The OTLP file written, if one was asked for.
    pub otlp: Option<PathBuf>,
}

/// Re-runs replication `run` with tracing and writes `trace.csv`,
/// `memory.csv`, its `runs.csv` row and the timeline chart.
pub fn replay(scenario: &Scenario, options: &ReplayOptions) -> Result<ReplayOutcome> {
    let model = &scenario.model;
    options.common.admit(scenario, std::slice::from_ref(model))?;
    let dir = options.common.out_dir(model, "replay", &format!("replay-{}", options.run))?;
    let replayed = runner::replay(model, options.common.seed, 0, options.run, options.common.budget)
        .map_err(|o| overran(&scenario.label, o))?;
    let files = files::replay_files(model, &replayed, options.run);
    write(&dir, &files, &scenario.manifest("replay", &options.common, (options.run, 1), &[], &files))?;
    if let Some(path) = &options.otlp {
        let export = OtlpOptions { seed: options.common.seed, run: options.run, epoch: options.epoch };
        dir::write_file(path, &otlp::otlp_jsonl(model, &replayed, export)).map_err(|e| Error::io(path, e))?;
    }
    Ok(ReplayOutcome { dir, trace_rows: replayed.trace.len(), otlp: options.otlp.clone() })
}
