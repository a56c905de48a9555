//! Joins: an agent that waits for a task's inputs from several of its
//! in-channels (all, or k of them, or until a timeout) and processes them
//! as one input, combined by its rule (mean, median, vote, any).
//!
//! Invariants: a join fires at most once per (agent, task); it takes the
//! first input of each in-channel; inputs after it fired are late and
//! discarded (counted, never processed).

use super::{Detail, Engine, EventKind, Message, TraceKind, Value};
use crate::model::{Combine, Model, NONE, NO_FAULT};
use crate::rng;
use crate::topology::Graph;

/// One task's join at one agent.
#[derive(Clone, Debug, Default)]
pub(super) struct PendingJoin {
    agent: u32,
    /// In-channels heard from (bits by each channel's place among the
    /// agent's in-channels).
    heard: u64,
    /// Input message ids in arrival order.
    inputs: Vec<u32>,
    fired: bool,
}

/// One input as a join combines it: its clean value and corruption.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Part {
    pub(super) clean: f64,
    pub(super) shift: f64,
    pub(super) root: u16,
    pub(super) injection: bool,
}

impl Part {
    fn corrupted(&self) -> bool {
        self.root != NO_FAULT
    }

    fn signal(&self) -> f64 {
        self.clean + self.shift
    }
}

/// The inputs' mean: clean values and corruptions averaged, the root of
/// the largest corruption (the first on a tie), an injection if any has one.
fn mean<'a>(parts: impl Iterator<Item = &'a Part>) -> Part {
    let mut out = Part { clean: 0.0, shift: 0.0, root: NO_FAULT, injection: false };
    let (mut n, mut largest) = (0.0, -1.0);
    for p in parts {
        n += 1.0;
        out.clean += p.clean;
        out.shift += p.shift;
        out.injection |= p.injection;
        if p.corrupted() && p.shift.abs() > largest {
            largest = p.shift.abs();
            out.root = p.root;
        }
    }
    debug_assert!(n > 0.0, "a join combines at least one input");
    out.clean /= n;
    out.shift /= n;
    if out.root == NO_FAULT {
        out.shift = 0.0;
    }
    out
}

/// One input made of `parts` (in arrival order, at least one) by `rule`.
pub(super) fn combine(rule: Combine, parts: &mut [Part]) -> Part {
    debug_assert!(!parts.is_empty());
    match rule {
        Combine::Mean => mean(parts.iter()),
        Combine::Median => {
            // Stable: equal signals keep their arrival order.
            parts.sort_by(|a, b| a.signal().total_cmp(&b.signal()));
            let n = parts.len();
            if n % 2 == 1 {
                parts[n / 2]
            } else {
                mean(parts[n / 2 - 1..=n / 2].iter())
            }
        }
        Combine::Vote => {
            let corrupted = parts.iter().filter(|p| p.corrupted()).count();
            let clean = parts.len() - corrupted;
            match corrupted.cmp(&clean) {
                std::cmp::Ordering::Greater => mean(parts.iter().filter(|p| p.corrupted())),
                std::cmp::Ordering::Less => mean(parts.iter().filter(|p| !p.corrupted())),
                std::cmp::Ordering::Equal => mean(parts.iter()),
            }
        }
        Combine::Any => {
            let mut out = mean(parts.iter());
            let worst = parts.iter().filter(|p| p.corrupted()).fold(None::<&Part>, |worst, p| match worst {
                Some(w) if w.shift.abs() >= p.shift.abs() => Some(w),
                _ => Some(p),
            });
            if let Some(worst) = worst {
                out.shift = worst.shift;
                out.root = worst.root;
            }
            out
        }
    }
}

impl Engine {
    /// Each channel's place among its receiver's in-channels (for joins).
    pub(super) fn place_in_channels(&mut self, graph: &Graph) {
        self.in_place.clear();
        let mut seen = vec![0u8; self.agents.len()];
        for c in &graph.channels {
            let to = c.to as usize;
            self.in_place.push(seen[to]);
            seen[to] = seen[to].saturating_add(1);
        }
    }

