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

/// One day in microseconds.
pub const DAY: Micros = 86_400 * SECOND;

/// Working hours: a shift from `start` to `end` (times of day, `start <
/// end <= DAY`) on the first `days` days of each week (1 to 7); time 0 is
/// the start of a Monday. A pool with hours starts work only on shift;
/// work started on shift is finished, past its end if need be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hours {
    pub start: Micros,
    pub end: Micros,
    pub days: u32,
}

impl Hours {
    /// Whether `t` falls in a shift (its start included, its end not).
    pub fn on_shift(&self, t: Micros) -> bool {
        let (day, time) = (t / DAY, t % DAY);
        day % 7 < self.days as u64 && (self.start..self.end).contains(&time)
    }

    /// The first shift start at or after `t` (`Micros::MAX` past the end
    /// of time).
    pub fn next_start(&self, t: Micros) -> Micros {
        let mut day = t / DAY + u64::from(t % DAY > self.start);
        while day % 7 >= self.days as u64 {
            day += 1;
        }
        day.checked_mul(DAY).and_then(|d| d.checked_add(self.start)).unwrap_or(Micros::MAX)
    }

    /// Shift starts in `[0, until]`.
    pub fn starts_until(&self, until: Micros) -> u64 {
        let (weeks, rest) = (until / (7 * DAY), until % (7 * DAY));
        let this_week = (0..self.days as u64).filter(|d| d * DAY + self.start <= rest).count() as u64;
        weeks * self.days as u64 + this_week
    }

    /// Time on shift in `[0, until)`.
    pub fn on_shift_before(&self, until: Micros) -> Micros {
        let (weeks, rest) = (until / (7 * DAY), until % (7 * DAY));
        let shift = self.end - self.start;
        let whole_days = rest / DAY;
        let partial = (rest % DAY).clamp(self.start, self.end) - self.start;
        let days_this_week = whole_days.min(self.days as u64) * shift;
        let today = if whole_days < self.days as u64 { partial } else { 0 };
        weeks.saturating_mul(self.days as u64 * shift).saturating_add(days_this_week + today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Micros = 3_600 * SECOND;

    #[test]
    fn hours_are_a_weekly_shift_pattern() {
        let office = Hours { start: 9 * H, end: 17 * H, days: 5 };
        assert!(!office.on_shift(0) && office.on_shift(9 * H) && !office.on_shift(17 * H));
        assert!(office.on_shift(4 * DAY + 16 * H) && !office.on_shift(5 * DAY + 10 * H), "Friday yes, Saturday no");
        assert!(office.on_shift(7 * DAY + 9 * H), "Monday again");
        assert_eq!(office.next_start(0), 9 * H);
        assert_eq!(office.next_start(9 * H), 9 * H, "a start is its own next start");
        assert_eq!(office.next_start(9 * H + 1), DAY + 9 * H);
        assert_eq!(office.next_start(4 * DAY + 20 * H), 7 * DAY + 9 * H, "Friday evening: Monday morning");
        assert_eq!(office.next_start(Micros::MAX - 1), Micros::MAX);
        assert_eq!(office.starts_until(0), 0);
        assert_eq!(office.starts_until(9 * H), 1);
        assert_eq!(office.starts_until(7 * DAY), 5);
        assert_eq!(office.starts_until(8 * DAY + 9 * H), 7);
        assert_eq!(Hours { start: 0, end: DAY, days: 7 }.starts_until(3 * DAY), 4);
        assert_eq!(office.on_shift_before(0), 0);
        assert_eq!(office.on_shift_before(10 * H), H);
        assert_eq!(office.on_shift_before(DAY), 8 * H);
        assert_eq!(office.on_shift_before(7 * DAY), 40 * H);
        assert_eq!(office.on_shift_before(7 * DAY + DAY + 12 * H), 40 * H + 8 * H + 3 * H);
        let always = Hours { start: 0, end: DAY, days: 7 };
        for t in [0, 1, 5 * H, 3 * DAY + 7, 20 * DAY] {
            assert!(always.on_shift(t));
            assert_eq!(always.on_shift_before(t), t);
        }
    }

    #[test]
    fn on_shift_time_and_next_start_agree_with_a_scan() {
        let night = Hours { start: 22 * H, end: DAY, days: 6 };
        let step = H / 2;
        let starts_at = |u: Micros| night.on_shift(u) && (u == 0 || !night.on_shift(u - 1));
        let mut scanned = 0;
        for k in 0..(15 * 48) {
            let t = k * step;
            assert_eq!(night.on_shift_before(t), scanned, "at {t}");
            let next = night.next_start(t);
            assert!(next >= t && starts_at(next), "{t} -> {next}");
            assert!((t..next).step_by(step as usize).all(|u| !starts_at(u)), "no start between {t} and {next}");
            scanned += if night.on_shift(t) { step } else { 0 };
        }
    }

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
