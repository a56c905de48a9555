//! The per-channel circuit breaker, `seed` mode: the reference state
//! machine of the design brief, exactly, quirks included.
//!
//! ```text
//! on_message(msg):
//!   if state == OPEN:
//!     if elapsed_since_open > reset_timeout: state = HALF_OPEN; probe_count = 0
//!     else: reject(msg, "circuit open"); return
//!   if validate(msg).failed:
//!     failure_count += 1
//!     if failure_count >= failure_threshold (or the window's anomaly rate
//!         exceeds anomaly_threshold):
//!       state = OPEN; alert(high, source=msg.sender, target=msg.receiver)
//!     reject(msg); return
//!   if state == HALF_OPEN:
//!     probe_count += 1
//!     if probe_count >= half_open_max_probes: state = CLOSED; failure_count = 0
//!   accept(msg)
//! ```
//!
//! Quirks kept on purpose: the failure count never decays while CLOSED (any
//! `failure_threshold` failures, however far apart, trip it), and a failure
//! while HALF_OPEN re-opens at once because the count was not reset. The
//! breaker is pure: it is told the time and the validation outcome and
//! answers with a verdict.

use crate::time::Micros;

/// Breaker parameters (`[mitigations.breaker]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeedBreakerConfig {
    pub failure_threshold: u32,
    /// Trips when failures over the last `window` validations exceed this rate.
    pub anomaly_threshold: f64,
    /// Validations in the anomaly-rate window (1..=64).
    pub window: u32,
    pub reset_timeout: Micros,
    pub half_open_max_probes: u32,
}

impl Default for SeedBreakerConfig {
    fn default() -> Self {
        SeedBreakerConfig {
            failure_threshold: 3,
            anomaly_threshold: 0.15,
            window: 20,
            reset_timeout: 300 * crate::time::SECOND,
            half_open_max_probes: 1,
        }
    }
}

/// Breaker state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed,
    Open,
    HalfOpen,
}

/// What the breaker did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted (in HALF_OPEN it also counted as a probe).
    Accept,
    /// Rejected because the circuit is open; not validated.
    RejectOpen,
    /// Rejected because validation failed; the breaker stayed as it was.
    RejectInvalid,
    /// Rejected because validation failed, and this failure tripped the
    /// breaker to OPEN (raise an alert).
    Trip,
    /// Accepted, and the call tipped a failure rate over its threshold so
    /// the breaker opened after it (sliding mode; raise an alert).
    AcceptThenTrip,
}

/// One channel's breaker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SeedBreaker {
    pub state: State,
    pub failure_count: u32,
    pub probe_count: u32,
    pub opened_at: Micros,
    /// Outcomes of the last validations, newest in bit 0 (1 = failed).
    window_bits: u64,
    window_len: u32,
}

impl Default for SeedBreaker {
    fn default() -> Self {
        SeedBreaker {
            state: State::Closed,
            failure_count: 0,
            probe_count: 0,
            opened_at: 0,
            window_bits: 0,
            window_len: 0,
        }
    }
}

impl SeedBreaker {
    /// Whether a message arriving at `now` would be let through to validation
    /// (CLOSED, HALF_OPEN, or OPEN past its reset timeout). Moves OPEN to
    /// HALF_OPEN when the timeout has passed, as the reference does.
    pub fn admit(&mut self, config: &SeedBreakerConfig, now: Micros) -> bool {
        if self.state == State::Open {
            if now - self.opened_at > config.reset_timeout {
                self.state = State::HalfOpen;
                self.probe_count = 0;
            } else {
                return false;
            }
        }
        true
    }

    /// The rest of `on_message` once admitted, given the validation outcome.
    pub fn after_validation(&mut self, config: &SeedBreakerConfig, now: Micros, failed: bool) -> Verdict {
        self.record(config, failed);
        if failed {
            self.failure_count += 1;
            if self.failure_count >= config.failure_threshold || self.anomaly_rate_exceeded(config) {
                self.state = State::Open;
                self.opened_at = now;
                return Verdict::Trip;
            }
            return Verdict::RejectInvalid;
        }
        if self.state == State::HalfOpen {
            self.probe_count += 1;
            if self.probe_count >= config.half_open_max_probes {
                self.state = State::Closed;
                self.failure_count = 0;
            }
        }
        Verdict::Accept
    }

    /// The whole reference `on_message`: `validate` is called only when the
    /// message gets past an open circuit.
    pub fn on_message(&mut self, config: &SeedBreakerConfig, now: Micros, validate: impl FnOnce() -> bool) -> Verdict {
        if !self.admit(config, now) {
            return Verdict::RejectOpen;
        }
        let failed = validate();
        self.after_validation(config, now, failed)
    }

    fn record(&mut self, config: &SeedBreakerConfig, failed: bool) {
        let mask = if config.window >= 64 { u64::MAX } else { (1u64 << config.window) - 1 };
        self.window_bits = ((self.window_bits << 1) | failed as u64) & mask;
        self.window_len = (self.window_len + 1).min(config.window);
    }

