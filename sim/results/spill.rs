//! The spill: a streamed command's runs, (point, metrics) in run order, in
//! a compact binary form (a varint length, then the run in postcard's
//! varint encoding of the serde derives), written as runs finish and read
//! back for the summaries' second pass. It lives in the staging directory
//! and never reaches an output.

use crate::metrics::RunMetrics;
use crate::sweep::PointRun;
use std::io::{self, Read, Write};

/// The most bytes one run can take: 48 fields and 101 prevalence counts,
/// 10 bytes each at most, with room to spare.
const MAX_RUN_BYTES: usize = 2048;

/// Appends one run to a spill; returns the bytes written.
pub fn write(out: &mut impl Write, point: u64, run: &RunMetrics) -> io::Result<u64> {
    let bytes = postcard::to_stdvec(&(point, run)).map_err(io::Error::other)?;
    debug_assert!(bytes.len() <= MAX_RUN_BYTES);
    let mut length = [0u8; 10];
    let used = postcard::to_slice(&(bytes.len() as u64), &mut length).map_err(io::Error::other)?.len();
    out.write_all(&length[..used])?;
    out.write_all(&bytes)?;
    Ok((used + bytes.len()) as u64)
}

/// Reads a spill back, run by run.
pub struct Reader<R> {
    input: R,
    buffer: Vec<u8>,
}

impl<R: Read> Reader<R> {
    pub fn new(input: R) -> Reader<R> {
        Reader { input, buffer: Vec::with_capacity(MAX_RUN_BYTES) }
    }

    /// The next run, `None` at the end; a spill cut short or altered is
    /// invalid data.
    pub fn next_run(&mut self) -> io::Result<Option<PointRun>> {
        let Some(length) = self.length()? else { return Ok(None) };
        if length > MAX_RUN_BYTES as u64 {
            return Err(invalid("a run longer than any run can be"));
        }
        self.buffer.resize(length as usize, 0);
        self.input.read_exact(&mut self.buffer)?;
        let (point, run): (u64, RunMetrics) = postcard::from_bytes(&self.buffer).map_err(io::Error::other)?;
        Ok(Some((point, run)))
    }

    /// A varint length, `None` at a clean end.
    fn length(&mut self) -> io::Result<Option<u64>> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let mut byte = [0u8];
            match self.input.read_exact(&mut byte) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return if shift == 0 { Ok(None) } else { Err(invalid("a spill cut short")) };
                }
                result => result?,
            }
            value |= u64::from(byte[0] & 0x7f) << shift;
            if byte[0] & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Err(invalid("a length longer than 64 bits"))
    }

    /// Calls `each` on every run left, in order.
    pub fn for_each(&mut self, mut each: impl FnMut(u64, &RunMetrics)) -> io::Result<u64> {
        let mut read = 0;
        while let Some((point, run)) = self.next_run()? {
            each(point, &run);
            read += 1;
        }
        Ok(read)
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("spill file: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_round_trip_bit_for_bit_and_damage_is_an_error() {
        let mut runs: Vec<PointRun> = (0..300u64)
            .map(|r| {
                let mut m = RunMetrics {
                    run: r,
                    messages: r * r * 1_000_003,
                    t_contain: (r % 3 == 0).then_some(r << 40),
                    ..Default::default()
                };
                m.prevalence.horizon = u64::MAX - r;
                m.prevalence.counts[r as usize % 101] = u32::MAX;
                (r % 7, m)
            })
            .collect();
        runs[5].1.events = u64::MAX;
        let mut bytes = Vec::new();
        for (point, run) in &runs {
            let before = bytes.len() as u64;
            assert_eq!(write(&mut bytes, *point, run).unwrap(), bytes.len() as u64 - before);
        }
        let mut reader = Reader::new(&bytes[..]);
        let mut back = Vec::new();
        assert_eq!(reader.for_each(|p, m| back.push((p, *m))).unwrap(), 300);
        assert_eq!(back, runs);
        assert!(bytes.len() < 300 * 200, "compact: {} bytes for 300 runs", bytes.len());
        let cut = Reader::new(&bytes[..bytes.len() - 1]).for_each(|_, _| {}).unwrap_err();
        assert_eq!(cut.kind(), io::ErrorKind::UnexpectedEof);
        let mut long = vec![0xff; 3];
        long.push(0x01);
        assert_eq!(Reader::new(&long[..]).next_run().unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(Reader::new(&[0x80u8][..]).next_run().unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert!(Reader::new(&[0xffu8; 11][..]).next_run().is_err());
        assert!(Reader::new(&[][..]).next_run().unwrap().is_none());
    }
}
