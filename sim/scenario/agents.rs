//! Agents and channels: an explicit list (`[[agents]]`, `[[channels]]`)
//! or a seeded generator (`[topology]`), each agent's behaviour checked.

use super::format::{AgentSpec, ChannelSpec, GeneratorSpec, HoursSpec, LayerSpec, TopologySpec};
use super::{access, check_finite, check_id, check_probability, err, KeyError, Names};
use crate::limits::shown;
use crate::model::{Agent, Channel, Generator, Role, Topology, NONE};
use crate::time::{format_seconds, Hours, DAY};
use std::collections::BTreeMap;

fn compile_agent(
    key: &str,
    spec: &AgentSpec,
    name: String,
    role: Role,
    catalog: &access::Catalog,
) -> Result<Agent, KeyError> {
    check_finite(&format!("{key}.gain"), spec.gain)?;
    if !(spec.noise.is_finite() && spec.noise >= 0.0) {
        return err(format!("{key}.noise"), format!("must be a standard deviation >= 0, got {}", spec.noise));
    }
    check_probability(&format!("{key}.propagation"), spec.propagation)?;
    check_probability(&format!("{key}.susceptibility"), spec.susceptibility)?;
    if !(1..=crate::limits::MAX_SERVERS).contains(&spec.servers) {
        return err(
            format!("{key}.servers"),
            format!("expected 1 to {} servers, got {}", crate::limits::MAX_SERVERS, spec.servers),
        );
    }
    let hours = spec.hours.map(|h| compile_hours(&format!("{key}.hours"), h)).transpose()?;
    check_probability(&format!("{key}.memory.weight"), spec.memory.weight)?;
    if spec.memory.read > 32 {
        return err(format!("{key}.memory.read"), format!("must be at most 32 records, got {}", spec.memory.read));
    }
    let mut agent = Agent {
        name,
        role,
        service: spec.service,
        servers: spec.servers,
        hours,
        gain: spec.gain,
        noise: spec.noise,
        output: spec.output,
        action: false,
        action_resource: NONE,
        scope: 0,
        credential: NONE,
        sponsored: false,
        memory_write: spec.memory.write,
        memory_read: spec.memory.read,
        memory_weight: spec.memory.weight,
        propagation: spec.propagation,
        susceptibility: spec.susceptibility,
        routes: Vec::new(),
        misroute: 0.0,
        failover: false,
        join: None,
        check: None,
    };
    super::routing::compile_behaviour(key, spec, &mut agent)?;
    let access = access::AgentAccessSpec {
        action: &spec.action,
        scope: spec.scope.as_deref(),
        credential: spec.credential.as_deref(),
        sponsor: spec.sponsor.as_deref(),
    };
    catalog.resolve_agent(key, &access, &mut agent)?;
    Ok(agent)
}

/// Working hours: a shift within one day, on 1 to 7 days a week.
fn compile_hours(key: &str, spec: HoursSpec) -> Result<Hours, KeyError> {
    let (start, end) = (spec.start.0, spec.end.0);
    if !(start < end && end <= DAY) {
        return err(
            key.to_string(),
            format!(
                "expected start < end <= 24h (times of day), got start {} s and end {} s",
                format_seconds(start),
                format_seconds(end)
            ),
        );
    }
    if !(1..=7).contains(&spec.days) {
        return err(format!("{key}.days"), format!("expected 1 to 7 working days a week, got {}", spec.days));
    }
    Ok(Hours { start, end, days: spec.days })
}

pub(super) fn compile_explicit(
    agent_specs: &[AgentSpec],
    channel_specs: &[ChannelSpec],
    catalog: &access::Catalog,
) -> Result<(Vec<Agent>, Topology), KeyError> {
    let mut agents = Vec::with_capacity(agent_specs.len());
    let mut seen = BTreeMap::new();
    for (i, spec) in agent_specs.iter().enumerate() {
        let key = format!("agents[{i}]");
        let Some(id) = spec.id.clone() else {
            return err(format!("{key}.id"), "missing; expected a non-empty agent id");
        };
        check_id(&format!("{key}.id"), &id)?;
        if seen.insert(id.clone(), i).is_some() {
            return err(format!("{key}.id"), format!("duplicate agent id \"{id}\"; expected unique ids"));
        }
        agents.push(compile_agent(&key, spec, id, spec.role.unwrap_or(Role::Agent), catalog)?);
    }
    let names = Names { index: agents.iter().enumerate().map(|(i, a)| (a.name.clone(), i as u32)).collect() };
    let mut channels = Vec::with_capacity(channel_specs.len());
    let mut pairs = BTreeMap::new();
    for (i, spec) in channel_specs.iter().enumerate() {
        let key = format!("channels[{i}]");
        let from = names.lookup(&format!("{key}.from"), &spec.from)?;
        let to = names.lookup(&format!("{key}.to"), &spec.to)?;
        if from == to {
            return err(
                format!("{key}.to"),
                format!("a channel from {} to itself; expected another agent", shown(&spec.to)),
            );
        }
        if pairs.insert((from, to), i).is_some() {
            return err(key, format!("duplicate channel {} -> {}; expected one channel per pair", spec.from, spec.to));
        }
        check_probability(&format!("{key}.propagation"), spec.propagation)?;
        check_probability(&format!("{key}.trust"), spec.trust)?;
        channels.push(Channel { from, to, latency: spec.latency, propagation: spec.propagation, trust: spec.trust });
    }
    Ok((agents, Topology::Explicit(channels)))
}

