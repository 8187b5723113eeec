//! `heapsnap diff`: the Comparison view (DevTools-exact), retained-size deltas, survival across a series of
//! snapshots, what holds the growth (clusters of retaining paths), and the leak findings.
//!
//! Pipeline of [`run`]: load every snapshot side by side, then classify the earlier ones with the last one's
//! interface definitions (as DevTools' Comparison view does) -> map class keys to one table -> sort each snapshot's ids once ->
//! compare S0 with S1 ([`compare`]) -> survivors of S1's new objects in the last snapshot, beside the BFS holders
//! of every snapshot ([`holders`]) -> clusters of the growing classes beside the findings ([`crate::rules`]) ->
//! report. When the ids were reassigned (separate processes, or an inspector session detached between the
//! snapshots), the report says so, classes are compared by aggregates and the findings match holders by path.

pub mod compare;
pub mod holders;
pub mod order;

use std::path::PathBuf;

use anyhow::Result;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::dominators::NONE;
use crate::rules::{self, DiffContext, Finding, RuleOptions};
use crate::timing::Phase;
use compare::{ClassMap, Comparison};
use holders::Holders;

/// Version of the `diff` JSON: 2 since findings are one per root cause (new fields, `internals`), `mode`
/// `paths` replaced `aggregate`, and the counts that need comparable ids may be `null`.
pub const DIFF_SCHEMA_VERSION: u32 = 2;

/// How objects were matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// By node id (snapshots of one process whose ids V8 kept).
    Ids,
    /// By retaining paths and class aggregates: the ids were reassigned (separate processes, or an
    /// inspector session that enabled the heap profiler detached between the snapshots, which clears V8's id
    /// map), so new, deleted and surviving objects cannot be told.
    Paths,
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DiffClassRow {
    /// Class key.
    pub key: String,
    /// Class name.
    pub name: String,
    /// New objects (S1 vs S0); `null` without comparable ids.
    pub new_count: Option<u64>,
    /// Deleted objects; `null` without comparable ids.
    pub deleted_count: Option<u64>,
    /// new − deleted (without comparable ids: the count in S1 − in S0).
    pub delta_count: i64,
    /// Σ self of new objects; `null` without comparable ids.
    pub alloc_size: Option<u64>,
    /// Σ self of deleted objects; `null` without comparable ids.
    pub freed_size: Option<u64>,
    /// alloc − freed (without comparable ids: Σ self in S1 − in S0).
    pub size_delta: i64,
    /// Class retained size in the last snapshot − in the first.
    pub retained_delta: i64,
    /// Object count of the class in each snapshot.
    pub counts: Vec<u64>,
    /// Objects new in S1 still alive in the last snapshot (the same as `new_count` for two snapshots);
    /// `null` without comparable ids.
    pub surviving_count: Option<u64>,
    /// Their Σ self size in the last snapshot; `null` without comparable ids.
    pub surviving_size: Option<u64>,
    /// The count grew at every step of the series.
    pub monotonic: bool,
}

/// A group of surviving new objects of one class with the same folded retaining path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Cluster {
    /// Class name of the objects.
    pub class: String,
    /// Folded retaining path from a root to the objects.
    pub holder: String,
    /// Objects.
    pub count: u64,
    /// Σ self size.
    pub self_size: u64,
    /// Σ retained size of members not dominated by another member of the same class.
    pub retained_size: u64,
    /// One member (`@id`).
    pub example_id: u32,
}

/// Totals of a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DiffTotals {
    /// Total size of the first snapshot.
    pub before_size: u64,
    /// Total size of the last snapshot.
    pub after_size: u64,
    /// after − before.
    pub size_delta: i64,
    /// Σ new over rows (`null` without comparable ids, as the next five).
    pub new_count: Option<u64>,
    /// Σ deleted over rows.
    pub deleted_count: Option<u64>,
    /// Σ alloc over rows.
    pub alloc_size: Option<u64>,
    /// Σ freed over rows.
    pub freed_size: Option<u64>,
    /// Surviving new objects (all classes).
    pub surviving_count: Option<u64>,
    /// Their Σ self size.
    pub surviving_size: Option<u64>,
    /// Sized objects whose id is in both S0 and S1.
    pub common_objects: u64,
}

/// Everything `heapsnap diff` reports (before CI thresholds).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DiffReport {
    /// Schema version.
    pub schema_version: u32,
    /// The snapshots, oldest first.
    pub files: Vec<String>,
    /// How objects were matched.
    pub mode: Mode,
    /// A note for the reader (e.g. why aggregates are compared).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Totals.
    pub totals: DiffTotals,
    /// Class rows with any change, ranked (retained delta, then size delta, then key).
    pub classes: Vec<DiffClassRow>,
    /// What holds the growth, for the growing classes.
    pub clusters: Vec<Cluster>,
    /// Leak findings, one per root cause, largest fix first.
    pub findings: Vec<Finding>,
    /// Engine and browser internals that grew (V8 internals, `blink::`/`cppgc` classes, capped browser
    /// buffers): not findings unless `--include-internals`.
    #[serde(default)]
    pub internals: Vec<Finding>,
}