    /// Failures over a full window above `anomaly_threshold`.
    fn anomaly_rate_exceeded(&self, config: &SeedBreakerConfig) -> bool {
        self.window_len >= config.window
            && self.window_bits.count_ones() as f64 / config.window as f64 > config.anomaly_threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::SECOND;

    fn config() -> SeedBreakerConfig {
        SeedBreakerConfig { anomaly_threshold: 1.0, ..SeedBreakerConfig::default() }
    }

    #[test]
    fn trips_on_the_third_failure_and_rejects_it() {
        let c = config();
        let mut b = SeedBreaker::default();
        assert_eq!(b.on_message(&c, 1, || true), Verdict::RejectInvalid);
        assert_eq!((b.state, b.failure_count), (State::Closed, 1));
        assert_eq!(b.on_message(&c, 2, || false), Verdict::Accept);
        assert_eq!(b.on_message(&c, 3, || true), Verdict::RejectInvalid);
        assert_eq!(b.on_message(&c, 4, || true), Verdict::Trip);
        assert_eq!((b.state, b.failure_count, b.opened_at), (State::Open, 3, 4));
    }

    #[test]
    fn failure_count_never_decays_while_closed() {
        let c = config();
        let mut b = SeedBreaker::default();
        b.on_message(&c, 0, || true);
        for t in 1..10_000 {
            assert_eq!(b.on_message(&c, t, || false), Verdict::Accept);
        }
        b.on_message(&c, 10_000, || true);
        assert_eq!(b.failure_count, 2, "two failures 10,000 messages apart still add up");
        assert_eq!(b.on_message(&c, 10_001, || true), Verdict::Trip);
    }

    #[test]
    fn open_rejects_without_validating_until_strictly_after_the_timeout() {
        let c = config();
        let mut b = SeedBreaker { state: State::Open, failure_count: 3, opened_at: 100, ..SeedBreaker::default() };
        let timeout_end = 100 + c.reset_timeout;
        assert_eq!(b.on_message(&c, timeout_end, || panic!("must not validate while open")), Verdict::RejectOpen);
        assert_eq!(b.state, State::Open);
        assert_eq!(b.on_message(&c, timeout_end + 1, || false), Verdict::Accept);
        assert_eq!((b.state, b.failure_count), (State::Closed, 0), "one probe closes it and resets the count");
    }

    #[test]
    fn a_failed_probe_reopens_at_once() {
        let c = config();
        let mut b = SeedBreaker { state: State::Open, failure_count: 3, opened_at: 0, ..SeedBreaker::default() };
        let later = c.reset_timeout + SECOND;
        assert_eq!(b.on_message(&c, later, || true), Verdict::Trip);
        assert_eq!((b.state, b.failure_count, b.opened_at), (State::Open, 4, later));
    }

    #[test]
    fn half_open_needs_all_its_probes() {
        let c = SeedBreakerConfig { half_open_max_probes: 3, ..config() };
        let mut b = SeedBreaker { state: State::Open, failure_count: 3, opened_at: 0, ..SeedBreaker::default() };
        let t = c.reset_timeout + 1;
        assert_eq!(b.on_message(&c, t, || false), Verdict::Accept);
        assert_eq!((b.state, b.probe_count), (State::HalfOpen, 1));
        assert_eq!(b.on_message(&c, t + 1, || false), Verdict::Accept);
        assert_eq!(b.state, State::HalfOpen);
        assert_eq!(b.on_message(&c, t + 2, || false), Verdict::Accept);
        assert_eq!((b.state, b.failure_count), (State::Closed, 0));
    }

    #[test]
    fn anomaly_rate_over_a_full_window_also_trips() {
        let c = SeedBreakerConfig { failure_threshold: 100, anomaly_threshold: 0.15, window: 20, ..config() };
        let mut b = SeedBreaker::default();
        // Three failures in twenty is 0.15: not above the threshold.
        for t in 0..17 {
            b.on_message(&c, t, || false);
        }
        for t in 17..20 {
            assert_eq!(b.on_message(&c, t, || true), Verdict::RejectInvalid);
        }
        // The window slides: the next failure makes 4 in 20 = 0.2 > 0.15.
        assert_eq!(b.on_message(&c, 20, || true), Verdict::Trip);
        // A short window never trips on rate before it is full.
        let mut fresh = SeedBreaker::default();
        assert_eq!(fresh.on_message(&c, 0, || true), Verdict::RejectInvalid);
    }

    #[test]
    fn failures_older_than_the_window_do_not_count_toward_the_rate() {
        let c = SeedBreakerConfig { failure_threshold: 100, anomaly_threshold: 0.15, window: 20, ..config() };
        let mut b = SeedBreaker::default();
        for t in 0..3 {
            b.on_message(&c, t, || true);
        }
        for t in 3..23 {
            b.on_message(&c, t, || false);
        }
        // Only this failure is in the last 20: 1/20 is below the threshold.
        assert_eq!(b.on_message(&c, 23, || true), Verdict::RejectInvalid);
        assert_eq!(b.state, State::Closed);
    }

    #[test]
    fn defaults_match_the_brief() {
        let d = SeedBreakerConfig::default();
        assert_eq!((d.failure_threshold, d.anomaly_threshold, d.half_open_max_probes), (3, 0.15, 1));
        assert_eq!(d.reset_timeout, 300 * SECOND);
    }
}
