//! Human review of alerts: the reviewer walks a tripping message's
//! provenance (straight to the root with provenance, one hop per review
//! without), quarantines whom it finds and rolls memory back.

use super::{Detail, Engine, EventKind, Message, TraceKind, Value};
use crate::dist::Dist;
use crate::model::{Model, NONE};
use crate::time::Micros;

/// A pending human review: a breaker alert's tripping message and how
/// many hops back along its provenance the reviewer has walked, or a
/// gateway alert's actor (`message` = `NONE`).
#[derive(Clone, Copy, Debug)]
pub(super) struct ReviewCase {
    pub(super) message: u32,
    pub(super) hops: u32,
    /// The agent a gateway log names (`NONE`: the credential does not say).
    pub(super) actor: u32,
    /// Ground truth: the blocked action had a fault behind it.
    pub(super) corrupted: bool,
    /// When the review was asked for (the alert, or the last hop's review).
    pub(super) queued: Micros,
}

impl ReviewCase {
    pub(super) fn of_message(message: u32, hops: u32) -> ReviewCase {
        ReviewCase { message, hops, actor: NONE, corrupted: false, queued: 0 }
    }
}

impl Engine {
    /// A review is asked for: due after `delay`, or queued at the review
    /// pool, whose servers take it in turn with their other work.
    pub(super) fn schedule_review(&mut self, model: &Model, delay: Dist, case: ReviewCase) {
        self.reviews.push(ReviewCase { queued: self.now, ..case });
        let index = self.reviews.len() as u32 - 1;
        match model.mitigations.review.map_or(NONE, |r| r.pool) {
            NONE => {
                let due = self.now.saturating_add(delay.sample(&mut self.streams.mitigation));
                self.schedule(model, due, EventKind::Review(index));
            }
            pool => self.enqueue_review(model, pool, index),
        }
    }

    /// A review comes due: it is carried out, and a pool's server that
    /// did it takes its next work.
    pub(super) fn review_done(&mut self, model: &Model, index: u32) {
        self.review(model, index);
        match model.mitigations.review.map_or(NONE, |r| r.pool) {
            NONE => {}
            pool => self.server_done(model, pool),
        }
    }

    /// The agents that handled a message, newest first: its sender, the
    /// sender of its parent, and so on back to the agent a source fed.
    /// Forged messages have no handlers.
    pub(super) fn fill_chain(&mut self, message: u32) {
        self.chain.clear();
        let mut current = self.messages[message as usize];
        while current.sender != NONE && current.signed {
            self.chain.push(current.sender);
            if current.parent == NONE {
                break;
            }
            current = self.messages[current.parent as usize];
        }
    }

    /// Ground truth: the agent where the message's corruption entered the
    /// message flow (first corrupted output along its provenance, or the
    /// agent fed a corrupted source message); `None` for forged messages.
    pub(super) fn root_agent(&self, message: u32) -> Option<u32> {
        let mut current = self.messages[message as usize];
        let root = current.root;
        loop {
            if current.sender == NONE {
                return Some(current.receiver);
            }
            if !current.signed {
                return None;
            }
            let parent = self.messages[current.parent as usize];
            if parent.root != root {
                return Some(current.sender);
            }
            current = parent;
        }
    }

    /// A review is carried out: quarantine whom the reviewer finds responsible.
    fn review(&mut self, model: &Model, index: u32) {
        let Some(review) = model.mitigations.review else { return };
        let case = self.reviews[index as usize];
        self.metrics.reviews += 1;
        if case.message == NONE {
            // A gateway alert: the log names the actor when its credential does.
            if case.corrupted && case.actor != NONE {
                // The actor made the fault's attempt itself: the right agent.
                self.quarantine(model, case.actor, NONE, true);
            }
            return;
        }
        let message = self.messages[case.message as usize];
        if !message.corrupted() {
            return;
        }
        let root = self.root_agent(case.message);
        if review.provenance {
            if let Some(agent) = root {
                self.quarantine(model, agent, case.message, self.agents[agent as usize].origin);
            }
            return;
        }
        self.fill_chain(case.message);
        let Some(&suspect) = self.chain.get(case.hops as usize) else { return };
        self.quarantine(model, suspect, case.message, self.agents[suspect as usize].origin);
        if Some(suspect) != root && (case.hops as usize + 1) < self.chain.len() {
            self.schedule_review(model, review.delay, ReviewCase::of_message(case.message, case.hops + 1));
        }
    }

    /// Stops `agent` for the rest of the run and rolls memory back;
    /// `culprit` is ground truth: the agent is where the fault entered.
    pub(super) fn quarantine(&mut self, model: &Model, agent: u32, evidence: u32, culprit: bool) {
        let state = &mut self.agents[agent as usize];
        if state.quarantined {
            return;
        }
        state.quarantined = true;
        if state.corrupt_now {
            self.set_corrupt_now(agent, false);
        }
        self.metrics.agents_quarantined += 1;
        if culprit {
            if self.metrics.t_attribute.is_none() {
                self.metrics.t_attribute = model.onset().map(|onset| self.now - onset);
            }
        } else {
            self.metrics.wrong_quarantines += 1;
        }
        self.record(TraceKind::Quarantine, agent, evidence, Detail::None, Value::NONE);
        let Some(review) = model.mitigations.review.filter(|r| r.rollback) else { return };
        let (clean, corrupted) = if review.provenance {
            let messages = &self.messages;
            self.memory.roll_back(|record| record.agent == agent || derived_from(messages, record.message, agent))
        } else {
            let since = self.first_detection.unwrap_or(self.now);
            self.memory.roll_back(|record| record.time >= since)
        };
        self.metrics.rolled_back_clean += clean;
        self.metrics.rolled_back_corrupted += corrupted;
    }
}

/// Whether `agent` handled any message on the provenance chain of `message`.
fn derived_from(messages: &[Message], message: u32, agent: u32) -> bool {
    let mut current = message;
    while current != NONE {
        let m = &messages[current as usize];
        if m.sender == agent || (m.sender == NONE && m.receiver == agent) {
            return true;
        }
        current = m.parent;
    }
    false
}
