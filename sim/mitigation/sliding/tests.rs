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
    assert_eq!((b.state, b.window()), (State::Closed, (100, 49)), "49% stays closed");
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
    assert_eq!((b.state, b.window()), (State::Closed, (0, 0)));
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
    assert_eq!((b.state, b.window().0), (State::Closed, 30));
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
    assert_eq!((b.state, b.window()), (State::Closed, (10, 0)));
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
    assert_eq!(b.window(), (3, 0));
    b.on_message(&c, 3 * S, || false);
    assert_eq!(b.window(), (3, 0), "second 0 left the window");
    b.on_message(&c, 100 * S, || false);
    assert_eq!(b.window(), (1, 0));
}
