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

/// Every key of `theirs` that `us` lacks, within a join too (its `combine`
/// and `timeout`, which traces do not show).
fn merge(us: &mut toml::Table, theirs: &toml::Table) {
    for (k, v) in theirs {
        match (us.get_mut(k), v) {
            (Some(toml::Value::Table(ours)), toml::Value::Table(t)) if k == "join" => merge(ours, t),
            (Some(_), _) => {}
            (None, _) => {
                us.insert(k.clone(), v.clone());
            }
        }
    }
}

/// What traces cannot show (faults, mitigations, memory, propagation, the
/// sources' signal, the horizon to simulate), taken from the original the
/// way a user fills it in: every key of the original that the imported
/// scenario lacks, agents matched by id, channels by their ends, sources by
/// their target.
fn fill_in(imported: &str, original: &str) -> String {
    let mut table: toml::Table = imported.parse().unwrap();
    let original: toml::Table = original.parse().unwrap();
    let matching = |kind: &str, t: &toml::Table| -> Vec<String> {
        let keys: &[&str] = match kind {
            "agents" => &["id"],
            "channels" => &["from", "to"],
            _ => &["target"],
        };
        keys.iter().map(|k| t[*k].to_string()).collect()
    };
    for (key, value) in original {
        match key.as_str() {
            "name" | "description" => {}
            "agents" | "channels" | "sources" => {
                let ours = table[&key].as_array_mut().unwrap();
                for theirs in value.as_array().unwrap().iter().map(|v| v.as_table().unwrap()) {
                    let us = ours
                        .iter_mut()
                        .map(|v| v.as_table_mut().unwrap())
                        .find(|us| matching(&key, us) == matching(&key, theirs))
                        .unwrap_or_else(|| panic!("{key}: {theirs:?} was not imported"));
                    if let Some(signal) = theirs.get("signal") {
                        // The importer's placeholder scale, which guards' thresholds are set against.
                        us.insert("signal".into(), signal.clone());
                    }
                    merge(us, theirs);
                }
            }
            _ => {
                table.insert(key, value);
            }
        }
    }
    toml::to_string(&table).unwrap()
}

/// Acceptance: a bundled scenario traced for a day, imported, and filled
/// in with what traces cannot show, simulates to every headline metric's
/// 95% interval overlapping the original's. (Not the imported mean inside the original's interval: the
/// imported rates carry their own estimation error, about 0.3% for a day
/// of procurement's arrivals, as large as the original's interval on a
/// count as steady as its corrupted actions.)
#[test]
fn an_imported_scenario_simulates_like_the_original() {
    // Not coding-agents: its week of traces holds 79 corrupted inputs to the
    // reviewers, who failed 55 (0.70; the truth, 0.6, is inside its 95%
    // Wilson interval, [0.59, 0.79]), so the imported week merges 28.5 corrupted changes against
    // 38.1. There the estimates' own intervals, not the importer, limit the
    // answer: re-simulating over them is issue 19's uncertain inputs.
    for name in ["procurement", "support-desk"] {
        let text = cascade::bundled::find(name).unwrap().text;
        let original = scenario::parse(name, text).unwrap();
        let mut traced = original.clone();
        traced.horizon = 24 * 3_600_000_000;
        let bytes = export(&traced, 0);
        let mut import = Import::default();
        import.read("day.jsonl", &mut bytes.as_slice()).unwrap();
        let imported = import.finish("imported").unwrap();
        let filled = fill_in(&imported.text, text);
        let model = scenario::parse("filled.toml", &filled).unwrap_or_else(|e| panic!("{name}: {e}\n{filled}"));
        let summary = |m: &Model, count: u64| {
            let runs = runner::run_plan(m, runner::Plan::new(3, count), 0, &|_| {}).unwrap();
            cascade::summary::summarize(&runs)
        };
        let (want, got) = (summary(&original, 400), summary(&model, 1600));
        let mut varying = 0;
        for (metric, _) in cascade::metrics::headline() {
            let (Some((m0, low, high)), Some((mean, l2, h2))) = (want.estimate(metric.name), got.estimate(metric.name))
            else {
                continue;
            };
            assert!(
                l2 <= high && low <= h2,
                "{name}: {} of the imported scenario is {mean} [{l2}, {h2}], the original's {m0} [{low}, {high}]",
                metric.name
            );
            varying += usize::from(high > low);
        }
        // Metrics every run gives the same value (0 rejections without
        // validation, say) overlap trivially: at least two must vary.
        assert!(varying >= 2, "{name}: {varying} headline metrics that vary from run to run");
    }
}
