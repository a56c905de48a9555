//! Checks against closed forms from queueing theory and branching processes.

mod common;

use cascade::summary::{distribution, summarize};

/// A pure independent cascade: one poisoned input at n0 on a generated
/// graph whose channels pass corruption with probability `p`; only
/// corrupted traffic is simulated.
fn cascade_from_n0(generator: &str, latency: &str, p: f64, redraw: bool) -> cascade::model::Model {
    common::model(&format!(
        r#"
name = "cascade"
horizon = "1h"
quiet_window = "1m"
[workload]
clean_relay = false
[topology]
generator = {generator}
redraw = {redraw}
[topology.channel]
latency = {latency}
propagation = {p}
[[sources]]
id = "seed"
target = "n0"
arrival = {{ process = "periodic", period = "1s" }}
count = 1
[[faults]]
kind = "poisoned_feed"
agent = "n0"
start = "0s"
shift = 1.0
"#
    ))
}

fn metric<'a>(summary: &'a cascade::summary::Summary, name: &str) -> &'a cascade::summary::Distribution {
    summary.distribution(name).unwrap()
}

/// One agent fed by a Poisson source (rate 0.5/s) with exponential service
/// (mean 1 s) is an M/M/1 queue: mean time in system 1 / (mu - lambda) = 2 s.
#[test]
fn mm1_mean_time_in_system() {
    let model = common::model(
        r#"
name = "mm1"
horizon = "20000s"
quiet_window = "1s"
[[agents]]
id = "server"
service = { dist = "exponential", mean = "1s" }
[[sources]]
id = "arrivals"
target = "server"
arrival = { process = "poisson", per_second = 0.5 }
"#,
    );
    let runs = common::runs(&model, 2024, 40, 0);
    let per_run_means: Vec<u64> = runs.iter().map(|m| m.mean_sojourn().unwrap() as u64).collect();
    let d = distribution(&per_run_means).unwrap();
    let expected = 2_000_000.0;
    assert!(
        d.ci_low <= expected && expected <= d.ci_high,
        "M/M/1 W: {:.0}us, CI [{:.0}, {:.0}]",
        d.mean,
        d.ci_low,
        d.ci_high
    );
    // The interval is narrow enough to mean something (about +-1.5%).
    assert!(d.ci_high - d.ci_low < 0.03 * expected, "CI too wide: {d:?}");
}

/// An independent cascade down a k-ary tree from a corrupted root, each
/// edge passing corruption with probability p: the expected number of
/// corrupted agents is sum_{i=0..d} (kp)^i and the expected number reached
/// (children of corrupted agents above the leaves) is k * sum_{i=0..d-1} (kp)^i.
#[test]
fn independent_cascade_on_a_kary_tree() {
    let (k, depth, p) = (3.0f64, 5, 0.4f64);
    let generator = format!("{{ kind = \"kary_tree\", k = 3, depth = {depth} }}");
    let model = cascade_from_n0(&generator, "{ dist = \"exponential\", mean = \"1s\" }", p, false);
    let summary = summarize(&common::runs(&model, 77, 20_000, 0));
    let branching = k * p;
    let corrupted: f64 = (0..=depth).map(|i| branching.powi(i)).sum();
    let reached: f64 = k * (0..depth).map(|i| branching.powi(i)).sum::<f64>();
    for (name, expected) in [("agents_corrupted", corrupted), ("agents_reached", reached)] {
        let d = metric(&summary, name);
        assert!(
            d.ci_low <= expected && expected <= d.ci_high,
            "{name}: mean {} CI [{}, {}] vs {expected}",
            d.mean,
            d.ci_low,
            d.ci_high
        );
    }
    // Never more than the whole tree.
    assert!(metric(&summary, "agents_corrupted").max <= (3u64.pow(depth as u32 + 1) - 1) / 2);
}

/// Subcritical cascade on an Erdős–Rényi graph: with mean degree c and
/// edge probability p, c*p < 1 and the expected cascade size is close to
/// 1 / (1 - c*p) (branching-process approximation, exact as n grows).
#[test]
fn subcritical_cascade_on_erdos_renyi_matches_branching_bound() {
    let model = cascade_from_n0("{ kind = \"erdos_renyi\", n = 20000, mean_degree = 4.0 }", "\"10ms\"", 0.125, true);
    let summary = summarize(&common::runs(&model, 5, 4000, 0));
    let d = metric(&summary, "agents_corrupted");
    let expected = 1.0 / (1.0 - 4.0 * 0.125);
    assert!(
        d.ci_low <= expected && expected <= d.ci_high,
        "mean {} CI [{}, {}] vs {expected}",
        d.mean,
        d.ci_low,
        d.ci_high
    );
}

