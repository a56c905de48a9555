//! `cascade merge`: the shard directories of one sweep joined into the
//! files one machine would have written.

use super::stream::{self, PointSpill};
use super::{open_output, read_manifest};
use crate::error::{Error, Result};
use crate::limits;
use crate::metrics::CheckCounts;
use crate::results::jsonl::{self, ShardRun};
use crate::results::{charts, files, Manifest, Staging, SweepInfo};
use crate::summary::CheckTotals;
use crate::sweep::Shard;
use std::path::{Path, PathBuf};

/// What `merge` joined and where it wrote it.
#[derive(Clone, Debug)]
pub struct MergeOutcome {
    pub dir: PathBuf,
    pub shards: usize,
    pub runs: u64,
}

const EXPECTED: &str = "a shard directory";

/// Checks that `dirs` are the shards of one sweep, each once, that each
/// shard's `runs.jsonl` is the one its manifest records and holds exactly
/// its slice of the runs, each within its point's bounds, and writes the
/// whole sweep's files into `out` (replacing another command's output
/// there only with `force`). The runs stream, shard by shard, into
/// `runs.csv` and a spill that the summaries are read from, as `sweep`
/// does, so memory does not grow with the number of runs.
pub fn merge(dirs: &[PathBuf], out: &Path, force: bool, command_line: Vec<String>) -> Result<MergeOutcome> {
    crate::results::prepare_dir(out, "merge", force)?;
    let manifests = dirs.iter().map(|dir| read_manifest(dir, EXPECTED)).collect::<Result<Vec<_>>>()?;
    let order = check_shards(&manifests, dirs)?;
    let mut manifest = manifests[order[0]].clone();
    let info = manifest.sweep.as_mut().expect("checked shards have a sweep");
    info.shard = None;
    info.runs_sha256 = None;
    let info = info.clone();
    let io = |e| Error::io(out, e);
    let staging = Staging::new(out).map_err(io)?;
    let mut sink = PointSpill::create(&staging, &info).map_err(io)?;
    let (mut runs, mut checks) = (0, vec![CheckTotals::default(); info.points as usize]);
    for &i in &order {
        let in_shard = |e: Error| e.in_file(dirs[i].display().to_string());
        let jsonl = || open_output(&dirs[i], "runs.jsonl", EXPECTED);
        let mut each = |run: &ShardRun| {
            checks[run.point as usize].add(&run.checks);
            sink.write(run.point, &run.metrics).map_err(io)
        };
        runs += stream_shard(&manifests[i], jsonl, &mut each).map_err(in_shard)?;
    }
    let points = sink.finish().map_err(io)?;
    let (summaries, curves, contained) =
        stream::summarise_points(&staging, &points, &charts::cdf_points(&info)).map_err(io)?;
    staging.remove(stream::SPILL).map_err(io)?;
    let summarised =
        files::Summarised { summaries: &summaries, curves: &curves, contained: &contained, checks: &checks };
    let files = files::sweep_summary_files(&manifest.scenario_name, manifest.seed, &info, &summarised);
    manifest.command = "merge".into();
    manifest.command_line = command_line;
    manifest.first_run = 0;
    manifest.runs = runs;
    manifest.files = std::iter::once("runs.csv".to_string()).chain(files.iter().map(|(n, _)| n.clone())).collect();
    manifest.sweep = Some(info);
    staging.finish(&files, &manifest).map_err(io)?;
    Ok(MergeOutcome { dir: out.to_path_buf(), shards: order.len(), runs })
}

