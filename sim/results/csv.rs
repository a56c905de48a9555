//! The CSV files: `runs.csv`, `summary.csv` (and their sweep forms with a
//! point and the swept values in front), `prevalence.csv`, `paired.csv`
//! and `tune.csv`.
//! Numbers are printed with fixed rules (integer microseconds as seconds
//! with six decimals, other floats with six decimals) so the bytes are the
//! same on every platform.

use crate::metrics::{self, Metric, Read, RunMetrics, Unit};
use crate::paired::PairedMetric;
use crate::summary::{CheckTotals, MetricSummary, PrevalenceSample, Stat, Summary};
use crate::sweep;
use crate::time::format_seconds;
use crate::tune::{self, Target};

pub(super) fn float(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.6}")
    } else {
        String::new()
    }
}

fn seconds(value: f64) -> String {
    float(value / 1e6)
}

pub(super) fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new())
}

pub(super) fn finish(writer: csv::Writer<Vec<u8>>) -> Vec<u8> {
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
    let mut writer = RunsCsv::new(Vec::new()).expect("in-memory write");
    runs.iter().for_each(|m| writer.write(0, m).expect("in-memory write"));
    writer.finish().expect("in-memory write")
}

/// `runs.csv` (a run's, or a sweep's with `point` and the swept values in
/// front) written a row at a time, so it can stream to a file.
pub struct RunsCsv<W: std::io::Write> {
    writer: csv::Writer<W>,
    /// A sweep's point labels (`labels[p]` are point p's values).
    labels: Option<Vec<Vec<String>>>,
}

impl<W: std::io::Write> RunsCsv<W> {
    /// A run's `runs.csv`, its header written.
    pub fn new(out: W) -> std::io::Result<RunsCsv<W>> {
        let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
        writer.write_record(run_columns())?;
        Ok(RunsCsv { writer, labels: None })
    }

    /// A sweep's `runs.csv` with the swept `keys`, its header written.
    pub fn sweep(out: W, keys: &[String], labels: Vec<Vec<String>>) -> std::io::Result<RunsCsv<W>> {
        let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
        let header = ["point"].iter().map(|s| s.to_string()).chain(keys.iter().cloned());
        writer.write_record(header.chain(run_columns().into_iter().map(String::from)))?;
        Ok(RunsCsv { writer, labels: Some(labels) })
    }

    /// One run's row (`point` is written only in a sweep's file).
    pub fn write(&mut self, point: u64, m: &RunMetrics) -> std::io::Result<()> {
        match &self.labels {
            None => self.writer.write_record(run_record(m))?,
            Some(labels) => {
                let prefix = std::iter::once(point.to_string()).chain(labels[point as usize].iter().cloned());
                self.writer.write_record(prefix.chain(run_record(m)))?
            }
        }
        Ok(())
    }

