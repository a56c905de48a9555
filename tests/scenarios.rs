//! What each bundled scenario with mitigations claims in its doc
//! (docs/bundled-scenarios.md), checked as paired comparisons on the same
//! random streams: the effect's confidence interval must exclude zero.

mod common;

use cascade::metrics::RunMetrics;
use cascade::model::Model;
use cascade::paired::{compare, PairedMetric};

const SEED: u64 = 42;

fn paired(name: &str, off: &[&str], runs: u64) -> (Vec<RunMetrics>, Vec<RunMetrics>, Vec<PairedMetric>) {
    let model = common::bundled(name);
    let names: Vec<String> = off.iter().map(|s| s.to_string()).collect();
    let plain = Model { mitigations: model.mitigations.without(&names).unwrap(), ..model.clone() };
    let with = common::runs(&model, SEED, runs, 0);
    let without = common::runs(&plain, SEED, runs, 0);
    let rows = compare(&with, &without);
    (with, without, rows)
}

fn row<'a>(rows: &'a [PairedMetric], metric: &str) -> &'a PairedMetric {
    rows.iter().find(|r| r.metric.name == metric).unwrap_or_else(|| panic!("no {metric}"))
}

fn mean(runs: &[RunMetrics], f: impl Fn(&RunMetrics) -> u64) -> f64 {
    runs.iter().map(|r| f(r) as f64).sum::<f64>() / runs.len() as f64
}

#[test]
fn progressive_breach_validation_breakers_and_review_shrink_the_breach() {
    let (with, _, rows) = paired("progressive-breach", &["all"], 200);
    let reached = row(&rows, "agents_reached");
    assert!(reached.ci_high < 0.0, "blast radius falls: {reached:?}");
    let actions = row(&rows, "corrupted_actions");
    assert!(actions.ci_high < 0.0, "fewer corrupted actions: {actions:?}");
    let t_contain = row(&rows, "t_contain");
    assert!(t_contain.ci_high < -600e6, "contained at least ten minutes sooner: {t_contain:?}");
    // Review with provenance always finds the planner; rollback costs clean records.
    assert!(with.iter().all(|r| r.wrong_quarantines == 0));
    assert!(mean(&with, |r| r.rolled_back_clean) > 10.0);
}

#[test]
fn privilege_escalation_task_scoped_tokens_stop_every_ci_write() {
    let (with, without, rows) = paired("privilege-escalation", &["credentials"], 200);
    assert!(with.iter().all(|r| r.out_of_scope_succeeded == 0 && r.unattributable_actions == 0));
    assert!(with.iter().all(|r| r.out_of_scope_blocked_injected == r.out_of_scope_blocked));
    assert!(with.iter().filter(|r| r.out_of_scope_blocked > 0).count() > 150, "most runs see the injection");
    assert!(without.iter().filter(|r| r.out_of_scope_succeeded > 0).count() > 150);
    let reached = row(&rows, "agents_reached");
    assert!(reached.ci_high < -1.0, "CI and deploy are never reached: {reached:?}");
    let contained = row(&rows, "containment_rate");
    assert!(contained.ci_low > 0.5, "{contained:?}");
    assert_eq!(row(&rows, "clean_actions_blocked").mean_with, 0.0, "10-minute tokens outlast every task");
}

#[test]
fn gateway_with_task_tokens_blocks_exploration_and_names_every_actor() {
    let (with, without, rows) = paired("gateway", &["credentials", "gateway"], 200);
    assert!(without.iter().all(|r| r.out_of_scope_blocked == 0), "the shared account grants everything");
    assert!(without.iter().all(|r| r.unattributable_actions == r.actions));
    assert!(with.iter().all(|r| r.unattributable_actions == 0));
    let succeeded = row(&rows, "out_of_scope_succeeded");
    assert!(succeeded.ci_high < 0.0 && succeeded.mean_with < 0.2 * succeeded.mean_without, "{succeeded:?}");
    let blocked = mean(&with, |r| r.out_of_scope_blocked);
    let writes = mean(&with, |r| r.out_of_scope_blocked_writes);
    let injected = mean(&with, |r| r.out_of_scope_blocked_injected);
    assert!(writes > 0.0 && writes < blocked, "reads and writes are both blocked");
    assert!(injected > 0.0 && injected < blocked, "exploration and injections are both blocked");
    // Behind the gateway alone, the shared account's policy is the union of
    // its holders' scopes, so a researcher's repo.write still gets through;
    // task tokens narrow each agent to its own scope.
    let (_, gateway_only, _) = paired("gateway", &["credentials"], 200);
    assert!(mean(&gateway_only, |r| r.out_of_scope_succeeded) > mean(&with, |r| r.out_of_scope_succeeded));
}

