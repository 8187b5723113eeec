//! What holds an object: shortest retaining paths from the user roots over essential edges, folded into
//! signatures that group thousands of objects into one line (`global > requestLog (Array) > [*] > Entry`).
//!
//! [`Holders::new`] runs one BFS over essential edges (the edges dominators use), first from the user roots
//! (the root's non-synthetic children, e.g. `global`), then from the root for what only system roots reach,
//! and keeps the BFS parent edge of every node (4 bytes per node). A path is then a walk up parents.
//! Folding: element and hidden edges, and edges named by a number (hash table slots), become `[*]`, except a
//! block context's unnamed slots, which read as their variable ([`crate::names::context_slot`]); repeated
//! hops of one linked structure (`_idleNext (Timeout) > _idleNext (Timeout)`) fold into one; hops into V8 backing stores (internal edges to `hidden` or
//! `array` nodes, a closure's `context`) are skipped, so `Map > table > [12]` reads `Map > [*]`.
//! A path through a page's JS global object or its proxy (reached from a native context by `global_object` /
//! `global_proxy_object`, as Chromium's `Window` is) starts at it, not at the system roots above it.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::analysis::Analysis;
use crate::devtools::is_user_root;
use crate::dominators::NONE;
use crate::header::{EdgeKind, NodeKind};

/// BFS parents over essential edges.
#[derive(Debug, Clone)]
pub struct Holders {
    /// Parent edge of every node (`NONE` for BFS roots and unreached nodes).
    pub parent_edge: Vec<u32>,
    /// Parent node (valid where `parent_edge != NONE`).
    pub parent: Vec<u32>,
    /// The reached nodes in BFS order (every parent before its children).
    pub order: Vec<u32>,
    /// The top of every long linked run, built on first use ([`Self::run_tops`]).
    runs: std::sync::OnceLock<FxHashMap<u32, u32>>,
}

/// Longest path walked, not counting repeated hops of one linked structure.
const MAX_STEPS: usize = 48;

/// Repeated hops of one linked structure walked one by one in [`Holders::chain`] (a timer list thousands long
/// reads from its head; a longer list starts at `…`). [`Holders::signature`] and [`Holders::path_to`] jump
/// over a longer run in one step ([`Holders::run_tops`]), so a list millions long reads from its head too and
/// costs a few steps per object.
const MAX_REPEATS: usize = 8192;

/// Repeats walked one by one before [`Holders::folded`] jumps to the top of the run.
const JUMP_AFTER: usize = 64;

impl Holders {
    /// Run the BFS on `an`.
    pub fn new(an: &Analysis) -> Holders {
        let s = &an.snap;
        let n = s.node_count();
        let mut parent_edge = vec![NONE; n];
        let mut parent = vec![NONE; n];
        let mut seen = fixedbitset::FixedBitSet::with_capacity(n);
        let mut queue = VecDeque::new();
        let mut order = Vec::new();
        seen.insert(s.root as usize);
        for e in s.edges(s.root) {
            let c = s.edge_to(e);
            if is_user_root(s, c) && !seen.contains(c as usize) {
                seen.insert(c as usize);
                queue.push_back(c);
            }
        }
        // Handle scopes and V8's identity maps (`41 / IdentityMapBase` under `(Strong roots)`) hold what the
        // code running at snapshot time has in hand: a path through one would differ from snapshot to
        // snapshot, so they are entered last.
        let transient = |c: u32| s.kind(c) == NodeKind::Synthetic && s.name_bytes(c) == b"(Handle scope)";
        let mut deferred: Vec<(u32, u32, u32)> = Vec::new();
        let mut phase = 0;
        loop {
            while let Some(u) = queue.pop_front() {
                s.prefetch_queue(&queue);
                order.push(u);
                for e in s.edges(u) {
                    if !an.essential.contains(e) {
                        continue;
                    }
                    let c = s.edge_to(e);
                    if seen.contains(c as usize) {
                        continue;
                    }
                    if transient(c) || memchr::memmem::find(s.edge_name_bytes(e), b"IdentityMapBase").is_some() {
                        deferred.push((c, e as u32, u));
                        continue;
                    }
                    seen.insert(c as usize);
                    parent_edge[c as usize] = e as u32;
                    parent[c as usize] = u;
                    queue.push_back(c);
                }
            }
            if phase == 0 {
                // Then what only the root's system part reaches.
                queue.push_back(s.root);
                phase = 1;
                continue;
            }
            let Some((c, e, u)) = deferred.pop() else { break };
            if !seen.put(c as usize) {
                parent_edge[c as usize] = e;
                parent[c as usize] = u;
                queue.push_back(c);
            }
        }
        Holders {
            parent_edge,
            parent,
            order,
            runs: std::sync::OnceLock::new(),
        }
    }

