//! `[[sources]]`: where clean work enters, at what rate and signal.

use super::format::{ArrivalSpec, SourceSpec};
use super::{check_finite, check_id, err, KeyError, Names};
use crate::limits;
use crate::model::{Arrival, Source};
use std::collections::BTreeMap;

pub(super) fn compile_sources(specs: &[SourceSpec], names: &Names) -> Result<Vec<Source>, KeyError> {
    let mut seen = BTreeMap::new();
    let mut sources = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let key = format!("sources[{i}]");
        check_id(&format!("{key}.id"), &spec.id)?;
        if seen.insert(spec.id.clone(), i).is_some() {
            return err(format!("{key}.id"), format!("duplicate source id \"{}\"; expected unique ids", spec.id));
        }
        let target = names.lookup(&format!("{key}.target"), &spec.target)?;
        let arrival = match spec.arrival {
            ArrivalSpec::Poisson { per_second } => match limits::mean_gap(per_second) {
                Ok(mean_gap) => Arrival::Poisson { mean_gap },
                Err(e) => return err(format!("{key}.arrival.per_second"), e),
            },
            ArrivalSpec::Periodic { period } if period.0 > 0 => Arrival::Periodic { period: period.0 },
            ArrivalSpec::Periodic { .. } => return err(format!("{key}.arrival.period"), "must be a positive duration"),
        };
        check_finite(&format!("{key}.signal.mean"), spec.signal.mean)?;
        if !(spec.signal.sd.is_finite() && spec.signal.sd >= 0.0) {
            return err(
                format!("{key}.signal.sd"),
                format!("must be a standard deviation >= 0, got {}", spec.signal.sd),
            );
        }
        sources.push(Source {
            name: spec.id.clone(),
            target,
            arrival,
            start: spec.start.0,
            count: spec.count,
            signal_mean: spec.signal.mean,
            signal_sd: spec.signal.sd,
            kinds: Vec::new(),
        });
    }
    Ok(sources)
}
