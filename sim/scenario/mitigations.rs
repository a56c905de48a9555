//! `[mitigations]`: boundary validation, zero trust, breakers (seed and
//! sliding), caps, review, credentials and the gateway, checked against
//! each other (a breaker needs something to count, review needs alerts).

use super::format::{
    BreakerMode, BreakerSpec, CapsSpec, DetectorKind, MitigationsSpec, PresetSpec, ReviewSpec, ValidationSpec,
    WindowKind,
};
use super::{access, check_probability, err, KeyError, Names};
use crate::dist::Dist;
use crate::mitigation::breaker::SeedBreakerConfig;
use crate::mitigation::detector::DetectorConfig;
use crate::mitigation::sliding::{Preset, SlidingConfig, Window};
use crate::mitigation::{BreakerConfig, Caps, GuardAction, Mitigations, Review, ZeroTrust};
use crate::model::NONE;
use crate::time::SECOND;

pub(super) fn compile_mitigations(spec: &MitigationsSpec, names: &Names) -> Result<Mitigations, KeyError> {
    let validation = match &spec.validation {
        Some(v) if v.enabled => Some(compile_validation(v)?),
        _ => None,
    };
    let breaker = match &spec.breaker {
        Some(b) if b.enabled => Some(compile_breaker(b)?),
        _ => None,
    };
    let validation_action = spec.validation.as_ref().map_or(GuardAction::Reject, |v| v.action);
    let zero_trust = spec
        .zero_trust
        .as_ref()
        .filter(|z| z.enabled)
        .map(|z| ZeroTrust { max_chain_depth: z.max_chain_depth, action: z.action });
    if breaker.is_some() && validation.is_none() && zero_trust.is_none() {
        return err(
            "mitigations.breaker",
            "needs [mitigations.validation] or [mitigations.zero_trust] enabled: the breaker counts failed checks",
        );
    }
    let caps = match &spec.caps {
        Some(c) if c.enabled => Some(compile_caps(c)?),
        _ => None,
    };
    let review = match spec.review.as_ref().filter(|r| r.enabled) {
        Some(r) => Some(compile_review(r, names)?),
        None => None,
    };
    let credentials = access::task_credentials(&spec.credentials)?;
    let gateway = access::gateway(&spec.gateway);
    let mitigations =
        Mitigations { validation, validation_action, zero_trust, breaker, caps, review, credentials, gateway };
    if review.is_some() && !mitigations.alerts() {
        return err(
            "mitigations.review",
            "needs [mitigations.breaker] or an alerting [mitigations.gateway]: reviews start from alerts",
        );
    }
    Ok(mitigations)
}

/// Review after `delay` (default: exponential, mean 10 minutes), or by
/// the servers of the agent `pool` names, not both.
fn compile_review(spec: &ReviewSpec, names: &Names) -> Result<Review, KeyError> {
    let pool = match &spec.pool {
        Some(_) if spec.delay.is_some() => {
            return err(
                "mitigations.review.pool",
                "give delay or pool, not both: a pool's service time is its review time",
            )
        }
        Some(pool) => names.lookup("mitigations.review.pool", pool)?,
        None => NONE,
    };
    Ok(Review {
        delay: spec.delay.unwrap_or(Dist::Exponential { mean: 600.0 * SECOND as f64 }),
        pool,
        provenance: spec.provenance,
        rollback: spec.rollback,
    })
}

fn compile_caps(spec: &CapsSpec) -> Result<Caps, KeyError> {
    let d = Caps::default();
    let cycle = spec.cycle.map_or(d.cycle, |c| c.0);
    if cycle == 0 {
        return err("mitigations.caps.cycle", "must be a positive duration");
    }
    Ok(Caps {
        max_fanout: spec.max_fanout.unwrap_or(d.max_fanout),
        max_depth: spec.max_depth.unwrap_or(d.max_depth),
        max_per_cycle: spec.max_messages_per_cycle.unwrap_or(d.max_per_cycle),
        cycle,
        cooldown: spec.cooldown.map_or(d.cooldown, |c| c.0),
        max_in_flight: spec.max_in_flight.unwrap_or(d.max_in_flight),
    })
}

