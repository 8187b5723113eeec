//! Dispatch of the command line to [`crate::commands`]: validated options -> library calls -> a report ->
//! rendered output. `main.rs` only parses the command line and maps the outcome to an exit code.

use std::io::Write;

use anyhow::Result;

use crate::analysis::Analysis;
use crate::cli::{Cli, Command};
use crate::commands;
use crate::devtools::classes::InterfaceDefinition;
use crate::snapshot::Snapshot;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ran fine.
    Ok,
    /// A CI threshold was crossed (exit 1).
    ThresholdCrossed,
}

static EXITING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Declare that the process exits right after [`run`] returns (the binary does; tests and library users do
/// not): large analyses are then left to the operating system instead of being freed one allocation at a time.
pub fn exit_after_run() {
    EXITING.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Drop `value`, or, when the process is about to exit ([`exit_after_run`]), leave its memory to the operating
/// system: freeing a gigabyte of columns page by page takes a tenth of a second or more that nobody needs.
pub fn dispose<T>(value: T) {
    if EXITING.load(std::sync::atomic::Ordering::Relaxed) {
        std::mem::forget(value);
    } else {
        drop(value);
    }
}

/// Run the parsed command line, writing to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Outcome> {
    if let Command::Top(crate::cli::TopArgs { format, .. })
    | Command::Retainers(crate::cli::RetainersArgs { format, .. })
    | Command::Tree(crate::cli::TreeArgs { format, .. }) = &cli.command
    {
        anyhow::ensure!(
            *format != crate::report::Format::Html,
            "--format html: only `summary`, `diff` and `report` write HTML"
        );
    }
    match cli.command {
        Command::Summary(a) => commands::summary::run(a, out),
        Command::Top(a) => commands::top::run(a, out),
        Command::Retainers(a) => commands::retainers::run(a, out),
        Command::Tree(a) => commands::tree::run(a, out),
        Command::Nodes(a) => commands::nodes::run(a, out),
        Command::Diff(a) => commands::diff::run(a, out),
        Command::Report(a) => commands::report::run(a, out),
        Command::Completions(a) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(a.shell, &mut cmd, "heapsnap", out);
            Ok(Outcome::Ok)
        }
        Command::Man(a) => {
            crate::man::run(&a, out)?;
            Ok(Outcome::Ok)
        }
        Command::Record(a) => crate::record::command(*a, out),
        Command::Schema(a) => {
            let text = crate::schema::text_for_command(&a.command).expect("clap checked the name");
            out.write_all(text.as_bytes())?;
            Ok(Outcome::Ok)
        }
    }
}

/// Load and analyse a snapshot (every DevTools pass, dominators included).
pub fn load(path: &std::path::Path) -> Result<Analysis> {
    load_with(path, None)
}

/// Load and analyse a snapshot for `summary` ([`Analysis::for_summary`]). Errors name the file.
pub fn load_for_summary(path: &std::path::Path) -> Result<Analysis> {
    let snap = Snapshot::open(path)?;
    Analysis::for_summary(snap).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Load and analyse a snapshot, leaving the distances to their first use ([`Analysis::without_distances`]).
/// Errors name the file.
pub fn load_without_distances(path: &std::path::Path) -> Result<Analysis> {
    let snap = Snapshot::open(path)?;
    Analysis::without_distances(snap).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Load and analyse a snapshot, all but the classification ([`Analysis::unclassified`]). Errors name the file.
pub fn load_unclassified(path: &std::path::Path) -> Result<Analysis> {
    let snap = Snapshot::open(path)?;
    Analysis::unclassified(snap).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Load and analyse a snapshot, classifying plain objects with `interfaces` (see
/// [`Analysis::with_interfaces`]). Errors name the file.
pub fn load_with(path: &std::path::Path, interfaces: Option<&[InterfaceDefinition]>) -> Result<Analysis> {
    let snap = Snapshot::open(path)?;
    Analysis::with_interfaces(snap, interfaces).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
