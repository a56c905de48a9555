//! Reviewer pools: several servers on one FIFO queue, held to the M/M/c
//! queue (Erlang C) and to the single-server path they extend.

use super::*;
use proptest::prelude::*;

/// Poisson arrivals at `per_second` to a reviewer pool of `servers`
/// people, each review exponential with mean `mean_s` seconds.
fn pool(per_second: f64, servers: u32, mean_s: f64, horizon_s: u64) -> String {
    format!(
        r#"
name = "pool"
horizon = "{horizon_s}s"
quiet_window = "10s"
[[agents]]
id = "author"
[[agents]]
id = "people"
role = "reviewer"
servers = {servers}
service = {{ dist = "exponential", mean = "{mean_ms}ms" }}
action = true
[[channels]]
from = "author"
to = "people"
[[sources]]
id = "prs"
target = "author"
arrival = {{ process = "poisson", per_second = {per_second} }}
signal = {{ mean = 1.0 }}
"#,
        mean_ms = mean_s * 1000.0
    )
}

/// Erlang C: the probability an arrival waits in an M/M/c queue with
/// offered load `a` = lambda / mu, and the mean wait in queue.
fn erlang_c(lambda: f64, mu: f64, c: u32) -> (f64, f64) {
    let a = lambda / mu;
    let rho = a / c as f64;
    let mut term = 1.0;
    let mut below = 0.0;
    for k in 0..c {
        below += term;
        term *= a / (k + 1) as f64;
    }
    let tail = term / (1.0 - rho);
    let waits = tail / (below + tail);
    (waits, waits / (c as f64 * mu - lambda))
}

