//! The results layer: everything a command writes, from results already
//! computed. Manifests and the model version ([`manifest`]), the CSV files
//! ([`csv`]), a replay's trace and memory ([`trace`]), a shard's exact
//! results ([`jsonl`]), machine-readable summaries ([`json`]), charts ([`charts`]), the sweep report
//! ([`report`]), the assembly of each command's files ([`files`]) and the
//! one writer of output directories ([`dir`]).
//!
//! Architecture invariant: results never import execution (the runner,
//! the engine's `Engine`) or the application layer; they read the
//! engine's output types (trace rows, messages, records) and turn values
//! into bytes, and only [`dir`] touches the filesystem.

pub mod charts;
pub mod csv;
pub mod dir;
pub mod files;
pub mod json;
pub mod jsonl;
pub mod manifest;
pub mod otlp;
pub mod report;
pub mod spill;
pub mod trace;

pub use dir::{prepare_dir, write_dir, write_file, Staging};
pub use files::Files;
pub use manifest::{file_hash, scenario_hash, AxisInfo, Manifest, SweepInfo, MODEL_VERSION};