pub(super) fn compile_generated(
    spec: TopologySpec,
    catalog: &access::Catalog,
) -> Result<(Vec<Agent>, Topology), KeyError> {
    if spec.agent.id.is_some() {
        return err("topology.agent.id", "generated agents are named n0, n1, ...; remove the id");
    }
    check_probability("topology.channel.propagation", spec.channel.propagation)?;
    check_probability("topology.channel.trust", spec.channel.trust)?;
    super::routing::refuse_generated("topology.agent", &spec.agent)?;
    let channel = Channel {
        from: 0,
        to: 0,
        latency: spec.channel.latency,
        propagation: spec.channel.propagation,
        trust: spec.channel.trust,
    };
    let template_role = spec.agent.role.unwrap_or(Role::Agent);
    let (generator, agents) = match spec.generator {
        GeneratorSpec::Layered { layers } => compile_layers(&layers, &spec.agent, catalog)?,
        other => {
            let generator = compile_generator(other)?;
            let n = crate::topology::agent_count(&generator);
            let template = compile_agent("topology.agent", &spec.agent, String::new(), template_role, catalog)?;
            let agents = (0..n).map(|i| Agent { name: format!("n{i}"), ..template.clone() }).collect();
            (generator, agents)
        }
    };
    Ok((agents, Topology::Generated { generator, channel, redraw: spec.redraw }))
}

const MAX_AGENTS: u64 = 50_000_000;

fn compile_generator(spec: GeneratorSpec) -> Result<Generator, KeyError> {
    let at_least = |key: &str, value: u32, min: u32| {
        if value < min {
            err(format!("topology.generator.{key}"), format!("must be at least {min}, got {value}"))
        } else {
            Ok(())
        }
    };
    let generator = match spec {
        GeneratorSpec::Chain { n } => {
            at_least("n", n, 1)?;
            Generator::Chain { n }
        }
        GeneratorSpec::KaryTree { k, depth } => {
            at_least("k", k, 1)?;
            let mut total: u64 = 1;
            let mut level: u64 = 1;
            for _ in 0..depth {
                level = level.saturating_mul(k as u64);
                total = total.saturating_add(level);
            }
            if total > MAX_AGENTS {
                return err(
                    "topology.generator.depth",
                    format!("a {k}-ary tree of depth {depth} has more than {MAX_AGENTS} agents"),
                );
            }
            Generator::KaryTree { k, depth }
        }
        GeneratorSpec::ErdosRenyi { n, mean_degree } => {
            at_least("n", n, 2)?;
            if !(mean_degree.is_finite() && mean_degree >= 0.0 && mean_degree <= (n - 1) as f64) {
                return err(
                    "topology.generator.mean_degree",
                    format!("must be between 0 and n - 1 = {}, got {mean_degree}", n - 1),
                );
            }
            Generator::ErdosRenyi { n, mean_degree }
        }
        GeneratorSpec::BarabasiAlbert { n, m } => {
            at_least("m", m, 1)?;
            if m >= n {
                return err("topology.generator.m", format!("must be less than n = {n}, got {m}"));
            }
            Generator::BarabasiAlbert { n, m }
        }
        GeneratorSpec::WattsStrogatz { n, k, beta } => {
            at_least("n", n, 3)?;
            if k == 0 || k % 2 == 1 || k >= n {
                return err(
                    "topology.generator.k",
                    format!("must be an even number of neighbours between 2 and n - 1, got {k}"),
                );
            }
            check_probability("topology.generator.beta", beta)?;
            Generator::WattsStrogatz { n, k, beta }
        }
        GeneratorSpec::Layered { .. } => unreachable!("layered topologies are compiled by compile_layers"),
    };
    if crate::topology::agent_count(&generator) as u64 > MAX_AGENTS {
        return err("topology.generator.n", format!("must be at most {MAX_AGENTS} agents"));
    }
    Ok(generator)
}

fn compile_layers(
    layers: &[LayerSpec],
    template: &AgentSpec,
    catalog: &access::Catalog,
) -> Result<(Generator, Vec<Agent>), KeyError> {
    if layers.is_empty() {
        return err("topology.generator.layers", "expected at least one layer");
    }
    let mut agents = Vec::new();
    let mut role_counts: BTreeMap<String, u32> = BTreeMap::new();
    for (l, layer) in layers.iter().enumerate() {
        let key = format!("topology.generator.layers[{l}]");
        if layer.count == 0 {
            return err(format!("{key}.count"), "must be at least 1 agent");
        }
        let spec = layer.agent.as_ref().unwrap_or(template);
        super::routing::refuse_generated(&format!("{key}.agent"), spec)?;
        if spec.id.is_some() {
            return err(format!("{key}.agent.id"), "generated agents are named by role; remove the id");
        }
        let prototype = compile_agent(&format!("{key}.agent"), spec, String::new(), layer.role, catalog)?;
        let role_name =
            serde_json::to_value(layer.role).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        for _ in 0..layer.count {
            let counter = role_counts.entry(role_name.clone()).or_default();
            agents.push(Agent { name: format!("{role_name}{counter}"), ..prototype.clone() });
            *counter += 1;
        }
    }
    if agents.len() as u64 > MAX_AGENTS {
        return err("topology.generator.layers", format!("must total at most {MAX_AGENTS} agents"));
    }
    let generator = Generator::Layered {
        sizes: layers.iter().map(|l| l.count).collect(),
        fanout: layers.iter().map(|l| l.fanout).collect(),
    };
    Ok((generator, agents))
}
