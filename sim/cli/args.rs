//! The command line as clap definitions, and their conversion into the
//! library's option structs. Arguments that clap cannot check (`--set`,
//! `--shard`, `--target`) are parsed here with the library's parsers, so
//! a bad one is refused with one line and exit code 2.

use cascade::app::{self, Common};
use cascade::runner::Budget;
use cascade::sweep::{self, Axis, Shard};
use cascade::tune::{self, Target};
use cascade::Error;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "cascade",
    version,
    about = "Deterministic simulator of cascading failures in multi-agent systems",
    after_help = "Examples:\n  cascade run procurement\n  cascade sweep procurement-guarded\n  cascade show procurement > mine.toml\n\n\
                  SCENARIO is a TOML file or the name of a bundled scenario (cascade list). Exit codes: 0 success, \
                  1 results not written, no setting met the targets or a regression, 2 bad input, \
                  3 (check) the scenario changed since its baseline, every metric holding."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No progress bar and no tables (a --format json document is still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a scenario N times in parallel and write runs.csv, summary.csv, prevalence.csv (and its chart), manifest.json.
    #[command(
        after_help = "Examples:\n  cascade run procurement\n  cascade run procurement-guarded --runs 200 --paired-off all\n  \
                            cascade run my-system.toml --seed 7 --out results/seed-7 --format json"
    )]
    Run(RunArgs),
    /// Re-run one replication and write its full event trace (trace.csv), memory (memory.csv) and timeline chart.
    #[command(
        after_help = "Examples:\n  cascade replay procurement --run 1\n  cascade replay procurement --run 4 --seed 11 --out out/run-4"
    )]
    Replay(ReplayArgs),
    /// Run a grid of scenario values x replications (common random numbers).
    #[command(after_help = "Examples:\n  cascade sweep procurement-guarded\n  \
                            cascade sweep procurement-guarded --set mitigations.breaker.failure_threshold=1,3,8 --runs 100\n  \
                            cascade sweep procurement-guarded --shard 2/8 --out shards/2")]
    Sweep(SweepArgs),
    /// Combine the shard directories of one sweep into its whole outputs.
    #[command(after_help = "Example:\n  cascade merge shards/1 shards/2 shards/3 --out out/whole")]
    Merge(MergeArgs),
    /// Find the cheapest setting on a grid (then refined) that meets targets.
    #[command(after_help = "Example:\n  \
                            cascade tune procurement-guarded --target 'agents_reached.mean<=1' --target 'containment_rate>=0.95'")]
    Tune(TuneArgs),
    /// Compare a scenario's results, as written and at every sweep point, with a committed baseline (exit 1 on a regression, 3 when the scenario changed but every metric holds).
    #[command(
        after_help = "Examples:\n  cascade check procurement-guarded --baseline reports/baselines/procurement-guarded.toml\n  \
                            cascade check my-system.toml --baseline my-system.baseline.toml --update"
    )]
    Check(CheckArgs),
    /// Build a scenario from a system's own traces (OpenTelemetry, GenAI conventions).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Check a scenario file and report the first problem, if any.
    #[command(after_help = "Example:\n  cascade validate my-system.toml")]
    Validate(ValidateArgs),
    /// List the bundled scenarios.
    #[command(after_help = "Example:\n  cascade list")]
    List,
    /// Print a bundled scenario's TOML, a starting point for one's own.
    #[command(after_help = "Example:\n  cascade show procurement-guarded > my-system.toml")]
    Show(NameArg),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  cascade completions bash > ~/.local/share/bash-completion/completions/cascade"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff) of cascade or of one command.
    #[command(
        after_help = "Examples:\n  cascade man > cascade.1 && man ./cascade.1\n  cascade man run > cascade-run.1"
    )]
    Man(ManArgs),
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Read OTLP JSON traces (the Collector's file exporter, one request per line, or one document) and write a scenario: agents, channels, sources, output rules, joins, checks, actions and fitted timing, each with its evidence.
    #[command(after_help = "Examples:\n  cascade import otel traces.jsonl --out my-system.toml\n  \
                            cascade import otel day1.json day2.json --out my-system.toml --name my-system && cascade validate my-system.toml")]
    Otel(OtelArgs),
}

#[derive(Args)]
pub struct OtelArgs {
    /// OTLP JSON files (`-` reads standard input); all are one system.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The scenario file to write (refused if it exists, unless --force).
    #[arg(long)]
    pub out: PathBuf,
    /// The scenario's name (default: the output file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
}

impl OtelArgs {
    pub fn options(&self) -> app::import::ImportOptions {
        app::import::ImportOptions {
            files: self.files.clone(),
            out: self.out.clone(),
            name: self.name.clone(),
            force: self.force,
        }
    }
}

#[derive(Args)]
pub struct ScenarioArg {
    /// Scenario file, or the name of a bundled scenario (see `cascade list`).
    pub scenario: String,
}

#[derive(Args)]
pub struct NameArg {
    /// A bundled scenario (see `cascade list`).
    pub name: String,
}

