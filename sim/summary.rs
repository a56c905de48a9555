//! Summaries over runs: mean with a 95% confidence interval (Student t,
//! kept inside what the values can be: a count or a time is never below
//! 0), quantiles from an HdrHistogram, and proportions with a Wilson
//! interval.
//!
//! Values are folded in run-index order, so the floating-point sums (and
//! therefore every printed digit) do not depend on thread count.

use crate::metrics::{self, CheckCounts, Metric, Read, RunMetrics, PREVALENCE_SAMPLES};
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
    /// The interval of a mean of `n` values of sample variance `variance`
    /// (sd and half-width NaN with fewer than two values).
    fn of(n: u64, mean: f64, variance: f64) -> MeanInterval {
        let (sd, half_width) = if n > 1 {
            (variance.sqrt(), t_critical(n - 1) * (variance / n as f64).sqrt())
        } else {
            (f64::NAN, f64::NAN)
        };
        MeanInterval { n, mean, sd, half_width }
    }

    /// The 95% interval of a mean of values that cannot be negative: cut
    /// at 0, which removes only impossible values and keeps the t
    /// interval's coverage (NaN ends with fewer than two values).
    pub fn nonnegative(&self) -> (f64, f64) {
        let low = self.mean - self.half_width;
        (if low < 0.0 { 0.0 } else { low }, self.mean + self.half_width)
    }
}

/// The first pass over values: how many, and their sum, added in the
/// order given (so the sum's rounding, and every printed digit, is fixed
/// by that order).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sum {
    n: u64,
    total: f64,
}

impl Sum {
    pub fn add(&mut self, value: f64) {
        self.n += 1;
        self.total += value;
    }

    /// The mean, and the second pass around it (`None` with no values).
    pub fn spread(&self) -> Option<Spread> {
        (self.n > 0).then(|| Spread { n: self.n, mean: self.total / self.n as f64, squares: 0.0 })
    }
}

/// The second pass over the same values in the same order: squared
/// deviations from the first pass's mean, summed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    n: u64,
    mean: f64,
    squares: f64,
}

impl Spread {
    pub fn add(&mut self, value: f64) {
        let deviation = value - self.mean;
        self.squares += deviation * deviation;
    }

    /// The mean, its standard deviation and 95% t half-width.
    pub fn interval(&self) -> MeanInterval {
        let variance = if self.n > 1 { self.squares / (self.n - 1) as f64 } else { f64::NAN };
        MeanInterval::of(self.n, self.mean, variance)
    }
}

/// Mean, standard deviation and 95% t half-width of `values`, summed in
/// the order given ([`Sum`], then [`Spread`]). `None` when there are no values.
pub fn mean_interval(values: impl Iterator<Item = f64> + Clone) -> Option<MeanInterval> {
    let mut sum = Sum::default();
    values.clone().for_each(|v| sum.add(v));
    let mut spread = sum.spread()?;
    values.for_each(|v| spread.add(v));
    Some(spread.interval())
}

/// A mean and its 95% t-interval from exact integer sums of `n` values
/// and of their squares: the same bits whatever order the values came in.
pub fn exact_interval(n: u64, sum: u128, squares: u128) -> MeanInterval {
    let variance = if n > 1 {
        // n * squares - sum^2 = n * (n - 1) * variance, exact and >= 0.
        (n as u128 * squares - sum * sum) as f64 / (n as f64 * (n - 1) as f64)
    } else {
        f64::NAN
    };
    MeanInterval::of(n, sum as f64 / n as f64, variance)
}

/// What each check did over a plan's runs ([`CheckCounts`] added run by
/// run): exact sums and sums of squares per check and count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckTotals {
    runs: u64,
    /// Per check: its agent index, and each count's sum and sum of squares.
    checks: Vec<(u32, [(u128, u128); 7])>,
}

impl CheckTotals {
    /// Adds one run's counts (every run of a plan has the same checks).
    pub fn add(&mut self, counts: &[CheckCounts]) {
        if self.runs == 0 {
            self.checks = counts.iter().map(|c| (c.agent, [(0, 0); 7])).collect();
        }
        assert_eq!(self.checks.len(), counts.len(), "every run of a plan has the same checks");
        self.runs += 1;
        for ((agent, sums), counts) in self.checks.iter_mut().zip(counts) {
            debug_assert_eq!(*agent, counts.agent);
            for ((sum, squares), value) in sums.iter_mut().zip(counts.values()) {
                *sum += value as u128;
                *squares += value as u128 * value as u128;
            }
        }
    }

