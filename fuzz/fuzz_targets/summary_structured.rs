//! Fuzz target `summary_structured`: the `summary` path on snapshots that are valid by construction, so the
//! fuzzer spends its time in the graph passes (detachedness, shallow-size reattribution, page-owned nodes,
//! essential edges, dominators, distances, interfaces, classes, statistics) instead of in JSON syntax errors.
//!
//! `arbitrary` turns the input into a small graph (node kinds, names, sizes, detachedness, edges, root,
//! locations, strings); it is written as snapshot JSON with the `meta` of
//! `fixtures/synthetic/random-1-300.heapsnapshot`. Names come from a dictionary of the strings DevTools'
//! passes look for (`Object`, `Array`, `elements`, `(Document DOM trees)`, WeakMap pair names, ...) plus
//! arbitrary ones. Invariants: loading succeeds (the input is valid); the analysis may refuse only with an
//! error (a reattributed size over 4 GiB); the Summary rows add up to the total; no panic, hang or unbounded
//! allocation.

#![no_main]

use std::fmt::Write;

use arbitrary::Arbitrary;
use heapsnap::commands::summary::build_summary;
use heapsnap::report::{Format, Render};
use heapsnap::{Analysis, Snapshot};
use libfuzzer_sys::fuzz_target;

/// The header of random-1-300 without its counts.
const META: &str = r#"{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]}"#;

const NODE_FIELDS: usize = 7;
const NODE_TYPES: u8 = 15;
const EDGE_TYPES: u8 = 7;
/// `element` and `hidden` edges carry a number, not a string index.
const INDEX_EDGES: [u8; 2] = [1, 4];

/// Strings the DevTools passes compare names with.
const DICTIONARY: &[&str] = &[
    "",
    "(GC roots)",
    "Object",
    "Array",
    "elements",
    "__proto__",
    "a",
    "b",
    "x,y",
    "(Document DOM trees)",
    "system / ExternalStringData",
    "system / JSArrayBufferData",
    "system / NativeContext",
    "sloppy_function_map",
    "(map descriptors)",
    "1",
    "4",
    "Detached <div id=a>",
    "<div id=b>",
    "HTMLDivElement",
    "1 / part of key (Object @3) -> value (Object @5) pair in WeakMap (table @7)",
    "2 / part of key (Object @3) -> value (Object @5) pair in WeakMap (table @7)",
    "\u{1F600}",
];

#[derive(Arbitrary, Debug)]
enum Size {
    Small(u8),
    Any(u32),
}

#[derive(Arbitrary, Debug)]
struct Edge {
    ty: u8,
    name: u16,
    to: u8,
}

#[derive(Arbitrary, Debug)]
struct Node {
    ty: u8,
    name: u8,
    id: u16,
    self_size: Size,
    detachedness: u8,
    edges: Vec<Edge>,
}

#[derive(Arbitrary, Debug)]
struct Location {
    node: u8,
    script: u8,
    line: u8,
    column: u8,
}

#[derive(Arbitrary, Debug)]
struct Graph {
    root: u8,
    extra_native_bytes: Option<u16>,
    nodes: Vec<Node>,
    strings: Vec<String>,
    locations: Vec<Location>,
}

impl Graph {
    /// The snapshot JSON (one section per line, as V8 writes it).
    fn to_json(&self) -> String {
        let n = self.nodes.len().max(1);
        let strings: Vec<&str> = DICTIONARY
            .iter()
            .copied()
            .chain(self.strings.iter().map(String::as_str))
            .collect();
        let ns = strings.len();
        let edge_count: usize = self.nodes.iter().map(|x| x.edges.len()).sum();
        let mut out = String::new();
        write!(
            out,
            r#"{{"snapshot":{{"meta":{META},"node_count":{n},"edge_count":{edge_count}"#
        )
        .unwrap();
        write!(out, r#","root_index":{}"#, (self.root as usize % n) * NODE_FIELDS).unwrap();
        if let Some(x) = self.extra_native_bytes {
            write!(out, r#","extra_native_bytes":{x}"#).unwrap();
        }
        out.push_str(",\"trace_function_count\":0},\n\"nodes\":[");
        let mut sep = "";
        for x in &self.nodes {
            let size = match x.self_size {
                Size::Small(s) => s as u32,
                Size::Any(s) => s,
            };
            writeln!(
                out,
                "{sep}{},{},{},{size},{},0,{}",
                x.ty % NODE_TYPES,
                x.name as usize % ns,
                x.id,
                x.edges.len(),
                x.detachedness % 3
            )
            .unwrap();
            sep = ",";
        }
        if self.nodes.is_empty() {
            out.push_str("9,0,1,0,0,0,0");
        }
        out.push_str("],\n\"edges\":[");
        let mut sep = "";
        for e in self.nodes.iter().flat_map(|x| &x.edges) {
            let ty = e.ty % EDGE_TYPES;
            let name = if INDEX_EDGES.contains(&ty) {
                e.name as usize
            } else {
                e.name as usize % ns
            };
            writeln!(out, "{sep}{ty},{name},{}", (e.to as usize % n) * NODE_FIELDS).unwrap();
            sep = ",";
        }
        out.push_str("],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[");
        let mut sep = "";
        for l in &self.locations {
            let obj = (l.node as usize % n) * NODE_FIELDS;
            writeln!(out, "{sep}{obj},{},{},{}", l.script, l.line, l.column).unwrap();
            sep = ",";
        }
        out.push_str("],\n\"strings\":[");
        let mut sep = "";
        for s in &strings {
            writeln!(out, "{sep}{}", serde_json::to_string(s).unwrap()).unwrap();
            sep = ",";
        }
        out.push_str("]}\n");
        out
    }
}

fuzz_target!(|g: Graph| {
    let json = g.to_json();
    let snap = match Snapshot::from_bytes(json.as_bytes()) {
        Ok(s) => s,
        Err(e) => panic!("a valid snapshot failed to load: {e}\n{json}"),
    };
    let Ok(an) = Analysis::new(snap) else {
        return;
    };
    let report = build_summary(&an, "fuzz", None, None, None);
    let t = &report.totals;
    assert_eq!(
        t.shallow_size + t.extra_native_bytes,
        t.total_size,
        "rows do not add up to the total"
    );
    for row in &report.classes {
        let r = row.retained_size.expect("summary rows carry retained sizes");
        assert!(
            r >= row.self_size && r <= t.total_size,
            "class {:?}: retained {r}, {t:?}",
            row.key
        );
    }
    for f in [Format::Table, Format::Json, Format::Markdown] {
        report.write(f, &mut std::io::sink()).expect("writing to a sink");
    }
});
