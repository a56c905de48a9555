//! Every input bounded (issue 16): each hostile input the fuzzer and the
//! hand-made cases found, refused through the binary before it runs,
//! with exit code 2, one line on stderr and no output (nor a staging
//! directory of streamed runs) left behind.

mod common;

use common::{cascade, root, scratch};
use std::fs;
use std::path::Path;

/// `args` in `dir` exit 2 with one line containing `fragment` and leave
/// no `out` directory (a runaway would not return: the test would hang,
/// not pass).
fn refused(dir: &Path, args: &[&str], fragment: &str) {
    let out = cascade(dir, args);
    let message = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {message}");
    assert_eq!(message.trim_end().lines().count(), 1, "{args:?}: one line: {message}");
    assert!(message.len() < 400, "{args:?}: short: {message}");
    assert!(message.contains(fragment), "{args:?}: expected {fragment:?} in {message}");
    assert!(!dir.join("out").exists(), "{args:?} left output behind");
    let staged: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".out."))
        .collect();
    assert!(staged.is_empty(), "{args:?} left a staging directory behind: {staged:?}");
}

fn bundled(name: &str) -> String {
    cascade::bundled::find(name).expect("bundled").text.to_string()
}

/// `text` with the first `from` replaced by `to` (which must be there).
fn with(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the scenario");
    text.replacen(from, to, 1)
}

#[test]
fn counts_that_would_wrap_or_exhaust_memory_are_refused() {
    let dir = scratch("limits-counts");
    let held = "more than the 2000000 runs a command may hold in memory";
    let streamed = "more than the 1000000000 runs a command may stream";
    refused(&dir, &["sweep", "procurement-guarded", "--runs", "922337203685477581", "--out", "out"], "x 20 points is");
    for command in ["run", "sweep", "tune"] {
        let args = [command, "procurement-guarded", "--runs", "18446744073709551615", "--out", "out"];
        let target = ["--target", "containment_rate>=0.5"];
        let most = if command == "tune" { held } else { streamed };
        refused(&dir, &[&args[..], if command == "tune" { &target[..] } else { &[] }].concat(), most);
    }
    refused(&dir, &["run", "procurement-bench", "--runs", "1000000001", "--out", "out"], streamed);
    refused(&dir, &["run", "procurement", "--runs", "500000001", "--paired-off", "all", "--out", "out"], "x 2 copies");
    refused(&dir, &["sweep", "procurement-guarded", "--runs", "50000001", "--out", "out"], streamed);
    // A shard's runs stream, and so do merge's.
    refused(&dir, &["sweep", "procurement-guarded", "--runs", "50000001", "--shard", "1/2", "--out", "out"], streamed);
    let baseline = fs::read_to_string(root().join("reports/baselines/procurement-guarded.toml")).unwrap();
    for runs in ["18446744073709551615", "9223372036854775807"] {
        fs::write(dir.join("b.toml"), with(&baseline, "runs = 200", &format!("runs = {runs}"))).unwrap();
        refused(&dir, &["check", "procurement-guarded", "--baseline", "b.toml"], "b.toml: runs: ");
    }
    refused(&dir, &["run", "procurement", "--threads", "2000", "--runs", "2", "--out", "out"], "--threads: 2000");
    refused(&dir, &["run", "procurement", "--max-events", "0", "--runs", "2", "--out", "out"], "--max-events");
    // A grid too large to compile is refused before any point is.
    let values: Vec<String> = (0..1000).map(|v| v.to_string()).collect();
    let grid = format!(
        "{}\n[sweep]\n\"sources.price_feed.signal.mean\" = [{list}]\n\"sources.price_feed.signal.sd\" = [{list}]\n",
        bundled("procurement"),
        list = values.join(", ")
    );
    fs::write(dir.join("grid.toml"), grid).unwrap();
    for command in [
        &["validate", "grid.toml"][..],
        &["sweep", "grid.toml", "--runs", "1", "--out", "out"],
        &["tune", "grid.toml", "--target", "containment_rate>=0.5", "--out", "out"],
    ] {
        refused(&dir, command, "sweep: 1000000 points; expected at most 100000");
    }
}

