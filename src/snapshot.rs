//! The loaded snapshot: struct-of-arrays columns for nodes and edges, the string table, locations.
//!
//! Pipeline of [`Snapshot::from_bytes`]: scan sections -> parse the header -> plan `nodes` and `edges` (parallel
//! comma count: exact sizes before any allocation) -> parse `nodes` || `edges` || `strings` then `locations` (rayon)
//! straight into the columns -> validate cross-references (string indexes, edge counts) -> `first_edge` prefix sum.
//!
//! Invariants once loaded: `first_edge.len() == node_count + 1`, `first_edge[node_count] == edge_count`,
//! `edge_to(e) < node_count` (an ordinal, not V8's node index), every node and non-index edge name is a valid
//! string index, `root < node_count`. Node and edge counts fit in `u32`.
//! Memory: 18 bytes per node (type u8, detachedness u8, name/id/self/first_edge u32) and 8 bytes per edge (name,
//! and target with the type in its low bits: `node_count < 2^(32 - type bits)`, 536 M nodes with V8's 7 types).

use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use crate::error::{ParseError, Result};
use crate::header::{EdgeKind, Header, NodeKind};
use crate::input::Input;
use crate::numbers::{ArrayPlan, Records};
use crate::scan;
use crate::strings::Strings;
use crate::timing::Phase;

/// A script location attached to a node (constructor or function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Node ordinal.
    pub node: u32,
    /// V8 script id.
    pub script_id: u32,
    /// Zero-based line.
    pub line: u32,
    /// Zero-based column.
    pub column: u32,
}

/// A loaded heap snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The resolved header.
    pub header: Header,
    /// Node type (index into `header.node_kinds`).
    pub node_type: Vec<u8>,
    /// Node name (string index).
    pub node_name: Vec<u32>,
    /// Node id.
    pub node_id: Vec<u32>,
    /// Self size as V8 wrote it (before DevTools' reattribution).
    pub node_self: Vec<u32>,
    /// Detachedness (0 unknown, 1 attached, 2 detached); empty when the snapshot has no such field.
    pub node_detachedness: Vec<u8>,
    /// CSR offsets: edges of node `i` are `first_edge[i]..first_edge[i + 1]`.
    pub first_edge: Vec<u32>,
    /// Edge name: string index, or the element index for `element`/`hidden` edges.
    pub edge_name: Vec<u32>,
    /// Edge target ordinal and type in one word: `to << edge_type_bits | type` (a type column of its own would
    /// cost one more byte per edge). Read with [`Snapshot::edge_to`] and [`Snapshot::edge_kind`].
    edge_packed: Vec<u32>,
    /// Bits of `edge_packed` that hold the type (enough for the meta's edge types).
    edge_type_bits: u32,
    /// The string table.
    pub strings: Strings,
    /// Locations, in file order.
    pub locations: Vec<Location>,
    /// Root ordinal.
    pub root: u32,
}

/// A column written by several threads at disjoint indexes.
struct Col<T>(*mut T, usize);
// SAFETY: `Col` is only used while the `Vec` it points into is alive and not otherwise accessed; every element
// is written by exactly one chunk of the parse (chunks cover disjoint element ranges), so no two threads write
// the same slot and nobody reads until the parallel section has joined.
unsafe impl<T: Send> Sync for Col<T> {}
impl Col<u32> {
    /// OR `x` into slot `i`, atomically: the two halves of a packed edge cut by a chunk boundary are stored by
    /// two threads.
    #[inline]
    fn or(&self, i: usize, x: u32) {
        assert!(i < self.1, "column index out of range");
        // SAFETY: `i < len` was just checked; `AtomicU32` has the size and alignment of `u32`, and every access
        // to this slot during the parse goes through this atomic (slots of cut records are never `set`).
        let a = unsafe { &*(self.0.add(i) as *const std::sync::atomic::AtomicU32) };
        a.fetch_or(x, std::sync::atomic::Ordering::Relaxed);
    }
}

impl<T: Copy> Col<T> {
    fn new(v: &mut [T]) -> Self {
        Col(v.as_mut_ptr(), v.len())
    }
    #[inline]
    fn set(&self, i: usize, x: T) {
        assert!(i < self.1, "column index out of range");
        // SAFETY: `i < len` was just checked and the slot is written by this chunk only (see `Sync` above).
        unsafe { self.0.add(i).write(x) }
    }
}

