//! What a table of spans says about the system that made them: its agents,
//! channels, sources, output rules, joins, checks, actions and timing,
//! each with its evidence.
//!
//! A task is a trace. An agent span's *upstream* is the nearest agent span
//! above it (through tool, chat, workflow or send spans), and the agent
//! spans it links to; each upstream agent has a channel to it. The span
//! just below the upstream agent's on the path is the *call*: the latency
//! is the call's duration when it is a producer span (an asynchronous
//! hand-off, the message in flight until it ends), else the time from the
//! call's start to the agent span's start. An agent span whose upstream
//! failed (status ERROR) was sent back by a check: a retry when its agent
//! already worked on the task, an escalation when not.

use super::fit::{self, Arrivals, Fit};
use super::otlp::{Op, Span, Spans, KIND_PRODUCER, NONE};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};

/// What the traces say about one agent.
#[derive(Clone, Debug)]
pub struct AgentFacts {
    pub name: String,
    /// `cascade.agent.role` when its spans carry one.
    pub role: Option<String>,
    pub spans: usize,
    pub errors: usize,
    /// Own time: each span's duration less the time its child agent spans
    /// overlap it.
    pub service: Fit,
    pub output: Output,
    /// Tools its spans called, most used first, with how many of its spans
    /// called each.
    pub tools: Vec<(String, usize)>,
    pub join: Option<JoinFacts>,
    pub check: Option<CheckFacts>,
}

/// How an agent's outputs were seen to go on.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// No agent span below any of its spans.
    Ends,
    /// To every out-channel each time (`sent` of `spans` spans that sent
    /// anything sent to all of them, the most common count).
    All { sent: usize, spans: usize },
    /// To `k` of its out-channels at random, each time.
    Random { k: usize, sent: usize, spans: usize },
    /// To one out-channel, at random.
    RandomOne { spans: usize },
    /// To one, in turn: out-channels in the order of the cycle.
    RoundRobin { order: Vec<usize>, matched: usize, spans: usize },
    /// To one chosen by the task's kind: (kind, receivers) per kind seen.
    /// Each route's receivers: the first, then its failovers.
    ByKind { routes: Vec<(String, Vec<usize>)>, matched: usize, spans: usize },
}

/// An agent that waits for several inputs of a task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JoinFacts {
    /// The most common number of upstream agents per span.
    pub inputs: usize,
    /// Spans with that many; spans with fewer (a timeout, or late inputs).
    pub spans: usize,
    pub fewer: usize,
}

/// A check: failed spans (status ERROR) sent back or on.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckFacts {
    pub failed: usize,
    /// The agent failed work went back to, and how often.
    pub retry: Option<(usize, usize)>,
    /// The most retries one task had from this check.
    pub max_retries: usize,
    pub escalate: Option<(usize, usize)>,
    /// Failures among corrupted and clean inputs, when spans say which
    /// were corrupted (`cascade.corrupted`): ((failed, of), (failed, of)).
    pub verdicts: Option<((usize, usize), (usize, usize))>,
}

/// A channel between two agents.
#[derive(Clone, Debug)]
pub struct ChannelFacts {
    pub from: usize,
    pub to: usize,
    /// Agent spans of `to` with `from` upstream.
    pub messages: usize,
    /// Of those, how many failed.
    pub errors: usize,
    /// Fitted to the calls' latencies; `None` when no call span was seen.
    pub latency: Option<Fit>,
    /// Whether the latency came from producer spans' durations.
    pub producer: bool,
}

/// Work entering at one agent: the traces whose first agent span is its.
#[derive(Clone, Debug)]
pub struct SourceFacts {
    pub target: usize,
    pub arrivals: Arrivals,
    /// Task kinds on its root spans, with counts, in name order.
    pub kinds: Vec<(String, usize)>,
}

