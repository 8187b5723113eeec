//! Why is an object alive: retaining paths, the dominator chain and the Retainers view of one node, plus the
//! display names DevTools shows for nodes and edges.
//!
//! * [`display_name`]: `JSHeapSnapshotNode.name()` — concatenated strings flattened (stops growing past 1,024
//!   UTF-16 units), plain objects (`object` named `Object`) shown as `{p1, p2, …, pn}` built from both ends of
//!   their property list (≤ 100 units), every other node its V8 name (`Detached …` after detachedness).
//!   [`edge_name`] / [`edge_label`] are `JSHeapSnapshotEdge.name()` / `toString()` (`.prop`, `[3]`, `->var`,
//!   `{internal}`).
//! * [`retainers_view`]: the direct retainers as DevTools' Retainers grid lists them (no weak edges, no edges
//!   from the root; sorted by retainer distance with unreachable = 200,000,000, then retainer display name in
//!   JS order, then retainer slot order), and [`auto_expanded_chain`], what the grid expands on selection.
//! * [`devtools_retaining_paths`]: an exact port of `HeapSnapshot.getRetainingPaths()` (depth 30, 5,000 nodes,
//!   100 siblings; a DFS that stops at retainers with distance 2, one level *below* the user root).
//! * [`shortest_paths`]: heapsnap's own paths: the K shortest simple paths from a root child (a user root such
//!   as `global` for nodes of the page/user part; `(GC roots)` & co. for nodes only reachable from the root's
//!   system part) to the node. The search runs backwards over retainers (best-first, A* with the BFS distance
//!   `an.distance` as an exact, consistent heuristic), so the first path costs O(length × retainers per hop).
//!   Edges followed: every non-`weak` edge whose source is not the root and that the distance BFS could have
//!   used (`distance(to) <= distance(from) + 1`, which only excludes the edges DevTools' distance filter skips:
//!   the first-seen edge of a WeakMap pair, `sloppy_function_map`, some `(map descriptors)` slots). The
//!   essential-edge bitset is **not** applied: paths answer "how is it reachable" as DevTools' Retainers view
//!   and `getRetainingPaths` do (both keep WeakMap table edges and shortcut edges); the dominator chain
//!   ([`dominator_chain`], `getDominatorsOf`) is the essential-edge view ("who must let go"). Inside the user part
//!   every node is page-owned, so the page-owned rule of the essential edges never applies there anyway.
//!   Among paths of equal length the order is the Retainers-view order at each hop from the node outwards, so
//!   the first path equals DevTools' auto-expanded chain whenever that chain is a shortest path.
//!   Work is capped ([`MAX_PARTIAL_PATHS`] partial paths); `truncated` says when the cap stopped the search.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};

use crate::analysis::Analysis;
use crate::devtools::{jsstr, BASE_SYSTEM_DISTANCE, NO_DISTANCE};
use crate::header::{EdgeKind, NodeKind};
use crate::snapshot::Snapshot;

/// Distance the Retainers view sorts unreachable retainers by (`baseUnreachableDistance`).
pub const UNREACHABLE_VIEW_DISTANCE: i32 = 2 * BASE_SYSTEM_DISTANCE;

/// How many partial paths [`shortest_paths`] may create before it gives up.
pub const MAX_PARTIAL_PATHS: usize = 500_000;

/// Maximum UTF-16 length DevTools grows a flattened concatenated string to.
const CONS_NAME_LIMIT: usize = 1024;
/// Maximum UTF-16 length of a plain object's `{…}` name.
const PLAIN_NAME_LIMIT: usize = 100;

/// DevTools' display name of node `o` as WTF-8 bytes (see the module docs).
pub fn display_name_bytes(s: &Snapshot, o: u32) -> Vec<u8> {
    match s.kind(o) {
        NodeKind::ConsString => cons_string_name(s, o),
        NodeKind::Object if s.name_bytes(o) == b"Object" => plain_object_name(s, o),
        _ => s.name_bytes(o).to_vec(),
    }
}

/// DevTools' display name of node `o` (lone surrogates as [`crate::strings::text`] maps them).
pub fn display_name(s: &Snapshot, o: u32) -> String {
    crate::strings::into_text(display_name_bytes(s, o))
}

