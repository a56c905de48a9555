//! The `cascade` command line: a thin layer that resolves the scenario,
//! calls the library and writes outputs. Exit codes: 0 success, 1 failure
//! to write results, 2 bad input.

use cascade::metrics::Unit;
use cascade::model::Model;
use cascade::output::{self, Manifest, MODEL_VERSION};
use cascade::runner::{self, Plan};
use cascade::summary::{self, Stat, Summary};
use cascade::{bundled, paired, scenario, sweep, tune};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cascade", version, about = "Deterministic simulator of cascading failures in multi-agent systems")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario N times in parallel and write runs.csv, summary.csv, manifest.json.
    Run(RunArgs),
    /// Check a scenario file and report the first problem, if any.
    Validate {
        /// Scenario file, or the name of a bundled scenario.
        scenario: String,
    },
    /// List the bundled scenarios.
    List,
    /// Re-run one replication and write its full event trace (trace.csv).
    Replay(ReplayArgs),
    /// Run a grid of scenario values x replications (common random numbers).
    Sweep(SweepArgs),
    /// Combine the shard directories of one sweep into its whole outputs.
    Merge(MergeArgs),
    /// Find the cheapest setting on a grid (then refined) that meets targets.
    Tune(TuneArgs),
    /// Compare a scenario's results with a committed baseline (exit 1 on a regression).
    Check(CheckArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// Scenario file, or the name of a bundled scenario.
    scenario: String,
    /// The baseline file (TOML).
    #[arg(long)]
    baseline: PathBuf,
    /// Rewrite the baseline from the current results (rules kept) and say what changed.
    #[arg(long)]
    update: bool,
    /// Compare although the scenario changed since the baseline (else exit 2).
    #[arg(long)]
    compare_changed: bool,
    /// Read the results of an earlier `run` or `sweep` of this scenario from
    /// DIR (its summary.csv and manifest.json) instead of running it.
    #[arg(long, value_name = "DIR")]
    results: Option<PathBuf>,
    /// Also write a JUnit XML report (one test case per point and metric).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    format: CheckFormat,
    /// Seed and runs per point for a new baseline (an existing one keeps its own).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(2..))]
    runs: u64,
    /// Worker threads (0 = one per core). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CheckFormat {
    Table,
    Json,
}

#[derive(Args)]
struct TuneArgs {
    #[command(flatten)]
    common: Common,
    /// A target every setting is checked against: METRIC[.STAT] OP VALUE,
    /// e.g. agents_reached.p99<=2 or rejected_clean_share<=0.01 (repeatable).
    #[arg(long = "target", required = true, value_name = "TARGET")]
    targets: Vec<String>,
    /// Swept keys, as for `sweep` (adds to or replaces the scenario's [sweep]).
    #[arg(long = "set", value_name = "KEY=VALUES")]
    set: Vec<String>,
    /// The cost to minimise among settings that meet the targets
    /// [default: clean messages rejected, or clean actions blocked or capped].
    #[arg(long)]
    minimize: Option<String>,
    /// Rounds of refinement between the best setting and its neighbours on numeric keys.
    #[arg(long, default_value_t = 2)]
    refine: u32,
    /// Replications per setting.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Worker threads (0 = one per core). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct SweepArgs {
    #[command(flatten)]
    common: Common,
    /// A swept key and its values: KEY=V1,V2,... or KEY=FROM..TO[:STEP]
    /// (repeatable; adds to or replaces the scenario's [sweep] table).
    #[arg(long = "set", value_name = "KEY=VALUES")]
    set: Vec<String>,
    /// Replications per point.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Worker threads (0 = one per core). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No progress bar and no summary table.
    #[arg(long)]
    quiet: bool,
    /// Compute only slice I of N (1-based) of the (point, run) space; merge the slices with `cascade merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Give each point its own random streams instead of common random numbers.
    #[arg(long)]
    independent: bool,
}

