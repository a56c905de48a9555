//! cascade: a deterministic discrete-event simulator of cascading failures
//! in multi-agent (LLM agent) systems.
//!
//! Data flows one way: a scenario file is parsed and validated
//! ([`scenario`]) into a plain [`model::Model`]; [`topology`] draws its
//! graph; the [`engine`] runs one replication into [`metrics::RunMetrics`],
//! whose metrics the catalogue ([`metrics::CATALOGUE`]) names; [`runner`]
//! runs many in parallel; [`summary`] folds them; [`results`] turns them
//! into files; [`app`] is each command as a function (what the `cascade`
//! binary calls). See `ARCHITECTURE.md` for the map.
//!
//! ```
//! use cascade::{runner, scenario, summary};
//!
//! let model = scenario::parse("chain.toml", r#"
//!     name = "chain"
//!     horizon = "10m"
//!     quiet_window = "1m"
//!     [[agents]]
//!     id = "A"
//!     [[agents]]
//!     id = "B"
//!     action = true
//!     [[channels]]
//!     from = "A"
//!     to = "B"
//!     latency = "50ms"
//!     [[sources]]
//!     id = "feed"
//!     target = "A"
//!     arrival = { process = "periodic", period = "1s" }
//!     [[faults]]
//!     kind = "poisoned_feed"
//!     agent = "A"
//!     start = "1m"
//!     duration = "1m"
//!     shift = -30.0
//! "#).expect("a valid scenario");
//! // Four replications from seed 7, each held to the default event budget.
//! let runs = runner::run_plan(&model, runner::Plan::new(7, 4), 1, &|_| {}).expect("within budget");
//! // B is the only agent reached; both agents emit corrupted output; the
//! // 60 poisoned tasks (one per second for a minute) each end in an action.
//! assert!(runs.iter().all(|r| r.agents_reached == 1 && r.agents_corrupted == 2));
//! assert!(runs.iter().all(|r| r.corrupted_actions == 60 && r.contained));
//! let summary = summary::summarize(&runs);
//! assert_eq!(summary.containment().rate, 1.0);
//! ```

pub mod app;
pub mod bundled;
pub mod check;
pub mod dist;
pub mod engine;
pub mod error;
pub mod import;
pub mod limits;
pub mod metrics;
pub mod mitigation;
pub mod model;
pub mod paired;
pub mod results;
pub mod rng;
pub mod runner;
pub mod scenario;
pub mod summary;
pub mod sweep;
pub mod time;
pub mod topology;
pub mod tune;
pub mod ziggurat;

pub use error::{Error, Result};
