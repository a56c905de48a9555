//! Task kinds and routers: the kinds a source draws (`sources[].kinds`)
//! and an agent's table (`routes`, `misroute`, `failover`).

use super::format::{AgentSpec, SourceSpec};
use super::{check_id, check_probability, err, KeyError, Names};
use crate::limits::{self, shown};
use crate::model::{Agent, Channel, OutputRule, Route, Source, NO_KIND};

/// How far a source's shares may sum from 1.
const SHARE_SUM_TOLERANCE: f64 = 1e-9;

/// The kinds every source draws, named in order of first appearance; each
/// source's `kinds` becomes cumulative shares over them.
pub(super) fn compile_kinds(specs: &[SourceSpec], sources: &mut [Source]) -> Result<Vec<String>, KeyError> {
    let mut kinds: Vec<String> = Vec::new();
    for (i, (spec, source)) in specs.iter().zip(sources.iter_mut()).enumerate() {
        let mut total = 0.0;
        for (j, kind) in spec.kinds.iter().enumerate() {
            let key = format!("sources[{i}].kinds[{j}]");
            check_id(&format!("{key}.name"), &kind.name)?;
            if !(kind.share.is_finite() && kind.share > 0.0) {
                return err(format!("{key}.share"), format!("must be a share > 0, got {}", kind.share));
            }
            if spec.kinds[..j].iter().any(|k| k.name == kind.name) {
                return err(
                    format!("{key}.name"),
                    format!("kind {} given twice; expected each once", shown(&kind.name)),
                );
            }
            let index = match kinds.iter().position(|k| *k == kind.name) {
                Some(index) => index,
                None if kinds.len() < limits::MAX_KINDS => {
                    kinds.push(kind.name.clone());
                    kinds.len() - 1
                }
                None => return err(format!("{key}.name"), format!("expected at most {} kinds", limits::MAX_KINDS)),
            };
            total += kind.share;
            source.kinds.push((index as u16, total));
        }
        if !spec.kinds.is_empty() && (total - 1.0).abs() > SHARE_SUM_TOLERANCE {
            return err(format!("sources[{i}].kinds"), format!("shares must sum to 1, got {total}"));
        }
        // The last share ends at 1 exactly, so every draw in [0, 1) has a kind.
        if let Some(last) = source.kinds.last_mut() {
            last.1 = 1.0;
        }
    }
    Ok(kinds)
}

/// `misroute` and `failover` of any agent; they mean nothing to a generated
/// agent's `routes`, which need named receivers.
pub(super) fn compile_behaviour(key: &str, spec: &AgentSpec, agent: &mut Agent) -> Result<(), KeyError> {
    agent.misroute = check_probability(&format!("{key}.misroute"), spec.misroute)?;
    agent.failover = spec.failover.unwrap_or(spec.output.routes());
    if !spec.output.routes() && !spec.routes.is_empty() {
        return err(format!("{key}.routes"), "only a router routes; set output = \"by_kind\" or \"by_signal\"");
    }
    if !spec.output.routes() && spec.misroute > 0.0 {
        return err(format!("{key}.misroute"), "only a router misroutes; set output = \"by_kind\" or \"by_signal\"");
    }
    if let OutputRule::Random(k) = spec.output {
        if k == 0 {
            return err(format!("{key}.output.random"), "expected at least 1 out-channel per output, got 0");
        }
        if spec.failover == Some(true) {
            return err(format!("{key}.failover"), "{ random = k } picks among all out-channels; remove failover");
        }
    }
    Ok(())
}

/// A generated agent cannot route or join: its receivers and senders have
/// no names to list.
pub(super) fn refuse_generated(key: &str, spec: &AgentSpec) -> Result<(), KeyError> {
    if spec.output.routes() {
        return err(format!("{key}.output"), "a router needs named receivers; list its agents in [[agents]]");
    }
    if spec.check.is_some() {
        return err(format!("{key}.check"), "a check needs named producers; list its agents in [[agents]]");
    }
    if spec.join.is_some() {
        return err(format!("{key}.join"), "a join needs named in-channels; list its agents in [[agents]]");
    }
    Ok(())
}

