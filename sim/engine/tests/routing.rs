//! Routing: kinds, routers by kind and by signal, misroutes, failover, and
//! the tasks delivered and lost.

use super::*;

/// A router R sending each task by its kind to one of three sinks.
const DESK: &str = r#"
name = "desk"
horizon = "1000s"
quiet_window = "10s"
[[agents]]
id = "R"
output = "by_kind"
routes = [
  { kind = "billing", to = "B" },
  { kind = "tech", to = "T" },
  { to = "G" },
]
[[agents]]
id = "B"
[[agents]]
id = "T"
[[agents]]
id = "G"
[[channels]]
from = "R"
to = "B"
[[channels]]
from = "R"
to = "T"
[[channels]]
from = "R"
to = "G"
[[sources]]
id = "tickets"
target = "R"
arrival = { process = "poisson", per_second = 2.0 }
kinds = [{ name = "billing", share = 0.5 }, { name = "tech", share = 0.3 }, { name = "account", share = 0.2 }]
"#;

/// Accepted messages per agent in one run.
fn accepted(trace: &[TraceRow], agents: usize) -> Vec<f64> {
    let mut counts = vec![0.0; agents];
    trace.iter().filter(|r| r.kind == TraceKind::Accept).for_each(|r| counts[r.agent as usize] += 1.0);
    counts
}

#[test]
fn a_kind_router_splits_a_poisson_source_into_independent_poisson_branches() {
    // Poisson splitting: each branch is Poisson with rate share x 2/s, so
    // over 1000 s its count has mean = variance = 2000 x share, and the
    // branches are independent.
    let model = model(DESK);
    let runs = 400;
    let counts: Vec<Vec<f64>> = (0..runs).map(|seed| accepted(&run_traced(&model, seed).1, 4)).collect();
    let n = runs as f64;
    let mean = |a: usize| counts.iter().map(|c| c[a]).sum::<f64>() / n;
    let cov = |a: usize, b: usize| {
        let (ma, mb) = (mean(a), mean(b));
        counts.iter().map(|c| (c[a] - ma) * (c[b] - mb)).sum::<f64>() / (n - 1.0)
    };
    for (agent, share) in [(1, 0.5), (2, 0.3), (3, 0.2)] {
        let expected = 2000.0 * share;
        let se = (expected / n).sqrt();
        assert!((mean(agent) - expected).abs() < 4.0 * se, "agent {agent}: mean {} vs {expected}", mean(agent));
        let dispersion = cov(agent, agent) / expected;
        assert!((dispersion - 1.0).abs() < 4.0 * (2.0 / (n - 1.0)).sqrt(), "agent {agent}: var/mean {dispersion}");
    }
    for (a, b) in [(1, 2), (1, 3), (2, 3)] {
        let correlation = cov(a, b) / (cov(a, a) * cov(b, b)).sqrt();
        assert!(correlation.abs() < 4.0 / n.sqrt(), "branches {a} and {b} correlate: {correlation}");
    }
    // Every task reaches a sink: delivered, none lost.
    let (metrics, trace, _) = run_traced(&model, 7);
    assert_eq!(metrics.tasks, count(&trace, TraceKind::SourceEmit) as u64);
    assert_eq!((metrics.tasks_delivered, metrics.tasks_lost, metrics.misrouted), (metrics.tasks, 0, 0));
}

#[test]
fn kinds_leave_every_other_draw_alone() {
    // The kind draws have their own stream. With a router, the arrival
    // times and signals are those of the same source without kinds.
    let emitted = |text: &str| {
        let trace = run_traced(&model(text), 3).1;
        trace.iter().filter(|r| r.kind == TraceKind::SourceEmit).map(|r| (r.time, r.signal)).collect::<Vec<_>>()
    };
    let kinds = r#"kinds = [{ name = "billing", share = 0.5 }, { name = "tech", share = 0.3 }, { name = "account", share = 0.2 }]"#;
    let routes =
        "routes = [\n  { kind = \"billing\", to = \"B\" },\n  { kind = \"tech\", to = \"T\" },\n  { to = \"G\" },\n]";
    let plain = DESK.replace("output = \"by_kind\"", "").replace(kinds, "").replace(routes, "");
    assert!(!model(&plain).routes_work());
    assert_eq!(emitted(DESK), emitted(&plain));
    // Kinds no router reads change nothing at all: noise, random picks,
    // service times, faults, validation, breakers and review run as before.
    let busy = ROUND_ROBIN
        .replace(
            "output = \"round_robin\"",
            "output = \"random_one\"\nnoise = 2.0\nservice = { dist = \"exponential\", mean = \"300ms\" }",
        )
        .replace("period = \"1s\"", "period = \"500ms\"");
    let with_kinds =
        busy.replace("signal = { mean = 100.0 }", &format!("signal = {{ mean = 100.0, sd = 3.0 }}\n{kinds}"));
    let busy = busy.replace("signal = { mean = 100.0 }", "signal = { mean = 100.0, sd = 3.0 }");
    for seed in 0..5 {
        let (a, b) = (run_traced(&model(&busy), seed), run_traced(&model(&with_kinds), seed));
        assert_eq!(a.1, b.1, "seed {seed}: the same trace");
        assert_eq!(a.0, b.0, "seed {seed}: the same metrics");
        assert!(a.0.agents_quarantined == 1 && count(&a.1, TraceKind::RejectInvalid) > 0, "the run exercises them");
    }
}

