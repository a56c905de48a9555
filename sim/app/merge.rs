//! `cascade merge`: the shard directories of one sweep joined into the
//! files one machine would have written.

use super::{read_manifest, read_output, write};
use crate::error::{Error, Result};
use crate::results::{files, jsonl, Manifest};
use crate::sweep;
use std::path::{Path, PathBuf};

/// What `merge` joined and where it wrote it.
#[derive(Clone, Debug)]
pub struct MergeOutcome {
    pub dir: PathBuf,
    pub shards: usize,
    pub runs: u64,
}

const EXPECTED: &str = "a shard directory";

/// Checks that `dirs` are the shards of one sweep, each once, and writes
/// the whole sweep's files into `out` (replacing another command's output
/// there only with `force`).
pub fn merge(dirs: &[PathBuf], out: &Path, force: bool, command_line: Vec<String>) -> Result<MergeOutcome> {
    crate::results::prepare_dir(out, "merge", force)?;
    let manifests = dirs.iter().map(|dir| read_manifest(dir, EXPECTED)).collect::<Result<Vec<_>>>()?;
    let order = check_shards(&manifests, dirs)?;
    let mut results = Vec::new();
    for &i in &order {
        let dir = &dirs[i];
        let part = jsonl::parse_jsonl(&read_output(dir, "runs.jsonl", EXPECTED)?)
            .map_err(|e| e.in_file(dir.display().to_string()))?;
        if part.len() as u64 != manifests[i].runs {
            return Err(Error::input(
                dir.display().to_string(),
                format!("runs.jsonl has {} runs; its manifest says {}", part.len(), manifests[i].runs),
            ));
        }
        results.extend(part);
    }
    let mut manifest = manifests[order[0]].clone();
    let info = manifest.sweep.as_mut().expect("checked shards have a sweep");
    info.shard = None;
    let info = info.clone();
    if results.len() as u64 != info.points * info.runs_per_point {
        return Err(Error::argument(
            "DIR",
            format!("the shards hold {} runs; the sweep has {}", results.len(), info.points * info.runs_per_point),
        ));
    }
    let per_point = sweep::per_point(info.points, &results);
    let summaries = sweep::summaries(&per_point);
    let files = files::sweep_files(&manifest.scenario_name, manifest.seed, &info, &results, &per_point, &summaries);
    manifest.command = "merge".into();
    manifest.command_line = command_line;
    manifest.first_run = 0;
    manifest.runs = results.len() as u64;
    manifest.files = files.iter().map(|(n, _)| n.to_string()).collect();
    write(out, &files, &manifest)?;
    Ok(MergeOutcome { dir: out.to_path_buf(), shards: order.len(), runs: results.len() as u64 })
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
        let Some(shard) = m.sweep.as_ref().and_then(|s| s.shard) else {
            return Err(dir(i, "not a shard of a sweep (no sweep.shard in its manifest)".into()));
        };
        if same(m) != Some(true) {
            let differ = "comes from a different sweep (scenario, seed, grid, runs or model version differ)";
            return Err(dir(i, format!("shard {}/{} {differ}", shard[0], shard[1])));
        }
        order.push((shard[0], i));
    }
    order.sort_unstable();
    let count = first.sweep.as_ref().and_then(|s| s.shard).map_or(0, |s| s[1]);
    let indices: Vec<u64> = order.iter().map(|(k, _)| *k).collect();
    if indices != (1..=count).collect::<Vec<_>>() {
        return Err(set(format!("expected shards 1 to {count} exactly once each, got {indices:?}")));
    }
    Ok(order.into_iter().map(|(_, i)| i).collect())
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
            sweep: Some(SweepInfo::of(&grid, 5, true, Some(Shard { index, count }))),
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
    }
}
