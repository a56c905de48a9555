//! Fan-out caps: messages in flight, per-cycle sends, chain depth, and the
//! cooldown that holds an upstream agent after a breaker trip.

use super::{Detail, Engine, TraceKind, Value};
use crate::mitigation::Caps;
use crate::model::{Model, NONE};
use crate::time::Micros;

impl Engine {
    /// A sent message reached its receiver: it is no longer in flight.
    pub(super) fn landed(&mut self, model: &Model, id: u32) {
        if model.mitigations.caps.is_some() {
            let sender = self.messages[id as usize].sender;
            let state = &mut self.agents[sender as usize];
            state.in_flight = state.in_flight.saturating_sub(1);
        }
    }

    /// Whether the caps stop `agent` from sending a message of `depth` hops now.
    pub(super) fn capped(&mut self, caps: &Caps, agent: u32, depth: u32) -> bool {
        let now = self.now;
        let state = &mut self.agents[agent as usize];
        if (caps.max_depth > 0 && depth > caps.max_depth)
            || now < state.held_until
            || (caps.max_in_flight > 0 && state.in_flight >= caps.max_in_flight)
        {
            return true;
        }
        // Cycles are [k * cycle, (k + 1) * cycle); time never goes back, so
        // a new cycle starts exactly when `now` passes the current one's end
        // (one division per cycle, not per message).
        if now >= state.cycle_end {
            state.cycle_end = (now / caps.cycle + 1).saturating_mul(caps.cycle);
            state.sent_in_cycle = 0;
        }
        caps.max_per_cycle > 0 && state.sent_in_cycle >= caps.max_per_cycle
    }

    /// Cooldown after a trip: `agent` sends nothing until `now + cooldown`.
    pub(super) fn hold(&mut self, model: &Model, agent: u32, cooldown: Micros) {
        let state = &mut self.agents[agent as usize];
        let until = self.now.saturating_add(cooldown).min(model.horizon);
        let from = state.held_until.max(self.now);
        if until > from {
            self.metrics.held_time += until - from;
            state.held_until = until;
            self.record(TraceKind::Hold, agent, NONE, Detail::None, Value::NONE);
        }
    }
}
