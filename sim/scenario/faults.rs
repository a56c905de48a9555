//! `[[faults]]`: each fault's window, target and shift, checked against
//! the agents, channels, memory partitions and resources it names.

use super::format::FaultSpec;
use super::{access, check_finite, check_id, check_probability, err, KeyError, Names};
use crate::error::Error;
use crate::limits;
use crate::model::{Fault, FaultKind, Injection, Memory, Partition, Topology};
use crate::time::{Duration, Micros};

struct FaultContext<'a> {
    names: &'a Names,
    topology: &'a Topology,
    horizon: Micros,
    memory: &'a Memory,
    catalog: &'a access::Catalog,
}

pub(super) fn compile_faults(
    specs: Vec<FaultSpec>,
    names: &Names,
    topology: &Topology,
    horizon: Micros,
    memory: &Memory,
    catalog: &access::Catalog,
) -> Result<Vec<Fault>, KeyError> {
    if specs.len() >= crate::model::NO_FAULT as usize {
        return err("faults", format!("at most {} faults", crate::model::NO_FAULT - 1));
    }
    let context = FaultContext { names, topology, horizon, memory, catalog };
    specs.into_iter().enumerate().map(|(i, spec)| compile_fault(&format!("faults[{i}]"), i, spec, &context)).collect()
}

fn window(
    key: &str,
    start: Duration,
    duration: Option<Duration>,
    horizon: Micros,
) -> Result<(Micros, Micros), KeyError> {
    if start.0 >= horizon {
        return err(format!("{key}.start"), "must be before the horizon");
    }
    match duration {
        Some(d) if d.0 == 0 => {
            err(format!("{key}.duration"), "must be a positive duration (omit it for 'until the horizon')")
        }
        Some(d) => Ok((start.0, start.0.saturating_add(d.0))),
        None => Ok((start.0, Micros::MAX)),
    }
}

fn compile_fault(key: &str, index: usize, spec: FaultSpec, cx: &FaultContext) -> Result<Fault, KeyError> {
    let shift_key = format!("{key}.shift");
    let (name, kind) = match spec {
        FaultSpec::PoisonedFeed { name, agent, start, duration, shift } => {
            let agent = cx.names.lookup(&format!("{key}.agent"), &agent)?;
            let (start, end) = window(key, start, duration, cx.horizon)?;
            let shift = check_finite(&shift_key, shift)?;
            (name, FaultKind::PoisonedFeed { agent, start, end, shift })
        }
        FaultSpec::CompromisedAgent { name, agent, start, duration, shift, effect } => {
            let agent = cx.names.lookup(&format!("{key}.agent"), &agent)?;
            let (start, end) = window(key, start, duration, cx.horizon)?;
            let shift = check_finite(&shift_key, shift)?;
            let effect = check_probability(&format!("{key}.effect"), effect)?;
            (name, FaultKind::CompromisedAgent { agent, start, end, shift, effect })
        }
        FaultSpec::Hallucination { name, agents, rate, start, duration, shift } => {
            let agents = match agents {
                Some(list) => lookup_all(&format!("{key}.agents"), &list, cx.names)?,
                None => (0..cx.names.index.len() as u32).collect(),
            };
            let rate = check_probability(&format!("{key}.rate"), rate)?;
            let (start, end) = window(key, start, duration, cx.horizon)?;
            (name, FaultKind::Hallucination { agents, rate, start, end, shift: check_finite(&shift_key, shift)? })
        }
        FaultSpec::PromptInjection {
            name,
            agent,
            start,
            duration,
            probability,
            shift,
            spread_probability,
            replicate,
            relay,
            notes,
            effect,
        } => {
            let spread = InjectionSpec { spread_probability, replicate, relay, notes, effect };
            let agent = cx.names.lookup(&format!("{key}.agent"), &agent)?;
            let injection = injection(key, probability, &spread)?;
            let (start, end) = window(key, start, duration, cx.horizon)?;
            let shift = check_finite(&shift_key, shift)?;
            (name, FaultKind::PromptInjection { agent, start, end, shift, injection })
        }
        FaultSpec::SpoofedSender { name, from, to, start, duration, per_second, shift } => {
            let channel = spoof_channel(key, &from, &to, cx)?;
            let mean_gap = limits::mean_gap(per_second).or_else(|e| err(format!("{key}.per_second"), e))?;
            let (start, end) = window(key, start, duration, cx.horizon)?;
            (name, FaultKind::SpoofedSender { channel, start, end, mean_gap, shift: check_finite(&shift_key, shift)? })
        }
        FaultSpec::MemoryPoisoning {
            name,
            owner,
            at,
            records,
            shift,
            probability,
            spread_probability,
            replicate,
            relay,
            notes,
            effect,
        } => {
            let spread = InjectionSpec { spread_probability, replicate, relay, notes, effect };
            let partition = match (owner, cx.memory.isolated) {
                (Some(owner), true) => Partition::Agent(cx.names.lookup(&format!("{key}.owner"), &owner)?),
                (None, false) => Partition::Shared,
                (Some(_), false) => {
                    return err(format!("{key}.owner"), "memory is shared; remove owner (or use mode = \"isolated\")")
                }
                (None, true) => {
                    return err(
                        format!("{key}.owner"),
                        "memory is isolated; expected the agent whose partition is poisoned",
                    )
                }
            };
            if records == 0 {
                return err(format!("{key}.records"), "must be at least 1 record");
            }
            let (at, _) = window(key, at, None, cx.horizon)
                .map_err(|_| Error::key(format!("{key}.at"), "must be before the horizon"))?;
            let shift = check_finite(&shift_key, shift)?;
            let injection = memory_injection(key, probability, &spread)?;
            (name, FaultKind::MemoryPoisoning { partition, at, records, shift, injection })
        }
        FaultSpec::OutOfScope { name, agents, resources, start, duration, mean_gap, only_compromised, shift } => {
            let agents = lookup_all(&format!("{key}.agents"), &agents, cx.names)?;
            if agents.is_empty() {
                return err(format!("{key}.agents"), "expected at least one agent id");
            }
            let resources = cx.catalog.indices(&format!("{key}.resources"), &resources)?;
            if resources.is_empty() {
                return err(format!("{key}.resources"), "expected at least one resource name");
            }
            if mean_gap.0 == 0 {
                return err(format!("{key}.mean_gap"), "must be a positive duration between attempts");
            }
            let (start, end) = window(key, start, duration, cx.horizon)?;
            let shift = check_finite(&shift_key, shift)?;
            let mean_gap = mean_gap.0 as f64;
            (name, FaultKind::OutOfScope { agents, resources, start, end, mean_gap, only_compromised, shift })
        }
    };
    if let Some(name) = &name {
        check_id(&format!("{key}.name"), name)?;
    }
    let name = name.unwrap_or_else(|| format!("{}#{index}", kind.kind_name()));
    Ok(Fault { name, kind })
}

