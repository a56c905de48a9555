//! The committed reproduction results in `reports/reproduce/` (what
//! `notebooks/01-reproduce.ipynb` regenerates and compares) must be exactly
//! what this build computes from their manifests' (scenario, seed, runs).
//! When a model change is intended, bump `MODEL_VERSION` and regenerate them
//! with the command each manifest records (docs/reproducing.md).

mod common;

use cascade::results::csv::{runs_csv, summary_csv};
use cascade::results::{scenario_hash, Manifest, MODEL_VERSION};
use cascade::summary::summarize;
use std::fs;
use std::path::Path;

fn committed(dir: &Path) -> Manifest {
    let text = fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn assert_reproduced(dir: &Path) {
    let manifest = committed(dir);
    let name = &manifest.scenario_name;
    let scenario = cascade::bundled::find(name).expect("a bundled scenario");
    let refresh = format!(
        "regenerate with: cascade run {name} --seed {} --runs {} --out reports/reproduce/{name}",
        manifest.seed, manifest.runs
    );
    assert_eq!(manifest.model_version, MODEL_VERSION, "{name}: committed under another model version; {refresh}");
    assert_eq!(
        manifest.scenario_sha256,
        scenario_hash(scenario.text.as_bytes()),
        "{name}: scenario changed; {refresh}"
    );
    assert_eq!((manifest.point, manifest.first_run), (0, 0), "{name}: a whole run, not a slice");
    let results = common::runs(&common::bundled(name), manifest.seed, manifest.runs, 2);
    let runs = fs::read(dir.join("runs.csv")).expect("runs.csv");
    let summary = fs::read(dir.join("summary.csv")).expect("summary.csv");
    assert!(runs == runs_csv(&results), "{name}: runs.csv differs from this build's; {refresh}");
    assert!(summary == summary_csv(&summarize(&results)), "{name}: summary.csv differs; {refresh}");
}

#[test]
fn committed_reproduction_results_are_this_builds() {
    let root = common::root().join("reports/reproduce");
    let mut dirs: Vec<_> = fs::read_dir(&root).expect("reports/reproduce").map(|e| e.unwrap().path()).collect();
    dirs.retain(|d| d.is_dir());
    dirs.sort();
    let names: Vec<_> = dirs.iter().map(|d| d.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["procurement", "procurement-mitigated"], "the notebook reproduces exactly these");
    for dir in &dirs {
        assert_reproduced(dir);
    }
}
