//! Accumulation points: where a snapshot gathers many objects under one holder, keyed by the holder's
//! normalized retaining path so that the same holder is found again in every snapshot of a series, with or
//! without comparable object ids (Eclipse MAT's accumulation points, counted the way Cork counts growth
//! without identity).
//!
//! A point is one of:
//! * a JS container ([`containers::slots`]): an `Array`'s elements, a `Map`'s keys and values, a `Set`'s keys,
//!   the property values of an object used as a dictionary;
//! * the members of a linked structure: a run of same-class objects linked one to the next along the
//!   shortest-path (BFS) tree (a timer list's `_idleNext`, a queue's `next`, a promise's reaction chain),
//!   held by the object the run hangs from.
//!
//! Containers and chains whose holders share one normalized path (sixteen arrays at
//! `registry > groups (Array) > [*] (Object) > items (Array)`) are one point: their entries add up. Entries are found by the
//! container's edges, not by the BFS tree, so an object held by two containers is an entry of both (which is
//! how one leak held from two places is recognised as one).
//!
//! Cost: one parallel pass over the nodes and edges (containers) and one pass in BFS order (chains), then a
//! path walk per candidate holder: O(V + E) per snapshot.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::containers::{self, Shape};
use crate::analysis::Analysis;
use crate::diff::holders::Holders;
use crate::dominators::NONE;
use crate::header::{EdgeKind, NodeKind};

/// What kind of holder a point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PointKind {
    /// An array's elements.
    Array,
    /// A Map's keys and values.
    Map,
    /// A Set's keys.
    Set,
    /// An object's property values.
    Dict,
    /// The members of a linked structure hanging from the holder.
    Chain,
}

impl PointKind {
    fn from_shape(s: Shape) -> PointKind {
        match s {
            Shape::Array => PointKind::Array,
            Shape::Map => PointKind::Map,
            Shape::Set => PointKind::Set,
            Shape::Dict => PointKind::Dict,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            PointKind::Array => "elements",
            PointKind::Map => "entries",
            PointKind::Set => "keys",
            PointKind::Dict => "properties",
            PointKind::Chain => "linked",
        }
    }
}

/// One accumulation point of one snapshot.
#[derive(Debug, Clone)]
pub struct Point {
    /// Normalized path of the holder and the kind of its entries (`… > requestLog (Array) {elements}`).
    pub key: String,
    /// Its kind.
    pub kind: PointKind,
    /// The holder objects (ordinals): the containers, or the nodes the chains hang from.
    pub holders: Vec<u32>,
    /// Entry count of each holder (same order).
    pub holder_counts: Vec<u64>,
    /// The entries (ordinals), sorted and distinct.
    pub entries: Vec<u32>,
}

/// Every accumulation point of one snapshot with at least the census' minimum of entries per holder.
#[derive(Debug, Clone, Default)]
pub struct Census {
    /// Points, sorted by key.
    pub points: Vec<Point>,
    /// Key -> index in `points`.
    pub by_key: FxHashMap<String, usize>,
    /// The last two hops of a key, the last hop, and the holder's class and kind ([`tails`]) -> the one point
    /// that ends so, `None` when several do.
    pub by_tail: FxHashMap<String, Option<usize>>,
}

impl Census {
    /// The point with `key`; else the only point whose key ends with the same two hops, the same last hop, or
    /// the same holder class and kind, in that order (the same holder reached by another path in this
    /// snapshot: a module's context held by a different root, another run of the program breaking a tie
    /// between equally short paths otherwise).
    pub fn get(&self, key: &str) -> Option<&Point> {
        if let Some(&i) = self.by_key.get(key) {
            return Some(&self.points[i]);
        }
        tails(key)
            .iter()
            .find_map(|t| self.by_tail.get(t).copied().flatten())
            .map(|i| &self.points[i])
    }
}

/// The fallbacks of [`Census::get`] for a key: its last two hops, its last hop, its holder's class and kind.
fn tails(key: &str) -> [String; 3] {
    let last = key.rsplit(" > ").next().unwrap_or(key);
    let class = last.find(" (").map_or(last, |i| &last[i + 1..]);
    [tail(key), format!("1:{last}"), format!("0:{class}")]
}

