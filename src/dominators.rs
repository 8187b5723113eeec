//! Essential edges, the dominator tree and retained sizes, as DevTools computes them
//! (`computeIsEssentialEdge`, `calculateDominatorsAndRetainedSizes`; `../shared/oracle/README.md` §5-6).
//!
//! * [`essential_edges`]: one bitset over all edges, the single predicate every pass uses (forward DFS and
//!   backward predecessor scan skip exactly the same edges).
//! * [`semi_nca`]: Semi-NCA (Georgiadis' simplification of Lengauer-Tarjan: semidominators with path
//!   compression, then nearest-common-ancestor walks in preorder) on flat `u32` arrays indexed by DFS preorder.
//!   Iterative everywhere (no recursion, so no stack overflow on deep heaps). O(E log V) worst case, near-linear
//!   in practice; memory 5 x u32 per node plus a predecessor CSR (4 bytes per edge), all freed on return.
//! * Unreachable nodes follow DevTools: after the DFS from the root, every unvisited node (ordinal order) with
//!   no essential retainer starts a DFS of its own under a virtual edge root -> node; what is still unvisited
//!   (unreachable cycles) is dominated by the root and influences nobody.
//! * Retained size = adjusted self + Σ retained of dominated nodes (u64), so root retained = Σ self.

use std::ops::Range;

use std::sync::OnceLock;

use fixedbitset::FixedBitSet;
use rayon::prelude::*;

use crate::devtools::WeakMapEdges;
use crate::header::EdgeKind;
use crate::snapshot::Snapshot;
use crate::timing::Phase;

/// "No node".
pub const NONE: u32 = u32::MAX;

/// A graph seen through an edge filter, as the dominator algorithm needs it: outgoing edges only (the
/// predecessor lists are built inside, in preorder space, for the nodes the DFS reached).
pub trait DomGraph {
    /// Number of nodes.
    fn node_count(&self) -> usize;
    /// Slots of `u`'s outgoing edges.
    fn out_range(&self, u: u32) -> Range<usize>;
    /// Target of outgoing slot `e`, or `None` if the edge is filtered out.
    fn out_target(&self, e: usize) -> Option<u32>;
}

/// Result of [`semi_nca`].
#[derive(Debug, Clone)]
pub struct Dominators {
    /// Immediate dominator of every node (`root` for itself); [`NONE`] for nodes never reached.
    pub idom: Vec<u32>,
    /// Reached nodes in DFS preorder (`order[0] == root`); every node's dominator comes before it.
    pub order: Vec<u32>,
}

