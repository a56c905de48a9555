//! Scenarios from a real system's traces: OpenTelemetry spans in, a
//! scenario's text out (`cascade import otel`).
//!
//! [`otlp`] reads OTLP JSON into a compact span table, [`infer`] finds the
//! system in it (agents, channels, sources, output rules, joins, checks,
//! actions, timing), [`fit`] fits its durations and arrivals, and
//! [`write`] renders the scenario with every number's evidence.
//! **Invariant:** the same input bytes give the same scenario bytes (no
//! hash map is iterated into output; agents are in name order).

pub mod fit;
pub mod infer;
pub mod otlp;
pub mod write;

use crate::error::Result;

/// The tool cascade's OTLP export names an action on no modelled resource
/// as, and which the importer reads back as `action = true`.
pub const ACTION_TOOL: &str = "cascade.action";
use std::io::BufRead;

/// An import in progress: inputs read one after another.
#[derive(Debug, Default)]
pub struct Import {
    spans: otlp::Spans,
    files: Vec<String>,
}

/// What an import found, and the scenario's text.
#[derive(Clone, Debug)]
pub struct Imported {
    pub text: String,
    pub system: infer::System,
}

impl Import {
    /// Reads one input (`file` names it in errors and in the scenario).
    pub fn read(&mut self, file: &str, input: &mut dyn BufRead) -> Result<()> {
        self.files.push(file.to_string());
        otlp::read(file, input, &mut self.spans, crate::limits::MAX_SPANS)
    }

    /// The scenario named `name` (an id) of everything read.
    pub fn finish(self, name: &str) -> Result<Imported> {
        let files = self.files.join(", ");
        let system = infer::infer(&self.spans).map_err(|e| e.in_file(files))?;
        let text = write::scenario(&system, &write::Labels { name, files: &self.files });
        Ok(Imported { text, system })
    }
}