#[derive(Args)]
struct MergeArgs {
    /// Shard output directories of one sweep, in any order.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Output directory for the merged results.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct Common {
    /// Scenario file, or the name of a bundled scenario (see `cascade list`).
    scenario: String,
    /// Master seed; with the scenario bytes and version it fixes every result.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory [default: out/<scenario name>].
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Number of replications.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Worker threads (0 = one per core). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No progress bar and no summary table.
    #[arg(long)]
    quiet: bool,
    /// Also run every replication with these mitigations off (comma-separated:
    /// validation, zero_trust, breaker, caps, or all), on the same random
    /// streams, and write the paired differences to paired.csv.
    #[arg(long, value_delimiter = ',')]
    paired_off: Vec<String>,
}

#[derive(Args)]
struct ReplayArgs {
    #[command(flatten)]
    common: Common,
    /// Replication index to replay (the `run` column of runs.csv).
    #[arg(long)]
    run: u64,
}

/// A scenario resolved to its text and compiled model.
struct Loaded {
    label: String,
    bytes: Vec<u8>,
    model: Model,
}

fn load(name: &str) -> Result<Loaded, String> {
    let path = Path::new(name);
    if path.exists() || name.ends_with(".toml") || name.contains('/') {
        let bytes = std::fs::read(path).map_err(|e| {
            format!("{name}: cannot read the scenario file ({e}); expected a readable TOML file or a bundled name (cascade list)")
        })?;
        let text =
            String::from_utf8(bytes.clone()).map_err(|_| format!("{name}: not UTF-8 text; expected a TOML file"))?;
        let model = scenario::parse(name, &text).map_err(|e| e.to_string())?;
        return Ok(Loaded { label: name.to_string(), bytes, model });
    }
    let found = bundled::find(name).ok_or_else(|| {
        let names: Vec<&str> = bundled::SCENARIOS.iter().map(|s| s.name).collect();
        format!("{name}: no such file or bundled scenario; expected a path or one of {}", names.join(", "))
    })?;
    let label = format!("scenarios/{}.toml", found.name);
    let model = scenario::parse(&label, found.text).map_err(|e| e.to_string())?;
    Ok(Loaded { label, bytes: found.text.as_bytes().to_vec(), model })
}

fn manifest(command: &str, loaded: &Loaded, seed: u64, first_run: u64, runs: u64, files: &[&str]) -> Manifest {
    Manifest {
        tool: "cascade".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        model_version: MODEL_VERSION,
        command: command.to_string(),
        scenario_name: loaded.model.name.clone(),
        scenario_file: loaded.label.clone(),
        scenario_sha256: output::scenario_hash(&loaded.bytes),
        seed,
        point: 0,
        first_run,
        runs,
        command_line: std::env::args().collect(),
        files: files.iter().map(|f| f.to_string()).collect(),
        sweep: None,
    }
}

fn out_dir(common: &Common, model: &Model) -> PathBuf {
    common.out.clone().unwrap_or_else(|| PathBuf::from("out").join(&model.name))
}

fn progress_bar(runs: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet || runs < 100 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(runs);
    let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {per_sec}  eta {eta}")
        .expect("static template");
    bar.set_style(style);
    bar
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let loaded = load(&args.common.scenario).map_err(Failure::Input)?;
    let model = &loaded.model;
    let baseline = if args.paired_off.is_empty() {
        None
    } else {
        let mitigations = paired::without(&model.mitigations, &args.paired_off)
            .map_err(|e| Failure::Input(format!("--paired-off: {e}")))?;
        Some(Model { mitigations, ..model.clone() })
    };
    let plan = Plan { seed: args.common.seed, point: 0, first: 0, count: args.runs };
    let total = args.runs * if baseline.is_some() { 2 } else { 1 };
    let bar = progress_bar(total, args.quiet);
    let runs = runner::run_plan(model, plan, args.threads, &|done| bar.set_position(done));
    let without =
        baseline.as_ref().map(|m| runner::run_plan(m, plan, args.threads, &|done| bar.set_position(args.runs + done)));
    bar.finish_and_clear();
    let summary = summary::summarize(&runs);
    let dir = out_dir(&args.common, model);
    let mut files = vec![("runs.csv", output::runs_csv(&runs)), ("summary.csv", output::summary_csv(&summary))];
    let comparison = without.as_ref().map(|without| paired::compare(&runs, without));
    if let (Some(without), Some(rows)) = (&without, &comparison) {
        files.push(("runs_without.csv", output::runs_csv(without)));
        files.push(("paired.csv", output::paired_csv(rows)));
    }
    let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
    let manifest = manifest("run", &loaded, plan.seed, 0, args.runs, &names);
    output::write_dir(&dir, &files, &manifest).map_err(|e| Failure::Output(format!("{}: {e}", dir.display())))?;
    if !args.quiet {
        print_summary(model, &summary, &dir);
        if let Some(rows) = &comparison {
            print_paired(&args.paired_off, rows);
        }
    }
    Ok(())
}

