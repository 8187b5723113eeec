//! Leak findings: one per root cause, ranked by what a fix frees, named as the code names it.
//!
//! Pipeline of [`evaluate`]:
//! 1. a census of the accumulation points of every snapshot ([`points`]): containers and linked structures
//!    holding many entries, keyed by the holder's normalized retaining path (so the same holder is found in
//!    every snapshot, with or without comparable ids);
//! 2. the points whose entry count grew by at least `min_count` at every step of the series;
//! 3. engine and browser internals set aside ([`internals`]): V8 internals, `blink::`/`cppgc` classes, the
//!    browser's capped buffers;
//! 4. one finding per root cause: points visited from the shallowest holder down; a point held through the
//!    entries of a reported one (on its shortest path, or dominated by one of them) is part of that finding; a
//!    point whose entries are mostly another reported point's entries (one leak held from two places) joins it;
//! 5. per finding and snapshot, what a fix frees: the retained sizes of its entries that no other of its
//!    entries dominates (the objects held only through the holders, and what they alone keep alive);
//! 6. growing classes that no finding holds get a `class-growth` finding;
//! 7. ranked by the growth of what a fix frees, then count; the rule name only labels a finding.
//!
//! Naming ([`naming`]): the holder as the code names it (variable and where it lives, property path),
//! closures by function name and 1-based `file:line:column`, and a one-line path without root and engine
//! hops; the full folded path stays in `holder` for `--suppress path:`.

pub mod containers;
pub mod internals;
pub mod naming;
pub mod points;

use fixedbitset::FixedBitSet;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::diff::compare::ClassMap;
use crate::diff::holders::Holders;
use crate::diff::{DiffClassRow, Mode};
use crate::dominators::NONE;
use crate::header::{EdgeKind, NodeKind};
use points::{Census, PointKind};

/// A source location: V8's raw script id, 0-based line and column, plus the script's URL or file name and the
/// 1-based line and column editors show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceLocation {
    /// V8 script id.
    pub script_id: u32,
    /// Zero-based line (as in the snapshot).
    pub line: u32,
    /// Zero-based column (as in the snapshot).
    pub column: u32,
    /// Function name, when the location is a function's.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub function: Option<String>,
    /// The script's URL or file name, when the snapshot has it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// One-based line, as editors show it.
    pub line_number: u32,
    /// One-based column, as editors show it.
    pub column_number: u32,
}

/// A class among what accumulates at a finding's holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Accumulated {
    /// Class name.
    pub class: String,
    /// Entries of the class at the holder in each snapshot.
    pub counts: Vec<u64>,
}

/// What one accumulated entry holds, on average.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Held {
    /// Class name (closures: `name()`).
    pub class: String,
    /// Objects of the class per entry (mean over the entries sampled).
    pub per_entry: f64,
}

/// One leak finding: one root cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// Label (`unbounded-array`, `unbounded-queue`, `map-keys`, `set-keys`, `cache`, `closures`, `listeners`,
    /// `timers`, `promise-reactions`, `linked-list`, `strings`, `sliced-strings`, `buffer-views`, `detached-dom`,
    /// `class-growth`); it does not order findings.
    pub rule: String,
    /// The class that accumulates (the most common real class of the entries).
    pub class: String,
    /// One line: what accumulates where (`RequestLogEntry in requestLog`).
    pub title: String,
    /// The holder as the code names it (`requestLog`, `bus._events['config-changed']`).
    pub holder_name: String,
    /// Where that name lives (`a module-level variable of server.js`, `captured by onScroll (app.js:31:12)`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub holder_scope: String,
    /// The retaining path of the holder in one line, without root and engine hops.
    pub path: String,
    /// The full folded retaining path of the holder from a root (what `--suppress path:` matches).
    pub holder: String,
    /// Other holders of the same objects (one leak held from several places), as the code names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_holders: Vec<String>,
    /// Entries at the holder(s) in each snapshot.
    pub counts: Vec<u64>,
    /// What a fix frees in each snapshot: bytes held only through the holder(s).
    pub freed: Vec<u64>,
    /// Growth of the entries, last snapshot − first.
    pub count_delta: i64,
    /// Growth of the entries' shallow size.
    pub size_delta: i64,
    /// Growth of what a fix frees (`freed`, last − first): the ranking key.
    pub retained_delta: i64,
    /// What accumulates, by class, most first.
    pub accumulates: Vec<Accumulated>,
    /// What each entry of the main class holds, on average (dominated objects, by class).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub each_holds: Vec<Held>,
    /// Source location (closures, listeners, timers' callbacks).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<SourceLocation>,
    /// Closures: the captured variables that hold the growth, most first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captured: Vec<String>,
    /// Why this is a leak, in one line.
    pub reason: String,
    /// Classes of what the accumulating objects hold (most first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_classes: Vec<String>,
    /// An example entry in the last snapshot (`@id`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub example_id: Option<u32>,
}

/// Thresholds shared by the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOptions {
    /// Minimum growth in objects per step for a finding.
    pub min_count: u64,
    /// Minimum growth in retained bytes for a class-growth finding.
    pub min_retained: u64,
    /// Report engine and browser internals as findings too.
    pub include_internals: bool,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            min_count: 50,
            min_retained: 16 * 1024,
            include_internals: false,
        }
    }
}

