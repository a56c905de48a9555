//! The module boundaries ARCHITECTURE.md states, held by a scan of the
//! source: which modules each module may name (`crate::x` in its code,
//! comments and test modules aside), that results never reach execution,
//! and that only the application layer, the results layer's directory
//! writer and the CLI touch the filesystem or the process environment.
//!
//! A new module must be given its place here before this test passes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Each library module and the modules it may import, lowest layer first.
const LAYERS: &[(&str, &[&str])] = &[
    // The one error type, which every layer above the scenario reports in.
    ("error", &[]),
    ("time", &[]),
    // Limits on every input, which the layers that read inputs check.
    ("limits", &["error"]),
    // The samplers and the streams they draw from are one layer.
    ("ziggurat", &["rng"]),
    ("rng", &["ziggurat"]),
    ("dist", &["rng", "time", "ziggurat"]),
    ("mitigation", &["dist", "error", "rng", "time"]),
    ("model", &["dist", "mitigation", "time"]),
    ("topology", &["model", "rng"]),
    ("scenario", &["dist", "error", "limits", "mitigation", "model", "time", "topology"]),
    ("import", &["dist", "error", "limits", "model", "time"]),
    ("metrics", &["model", "time"]),
    ("engine", &["dist", "limits", "metrics", "mitigation", "model", "rng", "time", "topology"]),
    ("summary", &["metrics"]),
    ("sweep", &["error", "limits", "metrics", "model", "scenario", "summary"]),
    ("runner", &["engine", "metrics", "model", "rng", "sweep", "topology"]),
    ("paired", &["metrics", "summary"]),
    ("tune", &["error", "metrics", "summary"]),
    ("results", &["engine", "error", "import", "metrics", "model", "paired", "summary", "sweep", "time", "tune"]),
    ("check", &["error", "limits", "metrics", "results", "scenario", "summary"]),
    ("bundled", &[]),
    (
        "app",
        &[
            "bundled", "check", "error", "import", "limits", "metrics", "model", "paired", "results", "runner",
            "scenario", "summary", "sweep", "time", "tune",
        ],
    ),
];

/// Files that may read or write files and the environment.
const FILESYSTEM: &[&str] = &["app/", "results/dir.rs", "main.rs", "cli/"];

fn sim() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sim")
}

/// Every `.rs` file under `dir`, as paths relative to `sim/`.
fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.strip_prefix(sim()).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
}

/// A file's code: test modules (by convention at the end, after
/// `#[cfg(test)]`, or in `tests.rs` / `tests/` files) and comments removed.
fn code(file: &str) -> String {
    if file.ends_with("tests.rs") || file.contains("/tests/") {
        return String::new();
    }
    let text = fs::read_to_string(sim().join(file)).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap();
    text.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n")
}

/// The module a file belongs to: its first path segment.
fn module(file: &str) -> &str {
    file.split('/').next().unwrap().trim_end_matches(".rs")
}

/// The `crate::x` modules a piece of code names, `crate::{x, y::z}` too.
fn named(code: &str) -> BTreeSet<String> {
    let word =
        |s: &str| -> String { s.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect() };
    let mut modules = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + 7..];
        match rest.strip_prefix('{') {
            Some(group) => modules.extend(top_level(&group[..closing(group)]).map(word)),
            None => {
                modules.insert(word(rest));
            }
        }
    }
    modules.retain(|m| !m.is_empty() && m != "self");
    modules
}

