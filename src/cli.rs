//! The command-line interface (clap derive). Raw flags are validated into per-command options in
//! [`crate::app`] before any work starts; a bad value fails fast naming the flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::style::ColorChoice;
use crate::report::Format;

/// Analyze V8 heap snapshots (.heapsnapshot) with Chrome DevTools' numbers.
#[derive(Debug, Parser)]
#[command(name = "heapsnap", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress display on stderr (it is shown only when stderr is a terminal anyway).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Colour table output (and error messages on a terminal): `auto` when the stream is a terminal and
    /// `NO_COLOR` is unset or empty, `always` (even under `NO_COLOR`), `never`. JSON, Markdown, NDJSON and CSV
    /// are never coloured.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per-constructor summary, totals and the Statistics view (DevTools' Summary view).
    Summary(SummaryArgs),
    /// The largest objects by retained size, with the shortest path that holds each.
    Top(TopArgs),
    /// Why an object is alive: retaining paths, dominator chain, direct retainers (DevTools' Retainers view).
    Retainers(RetainersArgs),
    /// The dominator tree, largest children first, from the root or an object.
    Tree(TreeArgs),
    /// What grew between snapshots of one process, what holds it, which leak pattern it is; CI thresholds.
    Diff(DiffArgs),
    /// Every node as NDJSON or CSV: id, type, name, self and retained size, dominator id, distance.
    Nodes(NodesArgs),
    /// Shell completions for SHELL, on standard output.
    Completions(CompletionsArgs),
    /// The man page (roff), on standard output.
    Man,
    /// A self-contained HTML report: one snapshot (Statistics, Summary, a zoomable treemap of the dominator
    /// tree, the largest objects), or a series as `diff` compares it (findings, growth charts, Comparison,
    /// treemap of the last snapshot, CI verdict and exit code).
    Report(ReportArgs),
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

/// `heapsnap top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// The snapshot (`.heapsnapshot`, `.heapsnapshot.gz`, or `-` for standard input).
    pub file: PathBuf,
    /// Show the N largest objects.
    #[arg(long, short = 'n', value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `heapsnap retainers`.
#[derive(Debug, Args)]
pub struct RetainersArgs {
    /// The snapshot (`.heapsnapshot`, `.heapsnapshot.gz`, or `-` for standard input).
    pub file: PathBuf,
    /// The object's id as DevTools shows it (`@123`, or `123`).
    #[arg(value_name = "@ID", value_parser = crate::commands::retainers::parse_node_id,
          required_unless_present = "class", conflicts_with = "class")]
    pub id: Option<u32>,
    /// Instead of an id: the largest instance (by retained size) of this class (constructor) name.
    #[arg(long, value_name = "NAME")]
    pub class: Option<String>,
    /// Show the K shortest retaining paths.
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub paths: usize,
    /// Show at most N direct retainers (the JSON `total` counts all of them).
    #[arg(long, short = 'n', value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `heapsnap tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The snapshot (`.heapsnapshot`, `.heapsnapshot.gz`, or `-` for standard input).
    pub file: PathBuf,
    /// Start at this object (`@123`) instead of the root.
    #[arg(value_name = "@ID", value_parser = crate::commands::retainers::parse_node_id)]
    pub id: Option<u32>,
    /// Levels shown below the start.
    #[arg(long, value_name = "D", default_value_t = 3)]
    pub depth: usize,
    /// Hide children retaining less than this (`1024`, `500kB`, `1MB`, `2MiB`).
    #[arg(long, value_name = "SIZE", value_parser = crate::commands::tree::parse_size, default_value = "0")]
    pub min_size: u64,
    /// Show at most N children per node (the rest are summed up in one line).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_children: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Output formats of `heapsnap nodes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NodesFormat {
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header line.
    Csv,
}

/// `heapsnap nodes`.
#[derive(Debug, Args)]
pub struct NodesArgs {
    /// The snapshot (`.heapsnapshot`, `.heapsnapshot.gz`, or `-` for standard input).
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = NodesFormat::Ndjson)]
    pub format: NodesFormat,
}

/// `heapsnap diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Two or more snapshots of one process, oldest first (with three or more: objects allocated between the
    /// first two that are still alive in the last, and growth across the series).
    #[arg(required = true, num_args = 2..)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Class rows shown in table and Markdown output (JSON has every row).
    #[arg(long, short = 'n', default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Exit 1 when METRIC>VALUE (or >=): `findings`, a class metric (`retained_delta`, `size_delta`,
    /// `delta_count`, `new_count`, `surviving_count`, `surviving_size`: the largest over classes) or
    /// `total.size_delta`, `total.new_count`, `total.alloc_size`, `total.surviving_count`,
    /// `total.surviving_size`. Sizes take units: `retained_delta>1MB`. Repeatable.
    #[arg(long, value_name = "EXPR")]
    pub fail_on: Vec<String>,
    /// JSON budget of per-class limits: {"default": {"retained_delta": "1MB"}, "classes": {"Foo": {"delta_count": 0}}}.
    #[arg(long, value_name = "FILE")]
    pub budget: Option<PathBuf>,
    /// Ignore findings and classes matching `class:REGEX` or `path:REGEX` (holder path). Repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub suppress: Vec<String>,
    /// Minimum growth in objects per step for a leak finding.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub min_count: u64,
}

/// `heapsnap completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `heapsnap report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// One snapshot, or two or more of one process, oldest first (a diff report).
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Write the report to FILE (default: standard output).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Nodes of the dominator tree embedded for the treemap (the largest subtrees first, at any depth; the
    /// other children of each node folded into one "N more" block).
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub max_nodes: usize,
    /// Rows of the Summary or Comparison table.
    #[arg(long, short = 'n', value_name = "N", default_value_t = 1000)]
    pub limit: usize,
    /// Largest objects listed (one snapshot).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub top: usize,
    /// As `diff --fail-on` (a series): exit 1 when METRIC>VALUE. Repeatable.
    #[arg(long, value_name = "EXPR")]
    pub fail_on: Vec<String>,
    /// As `diff --budget` (a series).
    #[arg(long, value_name = "FILE")]
    pub budget: Option<PathBuf>,
    /// As `diff --suppress` (a series). Repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub suppress: Vec<String>,
    /// As `diff --min-count` (a series).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub min_count: u64,
}