/// Everything the importer learnt.
#[derive(Clone, Debug)]
pub struct System {
    pub spans: usize,
    pub traces: usize,
    /// From the first span's start to the last span's end, µs.
    pub window: u64,
    pub agents: Vec<AgentFacts>,
    pub channels: Vec<ChannelFacts>,
    pub sources: Vec<SourceFacts>,
    /// Links to spans the input does not have (ignored).
    pub dangling_links: usize,
}

/// An error about the spans as a whole (the caller names the files).
fn bad(key: String, expected: impl Into<String>) -> Error {
    Error::key(key, expected)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where each span sits: its parent and its nearest agent above.
struct Tree {
    parent: Vec<u32>,
    /// The nearest agent span above (NONE: a root agent span, or no agent above).
    upstream: Vec<u32>,
    /// The span just below `upstream` on the path (NONE when direct).
    call: Vec<u32>,
    /// The trace's topmost span above.
    root: Vec<u32>,
    index: HashMap<(u32, u64), u32>,
}

fn tree(spans: &Spans) -> Result<Tree> {
    let all = &spans.spans;
    let mut index = HashMap::with_capacity(all.len());
    for (i, s) in all.iter().enumerate() {
        if index.insert((s.trace, s.id), i as u32).is_some() {
            return Err(bad(span_key(spans, s), "span ids unique within a trace (this one appears twice)"));
        }
    }
    let mut parent = Vec::with_capacity(all.len());
    for s in all {
        parent.push(match s.parent_id {
            0 => NONE,
            id => match index.get(&(s.trace, id)) {
                Some(&p) => {
                    if all[p as usize].start > s.start {
                        return Err(bad(
                            span_key(spans, s),
                            "a span starting at or after its parent's start (it starts earlier: clock skew between services?)",
                        ));
                    }
                    p
                }
                None => {
                    return Err(bad(
                        span_key(spans, s),
                        format!(
                            "a parent in the input: its parent {id:016x} is missing (export whole traces, every span of each)"
                        ),
                    ))
                }
            },
        });
    }
    let n = all.len();
    let (mut upstream, mut call, mut root) = (vec![NONE; n], vec![NONE; n], vec![NONE; n]);
    for i in 0..n {
        let (mut below, mut at, mut steps) = (i as u32, parent[i], 0usize);
        while at != NONE && all[at as usize].op != Op::Agent {
            below = at;
            at = parent[at as usize];
            steps += 1;
            if steps > n {
                return Err(bad(span_key(spans, &all[i]), "parents that form a tree (they form a cycle)"));
            }
        }
        upstream[i] = at;
        if at != NONE && below != i as u32 {
            call[i] = below;
        }
    }
    // The root: the topmost span above (through agents too), each path walked once.
    let mut path = Vec::new();
    for (i, span) in all.iter().enumerate() {
        let mut at = i as u32;
        while root[at as usize] == NONE && parent[at as usize] != NONE {
            path.push(at);
            at = parent[at as usize];
            if path.len() > n {
                return Err(bad(span_key(spans, span), "parents that form a tree (they form a cycle)"));
            }
        }
        let top = if root[at as usize] == NONE { at } else { root[at as usize] };
        root[at as usize] = top;
        for &p in &path {
            root[p as usize] = top;
        }
        path.clear();
    }
    Ok(Tree { parent, upstream, call, root, index })
}

fn span_key(spans: &Spans, s: &Span) -> String {
    format!("trace {} span {:016x}", hex(&spans.trace_ids[s.trace as usize]), s.id)
}

/// Infers the system. `spans` must hold at least one agent span.
pub fn infer(spans: &Spans) -> Result<System> {
    let all = &spans.spans;
    let tree = tree(spans)?;
    let agent_spans: Vec<u32> = (0..all.len() as u32).filter(|&i| all[i as usize].op == Op::Agent).collect();
    if agent_spans.is_empty() {
        return Err(bad(
            "spans".into(),
            "agent spans: none has gen_ai.operation.name = \"invoke_agent\" (or an OpenInference / OpenLLMetry agent kind)",
        ));
    }
    // Agents by name, in name order.
    let sorted: std::collections::BTreeSet<&str> =
        agent_spans.iter().map(|&i| spans.name(all[i as usize].agent)).collect();
    let names: BTreeMap<&str, usize> = sorted.into_iter().enumerate().map(|(k, n)| (n, k)).collect();
    let agent_of = |i: u32| names[spans.name(all[i as usize].agent)];
    let t0 = all.iter().map(|s| s.start).min().unwrap_or(0);
    let t_end = all.iter().map(|s| s.end).max().unwrap_or(0);
    let us = |ns: u64| (ns + 500) / 1000;

    // Upstream agent spans of each agent span: its nearest above, then its links'.
    let mut dangling_links = 0;
    let mut edges: Vec<Edge> = Vec::new();
    for &c in &agent_spans {
        let s = &all[c as usize];
        let up = tree.upstream[c as usize];
        if up != NONE {
            edges.push(Edge { from: up, to: c, call: tree.call[c as usize] });
        }
        for &(trace, id) in &spans.links[s.links.0 as usize..s.links.1 as usize] {
            let Some(&linked) = tree.index.get(&(trace, id)) else {
                dangling_links += 1;
                continue;
            };
            let (from, call) = if all[linked as usize].op == Op::Agent {
                (linked, NONE)
            } else {
                let above = tree.upstream[linked as usize];
                let below = if tree.call[linked as usize] == NONE { linked } else { tree.call[linked as usize] };
                (above, below)
            };
            if from != NONE && from != up {
                edges.push(Edge { from, to: c, call });
            }
        }
    }

    let agents_n = names.len();
    let mut facts = Facts::new(agents_n);
    // First start of each agent in each trace: a later span of it after a failure is a retry.
    let mut first_in_trace: HashMap<(u32, usize), u64> = HashMap::new();
    for &c in &agent_spans {
        let s = &all[c as usize];
        let e = first_in_trace.entry((s.trace, agent_of(c))).or_insert(s.start);
        *e = (*e).min(s.start);
    }
    let mut channel_map: BTreeMap<(usize, usize), ChannelSamples> = BTreeMap::new();
    let mut children: Vec<(u32, usize)> = Vec::new();
    let mut upstream_count: Vec<(u32, usize)> = Vec::new();
    let mut retries_per_task: BTreeMap<(usize, u32), usize> = BTreeMap::new();
    for e in &edges {
        let (from, to) = (&all[e.from as usize], &all[e.to as usize]);
        let (a, b) = (agent_of(e.from), agent_of(e.to));
        upstream_count.push((e.to, a));
        if from.error {
            let earlier = first_in_trace[&(to.trace, b)] < to.start;
            let check = facts.checks.entry(a).or_default();
            if earlier {
                *check.retry.entry(b).or_default() += 1;
                *retries_per_task.entry((a, to.trace)).or_default() += 1;
            } else {
                *check.escalate.entry(b).or_default() += 1;
            }
            continue;
        }
        children.push((e.from, b));
        let samples = channel_map.entry((a, b)).or_default();
        samples.messages += 1;
        samples.errors += usize::from(to.error);
        if e.call != NONE {
            let call = &all[e.call as usize];
            let latency = if call.kind == KIND_PRODUCER {
                samples.producer += 1;
                call.end - call.start
            } else if to.start >= call.start {
                to.start - call.start
            } else {
                return Err(bad(
                    span_key(spans, to),
                    "an agent span starting after the call that invoked it (it starts earlier: clock skew?)",
                ));
            };
            samples.latencies.push(us(latency));
        }
    }

    // Own time: duration less the union of its direct child agent spans.
    let mut nested: Vec<(u32, u64, u64)> = agent_spans
        .iter()
        .filter(|&&c| tree.upstream[c as usize] != NONE && tree.parent[c as usize] != NONE)
        .map(|&c| (tree.upstream[c as usize], all[c as usize].start, all[c as usize].end))
        .collect();
    nested.sort_unstable();
    let mut overlap: HashMap<u32, u64> = HashMap::new();
    for group in nested.chunk_by(|x, y| x.0 == y.0) {
        let p = &all[group[0].0 as usize];
        let (mut covered, mut reach) = (0u64, p.start);
        for &(_, start, end) in group {
            let (start, end) = (start.max(reach).min(p.end), end.min(p.end));
            if end > start {
                covered += end - start;
                reach = end;
            }
        }
        overlap.insert(group[0].0, covered);
    }
    for &c in &agent_spans {
        let s = &all[c as usize];
        let a = agent_of(c);
        let own = s.end - s.start - overlap.get(&c).copied().unwrap_or(0);
        facts.service[a].push(us(own));
        facts.spans[a] += 1;
        facts.errors[a] += usize::from(s.error);
        if s.role != NONE && facts.role[a].is_none() {
            facts.role[a] = Some(spans.name(s.role).to_string());
        }
        if let Some(corrupted) = s.corrupted {
            let v = &mut facts.verdicts[a];
            let slot = if corrupted { &mut v.0 } else { &mut v.1 };
            slot.0 += usize::from(s.error);
            slot.1 += 1;
        }
    }
    // Tools: each agent span's distinct tools below it.
    let mut tool_uses: Vec<(u32, u32)> = (0..all.len())
        .filter(|&i| all[i].op == Op::Tool && tree.upstream[i] != NONE)
        .map(|i| (tree.upstream[i], all[i].tool))
        .collect();
    tool_uses.sort_unstable();
    tool_uses.dedup();
    for &(span, tool) in &tool_uses {
        *facts.tools[agent_of(span)].entry(spans.name(tool).to_string()).or_default() += 1;
    }

    // Fan-out per span, then the output rule per agent.
    children.sort_unstable();
    children.dedup();
    upstream_count.sort_unstable();
    upstream_count.dedup();
    let outs: Vec<Vec<usize>> =
        (0..agents_n).map(|a| channel_map.keys().filter(|&&(f, _)| f == a).map(|&(_, t)| t).collect()).collect();
    let mut by_span: Vec<Vec<(u32, Vec<usize>)>> = vec![Vec::new(); agents_n];
    for group in children.chunk_by(|x, y| x.0 == y.0) {
        by_span[agent_of(group[0].0)].push((group[0].0, group.iter().map(|&(_, b)| b).collect()));
    }
    let mut agents = Vec::with_capacity(agents_n);
    let mut joins_in: Vec<Vec<usize>> = vec![Vec::new(); agents_n];
    for group in upstream_count.chunk_by(|x, y| x.0 == y.0) {
        joins_in[agent_of(group[0].0)].push(group.len());
    }
    for (&name, &a) in &names {
        let mut sent = std::mem::take(&mut by_span[a]);
        sent.sort_by_key(|(span, _)| (all[*span as usize].start, *span));
        let check = facts.checks.remove(&a).map(|c| CheckFacts {
            failed: facts.errors[a],
            retry: most(&c.retry),
            max_retries: retries_per_task.range((a, 0)..=(a, u32::MAX)).map(|(_, &n)| n).max().unwrap_or(0),
            escalate: most(&c.escalate),
            verdicts: (facts.verdicts[a].0 .1 + facts.verdicts[a].1 .1 > 0).then_some(facts.verdicts[a]),
        });
        let mut tools: Vec<(String, usize)> = std::mem::take(&mut facts.tools[a]).into_iter().collect();
        tools.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
        agents.push(AgentFacts {
            name: name.to_string(),
            role: facts.role[a].take(),
            spans: facts.spans[a],
            errors: facts.errors[a],
            service: fit::durations(&facts.service[a]),
            output: output(&outs[a], &sent, |span| all[span as usize].task_kind, spans),
            tools,
            join: join(&joins_in[a], facts.spans[a]),
            check,
        });
    }
    let channels = channel_map
        .into_iter()
        .map(|((from, to), s)| ChannelFacts {
            from,
            to,
            messages: s.messages,
            errors: s.errors,
            producer: s.producer > 0,
            latency: (!s.latencies.is_empty()).then(|| fit::durations(&s.latencies)),
        })
        .collect();
    let window = us(t_end - t0).max(1);
    let sources = sources(spans, &tree, &agent_spans, &agent_of, agents_n, t0, window);
    Ok(System { spans: all.len(), traces: spans.trace_ids.len(), window, agents, channels, sources, dangling_links })
}

struct Edge {
    from: u32,
    to: u32,
    call: u32,
}

#[derive(Default)]
struct ChannelSamples {
    messages: usize,
    errors: usize,
    producer: usize,
    latencies: Vec<u64>,
}

#[derive(Default)]
struct CheckSamples {
    retry: BTreeMap<usize, usize>,
    escalate: BTreeMap<usize, usize>,
}

/// Per-agent accumulators.
struct Facts {
    service: Vec<Vec<u64>>,
    spans: Vec<usize>,
    errors: Vec<usize>,
    role: Vec<Option<String>>,
    tools: Vec<BTreeMap<String, usize>>,
    verdicts: Vec<((usize, usize), (usize, usize))>,
    checks: BTreeMap<usize, CheckSamples>,
}

impl Facts {
    fn new(n: usize) -> Facts {
        Facts {
            service: vec![Vec::new(); n],
            spans: vec![0; n],
            errors: vec![0; n],
            role: vec![None; n],
            tools: vec![BTreeMap::new(); n],
            verdicts: vec![((0, 0), (0, 0)); n],
            checks: BTreeMap::new(),
        }
    }
}

/// The most frequent key (the smallest on a tie) and its count.
fn most(counts: &BTreeMap<usize, usize>) -> Option<(usize, usize)> {
    counts.iter().fold(None, |best, (&k, &n)| match best {
        Some((_, m)) if m >= n => best,
        _ => Some((k, n)),
    })
}

/// The most common value of a list and how often it occurs (the larger on a tie).
fn mode(values: impl Iterator<Item = usize>) -> Option<(usize, usize)> {
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    counts.into_iter().fold(None, |best, (v, n)| match best {
        Some((_, m)) if m > n => best,
        _ => Some((v, n)),
    })
}

/// A share of at least 90% of the spans that sent something decides a rule.
fn decisive(matched: usize, of: usize) -> bool {
    of > 0 && matched * 10 >= of * 9
}

/// The output rule of an agent with out-channels `outs`, from the
/// receivers of each of its spans that sent anything (in start order).
fn output(outs: &[usize], sent: &[(u32, Vec<usize>)], kind: impl Fn(u32) -> u32, spans: &Spans) -> Output {
    let Some((k, with_k)) = mode(sent.iter().map(|(_, r)| r.len())) else { return Output::Ends };
    let n = sent.len();
    if outs.len() == 1 || k == outs.len() {
        return Output::All { sent: with_k, spans: n };
    }
    if k >= 2 {
        return Output::Random { k, sent: with_k, spans: n };
    }
    // One receiver per span: by kind, in turn, or at random.
    let picks: Vec<(u32, usize)> = sent.iter().map(|(span, r)| (kind(*span), r[0])).collect();
    if let Some((routes, matched)) = by_kind(&picks) {
        let mut routes: Vec<(String, Vec<usize>)> =
            routes.into_iter().map(|(k, to)| (spans.name(k).to_string(), to)).collect();
        routes.sort();
        return Output::ByKind { routes, matched, spans: n };
    }
    let mut next: BTreeMap<usize, BTreeMap<usize, usize>> = BTreeMap::new();
    for pair in picks.windows(2) {
        *next.entry(pair[0].1).or_default().entry(pair[1].1).or_default() += 1;
    }
    let successor: BTreeMap<usize, usize> = next.iter().map(|(&a, c)| (a, most(c).unwrap().0)).collect();
    let matched: usize = picks.windows(2).filter(|p| successor.get(&p[0].1) == Some(&p[1].1)).count();
    let mut order = vec![picks[0].1];
    while let Some(&to) = successor.get(order.last().unwrap()) {
        if to == order[0] || order.len() > outs.len() {
            break;
        }
        order.push(to);
    }
    let cycle = order.len() == outs.len() && successor.get(order.last().unwrap()) == Some(&order[0]);
    if cycle && picks.len() >= 3 && decisive(matched, picks.len() - 1) {
        return Output::RoundRobin { order, matched, spans: n };
    }
    Output::RandomOne { spans: n }
}

/// A kind (interned) and its receivers, the first then its failovers.
type Route = (u32, Vec<usize>);

/// Routing by kind, with failover: each kind's receivers in the order of
/// their first use (the first its route's target, later ones its
/// failovers), picks of another kind's first receiver set aside as
/// misroutes. It is routing when every kind has a kind, misroutes are at
/// most a quarter of the picks, each kind's picks switch receiver rarely
/// (at most 2 + 5% of them: a failover lasts, a random pick does not), and
/// two kinds or more have different first receivers.
fn by_kind(picks: &[(u32, usize)]) -> Option<(Vec<Route>, usize)> {
    let mut per_kind: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &(kind, to) in picks {
        per_kind.entry(kind).or_default().push(to);
    }
    if per_kind.contains_key(&NONE) || per_kind.len() < 2 {
        return None;
    }
    let firsts: std::collections::BTreeSet<usize> = per_kind.values().map(|seq| seq[0]).collect();
    if firsts.len() < 2 {
        return None;
    }
    let (mut routes, mut matched) = (Vec::new(), 0);
    for (&kind, seq) in &per_kind {
        let own: Vec<usize> = seq.iter().copied().filter(|&to| to == seq[0] || !firsts.contains(&to)).collect();
        let switches = own.windows(2).filter(|w| w[0] != w[1]).count();
        if switches > 2 + own.len() / 20 {
            return None;
        }
        let mut list: Vec<usize> = Vec::new();
        for &to in &own {
            if !list.contains(&to) && list.len() < crate::limits::MAX_ROUTE_TARGETS {
                list.push(to);
            }
        }
        matched += own.len();
        routes.push((kind, list));
    }
    (matched * 4 >= picks.len() * 3).then_some((routes, matched))
}

/// A join when most of an agent's spans have two or more upstream agents.
fn join(counts: &[usize], spans: usize) -> Option<JoinFacts> {
    let (inputs, with) = mode(counts.iter().copied())?;
    (inputs >= 2).then(|| JoinFacts {
        inputs,
        spans: with,
        fewer: spans - counts.iter().filter(|&&c| c >= inputs).count(),
    })
}

/// Sources: per agent whose spans begin traces, the trace roots' starts.
fn sources(
    spans: &Spans,
    tree: &Tree,
    agent_spans: &[u32],
    agent_of: &dyn Fn(u32) -> usize,
    agents_n: usize,
    t0: u64,
    window: u64,
) -> Vec<SourceFacts> {
    let all = &spans.spans;
    let mut times: Vec<Vec<u64>> = vec![Vec::new(); agents_n];
    let mut kinds: Vec<Vec<(String, usize)>> = vec![Vec::new(); agents_n];
    for &c in agent_spans {
        if tree.upstream[c as usize] != NONE {
            continue;
        }
        let a = agent_of(c);
        let root = &all[tree.root[c as usize] as usize];
        times[a].push((root.start - t0 + 500) / 1000);
        let kind = all[c as usize].task_kind;
        if kind != NONE {
            let name = spans.name(kind);
            match kinds[a].iter_mut().find(|(k, _)| k == name) {
                Some(entry) => entry.1 += 1,
                None => kinds[a].push((name.to_string(), 1)),
            }
        }
    }
    let mut out = Vec::new();
    for (a, (mut times, mut kinds)) in times.into_iter().zip(kinds).enumerate() {
        if !times.is_empty() {
            times.sort_unstable();
            kinds.sort();
            out.push(SourceFacts { target: a, arrivals: fit::arrivals(&times, window), kinds });
        }
    }
    out
}
