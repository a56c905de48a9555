//! Joins: waiting for a task's inputs, k of n, timeouts, late inputs, and
//! the four rules with one corrupted specialist among three.

use super::*;
use proptest::prelude::*;

/// A fans each task out to three specialists; J joins their outputs and
/// sends to the sink Z. S3 hallucinates on every output (shift 3).
const PANEL: &str = r#"
name = "panel"
horizon = "100s"
quiet_window = "10s"
[[agents]]
id = "A"
[[agents]]
id = "S1"
[[agents]]
id = "S2"
[[agents]]
id = "S3"
[[agents]]
id = "J"
join = { combine = "mean" }
[[agents]]
id = "Z"
[[channels]]
from = "A"
to = "S1"
[[channels]]
from = "A"
to = "S2"
[[channels]]
from = "A"
to = "S3"
[[channels]]
from = "S1"
to = "J"
latency = "1s"
[[channels]]
from = "S2"
to = "J"
latency = "2s"
[[channels]]
from = "S3"
to = "J"
latency = "3s"
[[channels]]
from = "J"
to = "Z"
[[sources]]
id = "feed"
target = "A"
arrival = { process = "periodic", period = "10s" }
signal = { mean = 6.0 }
[[faults]]
kind = "hallucination"
agents = ["S3"]
rate = 1.0
shift = 3.0
"#;

const J: u32 = 4;

fn panel(join: &str) -> Model {
    model(&PANEL.replace("join = { combine = \"mean\" }", join))
}

/// J's processed outputs: (time, signal, shift, corrupted).
fn outputs(trace: &[TraceRow]) -> Vec<(Micros, f64, f64, bool)> {
    trace
        .iter()
        .filter(|r| r.kind == TraceKind::Process && r.agent == J)
        .map(|r| (r.time, r.signal, r.shift, r.root != NO_FAULT))
        .collect()
}

#[test]
fn a_join_waits_for_every_in_channel_then_processes_once() {
    let (metrics, trace, _) = run_traced(&panel("join = { combine = \"mean\" }"), 1);
    // Tasks at 0, 10, ..., 90 s; the last input lands 3 s after each.
    let out = outputs(&trace);
    assert_eq!(out.len(), 10);
    for (k, &(time, signal, shift, corrupted)) in out.iter().enumerate() {
        assert_eq!(time, (10 * k as u64 + 3) * crate::time::SECOND);
        // Mean: the corruption diluted by the three inputs.
        assert_eq!((signal, shift, corrupted), (7.0, 1.0, true));
    }
    assert_eq!((metrics.joins, metrics.joins_timed_out, metrics.join_late), (10, 0, 0));
    assert_eq!(count(&trace, TraceKind::Join), 10);
    assert!(trace.iter().filter(|r| r.kind == TraceKind::Join).all(|r| r.detail == Detail::Count(3)));
    // The task of 100 s is still waiting at the horizon.
    assert_eq!((metrics.tasks, metrics.tasks_delivered), (11, 10));
    // Three inputs accepted per task, one processing at J.
    assert_eq!(trace.iter().filter(|r| r.kind == TraceKind::Accept && r.agent == J).count(), 30);
}

#[test]
fn median_and_vote_outvote_one_corrupted_input_and_any_keeps_it_whole() {
    for (rule, expected) in [("median", (6.0, 0.0, false)), ("vote", (6.0, 0.0, false)), ("any", (9.0, 3.0, true))] {
        let (metrics, trace, _) = run_traced(&panel(&format!("join = {{ combine = \"{rule}\" }}")), 1);
        for &(_, signal, shift, corrupted) in &outputs(&trace) {
            assert_eq!((signal, shift, corrupted), expected, "{rule}");
        }
        // Only S3 produced corrupted output unless the join carried it on.
        let corrupted_agents = if expected.2 { 3 } else { 1 };
        assert_eq!(metrics.agents_corrupted, corrupted_agents, "{rule}");
    }
}

