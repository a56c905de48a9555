//! Summaries over runs: mean with a 95% confidence interval (Student t,
//! kept inside what the values can be: a count or a time is never below
//! 0), quantiles from an HdrHistogram, and proportions with a Wilson
//! interval.
//!
//! Values are folded in run-index order, so the floating-point sums (and
//! therefore every printed digit) do not depend on thread count.

use crate::metrics::{self, Metric, Read, RunMetrics, PREVALENCE_SAMPLES};
use hdrhistogram::Histogram;

/// Summary of one numeric metric over the runs where it is defined.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    pub n: u64,
    pub mean: f64,
    /// Sample standard deviation (NaN with one value).
    pub sd: f64,
    /// The 95% interval of the mean, within the values' bounds.
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

/// A sample mean with its spread and the half-width of its 95% t-interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanInterval {
    pub n: u64,
    pub mean: f64,
    /// Sample standard deviation (Bessel-corrected; NaN with one value).
    pub sd: f64,
    /// NaN with fewer than two values.
    pub half_width: f64,
}

impl MeanInterval {
    /// The 95% interval of a mean of values that cannot be negative: cut
    /// at 0, which removes only impossible values and keeps the t
    /// interval's coverage (NaN ends with fewer than two values).
    pub fn nonnegative(&self) -> (f64, f64) {
        let low = self.mean - self.half_width;
        (if low < 0.0 { 0.0 } else { low }, self.mean + self.half_width)
    }
}

/// Mean, standard deviation and 95% t half-width of `values`, summed in
/// the order given. `None` when there are no values.
pub fn mean_interval(values: impl Iterator<Item = f64> + Clone) -> Option<MeanInterval> {
    let n = values.clone().count() as u64;
    if n == 0 {
        return None;
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    let (sd, half_width) = if n > 1 {
        let variance = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        (variance.sqrt(), t_critical(n - 1) * (variance / n as f64).sqrt())
    } else {
        (f64::NAN, f64::NAN)
    };
    Some(MeanInterval { n, mean, sd, half_width })
}

/// Mean, t-interval and quantiles of integer values (µs or counts).
/// `None` when there are no values. The interval is cut at 0
/// ([`MeanInterval::nonnegative`]).
pub fn distribution(values: &[u64]) -> Option<Distribution> {
    let interval = mean_interval(values.iter().map(|&v| v as f64))?;
    let (MeanInterval { n, mean, sd, .. }, (ci_low, ci_high)) = (interval, interval.nonnegative());
    // HdrHistogram reports a bucket's highest equivalent value; never above the true max.
    let max = values.iter().copied().max().unwrap_or(0);
    let mut histogram = Histogram::<u64>::new(3).expect("3 significant figures is a valid histogram");
    for &v in values {
        histogram.record(v).expect("auto-resizing histogram accepts any u64");
    }
    Some(Distribution {
        n,
        mean,
        sd,
        ci_low,
        ci_high,
        p50: histogram.value_at_quantile(0.50).min(max),
        p90: histogram.value_at_quantile(0.90).min(max),
        p99: histogram.value_at_quantile(0.99).min(max),
        max,
    })
}

impl Proportion {
    /// Sample standard deviation of the 0/1 outcomes (0 with one).
    pub fn sd(&self) -> f64 {
        if self.n > 1 {
            (self.rate * (1.0 - self.rate) * self.n as f64 / (self.n - 1) as f64).sqrt()
        } else {
            0.0
        }
    }
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

/// One metric summarised over a set of runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Stat {
    /// A count or duration over the runs that define it (`None`: none did).
    Distribution(Option<Distribution>),
    /// A flag: the share of runs where it held.
    Proportion(Proportion),
}

/// One metric's summary row.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSummary {
    pub metric: &'static Metric,
    pub stat: Stat,
}

/// Every summarised metric over one set of runs, in summary order
/// ([`crate::metrics::summarised`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub runs: u64,
    pub metrics: Vec<MetricSummary>,
}

