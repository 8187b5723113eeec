//! Essential edges, the dominator tree and retained sizes, as DevTools computes them
//! (`computeIsEssentialEdge`, `calculateDominatorsAndRetainedSizes`; `../shared/oracle/README.md` §5-6).
//!
//! * [`essential_edges`]: one bitset over all edges, the single predicate every pass uses (forward DFS and
//!   backward predecessor scan skip exactly the same edges). The analysis builds it inside the DFS
//!   ([`Dfs::run_essential`]: each edge's predicate is evaluated when the DFS first looks at it), which equals
//!   the parallel pass over every edge (tested) without a pass of its own.
//! * Class retained sizes ([`DominatorTree::class_retained`]) walk the dominator tree in parallel subtrees.
//! * [`semi_nca`]: Semi-NCA (Georgiadis' simplification of Lengauer-Tarjan: semidominators with path
//!   compression, then nearest-common-ancestor walks in preorder) on flat `u32` arrays indexed by DFS preorder.
//!   Iterative everywhere (no recursion, so no stack overflow on deep heaps). O(E log V) worst case, near-linear
//!   in practice; memory 5 x u32 per node plus a predecessor CSR (4 bytes per cross or back edge), all freed on
//!   return. Three stages ([`Dfs`], [`Predecessors`], the solve) so that callers can run other work beside each.
//! * Unreachable nodes follow DevTools: after the DFS from the root, every unvisited node (ordinal order) with
//!   no essential retainer starts a DFS of its own under a virtual edge root -> node; what is still unvisited
//!   (unreachable cycles) is dominated by the root and influences nobody.
//! * Retained size = adjusted self + Σ retained of dominated nodes, so root retained = Σ self; stored in 4 bytes
//!   per node with a side table for sizes of 4 GiB and more ([`RetainedSizes`]).

use std::cell::Cell;
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
    /// Target of `u`'s outgoing slot `e` (`e` in `out_range(u)`), or `None` if the edge is filtered out.
    fn out_target(&self, u: u32, e: usize) -> Option<u32>;
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
/// The three stages ([`Dfs::run`], [`Dfs::predecessors`], [`Predecessors::solve`]) can also be called one by one,
/// so that other work runs beside each (the analysis does: what allocates runs beside the DFS and the solve,
/// not beside the predecessor CSR, the peak of memory use).
///
/// Memory: after the DFS, the predecessor CSR in preorder space (4 bytes per reached node and per edge between
/// reached nodes) and four `u32` arrays per node; the node -> preorder map is freed before the main loop.
pub fn semi_nca<G: DomGraph>(g: &G, root: u32, adopt_orphans: bool) -> Dominators {
    Dfs::run(g, root, adopt_orphans).predecessors(g).solve()
}

/// Stage 1 of [`semi_nca`]: the depth-first search (preorder numbers, DFS parents, the smallest predecessor
/// numbered below each node, and the count of the others).
pub struct Dfs {
    /// Node -> preorder number ([`NONE`]: not reached); one entry per node of the graph.
    pre: Vec<u32>,
    vertex: Vec<u32>,
    // parent[p]: preorder of the DFS parent of preorder p (0, the root, for the root and adopted orphans: the
    // virtual root edge of an orphan is its tree edge).
    parent: Vec<u32>,
    // Predecessors u of preorder p split in two. Those numbered below p (p's ancestors: the parent, forward
    // edges) are not processed when p is and contribute their own number: only their minimum matters, and it
    // is known when the DFS sees the edge, so it is kept in `best[p]` (with the parent's number, where the
    // semidominator search starts) instead of a predecessor list. Those numbered above p (cross and back
    // edges) are processed before p and are evaluated: `pcount[p + 2]` counts them for the predecessor CSR.
    // Self edges and edges into the root can change nothing and are dropped.
    best: Vec<u32>,
    pcount: Vec<u32>,
}

/// Stage 2 of [`semi_nca`]: the predecessor CSR in preorder space.
pub struct Predecessors {
    /// The node -> preorder map's buffer, no longer needed as such: reused for the link-eval forest.
    ancestor: Vec<u32>,
    vertex: Vec<u32>,
    parent: Vec<u32>,
    best: Vec<u32>,
    pfirst: Vec<u32>,
    psrc: Vec<u32>,
}

