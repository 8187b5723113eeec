//! Chrome DevTools' heap-snapshot semantics (`HeapSnapshot.ts` of chrome-devtools-frontend 1.0.1705227; see
//! `../shared/oracle/README.md`). Each pass is a function over the flat columns, run in DevTools' order by
//! [`crate::analysis::Analysis::new`]:
//! detachedness and the `Detached ` prefix ([`propagate_detachedness`]), user roots, page-owned flags
//! ([`page_owned`]), shallow-size reattribution ([`reattribute_shallow_sizes`]), distances ([`distances`]),
//! class names and keys ([`classes`]). The WeakMap edge pattern is resolved once per string ([`WeakMapEdges`]).
//! Every pass is O(V + E) time and allocates O(V) (bitsets or u32 per node), nothing per node on the heap.

pub mod classes;
pub mod jsstr;

use std::collections::{HashMap, VecDeque};

use fixedbitset::FixedBitSet;
use rayon::prelude::*;

use crate::header::{EdgeKind, NodeKind};
use crate::snapshot::{prefetch, Snapshot};

/// Distance of nodes not reached by the distance BFS.
pub const NO_DISTANCE: i32 = -5;
/// Distance base of nodes reached only from the root's system part.
pub const BASE_SYSTEM_DISTANCE: i32 = 100_000_000;

/// Detachedness: 0 unknown, 1 attached, 2 detached.
pub const DETACHED: u8 = 2;

/// `propagateDOMState`: seed from the `detachedness` field, propagate attached then detached state to native
/// children (skipping `hidden` and `weak` edges), rename detached natives to `Detached <name>`.
/// Snapshots without the field: natives named `Detached …` are detached. Returns the per-node state.
pub fn propagate_detachedness(s: &mut Snapshot) -> Vec<u8> {
    let n = s.node_count();
    if s.node_detachedness.is_empty() {
        let mut det = vec![0u8; n];
        for i in 0..n as u32 {
            if s.kind(i) == NodeKind::Native && s.name_bytes(i).starts_with(b"Detached ") {
                det[i as usize] = DETACHED;
            }
        }
        return det;
    }
    let det = std::mem::take(&mut s.node_detachedness);
    let mut st = DomState {
        visited: FixedBitSet::with_capacity(n),
        det,
        attached: Vec::new(),
        detached: Vec::new(),
        renamed: HashMap::new(),
    };
    for o in 0..n as u32 {
        let state = st.det[o as usize];
        if state != 0 {
            st.process(s, o, state);
        }
    }
    // A node's children, into one buffer (`process` renames nodes, so it cannot run while the edges are
    // borrowed).
    let mut buf = Vec::new();
    // The stacks are read from the top: the nodes a few places below it are popped next, so their edges
    // are prefetched.
    let children = |s: &Snapshot, o: u32, stack: &[u32], buf: &mut Vec<u32>| {
        if let Some(&a) = stack.len().checked_sub(8).map(|i| &stack[i]) {
            s.prefetch_edge_range(a);
        }
        if let Some(&b) = stack.len().checked_sub(4).map(|i| &stack[i]) {
            s.prefetch_edges(b);
        }
        buf.clear();
        buf.extend(dom_children(s, o));
    };
    // The attached state reaches every native it can, whatever the order (it renames nothing), so the
    // attached stack is taken in batches: the batch's edges are read, then its children's bits and types
    // are prefetched all at once before they are processed, instead of one random read waiting after another.
    let mut batch = Vec::new();
    while !st.attached.is_empty() {
        let from = st.attached.len().saturating_sub(ATTACHED_BATCH);
        batch.clear();
        batch.extend(st.attached.drain(from..).rev());
        for &o in &batch {
            s.prefetch_edge_range(o);
        }
        for &o in &batch {
            s.prefetch_edges(o);
        }
        buf.clear();
        for &o in &batch {
            buf.extend(dom_children(s, o));
        }
        for &c in &buf {
            prefetch(st.visited.as_slice(), c as usize / 64);
            prefetch(&s.node_type, c as usize);
        }
        for &c in &buf {
            st.process(s, c, 1);
        }
    }
    while let Some(o) = st.detached.pop() {
        if st.det[o as usize] == 1 {
            continue;
        }
        children(s, o, &st.detached, &mut buf);
        for &c in &buf {
            st.process(s, c, DETACHED);
        }
    }
    st.det
}

