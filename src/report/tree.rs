//! The `tree` report: the dominator tree drilled down from the root (or one object), largest children first,
//! as nested nodes (JSON) or an indented table.

use serde::{Deserialize, Serialize};

use super::text::{self, Column};
use super::top::shown_name;
use super::{human_size, md_table, percent, Render};

/// What `heapsnap tree` prints.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TreeReport {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// The snapshot.
    pub file: String,
    /// DevTools' total size (percentages are of this).
    pub total_size: u64,
    /// Levels shown below `root`.
    pub depth: usize,
    /// Children retaining less than this are folded into `omitted`.
    pub min_size: u64,
    /// At most this many children per node.
    pub max_children: usize,
    /// The subtree.
    pub root: TreeNode,
}

/// A node of the dominator tree.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TreeNode {
    /// V8 node id.
    pub id: u32,
    /// Node type.
    #[serde(rename = "type")]
    pub node_type: String,
    /// DevTools' display name.
    pub name: String,
    /// Shallow size (DevTools-adjusted).
    pub self_size: u64,
    /// Retained size.
    pub retained_size: u64,
    /// Number of nodes it immediately dominates.
    pub child_count: u64,
    /// Children shown: retained size descending, then id.
    pub children: Vec<TreeNode>,
    /// Children not listed (below `--min-size` or past `--max-children`); empty below `--depth`.
    #[serde(default, skip_serializing_if = "Omitted::is_empty")]
    pub omitted: Omitted,
    /// Where a closure's code is (`url:line:column`, one-based); absent for other nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Children folded into one line.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Omitted {
    /// How many.
    pub count: u64,
    /// Σ of their retained sizes.
    pub retained_size: u64,
}

impl Omitted {
    /// Nothing omitted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl TreeReport {
    fn rows(&self, indent: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        self.walk(&self.root, 0, indent, &mut rows);
        rows
    }

    fn walk(&self, n: &TreeNode, level: usize, indent: &str, rows: &mut Vec<Vec<String>>) {
        let pad = indent.repeat(level);
        let name = if level == 0 && n.name.is_empty() && n.node_type == "synthetic" {
            "(root)".to_string()
        } else {
            shown_name(&n.name, &n.node_type, n.source.as_deref())
        };
        rows.push(vec![
            format!("{pad}{}", text::escape(&name)),
            format!("@{}", n.id),
            human_size(n.self_size),
            human_size(n.retained_size),
            percent(n.retained_size, self.total_size),
        ]);
        for c in &n.children {
            self.walk(c, level + 1, indent, rows);
        }
        if !n.omitted.is_empty() {
            let what = if n.omitted.count == 1 { "child" } else { "children" };
            rows.push(vec![
                format!("{}{indent}… {} more {what}", pad, n.omitted.count),
                String::new(),
                String::new(),
                human_size(n.omitted.retained_size),
                percent(n.omitted.retained_size, self.total_size),
            ]);
        }
    }

    fn headline(&self) -> String {
        format!(
            "{}: {} total; dominator tree of @{}, {} level{} deep",
            self.file,
            human_size(self.total_size),
            self.root.id,
            self.depth,
            if self.depth == 1 { "" } else { "s" }
        )
    }
}

const HEADER: [&str; 5] = ["Object", "Id", "Shallow size", "Retained size", "%"];
const NUMERIC: [bool; 5] = [false, false, true, true, true];
/// Under a narrow width: names shortened in the middle (indentation kept), then `%` and the shallow size dropped.
const COLUMNS: [Column; 5] = [
    Column::text("Object", 24),
    Column::keep("Id", false),
    Column::optional("Shallow size", true, 1),
    Column::keep("Retained size", true),
    Column::optional("%", true, 2),
];

impl Render for TreeReport {
    fn table(&self) -> String {
        format!(
            "{}\n{}\n",
            text::line("", &text::escape(&self.headline()), 2),
            text::fit_table(&COLUMNS, self.rows("  "), |_, _| None)
        )
    }

    fn markdown(&self) -> String {
        // Markdown collapses leading spaces: indent with non-breaking spaces.
        format!(
            "### Dominator tree\n\n{}\n\n{}",
            super::md_cell(&self.headline()),
            md_table(&HEADER, &NUMERIC, &self.rows("\u{a0}\u{a0}"))
        )
    }
}
