//! The command-line interface (clap derive). Raw flags are validated into per-command options in
//! [`crate::app`] before any work starts; a bad value fails fast naming the flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::report::style::ColorChoice;
use crate::report::Format;

/// A count that must be at least 1 (`top -n 0` would print nothing and look like an empty heap).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// The help heading of the options every subcommand takes.
const GLOBAL: &str = "Global options";

/// Analyze V8 heap snapshots (.heapsnapshot) with Chrome DevTools' numbers.
#[derive(Debug, Parser)]
#[command(name = "heapsnap", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Worker threads (default: all cores).
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress display on stderr (it is shown only when stderr is a terminal anyway).
    #[arg(long, short = 'q', global = true, help_heading = GLOBAL)]
    pub quiet: bool,
    /// Colour table output (and error messages on a terminal): `auto` when the stream is a terminal and
    /// `NO_COLOR` is unset or empty, `always` (even under `NO_COLOR`), `never`. JSON, Markdown, NDJSON and CSV
    /// are never coloured.
    #[arg(long, global = true, help_heading = GLOBAL, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Fit tables and text to N columns (`0`: no limit). Default: `COLUMNS`, else the terminal's width, else
    /// no limit when the output is not a terminal. Markdown and JSON are never shortened.
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "N")]
    pub width: Option<usize>,
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
    /// Man pages (roff): heapsnap's, or one subcommand's, on standard output; or every page into a directory.
    Man(ManArgs),
    /// Start (or attach to) a program, drive a workload, take the snapshots over the inspector, then `diff` them.
    Record(Box<RecordArgs>),
    /// A self-contained HTML report: one snapshot (Statistics, Summary, a zoomable treemap of the dominator
    /// tree, the largest objects), or a series as `diff` compares it (findings, growth charts, Comparison,
    /// treemap of the last snapshot, CI verdict and exit code).
    Report(ReportArgs),
    /// The JSON Schema of a command's `--format json` output (for tools; docs/json.md), on standard output.
    #[command(hide = true)]
    Schema(SchemaArgs),
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
    /// Show the N largest objects (at least 1).
    #[arg(long, short = 'n', value_name = "N", default_value_t = 20, value_parser = at_least_one)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `heapsnap retainers`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("object").required(true).args(["id", "class"]))]
pub struct RetainersArgs {
    /// The snapshot (`.heapsnapshot`, `.heapsnapshot.gz`, or `-` for standard input).
    pub file: PathBuf,
    /// The object's id as DevTools shows it (`@123`, or `123`); or give `--class NAME` instead.
    #[arg(value_name = "@ID", value_parser = crate::commands::retainers::parse_node_id, group = "object")]
    pub id: Option<u32>,
    /// Instead of an id: the largest instance (by retained size) of this class (constructor): its name as
    /// `summary` shows it, a unique prefix of it (`{users, auth` for a long `{users, authSessions, …}`), or
    /// its class key. Close names are suggested when nothing matches.
    #[arg(long, value_name = "NAME", group = "object")]
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
    /// The first snapshot of one process (`.heapsnapshot`, `.heapsnapshot.gz`, `.heaptimeline`, `-`).
    pub before: PathBuf,
    /// A later snapshot of the same process.
    pub after: PathBuf,
    /// Later snapshots still, oldest first: with three or more, objects allocated between the first two that
    /// are still alive in the last, and growth across the series.
    pub later: Vec<PathBuf>,
    /// The report and CI options (shared with `heapsnap record`).
    #[command(flatten)]
    pub options: DiffFlags,
}

/// The options of `heapsnap diff` besides the files: report format and CI thresholds (also `heapsnap record`'s).
#[derive(Debug, Args)]
pub struct DiffFlags {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Class rows shown in table and Markdown output (JSON has every row).
    #[arg(long, short = 'n', default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// The CI checks and the findings' thresholds (shared with `heapsnap report`).
    #[command(flatten)]
    pub checks: CheckFlags,
    /// Show each finding's full retaining path from a GC root (engine hops included).
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// The CI checks and the findings' thresholds: `heapsnap diff`'s, `record`'s and `report`'s (a series).
#[derive(Debug, Args)]
pub struct CheckFlags {
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
    /// Report engine and browser internals that grew (V8 internals, `blink::`/`cppgc` classes, the browser's
    /// capped performance-timeline buffers) as findings too.
    #[arg(long)]
    pub include_internals: bool,
}

impl DiffArgs {
    /// Every snapshot, oldest first.
    pub fn files(&self) -> Vec<PathBuf> {
        [self.before.clone(), self.after.clone()]
            .into_iter()
            .chain(self.later.iter().cloned())
            .collect()
    }
}

/// `heapsnap man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (`diff` prints heapsnap-diff(1)); none: heapsnap(1).
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Option<String>,
    /// Write every page (heapsnap.1, heapsnap-summary.1, ...) into this directory instead.
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    pub out_dir: Option<PathBuf>,
}

