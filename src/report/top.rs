//! The `top` report: the largest objects by retained size, each with the shortest path that holds it.

use serde::{Deserialize, Serialize};

use super::text::{self, Column};
use super::{human_size, md_table, percent, Render};

/// What `heapsnap top` prints.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TopReport {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// The snapshot.
    pub file: String,
    /// DevTools' total size (percentages are of this).
    pub total_size: u64,
    /// Nodes considered (every non-synthetic node).
    pub candidates: u64,
    /// The largest nodes: retained size descending, then snapshot order.
    pub nodes: Vec<TopNode>,
}

/// One object.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TopNode {
    /// V8 node id (`@id` in DevTools).
    pub id: u32,
    /// Node type (`object`, `closure`, `string`, ...).
    #[serde(rename = "type")]
    pub node_type: String,
    /// DevTools' display name (`{a, b, …}` for plain objects, flattened concatenated strings).
    pub name: String,
    /// The Summary-view class (constructor) it belongs to.
    pub class_name: String,
    /// Shallow size (DevTools-adjusted).
    pub self_size: u64,
    /// Retained size.
    pub retained_size: u64,
    /// Distance from the roots (raw: -5 unreachable, ≥ 100000000 system-only).
    pub distance: i32,
    /// Id of the immediate dominator.
    pub dominator_id: u32,
    /// Shortest retaining path from a root child (`global.app.cache[3]`); `null` when unreachable.
    pub path: Option<String>,
    /// Where a closure's code is (`url:line:column`, one-based); absent for other nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl TopReport {
    fn rows(&self) -> Vec<Vec<String>> {
        self.nodes
            .iter()
            .map(|n| {
                vec![
                    shown_name(&n.name, &n.node_type, n.source.as_deref()),
                    format!("@{}", n.id),
                    n.node_type.clone(),
                    human_size(n.self_size),
                    human_size(n.retained_size),
                    percent(n.retained_size, self.total_size),
                    n.path.clone().unwrap_or_else(|| "-".to_string()),
                ]
            })
            .collect()
    }

    fn headline(&self) -> String {
        format!(
            "{}: {} total; the {} largest of {} objects by retained size",
            self.file,
            human_size(self.total_size),
            self.nodes.len(),
            self.candidates
        )
    }
}

/// A node's name as tables show it: C++ template arguments folded ([`text::fold_templates`]), an empty name as
/// `(type)` (`(anonymous)` for a function), and a closure's source position after it.
pub fn shown_name(name: &str, node_type: &str, source: Option<&str>) -> String {
    let name = if name.is_empty() && node_type == "closure" {
        "(anonymous)".to_string()
    } else {
        text::fold_templates(&name_or_type(name, node_type)).into_owned()
    };
    crate::names::with_source(&name, source)
}

/// The name, or `(type)` when V8 wrote an empty one.
pub fn name_or_type(name: &str, node_type: &str) -> String {
    if name.is_empty() {
        format!("({node_type})")
    } else {
        name.to_string()
    }
}

const HEADER: [&str; 7] = ["Object", "Id", "Type", "Shallow size", "Retained size", "%", "Path"];
const NUMERIC: [bool; 7] = [false, false, false, true, true, true, false];
/// Under a narrow width: names and paths shortened in the middle, then the path, the percentage, the type and
/// the shallow size dropped, in that order.
const COLUMNS: [Column; 7] = [
    Column::text("Object", 24),
    Column::keep("Id", false),
    Column::optional("Type", false, 2),
    Column::optional("Shallow size", true, 1),
    Column::keep("Retained size", true),
    Column::optional("%", true, 3),
    Column::text("Path", 20).or_drop(4),
];

impl Render for TopReport {
    fn table(&self) -> String {
        format!(
            "{}\n{}\n",
            text::line("", &text::escape(&self.headline()), 2),
            text::fit_table(&COLUMNS, self.rows(), |_, _| None)
        )
    }

    fn markdown(&self) -> String {
        format!(
            "### Largest objects by retained size\n\n{}\n\n{}",
            super::md_cell(&self.headline()),
            md_table(&HEADER, &NUMERIC, &self.rows())
        )
    }
}