    /// Each check's agent index, with each count's name and mean per run,
    /// in agent order then [`CheckCounts::NAMES`] order (empty with no runs).
    pub fn rows(&self) -> Vec<(u32, &'static str, MeanInterval)> {
        let each = |&(agent, sums): &(u32, [(u128, u128); 7])| {
            let intervals = sums.map(|(sum, squares)| exact_interval(self.runs, sum, squares));
            CheckCounts::NAMES.into_iter().zip(intervals).map(move |(name, interval)| (agent, name, interval))
        };
        self.checks.iter().flat_map(each).collect()
    }
}

/// The first pass over a distribution's integer values: their sum,
/// histogram and maximum.
#[derive(Clone, Debug)]
struct Values {
    sum: Sum,
    histogram: Histogram<u64>,
    max: u64,
}

impl Values {
    fn new() -> Values {
        let histogram = Histogram::<u64>::new(3).expect("3 significant figures is a valid histogram");
        Values { sum: Sum::default(), histogram, max: 0 }
    }

    fn add(&mut self, value: u64) {
        self.sum.add(value as f64);
        self.histogram.record(value).expect("auto-resizing histogram accepts any u64");
        self.max = self.max.max(value);
    }

    /// The distribution, given the second pass over the same values.
    fn distribution(&self, spread: &Spread) -> Distribution {
        let interval = spread.interval();
        let (MeanInterval { n, mean, sd, .. }, (ci_low, ci_high)) = (interval, interval.nonnegative());
        // HdrHistogram reports a bucket's highest equivalent value; never above the true max.
        let quantile = |q: f64| self.histogram.value_at_quantile(q).min(self.max);
        Distribution {
            n,
            mean,
            sd,
            ci_low,
            ci_high,
            p50: quantile(0.50),
            p90: quantile(0.90),
            p99: quantile(0.99),
            max: self.max,
        }
    }
}

