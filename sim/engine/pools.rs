//! Pools: an agent served by several servers (`servers`, people in a
//! review queue) sharing one FIFO queue; reviewers' load and waiting.
//!
//! Invariants: at most `servers` inputs of one agent are in service at a
//! time; an input waits only while every server is busy or, for an agent
//! with working hours, off shift (no service starts off shift); an agent
//! with one server and no hours takes the single-server path
//! (`arrivals::start_service`), so pools change nothing for it. Reviewers
//! (role `reviewer`) are measured whichever path serves them.

use super::{Engine, EventKind};
use crate::model::{Model, Role, NONE};
use crate::time::Micros;
use crate::topology::Graph;

/// Server time the reviewers (agents of role `reviewer`) offer over the
/// horizon: on shift only, for those with working hours.
pub(super) fn reviewer_capacity(model: &Model) -> Micros {
    model
        .agents
        .iter()
        .filter(|a| a.role == Role::Reviewer)
        .map(|a| {
            let offered = a.hours.map_or(model.horizon, |h| h.on_shift_before(model.horizon));
            (a.servers as Micros).saturating_mul(offered)
        })
        .fold(0, Micros::saturating_add)
}

/// The nearest-rank 99th percentile of `waits` (reordered); `None` if empty.
pub(super) fn p99(waits: &mut [Micros]) -> Option<Micros> {
    if waits.is_empty() {
        return None;
    }
    let rank = (waits.len() * 99).div_ceil(100) - 1;
    Some(*waits.select_nth_unstable(rank).1)
}

impl Engine {
    /// Marks the agents a pool serves (more than one server, or working
    /// hours), every server free.
    pub(super) fn pool_agents(&mut self, model: &Model) {
        for (state, spec) in self.agents.iter_mut().zip(&model.agents) {
            state.pooled = spec.servers > 1 || spec.hours.is_some();
            state.free = spec.servers;
        }
        if let Some(review) = model.mitigations.review.filter(|r| r.pool != NONE) {
            self.agents[review.pool as usize].pooled = true;
        }
    }

    /// Whether `agent`'s servers may start work now.
    #[inline]
    fn on_shift(&self, model: &Model, agent: u32) -> bool {
        model.agents[agent as usize].hours.is_none_or(|h| h.on_shift(self.now))
    }

    /// The first shift start of every agent with working hours.
    pub(super) fn schedule_shifts(&mut self, model: &Model) {
        for (a, spec) in model.agents.iter().enumerate() {
            if let Some(hours) = spec.hours {
                self.schedule(model, hours.next_start(0), EventKind::ShiftStart(a as u32));
            }
        }
    }

    /// A shift starts at `agent`: its free servers take queued work, and
    /// the next shift start is due.
    pub(super) fn shift_start(&mut self, model: &Model, agent: u32) {
        while self.agents[agent as usize].free > 0 && self.start_next(model, agent) {
            self.agents[agent as usize].free -= 1;
        }
        let hours = model.agents[agent as usize].hours.expect("only agents with hours have shifts");
        self.schedule(model, hours.next_start(self.now.saturating_add(1)), EventKind::ShiftStart(agent));
    }

    /// Input `id` starts at a free server of pooled `agent`, or waits.
    #[inline(never)]
    pub(super) fn enqueue_pooled(&mut self, model: &Model, agent: u32, id: u32) {
        let on_shift = self.on_shift(model, agent);
        let state = &mut self.agents[agent as usize];
        if state.free > 0 && on_shift {
            state.free -= 1;
            self.start_pooled(model, agent, id);
        } else if state.tail == NONE {
            state.head = id;
            state.tail = id;
        } else {
            self.messages[state.tail as usize].next = id;
            state.tail = id;
        }
    }

    /// Alert review `index` starts at a free server of the review pool
    /// `agent`, or waits.
    pub(super) fn enqueue_review(&mut self, model: &Model, agent: u32, index: u32) {
        if self.agents[agent as usize].free > 0 && self.on_shift(model, agent) {
            self.agents[agent as usize].free -= 1;
            self.start_review(model, agent, index);
        } else {
            self.review_queue.push_back(index);
        }
    }