/// The keys that say how an injection spreads past its first target.
struct InjectionSpec {
    /// For later agents (default: the fault's `probability`).
    spread_probability: Option<f64>,
    replicate: bool,
    relay: bool,
    notes: bool,
    effect: Option<f64>,
}

/// An injection's chances: `probability` for its first target, the
/// spread's for later agents (default the same), and its effect.
fn injection(key: &str, probability: f64, spread: &InjectionSpec) -> Result<Injection, KeyError> {
    let first = check_probability(&format!("{key}.probability"), probability)?;
    let later = spread.spread_probability.unwrap_or(first);
    Ok(Injection {
        first,
        spread: check_probability(&format!("{key}.spread_probability"), later)?,
        replicate: spread.replicate,
        relay: spread.relay,
        notes: spread.notes,
        effect: check_probability(&format!("{key}.effect"), spread.effect.unwrap_or(1.0))?,
    })
}

/// A memory poisoning's injection: none unless `probability` is above 0.
fn memory_injection(key: &str, probability: f64, spread: &InjectionSpec) -> Result<Option<Injection>, KeyError> {
    if probability > 0.0 {
        return injection(key, probability, spread).map(Some);
    }
    let set = [
        ("spread_probability", spread.spread_probability.is_some()),
        ("replicate", spread.replicate),
        ("relay", spread.relay),
        ("notes", spread.notes),
        ("effect", spread.effect.is_some()),
    ];
    match set.iter().find(|(_, given)| *given) {
        Some((name, _)) => err(
            format!("{key}.{name}"),
            "only records that carry an injection spread one; set probability (the chance a reader is compromised)",
        ),
        None => check_probability(&format!("{key}.probability"), probability).map(|_| None),
    }
}

fn lookup_all(key: &str, ids: &[String], names: &Names) -> Result<Vec<u32>, KeyError> {
    ids.iter().enumerate().map(|(j, id)| names.lookup(&format!("{key}[{j}]"), id)).collect()
}

fn spoof_channel(key: &str, from: &str, to: &str, cx: &FaultContext) -> Result<u32, KeyError> {
    let from_index = cx.names.lookup(&format!("{key}.from"), from)?;
    let to_index = cx.names.lookup(&format!("{key}.to"), to)?;
    let Topology::Explicit(channels) = cx.topology else {
        return err(key, "spoofed_sender needs an explicit topology with the channel listed");
    };
    match channels.iter().position(|c| c.from == from_index && c.to == to_index) {
        Some(i) => Ok(i as u32),
        None => err(format!("{key}.to"), format!("no channel {from} -> {to}; expected an existing channel")),
    }
}
