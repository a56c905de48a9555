//! Fitting measured durations and arrival times to the scenario's
//! distributions, by maximum likelihood, with 95% intervals.
//!
//! A sample of durations (µs) is fitted to each continuous family the
//! scenario format has (exponential, log-normal, uniform) by its maximum
//! likelihood estimate; the family with the least AIC (2k - 2 ln L) is
//! chosen, and its Kolmogorov–Smirnov distance to the sample reported. A
//! sample whose values are all equal is `fixed` (no continuous density
//! fits a point). Arrival times are a Poisson process (rate n/T, with the
//! exact chi-square interval) unless their gaps are all but equal, which
//! is a periodic source.
//!
//! Everything here is plain IEEE arithmetic and `libm` on sorted inputs, so
//! the same sample gives the same fit on every machine.

use crate::dist::Dist;

/// The standard normal's 97.5% quantile: 95% two-sided intervals.
const Z95: f64 = 1.959_963_984_540_054;

/// A family of the scenario format's distributions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Fixed,
    Exponential,
    LogNormal,
    Uniform,
}

impl Family {
    /// The name the scenario format gives it.
    pub fn name(self) -> &'static str {
        match self {
            Family::Fixed => "fixed",
            Family::Exponential => "exponential",
            Family::LogNormal => "lognormal",
            Family::Uniform => "uniform",
        }
    }
}

/// One fitted parameter: its estimate and a 95% interval. Durations are
/// in microseconds; `sigma` is unitless.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    pub name: &'static str,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Param {
    fn new(name: &'static str, value: f64, (low, high): (f64, f64)) -> Param {
        Param { name, value, low, high }
    }
}

/// A candidate family's fit: its log-likelihood and AIC.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    pub family: Family,
    pub log_likelihood: f64,
    pub aic: f64,
}

/// The best fit of a sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub family: Family,
    pub dist: Dist,
    /// How many values it was fitted to.
    pub n: usize,
    pub params: Vec<Param>,
    /// Every family that could be fitted, in the order of [`Family`]
    /// (empty for a fixed sample).
    pub candidates: Vec<Candidate>,
    /// The Kolmogorov–Smirnov distance between the sample and the chosen
    /// distribution (0 for a fixed sample).
    pub ks: f64,
}

/// Fits durations (µs, each >= 0, at least one) to the best family.
pub fn durations(values: &[u64]) -> Fit {
    assert!(!values.is_empty(), "a fit needs at least one value");
    let mut sorted: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let (first, last) = (sorted[0], sorted[n - 1]);
    if first == last {
        return Fit {
            family: Family::Fixed,
            dist: Dist::Fixed(values[0]),
            n,
            params: vec![Param::new("value", first, (first, first))],
            candidates: Vec::new(),
            ks: 0.0,
        };
    }
    let fits: Vec<Continuous> =
        [exponential(&sorted), lognormal(&sorted), Some(uniform(&sorted))].into_iter().flatten().collect();
    let best = fits.iter().min_by(|a, b| a.candidate.aic.total_cmp(&b.candidate.aic)).expect("uniform always fits");
    Fit {
        family: best.candidate.family,
        dist: best.dist,
        n,
        params: best.params.clone(),
        candidates: fits.iter().map(|f| f.candidate).collect(),
        ks: ks_distance(&sorted, |x| best.cdf(x)),
    }
}

/// A fitted continuous family.
struct Continuous {
    candidate: Candidate,
    dist: Dist,
    params: Vec<Param>,
}

impl Continuous {
    fn new(family: Family, k: f64, log_likelihood: f64, dist: Dist, params: Vec<Param>) -> Continuous {
        Continuous {
            candidate: Candidate { family, log_likelihood, aic: 2.0 * k - 2.0 * log_likelihood },
            dist,
            params,
        }
    }

    fn cdf(&self, x: f64) -> f64 {
        cdf(&self.dist, x)
    }
}

/// The distribution function of a duration distribution at `x` µs.
pub fn cdf(dist: &Dist, x: f64) -> f64 {
    match *dist {
        Dist::Fixed(v) => f64::from(u8::from(x >= v as f64)),
        Dist::Exponential { mean } => 1.0 - libm::exp(-x / mean),
        Dist::LogNormal { log2_median, log2_sigma } if x > 0.0 => {
            let z = (libm::log2(x) - log2_median) / log2_sigma;
            0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
        }
        Dist::LogNormal { .. } => 0.0,
        Dist::Uniform { min, max } => ((x - min as f64) / (max as f64 - min as f64)).clamp(0.0, 1.0),
    }
}

