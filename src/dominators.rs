//! Essential edges, the dominator tree and retained sizes, as DevTools computes them
//! (`computeIsEssentialEdge`, `calculateDominatorsAndRetainedSizes`; `../shared/oracle/README.md` §5-6).
//!
//! * [`essential_edges`]: one bitset over all edges, the single predicate every pass uses (forward DFS and
//!   backward predecessor scan skip exactly the same edges). The analysis builds it inside the DFS
//!   ([`Dfs::run_essential`]: each edge's predicate is evaluated when the DFS first looks at it), which equals
//!   the parallel pass over every edge (tested) without a pass of its own.
//! * Class retained sizes: a summary's load finds the nodes that make them up in one pass in preorder beside
//!   the retained sizes ([`DominatorTree::with_class_retained`]: interned sets of the classes on the tree path,
//!   no children lists); otherwise [`DominatorTree::class_retained`] walks the dominator tree in parallel
//!   subtrees.
//! * [`semi_nca`]: Semi-NCA (Georgiadis' simplification of Lengauer-Tarjan: semidominators with path
//!   compression, then nearest-common-ancestor walks in preorder) on flat `u32` arrays indexed by DFS preorder.
//!   Iterative everywhere (no recursion, so no stack overflow on deep heaps). O(E log V) worst case, near-linear
//!   in practice. The preorder numbers are split after [`TOP`]: the cross and back edges into the top of the
//!   DFS tree (most of them, on heaps) are evaluated per source, not per edge ([`Dfs`] says how). Memory 6 x u32
//!   per node, a bit per edge, 8 bytes per cross or back edge below the top and 2 per distinct one into it,
//!   all freed on return. Three stages ([`Dfs`], [`Predecessors`], the solve) so that callers can run other
//!   work beside each.
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
use crate::snapshot::{prefetch, Snapshot};
use crate::timing::Phase;

/// "No node".
pub const NONE: u32 = u32::MAX;

/// A graph seen through an edge filter, as the dominator algorithm needs it: outgoing edges only (the
/// predecessor lists are built inside, in preorder space, for the nodes the DFS reached).
pub trait DomGraph {
    /// Number of nodes.
    fn node_count(&self) -> usize;
    /// One past the largest slot of any out range.
    fn slot_count(&self) -> usize;
    /// Slots of `u`'s outgoing edges.
    fn out_range(&self, u: u32) -> Range<usize>;
    /// Target of `u`'s outgoing slot `e` (`e` in `out_range(u)`), or `None` if the edge is filtered out.
    fn out_target(&self, u: u32, e: usize) -> Option<u32>;
    /// The snapshot this graph filters, when its slots are the snapshot's edge indexes: the DFS then reads
    /// targets a few edges ahead, filtered or not, and prefetches what it will read of them.
    #[inline(always)]
    fn snapshot(&self) -> Option<&Snapshot> {
        None
    }
}

/// Result of [`semi_nca`].
#[derive(Debug, Clone)]
pub struct Dominators {
    /// Immediate dominator of every node (`root` for itself); [`NONE`] for nodes never reached.
    pub idom: Vec<u32>,
    /// Reached nodes in DFS preorder (`order[0] == root`); every node's dominator comes before it.
    pub order: Vec<u32>,
}

/// The default split of the preorder numbers ([`semi_nca_split`]): 0..=`TOP` are the top of the DFS tree, whose
/// predecessor lists hold 2-byte entries.
pub const TOP: u32 = u16::MAX as u32;

/// Immediate dominators by Semi-NCA. When `adopt_orphans` is set, unreached nodes with no incoming
/// (unfiltered) edge are attached under a virtual edge from `root`, in ordinal order, as DevTools does.
/// The three stages ([`Dfs::run`], [`Dfs::predecessors`], [`Predecessors::solve`]) can also be called one by one,
/// so that other work runs beside each.
pub fn semi_nca<G: DomGraph + Sync>(g: &G, root: u32, adopt_orphans: bool) -> Dominators {
    semi_nca_split(g, root, adopt_orphans, TOP)
}

/// [`semi_nca`] with the preorder numbers split after `top` instead of [`TOP`] (any value up to [`TOP`] gives
/// the same dominators; the tests use small ones so that both halves of the computation run on small graphs).
pub fn semi_nca_split<G: DomGraph + Sync>(g: &G, root: u32, adopt_orphans: bool, top: u32) -> Dominators {
    Dfs::run(g, root, adopt_orphans, top).predecessors().solve(g)
}

/// Stage 1 of [`semi_nca`]: the depth-first search (preorder numbers, DFS parents, the smallest predecessor
/// numbered below each node, and the predecessors numbered above it, recorded by where they end).
///
/// The semidominator pass evaluates every predecessor numbered above its target on a link-eval forest, one
/// random read of two 4-byte-per-node arrays each. On heaps, nearly all of those edges end in a few thousand
/// nodes near the top of the DFS tree (hidden classes, shared strings, prototypes: on a 14 M-node heap, 89% of
/// 39 M such edges end in 3,447 nodes numbered below 50,000), and nearly every node has one. So the preorder
/// numbers are split after `top` (65,535): the "far" edges (into nodes above `top`) are recorded as
/// (target, source) pairs and evaluated as usual; the "near" ones (into the top) are marked in a bitset over
/// the edge slots and never evaluated one by one. Once the nodes above `top` are processed, one top-down pass
/// compresses every forest path to its first vertex in the top (a valid state of the forest), so that a near
/// edge's evaluation is the source's compressed label plus an evaluation, from that vertex, on the top's
/// forest alone (a few hundred KB, in cache). A pass over the edges in ordinal order reads the source's label
/// once per source (not once per edge), folds it into the target's semidominator candidate and keeps the
/// vertex as a 2-byte entry of the target's list (dropped when it equals the previous one).
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
    // edges) are processed before p and are evaluated: into p > top, recorded in `far`; into 0 < p <= top,
    // counted in `ncount[p + 2]` and marked in `near`. Self edges and edges into the root change nothing and
    // are dropped.
    best: Vec<u32>,
    top: u32,
    far: Vec<(u32, u32)>,
    ncount: Vec<u32>,
    near: Vec<u64>,
}

