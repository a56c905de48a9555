//! What the commands print on stdout: tables for people, or one JSON
//! document (`--format json`). Durations on screen are seconds to the
//! millisecond; the CSV files keep microseconds.

use crate::cli::args::Format;
use cascade::app::check::CheckOutcome;
use cascade::app::merge::MergeOutcome;
use cascade::app::replay::ReplayOutcome;
use cascade::app::run::RunOutcome;
use cascade::app::sweep::SweepOutcome;
use cascade::app::tune::{TuneOptions, TuneOutcome};
use cascade::app::validate::Validation;
use cascade::app::Scenario;
use cascade::metrics::{self, CheckCounts, Unit};
use cascade::paired::PairedMetric;
use cascade::results::json;
use cascade::summary::{CheckTotals, Stat, Summary};
use cascade::sweep;
use cascade::tune::{self, Target};
use serde_json::json;

type Formatter<T> = fn(T) -> String;

/// Microseconds as seconds to the millisecond.
fn seconds(us: f64) -> String {
    format!("{:.3}s", us / 1e6)
}

/// How a value of `unit` (in stored units) and a quantile print.
fn formats(unit: Unit) -> (Formatter<f64>, Formatter<u64>) {
    match unit {
        Unit::Count | Unit::Fraction => (|v| format!("{v:.3}"), |v| v.to_string()),
        Unit::Micros => (seconds, |v| seconds(v as f64)),
    }
}

fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).expect("JSON values serialise"));
}