/// `consStringName()`: depth-first over `first`/`second` internal edges, appending leaf strings while the
/// result is shorter than 1,024 UTF-16 units. A missing part is node 0, as in DevTools.
fn cons_string_name(s: &Snapshot, o: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut len = 0usize;
    let mut stack = vec![o];
    while len < CONS_NAME_LIMIT {
        let Some(v) = stack.pop() else { break };
        if s.kind(v) != NodeKind::ConsString {
            let b = s.name_bytes(v);
            out.extend_from_slice(b);
            len += jsstr::utf16_len(b);
            continue;
        }
        let (mut first, mut second) = (0u32, 0u32);
        for e in s.edges(v) {
            if first != 0 && second != 0 {
                break;
            }
            if s.edge_kind(e) == EdgeKind::Internal {
                match s.edge_name_bytes(e) {
                    b"first" => first = s.edge_to(e),
                    b"second" => second = s.edge_to(e),
                    _ => {}
                }
            }
        }
        stack.push(second);
        stack.push(first);
    }
    out
}

/// `#plainObjectName()`: property names taken alternately from the start and the end of the edge list
/// (skipping non-property edges and `__proto__`) while the name stays within 100 UTF-16 units.
fn plain_object_name(s: &Snapshot, o: u32) -> Vec<u8> {
    let r = s.edges(o);
    if r.is_empty() {
        return b"{}".to_vec();
    }
    let mut start: Vec<u8> = b"{".to_vec();
    let mut start_len = 1usize;
    // The end part is built back to front: pieces in reverse order.
    let mut end_pieces: Vec<Vec<u8>> = Vec::new();
    let mut end_len = 1usize; // "}"
    let (mut from_start, mut from_end) = (r.start as i64, r.end as i64 - 1);
    let mut next_from_end = false;
    while from_start <= from_end {
        let e = if next_from_end { from_end } else { from_start } as usize;
        if s.edge_kind(e) != EdgeKind::Property || s.edge_name_bytes(e) == b"__proto__" {
            if next_from_end {
                from_end -= 1;
            } else {
                from_start += 1;
            }
            continue;
        }
        let formatted = format_property_name(s.edge_name_bytes(e));
        let flen = jsstr::utf16_len(&formatted);
        if start_len > 1 && start_len + end_len + flen > PLAIN_NAME_LIMIT {
            break;
        }
        if next_from_end {
            from_end -= 1;
            if end_len > 1 {
                end_pieces.push(b", ".to_vec());
                end_len += 2;
            }
            end_pieces.push(formatted);
            end_len += flen;
        } else {
            from_start += 1;
            if start_len > 1 {
                start.extend_from_slice(b", ");
                start_len += 2;
            }
            start.extend_from_slice(&formatted);
            start_len += flen;
        }
        next_from_end = !next_from_end;
    }
    if from_start <= from_end {
        start.extend_from_slice(", …".as_bytes());
    }
    if end_len > 1 {
        start.extend_from_slice(b", ");
    }
    for p in end_pieces.iter().rev() {
        start.extend_from_slice(p);
    }
    start.push(b'}');
    start
}

/// `formatPropertyName`: names holding `,'"{}` are JSON-quoted.
fn format_property_name(b: &[u8]) -> Vec<u8> {
    if b.iter().any(|c| matches!(c, b',' | b'\'' | b'"' | b'{' | b'}')) {
        jsstr::json_quote(b).into_bytes()
    } else {
        b.to_vec()
    }
}

/// `JSHeapSnapshotEdge.name()`: the index of `element`/`hidden` edges, the string otherwise; `shortcut` names
/// that start like a number (`parseInt`) show as that number.
pub fn edge_name(s: &Snapshot, e: usize) -> String {
    let kind = s.edge_kind(e);
    if kind.has_index_name() {
        return s.edge_name[e].to_string();
    }
    let b = s.edge_name_bytes(e);
    if kind == EdgeKind::Shortcut {
        if let Some(n) = jsstr::parse_int(b) {
            return n.to_string();
        }
    }
    crate::strings::text(b).into_owned()
}