#[test]
fn a_task_no_route_matches_is_lost_and_counted() {
    // Without the catch-all, "account" tickets (a fifth) have nowhere to go.
    let text = DESK.replace("  { to = \"G\" },\n", "");
    let (metrics, trace, _) = run_traced(&model(&text), 5);
    let lost = count(&trace, TraceKind::Lost) as u64;
    assert!(lost > 0 && metrics.tasks_lost == lost, "{lost} lost rows, {} tasks lost", metrics.tasks_lost);
    assert_eq!(metrics.tasks_delivered + metrics.tasks_lost, metrics.tasks, "every task delivered or lost");
    assert!(trace.iter().filter(|r| r.kind == TraceKind::Lost).all(|r| r.agent == 0));
    let share = lost as f64 / metrics.tasks as f64;
    assert!((share - 0.2).abs() < 0.05, "lost share {share}");
}

/// Outputs below 50 go to L, the rest to H; a poisoned feed lowers every
/// signal by 80 from 100 s to 200 s.
const BY_SIGNAL: &str = r#"
name = "threshold"
horizon = "300s"
quiet_window = "10s"
[[agents]]
id = "R"
output = "by_signal"
misroute = 0.0
routes = [{ below = 50.0, to = "L" }, { to = "H" }]
[[agents]]
id = "L"
[[agents]]
id = "H"
[[channels]]
from = "R"
to = "L"
[[channels]]
from = "R"
to = "H"
[[sources]]
id = "s"
target = "R"
arrival = { process = "periodic", period = "10s" }
signal = { mean = 100.0 }
[[faults]]
kind = "poisoned_feed"
agent = "R"
start = "100s"
duration = "100s"
shift = -80.0
"#;

#[test]
fn a_signal_router_sends_a_shifted_signal_down_the_other_branch() {
    let (metrics, trace, _) = run_traced(&model(BY_SIGNAL), 1);
    let got = accepted(&trace, 3);
    // Emissions at 0, 10, ..., 300 s: those at 100..190 s are shifted to 20.
    assert_eq!(got, [31.0, 10.0, 21.0]);
    assert_eq!((metrics.tasks, metrics.tasks_delivered, metrics.misrouted), (31, 31, 0));
}

#[test]
fn a_corrupted_router_misroutes_at_its_rate_and_a_clean_one_never() {
    let text = BY_SIGNAL.replace("misroute = 0.0", "misroute = 1.0").replace("shift = -80.0", "shift = -10.0");
    // A shift of -10 keeps the signal above 50 (route H); every corrupted
    // output is sent the other way, every clean one is not.
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    assert_eq!(accepted(&trace, 3), [31.0, 10.0, 21.0]);
    assert_eq!((metrics.misrouted, count(&trace, TraceKind::Misroute) as u64), (10, 10));
    // Each misroute row names the input it routed, its task and the receiver L.
    for row in trace.iter().filter(|r| r.kind == TraceKind::Misroute) {
        assert!(row.message != NONE && row.task != NONE && row.detail == Detail::Peer(1), "{row:?}");
    }
    // At one half, the misroutes are binomial(corrupted outputs, 1/2).
    let text = text.replace("misroute = 1.0", "misroute = 0.5").replace("period = \"10s\"", "period = \"100ms\"");
    let metrics = run_traced(&model(&text), 2).0;
    let corrupted = 1000.0;
    let z = (metrics.misrouted as f64 - corrupted / 2.0) / (corrupted / 4.0).sqrt();
    assert!(z.abs() < 4.0, "{} misrouted of {corrupted}", metrics.misrouted);
}

