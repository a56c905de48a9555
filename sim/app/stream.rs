//! What the commands that stream their runs share: why streaming stopped,
//! and reading a spill back ([`crate::results::spill`]) for the
//! summaries' passes.

use crate::error::Error;
use crate::metrics::RunMetrics;
use crate::results::{spill, Staging};
use crate::runner::Overran;
use std::io::{self, Read, Seek, SeekFrom};
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