/// `JSHeapSnapshotEdge.toString()`: `.name` / `["a b"]` for properties, `[i]` for elements, `->name` for
/// context variables, `[[name]]` for weak edges, `{name}` for internal and hidden edges.
pub fn edge_label(s: &Snapshot, e: usize) -> String {
    let name = edge_name(s, e);
    let dotted = |n: &str| {
        if n.contains(' ') {
            format!("[\"{n}\"]")
        } else {
            format!(".{n}")
        }
    };
    match s.edge_kind(e) {
        EdgeKind::Context => format!("->{name}"),
        EdgeKind::Element => format!("[{name}]"),
        EdgeKind::Weak => format!("[[{name}]]"),
        EdgeKind::Property => dotted(&name),
        EdgeKind::Shortcut => {
            if jsstr::parse_int(s.edge_name_bytes(e)).is_some() {
                format!("[{name}]")
            } else {
                dotted(&name)
            }
        }
        EdgeKind::Internal | EdgeKind::Hidden => format!("{{{name}}}"),
        EdgeKind::Other => {
            if s.edge_type_name(e) == "invisible" {
                format!("{{{name}}}")
            } else {
                format!("?{name}?")
            }
        }
    }
}

/// A node's distance as the Retainers view sorts by it: unreachable nodes get 200,000,000.
pub fn view_distance(an: &Analysis, o: u32) -> i32 {
    let d = an.distance()[o as usize];
    if d == NO_DISTANCE {
        UNREACHABLE_VIEW_DISTANCE + d.max(0)
    } else {
        d
    }
}

/// One incoming edge of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retainer {
    /// Retainer slot (position in DevTools' retainer arrays).
    pub slot: usize,
    /// Edge index.
    pub edge: u32,
    /// Retaining node ordinal.
    pub from: u32,
}

/// Does the Retainers view list this incoming edge (not weak, not from the root)?
fn shown_in_retainers_view(an: &Analysis, from: u32, edge: usize) -> bool {
    from != an.snap.root && an.snap.edge_kind(edge) != EdgeKind::Weak && an.snap.edge_type_name(edge) != "invisible"
}

/// The direct retainers of `o` in DevTools' Retainers-view order (§12 of the oracle README).
pub fn retainers_view(an: &Analysis, o: u32) -> Vec<Retainer> {
    let items = an
        .retainers()
        .slots(o)
        .map(|k| Retainer {
            slot: k,
            edge: an.retainers().edge[k],
            from: an.retainers().src[k],
        })
        .filter(|r| shown_in_retainers_view(an, r.from, r.edge as usize))
        .collect();
    sort_view_order(an, items)
}

/// Sort retainers by view distance, then retainer display name (JS order), then slot.
fn sort_view_order(an: &Analysis, items: Vec<Retainer>) -> Vec<Retainer> {
    let mut keyed: Vec<(i32, Vec<u8>, Retainer)> = items
        .into_iter()
        .map(|r| (view_distance(an, r.from), display_name_bytes(&an.snap, r.from), r))
        .collect();
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| jsstr::cmp(&a.1, &b.1))
            .then_with(|| a.2.slot.cmp(&b.2.slot))
    });
    keyed.into_iter().map(|x| x.2).collect()
}

/// What the Retainers grid auto-expands when `o` is selected: the first retainer, repeatedly (≤ 20 levels),
/// while its distance is > 1 and it is reachable; stops after a node already on the chain.
pub fn auto_expanded_chain(an: &Analysis, o: u32) -> Vec<Retainer> {
    let mut chain = Vec::new();
    let mut ancestors = vec![o];
    let mut current = o;
    for _ in 0..20 {
        let Some(&first) = retainers_view(an, current).first() else {
            break;
        };
        chain.push(first);
        if ancestors.contains(&first.from) {
            break;
        }
        ancestors.push(first.from);
        let d = view_distance(an, first.from);
        if !(d > 1 && d < UNREACHABLE_VIEW_DISTANCE) {
            break;
        }
        current = first.from;
    }
    chain
}

/// `getDominatorsOf`: `o`, its immediate dominator, …, the root.
pub fn dominator_chain(an: &Analysis, o: u32) -> Vec<u32> {
    let mut chain = vec![o];
    let mut cur = o;
    while cur != an.snap.root {
        let next = an.dom.idom[cur as usize];
        if next == cur {
            break;
        }
        chain.push(next);
        cur = next;
    }
    chain
}

/// Limits of [`devtools_retaining_paths`] (DevTools' defaults: 30, 5,000, 100).
#[derive(Debug, Clone, Copy)]
pub struct PathLimits {
    /// Maximum path depth.
    pub max_depth: usize,
    /// Maximum number of nodes traversed.
    pub max_nodes: usize,
    /// Maximum retainers followed per node.
    pub max_siblings: usize,
}

