//! Limits on everything a command line, a scenario, a baseline or a
//! results directory can ask for, in one place (`docs/limits.md` lists
//! them with their reasons). Each is checked before anything runs, and
//! the engine enforces the event budget while it runs: no input makes a
//! command exhaust memory, run without end, or wrap a count.

use crate::error::{Error, Result};

/// Runs one command holds in memory (`tune`, `check`: points x runs):
/// each run's metrics take about 0.7 kB, so this is about 1.4 GB.
pub const MAX_RUNS: u64 = 2_000_000;

/// Runs one command streams to disk (`run`, `sweep`: points x runs, twice
/// that with `--paired-off`): memory does not grow with them, but each
/// takes about 0.5 kB of disk while the command runs (its `runs.csv` row
/// and its spill record), so this is about 500 GB.
pub const MAX_STREAMED_RUNS: u64 = 1_000_000_000;

/// Worker threads: more than this only costs (a thread per run beyond the cores).
pub const MAX_THREADS: usize = 256;

/// Points of a sweep grid (each point's scenario is compiled before any run).
pub const MAX_POINTS: u64 = 100_000;

/// Bytes of a scenario or baseline file.
pub const MAX_INPUT_BYTES: u64 = 4 << 20;

/// Bytes of a results directory's `manifest.json` (it lists each point's bounds) or `summary.csv`.
pub const MAX_RESULTS_BYTES: u64 = 64 << 20;

/// Bytes of one line of a shard's `runs.jsonl` (a run's line is about 1 kB).
pub const MAX_RUNS_JSONL_LINE_BYTES: u64 = 64 << 10;

/// Bytes one check's counts add to a `runs.jsonl` line at most
/// (`[4294967295,[` and seven 20-digit counts).
pub const MAX_CHECK_JSON_BYTES: u64 = 168;

/// Bytes a `runs.jsonl` line of a sweep with `checks` checks may have.
pub fn runs_jsonl_line_bytes(checks: usize) -> u64 {
    MAX_RUNS_JSONL_LINE_BYTES + checks as u64 * MAX_CHECK_JSON_BYTES
}

/// Task kinds in a scenario, entries in a router's table, and receivers
/// one entry lists (a router's table is searched for every output).
pub const MAX_KINDS: usize = 64;
pub const MAX_ROUTES: usize = 64;
pub const MAX_ROUTE_TARGETS: usize = 8;
/// In-channels a joining agent may wait on (a task's inputs are a bit set).
pub const MAX_JOIN_INPUTS: usize = 64;
/// Servers of one agent (people in a review pool).
pub const MAX_SERVERS: u32 = 100_000;
/// Retries a check may give one task.
pub const MAX_RETRIES: u32 = 16;

/// Spans `cascade import otel` holds (about 100 bytes each with their
/// index, so about 2 GB): a trace's spans may come in any order, so all
/// are held until the structure is inferred.
pub const MAX_SPANS: usize = 20_000_000;

/// Characters of an id or a name in a scenario.
pub const MAX_ID_CHARS: usize = 64;

/// Events one run may process unless `--max-events` says otherwise
/// (about 5 to 10 s of one core).
pub const EVENTS_PER_RUN: u64 = 100_000_000;

/// Rows of a replay's trace (about 110 bytes each in `trace.csv`).
pub const TRACE_ROWS: u64 = 10_000_000;

/// Highest rate of a Poisson process: a mean gap below 1 µs, the time
/// resolution, would put every arrival at the same instant.
pub const MAX_PER_SECOND: f64 = 1e6;

/// The mean gap (µs) of a Poisson process at `per_second`, refused past
/// [`MAX_PER_SECOND`] or at a rate that is not positive.
pub fn mean_gap(per_second: f64) -> std::result::Result<f64, String> {
    if per_second > 0.0 && per_second <= MAX_PER_SECOND {
        Ok(1e6 / per_second)
    } else {
        Err(format!(
            "must be a rate > 0 and at most {MAX_PER_SECOND:e} per second (a gap of 1 µs, the time resolution), got {per_second}"
        ))
    }
}

/// `runs` per point at `points` points, `copies` times over: the runs a
/// command holds, refused (naming `flag`) past [`MAX_RUNS`] or where the
/// product would not fit a count.
pub fn runs(flag: &str, runs: u64, points: u64, copies: u64) -> Result<u64> {
    at_most(flag, (runs, points, copies), MAX_RUNS, "hold in memory")
}

/// [`runs`] for a command that streams them (`run`, `sweep`; `copies` is 2
/// with `--paired-off`), refused past [`MAX_STREAMED_RUNS`].
pub fn streamed_runs(flag: &str, runs: u64, points: u64, copies: u64) -> Result<u64> {
    at_most(flag, (runs, points, copies), MAX_STREAMED_RUNS, "stream (about 0.5 kB of disk each)")
}

