//! Writing an output directory: every file rendered in memory, then
//! written as `NAME.partial` and renamed into place; `manifest.json`,
//! written last, is what marks a directory as complete. The one writer of
//! output directories.

use super::Manifest;
use std::fs;
use std::io;
use std::path::Path;

/// Writes `files` then `manifest.json` into `dir`, each through a
/// `.partial` file renamed into place. An old manifest is removed first, so
/// a directory whose write fails never looks complete.
pub fn write_dir<N: AsRef<str>>(dir: &Path, files: &[(N, Vec<u8>)], manifest: &Manifest) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let manifest_path = dir.join("manifest.json");
    if manifest_path.exists() {
        fs::remove_file(&manifest_path)?;
    }
    let mut json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
    json.push(b'\n');
    let all =
        files.iter().map(|(name, bytes)| (name.as_ref(), bytes.as_slice())).chain([("manifest.json", json.as_slice())]);
    for (name, bytes) in all {
        write_file(&dir.join(name), bytes)?;
    }
    Ok(())
}

/// Writes one file whole: `NAME.partial`, then renamed over `path`, so a
/// reader sees the old file or the new one, never a part.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let result = fs::write(&partial, bytes).and_then(|()| fs::rename(&partial, path));
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{scenario_hash, MODEL_VERSION};

    #[test]
    fn write_dir_replaces_atomically() {
        let dir = std::env::temp_dir().join(format!("cascade-out-{}", std::process::id()));
        let manifest = Manifest {
            tool: "cascade".into(),
            tool_version: "0".into(),
            model_version: MODEL_VERSION,
            command: "run".into(),
            scenario_name: "x".into(),
            scenario_file: "x.toml".into(),
            scenario_sha256: scenario_hash(b"x"),
            seed: 1,
            point: 0,
            first_run: 0,
            runs: 1,
            command_line: vec![],
            files: vec!["a.csv".into()],
            sweep: None,
        };
        write_dir(&dir, &[("a.csv", b"1\n".to_vec())], &manifest).unwrap();
        assert_eq!(fs::read(dir.join("a.csv")).unwrap(), b"1\n");
        assert!(fs::read_to_string(dir.join("manifest.json"))
            .unwrap()
            .contains(&format!("\"model_version\": {MODEL_VERSION}")));
        assert!(!dir.join("a.csv.partial").exists());
        write_file(&dir.join("a.csv"), b"2\n").unwrap();
        assert_eq!(fs::read(dir.join("a.csv")).unwrap(), b"2\n", "replaced whole");
        assert!(write_file(&dir.join("no-such-dir/b.csv"), b"x").is_err());
        assert!(!dir.join("no-such-dir").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
