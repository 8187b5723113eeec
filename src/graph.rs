//! The object graph: the forward CSR of the snapshot (V8's own edge order), the reverse CSR of retainers, the
//! flyweight [`NodeRef`]/[`EdgeRef`] views, and petgraph's visit traits on [`Graph`], so petgraph's
//! traversals (`Dfs`, `Bfs`, `depth_first_search`, `dominators::simple_fast`, ...) run on the snapshot
//! without copying it.
//!
//! Retainers are laid out as DevTools' `buildRetainers` does: for each node, its incoming edges in the
//! **reverse** of (source ordinal, edge position) order; this only matters for tie-breaking in retainer views.
//! Invariants: `first.len() == node_count + 1`; `edge[k]` is an edge index whose target is the node owning
//! slot `k`, `src[k]` its source ordinal. Memory: 4 bytes per node + 8 bytes per edge. Build: O(V + E).

use std::ops::Range;

use fixedbitset::FixedBitSet;
use petgraph::visit::{
    Data, EdgeCount, GraphBase, GraphProp, IntoEdgeReferences, IntoEdges, IntoNeighbors, IntoNeighborsDirected,
    IntoNodeIdentifiers, NodeCompactIndexable, NodeCount, NodeIndexable, Visitable,
};
use petgraph::{Directed, Direction};

use crate::header::{EdgeKind, NodeKind};
use crate::snapshot::Snapshot;

/// Incoming edges of every node.
#[derive(Debug, Clone, Default)]
pub struct Retainers {
    /// `first[i]..first[i + 1]` are node `i`'s retainer slots.
    pub first: Vec<u32>,
    /// Edge index of each slot.
    pub edge: Vec<u32>,
    /// Source ordinal of each slot.
    pub src: Vec<u32>,
}

impl Retainers {
    /// Build the reverse CSR (DevTools' slot order).
    pub fn build(s: &Snapshot) -> Retainers {
        let n = s.node_count();
        let m = s.edge_count();
        let mut first = vec![0u32; n + 1];
        for t in s.edge_targets(0..m) {
            first[t as usize + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        // Fill each node's slots from its end backwards: the first edge seen takes the last slot.
        let mut next: Vec<u32> = first[1..].to_vec();
        let mut edge = vec![0u32; m];
        let mut src = vec![0u32; m];
        for u in 0..n as u32 {
            for e in s.edges(u) {
                let t = s.edge_to(e) as usize;
                next[t] -= 1;
                let k = next[t] as usize;
                edge[k] = e as u32;
                src[k] = u;
            }
        }
        Retainers { first, edge, src }
    }

    /// The retainer slots of node `i`.
    #[inline]
    pub fn slots(&self, i: u32) -> std::ops::Range<usize> {
        self.first[i as usize] as usize..self.first[i as usize + 1] as usize
    }
}

/// A borrowed view of the snapshot and its retainers: the type petgraph's traits are implemented on.
#[derive(Debug, Clone, Copy)]
pub struct Graph<'a> {
    /// The snapshot.
    pub snap: &'a Snapshot,
    /// Its retainers.
    pub ret: &'a Retainers,
}

/// A node, by ordinal: a flyweight that holds only its index.
#[derive(Debug, Clone, Copy)]
pub struct NodeRef<'a> {
    snap: &'a Snapshot,
    /// Ordinal.
    pub index: u32,
}

/// An edge, by index.
#[derive(Debug, Clone, Copy)]
pub struct EdgeRef<'a> {
    snap: &'a Snapshot,
    /// Source ordinal.
    pub from: u32,
    /// Edge index.
    pub index: u32,
}

impl<'a> Graph<'a> {
    /// A view over `snap` and `ret`.
    pub fn new(snap: &'a Snapshot, ret: &'a Retainers) -> Self {
        Graph { snap, ret }
    }

    /// The node at `index`.
    pub fn node(&self, index: u32) -> NodeRef<'a> {
        NodeRef { snap: self.snap, index }
    }

    /// The root.
    pub fn root(&self) -> NodeRef<'a> {
        self.node(self.snap.root)
    }

    /// Incoming edges of `index`, in DevTools' retainer order.
    pub fn retainers(&self, index: u32) -> impl Iterator<Item = EdgeRef<'a>> + 'a {
        let (snap, ret) = (self.snap, self.ret);
        ret.slots(index).map(move |k| EdgeRef {
            snap,
            from: ret.src[k],
            index: ret.edge[k],
        })
    }
}

impl<'a> NodeRef<'a> {
    /// V8's node id (`@id` in DevTools).
    pub fn id(&self) -> u32 {
        self.snap.node_id[self.index as usize]
    }
    /// Node kind.
    pub fn kind(&self) -> NodeKind {
        self.snap.kind(self.index)
    }
    /// Type name as in meta.
    pub fn type_name(&self) -> &'a str {
        self.snap.type_name(self.index)
    }
    /// V8's name.
    pub fn name(&self) -> std::borrow::Cow<'a, str> {
        self.snap.name(self.index)
    }
    /// Self size as V8 wrote it.
    pub fn raw_self_size(&self) -> u32 {
        self.snap.node_self[self.index as usize]
    }
    /// Outgoing edges in V8 order.
    pub fn edges(&self) -> impl Iterator<Item = EdgeRef<'a>> + 'a {
        let (snap, from) = (self.snap, self.index);
        snap.edges(from).map(move |e| EdgeRef {
            snap,
            from,
            index: e as u32,
        })
    }
}

