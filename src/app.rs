//! Dispatch of the command line to [`crate::commands`]: validated options -> library calls -> a report ->
//! rendered output. `main.rs` only parses the command line and maps the outcome to an exit code.

use std::io::Write;

use anyhow::Result;

use crate::analysis::Analysis;
use crate::cli::{Cli, Command};
use crate::commands;
use crate::snapshot::Snapshot;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ran fine.
    Ok,
    /// A CI threshold was crossed (exit 1).
    ThresholdCrossed,
}

/// Run the parsed command line, writing to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Outcome> {
    match cli.command {
        Command::Summary(a) => commands::summary::run(a, out),
    }
}

/// Load and analyse a snapshot (every DevTools pass, dominators included).
pub fn load(path: &std::path::Path) -> Result<Analysis> {
    let snap = Snapshot::open(path)?;
    Ok(Analysis::new(snap)?)
}