/// A run's summary: the metrics the scenario's features make meaningful
/// (the CSV files have them all), then the paired comparison.
pub fn run(scenario: &Scenario, off: &[String], outcome: &RunOutcome) {
    let model = &scenario.model;
    println!("{}: {} runs -> {}", model.name, outcome.summary.runs, outcome.dir.display());
    println!(
        "{:<30} {:>12} {:>25} {:>12} {:>12} {:>12} {:>12}",
        "metric", "mean", "95% CI", "p50", "p90", "p99", "max"
    );
    for row in outcome.summary.metrics.iter().filter(|m| m.metric.feature.used_by(model)) {
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
        let (value, quantile) = formats(row.metric.unit());
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
    if model.checks() {
        checks(model, &outcome.checks);
    }
    if let Some(rows) = &outcome.paired {
        paired(off, rows);
    }
}

/// What each check did, as means per run (`checks.csv` has the intervals).
fn checks(model: &cascade::model::Model, totals: &CheckTotals) {
    println!();
    println!("checks (mean per run):");
    print!("{:<30}", "check");
    CheckCounts::NAMES.iter().for_each(|name| print!(" {name:>12}"));
    println!();
    for row in totals.rows().chunks(CheckCounts::NAMES.len()) {
        print!("{:<30}", model.agents[row[0].0 as usize].name);
        row.iter().for_each(|(_, _, interval)| print!(" {:>12.3}", interval.mean));
        println!();
    }
}

fn paired(off: &[String], rows: &[PairedMetric]) {
    println!();
    println!("paired with {} off (same random streams; difference = with - without):", off.join(", "));
    println!("{:<30} {:>12} {:>12} {:>12} {:>27}", "metric", "with", "without", "difference", "95% CI");
    for row in rows {
        let (value, _) = formats(row.metric.unit());
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

/// `run --format json`.
pub fn run_json(scenario: &Scenario, seed: u64, outcome: &RunOutcome) {
    print_json(&json!({
        "command": "run",
        "scenario": scenario.model.name,
        "seed": seed,
        "dir": outcome.dir,
        "summary": json::summary(&outcome.summary),
        "checks": json::checks(&scenario.model, &outcome.checks),
        "paired": outcome.paired.as_deref().map(json::paired),
    }));
}

pub fn replay(scenario: &Scenario, run: u64, outcome: &ReplayOutcome) {
    println!(
        "{}: run {run} replayed, {} trace rows -> {}",
        scenario.model.name,
        outcome.trace_rows,
        outcome.dir.join("trace.csv").display()
    );
    if let Some(path) = &outcome.otlp {
        println!("OpenTelemetry traces -> {}", path.display());
    }
}

/// A sweep's headline metrics per point (those the catalogue puts in the
/// sweep table and the scenario's features make meaningful), each as its
/// mean and 95% interval.
pub fn sweep(scenario: &Scenario, outcome: &SweepOutcome) {
    let info = &outcome.info;
    println!("{} points x {} runs -> {}", info.points, info.runs_per_point, outcome.dir.display());
    let keys = info.keys().join(", ");
    let columns: Vec<_> = metrics::headline()
        .into_iter()
        .filter(|(m, h)| h.sweep_table && m.feature.used_by(&scenario.model))
        .map(|(m, _)| m)
        .collect();
    let rows: Vec<(String, Vec<String>)> = outcome
        .summaries
        .iter()
        .enumerate()
        .filter(|(_, s)| s.runs > 0)
        .map(|(point, s)| {
            let cells = columns.iter().map(|m| estimate_cell(s, m.name, m.unit())).collect();
            (info.labels(point as u64).join(", "), cells)
        })
        .collect();
    // The label column fits the keys' names and every point's values.
    let width = rows.iter().map(|r| r.0.chars().count()).chain([keys.chars().count()]).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns.len())
        .map(|c| rows.iter().map(|r| r.1[c].chars().count()).chain([columns[c].name.len()]).max().unwrap_or(0))
        .collect();
    let mut header = format!("{keys:<width$}");
    for (m, w) in columns.iter().zip(&widths) {
        header.push_str(&format!(" {:>w$}", m.name));
    }
    println!("{header}");
    for (label, cells) in rows {
        let mut line = format!("{label:<width$}");
        for (cell, w) in cells.iter().zip(&widths) {
            line.push_str(&format!(" {cell:>w$}"));
        }
        println!("{line}");
    }
}

/// Mean and 95% interval in readable units (seconds for times), `-` when
/// undefined; one run has no interval.
fn estimate_cell(summary: &Summary, metric: &str, unit: Unit) -> String {
    let Some((mean, low, high)) = summary.estimate(metric) else { return "-".into() };
    let (value, digits): (fn(f64, usize) -> String, usize) = match unit {
        Unit::Micros => (|v, d| format!("{v:.d$}s"), 1),
        Unit::Count | Unit::Fraction => (|v, d| format!("{v:.d$}"), 3),
    };
    if low.is_nan() {
        return value(mean, digits);
    }
    format!("{} [{}, {}]", value(mean, digits), value(low, digits), value(high, digits))
}

/// `sweep --format json`: every point with runs, its values and summary.
pub fn sweep_json(scenario: &Scenario, seed: u64, outcome: &SweepOutcome) {
    let info = &outcome.info;
    let keys = info.keys();
    let points: Vec<serde_json::Value> = outcome
        .summaries
        .iter()
        .enumerate()
        .filter(|(_, s)| s.runs > 0)
        .map(|(p, s)| json!({ "point": p, "values": json::values(&keys, &info.labels(p as u64)), "summary": json::summary(s) }))
        .collect();
    print_json(&json!({
        "command": "sweep",
        "scenario": scenario.model.name,
        "seed": seed,
        "dir": outcome.dir,
        "grid": info,
        "points": points,
    }));
}

pub fn merge(outcome: &MergeOutcome) {
    println!("merged {} shards, {} runs -> {}", outcome.shards, outcome.runs, outcome.dir.display());
}

/// How many settings meet the targets, and the cheapest that does, with
/// intervals.
pub fn tune(outcome: &TuneOutcome, targets: &[Target]) {
    let TuneOutcome { keys, settings, summaries, best, .. } = outcome;
    let cost = outcome.cost.name;
    let describe = |i: usize| {
        keys.iter().zip(&settings[i]).map(|(k, v)| format!("{k} = {}", sweep::label(v))).collect::<Vec<_>>().join(", ")
    };
    let met = summaries.iter().filter(|s| targets.iter().all(|t| tune::meets(s, t))).count();
    println!("{} settings tried, {met} meet every target; cost: {cost}", settings.len());
    let Some(best) = *best else {
        println!("no setting meets the targets; the nearest (tune.csv has every setting):");
        for i in tune::nearest(summaries, targets, cost, 3) {
            println!("  {}", describe(i));
            let s = &summaries[i];
            for target in targets {
                let line = match tune::observed(s, target) {
                    None => "undefined (not met)".to_string(),
                    Some(v) if tune::meets(s, target) => format!("{v:.4} (met)"),
                    Some(v) => format!("{v:.4} (short by {:.4})", (v - target.value).abs()),
                };
                println!("    {}: {line}", target.text);
            }
            let price = s.estimate(cost).map_or("-".to_string(), |(m, _, _)| format!("{m:.4}"));
            println!("    {cost}: {price}");
        }
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

/// `tune --format json`: every setting tried and the best one's index.
pub fn tune_json(scenario: &Scenario, options: &TuneOptions, outcome: &TuneOutcome) {
    let targets = &options.targets;
    let settings: Vec<serde_json::Value> = outcome
        .settings
        .iter()
        .zip(&outcome.summaries)
        .map(|(values, s)| {
            let labels: Vec<String> = values.iter().map(sweep::label).collect();
            json::setting(json::values(&outcome.keys, &labels), s, targets, outcome.cost.name)
        })
        .collect();
    print_json(&json!({
        "command": "tune",
        "scenario": scenario.model.name,
        "seed": options.common.seed,
        "runs": options.runs,
        "dir": outcome.dir,
        "cost": outcome.cost.name,
        "settings": settings,
        "best": outcome.best,
        "nearest": if outcome.best.is_some() { Vec::new() } else { tune::nearest(&outcome.summaries, targets, outcome.cost.name, 3) },
    }));
}

pub fn check(outcome: &CheckOutcome, format: Format) {
    let rows = &outcome.rows;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(rows).expect("rows serialise"));
    } else {
        let width = rows.iter().map(|r| r.point_label().len()).max().unwrap_or(0).max(10);
        println!(
            "{:<width$} {:<24} {:>12} {:>12} {:>34}  verdict",
            "point", "metric", "baseline", "now", "change [95% CI]"
        );
        let number = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
        for row in rows {
            let change = row
                .change
                .map_or("-".to_string(), |c| format!("{:+.4} [{:+.4}, {:+.4}]", c.difference, c.ci95_low, c.ci95_high));
            println!(
                "{:<width$} {:<24} {:>12} {:>12} {change:>34}  {}",
                row.point_label(),
                row.metric,
                number(row.baseline),
                number(row.now),
                row.verdict
            );
        }
    }
}

pub fn validate(scenario: &Scenario, v: &Validation) {
    let channels = v.channels.map_or("generated channels".to_string(), |c| format!("{c} channels"));
    let mitigations = if v.mitigations.is_empty() {
        "no mitigations".to_string()
    } else {
        format!("mitigations: {}", v.mitigations.join(", "))
    };
    let grid = v.points.map_or(String::new(), |points| format!("; sweep: {points} points"));
    println!(
        "ok: {} ({} agents, {channels}, {} sources, {} faults; {mitigations}{grid}; about {:.0} events per run)",
        scenario.label, v.agents, v.sources, v.faults, v.events
    );
}

/// What an import found and where it wrote the scenario.
pub fn import(outcome: &cascade::app::import::ImportOutcome) {
    let s = &outcome.system;
    println!(
        "wrote {}: {} agents, {} channels, {} sources from {} spans in {} traces (next: add faults and mitigations, then cascade validate)",
        outcome.out.display(),
        s.agents.len(),
        s.channels.len(),
        s.sources.len(),
        s.spans,
        s.traces
    );
}

/// One line per bundled scenario: its name, padded to the longest, then
/// the first line of its description.
pub fn list(scenarios: &[(&str, String)]) {
    let width = scenarios.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, description) in scenarios {
        println!("{name:<width$}  {description}");
    }
}