fn at_most(flag: &str, (runs, points, copies): (u64, u64, u64), most: u64, why: &str) -> Result<u64> {
    let total = runs.checked_mul(points).and_then(|n| n.checked_mul(copies)).filter(|&n| n <= most);
    let times = |n: u64, what: &str| if n > 1 { format!(" x {n} {what}") } else { String::new() };
    total.ok_or_else(|| {
        let asked = format!("{runs} runs{}{}", times(points, "points"), times(copies, "copies"));
        Error::argument(flag, format!("{asked} is more than the {most} runs a command may {why}"))
    })
}

/// A `--threads` value, refused past [`MAX_THREADS`].
pub fn threads(threads: usize) -> Result<usize> {
    if threads > MAX_THREADS {
        return Err(Error::argument("--threads", format!("{threads}; expected 0 (one per core) to {MAX_THREADS}")));
    }
    Ok(threads)
}

/// An id or name: 1 to [`MAX_ID_CHARS`] characters, each an ASCII letter,
/// digit, `_`, `-`, `.` or `:`, not starting with `.` (a scenario's name
/// becomes a directory under `out/`). The error shows the value escaped
/// and cut short.
pub fn id(value: &str) -> std::result::Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':');
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_ID_CHARS || !value.chars().all(allowed) || value.starts_with('.') {
        return Err(format!(
            "{}: expected 1 to {MAX_ID_CHARS} letters, digits, '_', '-', '.' or ':', not starting with '.'",
            shown(value)
        ));
    }
    Ok(())
}

/// `value` quoted for a one-line message: escaped (no newline or control
/// character survives) and cut after 40 characters.
pub fn shown(value: &str) -> String {
    format!("\"{}\"", crate::error::printable(value, 40))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_checked_before_they_wrap() {
        assert_eq!(runs("--runs", 200, 20, 1).unwrap(), 4000);
        assert_eq!(runs("--runs", MAX_RUNS, 1, 1).unwrap(), MAX_RUNS);
        assert!(runs("--runs", MAX_RUNS, 1, 2).is_err());
        let wrapped = runs("--runs", 922_337_203_685_477_581, 20, 1).unwrap_err().to_string();
        assert_eq!(
            wrapped,
            "--runs: 922337203685477581 runs x 20 points is more than the 2000000 runs a command may hold in memory"
        );
        assert!(runs("--runs", u64::MAX, 1, 1).is_err() && runs("--runs", u64::MAX, 2, 2).is_err());
        assert!(runs("--runs", 1_000_001, 1, 2).unwrap_err().to_string().contains("x 2 copies"));
        assert_eq!(streamed_runs("--runs", MAX_STREAMED_RUNS / 2, 1, 2).unwrap(), MAX_STREAMED_RUNS);
        let streamed = streamed_runs("--runs", MAX_STREAMED_RUNS, 1, 2).unwrap_err().to_string();
        assert!(streamed.ends_with("is more than the 1000000000 runs a command may stream (about 0.5 kB of disk each)"));
        assert!(streamed_runs("--runs", u64::MAX, 2, 1).is_err());
        assert_eq!(threads(MAX_THREADS).unwrap(), MAX_THREADS);
        assert_eq!((mean_gap(0.5), mean_gap(MAX_PER_SECOND)), (Ok(2e6), Ok(1.0)));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1.5e6] {
            assert!(mean_gap(bad).unwrap_err().starts_with("must be a rate > 0 and at most 1e6 per second"), "{bad}");
        }
        assert_eq!(threads(2000).unwrap_err().to_string(), "--threads: 2000; expected 0 (one per core) to 256");
    }

    #[test]
    fn ids_are_short_printable_and_never_a_path() {
        for good in ["A", "price_feed", "ci.write", "svc-bots", "n99", "a:b", &"x".repeat(MAX_ID_CHARS)] {
            assert_eq!(id(good), Ok(()), "{good}");
        }
        for bad in ["", "/abs/dir", "../../..", "..", ".hidden", "a b", "a\nb", "é", &"x".repeat(MAX_ID_CHARS + 1)] {
            assert!(id(bad).is_err(), "{bad:?}");
        }
        assert!(id("a\nb").unwrap_err().starts_with("\"a\\nb\": expected 1 to 64"));
        let long = id(&"y".repeat(10_000_000)).unwrap_err();
        let cut = format!("\"{}...{}\"", "y".repeat(30), "y".repeat(10));
        assert!(long.len() < 200 && long.starts_with(&cut), "{}", &long[..80]);
    }
}