/// Mean, t-interval and quantiles of integer values (µs or counts).
/// `None` when there are no values. The interval is cut at 0
/// ([`MeanInterval::nonnegative`]).
pub fn distribution(values: &[u64]) -> Option<Distribution> {
    let mut first = Values::new();
    values.iter().for_each(|&v| first.add(v));
    let mut spread = first.sum.spread()?;
    values.iter().for_each(|&v| spread.add(v as f64));
    Some(first.distribution(&spread))
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
    summarize_twice(|add| {
        runs.iter().for_each(add);
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
    .0
}

/// The summary and the prevalence curve of runs that `read` gives, in
/// run-index order, to the function it is passed; `read` is called twice
/// (sums, then spreads around the means), so the runs can come from a
/// file and memory does not grow with their number. Bit for bit what
/// [`summarize`] and [`prevalence`] give for the same runs in a slice.
pub fn summarize_twice<E>(
    mut read: impl FnMut(&mut dyn FnMut(&RunMetrics)) -> Result<(), E>,
) -> Result<(Summary, Vec<PrevalenceSample>), E> {
    let mut first = FirstPass::new();
    read(&mut |run| first.add(run))?;
    let mut second = first.second();
    let mut seen = 0u64;
    read(&mut |run| {
        seen += 1;
        second.add(run)
    })?;
    assert_eq!(seen, second.first.runs, "both passes read the same runs");
    Ok(second.finish())
}

/// One summarised metric's first pass.
#[derive(Clone, Debug)]
enum Tally {
    Distribution(Values),
    /// Runs where the flag held.
    Proportion(u64),
}

/// The first pass over runs: counts, sums, histograms; per prevalence
/// sample, the sum and how many runs had each count.
#[derive(Clone, Debug)]
struct FirstPass {
    runs: u64,
    metrics: Vec<(&'static Metric, Tally)>,
    /// The first run's (every run of a point has the same horizon).
    horizon: Option<u64>,
    samples: Vec<(Sum, std::collections::BTreeMap<u32, u64>)>,
}

impl FirstPass {
    fn new() -> FirstPass {
        let tally =
            |m: &Metric| if m.is_proportion() { Tally::Proportion(0) } else { Tally::Distribution(Values::new()) };
        FirstPass {
            runs: 0,
            metrics: metrics::summarised().map(|m| (m, tally(m))).collect(),
            horizon: None,
            samples: vec![Default::default(); PREVALENCE_SAMPLES],
        }
    }

    fn add(&mut self, run: &RunMetrics) {
        self.runs += 1;
        for (metric, tally) in &mut self.metrics {
            match (tally, metric.value(run)) {
                (Tally::Proportion(held), value) => *held += (value == Some(1)) as u64,
                (Tally::Distribution(values), Some(v)) => values.add(v),
                (Tally::Distribution(_), None) => {}
            }
        }
        debug_assert!(self.horizon.is_none_or(|h| h == run.prevalence.horizon), "one horizon per set of runs");
        self.horizon.get_or_insert(run.prevalence.horizon);
        for ((sum, counts), &c) in self.samples.iter_mut().zip(&run.prevalence.counts) {
            sum.add(c as f64);
            *counts.entry(c).or_insert(0) += 1;
        }
    }

    fn second(self) -> SecondPass {
        let spread = |tally: &Tally| match tally {
            Tally::Distribution(values) => values.sum.spread(),
            Tally::Proportion(_) => None,
        };
        SecondPass {
            spreads: self.metrics.iter().map(|(_, tally)| spread(tally)).collect(),
            samples: self.samples.iter().map(|(sum, _)| sum.spread()).collect(),
            first: self,
        }
    }
}

/// The second pass over the same runs: spreads around the first's means.
struct SecondPass {
    first: FirstPass,
    spreads: Vec<Option<Spread>>,
    samples: Vec<Option<Spread>>,
}

impl SecondPass {
    fn add(&mut self, run: &RunMetrics) {
        for ((metric, _), spread) in self.first.metrics.iter().zip(&mut self.spreads) {
            if let (Some(spread), Some(v)) = (spread.as_mut(), metric.value(run)) {
                spread.add(v as f64);
            }
        }
        for (spread, &c) in self.samples.iter_mut().zip(&run.prevalence.counts) {
            spread.as_mut().expect("a run was read in the first pass").add(c as f64);
        }
    }

    fn finish(self) -> (Summary, Vec<PrevalenceSample>) {
        let FirstPass { runs, metrics, horizon, samples } = self.first;
        let metrics = metrics
            .iter()
            .zip(&self.spreads)
            .map(|((metric, tally), spread)| {
                let stat = match tally {
                    Tally::Proportion(held) => Stat::Proportion(proportion(*held, runs)),
                    Tally::Distribution(values) => Stat::Distribution(spread.map(|s| values.distribution(&s))),
                };
                MetricSummary { metric, stat }
            })
            .collect();
        let curve = match horizon {
            None => Vec::new(),
            Some(horizon) => {
                let at = crate::metrics::Prevalence { horizon, ..Default::default() };
                let samples = samples.iter().zip(&self.samples).enumerate();
                samples.map(|(k, ((_, counts), spread))| sample(at.time(k), counts, runs, spread)).collect()
            }
        };
        (Summary { runs, metrics }, curve)
    }
}

/// One prevalence sample from `runs` runs' counts (how many runs had
/// each) and the spread of their mean.
fn sample(
    time: u64,
    counts: &std::collections::BTreeMap<u32, u64>,
    runs: u64,
    spread: &Option<Spread>,
) -> PrevalenceSample {
    let interval = spread.expect("at least one run").interval();
    let (ci_low, ci_high) = interval.nonnegative();
    // Nearest rank: the value at 0-based position `rank` of the sorted counts.
    let rank = |q: f64| ((q * runs as f64).ceil() as u64).clamp(1, runs) - 1;
    let at_rank = |rank: u64| {
        let mut below = 0;
        for (&value, &n) in counts {
            below += n;
            if below > rank {
                return value;
            }
        }
        unreachable!("the counts cover every run")
    };
    PrevalenceSample {
        time,
        mean: interval.mean,
        ci_low,
        ci_high,
        low: at_rank(rank(0.025)),
        high: at_rank(rank(0.975)),
    }
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
    summarize_twice(|add| {
        runs.iter().for_each(add);
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
    .1
}

/// Times a chart draws as an empirical CDF, of `runs` runs: every time,
/// sorted, while there are at most [`Contained::EXACT`]; past that,
/// [`Contained::QUANTILES`] evenly spaced quantiles from a histogram (3
/// significant figures), each standing for `of / times.len()` runs, so
/// memory and the chart's size stay bounded whatever the number of runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Contained {
    /// Sorted, in µs.
    pub times: Vec<u64>,
    /// How many times `times` stand for (`times.len()` when exact).
    pub of: u64,
    pub runs: u64,
}

impl Contained {
    pub const EXACT: usize = 100_000;
    pub const QUANTILES: u64 = 10_000;
}

/// Collects a [`Contained`] from values given one by one.
#[derive(Clone, Debug, Default)]
pub struct ContainedTimes {
    exact: Vec<u64>,
    histogram: Option<Histogram<u64>>,
    max: u64,
    runs: u64,
}

impl ContainedTimes {
    /// One run: its time, if it has one.
    pub fn add(&mut self, time: Option<u64>) {
        self.runs += 1;
        let Some(t) = time else { return };
        self.max = self.max.max(t);
        if let Some(histogram) = &mut self.histogram {
            histogram.record(t).expect("auto-resizing histogram accepts any u64");
            return;
        }
        self.exact.push(t);
        if self.exact.len() > Contained::EXACT {
            let mut histogram = Histogram::<u64>::new(3).expect("3 significant figures is a valid histogram");
            self.exact.drain(..).for_each(|t| histogram.record(t).expect("auto-resizing histogram"));
            self.histogram = Some(histogram);
        }
    }

    pub fn finish(mut self) -> Contained {
        match self.histogram {
            None => {
                self.exact.sort_unstable();
                Contained { of: self.exact.len() as u64, times: self.exact, runs: self.runs }
            }
            Some(h) => {
                let n = Contained::QUANTILES;
                let times = (1..=n).map(|i| h.value_at_quantile(i as f64 / n as f64).min(self.max)).collect();
                Contained { times, of: h.len(), runs: self.runs }
            }
        }
    }
}

#[cfg(test)]
mod check_totals_tests {
    use super::*;

    #[test]
    fn exact_intervals_match_the_two_pass_ones() {
        let values = [3u64, 0, 7, 7, 12, 1];
        let two_pass = mean_interval(values.iter().map(|&v| v as f64)).unwrap();
        let sum = values.iter().map(|&v| v as u128).sum();
        let squares = values.iter().map(|&v| (v * v) as u128).sum();
        let exact = exact_interval(6, sum, squares);
        assert_eq!(exact.n, 6);
        assert!((exact.mean - two_pass.mean).abs() < 1e-12 && (exact.sd - two_pass.sd).abs() < 1e-12, "{exact:?}");
        assert!((exact.half_width - two_pass.half_width).abs() < 1e-12);
        let one = exact_interval(1, 5, 25);
        assert_eq!(one.mean, 5.0);
        assert!(one.sd.is_nan() && one.half_width.is_nan());
        assert_eq!(exact_interval(3, 12, 48).sd, 0.0, "equal values");
    }

    #[test]
    fn totals_sum_each_check_and_count_in_any_order() {
        let run = |caught: u64, missed: u64| {
            let a = CheckCounts { agent: 2, verdicts: 10, caught, missed, ..CheckCounts::default() };
            [a, CheckCounts { agent: 5, verdicts: 4, retries: 1, failed_clean: 1, ..CheckCounts::default() }]
        };
        let (mut forward, mut backward) = (CheckTotals::default(), CheckTotals::default());
        let runs = [run(1, 2), run(3, 0), run(2, 2)];
        runs.iter().for_each(|r| forward.add(r));
        runs.iter().rev().for_each(|r| backward.add(r));
        assert_eq!(forward, backward);
        let rows = forward.rows();
        assert_eq!(rows.len(), 14);
        let (agent, name, caught) = rows[1];
        assert_eq!((agent, name, caught.n, caught.mean, caught.sd), (2, "caught", 3, 2.0, 1.0));
        let (agent, name, retries) = rows[7 + 4];
        assert_eq!((agent, name, retries.mean, retries.sd), (5, "retries", 1.0, 0.0));
        assert!(CheckTotals::default().rows().is_empty());
    }
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

    /// The summaries as they were computed before they streamed: each
    /// metric's values collected, summed, then summed again around the
    /// mean; each prevalence sample's counts sorted for the band.
    type Row = (u64, f64, f64, u64);
    type Sample = (f64, f64, u32, u32);
    fn held_in_memory(runs: &[RunMetrics]) -> (Vec<Row>, Vec<Sample>) {
        let moments = |values: &[f64]| {
            let n = values.len() as f64;
            let mean = values.iter().sum::<f64>() / n;
            let squares = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
            (mean, (squares / (n - 1.0)).sqrt())
        };
        let metrics = metrics::summarised()
            .filter(|m| !m.is_proportion())
            .filter_map(|m| {
                let values: Vec<u64> = runs.iter().filter_map(|r| m.value(r)).collect();
                let floats: Vec<f64> = values.iter().map(|&v| v as f64).collect();
                let (mean, sd) = moments(&floats);
                Some((values.len() as u64, mean, sd, *values.iter().max()?))
            })
            .collect();
        let n = runs.len();
        let rank = |q: f64| ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
        let curve = (0..PREVALENCE_SAMPLES)
            .map(|k| {
                let mut counts: Vec<u32> = runs.iter().map(|r| r.prevalence.counts[k]).collect();
                let (mean, sd) = moments(&counts.iter().map(|&c| c as f64).collect::<Vec<_>>());
                let half = t_critical(n as u64 - 1) * (sd * sd / n as f64).sqrt();
                counts.sort_unstable();
                (mean, mean + half, counts[rank(0.025)], counts[rank(0.975)])
            })
            .collect();
        (metrics, curve)
    }

    /// The two passes give, bit for bit, what holding every value gave, on
    /// values whose float sums round (times near 2^40 µs).
    #[test]
    fn two_passes_are_bit_identical_to_summing_held_values() {
        use crate::rng::{self, Stream};
        let mut rng = rng::stream(&rng::run_key(3, 0, 0), Stream::Behaviour);
        let runs: Vec<RunMetrics> = (0..500u64)
            .map(|r| {
                let mut m = RunMetrics { run: r, ..Default::default() };
                m.agents_reached = rng::below(&mut rng, 7) as u32;
                m.messages = (1 << 52) + rng::below(&mut rng, 1 << 40);
                m.t_contain = rng::chance(&mut rng, 0.6).then(|| rng::below(&mut rng, 1 << 41));
                m.contained = m.t_contain.is_some();
                m.prevalence.horizon = 1 << 41;
                for c in &mut m.prevalence.counts {
                    *c = rng::below(&mut rng, 50) as u32;
                }
                m
            })
            .collect();
        let (metrics, curve) = held_in_memory(&runs);
        let in_order = runs.iter().fold(0.0, |sum, r| sum + r.messages as f64);
        assert_ne!(in_order, runs.iter().map(|r| r.messages as u128).sum::<u128>() as f64, "the sum rounds");
        let summary = summarize(&runs);
        let streamed: Vec<Row> = summary
            .metrics
            .iter()
            .filter_map(|m| match &m.stat {
                Stat::Distribution(Some(d)) => Some((d.n, d.mean, d.sd, d.max)),
                _ => None,
            })
            .collect();
        let bits = |rows: &[Row]| -> Vec<(u64, u64, u64, u64)> {
            rows.iter().map(|r| (r.0, r.1.to_bits(), r.2.to_bits(), r.3)).collect()
        };
        assert_eq!(bits(&streamed), bits(&metrics));
        let streamed_curve: Vec<_> = prevalence(&runs).iter().map(|s| (s.mean, s.ci_high, s.low, s.high)).collect();
        assert_eq!(streamed_curve.len(), curve.len());
        for (k, (s, e)) in streamed_curve.iter().zip(&curve).enumerate() {
            assert_eq!(
                (s.0.to_bits(), s.1.to_bits(), s.2, s.3),
                (e.0.to_bits(), e.1.to_bits(), e.2, e.3),
                "sample {k}"
            );
        }
    }

    #[test]
    fn contained_times_are_exact_then_quantiles() {
        let mut few = ContainedTimes::default();
        [Some(30), None, Some(10), Some(20)].into_iter().for_each(|t| few.add(t));
        assert_eq!(few.finish(), Contained { times: vec![10, 20, 30], of: 3, runs: 4 });
        let mut many = ContainedTimes::default();
        let n = Contained::EXACT as u64 + 1;
        (0..n).for_each(|t| many.add(Some(n - t)));
        many.add(None);
        let many = many.finish();
        assert_eq!((many.of, many.runs, many.times.len() as u64), (n, n + 1, Contained::QUANTILES));
        assert!(many.times.windows(2).all(|w| w[0] <= w[1]) && *many.times.last().unwrap() == n);
        let median = many.times[Contained::QUANTILES as usize / 2 - 1];
        assert!((median as f64 - n as f64 / 2.0).abs() < n as f64 * 1e-3, "{median}");
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
