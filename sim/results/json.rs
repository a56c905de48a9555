//! Machine-readable summaries, the `--format json` of `run`, `sweep` and
//! `tune`: each metric with its unit, n, mean and 95% interval in the
//! units people read (seconds for times), quantiles where it has them.
//! Undefined numbers (an interval from one run) are `null`.

use crate::model::Model;
use crate::paired::PairedMetric;
use crate::summary::{CheckTotals, Stat, Summary};
use crate::tune::{self, Target};
use serde_json::{json, Value};

/// Every metric of a summary, in summary order.
pub fn summary(summary: &Summary) -> Value {
    let metrics: Vec<Value> = summary
        .metrics
        .iter()
        .map(|row| {
            let (name, unit) = (row.metric.name, row.metric.unit());
            match &row.stat {
                Stat::Distribution(None) => json!({ "metric": name, "unit": unit.name(), "n": 0 }),
                Stat::Distribution(Some(d)) => {
                    let scale = unit.scale();
                    json!({
                        "metric": name,
                        "unit": unit.name(),
                        "n": d.n,
                        "mean": d.mean * scale,
                        "ci95": [d.ci_low * scale, d.ci_high * scale],
                        "p50": d.p50 as f64 * scale,
                        "p90": d.p90 as f64 * scale,
                        "p99": d.p99 as f64 * scale,
                        "max": d.max as f64 * scale,
                    })
                }
                Stat::Proportion(p) => json!({
                    "metric": name,
                    "unit": unit.name(),
                    "n": p.n,
                    "successes": p.successes,
                    "mean": p.rate,
                    "ci95": [p.low, p.high],
                }),
            }
        })
        .collect();
    json!({ "runs": summary.runs, "metrics": metrics })
}

/// What each check did per run: by check, each count's mean and 95%
/// interval (`checks.csv`).
pub fn checks(model: &Model, totals: &CheckTotals) -> Value {
    let mut checks: Vec<(u32, serde_json::Map<String, Value>)> = Vec::new();
    for (agent, count, interval) in totals.rows() {
        if checks.last().is_none_or(|(a, _)| *a != agent) {
            let mut row = serde_json::Map::new();
            row.insert("check".to_string(), json!(model.agents[agent as usize].name));
            row.insert("n".to_string(), json!(interval.n));
            checks.push((agent, row));
        }
        let (low, high) = interval.nonnegative();
        let value = json!({ "mean": interval.mean, "ci95": [low, high] });
        checks.last_mut().expect("pushed").1.insert(count.to_string(), value);
    }
    Value::Array(checks.into_iter().map(|(_, row)| Value::Object(row)).collect())
}

/// A paired comparison: each metric with and without, and the difference.
pub fn paired(rows: &[PairedMetric]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            let scale = r.metric.unit().scale();
            json!({
                "metric": r.metric.name,
                "unit": r.metric.unit().name(),
                "n": r.n,
                "mean_with": r.mean_with * scale,
                "mean_without": r.mean_without * scale,
                "difference": r.mean_difference * scale,
                "ci95": [r.ci_low * scale, r.ci_high * scale],
            })
        })
        .collect();
    Value::Array(rows)
}

/// A point's or setting's values by key.
pub fn values(keys: &[String], labels: &[String]) -> Value {
    Value::Object(keys.iter().cloned().zip(labels.iter().map(|l| Value::String(l.clone()))).collect())
}

/// One tuned setting: its values, cost, each target and whether all are met.
pub fn setting(values: Value, summary: &Summary, targets: &[Target], cost: &str) -> Value {
    let estimate = summary.estimate(cost).map(|(mean, low, high)| json!({ "mean": mean, "ci95": [low, high] }));
    let meets_all = targets.iter().all(|t| tune::meets(summary, t));
    let targets: Vec<Value> = targets
        .iter()
        .map(|t| json!({ "target": t.text, "observed": tune::observed(summary, t), "met": tune::meets(summary, t) }))
        .collect();
    json!({ "values": values, "cost": estimate, "targets": targets, "meets_all": meets_all })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RunMetrics;
    use crate::summary::summarize;

    #[test]
    fn summaries_are_in_readable_units_with_nulls_for_undefined_numbers() {
        let run = RunMetrics { agents_reached: 2, t_contain: Some(1_500_000), contained: true, ..Default::default() };
        let value = summary(&summarize(&[run]));
        let metrics = value["metrics"].as_array().unwrap();
        let get = |name: &str| metrics.iter().find(|m| m["metric"] == name).unwrap();
        assert_eq!(get("t_contain")["mean"], 1.5, "seconds");
        assert_eq!(get("t_contain")["unit"], "seconds");
        assert!(get("agents_reached")["ci95"][0].is_null(), "one run: no interval");
        assert_eq!(get("containment_rate")["successes"], 1);
        assert_eq!(get("t_detect")["n"], 0);
        assert_eq!(value["runs"], 1);
        let t = tune::parse_target("agents_reached<=1").unwrap();
        let s = setting(values(&["k".into()], &["3".into()]), &summarize(&[run]), &[t], "rejected_clean");
        assert_eq!((s["values"]["k"].as_str(), s["meets_all"].as_bool()), (Some("3"), Some(false)));
        assert_eq!(s["targets"][0]["observed"], 2.0);
    }
}
