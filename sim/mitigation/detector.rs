//! Boundary validation: the detector at the receiving side of a channel.
//!
//! - `zscore`: a message fails when its signal is more than `threshold`
//!   standard deviations from the channel's running baseline (Welford mean
//!   and variance over the messages that passed), once `warmup` messages
//!   have built the baseline. Failing messages do not move the baseline, so
//!   a sustained shift keeps failing instead of becoming the new normal.
//! - `bernoulli`: fails a corrupted message with probability
//!   `true_positive` and a clean one with probability `false_positive`,
//!   whatever its signal: for analytic experiments.

use crate::rng::{self, SimRng};

/// Detector parameters (`[mitigations.validation]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DetectorConfig {
    ZScore { threshold: f64, warmup: u32 },
    Bernoulli { true_positive: f64, false_positive: f64 },
}

/// Running mean and variance of the signals a channel accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Baseline {
    pub n: u64,
    pub mean: f64,
    m2: f64,
}

impl Baseline {
    /// Adds one value (Welford's update).
    pub fn update(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Sample standard deviation (0 with fewer than two values).
    pub fn sd(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).sqrt()
        }
    }

    /// |x - mean| in standard deviations; infinite for any difference when
    /// the baseline has no spread.
    pub fn z(&self, x: f64) -> f64 {
        let distance = (x - self.mean).abs();
        let sd = self.sd();
        if sd > 0.0 {
            distance / sd
        } else if distance == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    }
}

/// Validates one message; `true` means it failed. `corrupted` is the
/// ground truth, read only by the Bernoulli detector.
pub fn failed(
    config: &DetectorConfig,
    baseline: &mut Baseline,
    signal: f64,
    corrupted: bool,
    rng: &mut SimRng,
) -> bool {
    match *config {
        DetectorConfig::ZScore { threshold, warmup } => {
            let failed = baseline.n >= warmup as u64 && baseline.z(signal) > threshold;
            if !failed {
                baseline.update(signal);
            }
            failed
        }
        DetectorConfig::Bernoulli { true_positive, false_positive } => {
            rng::chance(rng, if corrupted { true_positive } else { false_positive })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{run_key, stream, Stream};

    #[test]
    fn welford_matches_the_two_pass_formulas() {
        let values = [3.0, 7.0, 7.0, 19.0, 24.0];
        let mut b = Baseline::default();
        values.iter().for_each(|&v| b.update(v));
        let mean = values.iter().sum::<f64>() / 5.0;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 4.0;
        assert!((b.mean - mean).abs() < 1e-12 && (b.sd() - var.sqrt()).abs() < 1e-12);
        assert!((b.z(mean + 2.0 * var.sqrt()) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn zscore_passes_during_warmup_and_fails_outliers_after() {
        let config = DetectorConfig::ZScore { threshold: 3.0, warmup: 4 };
        let mut rng = stream(&run_key(1, 0, 0), Stream::Mitigation);
        let mut b = Baseline::default();
        for x in [99.0, 101.0, 100.0, 100.0] {
            assert!(!failed(&config, &mut b, x, false, &mut rng));
        }
        assert!(!failed(&config, &mut b, 100.0, false, &mut rng));
        assert!(failed(&config, &mut b, 70.0, true, &mut rng));
        assert_eq!(b.n, 5, "failures do not move the baseline");
        // A baseline without spread fails any change.
        let mut flat = Baseline::default();
        (0..5).for_each(|_| flat.update(1.0));
        assert_eq!((flat.z(1.0), flat.z(1.5)), (0.0, f64::INFINITY));
    }

    #[test]
    fn bernoulli_rates() {
        let config = DetectorConfig::Bernoulli { true_positive: 0.8, false_positive: 0.05 };
        let mut rng = stream(&run_key(2, 0, 0), Stream::Mitigation);
        let mut b = Baseline::default();
        let tp = (0..20_000).filter(|_| failed(&config, &mut b, 0.0, true, &mut rng)).count() as f64 / 20_000.0;
        let fp = (0..20_000).filter(|_| failed(&config, &mut b, 0.0, false, &mut rng)).count() as f64 / 20_000.0;
        assert!((tp - 0.8).abs() < 0.015 && (fp - 0.05).abs() < 0.006, "tp {tp} fp {fp}");
    }
}
