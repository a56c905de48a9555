//! Reading OTLP JSON into a compact table of spans.
//!
//! The input is the protobuf JSON mapping of `ExportTraceServiceRequest`,
//! as the OpenTelemetry Collector's file exporter writes it: one request
//! per line, or one document (pretty-printed or not), or a plain array of
//! spans. Field names may be lowerCamelCase (the OTLP form) or the proto's
//! snake_case; integers may be strings or numbers; enums numbers or names;
//! ids hex (OTLP) or base64 (protobuf's own JSON mapping).
//!
//! Only what the importer reads is kept, about 80 bytes a span whatever its
//! attributes: ids, times, status, the agent, tool and kind it names
//! (strings interned once), and its links. A trace's spans may come in any
//! order and in any request, so they are all held until the end; text is
//! read one request (line) at a time.

use crate::error::{Error, Result};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;

/// No index: a span without a parent, agent, tool or kind.
pub const NONE: u32 = u32::MAX;

/// What a span is, by the GenAI conventions (or OpenInference's and
/// OpenLLMetry's span kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `invoke_agent`: an agent's processing of one input.
    Agent,
    /// `execute_tool`: a tool call (an action, in the scenario).
    Tool,
    /// `invoke_workflow` or a chain: the orchestration around agents.
    Workflow,
    /// Anything else (chat, HTTP, a database call, a send).
    Other,
}

/// The OTLP span kinds the importer tells apart.
pub const KIND_PRODUCER: u8 = 4;

/// One span, compactly. Times are nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    /// Index into [`Spans::trace_ids`].
    pub trace: u32,
    pub id: u64,
    /// 0: a root span.
    pub parent_id: u64,
    pub start: u64,
    pub end: u64,
    pub op: Op,
    /// The OTLP span kind (0 unspecified, 1 internal, 2 server, 3 client,
    /// 4 producer, 5 consumer).
    pub kind: u8,
    pub error: bool,
    /// Interned names ([`Spans::names`]), `NONE` when absent.
    pub agent: u32,
    pub tool: u32,
    pub task_kind: u32,
    pub role: u32,
    /// `cascade.corrupted` when the span carries it (exported runs).
    pub corrupted: Option<bool>,
    /// A range of [`Spans::links`].
    pub links: (u32, u32),
}

/// Every span read, with the tables their indices point into.
#[derive(Debug, Default)]
pub struct Spans {
    pub spans: Vec<Span>,
    /// Linked spans: (trace index, span id).
    pub links: Vec<(u32, u64)>,
    /// Interned strings, in first-seen order.
    pub names: Vec<String>,
    pub trace_ids: Vec<[u8; 16]>,
    names_index: HashMap<String, u32>,
    traces_index: HashMap<[u8; 16], u32>,
}

impl Spans {
    /// The name an index stands for.
    pub fn name(&self, index: u32) -> &str {
        &self.names[index as usize]
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.names_index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.names_index.insert(name.to_string(), i);
        i
    }

    fn trace(&mut self, id: [u8; 16]) -> u32 {
        let next = self.trace_ids.len() as u32;
        *self.traces_index.entry(id).or_insert_with(|| {
            self.trace_ids.push(id);
            next
        })
    }
}

/// Reads every span of one input (`file` names it in errors), adding to
/// `spans`; at most `limit` spans in all.
pub fn read(file: &str, input: &mut dyn BufRead, spans: &mut Spans, limit: usize) -> Result<()> {
    let mut line = Vec::new();
    let mut number = 0usize;
    let mut documents = 0usize;
    loop {
        line.clear();
        let read =
            input.read_until(b'\n', &mut line).map_err(|e| Error::input(file, format!("cannot be read: {e}")))?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Document>(&line) {
            Ok(document) => add(file, &format!("line {number}"), document, spans, limit)?,
            Err(e) if e.is_eof() && documents == 0 => {
                // A document over several lines: the rest of the input is it.
                input.read_to_end(&mut line).map_err(|e| Error::input(file, format!("cannot be read: {e}")))?;
                return whole(file, &line, spans, limit);
            }
            Err(e) => return Err(syntax(file, &format!("line {number}"), &line, e)),
        }
        documents += 1;
    }
    if documents == 0 {
        return Err(Error::input(file, "is empty: expected OTLP JSON (an ExportTraceServiceRequest per line)"));
    }
    Ok(())
}

