//! `cascade validate`: a scenario checked as every command would check it,
//! every sweep point compiled.

use super::Scenario;
use crate::error::Result;
use crate::model::Topology;

/// What a valid scenario holds.
#[derive(Clone, Debug, PartialEq, Eq)]
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
}

/// Checks the scenario and every point of its `[sweep]`.
pub fn validate(scenario: &Scenario) -> Result<Validation> {
    let grid = scenario.grid(&[])?;
    scenario.points(&grid)?;
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
    })
}