/// A shard's runs from its `runs.jsonl` (`open` opens it afresh), checked
/// against its manifest (which [`check_shards`] checked against the
/// others) and passed to `each` in order: the file's SHA-256 is the one
/// the manifest records (read once to check it before any line is
/// used), and line `k` is run `first_run + k` of the sweep in (point,
/// replication) order, within that point's bounds. Returns the number of
/// runs. The error names the key at fault (the manifest or `runs.jsonl`)
/// and what differs; the caller names the shard ([`Error::in_file`]).
pub fn stream_shard(
    manifest: &Manifest,
    open: impl Fn() -> Result<std::fs::File>,
    each: &mut dyn FnMut(&ShardRun) -> Result<()>,
) -> Result<u64> {
    let info = manifest.sweep.as_ref().expect("a checked shard has a sweep");
    let [index, count] = info.shard.expect("a checked shard has a shard index");
    let total = info.points * info.runs_per_point;
    let slice = Shard { index, count }.slice(total);
    let recorded = info.runs_sha256.as_deref().ok_or_else(|| {
        let missing = "sweep.runs_sha256 is missing (a shard from an earlier build of cascade); run the shard again";
        Error::key("manifest.json", missing)
    })?;
    if (manifest.first_run, manifest.runs) != (slice.start, slice.end - slice.start) {
        let expected = format!("runs {}..{} of the sweep (shard {index}/{count})", slice.start, slice.end);
        let found = format!("first_run = {}, runs = {}", manifest.first_run, manifest.runs);
        return Err(Error::key("manifest.json", format!("{found}; expected {expected}")));
    }
    let unreadable = |e: std::io::Error| Error::key("runs.jsonl", format!("cannot read ({e})"));
    if crate::results::file_hash(open()?).map_err(unreadable)? != recorded {
        let differs = "its SHA-256 is not the one its manifest records: it was edited, or copied from another shard";
        return Err(Error::key("runs.jsonl", differs));
    }
    let most = limits::runs_jsonl_line_bytes(info.checks.len());
    let mut reader = jsonl::Reader::new(std::io::BufReader::new(open()?), most);
    let mut flat = slice.start;
    while let Some(run) = reader.next_run()? {
        let (point, metrics) = (run.point, &run.metrics);
        let at = |what: String| Error::key("runs.jsonl", format!("line {}: {what}", reader.lines()));
        if flat == slice.end {
            return Err(at(format!("more runs than its manifest's {}", manifest.runs)));
        }
        let (p, r) = (flat / info.runs_per_point, flat % info.runs_per_point);
        if (point, metrics.run) != (p, r) {
            let found = format!("point {point} run {}", metrics.run);
            return Err(at(format!("{found}, expected point {p} run {r} (the shard's runs in order)")));
        }
        metrics.check(info.agents[p as usize], info.horizons[p as usize]).map_err(at)?;
        check_counts(&run.checks, &info.checks).map_err(at)?;
        each(&run)?;
        flat += 1;
    }
    if flat != slice.end {
        return Err(Error::key("runs.jsonl", format!("{} runs; its manifest says {}", reader.lines(), manifest.runs)));
    }
    Ok(manifest.runs)
}

/// Whether a run's check counts are one per check of the sweep's
/// (`checks`), in order, and add up.
fn check_counts(counts: &[CheckCounts], checks: &[(u32, String)]) -> std::result::Result<(), String> {
    let agents = |c: &CheckCounts| c.agent;
    if !counts.iter().map(agents).eq(checks.iter().map(|(a, _)| *a)) {
        let found: Vec<u32> = counts.iter().map(agents).collect();
        let expected: Vec<u32> = checks.iter().map(|(a, _)| *a).collect();
        return Err(format!("checks of agents {found:?}, expected {expected:?} (the manifest's sweep.checks)"));
    }
    counts.iter().try_for_each(CheckCounts::check)
}

