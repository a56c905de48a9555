//! The library's one error type. Each kind fixes the exit code the CLI
//! gives it: bad input 2, results that could not be written 1, and the
//! two outcomes a command reports as failure (no setting met the targets,
//! a regression against a baseline) 1.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a command did not complete.
#[derive(Debug)]
pub enum Error {
    /// A file (scenario, baseline, results directory) is unreadable or
    /// malformed: `file`, the dotted `key` in it (empty for the whole
    /// file) and what was expected.
    Input { file: String, key: String, expected: String },
    /// A command-line argument is malformed: the flag and what was expected.
    Argument { flag: String, expected: String },
    /// Results could not be written to `path`.
    Io { path: PathBuf, source: io::Error },
    /// `tune`: no setting meets every target.
    NoSetting,
    /// `check`: this many metrics regressed against the baseline.
    Regression { count: usize },
    /// `check`: the scenario changed since its baseline and every metric
    /// held; accept it with `--update` (or `--compare-changed`).
    Changed { what: String },
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A whole-file input error (no key).
    pub fn input(file: impl Into<String>, expected: impl Into<String>) -> Error {
        Error::Input { file: file.into(), key: String::new(), expected: expected.into() }
    }

    /// An argument error.
    pub fn argument(flag: impl Into<String>, expected: impl Into<String>) -> Error {
        Error::Argument { flag: flag.into(), expected: expected.into() }
    }

    /// An input error about a key (or, with an empty key, the whole
    /// input) whose file the caller names with [`Error::in_file`].
    pub fn key(key: impl Into<String>, expected: impl Into<String>) -> Error {
        Error::Input { file: String::new(), key: key.into(), expected: expected.into() }
    }

    /// This error, with `file` as the input it is about when it names none.
    pub fn in_file(self, file: impl Into<String>) -> Error {
        match self {
            Error::Input { file: f, key, expected } if f.is_empty() => {
                Error::Input { file: file.into(), key, expected }
            }
            other => other,
        }
    }

    /// A write to `path` failed.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input { .. } | Error::Argument { .. } => 2,
            Error::Io { .. } | Error::NoSetting | Error::Regression { .. } => 1,
            Error::Changed { .. } => 3,
        }
    }
}

/// `text` on one line: control characters escaped (`\n`), and, past
/// `most` characters, cut in the middle: the first three quarters and the
/// last quarter kept with "..." between, so the context an error appends
/// (`(at sweep point 3: ...)`) survives a megabyte-long key. Every error
/// prints through it, so no input breaks the one-line promise.
pub fn printable(text: &str, most: usize) -> String {
    let escaped = |c: char| -> String {
        if c.is_control() {
            c.escape_default().collect()
        } else {
            c.to_string()
        }
    };
    let count = text.chars().count();
    if count <= most {
        return text.chars().map(escaped).collect();
    }
    let tail = most / 4;
    let head: String = text.chars().take(most - tail).map(escaped).collect();
    let end: String = text.chars().skip(count - tail).map(escaped).collect();
    format!("{head}...{end}")
}

/// Characters of a file, key or flag in an error (an expectation: 4 times as many).
const SHOWN: usize = 200;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let (short, long) = (|t: &str| printable(t, SHOWN), |t: &str| printable(t, 4 * SHOWN));
        match self {
            Error::Input { file, key, expected } if key.is_empty() => write!(f, "{}: {}", short(file), long(expected)),
            Error::Input { file, key, expected } => {
                write!(f, "{}: {}: {}", short(file), short(key), long(expected))
            }
            Error::Argument { flag, expected } => write!(f, "{}: {}", short(flag), long(expected)),
            Error::Io { path, source } => write!(f, "cannot write results: {}: {source}", path.display()),
            Error::NoSetting => write!(f, "no setting meets the targets"),
            Error::Regression { count } => write!(f, "{count} metric(s) regressed against the baseline"),
            Error::Changed { what } => {
                write!(f, "{what}; every metric holds: accept it with --update, or pass --compare-changed")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_exit_code_and_one_line() {
        let cases: [(Error, u8, &str); 8] = [
            (Error::key("agents[0].gain", "bad").in_file("s.toml"), 2, "s.toml: agents[0].gain: bad"),
            (Error::key("", "bad").in_file("a.toml").in_file("b.toml"), 2, "a.toml: bad"),
            (Error::input("b.toml", "cannot read it"), 2, "b.toml: cannot read it"),
            (Error::argument("--shard", "\"3/2\": expected I/N"), 2, "--shard: \"3/2\": expected I/N"),
            (Error::io("out/x", io::Error::other("disk full")), 1, "cannot write results: out/x: disk full"),
            (Error::NoSetting, 1, "no setting meets the targets"),
            (Error::Regression { count: 3 }, 1, "3 metric(s) regressed against the baseline"),
            (
                Error::Changed { what: "s.toml changed".into() },
                3,
                "s.toml changed; every metric holds: accept it with --update, or pass --compare-changed",
            ),
        ];
        for (error, code, text) in cases {
            assert_eq!((error.exit_code(), error.to_string()), (code, text.to_string()));
        }
        let hostile = Error::key(format!("sweep.a\nb{}", "k".repeat(1000)), "x\ty").in_file("s.toml").to_string();
        assert!(hostile.starts_with("s.toml: sweep.a\\nbkkk") && hostile.ends_with("kkk: x\\ty"), "{hostile}");
        assert_eq!(hostile.lines().count(), 1);
        // 150 characters kept in front (the newline escaped as two), 50 behind.
        assert_eq!(hostile.len(), "s.toml: ".len() + 151 + "...".len() + 50 + ": x\\ty".len());
        assert_eq!(printable("abcdefghij", 10), "abcdefghij");
        assert_eq!(printable("abcdefghijk", 8), "abcdef...jk");
        assert_eq!(printable("a\nbcdefghijk", 8), "a\\nbcde...jk");
        let context = printable(&format!("{} (at sweep point 3)", "k".repeat(5000)), 200);
        assert!(context.ends_with("(at sweep point 3)"), "{context}");
        assert!(std::error::Error::source(&Error::io("x", io::Error::other("y"))).is_some());
        assert!(std::error::Error::source(&Error::NoSetting).is_none());
    }
}
