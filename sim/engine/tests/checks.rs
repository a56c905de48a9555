//! Verification steps: verdicts, capped retries, escalation, and the
//! analytic escape and escalation probabilities.

use super::*;
use proptest::prelude::*;

/// A writer W (defective with probability `h` on each attempt), a check C
/// sending failures back to W and then to people H, and the merge Z.
fn pipeline(h: f64, check: &str) -> String {
    format!(
        r#"
name = "pipeline"
horizon = "20000s"
quiet_window = "10s"
[[agents]]
id = "W"
[[agents]]
id = "C"
check = {check}
[[agents]]
id = "Z"
action = true
[[agents]]
id = "H"
[[channels]]
from = "W"
to = "C"
[[channels]]
from = "C"
to = "Z"
[[sources]]
id = "tickets"
target = "W"
arrival = {{ process = "periodic", period = "1s" }}
signal = {{ mean = 5.0 }}
[[faults]]
kind = "hallucination"
agents = ["W"]
rate = {h}
shift = 1.0
"#
    )
}

const W: u32 = 0;

/// Within four standard errors of `p` over `n` trials.
fn near(observed: f64, p: f64, n: f64) -> bool {
    (observed / n - p).abs() <= 4.0 * (p * (1.0 - p) / n).sqrt() + 1e-12
}

#[test]
fn escalation_and_escape_follow_the_retry_law() {
    // Escalated: (h d)^(r + 1); merged defective: h (1 - d) (1 + h d + ... + (h d)^r).
    for (h, d, r) in [(0.3, 0.8, 1), (0.5, 0.9, 0), (0.6, 0.7, 3)] {
        let text = pipeline(h, &format!("{{ detect = {d}, retry = \"W\", max_retries = {r}, escalate = \"H\" }}"));
        let mut totals = [0.0; 4];
        for seed in 0..5 {
            let (m, _, _) = run_traced(&model(&text), seed);
            let tasks = m.tasks as f64;
            totals[0] += tasks;
            totals[1] += m.escalations as f64;
            totals[2] += m.corrupted_actions as f64;
            totals[3] += m.retries as f64;
            assert_eq!(m.checks_failed, m.retries + m.escalations);
            assert_eq!(m.checks_failed_clean, 0, "no false failures");
        }
        let [n, escalated, escaped, retries] = totals;
        let hd: f64 = h * d;
        let p_escalate = hd.powi(r + 1);
        let p_escape = h * (1.0 - d) * (0..=r).map(|k| hd.powi(k)).sum::<f64>();
        assert!(near(escalated, p_escalate, n), "h {h} d {d} r {r}: escalated {} vs {p_escalate}", escalated / n);
        assert!(near(escaped, p_escape, n), "h {h} d {d} r {r}: escaped {} vs {p_escape}", escaped / n);
        // Retries per task: hd + (hd)^2 + ... + (hd)^r.
        let expected = (1..=r).map(|k| hd.powi(k)).sum::<f64>();
        assert!((retries / n - expected).abs() < 0.01, "retries per task {} vs {expected}", retries / n);
    }
}

#[test]
fn false_failures_cost_retries_of_clean_work() {
    let text = pipeline(0.0, "{ detect = 1.0, false_fail = 0.2, retry = \"W\", escalate = \"H\" }");
    let (m, _, _) = run_traced(&model(&text), 3);
    let n = m.tasks as f64;
    // One retry by default: a clean task is escalated when both verdicts fail.
    assert!(near(m.escalations as f64, 0.04, n), "{}", m.escalations as f64 / n);
    assert!(near(m.retries as f64, 0.2, n));
    assert_eq!(m.checks_failed_clean, m.checks_failed);
    assert_eq!((m.corrupted_actions, m.agents_corrupted), (0, 0));
}

#[test]
fn a_retry_gives_the_producer_its_own_input_again() {
    let text = pipeline(1.0, "{ detect = 1.0, retry = \"W\", max_retries = 2, escalate = \"H\" }");
    let (m, trace, _) = run_traced(&model(&text), 1);
    let retries: Vec<&TraceRow> = trace.iter().filter(|r| r.kind == TraceKind::Retry).collect();
    assert_eq!(retries.len() as u64, 2 * m.tasks);
    for row in &retries {
        // The ticket as it came from the source: clean, signal 5.
        assert_eq!((row.signal, row.shift, row.root, row.detail), (5.0, 0.0, NO_FAULT, Detail::Peer(W)));
    }
    let at_w = trace.iter().filter(|r| r.kind == TraceKind::Process && r.agent == W).count() as u64;
    assert_eq!(at_w, 3 * m.tasks, "each task written three times");
    assert_eq!((m.escalations, m.actions), (m.tasks, 0));
    assert_eq!(count(&trace, TraceKind::Escalate) as u64, m.tasks);
    // Escalated work reaches people (H, a sink): delivered there.
    assert_eq!(m.tasks_delivered, m.tasks);
}

#[test]
fn without_an_escalation_target_a_spent_task_is_lost() {
    let text = pipeline(1.0, "{ detect = 1.0, retry = \"W\" }");
    let (m, _, _) = run_traced(&model(&text), 1);
    assert_eq!((m.tasks_lost, m.tasks_delivered, m.retries, m.escalations), (m.tasks, 0, m.tasks, 0));
}

