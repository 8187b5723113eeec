//! Leak rules: small objects that look at a diff and answer with findings, each with a one-line reason the
//! user sees (memlab's leak filters, in Rust). Every rule has its own file and tests.
//!
//! Rules see a [`DiffContext`]: every snapshot (oldest first), the global class table, each snapshot's ids
//! sorted (to find an object across snapshots), the S0 -> S1 comparison, the *survivors* (objects new in S1
//! still alive in the last snapshot; for two snapshots, every new object), BFS holders in the last snapshot,
//! and the class rows. Specific rules (arrays, maps, closures, caches, listeners, detached DOM) rank above the
//! generic class-growth rule, which stays silent about classes a specific finding already explains.
//! A steady-state process gives no findings: rules require growth at every step of the series and minimum
//! counts, and V8 internals are never findings.

pub mod cache;
pub mod class_growth;
pub mod closures;
pub mod collections;
pub mod containers;
pub mod detached_dom;
pub mod listeners;
pub mod unbounded_array;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::diff::compare::{ClassMap, Comparison};
use crate::diff::holders::Holders;
use crate::diff::DiffClassRow;

/// A source location (V8's zero-based line and column, as in the snapshot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    /// V8 script id.
    pub script_id: u32,
    /// Zero-based line.
    pub line: u32,
    /// Zero-based column.
    pub column: u32,
    /// Function name, when the location is a function's.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub function: Option<String>,
}

/// One leak finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule name (`unbounded-array`, `map-keys`, `closures`, `class-growth`, ...).
    pub rule: String,
    /// Constructor name of the accumulating objects.
    pub class: String,
    /// The retaining path of the container or of the objects, as text.
    pub holder: String,
    /// Growth in objects over the series (last snapshot − first).
    pub count_delta: i64,
    /// Growth in shallow bytes.
    pub size_delta: i64,
    /// Growth in retained bytes.
    pub retained_delta: i64,
    /// Source location (closures).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<SourceLocation>,
    /// Why this is a leak, in one line.
    pub reason: String,
    /// Classes of what the accumulating objects hold (most first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_classes: Vec<String>,
    /// An example object in the last snapshot (`@id`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub example_id: Option<u32>,
}

/// Thresholds shared by the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOptions {
    /// Minimum growth in objects per step for a finding.
    pub min_count: u64,
    /// Minimum retained growth in bytes for a class-growth finding.
    pub min_retained: u64,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            min_count: 50,
            min_retained: 16 * 1024,
        }
    }
}

/// What rules look at.
pub struct DiffContext<'a> {
    /// Snapshots, oldest first.
    pub snaps: &'a [Analysis],
    /// Global class table.
    pub classes: &'a ClassMap,
    /// Per snapshot: local class index -> global class index.
    pub global: &'a [Vec<u32>],
    /// Per snapshot: ordinals of sized nodes, sorted by id.
    pub sorted: &'a [Vec<u32>],
    /// S0 -> S1 comparison.
    pub comparison: &'a Comparison,
    /// Ordinals in the last snapshot of the objects new in S1 still alive there.
    pub survivors: &'a [u32],
    /// BFS holders in the last snapshot.
    pub holders: &'a Holders,
    /// Class rows.
    pub rows: &'a [DiffClassRow],
    /// Thresholds.
    pub options: &'a RuleOptions,
    /// Containers of the last snapshot, found once for every container rule ([`containers::candidates`]).
    pub containers: std::sync::OnceLock<Vec<(u32, containers::Shape)>>,
}

impl<'a> DiffContext<'a> {
    /// The last snapshot.
    pub fn last(&self) -> &'a Analysis {
        &self.snaps[self.snaps.len() - 1]
    }

    /// Ordinal of the sized node with `id` in snapshot `i`.
    pub fn find(&self, i: usize, id: u32) -> Option<u32> {
        let s = &self.snaps[i].snap;
        let v = &self.sorted[i];
        let k = v.partition_point(|&o| s.node_id[o as usize] < id);
        v.get(k).copied().filter(|&o| s.node_id[o as usize] == id)
    }

    /// Global class index of node `o` of snapshot `i`.
    pub fn class_of(&self, i: usize, o: u32) -> u32 {
        self.global[i][self.snaps[i].classes.of_node[o as usize] as usize]
    }

    /// Class name of node `o` of snapshot `i`.
    pub fn class_name(&self, i: usize, o: u32) -> &str {
        &self.classes.classes[self.class_of(i, o) as usize].1
    }

    /// Whether a class name is a V8 internal (never a finding by itself).
    pub fn is_internal(name: &str) -> bool {
        name.starts_with('(')
            || name.starts_with("system /")
            || name.starts_with("Detached system /")
            || matches!(name, "Object" | "Function" | "Array" | "Symbol" | "Number" | "String")
    }
}

/// A leak rule.
pub trait Rule: Sync {
    /// Its name, as in findings.
    fn name(&self) -> &'static str;
    /// Specific rules (0) rank above generic ones (1).
    fn tier(&self) -> u8 {
        0
    }
    /// The findings.
    fn evaluate(&self, ctx: &DiffContext) -> Vec<Finding>;
}

/// Every rule, specific ones first.
pub fn all() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(unbounded_array::UnboundedArray),
        Box::new(collections::Collections),
        Box::new(cache::Cache),
        Box::new(closures::Closures),
        Box::new(listeners::Listeners),
        Box::new(detached_dom::DetachedDom),
        Box::new(class_growth::ClassGrowth),
    ]
}

/// Run every rule, drop generic findings that specific ones explain, and rank: tier, retained delta, size
/// delta, count delta (descending), then rule and class names.
pub fn evaluate(ctx: &DiffContext) -> Vec<Finding> {
    let rules = all();
    // Rules are independent: they run side by side, and their findings are collected in rule order.
    let per_rule: Vec<Vec<(u8, Finding)>> = rules
        .par_iter()
        .map(|r| {
            let _t = crate::timing::Phase::start(r.name());
            r.evaluate(ctx).into_iter().map(|f| (r.tier(), f)).collect()
        })
        .collect();
    let mut tiered: Vec<(u8, Finding)> = per_rule.into_iter().flatten().collect();
    let specific: Vec<Finding> = tiered.iter().filter(|(t, _)| *t == 0).map(|(_, f)| f.clone()).collect();
    tiered.retain(|(t, f)| *t == 0 || !explained(f, &specific));
    tiered.sort_by(|(ta, a), (tb, b)| {
        ta.cmp(tb)
            .then(b.retained_delta.cmp(&a.retained_delta))
            .then(b.size_delta.cmp(&a.size_delta))
            .then(b.count_delta.cmp(&a.count_delta))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.class.cmp(&b.class))
    });
    tiered.into_iter().map(|(_, f)| f).collect()
}

/// A generic finding is explained by a specific one when its class is the specific one's class or one of
/// the classes it holds, or when its holder path runs through the specific one's holder.
fn explained(f: &Finding, specific: &[Finding]) -> bool {
    specific
        .iter()
        .any(|s| s.class == f.class || s.held_classes.contains(&f.class) || f.holder.starts_with(&s.holder))
}