impl Summary {
    /// The summary row of the metric called `name`.
    pub fn get(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|m| m.metric.name == name)
    }

    /// The distribution of a count or duration, when some run defined it
    /// (in stored units: counts, µs).
    pub fn distribution(&self, name: &str) -> Option<&Distribution> {
        match &self.get(name)?.stat {
            Stat::Distribution(d) => d.as_ref(),
            Stat::Proportion(_) => None,
        }
    }

    /// The proportion of a flag.
    pub fn proportion(&self, name: &str) -> Option<&Proportion> {
        match &self.get(name)?.stat {
            Stat::Proportion(p) => Some(p),
            Stat::Distribution(_) => None,
        }
    }

    /// The share of runs contained.
    pub fn containment(&self) -> &Proportion {
        self.proportion("containment_rate").expect("containment_rate is a summarised proportion")
    }

    /// Mean and 95% interval of `metric` in the units people read (seconds
    /// for times; a proportion's rate and Wilson interval; a share's ratio
    /// of means); `None` when no run defined it. With one run a
    /// distribution's interval is NaN.
    pub fn estimate(&self, name: &str) -> Option<(f64, f64, f64)> {
        let metric = metrics::metric(name)?;
        if let Read::Share { of, per } = metric.read {
            let (of, per) = (self.distribution(of)?, self.distribution(per)?);
            let share = |v: f64| if per.mean > 0.0 { v / per.mean } else { 0.0 };
            return Some((share(of.mean), share(of.ci_low), share(of.ci_high)));
        }
        match &self.get(name)?.stat {
            Stat::Distribution(d) => {
                let (d, scale) = (d.as_ref()?, metric.unit().scale());
                Some((d.mean * scale, d.ci_low * scale, d.ci_high * scale))
            }
            Stat::Proportion(p) => (p.n > 0).then_some((p.rate, p.low, p.high)),
        }
    }
}

/// Summarises runs given in run-index order.
pub fn summarize(runs: &[RunMetrics]) -> Summary {
    let mut values = Vec::with_capacity(runs.len());
    let metrics = metrics::summarised()
        .map(|metric| {
            let stat = if metric.is_proportion() {
                let held = runs.iter().filter(|r| metric.value(r) == Some(1)).count() as u64;
                Stat::Proportion(proportion(held, runs.len() as u64))
            } else {
                values.clear();
                values.extend(runs.iter().filter_map(|r| metric.value(r)));
                Stat::Distribution(distribution(&values))
            };
            MetricSummary { metric, stat }
        })
        .collect();
    Summary { runs: runs.len() as u64, metrics }
}

/// Agents corrupted at one sample time, across runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PrevalenceSample {
    /// When, in µs from the start.
    pub time: u64,
    pub mean: f64,
    /// The mean's 95% interval (cut at 0; NaN with one run).
    pub ci_low: f64,
    pub ci_high: f64,
    /// The 2.5% and 97.5% quantiles across runs (nearest rank): the band
    /// 95% of runs lie in.
    pub low: u32,
    pub high: u32,
}

