//! The per-channel circuit breaker, `sliding` mode: a failure-rate
//! threshold over a count- or time-based sliding window with a minimum
//! number of calls, a wait in OPEN, and a number of permitted calls in
//! HALF_OPEN, as production breaker libraries do. Named presets reproduce
//! the default semantics of resilience4j, Polly (v8) and Hystrix.
//!
//! - CLOSED: every validation is recorded; once the window holds at least
//!   `minimum_calls` calls (at most the window's size for a count window,
//!   as resilience4j clamps it) and the failure rate is at or above
//!   `failure_rate`, the breaker opens (the call that tips it is rejected if
//!   it failed, accepted if it passed).
//! - OPEN: every message is rejected unvalidated until strictly more than
//!   `wait_in_open` has passed; the next message moves it to HALF_OPEN.
//! - HALF_OPEN: messages are validated; at the first call that brings them to
//!   `min(minimum_calls, half_open_calls)` (resilience4j's half-open window
//!   has the permitted calls as its size), a failure rate at or above
//!   `failure_rate` re-opens the breaker, otherwise it closes with an empty
//!   window.
//!
//! The rate is compared as the quotient `failures / calls`, correctly
//! rounded, so a rate written as a decimal (0.07) opens exactly at that
//! share (7 of 100) as resilience4j's percentage does; a product
//! `rate * calls` can round above the count and miss it.

use super::breaker::{State, Verdict};
use crate::time::{Micros, SECOND};

/// How the CLOSED-state window is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last `n` calls (1..=1024).
    Count(u32),
    /// Calls in the last `n` whole seconds (1..=3600), aggregated per second
    /// as resilience4j and Hystrix bucket them.
    Time(u32),
}

/// Sliding-window breaker parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlidingConfig {
    pub window: Window,
    pub minimum_calls: u32,
    /// Opens when failures / calls >= this (0 < rate <= 1).
    pub failure_rate: f64,
    pub wait_in_open: Micros,
    pub half_open_calls: u32,
}

impl SlidingConfig {
    /// The calls the CLOSED window needs before it decides: a count window
    /// can never hold more than its size.
    pub fn closed_minimum(&self) -> u32 {
        match self.window {
            Window::Count(n) => self.minimum_calls.min(n),
            Window::Time(_) => self.minimum_calls,
        }
    }

    /// The calls HALF_OPEN decides after.
    pub fn half_open_minimum(&self) -> u32 {
        self.minimum_calls.min(self.half_open_calls)
    }

    /// Whether `failures` of `calls` (> 0) is at or above the failure rate.
    pub fn exceeded(&self, failures: u32, calls: u32) -> bool {
        debug_assert!(calls > 0 && failures <= calls);
        failures as f64 / calls as f64 >= self.failure_rate
    }
}

/// Library defaults a scenario can name with `preset = "..."`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// resilience4j CircuitBreakerConfig defaults: count window of 100,
    /// minimum 100 calls, 50% failure rate, 60 s wait, 10 half-open calls.
    Resilience4j,
    /// Polly v8 CircuitBreakerStrategyOptions defaults: 30 s sampling
    /// duration, minimum throughput 100, failure ratio 0.1, 5 s break, one probe.
    Polly,
    /// Hystrix defaults: 10 s rolling window, request volume threshold 20,
    /// error threshold 50%, 5 s sleep window, one trial request.
    Hystrix,
}

impl Preset {
    pub fn config(self) -> SlidingConfig {
        match self {
            Preset::Resilience4j => SlidingConfig {
                window: Window::Count(100),
                minimum_calls: 100,
                failure_rate: 0.5,
                wait_in_open: 60 * SECOND,
                half_open_calls: 10,
            },
            Preset::Polly => SlidingConfig {
                window: Window::Time(30),
                minimum_calls: 100,
                failure_rate: 0.1,
                wait_in_open: 5 * SECOND,
                half_open_calls: 1,
            },
            Preset::Hystrix => SlidingConfig {
                window: Window::Time(10),
                minimum_calls: 20,
                failure_rate: 0.5,
                wait_in_open: 5 * SECOND,
                half_open_calls: 1,
            },
        }
    }
}

/// Calls and failures in the window. Count windows keep one outcome per
/// slot; time windows keep one (calls, failures) bucket per second.
#[derive(Clone, Debug, Default, PartialEq)]
struct Ring {
    slots: Vec<(u32, u32)>,
    /// Count window: next slot; time window: second of the newest bucket.
    cursor: u64,
    calls: u32,
    failures: u32,
}

