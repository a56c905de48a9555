//! Golden results: digests of the procurement scenario's outputs, with and
//! without mitigations, and of the 100,000-agent cascade, for a fixed seed.
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
fn mesh_ic_results_are_pinned() {
    check("mesh-ic-100k", 42, 8);
}