/// The nodes a DOM state propagates to from `o`: targets of its edges other than hidden, weak and unknown ones.
fn dom_children(s: &Snapshot, o: u32) -> impl Iterator<Item = u32> + '_ {
    s.edges(o)
        .filter(|&e| !matches!(s.edge_kind(e), EdgeKind::Hidden | EdgeKind::Weak | EdgeKind::Other))
        .map(|e| s.edge_to(e))
}

/// Nodes of the attached stack [`propagate_detachedness`] expands at a time.
const ATTACHED_BATCH: usize = 64;

/// Working state of [`propagate_detachedness`].
struct DomState {
    det: Vec<u8>,
    visited: FixedBitSet,
    attached: Vec<u32>,
    detached: Vec<u32>,
    renamed: HashMap<u32, u32>,
}

impl DomState {
    /// DevTools' `processNode`: settle `o` (natives only) with `state`, queueing it for propagation.
    fn process(&mut self, s: &mut Snapshot, o: u32, state: u8) {
        let ou = o as usize;
        if self.visited.contains(ou) {
            return;
        }
        self.visited.insert(ou);
        if s.kind(o) != NodeKind::Native {
            return;
        }
        self.det[ou] = state;
        if state == 1 {
            self.attached.push(o);
        } else if state == DETACHED {
            let old = s.node_name[ou];
            let ni = *self.renamed.entry(old).or_insert_with(|| {
                let mut name = b"Detached ".to_vec();
                name.extend_from_slice(s.strings.bytes(old as usize));
                s.strings.push_bytes(&name)
            });
            s.node_name[ou] = ni;
            self.detached.push(o);
        }
    }
}

/// A root child is a *user root* when it is not synthetic, or is the synthetic `(Document DOM trees)`.
pub fn is_user_root(s: &Snapshot, o: u32) -> bool {
    s.kind(o) != NodeKind::Synthetic || s.name_bytes(o) == b"(Document DOM trees)"
}

/// Whether the root has at least one user root (Node: the shortcut to `global`; Chrome: windows, DOM trees).
pub fn has_user_roots(s: &Snapshot) -> bool {
    s.edges(s.root).any(|e| is_user_root(s, s.edge_to(e)))
}