#[test]
fn time_to_deliver_counts_from_emission() {
    // W takes 2 s; a failed first attempt costs one more.
    let text = pipeline(1.0, "{ detect = 1.0, retry = \"W\", max_retries = 1, escalate = \"H\" }")
        .replace("id = \"W\"", "id = \"W\"\nservice = \"2s\"")
        .replace("\"1s\"", "\"10s\"");
    let (m, _, _) = run_traced(&model(&text), 1);
    assert_eq!(m.mean_time_to_deliver(), Some(4e6));
    let clean = pipeline(0.0, "{ detect = 1.0 }")
        .replace("id = \"W\"", "id = \"W\"\nservice = \"2s\"")
        .replace("\"1s\"", "\"10s\"");
    assert_eq!(run_traced(&model(&clean), 1).0.mean_time_to_deliver(), Some(2e6));
}

#[test]
fn verdicts_leave_every_other_draw_alone() {
    // Without retries the writer's outputs do not depend on the check's rates.
    let outputs = |d: f64| {
        let text = pipeline(0.4, &format!("{{ detect = {d}, false_fail = 0.1, max_retries = 0, escalate = \"H\" }}"));
        let trace = run_traced(&model(&text), 5).1;
        trace
            .iter()
            .filter(|r| r.kind == TraceKind::Process && r.agent == W)
            .map(|r| (r.time, r.root))
            .collect::<Vec<_>>()
    };
    assert_eq!(outputs(0.2), outputs(0.9));
}

#[test]
fn checks_are_refused_where_they_cannot_act() {
    let refused = |check: &str| crate::scenario::parse("t.toml", &pipeline(0.1, check)).unwrap_err().to_string();
    let cases = [
        ("{ detect = 1.5 }", "agents[1].check.detect: must be a probability"),
        ("{ detect = 0.5, false_fail = -1.0 }", "agents[1].check.false_fail: must be a probability"),
        ("{ detect = 0.5, retry = \"Z\" }", "agents[1].check.retry: agent \"Z\" does not reach \"C\""),
        ("{ detect = 0.5, retry = \"Q\" }", "agents[1].check.retry: unknown agent id \"Q\""),
        ("{ detect = 0.5, max_retries = 1 }", "agents[1].check.max_retries: retries need a producer"),
        ("{ detect = 0.5, retry = \"W\", max_retries = 17 }", "expected at most 16 retries, got 17"),
        ("{ detect = 0.5, escalate = \"C\" }", "agents[1].check.escalate: a check cannot escalate to itself"),
        ("{ retry = \"W\" }", "agents[1].check: missing field `detect`"),
    ];
    for (check, expected) in cases {
        let message = refused(check);
        assert!(message.contains(expected), "{check}: {message}");
    }
    let sixteen = pipeline(0.1, "{ detect = 0.5, retry = \"W\", max_retries = 16 }");
    assert!(crate::scenario::parse("t.toml", &sixteen).is_ok(), "16 retries is the limit, allowed");
    let generated = "name = \"g\"\nhorizon = \"1h\"\nquiet_window = \"5m\"\n[topology]\ngenerator = { kind = \"chain\", n = 3 }\nagent = { check = { detect = 0.5 } }\n";
    let message = crate::scenario::parse("t.toml", generated).unwrap_err().to_string();
    assert!(message.contains("topology.agent.check: a check needs named producers"), "{message}");
}