/// The node columns as the parser's record sink.
struct NodeColumns<'a> {
    h: &'a Header,
    ntypes: usize,
    det: usize,
    ty: Col<u8>,
    name: Col<u32>,
    id: Col<u32>,
    self_size: Col<u32>,
    detachedness: Col<u8>,
    edge_count: Col<u32>,
}

impl Records for NodeColumns<'_> {
    #[inline]
    fn value(&self, r: usize, f: usize, v: u32) -> Result<(), String> {
        let h = self.h;
        if f == h.node_type {
            if v as usize >= self.ntypes {
                return Err(format!("node type {v} is not one of the {} types in meta", self.ntypes));
            }
            self.ty.set(r, v as u8);
        } else if f == h.node_name {
            self.name.set(r, v);
        } else if f == h.node_id {
            self.id.set(r, v);
        } else if f == h.node_self_size {
            self.self_size.set(r, v);
        } else if f == h.node_edge_count {
            self.edge_count.set(r, v);
        } else if f == self.det {
            if v > 2 {
                return Err(format!("detachedness {v} is not 0, 1 or 2"));
            }
            self.detachedness.set(r, v as u8);
        }
        Ok(())
    }

    #[inline]
    fn record(&self, r: usize, vals: &[u32]) -> Result<(), (usize, String)> {
        let h = self.h;
        let (t, det) = (vals[h.node_type], vals.get(self.det).copied());
        if t as usize >= self.ntypes || det.is_some_and(|v| v > 2) {
            // The first invalid field in the file.
            return match (0..vals.len()).find_map(|f| self.value(r, f, vals[f]).err().map(|m| (f, m))) {
                Some(e) => Err(e),
                None => Ok(()),
            };
        }
        self.ty.set(r, t as u8);
        self.name.set(r, vals[h.node_name]);
        self.id.set(r, vals[h.node_id]);
        self.self_size.set(r, vals[h.node_self_size]);
        self.edge_count.set(r, vals[h.node_edge_count]);
        if let Some(v) = det {
            self.detachedness.set(r, v as u8);
        }
        Ok(())
    }
}

/// Exact division by a divisor known only at run time (the node field count), without a `div` instruction:
/// a multiply by the inverse of its odd part modulo 2^32 and a rotation (Granlund and Montgomery; Hacker's
/// Delight 10-16/10-17). `to_node` is tested and divided once per edge, and the two hardware divisions that
/// `%` and `/` compile to took most of the edge sink's time (tens of cycles each, 2 x 53 M per 1.2 GB file).
#[derive(Debug, Clone, Copy)]
struct ExactDivisor {
    d: u32,
    /// Inverse of `d`'s odd part modulo 2^32.
    inv: u32,
    /// Trailing zero bits of `d`.
    shift: u32,
    /// The largest quotient: `u32::MAX / d`.
    max: u32,
}

impl ExactDivisor {
    /// `d` must not be zero.
    fn new(d: u32) -> ExactDivisor {
        assert!(d != 0, "division by zero");
        let shift = d.trailing_zeros();
        let odd = d >> shift;
        // Newton's iteration doubles the correct low bits: an odd number is its own inverse modulo 8 (3 bits),
        // then 6, 12, 24, 48 >= 32.
        let mut inv = odd;
        for _ in 0..4 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(odd.wrapping_mul(inv)));
        }
        debug_assert_eq!(odd.wrapping_mul(inv), 1);
        ExactDivisor {
            d,
            inv,
            shift,
            max: u32::MAX / d,
        }
    }

    /// `v / d` when `d` divides `v`, else `None`. For `v = q * d`, `v * inv` is `q << shift` (mod 2^32) and the
    /// rotation gives `q <= max`; for any other `v` the rotated product exceeds `max` (the map is a bijection
    /// of the 2^32 values, and the multiples of `d` already take every value up to `max`, each once: the low
    /// `shift` bits of a non-multiple of 2^shift rotate into the top, and an odd-part remainder gives a product
    /// outside the multiples' image).
    #[inline]
    fn exact(self, v: u32) -> Option<u32> {
        let q = v.wrapping_mul(self.inv).rotate_right(self.shift);
        (q <= self.max).then_some(q)
    }
}