/// What the rules look at.
pub struct DiffContext<'a> {
    /// Snapshots, oldest first.
    pub snaps: &'a [Analysis],
    /// Global class table.
    pub classes: &'a ClassMap,
    /// Per snapshot: local class index -> global class index.
    pub global: &'a [Vec<u32>],
    /// Per snapshot: ordinals of sized nodes, sorted by id (ids mode).
    pub sorted: &'a [Vec<u32>],
    /// BFS holders of every snapshot.
    pub holders: &'a [Holders],
    /// Class rows.
    pub rows: &'a [DiffClassRow],
    /// How objects were matched.
    pub mode: Mode,
    /// Thresholds.
    pub options: &'a RuleOptions,
}

impl<'a> DiffContext<'a> {
    /// The last snapshot.
    pub fn last(&self) -> &'a Analysis {
        &self.snaps[self.snaps.len() - 1]
    }

    /// Global class index of node `o` of snapshot `i`.
    pub fn class_of(&self, i: usize, o: u32) -> u32 {
        self.global[i][self.snaps[i].classes.of_node[o as usize] as usize]
    }

    /// Class name of node `o` of snapshot `i`.
    pub fn class_name(&self, i: usize, o: u32) -> &str {
        &self.classes.classes[self.class_of(i, o) as usize].1
    }
}

/// Findings, and the growth of engine and browser internals set aside.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Findings, largest fix first.
    pub findings: Vec<Finding>,
    /// Internals that grew (not findings unless `include_internals`).
    pub internals: Vec<Finding>,
}

/// A growing point of the last snapshot, before grouping.
struct Growing {
    key: String,
    kind: PointKind,
    depth: usize,
    counts: Vec<u64>,
}

/// One root cause while it is assembled.
struct Group {
    points: Vec<usize>,
    internal: bool,
}

/// Number of hops in a point key (`a > b > c {…}` has 3).
fn depth(key: &str) -> usize {
    key.matches(" > ").count() + 1
}

/// Entries sampled per finding for what each holds.
const SAMPLE: usize = 256;

