//! Output files: `runs.csv`, `summary.csv`, `trace.csv` and `manifest.json`.
//!
//! Every file is rendered in memory, then written as `NAME.partial` and
//! renamed into place; `manifest.json`, written last, is what marks a
//! directory as complete. Numbers are printed with fixed rules (integer
//! microseconds as seconds with six decimals, other floats with six
//! decimals) so the bytes are identical on every platform.

use crate::engine::{Detail, Message, Record, TraceRow};
use crate::metrics::{self, Metric, Read, RunMetrics, Unit};
use crate::model::{Model, NONE, NO_FAULT};
use crate::summary::{MetricSummary, Stat, Summary};
use crate::time::format_seconds;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::io;
use std::path::Path;

/// Bumped whenever the model's output for the same inputs changes.
pub const MODEL_VERSION: u32 = 3;

/// What produced an output directory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    pub tool: String,
    pub tool_version: String,
    pub model_version: u32,
    pub command: String,
    pub scenario_name: String,
    pub scenario_file: String,
    pub scenario_sha256: String,
    pub seed: u64,
    pub point: u64,
    pub first_run: u64,
    pub runs: u64,
    pub command_line: Vec<String>,
    pub files: Vec<String>,
    /// The grid, for `sweep` and `merge` outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepInfo>,
}

/// A sweep's grid and slice, as recorded in its manifest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SweepInfo {
    /// Swept keys with their values as printed in the CSV columns.
    pub axes: Vec<AxisInfo>,
    pub points: u64,
    pub runs_per_point: u64,
    /// Every point uses the streams of `(seed, 0, run)` (else `(seed, point, run)`).
    pub common_random_numbers: bool,
    /// `[index, count]` (1-based) for a shard; `None` for a whole sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u64; 2]>,
}

/// One swept key and its values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AxisInfo {
    pub key: String,
    pub values: Vec<String>,
}

/// Hex SHA-256 of the scenario's bytes.
pub fn scenario_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn float(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.6}")
    } else {
        String::new()
    }
}

fn seconds(value: f64) -> String {
    float(value / 1e6)
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new())
}

fn finish(writer: csv::Writer<Vec<u8>>) -> Vec<u8> {
    writer.into_inner().expect("writing to memory cannot fail")
}

/// Column names of `runs.csv`: `run`, then every metric with a column.
pub fn run_columns() -> Vec<&'static str> {
    std::iter::once("run").chain(metrics::columns().map(|m| m.column)).collect()
}

/// One metric's `runs.csv` cell.
fn run_cell(metric: &Metric, run: &RunMetrics) -> String {
    match metric.read {
        Read::Count(read) => read(run).to_string(),
        Read::Time(read) => read(run).map(format_seconds).unwrap_or_default(),
        Read::MeanTime(read) => read(run).map(seconds).unwrap_or_default(),
        Read::Flag(read) => (read(run) as u8).to_string(),
        Read::Share { .. } => String::new(),
    }
}

/// One `runs.csv` record (without any sweep columns).
fn run_record(m: &RunMetrics) -> Vec<String> {
    std::iter::once(m.run.to_string()).chain(metrics::columns().map(|metric| run_cell(metric, m))).collect()
}

/// `runs.csv`: one row per run, in run order.
pub fn runs_csv(runs: &[RunMetrics]) -> Vec<u8> {
    let mut writer = csv_writer();
    writer.write_record(run_columns()).expect("in-memory write");
    for m in runs {
        writer.write_record(run_record(m)).expect("in-memory write");
    }
    finish(writer)
}

/// Column names of `summary.csv` (without any sweep columns).
pub const SUMMARY_COLUMNS: [&str; 10] =
    ["metric", "unit", "n", "mean", "ci95_low", "ci95_high", "p50", "p90", "p99", "max"];

/// The `summary.csv` records, one per summarised metric.
fn summary_records(summary: &Summary) -> Vec<Vec<String>> {
    summary.metrics.iter().map(summary_record).collect()
}

