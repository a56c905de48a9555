//! `cascade replay`: one replication alone, with its full event trace.

use super::{overran, write, Common, Scenario};
use crate::error::Result;
use crate::results::files;
use crate::runner;
use std::path::PathBuf;

/// What `replay` takes.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub common: Common,
    /// The replication (the `run` column of `runs.csv`).
    pub run: u64,
}

impl Default for ReplayOptions {
    /// Replication 0 of seed 1.
    fn default() -> ReplayOptions {
        ReplayOptions { common: Common::default(), run: 0 }
    }
}

/// Where `replay` wrote the run and how many trace rows it has.
#[derive(Clone, Debug)]
pub struct ReplayOutcome {
    pub dir: PathBuf,
    pub trace_rows: usize,
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
    Ok(ReplayOutcome { dir, trace_rows: replayed.trace.len() })
}