fn compile_validation(spec: &ValidationSpec) -> Result<DetectorConfig, KeyError> {
    let key = "mitigations.validation";
    let only = |name: &str, kind: &str| err(format!("{key}.{name}"), format!("only applies to detector = \"{kind}\""));
    match spec.detector {
        DetectorKind::Zscore => {
            if spec.true_positive.is_some() {
                return only("true_positive", "bernoulli");
            }
            if spec.false_positive.is_some() {
                return only("false_positive", "bernoulli");
            }
            let threshold = spec.threshold.unwrap_or(3.0);
            if !(threshold.is_finite() && threshold > 0.0) {
                return err(
                    format!("{key}.threshold"),
                    format!("must be a number of standard deviations > 0, got {threshold}"),
                );
            }
            Ok(DetectorConfig::ZScore { threshold, warmup: spec.warmup.unwrap_or(20).max(2) })
        }
        DetectorKind::Bernoulli => {
            if spec.threshold.is_some() {
                return only("threshold", "zscore");
            }
            if spec.warmup.is_some() {
                return only("warmup", "zscore");
            }
            let Some(true_positive) = spec.true_positive else {
                return err(
                    format!("{key}.true_positive"),
                    "missing; expected the detection probability of a corrupted message",
                );
            };
            let true_positive = check_probability(&format!("{key}.true_positive"), true_positive)?;
            let false_positive =
                check_probability(&format!("{key}.false_positive"), spec.false_positive.unwrap_or(0.0))?;
            Ok(DetectorConfig::Bernoulli { true_positive, false_positive })
        }
    }
}

fn compile_breaker(spec: &BreakerSpec) -> Result<BreakerConfig, KeyError> {
    let key = "mitigations.breaker";
    if let Some(name) = spec.foreign_key() {
        let mode = if spec.mode == BreakerMode::Seed { "sliding" } else { "seed" };
        return err(format!("{key}.{name}"), format!("only applies to mode = \"{mode}\""));
    }
    match spec.mode {
        BreakerMode::Seed => compile_seed_breaker(spec).map(BreakerConfig::Seed),
        BreakerMode::Sliding => compile_sliding_breaker(spec).map(BreakerConfig::Sliding),
    }
}

fn compile_sliding_breaker(spec: &BreakerSpec) -> Result<SlidingConfig, KeyError> {
    let key = "mitigations.breaker";
    let base = spec.preset.map_or(Preset::Resilience4j, |p| match p {
        PresetSpec::Resilience4j => Preset::Resilience4j,
        PresetSpec::Polly => Preset::Polly,
        PresetSpec::Hystrix => Preset::Hystrix,
    });
    let d = base.config();
    let (kind, size) = match d.window {
        Window::Count(n) => (WindowKind::Count, n),
        Window::Time(n) => (WindowKind::Time, n),
    };
    let kind = spec.window_type.unwrap_or(kind);
    let size = spec.window_size.unwrap_or(size);
    let window = match kind {
        WindowKind::Count if (1..=1024).contains(&size) => Window::Count(size),
        WindowKind::Time if (1..=3600).contains(&size) => Window::Time(size),
        WindowKind::Count => return err(format!("{key}.window_size"), format!("must be 1 to 1024 calls, got {size}")),
        WindowKind::Time => return err(format!("{key}.window_size"), format!("must be 1 to 3600 seconds, got {size}")),
    };
    let failure_rate = spec.failure_rate.unwrap_or(d.failure_rate);
    if !(failure_rate > 0.0 && failure_rate <= 1.0) {
        return err(format!("{key}.failure_rate"), format!("must be a rate in (0, 1], got {failure_rate}"));
    }
    let half_open_calls = spec.half_open_calls.unwrap_or(d.half_open_calls);
    if half_open_calls == 0 {
        return err(format!("{key}.half_open_calls"), "must be at least 1 call");
    }
    Ok(SlidingConfig {
        window,
        minimum_calls: spec.minimum_calls.unwrap_or(d.minimum_calls).max(1),
        failure_rate,
        wait_in_open: spec.wait_in_open.map_or(d.wait_in_open, |w| w.0),
        half_open_calls,
    })
}

fn compile_seed_breaker(spec: &BreakerSpec) -> Result<SeedBreakerConfig, KeyError> {
    let key = "mitigations.breaker";
    let defaults = SeedBreakerConfig::default();
    let failure_threshold = spec.failure_threshold.unwrap_or(defaults.failure_threshold);
    if failure_threshold == 0 {
        return err(format!("{key}.failure_threshold"), "must be at least 1 failure");
    }
    let anomaly_threshold = check_probability(
        &format!("{key}.anomaly_threshold"),
        spec.anomaly_threshold.unwrap_or(defaults.anomaly_threshold),
    )?;
    let window = spec.window.unwrap_or(defaults.window);
    if !(1..=64).contains(&window) {
        return err(format!("{key}.window"), format!("must be between 1 and 64 validations, got {window}"));
    }
    let half_open_max_probes = spec.half_open_max_probes.unwrap_or(defaults.half_open_max_probes);
    if half_open_max_probes == 0 {
        return err(format!("{key}.half_open_max_probes"), "must be at least 1 probe");
    }
    Ok(SeedBreakerConfig {
        failure_threshold,
        anomaly_threshold,
        window,
        reset_timeout: spec.reset_timeout.map_or(defaults.reset_timeout, |d| d.0),
        half_open_max_probes,
    })
}
