//! Tuning: given targets on a sweep's summaries (e.g. `agents_reached.p99
//! <= 2`, `rejected_clean_share <= 0.01`), find the cheapest setting that
//! meets them all, on the grid and then, for numeric keys, by successive
//! refinement between the best setting and its neighbours.
//!
//! A target is met on the point estimate (the mean, a quantile or the
//! containment rate); its confidence interval is reported beside it.
//! "Cheapest" is the smallest mean of the cost metric; ties go to the
//! setting evaluated first. Every setting uses the same random streams
//! (common random numbers).

use crate::error::Error;
use crate::metrics::{self, Read};
use crate::summary::Summary;
use toml::Value;

/// Which number of a metric's summary a target constrains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    Mean,
    CiLow,
    CiHigh,
    P50,
    P90,
    P99,
    Max,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Le,
    Lt,
    Ge,
    Gt,
}

/// One target, e.g. `agents_reached.p99<=2`.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub text: String,
    pub metric: String,
    pub stat: Stat,
    pub op: Op,
    pub value: f64,
}

/// Parses `METRIC[.STAT] OP VALUE` with OP one of `<=`, `<`, `>=`, `>` and
/// STAT one of mean (default), ci_low, ci_high, p50, p90, p99, max. Times
/// (every metric whose unit is seconds) are in seconds.
pub fn parse_target(text: &str) -> Result<Target, Error> {
    target_of(text).map_err(|m| Error::argument("--target", m))
}

/// The cost `tune` minimises, any metric a target may name (a
/// `--minimize` argument).
pub fn parse_cost(metric: &str) -> Result<&'static metrics::Metric, Error> {
    let target = target_of(&format!("{metric}>=0")).map_err(|m| Error::argument("--minimize", m))?;
    Ok(metrics::metric(&target.metric).expect("a target's metric is in the catalogue"))
}

fn target_of(text: &str) -> Result<Target, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (split, op) = OPS
        .into_iter()
        .find_map(|(symbol, op)| compact.find(symbol).map(|i| ((i, symbol.len()), op)))
        .ok_or_else(|| format!("\"{text}\": expected METRIC[.STAT] OP VALUE, e.g. agents_reached.p99<=2"))?;
    let (name, value) = (&compact[..split.0], &compact[split.0 + split.1..]);
    let value: f64 = value.parse().map_err(|_| format!("\"{text}\": \"{value}\" is not a number"))?;
    let (metric, stat) = match name.rsplit_once('.') {
        Some((metric, stat)) => (
            metric,
            parse_stat(stat).ok_or_else(|| {
                format!("\"{text}\": unknown statistic \"{stat}\"; expected {}", or_list(&STATS.map(|(name, _)| name)))
            })?,
        ),
        None => (name, Stat::Mean),
    };
    let share = |m: &&metrics::Metric| matches!(m.read, Read::Share { .. });
    let Some(known) = metrics::metric(metric).filter(|m| m.summarised || share(m)) else {
        let shares: Vec<&str> = metrics::CATALOGUE.iter().filter(share).map(|m| m.name).collect();
        return Err(format!(
            "\"{text}\": unknown metric \"{metric}\"; expected a summary.csv metric or {}",
            shares.join(", ")
        ));
    };
    if !known.has_quantiles() && !matches!(stat, Stat::Mean | Stat::CiLow | Stat::CiHigh) {
        return Err(format!("\"{text}\": {metric} has a mean and a CI, not quantiles"));
    }
    Ok(Target { text: text.to_string(), metric: metric.to_string(), stat, op, value })
}

/// The statistics a target may name, as it names them (mean is the default).
pub const STATS: [(&str, Stat); 7] = [
    ("mean", Stat::Mean),
    ("ci_low", Stat::CiLow),
    ("ci_high", Stat::CiHigh),
    ("p50", Stat::P50),
    ("p90", Stat::P90),
    ("p99", Stat::P99),
    ("max", Stat::Max),
];

/// The comparisons a target may make, two-character ones first (the
/// order a target is parsed in).
pub const OPS: [(&str, Op); 4] = [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)];

fn parse_stat(text: &str) -> Option<Stat> {
    STATS.iter().find(|(name, _)| *name == text).map(|&(_, stat)| stat)
}

/// "a, b or c".
fn or_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The number a target constrains, if the metric is defined at this setting.
pub fn observed(summary: &Summary, target: &Target) -> Option<f64> {
    let (mean, low, high) = summary.estimate(&target.metric)?;
    let quantile = |pick: fn(&crate::summary::Distribution) -> u64| {
        let scale = metrics::metric(&target.metric)?.unit().scale();
        Some(pick(summary.distribution(&target.metric)?) as f64 * scale)
    };
    match target.stat {
        Stat::Mean => Some(mean),
        Stat::CiLow => Some(low),
        Stat::CiHigh => Some(high),
        Stat::P50 => quantile(|d| d.p50),
        Stat::P90 => quantile(|d| d.p90),
        Stat::P99 => quantile(|d| d.p99),
        Stat::Max => quantile(|d| d.max),
    }
}

