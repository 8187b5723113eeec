//! Locality figures of a snapshot's node order: how far apart in memory the passes that follow edges read, so
//! a benchmark heap can be told from one that repeats another's layout (issue 19). Not part of any command;
//! `benches/locality.rs` prints them and `benches/compare.sh` shows them beside each heap shape's timings.
//!
//! Per-node columns are read at edge targets' ordinals; [`NEAR`] ordinals of a 4-byte column are one 4 KiB page.
//! * [`Locality::dfs_miss`], the figure `compare.sh` shows: a depth-first walk from the root (non-weak edges, in
//!   edge order, as the dominator DFS goes) looks at every edge's target; the share of those looks whose page
//!   was not looked at within the last [`WINDOW`] looks (a working-set model of a cache: a fixed window, so
//!   the figure does not grow with the snapshot). On 200 MB Node 20 snapshots: big.js 1.3 %, the shuffled
//!   application heap (fixtures/gen/shapes/app.js) 15.6 %, wide hash structures 17 %, a Chromium page 13 %,
//!   linked lists 6.9 %, text 5.6 %; the DFS took 0.10 s on big.js and 0.38 s on the application heap.
//! * [`Locality::dfs_near`]: the share of the nodes the same walk discovers within [`NEAR`] ordinals of the
//!   node it discovered before (47 % on big.js, 38 % on the application heap: it separates the shapes less),
//!   and [`Locality::dfs_median_jump`], the median distance between them (9.3 K and 65 K ordinals: it grows
//!   with the snapshot).
//! * [`Locality::edge_near`]: the share of edges (file order) whose target is within [`NEAR`] ordinals of the
//!   previous edge's target: what a pass over every edge touching a column at the targets sees.
//! * [`Locality::median_span`]: the median of |target - source| over all edges (the plain figure; on V8's
//!   snapshots it is dominated by the edges into the few hidden classes and shared strings near the top of the
//!   file, which every shape has: big.js 634 K ordinals, the application heap 493 K).
//!
//! Cost: one DFS (8 bytes per node of stack at most, a bit per node, 8 bytes per page) and a copy of the edge spans (4 bytes per
//! edge) for the median; O(V + E) time.

use fixedbitset::FixedBitSet;

use crate::header::EdgeKind;
use crate::snapshot::Snapshot;

/// Ordinals within one 4 KiB page of a 4-byte column.
pub const NEAR: u32 = 1024;
/// Edge targets looked at, within which a page counts as recently used (see [`Locality::dfs_miss`]).
pub const WINDOW: u64 = 256;

/// Locality figures of one snapshot (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Locality {
    /// Nodes in the snapshot.
    pub nodes: usize,
    /// Edges in the snapshot.
    pub edges: usize,
    /// Nodes the DFS from the root reached.
    pub reached: usize,
    /// Fraction of DFS discoveries within [`NEAR`] ordinals of the previous discovery.
    pub dfs_near: f64,
    /// Fraction of the edge targets the DFS looks at (in its order) whose page ([`NEAR`] ordinals) it did not
    /// look at within the last [`WINDOW`] targets.
    pub dfs_miss: f64,
    /// Median ordinal distance between consecutive DFS discoveries.
    pub dfs_median_jump: u32,
    /// Fraction of edges whose target is within [`NEAR`] ordinals of the previous edge's target.
    pub edge_near: f64,
    /// Median |target - source| over all edges.
    pub median_span: u32,
}

fn median(v: &mut [u32]) -> u32 {
    if v.is_empty() {
        return 0;
    }
    let mid = v.len() / 2;
    *v.select_nth_unstable(mid).1
}

