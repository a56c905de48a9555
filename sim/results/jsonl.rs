//! `runs.jsonl`: a shard's exact results, one JSON object per line, which
//! `merge` reads back bit for bit (floats and all).

use crate::error::Error;
use crate::metrics::{CheckCounts, RunMetrics};

/// One line of `runs.jsonl`: a run's point, its metrics and what each of
/// its checks did (`"checks"`, absent when the scenario has none: each
/// check as `[agent index, [its CheckCounts::values]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ShardRun {
    pub point: u64,
    pub metrics: RunMetrics,
    pub checks: Vec<CheckCounts>,
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
    pub fn write(&mut self, point: u64, metrics: &RunMetrics, checks: &[CheckCounts]) -> std::io::Result<()> {
        let mut line = serde_json::json!({ "point": point, "metrics": metrics });
        if !checks.is_empty() {
            line["checks"] = checks.iter().map(|c| serde_json::json!([c.agent, c.values()])).collect();
        }
        let mut line = line.to_string().into_bytes();
        line.push(b'\n');
        sha2::Digest::update(&mut self.digest, &line);
        self.out.write_all(&line)
    }

    /// The writer, and the hex SHA-256 of everything written.
    pub fn finish(self) -> (W, String) {
        let digest = super::manifest::hex(&sha2::Digest::finalize(self.digest));
        (self.out, digest)
    }
}

/// `runs.jsonl` read back a line at a time; errors name the line, not
/// the file ([`Error::in_file`]).
pub struct Reader<R> {
    input: R,
    /// Lines read so far.
    line: u64,
    /// Bytes a line may have (`limits::runs_jsonl_line_bytes`).
    most: u64,
    bytes: Vec<u8>,
}

impl<R: std::io::BufRead> Reader<R> {
    /// A reader refusing lines longer than `most` bytes.
    pub fn new(input: R, most: u64) -> Reader<R> {
        Reader { input, line: 0, most, bytes: Vec::new() }
    }

    /// The next line's run, or `None` at the end. A line longer than the
    /// reader's `most` bytes is refused before it is held whole.
    pub fn next_run(&mut self) -> Result<Option<ShardRun>, Error> {
        #[derive(serde::Deserialize)]
        struct Line {
            point: u64,
            metrics: RunMetrics,
            #[serde(default)]
            checks: Vec<(u32, [u64; 7])>,
        }
        use std::io::{BufRead, Read};
        let most = self.most;
        self.bytes.clear();
        let read = (&mut self.input).take(most + 1).read_until(b'\n', &mut self.bytes);
        let at = |line: u64, what: String| Error::key("runs.jsonl", format!("line {line}: {what}"));
        let read = read.map_err(|e| at(self.line + 1, format!("cannot read ({e})")))?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.bytes.last() == Some(&b'\n') {
            self.bytes.pop();
        } else if read as u64 > most {
            return Err(at(self.line, format!("longer than {most} bytes")));
        }
        let line: Line = serde_json::from_slice(&self.bytes).map_err(|e| at(self.line, e.to_string()))?;
        let checks = line.checks.into_iter().map(|(agent, values)| CheckCounts::of(agent, values)).collect();
        Ok(Some(ShardRun { point: line.point, metrics: line.metrics, checks }))
    }

    /// Lines read so far.
    pub fn lines(&self) -> u64 {
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOST: u64 = crate::limits::MAX_RUNS_JSONL_LINE_BYTES;

    #[test]
    fn shard_results_round_trip() {
        let counts = vec![CheckCounts::of(2, [9, 3, 1, 1, 2, 1, 1])];
        let runs = vec![
            ShardRun {
                point: 0,
                metrics: RunMetrics { run: 0, t_detect: Some(3), ..Default::default() },
                checks: counts,
            },
            ShardRun { point: 1, metrics: RunMetrics { run: 0, ..Default::default() }, checks: Vec::new() },
        ];
        let mut writer = ShardJsonl::new(Vec::new());
        runs.iter().for_each(|r| writer.write(r.point, &r.metrics, &r.checks).unwrap());
        let (bytes, digest) = writer.finish();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with(r#"{"checks":[[2,[9,3,1,1,2,1,1]]],"metrics":"#), "{}", lines[0]);
        assert!(lines[1].starts_with(r#"{"metrics":"#), "no checks, no key: {}", lines[1]);
        // Each check adds at most its allowance to a line, so merge reads what sweep writes.
        let most = CheckCounts::of(u32::MAX, [u64::MAX; 7]);
        let (mut one, mut many) = (ShardJsonl::new(Vec::new()), ShardJsonl::new(Vec::new()));
        one.write(0, &runs[1].metrics, &[]).unwrap();
        many.write(0, &runs[1].metrics, &[most; 10]).unwrap();
        let added = many.finish().0.len() - one.finish().0.len();
        assert!(added as u64 <= 10 * crate::limits::MAX_CHECK_JSON_BYTES, "{added}");
        assert_eq!(digest, crate::results::scenario_hash(&bytes));
        let mut reader = Reader::new(&bytes[..], MOST);
        let mut back = Vec::new();
        while let Some(run) = reader.next_run().unwrap() {
            back.push(run);
        }
        assert_eq!((back, reader.lines()), (runs, 2));
        let error = |text: &[u8]| Reader::new(text, MOST).next_run().unwrap_err().in_file("shard-1").to_string();
        let e = error(b"{}\n");
        assert!(e.starts_with("shard-1: runs.jsonl: line 1: missing field"), "{e}");
        let long = vec![b' '; MOST as usize + 1];
        assert_eq!(error(&long), format!("shard-1: runs.jsonl: line 1: longer than {} bytes", long.len() - 1));
        // A line of exactly the limit, its newline past it, is read (and parsed).
        let mut at_limit = vec![b' '; MOST as usize];
        at_limit.push(b'\n');
        assert!(error(&at_limit).contains("line 1: EOF while parsing"), "{}", error(&at_limit));
        let mut second = bytes[..10].to_vec();
        second.splice(0..0, bytes.iter().copied());
        let mut reader = Reader::new(&second[..], MOST);
        reader.next_run().unwrap();
        reader.next_run().unwrap();
        let e = reader.next_run().unwrap_err().in_file("s").to_string();
        assert!(e.starts_with("s: runs.jsonl: line 3: "), "{e}");
    }
}
