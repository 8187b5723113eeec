//! Essential edges, the dominator tree and retained sizes, as DevTools computes them
//! (`computeIsEssentialEdge`, `calculateDominatorsAndRetainedSizes`; `../shared/oracle/README.md` §5-6).
//!
//! * [`essential_edges`]: one bitset over all edges, the single predicate every pass uses (forward DFS and
//!   backward predecessor scan skip exactly the same edges).
//! * [`semi_nca`]: Semi-NCA (Georgiadis' simplification of Lengauer-Tarjan: semidominators with path
//!   compression, then nearest-common-ancestor walks in preorder) on flat `u32` arrays indexed by DFS preorder.
//!   Iterative everywhere (no recursion, so no stack overflow on deep heaps). O(E log V) worst case, near-linear
//!   in practice; memory 5 x u32 per node plus the DFS stack.
//! * Unreachable nodes follow DevTools: after the DFS from the root, every unvisited node (ordinal order) with
//!   no essential retainer starts a DFS of its own under a virtual edge root -> node; what is still unvisited
//!   (unreachable cycles) is dominated by the root and influences nobody.
//! * Retained size = adjusted self + Σ retained of dominated nodes (u64), so root retained = Σ self.

use std::ops::Range;

use fixedbitset::FixedBitSet;
use rayon::prelude::*;

use crate::devtools::WeakMapEdges;
use crate::graph::Retainers;
use crate::header::EdgeKind;
use crate::snapshot::Snapshot;

/// "No node".
pub const NONE: u32 = u32::MAX;

/// A graph seen through an edge filter, as the dominator algorithm needs it.
pub trait DomGraph {
    /// Number of nodes.
    fn node_count(&self) -> usize;
    /// Slots of `u`'s outgoing edges.
    fn out_range(&self, u: u32) -> Range<usize>;
    /// Target of outgoing slot `e`, or `None` if the edge is filtered out.
    fn out_target(&self, e: usize) -> Option<u32>;
    /// Slots of `v`'s incoming edges.
    fn in_range(&self, v: u32) -> Range<usize>;
    /// Source of incoming slot `k`, or `None` if the edge is filtered out.
    fn in_source(&self, k: usize) -> Option<u32>;
}

