//! Scenario files: the TOML format, its validation, and compilation into a
//! [`Model`].
//!
//! Every problem is reported as one [`Error::Input`] naming the file, the
//! key (a dotted path such as `agents[2].service.mean`) and what was
//! expected. Unknown keys are refused everywhere.
//!
//! `format` is the file as serde reads it; `agents`, `sources`, `memory`,
//! `faults`, `mitigations` and `access` each validate and compile one part
//! of it; this module ties them together and locates errors.

mod access;
mod agents;
pub mod budget;
mod faults;
mod format;
mod memory;
mod mitigations;
mod routing;
mod sources;
mod steps;

use format::ScenarioFile;

use crate::error::Error;
use crate::limits::{self, shown};
use crate::model::{Materiality, Model, Topology};
use std::collections::BTreeMap;

/// What compiling a part of the scenario refuses: a key and what was
/// expected, the file named by [`parse`] ([`Error::in_file`]).
type KeyError = Error;

fn err<T>(key: impl Into<String>, message: impl Into<String>) -> Result<T, KeyError> {
    Err(Error::key(key, message))
}

/// Parses, validates and compiles scenario text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Model, Error> {
    Ok(parse_with_document(file, text)?.0)
}

/// [`parse`], and the TOML document the text holds (which a sweep writes
/// its points' values into), from one parse of the text.
pub fn parse_with_document(file: &str, text: &str) -> Result<(Model, toml::Table), Error> {
    let located = |message: &str, key: String, span: Option<std::ops::Range<usize>>| {
        let line = span.clone().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let (key, message) = match span {
            // The TOML reader refuses integers past i64 before any key is known.
            Some(s) if key.is_empty() && message.contains("value was too large") => {
                (key_at(text, s.start), "an integer below 2^63 (9223372036854775808)")
            }
            _ => (key, message),
        };
        let file = match line {
            Some(line) => format!("{file}:{line}"),
            None => file.to_string(),
        };
        Error::Input { file, key, expected: one_line(message) }
    };
    let root = toml::de::DeTable::parse(text).map_err(|e| located(e.message(), String::new(), e.span()))?;
    let spec: ScenarioFile =
        serde_path_to_error::deserialize(toml::de::Deserializer::from(root.clone())).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { String::new() } else { key };
            let inner = e.into_inner();
            located(inner.message(), key, inner.span())
        })?;
    let document = <toml::Table as serde::Deserialize>::deserialize(toml::de::Deserializer::from(root))
        .map_err(|e| located(e.message(), String::new(), e.span()))?;
    let model = compile(spec).map_err(|e| e.in_file(file))?;
    Ok((model, document))
}

/// Validates and compiles a scenario already parsed into a TOML document
/// (a sweep point: the file with some values replaced). Errors name the
/// key, not a line: the document has no text.
pub fn parse_document(file: &str, document: toml::Table) -> Result<Model, Error> {
    let spec: ScenarioFile = serde_path_to_error::deserialize(toml::Value::Table(document)).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        Error::Input { file: file.to_string(), key, expected: one_line(&e.into_inner().to_string()) }
    })?;
    compile(spec).map_err(|e| e.in_file(file))
}

/// The dotted key of the `key = value` line holding byte `offset` of
/// `text`, under its nearest table header (`[[sources]]` counted:
/// `sources[1].count`).
fn key_at(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let bare = line.split('=').next().unwrap_or("").trim().trim_matches('"');
    let header = before[..line_start].lines().rev().map(str::trim).find(|l| l.starts_with('['));
    let table = match header {
        Some(h) if h.starts_with("[[") => {
            let name = h.trim_matches(|c| c == '[' || c == ']').trim();
            let index = before.lines().filter(|l| l.trim() == h).count().saturating_sub(1);
            format!("{name}[{index}].")
        }
        Some(h) => format!("{}.", h.trim_matches(|c| c == '[' || c == ']').trim()),
        None => String::new(),
    };
    format!("{table}{bare}")
}

/// `message` with its whitespace runs (newlines included) collapsed: one line.
pub fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Names {
    index: BTreeMap<String, u32>,
}

impl Names {
    fn lookup(&self, key: &str, id: &str) -> Result<u32, KeyError> {
        match self.index.get(id) {
            Some(&i) => Ok(i),
            None => {
                let known: Vec<&str> = self.index.keys().take(8).map(String::as_str).collect();
                let more = if self.index.len() > 8 { ", ..." } else { "" };
                err(key, format!("unknown agent id {}; expected one of {}{more}", shown(id), known.join(", ")))
            }
        }
    }
}