/// R round-robins over three specialists, which feed a writer W; S1 is
/// compromised from 100 s, a breaker on S1 -> W trips on its first
/// failed validation and review quarantines S1 a second later.
const ROUND_ROBIN: &str = r#"
name = "failover"
horizon = "600s"
quiet_window = "10s"
[[agents]]
id = "R"
output = "round_robin"
[[agents]]
id = "S1"
[[agents]]
id = "S2"
[[agents]]
id = "S3"
[[agents]]
id = "W"
[[channels]]
from = "R"
to = "S1"
[[channels]]
from = "R"
to = "S2"
[[channels]]
from = "R"
to = "S3"
[[channels]]
from = "S1"
to = "W"
[[channels]]
from = "S2"
to = "W"
[[channels]]
from = "S3"
to = "W"
[[sources]]
id = "s"
target = "R"
arrival = { process = "periodic", period = "1s" }
signal = { mean = 100.0 }
[[faults]]
kind = "compromised_agent"
agent = "S1"
start = "100s"
shift = 50.0
[mitigations.validation]
detector = "bernoulli"
true_positive = 1.0
false_positive = 0.0
[mitigations.breaker]
failure_threshold = 1
[mitigations.review]
delay = "1s"
"#;

#[test]
fn without_failover_a_round_robin_loses_a_third_once_a_specialist_is_quarantined() {
    let (metrics, trace, _) = run_traced(&model(ROUND_ROBIN), 1);
    assert_eq!(metrics.agents_quarantined, 1);
    let quarantined = trace.iter().find(|r| r.kind == TraceKind::Quarantine).expect("S1 quarantined").time;
    let lost = count(&trace, TraceKind::Lost) as f64;
    let after = (600.0 - quarantined as f64 / 1e6) / 3.0;
    assert!((lost - after).abs() <= 1.0, "{lost} lost, about {after} expected");
    assert_eq!(metrics.tasks_lost, lost as u64);
    assert!(metrics.tasks_delivered + metrics.tasks_lost <= metrics.tasks);
}

#[test]
fn with_failover_a_round_robin_skips_the_quarantined_specialist() {
    let text = ROUND_ROBIN.replace("output = \"round_robin\"", "output = \"round_robin\"\nfailover = true");
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    assert_eq!((metrics.agents_quarantined, metrics.tasks_lost, count(&trace, TraceKind::Lost)), (1, 0, 0));
    let quarantined = trace.iter().find(|r| r.kind == TraceKind::Quarantine).expect("S1 quarantined").time;
    // After the quarantine S2 and S3 alternate.
    let sent: Vec<u32> = trace
        .iter()
        .filter(|r| r.kind == TraceKind::Send && r.agent == 0 && r.time > quarantined)
        .map(|r| match r.detail {
            Detail::Peer(to) => to,
            _ => unreachable!(),
        })
        .collect();
    assert!(sent.len() > 400 && sent.windows(2).all(|w| w[0] != w[1] && w[0] != 1), "{sent:?}");
    // The same with random_one: never S1 after the quarantine.
    let text = text.replace("round_robin", "random_one");
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    assert_eq!(metrics.tasks_lost, 0);
    let quarantined = trace.iter().find(|r| r.kind == TraceKind::Quarantine).expect("S1 quarantined").time;
    assert!(trace
        .iter()
        .filter(|r| r.kind == TraceKind::Send && r.agent == 0 && r.time > quarantined)
        .all(|r| r.detail != Detail::Peer(1)));
}

#[test]
fn a_kind_router_fails_over_to_the_next_receiver_listed() {
    let text = ROUND_ROBIN
        .replace(
            "output = \"round_robin\"",
            "output = \"by_kind\"\nroutes = [{ kind = \"a\", to = [\"S1\", \"S2\"] }, { to = \"S3\" }]",
        )
        .replace("signal = { mean = 100.0 }", "signal = { mean = 100.0 }\nkinds = [{ name = \"a\", share = 1.0 }]");
    let (metrics, trace, _) = run_traced(&model(&text), 1);
    assert_eq!((metrics.agents_quarantined, metrics.tasks_lost), (1, 0));
    let accepted = accepted(&trace, 5);
    assert_eq!(accepted[3], 0.0, "no task of kind a goes to the catch-all");
    assert!(accepted[2] > 400.0, "S2 takes over: {accepted:?}");
    // Failover off: every task after the quarantine is lost at S1.
    let off = text.replace("output = \"by_kind\"", "output = \"by_kind\"\nfailover = false");
    let metrics = run_traced(&model(&off), 1).0;
    assert!(metrics.tasks_lost > 400 && metrics.tasks_delivered + metrics.tasks_lost <= metrics.tasks);
}

#[test]
fn no_task_is_both_delivered_and_lost() {
    // Fan-out to a quarantined and a live receiver: the task is delivered
    // by one branch and lost on the other; it counts once, as delivered.
    let text = ROUND_ROBIN.replace("output = \"round_robin\"", "");
    for seed in 0..20 {
        let (metrics, trace, engine) = run_traced(&model(&text), seed);
        assert_eq!(metrics.tasks_lost, 0, "every task also went to S2 and S3");
        assert!(count(&trace, TraceKind::Lost) > 0);
        assert_eq!((metrics.tasks, metrics.tasks_delivered), (601, engine.tasks.len() as u64), "instant service");
    }
}

