//! Verification steps: a check's verdict on each output it would pass
//! on, and what a failure does: the task back to its producer (its input
//! there again) at most `max_retries` times, then to the escalation
//! target, or lost when there is none.
//!
//! Invariants: a task gets at most `max_retries` retries from one check;
//! every failure is a retry, an escalation or a lost task.

use super::processing::Output;
use super::{Detail, Engine, EventKind, Message, TraceKind};
use crate::metrics::CheckCounts;
use crate::model::{Check, Model, NONE};
use crate::rng;

/// Zeroed counts for each of `model`'s checks, by agent index.
pub(super) fn counts_of(model: &Model) -> Vec<CheckCounts> {
    let checks = model.agents.iter().enumerate().filter(|(_, a)| a.check.is_some());
    checks.map(|(i, _)| CheckCounts { agent: i as u32, ..CheckCounts::default() }).collect()
}

impl Engine {
    /// What each check did in the last run, by agent index (empty when the
    /// model has none).
    pub fn check_counts(&self) -> &[CheckCounts] {
        &self.check_counts
    }

    /// Zeroes the counts for a run of `model` (the checks of the model the
    /// engine was made for).
    pub(super) fn reset_check_counts(&mut self, model: &Model) {
        self.check_counts.iter_mut().for_each(|c| *c = CheckCounts { agent: c.agent, ..CheckCounts::default() });
        debug_assert!(self.check_counts.iter().all(|c| model.agents[c.agent as usize].check.is_some()));
    }

    /// The run's check totals in `metrics`, summed from each check's
    /// counts (their one home).
    pub(super) fn total_checks(&self, metrics: &mut crate::metrics::RunMetrics) {
        for c in &self.check_counts {
            metrics.checks_failed += c.caught + c.failed_clean;
            metrics.checks_failed_clean += c.failed_clean;
            metrics.retries += c.retries;
            metrics.escalations += c.escalations;
        }
    }

    /// Whether `agent`'s output for input `id` goes on: always, unless the
    /// agent is a check and its verdict fails (then the failure is handled).
    #[inline]
    pub(super) fn check_passes(&mut self, model: &Model, agent: u32, id: u32, output: &Output) -> bool {
        match model.agents[agent as usize].check {
            Some(check) if !self.agents[agent as usize].quarantined => self.verdict(model, agent, id, output, check),
            _ => true,
        }
    }

    #[inline(never)]
    fn verdict(&mut self, model: &Model, agent: u32, id: u32, output: &Output, check: Check) -> bool {
        let corrupted = output.root != crate::model::NO_FAULT;
        let fail = if corrupted { check.detect } else { check.false_fail };
        let passes = !rng::chance(&mut self.streams.checks, fail);
        let at = self.check_counts.binary_search_by_key(&agent, |c| c.agent).expect("a check's counts");
        let counts = &mut self.check_counts[at];
        counts.verdicts += 1;
        if passes {
            counts.missed += corrupted as u64;
            return true;
        }
        counts.caught += corrupted as u64;
        counts.failed_clean += !corrupted as u64;
        self.record(TraceKind::CheckFail, agent, id, Detail::None, output.value());
        let input = self.messages[id as usize];
        let key = ((input.task as u64) << 32) | agent as u64;
        let retries = self.retries_by.get(&key).copied().unwrap_or(0);
        let redo = if retries < check.max_retries { self.producer_input(id, check.retry) } else { NONE };
        if redo != NONE {
            self.retries_by.insert(key, retries + 1);
            self.check_counts[at].retries += 1;
            let original = self.messages[redo as usize];
            let again = Message { parent: id, sender: agent, channel: NONE, depth: input.depth + 1, ..original };
            self.hand_over(model, TraceKind::Retry, agent, again);
        } else if check.escalate != NONE {
            self.check_counts[at].escalations += 1;
            let escalated = Message {
                parent: id,
                sender: agent,
                receiver: check.escalate,
                channel: NONE,
                depth: input.depth + 1,
                signal: output.signal,
                shift: output.shift,
                root: output.root,
                injection: output.injection,
                ..input
            };
            self.hand_over(model, TraceKind::Escalate, agent, escalated);
        } else {
            self.check_counts[at].lost += 1;
            self.lose(agent, id, input.task);
        }
        false
    }

    /// The input the producer `retry` had for the task of message `id`,
    /// found by walking `id`'s provenance back (`NONE`: none).
    fn producer_input(&self, id: u32, retry: u32) -> u32 {
        let mut current = id;
        while current != NONE {
            let m = &self.messages[current as usize];
            if m.receiver == retry {
                return current;
            }
            current = m.parent;
        }
        NONE
    }

    /// `message` (its receiver set) delivered now from check `agent`, off
    /// any channel.
    fn hand_over(&mut self, model: &Model, kind: TraceKind, agent: u32, message: Message) {
        let id = self.new_message(Message { arrived_at: 0, next: NONE, ..message });
        self.record(kind, agent, id, Detail::Peer(message.receiver), message.value());
        self.schedule(model, self.now, EventKind::Arrive(id));
    }
}