#[derive(Args)]
pub struct ManArgs {
    #[arg(help = man_help())]
    pub command: Option<String>,
}

/// The subcommands, as `man` takes them (tests/cli.rs holds it to those `--help` lists).
pub const COMMANDS: [&str; 12] =
    ["run", "replay", "sweep", "merge", "tune", "check", "import", "validate", "list", "show", "completions", "man"];

fn man_help() -> String {
    format!("A command, for its own page (cascade-COMMAND) with every option: {}", COMMANDS.join(", "))
}

/// `--target`'s help, listing the statistics and comparisons it takes.
fn target_help() -> String {
    format!(
        "A target every setting is checked against: METRIC[.STAT] OP VALUE, e.g. agents_reached.p99<=2 or \
         rejected_clean_share<=0.01 (repeatable). METRIC: any summary.csv metric, containment_rate, \
         rejected_clean_share, tasks_lost_share or reviewer_utilisation; STAT: {} (default mean); OP: {}; times in seconds",
        cascade::tune::STATS.map(|(name, _)| name).join(", "),
        cascade::tune::OPS.map(|(symbol, _)| symbol).join(" ")
    )
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Seed, replications and threads: every command that runs replications.
#[derive(Args)]
pub struct Replications {
    /// Master seed; with the scenario bytes and version it fixes every result.
    #[arg(long, default_value_t = Common::default().seed)]
    pub seed: u64,
    /// Replications (per point for sweep, tune and check)
    /// [default: 1000 for run, 200 for sweep, tune and check].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: Option<u64>,
    /// Worker threads (0 = one per core, at most 256). Results do not depend on it.
    #[arg(long, default_value_t = Common::default().threads)]
    pub threads: usize,
    #[command(flatten)]
    pub events: EventBudget,
}

/// The event budget: every command that runs the engine.
#[derive(Args)]
pub struct EventBudget {
    /// Events one run may process; a scenario estimated to need more is
    /// refused before it runs, and a run that reaches it is stopped.
    #[arg(long, value_name = "N", default_value_t = Budget::default().events)]
    pub max_events: u64,
}

impl Replications {
    fn common(&self, destination: &Destination) -> Common {
        Common {
            seed: self.seed,
            threads: self.threads,
            out: destination.out.clone(),
            force: destination.force,
            command_line: std::env::args().collect(),
            budget: Budget { events: self.events.max_events, ..Budget::default() },
        }
    }
}

/// The scenario, its replications and the output directory: `run`,
/// `sweep` and `tune`.
#[derive(Args)]
pub struct Shared {
    #[command(flatten)]
    pub scenario: ScenarioArg,
    #[command(flatten)]
    pub replications: Replications,
    #[command(flatten)]
    pub destination: Destination,
}

/// Where a command writes its results.
#[derive(Args)]
pub struct Destination {
    /// Output directory, replaced whole [default: out/<scenario name>/<command>, e.g. out/procurement/run].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an output directory another command made.
    #[arg(long)]
    pub force: bool,
}

impl Shared {
    /// The library's common options and the replications (`default` when not given).
    fn options(&self, default_runs: u64) -> (Common, u64) {
        let common = self.replications.common(&self.destination);
        (common, self.replications.runs.unwrap_or(default_runs))
    }
}

/// The machine-readable form of a command's summary on stdout.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables for people.
    Table,
    /// One JSON document.
    Json,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub shared: Shared,
    #[arg(long, value_delimiter = ',', value_name = "LIST", help = paired_off_help())]
    pub paired_off: Vec<String>,
    /// Summary on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `--paired-off`'s help, listing every name it takes (from the library,
/// which refuses any other with one line).
fn paired_off_help() -> String {
    format!(
        "Also run every replication with these mitigations off ({}, or all; comma-separated), on the same \
         random streams, and write the paired differences to paired.csv",
        cascade::mitigation::Mitigations::names().collect::<Vec<_>>().join(", ")
    )
}

impl RunArgs {
    pub fn options(&self) -> app::run::RunOptions {
        let (common, runs) = self.shared.options(app::run::RunOptions::default().runs);
        app::run::RunOptions { common, runs, paired_off: self.paired_off.clone() }
    }
}

#[derive(Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub scenario: ScenarioArg,
    #[command(flatten)]
    pub events: EventBudget,
}

#[derive(Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub scenario: ScenarioArg,
    /// Replication index to replay (the `run` column of runs.csv).
    #[arg(long)]
    pub run: u64,
    /// The master seed the run was made with.
    #[arg(long, default_value_t = Common::default().seed)]
    pub seed: u64,
    /// Output directory, replaced whole [default: out/<scenario name>/replay-<RUN>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an output directory another command made.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub events: EventBudget,
    /// Rows the trace may hold (about 110 bytes each in trace.csv); a run
    /// that reaches it is stopped.
    #[arg(long, value_name = "N", default_value_t = Budget::default().trace_rows)]
    pub max_trace_rows: u64,
    /// Also write the run as OpenTelemetry traces (OTLP JSON, one request per task per line) to FILE, for Jaeger, Grafana Tempo or `cascade import otel`.
    #[arg(long, value_name = "FILE")]
    pub otlp: Option<PathBuf>,
    /// Unix seconds that simulated time zero maps to in the OTLP export [default: 2026-01-01T00:00:00Z].
    #[arg(long, value_name = "SECONDS", default_value_t = app::replay::EPOCH, hide_default_value = true)]
    pub epoch: u64,
}

