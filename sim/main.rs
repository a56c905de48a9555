//! The `cascade` command line: parse the arguments (`cli::args`), resolve
//! the scenario, call the library's application layer (`cascade::app`),
//! print (`cli::print`), and turn the outcome into an exit code: 0
//! success, 1 results not written or a command's failure (no setting met
//! the targets, a regression), 2 bad input.

mod cli;

use cascade::app::{self, Progress, Scenario};
use cascade::Error;
use clap::{CommandFactory, Parser};
use cli::args::{Cli, Command, Format, ImportCommand};
use cli::print;
use std::process::ExitCode;

/// A progress bar on stderr, shown for 100 runs or more unless `--quiet`.
struct Bar {
    bar: indicatif::ProgressBar,
    quiet: bool,
}

impl Bar {
    fn new(quiet: bool) -> Bar {
        let bar = indicatif::ProgressBar::hidden();
        let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {per_sec}  eta {eta}")
            .expect("static template");
        bar.set_style(style);
        Bar { bar, quiet }
    }
}

impl Progress for Bar {
    fn planned(&self, runs: u64) {
        self.bar.set_length(runs);
        if !self.quiet && runs >= 100 && self.bar.is_hidden() {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    }

    fn done(&self, runs: u64) {
        self.bar.set_position(runs);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

fn execute(command: Command, quiet: bool) -> Result<(), Error> {
    match command {
        Command::Run(args) => {
            let scenario = Scenario::resolve(&args.shared.scenario.scenario)?;
            let options = args.options();
            let outcome = app::run::run(&scenario, &options, &Bar::new(quiet))?;
            match args.format {
                Format::Json => print::run_json(&scenario, options.common.seed, &outcome),
                Format::Table if !quiet => print::run(&scenario, &options.paired_off, &outcome),
                Format::Table => {}
            }
        }
        Command::Replay(args) => {
            let scenario = Scenario::resolve(&args.scenario.scenario)?;
            let outcome = app::replay::replay(&scenario, &args.options())?;
            if !quiet {
                print::replay(&scenario, args.run, &outcome);
            }
        }
        Command::Sweep(args) => {
            let scenario = Scenario::resolve(&args.shared.scenario.scenario)?;
            let options = args.options()?;
            let outcome = app::sweep::sweep(&scenario, &options, &Bar::new(quiet))?;
            match args.format {
                Format::Json => print::sweep_json(&scenario, options.common.seed, &outcome),
                Format::Table if !quiet => print::sweep(&scenario, &outcome),
                Format::Table => {}
            }
        }
        Command::Merge(args) => {
            let outcome = app::merge::merge(&args.dirs, &args.out, args.force, std::env::args().collect())?;
            if !quiet {
                print::merge(&outcome);
            }
        }
        Command::Tune(args) => {
            let scenario = Scenario::resolve(&args.shared.scenario.scenario)?;
            let options = args.options()?;
            let outcome = app::tune::tune(&scenario, &options, &Bar::new(quiet))?;
            match args.format {
                Format::Json => print::tune_json(&scenario, &options, &outcome),
                Format::Table if !quiet => print::tune(&outcome, &options.targets),
                Format::Table => {}
            }
            if outcome.best.is_none() {
                return Err(Error::NoSetting);
            }
        }
        Command::Check(args) => {
            let scenario = Scenario::resolve(&args.scenario.scenario)?;
            let options = args.options();
            let outcome = app::check::check(&scenario, &options)?;
            if !quiet || args.format == Format::Json {
                print::check(&outcome, args.format);
            }
            if let Some(path) = app::check::write(&outcome, &options)? {
                eprintln!("baseline written: {}", path.display());
            } else if outcome.failures() > 0 {
                if let Some(changed) = &outcome.changed {
                    eprintln!("note: {changed}");
                }
                return Err(Error::Regression { count: outcome.failures() });
            } else if let Some(changed) = outcome.changed.clone().filter(|_| !options.compare_changed) {
                return Err(Error::Changed { what: changed });
            }
        }
        Command::Import(ImportCommand::Otel(args)) => {
            let outcome = app::import::import_otel(&args.options())?;
            if !quiet {
                print::import(&outcome);
            }
        }
        Command::Validate(args) => {
            let scenario = Scenario::resolve(&args.scenario.scenario)?;
            let validation = app::validate::validate(&scenario, args.events.max_events)?;
            if !quiet {
                print::validate(&scenario, &validation);
            }
        }
        Command::List => print::list(&app::bundled_list()),
        Command::Show(args) => print!("{}", app::bundled_text(&args.name)?),
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "cascade", &mut std::io::stdout());
        }
        Command::Man(args) => man(args.command.as_deref())?,
    }
    Ok(())
}

/// The man page of `cascade`, or of one of its commands (`cascade-run(1)`).
fn man(command: Option<&str>) -> Result<(), Error> {
    let mut cli = Cli::command();
    cli.build();
    let page = match command {
        None => cli,
        Some(name) => {
            let names: Vec<String> = cli.get_subcommands().map(|c| c.get_name().to_string()).collect();
            let sub = cli.find_subcommand(name).cloned().ok_or_else(|| {
                Error::argument("COMMAND", format!("\"{name}\": expected one of {}", names.join(", ")))
            })?;
            let page_name = format!("cascade-{name}");
            sub.name(page_name).version(env!("CARGO_PKG_VERSION"))
        }
    };
    clap_mangen::Man::new(page).render(&mut std::io::stdout()).map_err(|e| Error::io("stdout", e))
}

/// Writing to a closed pipe (`cascade list | head -3`) ends the process
/// quietly, as it does other Unix tools, instead of panicking in
/// `println!`: Rust ignores SIGPIPE by default, this restores it.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread exists;
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    match execute(cli.command, cli.quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