#[test]
fn scenarios_that_would_never_finish_are_refused_before_they_run() {
    let dir = scratch("limits-runaway");
    let guarded = bundled("procurement-guarded");
    let poisson = "{ process = \"poisson\", per_second = 0.5 }";
    let cases = [
        (with(&guarded, "per_second = 0.5", "per_second = 1e9"), "sources[0].arrival.per_second: must be a rate > 0 and at most 1e6"),
        (with(&guarded, "per_second = 0.5", "per_second = 5e5"), "sources[0]: about 3.24e10 events per run"),
        (with(&guarded, poisson, "{ process = \"periodic\", period = \"1us\" }"), "sources[0]: about 6.48e10 events"),
        (with(&guarded, "horizon = \"2h\"", "horizon = \"100000d\""), "sources[0]: about 3.89e10 events"),
        (with(&bundled("mesh-10k"), "per_second = 2.0", "per_second = 1e5"), "sources[0]: about"),
        (
            with(&guarded, "[[faults]]", "[[faults]]\nkind = \"spoofed_sender\"\nfrom = \"A\"\nto = \"B\"\nstart = \"1m\"\nper_second = 1e9\nshift = 1.0\n\n[[faults]]"),
            "faults[0].per_second: must be a rate > 0 and at most 1e6",
        ),
        (
            with(&guarded, "[[faults]]", "[[faults]]\nkind = \"spoofed_sender\"\nfrom = \"A\"\nto = \"B\"\nstart = \"1m\"\nper_second = 1e6\nshift = 1.0\n\n[[faults]]"),
            "faults[0]: about",
        ),
    ];
    for (text, fragment) in &cases {
        fs::write(dir.join("s.toml"), text).unwrap();
        refused(&dir, &["validate", "s.toml"], fragment);
        refused(&dir, &["run", "s.toml", "--runs", "2", "--out", "out"], fragment);
        refused(&dir, &["replay", "s.toml", "--run", "0", "--out", "out"], fragment);
        refused(&dir, &["sweep", "s.toml", "--runs", "2", "--out", "out"], fragment);
    }
    // What the estimate cannot see, the engine stops: the cascade's fan-out
    // over a generated graph.
    refused(
        &dir,
        &["run", "mesh-ic-100k", "--max-events", "1000", "--runs", "2", "--out", "out"],
        "used its budget of 1000 events",
    );
    refused(
        &dir,
        &["replay", "procurement", "--run", "0", "--max-trace-rows", "1000", "--out", "out"],
        "1000 trace rows",
    );
    // A budget raised on purpose admits the scenario.
    fs::write(dir.join("s.toml"), with(&guarded, "per_second = 0.5", "per_second = 5000.0")).unwrap();
    refused(&dir, &["validate", "s.toml"], "about 3.24e8 events per run");
    let raised = cascade(&dir, &["validate", "s.toml", "--max-events", "400000000"]);
    assert!(raised.status.success(), "{}", String::from_utf8_lossy(&raised.stderr));
}

#[test]
fn integers_past_two_to_the_63_name_their_key_in_every_command() {
    let dir = scratch("limits-integers");
    let text =
        with(&bundled("procurement-guarded"), "per_second = 0.5 }", "per_second = 0.5 }\ncount = 9223372036854775808");
    fs::write(dir.join("s.toml"), text).unwrap();
    let fragment = "s.toml:66: sources[0].count: an integer below 2^63";
    refused(&dir, &["validate", "s.toml"], fragment);
    refused(&dir, &["run", "s.toml", "--runs", "2", "--out", "out"], fragment);
    refused(&dir, &["replay", "s.toml", "--run", "0", "--out", "out"], fragment);
    refused(&dir, &["sweep", "s.toml", "--runs", "2", "--out", "out"], fragment);
    refused(&dir, &["check", "s.toml", "--baseline", "b.toml", "--update"], fragment);
}

#[test]
fn names_and_ids_never_become_paths_or_break_lines() {
    let dir = scratch("limits-names");
    let guarded = bundled("procurement-guarded");
    let name = "name = \"procurement-guarded\"";
    for bad in ["/abs/dir", "../../..", "", "a\\nb", ".hidden"] {
        fs::write(dir.join("s.toml"), with(&guarded, name, &format!("name = \"{bad}\""))).unwrap();
        refused(&dir, &["validate", "s.toml"], "name: ");
        refused(&dir, &["run", "s.toml", "--runs", "2"], "name: ");
    }
    assert!(!Path::new("/abs/dir").exists());
    fs::write(dir.join("s.toml"), with(&guarded, "id = \"A\"", "id = \"A\\nB\"")).unwrap();
    refused(&dir, &["validate", "s.toml"], "agents[0].id: \"A\\nB\": expected 1 to 64");
    let long = "x".repeat(1_000_000);
    fs::write(dir.join("s.toml"), with(&guarded, "target = \"A\"", &format!("target = \"{long}\""))).unwrap();
    refused(&dir, &["validate", "s.toml"], "sources[0].target: unknown agent id \"xxxx");
}

#[test]
fn files_that_are_not_small_regular_files_are_refused() {
    let dir = scratch("limits-files");
    refused(&dir, &["validate", "/dev/zero"], "/dev/zero: cannot read the scenario file (not a regular file)");
    let fifo = dir.join("fifo.toml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    refused(&dir, &["validate", "fifo.toml"], "not a regular file");
    let padding = format!("{}\n{}", bundled("procurement"), "# padding\n".repeat(500_000));
    fs::write(dir.join("big.toml"), padding).unwrap();
    refused(&dir, &["validate", "big.toml"], "longer than 4194304 bytes");
}
