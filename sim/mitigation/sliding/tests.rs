//! State sequences from each library's documentation, replayed on the
//! presets (times in seconds unless noted).

use super::*;

const S: Micros = SECOND;

/// Feeds outcomes (true = failed validation) one per `step` from `start`;
/// returns the verdicts.
fn feed(b: &mut SlidingBreaker, c: &SlidingConfig, start: Micros, step: Micros, outcomes: &[bool]) -> Vec<Verdict> {
    outcomes.iter().enumerate().map(|(i, &f)| b.on_message(c, start + i as Micros * step, || f)).collect()
}

fn pattern(failures: usize, successes: usize) -> Vec<bool> {
    let mut v = vec![false; successes];
    v.extend(vec![true; failures]);
    v
}

#[test]
fn resilience4j_needs_the_minimum_number_of_calls() {
    // "If minimumNumberOfCalls is 10, then at least 10 calls must be recorded
    // before the failure rate can be calculated": with the default 100,
    // 99 failures do not open it; the 100th does.
    let c = Preset::Resilience4j.config();
    let mut b = SlidingBreaker::default();
    let verdicts = feed(&mut b, &c, 0, 1_000, &[true; 99]);
    assert!(verdicts.iter().all(|&v| v == Verdict::RejectInvalid));
    assert_eq!(b.state, State::Closed);
    assert_eq!(b.on_message(&c, 100_000, || true), Verdict::Trip);
    assert_eq!(b.state, State::Open);
}

#[test]
fn resilience4j_opens_at_a_failure_rate_equal_to_the_threshold() {
    let c = Preset::Resilience4j.config();
    let mut b = SlidingBreaker::default();
    feed(&mut b, &c, 0, 1_000, &pattern(49, 51));
    assert_eq!((b.state, b.window(&c, 0)), (State::Closed, (100, 49)), "49% stays closed");
    let mut b = SlidingBreaker::default();
    let verdicts = feed(&mut b, &c, 0, 1_000, &pattern(50, 50));
    assert_eq!(*verdicts.last().unwrap(), Verdict::Trip, "50% opens (equal or greater)");
    // The count window slides: after 49/51 a success pushes out the oldest call.
    let mut b = SlidingBreaker::default();
    let mut outcomes = pattern(0, 51);
    outcomes.extend(vec![true; 49]);
    feed(&mut b, &c, 0, 1_000, &outcomes);
    assert_eq!(b.on_message(&c, 200_000, || true), Verdict::Trip, "the 101st call sees 50 failures in the last 100");
}

#[test]
fn resilience4j_half_open_decides_after_its_permitted_calls() {
    let c = Preset::Resilience4j.config();
    let open = || SlidingBreaker { state: State::Open, opened_at: 0, ..SlidingBreaker::default() };
    let mut b = open();
    assert_eq!(b.on_message(&c, 60 * S, || panic!("no call while open")), Verdict::RejectOpen, "waits strictly 60 s");
    // Ten permitted calls, five failing: 50% re-opens at the tenth.
    let verdicts = feed(&mut b, &c, 60 * S + 1, 1, &pattern(5, 5));
    assert_eq!(verdicts[..9].iter().filter(|&&v| v == Verdict::RejectInvalid).count(), 4);
    assert_eq!(verdicts[9], Verdict::Trip);
    assert_eq!((b.state, b.opened_at), (State::Open, 60 * S + 10));
    // Four of ten failing closes it with an empty window.
    let mut b = open();
    let verdicts = feed(&mut b, &c, 61 * S, 1, &pattern(4, 6));
    assert_eq!(verdicts[9], Verdict::RejectInvalid);
    assert_eq!((b.state, b.window(&c, 61 * S + 9)), (State::Closed, (0, 0)));
}

#[test]
fn polly_breaks_on_the_failure_ratio_within_the_sampling_duration() {
    // Defaults: ratio 0.1 over 30 s with at least 100 actions.
    let c = Preset::Polly.config();
    let mut b = SlidingBreaker::default();
    let verdicts = feed(&mut b, &c, 0, 100_000, &pattern(10, 90));
    assert_eq!(*verdicts.last().unwrap(), Verdict::Trip, "10 of 100 in 10 s breaks");
    let mut b = SlidingBreaker::default();
    feed(&mut b, &c, 0, 100_000, &pattern(9, 91));
    assert_eq!(b.state, State::Closed, "9 of 100 does not");
    // The same 100 actions spread over 100 s never have 100 in one 30 s slice.
    let mut b = SlidingBreaker::default();
    feed(&mut b, &c, 0, S, &pattern(10, 90));
    assert_eq!((b.state, b.window(&c, 99 * S).0), (State::Closed, 30));
}

