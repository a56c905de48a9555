//! Paired comparisons with common random numbers: the same replications run
//! with the scenario's mitigations and with some of them turned off. Run r
//! of both variants uses the same key, so arrivals, service times, fault
//! coins and noise line up, and the per-run difference has far less noise
//! than the difference of two independent samples. Which mitigations are
//! turned off is [`crate::mitigation::Mitigations::without`].

use crate::metrics::RunMetrics;
use crate::metrics::{self, Metric};
use crate::summary::{Spread, Sum};

/// One metric compared between the two variants.
#[derive(Clone, Debug, PartialEq)]
pub struct PairedMetric {
    /// A duration's values are differences of microseconds; a flag's are of 0/1 indicators.
    pub metric: &'static Metric,
    /// Runs where the metric is defined in both variants.
    pub n: u64,
    pub mean_with: f64,
    pub mean_without: f64,
    /// Mean of the per-run differences (with - without) and its 95% t-interval.
    pub mean_difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Per-metric paired differences, in summary order (distributions, then
/// proportions as 0/1 indicators). `with` and `without` are the same
/// replications in the same order.
pub fn compare(with: &[RunMetrics], without: &[RunMetrics]) -> Vec<PairedMetric> {
    assert_eq!(with.len(), without.len(), "paired runs must match one to one");
    compare_twice(|add| {
        with.iter().zip(without).for_each(|(a, b)| add(a, b));
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
}

/// [`compare`] over pairs of runs that `read` gives, in run order, to the
/// function it is passed; `read` is called twice (sums, then spreads), so
/// the runs can come from files and memory does not grow with their number.
pub fn compare_twice<E>(
    mut read: impl FnMut(&mut dyn FnMut(&RunMetrics, &RunMetrics)) -> Result<(), E>,
) -> Result<Vec<PairedMetric>, E> {
    let metrics: Vec<&'static Metric> = metrics::summarised().collect();
    // Per metric, over runs where both define it: differences, and each side.
    let mut sums = vec![[Sum::default(); 3]; metrics.len()];
    read(&mut |a, b| {
        assert_eq!(a.run, b.run, "paired runs must be the same replications");
        for (metric, sums) in metrics.iter().zip(&mut sums) {
            if let (Some(x), Some(y)) = (metric.value(a), metric.value(b)) {
                let (x, y) = (x as f64, y as f64);
                [x - y, x, y].iter().zip(sums.iter_mut()).for_each(|(v, sum)| sum.add(*v));
            }
        }
    })?;
    let mut spreads: Vec<Option<Spread>> = sums.iter().map(|s| s[0].spread()).collect();
    read(&mut |a, b| {
        for (metric, spread) in metrics.iter().zip(&mut spreads) {
            if let (Some(spread), Some(x), Some(y)) = (spread.as_mut(), metric.value(a), metric.value(b)) {
                spread.add(x as f64 - y as f64);
            }
        }
    })?;
    let rows = metrics.iter().zip(&sums).zip(&spreads).filter_map(|((&metric, sums), spread)| {
        let difference = spread.as_ref()?.interval();
        let mean = |sum: &Sum| sum.spread().expect("as many values as differences").interval().mean;
        let (n, mean_difference, half) = (difference.n, difference.mean, difference.half_width);
        Some(PairedMetric {
            metric,
            n,
            mean_with: mean(&sums[1]),
            mean_without: mean(&sums[2]),
            mean_difference,
            ci_low: mean_difference - half,
            ci_high: mean_difference + half,
        })
    });
    Ok(rows.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(run: u64, reached: u32, contained: bool) -> RunMetrics {
        RunMetrics { run, agents_reached: reached, contained, ..Default::default() }
    }

    #[test]
    fn differences_are_paired_by_run() {
        let with = [run(0, 1, true), run(1, 2, true), run(2, 3, false)];
        let without = [run(0, 3, false), run(1, 4, false), run(2, 5, false)];
        let rows = compare(&with, &without);
        let reached = rows.iter().find(|r| r.metric.name == "agents_reached").unwrap();
        // Every difference is exactly -2: zero variance, a zero-width interval.
        assert_eq!((reached.n, reached.mean_difference, reached.ci_low, reached.ci_high), (3, -2.0, -2.0, -2.0));
        assert_eq!((reached.mean_with, reached.mean_without), (2.0, 4.0));
        let containment = rows.last().unwrap();
        assert_eq!(containment.metric.name, "containment_rate");
        assert!((containment.mean_difference - 2.0 / 3.0).abs() < 1e-12);
        assert!(rows.iter().all(|r| r.metric.name != "t_contain" || r.n == 0), "t_contain needs both contained");
    }
}