/// Immediate dominators by Semi-NCA. When `adopt_orphans` is set, unreached nodes with no incoming
/// (unfiltered) edge are attached under a virtual edge from `root`, in ordinal order, as DevTools does.
///
/// Memory: after the DFS, the predecessor CSR in preorder space (4 bytes per reached node and per edge between
/// reached nodes) and four `u32` arrays per node; the node -> preorder map is freed before the main loop.
pub fn semi_nca<G: DomGraph>(g: &G, root: u32, adopt_orphans: bool) -> Dominators {
    let n = g.node_count();
    let mut pre = vec![NONE; n];
    let mut vertex: Vec<u32> = Vec::with_capacity(n);
    // parent[p]: preorder of the DFS parent of preorder p (0, the root, for the root and adopted orphans: the
    // virtual root edge of an orphan is its tree edge).
    let mut parent: Vec<u32> = Vec::with_capacity(n);
    // Predecessors u of preorder p split in two. Those numbered below p (p's ancestors: the parent, forward
    // edges) are not processed when p is and contribute their own number: only their minimum matters, and it
    // is known when the DFS sees the edge, so it is kept in `best[p]` (with the parent's number, where the
    // semidominator search starts) instead of a predecessor list. Those numbered above p (cross and back
    // edges) are processed before p and are evaluated: `pcount[p + 2]` counts them for the predecessor CSR.
    // Self edges and edges into the root can change nothing and are dropped.
    let mut best: Vec<u32> = Vec::with_capacity(n);
    let mut pcount = vec![0u32; n + 2];
    let mut stack: Vec<(u32, usize, usize)> = Vec::new();
    let t = Phase::start("  dfs");
    type Cols<'c> = (
        &'c mut [u32],
        &'c mut Vec<u32>,
        &'c mut Vec<u32>,
        &'c mut Vec<u32>,
        &'c mut [u32],
    );
    let mut dfs = |start: u32, (pre, vertex, parent, best, pcount): Cols| {
        pre[start as usize] = vertex.len() as u32;
        vertex.push(start);
        parent.push(0);
        best.push(0);
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
                let pc = pre[c as usize];
                let pu = pre[u as usize];
                if pc == NONE {
                    pre[c as usize] = vertex.len() as u32;
                    vertex.push(c);
                    parent.push(pu);
                    best.push(pu);
                    let r = g.out_range(c);
                    stack.push((c, r.start, r.end));
                } else if pu > pc {
                    if pc != 0 {
                        pcount[pc as usize + 2] += 1;
                    }
                } else if pu < best[pc as usize] {
                    best[pc as usize] = pu;
                }
            }
        }
    };
    dfs(root, (&mut pre, &mut vertex, &mut parent, &mut best, &mut pcount));
    t.done();
    let t = Phase::start("  orphans");
    if adopt_orphans && vertex.len() < n {
        // Nodes with at least one incoming (unfiltered) edge, from anywhere.
        let mut has_in = FixedBitSet::with_capacity(n);
        for u in 0..n as u32 {
            for e in g.out_range(u) {
                if let Some(c) = g.out_target(e) {
                    has_in.insert(c as usize);
                }
            }
        }
        for o in 0..n as u32 {
            if pre[o as usize] == NONE && !has_in.contains(o as usize) {
                dfs(o, (&mut pre, &mut vertex, &mut parent, &mut best, &mut pcount));
            }
        }
    }
    t.done();
    let t = Phase::start("  predecessors");
    let count = vertex.len();
    // Predecessor CSR in preorder space over the edges u -> p with u > p != 0 between reached nodes (an edge
    // out of a reached node always ends at a reached node; edges out of unreached nodes are never seen).
    // Filled in ordinal order, which streams the edge columns; the same test as in the DFS decides.
    let mut pfirst = pcount;
    pfirst.truncate(count + 2);
    for i in 2..count + 2 {
        pfirst[i] += pfirst[i - 1];
    }
    let mut psrc = vec![0u32; pfirst[count + 1] as usize];
    for u in 0..n as u32 {
        let pu = pre[u as usize];
        if pu == NONE {
            continue;
        }
        for e in g.out_range(u) {
            if let Some(c) = g.out_target(e) {
                let pc = pre[c as usize];
                if pu > pc && pc != 0 {
                    let slot = &mut pfirst[pc as usize + 1];
                    psrc[*slot as usize] = pu;
                    *slot += 1;
                }
            }
        }
    }
    drop(pre);
    t.done();
    let t = Phase::start("  semidominators");
    // Now pfirst[i]..pfirst[i + 1] are the predecessors of preorder i numbered above i, all processed before
    // i. Until x is processed, `best[x]` is the smallest of its parent and its predecessors numbered below it;
    // afterwards, the smallest semidominator on x's compressed ancestor path (the semidominator *value*, not
    // the vertex: one array less). ancestor[x] == NONE: x is not linked yet (not processed, or the root).
    // Once w is processed, pfirst[w + 1] is never read again (it bounds the predecessors of w and w + 1, both
    // done): it keeps semi(w) for the NCA pass, so no separate array is needed.
    let mut ancestor = vec![NONE; count];
    let mut path: Vec<u32> = Vec::new();
    for w in (1..count).rev() {
        let mut sw = best[w];
        for &v in &psrc[pfirst[w] as usize..pfirst[w + 1] as usize] {
            // eval(v) with path compression.
            let mut x = v;
            while ancestor[ancestor[x as usize] as usize] != NONE {
                path.push(x);
                x = ancestor[x as usize];
            }
            while let Some(y) = path.pop() {
                let a = ancestor[y as usize] as usize;
                if best[a] < best[y as usize] {
                    best[y as usize] = best[a];
                }
                ancestor[y as usize] = ancestor[a];
            }
            sw = sw.min(best[v as usize]);
        }
        best[w] = sw;
        ancestor[w] = parent[w];
        pfirst[w + 1] = sw;
    }
    drop((best, ancestor, psrc));
    t.done();
    let t = Phase::start("  nca");
    // NCA: idom(w) = nearest ancestor of parent(w) in the dominator tree with preorder <= semi(w).
    let mut idom_pre = parent;
    idom_pre[0] = 0;
    for w in 1..count {
        let semi = pfirst[w + 1];
        let mut d = idom_pre[w];
        while d > semi {
            d = idom_pre[d as usize];
        }
        idom_pre[w] = d;
    }
    drop(pfirst);
    let mut idom = vec![NONE; n];
    for (i, &v) in vertex.iter().enumerate() {
        idom[v as usize] = vertex[idom_pre[i] as usize];
    }
    t.done();
    Dominators { idom, order: vertex }
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
    let v = s.edge_to(e);
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
        self.essential.contains(e).then(|| self.snap.edge_to(e))
    }
}