fn print_paired(off: &[String], rows: &[paired::PairedMetric]) {
    println!();
    println!("paired with {} off (same random streams; difference = with - without):", off.join(", "));
    println!("{:<30} {:>12} {:>12} {:>12} {:>27}", "metric", "with", "without", "difference", "95% CI");
    for row in rows {
        let value: Formatter<f64> = match row.metric.unit() {
            Unit::Count | Unit::Fraction => |v| format!("{v:.3}"),
            Unit::Micros => seconds,
        };
        let ci = format!("[{}, {}]", value(row.ci_low), value(row.ci_high));
        println!(
            "{:<30} {:>12} {:>12} {:>12} {:>27}",
            row.metric.name,
            value(row.mean_with),
            value(row.mean_without),
            value(row.mean_difference),
            ci
        );
    }
}

type Formatter<T> = fn(T) -> String;

/// Microseconds as seconds to the millisecond, for the terminal tables
/// (runs.csv and summary.csv keep microseconds).
fn seconds(us: f64) -> String {
    format!("{:.3}s", us / 1e6)
}

fn print_summary(model: &Model, summary: &Summary, dir: &Path) {
    println!("{}: {} runs -> {}", model.name, summary.runs, dir.display());
    println!(
        "{:<30} {:>12} {:>25} {:>12} {:>12} {:>12} {:>12}",
        "metric", "mean", "95% CI", "p50", "p90", "p99", "max"
    );
    // Mitigation metrics only when the scenario uses that mitigation (the
    // CSV files always have them all).
    for row in summary.metrics.iter().filter(|m| m.metric.feature.used_by(model)) {
        let name = row.metric.name;
        let d = match &row.stat {
            Stat::Proportion(c) => {
                println!("{name:<30} {:>12.3} {:>25}", c.rate, format!("[{:.3}, {:.3}]", c.low, c.high));
                continue;
            }
            Stat::Distribution(None) => {
                println!("{name:<30} {:>12}", "-");
                continue;
            }
            Stat::Distribution(Some(d)) => d,
        };
        let (value, quantile): (Formatter<f64>, Formatter<u64>) = match row.metric.unit() {
            Unit::Count | Unit::Fraction => (|v| format!("{v:.3}"), |v| v.to_string()),
            Unit::Micros => (seconds, |v| seconds(v as f64)),
        };
        let ci = format!("[{}, {}]", value(d.ci_low), value(d.ci_high));
        println!(
            "{name:<30} {:>12} {:>25} {:>12} {:>12} {:>12} {:>12}",
            value(d.mean),
            ci,
            quantile(d.p50),
            quantile(d.p90),
            quantile(d.p99),
            quantile(d.max)
        );
    }
}

