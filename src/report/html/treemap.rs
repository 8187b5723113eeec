//! The dominator tree cut to a node budget, for the HTML report's treemap.
//!
//! The nodes kept are the `budget` largest by retained size, at any depth. Because a node retains at least as
//! much as any node it dominates, the set `{v : retained(v) > T}` (T the budget-th largest retained size) is
//! closed under dominators; nodes retaining exactly T are added where their dominator is already kept, in id
//! order, up to the budget. Nodes that must be shown (the holders of findings) are added with their dominator
//! chain on top of the budget. Every kept node's other children are folded into one "N more" entry: their
//! count from one pass over `idom`, their retained sum as `retained - self - Σ kept children`.
//!
//! Cost: O(V) time in two parallel passes (a per-chunk heap of `budget` sizes for T, then the kept set and
//! the folded counts), O(budget) memory beyond a bitset of V bits; no children lists of the whole tree.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use fixedbitset::FixedBitSet;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::analysis::Analysis;
use crate::dominators::NONE;

/// Nodes scanned per parallel task.
const CHUNK: usize = 1 << 16;

/// A kept node of the dominator tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Node ordinal.
    pub ord: u32,
    /// Index of its dominator in the kept list (`None` for the root).
    pub parent: Option<u32>,
    /// Children not kept: how many.
    pub more_count: u64,
    /// Children not kept: Σ retained size.
    pub more_retained: u64,
}

