//! The metric catalogue: every metric cascade reports, once. Each entry
//! says how the metric is read from [`RunMetrics`], its `runs.csv` column,
//! its unit (which fixes its bounds and how it prints), its labels, which
//! direction is better, which mitigation or feature makes it meaningful,
//! and the views it appears in. Every list of metrics elsewhere (CSV
//! columns, summaries, paired comparisons, charts, the report, baselines'
//! default rules, tuning targets, the terminal tables) is derived from
//! [`CATALOGUE`]; adding a metric is counting it in the engine, adding an
//! entry here and defining it in `docs/metrics.md`.
//!
//! The catalogue's order is the `runs.csv` column order; summaries list the
//! summarised distributions in that order, then the proportions.

use super::RunMetrics;
use crate::model::{FaultKind, Model};
use crate::time::Micros;

/// How one run's value of a metric is read.
#[derive(Clone, Copy)]
pub enum Read {
    /// A count of things (agents, messages, actions).
    Count(fn(&RunMetrics) -> u64),
    /// A duration in µs; `None` where the run does not define it.
    Time(fn(&RunMetrics) -> Option<Micros>),
    /// A mean duration in µs, fractional; `None` when nothing was averaged.
    MeanTime(fn(&RunMetrics) -> Option<f64>),
    /// Whether something held in the run; summarised as a proportion of runs.
    Flag(fn(&RunMetrics) -> bool),
    /// The mean of metric `of` per mean of metric `per` (both counts or
    /// both times), computed from a summary: no per-run value, no column.
    Share { of: &'static str, per: &'static str },
}

/// What values a metric takes: its bounds and how it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A non-negative count.
    Count,
    /// A non-negative duration, kept in microseconds, read in seconds.
    Micros,
    /// A proportion, between 0 and 1.
    Fraction,
}

impl Unit {
    /// The `unit` column of `summary.csv` and `paired.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Micros => "seconds",
            Unit::Fraction => "fraction",
        }
    }

    /// The factor from stored values to the units people read (seconds for times).
    pub fn scale(self) -> f64 {
        match self {
            Unit::Micros => 1e-6,
            Unit::Count | Unit::Fraction => 1.0,
        }
    }

    /// The interval no value of this unit can leave.
    pub fn bounds(self) -> (f64, f64) {
        match self {
            Unit::Count | Unit::Micros => (0.0, f64::INFINITY),
            Unit::Fraction => (0.0, 1.0),
        }
    }
}

/// Which direction of a metric is an improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// What a scenario must use for a metric to mean anything: the terminal
/// tables show a metric only when its scenario uses its feature (the CSV
/// files always have every metric).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    Always,
    /// Something detects: checks on channels, or the gateway.
    Detection,
    /// Checks on channels: boundary validation or zero trust.
    ChannelChecks,
    Breaker,
    Caps,
    Review,
    /// An `out_of_scope` fault.
    OutOfScope,
    /// Actions checked against credentials.
    AccessChecks,
    /// Task kinds, routers or failover ([`Model::routes_work`]).
    Routing,
    /// An agent joins its inputs ([`Model::joins`]).
    Joins,
    /// An agent is a verification step ([`Model::checks`]).
    Checks,
    /// An agent is a reviewer (role `reviewer`).
    Reviewers,
    /// A fault can take agents over ([`Model::compromises`]).
    Compromise,
    /// A fault's injection spreads: by relay or through memory.
    Injection,
    /// A check on channels sanitises what fails it.
    Sanitising,
}

impl Feature {
    /// Whether `model` uses this feature.
    pub fn used_by(self, model: &Model) -> bool {
        let m = &model.mitigations;
        match self {
            Feature::Always => true,
            Feature::Detection => m.guards_channels() || m.gateway.is_some(),
            Feature::ChannelChecks => m.guards_channels(),
            Feature::Breaker => m.breaker.is_some(),
            Feature::Caps => m.caps.is_some(),
            Feature::Review => m.review.is_some(),
            Feature::OutOfScope => model.faults.iter().any(|f| matches!(f.kind, FaultKind::OutOfScope { .. })),
            Feature::AccessChecks => model.access_checked(),
            Feature::Routing => model.routes_work(),
            Feature::Joins => model.joins(),
            Feature::Checks => model.checks(),
            Feature::Reviewers => model.agents.iter().any(|a| a.role == crate::model::Role::Reviewer),
            Feature::Compromise => model.compromises(),
            Feature::Injection => model.faults.iter().any(|f| f.kind.injection().is_some()),
            Feature::Sanitising => m.sanitises(),
        }
    }
}

