//! Mitigations at agent boundaries: pure state machines and detectors the
//! engine consults for every message that crosses a channel. They know
//! nothing of the engine's tables; the engine feeds them times, signals and
//! (for the Bernoulli detector only) ground truth.

pub mod access;
pub mod breaker;
pub mod detector;
pub mod sliding;

use crate::error::Error;
use breaker::SeedBreakerConfig;
use detector::DetectorConfig;

/// Which mitigations a scenario turns on, with their parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mitigations {
    /// Boundary validation on every channel.
    pub validation: Option<DetectorConfig>,
    /// What validation does with a message that fails it.
    pub validation_action: GuardAction,
    /// Signature, sender and provenance-depth checks on every channel.
    pub zero_trust: Option<ZeroTrust>,
    /// A circuit breaker on every channel (counts failed validations and
    /// zero-trust checks).
    pub breaker: Option<BreakerConfig>,
    /// Limits on what an agent may send.
    pub caps: Option<Caps>,
    /// Human review of alerts, quarantine and memory rollback.
    pub review: Option<Review>,
    /// Task-scoped just-in-time credentials for every agent.
    pub credentials: Option<access::TaskCredentials>,
    /// A policy check on every action.
    pub gateway: Option<access::Gateway>,
}

/// Human review (`[mitigations.review]`): each alert (breaker or gateway) is reviewed
/// after `delay`; the reviewer quarantines the agent it finds responsible
/// and may roll memory back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Review {
    /// Alert to finished review, when no pool does the reviews.
    pub delay: crate::dist::Dist,
    /// The agent (people in a pool) whose servers review alerts, in its
    /// one FIFO queue with its other work, each review taking its service
    /// time (`NONE`: reviews take `delay`, in parallel without limit).
    pub pool: u32,
    /// With provenance the reviewer goes straight to the root; without, it
    /// walks back one hop (one more delay) at a time.
    pub provenance: bool,
    /// Roll memory back when an agent is quarantined.
    pub rollback: bool,
}

impl Mitigations {
    /// Every mitigation's scenario name (`[mitigations.NAME]`), in the
    /// order `validate` and `--paired-off` list them.
    pub fn names() -> impl Iterator<Item = &'static str> {
        SWITCHES.iter().map(|s| s.0)
    }

    /// The names of the mitigations turned on, in [`Mitigations::names`] order.
    pub fn enabled(&self) -> Vec<&'static str> {
        SWITCHES.iter().filter(|(_, on, _)| on(self)).map(|s| s.0).collect()
    }

    /// These mitigations with the named ones (or `all`) turned off; `Err`
    /// names an unknown one, or a mitigation left with nothing to act on.
    pub fn without(&self, names: &[String]) -> Result<Mitigations, Error> {
        let refuse = |expected: String| Err(Error::argument("--paired-off", expected));
        let mut off = self.clone();
        for name in names {
            if name == "all" {
                off = Mitigations::default();
                continue;
            }
            let Some((_, _, turn_off)) = SWITCHES.iter().find(|s| s.0 == name) else {
                let names: Vec<&str> = Mitigations::names().collect();
                return refuse(format!("unknown mitigation \"{name}\"; expected all or one of {}", names.join(", ")));
            };
            turn_off(&mut off);
        }
        if off.review.is_some() && !off.alerts() {
            return refuse(
                "turning that off leaves review no alerts (from a breaker or gateway); turn review off too".into(),
            );
        }
        if off.breaker.is_some() && !off.guards_channels() {
            return refuse(
                "turning off validation and zero_trust leaves the breaker nothing to count; turn it off too".into(),
            );
        }
        Ok(off)
    }

    /// Whether messages crossing a channel are checked at all.
    pub fn guards_channels(&self) -> bool {
        self.validation.is_some() || self.zero_trust.is_some()
    }

    /// Whether a check on channels sanitises the messages that fail it.
    pub fn sanitises(&self) -> bool {
        self.validation.is_some() && self.validation_action == GuardAction::Sanitise
            || self.zero_trust.is_some_and(|z| z.action == GuardAction::Sanitise)
    }

    /// Whether anything raises alerts for review to act on.
    pub fn alerts(&self) -> bool {
        self.breaker.is_some() || self.gateway.is_some_and(|g| g.alert)
    }
}

/// Each mitigation: its scenario name, whether it is on, and turning it off.
type Switch = (&'static str, fn(&Mitigations) -> bool, fn(&mut Mitigations));

const SWITCHES: [Switch; 7] = [
    ("validation", |m| m.validation.is_some(), |m| m.validation = None),
    ("zero_trust", |m| m.zero_trust.is_some(), |m| m.zero_trust = None),
    ("breaker", |m| m.breaker.is_some(), |m| m.breaker = None),
    ("caps", |m| m.caps.is_some(), |m| m.caps = None),
    ("review", |m| m.review.is_some(), |m| m.review = None),
    ("credentials", |m| m.credentials.is_some(), |m| m.credentials = None),
    ("gateway", |m| m.gateway.is_some(), |m| m.gateway = None),
];

/// Which breaker semantics, with parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BreakerConfig {
    Seed(SeedBreakerConfig),
    Sliding(sliding::SlidingConfig),
}