#[test]
fn two_of_three_fires_on_the_second_input_and_discards_the_third() {
    let (metrics, trace, _) = run_traced(&panel("join = { inputs = 2, combine = \"mean\" }"), 1);
    let out = outputs(&trace);
    assert_eq!(out.len(), 10);
    for (k, &(time, signal, shift, corrupted)) in out.iter().enumerate() {
        assert_eq!(time, (10 * k as u64 + 2) * crate::time::SECOND);
        // S1 and S2 only: clean.
        assert_eq!((signal, shift, corrupted), (6.0, 0.0, false));
    }
    assert_eq!((metrics.joins, metrics.join_late), (10, 10));
    let late: Vec<u32> = trace.iter().filter(|r| r.kind == TraceKind::JoinLate).map(|r| r.agent).collect();
    assert_eq!(late, vec![J; 10]);
}

#[test]
fn a_timed_out_join_proceeds_with_what_it_has_and_counts_it() {
    // S3's inputs take 3 s; the join gives up 1.5 s after the first (1 s).
    let (metrics, trace, _) = run_traced(&panel("join = { timeout = \"1500ms\", combine = \"mean\" }"), 1);
    let out = outputs(&trace);
    assert_eq!(out.len(), 10);
    for (k, &(time, signal, _, corrupted)) in out.iter().enumerate() {
        assert_eq!(time, (10 * k as u64) * crate::time::SECOND + 2_500_000);
        assert_eq!((signal, corrupted), (6.0, false));
    }
    assert_eq!((metrics.joins, metrics.joins_timed_out), (10, 10));
    assert_eq!(metrics.join_late, 10, "S3's inputs come after the join went on");
    let timed_out: Vec<Detail> = trace.iter().filter(|r| r.kind == TraceKind::JoinTimeout).map(|r| r.detail).collect();
    assert_eq!(timed_out, vec![Detail::Count(2); 10]);
    // A timeout that comes after the join fired does nothing.
    let (metrics, _, _) = run_traced(&panel("join = { timeout = \"5s\", combine = \"mean\" }"), 1);
    assert_eq!((metrics.joins, metrics.joins_timed_out, metrics.join_late), (10, 0, 0));
}

#[test]
fn a_join_applies_each_channels_propagation_to_its_input() {
    let text = PANEL.replace("to = \"J\"\nlatency = \"3s\"", "to = \"J\"\nlatency = \"3s\"\npropagation = 0.0");
    let (_, trace, _) = run_traced(&model(&text), 1);
    assert!(outputs(&trace).iter().all(|&(_, signal, _, corrupted)| (signal, corrupted) == (6.0, false)));
    // At one half, about half the joins carry the corruption.
    let half = model(&text.replace("propagation = 0.0", "propagation = 0.5").replace("\"10s\"", "\"10ms\""));
    let (metrics, trace, _) = run_traced(&half, 2);
    let corrupted = outputs(&trace).iter().filter(|o| o.3).count() as f64;
    let n = metrics.joins as f64;
    assert!(n > 9000.0);
    assert!((corrupted / n - 0.5).abs() < 4.0 * (0.25 / n).sqrt(), "{corrupted} of {n}");
}

#[test]
fn a_faded_mean_is_clean() {
    // One third of the shift is below a materiality of one half.
    let text = PANEL.replace("horizon = \"100s\"", "horizon = \"100s\"\nmateriality = 0.5");
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    assert!(outputs(&trace).iter().all(|o| !o.3));
    assert_eq!(metrics.agents_corrupted, 1);
}

