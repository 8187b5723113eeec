//! Class names and class keys: the rows of DevTools' Summary view.
//!
//! * Fixed names per node type (`calculateObjectNames`): `hidden` -> `(system)`, `code` -> `(compiled code)`,
//!   `closure` -> `Function`, `regexp` -> `RegExp`, `object`/`native` -> their name (`<div id=…>` shortened to
//!   `<div>`), anything else `(<type>)`.
//! * Plain objects (`object` named `Object`) take an **inferred interface** name `{a, b}`
//!   (`inferInterfaceDefinitions` / `applyInterfaceDefinitions`).
//! * The class key is `scriptId,line,column,Name` for `object` nodes with a location, else `,Name`.
//!
//! Output: a class index per node (`u32`, [`NO_CLASS`] never used: every node has a class) and the class table.
//! Nodes sharing (type, name string) share a class without per-node work; plain objects are matched once per
//! distinct sorted property list. Strings compare in JS (UTF-16) order.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use super::jsstr;
use crate::header::{EdgeKind, NodeKind};
use crate::snapshot::Snapshot;

/// Marker for "no class" (not used for real nodes).
pub const NO_CLASS: u32 = u32::MAX;

/// One inferred interface definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceDefinition {
    /// `{a, b, c}`.
    pub name: String,
    /// Property names (WTF-8 bytes kept as lossy strings for display; matching uses `raw`).
    pub properties: Vec<String>,
    /// How many plain objects proposed it.
    pub count: u32,
    /// Raw property names.
    #[serde(skip)]
    pub raw: Vec<Vec<u8>>,
}

/// A class: one Summary row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInfo {
    /// The class key (`,Name` or `script,line,col,Name`).
    pub key: String,
    /// The class name.
    pub name: String,
}

/// Per-node classes and the class table.
#[derive(Debug, Clone, Default)]
pub struct Classes {
    /// Class index of every node.
    pub of_node: Vec<u32>,
    /// The classes, in order of first appearance (node order).
    pub table: Vec<ClassInfo>,
    /// Key -> class index.
    pub by_key: HashMap<String, u32>,
}

impl Classes {
    fn intern(&mut self, key: String, name: &str) -> u32 {
        if let Some(&c) = self.by_key.get(&key) {
            return c;
        }
        let c = self.table.len() as u32;
        self.table.push(ClassInfo {
            key: key.clone(),
            name: name.to_string(),
        });
        self.by_key.insert(key, c);
        c
    }
}

/// The class name of a node ignoring interfaces (`calculateObjectNames`).
pub fn base_class_name(s: &Snapshot, o: u32) -> String {
    match s.kind(o) {
        NodeKind::Hidden => "(system)".into(),
        NodeKind::Code => "(compiled code)".into(),
        NodeKind::Closure => "Function".into(),
        NodeKind::RegExp => "RegExp".into(),
        NodeKind::Object | NodeKind::Native => {
            let name = s.name(o);
            shorten_tag(&name)
        }
        _ => format!("({})", s.type_name(o)),
    }
}

/// `<div id="a">` -> `<div>`, `Detached <div id="a">` -> `Detached <div>`.
pub fn shorten_tag(n: &str) -> String {
    if n.starts_with('<') {
        if let Some(sp) = n.find(' ') {
            return format!("{}>", &n[..sp]);
        }
    } else if let Some(rest) = n.strip_prefix("Detached <") {
        if let Some(sp) = rest.find(' ') {
            return format!("{}>", &n[..10 + sp]);
        }
    }
    n.to_string()
}

/// String indexes of `"Object"`: plain objects are `object` nodes with that name.
struct PlainTest(Vec<u32>);

impl PlainTest {
    fn new(s: &Snapshot) -> Self {
        PlainTest(s.string_ids(b"Object"))
    }
    #[inline]
    fn is_plain(&self, s: &Snapshot, o: u32) -> bool {
        s.kind(o) == NodeKind::Object && self.0.contains(&s.node_name[o as usize])
    }
}

/// `inferInterfaceDefinitions`: candidate `{a, b}` names from plain objects' property edges.
pub fn infer_interfaces(s: &Snapshot) -> Vec<InterfaceDefinition> {
    let mut order: Vec<InterfaceDefinition> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut plain = 0u64;
    let test = PlainTest::new(s);
    for o in 0..s.node_count() as u32 {
        if !test.is_plain(s, o) {
            continue;
        }
        plain += 1;
        let mut name = String::from("{");
        let mut name_len = 1usize; // UTF-16 length
        let mut raw: Vec<Vec<u8>> = Vec::new();
        for e in s.edges(o) {
            if s.edge_kind(e) != EdgeKind::Property {
                continue;
            }
            let en = s.edge_name_bytes(e);
            if en == b"__proto__" {
                continue;
            }
            let f = format_property(en);
            let flen = jsstr::utf16_len(f.as_bytes());
            if name_len > 1 && name_len + flen > 120 {
                break;
            }
            if name_len != 1 {
                name.push_str(", ");
                name_len += 2;
            }
            name.push_str(&f);
            name_len += flen;
            raw.push(en.to_vec());
        }
        if raw.is_empty() {
            continue;
        }
        name.push('}');
        match index.get(&name) {
            Some(&i) => order[i].count += 1,
            None => {
                index.insert(name.clone(), order.len());
                let properties = raw.iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect();
                order.push(InterfaceDefinition {
                    name,
                    properties,
                    count: 1,
                    raw,
                });
            }
        }
    }
    order.sort_by_key(|d| std::cmp::Reverse(d.count)); // stable, as JS's sort
    let min = f64::max(2.0, plain as f64 / 1000.0);
    order.into_iter().take_while(|d| d.count as f64 >= min).collect()
}