/// Each router's table: `routes` checked and resolved to channels.
pub(super) fn compile_routes(
    specs: &[AgentSpec],
    agents: &mut [Agent],
    channels: &[Channel],
    names: &Names,
    kinds: &[String],
) -> Result<(), KeyError> {
    for (i, spec) in specs.iter().enumerate() {
        if !spec.output.routes() {
            continue;
        }
        let key = format!("agents[{i}].routes");
        if spec.routes.is_empty() || spec.routes.len() > limits::MAX_ROUTES {
            return err(key, format!("expected 1 to {} routes {{ kind or below, to }}", limits::MAX_ROUTES));
        }
        let mut table = Vec::with_capacity(spec.routes.len());
        for j in 0..spec.routes.len() {
            let (kind, below) = route_match(&format!("{key}[{j}]"), spec, j, kinds, &table)?;
            let to = route_channels(&format!("{key}[{j}].to"), spec, j, i as u32, channels, names)?;
            table.push(Route { kind, below, channels: to });
        }
        agents[i].routes = table;
    }
    Ok(())
}

/// What route `j` matches: a kind (`by_kind`) or a signal below a bound
/// (`by_signal`); only the last may match everything.
fn route_match(
    key: &str,
    spec: &AgentSpec,
    j: usize,
    kinds: &[String],
    before: &[Route],
) -> Result<(u16, f64), KeyError> {
    let route = &spec.routes[j];
    let last = j + 1 == spec.routes.len();
    match spec.output {
        OutputRule::ByKind => {
            if route.below.is_some() {
                return err(format!("{key}.below"), "a by_kind route matches a kind; remove below");
            }
            let Some(name) = &route.kind else {
                return if last {
                    Ok((NO_KIND, f64::INFINITY))
                } else {
                    err(format!("{key}.kind"), "missing; only the last route may match any kind")
                };
            };
            let Some(kind) = kinds.iter().position(|k| k == name) else {
                let expected = if kinds.is_empty() {
                    "expected a kind a source gives (sources[].kinds)".to_string()
                } else {
                    format!("expected one of {}", kinds.join(", "))
                };
                return err(format!("{key}.kind"), format!("unknown kind {}; {expected}", shown(name)));
            };
            if before.iter().any(|r| r.kind == kind as u16) {
                return err(
                    format!("{key}.kind"),
                    format!("kind {} routed twice; expected one route per kind", shown(name)),
                );
            }
            Ok((kind as u16, f64::INFINITY))
        }
        _ => {
            if route.kind.is_some() {
                return err(format!("{key}.kind"), "a by_signal route matches a signal; remove kind");
            }
            let Some(below) = route.below else {
                return if last {
                    Ok((NO_KIND, f64::INFINITY))
                } else {
                    err(format!("{key}.below"), "missing; only the last route may match any signal")
                };
            };
            let previous = before.last().map_or(f64::NEG_INFINITY, |r| r.below);
            if !(below.is_finite() && below > previous) {
                return err(
                    format!("{key}.below"),
                    format!("must be finite and above the route before's, got {below}"),
                );
            }
            Ok((NO_KIND, below))
        }
    }
}

/// The channels from agent `from` to route `j`'s receivers, in order.
fn route_channels(
    key: &str,
    spec: &AgentSpec,
    j: usize,
    from: u32,
    channels: &[Channel],
    names: &Names,
) -> Result<Vec<u32>, KeyError> {
    let ids = spec.routes[j].to.ids();
    if ids.is_empty() || ids.len() > limits::MAX_ROUTE_TARGETS {
        return err(key, format!("expected 1 to {} agent ids", limits::MAX_ROUTE_TARGETS));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let to = names.lookup(key, id)?;
        let Some(c) = channels.iter().position(|c| c.from == from && c.to == to) else {
            return err(
                key,
                format!(
                    "no channel from {} to {}; expected a channel to each receiver",
                    shown(spec.id.as_deref().unwrap_or("")),
                    shown(id)
                ),
            );
        };
        if out.contains(&(c as u32)) {
            return err(key, format!("{} listed twice", shown(id)));
        }
        out.push(c as u32);
    }
    Ok(out)
}
