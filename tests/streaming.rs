//! Constant memory in the number of runs (issue 16): `run` and `sweep`
//! stream their runs to disk in batches and summarise them from a spill in
//! two passes. What they write must be, byte for byte, what holding every
//! run in memory gave: the committed reproduction results, and the
//! library's in-memory summaries, for runs past several batches and any
//! thread count.

mod common;

use cascade::paired;
use cascade::results::csv::{paired_csv, runs_csv, summary_csv};
use cascade::summary::summarize;
use common::{cascade, root, scratch};
use std::fs;

fn ok(dir: &std::path::Path, args: &[&str]) {
    let out = cascade(dir, args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `cascade run` as the reproduction manifest records it writes the
/// committed files (computed before runs streamed).
#[test]
fn a_streamed_run_writes_the_committed_reproduction() {
    let dir = scratch("streaming-reproduce");
    ok(&dir, &["run", "procurement", "--seed", "1", "--runs", "1000", "--out", "out", "--quiet"]);
    let committed = root().join("reports/reproduce/procurement");
    for file in ["runs.csv", "summary.csv"] {
        assert!(fs::read(dir.join("out").join(file)).unwrap() == fs::read(committed.join(file)).unwrap(), "{file}");
    }
    let names: Vec<String> = fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.contains("spill"))
        .collect();
    assert!(names.is_empty(), "no spill left in the output: {names:?}");
}

/// Runs past several batches (1,024 per thread) on 1 and 3 threads, with a
/// paired comparison: every file the same, and the same as the library's
/// summaries of the runs held in memory.
#[test]
fn runs_past_many_batches_match_the_in_memory_summaries_on_any_thread_count() {
    let dir = scratch("streaming-batches");
    let text =
        cascade::bundled::find("procurement-guarded").unwrap().text.replace("horizon = \"4d\"", "horizon = \"2h\"");
    assert!(text.contains("horizon = \"2h\""), "the scenario's horizon is shortened");
    fs::write(dir.join("s.toml"), &text).unwrap();
    let runs = "3500";
    for threads in ["1", "3"] {
        let out = format!("t{threads}");
        ok(
            &dir,
            &["run", "s.toml", "--runs", runs, "--paired-off", "all", "--threads", threads, "--out", &out, "--quiet"],
        );
    }
    for file in ["runs.csv", "runs_without.csv", "summary.csv", "paired.csv", "prevalence.csv", "chart-prevalence.svg"]
    {
        let read = |t: &str| fs::read(dir.join(t).join(file)).unwrap();
        assert!(read("t1") == read("t3"), "{file} depends on the thread count");
    }
    let manifest: serde_json::Value = serde_json::from_slice(&fs::read(dir.join("t1/manifest.json")).unwrap()).unwrap();
    let files: Vec<&str> = manifest["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    let listed = [
        "runs.csv",
        "summary.csv",
        "prevalence.csv",
        "chart-prevalence.svg",
        "chart-prevalence.png",
        "runs_without.csv",
        "paired.csv",
    ];
    assert_eq!(files, listed, "listed in the order of before runs streamed");
    let model = common::model(&text);
    let with = common::runs(&model, 1, 3500, 2);
    let mut off = model.clone();
    off.mitigations = model.mitigations.without(&["all".to_string()]).unwrap();
    let without = common::runs(&off, 1, 3500, 2);
    let read = |file: &str| fs::read(dir.join("t3").join(file)).unwrap();
    assert!(read("runs.csv") == runs_csv(&with));
    assert!(read("runs_without.csv") == runs_csv(&without));
    assert!(read("summary.csv") == summary_csv(&summarize(&with)));
    assert!(read("paired.csv") == paired_csv(&paired::compare(&with, &without)));
}

/// A sweep and its shards merged (both streaming their runs) write the
/// same files, listed in the same order, past a batch per point.
#[test]
fn a_streamed_sweep_is_its_merged_shards() {
    let dir = scratch("streaming-sweep");
    let text =
        cascade::bundled::find("procurement-guarded").unwrap().text.replace("horizon = \"4d\"", "horizon = \"1h\"");
    fs::write(dir.join("s.toml"), &text).unwrap();
    let set = "mitigations.breaker.failure_threshold=1,3";
    let base = ["sweep", "s.toml", "--runs", "1100", "--set", set, "--quiet", "--threads", "2"];
    ok(&dir, &[&base[..], &["--out", "whole"]].concat());
    for i in 1..=3 {
        ok(&dir, &[&base[..], &["--shard", &format!("{i}/3"), "--out", &format!("s{i}")]].concat());
    }
    ok(&dir, &["merge", "s1", "s2", "s3", "--out", "merged", "--quiet"]);
    let whole: Vec<_> = fs::read_dir(dir.join("whole")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(whole.len() > 10, "charts and report written");
    for name in whole {
        let name = name.to_string_lossy();
        if name != "manifest.json" {
            let read = |d: &str| fs::read(dir.join(d).join(name.as_ref())).unwrap();
            assert!(read("whole") == read("merged"), "{name} differs between the sweep and its merged shards");
        }
    }
    let files = |d: &str| {
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join(d).join("manifest.json")).unwrap()).unwrap();
        (manifest["files"].clone(), manifest["runs"].clone())
    };
    assert_eq!(files("whole"), files("merged"));
}
