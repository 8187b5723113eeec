//! `detached-dom`: DOM subtrees removed from the document but still referenced, growing at every step
//! (browser snapshots; Node snapshots have no detached natives and cost nothing here).
//!
//! Detached nodes are the natives DevTools marks detached (`detachedness` 2, renamed `Detached <div>`, ...).
//! A detached *subtree root* is a detached DOM node (an element `<…>`, `Text`, `Comment`, a fragment or
//! shadow root) whose immediate dominator is not a detached native: what keeps the subtree alive holds it
//! from outside (a JS array, a closure, a controller object). Every detached native belongs to the subtree of
//! its nearest dominator-tree ancestor that is a root. Per root class, in every snapshot: roots, detached DOM
//! nodes in their subtrees, Σ self of the subtrees' detached natives, Σ retained of the roots.
//! A class is reported when its roots grew at every step, the DOM nodes of its subtrees grew by at least
//! `min_count` at every step, and some root is a survivor (allocated after the first snapshot, still alive).
//! The finding's class is the root's (`Detached <div>`), its holder the most common folded path of the roots
//! (`… > __closedPanels (Array) > [*]`), `held_classes` the classes of the detached DOM nodes in the
//! subtrees. Reason: `50 detached <div> subtrees (800 DOM nodes) grew at every step (2 -> 27 -> 52 roots):
//! removed from the document but still referenced from JavaScript`.
//!
//! Cost: per snapshot, one pass over the nodes plus a memoised walk up the dominator tree from each detached
//! native (every node resolved once): O(V).

use fixedbitset::FixedBitSet;
use rustc_hash::FxHashMap;

use super::{DiffContext, Finding, Rule};
use crate::analysis::Analysis;
use crate::dominators::NONE;
use crate::header::NodeKind;

/// The rule.
pub struct DetachedDom;

/// Roots sampled for the holder path.
const HOLDER_SAMPLE: usize = 2000;

/// Whether a native's name (without `Detached `) is a DOM node's.
fn is_dom_name(name: &[u8]) -> bool {
    let n = name.strip_prefix(b"Detached ").unwrap_or(name);
    n.first() == Some(&b'<')
        || matches!(
            n,
            b"Text"
                | b"Comment"
                | b"CDATASection"
                | b"ProcessingInstruction"
                | b"DocumentFragment"
                | b"#document-fragment"
                | b"ShadowRoot"
                | b"#shadow-root"
                | b"Document"
                | b"HTMLDocument"
                | b"XMLDocument"
                | b"DocumentType"
                | b"Attr"
        )
}

/// Numbers of one root class in one snapshot.
#[derive(Debug, Clone, Default)]
struct Stats {
    roots: u64,
    dom_nodes: u64,
    self_size: u64,
    retained: u64,
    /// Last snapshot only: the roots.
    members: Vec<u32>,
    /// Last snapshot only: local class -> detached DOM nodes in the subtrees.
    held: FxHashMap<u32, u64>,
}

/// Per global root class: the subtree statistics of snapshot `i`.
fn subtrees(ctx: &DiffContext, i: usize, keep: bool) -> FxHashMap<u32, Stats> {
    let an: &Analysis = &ctx.snaps[i];
    let s = &an.snap;
    let n = s.node_count();
    let is_dn = |v: u32| an.detached.contains(v as usize) && s.kind(v) == NodeKind::Native;
    let detached: Vec<u32> = (0..n as u32).filter(|&v| is_dn(v)).collect();
    let mut out: FxHashMap<u32, Stats> = FxHashMap::default();
    if detached.is_empty() {
        return out;
    }
    // top[v]: the subtree root of detached native v (nearest dominator-tree ancestor-or-self whose immediate
    // dominator is not a detached native). Memoised: each node is resolved once.
    let mut top = vec![NONE; n];
    let mut path: Vec<u32> = Vec::new();
    for &v in &detached {
        let mut x = v;
        path.clear();
        let r = loop {
            if top[x as usize] != NONE {
                break top[x as usize];
            }
            path.push(x);
            let p = an.dom.idom[x as usize];
            if p == x || p == NONE || !is_dn(p) {
                break x;
            }
            x = p;
        };
        for &y in &path {
            top[y as usize] = r;
        }
    }
    for &v in &detached {
        let r = top[v as usize];
        if !is_dom_name(s.name_bytes(r)) {
            continue;
        }
        let st = out.entry(ctx.class_of(i, r)).or_default();
        if v == r {
            st.roots += 1;
            st.retained += an.dom.retained.get(v as usize);
            if keep {
                st.members.push(v);
            }
        }
        if is_dom_name(s.name_bytes(v)) {
            st.dom_nodes += 1;
            if keep {
                *st.held.entry(an.classes.of_node[v as usize]).or_default() += 1;
            }
        }
        st.self_size += s.node_self[v as usize] as u64;
    }
    out
}