/// Immediate dominators by Semi-NCA. `idom[root] == root`; nodes never reached get [`NONE`].
/// When `adopt_orphans` is set, unreached nodes with no incoming (unfiltered) edge are attached under a
/// virtual edge from `root`, in ordinal order, as DevTools does.
pub fn semi_nca<G: DomGraph>(g: &G, root: u32, adopt_orphans: bool) -> Vec<u32> {
    let n = g.node_count();
    // pre[v]: preorder number of node v (NONE = unvisited); vertex[i]: node with preorder i.
    let mut pre = vec![NONE; n];
    let mut vertex: Vec<u32> = Vec::with_capacity(n);
    let mut parent: Vec<u32> = Vec::with_capacity(n); // by preorder number
    let mut orphan = FixedBitSet::with_capacity(if adopt_orphans { n } else { 0 });
    let mut stack: Vec<(u32, usize, usize)> = Vec::new();
    let mut dfs = |start: u32, parent_pre: u32, pre: &mut [u32], vertex: &mut Vec<u32>, parent: &mut Vec<u32>| {
        pre[start as usize] = vertex.len() as u32;
        vertex.push(start);
        parent.push(parent_pre);
        let r = g.out_range(start);
        stack.push((start, r.start, r.end));
        while let Some(top) = stack.last_mut() {
            if top.1 == top.2 {
                stack.pop();
                continue;
            }
            let e = top.1;
            top.1 += 1;
            let u = top.0;
            if let Some(c) = g.out_target(e) {
                if pre[c as usize] == NONE {
                    pre[c as usize] = vertex.len() as u32;
                    vertex.push(c);
                    parent.push(pre[u as usize]);
                    let r = g.out_range(c);
                    stack.push((c, r.start, r.end));
                }
            }
        }
    };
    dfs(root, 0, &mut pre, &mut vertex, &mut parent);
    if adopt_orphans {
        for o in 0..n as u32 {
            if pre[o as usize] != NONE {
                continue;
            }
            if g.in_range(o).any(|k| g.in_source(k).is_some()) {
                continue;
            }
            orphan.insert(o as usize);
            dfs(o, 0, &mut pre, &mut vertex, &mut parent);
        }
    }
    let count = vertex.len();
    // Semidominators, by preorder number. ancestor[i] == NONE: not yet linked.
    let mut semi: Vec<u32> = (0..count as u32).collect();
    let mut label: Vec<u32> = (0..count as u32).collect();
    let mut ancestor = vec![NONE; count];
    let mut path: Vec<u32> = Vec::new();
    for w in (1..count).rev() {
        let node = vertex[w];
        let mut best = semi[w];
        let mut consider = |v: u32, semi: &[u32], label: &mut [u32], ancestor: &mut [u32]| {
            // eval(v) with path compression.
            if ancestor[v as usize] != NONE {
                path.clear();
                let mut x = v;
                while ancestor[ancestor[x as usize] as usize] != NONE {
                    path.push(x);
                    x = ancestor[x as usize];
                }
                // Walk back down: each node takes the better label of its ancestor.
                while let Some(y) = path.pop() {
                    let a = ancestor[y as usize];
                    if semi[label[a as usize] as usize] < semi[label[y as usize] as usize] {
                        label[y as usize] = label[a as usize];
                    }
                    ancestor[y as usize] = ancestor[a as usize];
                }
                let s = semi[label[v as usize] as usize];
                if s < best {
                    best = s;
                }
            } else if v < best {
                best = v;
            }
        };
        for k in g.in_range(node) {
            let Some(src) = g.in_source(k) else { continue };
            let v = pre[src as usize];
            if v == NONE {
                continue;
            }
            consider(v, &semi, &mut label, &mut ancestor);
        }
        if adopt_orphans && orphan.contains(node as usize) {
            consider(0, &semi, &mut label, &mut ancestor);
        }
        semi[w] = best;
        label[w] = w as u32;
        ancestor[w] = parent[w];
    }
    drop(label);
    drop(ancestor);
    // NCA: idom(w) = nearest ancestor of parent(w) in the dominator tree with preorder <= semi(w).
    let mut idom_pre = parent;
    idom_pre[0] = 0;
    for w in 1..count {
        let mut d = idom_pre[w];
        while d > semi[w] {
            d = idom_pre[d as usize];
        }
        idom_pre[w] = d;
    }
    let mut idom = vec![NONE; n];
    for (i, &v) in vertex.iter().enumerate() {
        idom[v as usize] = vertex[idom_pre[i] as usize];
    }
    idom
}

/// DevTools' essential-edge predicate, as a bitset over edge indexes.
pub fn essential_edges(s: &Snapshot, page_owned: &FixedBitSet, weakmaps: &WeakMapEdges) -> FixedBitSet {
    let m = s.edge_count();
    let root = s.root;
    // Parallel over node ranges; each range owns whole 64-bit words by rounding its edge range to blocks.
    let words: Vec<u64> = {
        let nwords = m.div_ceil(64);
        let mut words = vec![0u64; nwords];
        let block = 1usize << 14; // words per task
        words.par_chunks_mut(block).enumerate().for_each(|(b, chunk)| {
            let e0 = b * block * 64;
            let e1 = ((b + 1) * block * 64).min(m);
            // First node whose edge range reaches e0.
            let mut u = s.first_edge.partition_point(|&f| (f as usize) <= e0).saturating_sub(1) as u32;
            for e in e0..e1 {
                while s.first_edge[u as usize + 1] as usize <= e {
                    u += 1;
                }
                if is_essential(s, page_owned, weakmaps, root, u, e) {
                    chunk[(e - e0) / 64] |= 1 << ((e - e0) % 64);
                }
            }
        });
        words
    };
    // `Block` is `usize`; heapsnap targets 64-bit platforms (checked at compile time in lib.rs).
    FixedBitSet::with_capacity_and_blocks(m, words.into_iter().map(|w| w as usize))
}

#[inline]
fn is_essential(s: &Snapshot, page_owned: &FixedBitSet, weakmaps: &WeakMapEdges, root: u32, u: u32, e: usize) -> bool {
    let kind = s.edge_kind(e);
    if kind == EdgeKind::Weak {
        return false;
    }
    let v = s.edge_to[e];
    if v == u {
        return false;
    }
    if let Some((table, _)) = weakmaps.get(s, e) {
        if s.node_id[u as usize] as u64 == table {
            return false;
        }
    }
    if u != root {
        if kind == EdgeKind::Shortcut {
            return false;
        }
        if page_owned.contains(v as usize) && !page_owned.contains(u as usize) {
            return false;
        }
    }
    true
}

