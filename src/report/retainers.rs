//! The `retainers` report: why one object is alive. Its shortest retaining paths from the roots (heapsnap's),
//! the dominator chain (`getDominatorsOf`), the direct retainers as DevTools' Retainers view lists them, the
//! chain that view auto-expands, and DevTools' own `getRetainingPaths` result. The last four use the field names
//! of the oracle's `retainers` output so they compare one to one.

use serde::{Deserialize, Serialize};

use super::style::{paint, Style};
use super::text::{self, Column};
use super::top::shown_name;
use super::{distance, human_size, md_table, percent, Render};
use crate::paths::{LimitsReached, UNREACHABLE_VIEW_DISTANCE};

/// What `heapsnap retainers` prints.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RetainersReport {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// The snapshot.
    pub file: String,
    /// DevTools' total size (percentages are of this).
    pub total_size: u64,
    /// The object.
    pub node: NodeInfo,
    /// heapsnap's K shortest retaining paths, from a root child (`global`, or `(GC roots)` for system-only
    /// objects) to the object, shortest first.
    pub paths: Vec<PathOut>,
    /// True when the search's work cap stopped it before K paths were found.
    pub paths_truncated: bool,
    /// `getDominatorsOf`: the object, its immediate dominator, ..., the root.
    pub dominator_chain: Vec<DominatorOut>,
    /// The Retainers view's rows for the object (its direct retainers).
    pub retainers_view: RetainersView,
    /// What the Retainers view auto-expands when the object is selected.
    pub auto_expanded_chain: Vec<EdgeOut>,
    /// DevTools' `getRetainingPaths()` (paths end one level below the user root), K shortest.
    pub retaining_paths: DevtoolsPaths,
}

/// The selected object.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NodeInfo {
    /// V8 node id.
    pub id: u32,
    /// Node type.
    #[serde(rename = "type")]
    pub node_type: String,
    /// DevTools' display name.
    pub name: String,
    /// Summary-view class.
    pub class_name: String,
    /// Shallow size (DevTools-adjusted).
    pub self_size: u64,
    /// Retained size.
    pub retained_size: u64,
    /// Distance (raw).
    pub distance: i32,
    /// Where a closure's code is (`url:line:column`, one-based); absent for other nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A node inside a path.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PathNode {
    /// V8 node id.
    pub id: u32,
    /// Node type.
    #[serde(rename = "type")]
    pub node_type: String,
    /// DevTools' display name.
    pub name: String,
    /// Where a closure's code is (`url:line:column`, one-based); absent for other nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// One hop of a path: the edge and the node it leads to.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HopOut {
    /// Edge type (`property`, `element`, `context`, `internal`, ...).
    pub edge_type: String,
    /// Edge name (`[i]` edges: the index).
    pub edge_name: String,
    /// The node the edge points to.
    pub node: PathNode,
}

/// One retaining path.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PathOut {
    /// Compact form (`global.app.authSessions[19]`).
    pub text: String,
    /// Number of edges.
    pub length: usize,
    /// First node.
    pub start: PathNode,
    /// Edges from `start` to the object.
    pub hops: Vec<HopOut>,
}

/// An entry of the dominator chain (oracle field names).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DominatorOut {
    /// V8 node id.
    pub id: u32,
    /// DevTools' display name.
    pub name: String,
    /// Shallow size.
    pub self_size: u64,
    /// Retained size.
    pub retained_size: u64,
}

/// The Retainers view of the object.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RetainersView {
    /// Number of rows the view has.
    pub total: usize,
    /// The first rows (`--limit`).
    pub items: Vec<EdgeOut>,
}

/// A row of the Retainers view: the edge and the retaining node (oracle field names).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EdgeOut {
    /// Edge name.
    pub edge_name: String,
    /// Edge type.
    pub edge_type: String,
    /// The retaining node.
    pub node: ViewNode,
}

/// The retaining node of a Retainers-view row.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ViewNode {
    /// V8 node id.
    pub id: u32,
    /// Node type.
    #[serde(rename = "type")]
    pub node_type: String,
    /// DevTools' display name.
    pub name: String,
    /// Shallow size.
    pub self_size: u64,
    /// Retained size.
    pub retained_size: u64,
    /// Distance as the view sorts by it (unreachable: 200000000).
    pub distance: i32,
    /// Where a closure's code is (`url:line:column`, one-based); absent for other nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// DevTools' `getRetainingPaths()`, flattened (oracle field names).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DevtoolsPaths {
    /// Limits that cut the search.
    pub limits_reached: LimitsReached,
    /// Number of paths in the forest.
    pub path_count: usize,
    /// The K shortest (stable: DevTools' DFS order among equal lengths).
    pub shortest: Vec<Vec<DevtoolsStep>>,
}

/// One step of a DevTools retaining path: the retainer and the edge by which it holds the previous node.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DevtoolsStep {
    /// Edge name.
    pub edge_name: String,
    /// Edge type.
    pub edge_type: String,
    /// Retainer id.
    pub node_id: u32,
    /// Retainer display name.
    pub node_name: String,
    /// Retainer distance.
    pub distance: i32,
}

/// A node's name for text output: escaped, templates folded, a closure with its source position.
fn short(name: &str, node_type: &str, source: Option<&str>) -> String {
    text::escape(&shown_name(name, node_type, source)).into_owned()
}

