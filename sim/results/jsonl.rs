//! `runs.jsonl`: a shard's exact results, one JSON object per line, which
//! `merge` reads back bit for bit (floats and all).

use crate::error::Error;
use crate::metrics::RunMetrics;
use crate::sweep::PointRun;

/// A shard's exact results, one JSON object per line: `runs.jsonl`.
pub fn shard_jsonl(results: &[PointRun]) -> Vec<u8> {
    let mut writer = ShardJsonl::new(Vec::new());
    results.iter().for_each(|(point, m)| writer.write(*point, m).expect("in-memory write"));
    writer.finish().0
}

/// `runs.jsonl` written a line at a time, with the SHA-256 of its bytes
/// (the manifest's `sweep.runs_sha256`).
pub struct ShardJsonl<W: std::io::Write> {
    out: W,
    digest: sha2::Sha256,
}

impl<W: std::io::Write> ShardJsonl<W> {
    pub fn new(out: W) -> ShardJsonl<W> {
        ShardJsonl { out, digest: sha2::Digest::new() }
    }

    /// One run's line.
    pub fn write(&mut self, point: u64, metrics: &RunMetrics) -> std::io::Result<()> {
        let mut line = serde_json::json!({ "point": point, "metrics": metrics }).to_string().into_bytes();
        line.push(b'\n');
        sha2::Digest::update(&mut self.digest, &line);
        self.out.write_all(&line)
    }

    /// The writer, and the hex SHA-256 of everything written.
    pub fn finish(self) -> (W, String) {
        let digest = sha2::Digest::finalize(self.digest).iter().map(|b| format!("{b:02x}")).collect();
        (self.out, digest)
    }
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
        let bytes = shard_jsonl(&runs);
        assert_eq!(parse_jsonl(std::str::from_utf8(&bytes).unwrap()).unwrap(), runs);
        let mut writer = ShardJsonl::new(Vec::new());
        runs.iter().for_each(|(p, m)| writer.write(*p, m).unwrap());
        let (streamed, digest) = writer.finish();
        assert_eq!((streamed, digest), (bytes.clone(), crate::results::scenario_hash(&bytes)));
        let e = parse_jsonl("{}\n").unwrap_err().in_file("shard-1").to_string();
        assert!(e.starts_with("shard-1: runs.jsonl: line 1: missing field"), "{e}");
    }
}