fn replay(args: ReplayArgs) -> Result<(), Failure> {
    let loaded = load(&args.common.scenario).map_err(Failure::Input)?;
    let model = &loaded.model;
    let runner::Replayed { metrics, trace, records } = runner::replay(model, args.common.seed, 0, args.run);
    let dir = out_dir(&args.common, model);
    let mut files = vec![
        ("trace.csv".to_string(), output::trace_csv(model, &trace)),
        ("memory.csv".to_string(), output::memory_csv(model, &records)),
        ("runs.csv".to_string(), output::runs_csv(&[metrics])),
    ];
    files.extend(cascade::charts::render("timeline", &cascade::charts::timeline(model, &trace, args.run)));
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let manifest = manifest("replay", &loaded, args.common.seed, args.run, 1, &names);
    output::write_dir(&dir, &files, &manifest).map_err(|e| Failure::Output(format!("{}: {e}", dir.display())))?;
    println!(
        "{}: run {} replayed, {} trace rows -> {}",
        model.name,
        args.run,
        trace.len(),
        dir.join("trace.csv").display()
    );
    Ok(())
}

fn validate(name: &str) -> Result<(), Failure> {
    let common = Common { scenario: name.to_string(), seed: 1, out: None };
    let (loaded, document, grid) = load_grid(&common, &[])?;
    sweep::compile_points(&loaded.label, &document, &grid).map_err(|e| Failure::Input(e.to_string()))?;
    let m = &loaded.model;
    let channels = match &m.topology {
        cascade::model::Topology::Explicit(c) => format!("{} channels", c.len()),
        cascade::model::Topology::Generated { .. } => "generated channels".to_string(),
    };
    let mitigations = &m.mitigations;
    let on: Vec<&str> = [
        ("validation", mitigations.validation.is_some()),
        ("zero_trust", mitigations.zero_trust.is_some()),
        ("breaker", mitigations.breaker.is_some()),
        ("caps", mitigations.caps.is_some()),
        ("review", mitigations.review.is_some()),
        ("credentials", mitigations.credentials.is_some()),
        ("gateway", mitigations.gateway.is_some()),
    ]
    .iter()
    .filter(|(_, enabled)| *enabled)
    .map(|(name, _)| *name)
    .collect();
    let mitigations =
        if on.is_empty() { "no mitigations".to_string() } else { format!("mitigations: {}", on.join(", ")) };
    let grid = match grid.points() {
        1 if grid.axes.is_empty() => String::new(),
        points => format!("; sweep: {points} points"),
    };
    println!(
        "ok: {} ({} agents, {channels}, {} sources, {} faults; {mitigations}{grid})",
        loaded.label,
        m.agents.len(),
        m.sources.len(),
        m.faults.len()
    );
    Ok(())
}

/// One line per bundled scenario: its name, padded to the longest, then
/// the first line of its description.
fn list() {
    let width = bundled::SCENARIOS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in bundled::SCENARIOS {
        let description = scenario::parse(s.name, s.text).map(|m| m.description).unwrap_or_default();
        println!("{:<width$}  {}", s.name, description.lines().next().unwrap_or(""));
    }
}

enum Failure {
    Input(String),
    Output(String),
    /// `tune` found no setting that meets the targets (exit code 1).
    NoSetting,
    /// `check` found this many regressions (exit code 1).
    Regression(usize),
}

fn sweep(args: SweepArgs) -> Result<(), Failure> {
    let (loaded, document, grid) = load_grid(&args.common, &args.set)?;
    let shard = args
        .shard
        .as_deref()
        .map(sweep::Shard::parse)
        .transpose()
        .map_err(|m| Failure::Input(format!("--shard {m}")))?;
    let models = sweep::compile_points(&loaded.label, &document, &grid).map_err(|e| Failure::Input(e.to_string()))?;
    let total = grid.points() * args.runs;
    let slice = shard.map_or(0..total, |s| s.slice(total));
    let bar = progress_bar(slice.end - slice.start, args.quiet);
    let common = !args.independent;
    let results = sweep::run(&models, args.runs, args.common.seed, common, slice.clone(), args.threads, &|done| {
        bar.set_position(done)
    });
    bar.finish_and_clear();
    let info = grid.info(args.runs, common, shard);
    let files = match shard {
        Some(_) => vec![
            ("runs.jsonl".to_string(), sweep::shard_jsonl(&results)),
            ("runs.csv".to_string(), output::sweep_runs_csv(&info_keys(&info), &info_labels(&info), &results)),
        ],
        None => sweep::result_files(&loaded.model.name, args.common.seed, &info, &results),
    };
    let dir = out_dir(&args.common, &loaded.model);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let mut manifest = manifest("sweep", &loaded, args.common.seed, slice.start, slice.end - slice.start, &names);
    manifest.sweep = Some(info.clone());
    output::write_dir(&dir, &files, &manifest).map_err(|e| Failure::Output(format!("{}: {e}", dir.display())))?;
    if !args.quiet {
        print_sweep(&info, &results, &dir);
    }
    Ok(())
}

