//! Credentials, the gateway and out-of-scope attempts in the engine.

use super::*;
use crate::time::SECOND;

/// A reviewer agent R comments on pull requests (one every 10 s, 1 s each);
/// a CI agent runs whatever its configuration (resource `ci.write`) says.
const REPO: &str = r#"
name = "repo"
horizon = "200s"
quiet_window = "10s"
[[resources]]
name = "repo.read"
access = "read"
[[resources]]
name = "pr.comment"
access = "write"
[[resources]]
name = "ci.write"
access = "write"
controls = "CI"
[[agents]]
id = "R"
service = "1s"
action = "pr.comment"
scope = ["repo.read", "pr.comment"]
credential = "svc"
sponsor = "alice"
[[agents]]
id = "CI"
[[sources]]
id = "prs"
target = "R"
arrival = { process = "periodic", period = "10s" }
signal = { mean = 1.0 }
"#;

fn repo(credential: &str, fault: &str, mitigations: &str) -> Model {
    model(&format!("{REPO}\n{credential}\n{fault}\n{mitigations}"))
}

const SHARED: &str = r#"[[credentials]]
name = "svc"
kind = "shared_account"
grants = ["repo.read", "pr.comment"]
gains = [{ at = "100s", grants = ["ci.write"] }]"#;

const STATIC: &str = r#"[[credentials]]
name = "svc"
kind = "static_key"
grants = ["repo.read", "pr.comment", "ci.write"]"#;

const EXPLORE: &str = r#"[[faults]]
name = "explore"
kind = "out_of_scope"
agents = ["R"]
resources = ["ci.write"]
mean_gap = "5s"
shift = 2.0"#;

fn attempts(trace: &[TraceRow]) -> impl Iterator<Item = &TraceRow> {
    trace.iter().filter(|r| {
        r.message == NONE && matches!(r.kind, TraceKind::Action | TraceKind::ActionDenied | TraceKind::ActionBlocked)
    })
}

#[test]
fn a_shared_account_lets_attempts_through_once_it_gains_the_grant() {
    let (metrics, trace, _) = run_traced(&repo(SHARED, EXPLORE, ""), 3);
    let (before, after): (Vec<&TraceRow>, Vec<&TraceRow>) = attempts(&trace).partition(|r| r.time < 100 * SECOND);
    assert!(before.len() > 5 && after.len() > 5, "{} / {} attempts", before.len(), after.len());
    assert!(before.iter().all(|r| r.kind == TraceKind::ActionDenied), "not granted before 100 s");
    assert!(after.iter().all(|r| r.kind == TraceKind::Action), "granted from 100 s");
    assert_eq!(metrics.out_of_scope_succeeded, after.len() as u64);
    assert_eq!(metrics.out_of_scope_blocked, before.len() as u64);
    assert_eq!(metrics.out_of_scope_blocked_writes, before.len() as u64, "ci.write is a write");
    assert_eq!(metrics.out_of_scope_blocked_injected, 0, "exploration is not an injection");
    // Every action under a shared account is unattributable, clean ones included.
    assert_eq!(metrics.unattributable_actions, metrics.actions);
    assert_eq!(metrics.actions, 20 + after.len() as u64);
    assert_eq!(metrics.corrupted_actions, after.len() as u64);
    assert_eq!(metrics.t_detect, None, "a resource's silent refusal is no detection");
    // The first successful CI change compromises CI, once.
    let compromised: Vec<&TraceRow> = trace.iter().filter(|r| r.kind == TraceKind::Compromise).collect();
    assert_eq!(compromised.len(), 1);
    assert_eq!((compromised[0].agent, compromised[0].time), (1, after[0].time));
    assert_eq!(metrics.agents_reached, 1, "CI took the change as trusted input");
}

