//! `cascade import otel`: a scenario from OpenTelemetry traces.

use super::Scenario;
use crate::error::{Error, Result};
use crate::import::{infer::System, write, Import};
use crate::limits;
use crate::results::dir;
use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::PathBuf;

/// What `import otel` takes.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// OTLP JSON files (`-`: standard input).
    pub files: Vec<PathBuf>,
    /// The scenario file to write.
    pub out: PathBuf,
    /// The scenario's name (default: the output file's stem).
    pub name: Option<String>,
    /// Replace `out` if it exists.
    pub force: bool,
}

/// What `import otel` wrote.
#[derive(Clone, Debug)]
pub struct ImportOutcome {
    pub out: PathBuf,
    pub system: System,
}

/// Reads every file, infers the system, checks the scenario as
/// `cascade validate` would, and only then writes it.
pub fn import_otel(options: &ImportOptions) -> Result<ImportOutcome> {
    if options.files.is_empty() {
        return Err(Error::argument("FILE", "at least one OTLP JSON file"));
    }
    if options.out.exists() && !options.force {
        return Err(Error::argument(
            "--out",
            format!("a file that does not exist yet ({} does; --force replaces it)", options.out.display()),
        ));
    }
    let name = match &options.name {
        Some(name) => {
            limits::id(name).map_err(|e| Error::argument("--name", e))?;
            name.clone()
        }
        None => {
            let stem = options.out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            write::id(&stem, &mut BTreeSet::new())
        }
    };
    let mut import = Import::default();
    for path in &options.files {
        let label = path.display().to_string();
        if label == "-" {
            import.read("<stdin>", &mut std::io::stdin().lock())?;
            continue;
        }
        let file = std::fs::File::open(path).map_err(|e| Error::input(&label, format!("cannot be read: {e}")))?;
        import.read(&label, &mut BufReader::with_capacity(1 << 20, file))?;
    }
    let imported = import.finish(&name)?;
    let out = options.out.display().to_string();
    let invalid = |e: Error| {
        Error::input(
            &out,
            format!("the imported scenario does not validate, a bug in the importer (please report it): {e}"),
        )
    };
    let scenario = Scenario::from_text(&out, imported.text.clone()).map_err(invalid)?;
    super::validate::validate(&scenario, limits::EVENTS_PER_RUN).map_err(invalid)?;
    dir::write_file(&options.out, imported.text.as_bytes()).map_err(|e| Error::io(&options.out, e))?;
    Ok(ImportOutcome { out: options.out.clone(), system: imported.system })
}