#[test]
fn polly_probes_once_after_the_break() {
    // "If the first action after the break duration period results in a
    // handled exception, the circuit will break again for another
    // BreakDuration; if no exception is thrown, the circuit will reset."
    let c = Preset::Polly.config();
    let mut b = SlidingBreaker { state: State::Open, opened_at: 0, ..SlidingBreaker::default() };
    assert_eq!(b.on_message(&c, 5 * S, || false), Verdict::RejectOpen);
    assert_eq!(b.on_message(&c, 5 * S + 1, || true), Verdict::Trip);
    assert_eq!(b.on_message(&c, 10 * S, || false), Verdict::RejectOpen);
    assert_eq!(b.on_message(&c, 10 * S + 2, || false), Verdict::Accept);
    assert_eq!(b.state, State::Closed);
}

#[test]
fn hystrix_needs_the_request_volume_then_opens_at_half_errors() {
    // Defaults: 20 requests in the 10 s rolling window, 50% errors.
    let c = Preset::Hystrix.config();
    let mut b = SlidingBreaker::default();
    feed(&mut b, &c, 0, 100_000, &[true; 19]);
    assert_eq!(b.state, State::Closed, "19 errors are below the request volume threshold");
    assert_eq!(b.on_message(&c, 1_900_000, || true), Verdict::Trip);
    let mut b = SlidingBreaker::default();
    let verdicts = feed(&mut b, &c, 0, 100_000, &pattern(10, 10));
    assert_eq!(*verdicts.last().unwrap(), Verdict::Trip);
    // Errors older than the rolling window no longer count.
    let mut b = SlidingBreaker::default();
    feed(&mut b, &c, 0, 100_000, &[true; 15]);
    feed(&mut b, &c, 20 * S, 100_000, &[false; 10]);
    assert_eq!((b.state, b.window(&c, 20 * S + 900_000)), (State::Closed, (10, 0)));
}

#[test]
fn hystrix_allows_a_single_trial_after_the_sleep_window() {
    let c = Preset::Hystrix.config();
    let mut b = SlidingBreaker { state: State::Open, opened_at: 0, ..SlidingBreaker::default() };
    assert_eq!(b.on_message(&c, 5 * S, || panic!("asleep for the whole 5 s window")), Verdict::RejectOpen);
    assert_eq!(b.on_message(&c, 5 * S + 1, || false), Verdict::Accept);
    assert_eq!(b.state, State::Closed);
}

#[test]
fn a_passing_call_can_tip_the_rate_over() {
    // With 2 calls minimum and a 50% threshold, a failure then a success
    // reaches the minimum at 50%: the success is accepted and the breaker opens.
    let c = SlidingConfig {
        window: Window::Count(4),
        minimum_calls: 2,
        failure_rate: 0.5,
        wait_in_open: S,
        half_open_calls: 1,
    };
    let mut b = SlidingBreaker::default();
    assert_eq!(feed(&mut b, &c, 0, 1, &[true, false]), [Verdict::RejectInvalid, Verdict::AcceptThenTrip]);
}

#[test]
fn time_buckets_expire_across_long_gaps() {
    let c = SlidingConfig {
        window: Window::Time(3),
        minimum_calls: 1,
        failure_rate: 1.0,
        wait_in_open: S,
        half_open_calls: 1,
    };
    let mut b = SlidingBreaker::default();
    feed(&mut b, &c, 0, S, &[false, false, false]);
    assert_eq!(b.window(&c, 2 * S), (3, 0));
    b.on_message(&c, 3 * S, || false);
    assert_eq!(b.window(&c, 3 * S), (3, 0), "second 0 left the window");
    // Read between calls, the window is as of the reading: no stale counts.
    assert_eq!(b.window(&c, 4 * S + 500_000), (2, 0), "seconds 3 and 4 (empty) and 2");
    assert_eq!(b.window(&c, 6 * S), (0, 0), "everything expired");
    b.on_message(&c, 100 * S, || false);
    assert_eq!(b.window(&c, 100 * S), (1, 0));
}

/// A breaker that has just gone OPEN at time 0.
fn opened() -> SlidingBreaker {
    SlidingBreaker { state: State::Open, opened_at: 0, ..SlidingBreaker::default() }
}