/// One or more documents that span lines.
fn whole(file: &str, text: &[u8], spans: &mut Spans, limit: usize) -> Result<()> {
    let stream = serde_json::Deserializer::from_slice(text).into_iter::<Document>();
    let mut index = 0;
    for next in stream {
        index += 1;
        let at = format!("document {index}");
        let document = next.map_err(|e| syntax(file, &at, text, e))?;
        add(file, &at, document, spans, limit)?;
    }
    Ok(())
}

/// A parse error, with the JSON path of the failing field (found by a
/// second, slower parse of the failing text only).
fn syntax(file: &str, at: &str, text: &[u8], error: serde_json::Error) -> Error {
    if error.is_syntax() || error.is_eof() {
        return Error::input(file, format!("{at}: not JSON ({error}): expected OTLP JSON"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let path = match serde_path_to_error::deserialize::<_, Document>(&mut deserializer) {
        Err(e) => e.path().to_string(),
        Ok(_) => String::new(),
    };
    let message = error.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message);
    Error::Input { file: file.to_string(), key: format!("{at}: {path}"), expected: format!("OTLP JSON: {message}") }
}

fn add(file: &str, at: &str, document: Document, spans: &mut Spans, limit: usize) -> Result<()> {
    match document {
        Document::Request(request) => {
            let Some(resource_spans) = request.resource_spans else {
                return Err(Error::input(
                    file,
                    format!(
                        "{at}: not OTLP traces: expected an object with `resourceSpans` (an ExportTraceServiceRequest)"
                    ),
                ));
            };
            for (r, resource) in resource_spans.into_iter().enumerate() {
                let service = resource.resource.and_then(|res| {
                    res.attributes.into_iter().find(|kv| kv.key == "service.name").and_then(|kv| kv.value.text())
                });
                for (s, scope) in resource.scope_spans.into_iter().enumerate() {
                    for (i, span) in scope.spans.into_iter().enumerate() {
                        let key = format!("{at}: resourceSpans[{r}].scopeSpans[{s}].spans[{i}]");
                        push(file, &key, span, service.as_deref(), spans, limit)?;
                    }
                }
            }
        }
        Document::Spans(list) => {
            for (i, span) in list.into_iter().enumerate() {
                push(file, &format!("{at}: [{i}]"), span, None, spans, limit)?;
            }
        }
    }
    Ok(())
}

/// Names an attribute may carry, in order of preference.
const AGENT_NAMES: [&str; 3] = ["gen_ai.agent.name", "agent.name", "gen_ai.agent.id"];
const TOOL_NAMES: [&str; 2] = ["gen_ai.tool.name", "tool.name"];
/// Attributes naming a task's kind or intent (what a router routes on).
pub const KIND_NAMES: [&str; 4] = ["cascade.task.kind", "task.kind", "task.intent", "intent"];

fn push(file: &str, key: &str, raw: RawSpan, service: Option<&str>, spans: &mut Spans, limit: usize) -> Result<()> {
    if spans.spans.len() >= limit {
        return Err(Error::input(
            file,
            format!(
                "has more than {limit} spans: too large to import in memory (import fewer traces, or a sample of them)"
            ),
        ));
    }
    let bad = |what: &str, expected: &str| Error::Input {
        file: file.to_string(),
        key: format!("{key}.{what}"),
        expected: expected.to_string(),
    };
    let trace = decode_id::<16>(&raw.trace_id).ok_or_else(|| bad("traceId", "a 16-byte id, 32 hex digits"))?;
    if trace == [0; 16] {
        return Err(bad("traceId", "a trace id that is not all zeros"));
    }
    let id = decode_id::<8>(&raw.span_id).ok_or_else(|| bad("spanId", "an 8-byte id, 16 hex digits"))?;
    let id = u64::from_be_bytes(id);
    if id == 0 {
        return Err(bad("spanId", "a span id that is not all zeros"));
    }
    let parent_id = match raw.parent_span_id.as_deref() {
        None | Some("") => 0,
        Some(text) => u64::from_be_bytes(
            decode_id::<8>(text).ok_or_else(|| bad("parentSpanId", "an 8-byte id, 16 hex digits, or empty"))?,
        ),
    };
    let (start, end) = (raw.start.0, raw.end.0);
    if end < start {
        return Err(bad("endTimeUnixNano", "a time at or after the span's start (clock skew?)"));
    }
    let mut fields = Fields::default();
    for kv in &raw.attributes {
        fields.read(kv);
    }
    // gen_ai.operation.name decides, whatever the attributes' order; then
    // OpenInference's or OpenLLMetry's kind; then the span's name.
    let op = fields
        .operation
        .or(fields.kind)
        .or_else(|| raw.name.starts_with("invoke_agent").then_some(Op::Agent))
        .unwrap_or(Op::Other);
    let agent_name = fields.agent.map(|(_, n)| n).or_else(|| {
        let from_name = raw.name.strip_prefix("invoke_agent ").filter(|n| !n.is_empty());
        (op == Op::Agent).then(|| from_name.map(str::to_string).or_else(|| service.map(str::to_string))).flatten()
    });
    if op == Op::Agent && agent_name.is_none() {
        return Err(bad(
            "attributes",
            "an agent span naming its agent (gen_ai.agent.name), or a resource service.name",
        ));
    }
    let trace = spans.trace(trace);
    let first_link = spans.links.len() as u32;
    for (l, link) in raw.links.iter().enumerate() {
        let linked =
            decode_id::<16>(&link.trace_id).ok_or_else(|| bad(&format!("links[{l}].traceId"), "a 16-byte id"))?;
        let span = decode_id::<8>(&link.span_id).ok_or_else(|| bad(&format!("links[{l}].spanId"), "an 8-byte id"))?;
        let linked = spans.trace(linked);
        spans.links.push((linked, u64::from_be_bytes(span)));
    }
    let intern = |spans: &mut Spans, name: Option<String>| name.map_or(NONE, |n| spans.intern(&n));
    let agent = if op == Op::Agent { intern(spans, agent_name) } else { NONE };
    let tool_name = || {
        let name = raw.name.strip_prefix("execute_tool ").unwrap_or(&raw.name);
        Some(fields.tool.clone().unwrap_or_else(|| if name.is_empty() { "tool".into() } else { name.to_string() }))
    };
    let tool = if op == Op::Tool { intern(spans, tool_name()) } else { NONE };
    let task_kind = intern(spans, fields.task_kind);
    let role = intern(spans, fields.role);
    spans.spans.push(Span {
        trace,
        id,
        parent_id,
        start,
        end,
        op,
        kind: raw.kind.0,
        error: raw.status.is_some_and(|s| s.code.0 == 2),
        agent,
        tool,
        task_kind,
        role,
        corrupted: fields.corrupted,
        links: (first_link, spans.links.len() as u32),
    });
    Ok(())
}

/// What a span's attributes say, read in one pass.
#[derive(Default)]
struct Fields {
    /// From `gen_ai.operation.name`.
    operation: Option<Op>,
    /// From `openinference.span.kind` or `traceloop.span.kind`, the first.
    kind: Option<Op>,
    /// The agent's name and the rank of the attribute it came from.
    agent: Option<(usize, String)>,
    tool: Option<String>,
    task_kind: Option<String>,
    role: Option<String>,
    corrupted: Option<bool>,
}

impl Fields {
    fn read(&mut self, kv: &KeyValue) {
        let key = kv.key.as_ref();
        if key == "cascade.corrupted" {
            self.corrupted = kv.value.bool_value;
            return;
        }
        let Some(text) = kv.value.text() else { return };
        match key {
            "gen_ai.operation.name" => self.operation = Some(operation(&text)),
            "openinference.span.kind" | "traceloop.span.kind" => {
                self.kind = self.kind.or_else(|| span_kind(&text.to_ascii_lowercase()))
            }
            "cascade.agent.role" => self.role = Some(text),
            _ => {
                if let Some(rank) = AGENT_NAMES.iter().position(|&n| n == key) {
                    if self.agent.as_ref().is_none_or(|(r, _)| rank < *r) {
                        self.agent = Some((rank, text));
                    }
                } else if TOOL_NAMES.contains(&key) {
                    self.tool.get_or_insert(text);
                } else if KIND_NAMES.contains(&key) {
                    self.task_kind.get_or_insert(text);
                }
            }
        }
    }
}

/// `gen_ai.operation.name`'s values.
fn operation(name: &str) -> Op {
    match name {
        "invoke_agent" => Op::Agent,
        "execute_tool" => Op::Tool,
        "invoke_workflow" => Op::Workflow,
        _ => Op::Other,
    }
}

/// OpenInference's and OpenLLMetry's span kinds, lower-cased.
fn span_kind(name: &str) -> Option<Op> {
    match name {
        "agent" => Some(Op::Agent),
        "tool" => Some(Op::Tool),
        "chain" | "workflow" => Some(Op::Workflow),
        _ => None,
    }
}

/// An id in hex (OTLP JSON) or base64 (protobuf's JSON mapping of bytes).
fn decode_id<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    if bytes.len() == 2 * N {
        for (i, pair) in bytes.chunks(2).enumerate() {
            let digit = |b: u8| (b as char).to_digit(16);
            out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        return Some(out);
    }
    base64(bytes, &mut out).then_some(out)
}

/// Standard base64 with padding into exactly `out.len()` bytes.
fn base64(text: &[u8], out: &mut [u8]) -> bool {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let trimmed: &[u8] = {
        let end = text.iter().rposition(|&c| c != b'=').map_or(0, |p| p + 1);
        &text[..end]
    };
    if trimmed.len() * 6 / 8 != out.len() || text.len() > trimmed.len() + 2 {
        return false;
    }
    let (mut bits, mut count, mut written) = (0u32, 0, 0);
    for &c in trimmed {
        let Some(v) = value(c) else { return false };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out[written] = (bits >> count) as u8;
            written += 1;
            bits &= (1 << count) - 1;
        }
    }
    written == out.len()
}

/// A request, or a plain array of spans: told apart by the first token,
/// so neither is buffered.
enum Document<'a> {
    Spans(Vec<RawSpan<'a>>),
    Request(Request<'a>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Document<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Document<'a>, D::Error> {
        struct Either<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Either<'a> {
            type Value = Document<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an ExportTraceServiceRequest object or an array of spans")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> std::result::Result<Document<'a>, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(seq)).map(Document::Spans)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Document<'a>, A::Error> {
                Request::deserialize(MapAccessDeserializer::new(map)).map(Document::Request)
            }
        }
        deserializer.deserialize_any(Either(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow, rename = "resourceSpans", alias = "resource_spans")]
    resource_spans: Option<Vec<ResourceSpans<'a>>>,
}

#[derive(Deserialize)]
struct ResourceSpans<'a> {
    #[serde(borrow, default)]
    resource: Option<Resource<'a>>,
    #[serde(borrow, default, rename = "scopeSpans", alias = "scope_spans")]
    scope_spans: Vec<ScopeSpans<'a>>,
}

