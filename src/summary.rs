//! Aggregations behind `heapsnap summary`: DevTools' Summary view (one row per class key: count, shallow size,
//! min distance, and retained size once dominators are known) and its Statistics pie.
//!
//! Rows skip nodes whose adjusted self size is 0, as DevTools does. Counting is parallel (rayon fold over node
//! ranges into per-class partial sums), O(V) time and O(threads x classes) memory.

use std::sync::atomic::{AtomicU64, Ordering};

use fixedbitset::FixedBitSet;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::header::NodeKind;
use crate::snapshot::Snapshot;

/// JSON schema version of every report.
pub const SCHEMA_VERSION: u32 = 1;

/// One Summary row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClassRow {
    /// Class key (`,Name` or `script,line,col,Name`).
    pub key: String,
    /// Class name.
    pub name: String,
    /// Objects with a non-zero shallow size.
    pub count: u64,
    /// Σ shallow size.
    pub self_size: u64,
    /// Retained size of the class (no double counting), when dominators were computed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retained_size: Option<u64>,
    /// Minimum distance (−5: one member is unreachable; ≥ 100000000: reached only through system roots).
    pub distance: i32,
}

/// The Statistics view (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Statistics {
    /// Total size (root retained + extra native bytes).
    pub total: u64,
    /// Compiled code.
    pub code: u64,
    /// Strings.
    pub strings: u64,
    /// JS arrays (with their exclusively held elements).
    pub js_arrays: u64,
    /// Typed arrays' backing stores.
    pub typed_arrays: u64,
    /// V8 internals (`hidden`).
    pub system_objects: u64,
    /// Everything else in the JS heap.
    pub other_js_objects: u64,
    /// Native memory other than typed arrays.
    pub other_non_js_objects: u64,
}

/// Totals of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Totals {
    /// DevTools' total size.
    pub total_size: u64,
    /// Nodes.
    pub node_count: u64,
    /// Edges.
    pub edge_count: u64,
    /// Native bytes outside the heap.
    pub extra_native_bytes: u64,
    /// Summary footer: Σ counts over rows.
    pub object_count: u64,
    /// Summary footer: Σ shallow sizes over rows.
    pub shallow_size: u64,
}

#[derive(Clone, Copy)]
struct Acc {
    count: u64,
    self_size: u64,
    distance: i32,
}

/// Summary rows of all classes, unsorted (class table order). `retained`: per-class retained sizes, if known.
pub fn class_rows(a: &Analysis, retained: Option<&[u64]>) -> Vec<ClassRow> {
    let distance = a.distance();
    rows_of(a, retained, Some(distance))
}

/// [`class_rows`] without the distance column (every `distance` is `i32::MAX`), for callers that do not show
/// it (`diff`'s per-class counts): the distances, a BFS of their own (~0.4 s on 14 M nodes), are not computed
/// for it.
pub fn class_rows_without_distance(a: &Analysis, retained: Option<&[u64]>) -> Vec<ClassRow> {
    rows_of(a, retained, None)
}

fn rows_of(a: &Analysis, retained: Option<&[u64]>, distance: Option<&crate::devtools::Distances>) -> Vec<ClassRow> {
    let k = a.classes.table.len();
    let s = &a.snap;
    let empty = || {
        vec![
            Acc {
                count: 0,
                self_size: 0,
                distance: i32::MAX
            };
            k
        ]
    };
    // A fold over chunks of the size and class columns, zipped (as in `statistic_sums`: a fold over node
    // ordinals indexing each column runs several times slower); one accumulator per split of the fold, as
    // before, not one per chunk (a class table can be large).
    const CHUNK: usize = 1 << 16;
    let n = s.node_count();
    let accs = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .fold(empty, |mut acc, c| {
            let r = c * CHUNK..((c + 1) * CHUNK).min(n);
            let columns = s.node_self[r.clone()].iter().zip(&a.classes.of_node[r.clone()]);
            for (o, (&sz, &class)) in r.zip(columns) {
                if sz != 0 {
                    let c = &mut acc[class as usize];
                    c.count += 1;
                    c.self_size += sz as u64;
                    if let Some(d) = distance {
                        c.distance = c.distance.min(d[o]);
                    }
                }
            }
            acc
        })
        .reduce(empty, |mut x, y| {
            for (p, q) in x.iter_mut().zip(y) {
                p.count += q.count;
                p.self_size += q.self_size;
                p.distance = p.distance.min(q.distance);
            }
            x
        });
    accs.into_iter()
        .enumerate()
        .filter(|(_, c)| c.count > 0)
        .map(|(i, c)| ClassRow {
            key: a.classes.table[i].key.clone(),
            name: a.classes.table[i].name.clone(),
            count: c.count,
            self_size: c.self_size,
            retained_size: retained.map(|r| r[i]),
            distance: c.distance,
        })
        .collect()
}

/// Totals, with the Summary footer computed from `rows`.
pub fn totals(a: &Analysis, rows: &[ClassRow]) -> Totals {
    Totals {
        total_size: a.total_size(),
        node_count: a.snap.node_count() as u64,
        edge_count: a.snap.edge_count() as u64,
        extra_native_bytes: a.snap.header.extra_native_bytes,
        object_count: rows.iter().map(|r| r.count).sum(),
        shallow_size: rows.iter().map(|r| r.self_size).sum(),
    }
}

/// The sums of the Statistics view over the nodes (adjusted self sizes), before the totals that need the
/// dominators: native, typed-array backing stores, code, strings, JS arrays, system.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatisticSums([u64; 6]);

