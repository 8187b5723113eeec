//! Shared machinery of the container rules (`unbounded-array`, `unbounded-queue`, `map-keys`, `set-keys`,
//! `cache`): find JS containers in the last snapshot, follow each one back through the series by node id,
//! count what it holds in every snapshot, and describe what accumulated.
//!
//! What a container holds, as V8 writes it:
//! * a JS `Array`: `element` edges straight from the array to its values (the `elements` backing store,
//!   `(object elements)`, is reallocated as the array grows, so only the array keeps its id);
//! * a `Map` / `Set`: an internal `table` edge to a hash table (an `array` node) whose `internal` edges are
//!   named by their slot number: entries are `[key, value, chain]` (Map) or `[key, chain]` (Set) after the
//!   header and the buckets, so keys and values are told apart by slot number modulo 3;
//! * an object used as a dictionary: `property` edges (and `element` edges for integer keys) from the object.
//!
//! `WeakMap` / `WeakSet` also have a `table`, but they do not keep their keys alive: they are never
//! containers here. Holes, `undefined` and other V8 internals (`hidden`, `array`, `code` nodes) are not values.
//!
//! Cost: [`candidates`] is one parallel pass over the nodes and edges of the last snapshot (O(V + E));
//! [`Series::follow`] looks a candidate up by id in every other snapshot (O(log V)) and reads its slots
//! (O(slots)); everything after that is linear in the slots of the candidates.

use rayon::prelude::*;

use crate::analysis::Analysis;
use crate::dominators::NONE;
use crate::header::{EdgeKind, NodeKind};
use crate::snapshot::Snapshot;

/// What kind of container an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// A JS `Array` (or a subclass).
    Array,
    /// A `Map` (or a subclass).
    Map,
    /// A `Set` (or a subclass).
    Set,
    /// Any other object, counted by its own properties (a dictionary).
    Dict,
}

/// The role of a slot in its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An array element or a dictionary property value.
    Element,
    /// A Map or Set key.
    Key,
    /// A Map value.
    Value,
}

/// One value held by a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Target ordinal.
    pub target: u32,
    /// Its role.
    pub role: Role,
}

/// String indexes of the edge names the scan compares (V8 deduplicates strings: usually one each).
struct Names {
    proto: Vec<u32>,
    table: Vec<u32>,
}

impl Names {
    fn new(s: &Snapshot) -> Names {
        Names {
            proto: s.string_ids(b"__proto__"),
            table: s.string_ids(b"table"),
        }
    }
}

/// Whether a node can be a JS value held by a container (not a hole, `undefined` or a V8 internal).
#[inline]
pub fn is_value(s: &Snapshot, t: u32) -> bool {
    !matches!(
        s.kind(t),
        NodeKind::Hidden
            | NodeKind::Array
            | NodeKind::Code
            | NodeKind::Synthetic
            | NodeKind::ObjectShape
            | NodeKind::Other
    )
}

fn numeric_name(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// The built-in a JS object derives from: its own V8 name, else the first of its `__proto__` chain (at most
/// 6 hops) named `Array`, `Map`, `Set`, `WeakMap`, `WeakSet` or `Object`.
fn builtin(s: &Snapshot, o: u32) -> &'static str {
    const BUILTINS: [&str; 6] = ["Array", "Map", "Set", "WeakMap", "WeakSet", "Object"];
    let mut x = o;
    for _ in 0..6 {
        let name = s.name_bytes(x);
        if let Some(b) = BUILTINS.iter().find(|b| b.as_bytes() == name) {
            return b;
        }
        let Some(p) = s
            .edges(x)
            .find(|&e| s.edge_kind(e) == EdgeKind::Property && s.edge_name_bytes(e) == b"__proto__")
            .map(|e| s.edge_to(e))
        else {
            break;
        };
        if s.kind(p) != NodeKind::Object {
            break;
        }
        x = p;
    }
    "Object"
}

/// The hash table of a collection (its `table` internal edge).
fn table_of(s: &Snapshot, o: u32) -> Option<u32> {
    s.edges(o)
        .find(|&e| s.edge_kind(e) == EdgeKind::Internal && s.edge_name_bytes(e) == b"table")
        .map(|e| s.edge_to(e))
        .filter(|&t| s.kind(t) == NodeKind::Array)
}