    /// Input `id`, accepted by joining agent `agent`: held for its task's
    /// join, which fires once enough in-channels were heard.
    pub(super) fn join_input(&mut self, model: &Model, graph: &Graph, agent: u32, id: u32) {
        let message = self.messages[id as usize];
        let join = model.agents[agent as usize].join.expect("a joining agent");
        let key = ((message.task as u64) << 32) | agent as u64;
        let j = match self.join_index.get(&key) {
            Some(&j) => j as usize,
            None => {
                let j = self.new_join(agent);
                self.join_index.insert(key, j as u32);
                if let Some(timeout) = join.timeout {
                    self.schedule(model, self.now.saturating_add(timeout), EventKind::JoinTimeout(j as u32));
                }
                j
            }
        };
        let bit = 1u64 << self.in_place[message.channel as usize];
        let pending = &mut self.joins[j];
        if pending.fired || pending.heard & bit != 0 {
            self.metrics.join_late += 1;
            self.record(TraceKind::JoinLate, agent, id, Detail::Peer(message.sender), message.value());
            return;
        }
        pending.heard |= bit;
        pending.inputs.push(id);
        if pending.inputs.len() as u32 == join.inputs {
            self.fire_join(model, graph, j, false);
        }
    }

    /// A pending join, reusing the storage of an earlier run's.
    fn new_join(&mut self, agent: u32) -> usize {
        let j = self.joins_used;
        self.joins_used += 1;
        if j == self.joins.len() {
            self.joins.push(PendingJoin::default());
        }
        let pending = &mut self.joins[j];
        pending.agent = agent;
        pending.heard = 0;
        pending.inputs.clear();
        pending.fired = false;
        j
    }

    /// Join `j`'s timeout came: it proceeds with what it has, unless done.
    pub(super) fn join_timeout(&mut self, model: &Model, graph: &Graph, j: u32) {
        if !self.joins[j as usize].fired {
            self.fire_join(model, graph, j as usize, true);
        }
    }