fn config(window: Window, minimum_calls: u32, failure_rate: f64, half_open_calls: u32) -> SlidingConfig {
    SlidingConfig { window, minimum_calls, failure_rate, wait_in_open: S, half_open_calls }
}

#[test]
fn a_count_window_smaller_than_the_minimum_clamps_it() {
    // resilience4j: minimumNumberOfCalls = min(minimumNumberOfCalls,
    // slidingWindowSize) for count windows. The default preset with a
    // window of 10 opens at the 10th failure in a row (it stayed CLOSED).
    let c = SlidingConfig { window: Window::Count(10), ..Preset::Resilience4j.config() };
    assert_eq!(c.closed_minimum(), 10);
    let mut b = SlidingBreaker::default();
    let verdicts = feed(&mut b, &c, 0, 1_000, &[true; 10]);
    assert!(verdicts[..9].iter().all(|&v| v == Verdict::RejectInvalid));
    assert_eq!((verdicts[9], b.state), (Verdict::Trip, State::Open));
    // A time window keeps its minimum: Hystrix's 20 requests in 10 s.
    let hystrix = Preset::Hystrix.config();
    assert_eq!(SlidingConfig { window: Window::Time(1), ..hystrix }.closed_minimum(), 20);
}

#[test]
fn half_open_decides_at_the_minimum_of_its_calls() {
    // resilience4j's half-open window has the permitted calls as its size,
    // so it decides at min(minimumNumberOfCalls, permitted): count 4,
    // minimum 4, 10 permitted calls decides at the 4th.
    let c = config(Window::Count(4), 4, 0.5, 10);
    assert_eq!(c.half_open_minimum(), 4);
    let mut b = opened();
    let verdicts = feed(&mut b, &c, S + 1, 1, &[false, true, false, true]);
    assert_eq!(verdicts[3], Verdict::Trip, "2 of 4 failed: 50% re-opens at the 4th");
    let mut b = opened();
    let verdicts = feed(&mut b, &c, S + 1, 1, &[false, true, false, false]);
    assert_eq!((verdicts[3], b.state), (Verdict::Accept, State::Closed), "1 of 4 closes at the 4th");
    assert_eq!(b.window(&c, S + 4), (0, 0), "with an empty window");
    // The later calls count in the CLOSED window, not the half-open one.
    assert_eq!(b.on_message(&c, S + 5, || true), Verdict::RejectInvalid);
    assert_eq!(b.window(&c, S + 5), (1, 1));
    // While HALF_OPEN the window reported is the half-open one.
    let mut b = opened();
    feed(&mut b, &c, S + 1, 1, &[true, false]);
    assert_eq!((b.state, b.window(&c, S + 2)), (State::HalfOpen, (2, 1)));
}

#[test]
fn every_rate_opens_exactly_at_its_share_of_the_window() {
    // failed * 100 / total >= threshold, as resilience4j's percentage: for
    // every count window up to 1,024 calls and every whole percentage, the
    // breaker opens at the first failure count f with 100 f >= p n (a
    // product rate * calls rounds 0.07 * 100 up to 7.000000000000001).
    for p in 1..=100u64 {
        let rate = p as f64 / 100.0;
        for n in (1..=1024u64).filter(|n| n % 97 == 1 || *n <= 128 || (p * n) % 100 == 0) {
            let c = config(Window::Count(n as u32), n as u32, rate, 1);
            let threshold = (p * n).div_ceil(100);
            let exactly = |f: u64| {
                let mut b = SlidingBreaker::default();
                let mut outcomes = vec![true; f as usize];
                outcomes.extend(vec![false; (n - f) as usize]);
                feed(&mut b, &c, 0, 1, &outcomes);
                b.state == State::Open
            };
            assert!(exactly(threshold), "p = {p}%, n = {n}: {threshold} failures must open it");
            if threshold > 0 {
                assert!(!exactly(threshold - 1), "p = {p}%, n = {n}: {} failures must not", threshold - 1);
            }
            // The same comparison in HALF_OPEN with n permitted calls.
            let half = config(Window::Count(n as u32), n as u32, rate, n as u32);
            assert!(half.exceeded(threshold as u32, n as u32), "p = {p}%, n = {n} (half-open)");
            assert!(threshold == 0 || !half.exceeded(threshold as u32 - 1, n as u32), "p = {p}%, n = {n}");
        }
    }
    // The vector that was missed: 7 of 100 at 7%.
    let c = config(Window::Count(100), 100, 0.07, 1);
    assert!(c.exceeded(7, 100) && !c.exceeded(6, 100));
}