/// The dominator tree with retained sizes.
#[derive(Debug, Clone, Default)]
pub struct DominatorTree {
    /// Immediate dominator ordinal of every node (root: itself).
    pub idom: Vec<u32>,
    /// Retained size of every node.
    pub retained: Vec<u64>,
    /// The root.
    pub root: u32,
    /// Children CSR, built on first use (summaries of huge snapshots need it only after classification,
    /// so its 8 bytes per node stay out of the memory peak).
    children: OnceLock<ChildrenCsr>,
}

/// `children[first[i]..first[i + 1]]` are the nodes `i` immediately dominates, in ordinal order.
#[derive(Debug, Clone, Default)]
struct ChildrenCsr {
    first: Vec<u32>,
    children: Vec<u32>,
}

impl DominatorTree {
    /// Compute on a snapshot whose self sizes are already adjusted.
    pub fn compute(s: &Snapshot, essential: &FixedBitSet) -> DominatorTree {
        let g = EssentialGraph { snap: s, essential };
        let Dominators { mut idom, order } = semi_nca(&g, s.root, true);
        let t = Phase::start("  retained");
        let n = s.node_count();
        // Retained sizes: reverse preorder visits every node after everything it dominates.
        let mut retained: Vec<u64> = s.node_self.iter().map(|&x| x as u64).collect();
        for &v in order[1..].iter().rev() {
            let d = idom[v as usize] as usize;
            retained[d] += retained[v as usize];
        }
        drop(order);
        // Nodes never reached (unreachable cycles): dominated by the root, retain only themselves.
        for v in 0..n {
            if idom[v] == NONE {
                idom[v] = s.root;
                retained[s.root as usize] += retained[v];
            }
        }
        t.done();
        DominatorTree {
            idom,
            retained,
            root: s.root,
            children: OnceLock::new(),
        }
    }

    fn csr(&self) -> &ChildrenCsr {
        self.children.get_or_init(|| {
            let _t = Phase::start("dominated children");
            let n = self.idom.len();
            let mut first = vec![0u32; n + 1];
            for (v, &d) in self.idom.iter().enumerate() {
                if v as u32 != self.root {
                    first[d as usize + 1] += 1;
                }
            }
            for i in 0..n {
                first[i + 1] += first[i];
            }
            // Fill with first[d] as the cursor, then shift back: no second offset array.
            let mut children = vec![0u32; n.saturating_sub(1)];
            for (v, &d) in self.idom.iter().enumerate() {
                if v as u32 != self.root {
                    children[first[d as usize] as usize] = v as u32;
                    first[d as usize] += 1;
                }
            }
            for i in (1..=n).rev() {
                first[i] = first[i - 1];
            }
            first[0] = 0;
            ChildrenCsr { first, children }
        })
    }