/// `markPageOwnedNodes`: seeds are targets of the root's `shortcut` edges and of its `element` edges to
/// `(Document DOM trees)`; everything reachable from them over non-weak edges is page-owned.
///
/// The set does not depend on the order of the walk, so it is a BFS that runs on every thread of the pool
/// while a level is wide: the nodes of a level are shared out in chunks, and each claims a target by setting
/// its bit (an atomic `or`: a node is claimed, and expanded, once). While the queue is narrow (deep lists,
/// the first levels), one thread runs it as a queue, whose order says which nodes are read next. Either way
/// the edges of the nodes a few places ahead are prefetched ([`Snapshot::prefetch_edge_range`],
/// [`Snapshot::prefetch_edges`]).
pub fn page_owned(s: &Snapshot) -> FixedBitSet {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    let n = s.node_count();
    let owned: Vec<AtomicU64> = (0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
    // True if this call set c's bit (the bit is read first: most edges reach nodes claimed already).
    let claim = |c: usize| {
        let (w, bit) = (&owned[c / 64], 1u64 << (c % 64));
        w.load(Relaxed) & bit == 0 && w.fetch_or(bit, Relaxed) & bit == 0
    };
    let expand = |o: u32, out: &mut dyn FnMut(u32)| {
        for e in s.edges(o) {
            if s.edge_kind(e) != EdgeKind::Weak {
                let c = s.edge_to(e);
                if claim(c as usize) {
                    out(c);
                }
            }
        }
    };
    let mut queue = VecDeque::new();
    for e in s.edges(s.root) {
        let c = s.edge_to(e);
        let seed = match s.edge_kind(e) {
            EdgeKind::Element => s.kind(c) == NodeKind::Synthetic && s.name_bytes(c) == b"(Document DOM trees)",
            EdgeKind::Shortcut => true,
            _ => false,
        };
        if seed && claim(c as usize) {
            queue.push_back(c);
        }
    }
    let threads = rayon::current_num_threads();
    loop {
        // Narrow: one queue, until it is empty or wide enough to share out.
        while queue.len() < PAGE_OWNED_WIDE || threads == 1 {
            let Some(o) = queue.pop_front() else {
                break;
            };
            s.prefetch_queue(&queue);
            expand(o, &mut |c| queue.push_back(c));
        }
        if queue.is_empty() {
            break;
        }
        // Wide: level by level, in chunks, until a level is narrow again.
        let mut level: Vec<u32> = queue.drain(..).collect();
        while level.len() >= PAGE_OWNED_WIDE {
            let parts: Vec<Vec<u32>> = level
                .par_chunks(PAGE_OWNED_CHUNK)
                .map(|chunk| {
                    let mut next = Vec::new();
                    for (i, &o) in chunk.iter().enumerate() {
                        if let Some(&a) = chunk.get(i + 12) {
                            s.prefetch_edge_range(a);
                        }
                        if let Some(&b) = chunk.get(i + 6) {
                            s.prefetch_edges(b);
                        }
                        expand(o, &mut |c| next.push(c));
                    }
                    next
                })
                .collect();
            level.clear();
            for p in parts {
                level.extend_from_slice(&p);
            }
        }
        queue.extend(level);
    }
    // `Block` is `usize`; heapsnap targets 64-bit platforms (checked at compile time in lib.rs).
    FixedBitSet::with_capacity_and_blocks(n, owned.into_iter().map(|w| w.into_inner() as usize))
}

/// A BFS level of [`page_owned`] at least this wide is shared out to the threads.
const PAGE_OWNED_WIDE: usize = 1 << 14;

/// Nodes per task of a wide level of [`page_owned`].
const PAGE_OWNED_CHUNK: usize = 2048;

/// `calculateShallowSizes`: when the snapshot has user roots, the sizes of `hidden`, `array` and native
/// `system / ExternalStringData` nodes owned by exactly one other node (through such nodes only) are moved
/// into that owner, unless the owner is synthetic or the root. Rewrites `sizes` (the self sizes, one per node
/// of `s`) in place; they are kept outside the snapshot (`s.node_self` is not read), so that passes which do
/// not read self sizes (the dominators' DFS) can share `s` meanwhile.
/// Fails only if an owner's size would exceed `u32` (never seen in V8 output).
pub fn reattribute_shallow_sizes(s: &Snapshot, sizes: &mut [u32]) -> Result<(), String> {
    if !has_user_roots(s) {
        return Ok(());
    }
    const UNVISITED: u32 = u32::MAX;
    const MULTIPLE: u32 = u32::MAX - 1;
    let n = s.node_count();
    let mut owners = vec![0u32; n];
    let mut work: Vec<u32> = Vec::new();
    for o in 0..n as u32 {
        let ownable = match s.kind(o) {
            NodeKind::Hidden | NodeKind::Array => true,
            NodeKind::Native => s.name_bytes(o) == b"system / ExternalStringData",
            _ => false,
        };
        if ownable {
            owners[o as usize] = UNVISITED;
        } else {
            owners[o as usize] = o;
            work.push(o);
        }
    }
    while let Some(o) = work.pop() {
        let owner = owners[o as usize];
        for e in s.edges(o) {
            if s.edge_kind(e) == EdgeKind::Weak {
                continue;
            }
            let c = s.edge_to(e);
            let oc = owners[c as usize];
            if oc == UNVISITED {
                owners[c as usize] = owner;
                work.push(c);
            } else if oc == c || oc == owner || oc == MULTIPLE {
                // Already settled.
            } else {
                owners[c as usize] = MULTIPLE;
                work.push(c);
            }
        }
    }
    for (o, &w) in owners.iter().enumerate() {
        if w == UNVISITED || w == MULTIPLE || w as usize == o {
            continue;
        }
        if s.kind(w) == NodeKind::Synthetic || w == s.root {
            continue;
        }
        let add = sizes[o];
        let sum = sizes[w as usize].checked_add(add).ok_or_else(|| {
            format!(
                "the reattributed self size of node @{} exceeds 4 GiB",
                s.node_id[w as usize]
            )
        })?;
        sizes[w as usize] = sum;
        sizes[o] = 0;
    }
    Ok(())
}

/// What follows the value's id in a WeakMap pair name, up to the table id.
const PAIR_TAIL: &[u8] = b") pair in WeakMap (table @";

/// A WeakMap pair name, as DevTools matches it (`/^\d+(?<duplicatedPart> \/ part of key \(.*? @\d+\) -> value
/// \(.*? @\d+\) pair in WeakMap \(table @(?<tableId>\d+)\))$/`, a JavaScript regex: `\d` is an ASCII digit,
/// `.` anything but a line terminator: `\n`, `\r`, U+2028, U+2029): the start of the duplicated part (just
/// after the leading digits) and the table id (`u64::MAX` if it overflows). Both captures are fixed by the
/// anchors, whatever the lazy parts take, so only whether some split matches is searched for: one
/// `@digits) -> value (` between the key's `(` and the value's ` @digits)`.
pub fn parse_pair_name(b: &[u8]) -> Option<(usize, u64)> {
    let digits = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_digit()).count();
    let digits_back = |b: &[u8]| b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    let lead = digits(b);
    let body = b[lead..].strip_prefix(b" / part of key (".as_slice())?;
    if lead == 0
        || memchr::memchr2(b'\n', b'\r', body).is_some()
        || memchr::memmem::find(body, "\u{2028}".as_bytes()).is_some()
        || memchr::memmem::find(body, "\u{2029}".as_bytes()).is_some()
    {
        return None;
    }
    // From the end: `table @<digits>)`, then the value's ` @<digits>` before `) pair in WeakMap (`.
    let rest = body.strip_suffix(b")")?;
    let t = digits_back(rest);
    if t == 0 {
        return None;
    }
    let table_digits = &rest[rest.len() - t..];
    let rest = rest[..rest.len() - t].strip_suffix(PAIR_TAIL)?;
    let v = digits_back(rest);
    if v == 0 {
        return None;
    }
    let middle = rest[..rest.len() - v].strip_suffix(b" @")?;
    // middle = X ` @<digits>) -> value (` Y, for some X and Y.
    let arrow = b") -> value (";
    let matches = memchr::memmem::find_iter(middle, arrow).any(|q| {
        let before = &middle[..q];
        let k = digits_back(before);
        k > 0 && before[..before.len() - k].ends_with(b" @")
    });
    if !matches {
        return None;
    }
    let table = std::str::from_utf8(table_digits)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    Some((lead, table))
}