/// The DFS's stacks: a frame per node on the DFS path (its number, and where its deferred targets begin), and
/// the targets not entered yet, of every node on the path.
#[derive(Default)]
struct DfsStack {
    frames: Vec<(u32, usize)>,
    deferred: Vec<u32>,
}

/// Stage 2 of [`semi_nca`]: the predecessor CSR of the nodes numbered above the split, in preorder space.
pub struct Predecessors {
    /// Number of nodes of the graph: the preorder numbers (`Dfs::pre`) are freed here, at the memory peak, and
    /// made again from `vertex` for the near-edge step.
    n: usize,
    vertex: Vec<u32>,
    parent: Vec<u32>,
    best: Vec<u32>,
    top: u32,
    ffirst: Vec<u32>,
    fsrc: Vec<u32>,
    ncount: Vec<u32>,
    near: Vec<u64>,
}

impl Dfs {
    /// The DFS from `root` (then from the orphans, if `adopt_orphans`), preorder numbers split after `top`.
    pub fn run<G: DomGraph>(g: &G, root: u32, adopt_orphans: bool, top: u32) -> Dfs {
        let mut d = Dfs::new(g.node_count(), g.slot_count(), top);
        let mut stack = DfsStack::default();
        let t = Phase::start("  dfs");
        d.search(g, root, &mut stack);
        t.done();
        if adopt_orphans {
            d.adopt_orphans(g, &mut stack);
        }
        d
    }

    fn new(n: usize, slots: usize, top: u32) -> Dfs {
        // No preorder number reaches n, and the near entries are 2 bytes.
        let top = top.min(TOP).min(n.saturating_sub(1) as u32);
        Dfs {
            pre: vec![NONE; n],
            vertex: Vec::with_capacity(n),
            parent: Vec::with_capacity(n),
            best: Vec::with_capacity(n),
            top,
            far: Vec::new(),
            ncount: vec![0u32; top as usize + 3],
            near: vec![0u64; slots.div_ceil(64)],
        }
    }

