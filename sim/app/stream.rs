//! What the commands that stream their runs share: why streaming stopped,
//! a sweep's runs streamed to `runs.csv` and a spill point by point
//! ([`PointSpill`]), and reading a spill back ([`crate::results::spill`])
//! for the summaries' passes.

use crate::error::Error;
use crate::metrics::RunMetrics;
use crate::results::{csv::RunsCsv, spill, Staging, SweepInfo};
use crate::runner::Overran;
use crate::summary::{self, Contained, ContainedTimes, PrevalenceSample, Summary};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::{ControlFlow, Range};
use std::path::Path;

/// Why streaming runs stopped: a run used its budget, or a file could not
/// be written.
pub(super) enum Stopped {
    Overran(Overran),
    Io(io::Error),
}

impl Stopped {
    /// The error, naming the scenario (`label`) or the output `dir`.
    pub(super) fn into_error(self, label: &str, dir: &Path) -> Error {
        match self {
            Stopped::Overran(o) => super::overran(label, o),
            Stopped::Io(e) => Error::io(dir, e),
        }
    }
}

impl From<io::Error> for Stopped {
    fn from(e: io::Error) -> Stopped {
        Stopped::Io(e)
    }
}

/// What a streaming sink does with the result of writing one run: go on,
/// or keep the first error in `failed` and stop the runs.
pub(super) fn go_on(failed: &mut Option<io::Error>, written: io::Result<()>) -> ControlFlow<()> {
    match written {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            *failed = Some(e);
            ControlFlow::Break(())
        }
    }
}

/// Every run of the staged spill `name` (or of its bytes `range`), in
/// order, to `each`.
pub(super) fn read_spill(
    staging: &Staging,
    name: &str,
    range: Option<Range<u64>>,
    each: &mut dyn FnMut(u64, &RunMetrics),
) -> io::Result<()> {
    let mut file = staging.open(name)?;
    match range {
        None => spill::Reader::new(file).for_each(each).map(|_| ()),
        Some(range) => {
            file.seek(SeekFrom::Start(range.start))?;
            spill::Reader::new(file.take(range.end - range.start)).for_each(each).map(|_| ())
        }
    }
}

/// The spill of a sweep's (or a merge's) runs.
pub(super) const SPILL: &str = ".runs.spill";

/// A sweep's runs, in (point, replication) order, streamed into a staging
/// directory's `runs.csv` and [`SPILL`], with each point's bytes of the
/// spill, so each point can be summarised on its own ([`summarise_points`]).
pub(super) struct PointSpill {
    csv: RunsCsv<BufWriter<File>>,
    spill: BufWriter<File>,
    points: Vec<Range<u64>>,
    at: u64,
}

impl PointSpill {
    /// `runs.csv` (its header written) and the spill, empty, in `staging`.
    pub(super) fn create(staging: &Staging, info: &SweepInfo) -> io::Result<PointSpill> {
        let csv = RunsCsv::sweep(staging.create("runs.csv")?, &info.keys(), info.all_labels())?;
        let spill = staging.create(SPILL)?;
        Ok(PointSpill { csv, spill, points: vec![0..0; info.points as usize], at: 0 })
    }

    /// Point `point`'s next run; a sweep's points come in order.
    pub(super) fn write(&mut self, point: u64, m: &RunMetrics) -> io::Result<()> {
        self.csv.write(point, m)?;
        let bytes = spill::write(&mut self.spill, point, m)?;
        let range = &mut self.points[point as usize];
        assert!(range.start == range.end || range.end == self.at, "point {point}'s runs are not contiguous");
        if range.start == range.end {
            *range = self.at..self.at;
        }
        self.at += bytes;
        range.end = self.at;
        Ok(())
    }

    /// Both files flushed; each point's bytes of the spill (empty where it has no runs).
    pub(super) fn finish(self) -> io::Result<Vec<Range<u64>>> {
        self.csv.finish()?.flush()?;
        let mut spill = self.spill;
        spill.flush()?;
        Ok(self.points)
    }
}

/// Per point: its summary, its prevalence, and for the points the CDF
/// chart draws, its times to containment.
pub(super) type PointSummaries = (Vec<Summary>, Vec<Vec<PrevalenceSample>>, Vec<Option<Contained>>);

/// Each point's summary and prevalence from its bytes of the staged
/// [`SPILL`] (of no runs where it has none), and the times to containment
/// of the `drawn` points.
pub(super) fn summarise_points(staging: &Staging, points: &[Range<u64>], drawn: &[u64]) -> io::Result<PointSummaries> {
    let (mut summaries, mut curves) = (Vec::with_capacity(points.len()), Vec::with_capacity(points.len()));
    let mut contained = vec![None; points.len()];
    for (point, range) in points.iter().enumerate() {
        let mut times = drawn.contains(&(point as u64)).then(ContainedTimes::default);
        let mut first_pass = true;
        let (summary, curve) = summary::summarize_twice(|add| -> io::Result<()> {
            if range.start != range.end {
                read_spill(staging, SPILL, Some(range.clone()), &mut |_, m| {
                    add(m);
                    if let (true, Some(times)) = (first_pass, times.as_mut()) {
                        times.add(m.t_contain);
                    }
                })?;
            }
            first_pass = false;
            Ok(())
        })?;
        summaries.push(summary);
        curves.push(curve);
        contained[point] = times.map(ContainedTimes::finish);
    }
    Ok((summaries, curves, contained))
}