/// The edge columns as the parser's record sink (`to_node` becomes an ordinal).
struct EdgeColumns<'a> {
    h: &'a Header,
    etypes: usize,
    bits: u32,
    nf: ExactDivisor,
    n: usize,
    name: Col<u32>,
    packed: Col<u32>,
}

impl EdgeColumns<'_> {
    #[inline]
    fn to_node(&self, v: u32) -> Result<u32, String> {
        let Some(q) = self.nf.exact(v) else {
            return Err(format!(
                "to_node {v} is not a multiple of the {} node fields",
                self.nf.d
            ));
        };
        if q as usize >= self.n {
            return Err(format!("to_node {v} points past the last of {} nodes", self.n));
        }
        Ok(q)
    }

    #[inline]
    fn edge_type(&self, v: u32) -> Result<u8, String> {
        if v as usize >= self.etypes {
            return Err(format!("edge type {v} is not one of the {} types in meta", self.etypes));
        }
        Ok(v as u8)
    }
}

impl Records for EdgeColumns<'_> {
    #[inline]
    fn value(&self, r: usize, f: usize, v: u32) -> Result<(), String> {
        let h = self.h;
        // A record cut by a chunk boundary: type and target may be stored by two chunks, in either order.
        if f == h.edge_type {
            self.packed.or(r, self.edge_type(v)? as u32);
        } else if f == h.edge_name {
            self.name.set(r, v);
        } else if f == h.edge_to {
            self.packed.or(r, self.to_node(v)? << self.bits);
        }
        Ok(())
    }

    #[inline]
    fn record(&self, r: usize, vals: &[u32]) -> Result<(), (usize, String)> {
        let h = self.h;
        let (t, to) = match (self.edge_type(vals[h.edge_type]), self.to_node(vals[h.edge_to])) {
            (Ok(t), Ok(to)) => (t, to),
            // Both invalid: the first in the file.
            (Err(a), Err(b)) => {
                return Err(if h.edge_type < h.edge_to {
                    (h.edge_type, a)
                } else {
                    (h.edge_to, b)
                })
            }
            (Err(a), _) => return Err((h.edge_type, a)),
            (_, Err(b)) => return Err((h.edge_to, b)),
        };
        self.packed.set(r, to << self.bits | t as u32);
        self.name.set(r, vals[h.edge_name]);
        Ok(())
    }
}

/// The `locations` section (empty when the snapshot has none): its records checked (`object_index` a node
/// index) and converted.
fn parse_locations(
    d: &[u8],
    sections: &scan::Sections,
    header: &Header,
    n: usize,
    release: &(impl Fn(Range<usize>) + Sync),
) -> Result<Vec<Location>, ParseError> {
    let (Some(lr), Some([oi, si, li, ci])) = (sections.get("locations"), header.location_offsets) else {
        return Ok(Vec::new());
    };
    let nf = ExactDivisor::new(header.node_field_count as u32);
    let lf = header.location_field_count;
    let plan = ArrayPlan::new(d, lr.clone(), "locations")?;
    let count = plan.expect(lf, None, "location", lr.start)?;
    let flat = crate::numbers::flat_values(&plan, d)?;
    release(lr.clone());
    let mut out = Vec::with_capacity(count);
    for (k, rec) in flat.chunks_exact(lf).enumerate() {
        let obj = rec[oi];
        let Some(node) = nf.exact(obj).filter(|&o| (o as usize) < n) else {
            return Err(ParseError::new(
                "locations",
                plan.offset_of(d, k * lf + oi),
                format!("object_index {obj} is not a node index"),
            ));
        };
        out.push(Location {
            node,
            script_id: rec[si],
            line: rec[li],
            column: rec[ci],
        });
    }
    Ok(out)
}

/// Bits that hold an edge type in a packed edge: enough for `kinds` types, at least 1.
fn edge_type_bits(kinds: usize) -> u32 {
    (usize::BITS - kinds.saturating_sub(1).leading_zeros()).max(1)
}

fn to_u32(n: usize, what: &str, section: &str, at: usize) -> Result<u32, ParseError> {
    u32::try_from(n).map_err(|_| ParseError::new(section, at as u64, format!("{n} {what} exceed the supported 2^32")))
}