#[test]
fn joins_are_refused_where_they_cannot_wait() {
    let refused = |text: &str| crate::scenario::parse("t.toml", text).unwrap_err().to_string();
    let one_in = PANEL.replace("id = \"Z\"", "id = \"Z\"\njoin = {}");
    assert!(refused(&one_in).contains("agents[5].join: a join needs 2 to 64 in-channels"), "{}", refused(&one_in));
    let k = PANEL.replace("join = { combine = \"mean\" }", "join = { inputs = 4 }");
    assert!(refused(&k).contains("agents[4].join.inputs: expected \"all\" or 1 to 3"), "{}", refused(&k));
    let zero = PANEL.replace("join = { combine = \"mean\" }", "join = { inputs = 0 }");
    assert!(refused(&zero).contains("got 0"), "{}", refused(&zero));
    let word = PANEL.replace("join = { combine = \"mean\" }", "join = { inputs = \"most\" }");
    assert!(refused(&word).contains("\"all\" or a number of in-channels"), "{}", refused(&word));
    let rule = PANEL.replace("combine = \"mean\"", "combine = \"max\"");
    assert!(refused(&rule).contains("agents[4].join.combine"), "{}", refused(&rule));
    let instant = PANEL.replace("combine = \"mean\"", "timeout = \"0s\"");
    assert!(refused(&instant).contains("join.timeout: must be a positive duration"), "{}", refused(&instant));
    let fed = PANEL.replace("target = \"A\"", "target = \"J\"");
    assert!(refused(&fed).contains("sources[0].target: agent \"J\" joins"), "{}", refused(&fed));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A join fires at most once per task, every input is in one join or
    /// late, and no task is both delivered and lost.
    #[test]
    fn a_join_never_fires_twice_for_a_task(
        seed in 0u64..1000,
        inputs in 1u32..=3,
        timeout_ms in prop::option::of(1u64..4000),
        rule in prop::sample::select(vec!["mean", "median", "vote", "any"]),
        exponential in any::<bool>(),
    ) {
        let timeout = timeout_ms.map_or(String::new(), |t| format!("timeout = \"{t}ms\", "));
        let mut text = PANEL.replace(
            "join = { combine = \"mean\" }",
            &format!("join = {{ inputs = {inputs}, {timeout}combine = \"{rule}\" }}"),
        );
        if exponential {
            for l in ["1s", "2s", "3s"] {
                text = text.replace(
                    &format!("latency = \"{l}\""),
                    &format!("latency = {{ dist = \"exponential\", mean = \"{l}\" }}"),
                );
            }
            text = text.replace("\"10s\"", "\"1s\"");
        }
        let (metrics, trace, _) = run_traced(&model(&text), seed);
        let mut fired = std::collections::BTreeMap::new();
        for row in trace.iter().filter(|r| matches!(r.kind, TraceKind::Join | TraceKind::JoinTimeout)) {
            *fired.entry((row.agent, row.task)).or_insert(0) += 1;
            let Detail::Count(n) = row.detail else { panic!("a join row counts its inputs") };
            prop_assert!(n >= 1 && n <= inputs);
            prop_assert!(row.kind == TraceKind::JoinTimeout || n == inputs);
        }
        prop_assert!(fired.values().all(|&n| n == 1));
        prop_assert_eq!(fired.len() as u64, metrics.joins);
        let accepted = trace.iter().filter(|r| r.kind == TraceKind::Accept && r.agent == J).count() as u64;
        let joined: u64 = trace
            .iter()
            .filter(|r| matches!(r.kind, TraceKind::Join | TraceKind::JoinTimeout))
            .map(|r| match r.detail { Detail::Count(n) => n as u64, _ => 0 })
            .sum();
        // Inputs of joins still waiting at the horizon are neither.
        prop_assert!(accepted >= joined + metrics.join_late);
        prop_assert!(metrics.tasks_delivered + metrics.tasks_lost <= metrics.tasks);
    }
}

#[test]
fn a_second_input_on_the_same_in_channel_is_late_not_a_new_input() {
    // S2 hears each task twice, from A and again, corrupted, through X (it
    // acts once per content class), so it sends twice on S2 -> J, J's
    // second in-channel: the repeat is late, and J still waits for S3.
    let text = PANEL.replace("agents = [\"S3\"]", "agents = [\"S3\", \"X\"]").replace(
        "[[channels]]\nfrom = \"S1\"",
        "[[agents]]\nid = \"X\"\n[[channels]]\nfrom = \"A\"\nto = \"X\"\n[[channels]]\nfrom = \"X\"\nto = \"S2\"\nlatency = \"500ms\"\n[[channels]]\nfrom = \"S1\"",
    );
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    let out = outputs(&trace);
    assert_eq!(out.len(), 10);
    for (k, &(time, signal, shift, corrupted)) in out.iter().enumerate() {
        assert_eq!(time, (10 * k as u64 + 3) * crate::time::SECOND);
        assert_eq!((signal, shift, corrupted), (7.0, 1.0, true), "S1, S2 and S3, once each");
    }
    assert_eq!((metrics.joins, metrics.join_late), (10, 10));
    let late: Vec<Detail> = trace.iter().filter(|r| r.kind == TraceKind::JoinLate).map(|r| r.detail).collect();
    assert_eq!(late, vec![Detail::Peer(2); 10], "the repeat is S2's");
}