#[test]
fn each_check_counts_what_it_caught_and_missed() {
    // Two rings in a row: C (detect 0.8) and D (detect 0.5), no retries,
    // failures escalated. C sees every output of W; D what C passed on;
    // each catches its share of the corrupted outputs it sees.
    let text = pipeline(0.4, "{ detect = 0.8, false_fail = 0.1, max_retries = 0, escalate = \"H\" }")
        .replace(
            "[[channels]]\nfrom = \"C\"\nto = \"Z\"",
            "[[channels]]\nfrom = \"C\"\nto = \"D\"\n[[channels]]\nfrom = \"D\"\nto = \"Z\"",
        )
        .replace(
            "[[agents]]\nid = \"H\"",
            "[[agents]]\nid = \"H\"\n[[agents]]\nid = \"D\"\ncheck = { detect = 0.5, escalate = \"H\" }",
        );
    let (m, trace, engine) = run_traced(&model(&text), 2);
    let [c, d] = engine.check_counts() else { panic!("two checks") };
    assert_eq!((c.agent, d.agent), (1, 4));
    let n = m.tasks as f64;
    assert_eq!(c.verdicts, m.tasks, "every task checked once at C");
    assert_eq!(d.verdicts, c.verdicts - c.caught - c.failed_clean, "D sees what C passed");
    assert_eq!(d.caught + d.missed, c.missed);
    assert_eq!(d.failed_clean, 0, "D fails no clean work");
    assert!(near(c.caught as f64, 0.4 * 0.8, n) && near(c.failed_clean as f64, 0.6 * 0.1, n), "{c:?}");
    let seen = c.missed as f64;
    assert!(near(d.caught as f64, 0.5, seen), "{d:?}");
    assert_eq!(d.missed, m.corrupted_actions, "what D misses merges");
    assert_eq!((c.escalations + d.escalations, c.retries + d.retries), (m.escalations, 0));
    assert_eq!(c.lost + d.lost, count(&trace, TraceKind::Lost) as u64);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A check never gives a task more than `max_retries` retries, and every
    /// failure is a retry, an escalation or a loss.
    #[test]
    fn retries_never_exceed_the_cap(
        seed in 0u64..1000,
        h in 0.0f64..=1.0,
        d in 0.0f64..=1.0,
        f in 0.0f64..=1.0,
        r in 0u32..=4,
        escalate in any::<bool>(),
    ) {
        let target = if escalate { ", escalate = \"H\"" } else { "" };
        let check = format!("{{ detect = {d}, false_fail = {f}, retry = \"W\", max_retries = {r}{target} }}");
        let text = pipeline(h, &check).replace("\"20000s\"", "\"200s\"");
        let (m, trace, engine) = run_traced(&model(&text), seed);
        let [c] = engine.check_counts() else { panic!("one check") };
        prop_assert_eq!(c.agent, 1);
        prop_assert_eq!(c.check(), Ok(()));
        prop_assert_eq!((c.caught + c.failed_clean, c.failed_clean), (m.checks_failed, m.checks_failed_clean));
        prop_assert_eq!((c.retries, c.escalations, c.lost), (m.retries, m.escalations, count(&trace, TraceKind::Lost) as u64));
        prop_assert_eq!(c.caught + c.failed_clean, count(&trace, TraceKind::CheckFail) as u64);
        let mut per_task = std::collections::BTreeMap::new();
        for row in trace.iter().filter(|r| r.kind == TraceKind::Retry) {
            *per_task.entry(row.task).or_insert(0u32) += 1;
        }
        prop_assert!(per_task.values().all(|&n| n <= r));
        let lost = count(&trace, TraceKind::Lost) as u64;
        prop_assert_eq!(m.checks_failed, m.retries + m.escalations + lost);
        prop_assert!(m.tasks_delivered + m.tasks_lost <= m.tasks);
    }
}

#[test]
fn check_counts_start_from_zero_in_every_run() {
    let model = model(&pipeline(0.4, "{ detect = 0.8, retry = \"W\", escalate = \"H\" }"));
    let (_, _, mut reused) = run_traced(&model, 1);
    let graph = Graph::build(&model, &mut rng::stream(&run_key(2, 0, u64::MAX), Stream::Topology));
    reused.run(&model, &graph, &run_key(2, 0, 0), false);
    let (_, _, fresh) = run_traced(&model, 2);
    assert_eq!(reused.check_counts(), fresh.check_counts());
    assert!(fresh.check_counts()[0].verdicts > 0);
}

#[test]
fn retried_and_escalated_work_names_its_check_and_failed_output() {
    // C doubles what it checks, so the escalated output differs from C's input.
    let text = pipeline(1.0, "{ detect = 1.0, retry = \"W\", max_retries = 1, escalate = \"H\" }")
        .replace("id = \"C\"", "id = \"C\"\ngain = 2.0");
    let (_, trace, _) = run_traced(&model(&text), 1);
    let failed: Vec<&TraceRow> = trace.iter().filter(|r| r.kind == TraceKind::CheckFail).collect();
    let handed: Vec<&TraceRow> =
        trace.iter().filter(|r| matches!(r.kind, TraceKind::Retry | TraceKind::Escalate)).collect();
    assert_eq!(failed.len(), handed.len());
    for (fail, hand) in failed.iter().zip(&handed) {
        // Each hand-over follows its failure: the failed input is its parent,
        // one hop deeper, sent by the check.
        assert_eq!((hand.parent, hand.task, hand.depth), (fail.message, fail.task, fail.depth + 1), "{hand:?}");
        assert_eq!(hand.agent, 1);
        let input = trace.iter().find(|r| r.message == fail.message && r.kind == TraceKind::Accept).unwrap();
        assert_eq!(input.depth, fail.depth);
        if hand.kind == TraceKind::Escalate {
            // The check's output, to people: twice the defective change.
            assert_eq!((hand.signal, hand.shift, hand.root), (2.0 * input.signal, 2.0 * input.shift, input.root));
            assert_eq!(hand.detail, Detail::Peer(3));
        } else {
            assert_eq!(hand.detail, Detail::Peer(W));
            // The producer accepts it from the check, off any channel.
            let again = trace.iter().find(|r| r.message == hand.message && r.kind == TraceKind::Accept).unwrap();
            assert_eq!((again.agent, again.detail), (W, Detail::Peer(1)), "{again:?}");
        }
    }
    let arrivals_at_h = trace.iter().filter(|r| r.kind == TraceKind::Accept && r.agent == 3);
    assert!(arrivals_at_h.clone().count() > 0);
    for row in arrivals_at_h {
        assert_eq!(row.detail, Detail::Peer(1), "escalated work comes from the check");
    }
}
