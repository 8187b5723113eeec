//! DevTools' Comparison view (`calculateSnapshotDiff`, `../shared/oracle/README.md` §11) and what it lacks.
//!
//! The base snapshot is classified with the *other* snapshot's interface definitions (done by the caller with
//! [`crate::Analysis::with_interfaces`]) so `{a, b}` keys line up. Per class key, objects are matched by node
//! id: only in the base -> deleted (freed += base self), only in the other -> new (alloc += self), in both ->
//! ignored, even if resized. An object whose class key changed counts as deleted from the old key and new in
//! the new one, exactly as a per-class merge does. Nodes with self size 0 do not exist for the view.
//!
//! Implementation: each snapshot's (id, ordinal) pairs of sized nodes are sorted once by id (parallel sort,
//! O(V log V)); the merge walks both lists once. Class keys of both snapshots map to one global table.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::analysis::Analysis;

/// Global class table shared by the snapshots of a diff.
#[derive(Debug, Default, Clone)]
pub struct ClassMap {
    /// Global class -> (key, name).
    pub classes: Vec<(String, String)>,
    by_key: FxHashMap<String, u32>,
}

impl ClassMap {
    /// Global class index of every class of `an` (interning new keys).
    pub fn map(&mut self, an: &Analysis) -> Vec<u32> {
        an.classes
            .table
            .iter()
            .map(|c| {
                if let Some(&g) = self.by_key.get(&c.key) {
                    return g;
                }
                let g = self.classes.len() as u32;
                self.classes.push((c.key.clone(), c.name.clone()));
                self.by_key.insert(c.key.clone(), g);
                g
            })
            .collect()
    }

    /// Global index of a key.
    pub fn get(&self, key: &str) -> Option<u32> {
        self.by_key.get(key).copied()
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}

/// Ordinals of the nodes with a non-zero self size, sorted by node id (ties by ordinal).
pub fn sorted_by_id(an: &Analysis) -> Vec<u32> {
    let s = &an.snap;
    let mut v: Vec<u64> = (0..s.node_count() as u32)
        .into_par_iter()
        .filter(|&o| s.node_self[o as usize] != 0)
        .map(|o| (s.node_id[o as usize] as u64) << 32 | o as u64)
        .collect();
    v.par_sort_unstable();
    v.into_iter().map(|x| x as u32).collect()
}

/// Per-class counters of one comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassDelta {
    /// Objects only in the newer snapshot.
    pub new_count: u64,
    /// Objects only in the base.
    pub deleted_count: u64,
    /// Σ self of new objects.
    pub alloc_size: u64,
    /// Σ self of deleted objects.
    pub freed_size: u64,
}

/// The result of comparing `b` against base `a`.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Per global class.
    pub by_class: Vec<ClassDelta>,
    /// Ordinals (in `b`) of the new objects, sorted by id.
    pub new_in_b: Vec<u32>,
    /// Number of sized objects whose id is in both snapshots.
    pub common: u64,
    /// Of those, how many kept their class (in one process nearly all do; across processes ids collide).
    pub common_same_class: u64,
    /// A sample of the common ids (one in [`NAME_SAMPLE`]): how many were compared, and how many kept their
    /// type and V8 name (a string's content, a constructor's name). In one process nearly all do; two
    /// processes of one Node binary share their start-up heap (same ids, classes and names) but little
    /// else, so coarse classes (`(string)`, `(array)`) agree far more often than names.
    pub sampled_names: (u64, u64),
    /// Sized objects in `a` and in `b`.
    pub sizes: (u64, u64),
}

/// One common id in this many has its name compared (names are in two string tables: random reads).
pub const NAME_SAMPLE: u64 = 16;

/// Merge two snapshots' sorted id lists (from [`sorted_by_id`]).
#[allow(clippy::too_many_arguments)]
pub fn compare(
    a: &Analysis,
    a_sorted: &[u32],
    a_global: &[u32],
    b: &Analysis,
    b_sorted: &[u32],
    b_global: &[u32],
    classes: usize,
) -> Comparison {
    let mut by_class = vec![ClassDelta::default(); classes];
    let mut new_in_b = Vec::new();
    let (sa, sb) = (&a.snap, &b.snap);
    let class_a = |o: u32| a_global[a.classes.of_node[o as usize] as usize] as usize;
    let class_b = |o: u32| b_global[b.classes.of_node[o as usize] as usize] as usize;
    let (mut i, mut j) = (0, 0);
    let mut common = 0u64;
    let mut common_same_class = 0u64;
    let mut sampled_names = (0u64, 0u64);
    let deleted = |o: u32, by_class: &mut [ClassDelta]| {
        let c = &mut by_class[class_a(o)];
        c.deleted_count += 1;
        c.freed_size += sa.node_self[o as usize] as u64;
    };
    while i < a_sorted.len() || j < b_sorted.len() {
        let ia = a_sorted.get(i).map(|&o| sa.node_id[o as usize]);
        let ib = b_sorted.get(j).map(|&o| sb.node_id[o as usize]);
        match (ia, ib) {
            (Some(x), Some(y)) if x == y => {
                let (oa, ob) = (a_sorted[i], b_sorted[j]);
                if common.is_multiple_of(NAME_SAMPLE) {
                    sampled_names.0 += 1;
                    let same = sa.kind(oa) == sb.kind(ob) && sa.name_bytes(oa) == sb.name_bytes(ob);
                    sampled_names.1 += u64::from(same);
                }
                common += 1;
                if class_a(oa) == class_b(ob) {
                    common_same_class += 1;
                } else {
                    deleted(oa, &mut by_class);
                    let c = &mut by_class[class_b(ob)];
                    c.new_count += 1;
                    c.alloc_size += sb.node_self[ob as usize] as u64;
                    new_in_b.push(ob);
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                deleted(a_sorted[i], &mut by_class);
                i += 1;
            }
            (Some(_), None) => {
                deleted(a_sorted[i], &mut by_class);
                i += 1;
            }
            _ => {
                let ob = b_sorted[j];
                let c = &mut by_class[class_b(ob)];
                c.new_count += 1;
                c.alloc_size += sb.node_self[ob as usize] as u64;
                new_in_b.push(ob);
                j += 1;
            }
        }
    }
    Comparison {
        by_class,
        new_in_b,
        common,
        common_same_class,
        sampled_names,
        sizes: (a_sorted.len() as u64, b_sorted.len() as u64),
    }
}

/// Of `ids` (node ids, ascending), which are present in `later` (sorted list from [`sorted_by_id`]):
/// returns the ordinals in `later` of the survivors.
pub fn survivors(ids: &[u32], later: &Analysis, later_sorted: &[u32]) -> Vec<u32> {
    let s = &later.snap;
    let mut out = Vec::new();
    let mut j = 0;
    for &id in ids {
        while j < later_sorted.len() && s.node_id[later_sorted[j] as usize] < id {
            j += 1;
        }
        if j < later_sorted.len() && s.node_id[later_sorted[j] as usize] == id {
            out.push(later_sorted[j]);
        }
    }
    out
}
