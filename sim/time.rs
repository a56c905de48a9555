//! Simulated time: an integer count of microseconds, and the human duration
//! syntax scenario files use (`"250ms"`, `"5m"`, `"2h"`).
//!
//! Integer time keeps event ordering exact and platform independent; the
//! only conversions to floating point happen when results are printed.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// Simulated time or a duration, in microseconds.
pub type Micros = u64;

/// One second in microseconds.
pub const SECOND: Micros = 1_000_000;

const UNITS: [(&str, Micros); 6] =
    [("us", 1), ("ms", 1_000), ("s", SECOND), ("m", 60 * SECOND), ("h", 3_600 * SECOND), ("d", 86_400 * SECOND)];

/// A non-negative draw in microseconds rounded to the nearest whole one.
/// `as` saturates: huge draws become `Micros::MAX` and fall past any
/// horizon.
#[inline]
pub fn round_micros(value: f64) -> Micros {
    debug_assert!(value >= 0.0, "durations are never negative: {value}");
    // Below 2^63 the signed conversion is exact and much cheaper than the
    // unsigned one, whose saturation checks cost ~20 instructions per draw.
    const SIGNED_LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    let rounded = value + 0.5;
    if rounded < SIGNED_LIMIT {
        rounded as i64 as Micros
    } else {
        rounded as Micros
    }
}

/// What a duration must look like, for error messages.
pub const DURATION_EXPECTED: &str = "a duration like \"250ms\", \"1.5s\", \"5m\" or \"2h\" (units us, ms, s, m, h, d)";

/// Parses a duration such as `"250ms"`, `"1.5s"`, `"5m"`, `"2h"`.
///
/// The value must be a whole number of microseconds; `"0.5us"` is refused
/// rather than silently rounded.
///
/// ```
/// use cascade::time::parse_duration;
/// assert_eq!(parse_duration("1.5s"), Ok(1_500_000));
/// assert_eq!(parse_duration("5m"), Ok(300_000_000));
/// assert!(parse_duration("5").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Micros, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!("\"{text}\" is negative: expected {DURATION_EXPECTED}, at least 0"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("\"{text}\" has no unit: expected {DURATION_EXPECTED}"))?;
    let (number, unit) = text.split_at(split);
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(|| format!("\"{text}\" has unknown unit \"{unit}\": expected {DURATION_EXPECTED}"))?;
    scale_decimal(number, scale).ok_or_else(|| format!("\"{text}\" is not {DURATION_EXPECTED}"))
}

/// `number * scale` computed exactly in integers; `None` when the text is not
/// a plain decimal, overflows, or is not a whole number of microseconds.
fn scale_decimal(number: &str, scale: Micros) -> Option<Micros> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let whole_value: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut total = whole_value.checked_mul(scale)?;
    if !fraction.is_empty() {
        if fraction.len() > 18 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits: u128 = fraction.parse().ok()?;
        let denominator = 10u128.pow(fraction.len() as u32);
        let scaled = digits * scale as u128;
        if scaled % denominator != 0 {
            return None;
        }
        total = total.checked_add(u64::try_from(scaled / denominator).ok()?)?;
    }
    Some(total)
}

/// Formats microseconds as seconds with exactly six decimals (`"12.000345"`),
/// using integer arithmetic so the text is identical on every platform.
pub fn format_seconds(us: Micros) -> String {
    format!("{}.{:06}", us / SECOND, us % SECOND)
}

/// A duration read from a scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub Micros);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(DURATION_EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map(Duration).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_draws_like_the_saturating_cast() {
        let edges = [0.0, 0.49, 0.5, 1.5, 2.5, 1e6 + 0.4999, 4.5e15, 9.2e18, 9.3e18, 1.8e19, 1e300, f64::INFINITY];
        for value in edges {
            assert_eq!(round_micros(value), (value + 0.5) as Micros, "{value}");
        }
        assert_eq!(round_micros(0.5), 1);
        assert_eq!(round_micros(f64::INFINITY), Micros::MAX);
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("7us"), Ok(7));
        assert_eq!(parse_duration("250ms"), Ok(250_000));
        assert_eq!(parse_duration("3s"), Ok(3 * SECOND));
        assert_eq!(parse_duration("5m"), Ok(300 * SECOND));
        assert_eq!(parse_duration("2h"), Ok(7_200 * SECOND));
        assert_eq!(parse_duration("1d"), Ok(86_400 * SECOND));
    }

    #[test]
    fn parses_fractions_exactly() {
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000));
        assert_eq!(parse_duration("0.001ms"), Ok(1));
        assert_eq!(parse_duration(".5s"), Ok(500_000));
        assert_eq!(parse_duration("2."), Err("\"2.\" has no unit: expected ".to_string() + DURATION_EXPECTED));
    }

    #[test]
    fn refuses_bad_text() {
        for bad in ["", "5", "ms", "5 parsecs", "1.2.3s", "0.5us", "-1s", "1e3s", ".s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_duration("99999999999999999999d").is_err());
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit \"x\""));
        assert!(parse_duration(" -3s").unwrap_err().starts_with("\"-3s\" is negative: expected"));
    }

    #[test]
    fn formats_seconds_with_six_decimals() {
        assert_eq!(format_seconds(0), "0.000000");
        assert_eq!(format_seconds(12_000_345), "12.000345");
        assert_eq!(format_seconds(999_999), "0.999999");
    }
}
