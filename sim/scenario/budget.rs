//! How many events a run of a scenario processes, estimated from its
//! drivers before anything runs, so that a scenario that could not finish
//! is refused up front, naming what drives it ([`check`]); the engine
//! holds every run to the same budget while it runs.
//!
//! The estimate counts what happens when nothing is stopped: each source
//! emission is one event, and each agent that surely receives it (the
//! target, and with clean relaying every agent reached through agents
//! that send to all their out-channels, or to their only one) takes two
//! more, its arrival and its service; forged messages and out-of-scope
//! attempts are three or one each. Fan-out through random choices,
//! cycles and generated graphs is left out, and mitigations that stop
//! messages are not modelled, so a run may do fewer events or more: what
//! the estimate misses, the engine's budget catches.

use crate::error::Error;
use crate::model::{Arrival, FaultKind, Model, OutputRule, Topology};
use crate::time::{Micros, SECOND};

/// One driver of a run's events: its key in the scenario, the events it
/// brings about per run, and how (for the message naming it).
#[derive(Clone, Debug, PartialEq)]
pub struct Driver {
    pub key: String,
    pub events: f64,
    pub how: String,
}

/// Every driver of `model`'s events, in scenario order.
pub fn drivers(model: &Model) -> Vec<Driver> {
    let reach = Reach::of(model);
    // Per target: sources often share one, and each walk is over every agent.
    let mut reached = std::collections::BTreeMap::new();
    let mut drivers = Vec::new();
    for (i, source) in model.sources.iter().enumerate() {
        let window = model.horizon.saturating_sub(source.start) as f64;
        let (timed, rate) = match source.arrival {
            Arrival::Poisson { mean_gap } => (window / mean_gap, SECOND as f64 / mean_gap),
            Arrival::Periodic { period } => (window / period as f64 + 1.0, SECOND as f64 / period as f64),
        };
        let emissions = source.count.map_or(timed, |count| timed.min(count as f64));
        let agents = *reached.entry(source.target).or_insert_with(|| reach.from(model, source.target));
        drivers.push(Driver {
            key: format!("sources[{i}]"),
            events: emissions * (1.0 + 2.0 * agents as f64),
            how: format!(
                "{} per second for {} s x {agents} agent(s) it surely reaches",
                number(rate),
                number(window / SECOND as f64)
            ),
        });
    }
    for (i, fault) in model.faults.iter().enumerate() {
        let (per_event, gaps, agents) = match &fault.kind {
            FaultKind::SpoofedSender { start, end, mean_gap, .. } => (3.0, window(model, *start, *end) / mean_gap, 1),
            FaultKind::OutOfScope { agents, start, end, mean_gap, .. } => {
                (1.0, window(model, *start, *end) / mean_gap, agents.len())
            }
            _ => continue,
        };
        let events = per_event * gaps * agents as f64;
        let how = format!("{} attempts over its window", number(gaps * agents as f64));
        drivers.push(Driver { key: format!("faults[{i}]"), events, how });
    }
    let shifts: Vec<(usize, u64)> = (model.agents.iter().enumerate())
        .filter_map(|(i, a)| Some((i, a.hours?.starts_until(model.horizon))))
        .collect();
    if let Some(&(first, _)) = shifts.first() {
        let starts: u64 = shifts.iter().map(|s| s.1).sum();
        let key = match model.topology {
            Topology::Generated { .. } => "topology.agent.hours".to_string(),
            Topology::Explicit(_) => format!("agents[{first}].hours"),
        };
        let how = format!("{} shift starts over {} agent(s) with working hours", number(starts as f64), shifts.len());
        drivers.push(Driver { key, events: starts as f64, how });
    }
    drivers
}

/// The estimated events of one run of `model`, refused when they pass
/// `budget`, naming the driver with the most.
pub fn check(model: &Model, budget: u64) -> Result<f64, Error> {
    let drivers = drivers(model);
    let total: f64 = drivers.iter().map(|d| d.events).sum();
    if total <= budget as f64 {
        return Ok(total);
    }
    let top = drivers.iter().max_by(|a, b| a.events.total_cmp(&b.events)).expect("a total above 0 has a driver");
    Err(Error::key(
        top.key.clone(),
        format!(
            "about {} events per run ({}); expected at most {budget} (the event budget: lower the rate or the horizon, or raise --max-events)",
            number(total),
            top.how
        ),
    ))
}