/// The last two hops of a point key: the holder's shape (`[*] ({name, items}) > items (Array) {elements}`).
pub fn tail(key: &str) -> String {
    let parts: Vec<&str> = key.rsplitn(3, " > ").collect();
    parts[..parts.len().min(2)].join(" < ")
}

/// Whether a node can be a link of a chain.
fn linkable(an: &Analysis, v: u32) -> bool {
    matches!(an.snap.kind(v), NodeKind::Object | NodeKind::Hidden | NodeKind::Native)
}

/// The chains of `an`: for each node that a run of at least `min` same-class linked objects hangs from, the
/// members (in BFS order).
fn chains(an: &Analysis, h: &Holders, min: u64) -> Vec<(u32, Vec<u32>)> {
    let s = &an.snap;
    let class = &an.classes.of_node;
    let mut head = vec![NONE; s.node_count()];
    let mut members: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for &x in &h.order {
        let e = h.parent_edge[x as usize];
        if e == NONE {
            continue;
        }
        let p = h.parent[x as usize];
        if !matches!(
            s.edge_kind(e as usize),
            EdgeKind::Property | EdgeKind::Internal | EdgeKind::Hidden
        ) || class[x as usize] != class[p as usize]
            || !linkable(an, x)
            || !linkable(an, p)
        {
            continue;
        }
        let q = if head[p as usize] != NONE {
            head[p as usize]
        } else {
            let q = h.parent[p as usize];
            if h.parent_edge[p as usize] == NONE {
                continue;
            }
            head[p as usize] = q;
            members.entry(q).or_default().push(p);
            q
        };
        head[x as usize] = q;
        members.entry(q).or_default().push(x);
    }
    let mut out: Vec<(u32, Vec<u32>)> = members.into_iter().filter(|(_, m)| m.len() as u64 >= min).collect();
    out.sort_unstable_by_key(|c| c.0);
    out
}

/// The census of `an` (with its BFS holders `h`): containers and chains with at least `min` entries, and
/// containers with at least `few` entries that retain `bytes` together.
pub fn census(an: &Analysis, h: &Holders, min: u64, few: u64, bytes: u64) -> Census {
    let s = &an.snap;
    let min = min.max(2);
    let few = few.clamp(2, min);
    let found = containers::find(an, min, few, bytes);
    let mut raw: Vec<(u32, PointKind, Vec<u32>)> = found
        .into_par_iter()
        .filter(|&(o, _)| h.parent_edge[o as usize] != NONE || h.order.first() == Some(&o))
        .map(|(o, shape)| {
            let mut entries: Vec<u32> = containers::slots(s, o, shape).into_iter().map(|x| x.target).collect();
            entries.sort_unstable();
            entries.dedup();
            (o, PointKind::from_shape(shape), entries)
        })
        .filter(|(_, _, e)| e.len() as u64 >= few)
        .collect();
    for (q, mut m) in chains(an, h, min) {
        m.sort_unstable();
        raw.push((q, PointKind::Chain, m));
    }
    let keyed: Vec<(String, u32, PointKind, Vec<u32>)> = raw
        .into_par_iter()
        .map(|(o, kind, entries)| {
            let key = format!("{} {{{}}}", h.path_to(an, o), kind.suffix());
            (key, o, kind, entries)
        })
        .collect();
    let mut by_key: FxHashMap<String, Point> = FxHashMap::default();
    for (key, o, kind, entries) in keyed {
        let p = by_key.entry(key.clone()).or_insert_with(|| Point {
            key,
            kind,
            holders: vec![],
            holder_counts: vec![],
            entries: vec![],
        });
        p.holders.push(o);
        p.holder_counts.push(entries.len() as u64);
        p.entries.extend(entries);
    }
    let mut points: Vec<Point> = by_key.into_values().collect();
    points.par_iter_mut().for_each(|p| {
        p.entries.sort_unstable();
        p.entries.dedup();
    });
    points.sort_by(|a, b| a.key.cmp(&b.key));
    let by_key = points.iter().enumerate().map(|(i, p)| (p.key.clone(), i)).collect();
    let mut by_tail: FxHashMap<String, Option<usize>> = FxHashMap::default();
    for (i, p) in points.iter().enumerate() {
        for t in tails(&p.key) {
            by_tail.entry(t).and_modify(|x| *x = None).or_insert(Some(i));
        }
    }
    Census {
        points,
        by_key,
        by_tail,
    }
}