    /// The nodes from the BFS root down to `v` (inclusive): at most [`MAX_STEPS`] hops, plus up to
    /// [`MAX_REPEATS`] hops that repeat the one below them (same edge, same node name: a list's `next`).
    pub fn chain(&self, s: &crate::snapshot::Snapshot, v: u32) -> Vec<u32> {
        self.walk(s, v, false)
    }

    /// [`Self::chain`] for the folded text: past [`JUMP_AFTER`] repeats, a run of one linked structure is jumped
    /// over to its last node, and no run is cut (the hops skipped fold into the ones kept). Each hop's text is
    /// read from the node's own parent ([`Self::parent`]), so a jump changes no label.
    fn folded_chain(&self, s: &crate::snapshot::Snapshot, v: u32) -> Vec<u32> {
        self.walk(s, v, true)
    }

    /// The walk up the BFS parents behind [`Self::chain`] (`jump` false: repeats capped, walked one by one) and
    /// [`Self::folded_chain`] (`jump` true).
    fn walk(&self, s: &crate::snapshot::Snapshot, v: u32, jump: bool) -> Vec<u32> {
        let mut out = vec![v];
        let mut x = v;
        let (mut steps, mut repeats) = (0, 0);
        let mut below: Option<(u8, u32)> = None;
        while self.parent_edge[x as usize] != NONE && steps < MAX_STEPS {
            let e = self.parent_edge[x as usize] as usize;
            let hop = (s.edge_type(e), s.edge_name[e]);
            let repeat = below == Some(hop) && s.node_name[x as usize] == s.node_name[out[out.len() - 2] as usize];
            if repeat && (jump || repeats < MAX_REPEATS) {
                repeats += 1;
            } else {
                steps += 1;
            }
            below = Some(hop);
            x = if jump && repeats > JUMP_AFTER && self.links(s, x) {
                self.run_tops(s)[&x]
            } else {
                self.parent[x as usize]
            };
            out.push(x);
        }
        out.reverse();
        out
    }

    /// Whether `c` and its BFS parent hang by the same hop (edge type and name) and share a name: the next step
    /// up from the parent repeats the one below it (`next (Node) > next (Node)`).
    fn links(&self, s: &crate::snapshot::Snapshot, c: u32) -> bool {
        let e = self.parent_edge[c as usize];
        if e == NONE {
            return false;
        }
        let p = self.parent[c as usize];
        let pe = self.parent_edge[p as usize];
        pe != NONE
            && s.edge_type(e as usize) == s.edge_type(pe as usize)
            && s.edge_name[e as usize] == s.edge_name[pe as usize]
            && s.node_name[c as usize] == s.node_name[p as usize]
    }

    /// For every node `c` that [`Self::links`] to its parent: the first ancestor that does not (the last node of
    /// the run: `c`, its parent, ..., that node all hang by one hop and share a name). One pass in BFS order,
    /// built once, on the first run longer than [`JUMP_AFTER`].
    fn run_tops(&self, s: &crate::snapshot::Snapshot) -> &FxHashMap<u32, u32> {
        self.runs.get_or_init(|| {
            let mut tops = FxHashMap::default();
            for &c in &self.order {
                if self.links(s, c) {
                    let p = self.parent[c as usize];
                    let top = tops.get(&p).copied().unwrap_or(p);
                    tops.insert(c, top);
                }
            }
            tops
        })
    }