/// Zero-trust messaging (`[mitigations.zero_trust]`): unsigned messages,
/// messages whose claimed sender is not the channel's sender, and messages
/// deeper than `max_chain_depth` hops (0 = no limit) fail validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroTrust {
    pub max_chain_depth: u32,
    /// What the check does with a message that fails it.
    pub action: GuardAction,
}

/// What a boundary check does with a message that fails it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardAction {
    /// The message is dropped: its receiver never sees it.
    #[default]
    Reject,
    /// The message is delivered with its corruption and injection removed
    /// (the guard strips what it found and passes the clean content on).
    #[serde(alias = "sanitize")]
    Sanitise,
}

/// Fan-out caps (`[mitigations.caps]`); 0 turns one cap off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    /// An agent sends each output to at most its first `max_fanout` out-channels.
    pub max_fanout: u32,
    /// No message deeper than this many hops from its source is sent.
    pub max_depth: u32,
    /// Messages an agent may send per cycle.
    pub max_per_cycle: u32,
    /// Cycle length for `max_per_cycle` (cycles start at time 0).
    pub cycle: crate::time::Micros,
    /// After a breaker trips, the upstream agent sends nothing for this long.
    pub cooldown: crate::time::Micros,
    /// Messages an agent may have in flight (sent, not yet arrived).
    pub max_in_flight: u32,
}

impl Default for Caps {
    /// The design brief's defaults.
    fn default() -> Self {
        Caps {
            max_fanout: 3,
            max_depth: 5,
            max_per_cycle: 20,
            cycle: 60 * crate::time::SECOND,
            cooldown: 300 * crate::time::SECOND,
            max_in_flight: 5,
        }
    }
}

impl Caps {
    /// k + k^2 + ... + k^d: the most agents one source can reach with fan-out
    /// k and depth d (`None` when either cap is off; saturates at u64::MAX).
    pub fn reach_bound(&self) -> Option<u64> {
        if self.max_fanout == 0 || self.max_depth == 0 {
            return None;
        }
        let k = self.max_fanout as u64;
        let (mut total, mut level) = (0u64, 1u64);
        for _ in 0..self.max_depth {
            level = level.saturating_mul(k);
            total = total.saturating_add(level);
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turning_mitigations_off_by_name() {
        let all = Mitigations {
            validation: Some(detector::DetectorConfig::ZScore { threshold: 3.0, warmup: 20 }),
            validation_action: GuardAction::Reject,
            zero_trust: Some(ZeroTrust { max_chain_depth: 0, action: GuardAction::Reject }),
            breaker: Some(BreakerConfig::Seed(Default::default())),
            caps: Some(Caps::default()),
            review: None,
            credentials: None,
            gateway: None,
        };
        let off = all.without(&["caps".into(), "validation".into()]).unwrap();
        assert!(off.caps.is_none() && off.validation.is_none() && off.zero_trust.is_some() && off.breaker.is_some());
        assert_eq!(all.without(&["all".into()]).unwrap(), Mitigations::default());
        assert_eq!(all.enabled(), ["validation", "zero_trust", "breaker", "caps"]);
        assert!(Mitigations::default().enabled().is_empty());
        assert!(all.without(&["firewall".into()]).unwrap_err().to_string().contains("unknown mitigation \"firewall\""));
        assert!(all.without(&["validation".into(), "zero_trust".into()]).unwrap_err().to_string().contains("breaker"));
    }

    #[test]
    fn each_name_switches_its_own_mitigation() {
        let every = Mitigations {
            validation: Some(detector::DetectorConfig::ZScore { threshold: 3.0, warmup: 20 }),
            validation_action: GuardAction::Reject,
            zero_trust: Some(ZeroTrust { max_chain_depth: 0, action: GuardAction::Reject }),
            breaker: Some(BreakerConfig::Seed(Default::default())),
            caps: Some(Caps::default()),
            review: Some(Review {
                delay: crate::dist::Dist::Fixed(1),
                pool: crate::model::NONE,
                provenance: true,
                rollback: true,
            }),
            credentials: Some(access::TaskCredentials { ttl: 1 }),
            gateway: Some(access::Gateway { alert: true }),
        };
        let names: Vec<&str> = Mitigations::names().collect();
        assert_eq!(every.enabled(), names);
        for name in &names {
            let rest: Vec<&str> = names.iter().copied().filter(|n| n != name).collect();
            // Turning off what others need is refused; what is allowed turns off exactly one.
            if let Ok(off) = every.without(&[name.to_string()]) {
                assert_eq!(off.enabled(), rest, "{name}");
            }
        }
        let caps_off = every.without(&["caps".into()]).unwrap();
        assert!(caps_off.caps.is_none() && caps_off.enabled().len() == 6);
    }

    #[test]
    fn reach_bound_is_the_geometric_sum() {
        assert_eq!(Caps::default().reach_bound(), Some(3 + 9 + 27 + 81 + 243));
        assert_eq!(Caps { max_fanout: 1, max_depth: 4, ..Caps::default() }.reach_bound(), Some(4));
        assert_eq!(Caps { max_fanout: 0, ..Caps::default() }.reach_bound(), None);
        assert_eq!(Caps { max_fanout: 1000, max_depth: 100, ..Caps::default() }.reach_bound(), Some(u64::MAX));
    }
}