/// `calculateStatistics`: the node sums. Two parallel passes over the nodes and one over the edges.
/// `s.node_self` must hold the adjusted self sizes.
///
/// A JS array counts its own size plus its `elements` store's when nothing else retains the store
/// (`calculateArraySize`). A store retained by a single edge is retained by the one array whose `elements`
/// edge that is, so the stores' part is the sum over the singly retained stores, added once: the pass over
/// the nodes does not look up each array's edges again.
pub fn statistic_sums(s: &Snapshot) -> StatisticSums {
    statistic_sums_sized(s, &s.node_self)
}

/// [`statistic_sums`] with the adjusted self sizes given apart (the load computes the sums while they are out
/// of the snapshot).
pub fn statistic_sums_sized(s: &Snapshot, node_self: &[u32]) -> StatisticSums {
    let array = s.string_ids(b"Array");
    let elements = ElementsRetainers::new(s, &array);
    let buffer_data = s.string_ids(b"system / JSArrayBufferData");
    // (native, typed, code, strings, arrays, system)
    type Sums = [u64; 6];
    let add = |mut x: Sums, y: Sums| {
        for (p, q) in x.iter_mut().zip(y) {
            *p += q;
        }
        x
    };
    // Chunks of the three columns, zipped (a fold over node ordinals indexing each column ran ~4x slower).
    const CHUNK: usize = 1 << 16;
    let n = s.node_count();
    let kinds = &s.header.node_kinds;
    let mut sums = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let r = c * CHUNK..((c + 1) * CHUNK).min(n);
            let mut acc = [0u64; 6];
            let columns = s.node_type[r.clone()]
                .iter()
                .zip(&node_self[r.clone()])
                .zip(&s.node_name[r]);
            for ((&t, &sz), name) in columns {
                let sz = sz as u64;
                match kinds[t as usize] {
                    NodeKind::Hidden => acc[5] += sz,
                    NodeKind::Native => {
                        acc[0] += sz;
                        if buffer_data.contains(name) {
                            acc[1] += sz;
                        }
                    }
                    NodeKind::Code => acc[2] += sz,
                    NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString => acc[3] += sz,
                    _ if array.contains(name) => acc[4] += sz,
                    _ => {}
                }
            }
            acc
        })
        .reduce(|| [0u64; 6], add);
    sums[4] += elements.single.ones().map(|t| node_self[t] as u64).sum::<u64>();
    StatisticSums(sums)
}

/// `calculateStatistics` + the UI's pie, from the sums the load computed
/// ([`Analysis::for_summary`](crate::analysis::Analysis::for_summary)) or computed now.
pub fn statistics(a: &Analysis) -> Statistics {
    let s = &a.snap;
    let StatisticSums([native, typed, code, strings, arrays, system]) =
        a.statistic_sums.unwrap_or_else(|| statistic_sums(s));
    let native = native + s.header.extra_native_bytes;
    let total = a.total_size();
    let v8heap = total - native;
    Statistics {
        total,
        code,
        strings,
        js_arrays: arrays,
        typed_arrays: typed,
        system_objects: system,
        other_js_objects: v8heap.saturating_sub(code + strings + arrays + system),
        other_non_js_objects: native - typed,
    }
}

/// The `elements` store an array points to (its first internal edge named `elements`; `names` are the indices
/// of the string `elements`, compared instead of the bytes).
fn elements_of(s: &crate::snapshot::Snapshot, names: &[u32], o: u32) -> Option<u32> {
    s.edges(o)
        .find(|&e| s.edge_kind(e) == crate::header::EdgeKind::Internal && names.contains(&s.edge_name[e]))
        .map(|e| s.edge_to(e))
}

/// Which `elements` stores of `Array` nodes have exactly one retainer (parallel passes over the nodes and the
/// edges, two bitsets), so the Statistics view needs no reverse graph.
struct ElementsRetainers {
    /// Stores retained by exactly one edge (all of them the store of some counted array).
    single: FixedBitSet,
}

impl ElementsRetainers {
    /// `array`: the indices of the string `Array`. Three bitsets of one bit per node, shared by the threads
    /// (atomic words: the marked stores are few, so the atomic updates are too), and nothing per thread: this
    /// pass runs beside the predecessor CSR, at the peak of memory use.
    fn new(s: &Snapshot, array: &[u32]) -> Self {
        let n = s.node_count();
        let names = s.string_ids(b"elements");
        let words = || -> Vec<AtomicU64> { (0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect() };
        let bit = |t: u32| (t as usize / 64, 1u64 << (t % 64));
        let marked = words();
        (0..n as u32).into_par_iter().with_min_len(1 << 16).for_each(|o| {
            let counted = !matches!(
                s.kind(o),
                NodeKind::Hidden
                    | NodeKind::Native
                    | NodeKind::Code
                    | NodeKind::String
                    | NodeKind::ConsString
                    | NodeKind::SlicedString
            );
            if counted && array.contains(&s.node_name[o as usize]) {
                if let Some(t) = elements_of(s, &names, o) {
                    let (w, b) = bit(t);
                    marked[w].fetch_or(b, Ordering::Relaxed);
                }
            }
        });
        // Retained at least once / at least twice.
        let (once, twice) = (words(), words());
        s.par_edge_targets(1 << 20).for_each(|targets| {
            for t in targets {
                let (w, b) = bit(t);
                if marked[w].load(Ordering::Relaxed) & b != 0 && once[w].fetch_or(b, Ordering::Relaxed) & b != 0 {
                    twice[w].fetch_or(b, Ordering::Relaxed);
                }
            }
        });
        drop(marked);
        // `Block` is `usize`; heapsnap targets 64-bit platforms (checked at compile time in lib.rs).
        let single = once
            .into_iter()
            .zip(twice)
            .map(|(o, t)| (o.into_inner() & !t.into_inner()) as usize);
        ElementsRetainers {
            single: FixedBitSet::with_capacity_and_blocks(n, single),
        }
    }
}
