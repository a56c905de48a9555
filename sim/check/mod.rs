//! Regression checks against a committed baseline: per sweep point and
//! metric, the baseline's estimate (n, mean, standard deviation), the
//! current one, and a rule that says which direction is better and how
//! much worse is tolerated.
//!
//! A rule allows a worsening of `max(absolute, relative * |baseline|)`
//! (0 when neither is given). Without `statistical`, the point estimates
//! are compared: worse by more than the allowance is a regression. With
//! it, the 95% Welch interval of the difference is: a regression only
//! when even its most favourable end is worse by more than the allowance,
//! so Monte Carlo noise alone does not fail a check.

mod junit;

pub use junit::junit;

use crate::error::Error;
use crate::metrics::{self, Better};
use crate::results::MODEL_VERSION;
use crate::scenario::one_line;
use crate::summary::{t_critical, Stat, Summary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One metric at one point: enough to rebuild a confidence interval.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub n: u64,
    pub mean: f64,
    /// Sample standard deviation of the per-run values.
    pub sd: f64,
}

/// How one metric is judged.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub better: Better,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
    #[serde(default)]
    pub statistical: bool,
}

/// The outcome for one point and metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    Regressed,
    /// Defined in the baseline but not now, or the reverse.
    Missing,
}

/// The rules a new baseline starts with: every metric the catalogue
/// marks `checked`, statistically, in its better direction.
pub fn default_rules() -> BTreeMap<String, Rule> {
    metrics::CATALOGUE
        .iter()
        .filter(|m| m.checked)
        .filter_map(|m| {
            let rule = Rule { better: m.better?, absolute: None, relative: None, statistical: true };
            Some((m.name.to_string(), rule))
        })
        .collect()
}

/// Whether a rule may name this metric: any summarised one.
pub fn known_metric(name: &str) -> bool {
    metrics::metric(name).is_some_and(|m| m.summarised)
}

/// A metric's estimate from a summary (times in seconds), `None` when no
/// run defined it.
pub fn estimate(summary: &Summary, name: &str) -> Option<Estimate> {
    let row = summary.get(name)?;
    match &row.stat {
        Stat::Proportion(p) => (p.n > 0).then_some(Estimate { n: p.n, mean: p.rate, sd: p.sd() }),
        Stat::Distribution(d) => {
            let (d, scale) = (d.as_ref()?, row.metric.unit().scale());
            let sd = if d.n > 1 { d.sd * scale } else { 0.0 };
            Some(Estimate { n: d.n, mean: d.mean * scale, sd })
        }
    }
}

/// `now - baseline` with the 95% Welch interval of that difference.
pub fn difference(baseline: &Estimate, now: &Estimate) -> (f64, f64, f64) {
    let difference = now.mean - baseline.mean;
    let (v1, v2) = (baseline.sd * baseline.sd / baseline.n.max(1) as f64, now.sd * now.sd / now.n.max(1) as f64);
    let df = welch_df(v1, v2, baseline.n, now.n);
    let half = if v1 + v2 > 0.0 { t_critical(df) * (v1 + v2).sqrt() } else { 0.0 };
    (difference, difference - half, difference + half)
}

/// How much worse `now` is than `baseline` under the rule's direction
/// (positive = worse), with its 95% interval.
pub fn worsening(rule: &Rule, baseline: &Estimate, now: &Estimate) -> (f64, f64, f64) {
    let (d, low, high) = difference(baseline, now);
    match rule.better {
        Better::Lower => (d, low, high),
        Better::Higher => (-d, -high, -low),
    }
}

fn welch_df(v1: f64, v2: f64, n1: u64, n2: u64) -> u64 {
    let denominator = v1 * v1 / (n1.max(2) - 1) as f64 + v2 * v2 / (n2.max(2) - 1) as f64;
    if denominator <= 0.0 {
        return (n1 + n2).saturating_sub(2).max(1);
    }
    (((v1 + v2) * (v1 + v2)) / denominator).floor().max(1.0) as u64
}

/// The verdict of `rule` on one point and metric.
pub fn judge(rule: &Rule, baseline: Option<&Estimate>, now: Option<&Estimate>) -> Verdict {
    let (Some(baseline), Some(now)) = (baseline, now) else {
        return if baseline.is_none() && now.is_none() { Verdict::Holds } else { Verdict::Missing };
    };
    let allowed = rule.absolute.unwrap_or(0.0).max(rule.relative.unwrap_or(0.0) * baseline.mean.abs());
    let (difference, low, _) = worsening(rule, baseline, now);
    let worse = if rule.statistical { low } else { difference };
    // Slack for the six decimals of a summary.csv read back (`--results`).
    if worse > allowed + 1e-6 + 1e-9 * baseline.mean.abs() {
        Verdict::Regressed
    } else {
        Verdict::Holds
    }
}