impl<'a> EdgeRef<'a> {
    /// Edge kind.
    pub fn kind(&self) -> EdgeKind {
        self.snap.edge_kind(self.index as usize)
    }
    /// Type name as in meta.
    pub fn type_name(&self) -> &'a str {
        self.snap.edge_type_name(self.index as usize)
    }
    /// Name (or index) as text.
    pub fn name(&self) -> String {
        self.snap.edge_name_text(self.index as usize)
    }
    /// Target node.
    pub fn to(&self) -> NodeRef<'a> {
        NodeRef {
            snap: self.snap,
            index: self.snap.edge_to(self.index as usize),
        }
    }
}

impl petgraph::visit::EdgeRef for EdgeRef<'_> {
    type NodeId = u32;
    type EdgeId = u32;
    type Weight = u32;
    fn source(&self) -> u32 {
        self.from
    }
    fn target(&self) -> u32 {
        self.snap.edge_to(self.index as usize)
    }
    fn weight(&self) -> &u32 {
        &self.index
    }
    fn id(&self) -> u32 {
        self.index
    }
}

impl GraphBase for Graph<'_> {
    type NodeId = u32;
    type EdgeId = u32;
}

impl petgraph::visit::GraphRef for Graph<'_> {}

impl GraphProp for Graph<'_> {
    type EdgeType = Directed;
}

impl Data for Graph<'_> {
    type NodeWeight = ();
    /// The weight of an edge is its index.
    type EdgeWeight = u32;
}

impl NodeCount for Graph<'_> {
    fn node_count(&self) -> usize {
        self.snap.node_count()
    }
}

impl EdgeCount for Graph<'_> {
    fn edge_count(&self) -> usize {
        self.snap.edge_count()
    }
}

impl NodeIndexable for Graph<'_> {
    fn node_bound(&self) -> usize {
        self.snap.node_count()
    }
    fn to_index(&self, a: u32) -> usize {
        a as usize
    }
    fn from_index(&self, i: usize) -> u32 {
        i as u32
    }
}

impl NodeCompactIndexable for Graph<'_> {}

impl Visitable for Graph<'_> {
    type Map = FixedBitSet;
    fn visit_map(&self) -> FixedBitSet {
        FixedBitSet::with_capacity(self.snap.node_count())
    }
    fn reset_map(&self, map: &mut FixedBitSet) {
        map.clear();
        map.grow(self.snap.node_count());
    }
}

/// Out-neighbours in V8 edge order.
pub struct Neighbors<'a> {
    snap: &'a Snapshot,
    edges: Range<usize>,
}

impl Iterator for Neighbors<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        self.edges.next().map(|e| self.snap.edge_to(e))
    }
}

impl<'a> IntoNeighbors for Graph<'a> {
    type Neighbors = Neighbors<'a>;
    fn neighbors(self, a: u32) -> Neighbors<'a> {
        Neighbors {
            snap: self.snap,
            edges: self.snap.edges(a),
        }
    }
}

/// Neighbours in either direction.
pub enum NeighborsDirected<'a> {
    /// Targets of outgoing edges.
    Out(Neighbors<'a>),
    /// Sources of incoming edges.
    In(std::slice::Iter<'a, u32>),
}

impl Iterator for NeighborsDirected<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        match self {
            NeighborsDirected::Out(n) => n.next(),
            NeighborsDirected::In(i) => i.next().copied(),
        }
    }
}

impl<'a> IntoNeighborsDirected for Graph<'a> {
    type NeighborsDirected = NeighborsDirected<'a>;
    fn neighbors_directed(self, a: u32, d: Direction) -> NeighborsDirected<'a> {
        match d {
            Direction::Outgoing => NeighborsDirected::Out(self.neighbors(a)),
            Direction::Incoming => NeighborsDirected::In(self.ret.src[self.ret.slots(a)].iter()),
        }
    }
}

impl IntoNodeIdentifiers for Graph<'_> {
    type NodeIdentifiers = std::ops::Range<u32>;
    fn node_identifiers(self) -> std::ops::Range<u32> {
        0..self.snap.node_count() as u32
    }
}

/// All edges, in CSR order.
pub struct AllEdges<'a> {
    snap: &'a Snapshot,
    node: u32,
    edge: usize,
}

impl<'a> Iterator for AllEdges<'a> {
    type Item = EdgeRef<'a>;
    fn next(&mut self) -> Option<EdgeRef<'a>> {
        if self.edge >= self.snap.edge_count() {
            return None;
        }
        while self.snap.first_edge[self.node as usize + 1] as usize <= self.edge {
            self.node += 1;
        }
        let e = EdgeRef {
            snap: self.snap,
            from: self.node,
            index: self.edge as u32,
        };
        self.edge += 1;
        Some(e)
    }
}

impl<'a> IntoEdgeReferences for Graph<'a> {
    type EdgeRef = EdgeRef<'a>;
    type EdgeReferences = AllEdges<'a>;
    fn edge_references(self) -> AllEdges<'a> {
        AllEdges {
            snap: self.snap,
            node: 0,
            edge: 0,
        }
    }
}

/// Outgoing edges of one node.
pub struct OutEdges<'a> {
    snap: &'a Snapshot,
    from: u32,
    range: std::ops::Range<usize>,
}

impl<'a> Iterator for OutEdges<'a> {
    type Item = EdgeRef<'a>;
    fn next(&mut self) -> Option<EdgeRef<'a>> {
        self.range.next().map(|e| EdgeRef {
            snap: self.snap,
            from: self.from,
            index: e as u32,
        })
    }
}

impl<'a> IntoEdges for Graph<'a> {
    type Edges = OutEdges<'a>;
    fn edges(self, a: u32) -> OutEdges<'a> {
        OutEdges {
            snap: self.snap,
            from: a,
            range: self.snap.edges(a),
        }
    }
}
