//! petgraph's algorithms run directly on `heapsnap::graph::Graph` (a borrowed view of the snapshot, no copy) and
//! agree with hand-written traversals of the snapshot's CSR (`Snapshot::edges` / `edge_to`), on
//! `fixtures/service.heapsnapshot.gz`:
//! `NodeCount`/`EdgeCount`/`NodeIndexable`/`IntoNodeIdentifiers`, `IntoNeighbors(Directed)` (Incoming = the
//! retainers, in DevTools' order), `IntoEdges`/`IntoEdgeReferences` (weights are edge indexes), `Bfs`, `Dfs`,
//! `DfsPostOrder`, `Reversed`, `depth_first_search` events, `dijkstra`, `connected_components`, `tarjan_scc` vs
//! `kosaraju_scc`, and `dominators::simple_fast` (whole graph vs `semi_nca`; essential edges through
//! `EdgeFiltered` vs the analysis' dominator tree).

use std::collections::{HashSet, VecDeque};
use std::sync::OnceLock;

use heapsnap::dominators::{semi_nca, DomGraph, NONE};
use heapsnap::graph::Graph;
use heapsnap::{Analysis, Snapshot};
use petgraph::visit::{
    Bfs, Dfs, DfsEvent, DfsPostOrder, EdgeCount, EdgeFiltered, EdgeRef as _, IntoEdgeReferences, IntoEdges,
    IntoNeighbors, IntoNeighborsDirected, IntoNodeIdentifiers, NodeCompactIndexable, NodeCount, NodeIndexable,
    Reversed, Visitable,
};
use petgraph::Direction;

fn analysis() -> &'static Analysis {
    static A: OnceLock<Analysis> = OnceLock::new();
    A.get_or_init(|| {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/service.heapsnapshot.gz");
        heapsnap::app::load(&p).unwrap()
    })
}

/// Run `f` on a thread with a large stack (petgraph's `depth_first_search` and `tarjan_scc` recurse).
fn big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(1 << 30)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// Hand-written BFS from `start` over the CSR, in petgraph's `Bfs` order (mark on discovery, edge order).
/// Returns (visit order, level of every node or `u32::MAX`).
fn hand_bfs(s: &Snapshot, start: u32) -> (Vec<u32>, Vec<u32>) {
    let mut level = vec![u32::MAX; s.node_count()];
    let mut order = Vec::new();
    let mut q = VecDeque::from([start]);
    level[start as usize] = 0;
    while let Some(u) = q.pop_front() {
        order.push(u);
        for e in s.edges(u) {
            let v = s.edge_to(e);
            if level[v as usize] == u32::MAX {
                level[v as usize] = level[u as usize] + 1;
                q.push_back(v);
            }
        }
    }
    (order, level)
}

/// Sources of every node's incoming edges, in (source ordinal, edge position) order.
fn hand_predecessors(s: &Snapshot) -> Vec<Vec<u32>> {
    let mut pred = vec![Vec::new(); s.node_count()];
    for u in 0..s.node_count() as u32 {
        for e in s.edges(u) {
            pred[s.edge_to(e) as usize].push(u);
        }
    }
    pred
}

/// The snapshot with every edge, for `semi_nca`.
struct AllEdges<'a>(&'a Snapshot);

impl DomGraph for AllEdges<'_> {
    fn node_count(&self) -> usize {
        self.0.node_count()
    }
    fn slot_count(&self) -> usize {
        self.0.edge_count()
    }
    fn out_range(&self, u: u32) -> std::ops::Range<usize> {
        self.0.edges(u)
    }
    fn out_target(&self, _u: u32, e: usize) -> Option<u32> {
        Some(self.0.edge_to(e))
    }
}