#[derive(Deserialize)]
struct Resource<'a> {
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Deserialize)]
struct ScopeSpans<'a> {
    #[serde(borrow, default)]
    spans: Vec<RawSpan<'a>>,
}

#[derive(Deserialize)]
struct RawSpan<'a> {
    #[serde(borrow, rename = "traceId", alias = "trace_id")]
    trace_id: Cow<'a, str>,
    #[serde(borrow, rename = "spanId", alias = "span_id")]
    span_id: Cow<'a, str>,
    #[serde(borrow, default, rename = "parentSpanId", alias = "parent_span_id")]
    parent_span_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(default)]
    kind: Enum,
    #[serde(rename = "startTimeUnixNano", alias = "start_time_unix_nano")]
    start: Nanos,
    #[serde(rename = "endTimeUnixNano", alias = "end_time_unix_nano")]
    end: Nanos,
    #[serde(borrow, default)]
    attributes: Vec<KeyValue<'a>>,
    #[serde(borrow, default)]
    links: Vec<Link<'a>>,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
struct Link<'a> {
    #[serde(borrow, rename = "traceId", alias = "trace_id")]
    trace_id: Cow<'a, str>,
    #[serde(borrow, rename = "spanId", alias = "span_id")]
    span_id: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Enum,
}

#[derive(Deserialize)]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow, default)]
    value: AnyValue<'a>,
}