/// `heapsnap schema` (hidden).
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The command whose JSON output the schema describes (`nodes`: one NDJSON line; `record`: record.json).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(crate::schema::COMMANDS))]
    pub command: String,
}

/// `heapsnap completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `heapsnap record`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  heapsnap record --url http://127.0.0.1:3000/api/x --fail-on 'findings>0' -- node server.js --port 3000\n  \
heapsnap record --attach 12345 --drive 'autocannon -d 10 http://127.0.0.1:3000/' \n  \
heapsnap record --attach http://127.0.0.1:9222 --target 'app' --evaluate 'openAndClose()' --repeat 20"
)]
pub struct RecordArgs {
    /// The program to start (after `--`): `node server.js`, or a wrapper such as `npm start` (then `NODE_OPTIONS`
    /// opens the inspector and the Node process that runs the user's script is chosen).
    #[arg(last = true, value_name = "COMMAND", required_unless_present = "attach")]
    pub command: Vec<String>,
    /// Attach instead of starting: a Node PID (its inspector is opened with SIGUSR1 and closed again at the end),
    /// `ws://…` or `http://127.0.0.1:9222` (any CDP endpoint: Node, Deno, Chrome, Electron).
    #[arg(long, value_name = "PID|URL", conflicts_with = "command")]
    pub attach: Option<String>,
    /// Pick the inspector target whose URL or title matches (pages of a browser, processes under a wrapper).
    #[arg(long, value_name = "REGEX")]
    pub target: Option<String>,
    /// Workload: an HTTP URL to load between snapshots (repeatable; round-robin). Loopback only unless
    /// `--allow-remote`.
    #[arg(long, value_name = "URL", conflicts_with_all = ["drive", "evaluate"])]
    pub url: Vec<String>,
    /// HTTP method of the load requests.
    #[arg(long, default_value = "GET", requires = "url")]
    pub method: String,
    /// A request header `Name: value` (repeatable).
    #[arg(long, value_name = "HEADER", requires = "url")]
    pub header: Vec<String>,
    /// The request body.
    #[arg(long, value_name = "TEXT", requires = "url", conflicts_with = "body_file")]
    pub body: Option<String>,
    /// The request body, from a file.
    #[arg(long, value_name = "FILE", requires = "url")]
    pub body_file: Option<PathBuf>,
    /// Requests per step (in total, round-robin over the URLs).
    #[arg(long, value_name = "N", default_value_t = 1000, requires = "url")]
    pub requests: u64,
    /// Requests in flight at once (one keep-alive connection each).
    #[arg(long, value_name = "C", default_value_t = 8, requires = "url")]
    pub concurrency: usize,
    /// Allow `--url` hosts other than loopback.
    #[arg(long, requires = "url")]
    pub allow_remote: bool,
    /// Fail the run (exit 2) when a load step has failed requests (errors or 5xx statuses).
    #[arg(long, requires = "url")]
    pub strict: bool,
    /// Workload: a shell command (`sh -c`) run before each snapshot after the first (`HEAPSNAP_TARGET_PID`,
    /// `HEAPSNAP_STEP` set). Its output goes to standard error.
    #[arg(long, value_name = "CMD", conflicts_with = "evaluate")]
    pub drive: Option<String>,
    /// Workload: an expression evaluated inside the target (promises awaited) `--repeat` times per step.
    #[arg(long, value_name = "EXPR")]
    pub evaluate: Option<String>,
    /// How many times `--evaluate` runs per step.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "evaluate")]
    pub repeat: u64,
    /// Run the workload once more before the first snapshot.
    #[arg(long)]
    pub warmup: bool,
    /// Snapshots to take (baseline, target, final): at least 2.
    #[arg(long, value_name = "K", default_value_t = 3)]
    pub snapshots: usize,
    /// Wait this long before each snapshot (milliseconds), for pending work to finish.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub settle: u64,
    /// Bound of every wait, in seconds: the inspector to appear, a port to open, a reply, a request, a `--drive`
    /// step, silence while a snapshot streams.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub timeout: f64,
    /// Directory for the snapshots and `record.json` (created; must be empty). Default: a new
    /// `heapsnap-record-DATE` directory under the current one.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write `.heapsnapshot.gz` files.
    #[arg(long)]
    pub gzip: bool,
    /// The verdict: `heapsnap diff`'s options.
    #[command(flatten, next_help_heading = "Verdict (heapsnap diff's options)")]
    pub diff: DiffFlags,
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
    /// The verdict of a series: `heapsnap diff`'s checks.
    #[command(flatten, next_help_heading = "Verdict (a series; heapsnap diff's options)")]
    pub checks: CheckFlags,
}