/// The snapshot seen through the essential-edge bitset.
pub struct EssentialGraph<'a> {
    /// Snapshot.
    pub snap: &'a Snapshot,
    /// Retainers.
    pub ret: &'a Retainers,
    /// Essential edges.
    pub essential: &'a FixedBitSet,
}

impl DomGraph for EssentialGraph<'_> {
    fn node_count(&self) -> usize {
        self.snap.node_count()
    }
    #[inline]
    fn out_range(&self, u: u32) -> Range<usize> {
        self.snap.edges(u)
    }
    #[inline]
    fn out_target(&self, e: usize) -> Option<u32> {
        self.essential.contains(e).then(|| self.snap.edge_to[e])
    }
    #[inline]
    fn in_range(&self, v: u32) -> Range<usize> {
        self.ret.slots(v)
    }
    #[inline]
    fn in_source(&self, k: usize) -> Option<u32> {
        self.essential
            .contains(self.ret.edge[k] as usize)
            .then(|| self.ret.src[k])
    }
}

/// The dominator tree with retained sizes.
#[derive(Debug, Clone, Default)]
pub struct DominatorTree {
    /// Immediate dominator ordinal of every node (root: itself).
    pub idom: Vec<u32>,
    /// Retained size of every node.
    pub retained: Vec<u64>,
    /// `children[first[i]..first[i + 1]]` are the nodes `i` immediately dominates, in ordinal order.
    pub first: Vec<u32>,
    /// Dominated nodes.
    pub children: Vec<u32>,
}

impl DominatorTree {
    /// Compute on a snapshot whose self sizes are already adjusted.
    pub fn compute(s: &Snapshot, ret: &Retainers, essential: &FixedBitSet) -> DominatorTree {
        let g = EssentialGraph {
            snap: s,
            ret,
            essential,
        };
        let mut idom = semi_nca(&g, s.root, true);
        let n = s.node_count();
        for d in idom.iter_mut() {
            if *d == NONE {
                *d = s.root;
            }
        }
        // Children CSR (ordinal order inside each parent).
        let mut first = vec![0u32; n + 1];
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != s.root {
                first[d as usize + 1] += 1;
            }
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut next = first.clone();
        let mut children = vec![0u32; n.saturating_sub(1)];
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != s.root {
                children[next[d as usize] as usize] = v as u32;
                next[d as usize] += 1;
            }
        }
        drop(next);
        // Retained sizes: post-order over the tree (children before parents).
        let mut retained: Vec<u64> = s.node_self.iter().map(|&x| x as u64).collect();
        let mut order: Vec<u32> = Vec::with_capacity(n);
        let mut stack = vec![s.root];
        while let Some(v) = stack.pop() {
            order.push(v);
            stack.extend_from_slice(&children[first[v as usize] as usize..first[v as usize + 1] as usize]);
        }
        for &v in order.iter().rev() {
            if v != s.root {
                let d = idom[v as usize] as usize;
                retained[d] += retained[v as usize];
            }
        }
        DominatorTree {
            idom,
            retained,
            first,
            children,
        }
    }

    /// Nodes `v` immediately dominates.
    pub fn children(&self, v: u32) -> &[u32] {
        &self.children[self.first[v as usize] as usize..self.first[v as usize + 1] as usize]
    }

    /// Per-class retained sizes: Σ retained over members with self > 0 that have no proper dominator-tree
    /// ancestor of the same class with self > 0 (`calculateClassesRetainedSize`). O(V), iterative.
    pub fn class_retained(&self, root: u32, self_size: &[u32], class_of: &[u32], classes: usize) -> Vec<u64> {
        let mut out = vec![0u64; classes];
        let mut active = vec![0u32; classes];
        // Stack of (node, entered). On enter: count; on exit: uncount.
        let mut stack: Vec<(u32, bool)> = vec![(root, false)];
        while let Some((v, exiting)) = stack.pop() {
            let vi = v as usize;
            let counts = self_size[vi] != 0;
            let c = class_of[vi] as usize;
            if exiting {
                if counts {
                    active[c] -= 1;
                }
                continue;
            }
            if counts {
                if active[c] == 0 {
                    out[c] += self.retained[vi];
                }
                active[c] += 1;
            }
            stack.push((v, true));
            for &ch in self.children(v) {
                stack.push((ch, false));
            }
        }
        out
    }
}
