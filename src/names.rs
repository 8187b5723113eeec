//! Readable names for people: where a closure comes from, as `url:line:column` (one-based, as editors and
//! stack traces count), one formatter for every command and for the leak findings.
//!
//! A closure's position is its record in the snapshot's `locations` section (script id, zero-based line and
//! column). Its script's URL comes from the closure's `shared` edge (SharedFunctionInfo), then that one's
//! `script` (or `script_or_debug_info`) edge, then the Script's `name` string (V8 names the Script node
//! `system / Script` and keeps its URL behind a `name` edge; older snapshots name the node with the URL). When
//! that chain is cut, the URL of another closure of the same script id is taken. Without a URL the position
//! reads `script 82:23:25`.
//!
//! A context's variables are `context` edges named by the variable, except in contexts V8 does not treat as
//! declaration scopes (a loop body's or a block's `let`/`const`, a class body's private names): their slots
//! are unnamed `hidden` edges, numbered in slot order over the slots that hold an object (a slot holding a
//! small integer takes no number; one holding `undefined` takes a number but has no edge). The context's
//! `scope_info` edge leads to its ScopeInfo, whose `hidden` edges to strings are the local names in slot
//! order. [`context_slot`] puts the two together: slot `k` of `n` names is name `k` when the context's
//! highest slot number is `n - 1` (every slot holds an object), otherwise one of names `k..=k + n - 1 - max`.
//!
//! Cost: a lookup scans the `locations` records once (O(L)) and follows three edges of each closure it tries;
//! callers format tens to hundreds of rows, so nothing is indexed ahead.

use std::fmt;

use crate::header::{EdgeKind, NodeKind};
use crate::snapshot::Snapshot;

/// Most names [`context_slot`] offers for one slot before it gives up.
const SLOT_CANDIDATES: usize = 3;

/// The variable a hidden edge `e` out of a `system / Context` holds, named from the context's scope_info
/// (module docs), `from` being the edge's source: `pendingAcks`, or `label or pendingAcks` when slots holding
/// small integers leave two or three names possible. `None` for other edges and sources, or when the
/// scope_info does not list enough names.
pub fn context_slot(s: &Snapshot, from: u32, e: usize) -> Option<String> {
    if s.edge_kind(e) != EdgeKind::Hidden || !s.name_bytes(from).starts_with(b"system / Context") {
        return None;
    }
    let k = s.edge_name[e] as usize;
    let mut max = 0usize;
    let mut scope_info = None;
    for f in s.edges(from) {
        match s.edge_kind(f) {
            EdgeKind::Hidden | EdgeKind::Weak => max = max.max(s.edge_name[f] as usize),
            EdgeKind::Internal if s.edge_name_bytes(f) == b"scope_info" => scope_info = Some(s.edge_to(f)),
            _ => {}
        }
    }
    let info = scope_info?;
    let names: Vec<u32> = s
        .edges(info)
        .filter(|&f| s.edge_kind(f) == EdgeKind::Hidden && s.kind(s.edge_to(f)) == NodeKind::String)
        .map(|f| s.edge_to(f))
        .collect();
    let cands = slot_candidates(k, max, names.len())?;
    let words: Vec<String> = cands.map(|i| s.name(names[i]).into_owned()).collect();
    Some(match words.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => return None,
    })
}

/// Which of `n` local names slot number `k` can be when the context's highest slot number is `max` (module
/// docs), or `None` when that is more than [`SLOT_CANDIDATES`] names or the numbers do not fit `n` names.
pub fn slot_candidates(k: usize, max: usize, n: usize) -> Option<std::ops::RangeInclusive<usize>> {
    if k > max || max >= n {
        return None;
    }
    let slack = n - 1 - max;
    (slack < SLOT_CANDIDATES).then_some(k..=k + slack)
}

/// Closures of the same script tried for its URL when a closure's own chain to it is cut.
const SIBLINGS_TRIED: usize = 64;

/// Where a function's source is: script, one-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    /// V8 script id.
    pub script_id: u32,
    /// The script's URL or file name, when the snapshot has it.
    pub url: Option<String>,
    /// One-based line.
    pub line: u32,
    /// One-based column.
    pub column: u32,
}

impl fmt::Display for SourcePosition {
    /// `url:line:column`, or `script ID:line:column` without a URL.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.url {
            Some(u) => write!(f, "{u}:{}:{}", self.line, self.column),
            None => write!(f, "script {}:{}:{}", self.script_id, self.line, self.column),
        }
    }
}