    /// A JS global object or its proxy, reached from a native context by its `global_object` or
    /// `global_proxy_object` edge on the BFS path (Chromium's `Window [JSGlobalObject] / https://…`, an object,
    /// and `Window / https://…`, a native node).
    fn is_js_global(&self, s: &crate::snapshot::Snapshot, v: u32) -> bool {
        let e = self.parent_edge[v as usize];
        e != NONE
            && s.edge_kind(e as usize) == EdgeKind::Internal
            && matches!(s.edge_name_bytes(e as usize), b"global_object" | b"global_proxy_object")
    }

    /// Folded path text of `v` (see the module docs). With `include_self`, ends with `v`'s own class.
    pub fn signature(&self, an: &Analysis, v: u32, include_self: bool) -> String {
        self.folded(an, v, include_self).0
    }

    /// The folded path to `v` ending with `v`'s own class in parentheses, `… > requestLog (Array)`; just the
    /// class when paths start at `v` (a BFS root, or a page's global object).
    pub fn path_to(&self, an: &Analysis, v: u32) -> String {
        let label = node_label(an, v);
        match self.folded(an, v, false) {
            (_, true) => label,
            (path, false) => format!("{path} ({label})"),
        }
    }

    /// [`Self::signature`], and whether the text starts at `v` itself.
    fn folded(&self, an: &Analysis, v: u32, include_self: bool) -> (String, bool) {
        let s = &an.snap;
        let chain = self.folded_chain(s, v);
        let mut parts: Vec<String> = Vec::with_capacity(chain.len() + 1);
        let first = chain[0];
        let truncated = self.parent_edge[first as usize] != NONE;
        let last = chain.len() - 1;
        // Paths that only system roots reach start at the root: begin at its child ("(GC roots)"), or, when the
        // path passes through a page's JS global object (Chromium reaches `Window [JSGlobalObject]` only
        // through `(GC roots) > (Global handles) > … > NativeContext > global_object`), at that object: what
        // a page's script calls `window` is the holder its author knows.
        let mut skip = usize::from(!truncated && first == s.root && chain.len() > 2);
        if !truncated {
            if let Some(g) = (skip + 1..=last).rev().find(|&k| self.is_js_global(s, chain[k])) {
                skip = g;
            }
        }
        let head = chain[skip];
        parts.push(if truncated {
            "…".to_string()
        } else {
            node_label(an, head)
        });
        // The hops kept, as (edge label, node); the last one is always kept.
        let mut hops: Vec<(String, u32)> = Vec::with_capacity(chain.len());
        for (k, &node) in chain.iter().enumerate().skip(1 + skip) {
            let e = self.parent_edge[node as usize] as usize;
            let kind = s.edge_kind(e);
            let target = s.kind(node);
            // A block context's unnamed slot, named from its scope_info.
            if let Some(var) = crate::names::context_slot(s, self.parent[node as usize], e) {
                hops.push((var, node));
                continue;
            }
            let backing = matches!(kind, EdgeKind::Internal | EdgeKind::Hidden)
                && (matches!(target, NodeKind::Hidden | NodeKind::Array)
                    || (kind == EdgeKind::Internal && s.edge_name_bytes(e) == b"context"));
            if backing && k != last {
                continue;
            }
            let name = s.edge_name_bytes(e);
            let numeric = !name.is_empty() && name.iter().all(u8::is_ascii_digit);
            let label = match kind {
                EdgeKind::Element | EdgeKind::Hidden => "[*]".to_string(),
                _ if numeric => "[*]".to_string(),
                // V8's numbered root lists (`274 / IdentityMapBase`) change numbers from snapshot to snapshot.
                _ if name.first().is_some_and(u8::is_ascii_digit) && memchr::memmem::find(name, b" / ").is_some() => {
                    let t = s.edge_name_text(e);
                    format!("[*]{}", t.trim_start_matches(|c: char| c.is_ascii_digit()))
                }
                _ => s.edge_name_text(e),
            };
            hops.push((label, node));
        }
        // Repeated hops of one linked structure (`_idleNext (Timeout) > _idleNext (Timeout)`, a queue's
        // `next`, a reaction chain) fold into one, as indices fold into `[*]`: the elements of one list share
        // one path.
        let mut folded: Vec<(String, String)> = Vec::with_capacity(hops.len());
        for (label, node) in hops {
            let class = node_label(an, node);
            if folded.last().is_some_and(|(l, c)| *l == label && *c == class) {
                continue;
            }
            folded.push((label, class));
        }
        let n = folded.len();
        for (i, (label, class)) in folded.into_iter().enumerate() {
            if i + 1 < n {
                parts.push(format!("{label} ({class})"));
            } else {
                parts.push(label);
                if include_self {
                    parts.push(class);
                }
            }
        }
        (parts.join(" > "), !truncated && skip == last)
    }
}

