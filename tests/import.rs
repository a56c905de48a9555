//! `cascade import otel` on traces built here, span by span: each rule of
//! the importer (structure, output rules, joins, checks, sources, timing)
//! against traces whose system is known, and every kind of bad input.

use cascade::import::{otlp, Import};
use cascade::model::{OutputRule, Topology};
use cascade::{dist::Dist, scenario};
use serde_json::{json, Value};

/// Traces under construction: spans of one request per trace.
#[derive(Default)]
struct Traces {
    traces: Vec<Vec<Value>>,
    next_id: u64,
}

const EPOCH: u64 = 1_700_000_000_000_000_000;

fn ms(t: f64) -> String {
    (EPOCH + (t * 1e6) as u64).to_string()
}

impl Traces {
    fn trace(&mut self) -> usize {
        self.traces.push(Vec::new());
        self.traces.len() - 1
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A span: `attributes` as (key, string value) pairs.
    fn span(
        &mut self,
        trace: usize,
        parent: Option<u64>,
        name: &str,
        kind: u8,
        (start, end): (f64, f64),
        attributes: &[(&str, &str)],
    ) -> u64 {
        let id = self.id();
        let mut span = json!({
            "traceId": format!("{:032x}", trace + 1),
            "spanId": format!("{id:016x}"),
            "name": name,
            "kind": kind,
            "startTimeUnixNano": ms(start),
            "endTimeUnixNano": ms(end),
            "attributes": attributes.iter().map(|(k, v)| json!({"key": k, "value": {"stringValue": v}})).collect::<Vec<_>>(),
        });
        if let Some(p) = parent {
            span["parentSpanId"] = json!(format!("{p:016x}"));
        }
        self.traces[trace].push(span);
        id
    }

    fn agent(&mut self, trace: usize, parent: Option<u64>, agent: &str, at: (f64, f64), extra: &[(&str, &str)]) -> u64 {
        let mut attributes = vec![("gen_ai.operation.name", "invoke_agent"), ("gen_ai.agent.name", agent)];
        attributes.extend_from_slice(extra);
        self.span(trace, parent, &format!("invoke_agent {agent}"), 1, at, &attributes)
    }

    #[allow(clippy::too_many_arguments)]
    /// A producer span from `parent` taking `latency` ms from `start`, then the receiving agent's span.
    fn send(
        &mut self,
        trace: usize,
        parent: u64,
        agent: &str,
        start: f64,
        latency: f64,
        service: f64,
        extra: &[(&str, &str)],
    ) -> u64 {
        let call = self.span(trace, Some(parent), &format!("send {agent}"), 4, (start, start + latency), &[]);
        self.agent(trace, Some(call), agent, (start + latency, start + latency + service), extra)
    }

    fn tool(&mut self, trace: usize, parent: u64, tool: &str, at: f64) {
        self.span(
            trace,
            Some(parent),
            &format!("execute_tool {tool}"),
            1,
            (at, at),
            &[("gen_ai.operation.name", "execute_tool"), ("gen_ai.tool.name", tool)],
        );
    }

    /// One request per line, one line per trace.
    fn jsonl(&self) -> String {
        self.traces
            .iter()
            .map(|spans| {
                json!({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": spans}]}]})
                    .to_string()
                    + "\n"
            })
            .collect()
    }
}

fn import(text: &str) -> cascade::Result<String> {
    let mut import = Import::default();
    import.read("t.jsonl", &mut text.as_bytes())?;
    Ok(import.finish("imported")?.text)
}

fn model(text: &str) -> cascade::model::Model {
    scenario::parse("imported.toml", text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn agent<'a>(m: &'a cascade::model::Model, name: &str) -> (u32, &'a cascade::model::Agent) {
    let i = m.agents.iter().position(|a| a.name == name).unwrap_or_else(|| panic!("no agent {name}"));
    (i as u32, &m.agents[i])
}

fn channels(m: &cascade::model::Model) -> Vec<(String, String, Dist)> {
    let Topology::Explicit(channels) = &m.topology else { panic!("explicit") };
    channels
        .iter()
        .map(|c| (m.agents[c.from as usize].name.clone(), m.agents[c.to as usize].name.clone(), c.latency))
        .collect()
}

/// A planner sending to each of three workers in a fixed shape per rule,
/// once a second, fixed service and latency.
fn fan_out(rule: &str, tasks: usize) -> Traces {
    let mut t = Traces::default();
    let workers = ["w0", "w1", "w2"];
    for task in 0..tasks {
        let trace = t.trace();
        let start = task as f64 * 1000.0;
        let root = t.agent(trace, None, "planner", (start, start + 50.0), &[]);
        let to: Vec<usize> = match rule {
            "all" => vec![0, 1, 2],
            "round_robin" => vec![task % 3],
            "random_one" => vec![(task * 7 + task / 3) % 3 * usize::from(task % 5 != 0)],
            "random2" => vec![task % 3, (task + 1 + task / 3 % 2) % 3],
            _ => unreachable!(),
        };
        for w in to {
            let s = t.send(trace, root, workers[w], start + 50.0, 5.0, 20.0, &[]);
            t.tool(trace, s, "db.write", start + 70.0);
        }
    }
    t
}

#[test]
fn structure_timing_and_actions_of_a_fan_out() {
    let text = import(&fan_out("all", 40).jsonl()).unwrap();
    let m = model(&text);
    assert_eq!(m.agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["planner", "w0", "w1", "w2"]);
    let (_, planner) = agent(&m, "planner");
    assert_eq!((planner.output, planner.service, planner.action), (OutputRule::All, Dist::Fixed(50_000), false));
    for w in ["w0", "w1", "w2"] {
        let (_, worker) = agent(&m, w);
        assert_eq!((worker.service, worker.action), (Dist::Fixed(20_000), true), "{w}");
        assert_eq!(m.resources[worker.action_resource as usize].name, "db.write");
    }
    let expected: Vec<(String, String, Dist)> =
        ["w0", "w1", "w2"].iter().map(|w| ("planner".to_string(), w.to_string(), Dist::Fixed(5000))).collect();
    assert_eq!(channels(&m), expected);
    // One source into the planner, once a second.
    assert_eq!(m.sources.len(), 1);
    assert_eq!(m.agents[m.sources[0].target as usize].name, "planner");
    assert!(text.contains("arrival = { process = \"periodic\", period = \"1s\" }"), "{text}");
    assert!(text.contains("latency: duration of 40 producer (send) spans"), "{text}");
}

#[test]
fn output_rules_from_the_receivers_of_each_span() {
    for (rule, expected) in [
        ("round_robin", OutputRule::RoundRobin),
        ("random_one", OutputRule::RandomOne),
        ("random2", OutputRule::Random(2)),
    ] {
        let m = model(&import(&fan_out(rule, 60).jsonl()).unwrap());
        assert_eq!(agent(&m, "planner").1.output, expected, "{rule}");
    }
}

#[test]
fn a_router_by_kind_with_the_sources_kinds() {
    let mut t = Traces::default();
    for task in 0..30 {
        let trace = t.trace();
        let kind = ["billing", "tech", "billing"][task % 3];
        let start = task as f64 * 997.0 + (task * task % 13) as f64 * 50.0;
        let root = t.agent(trace, None, "triage", (start, start + 10.0), &[("task.kind", kind)]);
        t.send(trace, root, if kind == "billing" { "billing" } else { "tech" }, start + 10.0, 1.0, 30.0, &[]);
    }
    let text = import(&t.jsonl()).unwrap();
    let m = model(&text);
    let (_, triage) = agent(&m, "triage");
    assert_eq!(triage.output, OutputRule::ByKind);
    assert_eq!(m.kinds, ["billing", "tech"]);
    let route_to = |r: &cascade::model::Route| channels(&m)[r.channels[0] as usize].1.clone();
    assert_eq!(triage.routes.iter().map(route_to).collect::<Vec<_>>(), ["billing", "tech"]);
    assert!(text.contains("{ name = \"billing\", share = 0.666667 }"), "{text}");
    assert!(text.contains("{ name = \"tech\", share = 0.333333 }"), "{text}");
    assert!(text.contains("process = \"poisson\", per_second = "), "{text}");
}

#[test]
fn a_join_from_links_and_a_check_with_retries_and_escalation() {
    let mut t = Traces::default();
    for task in 0..20 {
        let trace = t.trace();
        let start = task as f64 * 1000.0;
        let root = t.agent(trace, None, "lead", (start, start + 10.0), &[]);
        let a = t.send(trace, root, "left", start + 10.0, 2.0, 10.0, &[]);
        let b_call = t.span(trace, Some(root), "send right", 4, (start + 10.0, start + 12.0), &[]);
        let b = t.agent(trace, Some(b_call), "right", (start + 12.0, start + 30.0), &[]);
        // The summariser's span: parent the left input's send, linked to the right's.
        let a_call = t.span(trace, Some(a), "send summary", 4, (start + 22.0, start + 24.0), &[]);
        let b_send = t.span(trace, Some(b), "send summary", 4, (start + 30.0, start + 31.0), &[]);
        let summary = t.agent(trace, Some(a_call), "summary", (start + 31.0, start + 40.0), &[]);
        let link = json!([{"traceId": format!("{:032x}", trace + 1), "spanId": format!("{b_send:016x}")}]);
        t.traces[trace].last_mut().unwrap()["links"] = link;
        // The check fails every fourth task once: back to the summariser, then passes;
        // every tenth task fails twice: escalated to a person.
        let mut producer = summary;
        let mut at = start + 40.0;
        let fails = if task % 10 == 9 { 2 } else { usize::from(task % 4 == 0) };
        for f in 0..=fails {
            let check_call = t.span(trace, Some(producer), "send check", 4, (at, at + 1.0), &[]);
            let check = t.agent(trace, Some(check_call), "check", (at + 1.0, at + 6.0), &[]);
            at += 6.0;
            if f == fails {
                break;
            }
            let failed = t.traces[trace].last_mut().unwrap();
            failed["status"] = json!({"code": 2});
            if f == 1 {
                t.agent(trace, Some(check), "oncall", (at, at + 100.0), &[]);
                break;
            }
            producer = t.agent(trace, Some(check), "summary", (at, at + 9.0), &[]);
            at += 9.0;
        }
    }
    let text = import(&t.jsonl()).unwrap();
    let m = model(&text);
    let (_, summary) = agent(&m, "summary");
    let join = summary.join.expect("a join");
    assert_eq!(join.inputs, 2, "{text}");
    let (_, check) = agent(&m, "check");
    let check = check.check.expect("a check");
    let (oncall, _) = agent(&m, "oncall");
    assert_eq!((check.retry, check.max_retries, check.escalate), (agent(&m, "summary").0, 1, oncall), "{text}");
    // The retries and escalations are not channels.
    let pairs: Vec<(String, String)> = channels(&m).into_iter().map(|(f, t, _)| (f, t)).collect();
    assert!(
        !pairs.contains(&("check".into(), "summary".into())) && !pairs.contains(&("check".into(), "oncall".into())),
        "{pairs:?}"
    );
    assert!(pairs.contains(&("right".into(), "summary".into())), "{pairs:?}");
    assert!(text.contains("retries to summary"), "{text}");
}

#[test]
fn the_same_spans_in_any_order_and_any_encoding_give_the_same_bytes() {
    let t = fan_out("round_robin", 30);
    let base = import(&t.jsonl()).unwrap();
    assert_eq!(import(&t.jsonl()).unwrap(), base);
    // Reversed: traces and spans within them.
    let mut reversed =
        Traces { traces: t.traces.iter().rev().map(|s| s.iter().rev().cloned().collect()).collect(), next_id: 0 };
    assert_eq!(import(&reversed.jsonl()).unwrap(), base);
    // One pretty-printed document; a plain array of spans.
    let all: Vec<Value> = t.traces.iter().flatten().cloned().collect();
    let document = serde_json::to_string_pretty(&json!({"resourceSpans": [{"scopeSpans": [{"spans": all}]}]})).unwrap();
    assert_eq!(import(&document).unwrap(), base);
    assert_eq!(import(&serde_json::to_string(&all).unwrap()).unwrap(), base);
    // snake_case names, base64 ids, enum names, numbers for times.
    for spans in &mut reversed.traces {
        for span in spans.iter_mut() {
            let o = span.as_object_mut().unwrap();
            for (camel, snake) in [("traceId", "trace_id"), ("spanId", "span_id"), ("parentSpanId", "parent_span_id")] {
                if let Some(Value::String(hex)) = o.remove(camel) {
                    let bytes: Vec<u8> =
                        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
                    o.insert(snake.into(), json!(base64(&bytes)));
                }
            }
            let start: u64 = o.remove("startTimeUnixNano").unwrap().as_str().unwrap().parse().unwrap();
            o.insert("start_time_unix_nano".into(), json!(start));
            let kind = o["kind"].as_u64().unwrap();
            o.insert(
                "kind".into(),
                json!(["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "", "", "SPAN_KIND_PRODUCER"][kind as usize]),
            );
        }
    }
    let snake: String = reversed
        .traces
        .iter()
        .map(|spans| json!({"resource_spans": [{"scope_spans": [{"spans": spans}]}]}).to_string() + "\n")
        .collect();
    assert_eq!(import(&snake).unwrap(), base);
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

#[test]
fn bad_input_gets_one_line_naming_what_is_wrong() {
    let good = fan_out("all", 3);
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "is empty"),
        ("not json\n".into(), "line 1: not JSON"),
        ("{\"resourceMetrics\": []}\n".into(), "not OTLP traces"),
        ("{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [{\"traceId\": 5}]}]}]}\n".into(), "spans[0]"),
        (
            {
                let mut t = Traces::default();
                let trace = t.trace();
                t.span(trace, None, "chat", 3, (0.0, 1.0), &[("gen_ai.operation.name", "chat")]);
                t.jsonl()
            },
            "agent spans: none has",
        ),
        (
            {
                let mut t = Traces::default();
                let trace = t.trace();
                t.agent(trace, Some(999), "a", (0.0, 1.0), &[]);
                t.jsonl()
            },
            "is missing (export whole traces",
        ),
        (
            {
                let mut t = Traces::default();
                let trace = t.trace();
                let p = t.agent(trace, None, "a", (10.0, 11.0), &[]);
                t.agent(trace, Some(p), "b", (5.0, 6.0), &[]);
                t.jsonl()
            },
            "clock skew",
        ),
        (
            {
                let mut t = Traces::default();
                let trace = t.trace();
                t.agent(trace, None, "a", (10.0, 9.0), &[]);
                t.jsonl()
            },
            "endTimeUnixNano",
        ),
        (good.jsonl() + &good.jsonl(), "appears twice"),
    ];
    for (text, expected) in cases {
        let error = import(&text).expect_err(expected).to_string();
        assert!(
            error.contains(expected) && error.starts_with("t.jsonl") && !error.contains('\n'),
            "{expected}: {error}"
        );
    }
    // A limit on spans, checked as they are read.
    let mut spans = otlp::Spans::default();
    let error = otlp::read("t.jsonl", &mut good.jsonl().as_bytes(), &mut spans, 5).unwrap_err().to_string();
    assert!(error.contains("more than 5 spans"), "{error}");
}

/// gen_ai.operation.name decides what a span is, whatever the order of its
/// attributes; OpenInference's kind is the fallback; a role the format
/// knows is kept under its own name.
#[test]
fn the_operation_name_decides_over_other_conventions_and_roles_are_the_formats() {
    for attributes in [
        [("openinference.span.kind", "TOOL"), ("gen_ai.operation.name", "invoke_agent"), ("gen_ai.agent.name", "a")],
        [("gen_ai.operation.name", "invoke_agent"), ("openinference.span.kind", "TOOL"), ("gen_ai.agent.name", "a")],
    ] {
        let mut t = Traces::default();
        let trace = t.trace();
        t.span(trace, None, "step", 1, (0.0, 1.0), &attributes);
        let m = model(&import(&t.jsonl()).unwrap());
        assert_eq!(m.agents.len(), 1, "{attributes:?}");
    }
    let mut t = Traces::default();
    let trace = t.trace();
    t.span(trace, None, "step", 1, (0.0, 1.0), &[("openinference.span.kind", "AGENT"), ("agent.name", "b")]);
    let p = t.agent(trace, None, "c", (2.0, 3.0), &[("cascade.agent.role", "reviewer")]);
    t.span(trace, Some(p), "execute_tool lookup", 1, (2.5, 2.6), &[("gen_ai.operation.name", "execute_tool")]);
    let text = import(&t.jsonl()).unwrap();
    let m = model(&text);
    assert_eq!(m.agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(agent(&m, "c").1.role, cascade::model::Role::Reviewer);
    assert_eq!(m.resources[agent(&m, "c").1.action_resource as usize].name, "lookup", "the tool named by its span");
    for role in cascade::model::Role::ALL {
        assert_eq!(serde_json::to_value(role).unwrap(), role.name(), "one name per role");
    }
}

/// The commands as a user chains them: replay with --otlp, import the
/// file, validate and run what it wrote; an existing --out is refused
/// without --force, and bad input writes nothing.
#[test]
fn replay_then_import_then_run_on_the_command_line() {
    let dir = std::env::temp_dir().join(format!("cascade-import-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cascade = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cascade")).args(args).current_dir(&dir).output().unwrap()
    };
    let replay = cascade(&["replay", "procurement", "--run", "0", "--out", "rp", "--otlp", "run.jsonl", "-q"]);
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    let import = cascade(&["import", "otel", "run.jsonl", "--out", "mine.toml"]);
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    assert!(String::from_utf8_lossy(&import.stdout).starts_with("wrote mine.toml: 4 agents, 3 channels, 1 sources"));
    let text = std::fs::read_to_string(dir.join("mine.toml")).unwrap();
    assert!(text.contains("name = \"mine\""), "the name is the file's stem");
    assert!(cascade(&["validate", "mine.toml"]).status.success());
    assert!(cascade(&["run", "mine.toml", "--runs", "4", "-q"]).status.success());
    let again = cascade(&["import", "otel", "run.jsonl", "--out", "mine.toml"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force replaces it"));
    assert!(cascade(&["import", "otel", "run.jsonl", "--out", "mine.toml", "--force", "--name", "x"]).status.success());
    let bad_name = cascade(&["import", "otel", "run.jsonl", "--out", "other.toml", "--name", "a/b"]);
    assert_eq!(bad_name.status.code(), Some(2));
    std::fs::write(dir.join("bad.jsonl"), "{\"resourceMetrics\": []}\n").unwrap();
    for files in [&["bad.jsonl"][..], &["missing.jsonl"][..]] {
        let mut args = vec!["import", "otel"];
        args.extend_from_slice(files);
        args.extend(["--out", "bad.toml"]);
        let out = cascade(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!((out.status.code(), stderr.lines().count()), (Some(2), 1), "{stderr}");
        assert!(!dir.join("bad.toml").exists(), "nothing written for bad input");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