    /// Nodes `v` immediately dominates, in ordinal order.
    pub fn children(&self, v: u32) -> &[u32] {
        let c = self.csr();
        &c.children[c.first[v as usize] as usize..c.first[v as usize + 1] as usize]
    }

    /// Members (`member_class[v] != NONE`, classes `0..classes`) that have no proper dominator-tree ancestor in
    /// the same class: their retained sizes add up without double counting. O(V), iterative.
    pub fn top_level_members(&self, root: u32, member_class: &[u32], classes: usize) -> FixedBitSet {
        let mut out = FixedBitSet::with_capacity(member_class.len());
        let mut active = vec![0u32; classes];
        let mut stack: Vec<(u32, bool)> = vec![(root, false)];
        while let Some((v, exiting)) = stack.pop() {
            let c = member_class[v as usize];
            if exiting {
                if c != NONE {
                    active[c as usize] -= 1;
                }
                continue;
            }
            if c != NONE {
                if active[c as usize] == 0 {
                    out.insert(v as usize);
                }
                active[c as usize] += 1;
            }
            stack.push((v, true));
            for &ch in self.children(v) {
                stack.push((ch, false));
            }
        }
        out
    }

    /// Per-class retained sizes: Σ retained over members with self > 0 that have no proper dominator-tree
    /// ancestor of the same class with self > 0 (`calculateClassesRetainedSize`). O(V), iterative.
    pub fn class_retained(&self, root: u32, self_size: &[u32], class_of: &[u32], classes: usize) -> Vec<u64> {
        // The root's subtrees are independent (each starts with only the root active), so they are walked in
        // parallel, each worker with its own counters, and the per-class sums added up.
        let root_counts = self_size[root as usize] != 0;
        let root_class = class_of[root as usize] as usize;
        let mut out = self
            .children(root)
            .par_iter()
            .with_min_len(64)
            .fold(
                || {
                    let mut active = vec![0u32; classes];
                    if root_counts {
                        active[root_class] = 1;
                    }
                    (vec![0u64; classes], active, Vec::new())
                },
                |(mut out, mut active, mut stack), &child| {
                    self.class_walk(child, self_size, class_of, &mut out, &mut active, &mut stack);
                    (out, active, stack)
                },
            )
            .map(|(out, _, _)| out)
            .reduce_with(|mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            })
            .unwrap_or_else(|| vec![0u64; classes]);
        if root_counts {
            out[root_class] += self.retained[root as usize];
        }
        out
    }

    /// [`Self::class_retained`] below `start`, adding to `out`; `active` counts the members with self > 0 on
    /// the current dominator-tree path per class and is left as it was found.
    fn class_walk(
        &self,
        start: u32,
        self_size: &[u32],
        class_of: &[u32],
        out: &mut [u64],
        active: &mut [u32],
        stack: &mut Vec<(u32, bool)>,
    ) {
        // Stack of (node, exiting). A leaf (most nodes) is counted without an exit entry.
        stack.push((start, false));
        while let Some((v, exiting)) = stack.pop() {
            let vi = v as usize;
            let c = class_of[vi] as usize;
            if exiting {
                active[c] -= 1;
                continue;
            }
            let counts = self_size[vi] != 0;
            if counts && active[c] == 0 {
                out[c] += self.retained[vi];
            }
            let kids = self.children(v);
            if kids.is_empty() {
                continue;
            }
            if counts {
                active[c] += 1;
                stack.push((v, true));
            }
            for &ch in kids {
                stack.push((ch, false));
            }
        }
    }
}
