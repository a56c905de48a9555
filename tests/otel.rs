//! The round trip: a bundled scenario simulated, exported as OTLP traces
//! (`cascade replay --otlp`), imported (`cascade import otel`), recovers
//! the original's structure exactly (agents, channels, output rules,
//! actions, joins, checks) and its timing within the importer's stated
//! intervals.

use cascade::dist::Dist;
use cascade::import::{fit::Fit, Import};
use cascade::model::{Model, Topology};
use cascade::results::otlp::{otlp_jsonl, OtlpOptions};
use cascade::runner::{self, Budget};
use cascade::{app, scenario};
use std::collections::BTreeSet;

fn export(model: &Model, run: u64) -> Vec<u8> {
    let replayed = runner::replay(model, 1, 0, run, Budget::default()).expect("within budget");
    otlp_jsonl(model, &replayed, OtlpOptions { seed: 1, run, epoch: app::replay::EPOCH })
}

fn channels(m: &Model) -> BTreeSet<(String, String)> {
    let Topology::Explicit(channels) = &m.topology else { panic!("explicit") };
    channels.iter().map(|c| (m.agents[c.from as usize].name.clone(), m.agents[c.to as usize].name.clone())).collect()
}

/// The parameters a distribution has, as the fit names them.
fn truth(dist: &Dist) -> Vec<(&'static str, f64)> {
    match *dist {
        Dist::Fixed(v) => vec![("value", v as f64)],
        Dist::Exponential { mean } => vec![("mean", mean)],
        Dist::LogNormal { log2_median, log2_sigma } => {
            vec![("median", libm::exp2(log2_median)), ("sigma", log2_sigma / std::f64::consts::LOG2_E)]
        }
        Dist::Uniform { min, max } => vec![("min", min as f64), ("max", max as f64)],
    }
}

/// (parameters checked, covered by their intervals); the families must match.
fn compare(what: &str, dist: &Dist, fit: &Fit) -> (usize, usize) {
    let family = |d: &Dist| std::mem::discriminant(d);
    assert_eq!(family(dist), family(&fit.dist), "{what}: {dist:?} fitted as {:?} ({:?})", fit.dist, fit.candidates);
    let mut covered = 0;
    let params = truth(dist);
    for (name, value) in &params {
        let p = fit.params.iter().find(|p| p.name == *name).unwrap();
        covered += usize::from(p.low <= *value && *value <= p.high);
    }
    (params.len(), covered)
}

fn round_trip(name: &str) -> (usize, usize) {
    let original = app::Scenario::resolve(name).unwrap().model;
    let bytes = export(&original, 0);
    assert_eq!(export(&original, 0), bytes, "{name}: the export is deterministic");
    let mut import = Import::default();
    import.read("run.jsonl", &mut bytes.as_slice()).unwrap();
    let imported = import.finish("imported").unwrap();
    let m = scenario::parse("imported.toml", &imported.text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let names = |m: &Model| m.agents.iter().map(|a| a.name.clone()).collect::<BTreeSet<_>>();
    assert_eq!(names(&m), names(&original), "{name}: agents");
    assert_eq!(channels(&m), channels(&original), "{name}: channels");
    let (mut checked, mut covered) = (0, 0);
    for a in &original.agents {
        let i = m.agents.iter().position(|b| b.name == a.name).unwrap();
        let b = &m.agents[i];
        let what = format!("{name}: {}", a.name);
        assert_eq!((b.output, b.action, b.role), (a.output, a.action, a.role), "{what}: output, action, role");
        assert_eq!(b.join.map(|j| j.inputs), a.join.map(|j| j.inputs), "{what}: join");
        let targets = |m: &Model, c: Option<cascade::model::Check>| {
            c.map(|c| {
                let n = |i: u32| m.agents.get(i as usize).map(|a| a.name.clone());
                (n(c.retry), c.max_retries, n(c.escalate))
            })
        };
        assert_eq!(targets(&m, b.check), targets(&original, a.check), "{what}: check");
        let routes = |m: &Model, agent: &cascade::model::Agent| {
            let Topology::Explicit(cs) = &m.topology else { unreachable!() };
            let mut r: Vec<(String, String)> = agent
                .routes
                .iter()
                .map(|r| {
                    (m.kinds[r.kind as usize].clone(), m.agents[cs[r.channels[0] as usize].to as usize].name.clone())
                })
                .collect();
            r.sort();
            r
        };
        assert_eq!(routes(&m, b), routes(&original, a), "{what}: routes' first receivers");
        let facts = imported.system.agents.iter().find(|f| f.name == a.name).unwrap();
        if facts.spans >= 300 {
            let (n, c) = compare(&format!("{what} service"), &a.service, &facts.service);
            checked += n;
            covered += c;
        }
    }
    let Topology::Explicit(original_channels) = &original.topology else { unreachable!() };
    for c in original_channels {
        let (from, to) = (&original.agents[c.from as usize].name, &original.agents[c.to as usize].name);
        let facts = imported
            .system
            .channels
            .iter()
            .find(|f| &imported.system.agents[f.from].name == from && &imported.system.agents[f.to].name == to)
            .unwrap();
        match &facts.latency {
            Some(fit) if fit.n >= 300 => {
                let (n, k) = compare(&format!("{name}: {from}->{to} latency"), &c.latency, fit);
                checked += n;
                covered += k;
            }
            Some(_) => {}
            None => assert_eq!(c.latency, Dist::Fixed(0), "{name}: {from}->{to} has a latency but no send spans"),
        }
    }
    (checked, covered)
}

#[test]
fn bundled_scenarios_survive_export_and_import() {
    let (mut checked, mut covered) = (0, 0);
    for name in ["procurement", "support-desk", "coding-agents"] {
        let (n, c) = round_trip(name);
        checked += n;
        covered += c;
    }
    // 95% intervals: at least 85% of the parameters within theirs.
    assert!(checked >= 20 && covered * 100 >= checked * 85, "{covered} of {checked} parameters within their intervals");
}