/// Run the analysis: see the module docs.
pub fn evaluate(ctx: &DiffContext) -> Verdict {
    let k = ctx.snaps.len() - 1;
    let min = ctx.options.min_count.max(1);
    let censuses: Vec<Census> = {
        let _t = crate::timing::Phase::start("accumulation points");
        (0..=k)
            .into_par_iter()
            .map(|i| {
                let opts = ctx.options;
                points::census(
                    &ctx.snaps[i],
                    &ctx.holders[i],
                    (min / 2).max(2),
                    (min / 10).max(2),
                    opts.min_retained,
                )
            })
            .collect()
    };
    let last = &censuses[k];
    let an = ctx.last();
    let h = &ctx.holders[k];
    let s = &an.snap;

    // 2. Points that grew at every step: by `min_count` entries, or by a tenth of that and `min_retained`
    // bytes of what they alone hold (a few large objects per step: DOM trees, buffers).
    let mut growing: Vec<Growing> = last
        .points
        .iter()
        .filter_map(|p| {
            let counts: Vec<u64> = censuses
                .iter()
                .map(|c| c.get(&p.key).map_or(0, |q| q.entries.len() as u64))
                .collect();
            counts
                .windows(2)
                .all(|w| w[1] >= w[0] + (min / 10).max(1))
                .then(|| Growing {
                    key: p.key.clone(),
                    kind: p.kind,
                    depth: depth(&p.key),
                    counts,
                })
        })
        .collect();
    growing.sort_by(|a, b| a.depth.cmp(&b.depth).then_with(|| a.key.cmp(&b.key)));
    let keys: Vec<Vec<&str>> = growing.iter().map(|g| vec![g.key.as_str()]).collect();
    let held = freed_per_snapshot(ctx, &censuses, &keys);
    let min_bytes = ctx.options.min_retained;
    let keep: Vec<bool> = growing
        .iter()
        .enumerate()
        .map(|(i, g)| {
            // Listener lists stay short in a healthy program (Node warns past 10 per event): one that grows
            // at every step by a tenth of `min_count` is a leak whatever it holds.
            let listeners = g.key.contains("> _events (") || {
                let p = last.get(&g.key).expect("in the last census");
                p.entries
                    .iter()
                    .take(8)
                    .any(|&e| s.name_bytes(e).ends_with(b"RegisteredEventListener"))
            };
            listeners
                || g.counts.windows(2).all(|w| w[1] >= w[0] + min)
                || held.windows(2).all(|w| w[1][i] >= w[0][i] + min_bytes)
        })
        .collect();
    let mut keep = keep.into_iter();
    growing.retain(|_| keep.next().unwrap_or(false));

    // 3.-4. Internals aside; nesting and shared entries group points into root causes.
    let mut groups: Vec<Group> = Vec::new();
    let mut marked = FixedBitSet::with_capacity(s.node_count());
    let mut entries_of: Vec<Vec<u32>> = Vec::new();
    for (gi, g) in growing.iter().enumerate() {
        let p = last.get(&g.key).expect("growing points come from the last census");
        entries_of.push(p.entries.clone());
        debug_assert_eq!(entries_of.len(), gi + 1);
        let internal = internals::is_internal_point(ctx, p);
        if !internal {
            let nested = p.holders.iter().filter(|&&c| inside(an, h, &marked, c)).count();
            if nested * 2 >= p.holders.len().max(1) && nested > 0 {
                continue;
            }
        }
        let growth = g.counts[k] - g.counts[0];
        let joined = groups.iter().position(|grp| {
            grp.internal == internal && 2 * overlap(&p.entries, &union(&grp.points, &entries_of)) >= growth
        });
        if !internal {
            for &e in &p.entries {
                marked.insert(e as usize);
            }
        }
        match joined {
            Some(j) => groups[j].points.push(gi),
            None => groups.push(Group {
                points: vec![gi],
                internal,
            }),
        }
    }

    // Holders of one shape reached by different paths (one of sixteen `items` arrays also held by a local
    // variable) are one root cause: groups whose main points end with the same two hops join.
    let mut merged: Vec<Group> = Vec::new();
    let mut tails: Vec<(String, bool)> = Vec::new();
    for g in groups {
        let t = (points::tail(&growing[g.points[0]].key), g.internal);
        match tails.iter().position(|x| *x == t) {
            Some(j) if depth(&growing[g.points[0]].key) > 2 => merged[j].points.extend(g.points),
            _ => {
                tails.push(t);
                merged.push(g);
            }
        }
    }
    let groups = merged;

    // 5. What a fix frees, per group and snapshot.
    let keys: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| g.points.iter().map(|&pi| growing[pi].key.as_str()).collect())
        .collect();
    let freed = freed_per_snapshot(ctx, &censuses, &keys);

    // Closures capturing the holders' contexts, for naming (one pass over the closures of the last snapshot).
    let contexts: Vec<u32> = groups
        .iter()
        .flat_map(|g| g.points.iter())
        .filter_map(|&pi| last.get(&growing[pi].key))
        .flat_map(|p| p.holders.iter().take(1))
        .filter_map(|&c| naming::scope_context(s, h, c))
        .collect();
    let capturing = naming::capturing_closures(s, &contexts);

    let mut findings: Vec<Finding> = Vec::new();
    let mut internal_findings: Vec<Finding> = Vec::new();
    for (f, grp) in groups.iter().enumerate() {
        let freed_f: Vec<u64> = freed.iter().map(|v| v[f]).collect();
        let finding = describe(ctx, &censuses, &growing, grp, freed_f, &capturing);
        if grp.internal {
            internal_findings.push(finding);
        } else {
            findings.push(finding);
        }
    }

    // 6. Growing classes no finding holds.
    let covered = covered(h, &marked);
    let candidates: Vec<&DiffClassRow> = ctx.rows.iter().filter(|r| grew_every_step(ctx, r)).collect();
    let members = members_of(ctx, &candidates);
    for (row, members) in candidates.into_iter().zip(members) {
        if let Some(f) = class_growth(ctx, row, &covered, &members) {
            if internals::is_internal_class(&row.name) {
                internal_findings.push(f);
            } else {
                findings.push(f);
            }
        }
    }

    let rank = |v: &mut Vec<Finding>| {
        v.sort_by(|a, b| {
            b.retained_delta
                .cmp(&a.retained_delta)
                .then(b.count_delta.cmp(&a.count_delta))
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.holder.cmp(&b.holder))
        })
    };
    if ctx.options.include_internals {
        findings.append(&mut internal_findings);
    }
    rank(&mut findings);
    rank(&mut internal_findings);
    Verdict {
        findings,
        internals: internal_findings,
    }
}

/// Per snapshot, per set of point keys: Σ retained size of the entries that no other entry of the set
/// dominates (an entry in several sets counts for the first). One O(V) pass per snapshot.
fn freed_per_snapshot(ctx: &DiffContext, censuses: &[Census], sets: &[Vec<&str>]) -> Vec<Vec<u64>> {
    (0..ctx.snaps.len())
        .into_par_iter()
        .map(|i| {
            let a = &ctx.snaps[i];
            let mut member = vec![NONE; a.snap.node_count()];
            for (f, keys) in sets.iter().enumerate() {
                for key in keys {
                    if let Some(p) = censuses[i].get(key) {
                        for &e in &p.entries {
                            if member[e as usize] == NONE {
                                member[e as usize] = f as u32;
                            }
                        }
                    }
                }
            }
            let top = a.dom.top_level_members(a.snap.root, &member, sets.len());
            let mut sums = vec![0u64; sets.len()];
            for v in top.ones() {
                sums[member[v] as usize] += a.dom.retained.get(v);
            }
            sums
        })
        .collect()
}

/// Whether `c` is held through a marked node: on its shortest path, or dominated by one.
fn inside(an: &Analysis, h: &Holders, marked: &FixedBitSet, c: u32) -> bool {
    if h.chain(&an.snap, c).iter().any(|&x| marked.contains(x as usize)) {
        return true;
    }
    let mut x = c;
    for _ in 0..512 {
        let d = an.dom.idom[x as usize];
        if d == x || d == NONE {
            return false;
        }
        if marked.contains(d as usize) {
            return true;
        }
        x = d;
    }
    false
}

