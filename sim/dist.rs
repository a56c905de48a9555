//! Duration distributions for service times and channel latencies.
//!
//! In a scenario a distribution is either a plain duration (`"50ms"`, fixed)
//! or a table: `{ dist = "exponential", mean = "200ms" }`,
//! `{ dist = "lognormal", median = "50ms", sigma = 0.5 }`,
//! `{ dist = "uniform", min = "10ms", max = "30ms" }`,
//! `{ dist = "fixed", value = "50ms" }`.

use crate::rng::{self, SimRng};
use crate::time::{round_micros, Duration, Micros};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// A distribution of non-negative durations, sampled in whole microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    /// Always the same value.
    Fixed(Micros),
    /// Exponential with the given mean (µs).
    Exponential { mean: f64 },
    /// Log-normal: `2^(log2_median + log2_sigma * Z)` µs, the law of
    /// `exp(ln median + sigma * Z)` with `log2_sigma = sigma * log2(e)`.
    /// Drawn in base 2: libm's `exp2` takes about half the time of its
    /// `exp`, which was a seventh of a queued scenario's run time.
    LogNormal { log2_median: f64, log2_sigma: f64 },
    /// Uniform on the whole microseconds `min..=max`.
    Uniform { min: Micros, max: Micros },
}

impl Default for Dist {
    fn default() -> Self {
        Dist::Fixed(0)
    }
}

impl Dist {
    /// One draw, rounded to the nearest microsecond.
    #[inline(always)]
    pub fn sample(&self, rng: &mut SimRng) -> Micros {
        match *self {
            Dist::Fixed(value) => value,
            Dist::Exponential { mean } => round_micros(rng::exponential(rng, mean)),
            Dist::LogNormal { log2_median, log2_sigma } => {
                round_micros(libm::exp2(log2_median + log2_sigma * rng::std_normal(rng)))
            }
            Dist::Uniform { min, max } => min + rng::below(rng, max - min + 1),
        }
    }

    /// A log-normal with the given median (µs) and `sigma`, the standard
    /// deviation of the natural logarithm of a draw.
    pub fn lognormal(median: f64, sigma: f64) -> Dist {
        Dist::LogNormal { log2_median: libm::log2(median), log2_sigma: sigma * std::f64::consts::LOG2_E }
    }

    /// The distribution's mean in microseconds (before rounding).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed(value) => value as f64,
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { log2_median, log2_sigma } => {
                libm::exp2(log2_median + log2_sigma * log2_sigma * std::f64::consts::LN_2 / 2.0)
            }
            Dist::Uniform { min, max } => (min as f64 + max as f64) / 2.0,
        }
    }
}

/// The table form of a distribution, as written in a scenario.
#[derive(Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
enum DistTable {
    Fixed { value: Duration },
    Exponential { mean: Duration },
    Lognormal { median: Duration, sigma: f64 },
    Uniform { min: Duration, max: Duration },
}