/// Measure `snap`.
pub fn measure(snap: &Snapshot) -> Locality {
    let n = snap.node_count();
    // Depth-first, in edge order, over non-weak edges: discovery order.
    let mut seen = FixedBitSet::with_capacity(n);
    let mut stack: Vec<(u32, u32)> = Vec::new();
    let mut jumps: Vec<u32> = Vec::with_capacity(n);
    let (mut prev, mut near, mut reached) = (snap.root, 0usize, 1usize);
    seen.insert(snap.root as usize);
    let mut last_use = vec![u64::MAX; n / NEAR as usize + 1];
    let (mut now, mut miss) = (0u64, 0usize);
    stack.push((snap.root, snap.first_edge[snap.root as usize]));
    while let Some(top) = stack.last_mut() {
        let (u, e) = *top;
        if e == snap.first_edge[u as usize + 1] {
            stack.pop();
            continue;
        }
        top.1 += 1;
        let e = e as usize;
        if snap.edge_kind(e) == EdgeKind::Weak {
            continue;
        }
        let v = snap.edge_to(e);
        let page = &mut last_use[(v / NEAR) as usize];
        miss += usize::from(*page == u64::MAX || now - *page > WINDOW);
        *page = now;
        now += 1;
        if seen.put(v as usize) {
            continue;
        }
        let jump = v.abs_diff(prev);
        near += usize::from(jump < NEAR);
        jumps.push(jump);
        reached += 1;
        prev = v;
        stack.push((v, snap.first_edge[v as usize]));
    }
    let steps = jumps.len().max(1) as f64;
    let dfs_near = near as f64 / steps;
    let dfs_miss = miss as f64 / now.max(1) as f64;
    let dfs_median_jump = median(&mut jumps);
    drop(jumps);

    let m = snap.edge_count();
    let mut spans: Vec<u32> = Vec::with_capacity(m);
    let mut edge_near = 0usize;
    let mut prev_to = 0u32;
    for u in 0..n as u32 {
        for to in snap.edge_targets(snap.edges(u)) {
            spans.push(to.abs_diff(u));
            edge_near += usize::from(to.abs_diff(prev_to) < NEAR);
            prev_to = to;
        }
    }
    let edge_near = edge_near as f64 / m.max(1) as f64;
    let median_span = median(&mut spans);
    Locality {
        nodes: n,
        edges: m,
        reached,
        dfs_near,
        dfs_miss,
        dfs_median_jump,
        edge_near,
        median_span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot of a root and one chain of `n` objects, linked in the order `order` gives (`order[0]` first).
    fn chain(order: &[u32]) -> Snapshot {
        let n = order.len();
        let mut next = vec![None; n + 1];
        for w in order.windows(2) {
            next[w[0] as usize + 1] = Some(w[1] + 1);
        }
        let mut nodes = vec!["9,0,1,0,1".to_string()];
        let mut edges = vec![format!("5,1,{}", (order[0] + 1) * 5)];
        for (i, to) in next.iter().enumerate().skip(1) {
            let count = usize::from(to.is_some());
            nodes.push(format!("3,1,{},16,{count}", 2 * i + 1));
            if let Some(t) = to {
                edges.push(format!("2,2,{}", t * 5));
            }
        }
        let text = format!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]}},"node_count":{},"edge_count":{}}},"nodes":[{}],"edges":[{}],"strings":["","Item","next"]}}"#,
            n + 1,
            edges.len(),
            nodes.join(","),
            edges.join(",")
        );
        Snapshot::from_bytes(text.as_bytes()).unwrap()
    }

    #[test]
    fn a_chain_in_order_is_near_and_a_shuffled_one_is_not() {
        let n = 300_000u32;
        let ordered: Vec<u32> = (0..n).collect();
        let l = measure(&chain(&ordered));
        assert_eq!(
            (l.nodes, l.edges, l.reached),
            (n as usize + 1, n as usize, n as usize + 1)
        );
        // Each page is missed once, when the walk enters it.
        assert!(l.dfs_miss < 0.002, "{l:?}");
        assert_eq!(l.dfs_near, 1.0);
        assert_eq!(l.dfs_median_jump, 1);
        assert_eq!(l.median_span, 1);
        // Linked in a random order (xorshift Fisher-Yates).
        let mut shuffled = ordered;
        let mut x = 0x9e37_79b9u32;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            shuffled.swap(i, x as usize % (i + 1));
        }
        let l = measure(&chain(&shuffled));
        assert_eq!(l.reached, n as usize + 1);
        assert!(l.dfs_miss > 0.3, "{l:?}");
        assert!(l.dfs_near < 0.01, "{l:?}");
        assert!(l.dfs_median_jump > 10_000, "{l:?}");
        assert!(l.edge_near < 0.01, "{l:?}");
    }
}