/// A committed baseline: what was run, the rules, and every point's
/// estimates. Stored as TOML (`reports/baselines/NAME.toml`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub scenario: String,
    pub scenario_sha256: String,
    pub model_version: u32,
    pub seed: u64,
    /// Replications per point.
    pub runs: u64,
    /// Swept keys (empty: the scenario as written, one point).
    #[serde(default)]
    pub keys: Vec<String>,
    pub rules: BTreeMap<String, Rule>,
    #[serde(default)]
    pub points: Vec<PointBaseline>,
}

/// One point of a baseline.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PointBaseline {
    pub point: u64,
    #[serde(default)]
    pub values: Vec<String>,
    pub metrics: BTreeMap<String, Estimate>,
}

/// Parses a baseline; `Err` is one line naming the key.
pub fn parse_baseline(text: &str) -> Result<Baseline, Error> {
    let deserializer = toml::Deserializer::parse(text).map_err(|e| Error::key("", one_line(e.message())))?;
    let baseline: Baseline = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        Error::key(key, one_line(e.into_inner().message()))
    })?;
    if let Some(unknown) = baseline.rules.keys().find(|m| !known_metric(m)) {
        return Err(Error::key(format!("rules.{unknown}"), "unknown metric; expected a metric of summary.csv"));
    }
    validate(&baseline)?;
    Ok(baseline)
}

/// What a baseline must hold to judge anything: at least 2 runs, a rule,
/// a point; finite tolerances; per point, values for every key (or none,
/// the scenario as written) unlike any other point's, and estimates with
/// `n >= 1`, a finite mean and a finite `sd >= 0`.
fn validate(baseline: &Baseline) -> Result<(), Error> {
    if baseline.runs < 2 {
        return Err(Error::key("runs", "must be at least 2 (a standard deviation per point)"));
    }
    if baseline.runs > crate::limits::MAX_RUNS {
        let most = crate::limits::MAX_RUNS;
        return Err(Error::key(
            "runs",
            format!("{}; expected at most {most} (the runs a command may hold)", baseline.runs),
        ));
    }
    if baseline.rules.is_empty() {
        return Err(Error::key("rules", "expected at least one rule; a baseline without rules checks nothing"));
    }
    for (metric, rule) in &baseline.rules {
        for (name, value) in [("absolute", rule.absolute), ("relative", rule.relative)] {
            if value.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
                return Err(Error::key(format!("rules.{metric}.{name}"), "must be a finite tolerance of at least 0"));
            }
        }
    }
    if baseline.points.is_empty() {
        return Err(Error::key("points", "expected at least one point; a baseline without points checks nothing"));
    }
    for (i, point) in baseline.points.iter().enumerate() {
        let key = format!("points[{i}]");
        if !point.values.is_empty() && point.values.len() != baseline.keys.len() {
            let expected =
                format!("expected one value per key ({}), or none for the scenario as written", baseline.keys.len());
            return Err(Error::key(format!("{key}.values"), expected));
        }
        if let Some(j) = baseline.points[..i].iter().position(|p| p.values == point.values) {
            return Err(Error::key(format!("{key}.values"), format!("the same values as points[{j}]")));
        }
        for (metric, e) in &point.metrics {
            let at = |field: &str| format!("{key}.metrics.{metric}.{field}");
            if e.n == 0 {
                return Err(Error::key(at("n"), "must be at least 1 (a metric no run defined is left out)"));
            }
            if !e.mean.is_finite() {
                return Err(Error::key(at("mean"), format!("must be a finite number, got {}", e.mean)));
            }
            if !(e.sd.is_finite() && e.sd >= 0.0) {
                return Err(Error::key(at("sd"), format!("must be a finite number of at least 0, got {}", e.sd)));
            }
        }
    }
    Ok(())
}