impl DistTable {
    fn into_dist<E: de::Error>(self) -> Result<Dist, E> {
        match self {
            DistTable::Fixed { value } => Ok(Dist::Fixed(value.0)),
            DistTable::Exponential { mean } if mean.0 == 0 => {
                Err(E::custom("exponential mean must be a positive duration"))
            }
            DistTable::Exponential { mean } => Ok(Dist::Exponential { mean: mean.0 as f64 }),
            DistTable::Lognormal { median, .. } if median.0 == 0 => {
                Err(E::custom("lognormal median must be a positive duration"))
            }
            DistTable::Lognormal { sigma, .. } if !(sigma.is_finite() && sigma >= 0.0) => {
                Err(E::custom(format!("lognormal sigma must be a finite number >= 0, got {sigma}")))
            }
            DistTable::Lognormal { median, sigma } => Ok(Dist::lognormal(median.0 as f64, sigma)),
            DistTable::Uniform { min, max } if min > max => {
                Err(E::custom(format!("uniform min ({}us) must not exceed max ({}us)", min.0, max.0)))
            }
            DistTable::Uniform { min, max } => Ok(Dist::Uniform { min: min.0, max: max.0 }),
        }
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DistVisitor;
        impl<'de> Visitor<'de> for DistVisitor {
            type Value = Dist;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration like \"50ms\" or a table like { dist = \"exponential\", mean = \"200ms\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dist, E> {
                crate::time::parse_duration(v).map(Dist::Fixed).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Dist, A::Error> {
                DistTable::deserialize(de::value::MapAccessDeserializer::new(map))?.into_dist()
            }
        }
        deserializer.deserialize_any(DistVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{run_key, stream, Stream};

    fn parse(text: &str) -> Result<Dist, String> {
        #[derive(Deserialize)]
        struct Holder {
            d: Dist,
        }
        toml::from_str::<Holder>(&format!("d = {text}")).map(|h| h.d).map_err(|e| e.message().to_string())
    }

    #[test]
    fn parses_each_form() {
        assert_eq!(parse("\"50ms\""), Ok(Dist::Fixed(50_000)));
        assert_eq!(parse("{ dist = \"fixed\", value = \"1s\" }"), Ok(Dist::Fixed(1_000_000)));
        assert_eq!(parse("{ dist = \"exponential\", mean = \"2ms\" }"), Ok(Dist::Exponential { mean: 2000.0 }));
        assert_eq!(
            parse("{ dist = \"uniform\", min = \"1ms\", max = \"3ms\" }"),
            Ok(Dist::Uniform { min: 1000, max: 3000 })
        );
        let Ok(Dist::LogNormal { log2_median, log2_sigma }) =
            parse("{ dist = \"lognormal\", median = \"1s\", sigma = 0.5 }")
        else {
            panic!("lognormal did not parse");
        };
        assert!((libm::exp2(log2_median) - 1e6).abs() < 1e-6);
        assert!((log2_sigma - 0.5 / std::f64::consts::LN_2).abs() < 1e-15);
    }

    #[test]
    fn refuses_impossible_values() {
        assert!(parse("{ dist = \"exponential\", mean = \"0s\" }").unwrap_err().contains("positive"));
        assert!(parse("{ dist = \"uniform\", min = \"3ms\", max = \"1ms\" }").unwrap_err().contains("must not exceed"));
        assert!(parse("{ dist = \"lognormal\", median = \"1s\", sigma = -1.0 }").unwrap_err().contains("sigma"));
        assert!(parse("{ dist = \"lognormal\", median = \"0s\", sigma = 1.0 }").unwrap_err().contains("median"));
        assert!(parse("{ dist = \"gamma\", mean = \"1s\" }").unwrap_err().contains("gamma"));
        assert!(parse("{ dist = \"exponential\", meen = \"1s\" }").unwrap_err().contains("meen"));
        assert!(parse("5").is_err());
    }

    #[test]
    fn sample_means_match() {
        let mut rng = stream(&run_key(11, 0, 0), Stream::Timing);
        let dists = [
            Dist::Fixed(70),
            Dist::Exponential { mean: 5_000.0 },
            Dist::lognormal(1_000.0, 0.5),
            Dist::Uniform { min: 10, max: 30 },
        ];
        for dist in dists {
            let n = 100_000;
            let mean = (0..n).map(|_| dist.sample(&mut rng) as f64).sum::<f64>() / n as f64;
            let rel = (mean - dist.mean()).abs() / dist.mean();
            assert!(rel < 0.01, "{dist:?}: sample mean {mean} vs {}", dist.mean());
        }
    }

    #[test]
    fn lognormal_logs_have_the_median_and_sigma() {
        // ln(draw) is normal with mean ln(median) and sd sigma: its sample
        // mean and sd within four standard errors.
        let mut rng = stream(&run_key(13, 0, 0), Stream::Timing);
        let (median, sigma, n) = (40_000.0, 0.5, 100_000);
        let dist = Dist::lognormal(median, sigma);
        let logs: Vec<f64> = (0..n).map(|_| libm::log(dist.sample(&mut rng) as f64)).collect();
        let mean = logs.iter().sum::<f64>() / n as f64;
        let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        let se = sigma / (n as f64).sqrt();
        assert!((mean - libm::log(median)).abs() < 4.0 * se, "mean of logs {mean}");
        assert!((sd - sigma).abs() < 4.0 * se / std::f64::consts::SQRT_2, "sd of logs {sd}");
        assert_eq!(Dist::lognormal(median, 0.0).sample(&mut rng), 40_000, "no spread: exactly the median");
    }

    #[test]
    fn uniform_hits_both_ends() {
        let mut rng = stream(&run_key(12, 0, 0), Stream::Timing);
        let draws: Vec<u64> = (0..1000).map(|_| Dist::Uniform { min: 4, max: 6 }.sample(&mut rng)).collect();
        assert!(draws.contains(&4) && draws.contains(&6) && draws.iter().all(|d| (4..=6).contains(d)));
    }
}
