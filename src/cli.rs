//! The command-line interface (clap derive). Raw flags are validated into per-command options in
//! [`crate::app`] before any work starts; a bad value fails fast naming the flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// Analyze V8 heap snapshots (.heapsnapshot) with Chrome DevTools' numbers.
#[derive(Debug, Parser)]
#[command(name = "heapsnap", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per-constructor summary, totals and the Statistics view (DevTools' Summary view).
    Summary(SummaryArgs),
}

/// Sort keys for class tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    /// Retained size (when known), descending.
    Retained,
    /// Shallow size, descending.
    Shallow,
    /// Object count, descending.
    Count,
    /// Distance, ascending.
    Distance,
    /// Class name, ascending.
    Name,
}

/// `heapsnap summary`.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// The snapshot (`.heapsnapshot`, `.heapsnapshot.gz`, or `-` for standard input).
    pub file: PathBuf,
    /// Sort rows by (default: retained when available, else shallow).
    #[arg(long, value_enum)]
    pub sort: Option<SortKey>,
    /// Show at most N rows (JSON has every row unless this is given).
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<usize>,
    /// Only classes whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}