fn info_keys(info: &output::SweepInfo) -> Vec<String> {
    info.axes.iter().map(|a| a.key.clone()).collect()
}

fn info_labels(info: &output::SweepInfo) -> Vec<Vec<String>> {
    (0..info.points).map(|p| sweep::labels_from_info(info, p)).collect()
}

fn print_sweep(info: &output::SweepInfo, results: &[sweep::PointRun], dir: &Path) {
    println!("{} points x {} runs -> {}", info.points, info.runs_per_point, dir.display());
    let keys = info_keys(info).join(", ");
    let per_point = sweep::per_point(info.points, results);
    let rows: Vec<[String; 5]> = sweep::summaries(&per_point)
        .iter()
        .enumerate()
        .filter(|(_, s)| s.runs > 0)
        .map(|(point, s)| {
            [
                sweep::labels_from_info(info, point as u64).join(", "),
                s.estimate("agents_reached").map_or("-".into(), |(m, low, _)| format!("{m:.3} ±{:.3}", m - low)),
                format!("{:.3}", s.containment().rate),
                s.estimate("t_contain").map_or("-".into(), |(m, _, _)| format!("{m:.1}s")),
                s.estimate("rejected_clean").map_or("-".into(), |(m, _, _)| format!("{m:.2}")),
            ]
        })
        .collect();
    // The label column fits the keys' names and every point's values.
    let width = rows.iter().map(|r| r[0].chars().count()).chain([keys.chars().count()]).max().unwrap_or(0);
    println!(
        "{keys:<width$} {:>22} {:>12} {:>12} {:>14}",
        "agents_reached", "containment", "t_contain", "rejected_clean"
    );
    for [label, reached, rate, contain, rejected] in rows {
        println!("{label:<width$} {reached:>22} {rate:>12} {contain:>12} {rejected:>14}");
    }
}

/// The scenario, its document and the grid from `[sweep]` and `--set`.
fn load_grid(common: &Common, set: &[String]) -> Result<(Loaded, toml::Table, sweep::Grid), Failure> {
    let loaded = load(&common.scenario).map_err(Failure::Input)?;
    let text = String::from_utf8_lossy(&loaded.bytes);
    let document: toml::Table = toml::from_str(&text).map_err(|e| Failure::Input(format!("{}: {e}", loaded.label)))?;
    let mut grid =
        sweep::grid_of(&document).map_err(|(key, m)| Failure::Input(format!("{}: {key}: {m}", loaded.label)))?;
    for argument in set {
        grid.set(sweep::parse_set(argument).map_err(|m| Failure::Input(format!("--set {m}")))?);
    }
    Ok((loaded, document, grid))
}