    /// Join `j` makes its inputs one message and queues it for service.
    /// Each corrupted input passes its channel's propagation test first.
    fn fire_join(&mut self, model: &Model, graph: &Graph, j: usize, timed_out: bool) {
        let pending = &mut self.joins[j];
        pending.fired = true;
        let agent = pending.agent;
        let mut parts = std::mem::take(&mut self.join_parts);
        parts.clear();
        let (mut depth, mut last) = (0, NONE);
        for &id in &self.joins[j].inputs {
            let m = &self.messages[id as usize];
            let mut part = Part { clean: m.signal - m.shift, shift: m.shift, root: m.root, injection: m.injection };
            let p = graph.channels[m.channel as usize].propagation;
            if part.corrupted() && p < 1.0 && !rng::chance(&mut self.streams.behaviour, p) {
                part = Part { shift: 0.0, root: NO_FAULT, injection: false, ..part };
            }
            parts.push(part);
            depth = depth.max(m.depth);
            last = id;
        }
        let combined = combine(model.agents[agent as usize].join.expect("a joining agent").combine, &mut parts);
        let n = parts.len() as u32;
        self.join_parts = parts;
        let input = self.messages[last as usize];
        let message = Message {
            parent: last,
            channel: NONE,
            depth,
            signal: combined.signal(),
            shift: combined.shift,
            root: combined.root,
            injection: combined.injection,
            arrived_at: self.now,
            ..input
        };
        let id = self.messages.len() as u32;
        self.messages.push(message);
        self.metrics.joins += 1;
        self.metrics.joins_timed_out += timed_out as u64;
        let kind = if timed_out { TraceKind::JoinTimeout } else { TraceKind::Join };
        self.record(kind, agent, id, Detail::Count(n), Value::new(message.signal, message.shift, message.root));
        self.enqueue(model, agent, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(value: f64) -> Part {
        Part { clean: value, shift: 0.0, root: NO_FAULT, injection: false }
    }

    fn bad(value: f64, shift: f64) -> Part {
        Part { clean: value, shift, root: 3, injection: false }
    }

    #[test]
    fn mean_dilutes_one_corruption_by_the_inputs() {
        let out = combine(Combine::Mean, &mut [clean(1.0), bad(1.0, 3.0), clean(1.0)]);
        assert_eq!(out, Part { clean: 1.0, shift: 1.0, root: 3, injection: false });
        let out = combine(Combine::Mean, &mut [clean(1.0), clean(3.0)]);
        assert_eq!(out, clean(2.0));
        let mixed = combine(Combine::Mean, &mut [bad(0.0, 1.0), Part { root: 5, ..bad(0.0, -4.0) }]);
        assert_eq!((mixed.root, mixed.shift), (5, -1.5));
    }

    #[test]
    fn on_a_tie_mean_and_any_keep_the_first_corruptions_root() {
        let tie = [bad(0.0, 2.0), Part { root: 5, ..bad(0.0, -2.0) }];
        assert_eq!(combine(Combine::Mean, &mut tie.clone()).root, 3);
        let any = combine(Combine::Any, &mut tie.clone());
        assert_eq!((any.root, any.shift), (3, 2.0));
        // The larger corruption wins whatever its place.
        let any = combine(Combine::Any, &mut [bad(0.0, 1.0), Part { root: 5, ..bad(0.0, -2.0) }]);
        assert_eq!((any.root, any.shift), (5, -2.0));
    }

    #[test]
    fn median_takes_the_middle_input_and_outvotes_a_minority() {
        let out = combine(Combine::Median, &mut [clean(1.0), bad(1.0, 9.0), clean(2.0)]);
        assert_eq!(out, clean(2.0));
        // Two of three corrupted: the middle one is corrupted.
        let out = combine(Combine::Median, &mut [clean(1.0), bad(1.0, 9.0), bad(1.0, 5.0)]);
        assert_eq!(out, bad(1.0, 5.0));
        // Even: the middle two averaged.
        let out = combine(Combine::Median, &mut [clean(4.0), clean(1.0), bad(1.0, 1.0), clean(0.0)]);
        assert_eq!(out, Part { clean: 1.0, shift: 0.5, root: 3, injection: false });
        // Equal signals keep their arrival order.
        let out = combine(Combine::Median, &mut [clean(1.0), bad(0.0, 1.0), clean(1.0)]);
        assert_eq!(out, bad(0.0, 1.0));
    }

    #[test]
    fn vote_follows_the_majority_and_averages_all_on_a_tie() {
        let out = combine(Combine::Vote, &mut [clean(1.0), bad(1.0, 9.0), clean(3.0)]);
        assert_eq!(out, clean(2.0));
        let out = combine(Combine::Vote, &mut [bad(1.0, 2.0), bad(1.0, 4.0), clean(1.0)]);
        assert_eq!(out, Part { clean: 1.0, shift: 3.0, root: 3, injection: false });
        let out = combine(Combine::Vote, &mut [bad(1.0, 2.0), clean(3.0)]);
        assert_eq!(out, Part { clean: 2.0, shift: 1.0, root: 3, injection: false });
    }

    #[test]
    fn any_carries_the_largest_corruption_whole() {
        let out = combine(Combine::Any, &mut [clean(1.0), bad(3.0, 2.0), Part { root: 7, ..bad(2.0, -5.0) }]);
        assert_eq!(out, Part { clean: 2.0, shift: -5.0, root: 7, injection: false });
        let out = combine(Combine::Any, &mut [clean(1.0), clean(3.0)]);
        assert_eq!(out, clean(2.0));
    }

    #[test]
    fn an_injection_in_a_combined_input_is_kept() {
        let injected = Part { injection: true, ..bad(0.0, 1.0) };
        for rule in [Combine::Mean, Combine::Any] {
            assert!(combine(rule, &mut [clean(0.0), injected, clean(0.0)]).injection, "{rule:?}");
        }
        for rule in [Combine::Median, Combine::Vote] {
            assert!(!combine(rule, &mut [clean(0.0), injected, clean(0.0)]).injection, "{rule:?}");
        }
    }
}