/// A seed-mode breaker behind a Bernoulli detector (true-positive rate q, no
/// false positives) on a channel that carries only corrupted messages trips
/// at the k-th detection. The corrupted messages it accepts first are the
/// failures before the k-th success of a Bernoulli(q) sequence: negative
/// binomial, mean k(1-q)/q, P(none accepted) = q^k.
#[test]
fn corrupted_messages_accepted_before_a_seed_breaker_trips_are_negative_binomial() {
    let (k, q) = (3u32, 0.3f64);
    let model = common::model(&format!(
        r#"
name = "negbin"
horizon = "10m"
quiet_window = "1s"
[[agents]]
id = "A"
[[agents]]
id = "B"
action = true
[[channels]]
from = "A"
to = "B"
[[sources]]
id = "feed"
target = "A"
arrival = {{ process = "periodic", period = "1s" }}
count = 200
[[faults]]
kind = "compromised_agent"
agent = "A"
start = "0s"
shift = 1.0
[mitigations.validation]
detector = "bernoulli"
true_positive = {q}
[mitigations.breaker]
failure_threshold = {k}
anomaly_threshold = 1.0
reset_timeout = "1h"
"#
    ));
    let runs = common::runs(&model, 99, 20_000, 0);
    let accepted: Vec<u64> = runs.iter().map(|r| r.corrupted_actions).collect();
    assert!(runs.iter().all(|r| r.breaker_trips == 1 && r.false_trips == 0));
    let d = distribution(&accepted).unwrap();
    let mean = k as f64 * (1.0 - q) / q;
    assert!(d.ci_low <= mean && mean <= d.ci_high, "mean {} CI [{}, {}] vs {mean}", d.mean, d.ci_low, d.ci_high);
    let none = accepted.iter().filter(|&&a| a == 0).count() as u64;
    let p = cascade::summary::proportion(none, accepted.len() as u64);
    let expected = q.powi(k as i32);
    assert!(p.low <= expected && expected <= p.high, "P(0) = {} [{}, {}] vs {expected}", p.rate, p.low, p.high);
}

/// Supercritical cascade on a directed Erdős–Rényi graph (mean degree c,
/// edge probability p, cp = 1.2): a cascade goes global with probability
/// rho, where rho = 1 - exp(-cp * rho), and then corrupts a fraction rho of
/// the agents; otherwise it stays small (mean size 1 / (1 - cp(1 - rho))).
/// So the mean number corrupted is about rho^2 n + (1 - rho) / (1 - cp(1 - rho)).
#[test]
fn supercritical_cascade_on_erdos_renyi_matches_percolation_theory() {
    let n = 20_000.0;
    let model = cascade_from_n0(
        "{ kind = \"erdos_renyi\", n = 20000, mean_degree = 4.0 }",
        "{ dist = \"exponential\", mean = \"10ms\" }",
        0.3,
        true,
    );
    let runs = common::runs(&model, 8, 600, 0);
    let cp: f64 = 1.2;
    let mut rho = 0.5;
    for _ in 0..200 {
        rho = 1.0 - (-cp * rho).exp();
    }
    let expected = rho * rho * n + (1.0 - rho) / (1.0 - cp * (1.0 - rho));
    let corrupted: Vec<u64> = runs.iter().map(|r| r.agents_corrupted as u64).collect();
    let d = distribution(&corrupted).unwrap();
    assert!(
        d.ci_low <= expected && expected <= d.ci_high,
        "mean {} CI [{}, {}] vs {expected}",
        d.mean,
        d.ci_low,
        d.ci_high
    );
    // The global share: runs corrupting more than 10% of the graph.
    let global = corrupted.iter().filter(|&&c| c as f64 > 0.1 * n).count() as u64;
    let p = cascade::summary::proportion(global, corrupted.len() as u64);
    assert!(p.low <= rho && rho <= p.high, "P(global) {} [{}, {}] vs {rho}", p.rate, p.low, p.high);
}