/// The source position of node ordinal `node` (a closure, or any node with a `locations` record), or `None`
/// when the snapshot has none for it.
pub fn source_position(s: &Snapshot, node: u32) -> Option<SourcePosition> {
    let loc = s.locations.iter().find(|l| l.node == node)?;
    let url = script_url(s, node).or_else(|| {
        s.locations
            .iter()
            .filter(|l| l.script_id == loc.script_id && l.node != node && s.kind(l.node) == NodeKind::Closure)
            .take(SIBLINGS_TRIED)
            .find_map(|l| script_url(s, l.node))
    });
    Some(SourcePosition {
        script_id: loc.script_id,
        url,
        line: loc.line + 1,
        column: loc.column + 1,
    })
}

/// The URL of the script a closure comes from: closure -`shared`-> SharedFunctionInfo -`script`-> Script
/// -`name`-> string. `None` when the chain is cut or the name is empty or internal.
pub fn script_url(s: &Snapshot, closure: u32) -> Option<String> {
    let internal = |from: u32, names: &[&[u8]]| {
        s.edges(from)
            .find(|&e| s.edge_kind(e) == EdgeKind::Internal && names.contains(&s.edge_name_bytes(e)))
            .map(|e| s.edge_to(e))
    };
    let sfi = internal(closure, &[b"shared"])?;
    let script = internal(sfi, &[b"script", b"script_or_debug_info"])?;
    let name = if s.name_bytes(script).starts_with(b"system / Script") {
        s.name(internal(script, &[b"name"])?).into_owned()
    } else {
        s.name(script).into_owned()
    };
    (!name.is_empty() && !name.starts_with("system /") && !name.starts_with('(')).then_some(name)
}

/// The source position of `node` as text (`url:line:column`) when it is a closure that has one; what the
/// reports put in their `source` field.
pub fn closure_source(s: &Snapshot, node: u32) -> Option<String> {
    (s.kind(node) == NodeKind::Closure)
        .then(|| source_position(s, node))
        .flatten()
        .map(|p| p.to_string())
}

/// A closure as people read it: `name (url:line:column)`; `(anonymous)` for a function without a name; the
/// bare name when the snapshot has no position for it.
pub fn closure_label(s: &Snapshot, node: u32) -> String {
    let name = s.name(node);
    let name = if name.is_empty() { "(anonymous)" } else { &name };
    with_source(name, closure_source(s, node).as_deref())
}

/// `name (source)`, or `name` without a source: how tables show a node whose report carries a `source`.
pub fn with_source(name: &str, source: Option<&str>) -> String {
    match source {
        Some(src) => format!("{name} ({src})"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slot_numbers_map_to_scope_info_names() {
        // Every slot holds an object: slot k is name k.
        assert_eq!(super::slot_candidates(0, 2, 3), Some(0..=0));
        assert_eq!(super::slot_candidates(2, 2, 3), Some(2..=2));
        // Highest number 0 of two names: the other slot holds a small integer, before or after.
        assert_eq!(super::slot_candidates(0, 0, 2), Some(0..=1));
        // Too many possible names, or numbers the names cannot cover.
        assert_eq!(super::slot_candidates(0, 0, 4), None);
        assert_eq!(super::slot_candidates(3, 3, 3), None);
        assert_eq!(super::slot_candidates(1, 0, 3), None);
    }

    use super::*;

    fn closures_fixture() -> Snapshot {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/leaks/closures/3.heapsnapshot.gz");
        Snapshot::open(&path).unwrap()
    }

    #[test]
    fn the_planted_closure_reads_with_its_file_line_and_column() {
        // fixtures/gen/leaks/closures.js: `function onRequestDone(err) {` at line 23, its `(` at column 25.
        let s = closures_fixture();
        let name = s.strings_index_of(b"onRequestDone").unwrap();
        let node = (0..s.node_count() as u32)
            .find(|&o| s.kind(o) == NodeKind::Closure && s.node_name[o as usize] == name)
            .unwrap();
        let p = source_position(&s, node).unwrap();
        assert_eq!((p.line, p.column), (23, 25));
        let url = p.url.as_deref().unwrap();
        assert!(url.ends_with("closures.js"), "{url}");
        let label = closure_label(&s, node);
        assert!(label.starts_with("onRequestDone ("), "{label}");
        assert!(label.ends_with("closures.js:23:25)"), "{label}");
        assert_eq!(closure_source(&s, node).unwrap(), format!("{url}:23:25"));
    }

    #[test]
    fn a_position_without_url_names_the_script_id() {
        let p = SourcePosition {
            script_id: 82,
            url: None,
            line: 23,
            column: 25,
        };
        assert_eq!(p.to_string(), "script 82:23:25");
        assert_eq!(with_source("f", Some("a.js:1:2")), "f (a.js:1:2)");
        assert_eq!(with_source("f", None), "f");
    }

    #[test]
    fn nodes_that_are_not_closures_have_no_source() {
        let s = closures_fixture();
        assert_eq!(closure_source(&s, s.root), None);
    }
}