impl Snapshot {
    /// Open and load a file (`-` for standard input; gzip detected by content). Fails with
    /// [`Error::Changed`](crate::Error::Changed) when the file's length or modification time changed while it was
    /// read (checked after the load, and also when the load failed: a file still being written looks truncated).
    pub fn open(path: &Path) -> Result<Snapshot> {
        let input = Input::open(path)?;
        let loaded = Self::from_input(&input);
        input.check_unchanged()?;
        loaded
    }

    /// Load from an opened input; errors name the input's path.
    pub fn from_input(input: &Input) -> Result<Snapshot> {
        let sections_found = |s: &scan::Sections| {
            input.set_sections(s.members.iter().map(|(n, r)| (n.as_str(), r.clone())));
        };
        Self::parse(input.bytes(), |r| input.release(r), sections_found)
            .map_err(|e| e.in_file(input.path(), input.is_decompressed()))
    }

    /// Load from bytes in memory.
    pub fn from_bytes(d: &[u8]) -> Result<Snapshot, ParseError> {
        Self::parse(d, |_| {}, |_| {})
    }

    /// Load `d`; `release(range)` when a range has been read, `sections_found` once the top-level sections are
    /// known.
    fn parse<R: Fn(Range<usize>) + Sync>(
        d: &[u8],
        release: R,
        sections_found: impl FnOnce(&scan::Sections),
    ) -> Result<Snapshot, ParseError> {
        crate::sniff::check(d)?;
        let t = Phase::start("scan sections");
        let sections = scan::scan_releasing(d, &release)?;
        sections_found(&sections);
        t.done();
        let hr = sections.require("snapshot", d.len())?;
        let header = Header::parse(&d[hr.clone()], hr.start as u64)?;
        let nr = sections.require("nodes", d.len())?;
        let er = sections.require("edges", d.len())?;
        let sr = sections.require("strings", d.len())?;

        let t = Phase::start("plan arrays");
        // From the commas the scan counted; counted again only where that cannot be used.
        let plan = |r: &Range<usize>, name: &str| match sections.commas(name) {
            Some(blocks) => ArrayPlan::from_commas(d, r.clone(), name, blocks)
                .map_or_else(|| ArrayPlan::new_releasing(d, r.clone(), name, &release), Ok),
            None => ArrayPlan::new_releasing(d, r.clone(), name, &release),
        };
        let (node_plan, edge_plan) = rayon::join(|| plan(&nr, "nodes"), || plan(&er, "edges"));
        let (node_plan, edge_plan) = (node_plan?, edge_plan?);
        t.done();
        let nf = header.node_field_count;
        let ef = header.edge_field_count;
        // A count mismatch is often a syntax error (a stray comma adds a value): report that one, where it is.
        let syntax_first =
            |plan: &ArrayPlan, e: ParseError| plan.parse(d, 1, |_, _, _| Ok(()), |_| {}).err().unwrap_or(e);
        let n = node_plan
            .expect(nf, header.node_count, "node", nr.start)
            .map_err(|e| syntax_first(&node_plan, e))?;
        let m = edge_plan
            .expect(ef, header.edge_count, "edge", er.start)
            .map_err(|e| syntax_first(&edge_plan, e))?;
        to_u32(n, "nodes", "nodes", nr.start)?;
        to_u32(m, "edges", "edges", er.start)?;
        if header.root_index % nf as u64 != 0 || header.root_index / nf as u64 >= n.max(1) as u64 {
            return Err(ParseError::new(
                "snapshot",
                hr.start as u64,
                format!("root_index {} is not a node index below {} nodes", header.root_index, n),
            ));
        }
        if n == 0 {
            return Err(ParseError::new("nodes", nr.start as u64, "the snapshot has no nodes"));
        }

        let type_bits = edge_type_bits(header.edge_kinds.len());
        if n as u64 >= 1u64 << (32 - type_bits) {
            return Err(ParseError::new(
                "nodes",
                nr.start as u64,
                format!(
                    "{n} nodes exceed the supported 2^{} with {} edge types",
                    32 - type_bits,
                    header.edge_kinds.len()
                ),
            ));
        }
        let t = Phase::start("parse numbers || strings, locations");
        // The progress bar counts the bytes of `nodes` and `edges` (the bulk of the work).
        let progress = crate::timing::parse_bytes((nr.len().saturating_sub(2) + er.len().saturating_sub(2)) as u64);
        let parsed = |r: Range<usize>| {
            progress.parsed(r.len());
            release(r);
        };
        let mut node_type = vec![0u8; n];
        let mut node_name = vec![0u32; n];
        let mut node_id = vec![0u32; n];
        let mut node_self = vec![0u32; n];
        let mut node_det = vec![0u8; if header.node_detachedness.is_some() { n } else { 0 }];
        let mut first_edge = vec![0u32; n + 1];
        let mut edge_name = vec![0u32; m];
        let mut edge_packed = vec![0u32; m];

        // The string table, then the locations, beside the numbers (whose chunks both threads take once this
        // side is done).
        let ((strings, locations), numbers) = rayon::join(
            || {
                let r = Strings::parse_releasing(d, sr.clone(), &release);
                release(sr.clone());
                (r, parse_locations(d, &sections, &header, n, &release))
            },
            || -> Result<(), ParseError> {
                let nodes = NodeColumns {
                    h: &header,
                    ntypes: header.node_kinds.len(),
                    det: header.node_detachedness.unwrap_or(usize::MAX),
                    ty: Col::new(&mut node_type),
                    name: Col::new(&mut node_name),
                    id: Col::new(&mut node_id),
                    self_size: Col::new(&mut node_self),
                    detachedness: Col::new(&mut node_det),
                    edge_count: Col::new(&mut first_edge[1..]),
                };
                node_plan.parse_records(d, nf, &nodes, parsed)?;
                let edges = EdgeColumns {
                    h: &header,
                    etypes: header.edge_kinds.len(),
                    bits: type_bits,
                    nf: ExactDivisor::new(nf as u32),
                    n,
                    name: Col::new(&mut edge_name),
                    packed: Col::new(&mut edge_packed),
                };
                edge_plan.parse_records(d, ef, &edges, parsed)
            },
        );
        drop(progress);
        numbers?;
        let strings = strings?;
        t.done();
        let t = Phase::start("validate");

        // Edge counts -> CSR offsets.
        let mut acc: u64 = 0;
        for i in 0..n {
            acc += first_edge[i + 1] as u64;
            if acc > m as u64 {
                return Err(ParseError::new(
                    "nodes",
                    node_plan.offset_of(d, i * nf + header.node_edge_count),
                    format!("the edge counts of nodes 0..={i} already exceed the {m} edges of the `edges` array"),
                ));
            }
            first_edge[i + 1] = acc as u32;
        }
        if acc != m as u64 {
            return Err(ParseError::new(
                "nodes",
                nr.start as u64,
                format!("the nodes' edge counts add up to {acc}, but the `edges` array holds {m} edges"),
            ));
        }

        // String indexes.
        let ns = strings.len() as u32;
        // Vectorisable chunk scans; the exact position is looked up only on failure.
        const BLOCK: usize = 1 << 16;
        let nodes_ok = node_name
            .par_chunks(BLOCK)
            .all(|c| c.iter().fold(true, |ok, &x| ok & (x < ns)));
        if !nodes_ok {
            let i = node_name.iter().position(|&x| x >= ns).unwrap_or(0);
            return Err(ParseError::new(
                "nodes",
                node_plan.offset_of(d, i * nf + header.node_name),
                format!("node name {} is not an index into the {ns} strings", node_name[i]),
            ));
        }
        let index_named: Vec<bool> = header.edge_kinds.iter().map(|k| k.has_index_name()).collect();
        let mut index_mask = [false; 256];
        index_mask[..index_named.len()].copy_from_slice(&index_named);
        let bad_edge = |t: u8, x: u32| !index_mask[t as usize] & (x >= ns);
        let type_mask = (1u32 << type_bits) - 1;
        let edges_ok = edge_name
            .par_chunks(BLOCK)
            .zip(edge_packed.par_chunks(BLOCK))
            .all(|(names, packed)| {
                names
                    .iter()
                    .zip(packed)
                    .fold(true, |ok, (&x, &p)| ok & !bad_edge((p & type_mask) as u8, x))
            });
        if !edges_ok {
            let e = (0..m)
                .position(|e| bad_edge((edge_packed[e] & type_mask) as u8, edge_name[e]))
                .unwrap_or(0);
            return Err(ParseError::new(
                "edges",
                edge_plan.offset_of(d, e * ef + header.edge_name),
                format!("edge name {} is not an index into the {ns} strings", edge_name[e]),
            ));
        }

        t.done();
        // Errors in the order they were found before the locations were parsed beside the strings: after
        // those of the validation (sections before `locations` in V8's files).
        let locations = locations?;
        let root = (header.root_index / nf as u64) as u32;
        Ok(Snapshot {
            header,
            node_type,
            node_name,
            node_id,
            node_self,
            node_detachedness: node_det,
            first_edge,
            edge_name,
            edge_packed,
            edge_type_bits: type_bits,
            strings,
            locations,
            root,
        })
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.node_id.len()
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.edge_packed.len()
    }