#[test]
fn task_scoped_tokens_stop_out_of_scope_writes() {
    let jit = "[mitigations.credentials]\nttl = \"5s\"";
    let (metrics, trace, _) = run_traced(&repo(SHARED, EXPLORE, jit), 3);
    assert_eq!(metrics.out_of_scope_succeeded, 0);
    assert!(metrics.out_of_scope_blocked > 10);
    assert_eq!(count(&trace, TraceKind::Compromise), 0);
    assert_eq!((metrics.actions, metrics.clean_actions_blocked), (20, 0), "1 s tasks fit a 5 s token");
    assert_eq!(metrics.unattributable_actions, 0, "task tokens name the agent and its sponsor");
    // Same replication without the mitigation: the same attempts at the same times.
    let (_, without, _) = run_traced(&repo(SHARED, EXPLORE, ""), 3);
    let times = |t: &[TraceRow]| attempts(t).map(|r| r.time).collect::<Vec<_>>();
    assert_eq!(times(&trace), times(&without));
}

#[test]
fn a_token_shorter_than_the_task_blocks_clean_actions() {
    let jit = "[mitigations.credentials]\nttl = \"900ms\"";
    let (metrics, _, _) = run_traced(&repo(SHARED, "", jit), 3);
    assert_eq!((metrics.actions, metrics.clean_actions_blocked), (0, 20));
}

#[test]
fn in_scope_attempts_outside_a_task_succeed_only_while_the_last_token_lives() {
    let in_scope = EXPLORE.replace("[\"ci.write\"]", "[\"pr.comment\"]").replace("5s", "700ms");
    let jit = "[mitigations.credentials]\nttl = \"3s\"";
    let (metrics, trace, _) = run_traced(&repo(SHARED, &in_scope, jit), 5);
    let mut seen = [0; 2];
    for row in attempts(&trace) {
        // Tasks start every 10 s (the source feeds R directly, no queue).
        let live = row.time % (10 * SECOND) < 3 * SECOND;
        assert_eq!(row.kind == TraceKind::Action, live, "attempt at {} µs", row.time);
        seen[live as usize] += 1;
    }
    assert!(seen[0] > 20 && seen[1] > 20, "{seen:?}");
    assert_eq!(metrics.out_of_scope_succeeded, seen[1]);
    assert_eq!(metrics.out_of_scope_blocked_writes, seen[0]);
}

#[test]
fn the_gateway_alerts_and_review_quarantines_an_attributable_actor() {
    let gated = "[mitigations.gateway]\n[mitigations.review]\ndelay = \"30s\"";
    let (metrics, trace, _) = run_traced(&repo(STATIC, EXPLORE, gated), 3);
    let first = attempts(&trace).next().expect("an attempt").time;
    assert_eq!(metrics.t_detect, Some(first), "the first block is the first detection");
    assert_eq!(metrics.out_of_scope_succeeded, 0, "the static key grants ci.write; the gateway does not");
    assert_eq!((metrics.agents_quarantined, metrics.wrong_quarantines), (1, 0));
    assert_eq!(metrics.t_attribute, Some(first + 30 * SECOND));
    assert_eq!(metrics.unattributable_actions, 0, "one sponsored holder of a static key");
    // R is stopped: no attempt and no task action after the quarantine;
    // the tasks its source still sends it are lost, and counted.
    let after = || trace.iter().filter(|r| r.agent == 0 && r.time > first + 30 * SECOND);
    assert!(after().all(|r| matches!(r.kind, TraceKind::Quarantine | TraceKind::SourceEmit | TraceKind::Lost)));
    let lost = after().filter(|r| r.kind == TraceKind::Lost).count() as u64;
    assert!(lost > 0 && metrics.tasks_lost == lost, "{lost} lost rows, {} tasks lost", metrics.tasks_lost);
    assert_eq!(metrics.reviews, count(&trace, TraceKind::Alert) as u64);
}

#[test]
fn a_shared_account_leaves_the_reviewer_nobody_to_quarantine() {
    let gated = "[mitigations.gateway]\n[mitigations.review]\ndelay = \"30s\"";
    let (metrics, _, _) = run_traced(&repo(SHARED, EXPLORE, gated), 3);
    assert!(metrics.out_of_scope_blocked > 10 && metrics.reviews > 10);
    assert_eq!(metrics.out_of_scope_succeeded, 0, "the union of holders' scopes has no ci.write");
    assert_eq!((metrics.agents_quarantined, metrics.t_attribute), (0, None));
    let silent = "[mitigations.gateway]\nalert = false";
    let (metrics, _, _) = run_traced(&repo(SHARED, EXPLORE, silent), 3);
    assert_eq!((metrics.t_detect, metrics.out_of_scope_succeeded), (None, 0));
}

