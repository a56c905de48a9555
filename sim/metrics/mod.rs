//! Per-run metrics: what one replication measured ([`RunMetrics`]), and
//! the catalogue that names, reads, labels and bounds every metric
//! ([`CATALOGUE`]). Definitions are in `docs/metrics.md` and must stay
//! identical to the code here and in the engine's bookkeeping.

mod catalogue;
mod checks;

pub use catalogue::{
    columns, costs, harm, headline, metric, summarised, Better, Feature, Headline, Metric, Read, Unit, CATALOGUE,
};

pub use checks::CheckCounts;

use crate::time::Micros;

/// The measurements of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunMetrics {
    /// Replication index within the sweep point.
    pub run: u64,
    /// Distinct agents, other than fault origins, that accepted corrupted
    /// input (a message or a memory read) as trusted.
    pub agents_reached: u32,
    /// Distinct agents that produced corrupted output (message, action or record).
    pub agents_corrupted: u32,
    /// Corrupted messages delivered on channels or from sources.
    pub corrupted_messages: u64,
    /// Side-effecting actions that went ahead with corrupted content or a
    /// fault behind them (out-of-scope attempts included).
    pub corrupted_actions: u64,
    /// Memory records written with corrupted content (planted ones included).
    pub corrupted_records: u64,
    /// Onset to the first detection at or after onset: a failed boundary
    /// validation (which a breaker trip always is), an alert, or an action
    /// the gateway blocked.
    pub t_detect: Option<Micros>,
    /// Onset to the last accepted corrupted input, when contained.
    pub t_contain: Option<Micros>,
    /// No corrupted input was accepted in the final quiet window.
    pub contained: bool,
    /// Fault onset (start of the earliest fault), if the scenario has faults.
    pub onset: Option<Micros>,
    /// All messages created (source, channel and forged).
    pub messages: u64,
    /// Side-effecting actions that went ahead (task actions and out-of-scope ones).
    pub actions: u64,
    pub records: u64,
    /// Clean channel messages rejected at a boundary (failed validation or open breaker).
    pub rejected_clean: u64,
    /// Corrupted channel messages rejected at a boundary.
    pub rejected_corrupted: u64,
    /// Breaker transitions to OPEN (each raises an alert).
    pub breaker_trips: u64,
    /// Trips on a channel that had carried no corrupted message since its
    /// breaker last closed (or since the start).
    pub false_trips: u64,
    /// Clean messages a cap stopped from being sent.
    pub capped_clean: u64,
    /// Corrupted messages a cap stopped from being sent.
    pub capped_corrupted: u64,
    /// Agent-time spent in cooldown after breaker trips (µs, up to the horizon).
    pub held_time: Micros,
    /// Onset to the quarantine of a fault origin (the true root source).
    pub t_attribute: Option<Micros>,
    /// Reviews carried out (one per alert, plus one per hop walked back).
    pub reviews: u64,
    /// Agents quarantined, and those of them that were not fault origins.
    pub agents_quarantined: u32,
    pub wrong_quarantines: u32,
    /// Records removed by rollback: clean (collateral) and corrupted.
    pub rolled_back_clean: u64,
    pub rolled_back_corrupted: u64,
    /// Corrupted records still in memory at the horizon (missed by rollback).
    pub corrupted_records_left: u64,
    /// Out-of-scope action attempts (fault `out_of_scope`) that went ahead.
    pub out_of_scope_succeeded: u64,
    /// Out-of-scope attempts refused by the resource or blocked by the gateway.
    pub out_of_scope_blocked: u64,
    /// Of those blocked: the writes, and those whose root fault is a prompt injection.
    pub out_of_scope_blocked_writes: u64,
    pub out_of_scope_blocked_injected: u64,
    /// Actions that went ahead under a credential that cannot name both the
    /// agent and its human sponsor (inherited, shared account, unsponsored).
    pub unattributable_actions: u64,
    /// Task actions on clean output that were refused or blocked.
    pub clean_actions_blocked: u64,
    /// Tasks the sources started (forged messages are not tasks).
    pub tasks: u64,
    /// Tasks that reached an agent with no out-channels.
    pub tasks_delivered: u64,
    /// Tasks not delivered of which a message could not be: no route
    /// matched it, or its receiver was quarantined.
    pub tasks_lost: u64,
    /// Corrupted outputs a router sent on a wrong route.
    pub misrouted: u64,
    /// Joins that made a task's inputs one, those of them whose timeout
    /// came first, and inputs discarded as late (after their join fired).
    pub joins: u64,
    pub joins_timed_out: u64,
    pub join_late: u64,
    /// Check verdicts that failed, and those of them on clean output
    /// (false failures); retries sent back to producers; escalations.
    pub checks_failed: u64,
    pub checks_failed_clean: u64,
    pub retries: u64,
    pub escalations: u64,
    /// Emission to first delivery, summed over the tasks delivered.
    pub delivery_time_total: Micros,
    /// Inputs reviewers (role `reviewer`) started, their total wait in
    /// queue, the reviewers' busy time before the horizon and the server
    /// time they offer over it (servers x horizon).
    pub reviewer_served: u64,
    pub review_wait_total: Micros,
    pub reviewer_busy: Micros,
    pub reviewer_capacity: Micros,
    /// The 99th percentile (nearest rank) of those waits; `None` without
    /// reviews.
    pub review_wait_p99: Option<Micros>,
    /// Distinct agents taken over (by an injection, a compromised
    /// configuration or a `compromised_agent` fault) that are not fault
    /// origins, and the fault origins taken over.
    pub agents_compromised: u32,
    pub origins_compromised: u32,
    /// Channel messages that failed a sanitising check and were delivered
    /// cleaned, and those of them that were clean.
    pub sanitised: u64,
    pub sanitised_clean: u64,
    /// Corrupted outputs with effects that carried an injection on from an
    /// agent it had not compromised (`relay`).
    pub injections_relayed: u64,
    /// Compromises by an injection read from a memory record.
    pub memory_compromises: u64,
    /// Events the engine processed.
    pub events: u64,
    /// Inputs processed and their total time in system (arrival to done).
    pub processed: u64,
    pub sojourn_total: Micros,
    /// Agents corrupted over time.
    pub prevalence: Prevalence,
}

