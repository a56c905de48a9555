//! The scenario's access layer: `[[resources]]`, `[[credentials]]`, the
//! agents' `action`, `scope`, `credential` and `sponsor` keys, and
//! `[mitigations.credentials]` / `[mitigations.gateway]`.

use super::{check_id, err, KeyError, Names};
use crate::limits::shown;
use crate::mitigation::access::CredentialKind;
use crate::mitigation::access::{Gateway, TaskCredentials};
use crate::model::{AccessKind, Agent, Credential, FaultKind, Resource, NONE};
use crate::time::Duration;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// The most resources a scenario may declare (scopes are `u64` bit sets).
pub const MAX_RESOURCES: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResourceSpec {
    name: String,
    access: AccessKind,
    controls: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GainSpec {
    at: Duration,
    grants: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CredentialSpec {
    name: String,
    kind: CredentialKind,
    #[serde(default)]
    grants: Vec<String>,
    #[serde(default)]
    gains: Vec<GainSpec>,
    ttl: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskCredentialsSpec {
    #[serde(default = "super::format::yes")]
    pub(super) enabled: bool,
    ttl: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewaySpec {
    #[serde(default = "super::format::yes")]
    pub(super) enabled: bool,
    #[serde(default = "super::format::yes")]
    alert: bool,
}

/// An agent's `action`: `true`/`false`, or the name of the resource it uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum ActionSpec {
    #[default]
    None,
    Unnamed,
    On(String),
}

impl ActionSpec {
    pub(super) fn acts(&self) -> bool {
        *self != ActionSpec::None
    }
}

impl<'de> Deserialize<'de> for ActionSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ActionVisitor;
        impl Visitor<'_> for ActionVisitor {
            type Value = ActionSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or the name of the resource the action uses")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ActionSpec, E> {
                Ok(if v { ActionSpec::Unnamed } else { ActionSpec::None })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ActionSpec, E> {
                Ok(ActionSpec::On(v.to_string()))
            }
        }
        deserializer.deserialize_any(ActionVisitor)
    }
}

/// The access keys of one agent (or agent template).
#[derive(Clone, Debug)]
pub(super) struct AgentAccessSpec<'a> {
    pub(super) action: &'a ActionSpec,
    pub(super) scope: Option<&'a [String]>,
    pub(super) credential: Option<&'a str>,
    pub(super) sponsor: Option<&'a str>,
}

/// Resource and credential names, known before agents are compiled.
pub(super) struct Catalog {
    resources: BTreeMap<String, u32>,
    credentials: BTreeMap<String, u32>,
}

fn unknown<T>(key: &str, what: &str, name: &str, known: &BTreeMap<String, u32>) -> Result<T, KeyError> {
    let list: Vec<&str> = known.keys().map(String::as_str).collect();
    if list.is_empty() {
        return err(key, format!("unknown {what} {}; no [[{what}s]] are declared", shown(name)));
    }
    err(key, format!("unknown {what} {}; expected one of {}", shown(name), list.join(", ")))
}

impl Catalog {
    pub(super) fn new(resources: &[ResourceSpec], credentials: &[CredentialSpec]) -> Result<Catalog, KeyError> {
        if resources.len() > MAX_RESOURCES {
            return err("resources", format!("at most {MAX_RESOURCES} resources, got {}", resources.len()));
        }
        Ok(Catalog {
            resources: index("resources", resources.iter().map(|r| r.name.as_str()))?,
            credentials: index("credentials", credentials.iter().map(|c| c.name.as_str()))?,
        })
    }

    fn resource(&self, key: &str, name: &str) -> Result<u32, KeyError> {
        match self.resources.get(name) {
            Some(&i) => Ok(i),
            None => unknown(key, "resource", name, &self.resources),
        }
    }

    /// Resource indices for a list of names under `key`.
    pub(super) fn indices(&self, key: &str, names: &[String]) -> Result<Vec<u32>, KeyError> {
        names.iter().enumerate().map(|(j, name)| self.resource(&format!("{key}[{j}]"), name)).collect()
    }

    fn bits(&self, key: &str, names: &[String]) -> Result<u64, KeyError> {
        names
            .iter()
            .enumerate()
            .try_fold(0u64, |bits, (j, name)| Ok(bits | 1 << self.resource(&format!("{key}[{j}]"), name)?))
    }