/// Distinct entries of some points (sorted).
fn union(points: &[usize], entries_of: &[Vec<u32>]) -> Vec<u32> {
    let mut v: Vec<u32> = points.iter().flat_map(|&p| entries_of[p].iter().copied()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Size of the intersection of two sorted lists.
fn overlap(a: &[u32], b: &[u32]) -> u64 {
    let (mut i, mut j, mut n) = (0, 0, 0u64);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Nodes held through a marked node on the BFS tree (marked ones included), in BFS order.
fn covered(h: &Holders, marked: &FixedBitSet) -> FixedBitSet {
    let mut out = marked.clone();
    for &v in &h.order {
        let e = h.parent_edge[v as usize];
        if e != NONE && out.contains(h.parent[v as usize] as usize) {
            out.insert(v as usize);
        }
    }
    out
}

/// Whether a class row is a `class-growth` candidate: it grew by `min_count` at every step, by at least
/// `min_retained` retained bytes, and is not a primitive (strings, numbers: named by their holders instead).
fn grew_every_step(ctx: &DiffContext, row: &DiffClassRow) -> bool {
    let min = ctx.options.min_count.max(1);
    row.counts.windows(2).all(|w| w[1] >= w[0] + min)
        && row.retained_delta >= ctx.options.min_retained as i64
        && !internals::is_primitive_class(&row.name)
}

/// The sized objects of each row's class in the last snapshot, in ordinal order: one parallel pass over the
/// nodes for all rows (a pass per row cost ~40 ms each on 14 M nodes, and a two-snapshot diff of a large
/// heap has dozens of rows that grew).
fn members_of(ctx: &DiffContext, rows: &[&DiffClassRow]) -> Vec<Vec<u32>> {
    let k = ctx.snaps.len() - 1;
    let an = ctx.last();
    let mut slot = vec![NONE; ctx.classes.len()];
    for (i, row) in rows.iter().enumerate() {
        if let Some(g) = ctx.classes.get(&row.key) {
            slot[g as usize] = i as u32;
        }
    }
    const CHUNK: usize = 1 << 16;
    let n = an.snap.node_count();
    let parts: Vec<Vec<Vec<u32>>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut part = vec![Vec::new(); rows.len()];
            for v in (c * CHUNK) as u32..((c + 1) * CHUNK).min(n) as u32 {
                let r = slot[ctx.class_of(k, v) as usize];
                if r != NONE && an.snap.node_self[v as usize] > 0 {
                    part[r as usize].push(v);
                }
            }
            part
        })
        .collect();
    let mut out = vec![Vec::new(); rows.len()];
    for part in parts {
        for (o, p) in out.iter_mut().zip(part) {
            o.extend(p);
        }
    }
    out
}

/// A `class-growth` finding for a candidate row ([`grew_every_step`]) that no finding holds (less than half
/// of its objects in the last snapshot, `members`, are held through a finding's entries).
fn class_growth(ctx: &DiffContext, row: &DiffClassRow, covered: &FixedBitSet, members: &[u32]) -> Option<Finding> {
    let k = ctx.snaps.len() - 1;
    let an = ctx.last();
    let h = &ctx.holders[k];
    // Explained when the objects held through findings account for at least half of the growth.
    let held = members.iter().filter(|&&v| covered.contains(v as usize)).count() as u64;
    let growth = row.counts[k].saturating_sub(row.counts[0]);
    if members.is_empty() || 2 * held >= growth {
        return None;
    }
    // The most common folded path of the members not held through a finding.
    let mut paths: FxHashMap<String, (u64, u32)> = FxHashMap::default();
    for &v in members.iter().filter(|&&v| !covered.contains(v as usize)).take(2000) {
        let e = paths.entry(h.signature(an, v, false)).or_insert((0, v));
        e.0 += 1;
    }
    let (holder, (_, example)) = paths
        .into_iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then_with(|| b.0.cmp(&a.0)))?;
    let counts = row.counts.clone();
    let text = counts.iter().map(u64::to_string).collect::<Vec<_>>().join(" → ");
    let path = naming::short_path(an, h, example);
    Some(Finding {
        rule: "class-growth".into(),
        class: row.name.clone(),
        title: format!("{} objects, held in many places", row.name),
        holder_name: path.clone(),
        holder_scope: String::new(),
        path,
        holder,
        other_holders: vec![],
        counts: counts.clone(),
        freed: vec![],
        count_delta: counts[k] as i64 - counts[0] as i64,
        size_delta: row.size_delta,
        retained_delta: row.retained_delta,
        accumulates: vec![Accumulated {
            class: row.name.clone(),
            counts,
        }],
        each_holds: vec![],
        location: None,
        captured: vec![],
        reason: format!(
            "{} grew at every step ({text}) with no single container holding most of it",
            row.name
        ),
        held_classes: vec![],
        example_id: Some(an.snap.node_id[example as usize]),
    })
}