impl Ring {
    fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = (0, 0));
        self.calls = 0;
        self.failures = 0;
    }

    fn record(&mut self, window: Window, now: Micros, failed: bool) {
        let size = match window {
            Window::Count(n) | Window::Time(n) => n as usize,
        };
        if self.slots.len() != size {
            self.slots = vec![(0, 0); size];
            self.cursor = 0;
        }
        let slot = match window {
            Window::Count(_) => {
                let slot = (self.cursor % size as u64) as usize;
                self.cursor += 1;
                self.evict(slot);
                slot
            }
            Window::Time(_) => {
                self.advance_to(now / SECOND, size);
                (self.cursor % size as u64) as usize
            }
        };
        self.slots[slot].0 += 1;
        self.slots[slot].1 += failed as u32;
        self.calls += 1;
        self.failures += failed as u32;
    }

    /// Calls and failures the window holds at `now`, without moving it: a
    /// time window leaves out the buckets older than its size.
    fn counts_at(&self, window: Window, now: Micros) -> (u32, u32) {
        let Window::Time(size) = window else { return (self.calls, self.failures) };
        let (size, second) = (size as u64, now / SECOND);
        if self.calls == 0 || self.slots.is_empty() {
            return (0, 0);
        }
        let kept = size - second.saturating_sub(self.cursor).min(size);
        let slot = |k: u64| self.slots[((self.cursor + size - k) % size) as usize];
        (0..kept).map(slot).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    fn evict(&mut self, slot: usize) {
        let (calls, failures) = std::mem::take(&mut self.slots[slot]);
        self.calls -= calls;
        self.failures -= failures;
    }

    /// Moves a time window forward to `second`, emptying the buckets passed.
    fn advance_to(&mut self, second: u64, size: usize) {
        if self.calls == 0 {
            self.cursor = second;
            return;
        }
        let steps = second.saturating_sub(self.cursor).min(size as u64);
        for step in 1..=steps {
            self.evict(((self.cursor + step) % size as u64) as usize);
        }
        self.cursor = self.cursor.max(second);
    }
}

/// One channel's sliding-window breaker.
#[derive(Clone, Debug, PartialEq)]
pub struct SlidingBreaker {
    pub state: State,
    pub opened_at: Micros,
    closed: Ring,
    half_open_calls: u32,
    half_open_failures: u32,
}

impl Default for SlidingBreaker {
    fn default() -> Self {
        SlidingBreaker {
            state: State::Closed,
            opened_at: 0,
            closed: Ring::default(),
            half_open_calls: 0,
            half_open_failures: 0,
        }
    }
}

impl SlidingBreaker {
    /// Calls and failures in the window the breaker decides on at `now`:
    /// HALF_OPEN's own calls in that state, else the CLOSED window's
    /// (without the seconds a time window has left behind since its last
    /// call).
    pub fn window(&self, config: &SlidingConfig, now: Micros) -> (u32, u32) {
        match self.state {
            State::HalfOpen => (self.half_open_calls, self.half_open_failures),
            State::Closed | State::Open => self.closed.counts_at(config.window, now),
        }
    }

    /// One message: `validate` runs only when the breaker lets it through.
    pub fn on_message(&mut self, config: &SlidingConfig, now: Micros, validate: impl FnOnce() -> bool) -> Verdict {
        if self.state == State::Open {
            if now - self.opened_at <= config.wait_in_open {
                return Verdict::RejectOpen;
            }
            self.state = State::HalfOpen;
            self.half_open_calls = 0;
            self.half_open_failures = 0;
        }
        if self.state == State::HalfOpen {
            // Calls are synchronous: HALF_OPEN has decided (and left) by its
            // minimum, so no call past its permitted ones ever arrives.
            debug_assert!(self.half_open_calls < config.half_open_minimum());
            return self.half_open(config, now, validate());
        }
        let failed = validate();
        self.closed.record(config.window, now, failed);
        let (calls, failures) = (self.closed.calls, self.closed.failures);
        if calls >= config.closed_minimum() && config.exceeded(failures, calls) {
            self.open(now);
            return if failed { Verdict::Trip } else { Verdict::AcceptThenTrip };
        }
        if failed {
            Verdict::RejectInvalid
        } else {
            Verdict::Accept
        }
    }

    fn half_open(&mut self, config: &SlidingConfig, now: Micros, failed: bool) -> Verdict {
        self.half_open_calls += 1;
        self.half_open_failures += failed as u32;
        if self.half_open_calls < config.half_open_minimum() {
            return if failed { Verdict::RejectInvalid } else { Verdict::Accept };
        }
        if config.exceeded(self.half_open_failures, self.half_open_calls) {
            self.open(now);
            return if failed { Verdict::Trip } else { Verdict::AcceptThenTrip };
        }
        self.state = State::Closed;
        self.closed.clear();
        if failed {
            Verdict::RejectInvalid
        } else {
            Verdict::Accept
        }
    }

    fn open(&mut self, now: Micros) {
        self.state = State::Open;
        self.opened_at = now;
    }
}

#[cfg(test)]
mod tests;