/// Internal edges named `N / part of key (… @k) -> value (… @v) pair in WeakMap (table @t)`, resolved once per
/// distinct name string.
#[derive(Debug, Default)]
pub struct WeakMapEdges {
    /// String index -> (table id, id of the duplicated part shared by the pair's two edges).
    by_string: rustc_hash::FxHashMap<u32, (u64, u32)>,
    /// Quick negative test: string indexes present in `by_string`.
    is_pair_name: FixedBitSet,
    /// Nodes whose id is the table id of some pair name (one bit per node; empty when there are no pair
    /// names): only their edges can be the table -> value edge that is not essential.
    tables: FixedBitSet,
}

impl WeakMapEdges {
    /// Find every WeakMap pair name among the strings.
    pub fn new(s: &Snapshot) -> WeakMapEdges {
        let finder = memchr::memmem::Finder::new(PAIR_TAIL);
        let mut dups: rustc_hash::FxHashMap<&[u8], u32> = Default::default();
        let mut by_string = rustc_hash::FxHashMap::default();
        for i in 0..s.strings.len() {
            let b = s.strings.bytes(i);
            if finder.find(b).is_none() {
                continue;
            }
            if let Some((dup, table)) = parse_pair_name(b) {
                let next = dups.len() as u32;
                let dup = *dups.entry(&b[dup..]).or_insert(next);
                by_string.insert(i as u32, (table, dup));
            }
        }
        let mut is_pair_name = FixedBitSet::with_capacity(s.strings.len());
        for &i in by_string.keys() {
            is_pair_name.insert(i as usize);
        }
        let mut tables = FixedBitSet::new();
        if !by_string.is_empty() {
            let ids: rustc_hash::FxHashSet<u64> = by_string.values().map(|&(t, _)| t).collect();
            tables.grow(s.node_count());
            for (o, &id) in s.node_id.iter().enumerate() {
                if ids.contains(&(id as u64)) {
                    tables.insert(o);
                }
            }
        }
        WeakMapEdges {
            by_string,
            is_pair_name,
            tables,
        }
    }