/// Whether `baseline` can judge the scenario now (its swept keys, under
/// this model version); the error names no file ([`Error::in_file`]). A
/// changed scenario is still judged: [`changed`] says so.
pub fn admit(baseline: &Baseline, keys: &[String]) -> Result<(), Error> {
    if baseline.model_version != MODEL_VERSION {
        return Err(Error::key(
            "model_version",
            format!(
                "made with model version {}, this is {}; refresh it with --update",
                baseline.model_version, MODEL_VERSION
            ),
        ));
    }
    if baseline.keys != keys {
        return Err(Error::key(
            "keys",
            format!("sweeps {:?}, the scenario {keys:?}; refresh it with --update", baseline.keys),
        ));
    }
    Ok(())
}

/// The line that says the scenario changed since `baseline`, if it did.
pub fn changed(baseline: &Baseline, label: &str, hash: &str) -> Option<String> {
    let short = |h: &str| h[..h.len().min(12)].to_string();
    (baseline.scenario_sha256 != hash).then(|| {
        format!(
            "{label} changed since the baseline (sha256 {}..., baseline {}...)",
            short(hash),
            short(&baseline.scenario_sha256)
        )
    })
}

/// Every metric's estimate per point, from summaries in point order.
pub fn estimates_of(summaries: &[Summary]) -> Vec<BTreeMap<String, Estimate>> {
    summaries
        .iter()
        .map(|s| {
            s.metrics.iter().filter_map(|m| Some((m.metric.name.to_string(), estimate(s, m.metric.name)?))).collect()
        })
        .collect()
}

/// Every metric's estimate per point from a `summary.csv` written by
/// `run` or `sweep` (times in seconds as written there).
pub fn estimates_from_csv(text: &str) -> Result<Vec<BTreeMap<String, Estimate>>, Error> {
    estimates_of_csv(text).map_err(|m| Error::key("", m))
}

fn estimates_of_csv(text: &str) -> Result<Vec<BTreeMap<String, Estimate>>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| e.to_string())?.clone();
    let column =
        |name: &str| header.iter().position(|h| h == name).ok_or(format!("summary.csv has no `{name}` column"));
    let (point, metric, n, mean, sd) =
        (header.iter().position(|h| h == "point"), column("metric")?, column("n")?, column("mean")?, column("sd")?);
    let mut points: Vec<BTreeMap<String, Estimate>> = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| e.to_string())?;
        let bad = |what: &str| format!("summary.csv line {}: bad {what}", line + 2);
        let p: usize = point.map_or(Ok(0), |c| record[c].parse().map_err(|_| bad("point")))?;
        let count: u64 = record[n].parse().map_err(|_| bad("n"))?;
        if count == 0 {
            continue;
        }
        let m: f64 = record[mean].parse().ok().filter(|m: &f64| m.is_finite()).ok_or_else(|| bad("mean"))?;
        let sd = if count > 1 {
            record[sd].parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0).ok_or_else(|| bad("sd"))?
        } else {
            0.0
        };
        if points.len() <= p {
            points.resize(p + 1, BTreeMap::new());
        }
        points[p].insert(record[metric].to_string(), Estimate { n: count, mean: m, sd });
    }
    Ok(points)
}

/// A baseline's points: each point's values and its estimates of the
/// metrics `rules` judge, from estimates in point order.
pub fn points_of(
    labels: &[Vec<String>],
    estimates: &[BTreeMap<String, Estimate>],
    rules: &BTreeMap<String, Rule>,
) -> Vec<PointBaseline> {
    estimates
        .iter()
        .enumerate()
        .map(|(p, e)| PointBaseline {
            point: p as u64,
            values: labels[p].clone(),
            metrics: rules.keys().filter_map(|m| Some((m.clone(), *e.get(m)?))).collect(),
        })
        .collect()
}

/// One compared point and metric.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Row {
    /// The point's number in the baseline (or now, for a point the
    /// baseline lacks); `None` for the scenario as written.
    pub point: Option<u64>,
    /// Each swept key with its value at this point (none: as written).
    #[serde(serialize_with = "as_map")]
    pub values: Vec<(String, String)>,
    pub metric: String,
    pub baseline: Option<f64>,
    pub now: Option<f64>,
    pub change: Option<Change>,
    pub verdict: &'static str,
}

/// `now - baseline` and the 95% Welch interval of that difference.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub struct Change {
    pub difference: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

