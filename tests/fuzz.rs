//! A structural fuzzer over the bundled scenarios (issue 16): each case
//! mutates one scenario (a value replaced by a hostile one, a key
//! dropped, an array element duplicated or emptied, a line cut or
//! repeated), then holds what the promise says:
//!
//! - no panic, anywhere from parsing to the last event;
//! - a refusal is one `Error::Input` line naming the file;
//! - a scenario that validates runs within its event budget (the engine
//!   stops it at the budget, never past it);
//! - through the binary, `validate` and `run` agree: both refuse, with
//!   exit code 2 and one line, or both accept (but for a run stopped at
//!   its budget, and a `[sweep]` point only `sweep` and `validate` compile).
//!
//! Deterministic: the cases come from a fixed ChaCha seed, so a failure
//! names a case that reproduces. `FUZZ_CASES=N` runs more (CI runs the
//! default; docs/limits.md says how many and how long).

mod common;

use cascade::app::{validate, Scenario};
use cascade::rng::{self as draws, SimRng as ChaCha8Rng};
use cascade::runner::{self, Budget, Plan};
use toml::{Table, Value};

/// Cases per run by default (about 7 s in the test profile on two cores).
const CASES: usize = 6000;

/// Through the binary, one case in this many.
const THROUGH_BINARY: usize = 25;

/// Events a fuzzed run may use here (the limit of the fuzz, not the product's).
const EVENTS: u64 = 100_000;

/// The small bundled scenarios (the meshes would spend the time drawing graphs).
const BASES: [&str; 9] = [
    "procurement",
    "procurement-guarded",
    "procurement-mitigated",
    "progressive-breach",
    "privilege-escalation",
    "gateway",
    "procurement-bench",
    "coding-agents",
    "support-desk",
];

/// Uniform in `from..to`.
fn pick(rng: &mut ChaCha8Rng, from: usize, to: usize) -> usize {
    from + draws::below(rng, (to - from) as u64) as usize
}

/// Values that have broken parsers and engines before.
fn hostile(rng: &mut ChaCha8Rng) -> Value {
    let strings = ["", "0s", "1us", "100000d", "-1s", "1e9s", "n0", "A", "../x", "a\nb", "all", "poisson", "nan"];
    match pick(rng, 0, 10) {
        0 => Value::Integer([0, -1, 1, i64::MAX, i64::MIN, 1 << 32, 1 << 53][pick(rng, 0, 7)]),
        1 => Value::Float([0.0, -0.0, -1.0, 1e308, 1e-308, 1e9, 5e7, 0.5][pick(rng, 0, 8)]),
        2 => Value::Float(f64::NAN),
        3 => Value::Boolean(draws::below(rng, 2) == 1),
        4 => Value::String(strings[pick(rng, 0, strings.len())].to_string()),
        5 => Value::String("x".repeat(pick(rng, 60, 200))),
        6 => Value::Array(Vec::new()),
        7 => Value::Table(Table::new()),
        8 => Value::Integer(pick(rng, 0, 100) as i64),
        _ => Value::Float(2.0 * draws::unit(rng)),
    }
}

