//! What produced an output directory: `manifest.json`, with the tool and
//! model versions, the scenario's SHA-256, the seed, the command line and,
//! for a sweep, its grid and shard.

use crate::sweep::{self, Grid, Shard};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped whenever the model's output for the same inputs changes.
pub const MODEL_VERSION: u32 = 4;

/// What produced an output directory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    pub tool: String,
    pub tool_version: String,
    pub model_version: u32,
    pub command: String,
    pub scenario_name: String,
    pub scenario_file: String,
    pub scenario_sha256: String,
    pub seed: u64,
    pub point: u64,
    pub first_run: u64,
    pub runs: u64,
    pub command_line: Vec<String>,
    pub files: Vec<String>,
    /// The grid, for `sweep` and `merge` outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepInfo>,
}

/// A sweep's grid and slice, as recorded in its manifest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SweepInfo {
    /// Swept keys with their values as printed in the CSV columns.
    pub axes: Vec<AxisInfo>,
    pub points: u64,
    pub runs_per_point: u64,
    /// Every point uses the streams of `(seed, 0, run)` (else `(seed, point, run)`).
    pub common_random_numbers: bool,
    /// `[index, count]` (1-based) for a shard; `None` for a whole sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u64; 2]>,
    /// Each point's number of agents and horizon (µs), which bound its
    /// runs' metrics ([`crate::metrics::RunMetrics::check`]).
    #[serde(default)]
    pub agents: Vec<u32>,
    #[serde(default)]
    pub horizons: Vec<u64>,
    /// The checks (agent index and name), the same at every point; none
    /// when the scenario has no checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<(u32, String)>,
    /// A shard's `runs.jsonl`, bound to this manifest by its SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_sha256: Option<String>,
}

/// One swept key and its values.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AxisInfo {
    pub key: String,
    pub values: Vec<String>,
}

/// Hex SHA-256 of the scenario's bytes.
pub fn scenario_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The hex SHA-256 of everything `input` holds (a file, read a block at a time).
pub fn file_hash(mut input: impl std::io::Read) -> std::io::Result<String> {
    let (mut digest, mut block) = (Sha256::new(), vec![0; 64 << 10]);
    loop {
        match input.read(&mut block) {
            Ok(0) => return Ok(hex(&digest.finalize())),
            Ok(n) => digest.update(&block[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Bytes as lowercase hex, two digits each.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SweepInfo {
    /// The grid as the manifest records it.
    pub fn of(grid: &Grid, runs_per_point: u64, common_random_numbers: bool, shard: Option<Shard>) -> SweepInfo {
        SweepInfo {
            axes: grid
                .axes
                .iter()
                .map(|a| AxisInfo { key: a.key.clone(), values: a.values.iter().map(sweep::label).collect() })
                .collect(),
            points: grid.points(),
            runs_per_point,
            common_random_numbers,
            shard: shard.map(|s| [s.index, s.count]),
            agents: Vec::new(),
            horizons: Vec::new(),
            checks: Vec::new(),
            runs_sha256: None,
        }
    }

    /// The swept keys.
    pub fn keys(&self) -> Vec<String> {
        self.axes.iter().map(|a| a.key.clone()).collect()
    }

    /// Point `point`'s values as printed in the CSV columns (the same as
    /// [`Grid::labels`] of the grid it records).
    pub fn labels(&self, point: u64) -> Vec<String> {
        let sizes: Vec<usize> = self.axes.iter().map(|a| a.values.len()).collect();
        self.axes.iter().zip(sweep::coordinates(&sizes, point)).map(|(axis, i)| axis.values[i].clone()).collect()
    }

    /// Every point's labels, in point order.
    pub fn all_labels(&self) -> Vec<Vec<String>> {
        (0..self.points).map(|p| self.labels(p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_grid() {
        let mut grid = Grid::default();
        grid.set(sweep::parse_set("a=1,2,3").unwrap());
        grid.set(sweep::parse_set("b=x,y").unwrap());
        let info = SweepInfo::of(&grid, 10, true, Some(Shard { index: 2, count: 3 }));
        assert_eq!((info.points, info.shard), (6, Some([2, 3])));
        assert!((0..6).all(|p| info.labels(p) == grid.labels(p)));
        assert_eq!(info.labels(5), ["3", "y"]);
        assert_eq!(info.keys(), ["a", "b"]);
        let all = info.all_labels();
        assert_eq!((all.len(), &all[0], &all[5]), (6, &vec!["1".to_string(), "x".to_string()], &info.labels(5)));
        assert_eq!(scenario_hash(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