fn tune(args: TuneArgs) -> Result<(), Failure> {
    let (loaded, document, grid) = load_grid(&args.common, &args.set)?;
    let targets: Vec<tune::Target> = args
        .targets
        .iter()
        .map(|t| tune::parse_target(t).map_err(|m| Failure::Input(format!("--target {m}"))))
        .collect::<Result<_, _>>()?;
    if let Some(cost) = &args.minimize {
        tune::parse_target(&format!("{cost}>=0")).map_err(|m| Failure::Input(format!("--minimize {m}")))?;
    }
    let keys: Vec<&str> = grid.axes.iter().map(|a| a.key.as_str()).collect();
    let mut settings: Vec<Vec<toml::Value>> = (0..grid.points())
        .map(|p| grid.axes.iter().zip(grid.coordinates(p)).map(|(a, i)| a.values[i].clone()).collect())
        .collect();
    let bar = progress_bar(settings.len() as u64 * args.runs, args.quiet);
    let mut summaries = evaluate(&args, &loaded, &document, &keys, &settings, &bar)?;
    let cost = args.minimize.clone().unwrap_or_else(|| cascade::charts::cost_metric(&summaries).name.to_string());
    for _ in 0..args.refine {
        let Some(best) = tune::cheapest(&summaries, &targets, &cost) else { break };
        let next = tune::refinements(&settings[best], &settings);
        if next.is_empty() {
            break;
        }
        bar.inc_length(next.len() as u64 * args.runs);
        summaries.extend(evaluate(&args, &loaded, &document, &keys, &next, &bar)?);
        settings.extend(next);
    }
    bar.finish_and_clear();
    let best = tune::cheapest(&summaries, &targets, &cost);
    let table = output::tune_csv(&keys, &settings, &summaries, &targets, &cost);
    let dir = out_dir(&args.common, &loaded.model);
    let manifest = manifest("tune", &loaded, args.common.seed, 0, args.runs, &["tune.csv"]);
    output::write_dir(&dir, &[("tune.csv", table)], &manifest)
        .map_err(|e| Failure::Output(format!("{}: {e}", dir.display())))?;
    print_tune(&keys, &settings, &summaries, &targets, &cost, best);
    if best.is_none() {
        return Err(Failure::NoSetting);
    }
    Ok(())
}

fn evaluate(
    args: &TuneArgs,
    loaded: &Loaded,
    document: &toml::Table,
    keys: &[&str],
    settings: &[Vec<toml::Value>],
    bar: &indicatif::ProgressBar,
) -> Result<Vec<Summary>, Failure> {
    let mut summaries = Vec::with_capacity(settings.len());
    for values in settings {
        let assignment: Vec<(&str, &toml::Value)> = keys.iter().copied().zip(values).collect();
        let model = sweep::compile_assignment(&loaded.label, document, &assignment, "a tuned setting")
            .map_err(|e| Failure::Input(e.to_string()))?;
        let plan = Plan { seed: args.common.seed, point: 0, first: 0, count: args.runs };
        let start = bar.position();
        let runs = runner::run_plan(&model, plan, args.threads, &|done| bar.set_position(start + done));
        summaries.push(summary::summarize(&runs));
    }
    Ok(summaries)
}

fn print_tune(
    keys: &[&str],
    settings: &[Vec<toml::Value>],
    summaries: &[Summary],
    targets: &[tune::Target],
    cost: &str,
    best: Option<usize>,
) {
    let describe = |i: usize| {
        keys.iter().zip(&settings[i]).map(|(k, v)| format!("{k} = {}", sweep::label(v))).collect::<Vec<_>>().join(", ")
    };
    let met = summaries.iter().filter(|s| targets.iter().all(|t| tune::meets(s, t))).count();
    println!("{} settings tried, {met} meet every target; cost: {cost}", settings.len());
    let Some(best) = best else {
        println!("no setting meets the targets");
        return;
    };
    let s = &summaries[best];
    println!("cheapest setting that meets them: {}", describe(best));
    let interval =
        |metric: &str| s.estimate(metric).map_or("-".to_string(), |(m, lo, hi)| format!("{m:.4} [{lo:.4}, {hi:.4}]"));
    println!("  {cost}: {}", interval(cost));
    for target in targets {
        let value = tune::observed(s, target).map_or("-".into(), |v| format!("{v:.4}"));
        println!("  {}: {value} (mean {})", target.text, interval(&target.metric));
    }
}

