//! Engine behaviour, one mechanism at a time, on tiny scenarios.

use super::*;
use crate::rng::run_key;
use crate::scenario::parse;

fn model(text: &str) -> Model {
    parse("test.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

fn run_traced(model: &Model, seed: u64) -> (RunMetrics, Vec<TraceRow>, Engine) {
    let mut graph_rng = rng::stream(&run_key(seed, 0, u64::MAX), Stream::Topology);
    let graph = Graph::build(model, &mut graph_rng);
    let mut engine = Engine::new(model);
    let metrics = engine.run(model, &graph, &run_key(seed, 0, 0), true);
    let trace = engine.trace().to_vec();
    (metrics, trace, engine)
}

fn count(trace: &[TraceRow], kind: TraceKind) -> usize {
    trace.iter().filter(|r| r.kind == kind).count()
}

const CHAIN: &str = r#"
name = "chain"
horizon = "100s"
quiet_window = "10s"
[[agents]]
id = "A"
[[agents]]
id = "B"
[[agents]]
id = "C"
action = true
[[channels]]
from = "A"
to = "B"
latency = "1s"
[[channels]]
from = "B"
to = "C"
latency = "1s"
[[sources]]
id = "feed"
target = "A"
arrival = { process = "periodic", period = "10s" }
signal = { mean = 100.0 }
"#;

#[test]
fn clean_chain_delivers_every_task_with_exact_timing() {
    let (metrics, trace, engine) = run_traced(&model(CHAIN), 1);
    // Emissions at 0, 10, ..., 100 s: 11 tasks, each 3 messages, the last
    // task's channel messages fall past the horizon.
    assert_eq!(count(&trace, TraceKind::SourceEmit), 11);
    assert_eq!(metrics.actions, 10);
    assert_eq!(metrics.messages, 11 + 2 * 11 - 1);
    assert_eq!((metrics.agents_reached, metrics.agents_corrupted, metrics.corrupted_messages), (0, 0, 0));
    assert!(metrics.contained && metrics.t_contain.is_none() && metrics.onset.is_none());
    let actions: Vec<Micros> = trace.iter().filter(|r| r.kind == TraceKind::Action).map(|r| r.time).collect();
    assert_eq!(actions[0], 2 * crate::time::SECOND);
    assert!(engine.messages().iter().all(|m| m.signal == 100.0 && !m.corrupted()));
}

#[test]
fn a_run_stops_exactly_past_its_budget() {
    let model = model(CHAIN);
    let graph = Graph::build(&model, &mut rng::stream(&run_key(1, 0, u64::MAX), Stream::Topology));
    let (whole, trace, _) = run_traced(&model, 1);
    let mut engine = Engine::new(&model);
    let mut within = |budget: Budget, tracing: bool| {
        engine.set_budget(budget);
        let metrics = engine.run(&model, &graph, &run_key(1, 0, 0), tracing);
        (engine.overrun(), metrics.events)
    };
    let events = whole.events;
    assert_eq!(within(Budget { events, ..Budget::default() }, false), (None, events), "exactly its budget");
    let short = within(Budget { events: events - 1, ..Budget::default() }, false);
    assert!(matches!(short, (Some(Overrun::Events { budget, .. }), n) if budget == events - 1 && n == events - 1));
    let rows = trace.len() as u64;
    assert_eq!(within(Budget { trace_rows: rows, ..Budget::default() }, true).0, None, "exactly its rows");
    let cut = within(Budget { trace_rows: rows - 1, ..Budget::default() }, true).0;
    assert!(matches!(cut, Some(Overrun::TraceRows { budget, .. }) if budget == rows - 1), "{cut:?}");
    assert_eq!(within(Budget::default(), false), (None, events), "the next run starts afresh");
    // Messages count against the budget: 32 messages on a budget of 31 events.
    assert_eq!(whole.messages, 32);
    let messages = within(Budget { events: 31, ..Budget::default() }, false);
    assert!(matches!(messages.0, Some(Overrun::Events { .. })) && messages.1 <= 31);
}

#[test]
fn every_handled_event_is_counted_once() {
    // Source deliveries are handled inside their emission; every channel
    // message arrives as an event; every acceptance ends in a service event.
    let (metrics, trace, _) = run_traced(&model(CHAIN), 1);
    let arrivals = trace.iter().filter(|r| r.kind == TraceKind::Accept && r.depth > 0).count();
    let expected = count(&trace, TraceKind::SourceEmit) + arrivals + count(&trace, TraceKind::Process);
    assert_eq!(metrics.events, expected as u64);
    // 11 emissions; 20 channel arrivals (the last task's A -> B message lands
    // past the horizon); A processes 11 tasks, B and C 10 each.
    assert_eq!(metrics.events, 11 + 20 + 31);
}

#[test]
fn sources_draw_signals_and_gaps_from_the_arrivals_stream_in_order() {
    // A periodic source with a spread: signal k is mean + sd * (k-th normal).
    let text = CHAIN.replace("mean = 100.0 }", "mean = 100.0, sd = 2.0 }");
    let (_, trace, _) = run_traced(&model(&text), 4);
    let mut arrivals = rng::stream(&run_key(4, 0, 0), Stream::Arrivals);
    for row in trace.iter().filter(|r| r.kind == TraceKind::SourceEmit) {
        assert_eq!(row.signal, 100.0 + 2.0 * rng::std_normal(&mut arrivals));
    }
    // Without a spread every signal is the mean exactly.
    let (_, trace, _) = run_traced(&model(CHAIN), 4);
    assert!(trace.iter().filter(|r| r.kind == TraceKind::SourceEmit).all(|r| r.signal == 100.0));
    // A Poisson source without a spread draws only its gaps, one per emission.
    let text = CHAIN.replace("process = \"periodic\", period = \"10s\"", "process = \"poisson\", per_second = 0.5");
    let (_, trace, _) = run_traced(&model(&text), 4);
    let mut arrivals = rng::stream(&run_key(4, 0, 0), Stream::Arrivals);
    let mut time = 0;
    let emissions: Vec<Micros> = trace.iter().filter(|r| r.kind == TraceKind::SourceEmit).map(|r| r.time).collect();
    assert!(emissions.len() > 30, "{} emissions", emissions.len());
    for emitted in emissions {
        time += crate::time::round_micros(rng::exponential(&mut arrivals, 2.0 * crate::time::SECOND as f64));
        assert_eq!(emitted, time);
    }
}

fn with_fault(base: &str, fault: &str) -> Model {
    model(&format!("{base}\n{fault}"))
}

#[test]
fn poisoned_feed_corrupts_the_chain_during_its_window() {
    let m = with_fault(
        CHAIN,
        r#"[[faults]]
kind = "poisoned_feed"
agent = "A"
start = "20s"
duration = "20s"
shift = -30.0"#,
    );
    let (metrics, trace, engine) = run_traced(&m, 1);
    // Tasks at 20 s and 30 s are poisoned: 2 tasks x 3 messages, 2 actions.
    assert_eq!(metrics.corrupted_messages, 6);
    assert_eq!(metrics.corrupted_actions, 2);
    assert_eq!((metrics.agents_reached, metrics.agents_corrupted), (2, 3));
    // Last corrupted acceptance: C at 32 s; onset 20 s.
    assert_eq!(metrics.t_contain, Some(12 * crate::time::SECOND));
    assert!(metrics.contained);
    for message in engine.messages() {
        assert_eq!(message.corrupted(), message.signal == 70.0, "{message:?}");
    }
    assert!(trace.iter().filter(|r| r.root != NO_FAULT).all(|r| r.root == 0));
}

#[test]
fn late_corruption_is_not_contained() {
    let m = with_fault(
        CHAIN,
        r#"[[faults]]
kind = "compromised_agent"
agent = "B"
start = "50s"
shift = 1.0"#,
    );
    let (metrics, _, _) = run_traced(&m, 1);
    // B corrupts everything from 50 s; C accepts corrupted input until 92 s > 90 s.
    assert!(!metrics.contained);
    assert_eq!(metrics.t_contain, None);
    assert_eq!((metrics.agents_reached, metrics.agents_corrupted), (1, 2));
    assert_eq!(metrics.onset, Some(50 * crate::time::SECOND));
}

#[test]
fn propagation_zero_stops_corruption_at_the_first_hop() {
    let text = CHAIN.replace("[[agents]]\nid = \"B\"", "[[agents]]\nid = \"B\"\npropagation = 0.0");
    let m = with_fault(
        &text,
        r#"[[faults]]
kind = "poisoned_feed"
agent = "A"
start = "0s"
shift = 5.0"#,
    );
    let (metrics, _, engine) = run_traced(&m, 3);
    assert_eq!((metrics.agents_reached, metrics.agents_corrupted, metrics.corrupted_actions), (1, 1, 0));
    // B repairs the signal: its outputs carry the clean value.
    assert!(engine.messages().iter().filter(|m| m.sender == 1).all(|m| m.signal == 100.0 && !m.corrupted()));
}

const DIAMOND: &str = r#"
name = "diamond"
horizon = "60s"
quiet_window = "1s"
[[agents]]
id = "S"
[[agents]]
id = "L"
[[agents]]
id = "R"
[[agents]]
id = "T"
action = true
[[channels]]
from = "S"
to = "L"
latency = "1s"
[[channels]]
from = "S"
to = "R"
latency = "2s"
[[channels]]
from = "L"
to = "T"
latency = "1s"
[[channels]]
from = "R"
to = "T"
latency = "1s"
[[sources]]
id = "feed"
target = "S"
arrival = { process = "periodic", period = "10s" }
count = 3
"#;

#[test]
fn a_task_reaching_an_agent_twice_is_handled_once() {
    let (metrics, trace, _) = run_traced(&model(DIAMOND), 1);
    assert_eq!(metrics.actions, 3, "T acts once per task");
    assert_eq!(count(&trace, TraceKind::DropDuplicate), 3);
}

#[test]
fn a_task_reaching_an_agent_three_times_is_handled_once() {
    // A third path S -> M -> T: the second and third copies are both dropped.
    let text = DIAMOND.replace("[[sources]]", "[[agents]]\nid = \"M\"\n[[channels]]\nfrom = \"S\"\nto = \"M\"\nlatency = \"3s\"\n[[channels]]\nfrom = \"M\"\nto = \"T\"\nlatency = \"1s\"\n[[sources]]");
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    assert_eq!(metrics.actions, 3, "T acts once per task");
    assert_eq!(count(&trace, TraceKind::DropDuplicate), 6);
    // With T busy for 5 s, all three copies queue before it finishes the
    // first: each is processed, but only the first acts.
    let slow = text.replace("id = \"T\"\naction = true", "id = \"T\"\naction = true\nservice = \"5s\"");
    let (metrics, trace, _) = run_traced(&model(&slow), 1);
    assert_eq!(count(&trace, TraceKind::Process), 12 + 9, "S, L, R, M once per task; T three times");
    assert_eq!(metrics.actions, 3, "T still acts once per task");
}

#[test]
fn interleaved_tasks_are_each_handled_once() {
    // Tasks every 500 ms cross paths of 2 s and 3 s: T sees several tasks
    // in flight at once, so the dedupe slot is evicted and reloaded.
    let text = DIAMOND.replace("period = \"10s\" }\ncount = 3", "period = \"500ms\" }\ncount = 10");
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    assert_eq!(metrics.actions, 10);
    assert_eq!(count(&trace, TraceKind::DropDuplicate), 10);
}

#[test]
fn a_corrupted_copy_is_processed_after_a_clean_one() {
    let m = with_fault(
        DIAMOND,
        r#"[[faults]]
kind = "compromised_agent"
agent = "R"
start = "0s"
shift = 2.0"#,
    );
    let (metrics, trace, _) = run_traced(&m, 1);
    // Per task: clean copy via L first (acted on), corrupted copy via R later (acted on too).
    assert_eq!((metrics.actions, metrics.corrupted_actions), (6, 3));
    assert_eq!(count(&trace, TraceKind::DropDuplicate), 0);
    assert_eq!((metrics.agents_reached, metrics.agents_corrupted), (1, 2));
}

#[test]
fn clean_relay_off_simulates_only_corrupted_traffic() {
    let text = DIAMOND.replace("quiet_window = \"1s\"", "quiet_window = \"1s\"\n[workload]\nclean_relay = false");
    let m = with_fault(
        &text,
        r#"[[faults]]
kind = "compromised_agent"
agent = "S"
start = "5s"
shift = 2.0"#,
    );
    let (metrics, trace, _) = run_traced(&m, 1);
    // Sources still emit 3 tasks, but S's clean output for the first is not
    // relayed. Tasks 2 and 3 travel corrupted: S -> L, R -> T (T acts once).
    assert_eq!((metrics.actions, metrics.corrupted_actions), (2, 2));
    assert_eq!(metrics.messages, 3 + 2 * 4);
    assert_eq!(count(&trace, TraceKind::DropDuplicate), 2);
}

#[test]
fn fifo_queue_serves_in_arrival_order() {
    let text = r#"
name = "queue"
horizon = "100s"
quiet_window = "1s"
[[agents]]
id = "A"
service = "3s"
[[sources]]
id = "feed"
target = "A"
arrival = { process = "periodic", period = "1s" }
count = 4
"#;
    let (metrics, trace, _) = run_traced(&model(text), 1);
    let done: Vec<(Micros, u32)> = trace
        .iter()
        .filter(|r| r.kind == TraceKind::Process)
        .map(|r| (r.time / crate::time::SECOND, r.message))
        .collect();
    assert_eq!(done, vec![(3, 0), (6, 1), (9, 2), (12, 3)]);
    // Sojourns 3, 5, 7, 9 s.
    assert_eq!(metrics.sojourn_total, 24 * crate::time::SECOND);
    assert_eq!(metrics.processed, 4);
}

#[test]
fn round_robin_and_random_one_pick_a_single_channel() {
    let fan = |rule: &str| {
        format!(
            r#"
name = "fan"
horizon = "100s"
quiet_window = "1s"
[[agents]]
id = "H"
output = "{rule}"
[[agents]]
id = "X"
action = true
[[agents]]
id = "Y"
action = true
[[channels]]
from = "H"
to = "X"
[[channels]]
from = "H"
to = "Y"
[[sources]]
id = "feed"
target = "H"
arrival = {{ process = "periodic", period = "1s" }}
count = 10
"#
        )
    };
    let (_, trace, _) = run_traced(&model(&fan("round_robin")), 1);
    let targets: Vec<Detail> = trace.iter().filter(|r| r.kind == TraceKind::Send).map(|r| r.detail).collect();
    assert_eq!(targets, [1, 2, 1, 2, 1, 2, 1, 2, 1, 2].map(Detail::Peer));
    let (metrics, trace, _) = run_traced(&model(&fan("random_one")), 1);
    assert_eq!(count(&trace, TraceKind::Send), 10);
    assert_eq!(metrics.actions, 10);
    let (metrics, _, _) = run_traced(&model(&fan("all")), 1);
    assert_eq!(metrics.actions, 20);
}

const MEMORY: &str = r#"
name = "memory"
horizon = "100s"
quiet_window = "5s"
[[agents]]
id = "W"
memory = { write = true }
[[agents]]
id = "R"
memory = { write = true, read = 2, weight = 0.5 }
action = true
[[channels]]
from = "W"
to = "R"
[[sources]]
id = "feed"
target = "W"
arrival = { process = "periodic", period = "10s" }
signal = { mean = 10.0 }
"#;

const POISONED_RECORDS: &str = r#"[[faults]]
kind = "memory_poisoning"
at = "25s"
records = 2
shift = 4.0"#;

#[test]
fn shared_memory_feeds_corruption_back() {
    let m = with_fault(&format!("materiality = 0.0\n{MEMORY}"), POISONED_RECORDS);
    let (metrics, trace, engine) = run_traced(&m, 1);
    assert_eq!(count(&trace, TraceKind::MemoryPoison), 1);
    // From 30 s on, R reads corrupted records, writes corrupted ones, and so on.
    assert!(metrics.corrupted_actions >= 1);
    assert_eq!(metrics.agents_reached, 1, "R reads the poisoned records (W reads no memory)");
    assert!(!metrics.contained, "without materiality, the label outlives the shift at propagation 1");
    assert!(engine.memory().records().any(|r| r.root == 0 && r.agent == 1));
}

#[test]
fn a_faded_corruption_is_clean_again() {
    // R mixes half its input with the mean of two records, so the shift it
    // writes halves or so with each generation: 4 -> 2 -> 1 -> ... Below a
    // tenth of the fault's shift (0.4) it is no longer corruption.
    let m = with_fault(MEMORY, POISONED_RECORDS);
    let (metrics, trace, engine) = run_traced(&m, 1);
    assert!(metrics.contained, "the faded loop stops counting");
    assert!(metrics.corrupted_actions >= 1);
    let corrupted: Vec<f64> =
        engine.memory().all_records().filter(|r| r.root == 0 && r.agent == 1).map(|r| r.shift).collect();
    assert!(corrupted.iter().all(|s| s.abs() >= 0.4), "{corrupted:?}");
    let written = trace.iter().filter(|r| r.kind == TraceKind::RecordWrite && r.agent == 1);
    let (faded, material): (Vec<&TraceRow>, Vec<&TraceRow>) = written.partition(|r| r.root == NO_FAULT);
    assert!(material.iter().all(|r| r.shift.abs() >= 0.4));
    assert!(faded.iter().all(|r| r.shift == 0.0), "a clean record carries no shift");
    let last_material = material.iter().map(|r| r.time).max().unwrap();
    assert!(faded.iter().any(|r| r.time > last_material), "R keeps writing, clean, after the fade");
    // An absolute size of 1.5 fades it sooner: fewer corrupted records.
    let absolute = with_fault(&format!("material_shift = 1.5\n{MEMORY}"), POISONED_RECORDS);
    let (sooner, _, _) = run_traced(&absolute, 1);
    assert!(sooner.contained);
    assert!(sooner.corrupted_records < metrics.corrupted_records, "{sooner:?} vs {metrics:?}");
}

#[test]
fn isolated_memory_confines_poisoning_to_its_partition() {
    let text = format!(
        "{MEMORY}\n[memory]\nmode = \"isolated\"\n{}",
        r#"[[faults]]
kind = "memory_poisoning"
owner = "W"
at = "25s"
records = 2
shift = 4.0"#
    );
    let (metrics, _, _) = run_traced(&model(&text), 1);
    // W reads nothing (read = 0); R cannot read W's partition without a grant.
    assert_eq!((metrics.agents_reached, metrics.corrupted_actions), (0, 0));
    let granted =
        text.replace("mode = \"isolated\"", "mode = \"isolated\"\ngrants = [{ reader = \"R\", owner = \"W\" }]");
    let (metrics, _, _) = run_traced(&model(&granted), 1);
    assert_eq!(metrics.agents_reached, 1);
    assert!(metrics.corrupted_actions >= 1);
}

#[test]
fn memory_context_mixes_signals_by_weight() {
    let (_, trace, _) = run_traced(&model(MEMORY), 1);
    // All records clean at 10: outputs stay at 10 whatever the weight.
    assert!(trace.iter().filter(|r| r.kind == TraceKind::Process).all(|r| r.signal == 10.0));
}

/// A writes its prices to shared memory; B gets its own (poisoned) feed,
/// reads A's two latest records and sends to C. No noise: every signal is exact.
const MIXING: &str = r#"
name = "mixing"
horizon = "30s"
quiet_window = "1s"
[[agents]]
id = "A"
memory = { write = true }
[[agents]]
id = "B"
memory = { read = 2, weight = 0.5 }
[[agents]]
id = "C"
[[channels]]
from = "B"
to = "C"
[[sources]]
id = "a_feed"
target = "A"
arrival = { process = "periodic", period = "10s" }
signal = { mean = 100.0 }
[[sources]]
id = "b_feed"
target = "B"
arrival = { process = "periodic", period = "10s" }
start = "5s"
signal = { mean = 100.0 }
[[faults]]
name = "a_bad"
kind = "compromised_agent"
agent = "A"
start = "0s"
shift = 10.0
[[faults]]
name = "b_bad"
kind = "poisoned_feed"
agent = "B"
start = "0s"
shift = 4.0
"#;

#[test]
fn outputs_combine_input_memory_and_compromise_exactly() {
    let (metrics, trace, engine) = run_traced(&model(MIXING), 1);
    // A (at 0, 10, 20 and 30 s): 100 + its compromise shift 10, recorded with shift 10.
    let of = |agent: u32| -> Vec<f64> {
        trace.iter().filter(|r| r.kind == TraceKind::Process && r.agent == agent).map(|r| r.signal).collect()
    };
    assert_eq!(of(0), [110.0; 4]);
    // B (at 5, 15 and 25 s): input 104 (shift 4) kept at half weight, A's
    // records (110 each: clean part 100, shift 10) at half: signal
    // 0.5 * 104 + 0.5 * 110 = 107, shift 0.5 * 4 + 0.5 * 10 = 7, and the
    // input's root.
    assert_eq!(of(1), [107.0, 107.0, 107.0]);
    let sent: Vec<&Message> = engine.messages().iter().filter(|m| m.sender == 1).collect();
    assert!(sent.iter().all(|m| m.signal == 107.0 && m.shift == 7.0 && m.root == 1), "{sent:?}");
    assert_eq!((metrics.records, metrics.corrupted_records), (4, 4), "A's records; B writes none");
}

#[test]
fn gain_scales_the_clean_part_and_the_shift() {
    let text = MIXING.replace("memory = { read = 2, weight = 0.5 }", "gain = 2.0");
    let (_, _, engine) = run_traced(&model(&text), 1);
    // B (at 5, 15 and 25 s): 2 * (104 - 4) + 2 * 4 = 208, shift 8.
    let sent: Vec<(f64, f64)> =
        engine.messages().iter().filter(|m| m.sender == 1).map(|m| (m.signal, m.shift)).collect();
    assert_eq!(sent, [(208.0, 8.0); 3]);
}

#[test]
fn agent_and_channel_propagation_multiply() {
    // Every input C gets from B is corrupted; C passes one on with its own
    // 0.5 times the channel's 0.5.
    let text = MIXING
        .replace("id = \"C\"\n", "id = \"C\"\npropagation = 0.5\n")
        .replace("period = \"10s\" }\nstart = \"5s\"", "period = \"10ms\" }\nstart = \"5s\"")
        .replace("to = \"C\"\n", "to = \"C\"\npropagation = 0.5\n");
    let (_, trace, _) = run_traced(&model(&text), 2);
    let by_c: Vec<&TraceRow> = trace.iter().filter(|r| r.kind == TraceKind::Process && r.agent == 2).collect();
    let rate = by_c.iter().filter(|r| r.root != NO_FAULT).count() as f64 / by_c.len() as f64;
    assert!(by_c.len() > 2_000 && (rate - 0.25).abs() < 0.03, "{} outputs, rate {rate}", by_c.len());
}

#[test]
fn noise_spreads_outputs_around_the_input() {
    let text = MIXING
        .replace("memory = { read = 2, weight = 0.5 }", "noise = 3.0")
        .replace("period = \"10s\" }\nstart = \"5s\"", "period = \"10ms\" }\nstart = \"5s\"");
    let (_, trace, _) = run_traced(&model(&text), 2);
    let b: Vec<f64> = trace.iter().filter(|r| r.kind == TraceKind::Process && r.agent == 1).map(|r| r.signal).collect();
    let n = b.len() as f64;
    let mean = b.iter().sum::<f64>() / n;
    let sd = (b.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    assert!((mean - 104.0).abs() < 0.2 && (sd - 3.0).abs() < 0.15, "n {n}, mean {mean}, sd {sd}");
}

#[test]
fn hallucinations_act_only_inside_their_window() {
    // A hallucinates on every output from 5 s (inclusive) to 15 s (exclusive).
    let text = CHAIN.replace("period = \"10s\"", "period = \"1s\"")
        + "[[faults]]\nkind = \"hallucination\"\nagents = [\"A\"]\nrate = 1.0\nstart = \"5s\"\nduration = \"10s\"\nshift = 3.0\n";
    let (_, trace, engine) = run_traced(&model(&text), 1);
    for row in trace.iter().filter(|r| r.kind == TraceKind::Process && r.agent == 0) {
        let inside = (5..15).contains(&(row.time / crate::time::SECOND));
        assert_eq!(row.signal, if inside { 103.0 } else { 100.0 }, "at {} us", row.time);
    }
    let from_a: Vec<&Message> = engine.messages().iter().filter(|m| m.sender == 0 && m.corrupted()).collect();
    assert_eq!(from_a.len(), 10);
    assert!(from_a.iter().all(|m| m.shift == 3.0 && m.signal == 103.0));
}

#[test]
fn planted_records_sit_a_shift_away_from_the_newest_clean_signal() {
    // The second planting's newest record is a planted one: its clean part counts.
    let plant = |name: &str, at: &str| {
        format!("[[faults]]\nname = \"{name}\"\nkind = \"memory_poisoning\"\nat = \"{at}\"\nrecords = 2\nshift = 4.0\n")
    };
    let m = with_fault(MEMORY, &(plant("first", "25s") + &plant("second", "26s")));
    let (metrics, trace, engine) = run_traced(&m, 1);
    let poisons: Vec<f64> = trace.iter().filter(|r| r.kind == TraceKind::MemoryPoison).map(|r| r.signal).collect();
    assert_eq!(poisons, [14.0, 14.0], "the newest record's clean signal (10) plus the shift");
    let planted: Vec<_> = engine.memory().records().filter(|r| r.agent == NONE).collect();
    assert_eq!(planted.len(), 4);
    assert!(planted.iter().all(|r| r.signal == 14.0 && r.shift == 4.0 && r.root != NO_FAULT));
    let written = trace.iter().filter(|r| r.kind == TraceKind::RecordWrite);
    let corrupted_written = written.clone().filter(|r| r.root != NO_FAULT).count() as u64;
    assert_eq!(metrics.records, written.count() as u64 + 4);
    assert_eq!(metrics.corrupted_records, corrupted_written + 4);
}

#[test]
fn sinks_with_single_channel_rules_send_nothing() {
    for rule in ["random_one", "round_robin"] {
        let text =
            CHAIN.replace("id = \"C\"\naction = true", &format!("id = \"C\"\naction = true\noutput = \"{rule}\""));
        let (metrics, _, _) = run_traced(&model(&text), 1);
        assert_eq!((metrics.actions, metrics.messages), (10, 32), "{rule}: C acts and sends nothing");
    }
}

#[test]
fn prompt_injection_compromises_and_replicates() {
    let m = with_fault(
        CHAIN,
        r#"[[faults]]
kind = "prompt_injection"
agent = "A"
start = "0s"
duration = "5s"
probability = 1.0
shift = 1.0
replicate = true"#,
    );
    let (metrics, trace, _) = run_traced(&m, 1);
    // One injected task compromises A, which passes the injection to B and C:
    // every later output of all three is corrupted.
    assert_eq!(count(&trace, TraceKind::Compromise), 3);
    assert_eq!(metrics.corrupted_actions, metrics.actions);
    assert_eq!((metrics.agents_reached, metrics.agents_corrupted), (2, 3));
    let once = with_fault(
        CHAIN,
        r#"[[faults]]
kind = "prompt_injection"
agent = "A"
start = "0s"
duration = "5s"
probability = 0.0
shift = 1.0"#,
    );
    let (metrics, trace, _) = run_traced(&once, 1);
    assert_eq!(count(&trace, TraceKind::Compromise), 0);
    assert_eq!(metrics.corrupted_actions, 1, "the injected task itself still carries its shift");
}

#[test]
fn provenance_answers_which_agents_and_inputs_produced_a_record() {
    let chain = CHAIN.replace("id = \"C\"\naction = true", "id = \"C\"\naction = true\nmemory = { write = true }");
    let (_, _, engine) = run_traced(&model(&chain), 1);
    let records: Vec<Record> = engine.memory().records().copied().collect();
    assert_eq!(records.len(), 10, "C writes one record per task");
    for record in &records {
        let ids = engine.provenance(record);
        let hops: Vec<(u32, u32)> = ids
            .iter()
            .map(|&id| (engine.messages()[id as usize].sender, engine.messages()[id as usize].receiver))
            .collect();
        // Newest first: B -> C, then A -> B, then the source message into A.
        assert_eq!(hops, [(1, 2), (0, 1), (NONE, 0)]);
        assert_eq!(ids[0], record.message);
        assert!(ids.windows(2).all(|w| engine.messages()[w[0] as usize].parent == w[1]));
    }
    let planted = memory::planted(0, 1.0, 1.0, 0, false);
    assert!(engine.provenance(&planted).is_empty(), "a planted record has no chain");
}

#[test]
fn a_compromise_with_a_duration_ends() {
    let m = with_fault(
        CHAIN,
        r#"[[faults]]
kind = "compromised_agent"
agent = "A"
start = "0s"
duration = "25s"
shift = 1.0"#,
    );
    let (metrics, trace, _) = run_traced(&m, 1);
    // Tasks at 0, 10 and 20 s are processed while A is compromised.
    assert_eq!((metrics.corrupted_actions, metrics.actions), (3, 10));
    let ends: Vec<Micros> = trace.iter().filter(|r| r.kind == TraceKind::CompromiseEnds).map(|r| r.time).collect();
    assert_eq!(ends, [25 * crate::time::SECOND]);
    assert!(metrics.contained);
}

#[test]
fn spoofed_messages_are_unsigned_and_rooted() {
    let m = with_fault(
        CHAIN,
        r#"[[faults]]
kind = "spoofed_sender"
from = "B"
to = "C"
start = "30s"
duration = "30s"
per_second = 0.5
shift = 9.0"#,
    );
    let (metrics, trace, engine) = run_traced(&m, 4);
    let spoofed: Vec<&Message> = engine.messages().iter().filter(|m| !m.signed).collect();
    assert_eq!(spoofed.len(), count(&trace, TraceKind::Spoof));
    assert!(!spoofed.is_empty());
    assert!(spoofed.iter().all(|m| m.root == 0 && m.sender == 1 && m.receiver == 2 && m.signal == 109.0));
    assert_eq!(metrics.agents_reached, 1);
    assert_eq!(metrics.corrupted_actions, spoofed.len() as u64);
    // Forgeries come at 0.5/s only inside the 30 s window: about 15 per run.
    let (mut total, runs) = (0usize, 200);
    for seed in 0..runs {
        let (_, trace, _) = run_traced(&m, seed);
        let spoofs: Vec<Micros> = trace.iter().filter(|r| r.kind == TraceKind::Spoof).map(|r| r.time).collect();
        assert!(spoofs.iter().all(|&t| (30 * crate::time::SECOND..60 * crate::time::SECOND).contains(&t)));
        total += spoofs.len();
    }
    let mean = total as f64 / runs as f64;
    assert!((14.0..16.0).contains(&mean), "{mean} forgeries per run, expected 15");
}

#[test]
fn hallucinations_follow_their_rate() {
    let m = with_fault(
        &CHAIN.replace("period = \"10s\"", "period = \"10ms\""),
        r#"[[faults]]
kind = "hallucination"
agents = ["B"]
rate = 0.2
shift = 1.0"#,
    );
    let (metrics, trace, _) = run_traced(&m, 5);
    let processed_by_b = trace.iter().filter(|r| r.kind == TraceKind::Process && r.agent == 1).count() as f64;
    let rate = count(&trace, TraceKind::Hallucinate) as f64 / processed_by_b;
    assert!((rate - 0.2).abs() < 0.02, "hallucination rate {rate}");
    assert_eq!((metrics.agents_reached, metrics.agents_corrupted), (1, 2));
}

#[test]
fn reusing_an_engine_gives_identical_runs() {
    let m = with_fault(
        &CHAIN.replace("latency = \"1s\"", "latency = { dist = \"exponential\", mean = \"1s\" }"),
        r#"[[faults]]
kind = "hallucination"
rate = 0.1
shift = 1.0"#,
    );
    let graph = Graph::build(&m, &mut rng::stream(&run_key(1, 0, 0), Stream::Topology));
    let mut engine = Engine::new(&m);
    let first = engine.run(&m, &graph, &run_key(9, 0, 3), false);
    engine.run(&m, &graph, &run_key(9, 0, 4), false);
    let again = engine.run(&m, &graph, &run_key(9, 0, 3), false);
    assert_eq!(first, again);
    assert_eq!(first, Engine::new(&m).run(&m, &graph, &run_key(9, 0, 3), false));
}

const GUARDED: &str = r#"
name = "guarded"
horizon = "20m"
quiet_window = "1m"
[[agents]]
id = "A"
noise = 1.0
[[agents]]
id = "B"
action = true
[[channels]]
from = "A"
to = "B"
latency = "10ms"
[[sources]]
id = "feed"
target = "A"
arrival = { process = "periodic", period = "1s" }
signal = { mean = 100.0 }
[[faults]]
kind = "poisoned_feed"
agent = "A"
start = "2m"
duration = "1m"
shift = -30.0
"#;

#[test]
fn zscore_validation_rejects_the_poisoned_prices() {
    let m = model(&format!("{GUARDED}\n[mitigations.validation]\ndetector = \"zscore\"\nthreshold = 4.0"));
    let (metrics, trace, _) = run_traced(&m, 1);
    // All 60 poisoned messages (30 sd away) fail at B's boundary; clean ones pass.
    assert_eq!((metrics.rejected_corrupted, metrics.corrupted_actions, metrics.agents_reached), (60, 0, 0));
    assert_eq!(metrics.t_detect, Some(10_000), "detected at the first poisoned arrival, one latency after onset");
    assert_eq!(metrics.breaker_trips, 0);
    assert!(metrics.rejected_clean <= 1, "a 4-sigma test on N(100, 1) rarely fails clean traffic");
    assert_eq!(count(&trace, TraceKind::RejectInvalid) as u64, metrics.rejected_corrupted + metrics.rejected_clean);
}

#[test]
fn seed_breaker_trips_on_the_third_failure_and_stays_open() {
    let text = format!(
        "{GUARDED}\n[mitigations.validation]\nthreshold = 4.0\n[mitigations.breaker]\nmode = \"seed\"\nreset_timeout = \"5m\""
    );
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    assert_eq!(metrics.breaker_trips, 1);
    assert_eq!(metrics.false_trips, 0);
    let alert = trace.iter().find(|r| r.kind == TraceKind::Alert).expect("an alert");
    assert_eq!((alert.agent, alert.detail), (1, Detail::Peer(0)), "alert names target B and source A");
    assert_eq!(alert.time, 2 * 60 * crate::time::SECOND + 2 * crate::time::SECOND + 10_000);
    // Open for 5 minutes from 2:02: the other 57 poisoned and the next ~240
    // clean messages bounce; the first message after 7:02 is a probe that closes it.
    assert_eq!(count(&trace, TraceKind::RejectInvalid), 3);
    let open = trace.iter().filter(|r| r.kind == TraceKind::RejectOpen).count() as u64;
    assert_eq!(open, 300);
    assert_eq!(metrics.rejected_corrupted, 60);
    assert_eq!(metrics.rejected_clean, 300 - 57);
    assert_eq!(metrics.corrupted_actions, 0);
}

#[test]
fn a_trip_on_clean_traffic_counts_as_false() {
    let text = GUARDED.replace("shift = -30.0", "shift = 0.0")
        + "\n[mitigations.validation]\ndetector = \"bernoulli\"\ntrue_positive = 1.0\nfalse_positive = 1.0\n[mitigations.breaker]\n";
    let (metrics, _, _) = run_traced(&model(&text), 1);
    assert!(metrics.breaker_trips >= 2);
    // The first trip comes before any corruption: false. Later trips during
    // the poisoned minute are real, the ones after close again are false.
    assert!(metrics.false_trips >= 1 && metrics.false_trips < metrics.breaker_trips);
}

#[test]
fn zero_trust_rejects_forged_messages() {
    let spoof = r#"[[faults]]
kind = "spoofed_sender"
from = "B"
to = "C"
start = "30s"
duration = "30s"
per_second = 0.5
shift = 9.0"#;
    let text = format!("{CHAIN}\n{spoof}\n[mitigations.zero_trust]");
    let (metrics, trace, engine) = run_traced(&model(&text), 4);
    let forged = engine.messages().iter().filter(|m| !m.signed).count() as u64;
    assert!(forged > 0);
    assert_eq!((metrics.rejected_corrupted, metrics.rejected_clean), (forged, 0));
    assert_eq!((metrics.agents_reached, metrics.corrupted_actions), (0, 0));
    assert_eq!(count(&trace, TraceKind::RejectInvalid) as u64, forged);
    // A depth limit of 1 rejects every second hop (B -> C carries depth 2).
    let shallow = format!("{CHAIN}\n[mitigations.zero_trust]\nmax_chain_depth = 1");
    let (metrics, _, _) = run_traced(&model(&shallow), 4);
    assert_eq!((metrics.actions, metrics.rejected_clean), (0, 10));
}

const STAR: &str = r#"
name = "star"
horizon = "100s"
quiet_window = "1s"
[[agents]]
id = "H"
[[agents]]
id = "X1"
action = true
[[agents]]
id = "X2"
action = true
[[agents]]
id = "X3"
action = true
[[agents]]
id = "X4"
action = true
[[channels]]
from = "H"
to = "X1"
latency = "1s"
[[channels]]
from = "H"
to = "X2"
latency = "1s"
[[channels]]
from = "H"
to = "X3"
latency = "1s"
[[channels]]
from = "H"
to = "X4"
latency = "1s"
[[sources]]
id = "feed"
target = "H"
arrival = { process = "periodic", period = "10s" }
count = 5
"#;

fn caps(lines: &str) -> String {
    // Every cap off except those named in `lines`.
    let mut table: Vec<String> = ["max_fanout = 0", "max_depth = 0", "max_messages_per_cycle = 0", "max_in_flight = 0"]
        .iter()
        .filter(|default| !lines.contains(default.split(' ').next().unwrap()))
        .map(|s| s.to_string())
        .collect();
    table.push("cooldown = \"0s\"".to_string());
    format!("{STAR}\n[mitigations.caps]\n{}\n{lines}", table.join("\n"))
}

#[test]
fn fanout_cap_keeps_the_first_channels() {
    let (metrics, trace, _) = run_traced(&model(&caps("max_fanout = 2")), 1);
    assert_eq!((metrics.actions, metrics.capped_clean), (10, 0));
    let receivers: Vec<Detail> = trace.iter().filter(|r| r.kind == TraceKind::Send).map(|r| r.detail).collect();
    assert!(receivers.iter().all(|&r| r == Detail::Peer(1) || r == Detail::Peer(2)));
}

#[test]
fn depth_rate_and_in_flight_caps_stop_messages() {
    let (metrics, _, _) = run_traced(&model(&caps("max_depth = 0")), 1);
    assert_eq!(metrics.actions, 20, "0 turns the depth cap off");
    let (metrics, trace, _) = run_traced(&model(&caps("max_in_flight = 3")), 1);
    // Four sends at once, one latency long: the fourth of each burst is stopped.
    assert_eq!((metrics.actions, metrics.capped_clean), (15, 5));
    assert_eq!(count(&trace, TraceKind::Capped), 5);
    let (metrics, _, _) = run_traced(&model(&caps("max_messages_per_cycle = 6\ncycle = \"30s\"")), 1);
    // Bursts of 4 at 0, 10, 20 s fall in cycle [0, 30 s) and at 30, 40 s in
    // [30 s, 60 s): 6 sends allowed per cycle, so 6 + 6 of the 20 go out.
    assert_eq!(metrics.actions, 12);
    assert_eq!(metrics.capped_clean, 8, "20 wanted, 12 sent");
    let chain = CHAIN.to_string() + "\n[mitigations.caps]\nmax_depth = 1\nmax_fanout = 0";
    let (metrics, _, _) = run_traced(&model(&chain), 1);
    // B handles 10 tasks (the 11th reaches it after the horizon) and may send none of them on.
    assert_eq!((metrics.actions, metrics.capped_clean), (0, 10), "B may not send depth-2 messages");
}

#[test]
fn a_trip_puts_the_upstream_agent_in_cooldown() {
    let text = format!(
        "{GUARDED}\n[mitigations.validation]\nthreshold = 4.0\n[mitigations.breaker]\nreset_timeout = \"1m\"\n[mitigations.caps]\ncooldown = \"10m\""
    );
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    assert_eq!(metrics.breaker_trips, 1);
    // Trip at 2:02.01; A holds until 12:02.01: 600 s of agent-time.
    assert_eq!(metrics.held_time, 600 * crate::time::SECOND);
    assert_eq!(count(&trace, TraceKind::Hold), 1);
    // A sends nothing while held (the breaker reopened after a minute, but nothing came).
    assert!(metrics.capped_clean >= 540 && metrics.capped_corrupted == 57, "{metrics:?}");
    assert_eq!(metrics.corrupted_actions, 0);
}

const REVIEWED: &str = r#"
name = "reviewed"
horizon = "10m"
quiet_window = "1m"
[[agents]]
id = "S"
[[agents]]
id = "A"
memory = { write = true }
[[agents]]
id = "B"
[[agents]]
id = "C"
action = true
[[channels]]
from = "S"
to = "A"
latency = "1s"
[[channels]]
from = "A"
to = "B"
latency = "1s"
[[channels]]
from = "B"
to = "C"
latency = "1s"
[[sources]]
id = "feed"
target = "S"
arrival = { process = "periodic", period = "10s" }
[[faults]]
kind = "compromised_agent"
agent = "S"
start = "0s"
shift = 1.0
[mitigations.zero_trust]
max_chain_depth = 2
[mitigations.breaker]
failure_threshold = 1
reset_timeout = "1h"
"#;

fn reviewed(provenance: bool, rollback: bool) -> (RunMetrics, Vec<TraceRow>) {
    let text =
        format!("{REVIEWED}\n[mitigations.review]\ndelay = \"1m\"\nprovenance = {provenance}\nrollback = {rollback}");
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    (metrics, trace)
}

#[test]
fn review_with_provenance_quarantines_the_root_at_once() {
    // The first B -> C message (depth 3) fails zero trust at 3 s and trips.
    let (metrics, trace) = reviewed(true, false);
    assert_eq!(metrics.breaker_trips, 1);
    assert_eq!(metrics.reviews, 1);
    assert_eq!((metrics.agents_quarantined, metrics.wrong_quarantines), (1, 0));
    assert_eq!(metrics.t_attribute, Some(63 * crate::time::SECOND));
    let quarantined: Vec<u32> = trace.iter().filter(|r| r.kind == TraceKind::Quarantine).map(|r| r.agent).collect();
    assert_eq!(quarantined, [0]);
    // After 63 s, S takes no input: nothing it would have sent is created.
    assert!(trace
        .iter()
        .filter(|r| r.kind == TraceKind::Send && r.agent == 0)
        .all(|r| r.time < 63 * crate::time::SECOND));
}

#[test]
fn review_without_provenance_walks_back_one_hop_per_review() {
    let (metrics, trace) = reviewed(false, false);
    assert_eq!(metrics.reviews, 3);
    assert_eq!((metrics.agents_quarantined, metrics.wrong_quarantines), (3, 2));
    assert_eq!(metrics.t_attribute, Some(183 * crate::time::SECOND));
    let quarantined: Vec<(u32, Micros)> = trace
        .iter()
        .filter(|r| r.kind == TraceKind::Quarantine)
        .map(|r| (r.agent, r.time / crate::time::SECOND))
        .collect();
    assert_eq!(quarantined, [(2, 63), (1, 123), (0, 183)]);
}

#[test]
fn review_without_provenance_stops_at_the_root_and_times_attribution_from_onset() {
    // A (the middle of the chain S -> A -> B -> C) is compromised from 0.5 s:
    // the walk quarantines B, then A, and stops there; S is never suspected.
    let text = REVIEWED.replace("agent = \"S\"\nstart = \"0s\"", "agent = \"A\"\nstart = \"500ms\"");
    let text = format!("{text}\n[mitigations.review]\ndelay = \"1m\"\nprovenance = false\nrollback = false");
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    let quarantined: Vec<(u32, Micros)> =
        trace.iter().filter(|r| r.kind == TraceKind::Quarantine).map(|r| (r.agent, r.time)).collect();
    assert_eq!(quarantined, [(2, 63 * crate::time::SECOND), (1, 123 * crate::time::SECOND)]);
    assert_eq!((metrics.reviews, metrics.wrong_quarantines), (2, 1));
    assert_eq!(metrics.t_attribute, Some(123 * crate::time::SECOND - 500_000), "from onset, not from 0");
}

#[test]
fn rollback_with_provenance_takes_the_roots_own_records_and_everything_derived() {
    // S and A both write memory; the feed is poisoned from 25 s. Tasks at 0,
    // 10 and 20 s are clean; from 30 s S writes poisoned records (7, until
    // its quarantine) and A's check rejects S's message at 31 s, tripping the
    // breaker (open for the rest of the run). Review quarantines S
    // (provenance) a minute later and rolls back S's own ten records and
    // A's three clean ones derived from S.
    let text = REVIEWED
        .replace("id = \"S\"\n", "id = \"S\"\nmemory = { write = true }\n")
        // D writes clean records of its own, from its own feed: they stay.
        .replacen("[[channels]]", "[[agents]]\nid = \"D\"\nmemory = { write = true }\n[[sources]]\nid = \"other\"\ntarget = \"D\"\narrival = { process = \"periodic\", period = \"10s\" }\n[[channels]]", 1)
        .replace("kind = \"compromised_agent\"\nagent = \"S\"\nstart = \"0s\"\nshift = 1.0", "kind = \"poisoned_feed\"\nagent = \"S\"\nstart = \"25s\"\nshift = 5.0")
        .replace("[mitigations.zero_trust]\nmax_chain_depth = 2", "[mitigations.validation]\ndetector = \"bernoulli\"\ntrue_positive = 1.0");
    let text = format!("{text}\n[mitigations.review]\ndelay = \"1m\"\nprovenance = true\nrollback = true");
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    let quarantined: Vec<(u32, Micros)> =
        trace.iter().filter(|r| r.kind == TraceKind::Quarantine).map(|r| (r.agent, r.time)).collect();
    assert_eq!(quarantined, [(0, 91 * crate::time::SECOND)], "tripped at 31 s, reviewed a minute later");
    assert_eq!((metrics.rolled_back_clean, metrics.rolled_back_corrupted), (6, 7));
    assert_eq!((metrics.corrupted_records, metrics.corrupted_records_left), (7, 0));
}

#[test]
fn rollback_with_provenance_removes_exactly_the_derived_records() {
    let (metrics, _) = reviewed(true, true);
    // Every record A wrote derives from S: all are corrupted and all go.
    assert!(metrics.rolled_back_corrupted > 0);
    assert_eq!((metrics.rolled_back_clean, metrics.corrupted_records_left), (0, 0));
    let (without, _) = reviewed(false, true);
    // Without provenance: everything since the first detection (3 s) goes,
    // at each of the three quarantines; the record written at 1 s is missed.
    assert_eq!(without.corrupted_records_left, 1);
    assert!(without.rolled_back_corrupted > 0);
}

/// Breaker trips and false trips recounted from B's boundary events in the
/// trace: a trip is false when no corrupted message reached the channel since
/// its breaker last closed (a probe accepted while open closes it; a call
/// that trips a sliding breaker and is accepted shows as alert, then accept).
fn recount_trips(trace: &[TraceRow]) -> (u64, u64) {
    let (mut open, mut seen, mut trips, mut false_trips, mut tripped_by) = (false, false, 0, 0, NONE);
    for row in trace.iter().filter(|r| r.agent == 1 && r.depth > 0) {
        match row.kind {
            TraceKind::Accept | TraceKind::RejectInvalid | TraceKind::RejectOpen => {
                seen |= row.root != NO_FAULT;
                if row.kind == TraceKind::Accept && open && row.message != tripped_by {
                    (open, seen) = (false, false);
                }
            }
            TraceKind::Alert => {
                seen |= row.root != NO_FAULT;
                trips += 1;
                false_trips += u64::from(!seen);
                (open, tripped_by) = (true, row.message);
            }
            _ => {}
        }
    }
    (trips, false_trips)
}

#[test]
fn false_trips_are_those_without_corruption_since_the_breaker_closed() {
    // A hallucinates now and then; B's check misses some corrupted messages
    // and fails some clean ones, so breakers trip, probe and close often.
    let base = GUARDED
        .replace("start = \"2m\"\nduration = \"1m\"\nshift = -30.0", "start = \"0s\"\nduration = \"1s\"\nshift = 0.0")
        + "[[faults]]\nkind = \"hallucination\"\nagents = [\"A\"]\nrate = 0.05\nshift = 5.0\n"
        + "[mitigations.validation]\ndetector = \"bernoulli\"\ntrue_positive = 0.8\nfalse_positive = 0.1\n";
    let breakers = [
        "[mitigations.breaker]\nfailure_threshold = 2\nreset_timeout = \"3s\"",
        "[mitigations.breaker]\nmode = \"sliding\"\nwindow_size = 10\nminimum_calls = 5\nfailure_rate = 0.3\nwait_in_open = \"3s\"\nhalf_open_calls = 1",
    ];
    for breaker in breakers {
        let (mut all, mut all_false) = (0, 0);
        for seed in 1..=5 {
            let (metrics, trace, _) = run_traced(&model(&format!("{base}{breaker}")), seed);
            let (trips, false_trips) = recount_trips(&trace);
            assert_eq!((metrics.breaker_trips, metrics.false_trips), (trips, false_trips), "{breaker}, seed {seed}");
            (all, all_false) = (all + trips, all_false + false_trips);
        }
        assert!(all_false > 10 && all - all_false > 10, "{breaker}: {all} trips, {all_false} false");
    }
}

#[test]
fn a_sliding_breaker_tipped_by_a_passing_call_accepts_it_and_trips() {
    // Messages at 0, 1, 2, 3 s: the first two poisoned (they fail), the next
    // two clean (they pass). The fourth call fills the window to its
    // minimum with 2 failures in 4: it opens the breaker, and is accepted.
    let text = GUARDED.replace("start = \"2m\"\nduration = \"1m\"", "start = \"0s\"\nduration = \"1500ms\"")
        + "[mitigations.validation]\ndetector = \"bernoulli\"\ntrue_positive = 1.0\n"
        + "[mitigations.breaker]\nmode = \"sliding\"\nwindow_size = 4\nminimum_calls = 4\nfailure_rate = 0.5";
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    let alert = trace.iter().find(|r| r.kind == TraceKind::Alert).expect("a trip");
    assert_eq!(alert.time, 3 * crate::time::SECOND + 10_000);
    let fourth: Vec<TraceKind> =
        trace.iter().filter(|r| r.message == alert.message && r.agent == 1).map(|r| r.kind).collect();
    assert_eq!(fourth[..2], [TraceKind::Alert, TraceKind::Accept], "tripped by the call, then accepted");
    // Open for the preset's 60 s: the next 60 clean messages are turned away;
    // then four clean half-open calls (min(minimum_calls 4, the preset's 10
    // permitted), as resilience4j decides) close it for good.
    assert_eq!(
        (metrics.breaker_trips, metrics.false_trips, metrics.rejected_corrupted, metrics.rejected_clean),
        (1, 0, 2, 60)
    );
}

#[test]
fn sliding_breakers_run_in_the_engine() {
    let sliding = |preset: &str| {
        format!("{GUARDED}\n[mitigations.validation]\nthreshold = 4.0\n[mitigations.breaker]\nmode = \"sliding\"\npreset = \"{preset}\"")
    };
    // resilience4j: the last 100 calls reach 50% failures at the 50th poisoned message (2:49).
    let (metrics, trace, _) = run_traced(&model(&sliding("resilience4j")), 1);
    assert_eq!(metrics.breaker_trips, 1);
    let alert = trace.iter().find(|r| r.kind == TraceKind::Alert).unwrap();
    assert_eq!(alert.time, (2 * 60 + 49) * crate::time::SECOND + 10_000);
    assert_eq!(metrics.corrupted_actions, 0);
    // Hystrix: 1 message/s never reaches 20 requests in its 10 s window.
    let (metrics, _, _) = run_traced(&model(&sliding("hystrix")), 1);
    assert_eq!(metrics.breaker_trips, 0);
    assert_eq!(metrics.rejected_corrupted, 60, "validation still rejects every poisoned message");
}

mod access;

/// Prevalence recomputed from a trace: an agent counts from a `process`
/// row with a root fault until its next clean one or its quarantine; a
/// check's `process` row does not count when the check failed that
/// output (it held it back: `check_fail` for the same message).
fn prevalence_from_trace(model: &Model, trace: &[TraceRow]) -> [u32; PREVALENCE_SAMPLES] {
    let failed: std::collections::BTreeSet<(u32, u32)> =
        trace.iter().filter(|r| r.kind == TraceKind::CheckFail).map(|r| (r.agent, r.message)).collect();
    let mut reference = crate::metrics::Prevalence { horizon: model.horizon, ..Default::default() };
    let (mut corrupt, mut quarantined) = (vec![false; model.agents.len()], vec![false; model.agents.len()]);
    let mut rows = trace.iter().peekable();
    for k in 0..PREVALENCE_SAMPLES {
        while let Some(row) = rows.next_if(|r| r.time <= reference.time(k)) {
            match row.kind {
                TraceKind::Process if failed.contains(&(row.agent, row.message)) => {}
                TraceKind::Process if !quarantined[row.agent as usize] => {
                    corrupt[row.agent as usize] = row.root != NO_FAULT
                }
                TraceKind::Quarantine => (quarantined[row.agent as usize], corrupt[row.agent as usize]) = (true, false),
                _ => {}
            }
        }
        reference.counts[k] = corrupt.iter().filter(|&&c| c).count() as u32;
    }
    reference.counts
}

#[test]
fn prevalence_counts_the_agents_whose_latest_output_is_corrupted() {
    let mut seen_fade = false;
    for bundled in crate::bundled::SCENARIOS.iter().filter(|b| !b.name.starts_with("mesh")) {
        let m = model(bundled.text);
        for seed in 1..=3 {
            let (metrics, trace, _) = run_traced(&m, seed);
            let p = metrics.prevalence;
            assert_eq!(p.horizon, m.horizon);
            assert_eq!(p.counts, prevalence_from_trace(&m, &trace), "{} seed {seed}", bundled.name);
            assert!(p.counts.iter().all(|&c| c <= metrics.agents_corrupted), "{}", bundled.name);
            assert_eq!(p.counts[0], 0, "nothing is processed at time 0");
            let peak = p.counts.iter().copied().max().unwrap();
            seen_fade |= peak > 0 && p.counts[PREVALENCE_SAMPLES - 1] < peak;
        }
    }
    assert!(seen_fade, "some run's corruption wears off or is quarantined");
    assert_eq!(crate::metrics::Prevalence { horizon: 100, ..Default::default() }.time(PREVALENCE_SAMPLES - 1), 100);
}
mod checks;
mod joins;
mod pools;
mod routing;
