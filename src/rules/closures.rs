//! `closures`: retained closures. Closures new in S1 and still alive at the end are grouped by V8 function
//! name and source location (script id, zero-based line and column from the snapshot's `locations`); a group
//! is reported when its live count grew by at least `min_count` at every step of the series (each snapshot's
//! closures are grouped the same way) and at least `min_count` of its members survived.
//!
//! The finding's class is `Function`, its `location` the group's, its holder the most common folded path of
//! the members (ending with `name()`), and `held_classes` what the closures keep alive: the classes of the
//! objects their contexts capture and of everything they dominate (a class is listed when at least a tenth
//! of the members hold one). Class-growth findings for those classes are then explained by this one.
//! Reason: `2000 closures onRequestDone (/srv/app.js:23:25, script 82) were created per step and never
//! released (500 -> 2500 -> 4500); their contexts hold RequestContext, Buffer, ArrayBuffer`.
//!
//! Closures held by listener lists that the `listeners` rule reports are left to it (the listener leak is
//! the more specific explanation).
//! Cost: one pass over the nodes of every snapshot (closures matched by location, then name), plus a walk of
//! the members' dominator subtrees in the last snapshot (each node visited at most once): O(V) per snapshot.

use fixedbitset::FixedBitSet;
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use super::{listeners, DiffContext, Finding, Rule, SourceLocation};
use crate::analysis::Analysis;
use crate::header::{EdgeKind, NodeKind};
use crate::snapshot::Snapshot;

/// The rule.
pub struct Closures;

/// A closure's source position: (script id, zero-based line, zero-based column).
pub(super) type Loc = (u32, u32, u32);

/// Members sampled for the holder path.
const HOLDER_SAMPLE: usize = 2000;

/// The location of every closure that has one.
pub(super) fn closure_locations(s: &Snapshot) -> FxHashMap<u32, Loc> {
    s.locations
        .iter()
        .filter(|l| s.kind(l.node) == NodeKind::Closure)
        .map(|l| (l.node, (l.script_id, l.line, l.column)))
        .collect()
}

/// A closure's context (its `context` internal edge).
pub(super) fn context_of(s: &Snapshot, closure: u32) -> Option<u32> {
    s.edges(closure)
        .find(|&e| s.edge_kind(e) == EdgeKind::Internal && s.edge_name_bytes(e) == b"context")
        .map(|e| s.edge_to(e))
}

/// What a closure's own context captures (targets of the context's `context` edges).
pub(super) fn captured(s: &Snapshot, closure: u32) -> impl Iterator<Item = u32> + '_ {
    context_of(s, closure)
        .into_iter()
        .flat_map(move |cx| s.edges(cx))
        .filter(move |&e| s.edge_kind(e) == EdgeKind::Context)
        .map(move |e| s.edge_to(e))
}

/// The name of the script a closure comes from (its `SharedFunctionInfo`'s script), when the snapshot has it.
pub(super) fn script_name(s: &Snapshot, closure: u32) -> Option<String> {
    let internal = |from: u32, names: &[&[u8]]| {
        s.edges(from)
            .find(|&e| s.edge_kind(e) == EdgeKind::Internal && names.contains(&s.edge_name_bytes(e)))
            .map(|e| s.edge_to(e))
    };
    let sfi = internal(closure, &[b"shared"])?;
    let script = internal(sfi, &[b"script_or_debug_info", b"script"])?;
    let name = if s.name_bytes(script).starts_with(b"system / Script") {
        s.name(internal(script, &[b"name"])?).into_owned()
    } else {
        s.name(script).into_owned()
    };
    (!name.is_empty() && !name.starts_with("system /") && !name.starts_with('(')).then_some(name)
}

/// Whether a class name is a V8 internal that `held_classes` never lists.
fn is_v8_internal(name: &str) -> bool {
    name.starts_with('(') || name.contains("system /")
}

/// Classes of what `members` (closures of `an`) keep alive, most first (on ties, the classes the contexts
/// capture directly): the objects their contexts capture and every node they dominate (each node counted
/// once; members themselves and V8 internals are not).
pub(super) fn held_classes(an: &Analysis, members: &[u32]) -> Vec<(String, u64)> {
    let s = &an.snap;
    let mut seen = FixedBitSet::with_capacity(s.node_count());
    for &m in members {
        seen.insert(m as usize);
    }
    let mut per_class: FxHashMap<u32, u64> = FxHashMap::default();
    let mut count = |v: u32| *per_class.entry(an.classes.of_node[v as usize]).or_default() += 1;
    let mut stack: Vec<u32> = Vec::new();
    for &m in members {
        stack.extend_from_slice(an.dom.children(m));
        while let Some(v) = stack.pop() {
            if seen.put(v as usize) {
                continue;
            }
            count(v);
            stack.extend_from_slice(an.dom.children(v));
        }
    }
    // Captured objects count even when shared (not dominated); their subtrees are not walked.
    let mut direct: FxHashSet<u32> = FxHashSet::default();
    for &m in members {
        for o in captured(s, m) {
            direct.insert(an.classes.of_node[o as usize]);
            if !seen.put(o as usize) {
                count(o);
            }
        }
    }
    // (count, captured directly) per class name.
    let mut by_name: FxHashMap<&str, (u64, bool)> = FxHashMap::default();
    for (c, n) in per_class {
        let name = an.classes.table[c as usize].name.as_str();
        if !is_v8_internal(name) {
            let e = by_name.entry(name).or_default();
            e.0 += n;
            e.1 |= direct.contains(&c);
        }
    }
    let mut out: Vec<(&str, (u64, bool))> = by_name.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    out.into_iter().map(|(c, (n, _))| (c.to_string(), n)).collect()
}