fn check(args: CheckArgs) -> Result<(), Failure> {
    let common = Common { scenario: args.scenario.clone(), seed: args.seed, out: None };
    let (loaded, document, grid) = load_grid(&common, &[])?;
    let path = args.baseline.display().to_string();
    let existing = match std::fs::read_to_string(&args.baseline) {
        Ok(text) => Some(cascade::check::parse_baseline(&text).map_err(|m| Failure::Input(format!("{path}: {m}")))?),
        Err(_) if args.update => None,
        Err(e) => {
            return Err(Failure::Input(format!("{path}: cannot read the baseline ({e}); create it with --update")));
        }
    };
    let hash = output::scenario_hash(&loaded.bytes);
    let keys: Vec<String> = grid.axes.iter().map(|a| a.key.clone()).collect();
    if let Some(b) = existing.as_ref().filter(|_| !args.update) {
        cascade::check::admit(b, &loaded.label, &hash, &keys, args.compare_changed)
            .map_err(|m| Failure::Input(format!("{path}: {m}")))?;
    }
    let (seed, runs) = existing.as_ref().map_or((args.seed, args.runs), |b| (b.seed, b.runs));
    let (estimates, seed, runs) = match &args.results {
        Some(dir) => read_results(dir, &hash, grid.points())?,
        None => {
            let models =
                sweep::compile_points(&loaded.label, &document, &grid).map_err(|e| Failure::Input(e.to_string()))?;
            let results = sweep::run(&models, runs, seed, true, 0..grid.points() * runs, args.threads, &|_| {});
            let summaries = sweep::summaries(&sweep::per_point(grid.points(), &results));
            (cascade::check::estimates_of(&summaries), seed, runs)
        }
    };
    let labels: Vec<Vec<String>> = (0..grid.points()).map(|p| grid.labels(p)).collect();
    let rules = existing.as_ref().map_or_else(cascade::check::default_rules, |b| b.rules.clone());
    let fresh = cascade::check::baseline_of((&loaded.model.name, &hash, seed, runs), &keys, &labels, &estimates, rules);
    let reference = existing.clone().unwrap_or_else(|| fresh.clone());
    let now: Vec<_> = fresh.points.iter().map(|p| p.metrics.clone()).collect();
    let rows = cascade::check::compare(&reference, &now);
    print_check(&rows, args.format);
    if let Some(file) = &args.junit {
        std::fs::write(file, cascade::check::junit(&loaded.model.name, &rows))
            .map_err(|e| Failure::Output(format!("{}: {e}", file.display())))?;
    }
    if args.update {
        let text = toml::to_string(&fresh).map_err(|e| Failure::Output(e.to_string()))?;
        let header = format!(
            "# cascade baseline of {}: `cascade check {} --baseline {path} --update` rewrites it.\n",
            loaded.model.name, args.scenario
        );
        std::fs::write(&args.baseline, header + &text).map_err(|e| Failure::Output(format!("{path}: {e}")))?;
        println!("baseline written: {path}");
        return Ok(());
    }
    match rows.iter().filter(|r| r.verdict != "ok").count() {
        0 => Ok(()),
        failed => Err(Failure::Regression(failed)),
    }
}

type Estimates = Vec<std::collections::BTreeMap<String, cascade::check::Estimate>>;

/// Estimates, seed and runs per point from an output directory of this scenario.
fn read_results(dir: &Path, hash: &str, points: u64) -> Result<(Estimates, u64, u64), Failure> {
    const EXPECTED: &str = "a run or sweep output";
    let manifest = read_manifest(dir, EXPECTED)?;
    if manifest.scenario_sha256 != hash {
        return Err(Failure::Input(format!(
            "{}: results of another scenario or another version of it (its scenario hash differs)",
            dir.display()
        )));
    }
    let estimates = cascade::check::estimates_from_csv(&read_output(dir, "summary.csv", EXPECTED)?)
        .map_err(|m| Failure::Input(format!("{}: {m}", dir.display())))?;
    if estimates.len() as u64 != points {
        return Err(Failure::Input(format!(
            "{}: {} points, the scenario has {points}",
            dir.display(),
            estimates.len()
        )));
    }
    let runs = manifest.sweep.as_ref().map_or(manifest.runs, |s| s.runs_per_point);
    Ok((estimates, manifest.seed, runs))
}