/// A property name as it appears in an interface name: JSON-quoted when it holds `,'"{}`.
fn format_property(en: &[u8]) -> String {
    if en.iter().any(|b| matches!(b, b',' | b'\'' | b'"' | b'{' | b'}')) {
        jsstr::json_quote(en)
    } else {
        String::from_utf8_lossy(en).into_owned()
    }
}

/// `applyInterfaceDefinitions` for one plain object: the definition with the most properties whose sorted
/// property list is a sub-multiset of the object's sorted property-edge names; ties go to the earliest.
fn best_definition(s: &Snapshot, props: &[u32], sorted_defs: &[Vec<&[u8]>]) -> Option<usize> {
    let mut names: Vec<&[u8]> = props.iter().map(|&p| s.strings.bytes(p as usize)).collect();
    names.sort_by(|a, b| jsstr::cmp(a, b));
    let mut best: Option<usize> = None;
    for (i, d) in sorted_defs.iter().enumerate() {
        let mut j = 0;
        for &p in &names {
            if j >= d.len() {
                break;
            }
            if p == d[j] {
                j += 1;
            }
        }
        if j != d.len() {
            continue;
        }
        if best.is_none_or(|b| d.len() > sorted_defs[b].len()) {
            best = Some(i);
        }
    }
    best
}

/// Compute every node's class with the given interface definitions (`None`: infer them from `s`).
/// `locations` maps node ordinal -> (script, line, column), the last record winning as in DevTools.
pub fn classify(s: &Snapshot, defs: &[InterfaceDefinition]) -> Classes {
    let n = s.node_count();
    let mut locs: HashMap<u32, (u32, u32, u32)> = HashMap::with_capacity(s.locations.len());
    for l in &s.locations {
        locs.insert(l.node, (l.script_id, l.line, l.column));
    }
    // Definitions with sorted raw properties, for matching.
    let sorted_defs: Vec<Vec<&[u8]>> = defs
        .iter()
        .map(|d| {
            let mut p: Vec<&[u8]> = d.raw.iter().map(|r| r.as_slice()).collect();
            p.sort_by(|a, b| jsstr::cmp(a, b));
            p
        })
        .collect();
    let mut out = Classes {
        of_node: vec![0; n],
        table: Vec::new(),
        by_key: HashMap::new(),
    };
    // Fast paths: classes of non-object/native kinds depend only on the type; object/native classes on the
    // name string (dense tables indexed by string); plain objects on their property list (cached per
    // unsorted list: objects of one hidden class share it); objects with a location on (location, name).
    let ntypes = s.header.node_kinds.len();
    let mut by_type: Vec<u32> = vec![NO_CLASS; ntypes];
    let mut by_name: [Vec<u32>; 2] = [vec![NO_CLASS; s.strings.len()], vec![NO_CLASS; s.strings.len()]];
    let mut has_loc = fixedbitset::FixedBitSet::with_capacity(n);
    for l in &s.locations {
        has_loc.insert(l.node as usize);
    }
    let mut by_shape: FxHashMap<Vec<u32>, Option<usize>> = FxHashMap::default();
    let mut by_def: Vec<u32> = vec![NO_CLASS; defs.len()];
    let mut by_loc: FxHashMap<(u32, u32, u32, Option<usize>, u32), u32> = FxHashMap::default();
    let mut props: Vec<u32> = Vec::new();
    let plain = PlainTest::new(s);
    for o in 0..n as u32 {
        let ou = o as usize;
        let kind = s.kind(o);
        let named = matches!(kind, NodeKind::Object | NodeKind::Native);
        let def: Option<usize> = if named && !defs.is_empty() && plain.is_plain(s, o) {
            props.clear();
            props.extend(
                s.edges(o)
                    .filter(|&e| s.edge_kind(e) == EdgeKind::Property)
                    .map(|e| s.edge_name[e]),
            );
            match by_shape.get(props.as_slice()) {
                Some(&b) => b,
                None => {
                    let b = best_definition(s, &props, &sorted_defs);
                    by_shape.insert(props.clone(), b);
                    b
                }
            }
        } else {
            None
        };
        let loc = if kind == NodeKind::Object && has_loc.contains(ou) {
            locs.get(&o)
        } else {
            None
        };
        out.of_node[ou] = match (def, loc) {
            (None, None) if !named => {
                let t = s.node_type[ou] as usize;
                if by_type[t] == NO_CLASS {
                    let name = base_class_name(s, o);
                    by_type[t] = out.intern(format!(",{name}"), &name);
                }
                by_type[t]
            }
            (None, None) => {
                let table = &mut by_name[(kind == NodeKind::Native) as usize];
                let k = s.node_name[ou] as usize;
                if table[k] == NO_CLASS {
                    let name = base_class_name(s, o);
                    table[k] = out.intern(format!(",{name}"), &name);
                }
                table[k]
            }
            (Some(d), None) => {
                if by_def[d] == NO_CLASS {
                    by_def[d] = out.intern(format!(",{}", defs[d].name), &defs[d].name);
                }
                by_def[d]
            }
            (def, Some(&(sc, l, c))) => {
                let k = (sc, l, c, def, s.node_name[ou]);
                if let Some(&cls) = by_loc.get(&k) {
                    cls
                } else {
                    let name = match def {
                        Some(d) => defs[d].name.clone(),
                        None => base_class_name(s, o),
                    };
                    let cls = out.intern(format!("{sc},{l},{c},{name}"), &name);
                    by_loc.insert(k, cls);
                    cls
                }
            }
        };
    }
    out
}
