//! Property tests of the dominator code against independent definitions.
//!
//! * `heapsnap::dominators::semi_nca` on random small directed graphs (1..=60 nodes; self loops, multi-edges,
//!   cycles, unreachable parts, edges hidden by the `DomGraph` filter) equals petgraph's
//!   `algo::dominators::simple_fast` and a brute-force definition (v dominates w iff removing v makes w
//!   unreachable from the root); unreachable nodes get `NONE`. Every split of the preorder numbers
//!   (`semi_nca_split`: which cross edges are evaluated one by one and which per source) gives the same.
//! * With `adopt_orphans`, it equals the brute-force dominator tree of DevTools' rule
//!   (`../shared/oracle/README.md` §6): unreached nodes with no (unfiltered) incoming edge get a virtual edge
//!   root -> node; whatever is still unreached gets `NONE`.
//! * Deep chains of 1,000,000 nodes run without stack overflow and give the obvious dominators.
//! * On random snapshot-like graphs written as V8 JSON and loaded with `Snapshot::from_bytes` +
//!   `Analysis::new`: the essential-edge set and page-owned flags equal a re-implementation of §4-5, and
//!   `DominatorTree` (idom, children, retained sizes) and per-class retained sizes equal brute-force sums over
//!   the nodes each node dominates.

use std::fmt::Write as _;
use std::ops::Range;

use heapsnap::dominators::{semi_nca, semi_nca_split, DomGraph, NONE, TOP};
use heapsnap::header::EdgeKind;
use heapsnap::{Analysis, Snapshot};
use petgraph::graph::{DiGraph, NodeIndex};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------------------------
// A small adjacency-list graph implementing `DomGraph`.

/// Out lists (flat, CSR-style) with a per-edge `kept` flag: a filtered edge is invisible to the algorithm,
/// like a non-essential edge of a snapshot (and does not make its target a non-orphan).
struct AdjGraph {
    n: usize,
    out_first: Vec<usize>,
    out_to: Vec<u32>,
    out_kept: Vec<bool>,
}

impl AdjGraph {
    /// Edges `(from, to, kept)`, kept in list order inside each node's out list.
    fn new(n: usize, edges: &[(u32, u32, bool)]) -> AdjGraph {
        let mut out_first = vec![0usize; n + 1];
        for &(u, _, _) in edges {
            out_first[u as usize + 1] += 1;
        }
        for i in 0..n {
            out_first[i + 1] += out_first[i];
        }
        let m = edges.len();
        let (mut out_to, mut out_kept) = (vec![0; m], vec![false; m]);
        let mut next = out_first.clone();
        for &(u, v, k) in edges {
            let s = next[u as usize];
            next[u as usize] += 1;
            out_to[s] = v;
            out_kept[s] = k;
        }
        AdjGraph {
            n,
            out_first,
            out_to,
            out_kept,
        }
    }
}

impl DomGraph for AdjGraph {
    fn node_count(&self) -> usize {
        self.n
    }
    fn slot_count(&self) -> usize {
        self.out_to.len()
    }
    fn out_range(&self, u: u32) -> Range<usize> {
        self.out_first[u as usize]..self.out_first[u as usize + 1]
    }
    fn out_target(&self, _u: u32, e: usize) -> Option<u32> {
        self.out_kept[e].then_some(self.out_to[e])
    }
}

/// `semi_nca`'s idoms (checked by [`idoms_split`]), after checking that every split of the preorder numbers
/// gives the same: 0 (every cross edge into the root's top is near, all others far), small ones (both halves
/// and the compressed labels at work), and past the node count (every edge near).
fn idoms(g: &AdjGraph, root: u32, adopt_orphans: bool) -> Vec<u32> {
    let d = idoms_split(g, root, adopt_orphans, TOP);
    assert_eq!(d, semi_nca(g, root, adopt_orphans).idom);
    for top in [0, 1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 28, 37, 49, 64] {
        assert_eq!(idoms_split(g, root, adopt_orphans, top), d, "split after {top}");
    }
    d
}