/// Checks that the manifests of `dirs` belong to one sweep and cover it
/// exactly once; returns their order by shard index. The error names the
/// directory at fault, or the set when it is the set's.
pub fn check_shards(manifests: &[Manifest], dirs: &[PathBuf]) -> Result<Vec<usize>> {
    let set = |expected: String| Error::argument("DIR", expected);
    let dir = |i: usize, expected: String| Error::input(dirs[i].display().to_string(), expected);
    let Some(first) = manifests.first() else { return Err(set("expected at least one shard directory".into())) };
    let same = |m: &Manifest| {
        let (a, b) = (m.sweep.as_ref()?, first.sweep.as_ref()?);
        let sweep_matches = a.axes == b.axes
            && a.points == b.points
            && a.runs_per_point == b.runs_per_point
            && a.common_random_numbers == b.common_random_numbers
            && a.agents == b.agents
            && a.horizons == b.horizons
            && a.shard?[1] == b.shard?[1];
        Some(
            sweep_matches
                && m.scenario_sha256 == first.scenario_sha256
                && m.seed == first.seed
                && m.model_version == first.model_version,
        )
    };
    let mut order: Vec<(u64, usize)> = Vec::with_capacity(manifests.len());
    for (i, m) in manifests.iter().enumerate() {
        let Some((info, shard)) = m.sweep.as_ref().and_then(|s| Some((s, s.shard?))) else {
            return Err(dir(i, "not a shard of a sweep (no sweep.shard in its manifest)".into()));
        };
        if let Some(problem) = inconsistent(info) {
            return Err(Error::key("manifest.json", problem).in_file(dirs[i].display().to_string()));
        }
        if same(m) != Some(true) {
            let differ = "comes from a different sweep (scenario, seed, grid, runs or model version differ)";
            return Err(dir(i, format!("shard {}/{} {differ}", shard[0], shard[1])));
        }
        order.push((shard[0], i));
    }
    order.sort_unstable();
    let count = first.sweep.as_ref().and_then(|s| s.shard).map_or(0, |s| s[1]);
    let twice: Vec<u64> = order.windows(2).filter(|w| w[0].0 == w[1].0).map(|w| w[0].0).collect();
    if !twice.is_empty() {
        return Err(set(format!("expected each shard once; given twice or more: {}", listed(&twice))));
    }
    if order.len() as u64 != count {
        // `order` is sorted and has no repeats: at most its length are found before LISTED + 1 are missing.
        let given = |k: &u64| order.binary_search_by_key(k, |&(shard, _)| shard).is_ok();
        let missing: Vec<u64> = (1..=count).filter(|k| !given(k)).take(LISTED + 1).collect();
        let given = order.len();
        return Err(set(format!(
            "expected shards 1 to {count} exactly once each; {given} given, missing {}",
            listed(&missing)
        )));
    }
    Ok(order.into_iter().map(|(_, i)| i).collect())
}

/// At most this many shard numbers in an error.
const LISTED: usize = 10;

