//! `heapsnap nodes`: one record per node in snapshot order — `id, type, name, self_size, retained_size,
//! dominator_id, distance` — as NDJSON or CSV, streamed to the writer (O(1) memory beyond the analysis).
//!
//! `self_size` is DevTools' adjusted shallow size, `name` V8's name after the `Detached ` renaming (not the
//! display name: plain objects stay `Object`), `dominator_id` the root's own id for the root, `distance` the raw
//! value (-5 unreachable, ≥ 100000000 reached only from the root's system part). These are the columns of the
//! oracle's `nodes` dump, plus type and name.

use std::io::Write;

use anyhow::Result;

use crate::analysis::Analysis;
use crate::app::Outcome;
use crate::cli::{NodesArgs, NodesFormat};

/// `heapsnap nodes`.
pub fn run(a: NodesArgs, out: &mut dyn Write) -> Result<Outcome> {
    let an = crate::app::load(&a.file)?;
    crate::timing::finish_progress();
    let t = crate::timing::Phase::start("nodes dump");
    write_nodes(&an, a.format, out)?;
    t.done();
    crate::app::dispose(an);
    Ok(Outcome::Ok)
}

/// One line of `heapsnap nodes --format ndjson` (the CSV columns are the same, in this order).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct NodeRecord<'a> {
    /// V8 node id.
    pub id: u32,
    /// Node type (`object`, `closure`, `string`, ...).
    #[serde(rename = "type")]
    pub node_type: &'a str,
    /// V8's name after the `Detached ` renaming.
    pub name: &'a str,
    /// Shallow size (DevTools-adjusted).
    pub self_size: u32,
    /// Retained size.
    pub retained_size: u64,
    /// Id of the immediate dominator (the root's own id for the root).
    pub dominator_id: u32,
    /// Distance from the roots (raw: -5 unreachable, ≥ 100000000 reached only from the root's system part).
    pub distance: i32,
}

/// Write every node's record to `out` in `format`.
pub fn write_nodes(an: &Analysis, format: NodesFormat, out: &mut dyn Write) -> std::io::Result<()> {
    let s = &an.snap;
    let distance = an.distance();
    if format == NodesFormat::Csv {
        out.write_all(b"id,type,name,self_size,retained_size,dominator_id,distance\n")?;
    }
    for o in 0..s.node_count() as u32 {
        let oi = o as usize;
        let id = s.node_id[oi];
        let ty = s.type_name(o);
        let name = s.name(o);
        let self_size = s.node_self[oi];
        let retained = an.dom.retained.get(oi);
        let dom = s.node_id[an.dom.idom[oi] as usize];
        let dist = distance[oi];
        match format {
            NodesFormat::Ndjson => {
                let record = NodeRecord {
                    id,
                    node_type: ty,
                    name: &name,
                    self_size,
                    retained_size: retained,
                    dominator_id: dom,
                    distance: dist,
                };
                crate::json::to_writer(&mut *out, &record)?;
                out.write_all(b"\n")?;
            }
            NodesFormat::Csv => {
                write!(out, "{id},")?;
                csv_field(out, ty)?;
                out.write_all(b",")?;
                csv_field(out, &name)?;
                writeln!(out, ",{self_size},{retained},{dom},{dist}")?;
            }
        }
    }
    Ok(())
}

/// An RFC 4180 field: quoted (with `"` doubled) when it holds a comma, quote, CR or LF, or starts or ends
/// with a space.
pub fn csv_field(out: &mut dyn Write, s: &str) -> std::io::Result<()> {
    let needs = s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ');
    if !needs {
        return out.write_all(s.as_bytes());
    }
    out.write_all(b"\"")?;
    for (i, part) in s.split('"').enumerate() {
        if i > 0 {
            out.write_all(b"\"\"")?;
        }
        out.write_all(part.as_bytes())?;
    }
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    fn f(s: &str) -> String {
        let mut v = Vec::new();
        csv_field(&mut v, s).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(f("Array"), "Array");
        assert_eq!(f("a,b"), "\"a,b\"");
        assert_eq!(f("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(f("two\nlines"), "\"two\nlines\"");
        assert_eq!(f(" pad"), "\" pad\"");
        assert_eq!(f(""), "");
    }
}