#[test]
fn with_failover_and_nothing_available_a_pick_is_made_as_without_and_lost() {
    // R's only receiver is S1: once S1 is quarantined there is nothing to
    // fail over to, so every later task goes to S1 and is lost there.
    let only_s1 = ROUND_ROBIN
        .replace("[[channels]]\nfrom = \"R\"\nto = \"S2\"\n", "")
        .replace("[[channels]]\nfrom = \"R\"\nto = \"S3\"\n", "");
    for rule in ["round_robin", "random_one"] {
        let text = only_s1.replace("output = \"round_robin\"", &format!("output = \"{rule}\"\nfailover = true"));
        let (metrics, trace, _) = run_traced(&model(&text), 1);
        let quarantined = trace.iter().find(|r| r.kind == TraceKind::Quarantine).expect("S1 quarantined").time;
        let after = 600 - quarantined.div_ceil(1_000_000);
        let lost = trace.iter().filter(|r| r.kind == TraceKind::Lost && r.agent == 1).count() as u64;
        assert!(lost.abs_diff(after) <= 1, "{rule}: {lost} lost at S1, about {after} expected");
        assert_eq!(metrics.tasks_lost, lost, "{rule}");
    }
}

#[test]
fn a_signal_at_a_routes_bound_is_not_below_it() {
    // Clean signals are exactly 100: with `below = 100` they are not below
    // it and go to H; the shifted ones (20) go to L.
    let text = BY_SIGNAL.replace("below = 50.0", "below = 100.0");
    let (_, trace, _) = run_traced(&model(&text), 1);
    assert_eq!(accepted(&trace, 3), [31.0, 10.0, 21.0]);
}

#[test]
fn a_misroute_goes_to_each_other_route_alike_and_never_to_the_right_one() {
    // Every task is billing (route 0, to B: the tech source starts after
    // the horizon); from 100 s on the feed is poisoned and every corrupted
    // output is misrouted, to T or G.
    let text = DESK
        .replace("per_second = 2.0 }", "per_second = 20.0 }")
        .replace("kinds = [{ name = \"billing\", share = 0.5 }, { name = \"tech\", share = 0.3 }, { name = \"account\", share = 0.2 }]", "kinds = [{ name = \"billing\", share = 1.0 }]")
        .replace("output = \"by_kind\"", "output = \"by_kind\"\nmisroute = 1.0")
        + "[[sources]]\nid = \"later\"\ntarget = \"R\"\narrival = { process = \"periodic\", period = \"1s\" }\nstart = \"2000s\"\nkinds = [{ name = \"tech\", share = 1.0 }]\n"
        + "[[faults]]\nkind = \"poisoned_feed\"\nagent = \"R\"\nstart = \"100s\"\nduration = \"900s\"\nshift = 30.0\n";
    let (metrics, trace, _) = run_traced(&model(&text), 4);
    let corrupted_at = |agent: u32| {
        trace.iter().filter(|r| r.kind == TraceKind::Accept && r.agent == agent && r.root != NO_FAULT).count() as f64
    };
    assert_eq!(corrupted_at(1), 0.0, "no corrupted task reaches B, the route its kind chose");
    let (t, g) = (corrupted_at(2), corrupted_at(3));
    assert_eq!(t + g, metrics.misrouted as f64);
    assert!(t + g > 15_000.0 && ((t - g) / (t + g).sqrt()).abs() < 4.0, "T {t}, G {g}");
    // A router with one route has nowhere else to send: nothing misrouted.
    let one = text.replace("  { kind = \"tech\", to = \"T\" },\n  { to = \"G\" },\n", "");
    let (metrics, trace, _) = run_traced(&model(&one), 4);
    assert_eq!((metrics.misrouted, metrics.tasks_lost), (0, 0));
    assert!(trace.iter().any(|r| r.kind == TraceKind::Accept && r.agent == 1 && r.root != NO_FAULT));
}

#[test]
fn a_task_delivered_twice_counts_its_first_delivery_once() {
    // A sends every task to two sinks, B (1 s) and C (3 s): the task is
    // delivered at 1 s, once, whatever C does later.
    let text = r#"
name = "two-sinks"
horizon = "95s"
quiet_window = "10s"
[[agents]]
id = "A"
service = "0s"
[[agents]]
id = "B"
service = "1s"
[[agents]]
id = "C"
service = "3s"
[[channels]]
from = "A"
to = "B"
[[channels]]
from = "A"
to = "C"
[[sources]]
id = "s"
target = "A"
arrival = { process = "periodic", period = "10s" }
"#;
    let (m, _, _) = run_traced(&model(text), 1);
    assert_eq!(m.tasks_delivered, m.tasks);
    assert_eq!(m.mean_time_to_deliver(), Some(1e6));
}