impl ReplayArgs {
    pub fn options(&self) -> app::replay::ReplayOptions {
        let common = Common {
            seed: self.seed,
            threads: 1,
            out: self.out.clone(),
            force: self.force,
            command_line: std::env::args().collect(),
            budget: Budget { events: self.events.max_events, trace_rows: self.max_trace_rows },
        };
        app::replay::ReplayOptions { common, run: self.run, otlp: self.otlp.clone(), epoch: self.epoch }
    }
}

#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub shared: Shared,
    /// A swept key and its values: KEY=V1,V2,... or KEY=FROM..TO[:STEP]
    /// (repeatable; adds to or replaces the scenario's [sweep] table).
    #[arg(long = "set", value_name = "KEY=VALUES")]
    pub set: Vec<String>,
    /// Compute only slice I of N (1-based) of the (point, run) space; merge the slices with `cascade merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Give each point its own random streams instead of common random numbers.
    #[arg(long)]
    pub independent: bool,
    /// Summary on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

impl SweepArgs {
    pub fn options(&self) -> Result<app::sweep::SweepOptions, Error> {
        let shard = self.shard.as_deref().map(Shard::parse).transpose()?;
        let (common, runs) = self.shared.options(app::sweep::SweepOptions::default().runs);
        Ok(app::sweep::SweepOptions { common, runs, set: axes(&self.set)?, shard, independent: self.independent })
    }
}

fn axes(set: &[String]) -> Result<Vec<Axis>, Error> {
    set.iter().map(|a| sweep::parse_set(a)).collect()
}

#[derive(Args)]
pub struct MergeArgs {
    /// Shard output directories of one sweep, in any order.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Output directory for the merged results, replaced whole.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an output directory another command made.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub shared: Shared,
    #[arg(long = "target", required = true, value_name = "TARGET", help = target_help())]
    pub targets: Vec<String>,
    /// Swept keys, as for `sweep` (adds to or replaces the scenario's [sweep]).
    #[arg(long = "set", value_name = "KEY=VALUES")]
    pub set: Vec<String>,
    /// The cost to minimise among settings that meet the targets: any METRIC
    /// a target may name [default: clean messages rejected, or clean actions
    /// blocked or capped].
    #[arg(long, value_name = "METRIC")]
    pub minimize: Option<String>,
    /// Rounds of refinement between the best setting and its neighbours on numeric keys.
    #[arg(long, default_value_t = app::tune::TuneOptions::default().refine)]
    pub refine: u32,
    /// Summary on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

impl TuneArgs {
    pub fn options(&self) -> Result<app::tune::TuneOptions, Error> {
        let targets: Vec<Target> = self.targets.iter().map(|t| tune::parse_target(t)).collect::<Result<_, _>>()?;
        let (common, runs) = self.shared.options(app::tune::TuneOptions::default().runs);
        Ok(app::tune::TuneOptions {
            common,
            runs,
            set: axes(&self.set)?,
            targets,
            minimize: self.minimize.as_deref().map(tune::parse_cost).transpose()?,
            refine: self.refine,
        })
    }
}

#[derive(Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scenario: ScenarioArg,
    /// Seed and runs per point for a new baseline (an existing one keeps its own; at least 2 runs).
    #[command(flatten)]
    pub replications: Replications,
    /// The baseline file (TOML).
    #[arg(long)]
    pub baseline: PathBuf,
    /// Rewrite the baseline from the current results (rules kept) and say what changed.
    #[arg(long)]
    pub update: bool,
    /// Accept a scenario changed since the baseline when every metric holds
    /// (else such a check exits 3, after printing the comparison).
    #[arg(long)]
    pub compare_changed: bool,
    /// Read the results of an earlier `run` (the scenario as written) and/or
    /// `sweep` (its grid) of this scenario from DIR (summary.csv and
    /// manifest.json) instead of running it; give it once for each.
    #[arg(long, value_name = "DIR")]
    pub results: Vec<PathBuf>,
    /// Also write a JUnit XML report (one test case per point and metric).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// The comparison on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

impl CheckArgs {
    pub fn options(&self) -> app::check::CheckOptions {
        let runs = self.replications.runs.unwrap_or(app::check::CheckOptions::default().runs);
        app::check::CheckOptions {
            common: self.replications.common(&Destination { out: None, force: false }),
            runs,
            baseline: self.baseline.clone(),
            update: self.update,
            compare_changed: self.compare_changed,
            results: self.results.clone(),
            junit: self.junit.clone(),
            scenario_argument: self.scenario.scenario.clone(),
        }
    }
}