/// `numbers` as a list, cut after [`LISTED`].
fn listed(numbers: &[u64]) -> String {
    let shown: Vec<String> = numbers.iter().take(LISTED).map(u64::to_string).collect();
    let more = if numbers.len() > LISTED { ", ..." } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// What is wrong with a shard manifest's sweep, whatever the other
/// shards say: a shard index outside its count, a grid whose size is not
/// its axes', runs that overflow, points without bounds.
fn inconsistent(info: &SweepInfo) -> Option<String> {
    let [index, count] = info.shard?;
    let points: Option<u64> = info.axes.iter().try_fold(1u64, |n, a| n.checked_mul(a.values.len() as u64));
    if index == 0 || index > count {
        Some(format!("sweep.shard = [{index}, {count}], expected 1 <= index <= count"))
    } else if points != Some(info.points) {
        Some(format!("sweep.points = {}, expected the product of the axes' sizes", info.points))
    } else if info.points > limits::MAX_POINTS {
        Some(format!("sweep.points = {}, expected at most {}", info.points, limits::MAX_POINTS))
    } else if let Err(e) = crate::limits::streamed_runs("sweep.runs_per_point", info.runs_per_point, info.points, 1) {
        Some(e.to_string())
    } else if info.agents.len() as u64 != info.points || info.horizons.len() as u64 != info.points {
        Some(
            "sweep.agents and sweep.horizons must give one value per point (a shard from an earlier build of cascade?)"
                .into(),
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::SweepInfo;
    use crate::sweep::{parse_set, Grid, Shard};

    #[test]
    fn shard_sets_are_checked() {
        let grid = Grid { axes: vec![parse_set("k=1,2").unwrap()] };
        let manifest = |index: u64, count: u64| Manifest {
            tool: "cascade".into(),
            tool_version: "0".into(),
            model_version: 1,
            command: "sweep".into(),
            scenario_name: "t".into(),
            scenario_file: "t.toml".into(),
            scenario_sha256: "ab".into(),
            seed: 1,
            point: 0,
            first_run: 0,
            runs: 1,
            command_line: vec![],
            files: vec![],
            sweep: Some(SweepInfo {
                agents: vec![4, 4],
                horizons: vec![60, 60],
                ..SweepInfo::of(&grid, 5, true, Some(Shard { index, count }))
            }),
        };
        let dirs: Vec<PathBuf> = ["a", "b"].iter().map(PathBuf::from).collect();
        let check = |m: &[Manifest]| check_shards(m, &dirs).map_err(|e| e.to_string());
        assert_eq!(check(&[manifest(2, 2), manifest(1, 2)]), Ok(vec![1, 0]));
        assert!(check(&[manifest(1, 2)]).unwrap_err().starts_with("DIR: expected shards 1 to 2 exactly once"));
        assert!(check(&[manifest(1, 2), manifest(1, 2)]).is_err());
        let differ = check(&[manifest(1, 2), manifest(2, 3)]).unwrap_err();
        assert!(differ.starts_with("b: shard 2/3 comes from a different sweep"), "names the second input: {differ}");
        let mut other_seed = manifest(2, 2);
        other_seed.seed = 9;
        assert!(check(&[manifest(1, 2), other_seed]).unwrap_err().contains("different sweep"));
        let mut whole = manifest(1, 1);
        whole.sweep.as_mut().unwrap().shard = None;
        assert_eq!(check(&[whole]).unwrap_err(), "a: not a shard of a sweep (no sweep.shard in its manifest)");
        assert!(check(&[]).is_err());
        let missing = check(&[manifest(2, 40), manifest(5, 40)]).unwrap_err();
        assert_eq!(
            missing,
            "DIR: expected shards 1 to 40 exactly once each; 2 given, missing 1, 3, 4, 6, 7, 8, 9, 10, 11, 12, ..."
        );
        let twice = check(&[manifest(2, 3), manifest(2, 3), manifest(1, 3)]).unwrap_err();
        assert_eq!(twice, "DIR: expected each shard once; given twice or more: 2");
        // A forged count is not enumerated.
        assert!(check(&[manifest(1, u64::MAX), manifest(2, u64::MAX)]).unwrap_err().contains("missing 3, 4,"));
        let mut unbounded = manifest(1, 2);
        unbounded.sweep.as_mut().unwrap().agents.pop();
        assert!(check(&[unbounded, manifest(2, 2)])
            .unwrap_err()
            .starts_with("a: manifest.json: sweep.agents and sweep.horizons"));
        let mut outside = manifest(3, 2);
        outside.sweep.as_mut().unwrap().shard = Some([3, 2]);
        assert!(check(&[outside]).unwrap_err().contains("sweep.shard = [3, 2], expected 1 <= index <= count"));
        let mut wrapping = manifest(1, 2);
        wrapping.sweep.as_mut().unwrap().runs_per_point = u64::MAX;
        assert!(check(&[wrapping])
            .unwrap_err()
            .contains("sweep.runs_per_point: 18446744073709551615 runs x 2 points is more than"));
        let mut grid_size = manifest(1, 2);
        grid_size.sweep.as_mut().unwrap().points = 3;
        assert!(check(&[grid_size]).unwrap_err().contains("sweep.points = 3"));
    }
}
