//! Mitigations at agent boundaries: pure state machines and detectors the
//! engine consults for every message that crosses a channel. They know
//! nothing of the engine's tables; the engine feeds them times, signals and
//! (for the Bernoulli detector only) ground truth.

pub mod breaker;
pub mod detector;

use breaker::SeedBreakerConfig;
use detector::DetectorConfig;

/// Which mitigations a scenario turns on, with their parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mitigations {
    /// Boundary validation on every channel.
    pub validation: Option<DetectorConfig>,
    /// A circuit breaker on every channel (needs validation to see failures).
    pub breaker: Option<SeedBreakerConfig>,
}
