//! Sweeps: a grid over scenario values by dotted key, times R replications
//! per point, and the deterministic slicing of that space into shards.
//!
//! A grid comes from the scenario's `[sweep]` table and from `--set`
//! arguments. Each point is the scenario document with the point's values
//! written in, compiled by [`crate::scenario::parse_document`], so every
//! point is validated exactly like a file before anything runs. Points are
//! numbered row-major (the last key varies fastest). Run `r` of every point
//! uses the streams of `(seed, 0, r)`: common random numbers, so that
//! differences between points are the parameters' effect, not noise.
//! The (point, replication) space is flattened as `point * runs + r`; a
//! shard `I/N` takes one contiguous slice of it. Running the points is
//! [`crate::runner::run_points`]; writing their files is
//! [`crate::results::files`].

use crate::error::Error;
use crate::limits::MAX_POINTS;
use crate::metrics::RunMetrics;
use crate::model::Model;
use crate::scenario;
use crate::summary::Summary;
use std::ops::Range;
use toml::{Table, Value};

/// One swept key and its values, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<Value>,
}

/// A grid of points: the cartesian product of its axes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grid {
    pub axes: Vec<Axis>,
}

impl Grid {
    /// Number of points (1 for an empty grid: the scenario as written),
    /// `u64::MAX` when the product does not fit.
    pub fn points(&self) -> u64 {
        self.axes.iter().try_fold(1u64, |n, a| n.checked_mul(a.values.len() as u64)).unwrap_or(u64::MAX)
    }

    /// The index into each axis of point `point` (the last axis fastest).
    pub fn coordinates(&self, point: u64) -> Vec<usize> {
        let sizes: Vec<usize> = self.axes.iter().map(|a| a.values.len()).collect();
        coordinates(&sizes, point)
    }

    /// Point `point`'s values as printed in the CSV columns.
    pub fn labels(&self, point: u64) -> Vec<String> {
        self.values(point).into_iter().map(label).collect()
    }

    /// Point `point`'s value on each axis.
    pub fn values(&self, point: u64) -> Vec<&Value> {
        self.axes.iter().zip(self.coordinates(point)).map(|(axis, i)| &axis.values[i]).collect()
    }

    /// Adds `axis`, replacing an axis with the same key in place.
    pub fn set(&mut self, axis: Axis) {
        match self.axes.iter_mut().find(|a| a.key == axis.key) {
            Some(existing) => *existing = axis,
            None => self.axes.push(axis),
        }
    }
}

/// The index into each of axes of `sizes` values of point `point`, numbered
/// row-major (the last axis fastest).
pub fn coordinates(sizes: &[usize], point: u64) -> Vec<usize> {
    let mut rest = point;
    let mut coordinates = vec![0; sizes.len()];
    for (i, &n) in sizes.iter().enumerate().rev() {
        coordinates[i] = (rest % n as u64) as usize;
        rest /= n as u64;
    }
    coordinates
}