/// Options of a diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Rule thresholds.
    pub rules: RuleOptions,
    /// Classes whose holders are clustered (top N growing).
    pub cluster_classes: usize,
    /// Clusters kept per class.
    pub clusters_per_class: usize,
}

/// Load `paths` (oldest first) and diff them.
pub fn run(paths: &[PathBuf], opts: &DiffOptions) -> Result<DiffReport> {
    let (snaps, order_warning) = load_series(paths)?;
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let report = diff_analyses(&snaps, files, opts);
    warn_order(&report, order_warning);
    crate::app::dispose(snaps);
    Ok(report)
}

/// Load a series (oldest first) for [`diff_analyses`]: every snapshot side by side (their sequential passes
/// share the cores), then the earlier ones classified with the last one's interface definitions, as DevTools'
/// Comparison view does. Also the warning if the ids say the files were given newest first.
pub fn load_series(paths: &[PathBuf]) -> Result<(Vec<Analysis>, Option<String>)> {
    anyhow::ensure!(paths.len() >= 2, "a diff needs at least two snapshots (oldest first)");
    let last = paths.len() - 1;
    let t = Phase::start("load snapshots");
    let loaded: Vec<Result<Analysis>> = paths.par_iter().map(|p| crate::app::load_unclassified(p)).collect();
    let mut snaps = loaded.into_iter().collect::<Result<Vec<Analysis>>>()?;
    t.done();
    let order_warning = order::newest_first(&snaps, paths);
    let defs = std::mem::take(&mut snaps[last].interfaces);
    snaps.par_iter_mut().for_each(|a| a.classify(Some(&defs)));
    snaps[last].interfaces = defs;
    Ok((snaps, order_warning))
}

/// Print [`load_series`]'s newest-first warning, judged by object ids: only when the ids are comparable.
pub fn warn_order(report: &DiffReport, warning: Option<String>) {
    if let Some(w) = warning.filter(|_| report.mode == Mode::Ids) {
        crate::report::style::warn(&w);
    }
}

/// Diff analysed snapshots (oldest first; the earlier ones classified with the last one's interfaces).
pub fn diff_analyses(snaps: &[Analysis], files: Vec<String>, opts: &DiffOptions) -> DiffReport {
    let k = snaps.len() - 1;
    let fin = &snaps[k];
    // The BFS holders of every snapshot (each sequential, side by side) beside the comparison.
    let (holders, (classes, global, sorted, cmp, survivors, mode, rows)) = rayon::join(
        || {
            let t = Phase::start("holders");
            let h: Vec<Holders> = snaps.par_iter().map(Holders::new).collect();
            t.done();
            h
        },
        || compare_series(snaps),
    );
    let ctx = DiffContext {
        snaps,
        classes: &classes,
        global: &global,
        sorted: &sorted,
        holders: &holders,
        rows: &rows,
        mode,
        options: &opts.rules,
    };
    // Clusters (ids mode: they group the surviving new objects) beside the findings.
    let (clusters, verdict) = rayon::join(
        || {
            if mode != Mode::Ids {
                return vec![];
            }
            let t = Phase::start("clusters");
            let c = clusters(fin, &holders[k], &survivors, &global[k], &classes, opts);
            t.done();
            c
        },
        || {
            let t = Phase::start("findings");
            let f = rules::evaluate(&ctx);
            t.done();
            f
        },
    );

    let ids = mode == Mode::Ids;
    let totals = DiffTotals {
        before_size: snaps[0].total_size(),
        after_size: fin.total_size(),
        size_delta: fin.total_size() as i64 - snaps[0].total_size() as i64,
        new_count: ids.then(|| rows.iter().filter_map(|r| r.new_count).sum()),
        deleted_count: ids.then(|| rows.iter().filter_map(|r| r.deleted_count).sum()),
        alloc_size: ids.then(|| rows.iter().filter_map(|r| r.alloc_size).sum()),
        freed_size: ids.then(|| rows.iter().filter_map(|r| r.freed_size).sum()),
        surviving_count: ids.then_some(survivors.len() as u64),
        surviving_size: ids.then(|| survivors.iter().map(|&o| fin.snap.node_self[o as usize] as u64).sum()),
        common_objects: cmp.common,
    };
    let note = match mode {
        Mode::Ids => None,
        Mode::Paths => Some(format!(
            "object ids were reassigned between the snapshots (of {} shared ids, {} keep their class and {} of {} \
             sampled their name): they come from separate processes, or an inspector or DevTools session that \
             enabled the heap profiler detached between them, which clears V8's id map. Holders are matched by \
             their retaining paths and classes by their counts; new, deleted and surviving objects are unavailable",
            cmp.common, cmp.common_same_class, cmp.sampled_names.1, cmp.sampled_names.0
        )),
    };
    DiffReport {
        schema_version: DIFF_SCHEMA_VERSION,
        files,
        mode,
        note,
        totals,
        classes: rows,
        clusters,
        findings: verdict.findings,
        internals: verdict.internals,
    }
}