fn print_check(rows: &[cascade::check::Row], format: CheckFormat) {
    if format == CheckFormat::Json {
        println!("{}", serde_json::to_string_pretty(rows).expect("rows serialise"));
        return;
    }
    println!("{:<28} {:<24} {:>12} {:>12} {:>34}  verdict", "point", "metric", "baseline", "now", "change [95% CI]");
    let number = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    for row in rows {
        let point = format!("{} {}", row.point, row.values.join(", "));
        let change = row.change.map_or("-".to_string(), |[d, lo, hi]| format!("{d:+.4} [{lo:+.4}, {hi:+.4}]"));
        println!(
            "{point:<28} {:<24} {:>12} {:>12} {change:>34}  {}",
            row.metric,
            number(row.baseline),
            number(row.now),
            row.verdict
        );
    }
}

/// A file of an output directory; `expected` says what the directory should be.
fn read_output(dir: &Path, name: &str, expected: &str) -> Result<String, Failure> {
    std::fs::read_to_string(dir.join(name))
        .map_err(|e| Failure::Input(format!("{}: cannot read {name} ({e}); expected {expected}", dir.display())))
}

/// An output directory's manifest.json.
fn read_manifest(dir: &Path, expected: &str) -> Result<Manifest, Failure> {
    serde_json::from_str(&read_output(dir, "manifest.json", expected)?)
        .map_err(|e| Failure::Input(format!("{}: manifest.json: {e}", dir.display())))
}

fn merge(args: MergeArgs) -> Result<(), Failure> {
    const EXPECTED: &str = "a shard directory";
    let manifests = args.dirs.iter().map(|dir| read_manifest(dir, EXPECTED)).collect::<Result<Vec<_>, _>>()?;
    let order = sweep::check_shards(&manifests).map_err(Failure::Input)?;
    let mut results = Vec::new();
    for &i in &order {
        let dir = &args.dirs[i];
        let part = sweep::parse_jsonl(&read_output(dir, "runs.jsonl", EXPECTED)?)
            .map_err(|e| Failure::Input(format!("{}: runs.jsonl: {e}", dir.display())))?;
        if part.len() as u64 != manifests[i].runs {
            return Err(Failure::Input(format!(
                "{}: runs.jsonl has {} runs; its manifest says {}",
                dir.display(),
                part.len(),
                manifests[i].runs
            )));
        }
        results.extend(part);
    }
    let mut manifest = manifests[order[0]].clone();
    let info = manifest.sweep.as_mut().expect("checked shards have a sweep");
    info.shard = None;
    let info = info.clone();
    if results.len() as u64 != info.points * info.runs_per_point {
        return Err(Failure::Input(format!(
            "the shards hold {} runs; the sweep has {}",
            results.len(),
            info.points * info.runs_per_point
        )));
    }
    let files = sweep::result_files(&manifest.scenario_name, manifest.seed, &info, &results);
    manifest.command = "merge".into();
    manifest.command_line = std::env::args().collect();
    manifest.first_run = 0;
    manifest.runs = results.len() as u64;
    manifest.files = files.iter().map(|(n, _)| n.to_string()).collect();
    output::write_dir(&args.out, &files, &manifest)
        .map_err(|e| Failure::Output(format!("{}: {e}", args.out.display())))?;
    println!("merged {} shards, {} runs -> {}", order.len(), results.len(), args.out.display());
    Ok(())
}

/// Writing to a closed pipe (`cascade list | head -3`) ends the process
/// quietly, as it does other Unix tools, instead of panicking in
/// `println!`: Rust ignores SIGPIPE by default, this restores it.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread exists;
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Validate { scenario } => validate(&scenario),
        Command::List => {
            list();
            Ok(())
        }
        Command::Replay(args) => replay(args),
        Command::Sweep(args) => sweep(args),
        Command::Merge(args) => merge(args),
        Command::Tune(args) => tune(args),
        Command::Check(args) => check(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Output(message)) => {
            eprintln!("error: cannot write results: {message}");
            ExitCode::from(1)
        }
        Err(Failure::NoSetting) => ExitCode::from(1),
        Err(Failure::Regression(count)) => {
            eprintln!("error: {count} metric(s) regressed against the baseline (see the table)");
            ExitCode::from(1)
        }
    }
}