#[test]
fn injected_agents_attempt_only_once_compromised() {
    let injected = format!(
        "{}\nonly_compromised = true\n{}",
        EXPLORE,
        r#"[[faults]]
name = "pr_injection"
kind = "prompt_injection"
agent = "R"
start = "50s"
duration = "1s"
probability = 1.0"#
    );
    let (metrics, trace, _) = run_traced(&repo(SHARED, &injected, ""), 3);
    let times: Vec<Micros> = attempts(&trace).map(|r| r.time).collect();
    assert!(!times.is_empty() && times.iter().all(|&t| t > 50 * SECOND), "{times:?}");
    assert!(attempts(&trace).all(|r| r.root == 1), "rooted in the injection");
    assert_eq!(metrics.out_of_scope_blocked_injected, metrics.out_of_scope_blocked);
    assert!(metrics.out_of_scope_blocked > 0 && metrics.out_of_scope_succeeded > 0);
}

#[test]
fn without_credentials_nothing_is_checked_or_counted() {
    let unchecked = model(&format!("{}\n{EXPLORE}", REPO.replace("credential = \"svc\"", "")));
    let (metrics, trace, _) = run_traced(&unchecked, 3);
    assert_eq!(metrics.out_of_scope_blocked, 0);
    assert_eq!(metrics.out_of_scope_succeeded, attempts(&trace).count() as u64);
    assert_eq!((metrics.unattributable_actions, metrics.clean_actions_blocked), (0, 0));
}

#[test]
fn out_of_scope_attempts_arrive_at_the_rate_of_all_their_agents() {
    // Two agents, each attempting every 100 s on average: the first
    // attempt comes after 50 s on average, and about 2 per 100 s follow.
    let fault = EXPLORE.replace(r#"agents = ["R"]"#, r#"agents = ["R", "CI"]"#).replace("5s", "100s");
    let repo = REPO.replace("200s", "2000s").replace("id = \"CI\"", "id = \"CI\"\ncredential = \"svc\"");
    let model = model(&format!("{repo}\n{SHARED}\n{fault}"));
    let (mut first, mut total) = (0.0, 0usize);
    let seeds = 200;
    for seed in 0..seeds {
        let (_, trace, _) = run_traced(&model, seed);
        let times: Vec<Micros> = attempts(&trace).map(|r| r.time).collect();
        first += times[0] as f64 / SECOND as f64;
        total += times.len();
    }
    let (first, per_run) = (first / seeds as f64, total as f64 / seeds as f64);
    assert!((40.0..60.0).contains(&first), "first attempt after {first} s on average, expected 50");
    assert!((38.0..42.0).contains(&per_run), "{per_run} attempts per run, expected 40");
}

#[test]
fn clean_writes_to_a_controlling_resource_compromise_nobody() {
    // R's own task action is the CI write, in scope and clean.
    let text = REPO
        .replace(
            "action = \"pr.comment\"\nscope = [\"repo.read\", \"pr.comment\"]",
            "action = \"ci.write\"\nscope = [\"repo.read\", \"ci.write\"]",
        )
        .replace("id = \"CI\"", "id = \"CI\"\ncredential = \"svc\"");
    let model = model(&format!("{text}\n{STATIC}"));
    let ci_write = model.resources.iter().position(|r| r.name == "ci.write").unwrap() as u32;
    let (metrics, trace, _) = run_traced(&model, 1);
    let writes = trace.iter().filter(|r| r.kind == TraceKind::Action && r.detail == Detail::Resource(ci_write)).count();
    assert_eq!((metrics.actions, writes), (20, 20), "every task writes CI config");
    assert_eq!(count(&trace, TraceKind::Compromise), 0);
    assert_eq!((metrics.agents_corrupted, metrics.corrupted_actions), (0, 0));
}