/// The classes of `held` that at least a tenth of `members` hold (at most 8).
pub(super) fn common_held(held: &[(String, u64)], members: usize) -> Vec<String> {
    let floor = (members as u64 / 10).max(1);
    held.iter()
        .filter(|(_, n)| *n >= floor)
        .take(8)
        .map(|(c, _)| c.clone())
        .collect()
}

/// How a closure's position reads in a reason: `/srv/app.js:23:25, script 82` (one-based line and column).
pub(super) fn describe_location(loc: Option<Loc>, script: Option<&str>) -> String {
    match (loc, script) {
        (Some((id, l, c)), Some(p)) => format!("{p}:{}:{}, script {id}", l + 1, c + 1),
        (Some((id, l, c)), None) => format!("script {id}, line {}, col {}", l + 1, c + 1),
        (None, _) => "no source location".into(),
    }
}

/// Display name of a closure.
pub(super) fn function_name(s: &Snapshot, closure: u32) -> String {
    let n = s.name(closure);
    if n.is_empty() {
        "(anonymous)".into()
    } else {
        n.into_owned()
    }
}

/// One group of closures (same name and location) and its numbers in every snapshot.
struct Group {
    name: u32,
    loc: Option<Loc>,
    survivors: Vec<u32>,
    members: Vec<u32>,
    counts: Vec<u64>,
    self_size: Vec<u64>,
    retained: Vec<u64>,
}