/// Build the finding of one group.
fn describe(
    ctx: &DiffContext,
    censuses: &[Census],
    growing: &[Growing],
    grp: &Group,
    freed: Vec<u64>,
    capturing: &FxHashMap<u32, Vec<u32>>,
) -> Finding {
    let k = ctx.snaps.len() - 1;
    let an = ctx.last();
    let s = &an.snap;
    let h = &ctx.holders[k];
    // The main point: the one that grew most.
    // The main point: the one that grew most; an array among points of one leak held from several places
    // (the list of all of them, usually), when it grew at least half as much.
    let growth = |pi: usize| growing[pi].counts[k] - growing[pi].counts[0];
    let most = *grp
        .points
        .iter()
        .max_by(|&&a, &&b| {
            growth(a)
                .cmp(&growth(b))
                .then_with(|| growing[b].key.cmp(&growing[a].key))
        })
        .expect("a group has a point");
    let main = grp
        .points
        .iter()
        .copied()
        .find(|&pi| growing[pi].kind == PointKind::Array && 2 * growth(pi) >= growth(most))
        .unwrap_or(most);
    let p = censuses[k].get(&growing[main].key).expect("in the last census");
    // Counts and classes over the union of the group's points, per snapshot.
    let mut counts = vec![0u64; k + 1];
    let mut selfs = vec![0u64; k + 1];
    let mut per_class: FxHashMap<u32, Vec<u64>> = FxHashMap::default();
    for (i, c) in censuses.iter().enumerate() {
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        for &pi in &grp.points {
            if let Some(q) = c.get(&growing[pi].key) {
                for &e in &q.entries {
                    if seen.insert(e) {
                        counts[i] += 1;
                        selfs[i] += ctx.snaps[i].snap.node_self[e as usize] as u64;
                        per_class.entry(ctx.class_of(i, e)).or_insert_with(|| vec![0; k + 1])[i] += 1;
                    }
                }
            }
        }
    }
    let mut accumulates: Vec<(u32, Vec<u64>)> = per_class.into_iter().collect();
    accumulates.sort_by(|a, b| {
        let ga = a.1[k] as i64 - a.1[0] as i64;
        let gb = b.1[k] as i64 - b.1[0] as i64;
        gb.cmp(&ga).then(a.0.cmp(&b.0))
    });
    let class_name = |g: u32| ctx.classes.classes[g as usize].1.clone();
    // The class that names what accumulates: real classes before V8 internals, most growth first.
    let tier = |g: u32| {
        let n = class_name(g);
        if internals::is_internal_class(&n) {
            2
        } else if internals::is_primitive_class(&n) {
            1
        } else {
            0
        }
    };
    let main_class = accumulates
        .iter()
        .filter(|(_, c)| c[k] > c[0])
        .min_by_key(|(g, _)| tier(*g))
        .or(accumulates.first())
        .map(|(g, _)| *g)
        .unwrap_or(0);
    // Hidden engine objects share the class `(system)`: a reaction or listener is named by its node name.
    let main_name = match p
        .entries
        .iter()
        .find(|&&e| ctx.class_of(k, e) == main_class && internals::holds_user_code(an, e))
    {
        Some(&e) => s.name(e).trim_start_matches("system / ").to_string(),
        None => class_name(main_class),
    };
    // Entries of the main class in the last snapshot (new ones first when ids say which).
    let mut main_entries: Vec<u32> = p
        .entries
        .iter()
        .copied()
        .filter(|&e| ctx.class_of(k, e) == main_class)
        .collect();
    let first_holder = p.holders[0];
    let holder = h.path_to(an, first_holder);
    let (holder_name, holder_scope) = naming::code_name(an, h, first_holder, capturing);
    let path = naming::short_path(an, h, first_holder);
    let main_tail = points::tail(&growing[main].key);
    let other_holders: Vec<String> = grp
        .points
        .iter()
        .filter(|&&pi| pi != main && points::tail(&growing[pi].key) != main_tail)
        .filter_map(|&pi| censuses[k].get(&growing[pi].key))
        .map(|q| naming::code_name(an, h, q.holders[0], capturing).0)
        .filter(|n| *n != holder_name)
        .collect();
    // Sample the newest entries (the end of the list: arrays push at the end, V8 ids grow).
    main_entries.sort_by_key(|&e| std::cmp::Reverse(s.node_id[e as usize]));
    main_entries.truncate(SAMPLE);
    let stop: FxHashSet<u32> = p.entries.iter().copied().collect();
    let (each_holds, held_classes) = each_holds(ctx, &main_entries, &stop);
    // The closure that names the entries: the entries themselves, or a reaction's handler.
    let closure = main_entries.first().copied().and_then(|e| match s.kind(e) {
        NodeKind::Closure => Some(e),
        _ if main_name.ends_with("PromiseReaction") || main_name.ends_with("EventListener") => handler(s, e),
        _ => None,
    });
    let location = closure.and_then(|c| naming::location_of(s, c));
    let captured = match closure {
        Some(c) if main_entries.first() == Some(&c) => captured_vars(an, &main_entries),
        Some(c) => captured_vars(an, &[c]),
        None => vec![],
    };
    let rule = label(ctx, censuses, growing, main, &main_name, &holder_name, &main_entries);
    let count_delta = counts[k] as i64 - counts[0] as i64;
    let freed_delta = freed[k] as i64 - freed[0] as i64;
    let what = match closure {
        Some(c) => naming::describe_closure(s, c),
        None => main_name.clone(),
    };
    let holder_name = match holder.find(" > 23 ").or_else(|| holder.find("EventTargetData")) {
        Some(_) if main_name.ends_with("RegisteredEventListener") => {
            let target = holder
                .split(" > ")
                .next()
                .unwrap_or("")
                .split(" (")
                .next()
                .unwrap_or("")
                .to_string();
            if target.starts_with("Window") {
                "window".to_string()
            } else {
                target
            }
        }
        _ => holder_name,
    };
    let title = match rule.as_str() {
        "listeners" => match holder_name.split_once("._events") {
            Some((emitter, event)) => {
                let event = event
                    .trim_start_matches('.')
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                format!("{event} listeners of {emitter}: {what}")
            }
            None if main_name.ends_with("RegisteredEventListener") => format!("listeners of {holder_name}: {what}"),
            None => format!("{what} listeners in {holder_name}"),
        },
        "timers" => format!("timers never cleared: {what} in {holder_name}"),
        "promise-reactions" => format!("reactions piling up on {holder_name}: {what}"),
        _ => format!("{what} in {holder_name}"),
    };
    let steps = k.max(1) as i64;
    let main_counts = accumulates
        .iter()
        .find(|(g, _)| *g == main_class)
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    let per_step =
        (main_counts.last().copied().unwrap_or(0) as i64 - main_counts.first().copied().unwrap_or(0) as i64) / steps;
    let counts_text = main_counts.iter().map(u64::to_string).collect::<Vec<_>>().join(" → ");
    let mut reason = format!(
        "+{per_step} {main_name} per step ({counts_text}) at {holder_name}{}",
        if holder_scope.is_empty() {
            String::new()
        } else {
            format!(", {holder_scope}")
        }
    );
    if !each_holds.is_empty() {
        let parts: Vec<String> = each_holds
            .iter()
            .take(5)
            .map(|x| format!("{} {}", fmt_per_entry(x.per_entry), x.class))
            .collect();
        reason.push_str(&format!("; each holds {}", parts.join(", ")));
    }
    if rule == "buffer-views" {
        let stores: Vec<u64> = main_entries.iter().filter_map(|&v| backing_store(s, v)).collect();
        let mean = stores.iter().sum::<u64>() / stores.len().max(1) as u64;
        reason.push_str(&format!(
            "; each view keeps an ArrayBuffer of {} alive",
            crate::report::human_size(mean)
        ));
    }
    if !captured.is_empty() {
        reason.push_str(&format!("; captured: {}", captured.join(", ")));
    }
    if !other_holders.is_empty() {
        reason.push_str(&format!("; also held by {}", other_holders.join(", ")));
    }
    reason.push_str(&format!(
        "; a fix frees {} per step",
        crate::report::human_size((freed_delta / steps).max(0) as u64)
    ));
    Finding {
        rule,
        class: main_name.clone(),
        title,
        holder_name,
        holder_scope,
        path,
        holder,
        other_holders,
        counts,
        freed,
        count_delta,
        size_delta: selfs[k] as i64 - selfs[0] as i64,
        retained_delta: freed_delta,
        accumulates: accumulates
            .into_iter()
            .take(8)
            .map(|(g, c)| Accumulated {
                class: if g == main_class {
                    main_name.clone()
                } else {
                    class_name(g)
                },
                counts: c,
            })
            .collect(),
        each_holds,
        location,
        captured,
        reason,
        held_classes,
        example_id: main_entries.first().map(|&e| s.node_id[e as usize]),
    }
}