#[derive(Deserialize, Default)]
struct AnyValue<'a> {
    #[serde(borrow, default, rename = "stringValue", alias = "string_value")]
    string_value: Option<Cow<'a, str>>,
    #[serde(default, rename = "boolValue", alias = "bool_value")]
    bool_value: Option<bool>,
    #[serde(default, rename = "intValue", alias = "int_value")]
    int_value: Option<Nanos>,
}

impl AnyValue<'_> {
    /// A string attribute's text (an integer's digits).
    fn text(&self) -> Option<String> {
        match (&self.string_value, self.int_value) {
            (Some(s), _) => Some(s.to_string()),
            (None, Some(n)) => Some(n.0.to_string()),
            _ => None,
        }
    }
}

/// A uint64 as protobuf's JSON mapping writes it: a string of digits or a number.
#[derive(Clone, Copy, Default)]
struct Nanos(u64);

impl<'de> Deserialize<'de> for Nanos {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Nanos, D::Error> {
        struct Digits;
        impl Visitor<'_> for Digits {
            type Value = Nanos;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an unsigned integer, or a string of its digits")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<Nanos, E> {
                Ok(Nanos(n))
            }
            fn visit_str<E: de::Error>(self, t: &str) -> std::result::Result<Nanos, E> {
                t.parse().map(Nanos).map_err(|_| E::invalid_value(de::Unexpected::Str(t), &self))
            }
        }
        deserializer.deserialize_any(Digits)
    }
}

