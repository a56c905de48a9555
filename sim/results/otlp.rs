//! A replayed run as OpenTelemetry traces: OTLP JSON, one
//! `ExportTraceServiceRequest` per task (trace) per line, as the
//! Collector's file exporter writes them, so the run opens in Jaeger,
//! Grafana Tempo or any OTLP tool, and `cascade import otel` reads it back.
//!
//! Per task: a root `invoke_workflow` span at the source's emission; per
//! agent's processing of an input, an `invoke_agent` span from its service
//! start to its end (GenAI attributes, and `cascade.*` ground truth); per
//! message on a channel, a producer `send` span from the send to the
//! arrival (the latency; the receiver's span is its child, so the gap
//! between them is the wait in the queue); per action, an `execute_tool`
//! span. A join's span is the child of its first input's send and links the
//! others'; a retry's or an escalation's is the child of the failed check's
//! span, which has status ERROR. Rejections, sanitising, trips, caps,
//! quarantines, blocked and denied actions are span events.
//!
//! Ids and times are derived from the run alone (trace id: run and task;
//! span ids: creation order; time zero at `epoch`), so the bytes are the
//! same for the same run.

use crate::engine::{Detail, Replayed, TraceKind, TraceRow};
use crate::import::ACTION_TOOL;
use crate::model::{Model, NONE, NO_FAULT, NO_KIND};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Span kinds (OTLP's enum).
const INTERNAL: u8 = 1;
const PRODUCER: u8 = 4;

/// Attributes: OTLP keys and their `AnyValue`s.
type Attributes = Vec<(&'static str, Value)>;

/// A span event: its time, name and attributes.
type Event = (u64, &'static str, Attributes);

struct Span {
    task: u32,
    id: u64,
    parent: u64,
    name: String,
    kind: u8,
    start: u64,
    /// `None`: still open at the horizon.
    end: Option<u64>,
    attributes: Vec<(&'static str, Value)>,
    events: Vec<Event>,
    links: Vec<u64>,
    error: bool,
}

/// What the run's spans are keyed by while they are built.
#[derive(Default)]
struct Builder {
    spans: Vec<Span>,
    /// The span a message hangs from: its send span, or a source
    /// message's task root.
    sent: HashMap<u32, usize>,
    /// The processing span of each input.
    processed: HashMap<u32, usize>,
    /// Inputs a joining agent accepted for a task, not yet joined.
    pending: HashMap<(u32, u32), Vec<u32>>,
    /// A join's inputs, by the joined message.
    joined: HashMap<u32, Vec<u32>>,
    /// Per agent: the message it last sanitised and that message's parent
    /// (the cleaned copy it processes has that parent).
    sanitised: HashMap<u32, (u32, u32)>,
}

impl Builder {
    fn open(&mut self, task: u32, parent: Option<usize>, name: String, kind: u8, start: u64) -> usize {
        let parent = parent.map_or(0, |p| self.spans[p].id);
        let id = self.spans.len() as u64 + 1;
        self.spans.push(Span {
            task,
            id,
            parent,
            name,
            kind,
            start,
            end: None,
            attributes: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
            error: false,
        });
        self.spans.len() - 1
    }

    /// The span a message delivered to `agent` hangs from.
    fn source_of(&self, agent: u32, message: u32, parent: u32) -> Option<usize> {
        self.sent.get(&message).copied().or_else(|| {
            let &(original, original_parent) = self.sanitised.get(&agent)?;
            (original_parent == parent).then(|| self.sent.get(&original).copied()).flatten()
        })
    }
}

/// Options of the export.
#[derive(Clone, Copy, Debug)]
pub struct OtlpOptions {
    /// The seed and replication, recorded on the resource and in the trace ids.
    pub seed: u64,
    pub run: u64,
    /// Unix seconds that simulated time zero maps to.
    pub epoch: u64,
}

/// The run as OTLP JSON lines.
pub fn otlp_jsonl(model: &Model, replayed: &Replayed, options: OtlpOptions) -> Vec<u8> {
    let mut b = Builder::default();
    for row in &replayed.trace {
        step(model, replayed, &mut b, row);
    }
    let horizon = model.horizon;
    let mut by_task: Vec<Vec<usize>> = Vec::new();
    for (i, span) in b.spans.iter().enumerate() {
        let task = span.task as usize;
        if by_task.len() <= task {
            by_task.resize(task + 1, Vec::new());
        }
        by_task[task].push(i);
    }
    // A task's root lasts until its last span ends.
    for spans in &by_task {
        let last = spans.iter().map(|&i| b.spans[i].end.unwrap_or(horizon)).max().unwrap_or(0);
        if let Some(&root) = spans.first().filter(|&&r| b.spans[r].parent == 0 && b.spans[r].kind == INTERNAL) {
            b.spans[root].end = Some(last.max(b.spans[root].start));
        }
    }
    let epoch_ns = options.epoch.saturating_mul(1_000_000_000);
    let mut out = Vec::new();
    for (task, spans) in by_task.iter().enumerate().filter(|(_, s)| !s.is_empty()) {
        let trace_id = format!("{:016x}{:016x}", options.run, task as u64 + 1);
        let mut ordered = spans.clone();
        ordered.sort_by_key(|&i| (b.spans[i].start, b.spans[i].id));
        let json_spans: Vec<Value> =
            ordered.iter().map(|&i| span_json(&b.spans[i], &trace_id, epoch_ns, horizon)).collect();
        let request = json!({
            "resourceSpans": [{
                "resource": {"attributes": [
                    attribute("service.name", json!({"stringValue": model.name})),
                    attribute("cascade.seed", json!({"intValue": options.seed.to_string()})),
                    attribute("cascade.run", json!({"intValue": options.run.to_string()})),
                ]},
                "scopeSpans": [{
                    "scope": {"name": "cascade", "version": env!("CARGO_PKG_VERSION")},
                    "spans": json_spans,
                }],
            }],
        });
        serde_json::to_writer(&mut out, &request).expect("in-memory write");
        out.push(b'\n');
    }
    out
}

fn attribute(key: &str, value: Value) -> Value {
    json!({"key": key, "value": value})
}

fn text(value: impl Into<String>) -> Value {
    json!({"stringValue": value.into()})
}

fn integer(value: u64) -> Value {
    json!({"intValue": value.to_string()})
}

fn double(value: f64) -> Value {
    json!({"doubleValue": value})
}

fn boolean(value: bool) -> Value {
    json!({"boolValue": value})
}

fn nanos(epoch_ns: u64, us: u64) -> String {
    epoch_ns.saturating_add(us.saturating_mul(1000)).to_string()
}

fn span_json(span: &Span, trace_id: &str, epoch_ns: u64, horizon: u64) -> Value {
    let mut value = json!({
        "traceId": trace_id,
        "spanId": format!("{:016x}", span.id),
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": nanos(epoch_ns, span.start),
        "endTimeUnixNano": nanos(epoch_ns, span.end.unwrap_or(horizon).max(span.start)),
        "attributes": span.attributes.iter().map(|(k, v)| attribute(k, v.clone())).collect::<Vec<_>>(),
        "status": if span.error { json!({"code": 2}) } else { json!({}) },
    });
    if span.parent != 0 {
        value["parentSpanId"] = json!(format!("{:016x}", span.parent));
    }
    if !span.events.is_empty() {
        value["events"] = span
            .events
            .iter()
            .map(|(t, name, attributes)| {
                json!({
                    "timeUnixNano": nanos(epoch_ns, *t),
                    "name": name,
                    "attributes": attributes.iter().map(|(k, v)| attribute(k, v.clone())).collect::<Vec<_>>(),
                })
            })
            .collect();
    }
    if !span.links.is_empty() {
        value["links"] =
            span.links.iter().map(|l| json!({"traceId": trace_id, "spanId": format!("{l:016x}")})).collect();
    }
    value
}

fn name(model: &Model, agent: u32) -> String {
    model.agents.get(agent as usize).map_or_else(String::new, |a| a.name.clone())
}

/// What a row says about the corruption it concerns.
fn truth(model: &Model, row: &TraceRow) -> Vec<(&'static str, Value)> {
    let mut out = vec![("cascade.corrupted", boolean(row.root != NO_FAULT))];
    if row.root != NO_FAULT {
        out.push(("cascade.root_fault", text(model.faults[row.root as usize].name.clone())));
        out.push(("cascade.shift", double(row.shift)));
    }
    out
}

/// The event a row is on a span, if it is one.
fn event_name(kind: TraceKind) -> Option<&'static str> {
    use TraceKind::*;
    Some(match kind {
        RejectInvalid => "reject_invalid",
        RejectOpen => "reject_open",
        Sanitise => "sanitise",
        DropDuplicate => "drop_duplicate",
        Lost => "lost",
        JoinLate => "join_late",
        Alert => "alert",
        Hold => "hold",
        Capped => "capped",
        Quarantine => "quarantine",
        Misroute => "misroute",
        Compromise => "compromise",
        Hallucinate => "hallucinate",
        MemoryRead => "memory_read_corrupted",
        RecordWrite => "record_write",
        _ => return None,
    })
}

/// The task's kind, as an attribute, if it has one.
fn task_kind(model: &Model, replayed: &Replayed, task: u32) -> Option<(&'static str, Value)> {
    let &kind = replayed.task_kinds.get(task as usize).filter(|&&k| k != NO_KIND)?;
    Some(("cascade.task.kind", text(model.kinds[kind as usize].clone())))
}

fn step(model: &Model, replayed: &Replayed, b: &mut Builder, row: &TraceRow) {
    let agent_name = name(model, row.agent);
    match row.kind {
        TraceKind::SourceEmit => {
            let root = b.open(row.task, None, "invoke_workflow task".into(), INTERNAL, row.time);
            b.spans[root].end = Some(row.time);
            let mut attributes = vec![
                ("gen_ai.operation.name", text("invoke_workflow")),
                ("cascade.task", integer(u64::from(row.task))),
            ];
            attributes.extend(task_kind(model, replayed, row.task));
            b.spans[root].attributes = attributes;
            b.sent.insert(row.message, root);
        }
        TraceKind::Send => {
            let Detail::Peer(to) = row.detail else { return };
            let parent = b.processed.get(&row.parent).copied();
            let span = b.open(row.task, parent, format!("send {}", name(model, to)), PRODUCER, row.time);
            let mut attributes = vec![
                ("messaging.destination.name", text(name(model, to))),
                ("cascade.channel", text(format!("{agent_name}->{}", name(model, to)))),
            ];
            attributes.extend(truth(model, row));
            b.spans[span].attributes = attributes;
            b.sent.insert(row.message, span);
        }
        TraceKind::Accept => {
            arrive(b, row);
            if model.agents[row.agent as usize].join.is_some() {
                b.pending.entry((row.agent, row.task)).or_default().push(row.message);
            }
        }
        TraceKind::Join | TraceKind::JoinTimeout => {
            let inputs = b.pending.remove(&(row.agent, row.task)).unwrap_or_default();
            b.joined.insert(row.message, inputs);
        }
        TraceKind::Process => {
            process(model, b, row, agent_name);
            let span = b.spans.len() - 1;
            b.spans[span].attributes.extend(task_kind(model, replayed, row.task));
        }
        TraceKind::CheckFail => {
            if let Some(&span) = b.processed.get(&row.message) {
                b.spans[span].error = true;
                b.spans[span].attributes.push(("cascade.verdict", text("fail")));
            }
        }
        TraceKind::Action | TraceKind::ActionDenied | TraceKind::ActionBlocked => {
            let Some(&parent) = b.processed.get(&row.message) else { return };
            let tool = match row.detail {
                Detail::Resource(r) if r != NONE => model.resources[r as usize].name.clone(),
                _ => ACTION_TOOL.to_string(),
            };
            let span = b.open(row.task, Some(parent), format!("execute_tool {tool}"), INTERNAL, row.time);
            b.spans[span].end = Some(row.time);
            b.spans[span].attributes =
                vec![("gen_ai.operation.name", text("execute_tool")), ("gen_ai.tool.name", text(tool))];
            if row.kind != TraceKind::Action {
                b.spans[span].error = true;
                let what = if row.kind == TraceKind::ActionDenied { "action_denied" } else { "action_blocked" };
                b.spans[span].events.push((row.time, what, Vec::new()));
            }
        }
        kind => {
            let Some(event) = event_name(kind) else { return };
            if kind == TraceKind::Sanitise {
                b.sanitised.insert(row.agent, (row.message, row.parent));
            }
            if matches!(
                kind,
                TraceKind::RejectInvalid
                    | TraceKind::RejectOpen
                    | TraceKind::Sanitise
                    | TraceKind::DropDuplicate
                    | TraceKind::Lost
                    | TraceKind::JoinLate
            ) {
                arrive(b, row);
            }
            let span = match kind {
                // On the sender's span: the message it would have sent.
                TraceKind::Capped | TraceKind::Misroute => b.processed.get(&row.message).copied(),
                _ => b.sent.get(&row.message).or_else(|| b.processed.get(&row.message)).copied(),
            };
            if let Some(span) = span {
                let mut attributes = vec![("cascade.agent", text(agent_name))];
                if let Detail::Peer(peer) = row.detail {
                    attributes.push(("cascade.peer", text(name(model, peer))));
                }
                attributes.extend(truth(model, row));
                b.spans[span].events.push((row.time, event, attributes));
            }
        }
    }
}

/// A message reached its receiver: its send span ends.
fn arrive(b: &mut Builder, row: &TraceRow) {
    if let Some(&span) = b.sent.get(&row.message) {
        let span = &mut b.spans[span];
        if span.kind == PRODUCER && span.end.is_none() {
            span.end = Some(row.time);
        }
    }
}

fn process(model: &Model, b: &mut Builder, row: &TraceRow, agent_name: String) {
    let spec = &model.agents[row.agent as usize];
    let (parent, links) = match b.joined.remove(&row.message) {
        Some(inputs) if !inputs.is_empty() => {
            let spans: Vec<usize> = inputs.iter().filter_map(|&m| b.source_of(row.agent, m, NONE)).collect();
            (spans.first().copied(), spans.iter().skip(1).map(|&s| b.spans[s].id).collect())
        }
        _ => {
            let parent =
                b.source_of(row.agent, row.message, row.parent).or_else(|| b.processed.get(&row.parent).copied());
            (parent, Vec::new())
        }
    };
    let span = b.open(row.task, parent, format!("invoke_agent {agent_name}"), INTERNAL, row.started);
    b.spans[span].end = Some(row.time);
    b.spans[span].links = links;
    let mut attributes = vec![
        ("gen_ai.operation.name", text("invoke_agent")),
        ("gen_ai.agent.name", text(agent_name)),
        ("cascade.agent.role", text(spec.role.name())),
        ("cascade.task", integer(u64::from(row.task))),
        ("cascade.signal", double(row.signal)),
    ];
    attributes.extend(truth(model, row));
    if spec.check.is_some() {
        attributes.push(("cascade.check", boolean(true)));
    }
    b.spans[span].attributes = attributes;
    b.processed.insert(row.message, span);
}
