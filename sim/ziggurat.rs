//! Ziggurat samplers (Marsaglia & Tsang, 2000) for the standard normal and
//! the unit exponential, with 256 layers as in `rand_distr`.
//!
//! Unlike `rand_distr`, the layer tables are computed once with `libm` and
//! the rare tail and wedge tests use `libm` too, so every draw is the same
//! bits on every platform. About 99% of draws cost one 64-bit random word, a
//! multiply and a compare: no logarithm, which dominated the engine's
//! profile when exponentials came from `-ln(U)`.

use crate::rng::{self, SimRng};
use rand::Rng;
use std::sync::OnceLock;

const LAYERS: usize = 256;
#[allow(clippy::excessive_precision)] // Published constants, kept as printed.
const NORMAL_R: f64 = 3.654152885361008796;
const NORMAL_V: f64 = 0.00492867323399;
#[allow(clippy::excessive_precision)]
const EXP_R: f64 = 7.697117470131050077;
#[allow(clippy::excessive_precision)]
const EXP_V: f64 = 0.0039496598225815571993;

/// Layer edges `x` and densities `f(x)` of one ziggurat.
pub struct Tables {
    pub x: [f64; LAYERS + 1],
    pub f: [f64; LAYERS + 1],
}

fn build(r: f64, v: f64, f: fn(f64) -> f64, f_inverse: fn(f64) -> f64) -> Tables {
    let mut x = [0.0; LAYERS + 1];
    x[0] = v / f(r);
    x[1] = r;
    for i in 2..LAYERS {
        x[i] = f_inverse(v / x[i - 1] + f(x[i - 1]));
    }
    x[LAYERS] = 0.0;
    let mut fx = [0.0; LAYERS + 1];
    for i in 0..=LAYERS {
        fx[i] = f(x[i]);
    }
    Tables { x, f: fx }
}

fn normal_density(x: f64) -> f64 {
    libm::exp(-x * x / 2.0)
}

fn exp_density(x: f64) -> f64 {
    libm::exp(-x)
}

/// Tables of the standard normal ziggurat.
pub fn normal_tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| build(NORMAL_R, NORMAL_V, normal_density, |y| libm::sqrt(-2.0 * libm::log(y))))
}

/// Tables of the unit exponential ziggurat.
pub fn exp_tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| build(EXP_R, EXP_V, exp_density, |y| -libm::log(y)))
}

/// A float from the top 52 bits of `bits` with the given binary exponent.
#[inline]
fn float_with_exponent(bits: u64, exponent: u64) -> f64 {
    f64::from_bits(((1023 + exponent) << 52) | (bits >> 12))
}

/// Standard normal draw.
#[inline]
pub fn normal(rng: &mut SimRng, tables: &Tables) -> f64 {
    let (i, u, x) = normal_candidate(rng, tables);
    if x.abs() < tables.x[i + 1] {
        return x;
    }
    normal_slow(rng, tables, i, u, x)
}

/// One word's layer `i`, uniform `u` in [-1, 1) and candidate `u * x[i]`.
#[inline(always)]
fn normal_candidate(rng: &mut SimRng, tables: &Tables) -> (usize, f64, f64) {
    let bits = rng.next_u64();
    let i = bits as usize & 0xff;
    let u = float_with_exponent(bits, 1) - 3.0;
    (i, u, u * tables.x[i])
}

/// The about 1% of normal draws that fall outside their layer's core:
/// the tail or wedge test of this candidate, then fresh candidates until
/// one is accepted.
#[cold]
#[inline(never)]
fn normal_slow(rng: &mut SimRng, tables: &Tables, mut i: usize, mut u: f64, mut x: f64) -> f64 {
    loop {
        if i == 0 {
            return normal_tail(rng, u);
        }
        if tables.f[i + 1] + (tables.f[i] - tables.f[i + 1]) * rng::unit(rng) < normal_density(x) {
            return x;
        }
        (i, u, x) = normal_candidate(rng, tables);
        if x.abs() < tables.x[i + 1] {
            return x;
        }
    }
}

