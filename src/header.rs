//! The `snapshot` header: `meta` (field and type names) and the counts.
//!
//! Every field offset is resolved by name, never assumed: Node writes 7 node fields (`trace_node_id`,
//! `detachedness`), Chromium 6, older V8 5; locations have 4 fields or 5 (`script_object_index`). The counts are
//! checked against the size of the section they describe before anything is allocated from them (every value
//! takes at least two bytes: a digit and a separator).

use std::ops::Range;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ParseError;
use crate::scan::{check_json, Object};

/// Node kinds as DevTools knows them (from `meta.node_types[0]`); anything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// `hidden`: V8 internals (shown as `(system)`).
    Hidden,
    /// `array`: internal arrays (`(object elements)`, ...).
    Array,
    /// `string`.
    String,
    /// `object`: JS objects.
    Object,
    /// `code`.
    Code,
    /// `closure`: JS functions.
    Closure,
    /// `regexp`.
    RegExp,
    /// `number`: heap numbers.
    Number,
    /// `native`: embedder objects (DOM, Node bindings).
    Native,
    /// `synthetic`: the root, `(GC roots)`, ...
    Synthetic,
    /// `concatenated string`.
    ConsString,
    /// `sliced string`.
    SlicedString,
    /// `symbol`.
    Symbol,
    /// `bigint`.
    BigInt,
    /// `object shape`.
    ObjectShape,
    /// A type this version does not know.
    Other,
}

impl NodeKind {
    fn from_name(s: &str) -> NodeKind {
        match s {
            "hidden" => NodeKind::Hidden,
            "array" => NodeKind::Array,
            "string" => NodeKind::String,
            "object" => NodeKind::Object,
            "code" => NodeKind::Code,
            "closure" => NodeKind::Closure,
            "regexp" => NodeKind::RegExp,
            "number" => NodeKind::Number,
            "native" => NodeKind::Native,
            "synthetic" => NodeKind::Synthetic,
            "concatenated string" => NodeKind::ConsString,
            "sliced string" => NodeKind::SlicedString,
            "symbol" => NodeKind::Symbol,
            "bigint" => NodeKind::BigInt,
            "object shape" => NodeKind::ObjectShape,
            _ => NodeKind::Other,
        }
    }
}

/// Edge kinds (from `meta.edge_types[0]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// `context`: a closure's context variable.
    Context,
    /// `element`: array index (name is a number).
    Element,
    /// `property`: named property.
    Property,
    /// `internal`: V8 internal reference.
    Internal,
    /// `hidden`: internal reference with a numeric name.
    Hidden,
    /// `shortcut`: a shortcut (e.g. the root's edge to `global`).
    Shortcut,
    /// `weak`.
    Weak,
    /// DevTools' synthetic `invisible` type (never written by V8) or an unknown one.
    Other,
}

impl EdgeKind {
    fn from_name(s: &str) -> EdgeKind {
        match s {
            "context" => EdgeKind::Context,
            "element" => EdgeKind::Element,
            "property" => EdgeKind::Property,
            "internal" => EdgeKind::Internal,
            "hidden" => EdgeKind::Hidden,
            "shortcut" => EdgeKind::Shortcut,
            "weak" => EdgeKind::Weak,
            _ => EdgeKind::Other,
        }
    }

    /// True when the edge's `name_or_index` is a number, not a string index.
    pub fn has_index_name(self) -> bool {
        matches!(self, EdgeKind::Element | EdgeKind::Hidden)
    }
}

/// The resolved header.
#[derive(Debug, Clone)]
pub struct Header {
    /// Number of node fields.
    pub node_field_count: usize,
    /// Offsets of the node fields we use.
    pub node_type: usize,
    /// `name` field offset.
    pub node_name: usize,
    /// `id` field offset.
    pub node_id: usize,
    /// `self_size` field offset.
    pub node_self_size: usize,
    /// `edge_count` field offset.
    pub node_edge_count: usize,
    /// `detachedness` field offset, when written.
    pub node_detachedness: Option<usize>,
    /// Node type names in `type` value order.
    pub node_type_names: Vec<String>,
    /// Their kinds.
    pub node_kinds: Vec<NodeKind>,
    /// Number of edge fields.
    pub edge_field_count: usize,
    /// `type` field offset.
    pub edge_type: usize,
    /// `name_or_index` field offset.
    pub edge_name: usize,
    /// `to_node` field offset.
    pub edge_to: usize,
    /// Edge type names in value order.
    pub edge_type_names: Vec<String>,
    /// Their kinds.
    pub edge_kinds: Vec<EdgeKind>,
    /// Number of location fields (0 when absent).
    pub location_field_count: usize,
    /// `object_index`, `script_id`, `line`, `column` offsets.
    pub location_offsets: Option<[usize; 4]>,
    /// Declared node count.
    pub node_count: Option<u64>,
    /// Declared edge count.
    pub edge_count: Option<u64>,
    /// Root node index as a node *index* (ordinal x field count), default 0.
    pub root_index: u64,
    /// Native memory outside the heap (Chromium), default 0.
    pub extra_native_bytes: u64,
    /// Declared trace function count.
    pub trace_function_count: Option<u64>,
}

