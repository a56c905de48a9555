//! Summaries over runs: mean with a 95% confidence interval (Student t),
//! quantiles from an HdrHistogram, and proportions with a Wilson interval.
//!
//! Values are folded in run-index order, so the floating-point sums (and
//! therefore every printed digit) do not depend on thread count.

use crate::metrics::RunMetrics;
use hdrhistogram::Histogram;

/// Summary of one numeric metric over the runs where it is defined.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    pub n: u64,
    pub mean: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

/// A proportion with its 95% Wilson score interval.
#[derive(Clone, Debug, PartialEq)]
pub struct Proportion {
    pub successes: u64,
    pub n: u64,
    pub rate: f64,
    pub low: f64,
    pub high: f64,
}

/// Two-sided 95% Student t critical values for 1..=30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// The 95% two-sided t critical value for `df` degrees of freedom.
pub fn t_critical(df: u64) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T95[df as usize - 1],
        31..=40 => 2.021,
        41..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Mean and the half-width of its 95% t-interval (NaN with fewer than two
/// values), summed in the order given. `None` when there are no values.
pub fn mean_interval(values: impl Iterator<Item = f64> + Clone) -> Option<(u64, f64, f64)> {
    let n = values.clone().count() as u64;
    if n == 0 {
        return None;
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    let half_width = if n > 1 {
        let variance = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        t_critical(n - 1) * (variance / n as f64).sqrt()
    } else {
        f64::NAN
    };
    Some((n, mean, half_width))
}

/// Mean, t-interval and quantiles of integer values (µs or counts).
/// `None` when there are no values.
pub fn distribution(values: &[u64]) -> Option<Distribution> {
    let (n, mean, half_width) = mean_interval(values.iter().map(|&v| v as f64))?;
    // HdrHistogram reports a bucket's highest equivalent value; never above the true max.
    let max = values.iter().copied().max().unwrap_or(0);
    let mut histogram = Histogram::<u64>::new(3).expect("3 significant figures is a valid histogram");
    for &v in values {
        histogram.record(v).expect("auto-resizing histogram accepts any u64");
    }
    Some(Distribution {
        n,
        mean,
        ci_low: mean - half_width,
        ci_high: mean + half_width,
        p50: histogram.value_at_quantile(0.50).min(max),
        p90: histogram.value_at_quantile(0.90).min(max),
        p99: histogram.value_at_quantile(0.99).min(max),
        max,
    })
}

/// Wilson score interval for `successes` out of `n` at 95%.
pub fn proportion(successes: u64, n: u64) -> Proportion {
    if n == 0 {
        return Proportion { successes, n, rate: f64::NAN, low: f64::NAN, high: f64::NAN };
    }
    let z = 1.959_963_984_540_054_f64;
    let nf = n as f64;
    let p = successes as f64 / nf;
    let denominator = 1.0 + z * z / nf;
    let centre = (p + z * z / (2.0 * nf)) / denominator;
    let half = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / denominator;
    let low = if successes == 0 { 0.0 } else { (centre - half).max(0.0) };
    let high = if successes == n { 1.0 } else { (centre + half).min(1.0) };
    Proportion { successes, n, rate: p, low, high }
}

/// How a metric's values are measured, for printing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// Microseconds, printed as seconds.
    Micros,
}

/// One metric's summary row.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSummary {
    pub metric: &'static str,
    pub unit: Unit,
    /// `None` when no run defined the metric.
    pub distribution: Option<Distribution>,
}

/// Everything summarised over one set of runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub runs: u64,
    pub metrics: Vec<MetricSummary>,
    pub containment: Proportion,
}

type Extract = fn(&RunMetrics) -> Option<u64>;

/// The summarised metrics, in output order.
pub const METRICS: [(&str, Unit, Extract); 30] = [
    ("agents_reached", Unit::Count, |m| Some(m.agents_reached as u64)),
    ("agents_corrupted", Unit::Count, |m| Some(m.agents_corrupted as u64)),
    ("corrupted_messages", Unit::Count, |m| Some(m.corrupted_messages)),
    ("corrupted_actions", Unit::Count, |m| Some(m.corrupted_actions)),
    ("corrupted_records", Unit::Count, |m| Some(m.corrupted_records)),
    ("t_detect", Unit::Micros, |m| m.t_detect),
    ("t_contain", Unit::Micros, |m| m.t_contain),
    ("rejected_clean", Unit::Count, |m| Some(m.rejected_clean)),
    ("rejected_corrupted", Unit::Count, |m| Some(m.rejected_corrupted)),
    ("breaker_trips", Unit::Count, |m| Some(m.breaker_trips)),
    ("false_trips", Unit::Count, |m| Some(m.false_trips)),
    ("capped_clean", Unit::Count, |m| Some(m.capped_clean)),
    ("capped_corrupted", Unit::Count, |m| Some(m.capped_corrupted)),
    ("held_time", Unit::Micros, |m| Some(m.held_time)),
    ("t_attribute", Unit::Micros, |m| m.t_attribute),
    ("reviews", Unit::Count, |m| Some(m.reviews)),
    ("agents_quarantined", Unit::Count, |m| Some(m.agents_quarantined as u64)),
    ("wrong_quarantines", Unit::Count, |m| Some(m.wrong_quarantines as u64)),
    ("rolled_back_clean", Unit::Count, |m| Some(m.rolled_back_clean)),
    ("rolled_back_corrupted", Unit::Count, |m| Some(m.rolled_back_corrupted)),
    ("corrupted_records_left", Unit::Count, |m| Some(m.corrupted_records_left)),
    ("out_of_scope_succeeded", Unit::Count, |m| Some(m.out_of_scope_succeeded)),
    ("out_of_scope_blocked", Unit::Count, |m| Some(m.out_of_scope_blocked)),
    ("out_of_scope_blocked_writes", Unit::Count, |m| Some(m.out_of_scope_blocked_writes)),
    ("out_of_scope_blocked_injected", Unit::Count, |m| Some(m.out_of_scope_blocked_injected)),
    ("unattributable_actions", Unit::Count, |m| Some(m.unattributable_actions)),
    ("clean_actions_blocked", Unit::Count, |m| Some(m.clean_actions_blocked)),
    ("messages", Unit::Count, |m| Some(m.messages)),
    ("actions", Unit::Count, |m| Some(m.actions)),
    ("mean_sojourn", Unit::Micros, |m| m.mean_sojourn().map(|s| (s + 0.5) as u64)),
];

