//! The loaded snapshot: struct-of-arrays columns for nodes and edges, the string table, locations.
//!
//! Pipeline of [`Snapshot::from_bytes`]: scan sections -> parse the header -> plan `nodes` and `edges` (parallel
//! comma count: exact sizes before any allocation) -> parse `nodes` || `edges` || `strings` (rayon) straight into
//! the columns -> validate cross-references (string indexes, edge counts) -> `first_edge` prefix sum.
//!
//! Invariants once loaded: `first_edge.len() == node_count + 1`, `first_edge[node_count] == edge_count`,
//! `edge_to[e] < node_count` (an ordinal, not V8's node index), every node and non-index edge name is a valid
//! string index, `root < node_count`. Node and edge counts fit in `u32`.
//! Memory: 18 bytes per node (type u8, detachedness u8, name/id/self/first_edge u32) and 9 bytes per edge.

use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use crate::error::{ParseError, Result};
use crate::header::{EdgeKind, Header, NodeKind};
use crate::input::Input;
use crate::numbers::ArrayPlan;
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
    /// Edge type (index into `header.edge_kinds`).
    pub edge_type: Vec<u8>,
    /// Edge name: string index, or the element index for `element`/`hidden` edges.
    pub edge_name: Vec<u32>,
    /// Edge target ordinal.
    pub edge_to: Vec<u32>,
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

fn to_u32(n: usize, what: &str, section: &str, at: usize) -> Result<u32, ParseError> {
    u32::try_from(n).map_err(|_| ParseError::new(section, at as u64, format!("{n} {what} exceed the supported 2^32")))
}

impl Snapshot {
    /// Open and load a file (`-` for standard input; gzip detected by content).
    pub fn open(path: &Path) -> Result<Snapshot> {
        let input = Input::open(path)?;
        Self::from_input(&input)
    }

    /// Load from an opened input; errors name the input's path.
    pub fn from_input(input: &Input) -> Result<Snapshot> {
        Self::parse(input.bytes(), |r| input.release(r)).map_err(|e| e.in_file(input.path(), input.is_decompressed()))
    }

    /// Load from bytes in memory.
    pub fn from_bytes(d: &[u8]) -> Result<Snapshot, ParseError> {
        Self::parse(d, |_| {})
    }