    /// The writer, flushed.
    pub fn finish(self) -> std::io::Result<W> {
        self.writer.into_inner().map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// Column names of `summary.csv` (without any sweep columns).
pub const SUMMARY_COLUMNS: [&str; 11] =
    ["metric", "unit", "n", "mean", "sd", "ci95_low", "ci95_high", "p50", "p90", "p99", "max"];

/// The `summary.csv` records, one per summarised metric.
fn summary_records(summary: &Summary) -> Vec<Vec<String>> {
    summary.metrics.iter().map(summary_record).collect()
}

fn summary_record(row: &MetricSummary) -> Vec<String> {
    let unit = row.metric.unit();
    let mut record = vec![row.metric.name.to_string(), unit.name().to_string()];
    match &row.stat {
        Stat::Distribution(None) => {
            record.extend(["0".to_string()].into_iter().chain(std::iter::repeat_n(String::new(), 8)))
        }
        Stat::Distribution(Some(d)) => {
            let scale = |v: f64| if unit == Unit::Micros { seconds(v) } else { float(v) };
            let quantile = |v: u64| if unit == Unit::Micros { format_seconds(v) } else { v.to_string() };
            record.extend([
                d.n.to_string(),
                scale(d.mean),
                scale(d.sd),
                scale(d.ci_low),
                scale(d.ci_high),
                quantile(d.p50),
                quantile(d.p90),
                quantile(d.p99),
                quantile(d.max),
            ]);
        }
        Stat::Proportion(p) => {
            record.extend([p.n.to_string(), float(p.rate), float(p.sd()), float(p.low), float(p.high)]);
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

/// Column names of `checks.csv`.
pub const CHECKS_COLUMNS: [&str; 7] = ["check", "count", "n", "mean", "sd", "ci95_low", "ci95_high"];

/// `checks.csv`: what each check (`names`: agent index and name) did per
/// run, one row per check (by agent order) and count
/// ([`CheckCounts::NAMES`]): the runs, the mean per run, its sd and 95%
/// interval. A sweep's (`points` = its keys and each point's values) has
/// `point` and the values first, one block of rows per point of `totals`;
/// a run's has one block.
///
/// [`CheckCounts::NAMES`]: crate::metrics::CheckCounts::NAMES
pub fn checks_csv(
    points: Option<(&[String], &[Vec<String>])>,
    names: &[(u32, String)],
    totals: &[CheckTotals],
) -> Vec<u8> {
    let mut writer = csv_writer();
    let keys = points.map_or(&[][..], |(keys, _)| keys);
    let point_columns = points.map(|_| "point".to_string()).into_iter().chain(keys.iter().cloned());
    writer.write_record(point_columns.chain(CHECKS_COLUMNS.map(String::from))).expect("in-memory write");
    for (point, totals) in totals.iter().enumerate() {
        let prefix: Vec<String> = match points {
            Some((_, labels)) => std::iter::once(point.to_string()).chain(labels[point].iter().cloned()).collect(),
            None => Vec::new(),
        };
        for (agent, count, interval) in totals.rows() {
            let (low, high) = interval.nonnegative();
            let at = names.binary_search_by_key(&agent, |(a, _)| *a).expect("a check's name");
            let record = [
                names[at].1.clone(),
                count.to_string(),
                interval.n.to_string(),
                float(interval.mean),
                float(interval.sd),
                float(low),
                float(high),
            ];
            writer.write_record(prefix.iter().cloned().chain(record)).expect("in-memory write");
        }
    }
    finish(writer)
}

/// The columns of `prevalence.csv` after any point columns.
pub const PREVALENCE_COLUMNS: [&str; 6] = ["time_s", "mean", "ci95_low", "ci95_high", "runs_p2_5", "runs_p97_5"];

fn prevalence_record(sample: &PrevalenceSample) -> [String; 6] {
    [
        seconds(sample.time as f64),
        float(sample.mean),
        float(sample.ci_low),
        float(sample.ci_high),
        sample.low.to_string(),
        sample.high.to_string(),
    ]
}

/// `prevalence.csv`: agents corrupted over time, per sample time: the mean
/// across runs, its 95% interval, and the band 95% of runs lie in. A
/// sweep's (`points` = its keys and each point's values) has `point` and
/// the values first, one block of rows per point; a run's has one block.
pub fn prevalence_csv(points: Option<(&[String], &[Vec<String>])>, curves: &[Vec<PrevalenceSample>]) -> Vec<u8> {
    let mut writer = csv_writer();
    let mut header: Vec<String> = Vec::new();
    if let Some((keys, _)) = points {
        header.push("point".into());
        header.extend(keys.iter().cloned());
    }
    header.extend(PREVALENCE_COLUMNS.iter().map(|s| s.to_string()));
    writer.write_record(&header).expect("in-memory write");
    for (point, curve) in curves.iter().enumerate() {
        let prefix: Vec<String> = match points {
            Some((_, labels)) => std::iter::once(point.to_string()).chain(labels[point].iter().cloned()).collect(),
            None => Vec::new(),
        };
        for sample in curve {
            writer.write_record(prefix.iter().cloned().chain(prevalence_record(sample))).expect("in-memory write");
        }
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
pub fn paired_csv(rows: &[PairedMetric]) -> Vec<u8> {
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

/// `tune.csv`: every setting tried, in order: its values, the cost's mean
/// and CI, each target's observed value and whether it is met, and
/// whether all are.
pub fn tune_csv(
    keys: &[&str],
    settings: &[Vec<toml::Value>],
    summaries: &[Summary],
    targets: &[Target],
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
        row.extend(values.iter().map(sweep::label));
        match summary.estimate(cost) {
            Some((m, lo, hi)) => row.extend([float(m), float(lo), float(hi)]),
            None => row.extend([String::new(), String::new(), String::new()]),
        }
        for target in targets {
            row.push(tune::observed(summary, target).map(float).unwrap_or_default());
            row.push((tune::meets(summary, target) as u8).to_string());
        }
        row.push((targets.iter().all(|t| tune::meets(summary, t)) as u8).to_string());
        writer.write_record(&row).expect("in-memory write");
    }
    finish(writer)
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
            "3,2,0,0,0,0,,1,1.500000,0,0,0,0,0,0,0.000000,,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.333333,0,0,0,0,0,0,0,0,0,0,0,,0,,,0.000000,0.000000,0,0,0,0,0,0"
        );
    }

    #[test]
    fn every_column_reads_its_own_field() {
        // Each field a different value, so a column reading another field shows.
        let run = RunMetrics {
            run: 1,
            agents_reached: 2,
            agents_corrupted: 3,
            corrupted_messages: 4,
            corrupted_actions: 5,
            corrupted_records: 6,
            t_detect: Some(7_000_000),
            t_contain: Some(8_000_000),
            contained: true,
            onset: Some(9),
            messages: 10,
            actions: 11,
            records: 12,
            rejected_clean: 13,
            rejected_corrupted: 14,
            breaker_trips: 15,
            false_trips: 16,
            capped_clean: 17,
            capped_corrupted: 18,
            held_time: 19_000_000,
            t_attribute: Some(20_000_000),
            reviews: 21,
            agents_quarantined: 22,
            wrong_quarantines: 23,
            rolled_back_clean: 24,
            rolled_back_corrupted: 25,
            corrupted_records_left: 26,
            out_of_scope_succeeded: 27,
            out_of_scope_blocked: 28,
            out_of_scope_blocked_writes: 29,
            out_of_scope_blocked_injected: 30,
            unattributable_actions: 31,
            clean_actions_blocked: 32,
            events: 33,
            tasks: 35,
            tasks_delivered: 36,
            tasks_lost: 37,
            misrouted: 38,
            joins: 39,
            joins_timed_out: 40,
            join_late: 41,
            checks_failed: 42,
            checks_failed_clean: 43,
            retries: 44,
            escalations: 45,
            delivery_time_total: 36 * 46_000_000,
            reviewer_served: 47,
            review_wait_total: 47 * 48_000_000,
            review_wait_p99: Some(51_000_000),
            reviewer_busy: 49_000_000,
            reviewer_capacity: 50_000_000,
            agents_compromised: 52,
            origins_compromised: 53,
            sanitised: 54,
            sanitised_clean: 55,
            injections_relayed: 56,
            memory_compromises: 57,
            processed: 2,
            sojourn_total: 68_000_000,
            prevalence: Default::default(),
        };
        let text = String::from_utf8(runs_csv(&[run])).unwrap();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
        let cell = |column: &str| row[run_columns().iter().position(|c| *c == column).unwrap()];
        let expected = [
            ("run", "1"),
            ("agents_reached", "2"),
            ("agents_corrupted", "3"),
            ("corrupted_messages", "4"),
            ("corrupted_actions", "5"),
            ("corrupted_records", "6"),
            ("t_detect_s", "7.000000"),
            ("contained", "1"),
            ("t_contain_s", "8.000000"),
            ("rejected_clean", "13"),
            ("rejected_corrupted", "14"),
            ("breaker_trips", "15"),
            ("false_trips", "16"),
            ("capped_clean", "17"),
            ("capped_corrupted", "18"),
            ("held_time_s", "19.000000"),
            ("t_attribute_s", "20.000000"),
            ("reviews", "21"),
            ("agents_quarantined", "22"),
            ("wrong_quarantines", "23"),
            ("rolled_back_clean", "24"),
            ("rolled_back_corrupted", "25"),
            ("corrupted_records_left", "26"),
            ("out_of_scope_succeeded", "27"),
            ("out_of_scope_blocked", "28"),
            ("out_of_scope_blocked_writes", "29"),
            ("out_of_scope_blocked_injected", "30"),
            ("unattributable_actions", "31"),
            ("clean_actions_blocked", "32"),
            ("messages", "10"),
            ("actions", "11"),
            ("records", "12"),
            ("events", "33"),
            ("mean_sojourn_s", "34.000000"),
            ("tasks", "35"),
            ("tasks_delivered", "36"),
            ("tasks_lost", "37"),
            ("misrouted", "38"),
            ("joins", "39"),
            ("joins_timed_out", "40"),
            ("join_late", "41"),
            ("checks_failed", "42"),
            ("checks_failed_clean", "43"),
            ("retries", "44"),
            ("escalations", "45"),
            ("mean_time_to_deliver_s", "46.000000"),
            ("reviewer_served", "47"),
            ("mean_review_wait_s", "48.000000"),
            ("review_wait_p99_s", "51.000000"),
            ("reviewer_busy_s", "49.000000"),
            ("reviewer_capacity_s", "50.000000"),
            ("agents_compromised", "52"),
            ("origins_compromised", "53"),
            ("sanitised", "54"),
            ("sanitised_clean", "55"),
            ("injections_relayed", "56"),
            ("memory_compromises", "57"),
        ];
        assert_eq!(row.len(), expected.len(), "one cell per column: {text}");
        for (column, value) in expected {
            assert_eq!(cell(column), value, "{column}");
        }
        // The summary reads the same fields: each mean is the one run's value.
        let summary = crate::summary::summarize(&[run]);
        for (column, value) in expected.iter().filter(|(c, _)| !matches!(*c, "run" | "records" | "events")) {
            let metric = metrics::columns().find(|m| m.column == *column).unwrap();
            let mean = summary.estimate(metric.name).unwrap().0;
            assert!((mean - value.parse::<f64>().unwrap()).abs() < 1e-9, "{column}: summary mean {mean}");
        }
    }

    /// A sweep's `runs.csv` written whole.
    fn sweep_runs_csv(keys: &[String], labels: &[Vec<String>], runs: &[crate::sweep::PointRun]) -> Vec<u8> {
        let mut writer = RunsCsv::sweep(Vec::new(), keys, labels.to_vec()).unwrap();
        runs.iter().for_each(|(point, m)| writer.write(*point, m).unwrap());
        writer.finish().unwrap()
    }

    #[test]
    fn sweep_csvs_put_the_point_and_its_values_first() {
        let run = |r| RunMetrics { run: r, agents_reached: r as u32, contained: true, ..Default::default() };
        let results = [(0, run(0)), (1, run(0)), (1, run(1))];
        let (keys, labels) = (vec!["k".to_string()], vec![vec!["1".to_string()], vec!["x y".to_string()]]);
        let runs = String::from_utf8(sweep_runs_csv(&keys, &labels, &results)).unwrap();
        let lines: Vec<&str> = runs.lines().collect();
        assert_eq!(lines[0], format!("point,k,{}", run_columns().join(",")));
        assert!(lines[1].starts_with("0,1,0,0,") && lines[3].starts_with("1,x y,1,1,"), "{runs}");
        let summaries = [summarize(&[run(0)]), summarize(&[run(0), run(1)])];
        let text = String::from_utf8(sweep_summary_csv(&keys, &labels, &summaries)).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], format!("point,k,{}", SUMMARY_COLUMNS.join(",")));
        assert_eq!(rows.len(), 1 + 2 * summaries[0].metrics.len());
        assert!(rows[1].starts_with("0,1,agents_reached,count,1,0.000000,"), "{text}");
        assert!(rows.last().unwrap().starts_with("1,x y,containment_rate,fraction,2,1.000000,"), "{text}");
    }

    #[test]
    fn paired_and_tune_tables() {
        let with = [RunMetrics {
            run: 0,
            agents_reached: 1,
            contained: true,
            t_contain: Some(2_000_000),
            ..Default::default()
        }];
        let without = [RunMetrics { run: 0, agents_reached: 3, t_contain: Some(5_000_000), ..Default::default() }];
        let text = String::from_utf8(paired_csv(&crate::paired::compare(&with, &without))).unwrap();
        let row = |m: &str| text.lines().find(|l| l.starts_with(&format!("{m},"))).unwrap().to_string();
        assert_eq!(row("agents_reached"), "agents_reached,count,1,1.000000,3.000000,-2.000000,,");
        assert_eq!(row("t_contain"), "t_contain,seconds,1,2.000000,5.000000,-3.000000,,");
        assert_eq!(row("containment_rate"), "containment_rate,fraction,1,1.000000,0.000000,1.000000,,");
        let targets = [tune::parse_target("agents_reached<=2").unwrap()];
        let settings = [vec![toml::Value::Integer(3)], vec![toml::Value::String("x".into())]];
        let summaries = [summarize(&with), summarize(&without)];
        let table = String::from_utf8(tune_csv(&["k"], &settings, &summaries, &targets, "agents_reached")).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "setting,k,agents_reached_mean,agents_reached_ci95_low,agents_reached_ci95_high,agents_reached<=2,agents_reached<=2 met,meets_all"
        );
        assert_eq!(lines[1], "0,3,1.000000,,,1.000000,1,1");
        assert_eq!(lines[2], "1,x,3.000000,,,3.000000,0,0");
    }

    #[test]
    fn summary_csv_has_every_metric_and_containment() {
        // Values below 2048 are exact in a 3-significant-figure HdrHistogram.
        let runs = [RunMetrics { contained: true, t_contain: Some(2_000), ..Default::default() }; 4];
        let text = String::from_utf8(summary_csv(&summarize(&runs))).unwrap();
        assert!(
            text.contains(
                "t_contain,seconds,4,0.002000,0.000000,0.002000,0.002000,0.002000,0.002000,0.002000,0.002000"
            ),
            "{text}"
        );
        assert!(text.contains("mean_sojourn,seconds,0,,,,,,,,"));
        assert!(text.lines().last().unwrap().starts_with("containment_rate,fraction,4,1.000000,0.000000,"));
    }
}