fn summary_record(row: &MetricSummary) -> Vec<String> {
    let unit = row.metric.unit();
    let mut record = vec![row.metric.name.to_string(), unit.name().to_string()];
    match &row.stat {
        Stat::Distribution(None) => {
            record.extend(["0".to_string()].into_iter().chain(std::iter::repeat_n(String::new(), 7)))
        }
        Stat::Distribution(Some(d)) => {
            let scale = |v: f64| if unit == Unit::Micros { seconds(v) } else { float(v) };
            let quantile = |v: u64| if unit == Unit::Micros { format_seconds(v) } else { v.to_string() };
            record.extend([
                d.n.to_string(),
                scale(d.mean),
                scale(d.ci_low),
                scale(d.ci_high),
                quantile(d.p50),
                quantile(d.p90),
                quantile(d.p99),
                quantile(d.max),
            ]);
        }
        Stat::Proportion(p) => {
            record.extend([p.n.to_string(), float(p.rate), float(p.low), float(p.high)]);
            record.extend(std::iter::repeat_n(String::new(), 4));
        }
    }
    record
}

/// `summary.csv`: one row per metric, then the containment rate.
pub fn summary_csv(summary: &Summary) -> Vec<u8> {
    let mut writer = csv_writer();
    writer.write_record(SUMMARY_COLUMNS).expect("in-memory write");
    for row in summary_records(summary) {
        writer.write_record(&row).expect("in-memory write");
    }
    finish(writer)
}

/// A sweep's `runs.csv`: `point`, the swept keys, then the run columns;
/// `labels[p]` are point p's values.
pub fn sweep_runs_csv(keys: &[String], labels: &[Vec<String>], runs: &[(u64, RunMetrics)]) -> Vec<u8> {
    let mut writer = csv_writer();
    let header = ["point"].iter().map(|s| s.to_string()).chain(keys.iter().cloned());
    writer.write_record(header.chain(run_columns().into_iter().map(String::from))).expect("in-memory write");
    for (point, m) in runs {
        let prefix = std::iter::once(point.to_string()).chain(labels[*point as usize].iter().cloned());
        writer.write_record(prefix.chain(run_record(m))).expect("in-memory write");
    }
    finish(writer)
}

/// A sweep's `summary.csv`: per point, its values and every summary row.
pub fn sweep_summary_csv(keys: &[String], labels: &[Vec<String>], summaries: &[Summary]) -> Vec<u8> {
    let mut writer = csv_writer();
    let header = ["point"].iter().map(|s| s.to_string()).chain(keys.iter().cloned());
    writer.write_record(header.chain(SUMMARY_COLUMNS.iter().map(|s| s.to_string()))).expect("in-memory write");
    for (point, summary) in summaries.iter().enumerate() {
        for row in summary_records(summary) {
            let prefix = std::iter::once(point.to_string()).chain(labels[point].iter().cloned());
            writer.write_record(prefix.chain(row)).expect("in-memory write");
        }
    }
    finish(writer)
}

/// `paired.csv`: each metric with and without the mitigations turned off,
/// and the mean per-run difference (with - without) with its 95% interval.
pub fn paired_csv(rows: &[crate::paired::PairedMetric]) -> Vec<u8> {
    let mut writer = csv_writer();
    writer
        .write_record(["metric", "unit", "n", "mean_with", "mean_without", "mean_difference", "ci95_low", "ci95_high"])
        .expect("in-memory write");
    for row in rows {
        let unit = row.metric.unit();
        let scale: fn(f64) -> String = if unit == Unit::Micros { seconds } else { float };
        writer
            .write_record([
                row.metric.name.to_string(),
                unit.name().to_string(),
                row.n.to_string(),
                scale(row.mean_with),
                scale(row.mean_without),
                scale(row.mean_difference),
                scale(row.ci_low),
                scale(row.ci_high),
            ])
            .expect("in-memory write");
    }
    finish(writer)
}

/// `trace.csv`: the event trace of one run, with agent and fault names.
pub fn trace_csv(model: &Model, trace: &[TraceRow]) -> Vec<u8> {
    let agent = |a: u32| if a == NONE { String::new() } else { model.agents[a as usize].name.clone() };
    let index = |i: u32| if i == NONE { String::new() } else { i.to_string() };
    let mut writer = csv_writer();
    writer
        .write_record([
            "time_s",
            "event",
            "agent",
            "message",
            "parent",
            "task",
            "depth",
            "peer",
            "count",
            "signal",
            "corrupted",
            "root_fault",
            "resource",
        ])
        .expect("in-memory write");
    let resource = |r: u32| model.resources.get(r as usize).map_or(String::new(), |r| r.name.clone());
    for row in trace {
        let (mut peer, mut count, mut acted_on) = (String::new(), String::new(), String::new());
        match row.detail {
            Detail::None => {}
            Detail::Peer(a) => peer = agent(a),
            Detail::Count(n) => count = n.to_string(),
            Detail::Resource(r) => acted_on = resource(r),
        }
        let root = if row.root == NO_FAULT { String::new() } else { model.faults[row.root as usize].name.clone() };
        writer
            .write_record([
                format_seconds(row.time),
                row.kind.name().to_string(),
                agent(row.agent),
                index(row.message),
                index(row.parent),
                index(row.task),
                row.depth.to_string(),
                peer,
                count,
                float(row.signal),
                ((row.root != NO_FAULT) as u8).to_string(),
                root,
                acted_on,
            ])
            .expect("in-memory write");
    }
    finish(writer)
}

