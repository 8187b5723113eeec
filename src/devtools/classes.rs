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
//! [`classify`] runs over chunks of nodes in parallel: a node maps to a small raw key (type, name string,
//! definition, location), plain objects are matched once per distinct property list and chunk, and keys are
//! formatted once per class. Strings compare in JS (UTF-16) order.

use std::collections::HashMap;

use rayon::prelude::*;
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
    /// Property names as text ([`crate::strings::text`]; matching uses `raw`).
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
///
/// DevTools formats each plain object's name and counts names. The name is a function of the object's list of
/// property-name strings (up to the 120-character cut, which depends on the formatted lengths only), so the
/// lists of string indexes are counted instead (no string built per object), and each distinct list is
/// formatted once; lists that format to the same name are merged in order of first appearance, which keeps
/// DevTools' order.
pub fn infer_interfaces(s: &Snapshot) -> Vec<InterfaceDefinition> {
    let test = PlainTest::new(s);
    let proto = s.string_ids(b"__proto__");
    // String index -> UTF-16 length of the property as it appears in a name.
    let mut width: FxHashMap<u32, usize> = FxHashMap::default();
    // Distinct lists in order of first appearance, with their counts.
    let mut lists: Vec<(Vec<u32>, u32)> = Vec::new();
    let mut list_index: FxHashMap<Vec<u32>, usize> = FxHashMap::default();
    let mut plain = 0u64;
    let mut ids: Vec<u32> = Vec::new();
    for o in 0..s.node_count() as u32 {
        if !test.is_plain(s, o) {
            continue;
        }
        plain += 1;
        ids.clear();
        let mut name_len = 1usize; // UTF-16 length of "{" and the properties so far
        for e in s.edges(o) {
            if s.edge_kind(e) != EdgeKind::Property {
                continue;
            }
            let id = s.edge_name[e];
            if proto.contains(&id) {
                continue;
            }
            let flen = *width
                .entry(id)
                .or_insert_with(|| jsstr::utf16_len(format_property(s.strings.bytes(id as usize)).as_bytes()));
            if name_len > 1 && name_len + flen > 120 {
                break;
            }
            if name_len != 1 {
                name_len += 2;
            }
            name_len += flen;
            ids.push(id);
        }
        if ids.is_empty() {
            continue;
        }
        match list_index.get(ids.as_slice()) {
            Some(&i) => lists[i].1 += 1,
            None => {
                list_index.insert(ids.clone(), lists.len());
                lists.push((ids.clone(), 1));
            }
        }
    }
    drop(list_index);
    let mut order: Vec<InterfaceDefinition> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (ids, count) in lists {
        let raw: Vec<Vec<u8>> = ids.iter().map(|&id| s.strings.bytes(id as usize).to_vec()).collect();
        let parts: Vec<String> = raw.iter().map(|r| format_property(r)).collect();
        let name = format!("{{{}}}", parts.join(", "));
        match index.get(&name) {
            Some(&i) => order[i].count += count,
            None => {
                index.insert(name.clone(), order.len());
                let properties = raw.iter().map(|r| crate::strings::text(r).into_owned()).collect();
                order.push(InterfaceDefinition {
                    name,
                    properties,
                    count,
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
        crate::strings::text(en).into_owned()
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

/// What decides a node's class, before class keys are formatted: nodes with equal raw keys share a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RawKey {
    /// Non-object, non-native kinds without a location: the type alone.
    Type(u8),
    /// `object` / `native` (`true`) nodes without a definition or location: the name string.
    Name(bool, u32),
    /// A plain object matching an interface definition.
    Def(u32),
    /// An `object` with a location: (script, line, column, definition, name string).
    Loc(u32, u32, u32, Option<u32>, u32),
}

/// Nodes classified per chunk, in parallel.
const CLASSIFY_CHUNK: usize = 1 << 18;

/// Compute every node's class with the given interface definitions (`None`: infer them from `s`).
/// Locations: the last record of a node wins, as in DevTools.
///
/// Parallel in three steps: each chunk of nodes maps its nodes to chunk-local raw keys (plain objects are
/// matched once per distinct property list and chunk); the chunks' keys are then interned in node order (so
/// the class table is in order of first appearance, whatever the thread count); a last parallel pass turns
/// local keys into class indexes. O(V + E) work.
pub fn classify(s: &Snapshot, defs: &[InterfaceDefinition]) -> Classes {
    classify_in_chunks(s, defs, CLASSIFY_CHUNK)
}

fn classify_in_chunks(s: &Snapshot, defs: &[InterfaceDefinition], chunk: usize) -> Classes {
    let n = s.node_count();
    // Locations sorted by node, the last record of each node kept. When they already are (one per node, in
    // node order) they are used in place; otherwise (Node 20 writes them in heap iteration order) through an
    // index sorted by node (stably: file order among a node's records) that keeps each node's last record.
    let in_order = s.locations.windows(2).all(|w| w[0].node < w[1].node);
    let index: Vec<u32> = if in_order {
        Vec::new()
    } else {
        // (node, record) pairs in one word each, sorted as numbers: by node, then file order, without the
        // random reads of the records that a sort by key makes at each comparison.
        let mut pairs: Vec<u64> = (s.locations.iter().enumerate())
            .map(|(i, l)| (l.node as u64) << 32 | i as u64)
            .collect();
        pairs.sort_unstable();
        let mut keep: Vec<u32> = Vec::with_capacity(pairs.len());
        let mut last_node = None;
        for p in pairs {
            let (node, i) = ((p >> 32) as u32, p as u32);
            match keep.last_mut() {
                Some(last) if last_node == Some(node) => *last = i,
                _ => keep.push(i),
            }
            last_node = Some(node);
        }
        keep
    };
    let nlocs = if in_order { s.locations.len() } else { index.len() };
    let loc_at = |i: usize| -> &crate::snapshot::Location {
        if in_order {
            &s.locations[i]
        } else {
            &s.locations[index[i] as usize]
        }
    };
    // Definitions with sorted raw properties, for matching.
    let sorted_defs: Vec<Vec<&[u8]>> = defs
        .iter()
        .map(|d| {
            let mut p: Vec<&[u8]> = d.raw.iter().map(|r| r.as_slice()).collect();
            p.sort_by(|a, b| jsstr::cmp(a, b));
            p
        })
        .collect();
    let plain = PlainTest::new(s);
    let mut of_node = vec![0u32; n];
    // Step 1: chunk-local raw keys, in order of first appearance in the chunk.
    let local_keys: Vec<Vec<(RawKey, u32)>> = of_node
        .par_chunks_mut(chunk)
        .enumerate()
        .map(|(k, out)| {
            let base = k * chunk;
            let mut keys: FxHashMap<RawKey, u32> = FxHashMap::default();
            let mut by_type = [NO_CLASS; 256];
            let mut order: Vec<(RawKey, u32)> = Vec::new();
            let mut by_shape: FxHashMap<Vec<u32>, Option<u32>> = FxHashMap::default();
            let mut props: Vec<u32> = Vec::new();
            // First location of a node >= base.
            let mut li = if in_order {
                s.locations.partition_point(|l| (l.node as usize) < base)
            } else {
                index.partition_point(|&i| (s.locations[i as usize].node as usize) < base)
            };
            for (j, slot) in out.iter_mut().enumerate() {
                let o = (base + j) as u32;
                let ou = o as usize;
                let kind = s.kind(o);
                let named = matches!(kind, NodeKind::Object | NodeKind::Native);
                let def: Option<u32> = if named && !defs.is_empty() && plain.is_plain(s, o) {
                    props.clear();
                    props.extend(
                        s.edges(o)
                            .filter(|&e| s.edge_kind(e) == EdgeKind::Property)
                            .map(|e| s.edge_name[e]),
                    );
                    match by_shape.get(props.as_slice()) {
                        Some(&b) => b,
                        None => {
                            let b = best_definition(s, &props, &sorted_defs).map(|d| d as u32);
                            by_shape.insert(props.clone(), b);
                            b
                        }
                    }
                } else {
                    None
                };
                while li < nlocs && loc_at(li).node < o {
                    li += 1;
                }
                let loc = (kind == NodeKind::Object && li < nlocs && loc_at(li).node == o).then(|| {
                    let l = loc_at(li);
                    (l.script_id, l.line, l.column)
                });
                let key = match (def, loc) {
                    (None, None) if !named => RawKey::Type(s.node_type[ou]),
                    (None, None) => RawKey::Name(kind == NodeKind::Native, s.node_name[ou]),
                    (Some(d), None) => RawKey::Def(d),
                    (def, Some((sc, l, c))) => RawKey::Loc(sc, l, c, def, s.node_name[ou]),
                };
                let next = order.len() as u32;
                *slot = match key {
                    // Most nodes: a table by type instead of a hash lookup.
                    RawKey::Type(t) => {
                        let c = &mut by_type[t as usize];
                        if *c == NO_CLASS {
                            order.push((key, o));
                            *c = next;
                        }
                        *c
                    }
                    _ => *keys.entry(key).or_insert_with(|| {
                        order.push((key, o));
                        next
                    }),
                };
            }
            order
        })
        .collect();
    // Step 2: intern in node order.
    let mut out = Classes {
        of_node: Vec::new(),
        table: Vec::new(),
        by_key: HashMap::new(),
    };
    let mut global: FxHashMap<RawKey, u32> = FxHashMap::default();
    let maps: Vec<Vec<u32>> = local_keys
        .iter()
        .map(|order| {
            order
                .iter()
                .map(|&(key, o)| {
                    if let Some(&c) = global.get(&key) {
                        return c;
                    }
                    let (k, name) = match key {
                        RawKey::Type(_) | RawKey::Name(..) => {
                            let name = base_class_name(s, o);
                            (format!(",{name}"), name)
                        }
                        RawKey::Def(d) => (format!(",{}", defs[d as usize].name), defs[d as usize].name.clone()),
                        RawKey::Loc(sc, l, c, def, _) => {
                            let name = match def {
                                Some(d) => defs[d as usize].name.clone(),
                                None => base_class_name(s, o),
                            };
                            (format!("{sc},{l},{c},{name}"), name)
                        }
                    };
                    let c = out.intern(k, &name);
                    global.insert(key, c);
                    c
                })
                .collect()
        })
        .collect();
    // Step 3: local keys -> classes.
    of_node
        .par_chunks_mut(chunk)
        .zip(maps.par_iter())
        .for_each(|(chunk, map)| {
            for c in chunk {
                *c = map[*c as usize];
            }
        });
    out.of_node = of_node;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `inferInterfaceDefinitions` as DevTools writes it: one name formatted per plain object, names counted.
    fn infer_interfaces_reference(s: &Snapshot) -> Vec<InterfaceDefinition> {
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
                    let properties = raw.iter().map(|r| crate::strings::text(r).into_owned()).collect();
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

    /// The service fixture: located classes, interfaces, natives, plain objects.
    fn service() -> Snapshot {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/service.heapsnapshot.gz");
        let mut s = Snapshot::open(&p).unwrap();
        crate::devtools::propagate_detachedness(&mut s);
        s
    }

    /// Counting lists of string indexes gives DevTools' definitions (names, properties, counts, order) on
    /// every real and synthetic fixture.
    #[test]
    fn interfaces_equal_the_per_object_names() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files = vec![
            root.join("service.heapsnapshot.gz"),
            root.join("bare-node.heapsnapshot.gz"),
            root.join("browser/page.heapsnapshot.gz"),
        ];
        for e in std::fs::read_dir(root.join("synthetic")).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "heapsnapshot") {
                files.push(e.path());
            }
        }
        let mut total = 0;
        for f in files {
            let s = Snapshot::open(&f).unwrap();
            let want = infer_interfaces_reference(&s);
            assert_eq!(infer_interfaces(&s), want, "{}", f.display());
            total += want.len();
        }
        assert!(total > 50, "{total} definitions");
    }

    /// Hand-made plain objects: a duplicated string (two indexes, one name: merged), order, `__proto__`,
    /// quoting, the 120-character cut (lists equal only up to the cut count as one), a single object (dropped).
    #[test]
    fn interfaces_merge_and_cut_as_devtools() {
        let long: Vec<String> = (0..6).map(|i| format!("property_with_a_long_name_{i:04}")).collect();
        let mut strings: Vec<String> = ["", "Object", "leaf", "__proto__", "a", "b", "a", "x,y", "lonely"]
            .iter()
            .map(|x| x.to_string())
            .collect();
        let long_id = strings.len() as u32;
        strings.extend(long.iter().cloned());
        let l = |i: u32| long_id + i;
        let objects: Vec<Vec<u32>> = [
            vec![vec![4, 5]; 3],
            vec![vec![6, 5]; 2],
            vec![vec![5, 4]; 3],
            vec![vec![3, 4]; 2],
            vec![vec![7]; 2],
            vec![(0..6).map(l).collect(); 2],
            vec![vec![l(0), l(1), l(2), l(3), 8]],
            vec![vec![8]],
        ]
        .concat();
        let n = objects.len() + 2; // root, the objects, one leaf
        let leaf = (n - 1) * 7;
        let mut nodes = vec![format!("9,0,1,0,{},0,0", objects.len())];
        let mut edges: Vec<String> = (0..objects.len()).map(|i| format!("1,{i},{}", (i + 1) * 7)).collect();
        for (i, props) in objects.iter().enumerate() {
            nodes.push(format!("3,1,{},16,{},0,0", 2 * i + 3, props.len()));
            edges.extend(props.iter().map(|p| format!("2,{p},{leaf}")));
        }
        nodes.push("7,2,99999,8,0,0,0".into());
        let json = format!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],
            "node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic",
                "concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number","number","number"],
            "edge_fields":["type","name_or_index","to_node"],
            "edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]}},
            "node_count":{n},"edge_count":{}}},"nodes":[{}],"edges":[{}],"strings":[{}]}}"#,
            edges.len(),
            nodes.join(","),
            edges.join(","),
            strings.iter().map(|x| format!("{x:?}")).collect::<Vec<_>>().join(",")
        );
        let s = Snapshot::from_bytes(json.as_bytes()).unwrap();
        let got = infer_interfaces(&s);
        assert_eq!(got, infer_interfaces_reference(&s));
        let names: Vec<(&str, u32)> = got.iter().map(|d| (d.name.as_str(), d.count)).collect();
        let cut = format!("{{{}, {}, {}}}", long[0], long[1], long[2]);
        assert_eq!(
            names,
            [
                ("{a, b}", 5),
                ("{b, a}", 3),
                (cut.as_str(), 3),
                ("{a}", 2),
                (r#"{"x,y"}"#, 2)
            ]
        );
    }

    #[test]
    fn classes_do_not_depend_on_the_chunking() {
        let s = service();
        let defs = infer_interfaces(&s);
        let whole = classify_in_chunks(&s, &defs, s.node_count());
        for chunk in [1, 7, 1000, 4096] {
            let c = classify_in_chunks(&s, &defs, chunk);
            assert_eq!(c.table, whole.table, "chunk {chunk}");
            assert!(c.of_node == whole.of_node, "chunk {chunk}");
        }
        // Located classes, interfaces and plain names are all there.
        assert!(whole
            .table
            .iter()
            .any(|c| c.name == "Session" && !c.key.starts_with(',')));
        assert!(whole.table.iter().any(|c| c.key == ",{a, b}"));
    }

    #[test]
    fn locations_out_of_order_or_repeated_classify_like_the_last_record() {
        let s = service();
        let defs = infer_interfaces(&s);
        let want = classify_in_chunks(&s, &defs, 1000);
        assert!(s.locations.len() > 10);
        // Sorted by node, one per node (last record kept): the in-place path.
        let mut sorted = s.clone();
        sorted.locations.sort_by_key(|l| l.node);
        let mut keep: Vec<crate::snapshot::Location> = Vec::new();
        for l in &sorted.locations {
            match keep.last_mut() {
                Some(k) if k.node == l.node => *k = *l,
                _ => keep.push(*l),
            }
        }
        sorted.locations = keep;
        assert!(sorted.locations.windows(2).all(|w| w[0].node < w[1].node));
        let got = classify_in_chunks(&sorted, &defs, 1000);
        assert_eq!(got.table, want.table);
        assert!(got.of_node == want.of_node);
        // Reversed, and every record preceded by a decoy for the same node that the real one overrides.
        let mut t = s.clone();
        t.locations.reverse();
        let mut with_decoys = Vec::new();
        for l in &t.locations {
            with_decoys.push(crate::snapshot::Location {
                script_id: l.script_id + 1000,
                line: l.line + 7,
                ..*l
            });
            with_decoys.push(*l);
        }
        t.locations = with_decoys;
        for chunk in [1000, 7] {
            let got = classify_in_chunks(&t, &defs, chunk);
            assert_eq!(got.table, want.table, "chunk {chunk}");
            assert!(got.of_node == want.of_node, "chunk {chunk}");
        }
        // And a decoy after the real record (of an object: other nodes' locations do not make classes) wins.
        let mut u = s.clone();
        let first = *u
            .locations
            .iter()
            .find(|l| u.kind(l.node) == NodeKind::Object)
            .expect("an object with a location");
        u.locations.push(crate::snapshot::Location {
            script_id: first.script_id + 1000,
            ..first
        });
        let got = classify_in_chunks(&u, &defs, 1000);
        assert_ne!(got.table, want.table);
    }
}