impl Dfs {
    /// The DFS from `root` (then from the orphans, if `adopt_orphans`).
    pub fn run<G: DomGraph>(g: &G, root: u32, adopt_orphans: bool) -> Dfs {
        let mut d = Dfs::new(g.node_count());
        let mut stack = Vec::new();
        let t = Phase::start("  dfs");
        d.search(g, root, &mut stack);
        t.done();
        if adopt_orphans {
            d.adopt_orphans(g, &mut stack);
        }
        d
    }

    fn new(n: usize) -> Dfs {
        Dfs {
            pre: vec![NONE; n],
            vertex: Vec::with_capacity(n),
            parent: Vec::with_capacity(n),
            best: Vec::with_capacity(n),
            pcount: vec![0u32; n + 2],
        }
    }

    /// After the DFS from the root: every unreached node with no incoming (unfiltered) edge starts a DFS of
    /// its own, in ordinal order.
    fn adopt_orphans<G: DomGraph>(&mut self, g: &G, stack: &mut Vec<(u32, usize, usize)>) {
        let t = Phase::start("  orphans");
        let n = g.node_count();
        if self.vertex.len() < n {
            // Nodes with at least one incoming (unfiltered) edge, from anywhere.
            let mut has_in = FixedBitSet::with_capacity(n);
            for u in 0..n as u32 {
                for e in g.out_range(u) {
                    if let Some(c) = g.out_target(u, e) {
                        has_in.insert(c as usize);
                    }
                }
            }
            for o in 0..n as u32 {
                if self.pre[o as usize] == NONE && !has_in.contains(o as usize) {
                    self.search(g, o, stack);
                }
            }
        }
        t.done();
    }

    /// [`essential_edges`] and [`Dfs::run`] over them (with the orphans) in one pass over the edges: each
    /// edge's predicate is evaluated when the DFS first looks at it (every edge of a reached node, once), then
    /// for the edges of the nodes the DFS from the root did not reach. Equal to the two passes one by one
    /// (tested), without the separate pass over every edge.
    pub fn run_essential(s: &Snapshot, page_owned: &FixedBitSet, weakmaps: &WeakMapEdges) -> (FixedBitSet, Dfs) {
        let n = s.node_count();
        let m = s.edge_count();
        let mut essential = FixedBitSet::with_capacity(m);
        let mut d = Dfs::new(n);
        let mut stack = Vec::new();
        let t = Phase::start("  essential edges + dfs");
        {
            let builder = EssentialBuilder {
                snap: s,
                page_owned,
                weakmaps,
                words: Cell::from_mut(essential.as_mut_slice()).as_slice_of_cells(),
            };
            d.search(&builder, s.root, &mut stack);
            if d.vertex.len() < n {
                for u in 0..n as u32 {
                    if d.pre[u as usize] == NONE {
                        for e in s.edges(u) {
                            builder.out_target(u, e);
                        }
                    }
                }
            }
        }
        t.done();
        let g = EssentialGraph {
            snap: s,
            essential: &essential,
        };
        d.adopt_orphans(&g, &mut stack);
        (essential, d)
    }

    /// Iterative DFS from `start`.
    fn search<G: DomGraph>(&mut self, g: &G, start: u32, stack: &mut Vec<(u32, usize, usize)>) {
        let Dfs {
            pre,
            vertex,
            parent,
            best,
            pcount,
            ..
        } = self;
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
            if let Some(c) = g.out_target(u, e) {
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
    }

    /// Stage 2: the predecessor CSR (a second pass over the edges of `g`, which must be the graph of the DFS).
    pub fn predecessors<G: DomGraph>(self, g: &G) -> Predecessors {
        let t = Phase::start("  predecessors");
        let Dfs {
            pre,
            vertex,
            parent,
            best,
            pcount,
        } = self;
        let (n, count) = (pre.len(), vertex.len());
        // Predecessor CSR in preorder space over the edges u -> p with u > p != 0 between reached nodes (an
        // edge out of a reached node always ends at a reached node; edges out of unreached nodes are never
        // seen). Filled in ordinal order, which streams the edge columns; the same test as in the DFS decides.
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
                if let Some(c) = g.out_target(u, e) {
                    let pc = pre[c as usize];
                    if pu > pc && pc != 0 {
                        let slot = &mut pfirst[pc as usize + 1];
                        psrc[*slot as usize] = pu;
                        *slot += 1;
                    }
                }
            }
        }
        t.done();
        Predecessors {
            ancestor: pre,
            vertex,
            parent,
            best,
            pfirst,
            psrc,
        }
    }
}