/// The first closure within three hops of a reaction or a registered listener (its handler).
fn handler(s: &crate::snapshot::Snapshot, v: u32) -> Option<u32> {
    let mut level = vec![v];
    for _ in 0..3 {
        let mut next = Vec::new();
        for &x in &level {
            for e in s.edges(x) {
                let c = s.edge_to(e);
                match s.kind(c) {
                    NodeKind::Closure => return Some(c),
                    NodeKind::Native | NodeKind::Object | NodeKind::Hidden => next.push(c),
                    _ => {}
                }
            }
        }
        next.truncate(64);
        level = next;
    }
    None
}

/// Objects per entry as the findings print them: `1`, `4`, `~2.3` (reports use it too).
pub fn fmt_per_entry(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{}", x.round() as u64)
    } else {
        format!("~{x:.1}")
    }
}

/// What each of `entries` holds on average: the objects each dominates, by class (closures by name), real
/// classes only, at least half an object per entry; and the class names (for `held_classes`).
fn each_holds(ctx: &DiffContext, entries: &[u32], stop: &FxHashSet<u32>) -> (Vec<Held>, Vec<String>) {
    let k = ctx.snaps.len() - 1;
    let an = ctx.last();
    let s = &an.snap;
    if entries.is_empty() {
        return (vec![], vec![]);
    }
    let mut by: FxHashMap<String, u64> = FxHashMap::default();
    let mut stack: Vec<u32> = Vec::new();
    for &e in entries {
        stack.extend_from_slice(an.dom.children(e));
        let mut budget = 100_000usize;
        while let Some(v) = stack.pop() {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                stack.clear();
                break;
            }
            // Another entry (the next link of a chain) is its own entry, not what this one holds.
            if stop.contains(&v) {
                continue;
            }
            let name = if s.kind(v) == NodeKind::Closure {
                format!("{}()", naming::function_name(s, v))
            } else {
                ctx.class_name(k, v).to_string()
            };
            if !internals::is_internal_class(&name) && !internals::is_primitive_class(&name) {
                *by.entry(name).or_default() += 1;
            }
            stack.extend_from_slice(an.dom.children(v));
        }
    }
    let n = entries.len() as f64;
    let mut v: Vec<Held> = by
        .into_iter()
        .map(|(class, c)| Held {
            class,
            per_entry: c as f64 / n,
        })
        .filter(|x| x.per_entry >= 0.5)
        .collect();
    v.sort_by(|a, b| {
        b.per_entry
            .partial_cmp(&a.per_entry)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.class.cmp(&b.class))
    });
    v.truncate(12);
    let names = v
        .iter()
        .filter(|x| !x.class.ends_with("()"))
        .map(|x| x.class.clone())
        .collect();
    (v, names)
}