#[test]
fn graph_is_a_borrowed_view() {
    fn copy<T: Copy>(_: T) {}
    let an = analysis();
    let g: Graph<'_> = an.graph();
    copy(g);
    // Two references, nothing else: the algorithms below run on the snapshot's own columns.
    assert_eq!(std::mem::size_of::<Graph<'_>>(), 2 * std::mem::size_of::<usize>());
    assert!(std::ptr::eq(g.snap, &an.snap));
    assert!(std::ptr::eq(g.ret, an.retainers()));
}

#[test]
fn counts_and_indexing() {
    let an = analysis();
    let s = &an.snap;
    let g = an.graph();
    let (n, m) = (s.node_count(), s.edge_count());
    assert_eq!((n, m), (47_215, 203_788), "fixtures/README.md");
    assert_eq!(NodeCount::node_count(&g), n);
    assert_eq!(EdgeCount::edge_count(&g), m);
    assert_eq!(g.node_bound(), n);
    for i in 0..n {
        assert_eq!(g.to_index(g.from_index(i)), i);
    }
    assert!(g.node_identifiers().eq(0..n as u32));
    assert_eq!(g.edge_references().count(), m);
    fn compact<G: NodeCompactIndexable>(_: G) {}
    compact(g);
    let mut map = g.visit_map();
    assert_eq!(map.len(), n);
    map.insert(7);
    g.reset_map(&mut map);
    assert_eq!((map.len(), map.count_ones(..)), (n, 0));

    // Weakly connected components: petgraph vs a hand-written union-find.
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    let mut comps = n;
    for u in 0..n as u32 {
        for e in s.edges(u) {
            let (a, b) = (find(&mut parent, u), find(&mut parent, s.edge_to(e)));
            if a != b {
                parent[a as usize] = b;
                comps -= 1;
            }
        }
    }
    assert_eq!(petgraph::algo::connected_components(g), comps);
}

#[test]
fn neighbors_in_both_directions() {
    let an = analysis();
    let s = &an.snap;
    let g = an.graph();
    let pred = hand_predecessors(s);
    for v in 0..s.node_count() as u32 {
        let out: Vec<u32> = s.edges(v).map(|e| s.edge_to(e)).collect();
        assert!(g.neighbors(v).eq(out.iter().copied()), "out of {v}");
        assert!(
            g.neighbors_directed(v, Direction::Outgoing).eq(out.iter().copied()),
            "out of {v}"
        );
        // Incoming = retainers, in DevTools' order: the reverse of (source ordinal, edge position).
        let want = pred[v as usize].iter().rev().copied();
        assert!(
            g.neighbors_directed(v, Direction::Incoming).eq(want.clone()),
            "in of {v}"
        );
        assert!(g.retainers(v).map(|r| r.from).eq(want), "retainers of {v}");
        for r in g.retainers(v) {
            assert_eq!(s.edge_to(r.index as usize), v);
            assert!(s.edges(r.from).contains(&(r.index as usize)));
        }
    }
}

#[test]
fn edges_carry_their_index_as_weight() {
    let an = analysis();
    let s = &an.snap;
    let g = an.graph();
    for u in 0..s.node_count() as u32 {
        let es: Vec<_> = g.edges(u).collect();
        assert_eq!(es.len(), s.edges(u).len());
        for (er, e) in es.iter().zip(s.edges(u)) {
            assert_eq!(*er.weight() as usize, e);
            assert_eq!(er.id() as usize, e);
            assert_eq!(er.source(), u);
            assert_eq!(er.target(), s.edge_to(e));
        }
    }
    let mut next_edge = 0usize;
    for er in g.edge_references() {
        assert_eq!(*er.weight() as usize, next_edge);
        assert!(s.edges(er.source()).contains(&next_edge), "source of edge {next_edge}");
        assert_eq!(er.target(), s.edge_to(next_edge));
        next_edge += 1;
    }
    assert_eq!(next_edge, s.edge_count());
}

#[test]
fn bfs_and_dfs_reach_what_a_hand_written_bfs_reaches() {
    let an = analysis();
    let s = &an.snap;
    let g = an.graph();
    let root = s.root;
    let (order, level) = hand_bfs(s, root);
    let reached: HashSet<u32> = order.iter().copied().collect();
    assert!(order.len() > s.node_count() / 2, "most of the heap is reachable");

    let mut bfs = Bfs::new(g, root);
    let mut got = Vec::new();
    while let Some(v) = bfs.next(g) {
        got.push(v);
    }
    assert_eq!(got, order, "Bfs order");

    // petgraph's Dfs: pop a node, mark it, push its unvisited successors in edge order.
    let mut want = Vec::new();
    let mut seen = vec![false; s.node_count()];
    let mut stack = vec![root];
    while let Some(u) = stack.pop() {
        if std::mem::replace(&mut seen[u as usize], true) {
            continue;
        }
        want.push(u);
        stack.extend(s.edges(u).map(|e| s.edge_to(e)).filter(|&v| !seen[v as usize]));
    }
    let mut dfs = Dfs::new(g, root);
    let mut got = Vec::new();
    while let Some(v) = dfs.next(g) {
        got.push(v);
    }
    assert_eq!(got, want, "Dfs order");
    assert_eq!(got.iter().copied().collect::<HashSet<u32>>(), reached);

    let mut post = DfsPostOrder::new(g, root);
    let mut got = Vec::new();
    while let Some(v) = post.next(g) {
        got.push(v);
    }
    assert_eq!(got.len(), reached.len());
    assert_eq!(got.last(), Some(&root));
    assert_eq!(got.into_iter().collect::<HashSet<u32>>(), reached);

    // Dijkstra with unit costs = BFS levels.
    let dist = petgraph::algo::dijkstra(g, root, None, |_| 1u32);
    assert_eq!(dist.len(), reached.len());
    for (&v, &d) in &dist {
        assert_eq!(d, level[v as usize], "level of {v}");
    }

    // Reversed: who reaches the deepest node, vs a BFS over hand-built predecessor lists.
    let deepest = *order.last().unwrap();
    let pred = hand_predecessors(s);
    let mut seen = vec![false; s.node_count()];
    seen[deepest as usize] = true;
    let mut q = VecDeque::from([deepest]);
    let mut want = Vec::new();
    while let Some(u) = q.pop_front() {
        want.push(u);
        for &p in pred[u as usize].iter().rev() {
            if !std::mem::replace(&mut seen[p as usize], true) {
                q.push_back(p);
            }
        }
    }
    let rg = Reversed(g);
    let mut bfs = Bfs::new(rg, deepest);
    let mut got = Vec::new();
    while let Some(v) = bfs.next(rg) {
        got.push(v);
    }
    assert_eq!(got, want, "reversed Bfs order");
    assert!(got.contains(&root));
}

#[test]
fn depth_first_search_events() {
    let an = analysis();
    let s = &an.snap;
    let root = s.root;
    // Hand-written recursive-order DFS (explicit stack of (node, next edge)).
    let n = s.node_count();
    let (mut disc, mut fin) = (Vec::new(), Vec::new());
    let mut seen = vec![false; n];
    let mut stack = vec![(root, s.edges(root).start)];
    seen[root as usize] = true;
    disc.push(root);
    let (mut tree, mut examined) = (0usize, 0usize);
    while let Some(top) = stack.last_mut() {
        let u = top.0;
        if top.1 == s.edges(u).end {
            fin.push(u);
            stack.pop();
            continue;
        }
        let v = s.edge_to(top.1);
        top.1 += 1;
        examined += 1;
        if !seen[v as usize] {
            seen[v as usize] = true;
            disc.push(v);
            tree += 1;
            stack.push((v, s.edges(v).start));
        }
    }

    let (d, f, t, other) = big_stack(move || {
        let g = analysis().graph();
        let (mut d, mut f, mut t, mut other) = (Vec::new(), Vec::new(), 0usize, 0usize);
        petgraph::visit::depth_first_search(g, Some(root), |ev| match ev {
            DfsEvent::Discover(u, _) => d.push(u),
            DfsEvent::Finish(u, _) => f.push(u),
            DfsEvent::TreeEdge(..) => t += 1,
            DfsEvent::BackEdge(..) | DfsEvent::CrossForwardEdge(..) => other += 1,
        });
        (d, f, t, other)
    });
    assert_eq!(d, disc, "discover order");
    assert_eq!(f, fin, "finish order");
    assert_eq!(t, tree);
    assert_eq!(t, disc.len() - 1);
    assert_eq!(
        t + other,
        examined,
        "every edge out of a reached node is classified once"
    );
}

#[test]
fn tarjan_and_kosaraju_agree() {
    let (t, k) = big_stack(|| {
        let g = analysis().graph();
        (petgraph::algo::tarjan_scc(g), petgraph::algo::kosaraju_scc(g))
    });
    let norm = |mut c: Vec<Vec<u32>>| {
        for x in &mut c {
            x.sort_unstable();
        }
        c.sort_unstable();
        c
    };
    let (t, k) = (norm(t), norm(k));
    assert_eq!(t.iter().map(Vec::len).sum::<usize>(), analysis().snap.node_count());
    assert_eq!(t, k);
    assert!(t.iter().any(|c| c.len() > 1), "a real heap has cycles");
}

#[test]
fn simple_fast_agrees_with_semi_nca_and_the_dominator_tree() {
    let an = analysis();
    let s = &an.snap;
    let g = an.graph();
    let root = s.root;
    let n = s.node_count();

    // All edges: petgraph's Cooper-Harvey-Kennedy on the view vs our Semi-NCA.
    let pd = petgraph::algo::dominators::simple_fast(g, root);
    let ours = semi_nca(&AllEdges(s), root, false).idom;
    for v in 0..n as u32 {
        let want = if v == root {
            root
        } else {
            pd.immediate_dominator(v).unwrap_or(NONE)
        };
        assert_eq!(ours[v as usize], want, "idom of {v} over all edges");
    }

    // Essential edges through petgraph's EdgeFiltered adaptor vs the analysis' dominator tree. Every node of a
    // real Node snapshot is reachable through essential edges (no orphans, no unreachable cycles), so the two
    // must agree everywhere.
    let ess = EdgeFiltered::from_fn(g, |e: heapsnap::graph::EdgeRef<'_>| {
        an.essential.contains(e.index as usize)
    });
    let pd = petgraph::algo::dominators::simple_fast(&ess, root);
    let mut reached = 0;
    for v in 0..n as u32 {
        if v == root {
            assert_eq!(an.dom.idom[v as usize], root);
            continue;
        }
        let d = pd.immediate_dominator(v).expect("reachable through essential edges");
        assert_eq!(an.dom.idom[v as usize], d, "idom of {v} over essential edges");
        reached += 1;
    }
    assert_eq!(reached, n - 1);
}