    /// After the DFS from the root: every unreached node with no incoming (unfiltered) edge starts a DFS of
    /// its own, in ordinal order.
    fn adopt_orphans<G: DomGraph>(&mut self, g: &G, stack: &mut DfsStack) {
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
    /// (tested), without the separate pass over every edge. Preorder numbers split after `top` ([`TOP`]).
    pub fn run_essential(
        s: &Snapshot,
        page_owned: &FixedBitSet,
        weakmaps: &WeakMapEdges,
        top: u32,
    ) -> (FixedBitSet, Dfs) {
        let n = s.node_count();
        let m = s.edge_count();
        let mut essential = FixedBitSet::with_capacity(m);
        let mut d = Dfs::new(n, m, top);
        let mut stack = DfsStack::default();
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

    /// Iterative DFS from `start`. A node's edges are looked at in two passes. When the DFS enters it, every
    /// edge at once: those into nodes already numbered are recorded then, the targets not yet numbered are
    /// kept on `deferred` (their edges prefetched meanwhile). Then those targets one by one, each entered if it
    /// is still unnumbered (a tree edge), else recorded (a forward edge: its target was numbered inside this
    /// node's subtree). Any order of a node's edges makes a depth-first search, and the dominators do not
    /// depend on which: this one reads each node's edges while the targets' data are fetched side by side,
    /// instead of descending into the first unnumbered target before its siblings' reads are under way.
    fn search<G: DomGraph>(&mut self, g: &G, start: u32, stack: &mut DfsStack) {
        let Dfs {
            pre,
            vertex,
            parent,
            best,
            top,
            far,
            ncount,
            near,
        } = self;
        let top = *top;
        let DfsStack { frames, deferred } = stack;
        let snap = g.snapshot();
        // The node to enter next and its DFS parent's number.
        let mut enter = Some((start, 0u32));
        loop {
            if let Some((u, pp)) = enter.take() {
                let pu = vertex.len() as u32;
                pre[u as usize] = pu;
                vertex.push(u);
                parent.push(pp);
                best.push(pp);
                let r = g.out_range(u);
                if let Some(s) = snap {
                    prefetch(near, r.start / 64);
                    look_ahead(s, pre, u);
                }
                let base = deferred.len();
                for e in r.clone() {
                    if let Some(s) = snap {
                        // The preorder number and edge range of a target a few edges ahead: random reads,
                        // started early.
                        if e + DFS_AHEAD < r.end {
                            let t = s.edge_to(e + DFS_AHEAD);
                            prefetch(pre, t as usize);
                            s.prefetch_edge_range(t);
                        }
                    }
                    let Some(c) = g.out_target(u, e) else {
                        continue;
                    };
                    let pc = pre[c as usize];
                    if pc == NONE {
                        if let Some(s) = snap {
                            s.prefetch_edges(c);
                        }
                        deferred.push(c);
                    } else if pu > pc {
                        if pc > top {
                            far.push((pc, pu));
                        } else if pc != 0 {
                            ncount[pc as usize + 2] += 1;
                            near[e / 64] |= 1 << (e % 64);
                        }
                    }
                    // Else c == u: a self edge changes nothing.
                }
                // In edge order when taken from the end.
                deferred[base..].reverse();
                if let Some(s) = snap {
                    for &c in &deferred[deferred.len().saturating_sub(DFS_LOOK).max(base)..] {
                        look_ahead(s, pre, c);
                    }
                }
                frames.push((pu, base));
            }
            let Some(&(pu, base)) = frames.last() else {
                break;
            };
            if deferred.len() == base {
                frames.pop();
                continue;
            }
            let c = deferred.pop().expect("deferred.len() > base");
            if let Some(s) = snap {
                if let Some(i) = deferred.len().checked_sub(DFS_LOOK).filter(|&i| i >= base) {
                    look_ahead(s, pre, deferred[i]);
                }
            }
            let pc = pre[c as usize];
            if pc == NONE {
                enter = Some((c, pu));
            } else if pu < best[pc as usize] {
                // Numbered after u, inside its subtree: a forward edge.
                best[pc as usize] = pu;
            }
        }
    }

    /// Stage 2: the predecessor CSR of the nodes numbered above the split (a counting sort of the far edges).
    pub fn predecessors(self) -> Predecessors {
        let t = Phase::start("  predecessors");
        let Dfs {
            pre,
            vertex,
            parent,
            best,
            top,
            far,
            ncount,
            near,
        } = self;
        let (n, count) = (pre.len(), vertex.len());
        drop(pre);
        // ffirst[p + 2] counts p's far predecessors; after the prefix sums it is the end of p's list and
        // ffirst[p + 1] its start, the slot filled next (so that once filled, p's list is ffirst[p]..ffirst[p + 1]).
        // Both passes are random reads and writes of `ffirst` (and `fsrc`), one per far edge: the two halves of
        // the preorder numbers go to two threads, each of which reads every far edge and keeps those whose
        // target is in its half (the reads in order are cheap; the random ones are what is shared out).
        let mut ffirst = vec![0u32; count + 2];
        let mid = (count + 2) / 2;
        write_by_halves(
            &mut ffirst,
            mid,
            || far.iter().map(|&(pc, _)| (pc as usize + 2, ())),
            |x, ()| *x += 1,
        );
        for i in 2..count + 2 {
            ffirst[i] += ffirst[i - 1];
        }
        let mut fsrc = vec![0u32; far.len()];
        {
            // The slot of p's next source is ffirst[p + 1]: the lower half's slots are ffirst[1..mid] (targets
            // p < mid - 1), whose lists end at ffirst[mid], where the upper half's begin.
            let (lo, hi) = ffirst.split_at_mut(mid);
            let split = hi[0] as usize;
            let (src_lo, src_hi) = fsrc.split_at_mut(split);
            rayon::join(
                || {
                    for &(pc, pu) in &far {
                        if let Some(slot) = lo.get_mut(pc as usize + 1) {
                            src_lo[*slot as usize] = pu;
                            *slot += 1;
                        }
                    }
                },
                || {
                    for &(pc, pu) in &far {
                        if let Some(slot) = (pc as usize + 1).checked_sub(mid).map(|i| &mut hi[i]) {
                            src_hi[*slot as usize - split] = pu;
                            *slot += 1;
                        }
                    }
                },
            );
        }
        drop(far);
        t.done();
        Predecessors {
            n,
            vertex,
            parent,
            best,
            top,
            ffirst,
            fsrc,
            ncount,
            near,
        }
    }
}

/// Random writes into `a` shared out to two threads by halves of its indexes (below `mid`, and from it): each
/// thread reads all of `items()` (index, value), in order, which is cheap, and applies `f` to the entries of its
/// half, whose random accesses are what costs.
fn write_by_halves<T: Send, X, I: Iterator<Item = (usize, X)>>(
    a: &mut [T],
    mid: usize,
    items: impl Fn() -> I + Sync,
    f: impl Fn(&mut T, X) + Sync,
) {
    let (lo, hi) = a.split_at_mut(mid);
    rayon::join(
        || {
            for (i, x) in items() {
                if let Some(t) = lo.get_mut(i) {
                    f(t, x);
                }
            }
        },
        || {
            for (i, x) in items() {
                if let Some(t) = i.checked_sub(mid).and_then(|j| hi.get_mut(j)) {
                    f(t, x);
                }
            }
        },
    );
}

/// eval(v) of the link-eval forest with path compression, while `w` is processed (so exactly the vertices
/// numbered above `w` are linked: v > w is): the smallest semidominator on v's path up to the first vertex not
/// linked. The paths are short: on heap graphs over half end at v (its forest parent is not linked) and most
/// others one step above, so those two cases are one branch-free step (`y` is v's forest parent if linked, else
/// v itself, and then the stores leave v as it was); only longer paths take the general loop.
#[inline(always)]
fn eval(v: u32, w: u32, ancestor: &mut [u32], best: &mut [u32], path: &mut Vec<u32>) -> u32 {
    let a = ancestor[v as usize];
    let y = if a > w { a as usize } else { v as usize };
    let a2 = ancestor[y];
    if a2 <= w {
        let bv = best[v as usize].min(best[y]);
        best[v as usize] = bv;
        ancestor[v as usize] = a2;
        return bv;
    }
    let mut x = v;
    while ancestor[x as usize] > w {
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
    best[v as usize]
}

impl Predecessors {
    /// Stage 3: semidominators, then the nearest-common-ancestor pass: the immediate dominators. `g` must be
    /// the graph of the DFS (the near edges are read from it again).
    pub fn solve<G: DomGraph + Sync>(self, g: &G) -> Dominators {
        let Predecessors {
            n,
            vertex,
            parent,
            mut best,
            top,
            mut ffirst,
            fsrc,
            ncount,
            near,
        } = self;
        let count = vertex.len();
        let t = Phase::start("  semidominators");
        // Until x is processed, `best[x]` is the smallest of its parent and its predecessors numbered below it;
        // afterwards, the smallest semidominator on x's compressed ancestor path (the semidominator *value*,
        // not the vertex: one array less). Once w is processed, ffirst[w + 1] is never read again (it bounds
        // the predecessors of w and w + 1, both done): it keeps semi(w) for the NCA pass.
        // The link-eval forest: vertices are linked (ancestor[x] = parent[x]) in decreasing preorder, so while
        // w is processed exactly the vertices above w are linked, and "is y linked" is `y > w`. Entries of
        // unlinked vertices are never read.
        let mut ancestor = vec![0u32; count];
        let mut path: Vec<u32> = Vec::new();
        let split = top as usize + 1;
        let t1 = Phase::start("    far predecessors");
        // 1. The vertices above the split, with their far predecessor lists.
        for w in (split..count).rev() {
            let mut sw = best[w];
            let (lo, hi) = (ffirst[w] as usize, ffirst[w + 1] as usize);
            for k in lo..hi {
                let v = fsrc[k];
                if let Some(&f) = fsrc.get(k + PREFETCH) {
                    prefetch(&ancestor, f as usize);
                    prefetch(&best, f as usize);
                }
                // Nearer, the forest parent of a source whose entry was prefetched above: eval's second step.
                if let Some(&f) = fsrc.get(k + PREFETCH / 2) {
                    let a = ancestor[f as usize];
                    if a > w as u32 {
                        prefetch(&ancestor, a as usize);
                        prefetch(&best, a as usize);
                    }
                }
                sw = sw.min(eval(v, w as u32, &mut ancestor, &mut best, &mut path));
            }
            best[w] = sw;
            ancestor[w] = parent[w];
            ffirst[w + 1] = sw;
        }
        drop(fsrc);
        t1.done();
        let t1 = Phase::start("    path compression");
        // 2. Every forest path above the split compressed to its first vertex in the top, top-down (a vertex's
        // forest parent comes before it and is done): afterwards, for x above the split, `ancestor[x]` is the
        // top vertex its path reaches and `best[x]` the smallest semidominator on the way (its label).
        for x in split..count {
            let a = ancestor[x];
            if a > top {
                let a = a as usize;
                if best[a] < best[x] {
                    best[x] = best[a];
                }
                ancestor[x] = ancestor[a];
            }
        }
        t1.done();
        // 3. The near edges, in ordinal order. A source numbered in the top is an entry as it is. For a source
        // v above the split, eval(v) while a top vertex w is processed is min(label(v), eval(r)) where r =
        // ancestor[v] if r > w (then r is linked), else label(v) alone: the label goes into w's candidate now,
        // and r, if r > w, into w's list (2 bytes), unless it equals the entry before it.
        let t1 = Phase::start("    near edges");
        // The preorder numbers again.
        let mut pre = vec![NONE; n];
        let items = || vertex.iter().enumerate().map(|(i, &v)| (v as usize, i as u32));
        write_by_halves(&mut pre, n / 2, items, |x, i| *x = i);
        let mut nfirst = ncount;
        for i in 2..nfirst.len() {
            nfirst[i] += nfirst[i - 1];
        }
        let total = nfirst.last().copied().unwrap_or(0) as usize;
        // The nodes go to two threads by halves of the edge slots. Each thread folds labels into its own copy
        // of the top's candidates (the lower half's is `best` itself; the copies meet by `min` after) and fills
        // every target's list from one end, in a list array of its own: the lower half from the start up, the
        // upper half from the end down (each list has room for every near edge into its target). The arrays are
        // zeroed by the system (calloc): only the pages written, a fraction after deduplication, are resident.
        let (mut nsrc, mut nsrc_upper) = (vec![0u16; total], vec![0u16; total]);
        let split_node = {
            let half = g.slot_count() / 2;
            let (mut lo, mut hi) = (0u32, n as u32);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if g.out_range(mid).start < half {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        let (best_top, best_above) = best.split_at_mut(split.min(count));
        let mut upper_top = best_top.to_vec();
        let near_pass = NearPass {
            pre: &pre,
            near: &near,
            top,
            best_above,
            ancestor: &ancestor,
            nfirst: &nfirst,
        };
        let (ncur, nend) = rayon::join(
            || near_pass.run::<G, true>(g, 0..split_node, best_top, &mut nsrc),
            || near_pass.run::<G, false>(g, split_node..n as u32, &mut upper_top, &mut nsrc_upper),
        );
        for (b, u) in best_top.iter_mut().zip(upper_top) {
            *b = (*b).min(u);
        }
        drop((pre, near));
        t1.done();
        let t1 = Phase::start("    top");
        // 4. The top, on its own forest (in cache).
        for w in (1..split.min(count)).rev() {
            let mut sw = best[w];
            let lower = nfirst[w + 1] as usize..ncur[w + 1] as usize;
            let upper = nend[w + 2] as usize..nfirst[w + 2] as usize;
            for &v in nsrc[lower].iter().chain(&nsrc_upper[upper]) {
                sw = sw.min(eval(v as u32, w as u32, &mut ancestor, &mut best, &mut path));
            }
            best[w] = sw;
            ancestor[w] = parent[w];
            ffirst[w + 1] = sw;
        }
        drop((best, ancestor, nsrc, nsrc_upper, nfirst, ncur, nend));
        t1.done();
        t.done();
        let t = Phase::start("  nca");
        // NCA: idom(w) = nearest ancestor of parent(w) in the dominator tree with preorder <= semi(w).
        let mut idom_pre = parent;
        idom_pre[0] = 0;
        for w in 1..count {
            let semi = ffirst[w + 1];
            let mut d = idom_pre[w];
            while d > semi {
                d = idom_pre[d as usize];
            }
            idom_pre[w] = d;
        }
        drop(ffirst);
        let mut idom = vec![NONE; n];
        for (i, &v) in vertex.iter().enumerate() {
            idom[v as usize] = vertex[idom_pre[i] as usize];
        }
        t.done();
        Dominators { idom, order: vertex }
    }
}

/// Step 3 of [`Predecessors::solve`] over a range of nodes: what a pass over their near edges reads, shared by
/// the two threads.
struct NearPass<'a> {
    pre: &'a [u32],
    near: &'a [u64],
    top: u32,
    /// `best` of the vertices above the split (`best_above[0]` is vertex `top + 1`'s).
    best_above: &'a [u32],
    ancestor: &'a [u32],
    nfirst: &'a [u32],
}

impl NearPass<'_> {
    /// The near edges out of `nodes`, in ordinal order: labels folded into `best_top` (the top's candidates),
    /// entries into the targets' lists in `nsrc`, from the start of each list up (`UP`) or from its end down.
    /// Returns the cursors: `cur[p + 1]` the end of p's entries (`UP`), else `cur[p + 2]` their start.
    fn run<G: DomGraph, const UP: bool>(
        &self,
        g: &G,
        nodes: Range<u32>,
        best_top: &mut [u32],
        nsrc: &mut [u16],
    ) -> Vec<u32> {
        let (pre, top, split) = (self.pre, self.top, self.top as usize + 1);
        let mut cur = self.nfirst.to_vec();
        for u in nodes {
            // The label of a source a few nodes ahead (a random read in preorder space).
            if let Some(&pf) = pre.get(u as usize + PREFETCH) {
                if pf != NONE && pf > top {
                    prefetch(self.best_above, pf as usize - split);
                    prefetch(self.ancestor, pf as usize);
                }
            }
            let pu = pre[u as usize];
            if pu == NONE {
                continue;
            }
            let r = g.out_range(u);
            let (mut label, mut root) = (NONE, NONE);
            let mut e = r.start;
            while e < r.end {
                let word = self.near[e / 64] >> (e % 64);
                if word == 0 {
                    e = (e | 63) + 1;
                    continue;
                }
                e += word.trailing_zeros() as usize;
                if e >= r.end {
                    break;
                }
                let slot = e;
                e += 1;
                let Some(c) = g.out_target(u, slot) else {
                    continue;
                };
                let pc = pre[c as usize] as usize;
                let entry = if pu <= top {
                    pu
                } else {
                    if label == NONE {
                        (label, root) = (self.best_above[pu as usize - split], self.ancestor[pu as usize]);
                    }
                    if label < best_top[pc] {
                        best_top[pc] = label;
                    }
                    if root <= pc as u32 {
                        continue;
                    }
                    root
                } as u16;
                if UP {
                    let c = &mut cur[pc + 1];
                    if *c > self.nfirst[pc + 1] && nsrc[*c as usize - 1] == entry {
                        continue;
                    }
                    nsrc[*c as usize] = entry;
                    *c += 1;
                } else {
                    let c = &mut cur[pc + 2];
                    if *c < self.nfirst[pc + 2] && nsrc[*c as usize] == entry {
                        continue;
                    }
                    *c -= 1;
                    nsrc[*c as usize] = entry;
                }
            }
        }
        cur
    }
}

/// How many predecessor entries ahead the semidominator loop prefetches.
const PREFETCH: usize = 16;

/// How many of a node's deferred targets (those entered next) the DFS looks into ahead ([`look_ahead`]).
const DFS_LOOK: usize = 4;

/// The DFS will soon enter `c` (or has just entered it), whose edges were prefetched: read its first targets and
/// prefetch their preorder numbers and edge ranges, so that they are on their way when it reads them.
#[inline(always)]
fn look_ahead(s: &Snapshot, pre: &[u32], c: u32) {
    let r = s.edges(c);
    for t in s.edge_targets(r.start..r.end.min(r.start + DFS_AHEAD)) {
        prefetch(pre, t as usize);
        s.prefetch_edge_range(t);
    }
}

/// How many edges ahead the DFS prefetches the preorder numbers of their targets.
const DFS_AHEAD: usize = 8;

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

#[inline(always)]
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
    fn slot_count(&self) -> usize {
        self.snap.edge_count()
    }
    #[inline]
    fn out_range(&self, u: u32) -> Range<usize> {
        self.snap.edges(u)
    }
    #[inline]
    fn out_target(&self, _u: u32, e: usize) -> Option<u32> {
        self.essential.contains(e).then(|| self.snap.edge_to(e))
    }
    #[inline(always)]
    fn snapshot(&self) -> Option<&Snapshot> {
        Some(self.snap)
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
    fn slot_count(&self) -> usize {
        self.snap.edge_count()
    }
    #[inline]
    fn out_range(&self, u: u32) -> Range<usize> {
        self.snap.edges(u)
    }
    #[inline(always)]
    fn snapshot(&self) -> Option<&Snapshot> {
        Some(self.snap)
    }
    // Inlined into the DFS loop, with `is_essential`: where LLVM called it instead (its choice varied with
    // unrelated changes), the DFS of the big file took ~130 ms longer (600 -> 735 ms).
    #[inline(always)]
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
    /// Children CSR, built on first use (commands that walk the tree; a summary's load does not need it).
    children: OnceLock<ChildrenCsr>,
    /// The reached nodes in preorder and the unreached ones, kept by [`DominatorTree::keeping_preorder`] for
    /// one later [`DominatorTree::take_class_retained`].
    preorder: KeptPreorder,
}

/// The preorder kept for one class retained computation, taken (and freed) through a shared reference.
#[derive(Debug, Default)]
struct KeptPreorder(std::sync::Mutex<Option<(Vec<u32>, Vec<u32>)>>);

impl KeptPreorder {
    fn take(&self) -> Option<(Vec<u32>, Vec<u32>)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Clone for KeptPreorder {
    fn clone(&self) -> Self {
        let kept = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        KeptPreorder(std::sync::Mutex::new(kept))
    }
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

/// How many turns ahead [`class_tops`] prefetches a node's entries.
const CLASS_AHEAD: usize = 16;

/// Bound on the words of the path class sets of [`class_tops`] (16 MiB).
const CLASS_SET_WORDS: usize = 1 << 21;

/// The nodes whose retained sizes make up their class's retained size (`calculateClassesRetainedSize`): those
/// with self > 0 and no proper dominator-tree ancestor of the same class with self > 0. One pass in preorder,
/// where every node comes after its dominator, so no children lists and no walk: each node holds the set of
/// the classes of its counted proper ancestors that its children see (its own, plus its class when it is a
/// counted top), as the number of an interned bitset; a node is a top when its class is not in the set its
/// dominator hands down. A counted top's set with its class added is made only when a child asks for it (the
/// node then holds its own set and a mark; most tops are leaves), once per distinct (set, class). `None` when
/// the sets would outgrow `max_words` words (then the tree walk of [`DominatorTree::class_retained`]).
///
/// `order`: the reached nodes in preorder (`order[0]` the root); `unreached`: the others, all dominated by
/// the root (leaves of the tree).
fn class_tops(
    idom: &[u32],
    order: &[u32],
    unreached: &[u32],
    self_size: &[u32],
    class_of: &[u32],
    classes: usize,
    max_words: usize,
) -> Option<FixedBitSet> {
    // `hands[v]`: before v's turn, its class and whether it counts (`class << 1 | counts`, filled in parallel:
    // the preorder pass then reads one array at v instead of two); after, the set its children see, or
    // PENDING | its own set (a counted top: its class is added when a child first asks).
    const PENDING: u32 = 1 << 31;
    let n = idom.len();
    if classes >= 1 << 30 || n == 0 {
        return None;
    }
    let mut hands: Vec<u32> = vec![0; n];
    const CHUNK: usize = 1 << 16;
    hands
        .par_chunks_mut(CHUNK)
        .zip(class_of.par_chunks(CHUNK))
        .zip(self_size.par_chunks(CHUNK))
        .for_each(|((h, c), z)| {
            for ((h, &c), &z) in h.iter_mut().zip(c).zip(z) {
                *h = c << 1 | u32::from(z != 0);
            }
        });
    let w = classes.div_ceil(64).max(1);
    // Set k is words[k * w..(k + 1) * w]; set 0 is empty.
    let mut words: Vec<u64> = vec![0; w];
    let mut interned: rustc_hash::FxHashMap<(u32, u32), u32> = Default::default();
    let mut tops = FixedBitSet::with_capacity(n);
    // The last (set, class) -> set interned: siblings after a pending parent's first child find it here.
    let mut last = (u32::MAX, u32::MAX, 0u32);
    let root = *order.first()?;
    let parents = order[1..]
        .iter()
        .map(|&v| (v, idom[v as usize]))
        .chain(unreached.iter().map(|&v| (v, root)));
    // Preorder is a random order of the ordinals: the entries of the nodes a few turns ahead are fetched early
    // (a node's dominator and own entries 16 turns ahead, then its dominator's entry 8 turns ahead).
    let (mut far_ahead, mut near_ahead) = (order.iter().skip(CLASS_AHEAD), order.iter().skip(CLASS_AHEAD / 2));
    for (v, p) in std::iter::once((root, u32::MAX)).chain(parents) {
        if let Some(&a) = far_ahead.next() {
            prefetch(idom, a as usize);
            prefetch(&hands, a as usize);
        }
        if let Some(&b) = near_ahead.next() {
            prefetch(&hands, idom[b as usize] as usize);
        }
        let s = if p == u32::MAX {
            0
        } else {
            let h = hands[p as usize];
            if h & PENDING == 0 {
                h
            } else {
                let (s, c) = (h & !PENDING, class_of[p as usize]);
                let t = if (last.0, last.1) == (s, c) {
                    last.2
                } else {
                    let next = (words.len() / w) as u32;
                    let t = *interned.entry((s, c)).or_insert(next);
                    if t == next {
                        if words.len() + w > max_words || next >= PENDING {
                            return None;
                        }
                        words.extend_from_within(s as usize * w..(s as usize + 1) * w);
                        words[next as usize * w + c as usize / 64] |= 1 << (c % 64);
                    }
                    last = (s, c, t);
                    t
                };
                hands[p as usize] = t;
                t
            }
        };
        let vi = v as usize;
        let packed = hands[vi];
        let c = (packed >> 1) as usize;
        hands[vi] = if packed & 1 != 0 && words[s as usize * w + c / 64] & (1 << (c % 64)) == 0 {
            tops.insert(vi);
            PENDING | s
        } else {
            s
        };
    }
    Some(tops)
}

/// Per-class sums `a` + `b`, element by element (the class retained sizes' partial sums).
fn add_per_class(mut a: Vec<u64>, b: Vec<u64>) -> Vec<u64> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

/// The members of each class (`member_class[v]` in `0..classes`; others are not members), in ordinal order.
fn members_by_class(member_class: &[u32], classes: usize) -> Vec<Vec<u32>> {
    let mut by_class: Vec<Vec<u32>> = vec![Vec::new(); classes];
    for (v, &c) in member_class.iter().enumerate() {
        if let Some(list) = by_class.get_mut(c as usize) {
            list.push(v as u32);
        }
    }
    by_class
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
        Self::build_with(doms, root, self_size, None, false).0
    }

    /// [`DominatorTree::from_dominators`], keeping the preorder (4 bytes per node) for one
    /// [`DominatorTree::take_class_retained`] once the nodes are classified.
    pub fn keeping_preorder(doms: Dominators, root: u32, self_size: &[u32]) -> DominatorTree {
        Self::build_with(doms, root, self_size, None, true).0
    }

    /// The per-class retained sizes of the classification `class_of` (classes `0..classes`) from the preorder
    /// kept by [`DominatorTree::keeping_preorder`] ([`class_tops`]; by the tree walk of
    /// [`DominatorTree::class_retained`] if their sets outgrow their bound), which is then freed; `None` if no
    /// preorder was kept. On a 14 M-node heap the tops take ~0.5 s, the walk ~2 s and the dominated-children CSR.
    pub fn take_class_retained(&self, self_size: &[u32], class_of: &[u32], classes: usize) -> Option<Vec<u64>> {
        let (order, unreached) = self.preorder.take()?;
        let tops = {
            let _t = Phase::start("  class tops");
            class_tops(
                &self.idom,
                &order,
                &unreached,
                self_size,
                class_of,
                classes,
                CLASS_SET_WORDS,
            )
        };
        drop((order, unreached));
        Some(match tops {
            Some(tops) => {
                let _t = Phase::start("class retained");
                self.sum_tops(&tops, class_of, classes)
            }
            None => self.class_retained(self.root, self_size, class_of, classes),
        })
    }

    /// [`DominatorTree::from_dominators`], with the per-class retained sizes of the classification `class_of`
    /// (classes `0..classes`) computed beside the retained sizes from the preorder ([`class_tops`]), without the
    /// dominated-children CSR; by the tree walk of [`DominatorTree::class_retained`] when the path class sets
    /// outgrow their bound.
    pub fn with_class_retained(
        doms: Dominators,
        root: u32,
        self_size: &[u32],
        class_of: &[u32],
        classes: usize,
    ) -> (DominatorTree, Vec<u64>) {
        let (tree, tops) = Self::build_with(doms, root, self_size, Some((class_of, classes)), false);
        let sums = match tops {
            Some(tops) => {
                let _t = Phase::start("class retained");
                tree.sum_tops(&tops, class_of, classes)
            }
            None => tree.class_retained(root, self_size, class_of, classes),
        };
        (tree, sums)
    }

    /// The tree; with `classes = Some((class_of, count))`, beside the retained sizes, the class tops of that
    /// classification ([`class_tops`]; `None` if their sets outgrow their bound). `keep`: keep the preorder.
    fn build_with(
        doms: Dominators,
        root: u32,
        self_size: &[u32],
        classes: Option<(&[u32], usize)>,
        keep: bool,
    ) -> (DominatorTree, Option<FixedBitSet>) {
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
        let (order_ref, unreached_ref) = (&order, &unreached);
        let (retained, tops) = rayon::join(
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
                for &v in order_ref[1..].iter().rev() {
                    let d = idom_ref[v as usize];
                    retained.add(d, retained.get(v as usize));
                }
                for &v in unreached_ref {
                    retained.add(root, retained.get(v as usize));
                }
                t.done();
                retained
            },
            || {
                classes.and_then(|(class_of, classes)| {
                    let _t = Phase::start("  class tops");
                    class_tops(
                        idom_ref,
                        order_ref,
                        unreached_ref,
                        self_size,
                        class_of,
                        classes,
                        CLASS_SET_WORDS,
                    )
                })
            },
        );
        let tree = DominatorTree {
            idom,
            retained,
            root,
            children: OnceLock::new(),
            preorder: KeptPreorder(std::sync::Mutex::new(keep.then_some((order, unreached)))),
        };
        (tree, tops)
    }

    /// Σ retained size per class over the nodes in `tops` ([`class_tops`]), in parallel.
    fn sum_tops(&self, tops: &FixedBitSet, class_of: &[u32], classes: usize) -> Vec<u64> {
        const CHUNK: usize = 1 << 16;
        let n = class_of.len();
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .fold(
                || vec![0u64; classes],
                |mut out, c| {
                    // CHUNK is a multiple of the word size: the chunk's words, bit by bit.
                    const BITS: usize = usize::BITS as usize;
                    let words = &tops.as_slice()[c * CHUNK / BITS..(((c + 1) * CHUNK).min(n)).div_ceil(BITS)];
                    for (k, &word) in words.iter().enumerate() {
                        let mut word = word;
                        while word != 0 {
                            let v = c * CHUNK + k * BITS + word.trailing_zeros() as usize;
                            word &= word - 1;
                            out[class_of[v] as usize] += self.retained.get(v);
                        }
                    }
                    out
                },
            )
            .reduce(|| vec![0u64; classes], add_per_class)
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
    /// the same class: their retained sizes add up without double counting.
    ///
    /// Members are usually a minority (the entries of a few growing points: 2.5 M of a 14 M-node heap in the
    /// diff's largest call on the 1.23 GB app shape): then each class's members look up their dominator
    /// chains, which meet soon (a point's entries share a holder), each node's answer remembered per class, so
    /// no chain is walked twice for a class (classes in parallel); the walk of the whole tree, with its
    /// children lists, took ~1.3 s there. With members past half the nodes, that walk (O(V), iterative).
    pub fn top_level_members(&self, root: u32, member_class: &[u32], classes: usize) -> FixedBitSet {
        let by_class = members_by_class(member_class, classes);
        let total: usize = by_class.iter().map(Vec::len).sum();
        if total.saturating_mul(2) > member_class.len() {
            return self.top_level_members_walk(root, member_class, classes);
        }
        self.top_level_members_up(root, member_class, &by_class)
    }

    /// [`DominatorTree::top_level_members`] by the members' dominator chains: `by_class[c]` lists class c's.
    fn top_level_members_up(&self, root: u32, member_class: &[u32], by_class: &[Vec<u32>]) -> FixedBitSet {
        let tops: Vec<Vec<u32>> = by_class
            .par_iter()
            .enumerate()
            .map(|(c, members)| {
                let c = c as u32;
                // covered[x]: whether x or one of its dominator-tree ancestors is a member of class c.
                let mut covered: rustc_hash::FxHashMap<u32, bool> = Default::default();
                let mut path = Vec::new();
                let mut is_covered = |a: u32| {
                    let mut x = a;
                    let answer = loop {
                        if member_class[x as usize] == c {
                            break true;
                        }
                        if let Some(&b) = covered.get(&x) {
                            break b;
                        }
                        path.push(x);
                        if x == root {
                            break false;
                        }
                        x = self.idom[x as usize];
                    };
                    for x in path.drain(..) {
                        covered.insert(x, answer);
                    }
                    answer
                };
                members
                    .iter()
                    .copied()
                    .filter(|&v| v == root || !is_covered(self.idom[v as usize]))
                    .collect()
            })
            .collect();
        let mut out = FixedBitSet::with_capacity(member_class.len());
        for v in tops.into_iter().flatten() {
            out.insert(v as usize);
        }
        out
    }

    /// [`DominatorTree::top_level_members`] by a walk of the whole tree.
    fn top_level_members_walk(&self, root: u32, member_class: &[u32], classes: usize) -> FixedBitSet {
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
            .reduce_with(add_per_class);
        match parts {
            Some(p) => add_per_class(out, p),
            None => out,
        }
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

    /// A seeded pseudo-random `next(k)` in `0..k` (a 64-bit LCG's high bits).
    fn below(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |k| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % k
        }
    }

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
    fn top_level_members_by_chains_equal_the_walk_and_the_definition() {
        // Random trees (v's dominator below v; 0 the root), members of a few classes, sparse and dense.
        let mut next = below(0x2545_f491_4f6c_dd1d);
        for case in 0..80 {
            let n = 1 + next(2000) as usize;
            let classes = 1 + next(6) as usize;
            let idom: Vec<u32> = (0..n)
                .map(|v| match (v, case % 3) {
                    (0, _) => 0,
                    (_, 0) => next(v as u64) as u32,
                    (_, 1) => (v - 1) as u32,
                    _ => v.saturating_sub(1 + next(3) as usize) as u32,
                })
                .collect();
            let density = [2, 10, 100, 1000][case % 4];
            let member_class: Vec<u32> = (0..n)
                .map(|_| {
                    if next(density) == 0 {
                        next(classes as u64) as u32
                    } else {
                        NONE
                    }
                })
                .collect();
            let order: Vec<u32> = (0..n as u32).collect();
            let t = DominatorTree::from_dominators(Dominators { idom, order }, 0, &vec![1; n]);
            let mut want = FixedBitSet::with_capacity(n);
            for v in 0..n {
                let c = member_class[v];
                if c == NONE {
                    continue;
                }
                let mut a = v;
                let mut top = true;
                while a != 0 {
                    a = t.idom[a] as usize;
                    top &= member_class[a] != c;
                }
                if top {
                    want.insert(v);
                }
            }
            let by_class = members_by_class(&member_class, classes);
            assert_eq!(t.top_level_members_up(0, &member_class, &by_class), want, "case {case}");
            assert_eq!(t.top_level_members_walk(0, &member_class, classes), want, "case {case}");
            assert_eq!(t.top_level_members(0, &member_class, classes), want, "case {case}");
        }
    }

    #[test]
    fn class_retained_equals_its_definition() {
        // Random trees (node v's dominator is below v, so 0 is the root), random classes and sizes (some 0),
        // wide and deep ones, and heaps where one subtree holds nearly everything (the split opens it up).
        let mut next = below(0x9e37_79b9_7f4a_7c15);
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
            // Some unreached nodes after the reached ones (dominated by the root, as the tree has them).
            let unreached = next(4) as usize;
            let mut idom = idom;
            idom.extend(std::iter::repeat_n(NONE, unreached));
            let n = n + unreached;
            let self_size: Vec<u32> = (0..n).map(|_| [0, 1, 7, 100, 5000][next(5) as usize]).collect();
            let class_of: Vec<u32> = (0..n).map(|_| next(classes as u64) as u32).collect();
            let order: Vec<u32> = (0..(n - unreached) as u32).collect();
            let doms = || Dominators {
                idom: idom.clone(),
                order: order.clone(),
            };
            let t = DominatorTree::from_dominators(doms(), 0, &self_size);
            let mut want = vec![0u64; classes];
            let mut want_tops = FixedBitSet::with_capacity(n);
            for v in 0..n {
                if self_size[v] == 0 {
                    continue;
                }
                let mut a = v;
                let mut top = true;
                while a != 0 {
                    a = t.idom[a] as usize;
                    if self_size[a] != 0 && class_of[a] == class_of[v] {
                        top = false;
                    }
                }
                if top {
                    want[class_of[v] as usize] += t.retained.get(v);
                    want_tops.insert(v);
                }
            }
            assert_eq!(t.class_retained(0, &self_size, &class_of, classes), want, "case {case}");
            // The preorder pass: the same tops and sums; with too small a bound for its sets, `None` (and
            // the walk instead).
            let (t2, sums) = DominatorTree::with_class_retained(doms(), 0, &self_size, &class_of, classes);
            assert_eq!(sums, want, "case {case}");
            assert_eq!(t2.idom, t.idom);
            let unreached: Vec<u32> = (n - unreached..n).map(|v| v as u32).collect();
            let tops = |max| class_tops(&t.idom, &order, &unreached, &self_size, &class_of, classes, max);
            assert_eq!(tops(CLASS_SET_WORDS).as_ref(), Some(&want_tops), "case {case}");
            let w = classes.div_ceil(64);
            // Sets needed: the empty one and one per distinct class set a counted top hands down.
            let needs_sets = (1..n).any(|v| want_tops.contains(t.idom[v] as usize));
            assert_eq!(tops(w).is_none(), needs_sets, "case {case}");
        }
    }
}