    /// True when node `o`'s id is the table id of some pair name (so that its outgoing pair edge, the table ->
    /// value one, is not essential); a bit test, before [`WeakMapEdges::get`] reads the edge's name.
    #[inline]
    pub fn is_table(&self, o: u32) -> bool {
        self.tables.contains(o as usize)
    }

    /// For an `internal` edge, its (table id, duplicated-part id) if its name is a WeakMap pair name.
    #[inline]
    pub fn get(&self, s: &Snapshot, e: usize) -> Option<(u64, u32)> {
        if self.by_string.is_empty()
            || s.edge_kind(e) != EdgeKind::Internal
            || !self.is_pair_name.contains(s.edge_name[e] as usize)
        {
            return None;
        }
        self.by_string.get(&s.edge_name[e]).copied()
    }

    /// True when no string is a WeakMap pair name.
    pub fn is_empty(&self) -> bool {
        self.by_string.is_empty()
    }
}

/// Distances of every node, one byte each: [`NO_DISTANCE`], 0..=126 and `BASE_SYSTEM_DISTANCE` + 0..=126 have a
/// code of their own; the rare others are kept in a side table. A quarter of an `i32` column, so that the
/// distances can be computed early and held through the dominators' memory peak. Indexing yields the `i32`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distances {
    code: Vec<u8>,
    escaped: rustc_hash::FxHashMap<u32, i32>,
}

/// Code of a distance kept in the side table.
const ESCAPED: u8 = 255;
/// Code -> distance (the entry of [`ESCAPED`] is never read).
static DECODE: [i32; 256] = {
    let mut t = [NO_DISTANCE; 256];
    let mut c = 1;
    while c < 255 {
        t[c] = if c < 128 {
            c as i32 - 1
        } else {
            BASE_SYSTEM_DISTANCE + (c as i32 - 128)
        };
        c += 1;
    }
    t
};

