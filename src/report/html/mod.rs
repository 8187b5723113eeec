//! The self-contained HTML report (`heapsnap report`, `summary --format html`, `diff --format html`): one file
//! with its styles, script and data inlined, that makes no request when opened (a CSP meta of
//! `default-src 'none'` forbids any).
//!
//! One door: [`render`]. It turns the reports the other renderers print (a [`SummaryReport`], a
//! [`DiffOutput`] with its findings and CI verdict, as serde data) plus the analysed snapshot(s) into a view
//! model, and renders `templates/report.html` with minijinja (auto-escaped; the asset files in `assets/` are
//! inlined at build time with `include_str!`). The dominator tree is embedded as JSON, cut to a node budget
//! ([`treemap::cut`]); tables and charts (SVG computed here) are in the HTML, so they read and print without
//! the script, which adds the zoomable treemap, sorting and filtering.
//!
//! Bounded output whatever the input: at most `max_nodes` tree nodes (plus the findings' dominator chains),
//! `top` objects, `class_rows` table rows, `charts` charts; names cut to [`NAME_CHARS`] characters.
//! Deterministic: every list is sorted with total orders, no clock, no hash-map iteration order.

mod treemap;

use minijinja::{Environment, Value};
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::diff::DiffOutput;
use super::summary::SummaryReport;
use super::{distance, ellipsize, human_delta, human_size, percent};
use crate::analysis::Analysis;
use crate::paths;

/// The page template (auto-escaped: its name ends in `.html`).
const TEMPLATE: &str = include_str!("templates/report.html");
/// The page's script.
const SCRIPT: &str = include_str!("assets/report.js");
/// The page's styles.
const STYLE: &str = include_str!("assets/report.css");

/// Longest name embedded (characters); a V8 string node's name can be megabytes.
pub const NAME_CHARS: usize = 160;

/// What the report holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtmlOptions {
    /// Nodes of the dominator tree embedded for the treemap.
    pub max_nodes: usize,
    /// Largest objects listed (one snapshot).
    pub top: usize,
    /// Rows of the Summary / Comparison table.
    pub class_rows: usize,
    /// Growth charts (a series).
    pub charts: usize,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            max_nodes: 5000,
            top: 50,
            class_rows: 1000,
            charts: 8,
        }
    }
}

/// What to report on.
pub enum Input<'a> {
    /// One snapshot and its summary (every class row, sorted).
    Snapshot {
        /// The analysed snapshot (dominators, distances).
        analysis: &'a Analysis,
        /// Its summary.
        summary: &'a SummaryReport,
    },
    /// A series, oldest first (classified as `diff` classifies them), and its diff with the CI verdict.
    Series {
        /// The analysed snapshots.
        analyses: &'a [Analysis],
        /// The diff and verdict.
        output: &'a DiffOutput,
    },
}

/// Render the report as one HTML document.
pub fn render(input: &Input<'_>, opts: &HtmlOptions) -> String {
    let page = match input {
        Input::Snapshot { analysis, summary } => snapshot_page(analysis, summary, opts),
        Input::Series { analyses, output } => series_page(analyses, output, opts),
    };
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE)
        .expect("the report template parses");
    let tmpl = env.get_template("report.html").expect("just added");
    let _t = crate::timing::Phase::start("  template");
    tmpl.render(minijinja::context! {
        page => Value::from(minijinja::value::Serde(&page)),
        script => Value::from_safe_string(SCRIPT.to_string()),
        style => Value::from_safe_string(STYLE.to_string()),
        tree_json => Value::from_safe_string(page.tree_json.clone()),
    })
    .expect("the report template renders")
}