/// Where an error in meta points: the section and the byte offset.
#[derive(Clone, Copy)]
struct At<'a>(&'a str, u64);

impl At<'_> {
    fn err(self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.0, self.1, message)
    }
}

fn field(fields: &[String], name: &str, at: At<'_>) -> Result<usize, ParseError> {
    fields
        .iter()
        .position(|f| f == name)
        .ok_or_else(|| at.err(format!("meta does not declare the `{name}` field")))
}

fn type_names(v: &[Value], at: At<'_>) -> Result<Vec<String>, ParseError> {
    match v.first() {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| at.err("a type name in meta is not a string"))
            })
            .collect(),
        _ => Err(at.err("meta's type list does not start with the array of type names")),
    }
}

/// One object of the header (`snapshot` or its `meta`): its members, by name, with absolute offsets.
struct HeaderObject<'a> {
    d: &'a [u8],
    /// File offset of `d[0]`.
    base: u64,
    section: &'static str,
    /// File offset of the object's `{`.
    start: u64,
    members: Vec<(String, Range<usize>)>,
}

impl<'a> HeaderObject<'a> {
    /// Scan the object whose `{` is `d[open]` (`what` names it in messages).
    fn scan(d: &'a [u8], base: u64, open: usize, section: &'static str, what: &str) -> Result<Self, ParseError> {
        if d.get(open) != Some(&b'{') {
            return Err(ParseError::new(
                section,
                base + open as u64,
                format!("{what} is not an object"),
            ));
        }
        let obj = Object {
            section,
            what,
            numeric: &[],
            release: None,
            value_section: Some(section),
        };
        let (members, _) = obj.members(d, open).map_err(|mut e| {
            e.offset += base;
            e
        })?;
        Ok(HeaderObject {
            d,
            base,
            section,
            start: base + open as u64,
            members,
        })
    }

    fn range(&self, name: &str) -> Option<Range<usize>> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, r)| r.clone())
    }

    /// Where member `name`'s value starts (or the object's `{` when it is absent).
    fn at(&self, name: &str) -> At<'static> {
        At(
            self.section,
            self.range(name).map_or(self.start, |r| self.base + r.start as u64),
        )
    }

    /// Deserialize member `name`; `None` when absent or `null`.
    fn get<T: DeserializeOwned>(&self, name: &str, expected: &str) -> Result<Option<T>, ParseError> {
        let Some(r) = self.range(name) else {
            return Ok(None);
        };
        let v = &self.d[r.clone()];
        if v == b"null" {
            return Ok(None);
        }
        // The grammar was checked by `check_json`: what is left is a wrong type or value, reported at the value.
        serde_json::from_slice(v).map(Some).map_err(|e| {
            ParseError::new(
                self.section,
                self.base + r.start as u64,
                format!("`{name}` must be {expected}: {}", without_position(&e)),
            )
        })
    }

    /// Deserialize a member that must be present.
    fn require<T: DeserializeOwned>(&self, name: &str, expected: &str, what: &str) -> Result<T, ParseError> {
        self.get(name, expected)?.ok_or_else(|| {
            ParseError::new(
                self.section,
                self.start,
                format!("{what} has no `{name}` member ({expected})"),
            )
        })
    }
}

/// serde_json's message without its " at line L column C" suffix (positions are ours, counted from the file start).
fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(p) if e.line() != 0 => s[..p].to_string(),
        _ => s,
    }
}