/// `memory.csv`: every record in memory at the horizon (rolled-back ones
/// flagged), in write order, with the chain of agents and messages that
/// produced it, from the source to the writer.
pub fn memory_csv(model: &Model, records: &[(Record, Vec<(u32, Message)>)]) -> Vec<u8> {
    let name = |a: u32| if a == NONE { String::new() } else { model.agents[a as usize].name.clone() };
    let mut writer = csv_writer();
    writer
        .write_record([
            "record",
            "time_s",
            "writer",
            "signal",
            "corrupted",
            "root_fault",
            "rolled_back",
            "chain_agents",
            "chain_messages",
        ])
        .expect("in-memory write");
    for (record, chain) in records {
        let mut agents: Vec<String> = Vec::with_capacity(chain.len() + 1);
        if let Some((_, first)) = chain.last() {
            agents.push(match (first.sender, first.signed) {
                (NONE, _) => "source".to_string(),
                (claimed, false) => format!("forged:{}", name(claimed)),
                (sender, true) => name(sender),
            });
        }
        agents.extend(chain.iter().rev().map(|(_, m)| name(m.receiver)));
        let ids: Vec<String> = chain.iter().rev().map(|(id, _)| id.to_string()).collect();
        let root =
            if record.root == NO_FAULT { String::new() } else { model.faults[record.root as usize].name.clone() };
        writer
            .write_record([
                record.sequence.to_string(),
                format_seconds(record.time),
                name(record.agent),
                float(record.signal),
                ((record.root != NO_FAULT) as u8).to_string(),
                root,
                (record.removed as u8).to_string(),
                agents.join(">"),
                ids.join(">"),
            ])
            .expect("in-memory write");
    }
    finish(writer)
}

/// `tune.csv`: every setting tried, in order: its values, the cost's mean
/// and CI, each target's observed value and whether it is met, and
/// whether all are.
pub fn tune_csv(
    keys: &[&str],
    settings: &[Vec<toml::Value>],
    summaries: &[Summary],
    targets: &[crate::tune::Target],
    cost: &str,
) -> Vec<u8> {
    let mut writer = csv_writer();
    let mut header: Vec<String> = vec!["setting".into()];
    header.extend(keys.iter().map(|k| k.to_string()));
    header.extend([format!("{cost}_mean"), format!("{cost}_ci95_low"), format!("{cost}_ci95_high")]);
    for target in targets {
        header.extend([target.text.clone(), format!("{} met", target.text)]);
    }
    header.push("meets_all".into());
    writer.write_record(&header).expect("in-memory write");
    for (i, (values, summary)) in settings.iter().zip(summaries).enumerate() {
        let mut row = vec![i.to_string()];
        row.extend(values.iter().map(crate::sweep::label));
        match summary.estimate(cost) {
            Some((m, lo, hi)) => row.extend([float(m), float(lo), float(hi)]),
            None => row.extend([String::new(), String::new(), String::new()]),
        }
        for target in targets {
            row.push(crate::tune::observed(summary, target).map(float).unwrap_or_default());
            row.push((crate::tune::meets(summary, target) as u8).to_string());
        }
        row.push((targets.iter().all(|t| crate::tune::meets(summary, t)) as u8).to_string());
        writer.write_record(&row).expect("in-memory write");
    }
    finish(writer)
}