    /// Target ordinal of edge `e`.
    #[inline]
    pub fn edge_to(&self, e: usize) -> u32 {
        self.edge_packed[e] >> self.edge_type_bits
    }

    /// Edge type of edge `e` (index into `header.edge_kinds`).
    #[inline]
    pub fn edge_type(&self, e: usize) -> u8 {
        (self.edge_packed[e] & ((1 << self.edge_type_bits) - 1)) as u8
    }

    /// Targets of the edges in `r` (a node's edges: [`Snapshot::edges`]).
    #[inline]
    pub fn edge_targets(&self, r: Range<usize>) -> impl Iterator<Item = u32> + '_ {
        self.edge_packed[r].iter().map(move |&p| p >> self.edge_type_bits)
    }

    /// Targets of all edges, in parallel chunks of `chunk` edges.
    pub fn par_edge_targets(
        &self,
        chunk: usize,
    ) -> impl IndexedParallelIterator<Item = impl Iterator<Item = u32> + '_> {
        let bits = self.edge_type_bits;
        self.edge_packed
            .par_chunks(chunk)
            .map(move |c| c.iter().map(move |&p| p >> bits))
    }

    /// Prefetch hint for a walk that will read node `i` later: start reading its edge range (its `first_edge`
    /// entry). A little later, [`Self::prefetch_edges`] can read that entry without waiting. Walks that know
    /// which nodes they read next (a BFS queue, the DFS's next edges) give each a few nodes ahead, so the random
    /// reads overlap instead of waiting one by one.
    #[inline(always)]
    pub fn prefetch_edge_range(&self, i: u32) {
        prefetch(&self.first_edge, i as usize);
    }

    /// Prefetch hint, after [`Self::prefetch_edge_range`]: node `i`'s first edges and its type byte.
    #[inline(always)]
    pub fn prefetch_edges(&self, i: u32) {
        prefetch(&self.edge_packed, self.first_edge[i as usize] as usize);
        prefetch(&self.node_type, i as usize);
    }

    /// Prefetch hints for the nodes a BFS expands next, given its queue (after the pop of the node expanded
    /// now): the edge range of the node 12 places ahead, the edges of the one 6 places ahead.
    #[inline(always)]
    pub fn prefetch_queue(&self, queue: &std::collections::VecDeque<u32>) {
        if let Some(&a) = queue.get(12) {
            self.prefetch_edge_range(a);
        }
        if let Some(&b) = queue.get(6) {
            self.prefetch_edges(b);
        }
    }

    /// The edges of node `i` as a range of edge indexes.
    #[inline]
    pub fn edges(&self, i: u32) -> Range<usize> {
        self.first_edge[i as usize] as usize..self.first_edge[i as usize + 1] as usize
    }

    /// Node kind of ordinal `i`.
    #[inline]
    pub fn kind(&self, i: u32) -> NodeKind {
        self.header.node_kinds[self.node_type[i as usize] as usize]
    }

    /// Edge kind of edge `e`.
    #[inline]
    pub fn edge_kind(&self, e: usize) -> EdgeKind {
        self.header.edge_kinds[self.edge_type(e) as usize]
    }

    /// Raw name bytes of node `i`.
    #[inline]
    pub fn name_bytes(&self, i: u32) -> &[u8] {
        self.strings.bytes(self.node_name[i as usize] as usize)
    }

    /// Display name of node `i` (V8's name string).
    pub fn name(&self, i: u32) -> std::borrow::Cow<'_, str> {
        self.strings.get(self.node_name[i as usize] as usize)
    }

    /// Edge name as text: the string, or the index for `element`/`hidden` edges.
    pub fn edge_name_text(&self, e: usize) -> String {
        if self.edge_kind(e).has_index_name() {
            self.edge_name[e].to_string()
        } else {
            self.strings.get(self.edge_name[e] as usize).into_owned()
        }
    }

    /// Raw edge name bytes for string-named edges (empty for index-named ones).
    pub fn edge_name_bytes(&self, e: usize) -> &[u8] {
        if self.edge_kind(e).has_index_name() {
            b""
        } else {
            self.strings.bytes(self.edge_name[e] as usize)
        }
    }

    /// Type name of node `i` as in meta (`object`, `closure`, ...).
    pub fn type_name(&self, i: u32) -> &str {
        &self.header.node_type_names[self.node_type[i as usize] as usize]
    }

    /// Edge type name as in meta.
    pub fn edge_type_name(&self, e: usize) -> &str {
        &self.header.edge_type_names[self.edge_type(e) as usize]
    }

    /// Every string index whose text is `b` (V8 deduplicates strings, so usually one or none). Lets hot loops
    /// compare names by index instead of by bytes.
    pub fn string_ids(&self, b: &[u8]) -> Vec<u32> {
        (0..self.strings.len() as u32)
            .into_par_iter()
            .filter(|&i| self.strings.bytes(i as usize) == b)
            .collect()
    }

    /// Index of the first string equal to `b`.
    pub fn strings_index_of(&self, b: &[u8]) -> Option<u32> {
        self.strings.index_of(b)
    }

    /// Ordinal of the node with id `id` (linear scan).
    pub fn ordinal_of_id(&self, id: u32) -> Option<u32> {
        self.node_id.par_iter().position_first(|&x| x == id).map(|i| i as u32)
    }
}