/// The shape of object `o`, given whether it has a `table`. `None` for weak collections and V8 internals.
fn shape_of(s: &Snapshot, o: u32, has_table: bool) -> Option<Shape> {
    if s.kind(o) != NodeKind::Object {
        return None;
    }
    let name = s.name_bytes(o);
    if name.starts_with(b"system /") || name.starts_with(b"(") {
        return None;
    }
    match (builtin(s, o), has_table) {
        ("Map", true) => Some(Shape::Map),
        ("Set", true) => Some(Shape::Set),
        ("WeakMap" | "WeakSet", _) | (_, true) => None,
        ("Array", false) => Some(Shape::Array),
        // The global object's properties are the program's globals, not a dictionary's entries.
        _ if name == b"global" || name.starts_with(b"Window") => None,
        _ => Some(Shape::Dict),
    }
}

/// The residue (slot number modulo 3) of a Map table's keys when only one kind of slot holds heap objects
/// (the other holds small integers or oddballs, absent from the snapshot): `observed` is that residue, `min`
/// and `max` the lowest and highest such slot.
///
/// Layout: 3 header slots, `b` buckets (a power of two), then `2b` entries of `[key, value, chain]`, so keys
/// sit at `3 + b + 3e` and their residue is `b % 3`: 1 or 2, never 0. Residue 0 is therefore values (keys at
/// 2), residue 1 keys; residue 2 is keys when `b % 3 == 2`, values when `b % 3 == 1`, with `b` the bucket
/// counts that fit the slots (`3 + b <= min`, `max < 3 + 7b`). `None` when those disagree.
/// (Sizes cannot tell `b`: DevTools moves the table's size into the Map's.)
fn map_key_residue(observed: u32, min: u32, max: u32) -> Option<u32> {
    match observed {
        0 => Some(2),
        1 => Some(1),
        _ => {
            let mut fits = (0..31)
                .map(|p| 1u64 << p)
                .filter(|&b| 3 + b <= min as u64 && (max as u64) < 3 + 7 * b)
                .map(|b| (b % 3) as u32);
            let first = fits.next()?;
            fits.all(|r| r == first).then_some(first)
        }
    }
}

/// The values held by container `o` of snapshot `s`.
pub fn slots(s: &Snapshot, o: u32, shape: Shape) -> Vec<Slot> {
    let mut out = Vec::new();
    match shape {
        Shape::Array | Shape::Dict => {
            for e in s.edges(o) {
                let t = s.edge_to(e);
                let held = match s.edge_kind(e) {
                    EdgeKind::Element => true,
                    EdgeKind::Property => shape == Shape::Dict && s.edge_name_bytes(e) != b"__proto__",
                    _ => false,
                };
                if held && is_value(s, t) {
                    out.push(Slot {
                        target: t,
                        role: Role::Element,
                    });
                }
            }
        }
        Shape::Map | Shape::Set => {
            let Some(table) = table_of(s, o) else { return out };
            let mut raw: Vec<(u32, u32)> = Vec::new();
            for e in s.edges(table) {
                let t = s.edge_to(e);
                if s.edge_kind(e) != EdgeKind::Internal || !is_value(s, t) {
                    continue;
                }
                if let Some(i) = numeric_name(s.edge_name_bytes(e)) {
                    raw.push((i, t));
                }
            }
            let key_residue = if shape == Shape::Set {
                None
            } else {
                let mut seen = [false; 3];
                for &(i, _) in &raw {
                    seen[(i % 3) as usize] = true;
                }
                // Keys are followed by their values: the residue whose successor is also used is the keys'.
                (0..3u32)
                    .find(|&r| seen[r as usize] && seen[((r + 1) % 3) as usize])
                    .or_else(|| {
                        let r = (0..3u32).find(|&r| seen[r as usize])?;
                        let min = raw.iter().map(|x| x.0).min()?;
                        let max = raw.iter().map(|x| x.0).max()?;
                        map_key_residue(r, min, max)
                    })
            };
            out.extend(raw.into_iter().map(|(i, t)| Slot {
                target: t,
                role: match (shape, key_residue) {
                    (Shape::Set, _) => Role::Key,
                    (_, Some(r)) if i % 3 == r => Role::Key,
                    _ => Role::Value,
                },
            }));
        }
    }
    out
}