    fn start_review(&mut self, model: &Model, agent: u32, index: u32) {
        self.agents[agent as usize].task_start = self.now;
        let done = self.now.saturating_add(model.agents[agent as usize].service.sample(&mut self.streams.timing));
        self.review_started_since(model, agent, self.reviews[index as usize].queued, done);
        self.schedule(model, done, EventKind::Review(index));
    }

    /// A server of `agent` takes the oldest of its queued inputs and (at
    /// the review pool) queued reviews, if on shift; false if it took none.
    fn start_next(&mut self, model: &Model, agent: u32) -> bool {
        if !self.on_shift(model, agent) {
            return false;
        }
        let head = self.agents[agent as usize].head;
        let review = if model.mitigations.review.is_some_and(|r| r.pool == agent) {
            self.review_queue.front().copied()
        } else {
            None
        };
        match review {
            Some(index)
                if head == NONE || self.reviews[index as usize].queued <= self.messages[head as usize].arrived_at =>
            {
                self.review_queue.pop_front();
                self.start_review(model, agent, index);
                true
            }
            _ if head != NONE => {
                let next = self.dequeue(agent);
                self.start_pooled(model, agent, next);
                true
            }
            _ => false,
        }
    }

    /// A server of pooled `agent` finished its work: it takes the next, or
    /// is free.
    pub(super) fn server_done(&mut self, model: &Model, agent: u32) {
        if !self.start_next(model, agent) {
            let state = &mut self.agents[agent as usize];
            state.free += 1;
            debug_assert!(state.free <= model.agents[agent as usize].servers, "more servers free than exist");
        }
    }

    fn start_pooled(&mut self, model: &Model, agent: u32, id: u32) {
        self.agents[agent as usize].task_start = self.now;
        self.note_start(id);
        let done = self.now.saturating_add(model.agents[agent as usize].service.sample(&mut self.streams.timing));
        self.review_started(model, agent, id, done);
        self.schedule(model, done, EventKind::PoolDone(id));
    }

    /// Input `id` starts service at `agent`, done at `done`: a review, if
    /// `agent` is a reviewer. Busy time is counted before the horizon and,
    /// with working hours, on shift only (overtime is not offered time).
    #[inline(always)]
    pub(super) fn review_started(&mut self, model: &Model, agent: u32, id: u32, done: Micros) {
        self.review_started_since(model, agent, self.messages[id as usize].arrived_at, done);
    }

    /// Work queued at `arrived` starts at `agent` now, done at `done`.
    #[inline(always)]
    fn review_started_since(&mut self, model: &Model, agent: u32, arrived: Micros, done: Micros) {
        let spec = &model.agents[agent as usize];
        if spec.role == Role::Reviewer {
            let wait = self.now - arrived;
            let end = done.min(model.horizon).max(self.now);
            let busy = spec.hours.map_or(end - self.now, |h| h.on_shift_before(end) - h.on_shift_before(self.now));
            self.metrics.reviewer_served += 1;
            self.metrics.review_wait_total += wait;
            self.metrics.reviewer_busy += busy;
            self.review_waits.push(wait);
        }
    }

    /// A server of the agent receiving `id` finished it, and takes the
    /// next queued input if there is one.
    pub(super) fn pool_done(&mut self, model: &Model, graph: &Graph, id: u32) {
        let agent = self.messages[id as usize].receiver;
        self.process(model, graph, agent, id);
        self.server_done(model, agent);
    }
}

#[cfg(test)]
mod tests {
    use super::p99;

    #[test]
    fn p99_is_the_nearest_rank() {
        assert_eq!(p99(&mut []), None);
        assert_eq!(p99(&mut [7]), Some(7));
        let mut hundred: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(p99(&mut hundred), Some(99));
        let mut hundred_one: Vec<u64> = (1..=101).collect();
        assert_eq!(p99(&mut hundred_one), Some(100));
        let mut thousand: Vec<u64> = (0..1000).map(|i| (i * 7919) % 1000).collect();
        assert_eq!(p99(&mut thousand), Some(989));
    }
}