/// A headline metric: charted against every swept key, and (as flagged)
/// a column of the sweep report and of the terminal sweep table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headline {
    /// Order among the headline metrics, in every view.
    pub rank: u8,
    /// Charted even when every point's mean is zero.
    pub always: bool,
    pub report: bool,
    pub sweep_table: bool,
}

/// One metric.
#[derive(Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    /// The `runs.csv` column (empty for a [`Read::Share`]).
    pub column: &'static str,
    pub read: Read,
    /// Axis label in charts.
    pub label: &'static str,
    /// Column heading in the report.
    pub heading: &'static str,
    pub better: Option<Better>,
    pub feature: Feature,
    /// In `summary.csv`, paired comparisons and baselines (bookkeeping
    /// columns such as `events` are only in `runs.csv`).
    pub summarised: bool,
    pub headline: Option<Headline>,
    /// Preference (lowest first) as the cost in clean traffic of the
    /// Pareto chart and of `tune`: the first one non-zero somewhere.
    pub cost: Option<u8>,
    /// Checked by a new baseline's default rules (statistically, in its
    /// better direction).
    pub checked: bool,
    /// The blast radius: the harm the Pareto chart and the report weigh
    /// against the cost (exactly one metric).
    pub harm: bool,
}

impl std::fmt::Debug for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Metrics are equal when they are the same catalogue entry (by name).
impl PartialEq for Metric {
    fn eq(&self, other: &Metric) -> bool {
        self.name == other.name
    }
}

impl Metric {
    /// The metric's unit, from how it is read.
    pub fn unit(&self) -> Unit {
        match self.read {
            Read::Count(_) => Unit::Count,
            Read::Time(_) | Read::MeanTime(_) => Unit::Micros,
            Read::Flag(_) | Read::Share { .. } => Unit::Fraction,
        }
    }

    /// Summarised as a proportion of runs (a Wilson interval, no quantiles).
    pub fn is_proportion(&self) -> bool {
        matches!(self.read, Read::Flag(_))
    }

    /// Has per-run values with quantiles (a count or a duration).
    pub fn has_quantiles(&self) -> bool {
        matches!(self.read, Read::Count(_) | Read::Time(_) | Read::MeanTime(_))
    }

    /// One run's value as a summary records it: counts and µs (a mean
    /// time rounded to the microsecond), 0/1 for a flag; `None` where the
    /// run does not define it or the metric has no per-run value.
    pub fn value(&self, run: &RunMetrics) -> Option<u64> {
        match self.read {
            Read::Count(read) => Some(read(run)),
            Read::Time(read) => read(run),
            Read::MeanTime(read) => read(run).map(|us| (us + 0.5) as u64),
            Read::Flag(read) => Some(read(run) as u64),
            Read::Share { .. } => None,
        }
    }
}

/// The metric called `name`.
pub fn metric(name: &str) -> Option<&'static Metric> {
    CATALOGUE.iter().find(|m| m.name == name)
}

/// The summarised metrics in summary order: distributions in catalogue
/// order, then proportions.
pub fn summarised() -> impl Iterator<Item = &'static Metric> + Clone {
    let summarised = CATALOGUE.iter().filter(|m| m.summarised);
    summarised.clone().filter(|m| !m.is_proportion()).chain(summarised.filter(|m| m.is_proportion()))
}

/// The metrics with a `runs.csv` column, in column order.
pub fn columns() -> impl Iterator<Item = &'static Metric> + Clone {
    CATALOGUE.iter().filter(|m| !m.column.is_empty())
}

/// The blast radius, which the Pareto chart and the report weigh against
/// the cost.
pub fn harm() -> &'static Metric {
    CATALOGUE.iter().find(|m| m.harm).expect("the catalogue names one harm")
}