fn sum(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |a, v| a + v)
}

/// The exponential by its mean (the MLE), with the exact chi-square
/// interval: 2 n mean_hat / mean is chi-square with 2n degrees of freedom.
fn exponential(sorted: &[f64]) -> Option<Continuous> {
    let n = sorted.len() as f64;
    let mean = sum(sorted.iter().copied()) / n;
    (mean > 0.0).then(|| {
        let interval = (
            2.0 * n * mean / chi_square_quantile(0.975, 2.0 * n),
            2.0 * n * mean / chi_square_quantile(0.025, 2.0 * n),
        );
        Continuous::new(
            Family::Exponential,
            1.0,
            -n * libm::log(mean) - n,
            Dist::Exponential { mean },
            vec![Param::new("mean", mean, interval)],
        )
    })
}

/// The log-normal by the mean and (biased, maximum likelihood) standard
/// deviation of the logarithms; only for samples of positive values. The
/// median's interval is exp(mu +- z sigma / sqrt n), sigma's the
/// chi-square one.
fn lognormal(sorted: &[f64]) -> Option<Continuous> {
    if sorted[0] <= 0.0 {
        return None;
    }
    let n = sorted.len() as f64;
    let logs: Vec<f64> = sorted.iter().map(|&x| libm::log(x)).collect();
    let mu = sum(logs.iter().copied()) / n;
    let variance = sum(logs.iter().map(|l| (l - mu) * (l - mu))) / n;
    let sigma = libm::sqrt(variance);
    if sigma == 0.0 {
        return None;
    }
    let log_likelihood =
        -sum(logs.iter().copied()) - n * libm::log(sigma) - n / 2.0 * libm::log(2.0 * std::f64::consts::PI) - n / 2.0;
    let half = Z95 * sigma / libm::sqrt(n);
    let sigma_interval = (
        sigma * libm::sqrt(n / chi_square_quantile(0.975, n - 1.0)),
        sigma * libm::sqrt(n / chi_square_quantile(0.025, n - 1.0)),
    );
    Some(Continuous::new(
        Family::LogNormal,
        2.0,
        log_likelihood,
        Dist::lognormal(libm::exp(mu), sigma),
        vec![
            Param::new("median", libm::exp(mu), (libm::exp(mu - half), libm::exp(mu + half))),
            Param::new("sigma", sigma, sigma_interval),
        ],
    ))
}

/// The uniform on the sample's range (the MLE). The true end lies beyond
/// the sample's extreme by a range times Beta(1, n): its 95% bound is
/// range * (1 - 0.05^(1/n)).
fn uniform(sorted: &[f64]) -> Continuous {
    let n = sorted.len() as f64;
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    let range = max - min;
    let beyond = range * (1.0 - libm::pow(0.05, 1.0 / n));
    Continuous::new(
        Family::Uniform,
        2.0,
        -n * libm::log(range),
        Dist::Uniform { min: min as u64, max: max as u64 },
        vec![Param::new("min", min, ((min - beyond).max(0.0), min)), Param::new("max", max, (max, max + beyond))],
    )
}

/// The largest distance between the sample's empirical distribution
/// function and `cdf` (the sample sorted).
pub fn ks_distance(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted.iter().enumerate().fold(0.0, |d: f64, (i, &x)| {
        let f = cdf(x);
        d.max(f - i as f64 / n).max((i + 1) as f64 / n - f)
    })
}

/// The chi-square distribution's `p` quantile with `k` degrees of freedom,
/// by the Wilson–Hilferty cube (relative error below 1e-3 from k = 10,
/// exact enough for the intervals reported here).
pub fn chi_square_quantile(p: f64, k: f64) -> f64 {
    let a = 2.0 / (9.0 * k);
    let cube = 1.0 - a + normal_quantile(p) * libm::sqrt(a);
    k * cube * cube * cube
}