/// Where the `{...}` group whose opening brace came just before `text` ends.
fn closing(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// The comma-separated items of a `{...}` group at its own nesting level
/// (so `a, b::{c, d}` gives `a` and `b::{c, d}`).
fn top_level(group: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0;
    let mut start = 0;
    let mut items = Vec::new();
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items.into_iter()
}

/// The engine's output types, which the results layer may read.
const ENGINE_DATA: &[&str] = &["TraceRow", "TraceKind", "Detail", "Message", "Record", "Replayed"];

fn files() -> Vec<String> {
    let mut files = Vec::new();
    sources(&sim(), &mut files);
    files.sort();
    files
}

#[test]
fn every_module_imports_only_what_its_layer_allows() {
    let mut violations = Vec::new();
    for file in files() {
        let module = module(&file);
        if matches!(module, "lib" | "main" | "cli") {
            continue;
        }
        let Some((_, allowed)) = LAYERS.iter().find(|(m, _)| *m == module) else {
            violations.push(format!("{file}: module `{module}` has no place in LAYERS"));
            continue;
        };
        for used in named(&code(&file)) {
            if used != module && !allowed.contains(&used.as_str()) {
                violations.push(format!("{file}: `{module}` may not import `crate::{used}`"));
            }
        }
    }
    assert!(violations.is_empty(), "boundaries crossed:\n{}", violations.join("\n"));
}

#[test]
fn every_library_module_has_a_layer() {
    let lib = fs::read_to_string(sim().join("lib.rs")).unwrap();
    let declared: BTreeSet<&str> =
        lib.lines().filter_map(|l| l.strip_prefix("pub mod ")).map(|m| m.trim_end_matches(';')).collect();
    let layered: BTreeSet<&str> = LAYERS.iter().map(|(m, _)| *m).collect();
    assert_eq!(declared, layered, "lib.rs's modules and LAYERS differ");
}

#[test]
fn the_layers_form_no_cycle_but_rng_and_its_samplers() {
    // Depth-first over LAYERS: a module may only import modules listed
    // before it, except the one stated pair.
    for (i, (module, allowed)) in LAYERS.iter().enumerate() {
        for used in *allowed {
            let position = LAYERS.iter().position(|(m, _)| m == used).unwrap_or_else(|| panic!("{used} unlisted"));
            let pair = (*module, *used) == ("ziggurat", "rng");
            assert!(position < i || pair, "{module} imports {used}, which comes after it");
        }
    }
}

#[test]
fn results_never_reach_execution_and_the_engine_knows_no_files() {
    for file in files() {
        let code = code(&file);
        if module(&file) == "results" {
            assert!(!code.contains("Engine") && !code.contains("crate::runner"), "{file} runs something");
            for (i, _) in code.match_indices("crate::engine::") {
                let rest = &code[i + 15..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => top_level(&group[..closing(group)]).map(str::trim).collect(),
                    None => vec![rest.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').next().unwrap()],
                };
                for name in names.into_iter().filter(|n| !n.is_empty()) {
                    assert!(ENGINE_DATA.contains(&name), "{file} uses crate::engine::{name}, not an output type");
                }
            }
        }
        if module(&file) == "engine" {
            for word in ["std::fs", "std::io", "std::env", "println!", "eprintln!"] {
                assert!(!code.contains(word), "{file} uses {word}: the engine knows no files or terminal");
            }
        }
    }
}

#[test]
fn only_the_application_the_directory_writer_and_the_cli_touch_files() {
    for file in files() {
        if FILESYSTEM.iter().any(|allowed| file.starts_with(allowed)) {
            continue;
        }
        let code = code(&file);
        for word in
            ["std::fs", "fs::", "File::", "std::env::args", "env::var", ".exists()", "metadata(", "std::process"]
        {
            assert!(!code.contains(word), "{file} uses {word}; only {FILESYSTEM:?} may");
        }
    }
}

#[test]
fn the_scan_sees_imports_and_ignores_comments() {
    let code = "use crate::engine::Engine; // crate::app\nlet x = crate::summary::summarize(&runs);\n\
                use crate::{metrics::{self, Metric}, sweep};";
    let stripped: String = code.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
    let expected: BTreeSet<String> = ["engine", "metrics", "summary", "sweep"].iter().map(|s| s.to_string()).collect();
    assert_eq!(named(&stripped), expected);
    assert_eq!(module("engine/queue.rs"), "engine");
    assert_eq!(module("sweep.rs"), "sweep");
}