impl Rule for DetachedDom {
    fn name(&self) -> &'static str {
        "detached-dom"
    }

    fn evaluate(&self, ctx: &DiffContext) -> Vec<Finding> {
        let k = ctx.snaps.len() - 1;
        let fin = ctx.last();
        let s = &fin.snap;
        let min = ctx.options.min_count;
        let mut last = subtrees(ctx, k, true);
        if last.is_empty() {
            return vec![];
        }
        let earlier: Vec<FxHashMap<u32, Stats>> = (0..k).map(|i| subtrees(ctx, i, false)).collect();
        let mut survivor = FixedBitSet::with_capacity(s.node_count());
        for &o in ctx.survivors {
            survivor.insert(o as usize);
        }
        let mut classes: Vec<u32> = last.keys().copied().collect();
        classes.sort_unstable();
        let mut out = Vec::new();
        for g in classes {
            let cur = last.remove(&g).expect("key");
            let empty = Stats::default();
            let at = |i: usize| -> &Stats {
                if i == k {
                    &cur
                } else {
                    earlier[i].get(&g).unwrap_or(&empty)
                }
            };
            let grew = (0..k).all(|i| at(i + 1).roots > at(i).roots && at(i + 1).dom_nodes >= at(i).dom_nodes + min);
            let mut roots: Vec<u32> = cur
                .members
                .iter()
                .copied()
                .filter(|&o| survivor.contains(o as usize))
                .collect();
            if !grew || roots.is_empty() {
                continue;
            }
            // Survivors first for the holder sample, then the older roots.
            roots.extend(cur.members.iter().copied().filter(|&o| !survivor.contains(o as usize)));
            let mut holders: FxHashMap<String, u64> = FxHashMap::default();
            for &o in roots.iter().take(HOLDER_SAMPLE) {
                *holders.entry(ctx.holders.signature(fin, o, false)).or_default() += 1;
            }
            let holder = holders
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map(|(h, _)| h)
                .unwrap_or_default();
            let class = ctx.classes.classes[g as usize].1.clone();
            let mut held: Vec<(String, u64)> = Vec::new();
            let mut by_name: FxHashMap<&str, u64> = FxHashMap::default();
            for (&c, &n) in &cur.held {
                *by_name.entry(fin.classes.table[c as usize].name.as_str()).or_default() += n;
            }
            held.extend(by_name.into_iter().map(|(c, n)| (c.to_string(), n)));
            held.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let first = at(0);
            let plain = class.strip_prefix("Detached ").unwrap_or(&class);
            out.push(Finding {
                rule: self.name().into(),
                class: class.clone(),
                holder,
                count_delta: cur.roots as i64 - first.roots as i64,
                size_delta: cur.self_size as i64 - first.self_size as i64,
                retained_delta: cur.retained as i64 - first.retained as i64,
                location: None,
                reason: format!(
                    "{} detached {plain} subtrees ({} DOM nodes) grew at every step ({} roots): removed from the \
                     document but still referenced from JavaScript",
                    cur.roots - first.roots,
                    cur.dom_nodes - first.dom_nodes.min(cur.dom_nodes),
                    (0..=k)
                        .map(|i| at(i).roots.to_string())
                        .collect::<Vec<_>>()
                        .join(" -> "),
                ),
                held_classes: held
                    .into_iter()
                    .filter(|(c, _)| *c != class)
                    .map(|(c, _)| c)
                    .take(8)
                    .collect(),
                example_id: roots.first().map(|&o| s.node_id[o as usize]),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::closures::tests::findings;

    #[test]
    fn finds_the_closed_panels() {
        let all = findings("browser/leak-detached");
        let f: Vec<&Finding> = all.iter().filter(|f| f.rule == "detached-dom").collect();
        assert_eq!(f.len(), 1, "{all:#?}");
        let f = f[0];
        assert_eq!(f.class, "Detached <div>");
        assert_eq!(f.count_delta, 50);
        assert!(f.holder.ends_with("__closedPanels (Array) > [*]"), "{}", f.holder);
        for c in [
            "Detached <h3>",
            "Detached <ul>",
            "Detached <li>",
            "Detached <button>",
            "Detached Text",
        ] {
            assert!(f.held_classes.iter().any(|h| h == c), "{c} not in {:?}", f.held_classes);
        }
        assert!(f.retained_delta > 0 && f.size_delta > 0);
    }

    #[test]
    fn dom_names() {
        assert!(is_dom_name(b"Detached <div>"));
        assert!(is_dom_name(b"Text"));
        assert!(!is_dom_name(b"Detached blink::EventTargetData"));
        assert!(!is_dom_name(b"Detached V8EventListener"));
    }

    #[test]
    fn node_snapshots_have_no_detached_dom() {
        assert!(!findings("leaks/steady-state").iter().any(|f| f.rule == "detached-dom"));
        assert!(!findings("leaks/closures").iter().any(|f| f.rule == "detached-dom"));
    }
}