/// Whether the setting meets the target (an undefined metric does not).
pub fn meets(summary: &Summary, target: &Target) -> bool {
    observed(summary, target).is_some_and(|v| match target.op {
        Op::Le => v <= target.value,
        Op::Lt => v < target.value,
        Op::Ge => v >= target.value,
        Op::Gt => v > target.value,
    })
}

/// The index of the cheapest summary meeting every target: smallest mean
/// `cost`, first on ties; `None` when none meets them.
pub fn cheapest(summaries: &[Summary], targets: &[Target], cost: &str) -> Option<usize> {
    let price = |s: &Summary| s.estimate(cost).map_or(f64::INFINITY, |e| e.0);
    summaries
        .iter()
        .enumerate()
        .filter(|(_, s)| targets.iter().all(|t| meets(s, t)))
        .min_by(|a, b| price(a.1).total_cmp(&price(b.1)).then(a.0.cmp(&b.0)))
        .map(|(i, _)| i)
}

/// How far a setting's value is from meeting `target`: 0 when it meets
/// it, else the distance to the target's value (relative to that value
/// when it is not 0, so targets on different scales add up); `None` when
/// the metric is undefined at this setting.
pub fn shortfall(summary: &Summary, target: &Target) -> Option<f64> {
    let value = observed(summary, target)?;
    if meets(summary, target) {
        return Some(0.0);
    }
    // A strict target missed at exactly its value is still missed.
    let distance = (value - target.value).abs().max(f64::MIN_POSITIVE);
    Some(if target.value == 0.0 { distance } else { distance / target.value.abs() })
}

/// The `n` settings that came nearest to meeting every target: fewest
/// targets missed, then the smallest sum of [`shortfall`]s (an undefined
/// metric is as far as can be), then the cheaper, then the first tried.
pub fn nearest(summaries: &[Summary], targets: &[Target], cost: &str, n: usize) -> Vec<usize> {
    let key = |s: &Summary| {
        let shortfalls: Vec<f64> = targets.iter().map(|t| shortfall(s, t).unwrap_or(f64::INFINITY)).collect();
        let missed = shortfalls.iter().filter(|&&d| d > 0.0).count();
        (missed, shortfalls.iter().sum::<f64>(), s.estimate(cost).map_or(f64::INFINITY, |e| e.0))
    };
    let mut order: Vec<(usize, (usize, f64, f64))> = summaries.iter().map(key).enumerate().collect();
    order.sort_by(|(i, a), (j, b)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.total_cmp(&b.2)).then(i.cmp(j)));
    order.into_iter().take(n).map(|(i, _)| i).collect()
}

