//! `cascade check` end to end: a baseline passes on the results it was made
//! from and on another seed under the statistical rule (not under exact
//! equality), a deliberately worsened scenario fails with the metric named,
//! and every bad input is one line with exit code 2.

mod common;

use common::{cascade, root, scratch};
use std::fs;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn data(name: &str) -> String {
    root().join("tests/data").join(name).display().to_string()
}

fn check(dir: &std::path::Path, scenario: &str, baseline: &str, extra: &[&str]) -> std::process::Output {
    let scenario = data(scenario);
    let mut args = vec!["check", scenario.as_str(), "--baseline", baseline];
    args.extend_from_slice(extra);
    cascade(dir, &args)
}

#[test]
fn a_baseline_holds_on_its_own_results_and_on_another_seed_statistically() {
    let dir = scratch("check-holds");
    let made = check(&dir, "check-good.toml", "base.toml", &["--update", "--runs", "100"]);
    assert!(made.status.success(), "{}", stderr(&made));
    let text = fs::read_to_string(dir.join("base.toml")).unwrap();
    assert!(text.contains("runs = 100") && text.contains("[rules.agents_reached]"));
    let same = check(&dir, "check-good.toml", "base.toml", &["--junit", "junit.xml"]);
    assert!(same.status.success(), "{}{}", stdout(&same), stderr(&same));
    assert!(stdout(&same).contains("agents_reached") && stdout(&same).contains(" ok"));
    let junit = fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(junit.contains("<testsuite name=\"procurement-guarded\" tests=\"5\" failures=\"0\">"), "{junit}");
    let json = check(&dir, "check-good.toml", "base.toml", &["--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 5);
    assert!(rows.as_array().unwrap().iter().all(|r| r["verdict"] == "ok" && r["change"][0] == 0.0));

    // The results of an earlier run of the same scenario, read back from its
    // output directory, hold even under exact rules (the same numbers).
    let good = data("check-good.toml");
    let run = cascade(&dir, &["run", good.as_str(), "--runs", "100", "--quiet", "--out", "res"]);
    assert!(run.status.success());
    let exact = fs::read_to_string(dir.join("base.toml")).unwrap().replace("statistical = true", "statistical = false");
    fs::write(dir.join("exact-same.toml"), exact).unwrap();
    let read = check(&dir, "check-good.toml", "exact-same.toml", &["--results", "res"]);
    assert!(read.status.success(), "{}{}", stdout(&read), stderr(&read));
    let other = check(&dir, "check-worse.toml", "base.toml", &["--compare-changed", "--results", "res"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(stderr(&other).contains("scenario hash differs"), "{}", stderr(&other));

    // A baseline from seed 2 holds under the statistical rule...
    let other = check(&dir, "check-good.toml", "seed2.toml", &["--update", "--runs", "100", "--seed", "2"]);
    assert!(other.status.success());
    let reseeded = fs::read_to_string(dir.join("seed2.toml")).unwrap().replace("seed = 2", "seed = 1");
    fs::write(dir.join("seed2-as-1.toml"), &reseeded).unwrap();
    let statistical = check(&dir, "check-good.toml", "seed2-as-1.toml", &[]);
    assert!(statistical.status.success(), "{}", stdout(&statistical));
    // ...but not under exact equality.
    fs::write(dir.join("exact.toml"), reseeded.replace("statistical = true", "statistical = false")).unwrap();
    let exact = check(&dir, "check-good.toml", "exact.toml", &[]);
    assert_eq!(exact.status.code(), Some(1), "{}", stdout(&exact));
    assert!(stdout(&exact).contains("REGRESSED") && stderr(&exact).contains("regressed against the baseline"));
}

#[test]
fn a_worsened_scenario_fails_the_check_naming_the_metric() {
    let dir = scratch("check-worse");
    assert!(check(&dir, "check-good.toml", "base.toml", &["--update", "--runs", "100"]).status.success());
    let changed = check(&dir, "check-worse.toml", "base.toml", &[]);
    assert_eq!(changed.status.code(), Some(2));
    assert!(stderr(&changed).contains("changed since the baseline"), "{}", stderr(&changed));
    let worse = check(&dir, "check-worse.toml", "base.toml", &["--compare-changed", "--junit", "j.xml"]);
    assert_eq!(worse.status.code(), Some(1), "{}", stdout(&worse));
    let table = stdout(&worse);
    let line = table.lines().find(|l| l.contains("agents_reached")).unwrap();
    assert!(line.ends_with("REGRESSED"), "{line}");
    assert!(fs::read_to_string(dir.join("j.xml")).unwrap().contains("<failure message=\"agents_reached REGRESSED"));
}

#[test]
fn bad_baselines_are_refused_with_one_line() {
    let dir = scratch("check-bad");
    assert!(check(&dir, "check-good.toml", "base.toml", &["--update", "--runs", "20"]).status.success());
    let base = fs::read_to_string(dir.join("base.toml")).unwrap();
    fs::write(dir.join("unknown.toml"), base.replace("[rules.t_contain]", "[rules.blast_radius]")).unwrap();
    fs::write(dir.join("typo.toml"), base.replace("better = \"lower\"", "better = \"less\"")).unwrap();
    fs::write(
        dir.join("version.toml"),
        base.replace(&format!("model_version = {}", cascade::results::MODEL_VERSION), "model_version = 99"),
    )
    .unwrap();
    for (file, fragment) in [
        ("missing.toml", "cannot read the baseline"),
        ("unknown.toml", "rules.blast_radius: unknown metric"),
        ("typo.toml", "unknown variant `less`"),
        ("version.toml", "model version 99"),
    ] {
        let out = check(&dir, "check-good.toml", file, &[]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(fragment) && stderr(&out).trim().lines().count() == 1,
            "{file}: {}",
            stderr(&out)
        );
    }
}