/// Writes `files` then `manifest.json` into `dir`, each through a
/// `.partial` file renamed into place. An old manifest is removed first, so
/// a directory whose write fails never looks complete.
pub fn write_dir<N: AsRef<str>>(dir: &Path, files: &[(N, Vec<u8>)], manifest: &Manifest) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let manifest_path = dir.join("manifest.json");
    if manifest_path.exists() {
        fs::remove_file(&manifest_path)?;
    }
    let mut json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
    json.push(b'\n');
    let all =
        files.iter().map(|(name, bytes)| (name.as_ref(), bytes.as_slice())).chain([("manifest.json", json.as_slice())]);
    for (name, bytes) in all {
        let partial = dir.join(format!("{name}.partial"));
        let result = fs::write(&partial, bytes).and_then(|()| fs::rename(&partial, dir.join(name)));
        if let Err(error) = result {
            let _ = fs::remove_file(&partial);
            return Err(error);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::summarize;

    #[test]
    fn runs_csv_prints_fixed_formats() {
        let run = RunMetrics {
            run: 3,
            agents_reached: 2,
            contained: true,
            t_contain: Some(1_500_000),
            processed: 3,
            sojourn_total: 1_000_000,
            ..Default::default()
        };
        let text = String::from_utf8(runs_csv(&[run])).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), run_columns().join(","));
        assert_eq!(
            lines.next().unwrap(),
            "3,2,0,0,0,0,,1,1.500000,0,0,0,0,0,0,0.000000,,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.333333"
        );
    }

    #[test]
    fn summary_csv_has_every_metric_and_containment() {
        // Values below 2048 are exact in a 3-significant-figure HdrHistogram.
        let runs = [RunMetrics { contained: true, t_contain: Some(2_000), ..Default::default() }; 4];
        let text = String::from_utf8(summary_csv(&summarize(&runs))).unwrap();
        assert!(
            text.contains("t_contain,seconds,4,0.002000,0.002000,0.002000,0.002000,0.002000,0.002000,0.002000"),
            "{text}"
        );
        assert!(text.contains("mean_sojourn,seconds,0,,,,,,,"));
        assert!(text.lines().last().unwrap().starts_with("containment_rate,fraction,4,1.000000,"));
    }

    #[test]
    fn trace_rows_name_the_other_end_of_their_channel() {
        let model = crate::scenario::parse(
            "t.toml",
            "name = \"t\"\nhorizon = \"1s\"\nquiet_window = \"0s\"\n[[agents]]\nid = \"A\"\n[[agents]]\nid = \"B\"\n[[channels]]\nfrom = \"A\"\nto = \"B\"",
        )
        .unwrap();
        let row = |kind, message, detail| TraceRow {
            time: 1,
            kind,
            agent: 1,
            message,
            parent: NONE,
            task: 0,
            detail,
            depth: 1,
            signal: 0.0,
            root: NO_FAULT,
        };
        use crate::engine::TraceKind;
        let kinds =
            [TraceKind::Send, TraceKind::RejectInvalid, TraceKind::RejectOpen, TraceKind::Capped, TraceKind::Alert];
        let others = [
            row(TraceKind::Process, 7, Detail::None),
            row(TraceKind::MemoryRead, NONE, Detail::Count(3)),
            row(TraceKind::Alert, NONE, Detail::Resource(0)),
        ];
        let rows: Vec<_> = kinds.iter().map(|&k| row(k, 7, Detail::Peer(0))).chain(others).collect();
        let text = String::from_utf8(trace_csv(&model, &rows)).unwrap();
        let column = |i: usize| -> Vec<String> {
            text.lines().skip(1).map(|l| l.split(',').nth(i).unwrap().to_string()).collect()
        };
        assert_eq!(column(7), ["A", "A", "A", "A", "A", "", "", ""], "peers: {text}");
        assert_eq!(column(8), ["", "", "", "", "", "", "3", ""], "counts: {text}");
    }

    #[test]
    fn write_dir_replaces_atomically() {
        let dir = std::env::temp_dir().join(format!("cascade-out-{}", std::process::id()));
        let manifest = Manifest {
            tool: "cascade".into(),
            tool_version: "0".into(),
            model_version: MODEL_VERSION,
            command: "run".into(),
            scenario_name: "x".into(),
            scenario_file: "x.toml".into(),
            scenario_sha256: scenario_hash(b"x"),
            seed: 1,
            point: 0,
            first_run: 0,
            runs: 1,
            command_line: vec![],
            files: vec!["a.csv".into()],
            sweep: None,
        };
        write_dir(&dir, &[("a.csv", b"1\n".to_vec())], &manifest).unwrap();
        assert_eq!(fs::read(dir.join("a.csv")).unwrap(), b"1\n");
        assert!(fs::read_to_string(dir.join("manifest.json"))
            .unwrap()
            .contains(&format!("\"model_version\": {MODEL_VERSION}")));
        assert!(!dir.join("a.csv.partial").exists());
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(scenario_hash(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
