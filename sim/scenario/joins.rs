//! Joins: an agent's `join = { inputs, timeout, combine }`, checked
//! against its in-channels and the sources.

use super::format::{AgentSpec, JoinInputs};
use super::{err, KeyError};
use crate::limits::{self, shown};
use crate::model::{Agent, Channel, Join, Source};

/// Each joining agent's rule, resolved against its in-channels.
pub(super) fn compile_joins(
    specs: &[AgentSpec],
    agents: &mut [Agent],
    channels: &[Channel],
    sources: &[Source],
) -> Result<(), KeyError> {
    for (i, spec) in specs.iter().enumerate() {
        let Some(join) = &spec.join else { continue };
        let key = format!("agents[{i}].join");
        let in_channels = channels.iter().filter(|c| c.to == i as u32).count();
        if !(2..=limits::MAX_JOIN_INPUTS).contains(&in_channels) {
            return err(
                key,
                format!(
                    "a join needs 2 to {} in-channels to wait on; agent {} has {in_channels}",
                    limits::MAX_JOIN_INPUTS,
                    shown(&agents[i].name)
                ),
            );
        }
        let inputs = match join.inputs {
            JoinInputs::All => in_channels as u32,
            JoinInputs::Of(k) if (1..=in_channels as i64).contains(&k) => k as u32,
            JoinInputs::Of(k) => {
                return err(
                    format!("{key}.inputs"),
                    format!("expected \"all\" or 1 to {in_channels} (its in-channels), got {k}"),
                )
            }
        };
        let timeout = match join.timeout {
            Some(t) if t.0 == 0 => return err(format!("{key}.timeout"), "must be a positive duration"),
            t => t.map(|t| t.0),
        };
        if let Some(s) = sources.iter().position(|s| s.target == i as u32) {
            return err(
                format!("sources[{s}].target"),
                format!(
                    "agent {} joins its in-channels; a source cannot feed it (feed an agent before it)",
                    shown(&agents[i].name)
                ),
            );
        }
        agents[i].join = Some(Join { inputs, timeout, combine: join.combine });
    }
    Ok(())
}
