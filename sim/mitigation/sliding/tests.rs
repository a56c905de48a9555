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

// resilience4j's own tests, replayed on a synchronous breaker (each cites
// the test it follows; the behaviour, not the code). CircuitBreakerStateMachineTest
// sets up: failure rate 50%, 4 permitted calls in HALF_OPEN, a time window
// of 20 s with a minimum of 5 calls, 5 s in OPEN.

fn state_machine_test() -> SlidingConfig {
    SlidingConfig {
        window: Window::Time(20),
        minimum_calls: 5,
        failure_rate: 0.5,
        wait_in_open: 5 * S,
        half_open_calls: 4,
    }
}

#[test]
fn r4j_should_open_after_failure_rate_threshold_exceeded() {
    // CircuitBreakerStateMachineTest.shouldOpenAfterFailureRateThresholdExceeded:
    // F F F S stays CLOSED (below the minimum); the 5th call, a success,
    // fills it at 60%: OPEN, and the next call is not permitted.
    let c = state_machine_test();
    let mut b = SlidingBreaker::default();
    let verdicts = feed(&mut b, &c, 0, 0, &[true, true, true, false]);
    assert_eq!(verdicts, [Verdict::RejectInvalid, Verdict::RejectInvalid, Verdict::RejectInvalid, Verdict::Accept]);
    assert_eq!((b.state, b.window(&c, 0)), (State::Closed, (4, 3)));
    assert_eq!(b.on_message(&c, 0, || false), Verdict::AcceptThenTrip);
    assert_eq!((b.state, b.window(&c, 0)), (State::Open, (5, 3)), "60% of 5");
    assert_eq!(b.on_message(&c, 0, || panic!("not permitted")), Verdict::RejectOpen);
}

#[test]
fn r4j_should_open_after_failure_rate_threshold_exceeded_2() {
    // ...ThresholdExceeded2: S S S F F one second apart is 40% (CLOSED); a
    // failure a second later makes 3 of 6, 50%: OPEN.
    let c = state_machine_test();
    let mut b = SlidingBreaker::default();
    feed(&mut b, &c, 0, S, &[false, false, false, true, true]);
    assert_eq!(b.state, State::Closed);
    assert_eq!(b.on_message(&c, 5 * S, || true), Verdict::Trip);
    assert_eq!(b.window(&c, 5 * S), (6, 3));
}

#[test]
fn r4j_should_transition_to_half_open_after_wait_duration() {
    // ...shouldTransitionToHalfOpenAfterWaitDuration: OPEN; not permitted
    // at once nor 3 s later; 6 s later (past the 5 s) HALF_OPEN with empty metrics.
    let c = state_machine_test();
    let mut b = opened();
    assert_eq!(b.on_message(&c, 0, || panic!("not permitted")), Verdict::RejectOpen);
    assert_eq!(b.on_message(&c, 3 * S, || panic!("not permitted")), Verdict::RejectOpen);
    assert_eq!(b.on_message(&c, 6 * S, || false), Verdict::Accept);
    assert_eq!((b.state, b.window(&c, 6 * S)), (State::HalfOpen, (1, 0)));
}

#[test]
fn r4j_should_transition_back_to_open_state_when_failure_rate_is_above_threshold() {
    // ...shouldTransitionBackToOpenStateWhenFailureRateIsAboveThreshold:
    // HALF_OPEN, F F S F: 75% of the 4 permitted calls, back to OPEN.
    let c = state_machine_test();
    let mut b = opened();
    let verdicts = feed(&mut b, &c, 6 * S, 0, &[true, true, false, true]);
    assert_eq!(verdicts[3], Verdict::Trip);
    assert_eq!((b.state, b.opened_at), (State::Open, 6 * S));
}

#[test]
fn r4j_should_transition_back_to_closed_state_when_failure_is_below_threshold() {
    // ...shouldTransitionBackToClosedStateWhenFailureIsBelowThreshold:
    // HALF_OPEN, F S S S: 25%, CLOSED with reset metrics; the next success
    // is the CLOSED window's first call.
    let c = state_machine_test();
    let mut b = opened();
    feed(&mut b, &c, 6 * S, 0, &[true, false, false, false]);
    assert_eq!((b.state, b.window(&c, 6 * S)), (State::Closed, (0, 0)));
    assert_eq!(b.on_message(&c, 6 * S, || false), Verdict::Accept);
    assert_eq!(b.window(&c, 6 * S), (1, 0));
}