/// The headline metrics, in rank order.
pub fn headline() -> Vec<(&'static Metric, Headline)> {
    let mut all: Vec<_> = CATALOGUE.iter().filter_map(|m| Some((m, m.headline?))).collect();
    all.sort_by_key(|(_, h)| h.rank);
    all
}

/// The cost metrics, in order of preference.
pub fn costs() -> Vec<&'static Metric> {
    let mut all: Vec<_> = CATALOGUE.iter().filter(|m| m.cost.is_some()).collect();
    all.sort_by_key(|m| m.cost);
    all
}

const fn plain(name: &'static str, read: Read, label: &'static str, better: Option<Better>) -> Metric {
    Metric {
        name,
        column: name,
        read,
        label,
        heading: label,
        better,
        feature: Feature::Always,
        summarised: true,
        headline: None,
        cost: None,
        checked: false,
        harm: false,
    }
}

const fn headline_at(rank: u8, always: bool, report: bool, sweep_table: bool) -> Option<Headline> {
    Some(Headline { rank, always, report, sweep_table })
}

const LOWER: Option<Better> = Some(Better::Lower);
const HIGHER: Option<Better> = Some(Better::Higher);

/// Every metric, in `runs.csv` column order.
pub static CATALOGUE: [Metric; 59] = [
    Metric {
        heading: "agents reached",
        headline: headline_at(0, true, true, true),
        checked: true,
        harm: true,
        ..plain("agents_reached", Read::Count(|m| m.agents_reached as u64), "agents reached (blast radius)", LOWER)
    },
    plain("agents_corrupted", Read::Count(|m| m.agents_corrupted as u64), "agents corrupted", LOWER),
    plain("corrupted_messages", Read::Count(|m| m.corrupted_messages), "corrupted messages", LOWER),
    Metric {
        headline: headline_at(3, false, true, false),
        checked: true,
        ..plain("corrupted_actions", Read::Count(|m| m.corrupted_actions), "corrupted actions", LOWER)
    },
    plain("corrupted_records", Read::Count(|m| m.corrupted_records), "corrupted records", LOWER),
    Metric {
        column: "t_detect_s",
        heading: "t_detect (s)",
        feature: Feature::Detection,
        ..plain("t_detect", Read::Time(|m| m.t_detect), "time to detection (s)", LOWER)
    },
    Metric {
        column: "contained",
        headline: headline_at(1, true, true, true),
        checked: true,
        ..plain("containment_rate", Read::Flag(|m| m.contained), "containment rate", HIGHER)
    },
    Metric {
        column: "t_contain_s",
        heading: "t_contain (s)",
        headline: headline_at(2, false, true, true),
        checked: true,
        ..plain("t_contain", Read::Time(|m| m.t_contain), "time to containment (s), contained runs only", LOWER)
    },
    Metric {
        heading: "clean rejected",
        feature: Feature::ChannelChecks,
        headline: headline_at(4, false, true, true),
        cost: Some(0),
        checked: true,
        ..plain("rejected_clean", Read::Count(|m| m.rejected_clean), "clean messages rejected", LOWER)
    },
    Metric {
        feature: Feature::ChannelChecks,
        ..plain("rejected_corrupted", Read::Count(|m| m.rejected_corrupted), "corrupted messages rejected", None)
    },
    Metric {
        feature: Feature::Breaker,
        ..plain("breaker_trips", Read::Count(|m| m.breaker_trips), "breaker trips", None)
    },
    Metric {
        heading: "false trips",
        feature: Feature::Breaker,
        headline: headline_at(5, false, true, false),
        ..plain("false_trips", Read::Count(|m| m.false_trips), "false breaker trips", LOWER)
    },
    Metric {
        feature: Feature::Caps,
        cost: Some(2),
        ..plain("capped_clean", Read::Count(|m| m.capped_clean), "clean messages capped", LOWER)
    },
    Metric {
        feature: Feature::Caps,
        ..plain("capped_corrupted", Read::Count(|m| m.capped_corrupted), "corrupted messages capped", None)
    },
    Metric {
        column: "held_time_s",
        heading: "held time (s)",
        feature: Feature::Caps,
        ..plain("held_time", Read::Time(|m| Some(m.held_time)), "agent time held in cooldown (s)", LOWER)
    },
    Metric {
        column: "t_attribute_s",
        heading: "t_attribute (s)",
        feature: Feature::Review,
        ..plain("t_attribute", Read::Time(|m| m.t_attribute), "time to attribution (s)", LOWER)
    },
    Metric { feature: Feature::Review, ..plain("reviews", Read::Count(|m| m.reviews), "reviews", None) },
    Metric {
        feature: Feature::Review,
        ..plain("agents_quarantined", Read::Count(|m| m.agents_quarantined as u64), "agents quarantined", None)
    },
    Metric {
        feature: Feature::Review,
        ..plain("wrong_quarantines", Read::Count(|m| m.wrong_quarantines as u64), "wrong quarantines", LOWER)
    },
    Metric {
        feature: Feature::Review,
        ..plain("rolled_back_clean", Read::Count(|m| m.rolled_back_clean), "clean records rolled back", LOWER)
    },
    Metric {
        feature: Feature::Review,
        ..plain(
            "rolled_back_corrupted",
            Read::Count(|m| m.rolled_back_corrupted),
            "corrupted records rolled back",
            None,
        )
    },
    plain(
        "corrupted_records_left",
        Read::Count(|m| m.corrupted_records_left),
        "corrupted records left at the horizon",
        LOWER,
    ),
    Metric {
        heading: "out-of-scope succeeded",
        feature: Feature::OutOfScope,
        headline: headline_at(6, false, true, false),
        ..plain(
            "out_of_scope_succeeded",
            Read::Count(|m| m.out_of_scope_succeeded),
            "out-of-scope actions that succeeded",
            LOWER,
        )
    },
    Metric {
        feature: Feature::OutOfScope,
        ..plain("out_of_scope_blocked", Read::Count(|m| m.out_of_scope_blocked), "out-of-scope actions blocked", None)
    },
    Metric {
        feature: Feature::OutOfScope,
        ..plain(
            "out_of_scope_blocked_writes",
            Read::Count(|m| m.out_of_scope_blocked_writes),
            "out-of-scope writes blocked",
            None,
        )
    },
    Metric {
        feature: Feature::OutOfScope,
        ..plain(
            "out_of_scope_blocked_injected",
            Read::Count(|m| m.out_of_scope_blocked_injected),
            "injected out-of-scope actions blocked",
            None,
        )
    },
    Metric {
        feature: Feature::AccessChecks,
        headline: headline_at(8, false, false, false),
        ..plain("unattributable_actions", Read::Count(|m| m.unattributable_actions), "unattributable actions", LOWER)
    },
    Metric {
        feature: Feature::AccessChecks,
        headline: headline_at(7, false, true, false),
        cost: Some(1),
        ..plain("clean_actions_blocked", Read::Count(|m| m.clean_actions_blocked), "clean actions blocked", LOWER)
    },
    plain("messages", Read::Count(|m| m.messages), "messages", None),
    plain("actions", Read::Count(|m| m.actions), "actions", None),
    Metric { summarised: false, ..plain("records", Read::Count(|m| m.records), "records written", None) },
    Metric { summarised: false, ..plain("events", Read::Count(|m| m.events), "events", None) },
    Metric {
        column: "mean_sojourn_s",
        heading: "mean sojourn (s)",
        ..plain("mean_sojourn", Read::MeanTime(RunMetrics::mean_sojourn), "mean time in system (s)", LOWER)
    },
    Metric { feature: Feature::Routing, ..plain("tasks", Read::Count(|m| m.tasks), "tasks started", None) },
    Metric {
        feature: Feature::Routing,
        ..plain("tasks_delivered", Read::Count(|m| m.tasks_delivered), "tasks delivered", HIGHER)
    },
    Metric { feature: Feature::Routing, ..plain("tasks_lost", Read::Count(|m| m.tasks_lost), "tasks lost", LOWER) },
    Metric {
        feature: Feature::Routing,
        ..plain("misrouted", Read::Count(|m| m.misrouted), "corrupted outputs misrouted", LOWER)
    },
    Metric { feature: Feature::Joins, ..plain("joins", Read::Count(|m| m.joins), "joins made", None) },
    Metric {
        feature: Feature::Joins,
        ..plain("joins_timed_out", Read::Count(|m| m.joins_timed_out), "joins timed out", LOWER)
    },
    Metric {
        feature: Feature::Joins,
        ..plain("join_late", Read::Count(|m| m.join_late), "inputs late for their join", LOWER)
    },
    Metric {
        feature: Feature::Checks,
        ..plain("checks_failed", Read::Count(|m| m.checks_failed), "check failures", None)
    },
    Metric {
        feature: Feature::Checks,
        cost: Some(3),
        ..plain("checks_failed_clean", Read::Count(|m| m.checks_failed_clean), "check failures of clean output", LOWER)
    },
    Metric { feature: Feature::Checks, ..plain("retries", Read::Count(|m| m.retries), "retries", LOWER) },
    Metric { feature: Feature::Checks, ..plain("escalations", Read::Count(|m| m.escalations), "escalations", LOWER) },
    Metric {
        column: "mean_time_to_deliver_s",
        heading: "mean time to deliver (s)",
        feature: Feature::Checks,
        ..plain(
            "mean_time_to_deliver",
            Read::MeanTime(RunMetrics::mean_time_to_deliver),
            "mean time from emission to delivery (s)",
            LOWER,
        )
    },
    Metric {
        feature: Feature::Reviewers,
        ..plain("reviewer_served", Read::Count(|m| m.reviewer_served), "inputs reviewers took up", None)
    },
    Metric {
        column: "mean_review_wait_s",
        heading: "mean review wait (s)",
        feature: Feature::Reviewers,
        ..plain("mean_review_wait", Read::MeanTime(RunMetrics::mean_review_wait), "mean wait for a reviewer (s)", LOWER)
    },
    Metric {
        column: "review_wait_p99_s",
        heading: "review wait p99 (s)",
        feature: Feature::Reviewers,
        ..plain("review_wait_p99", Read::Time(|m| m.review_wait_p99), "99th percentile of review waits (s)", LOWER)
    },
    Metric {
        column: "reviewer_busy_s",
        feature: Feature::Reviewers,
        ..plain("reviewer_busy", Read::Time(|m| Some(m.reviewer_busy)), "reviewer time busy (s)", None)
    },
    Metric {
        column: "reviewer_capacity_s",
        feature: Feature::Reviewers,
        ..plain("reviewer_capacity", Read::Time(|m| Some(m.reviewer_capacity)), "reviewer time offered (s)", None)
    },
    Metric {
        feature: Feature::Compromise,
        ..plain(
            "agents_compromised",
            Read::Count(|m| m.agents_compromised.into()),
            "agents compromised (not origins)",
            LOWER,
        )
    },
    Metric {
        feature: Feature::Compromise,
        ..plain(
            "origins_compromised",
            Read::Count(|m| m.origins_compromised.into()),
            "fault origins compromised",
            LOWER,
        )
    },
    Metric {
        feature: Feature::Sanitising,
        ..plain("sanitised", Read::Count(|m| m.sanitised), "messages sanitised", None)
    },
    Metric {
        feature: Feature::Sanitising,
        ..plain("sanitised_clean", Read::Count(|m| m.sanitised_clean), "clean messages sanitised", LOWER)
    },
    Metric {
        feature: Feature::Injection,
        ..plain(
            "injections_relayed",
            Read::Count(|m| m.injections_relayed),
            "injections relayed by agents not compromised",
            LOWER,
        )
    },
    Metric {
        feature: Feature::Injection,
        ..plain("memory_compromises", Read::Count(|m| m.memory_compromises), "compromises through memory", LOWER)
    },
    Metric {
        column: "",
        feature: Feature::ChannelChecks,
        summarised: false,
        ..plain(
            "rejected_clean_share",
            Read::Share { of: "rejected_clean", per: "messages" },
            "share of messages rejected while clean",
            LOWER,
        )
    },
    Metric {
        column: "",
        feature: Feature::Routing,
        summarised: false,
        ..plain("tasks_lost_share", Read::Share { of: "tasks_lost", per: "tasks" }, "share of tasks lost", LOWER)
    },
    Metric {
        column: "",
        feature: Feature::Reviewers,
        summarised: false,
        ..plain(
            "reviewer_utilisation",
            Read::Share { of: "reviewer_busy", per: "reviewer_capacity" },
            "reviewer utilisation",
            None,
        )
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_columns_are_unique_and_views_well_formed() {
        let mut names: Vec<&str> = CATALOGUE.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len(), "metric names are unique");
        let mut unique: Vec<&str> = columns().map(|m| m.column).collect();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), columns().count(), "columns are unique");
        let ranks: Vec<u8> = headline().iter().map(|(_, h)| h.rank).collect();
        assert_eq!(ranks, (0..ranks.len() as u8).collect::<Vec<_>>(), "headline ranks are 0, 1, 2, ...");
        let costs: Vec<Option<u8>> = costs().iter().map(|m| m.cost).collect();
        assert_eq!(costs, (0..costs.len() as u8).map(Some).collect::<Vec<_>>(), "cost ranks are 0, 1, 2, ...");
        assert_eq!(CATALOGUE.iter().filter(|m| m.harm).count(), 1, "one harm");
        assert_eq!((harm().name, harm().better), ("agents_reached", Some(Better::Lower)));
        for m in &CATALOGUE {
            assert!(!m.checked || m.better.is_some(), "{}: a checked metric needs a direction", m.name);
            assert!(!m.checked || m.summarised, "{}: only summarised metrics are in baselines", m.name);
            assert!(m.cost.is_none() || m.better == Some(Better::Lower), "{}: a cost is lower-better", m.name);
            assert_eq!(m.column.is_empty(), matches!(m.read, Read::Share { .. }), "{}: a column iff per-run", m.name);
            assert_eq!(m.unit() == Unit::Micros, m.column.ends_with("_s"), "{}: times' columns end in _s", m.name);
            if let Read::Share { of, per } = m.read {
                let unit = |n| metric(n).filter(|m| m.summarised).map(|m| m.unit());
                let (of, per) = (unit(of), unit(per));
                assert!(
                    of == per && matches!(of, Some(Unit::Count | Unit::Micros)),
                    "{}: a share of two summarised counts or times",
                    m.name
                );
            }
        }
    }

    #[test]
    fn values_follow_their_read() {
        let run = RunMetrics {
            agents_reached: 3,
            t_contain: Some(7),
            contained: true,
            processed: 2,
            sojourn_total: 3,
            ..Default::default()
        };
        let value = |name| metric(name).unwrap().value(&run);
        assert_eq!(value("agents_reached"), Some(3));
        assert_eq!((value("t_contain"), value("t_detect")), (Some(7), None));
        assert_eq!(value("containment_rate"), Some(1));
        assert_eq!(value("mean_sojourn"), Some(2), "1.5 µs rounds half up");
        assert_eq!(value("rejected_clean_share"), None);
        assert_eq!(metric("t_contain").unwrap().unit().scale(), 1e-6);
        assert_eq!(Unit::Fraction.bounds(), (0.0, 1.0));
        assert!(metric("blast").is_none());
        let order: Vec<&str> = summarised().map(|m| m.name).collect();
        assert_eq!(order.last(), Some(&"containment_rate"), "proportions after the distributions");
        assert!(!order.contains(&"events") && !order.contains(&"rejected_clean_share"));
    }

    #[test]
    fn the_views_show_what_they_did_before_the_catalogue() {
        // The lists each view kept by hand before it derived from the catalogue.
        let names = |ms: Vec<&Metric>| ms.iter().map(|m| m.name).collect::<Vec<_>>();
        let charted: Vec<(&str, &str)> = headline().iter().map(|(m, _)| (m.name, m.label)).collect();
        assert_eq!(
            charted,
            [
                ("agents_reached", "agents reached (blast radius)"),
                ("containment_rate", "containment rate"),
                ("t_contain", "time to containment (s), contained runs only"),
                ("corrupted_actions", "corrupted actions"),
                ("rejected_clean", "clean messages rejected"),
                ("false_trips", "false breaker trips"),
                ("out_of_scope_succeeded", "out-of-scope actions that succeeded"),
                ("clean_actions_blocked", "clean actions blocked"),
                ("unattributable_actions", "unattributable actions"),
            ]
        );
        let always: Vec<&str> = headline().iter().filter(|(_, h)| h.always).map(|(m, _)| m.name).collect();
        assert_eq!(always, ["agents_reached", "containment_rate"]);
        let report: Vec<&str> = headline().iter().filter(|(_, h)| h.report).map(|(m, _)| m.heading).collect();
        assert_eq!(
            report,
            [
                "agents reached",
                "containment rate",
                "t_contain (s)",
                "corrupted actions",
                "clean rejected",
                "false trips",
                "out-of-scope succeeded",
                "clean actions blocked"
            ]
        );
        let table: Vec<&str> = headline().iter().filter(|(_, h)| h.sweep_table).map(|(m, _)| m.name).collect();
        assert_eq!(table, ["agents_reached", "containment_rate", "t_contain", "rejected_clean"]);
        assert_eq!(names(costs()), ["rejected_clean", "clean_actions_blocked", "capped_clean", "checks_failed_clean"]);
        let labels: Vec<&str> = costs().iter().map(|m| m.label).collect();
        assert_eq!(
            labels,
            [
                "clean messages rejected",
                "clean actions blocked",
                "clean messages capped",
                "check failures of clean output"
            ]
        );
        assert!(metric("agents_reached") != metric("agents_corrupted") && metric("events") == metric("events"));
        assert!(!summarised().any(|m| m.name == "records"));
    }

    #[test]
    fn the_run_table_shows_each_metric_where_its_feature_is_on() {
        let shown = |name: &str| -> Vec<&'static str> {
            let text = crate::bundled::find(name).unwrap().text;
            let model = crate::scenario::parse(name, text).unwrap();
            summarised().filter(|m| m.feature.used_by(&model)).map(|m| m.name).collect()
        };
        let always = [
            "agents_reached",
            "agents_corrupted",
            "corrupted_messages",
            "corrupted_actions",
            "corrupted_records",
            "t_contain",
            "corrupted_records_left",
            "messages",
            "actions",
            "mean_sojourn",
            "containment_rate",
        ];
        assert_eq!(shown("procurement"), always, "no mitigations: the always-shown metrics");
        let guarded = shown("procurement-mitigated");
        for name in ["t_detect", "rejected_clean", "rejected_corrupted", "breaker_trips", "false_trips"] {
            assert!(guarded.contains(&name), "{name} with validation and breakers");
        }
        for name in ["capped_clean", "capped_corrupted", "held_time"] {
            assert!(guarded.contains(&name), "{name} with caps");
        }
        for name in ["t_attribute", "reviews", "agents_quarantined", "wrong_quarantines", "rolled_back_clean"] {
            assert!(guarded.contains(&name), "{name} with review");
        }
        assert!(!guarded.contains(&"out_of_scope_succeeded") && !guarded.contains(&"unattributable_actions"));
        let gateway = shown("gateway");
        for name in [
            "t_detect",
            "out_of_scope_succeeded",
            "out_of_scope_blocked",
            "out_of_scope_blocked_writes",
            "out_of_scope_blocked_injected",
            "unattributable_actions",
            "clean_actions_blocked",
        ] {
            assert!(gateway.contains(&name), "{name} behind a gateway with out-of-scope faults");
        }
        assert!(!gateway.contains(&"rejected_clean"), "no channel checks there");
    }

    #[test]
    fn features_follow_the_scenario() {
        let plain = crate::scenario::parse(
            "t.toml",
            "name = \"t\"\nhorizon = \"1m\"\nquiet_window = \"1s\"\n[[agents]]\nid = \"A\"\n",
        )
        .unwrap();
        assert!(Feature::Always.used_by(&plain));
        for feature in [
            Feature::Detection,
            Feature::ChannelChecks,
            Feature::Breaker,
            Feature::Caps,
            Feature::Review,
            Feature::OutOfScope,
            Feature::AccessChecks,
        ] {
            assert!(!feature.used_by(&plain), "{feature:?}");
        }
        let guarded = crate::bundled::find("procurement-mitigated").unwrap();
        let guarded = crate::scenario::parse("g.toml", guarded.text).unwrap();
        for feature in [Feature::Detection, Feature::ChannelChecks, Feature::Breaker, Feature::Caps, Feature::Review] {
            assert!(feature.used_by(&guarded), "{feature:?}");
        }
    }
}