/// A value as a CSV cell: strings bare, everything else in TOML syntax.
pub fn label(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The grid of a scenario's `[sweep]` table: each leaf is an array of
/// values or a range table `{ from, to, step }`; nested tables and quoted
/// dotted keys both name a scenario key.
/// Errors name the key, not the file ([`Error::in_file`]).
pub fn grid_of(document: &Table) -> Result<Grid, Error> {
    let mut grid = Grid::default();
    if let Some(sweep) = document.get("sweep") {
        let Value::Table(table) = sweep else {
            return Err(Error::key("sweep", "expected a table of key = [values]"));
        };
        collect(&mut grid, "", table).map_err(|(key, expected)| Error::key(key, expected))?;
    }
    Ok(grid)
}

fn collect(grid: &mut Grid, prefix: &str, table: &Table) -> Result<(), (String, String)> {
    for (key, value) in table {
        let key = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let values = match value {
            Value::Array(values) => values.clone(),
            Value::Table(t) if t.contains_key("from") => range_table(t).map_err(|m| (format!("sweep.{key}"), m))?,
            Value::Table(t) => {
                collect(grid, &key, t)?;
                continue;
            }
            _ => return Err((format!("sweep.{key}"), "expected an array of values or { from, to, step }".into())),
        };
        if values.is_empty() {
            return Err((format!("sweep.{key}"), "expected at least one value".into()));
        }
        grid.set(Axis { key, values });
    }
    Ok(())
}

fn range_table(table: &Table) -> Result<Vec<Value>, String> {
    if let Some(unknown) = table.keys().find(|k| !["from", "to", "step"].contains(&k.as_str())) {
        return Err(format!("unknown key `{unknown}` in a range; expected from, to, step"));
    }
    let text = |k: &str| table.get(k).map(|v| v.to_string());
    let (Some(from), Some(to)) = (text("from"), text("to")) else {
        return Err("a range needs from and to".into());
    };
    range(&from, &to, text("step").as_deref())
}

/// Parses `KEY=V1,V2,...` or `KEY=FROM..TO[:STEP]` (a `--set` argument).
/// Values are TOML (`3`, `0.5`, `true`, `"x"`); anything else is a string,
/// so `5m` needs no quotes.
pub fn parse_set(argument: &str) -> Result<Axis, Error> {
    axis_of(argument).map_err(|m| Error::argument("--set", m))
}

fn axis_of(argument: &str) -> Result<Axis, String> {
    let Some((key, list)) = argument.split_once('=') else {
        return Err(format!("\"{argument}\": expected KEY=V1,V2,... or KEY=FROM..TO[:STEP]"));
    };
    let key = key.trim();
    if key.is_empty() || list.trim().is_empty() {
        return Err(format!("\"{argument}\": expected a key and at least one value"));
    }
    let values = match list.split_once("..") {
        Some((from, rest)) => {
            let (to, step) = match rest.split_once(':') {
                Some((to, step)) => (to, Some(step)),
                None => (rest, None),
            };
            range(from.trim(), to.trim(), step.map(str::trim)).map_err(|m| format!("\"{argument}\": {m}"))?
        }
        None => list.split(',').map(|v| value_of(v.trim())).collect(),
    };
    Ok(Axis { key: key.to_string(), values })
}

fn value_of(text: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// An inclusive range of integers (all ends integers) or floats.
fn range(from: &str, to: &str, step: Option<&str>) -> Result<Vec<Value>, String> {
    let ints = (from.parse::<i64>(), to.parse::<i64>(), step.map_or(Ok(1), str::parse::<i64>));
    if let (Ok(a), Ok(b), Ok(s)) = ints {
        if s <= 0 || b < a {
            return Err(format!("expected FROM <= TO and a positive step, got {a}..{b} step {s}"));
        }
        let n = ((b - a) / s) as u64 + 1;
        if n > MAX_POINTS {
            return Err(format!("{n} values; expected at most {MAX_POINTS}"));
        }
        return Ok((0..n as i64).map(|i| Value::Integer(a + i * s)).collect());
    }
    let float = |t: &str| t.parse::<f64>().map_err(|_| format!("\"{t}\" is not a number"));
    let (a, b) = (float(from)?, float(to)?);
    let Some(s) = step.map(float).transpose()? else {
        return Err("a range of non-integers needs a step (FROM..TO:STEP)".into());
    };
    if !(a.is_finite() && b.is_finite() && s > 0.0 && b >= a) {
        return Err(format!("expected FROM <= TO and a positive step, got {a}..{b} step {s}"));
    }
    // Values as from + i * step (no accumulated error), the last within
    // a millionth of a step of TO.
    let n = ((b - a) / s + 1e-6).floor() as u64 + 1;
    if n > MAX_POINTS {
        return Err(format!("{n} values; expected at most {MAX_POINTS}"));
    }
    Ok((0..n).map(|i| Value::Float(a + i as f64 * s)).collect())
}

/// Writes `value` at the dotted `key` of `document`. A segment names a
/// table key, an array element by index (`agents.2`) or by its `id` /
/// `name` (`agents.B`); missing tables are created (so setting a key of
/// an absent `[mitigations.x]` turns that mitigation on).
fn set(document: &mut Table, key: &str, value: Value) -> Result<(), String> {
    let segments: Vec<&str> = key.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) || segments[0] == "sweep" {
        return Err(format!("\"{key}\": expected a dotted scenario key such as mitigations.breaker.failure_threshold"));
    }
    let last = segments.len() - 1;
    let mut table = document;
    let mut i = 0;
    while i < last {
        // A sweep varies what the scenario has: it never adds a table
        // (a mitigation, a generator) the scenario left out.
        let Some(entry) = table.get_mut(segments[i]) else {
            let path = segments[..=i].join(".");
            return Err(format!(
                "the scenario has no [{path}]; a sweep only varies a value of a table the scenario has"
            ));
        };
        table = match entry {
            Value::Table(t) => t,
            Value::Array(items) if i + 1 < last => {
                i += 1;
                pick(items, segments[i], key)?
            }
            _ => return Err(format!("\"{key}\": `{}` is a value, not a table", segments[i])),
        };
        i += 1;
    }
    if let Some(Value::Array(items)) = table.get(segments[last]) {
        if !items.is_empty() && items.iter().all(Value::is_table) {
            return Err(format!("\"{key}\": a list of tables; name one element and a key in it (e.g. {key}.0.id)"));
        }
    }
    table.insert(segments[last].to_string(), value);
    Ok(())
}

/// The element of an array of tables named by index or by `id` / `name`.
fn pick<'a>(items: &'a mut [Value], selector: &str, key: &str) -> Result<&'a mut Table, String> {
    let position = match selector.parse::<usize>() {
        Ok(i) => (i < items.len()).then_some(i),
        Err(_) => {
            items.iter().position(|v| v.get("id").or_else(|| v.get("name")).and_then(Value::as_str) == Some(selector))
        }
    };
    match position.map(|i| &mut items[i]) {
        Some(Value::Table(t)) => Ok(t),
        _ => Err(format!("\"{key}\": no element `{selector}`; expected an index or the id of one")),
    }
}