impl Distances {
    fn unreached(n: usize) -> Distances {
        Distances {
            code: vec![0; n],
            escaped: Default::default(),
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.code.len()
    }

    /// True for a snapshot without nodes.
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    #[inline]
    fn reached(&self, v: u32) -> bool {
        self.code[v as usize] != 0
    }

    #[inline]
    fn set(&mut self, v: u32, d: i32) {
        let c = if (0..=126).contains(&d) {
            d + 1
        } else if (BASE_SYSTEM_DISTANCE..=BASE_SYSTEM_DISTANCE + 126).contains(&d) {
            d - BASE_SYSTEM_DISTANCE + 128
        } else {
            self.escaped.insert(v, d);
            ESCAPED as i32
        };
        self.code[v as usize] = c as u8;
    }
}

impl std::ops::Index<usize> for Distances {
    type Output = i32;
    #[inline]
    fn index(&self, v: usize) -> &i32 {
        match self.code[v] {
            ESCAPED => &self.escaped[&(v as u32)],
            c => &DECODE[c as usize],
        }
    }
}

/// `calculateDistances` (base class + the JS filter): BFS over non-weak edges, first from the user roots at
/// distance 1, then from the root (distance `BASE_SYSTEM_DISTANCE` if there are user roots, else 0).
/// The filter skips `sloppy_function_map` of native contexts, some `(map descriptors)` slots, and the first
/// seen edge of each WeakMap pair (state shared by both passes). Unreached nodes get [`NO_DISTANCE`].
pub fn distances(s: &Snapshot, weakmaps: &WeakMapEdges) -> Distances {
    let n = s.node_count();
    let mut dist = Distances::unreached(n);
    let mut pending: rustc_hash::FxHashSet<u32> = rustc_hash::FxHashSet::default();
    let native_context = s.string_ids(b"system / NativeContext");
    let map_descriptors = s.string_ids(b"(map descriptors)");
    let mut filter = |o: u32, e: usize| -> bool {
        let name = s.node_name[o as usize];
        match s.kind(o) {
            NodeKind::Hidden if native_context.contains(&name) && s.edge_name_bytes(e) == b"sloppy_function_map" => {
                return false;
            }
            NodeKind::Array if map_descriptors.contains(&name) => {
                let idx = if s.edge_kind(e).has_index_name() {
                    Some(s.edge_name[e] as i64)
                } else {
                    jsstr::parse_int(s.edge_name_bytes(e))
                };
                return match idx {
                    Some(i) => i < 2 || i % 3 != 1,
                    None => true,
                };
            }
            _ => {}
        }
        if let Some((_, dup)) = weakmaps.get(s, e) {
            if !pending.remove(&dup) {
                pending.insert(dup);
                return false;
            }
        }
        true
    };
    // A ring buffer: it holds the BFS frontier, not every node reached.
    let mut queue: VecDeque<u32> = VecDeque::new();
    let mut bfs = |queue: &mut VecDeque<u32>, dist: &mut Distances| {
        while let Some(o) = queue.pop_front() {
            s.prefetch_queue(queue);
            let d = dist[o as usize] + 1;
            for e in s.edges(o) {
                if s.edge_kind(e) == EdgeKind::Weak {
                    continue;
                }
                let c = s.edge_to(e);
                if dist.reached(c) {
                    continue;
                }
                if !filter(o, e) {
                    continue;
                }
                dist.set(c, d);
                queue.push_back(c);
            }
        }
    };
    for e in s.edges(s.root) {
        let c = s.edge_to(e);
        if is_user_root(s, c) {
            dist.set(c, 1);
            queue.push_back(c);
        }
    }
    let any = !queue.is_empty();
    bfs(&mut queue, &mut dist);
    dist.set(s.root, if any { BASE_SYSTEM_DISTANCE } else { 0 });
    queue.push_back(s.root);
    bfs(&mut queue, &mut dist);
    dist
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DevTools' regex (JavaScript: `\d` ASCII, `.` anything but `\n`, `\r`, U+2028, U+2029), as the reference.
    fn pair_name_by_regex(b: &str) -> Option<(usize, u64)> {
        static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
            r"^[0-9]+(?<dup> / part of key \([^\n\r\x{2028}\x{2029}]*? @[0-9]+\) -> value \([^\n\r\x{2028}\x{2029}]*? @[0-9]+\) pair in WeakMap \(table @(?<table>[0-9]+)\))$",
            )
            .unwrap()
        });
        let c = RE.captures(b)?;
        Some((
            c.name("dup").unwrap().start(),
            c["table"].parse::<u64>().unwrap_or(u64::MAX),
        ))
    }

    #[test]
    fn pair_names_parse_as_devtools_regex_matches_them() {
        let good = "12 / part of key (Object @3) -> value (Array @5) pair in WeakMap (table @7)";
        assert_eq!(parse_pair_name(good.as_bytes()), Some((2, 7)));
        // Pieces that make or break a match: names holding the separators themselves, empty names, missing
        // digits, Unicode digits, line terminators, an overflowing table id, a cut or a trailing byte.
        let keys = [
            "Object",
            "",
            "a @1) -> value (b",
            "x) -> value (y",
            "@) -> value (",
            " @",
            "q @12",
            "line\nbreak",
            "cr\rhere",
            "ls\u{2028}x",
            "ps\u{2029}x",
            "nel\u{85}ok",
            "é @٣) -> value (",
        ];
        let ids = ["3", "", "٣", "0", "18446744073709551616", "007"];
        let mut cases = vec![
            good.to_string(),
            format!("{good} "),
            good[..good.len() - 1].to_string(),
            format!("x{good}"),
            good.replacen("12", "", 1),
            good.replacen("12", "١٢", 1),
            good.replace("part of key", "part of  key"),
        ];
        for k in keys {
            for v in keys {
                for id in ids {
                    cases.push(format!(
                        "4 / part of key ({k} @{id}) -> value ({v} @{id}) pair in WeakMap (table @{id})"
                    ));
                    cases.push(format!(
                        "4 / part of key ({k} @1) -> value ({v} @2) pair in WeakMap (table @{id})"
                    ));
                    cases.push(format!(
                        "4 / part of key ({k} @{id}) -> value ({v} @2) pair in WeakMap (table @3)"
                    ));
                    cases.push(format!(
                        "4 / part of key ({k} @1) -> value ({v} @{id}) pair in WeakMap (table @3)"
                    ));
                }
            }
        }
        let mut matched = 0;
        for c in &cases {
            let want = pair_name_by_regex(c);
            matched += usize::from(want.is_some());
            assert_eq!(parse_pair_name(c.as_bytes()), want, "{c:?}");
        }
        // Both outcomes are exercised, and the overflowing id.
        assert!(
            matched > 50 && matched < cases.len() - 50,
            "{matched} of {}",
            cases.len()
        );
        assert!(cases
            .iter()
            .any(|c| pair_name_by_regex(c).is_some_and(|(_, t)| t == u64::MAX)));
    }

    /// DevTools' `propagateDOMState` as it reads: seeds in ordinal order, then the attached stack and the
    /// detached stack one node at a time, each node's children collected before they are processed.
    fn propagate_by_definition(s: &mut Snapshot) -> Vec<u8> {
        struct St {
            det: Vec<u8>,
            visited: Vec<bool>,
            attached: Vec<u32>,
            detached: Vec<u32>,
            renamed: HashMap<u32, u32>,
        }
        fn process(st: &mut St, s: &mut Snapshot, o: u32, state: u8) {
            if st.visited[o as usize] {
                return;
            }
            st.visited[o as usize] = true;
            if s.kind(o) != NodeKind::Native {
                return;
            }
            st.det[o as usize] = state;
            if state == 1 {
                st.attached.push(o);
            } else if state == DETACHED {
                let old = s.node_name[o as usize];
                let ni = *st.renamed.entry(old).or_insert_with(|| {
                    let name = [b"Detached ", s.strings.bytes(old as usize)].concat();
                    s.strings.push_bytes(&name)
                });
                s.node_name[o as usize] = ni;
                st.detached.push(o);
            }
        }
        let n = s.node_count();
        let det = std::mem::take(&mut s.node_detachedness);
        let mut st = St {
            det,
            visited: vec![false; n],
            attached: Vec::new(),
            detached: Vec::new(),
            renamed: HashMap::new(),
        };
        for o in 0..n as u32 {
            let state = st.det[o as usize];
            if state != 0 {
                process(&mut st, s, o, state);
            }
        }
        let children = |s: &Snapshot, o: u32| -> Vec<u32> {
            s.edges(o)
                .filter(|&e| !matches!(s.edge_kind(e), EdgeKind::Hidden | EdgeKind::Weak | EdgeKind::Other))
                .map(|e| s.edge_to(e))
                .collect()
        };
        while let Some(o) = st.attached.pop() {
            for c in children(s, o) {
                process(&mut st, s, c, 1);
            }
        }
        while let Some(o) = st.detached.pop() {
            if st.det[o as usize] == 1 {
                continue;
            }
            for c in children(s, o) {
                process(&mut st, s, c, DETACHED);
            }
        }
        st.det
    }

    /// A random heap with natives (half the nodes), detachedness 0, 1 or 2 on any node, and edges of every
    /// kind (hidden and weak ones do not propagate), as V8 JSON.
    fn detachedness_heap(n: usize, seed: u64) -> String {
        let mut r = seed | 1;
        let mut next = move |k: u64| {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r % k
        };
        let (mut nodes, mut edges) = (Vec::new(), Vec::new());
        for i in 0..n {
            let ty = if i == 0 {
                9
            } else {
                [8, 8, 8, 3, 0, 2][next(6) as usize]
            };
            let det = [0, 0, 0, 1, 1, 2][next(6) as usize];
            let count = next(5);
            for _ in 0..count {
                let kind = next(7);
                let name = if kind == 1 || kind == 4 { next(100) } else { next(5) };
                edges.push(format!("{kind},{name},{}", next(n as u64) * 7));
            }
            nodes.push(format!("{ty},{},{},8,{count},0,{det}", next(5), 2 * i + 1));
        }
        v8_json(&nodes, &edges, r#""","HTMLDivElement","Text","Detached Text","next""#)
    }

    /// V8 JSON text of a snapshot: node lines (7 fields, with detachedness), edge lines, the strings section's
    /// body.
    fn v8_json(nodes: &[String], edges: &[String], strings: &str) -> String {
        format!(
            r#"{{"snapshot":{{"meta":{{
            "node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],
            "node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic",
                "concatenated string","sliced string","symbol","bigint","object shape"],
                "string","number","number","number","number","number"],
            "edge_fields":["type","name_or_index","to_node"],
            "edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]}},
            "node_count":{},"edge_count":{},"trace_function_count":0}},
            "nodes":[{}],"edges":[{}],"locations":[],
            "strings":[{strings}]}}"#,
            nodes.len(),
            edges.len(),
            nodes.join(","),
            edges.join(",")
        )
    }

    #[test]
    fn detachedness_equals_devtools_propagation() {
        // Up to 5,000 nodes: the attached stack holds many batches.
        for (i, n) in [1usize, 2, 10, 65, 300, 5000].into_iter().enumerate() {
            for seed in 0..4u64 {
                let json = detachedness_heap(n, 0x9E37_79B9_7F4A_7C15 ^ (seed << 8 | i as u64));
                let mut a = Snapshot::from_bytes(json.as_bytes()).unwrap();
                let mut b = Snapshot::from_bytes(json.as_bytes()).unwrap();
                let (da, db) = (propagate_detachedness(&mut a), propagate_by_definition(&mut b));
                assert_eq!(da, db, "detachedness, {n} nodes, seed {seed}");
                assert_eq!(a.node_name, b.node_name, "names, {n} nodes, seed {seed}");
                for o in 0..n as u32 {
                    assert_eq!(a.name_bytes(o), b.name_bytes(o));
                }
                if n == 5000 {
                    // The propagation changed something: natives unknown in the field got a state.
                    let seeded = Snapshot::from_bytes(json.as_bytes()).unwrap().node_detachedness;
                    assert!(da.iter().zip(&seeded).filter(|(x, y)| x != y).count() > 100);
                }
            }
        }
    }

    /// root -> global (a chain of `len` objects below it) and (GC roots) (another chain, reached only from
    /// the root's system part), plus one object nobody reaches.
    fn chains(len: usize) -> Snapshot {
        let mut nodes: Vec<String> = Vec::new();
        let mut edges: Vec<String> = Vec::new();
        let node = |nodes: &mut Vec<String>, ty: u32, name: u32, edges: u32| {
            let id = 2 * nodes.len() + 1;
            nodes.push(format!("{ty},{name},{id},8,{edges},0,0"));
        };
        node(&mut nodes, 9, 0, 2); // 0: root
        edges.push("5,1,7".into()); //    shortcut -> global
        edges.push("1,1,14".into()); //   element -> (GC roots)
        node(&mut nodes, 3, 1, 1); // 1: global
        edges.push("2,4,21".into()); //   .next -> user chain
        node(&mut nodes, 9, 2, 1); // 2: (GC roots)
        edges.push(format!("1,0,{}", (3 + len) * 7)); // -> system chain
        for chain in 0..2 {
            for k in 0..len {
                let more = k + 1 < len;
                node(&mut nodes, 3, 3, more as u32);
                if more {
                    edges.push(format!("2,4,{}", (3 + chain * len + k + 1) * 7));
                }
            }
        }
        node(&mut nodes, 3, 3, 0); // unreached
        let json = v8_json(&nodes, &edges, r#""","global","(GC roots)","Node","next""#);
        Snapshot::from_bytes(json.as_bytes()).unwrap()
    }

    #[test]
    fn distances_of_every_size_survive_the_one_byte_codes() {
        // Chains long enough for user and system distances past the 126 that have codes of their own.
        let len = 300;
        let s = chains(len);
        let d = distances(&s, &WeakMapEdges::new(&s));
        assert_eq!(d.len(), s.node_count());
        assert_eq!(d[0], BASE_SYSTEM_DISTANCE);
        assert_eq!(d[1], 1);
        assert_eq!(d[2], BASE_SYSTEM_DISTANCE + 1);
        for k in 0..len {
            assert_eq!(d[3 + k], 2 + k as i32, "user chain {k}");
            assert_eq!(d[3 + len + k], BASE_SYSTEM_DISTANCE + 2 + k as i32, "system chain {k}");
        }
        assert_eq!(d[3 + 2 * len], NO_DISTANCE);
    }
}
