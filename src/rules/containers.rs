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
use rustc_hash::{FxHashMap, FxHashSet};

use super::DiffContext;
use crate::analysis::Analysis;
use crate::diff::holders::node_label;
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

/// Whether a node is a string, number or other primitive (a class of last resort).
#[inline]
fn is_primitive(s: &Snapshot, t: u32) -> bool {
    matches!(
        s.kind(t),
        NodeKind::String
            | NodeKind::ConsString
            | NodeKind::SlicedString
            | NodeKind::Number
            | NodeKind::Symbol
            | NodeKind::BigInt
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

/// Containers of the wanted shapes in the last snapshot holding at least `(snapshots − 1) × min_count`
/// values (the least a container that grew by `min_count` at every step holds). The first call finds those of
/// every shape in one parallel pass (O(V + E)); the container rules share it.
pub fn candidates(ctx: &DiffContext, want: &[Shape]) -> Vec<(u32, Shape)> {
    ctx.containers
        .get_or_init(|| find_candidates(ctx, &[Shape::Array, Shape::Map, Shape::Set, Shape::Dict]))
        .iter()
        .filter(|c| want.contains(&c.1))
        .copied()
        .collect()
}

fn find_candidates(ctx: &DiffContext, want: &[Shape]) -> Vec<(u32, Shape)> {
    let an = ctx.last();
    let s = &an.snap;
    let names = Names::new(s);
    let threshold = ((ctx.snaps.len() - 1) as u64 * ctx.options.min_count).max(1);
    let collections = want.iter().any(|w| matches!(w, Shape::Map | Shape::Set));
    let objects = want.iter().any(|w| matches!(w, Shape::Array | Shape::Dict));
    let mut out: Vec<(u32, Shape)> = (0..s.node_count() as u32)
        .into_par_iter()
        .filter_map(|o| {
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
            let shape = if table != NONE {
                if !collections {
                    return None;
                }
                let held = s
                    .edges(table)
                    .filter(|&e| s.edge_kind(e) == EdgeKind::Internal && is_value(s, s.edge_to(e)))
                    .count() as u64;
                if held < threshold {
                    return None;
                }
                shape_of(s, o, true)?
            } else {
                if !objects || elements + props < threshold {
                    return None;
                }
                let shape = shape_of(s, o, false)?;
                if shape == Shape::Array && elements < threshold {
                    return None;
                }
                shape
            };
            want.contains(&shape).then_some((o, shape))
        })
        .collect();
    out.sort_unstable_by_key(|c| c.0);
    out
}

/// A container followed through the series.
#[derive(Debug, Clone)]
pub struct Series {
    /// Its shape.
    pub shape: Shape,
    /// Its ordinal in every snapshot.
    pub ords: Vec<u32>,
    /// Its slots in every snapshot.
    pub slots: Vec<Vec<Slot>>,
    /// Its entry count in every snapshot.
    pub counts: Vec<u64>,
}

impl Series {
    /// Follow container `o` of the last snapshot back through the series: `Some` when the same object (by
    /// id) is in every snapshot with the same shape and its entry count grew by at least `min_count` at every
    /// step. Reads the last snapshot's slots first and stops at the first step that did not grow.
    pub fn follow(ctx: &DiffContext, o: u32, shape: Shape) -> Option<Series> {
        let k = ctx.snaps.len() - 1;
        let id = ctx.last().snap.node_id[o as usize];
        let mut ords = vec![NONE; k + 1];
        let mut all = vec![Vec::new(); k + 1];
        let mut counts = vec![0u64; k + 1];
        ords[k] = o;
        all[k] = slots(&ctx.last().snap, o, shape);
        counts[k] = entry_count(&all[k]);
        for i in (0..k).rev() {
            let s = &ctx.snaps[i].snap;
            let oi = ctx.find(i, id)?;
            if shape_of(s, oi, table_of(s, oi).is_some()) != Some(shape) {
                return None;
            }
            all[i] = slots(s, oi, shape);
            counts[i] = entry_count(&all[i]);
            if counts[i + 1] < counts[i] + ctx.options.min_count {
                return None;
            }
            ords[i] = oi;
        }
        Some(Series {
            shape,
            ords,
            slots: all,
            counts,
        })
    }

    /// Index of the last snapshot.
    pub fn last(&self) -> usize {
        self.ords.len() - 1
    }

    /// The slots of the last snapshot whose target (by id) the container did not hold in the first one:
    /// what accumulated over the series.
    pub fn accumulated(&self, ctx: &DiffContext) -> Vec<Slot> {
        let first = &ctx.snaps[0].snap;
        let before: FxHashSet<u32> = self.slots[0].iter().map(|x| first.node_id[x.target as usize]).collect();
        let s = &ctx.last().snap;
        self.slots[self.last()]
            .iter()
            .filter(|x| !before.contains(&s.node_id[x.target as usize]))
            .copied()
            .collect()
    }

    /// Per step, the objects (not primitives: strings are flattened and re-created by the GC) the container
    /// held before the step and no longer held after it, and whether its oldest object (lowest slot) was
    /// one of them.
    pub fn lost(&self, ctx: &DiffContext) -> Vec<(u64, bool)> {
        (0..self.last())
            .map(|i| {
                let (a, b) = (&ctx.snaps[i].snap, &ctx.snaps[i + 1].snap);
                let after: FxHashSet<u32> = self.slots[i + 1].iter().map(|x| b.node_id[x.target as usize]).collect();
                let mut lost = 0u64;
                let mut oldest_lost = false;
                let mut first = true;
                for x in self.slots[i].iter().filter(|x| !is_primitive(a, x.target)) {
                    let gone = !after.contains(&a.node_id[x.target as usize]);
                    if first {
                        oldest_lost = gone;
                        first = false;
                    }
                    lost += u64::from(gone);
                }
                (lost, oldest_lost)
            })
            .collect()
    }

    /// Growth of the container's retained size, first snapshot to last.
    pub fn retained_delta(&self, ctx: &DiffContext) -> i64 {
        let k = self.last();
        ctx.snaps[k].dom.retained.get(self.ords[k] as usize) as i64
            - ctx.snaps[0].dom.retained.get(self.ords[0] as usize) as i64
    }

    /// Growth of the shallow size of the container, its backing stores and the distinct values it holds.
    pub fn size_delta(&self, ctx: &DiffContext) -> i64 {
        let shallow = |i: usize| -> u64 {
            let s = &ctx.snaps[i].snap;
            let o = self.ords[i];
            let own: u64 = s.node_self[o as usize] as u64
                + s.edges(o)
                    .filter(|&e| s.edge_kind(e) == EdgeKind::Internal && s.kind(s.edge_to(e)) == NodeKind::Array)
                    .map(|e| s.node_self[s.edge_to(e) as usize] as u64)
                    .sum::<u64>();
            let mut seen = FxHashSet::default();
            own + self.slots[i]
                .iter()
                .filter(|x| seen.insert(x.target))
                .map(|x| s.node_self[x.target as usize] as u64)
                .sum::<u64>()
        };
        shallow(self.last()) as i64 - shallow(0) as i64
    }

    /// The counts as `a -> b -> c`.
    pub fn counts_text(&self) -> String {
        self.counts.iter().map(u64::to_string).collect::<Vec<_>>().join(" -> ")
    }
}

/// One class among accumulated values.
#[derive(Debug, Clone)]
pub struct ClassCount {
    /// Global class index.
    pub class: u32,
    /// Class name.
    pub name: String,
    /// Values of the class.
    pub count: u64,
    /// One of them (ordinal in the last snapshot).
    pub example: u32,
    /// Whether they are closures.
    pub closures: bool,
    /// Whether they are strings, numbers or other primitives.
    pub primitive: bool,
}

/// Classes of the slots of the last snapshot with one of `roles`, most first (then by name).
pub fn histogram(ctx: &DiffContext, slots: &[Slot], roles: &[Role]) -> Vec<ClassCount> {
    let k = ctx.snaps.len() - 1;
    let s = &ctx.last().snap;
    let mut by: FxHashMap<u32, (u64, u32)> = FxHashMap::default();
    for x in slots.iter().filter(|x| roles.contains(&x.role)) {
        let c = by.entry(ctx.class_of(k, x.target)).or_insert((0, x.target));
        c.0 += 1;
    }
    let mut out: Vec<ClassCount> = by
        .into_iter()
        .map(|(g, (count, example))| ClassCount {
            class: g,
            name: ctx.classes.classes[g as usize].1.clone(),
            count,
            example,
            closures: s.kind(example) == NodeKind::Closure,
            primitive: is_primitive(s, example),
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    out
}

/// The class that names what accumulated: the most common real constructor; plain `Object`s, arrays and the
/// like when there is none; strings and numbers only when nothing else accumulated. V8 internals never.
pub fn dominant(hist: &[ClassCount]) -> Option<&ClassCount> {
    let rank = |c: &ClassCount| {
        if c.primitive {
            2
        } else if DiffContext::is_internal(&c.name) {
            1
        } else {
            0
        }
    };
    hist.iter()
        .filter(|c| !c.name.starts_with("system /") && (c.primitive || !c.name.starts_with('(')))
        .min_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then(b.count.cmp(&a.count))
                .then_with(|| a.name.cmp(&b.name))
        })
}

/// Whether `count` accumulated objects of global class `g` in one container are at least half of the class's
/// growth over the series: the container holds the leak, not one of many holders of it (growth spread
/// over many containers is the `class-growth` rule's).
pub fn holds_most_of(ctx: &DiffContext, g: u32, count: u64) -> bool {
    let k = ctx.snaps.len() - 1;
    let growth = ctx
        .rows
        .iter()
        .find(|r| ctx.classes.get(&r.key) == Some(g))
        .map_or(0, |r| r.counts[k] as i64 - r.counts[0] as i64);
    2 * count as i64 >= growth
}

/// Names of the non-internal classes of a histogram (for `held_classes`).
pub fn held_classes(hist: &[ClassCount]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in hist {
        if !c.name.starts_with('(') && !c.name.contains("system /") && !out.contains(&c.name) {
            out.push(c.name.clone());
        }
    }
    out
}

/// The container's holder: its folded retaining path ending with its own class, `… > requestLog (Array)`
/// (the form the generic rule's holders extend, so its findings inside the container are explained).
pub fn holder(ctx: &DiffContext, o: u32) -> String {
    ctx.holders.path_to(ctx.last(), o)
}

/// A short name for a container: the property or variable that holds it (`requestLog`), prefixed by the
/// holding object's class when that is a user object (`JobQueue.pending`), else its class.
pub fn name(ctx: &DiffContext, o: u32) -> String {
    let an: &Analysis = ctx.last();
    let s = &an.snap;
    let e = ctx.holders.parent_edge[o as usize];
    if e == NONE {
        return node_label(an, o);
    }
    let e = e as usize;
    let p = ctx.holders.parent[o as usize];
    let parent = node_label(an, p);
    let user_parent = s.kind(p) == NodeKind::Object && !parent.starts_with("system /") && !parent.starts_with('(');
    match s.edge_kind(e) {
        EdgeKind::Element | EdgeKind::Hidden => format!("{parent}[{}]", s.edge_name[e]),
        _ => {
            let n = s.edge_name_text(e);
            if numeric_name(n.as_bytes()).is_some() {
                format!("{parent}[{n}]")
            } else if user_parent && s.edge_kind(e) == EdgeKind::Property {
                format!("{parent}.{n}")
            } else {
                n
            }
        }
    }
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
    //! Test helpers: the leak fixtures' diffs (computed once per test binary) and a tiny snapshot writer.

    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, OnceLock};

    use crate::analysis::Analysis;
    use crate::diff::{self, DiffOptions, DiffReport};
    use crate::rules::Finding;
    use crate::snapshot::Snapshot;

    type Cache = Mutex<HashMap<String, Arc<OnceLock<DiffReport>>>>;

    /// `heapsnap diff 1 2 3` of `fixtures/leaks/<scenario>`, computed once.
    pub fn leak_report(scenario: &str) -> Arc<OnceLock<DiffReport>> {
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let cell = CACHE
            .get_or_init(Default::default)
            .lock()
            .unwrap()
            .entry(scenario.to_string())
            .or_default()
            .clone();
        cell.get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/leaks")
                .join(scenario);
            let files: Vec<PathBuf> = (1..=3).map(|i| dir.join(format!("{i}.heapsnapshot.gz"))).collect();
            diff::run(&files, &DiffOptions::default()).unwrap()
        });
        cell
    }

    /// The findings of `rule` on a leak fixture.
    pub fn findings(scenario: &str, rule: &str) -> Vec<Finding> {
        let r = leak_report(scenario);
        let report = r.get().unwrap();
        report.findings.iter().filter(|f| f.rule == rule).cloned().collect()
    }

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