/// JSON text safe inside `<script type="application/json">`: `<`, `>` and `&` (which can only occur inside
/// JSON strings) as `\u` escapes, so no `</script>` or `<!--` can end or change the element.
pub fn script_json<T: Serialize>(value: &T) -> String {
    let text = crate::json::to_string(value).expect("report data serializes");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The page's data.
#[derive(Debug, Serialize)]
struct Page {
    /// `snapshot` or `series`.
    kind: &'static str,
    title: String,
    files: Vec<String>,
    headline: Vec<String>,
    statistics: Vec<StatRow>,
    classes: Option<Table>,
    top: Vec<TopRow>,
    series: Option<Series>,
    /// The treemap's data (JSON, escaped for a script element).
    #[serde(skip)]
    tree_json: String,
    tree_note: String,
    version: &'static str,
}

/// One Statistics category, with its bar segment.
#[derive(Debug, Serialize)]
struct StatRow {
    label: &'static str,
    size: String,
    percent: String,
    /// Bar segment start and width, in % of the total.
    x: String,
    width: String,
    slot: usize,
}

/// A sortable, filterable table: cells are shown text; `sort` holds the values the script sorts by.
#[derive(Debug, Serialize)]
struct Table {
    id: &'static str,
    caption: String,
    header: Vec<Column>,
    rows: Vec<Row>,
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct Column {
    label: &'static str,
    numeric: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    cells: Vec<Cell>,
}

#[derive(Debug, Serialize)]
struct Cell {
    text: String,
    /// Sort key (numbers); text columns sort by their text.
    sort: Option<i128>,
    tone: Option<&'static str>,
}

fn text(t: impl Into<String>) -> Cell {
    Cell {
        text: t.into(),
        sort: None,
        tone: None,
    }
}

/// A number that needs comparable ids: `-` without them (sorted as the smallest).
fn opt_num(v: Option<u64>, fmt: impl Fn(u64) -> String) -> Cell {
    match v {
        Some(x) => num(fmt(x), x),
        None => num("-", -1i128),
    }
}

fn num(t: impl Into<String>, v: impl Into<i128>) -> Cell {
    Cell {
        text: t.into(),
        sort: Some(v.into()),
        tone: None,
    }
}

fn delta(t: impl Into<String>, v: i64) -> Cell {
    Cell {
        text: t.into(),
        sort: Some(v as i128),
        tone: match v.signum() {
            1 => Some("grow"),
            -1 => Some("shrink"),
            _ => None,
        },
    }
}

/// One of the largest objects.
#[derive(Debug, Serialize)]
struct TopRow {
    name: String,
    id: u32,
    node_type: String,
    class: String,
    shallow: String,
    retained: String,
    percent: String,
    shallow_v: u64,
    retained_v: u64,
    path: Vec<Step>,
}

/// A step of a path: the edge into a node (`…` when the dominator is not a direct retainer) and the node.
#[derive(Debug, Serialize)]
struct Step {
    edge: String,
    node: String,
}

/// A series' part of the page.
#[derive(Debug, Serialize)]
struct Series {
    verdict: String,
    checks: Vec<Check>,
    suppressed: usize,
    note: Option<String>,
    steps: usize,
    findings: Vec<FindingView>,
    charts: Vec<Chart>,
    comparison: Table,
    clusters: Vec<ClusterView>,
}

#[derive(Debug, Serialize)]
struct Check {
    crossed: bool,
    text: String,
}

#[derive(Debug, Serialize)]
struct FindingView {
    rule: String,
    class: String,
    count_delta: String,
    size_delta: String,
    retained_delta: String,
    per_step: String,
    holder: Vec<String>,
    location: Option<String>,
    reason: String,
    held: String,
    example: Option<String>,
    /// The finding as the JSON output writes it (every field, also ones added later).
    fields: Vec<(String, String)>,
}

#[derive(Debug, Serialize)]
struct ClusterView {
    class: String,
    count: u64,
    retained: String,
    holder: String,
    example: String,
}

/// A small-multiple chart: object count (solid) and retained size (dashed) per snapshot, each on its own scale.
#[derive(Debug, Serialize)]
struct Chart {
    name: String,
    counts: String,
    retained: String,
    count_points: String,
    retained_points: String,
    dots: Vec<(String, String)>,
    rising: bool,
    finding: bool,
}

fn name(s: &str) -> String {
    ellipsize(s, NAME_CHARS)
}

fn snapshot_page(an: &Analysis, summary: &SummaryReport, opts: &HtmlOptions) -> Page {
    let total = summary.totals.total_size;
    let t = &summary.totals;
    let mut headline = vec![format!(
        "{} total, {} nodes, {} edges, {} classes",
        human_size(t.total_size),
        t.node_count,
        t.edge_count,
        summary.class_count
    )];
    if t.extra_native_bytes > 0 {
        headline.push(format!("{} extra native", human_size(t.extra_native_bytes)));
    }
    let rows: Vec<Row> = summary
        .classes
        .iter()
        .take(opts.class_rows)
        .map(|c| Row {
            cells: vec![
                text(name(&c.name)),
                num(distance(c.distance), c.distance),
                num(c.count.to_string(), c.count),
                num(human_size(c.self_size), c.self_size),
                num(percent(c.self_size, total), c.self_size),
                num(
                    c.retained_size.map(human_size).unwrap_or_default(),
                    c.retained_size.unwrap_or(0),
                ),
                num(
                    c.retained_size.map(|r| percent(r, total)).unwrap_or_default(),
                    c.retained_size.unwrap_or(0),
                ),
            ],
        })
        .collect();
    let shown = rows.len();
    let classes = Table {
        id: "summary",
        caption: "Summary: objects by constructor".into(),
        header: vec![
            Column {
                label: "Constructor",
                numeric: false,
            },
            Column {
                label: "Distance",
                numeric: true,
            },
            Column {
                label: "Objects",
                numeric: true,
            },
            Column {
                label: "Shallow size",
                numeric: true,
            },
            Column {
                label: "%",
                numeric: true,
            },
            Column {
                label: "Retained size",
                numeric: true,
            },
            Column {
                label: "%",
                numeric: true,
            },
        ],
        rows,
        note: (shown < summary.classes.len())
            .then(|| format!("the {shown} largest of {} classes", summary.classes.len())),
    };
    let t = crate::timing::Phase::start("  tree cut");
    let kept = treemap::cut(an, opts.max_nodes, &[]);
    let (tree_json, tree_note) = tree_data(an, &kept, opts.max_nodes, &[]);
    t.done();
    let t = crate::timing::Phase::start("  top objects");
    let top = top_rows(an, opts.top, &kept);
    t.done();
    Page {
        kind: "snapshot",
        title: format!("Heap snapshot: {}", summary.file),
        files: vec![summary.file.clone()],
        headline,
        statistics: stat_rows(summary),
        classes: Some(classes),
        top,
        series: None,
        tree_json,
        tree_note,
        version: env!("CARGO_PKG_VERSION"),
    }
}

fn stat_rows(summary: &SummaryReport) -> Vec<StatRow> {
    let s = &summary.statistics;
    let parts = [
        ("Code", s.code),
        ("Strings", s.strings),
        ("JS arrays", s.js_arrays),
        ("Typed arrays", s.typed_arrays),
        ("System objects", s.system_objects),
        ("Other JS objects", s.other_js_objects),
        ("Other non-JS objects", s.other_non_js_objects),
    ];
    let sum: u64 = parts.iter().map(|p| p.1).sum::<u64>().max(1);
    let mut x = 0.0f64;
    let mut out: Vec<StatRow> = parts
        .iter()
        .enumerate()
        .map(|(i, &(label, v))| {
            let w = v as f64 * 100.0 / sum as f64;
            let row = StatRow {
                label,
                size: human_size(v),
                percent: percent(v, s.total),
                x: format!("{x:.3}"),
                width: format!("{w:.3}"),
                slot: i + 1,
            };
            x += w;
            row
        })
        .collect();
    out.push(StatRow {
        label: "Total",
        size: human_size(s.total),
        percent: percent(s.total, s.total),
        x: "0".into(),
        width: "0".into(),
        slot: 0,
    });
    out
}

/// The path to `o` along its dominator chain: each dominator, with the edge from the previous one when it
/// has one (else `…`: held through other objects). No search, no retainer index: O(chain × out-degree).
fn dominator_path(an: &Analysis, o: u32) -> Vec<Step> {
    let s = &an.snap;
    let mut chain = paths::dominator_chain(an, o);
    chain.reverse();
    let mut out = Vec::new();
    for w in chain.windows(2) {
        let (p, c) = (w[0], w[1]);
        // The root's edges (`[2]`, `(GC roots)`) say nothing: the path starts at a root's child by its name.
        let edge = if p == s.root {
            String::new()
        } else {
            s.edges(p)
                .find(|&e| s.edge_to(e) == c && an.essential.contains(e))
                .map(|e| paths::edge_label(s, e))
                .unwrap_or_else(|| "…".into())
        };
        out.push(Step {
            edge: name(&edge),
            node: name(&paths::node_label(s, c)),
        });
    }
    out
}

/// The `n` largest non-synthetic objects, as `top` selects them: taken from the tree cut `kept` (no forced
/// nodes) when it holds every node as large as the n-th (the cut keeps the largest retained sizes), else by
/// `top`'s O(V) selection.
fn largest(an: &Analysis, n: usize, kept: &[treemap::Kept]) -> Vec<u32> {
    use crate::header::NodeKind;
    let s = &an.snap;
    let smallest_kept = kept
        .iter()
        .map(|k| an.dom.retained.get(k.ord as usize))
        .min()
        .unwrap_or(0);
    let mut cands: Vec<u32> = kept
        .iter()
        .map(|k| k.ord)
        .filter(|&o| s.kind(o) != NodeKind::Synthetic)
        .collect();
    cands.sort_unstable_by(|&x, &y| paths::by_retained_desc(an, x, y));
    if n == 0 {
        return Vec::new();
    }
    match cands.get(n - 1) {
        Some(&o) if an.dom.retained.get(o as usize) > smallest_kept => {
            cands.truncate(n);
            cands
        }
        _ => crate::commands::top::largest(an, n).0,
    }
}

fn top_rows(an: &Analysis, n: usize, kept: &[treemap::Kept]) -> Vec<TopRow> {
    let s = &an.snap;
    let ords = largest(an, n, kept);
    let total = an.total_size();
    ords.iter()
        .map(|&o| {
            let oi = o as usize;
            let r = an.dom.retained.get(oi);
            TopRow {
                name: name(&super::top::name_or_type(&paths::display_name(s, o), s.type_name(o))),
                id: s.node_id[oi],
                node_type: s.type_name(o).to_string(),
                class: name(&an.classes.table[an.classes.of_node[oi] as usize].name),
                shallow: human_size(s.node_self[oi] as u64),
                retained: human_size(r),
                percent: percent(r, total),
                shallow_v: s.node_self[oi] as u64,
                retained_v: r,
                path: dominator_path(an, o),
            }
        })
        .collect()
}

/// The treemap's data: a string table and one row per kept node, `[id, parent, name, class, type, self,
/// retained, more_count, more_retained, highlighted]` (parent `-1` for the root; strings as indexes).
#[derive(Debug, Serialize)]
struct TreeData {
    total: u64,
    budget: usize,
    strings: Vec<String>,
    nodes: Vec<TreeRow>,
}

/// `[id, parent, name, class, type, self, retained, more_count, more_retained, highlighted]`.
type TreeRow = (u32, i64, u32, u32, u32, u64, u64, u64, u64, u8);

fn tree_data(an: &Analysis, kept: &[treemap::Kept], budget: usize, highlight: &[u32]) -> (String, String) {
    let s = &an.snap;
    let mut lit = fixedbitset::FixedBitSet::with_capacity(s.node_count());
    for &h in highlight {
        for v in paths::dominator_chain(an, h) {
            lit.insert(v as usize);
        }
    }
    let mut strings: Vec<String> = Vec::new();
    let mut index: FxHashMap<String, u32> = FxHashMap::default();
    let mut intern = |t: String| -> u32 {
        if let Some(&i) = index.get(&t) {
            return i;
        }
        let i = strings.len() as u32;
        index.insert(t.clone(), i);
        strings.push(t);
        i
    };
    let nodes = kept
        .iter()
        .map(|k| {
            let o = k.ord;
            let oi = o as usize;
            let label = if o == s.root {
                "(root)".to_string()
            } else {
                name(&paths::node_label(s, o))
            };
            (
                s.node_id[oi],
                k.parent.map_or(-1, i64::from),
                intern(label),
                intern(name(&an.classes.table[an.classes.of_node[oi] as usize].name)),
                intern(s.type_name(o).to_string()),
                s.node_self[oi] as u64,
                an.dom.retained.get(oi),
                k.more_count,
                k.more_retained,
                u8::from(lit.contains(oi)),
            )
        })
        .collect::<Vec<_>>();
    let note = format!(
        "The treemap holds the {} largest of {} objects by retained size (--max-nodes {budget})",
        nodes.len(),
        s.node_count()
    );
    let data = TreeData {
        total: an.total_self(),
        budget,
        strings,
        nodes,
    };
    (script_json(&data), note)
}

fn series_page(snaps: &[Analysis], output: &DiffOutput, opts: &HtmlOptions) -> Page {
    let d = &output.diff;
    let t = &d.totals;
    let steps = d.files.len().saturating_sub(1).max(1);
    let last = &snaps[snaps.len() - 1];
    let headline = vec![
        format!(
            "{} → {} ({})",
            human_size(t.before_size),
            human_size(t.after_size),
            human_delta(t.size_delta)
        ),
        match (t.new_count, t.deleted_count, t.surviving_count, t.surviving_size) {
            (Some(n), Some(d), Some(c), Some(z)) => {
                format!(
                    "{n} new / {d} deleted objects, {c} new objects still alive ({})",
                    human_size(z)
                )
            }
            _ => "object ids reassigned: holders matched by retaining path".to_string(),
        },
    ];
    let findings: Vec<FindingView> = d
        .findings
        .iter()
        .map(|f| FindingView {
            rule: f.rule.clone(),
            class: name(&f.class),
            count_delta: format!("{:+}", f.count_delta),
            size_delta: human_delta(f.size_delta),
            retained_delta: human_delta(f.retained_delta),
            per_step: format!("{:+} objects, {} retained per step", f.count_delta / steps as i64, {
                human_delta(f.retained_delta / steps as i64)
            }),
            holder: f.holder.split(" > ").map(name).collect(),
            location: f.location.as_ref().map(|l| {
                let at = format!("script {}, line {}, column {}", l.script_id, l.line + 1, l.column + 1);
                match &l.function {
                    Some(fun) if !fun.is_empty() => format!("{} ({at})", name(fun)),
                    _ => at,
                }
            }),
            reason: f.reason.clone(),
            held: f
                .held_classes
                .iter()
                .filter(|c| **c != f.class)
                .map(|c| name(c))
                .collect::<Vec<_>>()
                .join(", "),
            example: f.example_id.map(|i| format!("@{i}")),
            fields: finding_fields(f),
        })
        .collect();
    // Per-class retained sizes in every snapshot, for the charts.
    let per_snapshot: Vec<FxHashMap<String, u64>> = snaps
        .iter()
        .map(|an| {
            crate::summary::class_rows(an, Some(&an.class_retained()))
                .into_iter()
                .map(|r| (r.key, r.retained_size.unwrap_or(0)))
                .collect()
        })
        .collect();
    let finding_classes: Vec<&str> = d.findings.iter().map(|f| f.class.as_str()).collect();
    // The findings' classes first, then the classes grown at every step (most retained first), to `charts` (findings' classes up to twice that).
    let limit = opts.charts.max(1);
    let mut charted: Vec<&crate::diff::DiffClassRow> = Vec::new();
    for c in &finding_classes {
        if let Some(r) = d.classes.iter().find(|r| r.name == *c) {
            if charted.len() < 2 * limit && !charted.iter().any(|x| x.key == r.key) {
                charted.push(r);
            }
        }
    }
    for r in d.classes.iter().filter(|r| r.monotonic && r.retained_delta > 0) {
        if charted.len() >= limit {
            break;
        }
        if !charted.iter().any(|x| x.key == r.key) {
            charted.push(r);
        }
    }
    let charts = charted
        .iter()
        .map(|r| {
            let retained: Vec<u64> = per_snapshot
                .iter()
                .map(|m| m.get(&r.key).copied().unwrap_or(0))
                .collect();
            chart(r, &retained, finding_classes.contains(&r.name.as_str()))
        })
        .collect();
    let header = vec![
        ("Constructor", false),
        ("# New", true),
        ("# Deleted", true),
        ("# Delta", true),
        ("Alloc. size", true),
        ("Freed size", true),
        ("Size delta", true),
        ("Retained delta", true),
        ("Surviving", true),
        ("Counts", false),
    ];
    let rows: Vec<Row> = d
        .classes
        .iter()
        .take(opts.class_rows)
        .map(|r| Row {
            cells: vec![
                text(name(&r.name)),
                opt_num(r.new_count, |v| v.to_string()),
                opt_num(r.deleted_count, |v| v.to_string()),
                delta(format!("{:+}", r.delta_count), r.delta_count),
                opt_num(r.alloc_size, human_size),
                opt_num(r.freed_size, human_size),
                delta(human_delta(r.size_delta), r.size_delta),
                delta(human_delta(r.retained_delta), r.retained_delta),
                opt_num(r.surviving_count, |v| v.to_string()),
                text(r.counts.iter().map(u64::to_string).collect::<Vec<_>>().join(" → ")),
            ],
        })
        .collect();
    let shown = rows.len();
    let comparison = Table {
        id: "comparison",
        caption: "Comparison: growth by constructor".into(),
        header: header
            .into_iter()
            .map(|(label, numeric)| Column { label, numeric })
            .collect(),
        rows,
        note: (shown < d.classes.len()).then(|| format!("the first {shown} of {} classes", d.classes.len())),
    };
    // The findings' example objects in the last snapshot: highlighted with their dominators.
    let wanted: Vec<u32> = d.findings.iter().filter_map(|f| f.example_id).collect();
    let highlight: Vec<u32> = if wanted.is_empty() {
        Vec::new()
    } else {
        let mut found: Vec<u32> = (0..last.snap.node_count() as u32)
            .filter(|&o| wanted.contains(&last.snap.node_id[o as usize]))
            .collect();
        found.sort_unstable();
        found
    };
    let kept = treemap::cut(last, opts.max_nodes, &highlight);
    let (tree_json, tree_note) = tree_data(last, &kept, opts.max_nodes, &highlight);
    let ci = &output.ci;
    Page {
        kind: "series",
        title: format!("Heap diff: {}", d.files.join(" → ")),
        files: d.files.clone(),
        headline,
        statistics: Vec::new(),
        classes: None,
        top: Vec::new(),
        series: Some(Series {
            verdict: if ci.checks.is_empty() {
                String::new()
            } else {
                ci.verdict.clone()
            },
            checks: ci
                .checks
                .iter()
                .map(|c| Check {
                    crossed: c.crossed,
                    text: match (c.value, &c.note) {
                        (Some(v), _) => format!("{}: {v} ({})", c.check, c.subject),
                        (None, note) => format!("{}: {}", c.check, note.as_deref().unwrap_or("unavailable")),
                    },
                })
                .collect(),
            suppressed: ci.suppressed_findings,
            note: d.note.clone(),
            steps,
            findings,
            charts,
            comparison,
            clusters: d
                .clusters
                .iter()
                .map(|c| ClusterView {
                    class: name(&c.class),
                    count: c.count,
                    retained: human_size(c.retained_size),
                    holder: c.holder.clone(),
                    example: format!("@{}", c.example_id),
                })
                .collect(),
        }),
        tree_json,
        tree_note,
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// Every field of a finding as its JSON has it, as (key, text) pairs, so fields added to [`Finding`] show
/// without a template change.
///
/// [`Finding`]: crate::rules::Finding
fn finding_fields(f: &crate::rules::Finding) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(f) else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(k, v)| {
            let t = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, ellipsize(&t, 400))
        })
        .collect()
}

const CHART_W: f64 = 220.0;
const CHART_H: f64 = 90.0;
const PAD: f64 = 8.0;

fn chart(r: &crate::diff::DiffClassRow, retained: &[u64], finding: bool) -> Chart {
    let line = |vals: &[u64]| -> Vec<(f64, f64)> {
        let max = vals.iter().copied().max().unwrap_or(0).max(1) as f64;
        let n = vals.len().max(2) - 1;
        vals.iter()
            .enumerate()
            .map(|(i, &v)| {
                let x = PAD + (CHART_W - 2.0 * PAD) * i as f64 / n as f64;
                let y = CHART_H - PAD - (CHART_H - 2.0 * PAD) * v as f64 / max;
                (x, y)
            })
            .collect()
    };
    let pts = |p: &[(f64, f64)]| {
        p.iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let c = line(&r.counts);
    let rt = line(retained);
    Chart {
        name: name(&r.name),
        counts: r.counts.iter().map(u64::to_string).collect::<Vec<_>>().join(" → "),
        retained: retained.iter().map(|&v| human_size(v)).collect::<Vec<_>>().join(" → "),
        count_points: pts(&c),
        retained_points: pts(&rt),
        dots: c.iter().map(|(x, y)| (format!("{x:.1}"), format!("{y:.1}"))).collect(),
        rising: r.counts.windows(2).all(|w| w[1] > w[0]),
        finding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_end_the_script_element() {
        let j = script_json(&vec!["</script><script>alert(1)</script>", "<!--", "a&b", "\u{2028}"]);
        assert!(!j.contains('<') && !j.contains('>') && !j.contains('&'), "{j}");
        assert!(!j.contains('\u{2028}'));
        let back: Vec<String> = serde_json::from_str(&j).unwrap();
        assert_eq!(back[0], "</script><script>alert(1)</script>");
        assert_eq!(back[3], "\u{2028}");
    }

    /// The largest objects taken from the tree cut are `top`'s, whatever the budget (the fallback included).
    #[test]
    fn largest_objects_from_the_cut_are_tops() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/service.heapsnapshot.gz");
        let an = Analysis::new(crate::Snapshot::open(&p).unwrap()).unwrap();
        for budget in [1, 10, 60, 5000] {
            for n in [0, 1, 20, 50] {
                let kept = treemap::cut(&an, budget, &[]);
                assert_eq!(
                    largest(&an, n, &kept),
                    crate::commands::top::largest(&an, n).0,
                    "{budget} {n}"
                );
            }
        }
    }

    #[test]
    fn assets_cannot_end_their_elements() {
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
    }
}