/// Refuses a grid of more than [`MAX_POINTS`] points (before any point
/// is enumerated or compiled).
pub fn check_size(grid: &Grid) -> Result<(), Error> {
    match grid.points() {
        u64::MAX => {
            Err(Error::key("sweep", format!("more points than fit a 64-bit count; expected at most {MAX_POINTS}")))
        }
        points if points > MAX_POINTS => {
            Err(Error::key("sweep", format!("{points} points; expected at most {MAX_POINTS}")))
        }
        _ => Ok(()),
    }
}

/// Every point's compiled model. The document is the scenario file
/// parsed; `file` names it in errors, which also name the point.
pub fn compile_points(file: &str, document: &Table, grid: &Grid) -> Result<Vec<Model>, Error> {
    check_size(grid).map_err(|e| e.in_file(file))?;
    (0..grid.points())
        .map(|point| {
            let assignment: Vec<(&str, &Value)> =
                grid.axes.iter().map(|axis| axis.key.as_str()).zip(grid.values(point)).collect();
            compile_assignment(file, document, &assignment, &format!("sweep point {point}"))
        })
        .collect()
}

/// The scenario with `assignment`'s values written in, compiled; errors
/// name `what` (e.g. "sweep point 3") and the values.
pub fn compile_assignment(
    file: &str,
    document: &Table,
    assignment: &[(&str, &Value)],
    what: &str,
) -> Result<Model, Error> {
    let mut doc = document.clone();
    for (key, value) in assignment {
        set(&mut doc, key, (*value).clone())
            .map_err(|message| Error::key(format!("sweep.{key}"), message).in_file(file))?;
    }
    // Printed on one line, however long or odd the values: Error's Display.
    let assigned: Vec<String> =
        assignment.iter().map(|(k, v)| format!("{} = {}", crate::error::printable(k, 60), label(v))).collect();
    scenario::parse_document(file, doc).map_err(|e| match e {
        Error::Input { file, key, expected } => {
            Error::Input { file, key, expected: format!("{expected} (at {what}: {})", assigned.join(", ")) }
        }
        other => other,
    })
}

