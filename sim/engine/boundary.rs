//! The receiving side of a channel: zero-trust checks, boundary
//! validation and the channel's breaker, and what a rejection or a trip
//! sets off (detection, alert, cooldown, review).

use super::review::ReviewCase;
use super::{Detail, Engine, Message, TraceKind};
use crate::mitigation::breaker::{SeedBreaker, State, Verdict};
use crate::mitigation::detector::{self, Baseline};
use crate::mitigation::sliding::SlidingBreaker;
use crate::mitigation::{BreakerConfig, GuardAction};
use crate::model::{Model, NO_FAULT};
use crate::topology::Graph;

/// The boundary state of one channel: validation baseline and breaker.
#[derive(Clone, Debug, Default)]
pub(super) struct Guard {
    pub(super) baseline: Baseline,
    pub(super) breaker: SeedBreaker,
    pub(super) sliding: SlidingBreaker,
    /// A corrupted message arrived since the breaker last closed.
    pub(super) corruption_seen: bool,
}

impl Engine {
    /// Zero-trust checks, boundary validation and the channel's breaker;
    /// `false` rejects the message (a sanitised one is delivered as the
    /// copy `self.delivered` names). Out of line: it keeps `arrive`, which
    /// every message passes, small when no channel is guarded.
    #[inline(never)]
    pub(super) fn boundary(&mut self, model: &Model, graph: &Graph, id: u32, message: &Message) -> bool {
        let mitigations = &model.mitigations;
        let corrupted = message.corrupted();
        let untrusted = mitigations.zero_trust.is_some_and(|z| {
            !message.signed
                || message.sender != graph.channels[message.channel as usize].from
                || (z.max_chain_depth > 0 && message.depth > z.max_chain_depth)
        });
        let Guard { baseline, breaker, sliding, corruption_seen } = &mut self.guards[message.channel as usize];
        *corruption_seen |= corrupted;
        let rng = &mut self.streams.mitigation;
        let mut validate = || {
            untrusted
                || mitigations
                    .validation
                    .as_ref()
                    .is_some_and(|v| detector::failed(v, baseline, message.signal, corrupted, rng))
        };
        // `closed`: this message closed the breaker (a probe that passed; the
        // breaker goes OPEN -> HALF_OPEN -> CLOSED within one message when a
        // single probe decides).
        let (verdict, closed) = match &mitigations.breaker {
            Some(BreakerConfig::Seed(config)) => {
                let was_closed = breaker.state == State::Closed;
                let verdict = breaker.on_message(config, self.now, validate);
                (verdict, !was_closed && breaker.state == State::Closed)
            }
            Some(BreakerConfig::Sliding(config)) => {
                let was_closed = sliding.state == State::Closed;
                let verdict = sliding.on_message(config, self.now, validate);
                (verdict, !was_closed && sliding.state == State::Closed)
            }
            None if validate() => (Verdict::RejectInvalid, false),
            None => (Verdict::Accept, false),
        };
        if closed {
            *corruption_seen = false;
        }
        let trip_was_false = !*corruption_seen;
        // The check that failed decides what happens to the message: zero
        // trust when the message is untrusted, validation otherwise.
        let action = match mitigations.zero_trust {
            Some(z) if untrusted => z.action,
            _ => mitigations.validation_action,
        };
        match verdict {
            Verdict::Accept => true,
            Verdict::AcceptThenTrip => {
                self.tripped(model, id, message, trip_was_false);
                true
            }
            Verdict::RejectInvalid | Verdict::Trip if action == GuardAction::Sanitise => {
                self.sanitise(model, id, message);
                if verdict == Verdict::Trip {
                    self.tripped(model, id, message, trip_was_false);
                }
                true
            }
            _ => {
                self.reject(model, id, message, verdict, trip_was_false);
                false
            }
        }
    }

    /// A sanitising check failed message `id`: it goes on as a cleaned copy
    /// (its clean value, no corruption, no injection; the same parent),
    /// whose id `self.delivered` now holds. The original stays as it
    /// arrived, so a review of this trip sees what the guard saw. The copy
    /// is the same message delivered, not a new one: it is not counted.
    fn sanitise(&mut self, model: &Model, id: u32, message: &Message) {
        self.metrics.sanitised += 1;
        self.metrics.sanitised_clean += !message.corrupted() as u64;
        self.record(TraceKind::Sanitise, message.receiver, id, Detail::Peer(message.sender), message.value());
        self.detected(model);
        let cleaned = Message {
            signal: message.signal - message.shift,
            shift: 0.0,
            root: NO_FAULT,
            injection: false,
            ..*message
        };
        self.delivered = self.messages.len() as u32;
        self.messages.push(cleaned);
    }

    pub(super) fn reject(&mut self, model: &Model, id: u32, message: &Message, verdict: Verdict, trip_was_false: bool) {
        if message.corrupted() {
            self.metrics.rejected_corrupted += 1;
        } else {
            self.metrics.rejected_clean += 1;
        }
        let kind = if verdict == Verdict::RejectOpen { TraceKind::RejectOpen } else { TraceKind::RejectInvalid };
        self.record(kind, message.receiver, id, Detail::Peer(message.sender), message.value());
        if verdict == Verdict::RejectOpen {
            return;
        }
        self.detected(model);
        if verdict == Verdict::Trip {
            self.tripped(model, id, message, trip_was_false);
        }
    }

    /// A failed check or an alert at or after onset counts as a detection.
    pub(super) fn detected(&mut self, model: &Model) {
        if self.first_detection.is_none() && model.onset().is_some_and(|onset| self.now >= onset) {
            self.first_detection = Some(self.now);
        }
    }

    /// A breaker opened on this message: alert, cooldown, review.
    pub(super) fn tripped(&mut self, model: &Model, id: u32, message: &Message, trip_was_false: bool) {
        self.detected(model);
        self.metrics.breaker_trips += 1;
        self.metrics.false_trips += trip_was_false as u64;
        self.record(TraceKind::Alert, message.receiver, id, Detail::Peer(message.sender), message.value());
        if let Some(caps) = model.mitigations.caps.filter(|c| c.cooldown > 0) {
            self.hold(model, message.sender, caps.cooldown);
        }
        if let Some(review) = &model.mitigations.review {
            self.schedule_review(model, review.delay, ReviewCase::of_message(id, 0));
        }
    }
}
