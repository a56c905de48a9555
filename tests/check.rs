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
    assert!(junit.contains("<testsuite name=\"procurement-guarded\" tests=\"5\" failures=\"0\" time=\""), "{junit}");
    assert!(
        junit.contains("<testcase classname=\"procurement-guarded\" name=\"as written agents_reached\" time=\"0\"/>")
    );
    let json = check(&dir, "check-good.toml", "base.toml", &["--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 5);
    assert!(rows.as_array().unwrap().iter().all(|r| r["verdict"] == "ok" && r["change"]["difference"] == 0.0));
    assert!(rows[0]["point"].is_null() && rows[0]["values"] == serde_json::json!({}), "as written: {}", rows[0]);
    assert!(rows[0]["change"]["ci95_low"].is_number() && rows[0]["change"]["ci95_high"].is_number());

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
    // Edited and worse: the table against the old baseline, exit 1, and a
    // note that the scenario changed.
    for extra in [&[][..], &["--compare-changed"][..]] {
        let worse = check(&dir, "check-worse.toml", "base.toml", &[extra, &["--junit", "j.xml"]].concat());
        assert_eq!(worse.status.code(), Some(1), "{}", stdout(&worse));
        let table = stdout(&worse);
        let line = table.lines().find(|l| l.contains("agents_reached")).unwrap();
        assert!(line.starts_with("as written") && line.ends_with("REGRESSED"), "{line}");
        assert!(stderr(&worse).contains("changed since the baseline"), "{}", stderr(&worse));
        let junit = fs::read_to_string(dir.join("j.xml")).unwrap();
        let failure = junit.lines().find(|l| l.contains("<failure message=\"agents_reached REGRESSED")).unwrap();
        assert!(failure.contains(": baseline 0.") && failure.contains(", change +") && failure.contains("[95% CI +"));
    }
    // Edited but no worse (a comment): its own exit code, 3, with the table;
    // --compare-changed accepts it.
    let text = fs::read_to_string(data("check-good.toml")).unwrap();
    fs::write(dir.join("commented.toml"), format!("# a new comment\n{text}")).unwrap();
    let commented = cascade(&dir, &["check", "commented.toml", "--baseline", "base.toml"]);
    assert_eq!(commented.status.code(), Some(3), "{}", stderr(&commented));
    assert!(stdout(&commented).contains(" ok"));
    assert!(stderr(&commented).contains("commented.toml changed since the baseline"), "{}", stderr(&commented));
    let accepted = cascade(&dir, &["check", "commented.toml", "--baseline", "base.toml", "--compare-changed"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));
}

/// check-good.toml with a two-point sweep of the breaker's threshold.
fn swept(text: &str) -> String {
    format!("{text}\n[sweep]\n\"mitigations.breaker.failure_threshold\" = [3, 8]\n")
}

#[test]
fn a_sweep_does_not_hide_the_scenario_as_written() {
    let dir = scratch("check-sweep");
    let good = fs::read_to_string(data("check-good.toml")).unwrap();
    fs::write(dir.join("s.toml"), swept(&good)).unwrap();
    let made = cascade(&dir, &["check", "s.toml", "--baseline", "b.toml", "--update", "--runs", "20"]);
    assert!(made.status.success(), "{}", stderr(&made));
    let baseline = fs::read_to_string(dir.join("b.toml")).unwrap();
    assert_eq!(baseline.matches("[[points]]").count(), 3, "two grid points and the scenario as written");
    // The mitigations removed: the sweep may not re-create them.
    let cut = good.split("[mitigations.validation]").next().unwrap();
    fs::write(dir.join("cut.toml"), swept(cut)).unwrap();
    let out = cascade(&dir, &["check", "cut.toml", "--baseline", "b.toml", "--compare-changed"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("sweep.mitigations.breaker.failure_threshold: the scenario has no [mitigations]"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).trim().lines().count(), 1);
    // The file's own value of the swept key changed: the grid's points are
    // the same, the scenario as written is not, and the check sees it (the
    // breaker all but off: far fewer clean messages rejected).
    let lax = good.replace("mode = \"seed\"", "mode = \"seed\"\nfailure_threshold = 1000");
    fs::write(dir.join("lax.toml"), swept(&lax)).unwrap();
    let out = cascade(&dir, &["check", "lax.toml", "--baseline", "b.toml"]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let table = stdout(&out);
    let moved = |prefix: &str| {
        let line = table.lines().find(|l| l.starts_with(prefix) && l.contains(" rejected_clean ")).unwrap();
        !line.contains(" +0.0000 [")
    };
    assert!(moved("as written"), "{table}");
    assert!(!moved("0 mitigations.breaker.failure_threshold=3"), "{table}");
    // Points are matched by their values, not their position.
    let blocks: Vec<&str> = baseline.split("[[points]]").collect();
    let swapped = [blocks[0], blocks[2], blocks[1], blocks[3]].join("[[points]]");
    fs::write(dir.join("swapped.toml"), &swapped).unwrap();
    let out = cascade(&dir, &["check", "s.toml", "--baseline", "swapped.toml"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).lines().any(|l| l.starts_with("1 mitigations.breaker.failure_threshold=8 ")));
    // Read back: the sweep's directory holds the grid, a run's the scenario
    // as written; with only the sweep the scenario's own rows are MISSING.
    for (command, out) in [("sweep", "sw"), ("run", "rn")] {
        let made = cascade(&dir, &[command, "s.toml", "--runs", "20", "--out", out, "--quiet"]);
        assert!(made.status.success(), "{}", stderr(&made));
    }
    let both = cascade(&dir, &["check", "s.toml", "--baseline", "b.toml", "--results", "sw", "--results", "rn"]);
    assert!(both.status.success(), "{}{}", stdout(&both), stderr(&both));
    let grid_only = cascade(&dir, &["check", "s.toml", "--baseline", "b.toml", "--results", "sw"]);
    assert_eq!(grid_only.status.code(), Some(1));
    let table = stdout(&grid_only);
    let missing: Vec<&str> = table.lines().filter(|l| l.ends_with("MISSING")).collect();
    assert!(missing.len() == 5 && missing.iter().all(|l| l.starts_with("as written")), "{missing:?}");
    // A sweep of other values is another grid, not this one's results.
    let set = ["sweep", "s.toml", "--runs", "20", "--set", "mitigations.breaker.failure_threshold=3,9"];
    assert!(cascade(&dir, &[&set[..], &["--out", "other", "--quiet"]].concat()).status.success());
    let other = cascade(&dir, &["check", "s.toml", "--baseline", "b.toml", "--results", "other"]);
    assert_eq!(other.status.code(), Some(2));
    assert!(stderr(&other).contains("other: a sweep of other keys or values"), "{}", stderr(&other));
}

#[test]
fn bad_baselines_are_refused_with_one_line() {
    let dir = scratch("check-bad");
    assert!(check(&dir, "check-good.toml", "base.toml", &["--update", "--runs", "20"]).status.success());
    let base = fs::read_to_string(dir.join("base.toml")).unwrap();
    let version = format!("model_version = {}", cascade::results::MODEL_VERSION);
    let first_mean = base.lines().find(|l| l.starts_with("mean = ")).unwrap();
    let first_sd = base.lines().find(|l| l.starts_with("sd = ")).unwrap();
    let first_n = base.lines().find(|l| l.starts_with("n = ")).unwrap();
    let no_points = base.split("[[points]]").next().unwrap().to_string();
    let rules_start = base.find("[rules.").unwrap();
    let no_rules = base[..rules_start].to_string() + "rules = {}\n" + &base[base.find("[[points]]").unwrap()..];
    let cases = [
        ("missing.toml", None, "no such baseline; create it with --update"),
        (
            "unknown.toml",
            Some(base.replace("[rules.t_contain]", "[rules.blast_radius]")),
            "rules.blast_radius: unknown metric",
        ),
        ("typo.toml", Some(base.replace("better = \"lower\"", "better = \"less\"")), "unknown variant `less`"),
        ("version.toml", Some(base.replace(&version, "model_version = 99")), "model version 99"),
        ("nan.toml", Some(base.replacen(first_mean, "mean = nan", 1)), ".mean: must be a finite number, got NaN"),
        ("inf.toml", Some(base.replacen(first_mean, "mean = inf", 1)), ".mean: must be a finite number, got inf"),
        ("sd.toml", Some(base.replacen(first_sd, "sd = inf", 1)), ".sd: must be a finite number of at least 0"),
        ("n.toml", Some(base.replacen(first_n, "n = 0", 1)), ".n: must be at least 1"),
        ("points.toml", Some(no_points), "points: expected at least one point"),
        ("rules.toml", Some(no_rules), "rules: expected at least one rule"),
        ("runs.toml", Some(base.replace("runs = 20", "runs = 0")), "runs: must be at least 2"),
    ];
    for (file, text, fragment) in cases {
        if let Some(text) = text {
            fs::write(dir.join(file), text).unwrap();
        }
        let out = check(&dir, "check-good.toml", file, &[]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(fragment) && stderr(&out).trim().lines().count() == 1,
            "{file}: {}",
            stderr(&out)
        );
    }
    // A baseline it cannot read is never replaced, not even by --update.
    let mut latin1 = base.clone().into_bytes();
    latin1.splice(0..0, b"# caf\xe9\n".iter().copied());
    fs::write(dir.join("latin1.toml"), &latin1).unwrap();
    let out = check(&dir, "check-good.toml", "latin1.toml", &["--update"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--update does not replace it"), "{}", stderr(&out));
    assert_eq!(fs::read(dir.join("latin1.toml")).unwrap(), latin1, "untouched");
    // Results whose means are not numbers are refused too.
    let good = data("check-good.toml");
    assert!(cascade(&dir, &["run", good.as_str(), "--runs", "20", "--quiet", "--out", "res"]).status.success());
    let summary = fs::read_to_string(dir.join("res/summary.csv")).unwrap();
    let row = summary.lines().find(|l| l.starts_with("agents_reached,")).unwrap();
    let mut cells: Vec<&str> = row.split(',').collect();
    let mean = summary.lines().next().unwrap().split(',').position(|h| h == "mean").unwrap();
    cells[mean] = "NaN";
    fs::write(dir.join("res/summary.csv"), summary.replace(row, &cells.join(","))).unwrap();
    let out = check(&dir, "check-good.toml", "base.toml", &["--results", "res"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("summary.csv line") && stderr(&out).contains("bad mean"), "{}", stderr(&out));
}
