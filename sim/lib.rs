//! cascade: a deterministic discrete-event simulator of cascading failures
//! in multi-agent (LLM agent) systems.
//!
//! Data flows one way: a scenario file is parsed and validated
//! ([`scenario`]) into a plain [`model::Model`]; [`topology`] draws its
//! graph; the [`engine`] runs one replication into [`metrics::RunMetrics`];
//! [`runner`] runs many in parallel; [`summary`] folds them; [`output`]
//! writes files. See `ARCHITECTURE.md` for the map.

pub mod bundled;
pub mod dist;
pub mod engine;
pub mod metrics;
pub mod model;
pub mod output;
pub mod rng;
pub mod runner;
pub mod scenario;
pub mod summary;
pub mod time;
pub mod topology;
pub mod ziggurat;
