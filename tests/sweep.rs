//! `cascade sweep` and `cascade merge` end to end: byte-identical results
//! for any thread count and any sharding, common random numbers across
//! points, and bad input refused with exit code 2 and no output.

mod common;

use common::{cascade, root, scratch};
use std::fs;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const GRID: [&str; 4] =
    ["--set", "mitigations.breaker.failure_threshold=1,3,8", "--set", "mitigations.validation.threshold=2.5..3.5:0.5"];

fn sweep(dir: &std::path::Path, out: &str, extra: &[&str]) {
    let mut args = vec!["sweep", "procurement-guarded", "--runs", "12", "--seed", "5", "--quiet", "--out", out];
    args.extend_from_slice(&GRID);
    args.extend_from_slice(extra);
    let result = cascade(dir, &args);
    assert!(result.status.success(), "{}", stderr(&result));
}

/// Every result file (all but the manifest, which records the command line) is identical.
fn same_results(dir: &std::path::Path, a: &str, b: &str) {
    let mut names: Vec<String> = fs::read_dir(dir.join(a))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "manifest.json")
        .collect();
    names.sort();
    assert!(names.len() > 10, "{a}: {names:?}");
    for file in &names {
        let (x, y) = (fs::read(dir.join(a).join(file)).unwrap(), fs::read(dir.join(b).join(file)).unwrap());
        assert!(x == y, "{a}/{file} and {b}/{file} differ");
    }
}

#[test]
fn sweeps_draw_readable_charts_and_a_self_contained_report() {
    let dir = scratch("sweep-charts");
    sweep(&dir, "c", &[]);
    let read = |name: &str| fs::read(dir.join("c").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    for axis in ["mitigations_breaker_failure_threshold", "mitigations_validation_threshold"] {
        for metric in
            ["agents_reached", "containment_rate", "t_contain", "corrupted_actions", "rejected_clean", "false_trips"]
        {
            let stem = format!("chart-{metric}-vs-{axis}");
            let png = read(&format!("{stem}.png"));
            assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "{stem}.png is {} bytes", png.len());
            let svg = String::from_utf8(read(&format!("{stem}.svg"))).unwrap();
            // Series say which mitigation's threshold they hold (not "threshold" and "failure_threshold").
            let (x_label, series) = if axis.contains("breaker") {
                ("mitigations.breaker.failure_threshold", "validation.threshold=3.5")
            } else {
                ("mitigations.validation.threshold", "breaker.failure_threshold=8")
            };
            assert!(svg.contains(x_label) && svg.contains(series), "{stem}.svg lacks its axis label or series");
            assert!(!texts(&svg).iter().any(|t| t.ends_with(".0") && t.parse::<f64>().is_ok()), "{stem}: 1000.0 ticks");
        }
    }
    let t_contain = String::from_utf8(read("chart-t_contain-vs-mitigations_validation_threshold.svg")).unwrap();
    assert!(t_contain.contains("contained runs only"), "a t_contain chart says whose times it shows");
    // The CDF shows every point: a panel per breaker threshold, a curve per validation threshold.
    let cdf = String::from_utf8(read("chart-containment-cdf.svg")).unwrap();
    let cdf_texts = texts(&cdf);
    for panel in ["breaker.failure_threshold=1", "breaker.failure_threshold=3", "breaker.failure_threshold=8"] {
        assert!(cdf_texts.iter().any(|t| t == panel), "{panel} has no panel");
    }
    assert!(cdf_texts.iter().any(|t| t == "validation.threshold") && cdf_texts.iter().any(|t| t == "3.5"));
    let pareto = String::from_utf8(read("chart-pareto.svg")).unwrap();
    assert!(pareto.contains("Pareto-optimal") && pareto.contains("clean messages rejected per run"));
    assert!(pareto.contains("labels: breaker.failure_threshold, validation.threshold"));
    let prevalence = String::from_utf8(read("chart-prevalence.svg")).unwrap();
    assert!(prevalence.contains("agents corrupted over time per point") && prevalence.contains("95% of runs"));
    let rows = fs::read_to_string(dir.join("c/prevalence.csv")).unwrap();
    assert!(rows.starts_with(
        "point,mitigations.breaker.failure_threshold,mitigations.validation.threshold,time_s,mean,ci95_low,ci95_high,"
    ));
    assert_eq!(rows.lines().count(), 1 + 9 * 101, "101 samples per point");
    let report = String::from_utf8(read("report.html")).unwrap();
    assert!(report.starts_with("<!doctype html>") && report.contains("<svg") && report.contains("class=\"pareto\""));
    assert!(!report.contains("src=\"http") && !report.contains("href=\"http"), "no external resources");
    // Metrics that are zero at every point (out-of-scope actions here) get no chart and no column.
    assert!(!dir.join("c/chart-out_of_scope_succeeded-vs-mitigations_validation_threshold.svg").exists());
    assert!(!report.contains("<th>out-of-scope succeeded</th>") && report.contains("so not shown: "), "{report}");
    assert_eq!(report.matches("<figure>").count(), 2 * 6 + 3);
    // Captions say what a chart shows, not its file name.
    assert!(report.contains("<figcaption>Share of runs contained by each time"));
    assert!(!report.contains("<figcaption>chart-"));
}