#[test]
fn erlang_c_matches_a_hand_computed_case() {
    // c = 2, a = 1: P(wait) = (1/2 * 2) / (1 + 1 + 1) = 1/3.
    let (waits, mean) = erlang_c(1.0, 1.0, 2);
    assert!((waits - 1.0 / 3.0).abs() < 1e-12 && (mean - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn a_pool_waits_as_an_mm_c_queue() {
    // lambda = 1/s, mean review 3.2 s (mu = 0.3125/s), c = 4: rho = 0.8.
    let (lambda, mean_s, c) = (1.0, 3.2, 4);
    let (waits, wq) = erlang_c(lambda, 1.0 / mean_s, c);
    let rate = c as f64 / mean_s - lambda;
    let p99 = (waits / 0.01).ln() / rate;
    let model = model(&pool(lambda, c, mean_s, 200_000));
    let (mut served, mut wait, mut tail, mut busy, mut capacity) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for seed in 0..4 {
        let (m, _, _) = run_traced(&model, seed);
        served += m.reviewer_served as f64;
        wait += m.review_wait_total as f64 / 1e6;
        tail += m.review_wait_p99.unwrap() as f64 / 1e6 / 4.0;
        busy += m.reviewer_busy as f64;
        capacity += m.reviewer_capacity as f64;
        assert_eq!(m.reviewer_capacity, 4 * 200_000 * crate::time::SECOND);
    }
    let mean = wait / served;
    assert!((served / 4.0 / 200_000.0 - lambda).abs() < 0.01, "arrivals {served}");
    assert!((mean - wq).abs() < 0.05 * wq, "mean wait {mean} s, Erlang C {wq} s");
    assert!((tail - p99).abs() < 0.05 * p99, "p99 wait {tail} s, Erlang C {p99} s");
    assert!((busy / capacity - 0.8).abs() < 0.01, "utilisation {}", busy / capacity);
}

#[test]
fn one_server_takes_the_single_server_path_unchanged() {
    // servers = 1 (said or not) is the FIFO agent every scenario has had.
    let said = model(&pool(0.2, 1, 3.0, 2_000));
    let unsaid = model(&pool(0.2, 1, 3.0, 2_000).replace("servers = 1\n", ""));
    let (a, trace_a, _) = run_traced(&said, 7);
    let (b, trace_b, _) = run_traced(&unsaid, 7);
    assert_eq!(a, b);
    assert_eq!(trace_a, trace_b);
    let (waits, wq) = erlang_c(0.2, 1.0 / 3.0, 1);
    assert!((waits - 0.6).abs() < 1e-12 && a.reviewer_served > 300 && wq > 0.0);
}

/// Each reviewed input's (arrival, start, done), in arrival order, for a
/// pool whose reviews all take `review` (fixed), from a run's trace.
fn services(engine: &Engine, trace: &[TraceRow], review: Micros) -> Vec<(Micros, Micros, Micros)> {
    let messages = engine.messages();
    let mut spans: Vec<_> = trace
        .iter()
        .filter(|r| r.kind == TraceKind::Process && r.agent == 1)
        .map(|r| (messages[r.message as usize].arrived_at, r.time - review, r.time))
        .collect();
    spans.sort();
    spans
}

/// Checks a pool of `servers` against its services: never more in service
/// than servers, an input waits only while all are busy, and inputs start
/// in arrival order (FIFO).
fn pool_is_fifo_within_servers(spans: &[(Micros, Micros, Micros)], servers: usize) -> Result<(), String> {
    let busy_at = |t: Micros| spans.iter().filter(|&&(_, start, done)| start <= t && t < done).count();
    for (i, &(arrived, start, _)) in spans.iter().enumerate() {
        if busy_at(start) > servers {
            return Err(format!("input {i}: {} in service at {start}", busy_at(start)));
        }
        if start > arrived && busy_at(arrived) < servers {
            return Err(format!("input {i} waited from {arrived} with a server free"));
        }
        if i > 0 && start < spans[i - 1].1 {
            return Err(format!("input {i} started before an earlier arrival"));
        }
    }
    Ok(())
}

#[test]
fn servers_never_exceed_their_number_and_fifo_holds() {
    let text = pool(2.0, 3, 1.0, 500).replace(r#"{ dist = "exponential", mean = "1000ms" }"#, r#""1400ms""#);
    let (m, trace, engine) = run_traced(&model(&text), 3);
    let spans = services(&engine, &trace, 1_400_000);
    assert!(spans.len() > 900, "{} reviews", spans.len());
    pool_is_fifo_within_servers(&spans, 3).unwrap();
    assert!(spans.iter().any(|&(arrived, start, _)| start > arrived), "at rho = 0.93 some input waits");
    assert!(pool_is_fifo_within_servers(&spans, 2).is_err(), "the checker can fail: two servers are too few");
    // Every started review is finished or in service at the horizon (at most three).
    let open = m.reviewer_served as usize - spans.len();
    assert!(open <= 3, "{open} reviews open at the horizon");
    let utilisation = m.reviewer_busy as f64 / m.reviewer_capacity as f64;
    assert!((utilisation - 2.0 * 1.4 / 3.0).abs() < 0.05, "utilisation {utilisation}");
}

#[test]
fn servers_out_of_bounds_are_refused() {
    for (servers, expected) in [("0", "expected 1 to 100000 servers, got 0"), ("100001", "got 100001")] {
        let text = pool(1.0, 1, 1.0, 100).replace("servers = 1", &format!("servers = {servers}"));
        let error = parse("test.toml", &text).unwrap_err().to_string();
        assert!(error.contains("agents[1].servers") && error.contains(expected), "{error}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the load and the number of servers, the pool serves in
    /// arrival order, never more at once than it has, never making an
    /// input wait while a server is free; busy time stays within capacity.
    #[test]
    fn pool_invariants_hold(per_second in 0.1f64..5.0, servers in 1usize..6, review_ms in 10u64..4000, seed in 0u64..1000) {
        let text = pool(per_second, servers as u32, 1.0, 300)
            .replace(r#"{ dist = "exponential", mean = "1000ms" }"#, &format!("\"{review_ms}ms\""));
        let (m, trace, engine) = run_traced(&model(&text), seed);
        let spans = services(&engine, &trace, review_ms * 1000);
        prop_assert_eq!(pool_is_fifo_within_servers(&spans, servers), Ok(()));
        prop_assert!(m.reviewer_busy <= m.reviewer_capacity);
        prop_assert!(m.check(2, m.prevalence.horizon).is_ok());
        prop_assert_eq!(m.review_wait_p99.is_some(), m.reviewer_served > 0);
        if m.reviewer_served as usize == spans.len() && !spans.is_empty() {
            // Every review finished: the p99 is the nearest rank of their waits.
            let mut waits: Vec<Micros> = spans.iter().map(|&(arrived, start, _)| start - arrived).collect();
            waits.sort_unstable();
            prop_assert_eq!(m.review_wait_p99, Some(waits[(waits.len() * 99).div_ceil(100) - 1]));
        }
    }
}

/// `pool`, its reviewers working `hours` (a TOML inline table).
fn pool_with_hours(per_second: f64, servers: u32, mean_s: f64, horizon_s: u64, hours: &str) -> String {
    let text = pool(per_second, servers, mean_s, horizon_s);
    text.replace(&format!("servers = {servers}\n"), &format!("servers = {servers}\nhours = {hours}\n"))
}

const HOUR: Micros = 3_600 * crate::time::SECOND;

#[test]
fn an_overloaded_pool_with_hours_serves_what_its_shifts_allow() {
    // One reviewer, 9:00 to 17:00 every day, three-hour reviews, far more
    // work than that: reviews start at 9, 12 and 15 each day (the last
    // one runs to 18:00), none off shift, and every hour on shift is busy.
    let text = pool_with_hours(0.01, 1, 1.0, 10 * 86_400, r#"{ start = "9h", end = "17h" }"#)
        .replace(r#"{ dist = "exponential", mean = "1000ms" }"#, r#""3h""#);
    let (m, trace, engine) = run_traced(&model(&text), 5);
    assert_eq!(m.reviewer_served, 30);
    let starts: Vec<Micros> = services(&engine, &trace, 3 * HOUR).iter().map(|&(_, start, _)| start).collect();
    let expected: Vec<Micros> = (0..10).flat_map(|d| [9, 12, 15].map(|h| d * 24 * HOUR + h * HOUR)).collect();
    assert_eq!(starts, expected);
    assert_eq!(m.reviewer_capacity, 10 * 8 * HOUR);
    assert_eq!(m.reviewer_busy, m.reviewer_capacity, "overtime (17:00 to 18:00) is not counted");
}

#[test]
fn work_arriving_off_shift_waits_for_the_next_shift() {
    // A pull request at Friday 20:00 waits for Monday 9:00 (61 hours) with
    // office hours; round the clock it starts at once.
    let text = |hours: &str| {
        pool_with_hours(1.0, 2, 1.0, 9 * 86_400, hours)
            .replace(r#"{ process = "poisson", per_second = 1 }"#, r#"{ process = "periodic", period = "1h" }"#)
            .replace("signal = {", "start = \"116h\"\ncount = 1\nsignal = {")
    };
    let (office, _, _) = run_traced(&model(&text(r#"{ start = "9h", end = "17h", days = 5 }"#)), 1);
    assert_eq!((office.reviewer_served, office.review_wait_total), (1, 61 * HOUR));
    let (always, _, _) = run_traced(&model(&text(r#"{ start = "0h", end = "24h" }"#)), 1);
    assert_eq!((always.reviewer_served, always.review_wait_total), (1, 0));
    assert_eq!(office.reviewer_capacity, 2 * (5 + 2) * 8 * HOUR, "Monday to Friday, then Monday and Tuesday");
}

#[test]
fn round_the_clock_hours_change_nothing_but_the_shift_events() {
    let plain = model(&pool(1.0, 3, 2.5, 3 * 86_400));
    let hours = model(&pool_with_hours(1.0, 3, 2.5, 3 * 86_400, r#"{ start = "0s", end = "24h" }"#));
    let (a, _, _) = run_traced(&plain, 11);
    let (b, _, _) = run_traced(&hours, 11);
    assert_eq!(b.events, a.events + 4, "one shift start a day, days 0 to 3 (the horizon's own included)");
    assert_eq!(RunMetrics { events: 0, ..a }, RunMetrics { events: 0, ..b });
}

#[test]
fn hours_out_of_bounds_are_refused() {
    for (hours, key, expected) in [
        (r#"{ start = "17h", end = "9h" }"#, "agents[1].hours", "expected start < end <= 24h"),
        (r#"{ start = "9h", end = "25h" }"#, "agents[1].hours", "end 90000.000000 s"),
        (r#"{ start = "9h", end = "17h", days = 0 }"#, "agents[1].hours.days", "expected 1 to 7 working days"),
        (r#"{ start = "9h", end = "17h", days = 8 }"#, "agents[1].hours.days", "got 8"),
        (r#"{ start = "9h" }"#, "agents", "missing field `end`"),
    ] {
        let error = parse("test.toml", &pool_with_hours(1.0, 2, 1.0, 100, hours)).unwrap_err().to_string();
        assert!(error.contains(key) && error.contains(expected), "{error}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// With working hours, no review starts off shift, the pool keeps its
    /// size and FIFO order, an input waits only while every server is busy
    /// or the shift is over, and busy time stays within the shifts offered.
    #[test]
    fn pools_with_hours_start_work_on_shift_only(
        per_second in 0.0005f64..0.01,
        servers in 1usize..4,
        review_min in 5u64..180,
        start_h in 0u64..20,
        length_h in 1u64..10,
        days in 1u32..8,
        seed in 0u64..1000,
    ) {
        let end_h = (start_h + length_h).min(24);
        let hours = format!(r#"{{ start = "{start_h}h", end = "{end_h}h", days = {days} }}"#);
        let text = pool_with_hours(per_second, servers as u32, 1.0, 10 * 86_400, &hours)
            .replace(r#"{ dist = "exponential", mean = "1000ms" }"#, &format!("\"{review_min}m\""));
        let model = model(&text);
        let shift = model.agents[1].hours.unwrap();
        let (m, trace, engine) = run_traced(&model, seed);
        let spans = services(&engine, &trace, review_min * 60 * crate::time::SECOND);
        let busy_at = |t: Micros| spans.iter().filter(|&&(_, start, done)| start <= t && t < done).count();
        for (i, &(arrived, start, _)) in spans.iter().enumerate() {
            prop_assert!(shift.on_shift(start), "review {} starts off shift at {}", i, start);
            prop_assert!(busy_at(start) <= servers);
            prop_assert!(i == 0 || start >= spans[i - 1].1, "FIFO");
            prop_assert!(start == arrived || busy_at(arrived) == servers || !shift.on_shift(arrived));
        }
        prop_assert!(m.reviewer_busy <= m.reviewer_capacity);
        prop_assert_eq!(m.reviewer_capacity, servers as u64 * shift.on_shift_before(model.horizon));
        prop_assert!(m.check(2, m.prevalence.horizon).is_ok());
    }
}

/// The reviewed chain with an on-call pool `oncall` (one server, one
/// minute a review) doing the alert reviews, and `extra` appended.
fn reviewed_by_pool(provenance: bool, extra: &str) -> String {
    format!(
        "{REVIEWED}\n[[agents]]\nid = \"oncall\"\nrole = \"reviewer\"\nservice = \"1m\"\n{extra}\n\
         [mitigations.review]\npool = \"oncall\"\nprovenance = {provenance}\nrollback = false"
    )
}

#[test]
fn a_free_pool_reviews_alerts_in_its_service_time() {
    // The same walk as with `delay = "1m"`: B at 63 s, A at 123 s, S at 183 s,
    // each hop's review queued when the last one ends and started at once.
    let (metrics, trace, _) = run_traced(&model(&reviewed_by_pool(false, "")), 1);
    let quarantined: Vec<(u32, Micros)> = trace
        .iter()
        .filter(|r| r.kind == TraceKind::Quarantine)
        .map(|r| (r.agent, r.time / crate::time::SECOND))
        .collect();
    assert_eq!(quarantined, [(2, 63), (1, 123), (0, 183)]);
    assert_eq!((metrics.reviews, metrics.reviewer_served, metrics.review_wait_total), (3, 3, 0));
    assert_eq!(metrics.reviewer_busy, 3 * 60 * crate::time::SECOND);
}

#[test]
fn alert_reviews_wait_their_turn_behind_the_pools_other_work() {
    // Pull requests every 30 s to a one-person pool taking a minute each:
    // the alert at 3 s waits behind the request being reviewed since 0 s,
    // goes ahead of the one that came at 30 s (FIFO), and ends at 120 s.
    let prs = "[[sources]]\nid = \"prs\"\ntarget = \"oncall\"\narrival = { process = \"periodic\", period = \"30s\" }";
    let (busy, trace, _) = run_traced(&model(&reviewed_by_pool(true, prs)), 1);
    assert_eq!(busy.t_attribute, Some(120 * crate::time::SECOND));
    let quarantine = trace.iter().find(|r| r.kind == TraceKind::Quarantine).unwrap();
    assert_eq!((quarantine.agent, quarantine.time), (0, 120 * crate::time::SECOND));
    let (free, _, _) = run_traced(&model(&reviewed_by_pool(true, "")), 1);
    assert_eq!(free.t_attribute, Some(63 * crate::time::SECOND));
    // The alert waited 57 s; the pull requests behind it, a minute longer each.
    assert!(busy.review_wait_total > free.review_wait_total + 57 * crate::time::SECOND);
    assert_eq!(busy.reviews, 1);
}

#[test]
fn a_review_pool_is_an_agent_and_excludes_a_delay() {
    let both = reviewed_by_pool(true, "").replace("pool = \"oncall\"", "pool = \"oncall\"\ndelay = \"1m\"");
    let error = parse("test.toml", &both).unwrap_err().to_string();
    assert!(error.contains("mitigations.review.pool: give delay or pool, not both"), "{error}");
    let unknown = reviewed_by_pool(true, "").replace("pool = \"oncall\"", "pool = \"nobody\"");
    let error = parse("test.toml", &unknown).unwrap_err().to_string();
    assert!(error.contains("mitigations.review.pool: unknown agent id \"nobody\""), "{error}");
}

#[test]
fn an_alert_is_reviewed_after_the_work_queued_before_it() {
    // Pull requests every 1.4 s to a one-person pool taking a minute each:
    // when the alert comes at 3 s, the requests of 1.4 s and 2.8 s are
    // queued behind the one in review; the alert's turn comes third, at
    // 180 s, and it ends at 240 s.
    let prs =
        "[[sources]]\nid = \"prs\"\ntarget = \"oncall\"\narrival = { process = \"periodic\", period = \"1400ms\" }";
    let (metrics, trace, _) = run_traced(&model(&reviewed_by_pool(true, prs)), 1);
    let quarantine = trace.iter().find(|r| r.kind == TraceKind::Quarantine).unwrap();
    assert_eq!((quarantine.agent, quarantine.time), (0, 240 * crate::time::SECOND));
    assert_eq!(metrics.t_attribute, Some(240 * crate::time::SECOND));
}