/// Agents corrupted over time across runs given in run-index order, one
/// sample per [`crate::metrics::Prevalence`] time (none without runs).
pub fn prevalence(runs: &[RunMetrics]) -> Vec<PrevalenceSample> {
    let Some(first) = runs.first() else { return Vec::new() };
    debug_assert!(runs.iter().all(|r| r.prevalence.horizon == first.prevalence.horizon));
    let n = runs.len();
    let rank = |q: f64| ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    let mut counts = Vec::with_capacity(n);
    (0..PREVALENCE_SAMPLES)
        .map(|k| {
            counts.clear();
            counts.extend(runs.iter().map(|r| r.prevalence.counts[k]));
            let interval = mean_interval(counts.iter().map(|&c| c as f64)).expect("at least one run");
            counts.sort_unstable();
            let (ci_low, ci_high) = interval.nonnegative();
            PrevalenceSample {
                time: first.prevalence.time(k),
                mean: interval.mean,
                ci_low,
                ci_high,
                low: counts[rank(0.025)],
                high: counts[rank(0.975)],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prevalence_has_the_mean_its_interval_and_the_band_of_runs() {
        assert!(prevalence(&[]).is_empty());
        // 40 runs: at sample 50, run r has r % 4 agents corrupted, and run 39 has 9.
        let runs: Vec<RunMetrics> = (0..40u32)
            .map(|r| {
                let mut m = RunMetrics::default();
                m.prevalence.horizon = 1_000_000;
                m.prevalence.counts[50] = if r == 39 { 9 } else { r % 4 };
                m
            })
            .collect();
        let curve = prevalence(&runs);
        assert_eq!(curve.len(), PREVALENCE_SAMPLES);
        assert_eq!((curve[50].time, curve[100].time), (500_000, 1_000_000));
        let values: Vec<f64> = runs.iter().map(|r| r.prevalence.counts[50] as f64).collect();
        let expected = mean_interval(values.iter().copied()).unwrap();
        assert_eq!(curve[50].mean, expected.mean);
        assert_eq!(curve[50].ci_high, expected.mean + expected.half_width);
        // Sorted: ten 0s, ten 1s, ten 2s, nine 3s, one 9: rank ceil(1) = 1st and ceil(39) = 39th.
        assert_eq!((curve[50].low, curve[50].high), (0, 3));
        assert_eq!((curve[0].mean, curve[0].ci_low, curve[0].low, curve[0].high), (0.0, 0.0, 0, 0));
        let one = prevalence(&runs[39..]);
        assert_eq!((one[50].low, one[50].high, one[50].mean), (9, 9, 9.0));
        assert!(one[50].ci_high.is_nan() && one[50].ci_low.is_nan());
    }

    #[test]
    fn intervals_never_leave_what_a_count_can_be() {
        // agents_reached at 10 runs, one of them reaching 2: the t interval
        // was [-0.252, 0.652]; the mean of counts cannot be negative.
        let d = distribution(&[0, 0, 0, 0, 0, 0, 0, 0, 2, 0]).unwrap();
        assert_eq!(d.ci_low, 0.0);
        assert!((d.ci_high - (0.2 + 2.262 * (0.4f64 / 10.0).sqrt())).abs() < 1e-12, "{d:?}");
        assert!((d.sd - 0.4f64.sqrt()).abs() < 1e-12);
        let single = distribution(&[3]).unwrap();
        assert!(single.ci_low.is_nan() && single.ci_high.is_nan() && single.sd.is_nan(), "one value: no interval");
    }

    /// Coverage by simulation: on skewed samples of the sizes sweeps use,
    /// a nominal 95% interval covers the true mean 93-97% of the time.
    #[test]
    fn intervals_cover_the_mean_95_percent_of_the_time_on_skewed_samples() {
        use crate::rng::{self, SimRng, Stream};
        let mut rng = rng::stream(&rng::run_key(7, 0, 0), Stream::Behaviour);
        // (n, sampler, true mean): exponential times (skewness 2) and a
        // zero-inflated count like agents_reached (70% zeros, else 1-4).
        fn exponential(rng: &mut SimRng) -> u64 {
            rng::exponential(rng, 1000.0) as u64
        }
        fn zero_inflated(rng: &mut SimRng) -> u64 {
            if rng::chance(rng, 0.7) {
                0
            } else {
                1 + rng::below(rng, 4)
            }
        }
        type Sampler = fn(&mut SimRng) -> u64;
        let cases: [(usize, Sampler, f64); 3] =
            [(100, exponential, 999.5), (200, exponential, 999.5), (200, zero_inflated, 0.75)];
        for (n, draw, truth) in cases {
            let trials = 4000;
            let covered = (0..trials)
                .filter(|_| {
                    let values: Vec<u64> = (0..n).map(|_| draw(&mut rng)).collect();
                    let d = distribution(&values).unwrap();
                    d.ci_low <= truth && truth <= d.ci_high
                })
                .count();
            let coverage = covered as f64 / trials as f64;
            assert!((0.93..=0.97).contains(&coverage), "n = {n}, mean {truth}: coverage {coverage}");
        }
    }

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
    fn estimates_are_in_readable_units() {
        let run = |t| RunMetrics { t_contain: Some(t), contained: true, ..Default::default() };
        let summary = summarize(&[run(1_000_000), run(3_000_000)]);
        let d = summary.distribution("t_contain").unwrap().clone();
        let (mean, low, high) = summary.estimate("t_contain").unwrap();
        assert_eq!((mean, low, high), (d.mean * 1e-6, d.ci_low * 1e-6, d.ci_high * 1e-6), "seconds");
        assert!(low < 2.0 && high > 2.0 && (mean - 2.0).abs() < 1e-12);
        assert!(summary.proportion("t_contain").is_none() && summary.distribution("containment_rate").is_none());
        let empty = summarize(&[]);
        assert!(empty.estimate("containment_rate").is_none() && empty.containment().n == 0);
    }

    #[test]
    fn a_share_is_a_ratio_of_means() {
        let run = |rejected, messages| RunMetrics { rejected_clean: rejected, messages, ..Default::default() };
        let summary = summarize(&[run(1, 10), run(3, 30)]);
        let (share, low, high) = summary.estimate("rejected_clean_share").unwrap();
        assert_eq!(share, 0.1);
        let d = summary.distribution("rejected_clean").unwrap();
        assert_eq!((low, high), (d.ci_low / 20.0, d.ci_high / 20.0));
        assert_eq!(summarize(&[run(0, 0)]).estimate("rejected_clean_share").map(|e| e.0), Some(0.0));
    }

    #[test]
    fn summarize_skips_undefined_values() {
        let runs = [
            RunMetrics { agents_reached: 2, t_contain: Some(10), contained: true, ..Default::default() },
            RunMetrics { agents_reached: 4, t_contain: None, contained: false, ..Default::default() },
        ];
        let summary = summarize(&runs);
        assert_eq!(summary.distribution("agents_reached").unwrap().mean, 3.0);
        assert_eq!(summary.distribution("t_contain").unwrap().n, 1);
        assert!(summary.get("mean_sojourn").is_some() && summary.distribution("mean_sojourn").is_none());
        assert_eq!((summary.containment().successes, summary.containment().n), (1, 2));
        let (mean, low, _) = summary.estimate("t_contain").unwrap();
        assert!((mean - 10e-6).abs() < 1e-18 && low.is_nan(), "seconds; one run has no interval");
        assert_eq!(summary.estimate("containment_rate").map(|e| e.0), Some(0.5));
        assert!(summary.estimate("mean_sojourn").is_none() && summary.estimate("blast").is_none());
    }
}