/// The standard normal's `p` quantile (Acklam's rational approximation,
/// relative error below 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0, "a quantile of the open unit interval");
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail(libm::sqrt(-2.0 * libm::log(p)))
    } else if p > 1.0 - 0.02425 {
        -tail(libm::sqrt(-2.0 * libm::log(1.0 - p)))
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// An arrival process fitted to emission times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrivals {
    /// Gaps all within 1% of their mean: one emission per `period` µs,
    /// the first at `start`.
    Periodic { start: u64, period: u64 },
    /// A Poisson process: `per_second` with its 95% interval, from `n`
    /// emissions in `window` µs.
    Poisson { per_second: f64, low: f64, high: f64, n: usize, window: u64 },
}

/// Fits emission times (µs from the start of the observation, sorted,
/// at least one) seen in an observation window of `window` µs.
pub fn arrivals(times: &[u64], window: u64) -> Arrivals {
    assert!(!times.is_empty() && window > 0, "arrivals need a time and a window");
    debug_assert!(times.windows(2).all(|w| w[0] <= w[1]), "emission times are sorted");
    let n = times.len();
    if n >= 3 {
        let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let mean = sum(gaps.iter().map(|&g| g as f64)) / gaps.len() as f64;
        let (low, high) = gaps.iter().fold((u64::MAX, 0), |(l, h), &g| (l.min(g), h.max(g)));
        if mean > 0.0 && (high - low) as f64 <= 0.01 * mean {
            return Arrivals::Periodic { start: times[0], period: mean.round() as u64 };
        }
    }
    let seconds = window as f64 / 1e6;
    let count = n as f64;
    Arrivals::Poisson {
        per_second: count / seconds,
        low: chi_square_quantile(0.025, 2.0 * count) / (2.0 * seconds),
        high: chi_square_quantile(0.975, 2.0 * count + 2.0) / (2.0 * seconds),
        n,
        window,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{run_key, stream, Stream};

    fn draws(dist: Dist, n: usize, seed: u64) -> Vec<u64> {
        let mut rng = stream(&run_key(seed, 0, 0), Stream::Timing);
        (0..n).map(|_| dist.sample(&mut rng)).collect()
    }

    fn covers(fit: &Fit, name: &str, truth: f64) -> bool {
        let p = fit.params.iter().find(|p| p.name == name).unwrap();
        p.low <= truth && truth <= p.high
    }

    #[test]
    fn quantiles_match_their_tables() {
        assert!((normal_quantile(0.975) - Z95).abs() < 1e-8);
        assert!((normal_quantile(0.01) + 2.326_347_874).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.999) - 3.090_232_306).abs() < 1e-8);
        // chi-square(1000): 0.025 and 0.975 quantiles 914.2572, 1089.531.
        assert!((chi_square_quantile(0.025, 1000.0) - 914.2572).abs() < 0.05);
        assert!((chi_square_quantile(0.975, 1000.0) - 1089.531).abs() < 0.05);
        assert!((chi_square_quantile(0.975, 10.0) - 20.483).abs() < 0.05);
    }

    #[test]
    fn each_family_is_chosen_at_500_and_its_parameters_recovered() {
        let truths = [
            (Dist::Exponential { mean: 200_000.0 }, Family::Exponential, vec![("mean", 200_000.0)]),
            (Dist::lognormal(40_000.0, 0.5), Family::LogNormal, vec![("median", 40_000.0), ("sigma", 0.5)]),
            (Dist::lognormal(8e6, 1.2), Family::LogNormal, vec![("median", 8e6), ("sigma", 1.2)]),
            (Dist::Uniform { min: 200_000, max: 2_000_000 }, Family::Uniform, vec![("min", 2e5), ("max", 2e6)]),
        ];
        for (dist, family, params) in truths {
            let mut covered = 0;
            for seed in 0..20 {
                let fit = durations(&draws(dist, 500, seed));
                assert_eq!(fit.family, family, "{dist:?} seed {seed}: {:?}", fit.candidates);
                assert!(fit.ks < 0.07, "{dist:?}: KS {}", fit.ks);
                covered += usize::from(params.iter().all(|&(name, truth)| covers(&fit, name, truth)));
            }
            // Each interval covers 95% of the time; all of a family's at
            // once, at least 80%, in 16 of 20 samples at least.
            assert!(covered >= 16, "{dist:?}: covered in {covered} of 20");
        }
    }

    #[test]
    fn equal_values_are_fixed_and_positive_values_only_are_lognormal() {
        let fit = durations(&[50_000, 50_000, 50_000]);
        assert_eq!((fit.family, fit.dist, fit.ks), (Family::Fixed, Dist::Fixed(50_000), 0.0));
        assert!(fit.candidates.is_empty());
        let fit = durations(&[7]);
        assert_eq!(fit.dist, Dist::Fixed(7));
        // A zero rules the log-normal out.
        let with_zero = durations(&[0, 10, 20, 5, 40, 1, 3]);
        assert!(with_zero.candidates.iter().all(|c| c.family != Family::LogNormal));
        assert_eq!(with_zero.candidates.len(), 2);
    }

    #[test]
    fn the_ks_distance_is_the_largest_gap() {
        // A sample of 0.5 against the uniform on [0, 1]: the step is at
        // 0.5, the gap 0.5 on either side.
        assert_eq!(ks_distance(&[0.5], |x| x), 0.5);
        assert_eq!(ks_distance(&[0.25, 0.75], |x| x), 0.25);
        assert!((ks_distance(&[0.1, 0.2], |x| x) - 0.8).abs() < 1e-12);
        let uniform = Dist::Uniform { min: 0, max: 100 };
        assert_eq!(cdf(&uniform, 50.0), 0.5);
        assert_eq!((cdf(&uniform, -1.0), cdf(&uniform, 101.0)), (0.0, 1.0));
        assert!((cdf(&Dist::Exponential { mean: 1.0 }, 1.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-15);
        assert!((cdf(&Dist::lognormal(100.0, 0.5), 100.0) - 0.5).abs() < 1e-12);
        assert_eq!(cdf(&Dist::lognormal(100.0, 0.5), 0.0), 0.0);
        assert_eq!((cdf(&Dist::Fixed(5), 4.0), cdf(&Dist::Fixed(5), 5.0)), (0.0, 1.0));
    }

    #[test]
    fn log_likelihoods_are_the_densities_summed() {
        let sample = [1.0, 2.0, 4.0];
        let e = exponential(&sample).unwrap();
        let m: f64 = 7.0 / 3.0;
        let direct: f64 = sample.iter().map(|x| -(m.ln()) - x / m).sum();
        assert!((e.candidate.log_likelihood - direct).abs() < 1e-12);
        assert!((e.candidate.aic - (2.0 - 2.0 * direct)).abs() < 1e-12);
        let l = lognormal(&sample).unwrap();
        let (mu, s) = (2f64.ln(), (2.0 * 2f64.ln().powi(2) / 3.0).sqrt());
        let density =
            |x: f64| (-(x.ln() - mu).powi(2) / (2.0 * s * s)).exp() / (x * s * (2.0 * std::f64::consts::PI).sqrt());
        let direct: f64 = sample.iter().map(|&x| density(x).ln()).sum();
        assert!((l.candidate.log_likelihood - direct).abs() < 1e-12);
        let u = uniform(&sample);
        assert!((u.candidate.log_likelihood + 3.0 * 3f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn arrivals_are_periodic_when_the_gaps_are_equal_else_poisson_with_an_exact_interval() {
        assert_eq!(arrivals(&[5, 1005, 2005, 3005], 4000), Arrivals::Periodic { start: 5, period: 1000 });
        let Arrivals::Poisson { per_second, low, high, n, .. } = arrivals(&[0, 10, 15], 1_000_000) else {
            panic!("three uneven times are not periodic");
        };
        assert_eq!((per_second, n), (3.0, 3));
        // Exact Poisson interval for 3 events in 1 s: [0.619, 8.767].
        assert!((low - 0.619).abs() < 0.02 && (high - 8.767).abs() < 0.05, "{low} {high}");
        // A Poisson process of rate 2/s over 1,000 s: the interval covers 2.
        let times = {
            let mut rng = stream(&run_key(3, 0, 0), Stream::Arrivals);
            let mut t = 0.0;
            let mut out = Vec::new();
            loop {
                t += crate::rng::exponential(&mut rng, 500_000.0);
                if t >= 1e9 {
                    break out;
                }
                out.push(t as u64);
            }
        };
        let Arrivals::Poisson { low, high, .. } = arrivals(&times, 1_000_000_000) else { panic!() };
        assert!(low < 2.0 && 2.0 < high && high - low < 0.3, "{low} {high}");
        assert!(matches!(arrivals(&[7], 10), Arrivals::Poisson { n: 1, .. }));
    }
}