/// What [`compare_series`] returns: the global class table, each snapshot's local -> global classes, each
/// snapshot's sized ordinals sorted by id, the S0 -> S1 comparison, the survivors in the last snapshot of S1's
/// new objects, how objects were matched, and the class rows.
type Compared = (
    ClassMap,
    Vec<Vec<u32>>,
    Vec<Vec<u32>>,
    Comparison,
    Vec<u32>,
    Mode,
    Vec<DiffClassRow>,
);

/// The comparison part of a diff: class table, id merge, survivors, per-class rows.
fn compare_series(snaps: &[Analysis]) -> Compared {
    let t = Phase::start("compare");
    let k = snaps.len() - 1;
    let mut classes = ClassMap::default();
    // Map the last snapshot first so its keys win the names.
    let mut global: Vec<Vec<u32>> = vec![Vec::new(); snaps.len()];
    global[k] = classes.map(&snaps[k]);
    for i in 0..k {
        global[i] = classes.map(&snaps[i]);
    }
    let t2 = Phase::start("  sort ids");
    let sorted: Vec<Vec<u32>> = snaps.par_iter().map(compare::sorted_by_id).collect();
    t2.done();
    let t2 = Phase::start("  merge");
    let cmp: Comparison = compare::compare(
        &snaps[0],
        &sorted[0],
        &global[0],
        &snaps[1],
        &sorted[1],
        &global[1],
        classes.len(),
    );
    // Survivors in the last snapshot of S1's new objects.
    let survivors: Vec<u32> = if k == 1 {
        cmp.new_in_b.clone()
    } else {
        let mut ids: Vec<u32> = cmp
            .new_in_b
            .iter()
            .map(|&o| snaps[1].snap.node_id[o as usize])
            .collect();
        ids.sort_unstable();
        compare::survivors(&ids, &snaps[k], &sorted[k])
    };
    // Ids are only comparable within one process. Across processes they collide (V8 numbers objects in
    // allocation order) but name different objects: few shared ids keep their class, fewer their name (two
    // processes of one Node binary share the start-up heap, a fifth of the ids, with its names).
    let (sampled, same_name) = cmp.sampled_names;
    let same_process = cmp.common * 20 >= cmp.sizes.0.min(cmp.sizes.1).max(1)
        && cmp.common_same_class * 2 >= cmp.common
        && same_name * 10 >= sampled * 8;
    let mode = if same_process { Mode::Ids } else { Mode::Paths };

    t2.done();
    let t2 = Phase::start("  class rows");
    // Per-class counts and retained sizes in every snapshot.
    let nc = classes.len();
    let mut counts = vec![vec![0u64; snaps.len()]; nc];
    let mut retained = vec![vec![0u64; snaps.len()]; nc];
    let mut selfs = vec![vec![0u64; snaps.len()]; nc];
    let per_snapshot: Vec<Vec<crate::summary::ClassRow>> = snaps
        .par_iter()
        .map(|an| crate::summary::class_rows_without_distance(an, Some(&an.class_retained())))
        .collect();
    for (i, snapshot_rows) in per_snapshot.into_iter().enumerate() {
        for row in snapshot_rows {
            let g = classes.get(&row.key).expect("mapped") as usize;
            counts[g][i] = row.count;
            selfs[g][i] = row.self_size;
            retained[g][i] = row.retained_size.unwrap_or(0);
        }
    }
    t2.done();
    let mut surv_count = vec![0u64; nc];
    let mut surv_size = vec![0u64; nc];
    let fin = &snaps[k];
    for &o in &survivors {
        let g = global[k][fin.classes.of_node[o as usize] as usize] as usize;
        surv_count[g] += 1;
        surv_size[g] += fin.snap.node_self[o as usize] as u64;
    }
    let mut rows: Vec<DiffClassRow> = (0..nc)
        .filter_map(|g| {
            let (key, name) = classes.classes[g].clone();
            let d = cmp.by_class[g];
            let (new_count, deleted_count, alloc_size, freed_size) = match mode {
                Mode::Ids => (d.new_count, d.deleted_count, d.alloc_size, d.freed_size),
                // Without common ids, growth is the difference of aggregates.
                Mode::Paths => {
                    let (c0, c1) = (counts[g][0], counts[g][1]);
                    let (s0, s1) = (selfs[g][0], selfs[g][1]);
                    (
                        c1.saturating_sub(c0),
                        c0.saturating_sub(c1),
                        s1.saturating_sub(s0),
                        s0.saturating_sub(s1),
                    )
                }
            };
            let retained_delta = retained[g][k] as i64 - retained[g][0] as i64;
            if new_count == 0 && deleted_count == 0 && retained_delta == 0 {
                return None;
            }
            let c = &counts[g];
            let ids = mode == Mode::Ids;
            Some(DiffClassRow {
                key,
                name,
                new_count: ids.then_some(new_count),
                deleted_count: ids.then_some(deleted_count),
                delta_count: new_count as i64 - deleted_count as i64,
                alloc_size: ids.then_some(alloc_size),
                freed_size: ids.then_some(freed_size),
                size_delta: alloc_size as i64 - freed_size as i64,
                retained_delta,
                monotonic: c.windows(2).all(|w| w[1] > w[0]),
                counts: c.clone(),
                surviving_count: ids.then_some(surv_count[g]),
                surviving_size: ids.then_some(surv_size[g]),
            })
        })
        .collect();
    rank_rows(&mut rows);
    t.done();
    (classes, global, sorted, cmp, survivors, mode, rows)
}

