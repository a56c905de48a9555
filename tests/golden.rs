//! Golden results: digests of the procurement scenario's outputs, with and
//! without mitigations, of the coding-agent pipeline and of the
//! 100,000-agent cascade, for a fixed seed.
//! Any change to the model's behaviour changes a digest; when that change
//! is intended, bump `MODEL_VERSION`, record it in CHANGELOG.md
//! and update `tests/golden/*.sha256` with the digest this test prints.

mod common;

use cascade::results::csv::{runs_csv, summary_csv};
use cascade::results::{scenario_hash, MODEL_VERSION};
use cascade::summary::summarize;

fn check(name: &str, seed: u64, runs: u64) {
    let model = common::bundled(name);
    let results = common::runs(&model, seed, runs, 0);
    let mut bytes = runs_csv(&results);
    bytes.extend(summary_csv(&summarize(&results)));
    let digest = scenario_hash(&bytes);
    let path = common::root().join(format!("tests/golden/{name}.sha256"));
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let expected = format!("model_version={MODEL_VERSION} seed={seed} runs={runs} sha256={digest}");
    assert_eq!(
        committed.trim(),
        expected,
        "{name}: results changed. If intended, bump MODEL_VERSION, note it in CHANGELOG.md and write this line to {}",
        path.display()
    );
}

#[test]
fn procurement_results_are_pinned() {
    check("procurement", 42, 200);
}

#[test]
fn mitigated_results_are_pinned() {
    // Validation and breakers on every channel: pins the mitigations' output.
    check("procurement-guarded", 42, 200);
}

#[test]
fn pipeline_results_are_pinned() {
    // Checks with retries and escalation, pools of servers, reviewer waits.
    check("coding-agents", 42, 50);
}

#[test]
fn mesh_ic_results_are_pinned() {
    check("mesh-ic-100k", 42, 8);
}

/// `runs.csv` without the columns added since version 3 without changing
/// any value (the routing, join, check, reviewer and attack columns,
/// appended at the end).
fn version_3_columns(csv: &[u8]) -> Vec<u8> {
    const ADDED: usize = 23;
    let text = std::str::from_utf8(csv).expect("utf-8");
    let header: Vec<&str> = text.lines().next().expect("a header").split(',').collect();
    assert_eq!(
        header[header.len() - ADDED..],
        [
            "tasks",
            "tasks_delivered",
            "tasks_lost",
            "misrouted",
            "joins",
            "joins_timed_out",
            "join_late",
            "checks_failed",
            "checks_failed_clean",
            "retries",
            "escalations",
            "mean_time_to_deliver_s",
            "reviewer_served",
            "mean_review_wait_s",
            "review_wait_p99_s",
            "reviewer_busy_s",
            "reviewer_capacity_s",
            "agents_compromised",
            "origins_compromised",
            "sanitised",
            "sanitised_clean",
            "injections_relayed",
            "memory_compromises"
        ]
    );
    let mut kept = String::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        kept.push_str(&fields[..fields.len() - ADDED].join(","));
        kept.push('\n');
    }
    kept.into_bytes()
}

/// With `materiality = 0` nothing fades, which is the model before
/// materiality (version 3): the same runs, to the bit.
#[test]
fn materiality_zero_is_the_model_without_it() {
    let version_3 = [
        ("procurement", 200, "72694f77c9af8b0764e371d9ba1f417fb3996da0667cb36c441c0a63e8623aa7"),
        ("procurement-guarded", 200, "e222167050fe63889c213c9705d3b1df147daab6fc1e6d89875ad9c1511140db"),
        ("mesh-ic-100k", 8, "873137d6db8164096bf92668f98f6fdd598bde8c6f49dcffe8d3745cafa28030"),
    ];
    for (name, runs, digest) in version_3 {
        let text = cascade::bundled::find(name).expect("bundled").text;
        let model = common::model(&format!("materiality = 0.0\n{text}"));
        let csv = runs_csv(&common::runs(&model, 42, runs, 0));
        assert_eq!(scenario_hash(&version_3_columns(&csv)), digest, "{name}");
        let faded = common::runs(&common::bundled(name), 42, runs, 0);
        if name == "procurement" {
            assert_ne!(
                scenario_hash(&version_3_columns(&runs_csv(&faded))),
                digest,
                "the default materiality fades procurement's loop"
            );
        }
    }
}
