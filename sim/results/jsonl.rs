//! `runs.jsonl`: a shard's exact results, one JSON object per line, which
//! `merge` reads back bit for bit (floats and all).

use crate::error::Error;
use crate::metrics::RunMetrics;
use crate::sweep::PointRun;

/// A shard's exact results, one JSON object per line: `runs.jsonl`.
pub fn shard_jsonl(results: &[PointRun]) -> Vec<u8> {
    let mut out = Vec::new();
    for (point, metrics) in results {
        let line = serde_json::json!({ "point": point, "metrics": metrics });
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Reads `runs.jsonl` back; errors name the line, not the file
/// ([`Error::in_file`]).
pub fn parse_jsonl(text: &str) -> Result<Vec<PointRun>, Error> {
    #[derive(serde::Deserialize)]
    struct Line {
        point: u64,
        metrics: RunMetrics,
    }
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str::<Line>(line)
                .map(|l| (l.point, l.metrics))
                .map_err(|e| Error::key("runs.jsonl", format!("line {}: {e}", i + 1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_results_round_trip() {
        let runs = vec![
            (0, RunMetrics { run: 0, t_detect: Some(3), ..Default::default() }),
            (1, RunMetrics { run: 0, ..Default::default() }),
        ];
        assert_eq!(parse_jsonl(std::str::from_utf8(&shard_jsonl(&runs)).unwrap()).unwrap(), runs);
        let e = parse_jsonl("{}\n").unwrap_err().in_file("shard-1").to_string();
        assert!(e.starts_with("shard-1: runs.jsonl: line 1: missing field"), "{e}");
    }
}