/// Every path to a leaf or container of `value`, as indices and keys.
fn paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(prefix.clone());
    match value {
        Value::Table(t) => {
            for (k, v) in t {
                prefix.push(Step::Key(k.clone()));
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                prefix.push(Step::Index(i));
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn at<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |v, step| match (step, v) {
        (Step::Key(k), Value::Table(t)) => t.get_mut(k).expect("path from paths()"),
        (Step::Index(i), Value::Array(a)) => &mut a[*i],
        _ => unreachable!("path from paths()"),
    })
}

/// One mutation of `text`: structural (through the TOML document) or textual.
fn mutate(text: &str, rng: &mut ChaCha8Rng) -> String {
    if pick(rng, 0, 5) == 0 {
        let mut lines: Vec<&str> = text.lines().collect();
        let i = pick(rng, 0, lines.len());
        match pick(rng, 0, 3) {
            0 => drop(lines.remove(i)),
            1 => lines.insert(i, lines[i]),
            _ => lines[i] = &lines[i][..lines[i].len() / 2],
        }
        return lines.join("\n");
    }
    let mut document = Value::Table(toml::from_str(text).expect("bundled scenarios parse"));
    for _ in 0..pick(rng, 1, 3) {
        let mut all = Vec::new();
        paths(&document, &mut Vec::new(), &mut all);
        let path = all[pick(rng, 1, all.len())].clone();
        let (parent_path, last) = path.split_at(path.len() - 1);
        let parent = at(&mut document, parent_path);
        match (pick(rng, 0, 5), parent, &last[0]) {
            (0, Value::Table(t), Step::Key(k)) => drop(t.remove(k.as_str())),
            (4, Value::Table(t), Step::Key(k)) => {
                // A key renamed to a hostile one.
                let keys = ["a\nb", "", "x.y", "\u{7}", "agents"];
                let value = t.remove(k.as_str()).expect("a key of the table");
                let key =
                    if pick(rng, 0, 2) == 0 { "k".repeat(pick(rng, 100, 1000)) } else { keys[pick(rng, 0, 5)].into() };
                t.insert(key, value);
            }
            (1, Value::Array(a), Step::Index(i)) => {
                let copy = a[*i].clone();
                a.insert(*i, copy);
            }
            (2, Value::Array(a), _) => a.clear(),
            (_, parent, step) => *at(parent, std::slice::from_ref(step)) = hostile(rng),
        }
    }
    toml::to_string(&document).unwrap_or_else(|_| text.to_string())
}

/// What became of a case that held the promise.
#[derive(PartialEq)]
enum Held {
    Refused,
    Ran,
    Stopped,
}

/// The promise, for one case; the error says which part broke.
fn hold(case: usize, text: &str) -> Result<Held, String> {
    let scenario = match Scenario::from_text("fuzz.toml", text.to_string()) {
        Ok(scenario) => scenario,
        Err(e) => return one_line(&e),
    };
    if let Err(e) = validate::validate(&scenario, EVENTS) {
        return one_line(&e);
    }
    let plan = Plan { budget: Budget { events: EVENTS, ..Budget::default() }, ..Plan::new(case as u64, 1) };
    let model = &scenario.model;
    match runner::run_plan(model, plan, 1, &|_| {}) {
        // Every finished run within its bounds (the engine's debug assertion, checked in any profile).
        Ok(runs) => match runs.iter().try_for_each(|r| r.check(model.agents.len() as u32, model.horizon)) {
            Ok(()) => Ok(Held::Ran),
            Err(e) => Err(format!("a run out of its bounds: {e}")),
        },
        Err(_) => Ok(Held::Stopped),
    }
}

fn one_line(e: &cascade::Error) -> Result<Held, String> {
    let text = e.to_string();
    match e {
        cascade::Error::Input { file, .. } if file.starts_with("fuzz.toml") && !text.contains('\n') => {
            Ok(Held::Refused)
        }
        _ => Err(format!("refusal not one line naming the file: {text:?}")),
    }
}

/// `validate` and `run` through the binary: both accept or both refuse in one line.
fn agree(dir: &std::path::Path, text: &str) -> Result<(), String> {
    std::fs::write(dir.join("case.toml"), text).unwrap();
    let events = EVENTS.to_string();
    let validated = common::cascade(dir, &["validate", "case.toml", "--max-events", &events]);
    let ran = common::cascade(
        dir,
        &["run", "case.toml", "--runs", "1", "--max-events", &events, "--out", "o", "--force", "--quiet"],
    );
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let overran = stderr(&ran).contains("used its budget");
    for (what, out) in [("validate", &validated), ("run", &ran)] {
        if !out.status.success() && (out.status.code() != Some(2) || stderr(out).trim_end().lines().count() != 1) {
            return Err(format!("{what}: exit {:?}, {:?}", out.status.code(), stderr(out)));
        }
    }
    // A run may also stop at the budget, which validate's estimate cannot
    // see; and `run` runs the scenario as written, so a value of the
    // `[sweep]` grid that only `sweep` would set (validate compiles every
    // point) is not its concern.
    let grid_point = stderr(&validated).contains(": sweep.") || stderr(&validated).contains("(at sweep point");
    let excused = if validated.status.success() { overran } else { grid_point };
    if validated.status.success() != ran.status.success() && !excused {
        return Err(format!(
            "validate {:?} but run {:?}: {}",
            validated.status.code(),
            ran.status.code(),
            stderr(&ran)
        ));
    }
    Ok(())
}

#[test]
fn mutated_scenarios_never_panic_run_away_or_disagree() {
    let cases = std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(CASES);
    let dir = common::scratch("fuzz");
    let mut rng = draws::stream(&draws::run_key(16, 0, 0), draws::Stream::Faults);
    let (mut outcomes, mut failures) = (Vec::new(), Vec::new());
    for case in 0..cases {
        let base = cascade::bundled::find(BASES[case % BASES.len()]).unwrap().text;
        let text = mutate(base, &mut rng);
        let held = std::panic::catch_unwind(|| hold(case, &text))
            .unwrap_or_else(|_| Err("panicked".to_string()))
            .and_then(|held| if case % THROUGH_BINARY == 0 { agree(&dir, &text).map(|()| held) } else { Ok(held) });
        match held {
            Ok(held) => outcomes.push(held),
            Err(why) => {
                failures.push(format!("case {case} ({}): {why}", BASES[case % BASES.len()]));
                std::fs::write(dir.join(format!("failed-{case}.toml")), &text).unwrap();
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cases} cases broke the promise:\n{}", failures.len(), failures.join("\n"));
    // The fuzzer must exercise both sides, refusals and runs; runs the
    // engine stops at the budget are rare (the estimate refuses runaways first).
    let share = |what: Held| outcomes.iter().filter(|&h| *h == what).count() as f64 / cases as f64;
    let (refused, ran, stopped) = (share(Held::Refused), share(Held::Ran), share(Held::Stopped));
    assert!(refused > 0.1 && ran > 0.1 && stopped < 0.2, "refused {refused}, ran {ran}, stopped {stopped}");
    eprintln!("{cases} cases: refused {refused:.3}, ran {ran:.3}, stopped at the budget {stopped:.3}");
}