impl Default for PathLimits {
    fn default() -> Self {
        PathLimits {
            max_depth: 30,
            max_nodes: 5000,
            max_siblings: 100,
        }
    }
}

/// Which limits stopped [`devtools_retaining_paths`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct LimitsReached {
    /// `maxDepth` (also set whenever a retainer is too far from the roots to fit).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub depth: bool,
    /// `maxNodes`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nodes: bool,
    /// `maxSiblings`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub siblings: bool,
}

/// One edge of DevTools' retaining-path forest: `node` retains the parent entry's node (or the target).
#[derive(Debug, Clone)]
pub struct RetainingEdge {
    /// Edge index.
    pub edge: u32,
    /// Retaining node ordinal.
    pub node: u32,
    /// Its distance.
    pub distance: i32,
    /// Paths continuing from `node` towards the roots (empty: the path ends at `node`).
    pub children: Vec<RetainingEdge>,
}

/// An exact port of `HeapSnapshot.getRetainingPaths(nodeIndex, maxDepth, maxNodes, maxSiblings)`.
pub fn devtools_retaining_paths(an: &Analysis, target: u32, limits: PathLimits) -> (Vec<RetainingEdge>, LimitsReached) {
    struct St<'a> {
        an: &'a Analysis,
        limits: PathLimits,
        traversed: usize,
        visiting: HashSet<u32>,
        visited: HashMap<u32, usize>,
        reached: LimitsReached,
    }
    const ROOT_DISTANCE: i64 = 2;
    fn build(st: &mut St, current: u32, depth: usize) -> Vec<RetainingEdge> {
        st.traversed += 1;
        if st.traversed > st.limits.max_nodes {
            st.reached.nodes = true;
            return Vec::new();
        }
        if depth >= st.limits.max_depth {
            st.reached.depth = true;
            return Vec::new();
        }
        let an = st.an;
        if an.distance()[current as usize] as i64 <= ROOT_DISTANCE {
            return Vec::new();
        }
        if st.visiting.contains(&current) {
            return Vec::new();
        }
        if let Some(&cached) = st.visited.get(&current) {
            if depth >= cached {
                return Vec::new();
            }
        }
        st.visiting.insert(current);
        let mut retainers: Vec<(usize, i32)> = Vec::new();
        for k in an.retainers().slots(current) {
            let from = an.retainers().src[k];
            let dist = an.distance()[from as usize];
            if an.snap.edge_kind(an.retainers().edge[k] as usize) == EdgeKind::Weak {
                continue;
            }
            if dist >= 0 {
                let remaining = st.limits.max_depth as i64 - depth as i64;
                if (dist as i64 - ROOT_DISTANCE) < remaining {
                    retainers.push((k, dist));
                } else {
                    st.reached.depth = true;
                }
            }
        }
        retainers.sort_by_key(|r| r.1); // stable, as JS's sort
        if retainers.len() > st.limits.max_siblings {
            st.reached.siblings = true;
        }
        let mut forest = Vec::new();
        for &(k, dist) in retainers.iter().take(st.limits.max_siblings) {
            let node = an.retainers().src[k];
            let mut children = Vec::new();
            if dist as i64 == ROOT_DISTANCE {
                st.traversed += 1;
                if st.traversed > st.limits.max_nodes {
                    st.reached.nodes = true;
                    break;
                }
            } else {
                children = build(st, node, depth + 1);
                if children.is_empty() {
                    continue;
                }
            }
            forest.push(RetainingEdge {
                edge: an.retainers().edge[k],
                node,
                distance: dist,
                children,
            });
        }
        st.visiting.remove(&current);
        st.visited.insert(current, depth);
        forest
    }
    let mut st = St {
        an,
        limits,
        traversed: 0,
        visiting: HashSet::new(),
        visited: HashMap::new(),
        reached: LimitsReached::default(),
    };
    let forest = build(&mut st, target, 0);
    (forest, st.reached)
}