/// `semi_nca`'s idoms, after checking its `order`: a permutation of the reached nodes starting at the root in
/// which every node comes after its immediate dominator.
fn idoms_split(g: &AdjGraph, root: u32, adopt_orphans: bool, top: u32) -> Vec<u32> {
    let d = semi_nca_split(g, root, adopt_orphans, top);
    assert_eq!(d.idom.len(), g.n);
    assert_eq!(d.order.first(), Some(&root), "order starts at the root");
    let mut pos = vec![usize::MAX; g.n];
    for (i, &v) in d.order.iter().enumerate() {
        assert_eq!(pos[v as usize], usize::MAX, "{v} twice in order");
        pos[v as usize] = i;
    }
    for v in 0..g.n {
        let reached = d.idom[v] != NONE;
        assert_eq!(
            pos[v] != usize::MAX,
            reached,
            "order holds exactly the reached nodes ({v})"
        );
        if reached && v != root as usize {
            assert!(
                pos[d.idom[v] as usize] < pos[v],
                "idom({v}) = {} comes later in order",
                d.idom[v]
            );
        }
    }
    d.idom
}

// ---------------------------------------------------------------------------------------------------------------
// Brute force.

/// Successor lists of the kept edges.
fn successors(n: usize, edges: &[(u32, u32, bool)]) -> Vec<Vec<u32>> {
    let mut adj = vec![Vec::new(); n];
    for &(u, v, k) in edges {
        if k {
            adj[u as usize].push(v);
        }
    }
    adj
}

/// Nodes reachable from `start` without entering `removed`.
fn reach(adj: &[Vec<u32>], start: u32, removed: Option<u32>) -> Vec<bool> {
    let mut seen = vec![false; adj.len()];
    if removed == Some(start) {
        return seen;
    }
    seen[start as usize] = true;
    let mut stack = vec![start];
    while let Some(u) = stack.pop() {
        for &v in &adj[u as usize] {
            if !seen[v as usize] && removed != Some(v) {
                seen[v as usize] = true;
                stack.push(v);
            }
        }
    }
    seen
}

/// `sdom[w][v]`: v strictly dominates w (w reachable from root, v != w, and w unreachable once v is removed).
fn strict_dominators(adj: &[Vec<u32>], root: u32) -> Vec<Vec<bool>> {
    let n = adj.len();
    let r = reach(adj, root, None);
    let mut sdom = vec![vec![false; n]; n];
    for v in 0..n as u32 {
        let without = reach(adj, root, Some(v));
        for w in 0..n {
            if r[w] && !without[w] && w != v as usize {
                sdom[w][v as usize] = true;
            }
        }
    }
    sdom
}

/// Immediate dominators by definition: the strict dominator of w that every other strict dominator of w
/// dominates. `idom[root] == root`; unreachable nodes: `NONE`.
fn brute_idom(adj: &[Vec<u32>], root: u32) -> Vec<u32> {
    let n = adj.len();
    let r = reach(adj, root, None);
    let sdom = strict_dominators(adj, root);
    let mut idom = vec![NONE; n];
    idom[root as usize] = root;
    for w in 0..n {
        if !r[w] || w == root as usize {
            continue;
        }
        let cands: Vec<usize> = (0..n).filter(|&d| sdom[w][d]).collect();
        assert!(cands.contains(&(root as usize)), "the root must dominate {w}");
        let best: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&d| cands.iter().all(|&o| o == d || sdom[d][o]))
            .collect();
        assert_eq!(best.len(), 1, "idom of {w} is not unique: {best:?}");
        idom[w] = best[0] as u32;
    }
    idom
}

/// DevTools' rule: unreached nodes without any kept incoming edge are adopted by the root (virtual edge), then
/// plain dominators of that augmented graph.
fn brute_idom_devtools(n: usize, edges: &[(u32, u32, bool)], root: u32) -> Vec<u32> {
    let mut adj = successors(n, edges);
    let r = reach(&adj, root, None);
    let mut has_in = vec![false; n];
    for &(_, v, k) in edges {
        if k {
            has_in[v as usize] = true;
        }
    }
    for o in 0..n {
        if !r[o] && !has_in[o] {
            adj[root as usize].push(o as u32);
        }
    }
    brute_idom(&adj, root)
}

