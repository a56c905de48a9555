//! Helpers shared by the integration tests.
#![allow(dead_code)]

use cascade::metrics::RunMetrics;
use cascade::model::Model;
use cascade::runner::{self, Plan};
use std::path::PathBuf;
use std::process::{Command, Output};

/// A compiled scenario from TOML text.
pub fn model(text: &str) -> Model {
    cascade::scenario::parse("test.toml", text).unwrap_or_else(|e| panic!("{e}"))
}

/// A bundled scenario by name.
pub fn bundled(name: &str) -> Model {
    let scenario = cascade::bundled::find(name).expect("bundled scenario");
    cascade::scenario::parse(name, scenario.text).unwrap()
}

/// `count` runs of `model` from `seed` on `threads` threads.
pub fn runs(model: &Model, seed: u64, count: u64, threads: usize) -> Vec<RunMetrics> {
    runner::run_plan(model, Plan::new(seed, count), threads, &|_| {}).expect("within the event budget")
}

/// The `cascade` binary with `args`, run in `dir`.
pub fn cascade(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cascade")).args(args).current_dir(dir).output().expect("cascade runs")
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cascade-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