/// An enum as a number or as its name (`SPAN_KIND_PRODUCER`, `STATUS_CODE_ERROR`).
#[derive(Clone, Copy, Default)]
struct Enum(u8);

impl<'de> Deserialize<'de> for Enum {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Enum, D::Error> {
        const NAMES: [&str; 9] = [
            "SPAN_KIND_UNSPECIFIED",
            "SPAN_KIND_INTERNAL",
            "SPAN_KIND_SERVER",
            "SPAN_KIND_CLIENT",
            "SPAN_KIND_PRODUCER",
            "SPAN_KIND_CONSUMER",
            "STATUS_CODE_UNSET",
            "STATUS_CODE_OK",
            "STATUS_CODE_ERROR",
        ];
        struct Named;
        impl Visitor<'_> for Named {
            type Value = Enum;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a span kind or status code, as a number or its name")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<Enum, E> {
                u8::try_from(n).map(Enum).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &self))
            }
            fn visit_str<E: de::Error>(self, t: &str) -> std::result::Result<Enum, E> {
                match NAMES.iter().position(|&n| n == t) {
                    Some(i) if i < 6 => Ok(Enum(i as u8)),
                    Some(i) => Ok(Enum((i - 6) as u8)),
                    None => Err(E::invalid_value(de::Unexpected::Str(t), &self)),
                }
            }
        }
        deserializer.deserialize_any(Named)
    }
}