    /// Fills in an agent's action resource, scope, credential and sponsor.
    pub(super) fn resolve_agent(&self, key: &str, spec: &AgentAccessSpec, agent: &mut Agent) -> Result<(), KeyError> {
        agent.action = spec.action.acts();
        if let ActionSpec::On(name) = spec.action {
            agent.action_resource = self.resource(&format!("{key}.action"), name)?;
        }
        let action_bit = if agent.action_resource == NONE { 0 } else { 1u64 << agent.action_resource };
        agent.scope = match spec.scope {
            Some(names) => self.bits(&format!("{key}.scope"), names)?,
            None => action_bit,
        };
        if agent.scope & action_bit != action_bit {
            return err(format!("{key}.scope"), "must include the resource the agent's action uses");
        }
        if let Some(name) = spec.credential {
            agent.credential = match self.credentials.get(name) {
                Some(&i) => i,
                None => return unknown(&format!("{key}.credential"), "credential", name, &self.credentials),
            };
        }
        if let Some(sponsor) = spec.sponsor {
            if sponsor.trim().is_empty() {
                return err(format!("{key}.sponsor"), "expected the name of the accountable human");
            }
            agent.sponsored = true;
        }
        Ok(())
    }

    /// The declared resources, with `controls` resolved to agent indices.
    pub(super) fn resources(&self, specs: &[ResourceSpec], names: &Names) -> Result<Vec<Resource>, KeyError> {
        let mut resources = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let controls = match &spec.controls {
                Some(id) => names.lookup(&format!("resources[{i}].controls"), id)?,
                None => NONE,
            };
            resources.push(Resource { name: spec.name.clone(), access: spec.access, controls });
        }
        Ok(resources)
    }

    /// The declared credentials, with grants as bit sets.
    pub(super) fn credentials(&self, specs: &[CredentialSpec]) -> Result<Vec<Credential>, KeyError> {
        let mut credentials = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let key = format!("credentials[{i}]");
            let ttl = match (spec.kind, spec.ttl) {
                (CredentialKind::TaskScoped, Some(ttl)) if ttl.0 > 0 => ttl.0,
                (CredentialKind::TaskScoped, _) => {
                    return err(format!("{key}.ttl"), "expected a positive token lifetime for a task_scoped credential")
                }
                (_, Some(_)) => return err(format!("{key}.ttl"), "only applies to kind = \"task_scoped\""),
                (_, None) => 0,
            };
            let mut gains = Vec::with_capacity(spec.gains.len());
            for (j, gain) in spec.gains.iter().enumerate() {
                gains.push((gain.at.0, self.bits(&format!("{key}.gains[{j}].grants"), &gain.grants)?));
            }
            let grants = self.bits(&format!("{key}.grants"), &spec.grants)?;
            credentials.push(Credential { name: spec.name.clone(), kind: spec.kind, grants, gains, ttl });
        }
        Ok(credentials)
    }
}

fn index<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<BTreeMap<String, u32>, KeyError> {
    let mut map = BTreeMap::new();
    for (i, name) in names.enumerate() {
        check_id(&format!("{what}[{i}].name"), name)?;
        if map.insert(name.to_string(), i as u32).is_some() {
            return err(format!("{what}[{i}].name"), format!("duplicate name \"{name}\"; expected unique names"));
        }
    }
    Ok(map)
}

/// `[mitigations.credentials]`.
pub(super) fn task_credentials(spec: &Option<TaskCredentialsSpec>) -> Result<Option<TaskCredentials>, KeyError> {
    match spec {
        Some(spec) if spec.enabled => match spec.ttl {
            Some(ttl) if ttl.0 > 0 => Ok(Some(TaskCredentials { ttl: ttl.0 })),
            _ => err("mitigations.credentials.ttl", "expected a positive token lifetime (e.g. \"5m\")"),
        },
        _ => Ok(None),
    }
}

/// `[mitigations.gateway]`.
pub(super) fn gateway(spec: &Option<GatewaySpec>) -> Option<Gateway> {
    spec.as_ref().filter(|g| g.enabled).map(|g| Gateway { alert: g.alert })
}

/// With actions checked, every agent that acts (an action, or out-of-scope
/// attempts) must hold a standing credential, so that turning
/// `[mitigations.credentials]` off still leaves a defined system.
pub(super) fn check_actors(
    agents: &[Agent],
    faults: &[crate::model::Fault],
    key_of: impl Fn(u32) -> String,
) -> Result<(), KeyError> {
    let mut acts: Vec<bool> = agents.iter().map(|a| a.action).collect();
    for fault in faults {
        if let FaultKind::OutOfScope { agents: actors, .. } = &fault.kind {
            actors.iter().for_each(|&a| acts[a as usize] = true);
        }
    }
    if let Some(i) = agents.iter().position(|a| a.action && a.action_resource == NONE) {
        return err(
            format!("{}.action", key_of(i as u32)),
            "actions are checked against credentials; expected the name of the resource the action uses",
        );
    }
    match agents.iter().enumerate().find(|(i, a)| acts[*i] && a.credential == NONE) {
        Some((i, _)) => err(
            format!("{}.credential", key_of(i as u32)),
            "this agent acts; expected the name of one of the [[credentials]] it acts with",
        ),
        None => Ok(()),
    }
}