/// The name of edge `e` out of `from` as paths show it: a block context's unnamed slot by its variable
/// ([`crate::names::context_slot`]), other edges by their name or index.
pub fn edge_label(s: &crate::snapshot::Snapshot, from: u32, e: usize) -> String {
    crate::names::context_slot(s, from, e).unwrap_or_else(|| s.edge_name_text(e))
}

/// How a node appears in a path: its class name, `name()` for closures, the name of synthetic roots.
pub fn node_label(an: &Analysis, v: u32) -> String {
    let s = &an.snap;
    match s.kind(v) {
        NodeKind::Synthetic => s.name(v).into_owned(),
        NodeKind::Closure => {
            let n = s.name(v);
            if n.is_empty() {
                "(anonymous)()".into()
            } else {
                format!("{n}()")
            }
        }
        _ => an.classes.table[an.classes.of_node[v as usize] as usize].name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;

    /// A root, a global `G` (shortcut edge), `G.head` and a list of `n` `Node` objects linked by `next`.
    fn list(n: usize) -> Analysis {
        // Strings: 0 "", 1 "G", 2 "Node", 3 "head", 4 "next", 5 "global".
        let mut nodes = vec!["9,0,1,0,1".to_string(), "3,1,3,16,1".to_string()];
        let mut edges = vec!["5,5,5".to_string(), "2,3,10".to_string()];
        for i in 0..n {
            let last = i + 1 == n;
            nodes.push(format!("3,2,{},16,{}", 2 * i + 5, u8::from(!last)));
            if !last {
                edges.push(format!("2,4,{}", (i + 3) * 5));
            }
        }
        let text = format!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]}},"node_count":{},"edge_count":{}}},"nodes":[{}],"edges":[{}],"strings":["","G","Node","head","next","global"]}}"#,
            n + 2,
            edges.len(),
            nodes.join(","),
            edges.join(",")
        );
        Analysis::new(Snapshot::from_bytes(text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn a_list_longer_than_the_repeat_cap_reads_from_its_head_in_a_few_steps() {
        let n = MAX_REPEATS + 3000;
        let an = list(n);
        let h = Holders::new(&an);
        let head = 2u32;
        let deep = (n + 1) as u32;
        assert_eq!(h.signature(&an, head, false), "G > head");
        assert_eq!(h.signature(&an, 3, false), "G > head (Node) > next");
        // Every node below the head, however deep, shares one text (the capped walk cut it to `… > next`).
        assert_eq!(h.signature(&an, deep, false), "G > head (Node) > next");
        assert_eq!(h.path_to(&an, deep), "G > head (Node) > next (Node)");
        assert!(h.folded_chain(&an.snap, deep).len() < 2 * JUMP_AFTER + 8);
        let capped = h.chain(&an.snap, deep);
        assert!(
            h.parent_edge[capped[0] as usize] != NONE,
            "the capped walk stops inside the list"
        );
        // A run just past the jump threshold gives the same text as the exact walk.
        let mid = (JUMP_AFTER + 10) as u32;
        assert_eq!(h.chain(&an.snap, mid).len(), mid as usize, "G, the head, ..., mid");
        assert!(h.folded_chain(&an.snap, mid).len() < mid as usize, "jumped");
        assert_eq!(h.signature(&an, mid, false), "G > head (Node) > next");
    }
}