#[test]
fn r4j_half_open_permits_four_calls_and_the_fourth_decides() {
    // ...shouldOnlyPermitFourCallsInHalfOpenState and
    // ...shouldThrowCallNotPermittedExceptionWhenNotFurtherTestCallsArePermitted:
    // four permits, then none. Calls here complete before the next starts,
    // so what can be checked is that the first three are validated in
    // HALF_OPEN and the 4th decides, so a 5th is never a half-open call:
    // after four passing calls it is CLOSED, after four failing ones OPEN.
    let c = state_machine_test();
    let mut b = opened();
    assert_eq!(feed(&mut b, &c, 6 * S, 0, &[false; 3]), [Verdict::Accept; 3]);
    assert_eq!((b.state, b.window(&c, 6 * S)), (State::HalfOpen, (3, 0)));
    assert_eq!(b.on_message(&c, 6 * S, || false), Verdict::Accept);
    assert_eq!(b.state, State::Closed);
    let mut b = opened();
    feed(&mut b, &c, 6 * S, 0, &[true; 4]);
    assert_eq!(b.on_message(&c, 6 * S, || panic!("not permitted")), Verdict::RejectOpen);
}

#[test]
fn r4j_fixed_size_sliding_window_metrics() {
    // FixedSizeSlidingWindowMetricsTest.testSlidingWindowMetrics (size 4):
    // E, S, S, S gives 4 calls, 1 failed (100%, 50%, 33.3%, 25%); a 5th
    // success pushes the error out: 4 calls, none failed. (A failure rate
    // of 100%, which the window never reaches, keeps it CLOSED throughout.)
    let c = config(Window::Count(4), 4, 1.0, 1);
    let mut b = SlidingBreaker::default();
    let expected = [(1, 1), (2, 1), (3, 1), (4, 1), (4, 0)];
    for (i, (&failed, want)) in [true, false, false, false, false].iter().zip(expected).enumerate() {
        b.on_message(&c, i as Micros, || failed);
        assert_eq!(b.window(&c, i as Micros), want, "call {}", i + 1);
    }
    assert_eq!(b.state, State::Closed);
}

#[test]
fn r4j_sliding_time_window_metrics() {
    // SlidingTimeWindowMetricsTest.testSlidingTimeWindowMetrics (5 s): calls
    // at 0, 0.1, 0.2, 1.2, 2.2, 3.2, 4.2, 5.2, 6.2 and 11.2 s (E S S S S E S
    // S S S) hold 1, 2, 3, 4, 5, 6, 7, then 5, 5 and 1 calls.
    let c = config(Window::Time(5), 1000, 1.0, 1);
    let ms = |m: Micros| m * 1_000;
    let calls = [
        (0, true, (1, 1)),
        (100, false, (2, 1)),
        (200, false, (3, 1)),
        (1_200, false, (4, 1)),
        (2_200, false, (5, 1)),
        (3_200, true, (6, 2)),
        (4_200, false, (7, 2)),
        (5_200, false, (5, 1)),
        (6_200, false, (5, 1)),
        (11_200, false, (1, 0)),
    ];
    let mut b = SlidingBreaker::default();
    for (at, failed, want) in calls {
        b.on_message(&c, ms(at), || failed);
        assert_eq!(b.window(&c, ms(at)), want, "at {at} ms");
    }
}

#[test]
fn r4j_config_clamps_the_minimum_to_a_count_window() {
    // CircuitBreakerConfigTest: for COUNT_BASED windows the minimum number
    // of calls is min(minimumNumberOfCalls, slidingWindowSize); for
    // TIME_BASED ones it is kept as given.
    let count = config(Window::Count(5), 10, 0.5, 3);
    assert_eq!(count.closed_minimum(), 5);
    assert_eq!(config(Window::Time(5), 10, 0.5, 3).closed_minimum(), 10);
    assert_eq!(count.half_open_minimum(), 3);
}

#[test]
fn polly_and_hystrix_follow_their_documents_when_overridden() {
    // Polly: "MinimumThroughput: the minimum number of actions that must
    // pass through the circuit in the time-slice for statistics to be
    // considered significant". Lowered to 10, 1 failure in 10 (ratio 0.1) breaks.
    let polly = SlidingConfig { minimum_calls: 10, ..Preset::Polly.config() };
    let mut b = SlidingBreaker::default();
    let verdicts = feed(&mut b, &polly, 0, 100_000, &pattern(1, 9));
    assert_eq!(*verdicts.last().unwrap(), Verdict::Trip);
    // Its break then lasts the BreakDuration it is given, and one probe decides.
    let polly = SlidingConfig { wait_in_open: 30 * S, ..polly };
    let mut b = opened();
    assert_eq!(b.on_message(&polly, 30 * S, || false), Verdict::RejectOpen);
    assert_eq!(b.on_message(&polly, 30 * S + 1, || false), Verdict::Accept);
    assert_eq!(b.state, State::Closed);
    // Hystrix: requestVolumeThreshold 5 with errorThresholdPercentage 60:
    // 3 errors of 5 in the rolling window trip it, 2 do not.
    let hystrix = SlidingConfig { minimum_calls: 5, failure_rate: 0.6, ..Preset::Hystrix.config() };
    let mut b = SlidingBreaker::default();
    feed(&mut b, &hystrix, 0, 100_000, &pattern(2, 3));
    assert_eq!(b.state, State::Closed);
    let mut b = SlidingBreaker::default();
    assert_eq!(*feed(&mut b, &hystrix, 0, 100_000, &pattern(3, 2)).last().unwrap(), Verdict::Trip);
}