/// The text of every `<text>` element of an SVG.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim().to_string()))
        .collect()
}

#[test]
fn sweeps_are_identical_for_any_thread_count_and_any_sharding() {
    let dir = scratch("sweep-shards");
    sweep(&dir, "one", &["--threads", "1"]);
    sweep(&dir, "two", &["--threads", "2"]);
    same_results(&dir, "one", "two");
    let runs = fs::read_to_string(dir.join("one/runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 9 * 12);
    assert!(runs.starts_with(
        "point,mitigations.breaker.failure_threshold,mitigations.validation.threshold,run,agents_reached,"
    ));
    assert!(runs.contains("\n8,8,3.5,11,"), "the last point, its values and its last run");
    let summary = fs::read_to_string(dir.join("one/summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 9 * 54, "every metric and the containment rate per point");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("one/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["sweep"]["points"], 9);
    assert_eq!(manifest["sweep"]["axes"][1]["values"], serde_json::json!(["2.5", "3.0", "3.5"]));

    for count in [2, 3, 7] {
        let shards: Vec<String> = (1..=count).map(|i| format!("s{count}-{i}")).collect();
        // Computed in reverse order and merged in a shuffled one: order does not matter.
        for (i, name) in shards.iter().enumerate().rev() {
            sweep(&dir, name, &["--shard", &format!("{}/{count}", i + 1)]);
        }
        let mut args: Vec<&str> = vec!["merge"];
        args.extend(shards.iter().rev().map(String::as_str));
        let merged = format!("merged{count}");
        args.extend(["--out", &merged]);
        let out = cascade(&dir, &args);
        assert!(out.status.success(), "{}", stderr(&out));
        same_results(&dir, "one", &merged);
    }
}

#[test]
fn every_point_shares_the_random_streams_of_a_plain_run() {
    let dir = scratch("sweep-crn");
    sweep(&dir, "grid", &[]);
    // Point 5 is failure_threshold = 3, threshold = 3.5: the same runs as
    // `cascade run` on the scenario with those values written in.
    let text = fs::read_to_string(root().join("scenarios/procurement-guarded.toml")).unwrap();
    let text = text.replace("\nthreshold = 3.0", "\nthreshold = 3.5");
    assert!(text.contains("threshold = 3.5"), "the scenario's validation threshold line moved");
    fs::write(dir.join("point5.toml"), text).unwrap();
    let out = cascade(&dir, &["run", "point5.toml", "--runs", "12", "--seed", "5", "--quiet", "--out", "plain"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plain = fs::read_to_string(dir.join("plain/runs.csv")).unwrap();
    let grid = fs::read_to_string(dir.join("grid/runs.csv")).unwrap();
    let point5: Vec<String> =
        grid.lines().filter(|l| l.starts_with("5,")).map(|l| l.splitn(4, ',').nth(3).unwrap().to_string()).collect();
    let plain: Vec<&str> = plain.lines().skip(1).collect();
    assert_eq!(point5, plain);
    // With --independent each point draws its own streams.
    sweep(&dir, "independent", &["--independent"]);
    let other = fs::read_to_string(dir.join("independent/runs.csv")).unwrap();
    assert_ne!(other, grid);
    assert!(
        other.lines().filter(|l| l.starts_with("0,")).eq(grid.lines().filter(|l| l.starts_with("0,"))),
        "point 0 keeps (seed, 0, r)"
    );
}

#[test]
fn a_scenario_sweep_table_defines_the_grid_and_set_overrides_it() {
    let dir = scratch("sweep-table");
    let text = fs::read_to_string(root().join("scenarios/procurement-guarded.toml")).unwrap();
    let text = text.split("\n[sweep]").next().unwrap();
    fs::write(
        dir.join("s.toml"),
        format!("{text}\n[sweep]\n\"mitigations.breaker.failure_threshold\" = [2, 4]\nmitigations.validation = {{ threshold = [3.0, 4.0] }}\n"),
    )
    .unwrap();
    let out = cascade(&dir, &["sweep", "s.toml", "--runs", "3", "--quiet", "--out", "t"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = fs::read_to_string(dir.join("t/runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 4 * 3);
    let out = cascade(
        &dir,
        &[
            "sweep",
            "s.toml",
            "--runs",
            "3",
            "--quiet",
            "--out",
            "u",
            "--set",
            "mitigations.breaker.failure_threshold=9",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = fs::read_to_string(dir.join("u/runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 2 * 3);
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let column = header.iter().position(|h| *h == "mitigations.breaker.failure_threshold").unwrap();
    assert!(runs.lines().skip(1).all(|l| l.split(',').nth(column) == Some("9")));
    // The scenario with a [sweep] table still runs as written.
    let out = cascade(&dir, &["run", "s.toml", "--runs", "3", "--quiet", "--out", "v"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn bad_sweeps_and_merges_are_refused_with_one_line() {
    let dir = scratch("sweep-bad");
    let cases: [(&[&str], &str); 6] = [
        (&["--set", "mitigations.breaker.colour=1,2"], "unknown field `colour`"),
        (&["--set", "mitigations.breaker.failure_threshold=2,0"], "mitigations.breaker.failure_threshold = 0"),
        (&["--set", "agents.Z.noise=1"], "no element `Z`"),
        (&["--set", "mitigations.breaker.failure_threshold"], "--set"),
        (&["--set", "k=5..1"], "FROM <= TO"),
        (&["--shard", "3/2"], "--shard"),
    ];
    for (extra, fragment) in cases {
        let mut args = vec!["sweep", "procurement-guarded", "--runs", "2", "--out", "bad"];
        args.extend_from_slice(extra);
        let out = cascade(&dir, &args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        let message = stderr(&out);
        assert!(message.contains(fragment) && message.trim().lines().count() == 1, "{extra:?}: {message}");
        assert!(!dir.join("bad").exists(), "{extra:?} left output behind");
    }
    // `validate` compiles every point of a scenario's [sweep] too.
    fs::write(
        dir.join("v.toml"),
        "name = \"v\"\nhorizon = \"1m\"\nquiet_window = \"1s\"\n[[agents]]\nid = \"A\"\n[sweep]\n\"agents.A.noise\" = [1.0, -1.0]\n",
    )
    .unwrap();
    let out = cascade(&dir, &["validate", "v.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("agents[0].noise") && stderr(&out).contains("at sweep point 1: agents.A.noise = -1.0")
    );
    let ok = cascade(&dir, &["validate", "procurement-guarded"]);
    assert!(String::from_utf8_lossy(&ok.stdout).contains("sweep: 20 points"));
    sweep(&dir, "a", &["--shard", "1/2"]);
    let other = cascade(
        &dir,
        &["sweep", "procurement-guarded", "--runs", "12", "--seed", "6", "--quiet", "--out", "b", "--shard", "2/2"],
    );
    assert!(other.status.success());
    let whole = cascade(&dir, &["sweep", "procurement-guarded", "--runs", "2", "--quiet", "--out", "w"]);
    assert!(whole.status.success());
    for (inputs, fragment) in [
        (vec!["a", "b"], "different sweep"),
        (vec!["a"], "exactly once"),
        (vec!["w"], "not a shard"),
        (vec!["nowhere"], "cannot read manifest.json"),
    ] {
        let mut args = vec!["merge"];
        args.extend(inputs.iter().copied());
        args.extend(["--out", "m"]);
        let out = cascade(&dir, &args);
        assert_eq!(out.status.code(), Some(2), "{inputs:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(fragment), "{inputs:?}: {}", stderr(&out));
        assert!(!dir.join("m").exists());
    }
}

#[test]
fn tune_names_the_cheapest_setting_that_meets_the_targets_or_says_none_does() {
    let dir = scratch("tune");
    let tune = |out: &str, target: &str| {
        let mut args =
            vec!["tune", "procurement-guarded", "--runs", "20", "--seed", "3", "--out", out, "--target", target];
        args.extend_from_slice(&GRID);
        cascade(&dir, &args)
    };
    let found = tune("ok", "containment_rate>=0.9");
    assert!(found.status.success(), "{}", stderr(&found));
    let stdout = String::from_utf8_lossy(&found.stdout);
    assert!(stdout.contains("cheapest setting that meets them: mitigations.breaker.failure_threshold = "), "{stdout}");
    let table = fs::read_to_string(dir.join("ok/tune.csv")).unwrap();
    let rows: Vec<Vec<&str>> = table.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert!(rows.len() >= 9, "the 9 grid points, then refinements");
    // The winner is the cheapest (rejected_clean mean) of the rows meeting every target.
    let meeting: Vec<f64> = rows.iter().filter(|r| r.last() == Some(&"1")).map(|r| r[3].parse().unwrap()).collect();
    let cheapest = meeting.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!(stdout.contains(&format!("rejected_clean: {cheapest:.4}")), "{stdout}");
    let none = tune("none", "agents_reached.max<0");
    assert_eq!(none.status.code(), Some(1));
    let said = String::from_utf8_lossy(&none.stdout);
    assert!(said.contains("no setting meets the targets; the nearest"), "{said}");
    // The nearest three, each with how far it fell short of the target.
    assert_eq!(said.matches("    agents_reached.max<0: ").count(), 3, "{said}");
    assert_eq!(said.matches("(short by ").count(), 3, "{said}");
    let bad = tune("bad", "blast<=1");
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--target: \"blast<=1\": unknown metric"), "{}", stderr(&bad));
    assert!(!dir.join("bad").exists());
}

#[test]
fn the_sweep_table_lines_up_however_long_the_keys() {
    let dir = scratch("sweep-columns");
    let mut args = vec!["sweep", "procurement-guarded", "--runs", "4", "--seed", "5", "--out", "t"];
    args.extend_from_slice(&GRID);
    let out = cascade(&dir, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 1 + 3 * 3, "{text}");
    assert!(lines[0].starts_with("mitigations.breaker.failure_threshold, mitigations.validation.threshold "));
    for line in &lines {
        assert_eq!(line.chars().count(), lines[0].chars().count(), "a column overflows:\n{}\n{line}", lines[0]);
    }
}

/// Shard `dir`'s `runs.jsonl` edited line by line, with the manifest's
/// digest updated to match when `rehash` (so what is left to catch it is
/// the line checks themselves).
fn tamper(dir: &std::path::Path, edit: impl Fn(&mut Vec<serde_json::Value>), rehash: bool) {
    let path = dir.join("runs.jsonl");
    let mut lines: Vec<serde_json::Value> =
        fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    edit(&mut lines);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(&path, &text).unwrap();
    if rehash {
        let manifest_path = dir.join("manifest.json");
        let mut manifest: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&manifest_path).unwrap()).unwrap();
        manifest["sweep"]["runs_sha256"] = cascade::results::scenario_hash(text.as_bytes()).into();
        fs::write(&manifest_path, manifest.to_string()).unwrap();
    }
}

/// Each way a shard's runs can be wrong is refused in one line naming the
/// shard's directory, with exit code 2 and no merged output: an edited
/// value, a moved or repeated line, a point outside the grid (each caught
/// by the digest, and by the line checks when the digest is forged to
/// match), and the runs of another seed's or another scenario's shard.
#[test]
fn merge_verifies_every_line_of_every_shard() {
    let dir = scratch("merge-verify");
    let shard = |out: &str, scenario: &str, seed: &str, index: &str| {
        let args = ["sweep", scenario, "--runs", "4", "--seed", seed, "--quiet", "--out", out, "--shard", index];
        let result = cascade(&dir, &args);
        assert!(result.status.success(), "{}", stderr(&result));
    };
    shard("s2", "procurement-guarded", "1", "2/2");
    shard("seed2", "procurement-guarded", "2", "1/2");
    shard("other", "procurement-mitigated", "1", "1/2");
    let set_field = |line: usize, field: &'static str, value: u64| {
        move |lines: &mut Vec<serde_json::Value>| lines[line]["metrics"][field] = value.into()
    };
    let set_point =
        |line: usize, point: u64| move |lines: &mut Vec<serde_json::Value>| lines[line]["point"] = point.into();
    type Spoil = Box<dyn Fn(&std::path::Path)>;
    let cases: Vec<(&str, Spoil, &str)> = vec![
        ("edited", Box::new(move |d| tamper(d, set_field(0, "agents_reached", 999), false)), "SHA-256 is not the one"),
        (
            "bounds",
            Box::new(move |d| tamper(d, set_field(0, "agents_reached", 999), true)),
            "line 1: agents_reached = 999, expected at most 4",
        ),
        ("moved", Box::new(move |d| tamper(d, set_point(0, 1), true)), "line 1: point 1 run 0, expected point 0 run 0"),
        (
            "outside",
            Box::new(move |d| tamper(d, set_point(3, 99), true)),
            "line 4: point 99 run 3, expected point 0 run 3",
        ),
        (
            "repeated",
            Box::new(move |d| tamper(d, |l| l[6] = l[5].clone(), true)),
            "line 7: point 1 run 1, expected point 1 run 2",
        ),
        (
            "dropped",
            Box::new(move |d| {
                tamper(
                    d,
                    |l| {
                        l.pop();
                    },
                    true,
                )
            }),
            "runs.jsonl: 39 runs; its manifest says 40",
        ),
        (
            "extra",
            Box::new(move |d| tamper(d, |l| l.push(l[39].clone()), true)),
            "line 41: more runs than its manifest's 40",
        ),
        (
            "unreadable",
            Box::new(|d| {
                fs::remove_file(d.join("runs.jsonl")).unwrap();
                fs::create_dir(d.join("runs.jsonl")).unwrap();
            }),
            "cannot read runs.jsonl (not a regular file)",
        ),
        (
            "seed",
            Box::new(|d| fs::copy(d.join("../seed2/runs.jsonl"), d.join("runs.jsonl")).map(drop).unwrap()),
            "SHA-256 is not the one",
        ),
        (
            "scenario",
            Box::new(|d| fs::copy(d.join("../other/runs.jsonl"), d.join("runs.jsonl")).map(drop).unwrap()),
            "SHA-256 is not the one",
        ),
    ];
    for (name, spoil, fragment) in cases {
        shard(name, "procurement-guarded", "1", "1/2");
        spoil(&dir.join(name));
        let out = cascade(&dir, &["merge", name, "s2", "--out", "m"]);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {message}");
        assert!(message.starts_with(&format!("error: {name}: ")), "{name}: names the shard: {message}");
        assert!(message.contains(fragment) && message.trim().lines().count() == 1, "{name}: {message}");
        assert!(!dir.join("m").exists(), "{name}: left output behind");
    }
    shard("good", "procurement-guarded", "1", "1/2");
    let out = cascade(&dir, &["merge", "good", "s2", "--out", "m"]);
    assert!(out.status.success(), "the untouched shards merge: {}", stderr(&out));
}

/// Merges that must succeed: empty shards (more shards than runs), a
/// scenario without a [sweep] (one point), and independent streams.
#[test]
fn merge_accepts_empty_shards_single_points_and_independent_streams() {
    let dir = scratch("merge-edges");
    let run = |args: &[&str]| {
        let out = cascade(&dir, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    for i in 1..=3 {
        run(&[
            "sweep",
            "procurement",
            "--runs",
            "1",
            "--quiet",
            "--out",
            &format!("e{i}"),
            "--shard",
            &format!("{i}/3"),
        ]);
    }
    run(&["merge", "e1", "e2", "e3", "--out", "e"]);
    run(&["sweep", "procurement", "--runs", "1", "--quiet", "--out", "ew"]);
    assert_eq!(fs::read(dir.join("e/summary.csv")).unwrap(), fs::read(dir.join("ew/summary.csv")).unwrap());
    let independent = ["sweep", "procurement-guarded", "--runs", "2", "--independent", "--quiet", "--out"];
    for i in 1..=2 {
        run(&[&independent[..], &[&format!("i{i}"), "--shard", &format!("{i}/2")]].concat());
    }
    run(&["merge", "i2", "i1", "--out", "i"]);
    run(&[&independent[..], &["iw"]].concat());
    assert_eq!(fs::read(dir.join("i/summary.csv")).unwrap(), fs::read(dir.join("iw/summary.csv")).unwrap());
}

/// A sweep of a pipeline with checks writes `checks.csv` per point, and
/// its merged shards write the same bytes; each point's block is what
/// `cascade run` of that point writes.
#[test]
fn sweeps_and_merges_write_what_each_check_did_per_point() {
    let dir = scratch("sweep-checks");
    let run = |args: &[&str]| {
        let out = cascade(&dir, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    let sweep = ["sweep", "coding-agents", "--runs", "3", "--seed", "4", "--quiet", "--out"];
    run(&[&sweep[..], &["whole"]].concat());
    for i in 1..=2 {
        run(&[&sweep[..], &[&format!("s{i}"), "--shard", &format!("{i}/2")]].concat());
    }
    run(&["merge", "s2", "s1", "--out", "merged"]);
    same_results(&dir, "whole", "merged");
    let checks = fs::read_to_string(dir.join("whole/checks.csv")).unwrap();
    assert!(checks.starts_with(
        "point,agents.ci.check.max_retries,agents.reviewers.servers,check,count,n,mean,sd,ci95_low,ci95_high\n"
    ));
    assert_eq!(checks.lines().count(), 1 + 6 * 3 * 7, "six points, three checks, seven counts");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("s1/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["sweep"]["checks"], serde_json::json!([[2, "lint"], [3, "ci"], [4, "reviewers"]]));
    // Point 1 (one CI retry, four reviewers) is the scenario as written.
    run(&["run", "coding-agents", "--runs", "3", "--seed", "4", "--quiet", "--out", "plain"]);
    let plain = fs::read_to_string(dir.join("plain/checks.csv")).unwrap();
    let point1: Vec<String> =
        checks.lines().filter(|l| l.starts_with("1,")).map(|l| l.splitn(4, ',').nth(3).unwrap().to_string()).collect();
    assert_eq!(point1, plain.lines().skip(1).collect::<Vec<_>>());
    // A CI retry cap of five (points 3 to 5) retries more than a cap of one.
    let mean = |point: &str| -> f64 {
        let row = checks.lines().find(|l| l.starts_with(&format!("{point},")) && l.contains(",ci,retries,")).unwrap();
        row.split(',').nth(6).unwrap().parse().unwrap()
    };
    assert!(mean("3") > mean("0") && mean("5") > mean("2"), "{checks}");
    // A shard whose lines' checks are not its manifest's, or do not add
    // up, is refused (its SHA-256 resealed, so the line itself is judged).
    type Spoil = fn(&mut Vec<serde_json::Value>);
    let cases: [(&str, Spoil, &str); 3] = [
        ("other", |l| l[0]["checks"][0][0] = 7.into(), "line 1: checks of agents [7, 3, 4], expected [2, 3, 4]"),
        ("fewer", |l| l[1]["checks"] = serde_json::json!([]), "line 2: checks of agents [], expected [2, 3, 4]"),
        ("sums", |l| l[2]["checks"][1][1][4] = 999.into(), "line 3: check 3: failures are not each a retry"),
    ];
    for (name, spoil, fragment) in cases {
        run(&[&sweep[..], &[name, "--shard", "1/2"]].concat());
        tamper(&dir.join(name), spoil, true);
        let out = cascade(&dir, &["merge", name, "s2", "--out", "bad"]);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {message}");
        assert!(message.contains(fragment) && message.trim().lines().count() == 1, "{name}: {message}");
        assert!(!dir.join("bad").exists(), "{name}: left output behind");
    }
}