    fn parse<R: Fn(Range<usize>) + Sync>(d: &[u8], release: R) -> Result<Snapshot, ParseError> {
        let t = Phase::start("scan sections");
        let sections = scan::scan_releasing(d, &release)?;
        t.done();
        let hr = sections.require("snapshot", d.len())?;
        let header = Header::parse(&d[hr.clone()], hr.start as u64)?;
        let nr = sections.require("nodes", d.len())?;
        let er = sections.require("edges", d.len())?;
        let sr = sections.require("strings", d.len())?;

        let t = Phase::start("plan arrays");
        let (node_plan, edge_plan) = rayon::join(
            || ArrayPlan::new_releasing(d, nr.clone(), "nodes", &release),
            || ArrayPlan::new_releasing(d, er.clone(), "edges", &release),
        );
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

        let t = Phase::start("parse numbers || strings");
        let mut node_type = vec![0u8; n];
        let mut node_name = vec![0u32; n];
        let mut node_id = vec![0u32; n];
        let mut node_self = vec![0u32; n];
        let mut node_det = vec![0u8; if header.node_detachedness.is_some() { n } else { 0 }];
        let mut first_edge = vec![0u32; n + 1];
        let mut edge_type = vec![0u8; m];
        let mut edge_name = vec![0u32; m];
        let mut edge_to = vec![0u32; m];

        let (strings, numbers) = rayon::join(
            || {
                let r = Strings::parse(d, sr.clone());
                release(sr.clone());
                r
            },
            || -> Result<(), ParseError> {
                let h = &header;
                let (ct, cn, ci, cs, cd, cf) = (
                    Col::new(&mut node_type),
                    Col::new(&mut node_name),
                    Col::new(&mut node_id),
                    Col::new(&mut node_self),
                    Col::new(&mut node_det),
                    Col::new(&mut first_edge[1..]),
                );
                let ntypes = h.node_kinds.len();
                let det = h.node_detachedness.unwrap_or(usize::MAX);
                node_plan.parse(
                    d,
                    nf,
                    |r, f, v| {
                        if f == h.node_type {
                            if v as usize >= ntypes {
                                return Err(format!("node type {v} is not one of the {ntypes} types in meta"));
                            }
                            ct.set(r, v as u8);
                        } else if f == h.node_name {
                            cn.set(r, v);
                        } else if f == h.node_id {
                            ci.set(r, v);
                        } else if f == h.node_self_size {
                            cs.set(r, v);
                        } else if f == h.node_edge_count {
                            cf.set(r, v);
                        } else if f == det {
                            if v > 2 {
                                return Err(format!("detachedness {v} is not 0, 1 or 2"));
                            }
                            cd.set(r, v as u8);
                        }
                        Ok(())
                    },
                    &release,
                )?;
                let (et, en, eto) = (
                    Col::new(&mut edge_type),
                    Col::new(&mut edge_name),
                    Col::new(&mut edge_to),
                );
                let etypes = h.edge_kinds.len();
                let limit = n as u64 * nf as u64;
                edge_plan.parse(
                    d,
                    ef,
                    |r, f, v| {
                        if f == h.edge_type {
                            if v as usize >= etypes {
                                return Err(format!("edge type {v} is not one of the {etypes} types in meta"));
                            }
                            et.set(r, v as u8);
                        } else if f == h.edge_name {
                            en.set(r, v);
                        } else if f == h.edge_to {
                            if v as u64 % nf as u64 != 0 {
                                return Err(format!("to_node {v} is not a multiple of the {nf} node fields"));
                            }
                            if v as u64 >= limit {
                                return Err(format!("to_node {v} points past the last of {n} nodes"));
                            }
                            eto.set(r, v / nf as u32);
                        }
                        Ok(())
                    },
                    &release,
                )
            },
        );
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
        let edges_ok = edge_name
            .par_chunks(BLOCK)
            .zip(edge_type.par_chunks(BLOCK))
            .all(|(names, types)| names.iter().zip(types).fold(true, |ok, (&x, &t)| ok & !bad_edge(t, x)));
        if !edges_ok {
            let e = (0..m).position(|e| bad_edge(edge_type[e], edge_name[e])).unwrap_or(0);
            return Err(ParseError::new(
                "edges",
                edge_plan.offset_of(d, e * ef + header.edge_name),
                format!("edge name {} is not an index into the {ns} strings", edge_name[e]),
            ));
        }

        t.done();
        let locations = match (sections.get("locations"), header.location_offsets) {
            (Some(lr), Some([oi, si, li, ci])) => {
                let lf = header.location_field_count;
                let plan = ArrayPlan::new(d, lr.clone(), "locations")?;
                let count = plan.expect(lf, None, "location", lr.start)?;
                let flat = crate::numbers::parse_flat(d, lr.clone(), "locations")?;
                let mut out = Vec::with_capacity(count);
                for (k, rec) in flat.chunks_exact(lf).enumerate() {
                    let obj = rec[oi] as usize;
                    if obj % nf != 0 || obj / nf >= n {
                        return Err(ParseError::new(
                            "locations",
                            plan.offset_of(d, k * lf + oi),
                            format!("object_index {obj} is not a node index"),
                        ));
                    }
                    out.push(Location {
                        node: (obj / nf) as u32,
                        script_id: rec[si],
                        line: rec[li],
                        column: rec[ci],
                    });
                }
                out
            }
            _ => Vec::new(),
        };

        let root = (header.root_index / nf as u64) as u32;
        Ok(Snapshot {
            header,
            node_type,
            node_name,
            node_id,
            node_self,
            node_detachedness: node_det,
            first_edge,
            edge_type,
            edge_name,
            edge_to,
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
        self.edge_to.len()
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
        self.header.edge_kinds[self.edge_type[e] as usize]
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
        &self.header.edge_type_names[self.edge_type[e] as usize]
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