/// The variables the closures' contexts capture, `name (Class)`, by the bytes they retain (at least a tenth of
/// the total).
fn captured_vars(an: &Analysis, closures: &[u32]) -> Vec<String> {
    let s = &an.snap;
    let mut by: FxHashMap<String, u64> = FxHashMap::default();
    for &c in closures {
        let Some(cx) = naming::context_of(s, c) else { continue };
        for e in s.edges(cx) {
            if s.edge_kind(e) == crate::header::EdgeKind::Context {
                let t = s.edge_to(e);
                let name = format!("{} ({})", s.edge_name_text(e), crate::diff::holders::node_label(an, t));
                // Shallow size too: a captured object shared with another holder still names the capture.
                *by.entry(name).or_default() += an.dom.retained.get(t as usize).max(s.node_self[t as usize] as u64);
            }
        }
    }
    let total: u64 = by.values().sum();
    let mut v: Vec<(String, u64)> = by.into_iter().filter(|(_, b)| *b * 10 >= total && *b > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().take(5).map(|(n, _)| n).collect()
}

/// The label of a finding: what kind of holder and entries it is.
#[allow(clippy::too_many_arguments)]
fn label(
    ctx: &DiffContext,
    censuses: &[Census],
    growing: &[Growing],
    main: usize,
    main_name: &str,
    holder: &str,
    sample: &[u32],
) -> String {
    let k = ctx.snaps.len() - 1;
    let s = &ctx.last().snap;
    let g = &growing[main];
    let closures = sample.first().is_some_and(|&e| s.kind(e) == NodeKind::Closure);
    let detached = sample
        .iter()
        .filter(|&&e| internals::is_detached_dom(ctx.last(), e))
        .count();
    let rule = if detached * 2 > sample.len() && !sample.is_empty() {
        "detached-dom"
    } else if holder.contains("._events")
        || holder.contains("EventListener")
        || main_name.contains("RegisteredEventListener")
    {
        "listeners"
    } else if main_name == "Timeout" || holder.contains("TimersList") || main_name.contains("TimersList") {
        "timers"
    } else if main_name.contains("PromiseReaction") || holder.contains("PromiseReaction") {
        "promise-reactions"
    } else if closures {
        "closures"
    } else if main_name == "(sliced string)" {
        "sliced-strings"
    } else if views_keep_buffers(s, sample) {
        "buffer-views"
    } else if internals::is_primitive_class(main_name) {
        "strings"
    } else {
        match g.kind {
            PointKind::Chain => "linked-list",
            PointKind::Map => "map-keys",
            PointKind::Set => "set-keys",
            PointKind::Dict => "cache",
            PointKind::Array => {
                let p = censuses[k].get(&g.key).expect("last census");
                let steps = k.max(1) as u64;
                let per_holder_small =
                    p.holders.len() > 1 && p.holder_counts.iter().all(|&c| c < ctx.options.min_count * steps);
                if per_holder_small || p.holders.len() > 1 {
                    "class-growth"
                } else if ctx.mode == Mode::Ids && lost_oldest(ctx, censuses, &g.key) {
                    "unbounded-queue"
                } else {
                    "unbounded-array"
                }
            }
        }
    };
    rule.to_string()
}

/// Least mean backing store, in bytes, of the sampled entries for a `buffer-views` finding: views (Buffers,
/// typed arrays, DataViews) whose memory is mostly the ArrayBuffer they keep alive.
const VIEW_BACKING_MIN: u64 = 1024;

/// The backing store size of a typed array, Buffer or DataView (its `buffer` ArrayBuffer's `backing_store`),
/// `None` for other objects.
fn backing_store(s: &crate::snapshot::Snapshot, view: u32) -> Option<u64> {
    let internal = |from: u32, name: &[u8]| {
        s.edges(from)
            .find(|&e| s.edge_kind(e) == EdgeKind::Internal && s.edge_name_bytes(e) == name)
            .map(|e| s.edge_to(e))
    };
    let buffer = internal(view, b"buffer")?;
    let store = internal(buffer, b"backing_store")?;
    Some(s.node_self[store as usize] as u64)
}

/// Whether every sampled entry is a view of an ArrayBuffer and their backing stores average at least
/// [`VIEW_BACKING_MIN`]: small views keeping large buffers alive (`buf.subarray(0, 16)` of a 64 KiB frame).
fn views_keep_buffers(s: &crate::snapshot::Snapshot, sample: &[u32]) -> bool {
    let stores: Option<Vec<u64>> = sample.iter().map(|&v| backing_store(s, v)).collect();
    match stores {
        Some(st) if !st.is_empty() => st.iter().sum::<u64>() / st.len() as u64 >= VIEW_BACKING_MIN,
        _ => false,
    }
}

/// Whether, at every step, some objects the point held before are gone from it after (by id): a queue that
/// is consumed, but slower than it is filled.
fn lost_oldest(ctx: &DiffContext, censuses: &[Census], key: &str) -> bool {
    (0..ctx.snaps.len() - 1).all(|i| {
        let (Some(a), Some(b)) = (censuses[i].get(key), censuses[i + 1].get(key)) else {
            return false;
        };
        let (sa, sb) = (&ctx.snaps[i].snap, &ctx.snaps[i + 1].snap);
        let after: FxHashSet<u32> = b.entries.iter().map(|&e| sb.node_id[e as usize]).collect();
        let lost = a
            .entries
            .iter()
            .filter(|&&e| sa.kind(e) == NodeKind::Object && !after.contains(&sa.node_id[e as usize]))
            .count() as u64;
        lost >= ctx.options.min_count.max(1) / 2
    })
}

#[cfg(test)]
mod tests {
    use super::containers::testing::{diff_tiny, Tiny};

    /// A Node-like snapshot: root -> global (user root) -> `log` (Array) and `index` (Array), a `Record` per
    /// entry of `log` (each holding a `Blob` of `blob` bytes and a `tags` array of 60 `Tag`s), the first
    /// `shared` records also in `index`; plus `steady` (Array) with 100 `Steady` objects whose ids change.
    fn series_snapshot(step: u32, records: u32, shared: u32, blob: u32) -> Tiny {
        let mut t = Tiny::default();
        let root = t.node("synthetic", "", 1, 0);
        let global = t.node("object", "global", 3, 100);
        t.edge(root, "shortcut", "global", global);
        let log = t.node("object", "Array", 5, 32);
        let index = t.node("object", "Array", 7, 32);
        let steady = t.node("object", "Array", 9, 32);
        t.edge(global, "property", "log", log);
        t.edge(global, "property", "index", index);
        t.edge(global, "property", "steady", steady);
        let mut id = 1001;
        for r in 0..records {
            let rec = t.node("object", "Record", 100_000 + 2 * r, 40);
            t.edge(log, "element", r, rec);
            if r < shared {
                t.edge(index, "element", r, rec);
            }
            let b = t.node("object", "Blob", 300_000 + 2 * r, blob);
            t.edge(rec, "property", "blob", b);
            let tags = t.node("object", "Array", 500_000 + 2 * r, 16);
            t.edge(rec, "property", "tags", tags);
            for j in 0..60 {
                let tag = t.node("object", "Tag", 1_000_000 + 200 * r + 2 * j, 8);
                t.edge(tags, "element", j, tag);
            }
        }
        for j in 0..100 {
            let o = t.node("object", "Steady", 10_000_000 + 1000 * step + 2 * j + id, 24);
            t.edge(steady, "element", j, o);
        }
        id += 1;
        let _ = id;
        t
    }

    #[test]
    fn one_finding_per_root_cause_nested_growth_included() {
        // `log` grows by 60 records per step; each record's `tags` array (60 Tags) is a container of its own
        // that grows in aggregate: it is part of the log's finding, not a finding.
        let series: Vec<Tiny> = (0..3).map(|i| series_snapshot(i, 60 + 60 * i, 0, 100)).collect();
        let report = diff_tiny(&series);
        assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
        let f = &report.findings[0];
        assert_eq!(f.rule, "unbounded-array");
        assert_eq!(f.class, "Record");
        assert_eq!(f.counts, vec![60, 120, 180]);
        // A fix frees each record with its blob, tags array and 60 tags: 40 + 100 + 16 + 480 bytes.
        assert_eq!(f.retained_delta, 120 * (40 + 100 + 16 + 60 * 8));
        assert_eq!(f.holder_name, "globalThis.log");
    }

    #[test]
    fn a_leak_held_from_two_places_is_one_finding_and_frees_what_both_hold() {
        // Every record is in `log` and in `index`: neither array's dominator-retained size holds them.
        let series: Vec<Tiny> = (0..3)
            .map(|i| series_snapshot(i, 60 + 60 * i, 60 + 60 * i, 100))
            .collect();
        let report = diff_tiny(&series);
        assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
        let f = &report.findings[0];
        let mut names = f.other_holders.clone();
        names.push(f.holder_name.clone());
        names.sort();
        assert_eq!(names, ["globalThis.index", "globalThis.log"]);
        assert_eq!(f.retained_delta, 120 * (40 + 100 + 16 + 60 * 8));
    }

    #[test]
    fn a_steady_series_gives_no_findings() {
        let series: Vec<Tiny> = (0..3).map(|i| series_snapshot(i, 60, 0, 100)).collect();
        let report = diff_tiny(&series);
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
    }

    #[test]
    fn growth_that_stops_is_not_a_finding() {
        // Plateau: 60 -> 120 -> 120.
        let series: Vec<Tiny> = [60, 120, 120]
            .iter()
            .enumerate()
            .map(|(i, &n)| series_snapshot(i as u32, n, 0, 100))
            .collect();
        let report = diff_tiny(&series);
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
    }
}
