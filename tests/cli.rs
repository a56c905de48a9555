//! The `cascade` command end to end: outputs, determinism across thread
//! counts, replay, and bad input (exit code 2, one line, no output).

mod common;

use common::{cascade, root, scratch};
use std::fs;

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn run_writes_complete_outputs_with_a_manifest() {
    let dir = scratch("run");
    let out = cascade(&dir, &["run", "procurement", "--runs", "20", "--seed", "7", "--out", "res", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = fs::read_to_string(dir.join("res/runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 21);
    assert!(runs.starts_with("run,agents_reached,agents_corrupted,"));
    let summary = fs::read_to_string(dir.join("res/summary.csv")).unwrap();
    assert!(summary.contains("\nagents_reached,count,20,"));
    assert!(summary.contains("\ncontainment_rate,fraction,20,"));
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("res/manifest.json")).unwrap()).unwrap();
    let text = fs::read(root().join("scenarios/procurement.toml")).unwrap();
    assert_eq!(manifest["scenario_sha256"], cascade::results::scenario_hash(&text));
    assert_eq!(manifest["seed"], 7);
    assert_eq!(manifest["runs"], 20);
    assert_eq!(manifest["model_version"], cascade::results::MODEL_VERSION);
    assert_eq!(manifest["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(manifest["command_line"].as_array().unwrap().iter().any(|a| a == "--seed"));
    assert!(!dir.join("res/runs.csv.partial").exists());
}

#[test]
fn summary_table_columns_line_up() {
    let dir = scratch("table");
    let out = cascade(&dir, &["run", "procurement", "--runs", "20", "--seed", "7", "--out", "res"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().skip(1);
    let header = lines.next().unwrap();
    assert!(header.starts_with("metric") && header.ends_with("max"), "{header}");
    let rows: Vec<&str> = lines.filter(|l| !l.starts_with("containment_rate")).collect();
    assert!(rows.len() >= 10, "{text}");
    for row in rows {
        assert_eq!(row.len(), header.len(), "a column overflows:\n{header}\n{row}");
    }
    // Durations on screen to the millisecond, quantiles as the mean.
    let contain = text.lines().find(|l| l.starts_with("t_contain")).unwrap();
    assert!(
        contain.split_whitespace().skip(1).all(|cell| cell
            .trim_matches(['[', ']', ','])
            .split('.')
            .nth(1)
            .is_some_and(|d| d.len() == 4)),
        "{contain}"
    );
}

#[test]
fn results_are_byte_identical_for_any_thread_count() {
    let dir = scratch("threads");
    // A redrawn random topology exercises per-replication graphs too.
    let mesh = root().join("tests/data/redraw-mesh.toml");
    for scenario in ["procurement", mesh.to_str().unwrap()] {
        let mut outputs = Vec::new();
        for threads in ["1", "2", "8"] {
            let out_dir = format!("t{threads}");
            let out = cascade(
                &dir,
                &["run", scenario, "--runs", "48", "--seed", "3", "--threads", threads, "--out", &out_dir],
            );
            assert!(out.status.success(), "{}", stderr(&out));
            let runs = fs::read(dir.join(&out_dir).join("runs.csv")).unwrap();
            let summary = fs::read(dir.join(&out_dir).join("summary.csv")).unwrap();
            outputs.push((runs, summary));
        }
        assert!(outputs.windows(2).all(|w| w[0] == w[1]), "{scenario}: outputs differ across thread counts");
    }
}

#[test]
fn replay_reproduces_the_run_row_and_writes_a_trace() {
    let dir = scratch("replay");
    let out = cascade(&dir, &["run", "procurement", "--runs", "6", "--seed", "11", "--out", "all", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cascade(&dir, &["replay", "procurement", "--run", "4", "--seed", "11", "--out", "one"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = fs::read_to_string(dir.join("all/runs.csv")).unwrap();
    let one = fs::read_to_string(dir.join("one/runs.csv")).unwrap();
    assert_eq!(one.lines().nth(1), all.lines().nth(5), "replayed run 4 must equal row 4 of the sweep");
    let trace = fs::read_to_string(dir.join("one/trace.csv")).unwrap();
    assert!(trace.starts_with(
        "time_s,event,agent,message,parent,task,depth,peer,count,signal,shift,corrupted,root_fault,resource,records\n"
    ));
    assert!(trace.contains(",-30.000000,1,low_price_feed,,\n"), "the poisoned messages carry the shift and root");
    // A corrupted memory read names the records read, each written earlier in the trace.
    let read = trace.lines().find(|l| l.contains(",memory_read_corrupted,")).expect("B reads poisoned records");
    for id in read.rsplit(',').next().unwrap().split(';') {
        let written = format!(",{id}\n");
        assert!(trace.lines().any(|l| l.contains(",record_write,") && format!("{l}\n").ends_with(&written)), "{id}");
    }
    let timeline = fs::read_to_string(dir.join("one/timeline.svg")).unwrap();
    assert!(timeline.contains("corrupted input accepted") && timeline.contains("time (s)"));
    assert!(fs::read(dir.join("one/timeline.png")).unwrap().len() > 10_000);
    let memory = fs::read_to_string(dir.join("one/memory.csv")).unwrap();
    assert!(memory.starts_with(
        "record,time_s,writer,signal,shift,corrupted,root_fault,rolled_back,chain_agents,chain_messages\n"
    ));
    assert!(memory.contains(",source>A>B>C,"), "C's records trace back through B and A to the feed");
    let times: Vec<f64> = trace.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "trace time never goes backwards");
}

#[test]
fn list_and_validate() {
    let dir = scratch("list");
    let out = cascade(&dir, &["list"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for scenario in cascade::bundled::SCENARIOS {
        assert!(text.contains(scenario.name));
    }
    // Descriptions start in one column, two spaces after the longest name.
    let width = cascade::bundled::SCENARIOS.iter().map(|s| s.name.len()).max().unwrap();
    for line in text.lines() {
        assert!(line[..width + 2].ends_with("  ") && !line[width + 2..].starts_with(' '), "{line:?}");
    }
    let path = root().join("scenarios/procurement.toml");
    let out = cascade(&dir, &["validate", path.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("ok: ") && text.contains("4 agents, 3 channels, 1 sources, 1 faults; no mitigations"),
        "{text}"
    );
    let out = cascade(&dir, &["validate", "procurement-mitigated"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("mitigations: validation, zero_trust, breaker, caps, review"), "{text}");
}

/// Each bad input: (file name, content, text the one-line error must contain).
const BAD: &[(&str, &str, &str)] = &[
    ("unknown-key.toml", "SPEC\nspeed = 3", "unknown-key.toml:"),
    ("wrong-type.toml", "SPEC\nnoise = \"loud\"", "agents[1].noise: invalid type"),
    ("impossible.toml", "SPEC\npropagation = 2.0", "agents[1].propagation: must be a probability"),
    ("unknown-agent.toml", "SPEC\n[[channels]]\nfrom = \"A\"\nto = \"Q\"", "channels[0].to: unknown agent id \"Q\""),
    (
        "cyclic-grant.toml",
        "SPEC\n[memory]\nmode = \"isolated\"\ngrants = [{ reader = \"A\", owner = \"B\" }, { reader = \"B\", owner = \"A\" }]",
        "memory.grants: cyclic grant A -> B -> A",
    ),
    ("bad-duration.toml", "SPEC\nservice = \"3 fortnights\"", "agents[1].service"),
    ("syntax.toml", "name = \"x\"\nhorizon", "syntax.toml:2: key with no value"),
];

const SPEC: &str =
    "name = \"x\"\nhorizon = \"1h\"\nquiet_window = \"1m\"\n[[agents]]\nid = \"A\"\n[[agents]]\nid = \"B\"";

#[test]
fn bad_input_exits_2_with_one_line_and_no_output() {
    let dir = scratch("bad");
    for (name, content, expected) in BAD {
        fs::write(dir.join(name), content.replace("SPEC", SPEC)).unwrap();
        for command in [&["run", name, "--runs", "3", "--out", "out"][..], &["validate", name][..]] {
            let out = cascade(&dir, command);
            assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
            let err = stderr(&out);
            assert_eq!(err.lines().count(), 1, "{name}: one line expected: {err}");
            assert!(err.starts_with(&format!("error: {name}")), "{name}: names the file: {err}");
            assert!(err.contains(expected), "{name}: expected {expected:?} in {err}");
            assert!(!dir.join("out").exists(), "{name}: no output directory on bad input");
        }
    }
}

#[test]
fn missing_files_and_names_exit_2() {
    let dir = scratch("missing");
    let out = cascade(&dir, &["run", "no-such.toml", "--out", "out"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such.toml: cannot read"), "{}", stderr(&out));
    let out = cascade(&dir, &["run", "no-such-scenario"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected a path or one of procurement"), "{}", stderr(&out));
    let out = cascade(&dir, &["run", "procurement", "--runs", "0"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses --runs 0");
    assert!(!dir.join("out").exists());
}

#[test]
fn a_failed_write_leaves_no_manifest() {
    let dir = scratch("unwritable");
    fs::write(dir.join("blocker"), "a file where the output directory should go").unwrap();
    let out = cascade(&dir, &["run", "procurement", "--runs", "2", "--out", "blocker/res", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot write results"));
    assert!(!dir.join("blocker/res/manifest.json").exists());
}

#[test]
fn paired_comparison_shows_mitigations_help_in_procurement() {
    let dir = scratch("paired");
    let out =
        cascade(&dir, &["run", "procurement-guarded", "--runs", "200", "--paired-off", "all", "--out", "p", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let paired = fs::read_to_string(dir.join("p/paired.csv")).unwrap();
    let row = |metric: &str| -> Vec<f64> {
        let line = paired.lines().find(|l| l.starts_with(&format!("{metric},"))).unwrap();
        line.split(',').skip(3).map(|v| v.parse().unwrap()).collect()
    };
    // [mean_with, mean_without, difference, ci_low, ci_high]
    let reached = row("agents_reached");
    assert!(reached[4] < 0.0, "blast radius falls, CI excludes zero: {reached:?}");
    let actions = row("corrupted_actions");
    assert!(actions[4] < 0.0, "corrupted actions fall, CI excludes zero: {actions:?}");
    // The without-variant equals a plain run of the unmitigated scenario on the same seed.
    let out = cascade(&dir, &["run", "procurement", "--runs", "200", "--out", "plain", "--quiet"]);
    assert!(out.status.success());
    assert_eq!(fs::read(dir.join("p/runs_without.csv")).unwrap(), fs::read(dir.join("plain/runs.csv")).unwrap());
    let out = cascade(&dir, &["run", "procurement-guarded", "--paired-off", "firewall", "--out", "bad"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--paired-off: unknown mitigation \"firewall\""), "{}", stderr(&out));
    assert!(!dir.join("bad").exists());
}

/// Output into a pipe nobody reads (`cascade list | head -1` after head
/// exits) ends the process by SIGPIPE, quietly: no panic message.
#[cfg(unix)]
#[test]
fn closed_stdout_pipe_ends_quietly() {
    use std::os::unix::io::FromRawFd;
    use std::os::unix::process::ExitStatusExt;
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe` writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just opened and are owned here only.
    let (reader, writer) = unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) };
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cascade"))
        .arg("list")
        .stdout(writer)
        .output()
        .expect("cascade runs");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    let dir = scratch("help");
    let subcommands =
        ["run", "replay", "sweep", "merge", "tune", "check", "validate", "list", "show", "completions", "man"];
    for sub in subcommands {
        let out = cascade(&dir, &[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Example"), "{sub} --help has no example:\n{text}");
        assert!(text.contains(&format!("cascade {sub}")), "{sub}'s example runs {sub}:\n{text}");
    }
    let top = String::from_utf8(cascade(&dir, &["--help"]).stdout).unwrap();
    assert!(subcommands.iter().all(|s| top.contains(s)), "{top}");
}

#[test]
fn help_lists_every_value_an_enumerated_flag_takes() {
    let dir = scratch("help-values");
    let run = String::from_utf8(cascade(&dir, &["run", "--help"]).stdout).unwrap();
    for name in cascade::mitigation::Mitigations::names().chain(["all"]) {
        assert!(run.contains(name), "run --help lacks --paired-off value {name}");
    }
    for (sub, flag) in [("run", "--format"), ("sweep", "--format"), ("tune", "--format"), ("check", "--format")] {
        let text = String::from_utf8(cascade(&dir, &[sub, "--help"]).stdout).unwrap();
        assert!(text.contains(flag) && text.contains("table") && text.contains("json"), "{sub} {flag}");
    }
    let completions = String::from_utf8(cascade(&dir, &["completions", "--help"]).stdout).unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(completions.contains(shell), "completions --help lacks {shell}");
    }
    let tune = String::from_utf8(cascade(&dir, &["tune", "--help"]).stdout).unwrap();
    let stats = cascade::tune::STATS.map(|(name, _)| name);
    for word in stats.iter().chain(&cascade::tune::OPS.map(|(symbol, _)| symbol)) {
        assert!(tune.contains(word), "tune --help lacks --target's {word}");
    }
    // `man` takes every command, and its help names them all.
    let man = String::from_utf8(cascade(&dir, &["man", "--help"]).stdout).unwrap();
    let top = String::from_utf8(cascade(&dir, &["--help"]).stdout).unwrap();
    let listed: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(listed.len() >= 11, "{top}");
    for command in listed {
        assert!(man.contains(command), "man --help lacks {command}");
        assert!(cascade(&dir, &["man", command]).status.success(), "man {command}");
    }
}

#[test]
fn completions_man_page_and_show() {
    let dir = scratch("generate");
    let bash = cascade(&dir, &["completions", "bash"]);
    let script = String::from_utf8(bash.stdout).unwrap();
    assert!(bash.status.success() && script.contains("_cascade()") && script.contains("--paired-off"), "{script}");
    let man = cascade(&dir, &["man"]);
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(man.status.success() && page.contains(".TH cascade"), "{page}");
    assert!(page.contains("sweep") && page.contains("merge"));
    let run = String::from_utf8(cascade(&dir, &["man", "run"]).stdout).unwrap();
    assert!(run.contains(".TH cascade-run 1") && run.contains("paired\\-off"), "a command's own page: {run}");
    assert_eq!(cascade(&dir, &["man", "nope"]).status.code(), Some(2));
    let shown = cascade(&dir, &["show", "procurement-guarded"]);
    assert!(shown.status.success());
    assert_eq!(shown.stdout, fs::read(root().join("scenarios/procurement-guarded.toml")).unwrap());
    // What `show` prints is a scenario of one's own: it validates and runs as a file.
    fs::write(dir.join("mine.toml"), &shown.stdout).unwrap();
    let valid = cascade(&dir, &["validate", "mine.toml"]);
    assert!(valid.status.success(), "{}", stderr(&valid));
    let missing = cascade(&dir, &["show", "nope"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(stderr(&missing).lines().count(), 1);
    assert!(stderr(&missing).contains("expected one of procurement"), "{}", stderr(&missing));
}

#[test]
fn quiet_silences_every_command_but_json_still_prints() {
    let dir = scratch("quiet");
    let commands: [&[&str]; 5] = [
        &["run", "procurement", "--runs", "3", "--out", "r", "--quiet"],
        &["--quiet", "replay", "procurement", "--run", "1", "--out", "p"],
        &["sweep", "procurement-guarded", "--runs", "2", "--out", "s", "-q"],
        &["validate", "procurement", "--quiet"],
        &["sweep", "procurement-guarded", "--runs", "2", "--shard", "1/1", "--out", "sh", "--quiet"],
    ];
    for args in commands {
        let out = cascade(&dir, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{args:?} printed with --quiet");
    }
    let merged = cascade(&dir, &["merge", "sh", "--out", "m", "--quiet"]);
    assert!(merged.status.success() && merged.stdout.is_empty(), "{}", stderr(&merged));
    let json = cascade(&dir, &["run", "procurement", "--runs", "3", "--out", "j", "--quiet", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(doc["command"], "run");
}

#[test]
fn run_sweep_and_tune_summaries_as_json() {
    let dir = scratch("json");
    let run = cascade(&dir, &["run", "procurement", "--runs", "20", "--seed", "7", "--out", "r", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).expect("run --format json");
    let summary = fs::read_to_string(dir.join("r/summary.csv")).unwrap();
    let metrics = doc["summary"]["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), summary.lines().count() - 1, "every summary.csv row");
    let reached = metrics.iter().find(|m| m["metric"] == "agents_reached").unwrap();
    let csv_mean: f64 =
        summary.lines().find(|l| l.starts_with("agents_reached,")).unwrap().split(',').nth(3).unwrap().parse().unwrap();
    assert!((reached["mean"].as_f64().unwrap() - csv_mean).abs() < 1e-6);
    assert_eq!((doc["seed"].as_u64(), doc["summary"]["runs"].as_u64()), (Some(7), Some(20)));
    let sweep = cascade(&dir, &["sweep", "procurement-guarded", "--runs", "4", "--out", "s", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&sweep.stdout).expect("sweep --format json");
    assert_eq!(doc["points"].as_array().unwrap().len(), 20);
    assert_eq!(doc["points"][19]["values"]["mitigations.validation.threshold"], "4.0");
    let args = ["tune", "procurement-guarded", "--runs", "4", "--refine", "0", "--out", "t", "--format", "json"];
    let tune = cascade(&dir, &[&args[..], &["--target", "agents_reached<=3"]].concat());
    let doc: serde_json::Value = serde_json::from_slice(&tune.stdout).expect("tune --format json");
    assert!(tune.status.success());
    let best = doc["best"].as_u64().unwrap() as usize;
    assert_eq!(doc["settings"][best]["meets_all"], true);
    assert_eq!(doc["settings"].as_array().unwrap().len(), 20);
}

#[test]
fn each_command_has_its_own_output_directory() {
    let dir = scratch("out-layout");
    // The docs' sequence: run, then replay one of its runs.
    let run = cascade(&dir, &["run", "procurement", "--runs", "5", "--quiet"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let replay = cascade(&dir, &["replay", "procurement", "--run", "1"]);
    assert!(replay.status.success(), "{}", stderr(&replay));
    let runs = fs::read_to_string(dir.join("out/procurement/run/runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 6, "the run's 5 rows are intact");
    let manifest = fs::read_to_string(dir.join("out/procurement/run/manifest.json")).unwrap();
    assert!(manifest.contains("\"command\": \"run\""));
    assert!(dir.join("out/procurement/replay-1/trace.csv").exists());
    // A run into a sweep's directory is refused before any work, with --force
    // it replaces it whole: no chart or report of the sweep is left.
    let sweep = cascade(&dir, &["sweep", "procurement-guarded", "--runs", "2", "--out", "shared", "--quiet"]);
    assert!(sweep.status.success(), "{}", stderr(&sweep));
    assert!(dir.join("shared/report.html").exists());
    let refused = cascade(&dir, &["run", "procurement-guarded", "--runs", "2", "--out", "shared", "--quiet"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("shared: holds the output of `cascade sweep`"), "{}", stderr(&refused));
    let forced = cascade(&dir, &["run", "procurement-guarded", "--runs", "2", "--out", "shared", "--force", "--quiet"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let mut names: Vec<String> =
        fs::read_dir(dir.join("shared")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        ["chart-prevalence.png", "chart-prevalence.svg", "manifest.json", "prevalence.csv", "runs.csv", "summary.csv"]
    );
    // An unwritable destination fails before the runs, and says where.
    fs::write(dir.join("a-file"), "x").unwrap();
    let out = cascade(&dir, &["run", "procurement", "--runs", "100000", "--out", "a-file/sub"]);
    assert_eq!(out.status.code(), Some(1), "an I/O failure");
    assert!(stderr(&out).starts_with("error: cannot write results: a-file/sub"), "{}", stderr(&out));
}

#[test]
fn checks_csv_splits_each_rings_verdicts_and_agrees_with_the_runs() {
    let dir = scratch("checks");
    let out = cascade(&dir, &["run", "coding-agents", "--runs", "6", "--seed", "5", "--out", "all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("checks (mean per run):"), "{stdout}");
    let checks = fs::read_to_string(dir.join("all/checks.csv")).unwrap();
    let mut lines = checks.lines();
    assert_eq!(lines.next(), Some("check,count,n,mean,sd,ci95_low,ci95_high"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3 * 7, "lint, ci and reviewers, seven counts each");
    let mean = |check: &str, count: &str| -> f64 {
        let row = rows.iter().find(|r| r[0] == check && r[1] == count).unwrap();
        assert_eq!(row[2], "6");
        row[3].parse().unwrap()
    };
    // The rings' failures are the runs' check failures, per run on average.
    let runs = fs::read_to_string(dir.join("all/runs.csv")).unwrap();
    let header: Vec<&str> = runs.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let per_run = |name: &str| {
        let at = column(name);
        runs.lines().skip(1).map(|l| l.split(',').nth(at).unwrap().parse::<f64>().unwrap()).sum::<f64>() / 6.0
    };
    let failed: f64 = ["lint", "ci", "reviewers"].iter().map(|c| mean(c, "caught") + mean(c, "failed_clean")).sum();
    assert!((failed - per_run("checks_failed")).abs() < 1e-6, "{failed}");
    let retries: f64 = ["lint", "ci", "reviewers"].iter().map(|c| mean(c, "retries")).sum();
    assert!((retries - per_run("retries")).abs() < 1e-6);
    assert_eq!(mean("lint", "failed_clean"), 0.0, "lint fails no clean change");
    let manifest = fs::read_to_string(dir.join("all/manifest.json")).unwrap();
    assert!(manifest.contains("\"checks.csv\""), "{manifest}");
    // A replayed run writes its own counts: one run, no interval.
    let out = cascade(&dir, &["replay", "coding-agents", "--run", "2", "--seed", "5", "--out", "one"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let one = fs::read_to_string(dir.join("one/checks.csv")).unwrap();
    assert!(
        one.lines().nth(1).unwrap().starts_with("lint,verdicts,1,") && one.lines().nth(1).unwrap().ends_with(",,,")
    );
    // Without checks there is no checks.csv.
    let out = cascade(&dir, &["run", "procurement", "--runs", "2", "--out", "plain", "--quiet"]);
    assert!(out.status.success() && !dir.join("plain/checks.csv").exists());
}