fn compile(spec: ScenarioFile) -> Result<Model, KeyError> {
    check_id("name", &spec.name)?;
    if spec.horizon.0 == 0 {
        return err("horizon", "must be a positive duration");
    }
    if spec.quiet_window.0 >= spec.horizon.0 {
        return err("quiet_window", "must be shorter than the horizon");
    }
    let materiality = compile_materiality(spec.materiality, spec.material_shift)?;
    let catalog = access::Catalog::new(&spec.resources, &spec.credentials)?;
    let (agents, topology) = match spec.topology {
        Some(topology) => {
            if !spec.agents.is_empty() || !spec.channels.is_empty() {
                return err(
                    "topology",
                    "a generated topology defines the agents and channels; remove [[agents]] and [[channels]]",
                );
            }
            agents::compile_generated(topology, &catalog)?
        }
        None => agents::compile_explicit(&spec.agents, &spec.channels, &catalog)?,
    };
    if agents.is_empty() {
        return err("agents", "expected at least one agent (or a [topology] generator)");
    }
    let names = Names { index: agents.iter().enumerate().map(|(i, a)| (a.name.clone(), i as u32)).collect() };
    let horizon = spec.horizon.0;
    let mut sources = sources::compile_sources(&spec.sources, &names)?;
    let kinds = routing::compile_kinds(&spec.sources, &mut sources)?;
    let mut agents = agents;
    if let Topology::Explicit(channels) = &topology {
        routing::compile_routes(&spec.agents, &mut agents, channels, &names, &kinds)?;
        steps::compile_joins(&spec.agents, &mut agents, channels, &sources)?;
        steps::compile_checks(&spec.agents, &mut agents, channels, &names)?;
    }
    let memory = memory::compile_memory(&spec.memory, &names)?;
    let resources = catalog.resources(&spec.resources, &names)?;
    let faults = faults::compile_faults(spec.faults, &names, &topology, horizon, &memory, &catalog)?;
    let credentials = catalog.credentials(&spec.credentials)?;
    let mitigations = mitigations::compile_mitigations(&spec.mitigations, &names)?;
    if !credentials.is_empty() || mitigations.credentials.is_some() {
        let generated = matches!(topology, Topology::Generated { .. });
        access::check_actors(&agents, &faults, |i| {
            if generated {
                "topology.agent".to_string()
            } else {
                format!("agents[{i}]")
            }
        })?;
    }
    Ok(Model {
        name: spec.name,
        description: spec.description,
        horizon,
        quiet_window: spec.quiet_window.0,
        materiality,
        clean_relay: spec.workload.clean_relay,
        kinds,
        agents,
        topology,
        sources,
        faults,
        memory,
        resources,
        credentials,
        mitigations,
    })
}

/// `materiality` (a fraction of each fault's shift) or `material_shift`
/// (signal units), not both; the default is [`Materiality::DEFAULT`].
fn compile_materiality(relative: Option<f64>, absolute: Option<f64>) -> Result<Materiality, KeyError> {
    match (relative, absolute) {
        (Some(_), Some(_)) => {
            err("material_shift", "give materiality (a fraction) or material_shift (a size), not both")
        }
        (Some(fraction), None) if (0.0..=1.0).contains(&fraction) => Ok(Materiality::Relative(fraction)),
        (Some(fraction), None) => {
            err("materiality", format!("must be a fraction of the fault's shift between 0 and 1, got {fraction}"))
        }
        (None, Some(size)) if size.is_finite() && size >= 0.0 => Ok(Materiality::Absolute(size)),
        (None, Some(size)) => err("material_shift", format!("must be a finite size of at least 0, got {size}")),
        (None, None) => Ok(Materiality::DEFAULT),
    }
}

fn check_probability(key: &str, value: f64) -> Result<f64, KeyError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        err(key, format!("must be a probability between 0 and 1, got {value}"))
    }
}

/// An id or name the scenario gives ([`limits::id`]).
fn check_id(key: &str, value: &str) -> Result<(), KeyError> {
    limits::id(value).or_else(|e| err(key, e))
}

fn check_finite(key: &str, value: f64) -> Result<f64, KeyError> {
    if value.is_finite() {
        Ok(value)
    } else {
        err(key, format!("must be a finite number, got {value}"))
    }
}

#[cfg(test)]
mod tests;