impl RetainersReport {
    fn headline(&self) -> String {
        let n = &self.node;
        format!(
            "{} @{} ({}, class {}): shallow {}, retained {} ({}), distance {}",
            short(&n.name, &n.node_type, n.source.as_deref()),
            n.id,
            n.node_type,
            text::escape(&n.class_name),
            human_size(n.self_size),
            human_size(n.retained_size),
            percent(n.retained_size, self.total_size),
            distance(n.distance)
        )
    }

    /// The paths as numbered multi-line chains.
    /// `width`: the table format's ([`text::width`]); `None` for Markdown, which is never shortened.
    fn paths_text(&self, width: Option<usize>) -> String {
        let mut out = String::new();
        if self.paths.is_empty() {
            out.push_str("  (none: the object is not reachable from the roots)\n");
        }
        for (i, p) in self.paths.iter().enumerate() {
            let end = match p.hops.last() {
                Some(h) => format!(
                    " -> {} @{}",
                    short(&h.node.name, &h.node.node_type, h.node.source.as_deref()),
                    h.node.id
                ),
                None => format!(" @{}", p.start.id),
            };
            let edges = if p.length == 1 { "edge" } else { "edges" };
            out.push_str(&text::line_at(
                &format!("{:>3}. ", i + 1),
                &format!("{}{end}  ({} {edges})", text::escape(&p.text), p.length),
                7,
                width,
            ));
            out.push_str(&text::line_at(
                "       ",
                &format!(
                    "{} @{}",
                    short(&p.start.name, &p.start.node_type, p.start.source.as_deref()),
                    p.start.id
                ),
                9,
                width,
            ));
            for h in &p.hops {
                out.push_str(&text::line_at(
                    "         ",
                    &format!(
                        "--{} ({})--> {} @{}",
                        text::escape(&h.edge_name),
                        h.edge_type,
                        short(&h.node.name, &h.node.node_type, h.node.source.as_deref()),
                        h.node.id
                    ),
                    13,
                    width,
                ));
            }
        }
        if self.paths_truncated {
            out.push_str("  (search stopped at its work limit)\n");
        }
        out
    }

    fn dominator_rows(&self) -> Vec<Vec<String>> {
        self.dominator_chain
            .iter()
            .map(|d| {
                vec![
                    if d.name.is_empty() {
                        "(root)".to_string()
                    } else {
                        text::fold_templates(&d.name).into_owned()
                    },
                    format!("@{}", d.id),
                    human_size(d.self_size),
                    human_size(d.retained_size),
                    percent(d.retained_size, self.total_size),
                ]
            })
            .collect()
    }

    fn view_rows(&self) -> Vec<Vec<String>> {
        self.retainers_view
            .items
            .iter()
            .map(|e| {
                vec![
                    format!("{} ({})", e.edge_name, e.edge_type),
                    short(&e.node.name, &e.node.node_type, e.node.source.as_deref()),
                    format!("@{}", e.node.id),
                    if e.node.distance >= UNREACHABLE_VIEW_DISTANCE {
                        "-".into()
                    } else {
                        distance(e.node.distance)
                    },
                    human_size(e.node.self_size),
                    human_size(e.node.retained_size),
                ]
            })
            .collect()
    }

    fn view_note(&self) -> String {
        let v = &self.retainers_view;
        if v.items.len() < v.total {
            format!("{} of {} retainers shown", v.items.len(), v.total)
        } else {
            format!("{} retainers", v.total)
        }
    }
}

const DOM_HEADER: [&str; 5] = ["Dominator chain", "Id", "Shallow size", "Retained size", "%"];
const DOM_NUMERIC: [bool; 5] = [false, false, true, true, true];
const VIEW_HEADER: [&str; 6] = ["Edge", "Retainer", "Id", "Distance", "Shallow size", "Retained size"];
const VIEW_NUMERIC: [bool; 6] = [false, false, false, true, true, true];
const DOM_COLUMNS: [Column; 5] = [
    Column::text("Dominator chain", 24),
    Column::keep("Id", false),
    Column::optional("Shallow size", true, 1),
    Column::keep("Retained size", true),
    Column::optional("%", true, 2),
];
const VIEW_COLUMNS: [Column; 6] = [
    Column::text("Edge", 16),
    Column::text("Retainer", 20),
    Column::keep("Id", false),
    Column::optional("Distance", true, 2),
    Column::optional("Shallow size", true, 1),
    Column::keep("Retained size", true),
];

impl Render for RetainersReport {
    fn table(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n\n{}\n{}\n{}\n",
            text::line("", &self.headline(), 2),
            paint("Shortest retaining paths:", Style::Heading),
            self.paths_text(text::width()),
            text::fit_table(&DOM_COLUMNS, self.dominator_rows(), |_, _| None),
            paint("Retainers (as DevTools' Retainers view lists them):", Style::Heading),
            text::fit_table(&VIEW_COLUMNS, self.view_rows(), |_, _| None),
            self.view_note()
        )
    }

    fn markdown(&self) -> String {
        format!(
            "### Retainers of @{}\n\n{}\n\n**Shortest retaining paths**\n\n```text\n{}```\n\n{}\n**Retainers**\n\n{}\n{}\n",
            self.node.id,
            super::md_cell(&self.headline()),
            self.paths_text(None),
            md_table(&DOM_HEADER, &DOM_NUMERIC, &self.dominator_rows()),
            md_table(&VIEW_HEADER, &VIEW_NUMERIC, &self.view_rows()),
            self.view_note()
        )
    }
}