/// petgraph's Cooper-Harvey-Kennedy on the kept edges, as an idom vector (`NONE` when unreachable).
fn petgraph_idom(n: usize, edges: &[(u32, u32, bool)], root: u32) -> Vec<u32> {
    let mut g = DiGraph::<(), ()>::with_capacity(n, edges.len());
    for _ in 0..n {
        g.add_node(());
    }
    for &(u, v, k) in edges {
        if k {
            g.add_edge(NodeIndex::new(u as usize), NodeIndex::new(v as usize), ());
        }
    }
    let d = petgraph::algo::dominators::simple_fast(&g, NodeIndex::new(root as usize));
    (0..n)
        .map(|w| {
            if w == root as usize {
                root
            } else {
                d.immediate_dominator(NodeIndex::new(w))
                    .map_or(NONE, |x| x.index() as u32)
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Random graphs.

/// (node count, root, edges (from, to, kept)). Edges mix uniform pairs with "near" pairs (chains and short
/// cycles); duplicates and self loops happen naturally; about 15 % of edges are filtered out.
fn graphs(max_n: usize) -> impl Strategy<Value = (usize, u32, Vec<(u32, u32, bool)>)> {
    (1..=max_n).prop_flat_map(|n| {
        let nu = n as u32;
        let uniform = (0..nu, 0..nu, prop::bool::weighted(0.85));
        let near = (0..nu, -3i64..=3, prop::bool::weighted(0.85))
            .prop_map(move |(u, d, k)| (u, (u as i64 + d).rem_euclid(nu as i64) as u32, k));
        let edge = prop_oneof![uniform, near];
        (Just(n), 0..nu, prop::collection::vec(edge, 0..=3 * n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn semi_nca_equals_petgraph_and_brute_force((n, root, edges) in graphs(60)) {
        let g = AdjGraph::new(n, &edges);
        let ours = idoms(&g, root, false);
        let pg = petgraph_idom(n, &edges, root);
        prop_assert_eq!(&ours, &pg, "vs petgraph simple_fast");
        let brute = brute_idom(&successors(n, &edges), root);
        prop_assert_eq!(&ours, &brute, "vs brute force");
    }

    #[test]
    fn adopt_orphans_equals_devtools_rule((n, root, edges) in graphs(60)) {
        let g = AdjGraph::new(n, &edges);
        let ours = idoms(&g, root, true);
        let brute = brute_idom_devtools(n, &edges, root);
        prop_assert_eq!(&ours, &brute);
    }
}

#[test]
fn hand_made_cases() {
    // Diamond with a tail, plus an unreachable cycle 5 <-> 6 and an orphan 7 -> 3.
    let e = |u, v| (u, v, true);
    let edges = [
        e(0, 1),
        e(0, 2),
        e(1, 3),
        e(2, 3),
        e(3, 4),
        e(5, 6),
        e(6, 5),
        e(7, 3),
        e(4, 4),
    ];
    let g = AdjGraph::new(8, &edges);
    assert_eq!(idoms(&g, 0, false), [0, 0, 0, 0, 3, NONE, NONE, NONE]);
    // Adopting 7 (no incoming edge) adds root -> 7; 7 -> 3 keeps idom(3) = 0; the cycle stays unreached.
    assert_eq!(idoms(&g, 0, true), [0, 0, 0, 0, 3, NONE, NONE, 0]);
    // A filtered edge is invisible: 0 -> 2 filtered makes 2 unreachable and an orphan (its only in-edge is
    // filtered), so it is adopted and idom(3) stays the root.
    let edges = [e(0, 1), (0, 2, false), e(1, 3), e(2, 3)];
    let g = AdjGraph::new(4, &edges);
    assert_eq!(idoms(&g, 0, false), [0, 0, NONE, 1]);
    assert_eq!(idoms(&g, 0, true), [0, 0, 0, 0]);
    // Single node, root != 0.
    let g = AdjGraph::new(3, &[e(2, 0), e(0, 2)]);
    assert_eq!(idoms(&g, 2, false), [2, NONE, 2]);
    assert_eq!(idoms(&g, 2, true), [2, 2, 2]);
}

// ---------------------------------------------------------------------------------------------------------------
// Deep chains.

const DEEP: u32 = 1_000_000;

#[test]
fn deep_chain_with_back_and_skip_edges() {
    // 0 -> 1 -> ... -> n-1, back edges i -> 0 every 7 nodes, skip edges 0 -> i every 1000 nodes.
    let n = DEEP;
    let mut edges = Vec::with_capacity(n as usize * 2);
    for i in 0..n - 1 {
        edges.push((i, i + 1, true));
        if i % 7 == 3 {
            edges.push((i, 0, true));
        }
    }
    for i in (1000..n).step_by(1000) {
        edges.push((0, i, true));
    }
    let g = AdjGraph::new(n as usize, &edges);
    for adopt in [false, true] {
        let idom = idoms(&g, 0, adopt);
        assert_eq!(idom[0], 0);
        for i in 1..n {
            let want = if i % 1000 == 0 { 0 } else { i - 1 };
            assert_eq!(idom[i as usize], want, "idom({i})");
        }
    }
}

#[test]
fn deep_reversed_chain_under_an_orphan() {
    // Root n-1 has no edges; n-2 is an orphan heading a chain n-2 -> n-3 -> ... -> 0 with back edges
    // i -> i + 5 (never into n-2, so it stays an orphan).
    let n = DEEP;
    let root = n - 1;
    let mut edges = Vec::with_capacity(n as usize * 2);
    for i in 1..n - 1 {
        edges.push((i, i - 1, true));
        if i % 3 == 0 && i + 5 < n - 2 {
            edges.push((i, i + 5, true));
        }
    }
    let g = AdjGraph::new(n as usize, &edges);
    let idom = idoms(&g, root, false);
    assert_eq!(idom[root as usize], root);
    assert!(idom[..root as usize].iter().all(|&d| d == NONE));
    let idom = idoms(&g, root, true);
    assert_eq!(idom[root as usize], root);
    assert_eq!(idom[n as usize - 2], root);
    for i in 0..n - 2 {
        assert_eq!(idom[i as usize], i + 1, "idom({i})");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshot-like graphs through the whole pipeline.

const META: &str = r#"{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]}"#;

const STRINGS: &[&str] = &[
    "",
    "(GC roots)",
    "Object",
    "Foo",
    "Bar",
    "system / ExternalStringData",
    "a",
    "b",
    "next",
    "elements",
    "__proto__",
    "Array",
    // WeakMap pair edge names (§5 rule 1): tables @7 and @9 are the nodes of ordinal 3 and 4.
    "1 / part of key (a @3) -> value (b @5) pair in WeakMap (table @7)",
    "22 / part of key (Foo @11) -> value (system / Map @13) pair in WeakMap (table @9)",
];

/// (string index, table id) of the WeakMap pair names in [`STRINGS`].
fn weakmap_tables() -> Vec<(u32, u32)> {
    let t = |s: &str| {
        s.rsplit_once("(table @")
            .map(|(_, t)| t.trim_end_matches(')').parse::<u32>().unwrap())
    };
    STRINGS
        .iter()
        .enumerate()
        .filter_map(|(i, s)| t(s).map(|t| (i as u32, t)))
        .collect()
}

/// Node types used: hidden, array, string, object, code, closure, native, synthetic.
const NODE_TYPES: &[u32] = &[0, 1, 2, 3, 4, 5, 8, 9];

/// A random snapshot: nodes (type, name, self), edges (from, to, type, name), root ordinal.
#[derive(Debug, Clone)]
struct SnapSpec {
    nodes: Vec<(u32, u32, u32)>,
    edges: Vec<(u32, u32, u32, u32)>,
    root: u32,
}

fn snapshots() -> impl Strategy<Value = SnapSpec> {
    (1usize..=40).prop_flat_map(|n| {
        let nu = n as u32;
        let node = (prop::sample::select(NODE_TYPES), 0..STRINGS.len() as u32, 0u32..200);
        let edge = (0..nu, 0..nu, 0u32..7, 0u32..STRINGS.len() as u32);
        (
            prop::collection::vec(node, n),
            prop::collection::vec(edge, 0..=3 * n),
            0..nu,
            prop::collection::vec((0..nu, prop::sample::select(&[1u32, 2, 5, 5, 6][..])), 0..4),
        )
            .prop_map(|(nodes, mut edges, root, from_root)| {
                edges.extend(from_root.into_iter().map(|(to, t)| (root, to, t, 6)));
                SnapSpec { nodes, edges, root }
            })
    })
}

/// V8 JSON text of a spec (edges grouped by source, order inside a source kept).
fn to_json(s: &SnapSpec) -> String {
    let n = s.nodes.len();
    let mut by_src: Vec<Vec<(u32, u32, u32)>> = vec![Vec::new(); n];
    for &(u, v, t, name) in &s.edges {
        by_src[u as usize].push((v, t, name));
    }
    let mut j = String::new();
    write!(
        j,
        r#"{{"snapshot":{{"meta":{META},"node_count":{n},"edge_count":{},"trace_function_count":0,"root_index":{}}},"nodes":["#,
        s.edges.len(),
        s.root * 7
    )
    .unwrap();
    for (i, &(t, name, size)) in s.nodes.iter().enumerate() {
        let sep = if i == 0 { "" } else { ",\n" };
        write!(j, "{sep}{t},{name},{},{size},{},0,0", 2 * i + 1, by_src[i].len()).unwrap();
    }
    j.push_str("],\"edges\":[");
    let mut first = true;
    for list in &by_src {
        for &(v, t, name) in list {
            // element (1) and hidden (4) edges carry an index, others a string index.
            let name = if t == 1 || t == 4 { name * 3 } else { name };
            write!(j, "{}{t},{name},{}", if first { "" } else { "," }, v * 7).unwrap();
            first = false;
        }
    }
    j.push_str("],\"locations\":[],\"strings\":[");
    for (i, st) in STRINGS.iter().enumerate() {
        write!(j, "{}\"{st}\"", if i == 0 { "" } else { "," }).unwrap();
    }
    j.push_str("]}");
    j
}

/// Page-owned flags by definition (§4): seeds are the targets of the root's shortcut edges (no
/// `(Document DOM trees)` node in these graphs); closure over non-weak edges.
fn brute_page_owned(snap: &Snapshot) -> Vec<bool> {
    let n = snap.node_count();
    let mut owned = vec![false; n];
    let mut stack = Vec::new();
    for e in snap.edges(snap.root) {
        if snap.edge_kind(e) == EdgeKind::Shortcut {
            let c = snap.edge_to(e);
            if !owned[c as usize] {
                owned[c as usize] = true;
                stack.push(c);
            }
        }
    }
    while let Some(u) = stack.pop() {
        for e in snap.edges(u) {
            let c = snap.edge_to(e);
            if snap.edge_kind(e) != EdgeKind::Weak && !owned[c as usize] {
                owned[c as usize] = true;
                stack.push(c);
            }
        }
    }
    owned
}

fn check_snapshot(spec: &SnapSpec) -> Result<(), TestCaseError> {
    let json = to_json(spec);
    let snap = Snapshot::from_bytes(json.as_bytes()).map_err(|e| TestCaseError::fail(format!("{e:?}\n{json}")))?;
    let an = Analysis::new(snap).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let s = &an.snap;
    let n = s.node_count();
    let root = s.root;
    prop_assert_eq!(root, spec.root);

    // §4 and §5.
    let owned = brute_page_owned(s);
    for (v, &o) in owned.iter().enumerate() {
        prop_assert_eq!(an.page_owned.contains(v), o, "page-owned {}", v);
    }
    let mut edges = Vec::with_capacity(s.edge_count());
    for u in 0..n as u32 {
        for e in s.edges(u) {
            let v = s.edge_to(e);
            let k = s.edge_kind(e);
            let weakmap_from_table = k == EdgeKind::Internal
                && weakmap_tables()
                    .iter()
                    .any(|&(name, table)| s.edge_name[e] == name && s.node_id[u as usize] == table);
            let essential = k != EdgeKind::Weak
                && !weakmap_from_table
                && u != v
                && !(u != root && k == EdgeKind::Shortcut)
                && !(u != root && owned[v as usize] && !owned[u as usize]);
            prop_assert_eq!(
                an.essential.contains(e),
                essential,
                "essential edge {} ({} -> {})",
                e,
                u,
                v
            );
            edges.push((u, v, essential));
        }
    }

    // Dominators by definition, DevTools' orphan rule; leftovers are dominated by the root.
    let mut idom = brute_idom_devtools(n, &edges, root);
    let mut adj = successors(n, &edges);
    let r0 = reach(&adj, root, None);
    let has_in: Vec<bool> = (0..n)
        .map(|v| edges.iter().any(|&(_, t, k)| k && t as usize == v))
        .collect();
    for o in 0..n {
        if !r0[o] && !has_in[o] {
            adj[root as usize].push(o as u32);
        }
    }
    let sdom = strict_dominators(&adj, root);
    let reached = reach(&adj, root, None);
    for (w, d) in idom.iter_mut().enumerate() {
        if *d == NONE {
            prop_assert!(!reached[w]);
            *d = root;
        }
    }
    prop_assert_eq!(&an.dom.idom, &idom, "idom\n{}", json);

    // Children lists: ordinal order, consistent with idom.
    for v in 0..n as u32 {
        let want: Vec<u32> = (0..n as u32).filter(|&w| w != root && idom[w as usize] == v).collect();
        prop_assert_eq!(an.dom.children(v), &want[..], "children of {}", v);
    }

    // Retained = self + Σ self of strictly dominated nodes; unreached ones are dominated by the root only.
    let size = |v: usize| s.node_self[v] as u64;
    let dominates = |v: usize, w: usize| v == w || v == root as usize || (reached[w] && sdom[w][v]);
    for v in 0..n {
        let want: u64 = (0..n).filter(|&w| dominates(v, w)).map(size).sum();
        prop_assert_eq!(an.dom.retained.get(v), want, "retained of {}\n{}", v, json);
    }
    prop_assert_eq!(an.total_self(), (0..n).map(size).sum::<u64>());

    // Class retained: Σ retained over members with self > 0 that have no proper dominator of the same class
    // with self > 0.
    let classes = an.classes.table.len();
    let class = |v: usize| an.classes.of_node[v] as usize;
    let mut want = vec![0u64; classes];
    for v in 0..n {
        if size(v) == 0 {
            continue;
        }
        let shadowed = (0..n).any(|a| a != v && dominates(a, v) && class(a) == class(v) && size(a) > 0);
        if !shadowed {
            want[class(v)] += an.dom.retained.get(v);
        }
    }
    prop_assert_eq!(&an.class_retained(), &want, "class retained\n{}", json);
    // The summary's load: class retained sizes from the pass in preorder beside the retained sizes.
    let fast = Analysis::for_summary(Snapshot::from_bytes(json.as_bytes()).unwrap()).unwrap();
    prop_assert_eq!(
        fast.class_retained(),
        want,
        "class retained of the summary's load\n{}",
        json
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn dominator_tree_retained_sizes_equal_brute_force(spec in snapshots()) {
        check_snapshot(&spec)?;
    }
}

/// More than 2^20 edges, so `essential_edges` splits the bitset into several parallel blocks: the bitset equals
/// the §5 predicate, and the dominator tree equals petgraph's `simple_fast` run on the essential edges of the
/// `Graph` view (every node is reachable: a chain of property edges runs through the whole heap).
#[test]
fn large_snapshot_essential_edges_and_dominators() {
    large_snapshot(0);
}

/// The same with shortcut edges from the root to 50 nodes: what they reach over non-weak edges (most of the
/// heap, in levels tens of thousands of nodes wide, so `page_owned` shares them out to the threads) is
/// page-owned. The flags equal the definition, on the pool and on one thread, and so do the essential edges
/// (§5: an edge from a node not page-owned into a page-owned one is not essential) and the dominators.
#[test]
fn large_snapshot_page_owned_essential_edges_and_dominators() {
    large_snapshot(50);
}

fn large_snapshot(shortcuts: u32) {
    let n: u32 = 150_000;
    let extra = 7u32;
    let mut r = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |k: u32| {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        (r % k as u64) as u32
    };
    let mut nodes = String::new();
    let mut edges = String::new();
    let mut m = 0u64;
    for u in 0..n {
        let t = if u == 0 {
            9
        } else {
            NODE_TYPES[next(NODE_TYPES.len() as u32) as usize]
        };
        let mut count = 0;
        let mut edge = |t: u32, name: u32, to: u32, edges: &mut String| {
            let sep = if m == 0 { "" } else { "," };
            write!(edges, "{sep}{t},{name},{}", to * 7).unwrap();
            m += 1;
            count += 1;
        };
        // With shortcuts, the last tenth of the nodes is reached from the rest over weak edges only (and from
        // the root over a property edge): never page-owned.
        let fenced = if shortcuts == 0 { n } else { n - n / 10 };
        let kind = |t: u32, to: u32| if u < fenced && to >= fenced { 6 } else { t };
        if u + 1 < n {
            edge(kind(2, u + 1), 8, u + 1, &mut edges); // property "next"
        }
        if u == 0 {
            for _ in 0..shortcuts {
                let to = 1 + next(fenced - 1);
                edge(5, next(STRINGS.len() as u32), to, &mut edges);
            }
            if fenced < n {
                edge(2, 8, fenced, &mut edges);
            }
        }
        for _ in 0..extra {
            // No other shortcut edges from the root.
            let t = if u == 0 { 2 } else { next(7) };
            let to = if next(8) == 0 { u } else { next(n) };
            // With shortcuts, nothing points at the root (through it, the fence would be page-owned).
            let to = if fenced < n && to == 0 { 1 } else { to };
            let t = kind(t, to);
            let name = if t == 1 || t == 4 {
                next(1000)
            } else {
                next(STRINGS.len() as u32)
            };
            edge(t, name, to, &mut edges);
        }
        let sep = if u == 0 { "" } else { "," };
        write!(
            nodes,
            "{sep}{t},{},{},{},{count},0,0",
            next(STRINGS.len() as u32),
            2 * u + 1,
            next(100)
        )
        .unwrap();
    }
    assert!(m > 1 << 20);
    let mut json = format!(r#"{{"snapshot":{{"meta":{META},"node_count":{n},"edge_count":{m}}},"nodes":["#);
    json.push_str(&nodes);
    json.push_str("],\"edges\":[");
    json.push_str(&edges);
    json.push_str("],\"strings\":[");
    json.push_str(&STRINGS.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(","));
    json.push_str("]}");
    drop((nodes, edges));

    let an = Analysis::new(Snapshot::from_bytes(json.as_bytes()).unwrap()).unwrap();
    drop(json);
    let s = &an.snap;
    let owned = brute_page_owned(s);
    let count = owned.iter().filter(|&&o| o).count();
    if shortcuts == 0 {
        assert_eq!(count, 0);
    } else {
        assert!(count > n as usize / 2, "{count} page-owned nodes");
        assert!(!owned[n as usize - n as usize / 10..].contains(&true));
    }
    for (v, &o) in owned.iter().enumerate() {
        assert_eq!(an.page_owned.contains(v), o, "page-owned {v}");
    }
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(one_thread.install(|| heapsnap::devtools::page_owned(s)), an.page_owned);
    for u in 0..n {
        for e in s.edges(u) {
            let k = s.edge_kind(e);
            let v = s.edge_to(e);
            let want = k != EdgeKind::Weak
                && v != u
                && !(u != s.root && (k == EdgeKind::Shortcut || (!owned[u as usize] && owned[v as usize])));
            assert_eq!(an.essential.contains(e), want, "essential edge {e}");
        }
    }
    let g = an.graph();
    let ess = petgraph::visit::EdgeFiltered::from_fn(g, |e: heapsnap::graph::EdgeRef<'_>| {
        an.essential.contains(e.index as usize)
    });
    let pd = petgraph::algo::dominators::simple_fast(&ess, s.root);
    for v in 0..n {
        let want = if v == s.root {
            v
        } else {
            pd.immediate_dominator(v).expect("reachable")
        };
        assert_eq!(an.dom.idom[v as usize], want, "idom of {v}");
    }
    assert_eq!(an.total_self(), s.node_self.iter().map(|&x| x as u64).sum::<u64>());
}