/// The kept nodes in breadth-first order from the root, each node's kept children sorted by retained size
/// descending, then id: the root first, every node after its dominator.
pub fn cut(an: &Analysis, budget: usize, forced: &[u32]) -> Vec<Kept> {
    let s = &an.snap;
    let n = s.node_count();
    let dom = &an.dom;
    let root = s.root;
    let budget = budget.max(1);
    let ret = |v: u32| dom.retained.get(v as usize);
    let idom_of = |v: u32| {
        let d = dom.idom[v as usize];
        (d != NONE && v != root && (d as usize) < n).then_some(d)
    };
    // T: the budget-th largest retained size over nodes in the tree (0 when there are fewer).
    let threshold = {
        let heaps: Vec<BinaryHeap<Reverse<u64>>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut h = BinaryHeap::with_capacity(budget.min(CHUNK) + 1);
                for v in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    if v as u32 != root && idom_of(v as u32).is_none() {
                        continue;
                    }
                    let r = ret(v as u32);
                    if h.len() < budget {
                        h.push(Reverse(r));
                    } else if h.peek().is_some_and(|m| r > m.0) {
                        h.pop();
                        h.push(Reverse(r));
                    }
                }
                h
            })
            .collect();
        let mut all: Vec<u64> = heaps.into_iter().flat_map(|h| h.into_iter().map(|r| r.0)).collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        if all.len() >= budget {
            all[budget - 1]
        } else {
            0
        }
    };
    let above: Vec<u32> = (0..n as u32)
        .into_par_iter()
        .filter(|&v| v != root && idom_of(v).is_some() && ret(v) > threshold)
        .collect();
    let mut keep = FixedBitSet::with_capacity(n);
    keep.insert(root as usize);
    for &v in &above {
        keep.insert(v as usize);
    }
    let mut kept: Vec<u32> = Vec::with_capacity(budget + forced.len());
    kept.push(root);
    kept.extend_from_slice(&above);
    if kept.len() < budget {
        let mut at: Vec<u32> = (0..n as u32)
            .into_par_iter()
            .filter(|&v| ret(v) == threshold && idom_of(v).is_some_and(|d| keep.contains(d as usize)))
            .collect();
        at.retain(|&v| !keep.contains(v as usize));
        at.sort_unstable_by_key(|&v| (s.node_id[v as usize], v));
        at.truncate(budget - kept.len());
        for &v in &at {
            keep.insert(v as usize);
        }
        kept.extend(at);
    }
    // Forced nodes and their dominator chains.
    for &f in forced {
        let mut v = f;
        while (v as usize) < n && !keep.contains(v as usize) {
            keep.insert(v as usize);
            kept.push(v);
            match idom_of(v) {
                Some(d) => v = d,
                None => break,
            }
        }
    }
    // Children lists among the kept nodes, then breadth-first order from the root.
    let mut kids: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for &v in &kept {
        if let Some(d) = idom_of(v) {
            if keep.contains(d as usize) {
                kids.entry(d).or_default().push(v);
            }
        }
    }
    for list in kids.values_mut() {
        list.sort_unstable_by(|&x, &y| {
            ret(y)
                .cmp(&ret(x))
                .then(s.node_id[x as usize].cmp(&s.node_id[y as usize]))
                .then(x.cmp(&y))
        });
    }
    let mut out: Vec<Kept> = Vec::with_capacity(kept.len());
    let mut index: FxHashMap<u32, u32> = FxHashMap::default();
    out.push(Kept {
        ord: root,
        parent: None,
        more_count: 0,
        more_retained: 0,
    });
    index.insert(root, 0);
    let mut i = 0;
    while i < out.len() {
        let v = out[i].ord;
        if let Some(list) = kids.get(&v) {
            for &c in list {
                index.insert(c, out.len() as u32);
                out.push(Kept {
                    ord: c,
                    parent: Some(i as u32),
                    more_count: 0,
                    more_retained: 0,
                });
            }
        }
        i += 1;
    }
    // Folded children: counted in one pass over the dominators.
    let counts = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .fold(
            || vec![0u64; out.len()],
            |mut acc, c| {
                for v in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    if keep.contains(v) {
                        continue;
                    }
                    if let Some(d) = idom_of(v as u32) {
                        if keep.contains(d as usize) {
                            acc[index[&d] as usize] += 1;
                        }
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![0u64; out.len()],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        );
    let mut kept_sum = vec![0u64; out.len()];
    for k in &out {
        if let Some(p) = k.parent {
            kept_sum[p as usize] += ret(k.ord);
        }
    }
    for (i, k) in out.iter_mut().enumerate() {
        k.more_count = counts[i];
        k.more_retained = if counts[i] == 0 {
            0
        } else {
            ret(k.ord)
                .saturating_sub(s.node_self[k.ord as usize] as u64)
                .saturating_sub(kept_sum[i])
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn service() -> Analysis {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/service.heapsnapshot.gz");
        Analysis::new(crate::Snapshot::open(&p).unwrap()).unwrap()
    }

    /// A snapshot of `sizes.len()` nodes: node 0 the synthetic root with an element edge to node 1 and to
    /// every node in `roots`, `edges` between the others (weak when the flag is set). Sizes are few and
    /// repeated, so that retained sizes tie and many are 0.
    fn heap(sizes: &[u32], roots: &[usize], edges: &[(usize, usize, bool)]) -> Analysis {
        let n = sizes.len();
        let mut out: Vec<Vec<(u32, usize)>> = vec![Vec::new(); n];
        out[0].push((1, 1));
        for &r in roots {
            out[0].push((1, r % n));
        }
        for &(a, b, weak) in edges {
            out[a % n].push((if weak { 6 } else { 1 }, b % n));
        }
        let mut nodes = Vec::new();
        let mut es = Vec::new();
        for (i, list) in out.iter().enumerate() {
            let (t, name) = if i == 0 { (9, 1) } else { (3, 2) };
            nodes.extend([t, name, 2 * i as u32 + 1, sizes[i], list.len() as u32]);
            for (k, &(et, to)) in list.iter().enumerate() {
                // An element edge is named by its index, a weak one by a string (the empty one).
                let name = if et == 6 { 0 } else { k as u32 };
                es.extend([et, name, to as u32 * 5]);
            }
        }
        let json = serde_json::json!({
            "snapshot": {
                "meta": {
                    "node_fields": ["type", "name", "id", "self_size", "edge_count"],
                    "node_types": [["hidden", "array", "string", "object", "code", "closure", "regexp", "number",
                        "native", "synthetic", "concatenated string", "sliced string", "symbol", "bigint",
                        "object shape"], "string", "number", "number", "number"],
                    "edge_fields": ["type", "name_or_index", "to_node"],
                    "edge_types": [["context", "element", "property", "internal", "hidden", "shortcut", "weak"],
                        "string_or_number", "node"]
                },
                "node_count": n,
                "edge_count": es.len() / 3
            },
            "nodes": nodes,
            "edges": es,
            "strings": ["", "", "Thing"]
        });
        Analysis::new(crate::Snapshot::from_bytes(json.to_string().as_bytes()).unwrap()).unwrap()
    }

    /// What a cut must be, checked against the whole dominator tree's children lists (which the cut never
    /// builds): at most `budget` nodes (at least the root) plus the forced nodes' chains; the root first and
    /// every node after its dominator, whose child it is; no node left out retains more than the smallest
    /// kept one, forced chains aside; and each kept node's "N more" is exactly its children not kept: their
    /// count and the sum of their retained sizes, so that self + kept children + "N more" = retained.
    fn check_cut(an: &Analysis, budget: usize, forced: &[u32], kept: &[Kept]) -> Result<(), String> {
        let s = &an.snap;
        let n = s.node_count();
        let ret = |v: usize| an.dom.retained.get(v);
        let in_tree = |v: usize| v as u32 == s.root || an.dom.idom[v] != NONE;
        let chain: usize = forced.iter().map(|&f| paths_len(an, f)).sum();
        if kept.len() > budget.max(1) + chain {
            return Err(format!("{} kept for a budget of {budget} + {chain}", kept.len()));
        }
        if kept.first().map(|k| k.ord) != Some(s.root) || kept[0].parent.is_some() {
            return Err("the root is not first".into());
        }
        let mut at = vec![u32::MAX; n];
        for (i, k) in kept.iter().enumerate() {
            if at[k.ord as usize] != u32::MAX {
                return Err(format!("node {} kept twice", k.ord));
            }
            at[k.ord as usize] = i as u32;
            if let Some(p) = k.parent {
                if p as usize >= i || an.dom.idom[k.ord as usize] != kept[p as usize].ord {
                    return Err(format!("node {} is not after its dominator", k.ord));
                }
            }
        }
        // The children lists of the whole tree: the "N more" of a kept node, counted and summed naively.
        let mut count = vec![0u64; kept.len()];
        let mut sum = vec![0u64; kept.len()];
        let mut kids = vec![0u64; kept.len()];
        for v in 0..n {
            if v as u32 == s.root || !in_tree(v) {
                continue;
            }
            let d = at[an.dom.idom[v] as usize];
            if d == u32::MAX {
                continue;
            }
            if at[v] == u32::MAX {
                count[d as usize] += 1;
                sum[d as usize] += ret(v);
            } else {
                kids[d as usize] += ret(v);
            }
        }
        for (i, k) in kept.iter().enumerate() {
            let (v, own) = (k.ord as usize, s.node_self[k.ord as usize] as u64);
            if (k.more_count, k.more_retained) != (count[i], sum[i]) {
                return Err(format!(
                    "node {v}: {} more of {} B, its children not kept are {} of {} B",
                    k.more_count, k.more_retained, count[i], sum[i]
                ));
            }
            if own + kids[i] + k.more_retained != ret(v) {
                return Err(format!(
                    "node {v}: {own} + {} + {} != {}",
                    kids[i],
                    k.more_retained,
                    ret(v)
                ));
            }
        }
        if forced.is_empty() && kept.len() > 1 {
            let min = kept[1..].iter().map(|k| ret(k.ord as usize)).min().unwrap();
            if let Some(v) = (0..n).find(|&v| in_tree(v) && at[v] == u32::MAX && ret(v) > min) {
                return Err(format!("node {v} retains {} > {min} kept, and is left out", ret(v)));
            }
        }
        for &f in forced {
            if in_tree(f as usize) && at[f as usize] == u32::MAX {
                return Err(format!("forced node {f} left out"));
            }
        }
        Ok(())
    }

    /// Nodes on the dominator chain of `v`, itself included.
    fn paths_len(an: &Analysis, mut v: u32) -> usize {
        let mut len = 1;
        while v != an.snap.root && an.dom.idom[v as usize] != NONE {
            v = an.dom.idom[v as usize];
            len += 1;
        }
        len
    }

    #[test]
    fn the_cut_of_a_real_heap_is_exact_at_every_budget() {
        let an = service();
        let n = an.snap.node_count();
        for budget in [0, 1, 2, 3, 10, 100, 1000, 5000, n - 1, n, 10 * n] {
            let kept = cut(&an, budget, &[]);
            check_cut(&an, budget, &[], &kept).unwrap_or_else(|e| panic!("budget {budget}: {e}"));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Whatever the heap (unreachable nodes, weak edges, cycles, ties and sizes of 0) and the budget.
        #[test]
        fn the_cut_of_any_heap_is_bounded_and_exact(
            sizes in prop::collection::vec(prop::sample::select(vec![0u32, 0, 8, 16, 16, 40]), 2..60),
            roots in prop::collection::vec(0usize..60, 0..4),
            edges in prop::collection::vec((0usize..60, 0usize..60, prop::bool::weighted(0.1)), 0..150),
            budget in 0usize..70,
            forced in prop::collection::vec(0u32..60, 0..3),
        ) {
            let an = heap(&sizes, &roots, &edges);
            let n = an.snap.node_count() as u32;
            let kept = cut(&an, budget, &[]);
            prop_assert!(check_cut(&an, budget, &[], &kept).is_ok(), "{:?}", check_cut(&an, budget, &[], &kept));
            let forced: Vec<u32> = forced.iter().map(|&f| f % n).collect();
            let kept = cut(&an, budget, &forced);
            let r = check_cut(&an, budget, &forced, &kept);
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }

    /// Whatever the budget: at most that many nodes, the root first, every node after its dominator, the
    /// largest retained sizes kept (no node left out retains more than a kept non-root node, forced chains
    /// aside), and each node's retained size = self + kept children + its "N more" block.
    #[test]
    fn the_cut_is_bounded_closed_and_adds_up() {
        let an = service();
        let s = &an.snap;
        let n = s.node_count();
        for budget in [0, 1, 2, 10, 100, 1000, 5000, n, 10 * n] {
            let kept = cut(&an, budget, &[]);
            assert!(kept.len() <= budget.max(1), "budget {budget}: {} kept", kept.len());
            assert_eq!(kept[0].ord, s.root);
            let mut seen = FixedBitSet::with_capacity(n);
            let mut kids_sum = vec![0u64; kept.len()];
            for (i, k) in kept.iter().enumerate() {
                seen.insert(k.ord as usize);
                if let Some(p) = k.parent {
                    assert!((p as usize) < i, "parent after child");
                    assert_eq!(an.dom.idom[k.ord as usize], kept[p as usize].ord);
                    kids_sum[p as usize] += an.dom.retained.get(k.ord as usize);
                }
            }
            for (i, k) in kept.iter().enumerate() {
                let r = an.dom.retained.get(k.ord as usize);
                let own = s.node_self[k.ord as usize] as u64;
                assert_eq!(r, own + kids_sum[i] + k.more_retained, "node {i} of budget {budget}");
            }
            let smallest = kept[1..].iter().map(|k| an.dom.retained.get(k.ord as usize)).min();
            if let (Some(min), true) = (smallest, kept.len() == budget.max(1)) {
                let larger_left_out = (0..n)
                    .filter(|&v| !seen.contains(v) && an.dom.idom[v] != NONE)
                    .any(|v| an.dom.retained.get(v) > min);
                assert!(
                    !larger_left_out,
                    "budget {budget}: a node retaining more than {min} left out"
                );
            }
            if budget >= n {
                // Every node that retains anything (nodes of size 0 under one of size 0 may be left out).
                let sized = (0..n).filter(|&v| an.dom.idom[v] != NONE && an.dom.retained.get(v) > 0);
                assert!(
                    sized.into_iter().all(|v| seen.contains(v)),
                    "a budget past the node count keeps the tree"
                );
            }
        }
    }

    #[test]
    fn forced_nodes_come_with_their_dominators() {
        let an = service();
        let s = &an.snap;
        // The deepest node of the dominator tree.
        let depth = |mut v: u32| {
            let mut d = 0;
            while v != s.root {
                v = an.dom.idom[v as usize];
                d += 1;
            }
            d
        };
        let deep = (0..s.node_count() as u32)
            .filter(|&v| an.dom.idom[v as usize] != NONE)
            .max_by_key(|&v| (depth(v), v))
            .unwrap();
        let kept = cut(&an, 50, &[deep]);
        let pos = kept.iter().position(|k| k.ord == deep).expect("forced node kept");
        let mut p = kept[pos].parent;
        let mut chain = 1;
        while let Some(i) = p {
            p = kept[i as usize].parent;
            chain += 1;
        }
        assert_eq!(chain, depth(deep) + 1);
        assert!(kept.len() <= 50 + depth(deep) + 1);
    }
}