/// Hint the CPU to fetch `v[i]` into the cache (nothing if `i` is out of bounds, or on other architectures).
#[inline(always)]
pub fn prefetch<T>(v: &[T], i: usize) {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `v / d` if `d` divides `v`, by the hardware division.
    fn reference(d: u32, v: u32) -> Option<u32> {
        v.is_multiple_of(d).then(|| v / d)
    }

    #[test]
    fn exact_divisor_at_the_edges() {
        for d in (1..=130).chain([255, 256, 1000, 1 << 20, 3 << 29, u32::MAX - 1, u32::MAX]) {
            let x = ExactDivisor::new(d);
            let mut vs: Vec<u32> = (0..300).chain(u32::MAX - 300..=u32::MAX).collect();
            for q in [1u32, 2, 3, d.max(2) - 1, u32::MAX / d, u32::MAX / d - 1] {
                let m = q.wrapping_mul(d);
                vs.extend([m.wrapping_sub(1), m, m.wrapping_add(1)]);
            }
            for v in vs {
                assert_eq!(x.exact(v), reference(d, v), "{v} / {d}");
            }
        }
    }

    proptest! {
        #[test]
        fn exact_divisor_equals_division(d in 1u32.., v: u32, q: u32) {
            let x = ExactDivisor::new(d);
            prop_assert_eq!(x.exact(v), reference(d, v));
            // Multiples, which random `v` rarely hits for large `d`.
            let m = (q % (u32::MAX / d).saturating_add(1)).wrapping_mul(d);
            prop_assert_eq!(x.exact(m), reference(d, m));
        }
    }

    #[test]
    fn exact_divisor_on_a_stride_for_node_field_counts() {
        // The field counts V8 writes (6 and 7) and a power of two, over the whole u32 range in a prime stride
        // (every residue class is met; all 2^32 values would take too long in debug builds).
        for d in [6u32, 7, 8] {
            let x = ExactDivisor::new(d);
            let mut v = 0u32;
            loop {
                assert_eq!(x.exact(v), reference(d, v), "{v} / {d}");
                match v.checked_add(9973) {
                    Some(n) => v = n,
                    None => break,
                }
            }
        }
    }

    #[test]
    fn edge_type_bits_fit_the_meta() {
        assert_eq!(edge_type_bits(0), 1);
        assert_eq!(edge_type_bits(1), 1);
        assert_eq!(edge_type_bits(2), 1);
        assert_eq!(edge_type_bits(7), 3); // V8's
        assert_eq!(edge_type_bits(8), 3);
        assert_eq!(edge_type_bits(9), 4);
        assert_eq!(edge_type_bits(256), 8);
    }
}