/// The forest's root-ward paths (each from the target's retainer outwards), shortest first (stable: DFS order
/// among equal lengths), as the oracle flattens them.
pub fn flatten_forest(forest: &[RetainingEdge]) -> Vec<Vec<&RetainingEdge>> {
    fn walk<'a>(
        forest: &'a [RetainingEdge],
        prefix: &mut Vec<&'a RetainingEdge>,
        out: &mut Vec<Vec<&'a RetainingEdge>>,
    ) {
        for e in forest {
            prefix.push(e);
            if e.children.is_empty() {
                out.push(prefix.clone());
            } else {
                walk(&e.children, prefix, out);
            }
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    walk(forest, &mut Vec::new(), &mut out);
    out.sort_by_key(|p| p.len());
    out
}

/// One hop of a path: `edge` goes from `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    /// Edge index.
    pub edge: u32,
    /// Source ordinal.
    pub from: u32,
    /// Target ordinal.
    pub to: u32,
}

/// A retaining path: from `start` (a root child) through `hops` to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// First node (a user root such as `global`, or a system root child such as `(GC roots)`).
    pub start: u32,
    /// Edges from `start` to the target, in order (empty when the target is `start`).
    pub hops: Vec<Hop>,
}

impl Path {
    /// The target node.
    pub fn target(&self) -> u32 {
        self.hops.last().map_or(self.start, |h| h.to)
    }

    /// Compact text: the start's display name followed by each hop's [`edge_label`], e.g.
    /// `global.app.authSessions[19]`. Internal `elements` and `context` hops (JS array -> backing store,
    /// closure -> its context) are left out: the next hop (`[19]`, `->var`) implies them. WeakMap entry edges
    /// (`N / part of key (…) -> value (…) pair in WeakMap (table @t)`, from the table or from the key) show as
    /// `{WeakMap value}`.
    pub fn text(&self, s: &Snapshot) -> String {
        let mut out = node_label(s, self.start);
        for h in &self.hops {
            let e = h.edge as usize;
            if s.edge_kind(e) == EdgeKind::Internal {
                let name = s.edge_name_bytes(e);
                if matches!(name, b"elements" | b"context") {
                    continue;
                }
                if is_weakmap_entry_name(name) {
                    out.push_str("{WeakMap value}");
                    continue;
                }
            }
            out.push_str(&edge_label(s, e));
        }
        out
    }
}

/// Does an internal edge name look like V8's WeakMap entry names (`… / part of key (…) -> value (…) pair in
/// WeakMap (table @…)`)?
fn is_weakmap_entry_name(name: &[u8]) -> bool {
    memchr::memmem::find(name, b" / part of key (").is_some()
        && memchr::memmem::find(name, b" pair in WeakMap (table @").is_some()
}

/// A node as a path shows it: its display name, or `(type) @id` when the name is empty.
pub fn node_label(s: &Snapshot, o: u32) -> String {
    let n = display_name(s, o);
    if n.is_empty() {
        format!("({}) @{}", s.type_name(o), s.node_id[o as usize])
    } else {
        n
    }
}

/// The result of [`shortest_paths`].
#[derive(Debug, Clone, Default)]
pub struct ShortestPaths {
    /// Up to K paths, shortest first.
    pub paths: Vec<Path>,
    /// True when the work cap stopped the search before K paths were found.
    pub truncated: bool,
}

/// The part of the graph a node's paths start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// Reached from the user roots (distance 1..BASE): paths start at a user root (distance 1).
    User,
    /// Reached only from the root's system part (distance > BASE): paths start at a root child (BASE + 1).
    System,
}

fn zone(an: &Analysis, o: u32) -> Option<Zone> {
    let d = an.distance()[o as usize];
    let has_user_roots = an.distance()[an.snap.root as usize] == BASE_SYSTEM_DISTANCE;
    if d < 1 || o == an.snap.root {
        None
    } else if has_user_roots && d > BASE_SYSTEM_DISTANCE {
        Some(Zone::System)
    } else if has_user_roots && d == BASE_SYSTEM_DISTANCE {
        None
    } else {
        Some(Zone::User)
    }
}

/// Number of edges from the zone's first nodes to `o` (the exact heuristic of the search).
fn hops_to_start(an: &Analysis, z: Zone, o: u32) -> u32 {
    let d = an.distance()[o as usize];
    match z {
        Zone::User => (d - 1) as u32,
        Zone::System => (d - BASE_SYSTEM_DISTANCE - 1) as u32,
    }
}

