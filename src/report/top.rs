//! The `top` report: the largest objects by retained size, each with the shortest path that holds it.

use serde::{Deserialize, Serialize};

use super::{ellipsize, human_size, md_table, percent, table, Render};

/// What `heapsnap top` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
}

impl TopReport {
    fn rows(&self) -> Vec<Vec<String>> {
        self.nodes
            .iter()
            .map(|n| {
                vec![
                    ellipsize(&name_or_type(&n.name, &n.node_type), 50),
                    format!("@{}", n.id),
                    n.node_type.clone(),
                    human_size(n.self_size),
                    human_size(n.retained_size),
                    percent(n.retained_size, self.total_size),
                    n.path.as_deref().map_or_else(|| "-".to_string(), |p| ellipsize(p, 70)),
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

impl Render for TopReport {
    fn table(&self) -> String {
        format!("{}\n\n{}\n", self.headline(), table(&HEADER, &NUMERIC, self.rows()))
    }

    fn markdown(&self) -> String {
        format!(
            "### Largest objects by retained size\n\n{}\n\n{}",
            super::md_cell(&self.headline()),
            md_table(&HEADER, &NUMERIC, &self.rows())
        )
    }
}