/// Times at which a run's [`Prevalence`] is sampled: 0%, 1%, ..., 100%
/// of the horizon.
pub const PREVALENCE_SAMPLES: usize = 101;

/// Agents corrupted over one run: at each of [`PREVALENCE_SAMPLES`] evenly
/// spaced times from 0 to the horizon (events at that time included), how
/// many agents were corrupted, that is, their latest output had a fault
/// behind it (a shift still material) and no clean output or quarantine
/// has followed. An agent counted here has produced corrupted output, so
/// no count exceeds `agents_corrupted`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Prevalence {
    pub horizon: Micros,
    pub counts: [u32; PREVALENCE_SAMPLES],
}

impl Prevalence {
    /// The time of sample `k`: `k` hundredths of the horizon, rounded down.
    pub fn time(&self, k: usize) -> Micros {
        debug_assert!(k < PREVALENCE_SAMPLES);
        (self.horizon as u128 * k as u128 / (PREVALENCE_SAMPLES as u128 - 1)) as Micros
    }
}

impl Default for Prevalence {
    fn default() -> Prevalence {
        Prevalence { horizon: 0, counts: [0; PREVALENCE_SAMPLES] }
    }
}

impl std::fmt::Debug for Prevalence {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("Prevalence").field("horizon", &self.horizon).field("counts", &&self.counts[..]).finish()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PrevalenceFields<C> {
    horizon: Micros,
    counts: C,
}

impl serde::Serialize for Prevalence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        PrevalenceFields { horizon: self.horizon, counts: &self.counts[..] }.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Prevalence {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Prevalence, D::Error> {
        let fields = PrevalenceFields::<Vec<u32>>::deserialize(deserializer)?;
        let counts = fields.counts.try_into().map_err(|counts: Vec<u32>| {
            serde::de::Error::custom(format!("prevalence has {} counts, expected {PREVALENCE_SAMPLES}", counts.len()))
        })?;
        Ok(Prevalence { horizon: fields.horizon, counts })
    }
}

impl RunMetrics {
    /// Checks what every run of a scenario with `agents` agents and this
    /// `horizon` satisfies (the engine asserts it; `merge` checks each line
    /// of a shard's `runs.jsonl` with it): counts of agents within the
    /// agents, parts within their wholes, times within the horizon. The
    /// error names the first field at fault and its bound.
    pub fn check(&self, agents: u32, horizon: Micros) -> Result<(), String> {
        let at_most = |name: &str, value: u64, bound: u64, what: &str| {
            if value <= bound {
                Ok(())
            } else {
                Err(format!("{name} = {value}, expected at most {bound} ({what})"))
            }
        };
        let agents = u64::from(agents);
        at_most("agents_reached", self.agents_reached.into(), agents, "the agents")?;
        at_most("agents_corrupted", self.agents_corrupted.into(), agents, "the agents")?;
        at_most("agents_quarantined", self.agents_quarantined.into(), agents, "the agents")?;
        let compromised = u64::from(self.agents_compromised) + u64::from(self.origins_compromised);
        at_most("agents_compromised + origins_compromised", compromised, agents, "the agents")?;
        at_most("memory_compromises", self.memory_compromises, self.processed, "processed")?;
        at_most("sanitised_clean", self.sanitised_clean, self.sanitised, "sanitised")?;
        at_most("sanitised", self.sanitised, self.messages, "messages")?;
        at_most("injections_relayed", self.injections_relayed, self.processed, "processed")?;
        at_most(
            "wrong_quarantines",
            self.wrong_quarantines.into(),
            self.agents_quarantined.into(),
            "agents_quarantined",
        )?;
        at_most("corrupted_messages", self.corrupted_messages, self.messages, "messages")?;
        at_most("corrupted_actions", self.corrupted_actions, self.actions, "actions")?;
        at_most("unattributable_actions", self.unattributable_actions, self.actions, "actions")?;
        at_most("corrupted_records_left", self.corrupted_records_left, self.corrupted_records, "corrupted_records")?;
        at_most("rolled_back_corrupted", self.rolled_back_corrupted, self.corrupted_records, "corrupted_records")?;
        at_most("false_trips", self.false_trips, self.breaker_trips, "breaker_trips")?;
        at_most(
            "out_of_scope_blocked_writes",
            self.out_of_scope_blocked_writes,
            self.out_of_scope_blocked,
            "out_of_scope_blocked",
        )?;
        at_most(
            "out_of_scope_blocked_injected",
            self.out_of_scope_blocked_injected,
            self.out_of_scope_blocked,
            "out_of_scope_blocked",
        )?;
        at_most("processed", self.processed, self.events, "events")?;
        at_most("tasks", self.tasks, self.messages, "messages")?;
        let settled = self.tasks_delivered.saturating_add(self.tasks_lost);
        at_most("tasks_delivered + tasks_lost", settled, self.tasks, "tasks")?;
        at_most("misrouted", self.misrouted, self.processed, "processed")?;
        at_most("joins_timed_out", self.joins_timed_out, self.joins, "joins")?;
        at_most("checks_failed", self.checks_failed, self.processed, "processed")?;
        at_most("checks_failed_clean", self.checks_failed_clean, self.checks_failed, "checks_failed")?;
        at_most("reviewer_busy", self.reviewer_busy, self.reviewer_capacity, "reviewer_capacity")?;
        let handled = self.retries.saturating_add(self.escalations);
        at_most("retries + escalations", handled, self.checks_failed, "checks_failed")?;
        at_most("joins + join_late", self.joins.saturating_add(self.join_late), self.messages, "messages")?;
        at_most("onset", self.onset.unwrap_or(0), horizon, "the horizon")?;
        let since_onset = horizon - self.onset.unwrap_or(0).min(horizon);
        for (name, time) in
            [("t_detect", self.t_detect), ("t_contain", self.t_contain), ("t_attribute", self.t_attribute)]
        {
            at_most(name, time.unwrap_or(0), since_onset, "the time from onset to the horizon")?;
        }
        if self.t_contain.is_some() && !self.contained {
            return Err("t_contain is set in a run that was not contained".into());
        }
        let timed = self.t_detect.or(self.t_contain).or(self.t_attribute).is_some();
        if self.onset.is_none() && (timed || !self.contained) {
            return Err("a run without faults (no onset) has a time since onset or was not contained".into());
        }
        if self.prevalence.horizon != horizon {
            return Err(format!("prevalence.horizon = {}, expected the horizon, {horizon}", self.prevalence.horizon));
        }
        let most = self.prevalence.counts.iter().copied().max().unwrap_or(0);
        at_most("prevalence.counts", most.into(), self.agents_corrupted.into(), "agents_corrupted")
    }