/// The K shortest simple retaining paths to `target` (see the module docs for the edges followed and the
/// order). Unreachable nodes and the root have none.
pub fn shortest_paths(an: &Analysis, target: u32, k: usize) -> ShortestPaths {
    shortest_paths_capped(an, target, k, MAX_PARTIAL_PATHS)
}

/// [`shortest_paths`] with an explicit cap on partial paths.
pub fn shortest_paths_capped(an: &Analysis, target: u32, k: usize, cap: usize) -> ShortestPaths {
    let mut out = ShortestPaths::default();
    let Some(z) = zone(an, target) else {
        return out;
    };
    if k == 0 {
        return out;
    }
    // A partial path is a linked list from its head (furthest from the target) down to the target.
    struct Partial {
        node: u32,
        edge: u32,
        next: u32,
        len: u32,
    }
    const END: u32 = u32::MAX;
    // Simple paths only: is `o` already on the partial path starting at `i`?
    fn on_partial(arena: &[Partial], mut i: u32, o: u32) -> bool {
        loop {
            let a = &arena[i as usize];
            if a.node == o {
                return true;
            }
            if a.next == END {
                return false;
            }
            i = a.next;
        }
    }
    let mut arena: Vec<Partial> = vec![Partial {
        node: target,
        edge: END,
        next: END,
        len: 0,
    }];
    // Max-heap on (shortest possible length asc, newest first): depth-first among equals.
    let mut heap: BinaryHeap<(Reverse<u32>, u32)> = BinaryHeap::new();
    heap.push((Reverse(hops_to_start(an, z, target)), 0));
    while let Some((_, idx)) = heap.pop() {
        let p = &arena[idx as usize];
        let (node, len) = (p.node, p.len);
        if hops_to_start(an, z, node) == 0 {
            // Complete: walk the list from the head to the target.
            let mut hops = Vec::with_capacity(len as usize);
            let mut i = idx;
            while arena[i as usize].next != END {
                let a = &arena[i as usize];
                hops.push(Hop {
                    edge: a.edge,
                    from: a.node,
                    to: arena[a.next as usize].node,
                });
                i = a.next;
            }
            out.paths.push(Path { start: node, hops });
            if out.paths.len() == k {
                break;
            }
            continue;
        }
        let d_node = an.distance()[node as usize];
        let candidates: Vec<Retainer> = an
            .retainers()
            .slots(node)
            .map(|k| Retainer {
                slot: k,
                edge: an.retainers().edge[k],
                from: an.retainers().src[k],
            })
            .filter(|r| {
                shown_in_retainers_view(an, r.from, r.edge as usize)
                    && r.from != node
                    && zone(an, r.from) == Some(z)
                    && d_node <= an.distance()[r.from as usize] + 1
                    && !on_partial(&arena, idx, r.from)
            })
            .collect();
        let mut next = sort_view_order(an, candidates);
        if arena.len() + next.len() > cap {
            out.truncated = true;
            break;
        }
        // Newest pops first among equal lengths: push in reverse view order so the view's first pops first.
        next.reverse();
        for r in next {
            let f = len + 1 + hops_to_start(an, z, r.from);
            let id = arena.len() as u32;
            arena.push(Partial {
                node: r.from,
                edge: r.edge,
                next: idx,
                len: len + 1,
            });
            heap.push((Reverse(f), id));
        }
    }
    out
}