/// A shard `index/count` (1-based), or the whole space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parses `I/N` with 1 <= I <= N (a `--shard` argument).
    pub fn parse(text: &str) -> Result<Shard, Error> {
        let parsed = text.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(Error::argument("--shard", format!("\"{text}\": expected I/N with 1 <= I <= N (e.g. 2/8)"))),
        }
    }

    /// This shard's contiguous slice of `0..total`.
    pub fn slice(&self, total: u64) -> Range<u64> {
        let cut = |k: u64| ((k as u128 * total as u128) / self.count as u128) as u64;
        cut(self.index - 1)..cut(self.index)
    }
}

/// One finished run of a sweep.
pub type PointRun = (u64, RunMetrics);

/// The runs of each point, in run order (`points` lists, some possibly
/// empty for a shard).
pub fn per_point(points: u64, results: &[PointRun]) -> Vec<Vec<RunMetrics>> {
    let mut grouped = vec![Vec::new(); points as usize];
    for (point, metrics) in results {
        grouped[*point as usize].push(*metrics);
    }
    grouped
}

/// Each point's summary.
pub fn summaries(per_point: &[Vec<RunMetrics>]) -> Vec<Summary> {
    per_point.iter().map(|runs| crate::summary::summarize(runs)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn set_arguments_take_lists_and_ranges() {
        let axis = parse_set("mitigations.breaker.failure_threshold=1,2,5").unwrap();
        assert_eq!(axis.key, "mitigations.breaker.failure_threshold");
        assert_eq!(axis.values, [Value::Integer(1), Value::Integer(2), Value::Integer(5)]);
        assert_eq!(parse_set("k=1..7:3").unwrap().values, [Value::Integer(1), Value::Integer(4), Value::Integer(7)]);
        assert_eq!(parse_set("k=2..4").unwrap().values.len(), 3);
        let floats: Vec<f64> =
            parse_set("k=0.1..0.3:0.1").unwrap().values.iter().map(|v| v.as_float().unwrap()).collect();
        assert_eq!(floats, [0.1, 0.1 + 0.1, 0.1 + 2.0 * 0.1], "from + i * step, the end included");
        let mixed = parse_set("k=5m,true,\"x\",0.5").unwrap().values;
        assert_eq!(
            mixed,
            [Value::String("5m".into()), Value::Boolean(true), Value::String("x".into()), Value::Float(0.5)]
        );
        for bad in ["k", "=1", "k=", "k=5..1", "k=1..5:0", "k=0.1..0.5", "k=a..b:1", "k=1..2000000"] {
            assert!(parse_set(bad).unwrap_err().to_string().starts_with("--set: "), "{bad} should be refused");
        }
    }

    #[test]
    fn grids_come_from_nested_or_quoted_keys_and_count_points() {
        let d = doc(r#"
            [sweep]
            "mitigations.caps.max_fanout" = [1, 2]
            mitigations.breaker = { failure_threshold = [1, 3, 5] }
            "mitigations.validation.threshold" = { from = 2.0, to = 3.0, step = 0.5 }
            "#);
        let grid = grid_of(&d).unwrap();
        let keys: Vec<&str> = grid.axes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "mitigations.breaker.failure_threshold",
                "mitigations.caps.max_fanout",
                "mitigations.validation.threshold"
            ]
        );
        assert_eq!(grid.points(), 3 * 2 * 3);
        // Row-major, the last axis fastest.
        assert_eq!(grid.coordinates(0), [0, 0, 0]);
        assert_eq!(grid.coordinates(1), [0, 0, 1]);
        assert_eq!(grid.coordinates(3), [0, 1, 0]);
        assert_eq!(grid.coordinates(17), [2, 1, 2]);
        assert_eq!(grid.labels(17), ["5", "2", "3.0"]);
        assert_eq!(Grid::default().points(), 1, "no axes: the scenario as written");
        assert!(grid_of(&doc("sweep = 3")).is_err());
        let refused = |text: &str| grid_of(&doc(text)).unwrap_err().in_file("s.toml").to_string();
        assert_eq!(refused("[sweep]\nk = 3"), "s.toml: sweep.k: expected an array of values or { from, to, step }");
        assert!(refused("[sweep]\nk = []").contains("at least one"));
        assert!(refused("[sweep]\nk = { from = 1, to = 2, by = 1 }").contains("by"));
    }

    #[test]
    fn set_writes_nested_keys_and_array_elements() {
        let mut d = doc("[[agents]]\nid = \"A\"\n[[agents]]\nid = \"B\"\n[mitigations.breaker]\nwindow = 4");
        set(&mut d, "mitigations.breaker.failure_threshold", Value::Integer(2)).unwrap();
        set(&mut d, "agents.B.noise", Value::Float(0.5)).unwrap();
        set(&mut d, "agents.0.noise", Value::Float(0.25)).unwrap();
        assert_eq!(d["mitigations"]["breaker"]["failure_threshold"].as_integer(), Some(2));
        assert_eq!(d["mitigations"]["breaker"]["window"].as_integer(), Some(4), "siblings are kept");
        let added = set(&mut d, "mitigations.caps.max_fanout", Value::Integer(1)).unwrap_err();
        assert_eq!(
            added,
            "the scenario has no [mitigations.caps]; a sweep only varies a value of a table the scenario has"
        );
        assert!(set(&mut d, "topology.agent.gain", Value::Float(1.0)).unwrap_err().contains("no [topology]"));
        assert_eq!(d["agents"][1]["noise"].as_float(), Some(0.5));
        assert_eq!(d["agents"][0]["noise"].as_float(), Some(0.25));
        assert!(set(&mut d, "agents.C.noise", Value::Float(1.0)).unwrap_err().contains("no element `C`"));
        assert!(set(&mut d, "agents.7.noise", Value::Float(1.0)).is_err());
        assert!(set(&mut d, "agents", Value::Integer(1)).unwrap_err().contains("list of tables"));
        assert!(set(&mut d, "mitigations.breaker.window.size", Value::Integer(1)).unwrap_err().contains("is a value"));
        assert!(set(&mut d, "sweep.x", Value::Integer(1)).is_err());
        assert!(set(&mut d, "a..b", Value::Integer(1)).is_err());
    }

    #[test]
    fn shards_partition_the_space_in_order() {
        for total in [0u64, 1, 7, 100, 1001] {
            for count in 1..=9 {
                let slices: Vec<Range<u64>> = (1..=count).map(|index| Shard { index, count }.slice(total)).collect();
                assert_eq!(slices[0].start, 0);
                assert_eq!(slices.last().unwrap().end, total);
                assert!(slices.windows(2).all(|w| w[0].end == w[1].start), "contiguous");
                assert!(slices.iter().all(|s| s.end - s.start <= total / count + 1), "balanced");
            }
        }
        assert_eq!(Shard::parse("2/8").unwrap(), Shard { index: 2, count: 8 });
        assert_eq!(
            Shard::parse("3/2").unwrap_err().to_string(),
            "--shard: \"3/2\": expected I/N with 1 <= I <= N (e.g. 2/8)"
        );
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn points_compile_with_their_values_and_bad_points_name_themselves() {
        let text = "name = \"t\"\nhorizon = \"1m\"\nquiet_window = \"10s\"\n[[agents]]\nid = \"A\"\n[mitigations.zero_trust]\n[mitigations.breaker]\n";
        let d = doc(text);
        let mut grid = Grid::default();
        grid.set(parse_set("mitigations.breaker.failure_threshold=1,4").unwrap());
        let models = compile_points("t.toml", &d, &grid).unwrap();
        let thresholds: Vec<u32> = models
            .iter()
            .map(|m| match m.mitigations.breaker {
                Some(crate::mitigation::BreakerConfig::Seed(c)) => c.failure_threshold,
                _ => panic!("seed breaker expected"),
            })
            .collect();
        assert_eq!(thresholds, [1, 4]);
        grid.set(parse_set("mitigations.breaker.failure_threshold=2,0").unwrap());
        let e = compile_points("t.toml", &d, &grid).unwrap_err().to_string();
        assert!(e.starts_with("t.toml: mitigations.breaker.failure_threshold: "), "{e}");
        assert!(e.contains("at sweep point 1: mitigations.breaker.failure_threshold = 0"), "{e}");
        grid.set(parse_set("mitigations.breaker.colour=1").unwrap());
        assert!(compile_points("t.toml", &d, &grid).unwrap_err().to_string().contains("unknown field `colour`"));
    }
}
