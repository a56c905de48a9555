//! The scenario text of an inferred system, every number with a comment
//! naming its evidence, and commented faults and mitigations to fill in.

use super::fit::{Arrivals, Family, Fit};
use super::infer::{AgentFacts, ChannelFacts, Output, SourceFacts, System};
use super::ACTION_TOOL;
use crate::dist::Dist;
use crate::limits;
use crate::model::Role;
use std::collections::BTreeSet;
use std::fmt::Write;

/// A name as a scenario id: characters outside `A-Z a-z 0-9 _ - . :`
/// become `_`, a leading `.` is dropped, at most 64 characters; `taken`
/// makes it unique with a `_2`, `_3`... suffix.
pub fn id(name: &str, taken: &mut BTreeSet<String>) -> String {
    let mut base: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "_-.:".contains(c) { c } else { '_' })
        .collect::<String>()
        .trim_start_matches('.')
        .chars()
        .take(limits::MAX_ID_CHARS - 4)
        .collect();
    if base.is_empty() {
        base = "agent".into();
    }
    let mut candidate = base.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{base}_{n}");
        n += 1;
    }
    candidate
}

/// A whole number of microseconds in the shortest exact unit.
pub fn duration(us: u64) -> String {
    if us == 0 {
        "0s".into()
    } else if us % 1_000_000 == 0 {
        format!("{}s", us / 1_000_000)
    } else if us % 1000 == 0 || us >= 1000 {
        let ms = format!("{}.{:03}", us / 1000, us % 1000);
        format!("{}ms", ms.trim_end_matches('0').trim_end_matches('.'))
    } else {
        format!("{us}us")
    }
}

/// Microseconds for people: "40.12 ms", "3.5 s".
fn readable(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.4} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.4} ms", us / 1e3)
    } else {
        format!("{us:.1} us")
    }
}

fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A TOML string (the toml crate's own quoting and escapes).
fn quoted(text: &str) -> String {
    toml::Value::String(text.into()).to_string()
}

/// A comment's text on one line (names from traces may hold anything).
fn plain(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// A fitted distribution as scenario syntax.
fn dist(fit: &Fit) -> String {
    match fit.dist {
        Dist::Fixed(v) => quoted(&duration(v)),
        Dist::Exponential { mean } => {
            format!("{{ dist = \"exponential\", mean = \"{}\" }}", duration((mean.round() as u64).max(1)))
        }
        Dist::LogNormal { .. } => {
            let median = fit.params[0].value.round().max(1.0) as u64;
            format!("{{ dist = \"lognormal\", median = \"{}\", sigma = {:.4} }}", duration(median), fit.params[1].value)
        }
        Dist::Uniform { min, max } => {
            format!("{{ dist = \"uniform\", min = \"{}\", max = \"{}\" }}", duration(min), duration(max))
        }
    }
}

/// The evidence for a fit, as comment lines.
fn evidence(out: &mut String, what: &str, of: &str, fit: &Fit) {
    if fit.family == Family::Fixed {
        let _ = writeln!(out, "# {what}: {of}, all {}: fixed", readable(fit.params[0].value));
        return;
    }
    let aics: Vec<String> = fit.candidates.iter().map(|c| format!("{} {:.1}", c.family.name(), c.aic)).collect();
    let _ = writeln!(
        out,
        "# {what}: {of}; {} by maximum likelihood, least AIC ({}); KS distance {:.4}",
        fit.family.name(),
        aics.join(", "),
        fit.ks
    );
    let params: Vec<String> = fit
        .params
        .iter()
        .map(|p| {
            if p.name == "sigma" {
                format!("sigma {:.4} [{:.4}, {:.4}]", p.value, p.low, p.high)
            } else {
                format!("{} {} [{}, {}]", p.name, readable(p.value), readable(p.low), readable(p.high))
            }
        })
        .collect();
    let _ = writeln!(out, "#   {} (95% intervals)", params.join(", "));
}

/// What the importer is told besides the spans.
pub struct Labels<'a> {
    /// The scenario's name (an id).
    pub name: &'a str,
    /// The input files, as given.
    pub files: &'a [String],
}

/// The scenario text.
pub fn scenario(system: &System, labels: &Labels) -> String {
    let mut taken = BTreeSet::new();
    let ids: Vec<String> = system.agents.iter().map(|a| id(&a.name, &mut taken)).collect();
    // A tool most of an agent's spans call is its action, on a resource
    // named after the tool (one per tool, whoever calls it).
    let mut resource_names = BTreeSet::new();
    let mut resource_of: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    let actions: Vec<Option<String>> = system
        .agents
        .iter()
        .map(|a| {
            let (tool, _) = a.tools.first().filter(|(_, n)| n * 2 >= a.spans)?;
            if tool == ACTION_TOOL {
                return Some(ACTION_TOOL.to_string());
            }
            Some(resource_of.entry(tool).or_insert_with(|| id(tool, &mut resource_names)).clone())
        })
        .collect();
    let mut out = String::new();
    header(&mut out, system, labels);
    for (a, action) in actions.iter().enumerate() {
        agent_table(&mut out, system, a, &ids, action.as_deref());
    }
    let mut resources: Vec<&String> = actions.iter().flatten().filter(|a| *a != ACTION_TOOL).collect();
    resources.sort();
    resources.dedup();
    for name in resources {
        let _ = writeln!(out, "[[resources]]\nname = {}", quoted(name));
        let _ =
            writeln!(out, "access = \"write\"   # traces do not say: a tool an agent calls for every input is taken");
        let _ = writeln!(out, "                   # as a side effect; set \"read\" for a lookup\n");
    }
    for channel in channels_in_order(system) {
        channel_table(&mut out, channel, &ids);
    }
    let mut source_ids = BTreeSet::new();
    for source in &system.sources {
        source_table(&mut out, source, &ids, &mut source_ids);
    }
    let first = system.sources.first().map_or(0, |s| s.target);
    footer(&mut out, &ids[first], horizon(system) / 4);
    out
}

fn header(out: &mut String, system: &System, labels: &Labels) {
    let files: Vec<String> = labels.files.iter().map(|f| plain(f)).collect();
    let _ = writeln!(out, "# Imported by `cascade import otel` from {}:", files.join(", "));
    let _ = writeln!(
        out,
        "# {} spans in {} traces: {} agents, {} channels, {} sources.",
        count(system.spans),
        count(system.traces),
        system.agents.len(),
        system.channels.len(),
        system.sources.len()
    );
    let _ = writeln!(out, "# Every number names its evidence. Traces show structure and timing, not what goes");
    let _ = writeln!(out, "# wrong or what guards it: fill in the [[faults]] and [mitigations] at the end.");
    if system.dangling_links > 0 {
        let _ =
            writeln!(out, "# {} span links point to spans not in the input and were ignored.", system.dangling_links);
    }
    let _ = writeln!(out, "name = {}", quoted(labels.name));
    let _ = writeln!(
        out,
        "description = {}",
        quoted(&format!("Imported from {} traces of {} agents", system.traces, system.agents.len()))
    );
    let horizon = horizon(system);
    let _ = writeln!(
        out,
        "horizon = \"{}\"   # the traces' window ({}, first span start to last span end), rounded up",
        duration(horizon),
        readable(system.window as f64)
    );
    let quiet = (horizon / 10).div_ceil(1_000_000).max(1) * 1_000_000;
    let quiet = if quiet >= horizon { horizon / 10 } else { quiet };
    let _ = writeln!(
        out,
        "quiet_window = \"{}\"   # a tenth of the horizon: how long \"contained\" must hold\n",
        duration(quiet)
    );
}

fn agent_table(out: &mut String, system: &System, a: usize, ids: &[String], action: Option<&str>) {
    let agent = &system.agents[a];
    let _ = writeln!(out, "[[agents]]");
    let note =
        if ids[a] == agent.name { String::new() } else { format!("   # named {:?} in the traces", plain(&agent.name)) };
    let _ = writeln!(out, "id = {}{note}", quoted(&ids[a]));
    if let Some(role) = agent.role.as_deref().filter(|&r| Role::ALL.iter().any(|known| known.name() == r)) {
        let _ = writeln!(out, "role = {}   # cascade.agent.role", quoted(role));
    }
    let errors = if agent.errors > 0 { format!(", {} with status ERROR", count(agent.errors)) } else { String::new() };
    let _ = writeln!(out, "# {} agent spans{errors}", count(agent.spans));
    let of = format!("own time of {} spans (less their child agent spans)", count(agent.spans));
    evidence(out, "service", &of, &agent.service);
    let _ = writeln!(out, "service = {}", dist(&agent.service));
    output_rule(out, system, agent, a, ids);
    match (action, agent.tools.first()) {
        (Some(ACTION_TOOL), Some((_, n))) => {
            let _ = writeln!(
                out,
                "action = true   # an action on no named resource in {} of {} spans",
                count(*n),
                count(agent.spans)
            );
        }
        (Some(resource), Some((tool, n))) => {
            let _ = writeln!(
                out,
                "action = {}   # tool {:?} called in {} of {} spans",
                quoted(resource),
                plain(tool),
                count(*n),
                count(agent.spans)
            );
        }
        (None, Some((tool, n))) => {
            let _ = writeln!(
                out,
                "# tool {:?} called in {} of {} spans only: not an action per input",
                plain(tool),
                n,
                agent.spans
            );
        }
        _ => {}
    }
    for (tool, n) in agent.tools.iter().skip(1) {
        let _ =
            writeln!(out, "# also tool {:?} in {} spans (an agent has one action resource)", plain(tool), count(*n));
    }
    if let Some(join) = agent.join {
        let ins = system.channels.iter().filter(|c| c.to == a).count();
        let sourced = system.sources.iter().any(|s| s.target == a);
        if ins >= 2 && !sourced && join.inputs <= ins {
            let inputs = if join.inputs == ins { "\"all\"".to_string() } else { join.inputs.to_string() };
            let _ = writeln!(
                out,
                "join = {{ inputs = {inputs} }}   # {} spans with {} upstream agents, {} with fewer (a timeout or late \
                 inputs: add timeout); combine is not in traces (mean)",
                count(join.spans),
                join.inputs,
                count(join.fewer)
            );
        } else {
            let _ = writeln!(
                out,
                "# {} spans have {} upstream agents, but a join needs 2 or more in-channels and no source",
                join.spans, join.inputs
            );
        }
    }
    if let Some(check) = &agent.check {
        check_key(out, check, ids);
    }
    out.push('\n');
}

fn output_rule(out: &mut String, system: &System, agent: &AgentFacts, a: usize, ids: &[String]) {
    let outs = system.channels.iter().filter(|c| c.from == a).count();
    match &agent.output {
        Output::Ends => {}
        Output::All { sent, spans } if outs > 1 => {
            let _ = writeln!(
                out,
                "output = \"all\"   # {} of {} spans that sent anything sent to all {outs} receivers",
                count(*sent),
                count(*spans)
            );
        }
        Output::All { .. } => {}
        Output::Random { k, sent, spans } => {
            let _ = writeln!(
                out,
                "output = {{ random = {k} }}   # {} of {} spans sent to {k} of {outs} receivers",
                count(*sent),
                count(*spans)
            );
        }
        Output::RandomOne { spans } => {
            let _ = writeln!(
                out,
                "output = \"random_one\"   # {} spans each sent to one of {outs}, in no fixed turn or kind",
                count(*spans)
            );
        }
        Output::RoundRobin { matched, spans, .. } => {
            let _ = writeln!(out, "output = \"round_robin\"   # {} spans each sent to one of {outs}; {} of the next picks followed the turn", count(*spans), count(*matched));
        }
        Output::ByKind { routes, matched, spans } => {
            let _ = writeln!(
                out,
                "output = \"by_kind\"   # {} spans each sent to one receiver; {} followed their task's kind",
                count(*spans),
                count(*matched)
            );
            let _ = writeln!(out, "routes = [");
            let kinds: BTreeSet<&str> =
                system.sources.iter().flat_map(|s| s.kinds.iter().map(|(k, _)| k.as_str())).collect();
            for (kind, to) in routes {
                let names: Vec<String> = to.iter().map(|&t| quoted(&ids[t])).collect();
                let to = if names.len() == 1 { names[0].clone() } else { format!("[{}]", names.join(", ")) };
                if kinds.contains(kind.as_str()) {
                    let _ = writeln!(out, "  {{ kind = {}, to = {to} }},", quoted(kind));
                } else {
                    let _ = writeln!(out, "  # kind {:?} (to {to}) is on no source's task", plain(kind));
                }
            }
            let _ = writeln!(out, "]");
        }
    }
}

fn check_key(out: &mut String, check: &super::infer::CheckFacts, ids: &[String]) {
    let (detect, false_fail, why) = match check.verdicts {
        Some(((fc, c), (fk, k))) => (
            if c > 0 { fc as f64 / c as f64 } else { 0.0 },
            if k > 0 { fk as f64 / k as f64 } else { 0.0 },
            format!("failed {fc} of {c} corrupted and {fk} of {k} clean inputs (cascade.corrupted)"),
        ),
        None => (
            1.0,
            0.0,
            format!(
                "{} failed spans; traces do not say which inputs were bad: set detect and false_fail",
                check.failed
            ),
        ),
    };
    let mut parts = vec![format!("detect = {detect:.4}"), format!("false_fail = {false_fail:.4}")];
    let mut notes = vec![why];
    if let Some((to, n)) = check.retry {
        parts.push(format!("retry = {}", quoted(&ids[to])));
        parts.push(format!("max_retries = {}", check.max_retries.clamp(1, limits::MAX_RETRIES as usize)));
        notes.push(format!("{n} retries to {}, at most {} for one task", ids[to], check.max_retries));
    }
    if let Some((to, n)) = check.escalate {
        parts.push(format!("escalate = {}", quoted(&ids[to])));
        notes.push(format!("{n} escalations to {}", ids[to]));
    }
    let _ = writeln!(out, "# check: {}", notes.join("; "));
    let _ = writeln!(out, "check = {{ {} }}", parts.join(", "));
}

/// Channels by sender, a round robin's in its turn's order.
fn channels_in_order(system: &System) -> Vec<&ChannelFacts> {
    let mut ordered = Vec::new();
    for (a, agent) in system.agents.iter().enumerate() {
        let mut from: Vec<&ChannelFacts> = system.channels.iter().filter(|c| c.from == a).collect();
        if let Output::RoundRobin { order, .. } = &agent.output {
            from.sort_by_key(|c| order.iter().position(|&t| t == c.to));
        }
        ordered.extend(from);
    }
    ordered
}

fn channel_table(out: &mut String, channel: &ChannelFacts, ids: &[String]) {
    let _ = writeln!(out, "[[channels]]\nfrom = {}\nto = {}", quoted(&ids[channel.from]), quoted(&ids[channel.to]));
    let errors = if channel.errors > 0 { format!(", {} failed", count(channel.errors)) } else { String::new() };
    let _ = writeln!(
        out,
        "# {} messages (agent spans of {} with {} upstream){errors}",
        count(channel.messages),
        ids[channel.to],
        ids[channel.from]
    );
    match &channel.latency {
        Some(fit) => {
            let of = if channel.producer {
                format!("duration of {} producer (send) spans", count(fit.n))
            } else {
                format!("{} calls, call start to agent span start", count(fit.n))
            };
            evidence(out, "latency", &of, fit);
            let _ = writeln!(out, "latency = {}", dist(fit));
        }
        None => {
            let _ = writeln!(out, "# latency: no call span between the agents' spans, so none is measured: 0");
        }
    }
    out.push('\n');
}

fn source_table(out: &mut String, source: &SourceFacts, ids: &[String], taken: &mut BTreeSet<String>) {
    let target = &ids[source.target];
    let _ =
        writeln!(out, "[[sources]]\nid = {}\ntarget = {}", quoted(&id(&format!("to_{target}"), taken)), quoted(target));
    match source.arrivals {
        Arrivals::Periodic { start, period } => {
            let _ = writeln!(
                out,
                "# traces begin at {target} every {} (gaps within 1% of their mean)",
                readable(period as f64)
            );
            let _ = writeln!(out, "arrival = {{ process = \"periodic\", period = \"{}\" }}", duration(period.max(1)));
            let _ = writeln!(out, "start = \"{}\"", duration(start));
        }
        Arrivals::Poisson { per_second, low, high, n, window } => {
            let _ = writeln!(
                out,
                "# {} traces begin at {target} in {}: Poisson, {:.6}/s [{:.6}, {:.6}] (95%, exact)",
                count(n),
                readable(window as f64),
                per_second,
                low,
                high
            );
            let rate = per_second.clamp(1e-9, limits::MAX_PER_SECOND);
            let _ = writeln!(out, "arrival = {{ process = \"poisson\", per_second = {} }}", significant(rate));
        }
    }
    let _ = writeln!(
        out,
        "# traces carry no signal: 100 +- 2 is a neutral scale; faults' shifts and validation thresholds are read against it"
    );
    let _ = writeln!(out, "signal = {{ mean = 100.0, sd = 2.0 }}");
    if !source.kinds.is_empty() {
        let total: usize = source.kinds.iter().map(|k| k.1).sum();
        let _ = writeln!(out, "kinds = [   # the task kinds on its {} root spans", count(total));
        // Shares in millionths, the last what the others leave, so the
        // printed decimals sum to 1.
        let mut left = 1_000_000u64;
        for (i, (kind, n)) in source.kinds.iter().enumerate() {
            let share = if i + 1 == source.kinds.len() {
                left
            } else {
                ((*n as u64 * 1_000_000 + total as u64 / 2) / total as u64).clamp(1, left - 1)
            };
            left -= share;
            let _ = writeln!(
                out,
                "  {{ name = {}, share = {}.{:06} }},   # {}",
                quoted(kind),
                share / 1_000_000,
                share % 1_000_000,
                count(*n)
            );
        }
        let _ = writeln!(out, "]");
    }
    out.push('\n');
}

/// A rate with six significant digits.
fn significant(x: f64) -> String {
    let digits = (5 - libm::floor(libm::log10(x)) as i32).max(0) as usize;
    let text = format!("{x:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// The horizon: the traces' window rounded up to whole seconds.
fn horizon(system: &System) -> u64 {
    system.window.div_ceil(1_000_000).max(1) * 1_000_000
}

fn footer(out: &mut String, first: &str, start: u64) {
    let start = duration(start);
    let _ = writeln!(
        out,
        "# What can go wrong: traces do not show faults. Uncomment and edit one or more\n\
         # (docs/scenarios.md, \"Faults\"; docs/model.md, \"Injections\").\n\
         #\n\
         # [[faults]]\n\
         # kind = \"prompt_injection\"\n\
         # agent = \"{first}\"\n\
         # start = \"{start}\"\n\
         # probability = 0.3\n\
         # shift = -30.0\n\
         # replicate = true\n\
         #\n\
         # [[faults]]\n\
         # kind = \"hallucination\"\n\
         # rate = 0.01\n\
         # shift = 25.0\n\
         #\n\
         # What guards it: mitigations are off until configured (docs/mitigations.md).\n\
         #\n\
         # [mitigations.validation]\n\
         # detector = \"zscore\"\n\
         # threshold = 3.0\n\
         #\n\
         # [mitigations.breaker]\n\
         # mode = \"seed\"\n\
         #\n\
         # [mitigations.review]\n\
         # delay = {{ dist = \"lognormal\", median = \"10m\", sigma = 0.5 }}\n\
         # provenance = true"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_ids_and_durations_are_written_as_the_format_reads_them() {
        for text in ["plain", "a\"b\\c", "tab\there", "é ünï", "line\nbreak"] {
            let parsed: toml::Table = toml::from_str(&format!("k = {}", quoted(text))).unwrap();
            assert_eq!(parsed["k"].as_str(), Some(text));
        }
        let mut taken = BTreeSet::new();
        assert_eq!(id("Support Agent", &mut taken), "Support_Agent");
        assert_eq!(id("Support Agent", &mut taken), "Support_Agent_2");
        assert_eq!(id(".hidden", &mut taken), "hidden");
        assert_eq!(id("", &mut taken), "agent");
        assert!(crate::limits::id(&id(&"x".repeat(200), &mut taken)).is_ok());
        for us in [0, 7, 999, 1000, 1500, 40_123, 1_000_000, 2_500_000, 3_600_000_000] {
            assert_eq!(crate::time::parse_duration(&duration(us)), Ok(us), "{us}");
        }
        assert_eq!(
            (duration(40_123), duration(2_000_000), duration(7)),
            ("40.123ms".into(), "2s".into(), "7us".into())
        );
        assert_eq!((significant(0.502297123), significant(1234567.0)), ("0.502297".into(), "1234567".into()));
        assert_eq!(count(1234567), "1,234,567");
    }
}