fn as_map<S: serde::Serializer>(values: &[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(values.iter().map(|(k, v)| (k, v)))
}

impl Row {
    /// The point as a reader names it: its number and values, or "as written".
    pub fn point_label(&self) -> String {
        match self.point {
            None => "as written".to_string(),
            Some(p) => {
                let values: Vec<String> = self.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{p} {}", values.join(", "))
            }
        }
    }
}

/// Compares the points measured now with the baseline's, matched by their
/// values (not their position): a point on one side only is MISSING.
pub fn compare(baseline: &Baseline, now: &[PointBaseline]) -> Vec<Row> {
    let mut rows = Vec::new();
    let named = |point: &PointBaseline| -> Vec<(String, String)> {
        baseline.keys.iter().cloned().zip(point.values.iter().cloned()).collect()
    };
    for point in &baseline.points {
        let current = now.iter().find(|p| p.values == point.values);
        for (metric, rule) in &baseline.rules {
            let (before, after) = (point.metrics.get(metric), current.and_then(|p| p.metrics.get(metric)));
            let verdict = match (current, judge(rule, before, after)) {
                (None, _) | (_, Verdict::Missing) => "MISSING",
                (_, Verdict::Holds) => "ok",
                (_, Verdict::Regressed) => "REGRESSED",
            };
            let change = before.zip(after).map(|(b, a)| {
                let (difference, ci95_low, ci95_high) = self::difference(b, a);
                Change { difference, ci95_low, ci95_high }
            });
            rows.push(Row {
                point: (!point.values.is_empty()).then_some(point.point),
                values: named(point),
                metric: metric.clone(),
                baseline: before.map(|e| e.mean),
                now: after.map(|e| e.mean),
                change,
                verdict,
            });
        }
    }
    for point in now.iter().filter(|p| !baseline.points.iter().any(|b| b.values == p.values)) {
        for metric in baseline.rules.keys() {
            rows.push(Row {
                point: (!point.values.is_empty()).then_some(point.point),
                values: named(point),
                metric: metric.clone(),
                baseline: None,
                now: point.metrics.get(metric).map(|e| e.mean),
                change: None,
                verdict: "MISSING",
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RunMetrics;
    use crate::summary::summarize;

    fn e(n: u64, mean: f64, sd: f64) -> Estimate {
        Estimate { n, mean, sd }
    }

    const LOWER: Rule = Rule { better: Better::Lower, absolute: None, relative: None, statistical: false };

    #[test]
    fn exact_rules_fail_any_worsening_beyond_the_tolerance() {
        assert_eq!(judge(&LOWER, Some(&e(10, 2.0, 1.0)), Some(&e(10, 2.0, 1.0))), Verdict::Holds);
        assert_eq!(judge(&LOWER, Some(&e(10, 2.0, 1.0)), Some(&e(10, 1.0, 1.0))), Verdict::Holds, "better");
        assert_eq!(judge(&LOWER, Some(&e(10, 2.0, 1.0)), Some(&e(10, 2.01, 1.0))), Verdict::Regressed);
        let absolute = Rule { absolute: Some(0.5), ..LOWER };
        assert_eq!(judge(&absolute, Some(&e(10, 2.0, 1.0)), Some(&e(10, 2.5, 1.0))), Verdict::Holds);
        assert_eq!(judge(&absolute, Some(&e(10, 2.0, 1.0)), Some(&e(10, 2.6, 1.0))), Verdict::Regressed);
        let relative = Rule { relative: Some(0.1), better: Better::Higher, ..LOWER };
        assert_eq!(judge(&relative, Some(&e(10, 0.9, 0.1)), Some(&e(10, 0.82, 0.1))), Verdict::Holds);
        assert_eq!(judge(&relative, Some(&e(10, 0.9, 0.1)), Some(&e(10, 0.80, 0.1))), Verdict::Regressed);
    }

    #[test]
    fn statistical_rules_forgive_noise_but_not_a_real_shift() {
        let rule = Rule { statistical: true, ..LOWER };
        // Difference 0.2 with a standard error of about 0.14: not significant.
        assert_eq!(judge(&rule, Some(&e(100, 2.0, 1.0)), Some(&e(100, 2.2, 1.0))), Verdict::Holds);
        // Difference 0.5, standard error 0.14: significant.
        assert_eq!(judge(&rule, Some(&e(100, 2.0, 1.0)), Some(&e(100, 2.5, 1.0))), Verdict::Regressed);
        let (difference, low, high) = worsening(&rule, &e(100, 2.0, 1.0), &e(100, 2.5, 1.0));
        assert!((difference - 0.5).abs() < 1e-12);
        let half = 1.972 * (0.02f64).sqrt();
        assert!((low - (0.5 - half)).abs() < 0.01 && (high - (0.5 + half)).abs() < 0.01, "{low} {high}");
        assert_eq!(judge(&rule, Some(&e(1, 2.0, 0.0)), Some(&e(1, 2.0, 0.0))), Verdict::Holds);
    }

    #[test]
    fn a_metric_defined_on_one_side_only_is_missing() {
        assert_eq!(judge(&LOWER, None, Some(&e(3, 1.0, 0.0))), Verdict::Missing);
        assert_eq!(judge(&LOWER, Some(&e(3, 1.0, 0.0)), None), Verdict::Missing);
        assert_eq!(judge(&LOWER, None, None), Verdict::Holds);
    }

    #[test]
    fn estimates_recover_the_standard_deviation_from_the_summary() {
        let runs: Vec<RunMetrics> = [1u32, 2, 3, 4, 5]
            .iter()
            .map(|&r| RunMetrics {
                agents_reached: r,
                contained: r < 4,
                t_contain: Some(r as u64 * 1_000_000),
                ..Default::default()
            })
            .collect();
        let s = summarize(&runs);
        let reached = estimate(&s, "agents_reached").unwrap();
        assert_eq!((reached.n, reached.mean), (5, 3.0));
        assert!((reached.sd - 2.5f64.sqrt()).abs() < 1e-9, "{}", reached.sd);
        let contained = estimate(&s, "containment_rate").unwrap();
        assert!((contained.mean - 0.6).abs() < 1e-12 && (contained.sd - (0.24f64 * 5.0 / 4.0).sqrt()).abs() < 1e-12);
        let contain = estimate(&s, "t_contain").unwrap();
        assert!((contain.mean - 3.0).abs() < 1e-9 && (contain.sd - 2.5f64.sqrt()).abs() < 1e-9, "seconds: {contain:?}");
        assert!(estimate(&s, "t_attribute").is_none());
        assert!(estimate(&summarize(&[]), "containment_rate").is_none(), "no runs, no proportion");
        assert!(known_metric("rejected_clean") && known_metric("containment_rate") && !known_metric("blast"));
        assert!(!known_metric("events") && !known_metric("rejected_clean_share"), "not in summary.csv");
        let defaults = default_rules();
        let rules: Vec<(&str, Better)> = defaults.iter().map(|(m, r)| (m.as_str(), r.better)).collect();
        assert_eq!(
            rules,
            [
                ("agents_reached", Better::Lower),
                ("containment_rate", Better::Higher),
                ("corrupted_actions", Better::Lower),
                ("rejected_clean", Better::Lower),
                ("t_contain", Better::Lower)
            ]
        );
        assert!(default_rules().values().all(|r| r.statistical && r.absolute.is_none() && r.relative.is_none()));
    }

    #[test]
    fn estimates_read_back_from_summary_csv_match_the_summaries() {
        let runs: Vec<RunMetrics> = (0..9u32)
            .map(|r| RunMetrics {
                agents_reached: r % 4,
                contained: r % 3 != 0,
                t_contain: (r % 3 != 0).then_some(r as u64 * 250_000),
                ..Default::default()
            })
            .collect();
        let summaries = [summarize(&runs), summarize(&runs[..4])];
        let direct = estimates_of(&summaries);
        assert_eq!(direct.len(), 2);
        assert!(direct[0].contains_key("agents_reached") && direct[0].contains_key("containment_rate"));
        assert!(!direct[0].contains_key("t_detect"), "no run defines it");
        let labels = [vec!["a".to_string()], vec!["b".to_string()]];
        let csv = crate::results::csv::sweep_summary_csv(&["k".into()], &labels, &summaries);
        let read = estimates_from_csv(std::str::from_utf8(&csv).unwrap()).unwrap();
        assert_eq!(read.len(), direct.len());
        for (point, (a, b)) in direct.iter().zip(&read).enumerate() {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "point {point}");
            for (metric, x) in a {
                let y = &b[metric];
                assert_eq!(x.n, y.n, "{metric}");
                assert!((x.mean - y.mean).abs() < 1e-6 && (x.sd - y.sd).abs() < 1e-5, "{metric}: {x:?} vs {y:?}");
            }
        }
        let e = estimates_from_csv("metric,n\n").unwrap_err().in_file("d").to_string();
        assert!(e.starts_with("d: summary.csv has no `mean` column"), "{e}");
    }

    #[test]
    fn a_higher_is_better_rule_reads_a_drop_as_a_worsening() {
        let rule = Rule { better: Better::Higher, ..LOWER };
        let (b, a) = (e(100, 0.9, 0.3), e(100, 0.8, 0.3));
        let (d, low, high) = difference(&b, &a);
        assert!((d + 0.1).abs() < 1e-12 && low < d && d < high);
        assert_eq!(worsening(&rule, &b, &a), (-d, -high, -low));
        assert_eq!(worsening(&LOWER, &b, &a), (d, low, high));
    }

    /// A baseline of scenario "s" (hash "abc", 2 runs, swept key "k")
    /// with the default rules and these points.
    fn baseline(labels: &[Vec<String>], estimates: &[BTreeMap<String, Estimate>]) -> Baseline {
        let rules = default_rules();
        Baseline {
            scenario: "s".into(),
            scenario_sha256: "abc".into(),
            model_version: MODEL_VERSION,
            seed: 1,
            runs: 2,
            keys: vec!["k".into()],
            points: points_of(labels, estimates, &rules),
            rules,
        }
    }

    #[test]
    fn a_baseline_judges_only_its_scenario_keys_and_model_version() {
        let keys = vec!["k".to_string()];
        let base = baseline(&[vec!["1".into()]], &[BTreeMap::new()]);
        assert_eq!(base.points[0].values, ["1"]);
        assert!(admit(&base, &keys).is_ok());
        assert_eq!(changed(&base, "s", "abc"), None);
        let edited = changed(&base, "s", "abd").unwrap();
        assert_eq!(edited, "s changed since the baseline (sha256 abd..., baseline abc...)");
        let old = Baseline { model_version: MODEL_VERSION - 1, ..base.clone() };
        let old = admit(&old, &keys).unwrap_err().to_string();
        assert!(old.contains("model_version: made with model version"), "{old}");
        let keys = admit(&base, &[]).unwrap_err().to_string();
        assert!(keys.contains("keys: sweeps [\"k\"], the scenario []"), "{keys}");
    }

    #[test]
    fn a_baseline_must_be_able_to_judge_something() {
        let one = |n, mean, sd| BTreeMap::from([("agents_reached".to_string(), e(n, mean, sd))]);
        let base = baseline(&[vec!["1".into()], vec![]], &[one(2, 1.0, 0.0), one(2, 1.0, 0.5)]);
        assert!(validate(&base).is_ok(), "2 runs, a grid point and the scenario as written");
        let refused = |b: Baseline| validate(&b).unwrap_err().in_file("b").to_string();
        assert!(refused(Baseline { runs: 1, ..base.clone() }).starts_with("b: runs: must be at least 2"));
        let mut tolerance = base.clone();
        tolerance.rules.get_mut("agents_reached").unwrap().absolute = Some(0.0);
        assert!(validate(&tolerance).is_ok(), "no tolerance is a tolerance");
        for bad in [-0.1, f64::NAN, f64::INFINITY] {
            tolerance.rules.get_mut("agents_reached").unwrap().relative = Some(bad);
            assert!(refused(tolerance.clone()).starts_with("b: rules.agents_reached.relative: must be a finite"));
        }
        let mut short = base.clone();
        short.keys.push("j".into());
        assert!(refused(short).starts_with("b: points[0].values: expected one value per key (2)"));
        let mut twice = base.clone();
        twice.points[1].values = vec!["1".into()];
        assert_eq!(refused(twice), "b: points[1].values: the same values as points[0]");
        let mut negative = base.clone();
        negative.points[0].metrics = one(2, 1.0, -1.0);
        assert!(refused(negative).contains(".sd: must be a finite number of at least 0, got -1"));
        // One run defines no spread; an estimate of it says 0.
        let single = summarize(&[RunMetrics { agents_reached: 3, ..Default::default() }]);
        assert_eq!(estimate(&single, "agents_reached"), Some(e(1, 3.0, 0.0)));
        // summary.csv: one run's empty sd is read as 0; a negative sd is refused.
        let csv = "metric,n,mean,sd\nagents_reached,1,3.0,\nagents_corrupted,2,1.0,-0.5\n";
        let e = estimates_from_csv(csv).unwrap_err().in_file("d").to_string();
        assert_eq!(e, "d: summary.csv line 3: bad sd");
        let read = estimates_from_csv("metric,n,mean,sd\nagents_reached,1,3.0,\n").unwrap();
        assert_eq!(read[0]["agents_reached"], Estimate { n: 1, mean: 3.0, sd: 0.0 });
    }
}