impl Summary {
    /// A metric's summary row and the factor that turns its values into
    /// the units people read (seconds for times, from the row's unit).
    pub fn scaled(&self, metric: &str) -> Option<(&Distribution, f64)> {
        let row = self.metrics.iter().find(|m| m.metric == metric)?;
        let scale = if row.unit == Unit::Micros { 1e-6 } else { 1.0 };
        Some((row.distribution.as_ref()?, scale))
    }

    /// Mean and 95% interval of `metric` (seconds for times), or the
    /// containment rate and its Wilson interval for `containment_rate`;
    /// `None` when no run defined it. With one run the interval is NaN.
    pub fn estimate(&self, metric: &str) -> Option<(f64, f64, f64)> {
        if metric == "containment_rate" {
            let c = &self.containment;
            return (c.n > 0).then_some((c.rate, c.low, c.high));
        }
        let (d, scale) = self.scaled(metric)?;
        Some((d.mean * scale, d.ci_low * scale, d.ci_high * scale))
    }
}

/// Summarises runs given in run-index order.
pub fn summarize(runs: &[RunMetrics]) -> Summary {
    let mut values = Vec::with_capacity(runs.len());
    let metrics = METRICS
        .iter()
        .map(|&(metric, unit, extract)| {
            values.clear();
            values.extend(runs.iter().filter_map(extract));
            MetricSummary { metric, unit, distribution: distribution(&values) }
        })
        .collect();
    let contained = runs.iter().filter(|m| m.contained).count() as u64;
    Summary { runs: runs.len() as u64, metrics, containment: proportion(contained, runs.len() as u64) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_t_interval() {
        let d = distribution(&[2, 4, 4, 4, 5, 5, 7, 9]).unwrap();
        assert_eq!(d.mean, 5.0);
        // sample sd = sqrt(32/7); half width = 2.365 * sd / sqrt(8)
        let half = 2.365 * (32.0f64 / 7.0).sqrt() / 8f64.sqrt();
        assert!((d.ci_high - 5.0 - half).abs() < 1e-12 && (5.0 - d.ci_low - half).abs() < 1e-12);
        assert_eq!((d.p50, d.max), (4, 9));
        assert!(distribution(&[]).is_none());
        let single = distribution(&[3]).unwrap();
        assert!(single.ci_low.is_nan() && single.mean == 3.0);
    }

    #[test]
    fn quantiles_of_a_uniform_ramp() {
        let values: Vec<u64> = (1..=1000).collect();
        let d = distribution(&values).unwrap();
        assert_eq!((d.p50, d.p90, d.p99, d.max), (500, 900, 990, 1000));
    }

    #[test]
    fn t_table_edges() {
        assert!(t_critical(0).is_nan());
        assert_eq!(t_critical(1), 12.706);
        assert_eq!(t_critical(30), 2.042);
        assert_eq!(t_critical(35), 2.021);
        assert_eq!(t_critical(50), 2.000);
        assert_eq!(t_critical(100), 1.980);
        assert_eq!(t_critical(10_000), 1.960);
    }

    #[test]
    fn wilson_interval_matches_reference() {
        // Reference: 8 of 10 at 95% -> [0.4902, 0.9433] (Wilson 1927).
        let p = proportion(8, 10);
        assert!((p.low - 0.4902).abs() < 1e-4 && (p.high - 0.9433).abs() < 1e-4, "{p:?}");
        let all = proportion(10, 10);
        assert_eq!(all.high, 1.0);
        assert!(all.low > 0.69 && all.low < 0.73);
        assert!(proportion(0, 0).rate.is_nan());
        assert_eq!(proportion(0, 5).low, 0.0);
    }

    #[test]
    fn summarize_skips_undefined_values() {
        let runs = [
            RunMetrics { agents_reached: 2, t_contain: Some(10), contained: true, ..Default::default() },
            RunMetrics { agents_reached: 4, t_contain: None, contained: false, ..Default::default() },
        ];
        let summary = summarize(&runs);
        let get = |name| summary.metrics.iter().find(|m| m.metric == name).unwrap().distribution.clone();
        assert_eq!(get("agents_reached").unwrap().mean, 3.0);
        assert_eq!(get("t_contain").unwrap().n, 1);
        assert!(get("mean_sojourn").is_none());
        assert_eq!((summary.containment.successes, summary.containment.n), (1, 2));
    }
}