#[cold]
fn normal_tail(rng: &mut SimRng, u: f64) -> f64 {
    let (mut x, mut y) = (1.0f64, 0.0f64);
    while -2.0 * y < x * x {
        x = libm::log(rng::unit_open0(rng)) / NORMAL_R;
        y = libm::log(rng::unit_open0(rng));
    }
    if u < 0.0 {
        x - NORMAL_R
    } else {
        NORMAL_R - x
    }
}

/// Unit-mean exponential draw.
#[inline]
pub fn exponential(rng: &mut SimRng, tables: &Tables) -> f64 {
    let (i, x) = exponential_candidate(rng, tables);
    if x < tables.x[i + 1] {
        return x;
    }
    exponential_slow(rng, tables, i, x)
}

/// One word's layer `i` and candidate `u * x[i]`, `u` in (0, 1).
#[inline(always)]
fn exponential_candidate(rng: &mut SimRng, tables: &Tables) -> (usize, f64) {
    let bits = rng.next_u64();
    let i = bits as usize & 0xff;
    let u = float_with_exponent(bits, 0) - (1.0 - f64::EPSILON / 2.0);
    (i, u * tables.x[i])
}

/// The rare exponential draws outside their layer's core (see `normal_slow`).
#[cold]
#[inline(never)]
fn exponential_slow(rng: &mut SimRng, tables: &Tables, mut i: usize, mut x: f64) -> f64 {
    loop {
        if i == 0 {
            return EXP_R - libm::log(rng::unit_open0(rng));
        }
        if tables.f[i + 1] + (tables.f[i] - tables.f[i + 1]) * rng::unit(rng) < exp_density(x) {
            return x;
        }
        (i, x) = exponential_candidate(rng, tables);
        if x < tables.x[i + 1] {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{run_key, stream, Stream};

    #[test]
    #[allow(clippy::excessive_precision)]
    fn tables_match_the_published_ones() {
        // Values from rand_distr's ziggurat_tables.rs (generated in Python).
        let n = normal_tables();
        for (i, expected) in [(0, 3.910757959537090045), (2, 3.449278298560964462), (255, 0.215241895913273806)] {
            assert!((n.x[i] - expected).abs() < 1e-12, "normal x[{i}] = {}", n.x[i]);
        }
        assert!((n.f[0] - 0.000477467764586655).abs() < 1e-15);
        let e = exp_tables();
        for (i, expected) in [(0, 8.697117470131052741), (2, 6.941033629377212577), (3, 6.478378493832569696)] {
            assert!((e.x[i] - expected).abs() < 1e-12, "exp x[{i}] = {}", e.x[i]);
        }
        assert!((e.f[0] - 0.000167066692307963).abs() < 1e-15);
    }

    /// Kolmogorov–Smirnov distance between a sample and a CDF.
    fn ks(mut sample: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
        sample.sort_by(f64::total_cmp);
        let n = sample.len() as f64;
        sample
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let c = cdf(x);
                (c - i as f64 / n).abs().max((c - (i + 1) as f64 / n).abs())
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn normal_draws_fit_the_normal_cdf() {
        let mut rng = stream(&run_key(21, 0, 0), Stream::Behaviour);
        let sample: Vec<f64> = (0..200_000).map(|_| normal(&mut rng, normal_tables())).collect();
        let d = ks(sample.clone(), |x| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2));
        // 1% critical value of the KS statistic: 1.628 / sqrt(n).
        assert!(d < 1.628 / (200_000f64).sqrt(), "KS distance {d}");
        let beyond = sample.iter().filter(|x| x.abs() > NORMAL_R).count() as f64 / 200_000.0;
        assert!(beyond > 0.0 && beyond < 0.001, "tail fraction {beyond}");
    }

    #[test]
    fn exponential_draws_fit_the_exponential_cdf() {
        let mut rng = stream(&run_key(22, 0, 0), Stream::Timing);
        let sample: Vec<f64> = (0..200_000).map(|_| exponential(&mut rng, exp_tables())).collect();
        assert!(sample.iter().all(|&x| x >= 0.0));
        let d = ks(sample.clone(), |x| 1.0 - libm::exp(-x));
        assert!(d < 1.628 / (200_000f64).sqrt(), "KS distance {d}");
        assert!(sample.iter().any(|&x| x > EXP_R), "the tail is sampled");
    }
}