    /// Mean time from emission to first delivery of the tasks delivered, in
    /// microseconds.
    pub fn mean_time_to_deliver(&self) -> Option<f64> {
        (self.tasks_delivered > 0).then(|| self.delivery_time_total as f64 / self.tasks_delivered as f64)
    }

    /// Mean wait in queue of the inputs reviewers started, in microseconds.
    pub fn mean_review_wait(&self) -> Option<f64> {
        (self.reviewer_served > 0).then(|| self.review_wait_total as f64 / self.reviewer_served as f64)
    }

    /// Mean time in system of processed inputs, in microseconds.
    pub fn mean_sojourn(&self) -> Option<f64> {
        (self.processed > 0).then(|| self.sojourn_total as f64 / self.processed as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_checked_against_its_bounds() {
        let horizon = 1_000;
        let fine = RunMetrics {
            agents_reached: 3,
            agents_corrupted: 4,
            onset: Some(400),
            t_detect: Some(600),
            t_contain: Some(600),
            contained: true,
            prevalence: Prevalence { horizon, counts: [4; PREVALENCE_SAMPLES] },
            ..RunMetrics::default()
        };
        assert_eq!(fine.check(4, horizon), Ok(()));
        let refused = |m: RunMetrics| m.check(4, horizon).unwrap_err();
        assert_eq!(
            refused(RunMetrics { agents_reached: 5, ..fine }),
            "agents_reached = 5, expected at most 4 (the agents)"
        );
        assert!(refused(RunMetrics { t_detect: Some(601), ..fine }).starts_with("t_detect = 601, expected at most 600"));
        assert!(refused(RunMetrics { onset: Some(1_001), ..fine }).starts_with("onset = 1001"));
        assert!(refused(RunMetrics { contained: false, ..fine }).starts_with("t_contain is set"));
        let faultless = RunMetrics { onset: None, t_detect: None, t_contain: None, ..fine };
        assert_eq!(faultless.check(4, horizon), Ok(()));
        assert!(refused(RunMetrics { t_attribute: Some(1), ..faultless }).starts_with("a run without faults"));
        assert!(refused(RunMetrics { contained: false, ..faultless }).starts_with("a run without faults"));
        assert!(refused(RunMetrics { prevalence: Prevalence { horizon: 9, ..fine.prevalence }, ..fine })
            .starts_with("prevalence.horizon = 9"));
        let mut counts = fine.prevalence.counts;
        counts[50] = 5;
        assert!(refused(RunMetrics { prevalence: Prevalence { horizon, counts }, ..fine })
            .starts_with("prevalence.counts = 5, expected at most 4"));
        assert!(refused(RunMetrics { corrupted_actions: 1, ..fine }).starts_with("corrupted_actions = 1"));
    }
}
