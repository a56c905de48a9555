//! Pipeline steps: an agent's `join = { inputs, timeout, combine }`,
//! checked against its in-channels and the sources, and a verification
//! step's `check`, against the agents it sends work back and up to.

use super::format::{AgentSpec, JoinInputs};
use super::{check_probability, err, KeyError, Names};
use crate::limits::{self, shown};
use crate::model::{Agent, Channel, Check, Join, Source, NONE};

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

/// Each verification step's `check`, its producer and escalation target
/// resolved; the producer must reach the check through channels.
pub(super) fn compile_checks(
    specs: &[AgentSpec],
    agents: &mut [Agent],
    channels: &[Channel],
    names: &Names,
) -> Result<(), KeyError> {
    for (i, spec) in specs.iter().enumerate() {
        let Some(check) = &spec.check else { continue };
        let key = format!("agents[{i}].check");
        let detect = check_probability(&format!("{key}.detect"), check.detect)?;
        let false_fail = check_probability(&format!("{key}.false_fail"), check.false_fail)?;
        let retry = match &check.retry {
            Some(id) => names.lookup(&format!("{key}.retry"), id)?,
            None => NONE,
        };
        if retry != NONE && !reaches(channels, retry, i as u32) {
            return err(
                format!("{key}.retry"),
                format!(
                    "agent {} does not reach {} through channels; expected the producer whose work it checks",
                    shown(check.retry.as_deref().unwrap_or("")),
                    shown(&agents[i].name)
                ),
            );
        }
        let max_retries = check.max_retries.unwrap_or(if retry == NONE { 0 } else { 1 });
        if max_retries > 0 && retry == NONE {
            return err(format!("{key}.max_retries"), "retries need a producer; set retry = \"<agent id>\"");
        }
        if max_retries > limits::MAX_RETRIES {
            return err(
                format!("{key}.max_retries"),
                format!("expected at most {} retries, got {max_retries}", limits::MAX_RETRIES),
            );
        }
        let escalate = match &check.escalate {
            Some(id) => names.lookup(&format!("{key}.escalate"), id)?,
            None => NONE,
        };
        if escalate == i as u32 {
            return err(format!("{key}.escalate"), "a check cannot escalate to itself; name the people who decide");
        }
        agents[i].check = Some(Check { detect, false_fail, retry, max_retries, escalate });
    }
    Ok(())
}

/// Whether `from` reaches `to` through channels (or is it).
fn reaches(channels: &[Channel], from: u32, to: u32) -> bool {
    let mut seen = vec![from];
    let mut next = 0;
    while next < seen.len() {
        let at = seen[next];
        next += 1;
        if at == to {
            return true;
        }
        for c in channels.iter().filter(|c| c.from == at) {
            if !seen.contains(&c.to) {
                seen.push(c.to);
            }
        }
    }
    false
}
