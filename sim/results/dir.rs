//! Writing an output directory: every file rendered in memory, written
//! into a temporary sibling directory, then swapped in by rename, so a
//! reader sees the old complete result or the new one, never a mix, and no
//! stale file of an earlier result survives. `manifest.json` says which
//! command made a directory; a command does not replace another's output
//! unless forced. The one writer of output directories.

use super::Manifest;
use crate::error::{Error, Result};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Checks, before any computing, that `command` may write `dir`: it does
/// not exist, is empty, or holds an earlier output of the same command
/// (any command's with `force`); and that its parent is writable.
pub fn prepare_dir(dir: &Path, command: &str, force: bool) -> Result<()> {
    let name = dir.display().to_string();
    if dir.file_name().is_none() {
        return Err(Error::input(&name, "expected a directory name for the results (not . or ..)"));
    }
    if dir.exists() {
        if !dir.is_dir() {
            return Err(Error::input(&name, "exists and is not a directory; choose another --out"));
        }
        match made_by(dir) {
            Some(other) if other != command && !force => {
                return Err(Error::input(
                    &name,
                    format!("holds the output of `cascade {other}`; choose another --out, or replace it with --force"),
                ))
            }
            Some(_) => {}
            None if fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.next().is_some() => {
                return Err(Error::input(
                    &name,
                    "is not empty and holds no cascade output (no manifest.json); choose another --out",
                ))
            }
            None => {}
        }
    }
    let probe = sibling(dir, "probe");
    fs::create_dir_all(dir.parent().unwrap_or(Path::new("."))).map_err(|e| Error::io(dir, e))?;
    let _ = fs::remove_dir_all(&probe);
    fs::create_dir(&probe).and_then(|()| fs::remove_dir(&probe)).map_err(|e| Error::io(dir, e))
}

/// The command whose output `dir` holds, from its manifest.
fn made_by(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join("manifest.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(manifest.get("command")?.as_str()?.to_string())
}

/// A hidden sibling of `dir` for `purpose`, on the same file system.
fn sibling(dir: &Path, purpose: &str) -> PathBuf {
    let name = dir.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!(".{name}.{purpose}-{}", std::process::id()))
}

/// Writes `files` and `manifest.json` into a temporary sibling of `dir`,
/// then swaps it in: the old directory, if any, is renamed aside, the new
/// one renamed into place, the old one removed. A failure leaves the old
/// result as it was.
pub fn write_dir<N: AsRef<str>>(dir: &Path, files: &[(N, Vec<u8>)], manifest: &Manifest) -> io::Result<()> {
    Staging::new(dir)?.finish(files, manifest)
}

/// An output directory being written: a temporary sibling of it that
/// files stream into as they are computed, swapped in whole by
/// [`Staging::finish`]; dropped unfinished (an error, an overrun), it is
/// removed and the old result stays as it was.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    staged: PathBuf,
    finished: bool,
}

impl Staging {
    /// An empty staging directory for `dir` (any left by an earlier
    /// process of the same id removed).
    pub fn new(dir: &Path) -> io::Result<Staging> {
        let staged = sibling(dir, "new");
        let _ = fs::remove_dir_all(&staged);
        remove_abandoned(dir);
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        fs::create_dir(&staged)?;
        Ok(Staging { dir: dir.to_path_buf(), staged, finished: false })
    }

    /// A new file `name` in the staging directory, buffered.
    pub fn create(&self, name: &str) -> io::Result<io::BufWriter<fs::File>> {
        Ok(io::BufWriter::with_capacity(1 << 16, fs::File::create(self.staged.join(name))?))
    }

    /// A staged file read back, buffered.
    pub fn open(&self, name: &str) -> io::Result<io::BufReader<fs::File>> {
        Ok(io::BufReader::with_capacity(1 << 16, fs::File::open(self.staged.join(name))?))
    }

    /// Removes a staged file that is not part of the result (a spill).
    pub fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.staged.join(name))
    }

    /// Writes `files` and `manifest.json` beside what was streamed, then
    /// swaps the staging directory in for `dir`.
    pub fn finish<N: AsRef<str>>(mut self, files: &[(N, Vec<u8>)], manifest: &Manifest) -> io::Result<()> {
        let mut json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
        json.push(b'\n');
        for (name, bytes) in files.iter().map(|(n, b)| (n.as_ref(), b.as_slice())).chain([("manifest.json", &json[..])])
        {
            fs::write(self.staged.join(name), bytes)?;
        }
        swap(&self.staged, &self.dir)?;
        self.finished = true;
        Ok(())
    }
}