/// A number for a message: 3 significant digits past a million, whole
/// past 100, else with at most four decimals.
fn number(value: f64) -> String {
    if value >= 1e6 {
        format!("{value:.2e}")
    } else if value >= 100.0 {
        format!("{}", value.round())
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The part of `[start, end)` inside the horizon, in µs.
fn window(model: &Model, start: Micros, end: Micros) -> f64 {
    end.min(model.horizon).saturating_sub(start) as f64
}

/// Which agents surely receive what an agent emits.
struct Reach {
    /// Explicit channels by sender, when the topology lists them and clean work is relayed.
    out: Option<Vec<Vec<u32>>>,
}

impl Reach {
    fn of(model: &Model) -> Reach {
        let out = match &model.topology {
            Topology::Explicit(channels) if model.clean_relay => {
                let mut out = vec![Vec::new(); model.agents.len()];
                channels.iter().for_each(|c| out[c.from as usize].push(c.to));
                Some(out)
            }
            _ => None,
        };
        Reach { out }
    }

    /// The agents that surely receive a task delivered to `target`, itself included.
    fn from(&self, model: &Model, target: u32) -> usize {
        let Some(out) = &self.out else { return 1 };
        let mut seen = vec![false; out.len()];
        let mut stack = vec![target];
        seen[target as usize] = true;
        let mut count = 0;
        while let Some(agent) = stack.pop() {
            count += 1;
            let next = &out[agent as usize];
            if model.agents[agent as usize].output != OutputRule::All && next.len() != 1 {
                continue;
            }
            for &to in next {
                if !std::mem::replace(&mut seen[to as usize], true) {
                    stack.push(to);
                }
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = r#"
        name = "c"
        horizon = "1h"
        quiet_window = "1m"
        [[agents]]
        id = "A"
        [[agents]]
        id = "B"
        [[agents]]
        id = "C"
        output = "random_one"
        [[agents]]
        id = "D"
        [[agents]]
        id = "E"
        [[channels]]
        from = "A"
        to = "B"
        [[channels]]
        from = "B"
        to = "C"
        [[channels]]
        from = "C"
        to = "D"
        [[channels]]
        from = "C"
        to = "E"
        [[sources]]
        id = "s"
        target = "A"
        arrival = { process = "periodic", period = "1s" }
    "#;

    #[test]
    fn the_estimate_counts_what_surely_happens() {
        let model = super::super::parse("c.toml", CHAIN).unwrap();
        // A, B and C surely receive each task; C's random choice is not counted.
        let d = drivers(&model);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].key.as_str(), d[0].events), ("sources[0]", 3601.0 * 7.0));
        assert_eq!(d[0].how, "1 per second for 3600 s x 3 agent(s) it surely reaches");
        assert!(check(&model, 25_207).is_ok() && check(&model, 25_206).is_err());
        let counted =
            super::super::parse("c.toml", &CHAIN.replace("period = \"1s\" }", "period = \"1s\" }\ncount = 10"))
                .unwrap();
        assert_eq!(check(&counted, u64::MAX).unwrap(), 70.0);
        let unrelayed = super::super::parse("c.toml", &format!("{CHAIN}\n[workload]\nclean_relay = false")).unwrap();
        assert_eq!(
            check(&unrelayed, u64::MAX).unwrap(),
            3601.0 * 3.0,
            "without clean relaying only the target surely works"
        );
        let poisson =
            CHAIN.replace("{ process = \"periodic\", period = \"1s\" }", "{ process = \"poisson\", per_second = 0.5 }");
        let d = drivers(&super::super::parse("c.toml", &poisson).unwrap());
        assert_eq!(
            (d[0].events, d[0].how.as_str()),
            (1800.0 * 7.0, "0.5 per second for 3600 s x 3 agent(s) it surely reaches")
        );
        let fast =
            CHAIN.replace("{ process = \"periodic\", period = \"1s\" }", "{ process = \"poisson\", per_second = 1e6 }");
        let e = check(&super::super::parse("c.toml", &fast).unwrap(), 100_000_000)
            .unwrap_err()
            .in_file("c.toml")
            .to_string();
        assert_eq!(
            e,
            "c.toml: sources[0]: about 2.52e10 events per run (1.00e6 per second for 3600 s x 3 agent(s) it surely reaches); \
             expected at most 100000000 (the event budget: lower the rate or the horizon, or raise --max-events)"
        );
    }

    #[test]
    fn forged_messages_and_attempts_are_drivers() {
        let spoof = "[[faults]]\nkind = \"spoofed_sender\"\nfrom = \"A\"\nto = \"B\"\nstart = \"30m\"\nper_second = 100.0\nshift = 1.0";
        let model = super::super::parse("c.toml", &format!("{CHAIN}\n{spoof}")).unwrap();
        let d = drivers(&model);
        assert_eq!((d[1].key.as_str(), d[1].events), ("faults[0]", 3.0 * 1800.0 * 100.0));
        assert!(matches!(check(&model, 1_000), Err(Error::Input { key, .. }) if key == "faults[0]"));
        // gateway (6 h): 5 agents exploring every 45 min from the start, and
        // exfiltrating every 5 min from 1 h: 40 and 300 attempts.
        let gateway = crate::bundled::find("gateway").unwrap().text;
        let faults: Vec<(String, f64, String)> = drivers(&super::super::parse("gateway", gateway).unwrap())
            .into_iter()
            .filter(|d| d.key.starts_with("faults"))
            .map(|d| (d.key, d.events, d.how))
            .collect();
        assert_eq!(faults.len(), 2);
        assert_eq!((faults[0].1, faults[0].2.as_str()), (40.0, "40 attempts over its window"));
        assert_eq!((faults[1].1, faults[1].2.as_str()), (300.0, "300 attempts over its window"));
        assert_eq!(
            [number(0.5), number(0.0033), number(3.0), number(250.4), number(2.5e10)],
            ["0.5", "0.0033", "3", "250", "2.50e10"]
        );
    }

    #[test]
    fn shift_starts_are_drivers() {
        let coding = crate::bundled::find("coding-agents").unwrap().text;
        let model = super::super::parse("coding-agents", coding).unwrap();
        let shifts = drivers(&model).into_iter().find(|d| d.key.ends_with(".hours")).expect("a shift driver");
        assert_eq!((shifts.key.as_str(), shifts.events), ("agents[4].hours", 8.0), "days 0 to 7, the horizon included");
        assert_eq!(shifts.how, "8 shift starts over 1 agent(s) with working hours");
        let mesh = "name = \"m\"\nhorizon = \"100000d\"\nquiet_window = \"1d\"\n[topology]\n\
                    generator = { kind = \"chain\", n = 1000 }\n[topology.agent]\nhours = { start = \"9h\", end = \"17h\" }";
        let model = super::super::parse("m.toml", mesh).unwrap();
        let refused = check(&model, 1_000_000).unwrap_err().to_string();
        assert!(
            refused.contains("topology.agent.hours: about 1.00e8 events per run (1.00e8 shift starts"),
            "{refused}"
        );
    }
}