/// Deterministic ranking of class rows: classes whose objects grew (count or shallow size) before those that
/// grew only by retained size (containers holding the growth), then retained delta, size delta, count delta
/// (all descending), key.
pub fn rank_rows(rows: &mut [DiffClassRow]) {
    let grew = |r: &DiffClassRow| r.delta_count > 0 || r.size_delta > 0;
    rows.sort_by(|a, b| {
        grew(b)
            .cmp(&grew(a))
            .then(b.retained_delta.cmp(&a.retained_delta))
            .then(b.size_delta.cmp(&a.size_delta))
            .then(b.delta_count.cmp(&a.delta_count))
            .then_with(|| a.key.cmp(&b.key))
    });
}

/// Group the survivors of the most-grown classes by folded retaining path.
fn clusters(
    fin: &Analysis,
    holders: &Holders,
    survivors: &[u32],
    global_last: &[u32],
    classes: &ClassMap,
    opts: &DiffOptions,
) -> Vec<Cluster> {
    let s = &fin.snap;
    // Survivors per class, ranked by their Σ self.
    // V8 internals ((compiled code), (system), system / ...) are noise here.
    let mut per_class: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for &o in survivors {
        let g = global_last[fin.classes.of_node[o as usize] as usize];
        let name = &classes.classes[g as usize].1;
        if name.starts_with('(') || name.starts_with("system /") {
            continue;
        }
        per_class.entry(g).or_default().push(o);
    }
    let mut ranked: Vec<(u32, u64, Vec<u32>)> = per_class
        .into_iter()
        .map(|(g, v)| (g, v.iter().map(|&o| s.node_self[o as usize] as u64).sum::<u64>(), v))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(opts.cluster_classes.max(1));
    // Members that are not dominated by another member of their class (retained without double counting).
    let mut member_class = vec![NONE; s.node_count()];
    for (i, (_, _, v)) in ranked.iter().enumerate() {
        for &o in v {
            member_class[o as usize] = i as u32;
        }
    }
    let top = fin.dom.top_level_members(s.root, &member_class, ranked.len());
    let mut out = Vec::new();
    for (g, _, members) in ranked.iter() {
        let mut groups: FxHashMap<String, Cluster> = FxHashMap::default();
        let signatures: Vec<String> = members.par_iter().map(|&o| holders.signature(fin, o, false)).collect();
        for (&o, sig) in members.iter().zip(signatures) {
            let c = groups.entry(sig.clone()).or_insert_with(|| Cluster {
                class: classes.classes[*g as usize].1.clone(),
                holder: sig,
                count: 0,
                self_size: 0,
                retained_size: 0,
                example_id: s.node_id[o as usize],
            });
            c.count += 1;
            c.self_size += s.node_self[o as usize] as u64;
            if top.contains(o as usize) {
                c.retained_size += fin.dom.retained.get(o as usize);
            }
        }
        let mut v: Vec<Cluster> = groups.into_values().collect();
        v.sort_by(|a, b| {
            b.retained_size
                .cmp(&a.retained_size)
                .then(b.count.cmp(&a.count))
                .then_with(|| a.holder.cmp(&b.holder))
        });
        v.truncate(opts.clusters_per_class.max(1));
        out.extend(v);
    }
    out
}