/// The number of entries a container's slots stand for: elements, properties, or Map/Set entries (a Map
/// entry whose key and value are both objects is two slots).
pub fn entry_count(slots: &[Slot]) -> u64 {
    let keys = slots.iter().filter(|s| s.role == Role::Key).count();
    let values = slots.iter().filter(|s| s.role == Role::Value).count();
    let elements = slots.len() - keys - values;
    (elements + keys.max(values)) as u64
}

/// Every container of `an` holding at least `min` values, or (arrays, collections and listener lists) at least
/// `few` values that retain `bytes` or more together: one parallel pass over the nodes and their edges
/// (O(V + E)), in ordinal order.
pub fn find(an: &Analysis, min: u64, few: u64, bytes: u64) -> Vec<(u32, Shape)> {
    let s = &an.snap;
    let names = Names::new(s);
    let retained = |from: u32, kinds: &[EdgeKind]| -> u64 {
        s.edges(from)
            .filter(|&e| kinds.contains(&s.edge_kind(e)) && is_value(s, s.edge_to(e)))
            .map(|e| an.dom.retained.get(s.edge_to(e) as usize))
            .sum()
    };
    let enough =
        |count: u64, from: u32, kinds: &[EdgeKind]| count >= min || (count >= few && retained(from, kinds) >= bytes);
    let mut out: Vec<(u32, Shape)> = (0..s.node_count() as u32)
        .into_par_iter()
        .filter_map(|o| {
            if s.kind(o) == NodeKind::Native {
                // A browser's native vector (a listener list's backing store): its element edges.
                let elements = s
                    .edges(o)
                    .filter(|&e| s.edge_kind(e) == EdgeKind::Element && s.kind(s.edge_to(e)) == NodeKind::Native)
                    .count() as u64;
                let n = s.name_bytes(o);
                let backing =
                    n.starts_with(b"blink::HeapVectorBacking") || n.starts_with(b"Detached blink::HeapVectorBacking");
                return (backing && enough(elements, o, &[EdgeKind::Element])).then_some((o, Shape::Array));
            }
            if s.kind(o) != NodeKind::Object {
                return None;
            }
            let (mut elements, mut props, mut table) = (0u64, 0u64, NONE);
            for e in s.edges(o) {
                let t = s.edge_to(e);
                match s.edge_kind(e) {
                    EdgeKind::Element if is_value(s, t) => elements += 1,
                    EdgeKind::Property if is_value(s, t) && !names.proto.contains(&s.edge_name[e]) => props += 1,
                    EdgeKind::Internal if names.table.contains(&s.edge_name[e]) && s.kind(t) == NodeKind::Array => {
                        table = t
                    }
                    _ => {}
                }
            }
            if table != NONE {
                let held = s
                    .edges(table)
                    .filter(|&e| s.edge_kind(e) == EdgeKind::Internal && is_value(s, s.edge_to(e)))
                    .count() as u64;
                if !enough(held, table, &[EdgeKind::Internal]) {
                    return None;
                }
                Some((o, shape_of(s, o, true)?))
            } else {
                if elements + props < few {
                    return None;
                }
                let shape = shape_of(s, o, false)?;
                let ok = match shape {
                    Shape::Array => enough(elements, o, &[EdgeKind::Element]),
                    _ => elements + props >= min,
                };
                ok.then_some((o, shape))
            }
        })
        .collect();
    out.sort_unstable_by_key(|c| c.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_key_residues() {
        // 4096 buckets: keys at 4099 + 3e (residue 1), values at 4100 + 3e (residue 2).
        assert_eq!(map_key_residue(1, 4099, 4099 + 3 * 4499), Some(1));
        assert_eq!(map_key_residue(2, 4100, 4100 + 3 * 4499), Some(1));
        // 128 buckets: keys at 131 + 3e (residue 2), values at 132 + 3e (residue 0).
        assert_eq!(map_key_residue(0, 132, 132 + 3 * 199), Some(2));
        assert_eq!(map_key_residue(2, 131, 131 + 3 * 199), Some(2));
        // Too few slots to tell 2 buckets (keys, residue 2) from 1 (values, residue 1).
        assert_eq!(map_key_residue(2, 5, 5), None);
    }

    #[test]
    fn entries_count_map_pairs_once() {
        let slot = |target, role| Slot { target, role };
        let map = [
            slot(1, Role::Key),
            slot(2, Role::Value),
            slot(3, Role::Key),
            slot(4, Role::Value),
        ];
        assert_eq!(entry_count(&map), 2);
        assert_eq!(entry_count(&map[1..]), 2);
        assert_eq!(entry_count(&[slot(1, Role::Element), slot(2, Role::Element)]), 2);
    }

    #[test]
    fn numeric_names() {
        assert_eq!(numeric_name(b"4099"), Some(4099));
        assert_eq!(numeric_name(b"1 / part of key"), None);
        assert_eq!(numeric_name(b""), None);
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Test helpers: a tiny snapshot writer and a diff of a series of them.

    use crate::analysis::Analysis;
    use crate::diff::{self, DiffOptions, DiffReport};
    use crate::snapshot::Snapshot;

    /// A tiny snapshot: nodes `(type, name, id, self_size)` and edges `(from, type, name, to)` by node index
    /// (0 is the root); edge names of `element`/`hidden` edges are numbers.
    #[derive(Default)]
    pub struct Tiny {
        nodes: Vec<(&'static str, String, u32, u32)>,
        edges: Vec<(usize, &'static str, String, usize)>,
    }

    const NODE_TYPES: [&str; 15] = [
        "hidden",
        "array",
        "string",
        "object",
        "code",
        "closure",
        "regexp",
        "number",
        "native",
        "synthetic",
        "concatenated string",
        "sliced string",
        "symbol",
        "bigint",
        "object shape",
    ];
    const EDGE_TYPES: [&str; 7] = [
        "context", "element", "property", "internal", "hidden", "shortcut", "weak",
    ];

    impl Tiny {
        /// Add a node; returns its index.
        pub fn node(&mut self, kind: &'static str, name: &str, id: u32, size: u32) -> usize {
            self.nodes.push((kind, name.to_string(), id, size));
            self.nodes.len() - 1
        }

        /// Add an edge.
        pub fn edge(&mut self, from: usize, kind: &'static str, name: impl ToString, to: usize) {
            self.edges.push((from, kind, name.to_string(), to));
        }

        /// Serialize and analyse (classified with `interfaces` when given).
        pub fn analysis(&self, interfaces: Option<&Analysis>) -> Analysis {
            let mut strings: Vec<String> = vec![String::new()];
            let mut intern = |x: &str| -> u32 {
                if let Some(i) = strings.iter().position(|y| y == x) {
                    return i as u32;
                }
                strings.push(x.to_string());
                strings.len() as u32 - 1
            };
            let mut nodes: Vec<u32> = Vec::new();
            let mut edges: Vec<u32> = Vec::new();
            for (i, (kind, name, id, size)) in self.nodes.iter().enumerate() {
                let out: Vec<_> = self.edges.iter().filter(|e| e.0 == i).collect();
                let t = NODE_TYPES.iter().position(|k| k == kind).unwrap() as u32;
                nodes.extend([t, intern(name), *id, *size, out.len() as u32]);
                for (_, ek, en, to) in out {
                    let et = EDGE_TYPES.iter().position(|k| k == ek).unwrap() as u32;
                    let n = if matches!(*ek, "element" | "hidden") {
                        en.parse().unwrap()
                    } else {
                        intern(en)
                    };
                    edges.extend([et, n, *to as u32 * 5]);
                }
            }
            let json = serde_json::json!({
                "snapshot": {
                    "meta": {
                        "node_fields": ["type", "name", "id", "self_size", "edge_count"],
                        "node_types": [NODE_TYPES, "string", "number", "number", "number"],
                        "edge_fields": ["type", "name_or_index", "to_node"],
                        "edge_types": [EDGE_TYPES, "string_or_number", "node"]
                    },
                    "node_count": self.nodes.len(),
                    "edge_count": edges.len() / 3
                },
                "nodes": nodes,
                "edges": edges,
                "strings": strings
            });
            let snap = Snapshot::from_bytes(json.to_string().as_bytes()).unwrap();
            Analysis::with_interfaces(snap, interfaces.map(|a| a.interfaces.as_slice())).unwrap()
        }
    }

    /// Diff a series of tiny snapshots (oldest first).
    pub fn diff_tiny(series: &[Tiny]) -> DiffReport {
        let last = series.last().unwrap().analysis(None);
        let mut snaps: Vec<Analysis> = series[..series.len() - 1]
            .iter()
            .map(|t| t.analysis(Some(&last)))
            .collect();
        snaps.push(last);
        let files = (1..=snaps.len()).map(|i| format!("{i}.heapsnapshot")).collect();
        diff::diff_analyses(&snaps, files, &DiffOptions::default())
    }
}