/// New settings to try around `best` (one value per axis): on each axis
/// whose values are numbers, the midpoints between the best value and its
/// nearest tried neighbours on that axis (integers rounded, only values
/// not tried yet), the other axes held at `best`.
pub fn refinements(best: &[Value], tried: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let mut next: Vec<Vec<Value>> = Vec::new();
    for axis in 0..best.len() {
        let Some(centre) = number(&best[axis]) else { continue };
        let mut neighbours: Vec<f64> = tried
            .iter()
            .filter(|t| (0..best.len()).all(|k| k == axis || t[k] == best[k]))
            .filter_map(|t| number(&t[axis]))
            .collect();
        neighbours.sort_by(f64::total_cmp);
        let below = neighbours.iter().rev().find(|&&v| v < centre).copied();
        let above = neighbours.iter().find(|&&v| v > centre).copied();
        for side in [below, above].into_iter().flatten() {
            let candidate = match best[axis] {
                Value::Integer(_) => Value::Integer(((centre + side) / 2.0).round() as i64),
                _ => Value::Float((centre + side) / 2.0),
            };
            let mut setting = best.to_vec();
            setting[axis] = candidate;
            if !tried.contains(&setting) && !next.contains(&setting) && setting[axis] != best[axis] {
                next.push(setting);
            }
        }
    }
    next
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RunMetrics;
    use crate::summary::summarize;

    fn summary(reached: &[u32], rejected: u64) -> Summary {
        let runs: Vec<RunMetrics> = reached
            .iter()
            .map(|&r| RunMetrics {
                agents_reached: r,
                rejected_clean: rejected,
                messages: 100,
                contained: r < 3,
                ..Default::default()
            })
            .collect();
        summarize(&runs)
    }

    #[test]
    fn targets_parse_with_statistics_and_refuse_nonsense() {
        for (name, stat) in STATS {
            for (symbol, op) in OPS {
                let t = parse_target(&format!("agents_reached.{name}{symbol}1")).unwrap();
                assert_eq!((t.stat, t.op), (stat, op), "{name}{symbol}");
            }
        }
        let t = parse_target("agents_reached.p99 <= 2").unwrap();
        assert_eq!((t.metric.as_str(), t.stat, t.op, t.value), ("agents_reached", Stat::P99, Op::Le, 2.0));
        let t = parse_target("containment_rate>=0.95").unwrap();
        assert_eq!((t.stat, t.op), (Stat::Mean, Op::Ge));
        assert_eq!(parse_target("t_contain.ci_high<600").unwrap().op, Op::Lt);
        assert_eq!(parse_target("false_trips > 0").unwrap().op, Op::Gt);
        assert!(parse_target("agents_reached").unwrap_err().to_string().contains("METRIC[.STAT] OP VALUE"));
        assert!(parse_target("agents_reached<=two").unwrap_err().to_string().contains("not a number"));
        assert!(parse_target("blast<=2").unwrap_err().to_string().contains("unknown metric"));
        assert!(parse_target("agents_reached.p95<=2").unwrap_err().to_string().contains("unknown statistic"));
        assert!(parse_target("containment_rate.p99>=1").unwrap_err().to_string().contains("not quantiles"));
        assert!(parse_target("x").unwrap_err().to_string().starts_with("--target: "));
        assert_eq!(parse_cost("rejected_clean_share").unwrap().name, "rejected_clean_share");
        assert!(parse_cost("blast").unwrap_err().to_string().starts_with("--minimize: \"blast>=0\": unknown metric"));
    }

    #[test]
    fn targets_read_the_summary() {
        let s = summary(&[0, 1, 2, 3], 5);
        assert_eq!(observed(&s, &parse_target("agents_reached<=9").unwrap()), Some(1.5));
        assert_eq!(observed(&s, &parse_target("agents_reached.max<=9").unwrap()), Some(3.0));
        assert_eq!(observed(&s, &parse_target("containment_rate>=0").unwrap()), Some(0.75));
        assert_eq!(observed(&s, &parse_target("rejected_clean_share<=1").unwrap()), Some(0.05));
        assert!(meets(&s, &parse_target("agents_reached.p99<=3").unwrap()));
        assert!(!meets(&s, &parse_target("agents_reached.p99<3").unwrap()));
        assert!(!meets(&s, &parse_target("t_contain<=1").unwrap()), "undefined: no run has a t_contain");
    }

    #[test]
    fn the_cheapest_setting_meeting_every_target_wins() {
        let settings = [summary(&[3, 3], 0), summary(&[0, 1], 50), summary(&[1, 1], 20), summary(&[1, 1], 20)];
        let targets = [parse_target("agents_reached.max<=1").unwrap()];
        assert_eq!(cheapest(&settings, &targets, "rejected_clean"), Some(2), "cheaper than 1, first of the tie");
        assert_eq!(cheapest(&settings, &[parse_target("agents_reached.max<1").unwrap()], "rejected_clean"), None);
        assert_eq!(cheapest(&settings, &[], "rejected_clean"), Some(0));
    }

    #[test]
    fn the_nearest_settings_miss_fewest_targets_by_least() {
        let targets = [parse_target("agents_reached<=0.5").unwrap(), parse_target("containment_rate>=0.9").unwrap()];
        let settings = [
            summary(&[1, 1, 1, 1], 1), // reached 1.0: short by 1.0 (relative); contained: met
            summary(&[0, 0, 1, 3], 2), // reached 1.0 and containment 0.75: misses both
            summary(&[0, 0, 1, 1], 9), // reached 0.5: met; containment 1.0: met, but dear
            summary(&[1, 0, 1, 1], 0), // reached 0.75: short by 0.5
        ];
        assert_eq!(shortfall(&settings[2], &targets[0]), Some(0.0));
        assert_eq!(shortfall(&settings[3], &targets[0]), Some(0.5));
        assert!((shortfall(&settings[1], &targets[1]).unwrap() - 0.15 / 0.9).abs() < 1e-12);
        assert_eq!(nearest(&settings, &targets, "rejected_clean", 3), [2, 3, 0]);
        assert_eq!(nearest(&settings, &targets, "rejected_clean", 9).len(), 4);
        let zero = parse_target("agents_reached<=0").unwrap();
        assert_eq!(shortfall(&settings[3], &zero), Some(0.75), "absolute against a target of 0");
        assert_eq!(nearest(&settings[..2], &targets, "rejected_clean", 1), [0], "one target missed beats two");
        let strict = parse_target("agents_reached<0.5").unwrap();
        assert!(shortfall(&settings[2], &strict).unwrap() > 0.0, "missed at exactly its value");
    }

    #[test]
    fn refinement_bisects_toward_untried_neighbours() {
        let tried: Vec<Vec<Value>> =
            [1, 4, 8].iter().map(|&i| vec![Value::Integer(i), Value::String("x".into())]).collect();
        let next = refinements(&tried[1], &tried);
        assert_eq!(
            next,
            [vec![Value::Integer(3), Value::String("x".into())], vec![Value::Integer(6), Value::String("x".into())]]
        );
        // Adjacent integers leave nothing to try; strings are never refined.
        let tight: Vec<Vec<Value>> = [3, 4, 5].iter().map(|&i| vec![Value::Integer(i)]).collect();
        assert!(refinements(&tight[1], &tight).is_empty());
        let floats: Vec<Vec<Value>> = [1.0, 2.0].iter().map(|&f| vec![Value::Float(f)]).collect();
        assert_eq!(refinements(&floats[0], &floats), [vec![Value::Float(1.5)]]);
    }
}
