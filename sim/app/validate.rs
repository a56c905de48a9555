//! `cascade validate`: a scenario checked as every command would check it,
//! every sweep point compiled.

use super::{Common, Scenario};
use crate::error::Result;
use crate::model::Topology;
use crate::runner::Budget;

/// What a valid scenario holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Validation {
    pub agents: usize,
    /// Explicit channels (`None`: a generated topology).
    pub channels: Option<usize>,
    pub sources: usize,
    pub faults: usize,
    /// The mitigations turned on.
    pub mitigations: Vec<&'static str>,
    /// Points of its `[sweep]` (`None`: no `[sweep]` table).
    pub points: Option<u64>,
    /// The estimated events of a run (the most of any point):
    /// [`crate::scenario::budget`].
    pub events: f64,
}

/// Checks the scenario and every point of its `[sweep]`, as the commands
/// that run it would on a budget of `max_events` events per run.
pub fn validate(scenario: &Scenario, max_events: u64) -> Result<Validation> {
    let grid = scenario.grid(&[])?;
    let models = scenario.points(&grid)?;
    let common = Common { budget: Budget { events: max_events, ..Budget::default() }, ..Common::default() };
    let events = common.admit(scenario, &models)?;
    let m = &scenario.model;
    Ok(Validation {
        agents: m.agents.len(),
        channels: match &m.topology {
            Topology::Explicit(c) => Some(c.len()),
            Topology::Generated { .. } => None,
        },
        sources: m.sources.len(),
        faults: m.faults.len(),
        mitigations: m.mitigations.enabled(),
        points: (!grid.axes.is_empty()).then(|| grid.points()),
        events,
    })
}