/// Bundled scenario `name` with `edits` (old, new) applied to its text,
/// run on the same streams as written.
fn edited(name: &str, edits: &[(&str, &str)], runs: u64) -> Vec<RunMetrics> {
    let mut text = cascade::bundled::find(name).unwrap().text.to_string();
    for (old, new) in edits {
        assert!(text.contains(old), "{name} no longer has {old:?}");
        text = text.replacen(old, new, 1);
    }
    common::runs(&common::model(&text), SEED, runs, 0)
}

fn coding_agents(edits: &[(&str, &str)], runs: u64) -> Vec<RunMetrics> {
    edited("coding-agents", edits, runs)
}

#[test]
fn coding_agents_each_ring_catches_what_the_doc_says() {
    const RUNS: u64 = 100;
    let escaped = |runs: &[RunMetrics]| mean(runs, |r| r.corrupted_actions);
    let to_merge = |runs: &[RunMetrics]| mean(runs, |r| r.delivery_time_total) / mean(runs, |r| r.tasks_delivered);
    let written = coding_agents(&[], RUNS);
    let ci = "check = { detect = 0.7, false_fail = 0.03, retry = \"coder\", max_retries = 1,";
    let no_ci =
        coding_agents(&[(ci, "check = { detect = 0.0, false_fail = 0.0, retry = \"coder\", max_retries = 1,")], RUNS);
    let review = "check = { detect = 0.6, false_fail = 0.01,";
    let no_review = coding_agents(&[(review, "check = { detect = 0.0, false_fail = 0.0,")], RUNS);
    let five = coding_agents(&[(ci, &ci.replace("max_retries = 1", "max_retries = 5"))], RUNS);
    let half = coding_agents(&[("servers = 4", "servers = 2")], RUNS);
    // About 1,300 changes a week, a few percent of them defective on main.
    let merged = mean(&written, |r| r.actions);
    assert!((1200.0..1400.0).contains(&merged), "{merged}");
    assert!((20.0..60.0).contains(&escaped(&written)), "{}", escaped(&written));
    assert!(escaped(&no_ci) > 2.0 * escaped(&written), "CI is the widest ring");
    assert!(escaped(&no_review) > 1.5 * escaped(&written), "review catches what CI misses");
    // Five retries relieve on-call and catch nothing more.
    assert!(mean(&five, |r| r.escalations) < 0.3 * mean(&written, |r| r.escalations));
    assert!((escaped(&five) - escaped(&written)).abs() < 0.1 * escaped(&written));
    // Two reviewers are overloaded: the backlog grows for the whole week.
    assert!(to_merge(&half) > 10.0 * to_merge(&written));
    assert!(mean(&half, |r| r.actions) < 0.8 * merged);
    // Every failure is a retry, an escalation or a change abandoned at lint.
    assert!(written.iter().all(|r| r.retries + r.escalations + r.tasks_lost == r.checks_failed));
}

#[test]
fn support_desk_vote_outvotes_the_hallucinating_specialist_and_failover_keeps_the_tickets() {
    const RUNS: u64 = 100;
    let written = edited("support-desk", &[], RUNS);
    let mean_join = edited("support-desk", &[("combine = \"vote\"", "combine = \"mean\"")], RUNS);
    let no_failover = edited("support-desk", &[("failover = true", "failover = false")], RUNS);
    let wrong = |runs: &[RunMetrics]| mean(runs, |r| r.corrupted_actions);
    let lost = |runs: &[RunMetrics]| mean(runs, |r| r.tasks_lost) / mean(runs, |r| r.tasks);
    // A third of tech_b's shift gets through a mean: one technical answer in four is wrong.
    let joins = mean(&mean_join, |r| r.joins);
    assert!((wrong(&mean_join) - 0.25 * joins).abs() < 0.05 * joins, "{} of {joins}", wrong(&mean_join));
    assert!(wrong(&written) < 0.05 * wrong(&mean_join), "the vote outvotes it: {}", wrong(&written));
    // One fault origin quarantined (the billing agent) in nearly every run;
    // a clean agent hardly ever (1 run in 1,000 at seed 1).
    assert!(written.iter().filter(|r| r.agents_quarantined == 1 && r.wrong_quarantines == 0).count() >= 95);
    assert!(written.iter().filter(|r| r.wrong_quarantines > 0).count() <= 2);
    // Without failover its tickets are lost from then on; with it, almost none.
    assert!(lost(&written) < 0.005, "{}", lost(&written));
    assert!(lost(&no_failover) > 0.2, "{}", lost(&no_failover));
    for r in written.iter().chain(&no_failover) {
        assert!(r.tasks_delivered + r.tasks_lost <= r.tasks, "no task both delivered and lost");
    }
}