impl Header {
    /// Parse the `snapshot` member's value, `d` being exactly its bytes, found at `offset` in the file.
    ///
    /// Errors point at the member at fault: a bad `node_count` at its value, a missing field name at the
    /// `node_fields` array, a missing member at the start of the object that should hold it.
    pub fn parse(d: &[u8], offset: u64) -> Result<Header, ParseError> {
        let sec = "snapshot";
        let msec = "snapshot.meta";
        // The header is small: check all of its JSON grammar (escapes, UTF-8, control characters, scalars), also in
        // the members we do not use, so a damaged header is never half-read.
        check_json(d, 0).map_err(|(at, m)| ParseError::new(sec, offset + at as u64, format!("bad header: {m}")))?;
        let top = HeaderObject::scan(d, offset, 0, sec, "the `snapshot` header")?;
        let Some(mr) = top.range("meta") else {
            return Err(ParseError::new(sec, offset, "the header has no `meta` member"));
        };
        let meta = HeaderObject::scan(d, offset, mr.start, msec, "`meta`")?;
        let list = "an array of field names";
        let types = "an array starting with the array of type names";
        let nf: Vec<String> = meta.require("node_fields", list, "meta")?;
        let node_types: Vec<Value> = meta.require("node_types", types, "meta")?;
        let ef: Vec<String> = meta.require("edge_fields", list, "meta")?;
        let edge_types: Vec<Value> = meta.require("edge_types", types, "meta")?;
        let lf: Vec<String> = meta.get("location_fields", list)?.unwrap_or_default();
        let (nat, eat, lat) = (
            meta.at("node_fields"),
            meta.at("edge_fields"),
            meta.at("location_fields"),
        );
        let node_type = field(&nf, "type", nat)?;
        let node_type_names = type_names(&node_types, meta.at("node_types"))?;
        let edge_type = field(&ef, "type", eat)?;
        let edge_type_names = type_names(&edge_types, meta.at("edge_types"))?;
        if node_type_names.len() > 255 {
            return Err(meta.at("node_types").err("more than 255 node types"));
        }
        if edge_type_names.len() > 255 {
            return Err(meta.at("edge_types").err("more than 255 edge types"));
        }
        let location_offsets = if lf.is_empty() {
            None
        } else {
            Some([
                field(&lf, "object_index", lat)?,
                field(&lf, "script_id", lat)?,
                field(&lf, "line", lat)?,
                field(&lf, "column", lat)?,
            ])
        };
        let node_name = field(&nf, "name", nat)?;
        let node_id = field(&nf, "id", nat)?;
        let node_self_size = field(&nf, "self_size", nat)?;
        let node_edge_count = field(&nf, "edge_count", nat)?;
        let edge_name = field(&ef, "name_or_index", eat)?;
        let edge_to = field(&ef, "to_node", eat)?;

        let count = "a non-negative integer";
        let node_count: Option<u64> = top.get("node_count", count)?;
        let edge_count: Option<u64> = top.get("edge_count", count)?;
        let trace_function_count: Option<u64> = top.get("trace_function_count", count)?;
        let root_index: u64 = top.get("root_index", count)?.unwrap_or(0);
        let field_count = nf.len() as u64;
        if !root_index.is_multiple_of(field_count) {
            return Err(top.at("root_index").err(format!(
                "root_index {root_index} is not a node index (a multiple of the {field_count} node fields)"
            )));
        }
        if let Some(n) = node_count {
            if root_index / field_count >= n {
                return Err(top
                    .at("root_index")
                    .err(format!("root_index {root_index} points past the last of the {n} nodes")));
            }
        }
        let extra: f64 = top.get("extra_native_bytes", "a non-negative number")?.unwrap_or(0.0);
        if !(extra >= 0.0 && extra.is_finite()) {
            return Err(top
                .at("extra_native_bytes")
                .err("extra_native_bytes is not a non-negative number"));
        }
        Ok(Header {
            node_field_count: nf.len(),
            node_type,
            node_name,
            node_id,
            node_self_size,
            node_edge_count,
            node_detachedness: nf.iter().position(|f| f == "detachedness"),
            node_kinds: node_type_names.iter().map(|s| NodeKind::from_name(s)).collect(),
            node_type_names,
            edge_field_count: ef.len(),
            edge_type,
            edge_name,
            edge_to,
            edge_kinds: edge_type_names.iter().map(|s| EdgeKind::from_name(s)).collect(),
            edge_type_names,
            location_field_count: lf.len(),
            location_offsets,
            node_count,
            edge_count,
            root_index,
            extra_native_bytes: extra as u64,
            trace_function_count,
        })
    }
}