/// Removes staging siblings of `dir` left by processes that no longer
/// exist (killed while streaming runs, they can be large). Where the
/// system has no `/proc`, nothing is removed; a live process's staging
/// (another writer of the same directory) is never touched.
fn remove_abandoned(dir: &Path) {
    let (Some(name), Some(parent)) = (dir.file_name(), dir.parent()) else { return };
    let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{}.new-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let pid = file_name.strip_prefix(&prefix).and_then(|pid| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_dir_all(&self.staged);
        }
    }
}

fn swap(staged: &Path, dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        return fs::rename(staged, dir);
    }
    let old = sibling(dir, "old");
    let _ = fs::remove_dir_all(&old);
    fs::rename(dir, &old)?;
    if let Err(e) = fs::rename(staged, dir) {
        let _ = fs::rename(&old, dir);
        return Err(e);
    }
    fs::remove_dir_all(&old)
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

    fn manifest(command: &str) -> Manifest {
        Manifest {
            tool: "cascade".into(),
            tool_version: "0".into(),
            model_version: MODEL_VERSION,
            command: command.into(),
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
        }
    }

    #[test]
    fn write_dir_replaces_the_whole_directory() {
        let root = std::env::temp_dir().join(format!("cascade-out-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dir = root.join("res");
        let two = [("a.csv", b"1\n".to_vec()), ("b.png", b"png".to_vec())];
        write_dir(&dir, &two, &manifest("sweep")).unwrap();
        assert_eq!(fs::read(dir.join("a.csv")).unwrap(), b"1\n");
        assert!(fs::read_to_string(dir.join("manifest.json")).unwrap().contains("\"command\": \"sweep\""));
        // A run may not replace a sweep's directory unless forced...
        let refused = prepare_dir(&dir, "run", false).unwrap_err().to_string();
        assert!(
            refused.ends_with("holds the output of `cascade sweep`; choose another --out, or replace it with --force")
        );
        prepare_dir(&dir, "run", true).unwrap();
        prepare_dir(&dir, "sweep", false).unwrap();
        // ...and then nothing of the sweep's survives.
        write_dir(&dir, &[("a.csv", b"2\n".to_vec())], &manifest("run")).unwrap();
        assert_eq!(fs::read(dir.join("a.csv")).unwrap(), b"2\n");
        assert!(!dir.join("b.png").exists(), "no stale file");
        // A failed write leaves the old result whole and no staging behind.
        let bad = [("no-such-dir/c.csv", b"x".to_vec())];
        assert!(write_dir(&dir, &bad, &manifest("run")).is_err());
        assert_eq!(fs::read(dir.join("a.csv")).unwrap(), b"2\n");
        let names: Vec<String> =
            fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, ["res"], "no temporary sibling left");
        // A directory of someone else's files is never a destination.
        let mine = root.join("mine");
        fs::create_dir_all(&mine).unwrap();
        fs::write(mine.join("notes.txt"), "keep").unwrap();
        for force in [false, true] {
            let e = prepare_dir(&mine, "run", force).unwrap_err().to_string();
            assert!(e.contains("is not empty and holds no cascade output"), "{e}");
        }
        assert!(prepare_dir(Path::new("."), "run", false).unwrap_err().to_string().contains("directory name"));
        let file = root.join("file");
        fs::write(&file, "x").unwrap();
        assert!(prepare_dir(&file, "run", false).unwrap_err().to_string().contains("is not a directory"));
        assert!(prepare_dir(&file.join("sub"), "run", false).is_err(), "its parent cannot be made");
        // A staging directory abandoned by a process that no longer exists
        // is removed; one of a live process is not.
        let (dead, live) = (root.join(".res.new-4294967295"), root.join(".res.new-1"));
        fs::create_dir_all(&dead).unwrap();
        fs::create_dir_all(&live).unwrap();
        drop(Staging::new(&dir).unwrap());
        assert!(!dead.exists() && live.exists());
        fs::remove_dir_all(&live).unwrap();
        write_file(&dir.join("a.csv"), b"3\n").unwrap();
        assert_eq!(fs::read(dir.join("a.csv")).unwrap(), b"3\n", "replaced whole");
        assert!(write_file(&dir.join("no-such-dir/b.csv"), b"x").is_err());
        fs::remove_dir_all(&root).unwrap();
    }
}