impl Rule for Closures {
    fn name(&self) -> &'static str {
        "closures"
    }

    fn evaluate(&self, ctx: &DiffContext) -> Vec<Finding> {
        let k = ctx.snaps.len() - 1;
        let fin = ctx.last();
        let s = &fin.snap;
        let min = ctx.options.min_count;
        let locs_last = closure_locations(s);
        // Candidate groups: surviving closures by (name, location).
        let mut by_key: FxHashMap<(u32, Option<Loc>), Vec<u32>> = FxHashMap::default();
        for &o in ctx.survivors {
            if s.kind(o) == NodeKind::Closure {
                let key = (s.node_name[o as usize], locs_last.get(&o).copied());
                by_key.entry(key).or_default().push(o);
            }
        }
        let mut groups: Vec<Group> = by_key
            .into_iter()
            .filter(|(_, v)| v.len() as u64 >= min)
            .map(|((name, loc), survivors)| Group {
                name,
                loc,
                survivors,
                members: Vec::new(),
                counts: vec![0; k + 1],
                self_size: vec![0; k + 1],
                retained: vec![0; k + 1],
            })
            .collect();
        if groups.is_empty() {
            return vec![];
        }
        groups.sort_by_key(|g| (g.loc, g.name));
        // Location -> (name bytes, group): closures of every snapshot are matched by location, then name.
        let mut index: FxHashMap<Option<Loc>, Vec<(Vec<u8>, usize)>> = FxHashMap::default();
        for (gi, g) in groups.iter().enumerate() {
            index
                .entry(g.loc)
                .or_default()
                .push((s.strings.bytes(g.name as usize).to_vec(), gi));
        }
        // Every snapshot's closures, side by side: per group (count, Σ self, Σ retained), and the members in
        // the last snapshot.
        type Tally = (Vec<(u64, u64, u64)>, Vec<Vec<u32>>);
        let tallies: Vec<Tally> = ctx
            .snaps
            .par_iter()
            .enumerate()
            .map(|(i, an)| {
                let si = &an.snap;
                let owned;
                let locs = if i == k {
                    &locs_last
                } else {
                    owned = closure_locations(si);
                    &owned
                };
                let mut sums = vec![(0u64, 0u64, 0u64); groups.len()];
                let mut members = vec![Vec::new(); if i == k { groups.len() } else { 0 }];
                for o in 0..si.node_count() as u32 {
                    if si.kind(o) != NodeKind::Closure {
                        continue;
                    }
                    let Some(cands) = index.get(&locs.get(&o).copied()) else {
                        continue;
                    };
                    let name = si.name_bytes(o);
                    if let Some(&(_, gi)) = cands.iter().find(|(n, _)| n.as_slice() == name) {
                        let t = &mut sums[gi];
                        t.0 += 1;
                        t.1 += si.node_self[o as usize] as u64;
                        t.2 += an.dom.retained.get(o as usize);
                        if i == k {
                            members[gi].push(o);
                        }
                    }
                }
                (sums, members)
            })
            .collect();
        for (i, (sums, members)) in tallies.into_iter().enumerate() {
            for (gi, (c, sz, r)) in sums.into_iter().enumerate() {
                let g = &mut groups[gi];
                g.counts[i] = c;
                g.self_size[i] = sz;
                g.retained[i] = r;
            }
            if i == k {
                for (g, m) in groups.iter_mut().zip(members) {
                    g.members = m;
                }
            }
        }
        groups.retain(|g| g.counts.windows(2).all(|w| w[1] >= w[0] + min));
        if groups.is_empty() {
            return vec![];
        }
        // Leave closures that sit in growing listener lists to the `listeners` rule.
        let in_lists = listeners::listener_closures(ctx);
        groups.retain(|g| {
            let held = g.members.iter().filter(|&&o| in_lists.contains(o as usize)).count();
            held * 2 <= g.members.len()
        });
        groups
            .into_iter()
            .map(|g| {
                let mut holders: FxHashMap<String, u64> = FxHashMap::default();
                for &o in g.survivors.iter().take(HOLDER_SAMPLE) {
                    *holders.entry(ctx.holders.signature(fin, o, true)).or_default() += 1;
                }
                let holder = holders
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                    .map(|(h, _)| h)
                    .unwrap_or_default();
                let held = common_held(&held_classes(fin, &g.members), g.members.len());
                let example = *g.survivors.last().expect("groups have survivors");
                let fname = function_name(s, example);
                let script = script_name(s, example);
                let per_step = (g.counts[k] - g.counts[0]) / k as u64;
                let holds = if held.is_empty() {
                    "nothing else".to_string()
                } else {
                    held.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
                };
                Finding {
                    rule: self.name().into(),
                    class: "Function".into(),
                    holder,
                    count_delta: g.counts[k] as i64 - g.counts[0] as i64,
                    size_delta: g.self_size[k] as i64 - g.self_size[0] as i64,
                    retained_delta: g.retained[k] as i64 - g.retained[0] as i64,
                    location: g.loc.map(|(script_id, line, column)| SourceLocation {
                        script_id,
                        line,
                        column,
                        function: Some(fname.clone()),
                    }),
                    reason: format!(
                        "{per_step} closures {fname} ({}) were created per step and never released ({}); their \
                         contexts hold {holds}",
                        describe_location(g.loc, script.as_deref()),
                        g.counts.iter().map(u64::to_string).collect::<Vec<_>>().join(" -> "),
                    ),
                    held_classes: held,
                    example_id: Some(s.node_id[example as usize]),
                }
            })
            .collect()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::diff::{self, DiffOptions};
    use std::path::PathBuf;

    pub(crate) fn findings(scenario: &str) -> Vec<Finding> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(scenario);
        let files: Vec<PathBuf> = (1..=3).map(|i| dir.join(format!("{i}.heapsnapshot.gz"))).collect();
        diff::run(&files, &DiffOptions::default()).unwrap().findings
    }

    #[test]
    fn finds_the_planted_closures_with_location_holder_and_captures() {
        let all = findings("leaks/closures");
        let f: Vec<&Finding> = all.iter().filter(|f| f.rule == "closures").collect();
        assert_eq!(f.len(), 1, "{all:#?}");
        let f = f[0];
        assert_eq!(f.class, "Function");
        assert_eq!(f.count_delta, 4000);
        let loc = f.location.as_ref().unwrap();
        assert_eq!((loc.line, loc.column), (22, 24));
        assert_eq!(loc.function.as_deref(), Some("onRequestDone"));
        assert!(
            f.holder.contains("completionHandlers (Array) > [*] > onRequestDone()"),
            "{}",
            f.holder
        );
        for c in ["RequestContext", "Buffer", "ArrayBuffer"] {
            assert!(f.held_classes.iter().any(|h| h == c), "{c} not in {:?}", f.held_classes);
        }
        assert!(f.retained_delta > 30_000_000, "{}", f.retained_delta);
        assert!(f.reason.contains("closures.js:23:25"), "{}", f.reason);
        // The class-growth findings for what the closures hold are explained by this one.
        assert_eq!(all[0].rule, "closures");
        assert!(!all
            .iter()
            .any(|f| f.rule == "class-growth" && f.class == "RequestContext"));
    }

    #[test]
    fn listener_closures_and_steady_state_are_not_closure_findings() {
        assert!(!findings("leaks/listeners").iter().any(|f| f.rule == "closures"));
        assert!(!findings("leaks/steady-state").iter().any(|f| f.rule == "closures"));
    }
}