impl Predecessors {
    /// Stage 3: semidominators, then the nearest-common-ancestor pass: the immediate dominators.
    pub fn solve(self) -> Dominators {
        self.solve_reporting(&mut |_| {})
    }

    /// [`Predecessors::solve`], calling `given_back(bytes)` each time part of the predecessor lists has been
    /// returned to the allocator, with the total so far (so that other work can wait until that memory is
    /// free before it allocates its own).
    pub fn solve_reporting(self, given_back: &mut dyn FnMut(usize)) -> Dominators {
        let Predecessors {
            mut ancestor,
            vertex,
            parent,
            mut best,
            mut pfirst,
            mut psrc,
        } = self;
        // `ancestor` is the node -> preorder buffer: one entry per node until truncated below.
        let (n, count) = (ancestor.len(), vertex.len());
        let t = Phase::start("  semidominators");
        // Now pfirst[i]..pfirst[i + 1] are the predecessors of preorder i numbered above i, all processed
        // before i. Until x is processed, `best[x]` is the smallest of its parent and its predecessors numbered
        // below it; afterwards, the smallest semidominator on x's compressed ancestor path (the semidominator
        // *value*, not the vertex: one array less). Once w is processed, pfirst[w + 1] is never read again (it
        // bounds the predecessors of w and w + 1, both done): it keeps semi(w) for the NCA pass, so no separate
        // array is needed.
        // The link-eval forest: vertices are linked (ancestor[x] = parent[x]) in decreasing preorder, so while
        // w is processed exactly the vertices above w are linked, and "is y linked" is `y > w`. Entries of
        // unlinked vertices are never read: the buffer needs no initialisation.
        ancestor.truncate(count);
        let mut path: Vec<u32> = Vec::new();
        // The predecessor lists are read from the end of `psrc` backwards: its tail is given back to the
        // allocator as it goes (a large block is shrunk in place), which lowers the memory in use while other
        // work runs beside this loop.
        const GIVE_BACK: usize = 4 << 20;
        let total = psrc.len();
        for w in (1..count).rev() {
            let mut sw = best[w];
            let (lo, hi) = (pfirst[w] as usize, pfirst[w + 1] as usize);
            for k in lo..hi {
                let v = psrc[k];
                if let Some(&f) = psrc.get(k + PREFETCH) {
                    prefetch(&ancestor, f as usize);
                    prefetch(&best, f as usize);
                }
                // eval(v) with path compression (v > w is linked). The paths are short: on heap graphs over
                // half end at v (its forest parent is not linked) and most others one step above, so those two
                // cases are one branch-free step (`y` is v's forest parent if linked, else v itself, and then
                // the stores leave v as it was); only longer paths take the general loop.
                let wu = w as u32;
                let a = ancestor[v as usize];
                let y = if a > wu { a as usize } else { v as usize };
                let a2 = ancestor[y];
                if a2 <= wu {
                    let bv = best[v as usize].min(best[y]);
                    best[v as usize] = bv;
                    ancestor[v as usize] = a2;
                    sw = sw.min(bv);
                    continue;
                }
                let mut x = v;
                while ancestor[x as usize] > wu {
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
            if psrc.len() - lo >= GIVE_BACK {
                psrc.truncate(lo);
                psrc.shrink_to_fit();
                given_back((total - psrc.len()) * std::mem::size_of::<u32>());
            }
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
}

/// How many predecessor entries ahead the semidominator loop prefetches.
const PREFETCH: usize = 16;

/// Hint the CPU to fetch `v[i]` into the cache (no effect if `i` is out of bounds).
#[inline(always)]
fn prefetch(v: &[u32], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if i < v.len() {
        // SAFETY: `i < v.len()`, so the address is inside `v`; a prefetch reads nothing architecturally and
        // SSE (which `_mm_prefetch` needs) is part of the x86_64 baseline.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(v.as_ptr().add(i) as *const i8);
        }
    }
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
    // Only a table's own pair edges (table -> value) are not essential: the edge's name is read only for
    // those nodes.
    if weakmaps.is_table(u) {
        if let Some((table, _)) = weakmaps.get(s, e) {
            if s.node_id[u as usize] as u64 == table {
                return false;
            }
        }
    }
    if u != root {
        if kind == EdgeKind::Shortcut {
            return false;
        }
        if !page_owned.contains(u as usize) && page_owned.contains(v as usize) {
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
    fn out_target(&self, _u: u32, e: usize) -> Option<u32> {
        self.essential.contains(e).then(|| self.snap.edge_to(e))
    }
}

/// The snapshot seen through the essential-edge predicate, evaluated on each call and recorded in `words`
/// (for [`Dfs::run_essential`], which calls it once per edge). Single-threaded: the words (a bitset's blocks)
/// are seen as `Cell`s.
struct EssentialBuilder<'a> {
    snap: &'a Snapshot,
    page_owned: &'a FixedBitSet,
    weakmaps: &'a WeakMapEdges,
    words: &'a [Cell<usize>],
}

impl DomGraph for EssentialBuilder<'_> {
    fn node_count(&self) -> usize {
        self.snap.node_count()
    }
    #[inline]
    fn out_range(&self, u: u32) -> Range<usize> {
        self.snap.edges(u)
    }
    #[inline]
    fn out_target(&self, u: u32, e: usize) -> Option<u32> {
        let s = self.snap;
        if !is_essential(s, self.page_owned, self.weakmaps, s.root, u, e) {
            return None;
        }
        let w = &self.words[e / usize::BITS as usize];
        w.set(w.get() | 1 << (e % usize::BITS as usize));
        Some(s.edge_to(e))
    }
}

/// The dominator tree with retained sizes.
#[derive(Debug, Clone, Default)]
pub struct DominatorTree {
    /// Immediate dominator ordinal of every node (root: itself).
    pub idom: Vec<u32>,
    /// Retained size of every node.
    pub retained: RetainedSizes,
    /// The root.
    pub root: u32,
    /// Children CSR, built on first use (summaries of huge snapshots need it only after classification,
    /// so its 8 bytes per node stay out of the memory peak).
    children: OnceLock<ChildrenCsr>,
}

/// Retained sizes in 4 bytes per node: the few of 4 GiB - 1 and more (nodes near the root of a big heap) are
/// kept in a side table, marked by `u32::MAX`. Halves the memory of a `u64` column, which matters at the peak.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetainedSizes {
    low: Vec<u32>,
    high: rustc_hash::FxHashMap<u32, u64>,
}

impl RetainedSizes {
    /// The retained size of node `v`.
    #[inline]
    pub fn get(&self, v: usize) -> u64 {
        match self.low[v] {
            u32::MAX => self.high[&(v as u32)],
            x => x as u64,
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.low.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.low.is_empty()
    }

    /// Add `x` to the retained size of node `v`.
    #[inline]
    fn add(&mut self, v: u32, x: u64) {
        let cur = self.get(v as usize);
        let sum = cur + x;
        if sum < u32::MAX as u64 {
            self.low[v as usize] = sum as u32;
        } else {
            self.low[v as usize] = u32::MAX;
            self.high.insert(v, sum);
        }
    }
}

/// `children[first[i]..first[i + 1]]` are the nodes `i` immediately dominates, in ordinal order.
#[derive(Debug, Clone, Default)]
struct ChildrenCsr {
    first: Vec<u32>,
    children: Vec<u32>,
}

impl ChildrenCsr {
    fn new(idom: &[u32], root: u32) -> ChildrenCsr {
        let _t = Phase::start("dominated children");
        let n = idom.len();
        let mut first = vec![0u32; n + 1];
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != root {
                first[d as usize + 1] += 1;
            }
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        // Fill with first[d] as the cursor, then shift back: no second offset array.
        let mut children = vec![0u32; n.saturating_sub(1)];
        for (v, &d) in idom.iter().enumerate() {
            if v as u32 != root {
                children[first[d as usize] as usize] = v as u32;
                first[d as usize] += 1;
            }
        }
        for i in (1..=n).rev() {
            first[i] = first[i - 1];
        }
        first[0] = 0;
        ChildrenCsr { first, children }
    }
}

impl DominatorTree {
    /// The tree and retained sizes from the immediate dominators of the essential graph rooted at `root`,
    /// with the adjusted self sizes `self_size`.
    pub fn from_dominators(doms: Dominators, root: u32, self_size: &[u32]) -> DominatorTree {
        Self::build(doms, root, self_size, false)
    }

    /// [`DominatorTree::from_dominators`], with the dominated-children CSR built beside the retained sizes
    /// (for a caller that will need it: [`DominatorTree::class_retained`] does).
    pub fn with_children(doms: Dominators, root: u32, self_size: &[u32]) -> DominatorTree {
        Self::build(doms, root, self_size, true)
    }

    fn build(doms: Dominators, root: u32, self_size: &[u32], children: bool) -> DominatorTree {
        let Dominators { mut idom, order } = doms;
        // Nodes never reached (unreachable cycles): dominated by the root, retain only themselves.
        let mut unreached = Vec::new();
        for (v, d) in idom.iter_mut().enumerate() {
            if *d == NONE {
                *d = root;
                unreached.push(v as u32);
            }
        }
        let idom_ref = &idom;
        let (retained, csr) = rayon::join(
            || {
                let t = Phase::start("  retained");
                // Retained sizes: reverse preorder visits every node after everything it dominates.
                let mut retained = RetainedSizes {
                    low: self_size.to_vec(),
                    high: Default::default(),
                };
                // A self size of exactly u32::MAX is the marker: such a node's size goes to the side table.
                for (v, &x) in self_size.iter().enumerate() {
                    if x == u32::MAX {
                        retained.high.insert(v as u32, x as u64);
                    }
                }
                for &v in order[1..].iter().rev() {
                    let d = idom_ref[v as usize];
                    retained.add(d, retained.get(v as usize));
                }
                drop(order);
                for &v in &unreached {
                    retained.add(root, retained.get(v as usize));
                }
                t.done();
                retained
            },
            || children.then(|| ChildrenCsr::new(idom_ref, root)),
        );
        DominatorTree {
            idom,
            retained,
            root,
            children: csr.map(OnceLock::from).unwrap_or_default(),
        }
    }

    /// Build the dominated-children CSR now (it is built on first use otherwise), e.g. beside other work.
    pub fn build_children(&self) {
        self.csr();
    }

    fn csr(&self) -> &ChildrenCsr {
        self.children.get_or_init(|| ChildrenCsr::new(&self.idom, self.root))
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
        // Independent subtrees are walked in parallel, each worker with its own counters. The root's children
        // are not enough of them (one usually holds most of the heap): the largest subtree (by retained size)
        // is opened up, its own node counted here, until none holds more than 1/64 of the heap (or 4096 are
        // open: a chain-like tree would otherwise be opened all the way down). The tasks are the children of
        // the open nodes that are not open themselves, a run of up to 4096 siblings per task, each run walked
        // with the counters of its ancestors.
        let counts = |v: u32| self_size[v as usize] != 0;
        let mut out = vec![0u64; classes];
        let limit = self.retained.get(root as usize) / 64;
        let mut heap = std::collections::BinaryHeap::from([(self.retained.get(root as usize), root)]);
        let mut open: Vec<u32> = Vec::new();
        while let Some((size, v)) = heap.pop() {
            if size <= limit || open.len() == 4096 {
                break;
            }
            if counts(v) && !self.has_counted_ancestor(v, self_size, class_of) {
                out[class_of[v as usize] as usize] += size;
            }
            open.push(v);
            heap.extend(
                self.children(v)
                    .iter()
                    .map(|&c| (self.retained.get(c as usize), c))
                    .filter(|&(size, _)| size > limit),
            );
        }
        if open.is_empty() {
            let mut active = vec![0u32; classes];
            self.class_walk(root, self_size, class_of, &mut out, &mut active, &mut Vec::new());
            return out;
        }
        let is_open: rustc_hash::FxHashSet<u32> = open.iter().copied().collect();
        let runs: Vec<(u32, &[u32])> = open
            .iter()
            .flat_map(|&v| self.children(v).chunks(4096).map(move |run| (v, run)))
            .collect();
        let parts = runs
            .par_iter()
            .with_min_len(1)
            .fold(
                || (vec![0u64; classes], vec![0u32; classes], Vec::new()),
                |(mut out, mut active, mut stack), &(v, run)| {
                    let path = std::iter::once(v).chain(self.ancestors(v)).filter(|&a| counts(a));
                    path.clone().for_each(|a| active[class_of[a as usize] as usize] += 1);
                    let walked = |c: &&u32| self.retained.get(**c as usize) <= limit || !is_open.contains(*c);
                    for &c in run.iter().filter(walked) {
                        self.class_walk(c, self_size, class_of, &mut out, &mut active, &mut stack);
                    }
                    path.for_each(|a| active[class_of[a as usize] as usize] -= 1);
                    (out, active, stack)
                },
            )
            .map(|(out, _, _)| out)
            .reduce_with(|mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            });
        if let Some(p) = parts {
            for (x, y) in out.iter_mut().zip(p) {
                *x += y;
            }
        }
        out
    }

    /// The proper dominator-tree ancestors of `v`, nearest first.
    fn ancestors(&self, v: u32) -> impl Iterator<Item = u32> + Clone + '_ {
        let root = self.root;
        std::iter::successors((v != root).then(|| self.idom[v as usize]), move |&a| {
            (a != root).then(|| self.idom[a as usize])
        })
    }

    /// True when a proper dominator-tree ancestor of `v` with self > 0 is in `v`'s class.
    fn has_counted_ancestor(&self, v: u32, self_size: &[u32], class_of: &[u32]) -> bool {
        let c = class_of[v as usize];
        self.ancestors(v)
            .any(|a| self_size[a as usize] != 0 && class_of[a as usize] == c)
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
                out[c] += self.retained.get(vi);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retained_sizes_past_4_gib_are_exact() {
        // root 0 -> 1 -> 2 -> 3, and 4 unreached: sizes near u32::MAX add up past it, u32::MAX itself included.
        let doms = Dominators {
            idom: vec![0, 0, 1, 2, NONE],
            order: vec![0, 1, 2, 3],
        };
        let sizes = [7, u32::MAX, u32::MAX - 1, 5, u32::MAX];
        let t = DominatorTree::from_dominators(doms, 0, &sizes);
        let want_3 = 5u64;
        let want_2 = want_3 + (u32::MAX - 1) as u64;
        let want_1 = want_2 + u32::MAX as u64;
        let want_4 = u32::MAX as u64;
        let want_0 = 7 + want_1 + want_4;
        let got: Vec<u64> = (0..5).map(|v| t.retained.get(v)).collect();
        assert_eq!(got, vec![want_0, want_1, want_2, want_3, want_4]);
        assert_eq!(t.retained.len(), 5);
        assert_eq!(t.idom, vec![0, 0, 1, 2, 0]);
    }

    #[test]
    fn class_retained_equals_its_definition() {
        // Random trees (node v's dominator is below v, so 0 is the root), random classes and sizes (some 0),
        // wide and deep ones, and heaps where one subtree holds nearly everything (the split opens it up).
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |k: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % k
        };
        for case in 0..60 {
            let n = 1 + next(3000) as usize;
            let classes = 1 + next(if case % 2 == 0 { 4 } else { 40 }) as usize;
            let idom: Vec<u32> = (0..n)
                .map(|v| match (v, case % 3) {
                    (0, _) => 0,
                    (_, 0) => next(v as u64) as u32,
                    (_, 1) => (v - 1 - next(v.min(3) as u64) as usize) as u32,
                    _ => v.saturating_sub(1 + next(2) as usize) as u32,
                })
                .collect();
            let self_size: Vec<u32> = (0..n).map(|_| [0, 1, 7, 100, 5000][next(5) as usize]).collect();
            let class_of: Vec<u32> = (0..n).map(|_| next(classes as u64) as u32).collect();
            let order: Vec<u32> = (0..n as u32).collect();
            let doms = Dominators {
                idom: idom.clone(),
                order,
            };
            let t = DominatorTree::from_dominators(doms, 0, &self_size);
            let mut want = vec![0u64; classes];
            for v in 0..n {
                if self_size[v] == 0 {
                    continue;
                }
                let mut a = v;
                let mut top = true;
                while a != 0 {
                    a = idom[a] as usize;
                    if self_size[a] != 0 && class_of[a] == class_of[v] {
                        top = false;
                    }
                }
                if top {
                    want[class_of[v] as usize] += t.retained.get(v);
                }
            }
            assert_eq!(t.class_retained(0, &self_size, &class_of, classes), want, "case {case}");
        }
    }
}