/// Order nodes for "largest first" lists: retained size descending, then ordinal ascending.
pub fn by_retained_desc(an: &Analysis, a: u32, b: u32) -> Ordering {
    an.dom
        .retained
        .get(b as usize)
        .cmp(&an.dom.retained.get(a as usize))
        .then(a.cmp(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// root -> global (shortcut) and (GC roots); global.a = A, global.b = B, global.s = "ab" + "cd",
    /// global.p = {"x,y": X, z: "ab"}; A[0] = X, B.x = X, B -weak-> A; (GC roots)[0] = X.
    fn tiny() -> Analysis {
        let json = r#"{"snapshot":{"meta":{
            "node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],
            "node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic",
                "concatenated string","sliced string","symbol","bigint","object shape"],
                "string","number","number","number","number","number"],
            "edge_fields":["type","name_or_index","to_node"],
            "edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]},
            "node_count":10,"edge_count":15,"trace_function_count":0},
          "nodes":[9,0,1,0,2,0,0, 3,1,3,10,4,0,0, 9,2,5,0,1,0,0, 3,3,7,8,1,0,0, 3,4,9,8,2,0,0,
                   3,5,11,5,0,0,0, 10,0,13,32,2,0,0, 2,6,15,16,0,0,0, 2,7,17,16,0,0,0, 3,8,19,24,3,0,0],
          "edges":[5,1,7, 1,1,14,
                   2,9,21, 2,10,28, 2,11,42, 2,12,63,
                   1,0,35,
                   1,0,35,
                   2,13,35, 6,14,21,
                   3,15,49, 3,16,56,
                   2,17,35, 2,18,21, 2,19,49],
          "locations":[],
          "strings":["","global","(GC roots)","A","B","X","ab","cd","Object","a","b","s","p","x","w",
                     "first","second","x,y","__proto__","z"]}"#;
        Analysis::new(Snapshot::from_bytes(json.as_bytes()).unwrap()).unwrap()
    }

    fn ord(an: &Analysis, id: u32) -> u32 {
        an.snap.ordinal_of_id(id).unwrap()
    }

    #[test]
    fn display_names() {
        let an = tiny();
        let s = &an.snap;
        assert_eq!(display_name(s, ord(&an, 13)), "abcd");
        assert_eq!(display_name(s, ord(&an, 19)), "{\"x,y\", z}");
        assert_eq!(display_name(s, ord(&an, 3)), "global");
    }

    #[test]
    fn views_and_paths() {
        let an = tiny();
        let s = &an.snap;
        let x = ord(&an, 11);
        assert_eq!(an.distance()[x as usize], 3);
        let view: Vec<u32> = retainers_view(&an, x)
            .iter()
            .map(|r| s.node_id[r.from as usize])
            .collect();
        // Distance 2 by name ("A" < "B" < "{…}"), then the system root.
        assert_eq!(view, [7, 9, 19, 5]);
        let chain: Vec<u32> = auto_expanded_chain(&an, x)
            .iter()
            .map(|r| s.node_id[r.from as usize])
            .collect();
        assert_eq!(chain, [7, 3]);
        // The weak B -> A edge is not a retainer in the view.
        let a_view: Vec<u32> = retainers_view(&an, ord(&an, 7))
            .iter()
            .map(|r| s.node_id[r.from as usize])
            .collect();
        assert_eq!(a_view, [3, 19]);
        let found = shortest_paths(&an, x, 5);
        let texts: Vec<String> = found.paths.iter().map(|p| p.text(s)).collect();
        // Three of length 2 in Retainers-view order, then the only longer simple path.
        assert_eq!(
            texts,
            ["global.a[0]", "global.b.x", "global.p.x,y", "global.p.__proto__[0]"]
        );
        assert!(!found.truncated);
        let lens: Vec<usize> = found.paths.iter().map(|p| p.hops.len()).collect();
        assert_eq!(lens, [2, 2, 2, 3]);
        assert!(found.paths.iter().all(|p| p.target() == x));
        let capped = shortest_paths_capped(&an, x, 5, 4);
        assert!(capped.truncated && capped.paths.len() < 4);
        // The system root's edge into the page does not count for dominators.
        let doms: Vec<u32> = dominator_chain(&an, x).iter().map(|&d| s.node_id[d as usize]).collect();
        assert_eq!(doms, [11, 3, 1]);
        // DevTools' paths stop at distance-2 retainers: one step each.
        let (forest, _) = devtools_retaining_paths(&an, x, PathLimits::default());
        let flat = flatten_forest(&forest);
        assert_eq!(flat.len(), 3);
        assert!(flat.iter().all(|p| p.len() == 1 && p[0].distance == 2));
        // `global` is its own path; the root and unreachable nodes have none.
        let g = shortest_paths(&an, ord(&an, 3), 1);
        assert_eq!(g.paths[0].text(s), "global");
        assert!(shortest_paths(&an, s.root, 1).paths.is_empty());
    }

    #[test]
    fn edge_labels() {
        let an = tiny();
        let s = &an.snap;
        let labels: Vec<String> = (0..s.edge_count()).map(|e| edge_label(s, e)).collect();
        assert_eq!(labels[0], ".global");
        assert_eq!(labels[1], "[1]");
        assert_eq!(labels[9], "[[w]]");
        assert_eq!(labels[10], "{first}");
    }
}
