//! The `snapshot` header: `meta` (field and type names) and the counts.
//!
//! Every field offset is resolved by name, never assumed: Node writes 7 node fields (`trace_node_id`,
//! `detachedness`), Chromium 6, older V8 5; locations have 4 fields or 5 (`script_object_index`). The counts are
//! checked against the size of the section they describe before anything is allocated from them (every value
//! takes at least two bytes: a digit and a separator).

use serde::Deserialize;
use serde_json::Value;

use crate::error::ParseError;

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

#[derive(Deserialize)]
struct RawHeader {
    meta: RawMeta,
    node_count: Option<u64>,
    edge_count: Option<u64>,
    root_index: Option<u64>,
    extra_native_bytes: Option<f64>,
    trace_function_count: Option<u64>,
}

#[derive(Deserialize)]
struct RawMeta {
    node_fields: Vec<String>,
    node_types: Vec<Value>,
    edge_fields: Vec<String>,
    edge_types: Vec<Value>,
    #[serde(default)]
    location_fields: Vec<String>,
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

fn field(fields: &[String], name: &str, section: &str, at: u64) -> Result<usize, ParseError> {
    fields
        .iter()
        .position(|f| f == name)
        .ok_or_else(|| ParseError::new(section, at, format!("meta does not declare the `{name}` field")))
}

fn type_names(v: &[Value], section: &str, at: u64) -> Result<Vec<String>, ParseError> {
    match v.first() {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ParseError::new(section, at, "a type name in meta is not a string"))
            })
            .collect(),
        _ => Err(ParseError::new(
            section,
            at,
            "meta's type list does not start with the array of type names",
        )),
    }
}

impl Header {
    /// Parse the `snapshot` member's value, `d` being exactly its bytes, found at `offset` in the file.
    pub fn parse(d: &[u8], offset: u64) -> Result<Header, ParseError> {
        let sec = "snapshot";
        let raw: RawHeader = serde_json::from_slice(d).map_err(|e| {
            // serde_json reports line/column inside the slice; convert to a byte offset.
            let mut line = 1;
            let mut off = 0usize;
            for (i, &b) in d.iter().enumerate() {
                if line == e.line() {
                    off = i + e.column().saturating_sub(1);
                    break;
                }
                if b == b'\n' {
                    line += 1;
                }
            }
            ParseError::new(sec, offset + off as u64, format!("bad header: {e}"))
        })?;
        let m = &raw.meta;
        let nf = &m.node_fields;
        let ef = &m.edge_fields;
        let node_type = field(nf, "type", "snapshot.meta", offset)?;
        let node_type_names = type_names(&m.node_types, "snapshot.meta", offset)?;
        let edge_type = field(ef, "type", "snapshot.meta", offset)?;
        let edge_type_names = type_names(&m.edge_types, "snapshot.meta", offset)?;
        if node_type_names.len() > 255 || edge_type_names.len() > 255 {
            return Err(ParseError::new(
                "snapshot.meta",
                offset,
                "more than 255 node or edge types",
            ));
        }
        let location_offsets = if m.location_fields.is_empty() {
            None
        } else {
            let lf = &m.location_fields;
            Some([
                field(lf, "object_index", "snapshot.meta", offset)?,
                field(lf, "script_id", "snapshot.meta", offset)?,
                field(lf, "line", "snapshot.meta", offset)?,
                field(lf, "column", "snapshot.meta", offset)?,
            ])
        };
        let extra = raw.extra_native_bytes.unwrap_or(0.0);
        if !(extra >= 0.0 && extra.is_finite()) {
            return Err(ParseError::new(
                sec,
                offset,
                "extra_native_bytes is not a non-negative number",
            ));
        }
        Ok(Header {
            node_field_count: nf.len(),
            node_type,
            node_name: field(nf, "name", "snapshot.meta", offset)?,
            node_id: field(nf, "id", "snapshot.meta", offset)?,
            node_self_size: field(nf, "self_size", "snapshot.meta", offset)?,
            node_edge_count: field(nf, "edge_count", "snapshot.meta", offset)?,
            node_detachedness: nf.iter().position(|f| f == "detachedness"),
            node_kinds: node_type_names.iter().map(|s| NodeKind::from_name(s)).collect(),
            node_type_names,
            edge_field_count: ef.len(),
            edge_type,
            edge_name: field(ef, "name_or_index", "snapshot.meta", offset)?,
            edge_to: field(ef, "to_node", "snapshot.meta", offset)?,
            edge_kinds: edge_type_names.iter().map(|s| EdgeKind::from_name(s)).collect(),
            edge_type_names,
            location_field_count: m.location_fields.len(),
            location_offsets,
            node_count: raw.node_count,
            edge_count: raw.edge_count,
            root_index: raw.root_index.unwrap_or(0),
            extra_native_bytes: extra as u64,
            trace_function_count: raw.trace_function_count,
        })
    }
}
