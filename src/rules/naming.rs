//! Names as the code names them: a holder described by the variable or property a developer would grep for
//! (`requestLog`, a module-level variable of `server.js`; the variable `buffer` captured by `onScroll`
//! (`app.js:31:12`); `bus._events['config-changed']`), closures by function name and `url:line:column`
//! (1-based, as editors show them), and a retaining path with the root and engine hops left out.
//!
//! V8 facts used: a context variable is a `context` edge from a `system / Context`, or an unnamed slot of a
//! block context named by its scope_info ([`crate::names::context_slot`]); a closure reaches its
//! context by its `context` internal edge; a context whose `previous` is the native context (or that hangs
//! from the script context table) is a module's or script's top-level scope; a closure's script is its
//! `shared` SharedFunctionInfo's `script` (`name` / `source_url`); `locations` give a closure's script id,
//! line and column (0-based).

use rustc_hash::FxHashMap;

use super::SourceLocation;
use crate::analysis::Analysis;
use crate::diff::holders::{node_label, Holders};
use crate::dominators::NONE;
use crate::header::{EdgeKind, NodeKind};
use crate::snapshot::Snapshot;

/// The target of `from`'s first internal edge named one of `names`.
fn internal(s: &Snapshot, from: u32, names: &[&[u8]]) -> Option<u32> {
    s.edges(from)
        .find(|&e| s.edge_kind(e) == EdgeKind::Internal && names.contains(&s.edge_name_bytes(e)))
        .map(|e| s.edge_to(e))
}

/// A closure's context (its `context` internal edge).
pub fn context_of(s: &Snapshot, closure: u32) -> Option<u32> {
    internal(s, closure, &[b"context"])
}

/// The name of the script a closure comes from ([`crate::names::script_url`]).
pub fn script_name(s: &Snapshot, closure: u32) -> Option<String> {
    crate::names::script_url(s, closure)
}

/// Display name of a closure: its V8 name, or `(anonymous)`.
pub fn function_name(s: &Snapshot, closure: u32) -> String {
    let n = s.name(closure);
    if n.is_empty() {
        "(anonymous)".into()
    } else {
        n.into_owned()
    }
}

/// The last path component of a script URL or file name (`/srv/app/server.js` -> `server.js`).
pub fn short_file(url: &str) -> &str {
    let u = url.split(['?', '#']).next().unwrap_or(url);
    u.rsplit(['/', '\\']).find(|p| !p.is_empty()).unwrap_or(u)
}

/// The source location of a closure: script id, 0-based line and column from `locations`, the script's name,
/// and the 1-based line and column ([`crate::names::source_position`]).
pub fn location_of(s: &Snapshot, closure: u32) -> Option<SourceLocation> {
    let p = crate::names::source_position(s, closure)?;
    Some(SourceLocation {
        script_id: p.script_id,
        line: p.line - 1,
        column: p.column - 1,
        function: Some(function_name(s, closure)),
        url: p.url,
        line_number: p.line,
        column_number: p.column,
    })
}

/// `name (url:line:column)` of a closure, 1-based, as every table shows closures ([`crate::names::closure_label`]).
pub fn describe_closure(s: &Snapshot, closure: u32) -> String {
    crate::names::closure_label(s, closure)
}

/// The closures whose context is one of `contexts` (one pass over the closures).
pub fn capturing_closures(s: &Snapshot, contexts: &[u32]) -> FxHashMap<u32, Vec<u32>> {
    let mut out: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    if contexts.is_empty() {
        return out;
    }
    for v in 0..s.node_count() as u32 {
        if s.kind(v) != NodeKind::Closure {
            continue;
        }
        if let Some(c) = context_of(s, v) {
            if contexts.contains(&c) {
                out.entry(c).or_default().push(v);
            }
        }
    }
    out
}

/// The context whose variable holds `v` (the first `context` edge on its shortest path, at most 8 hops up).
pub fn scope_context(s: &Snapshot, h: &Holders, v: u32) -> Option<u32> {
    let mut x = v;
    for _ in 0..8 {
        let e = h.parent_edge[x as usize];
        if e == NONE {
            return None;
        }
        let p = h.parent[x as usize];
        if s.edge_kind(e as usize) == EdgeKind::Context || crate::names::context_slot(s, p, e as usize).is_some() {
            return Some(p);
        }
        x = h.parent[x as usize];
    }
    None
}

/// Whether a context is a module's or script's top-level scope.
fn is_top_level(s: &Snapshot, h: &Holders, cx: u32) -> bool {
    let prev_native =
        internal(s, cx, &[b"previous"]).is_none_or(|p| s.name_bytes(p).starts_with(b"system / NativeContext"));
    let p = h.parent[cx as usize];
    let in_table = h.parent_edge[cx as usize] != NONE && s.name_bytes(p).starts_with(b"system / ScriptContextTable");
    prev_native || in_table
}

fn is_identifier(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|f| f.is_alphabetic() || f == '_' || f == '$')
        && c.all(|x| x.is_alphanumeric() || x == '_' || x == '$')
}

/// `.name` or `['name']`.
fn member(n: &str) -> String {
    if is_identifier(n) {
        format!(".{n}")
    } else if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
        format!("[{n}]")
    } else {
        format!("[{}]", serde_json::to_string(n).unwrap_or_default().replace('"', "'"))
    }
}

/// How the code names `v` (a holder), and where that name lives, using `closures` (contexts -> the closures
/// that capture them, from [`capturing_closures`]):
/// `(expression, where)`, e.g. `("requestLog", "a module-level variable of unbounded-array.js")`,
/// `("bus._events['config-changed']", "")`, `("buffer", "captured by onScroll (app.js:31:12)")`.
pub fn code_name(an: &Analysis, h: &Holders, v: u32, closures: &FxHashMap<u32, Vec<u32>>) -> (String, String) {
    let s = &an.snap;
    let mut suffix = String::new();
    let mut x = v;
    for _ in 0..8 {
        let e = h.parent_edge[x as usize];
        if e == NONE {
            return (format!("{}{suffix}", node_label(an, x)), String::new());
        }
        let e = e as usize;
        let p = h.parent[x as usize];
        // A block context's unnamed slot reads as the variable its scope_info names.
        let slot = crate::names::context_slot(s, p, e);
        let kind = if slot.is_some() {
            EdgeKind::Context
        } else {
            s.edge_kind(e)
        };
        let name = slot.unwrap_or_else(|| s.edge_name_text(e));
        match kind {
            EdgeKind::Context => {
                let expr = format!("{name}{suffix}");
                let capturing = closures.get(&p).map(Vec::as_slice).unwrap_or(&[]);
                let named = capturing.iter().copied().find(|&c| !s.name_bytes(c).is_empty());
                let file = capturing.iter().find_map(|&c| script_name(s, c));
                let place = if is_top_level(s, h, p) {
                    match file {
                        Some(f) => format!("a module-level variable of {}", short_file(&f)),
                        None => "a top-level variable".to_string(),
                    }
                } else {
                    match named.or(capturing.first().copied()) {
                        Some(c) => format!("captured by {}", describe_closure(s, c)),
                        None => "a closure variable".to_string(),
                    }
                };
                let place = if suffix.is_empty() {
                    place
                } else {
                    format!("{name}: {place}")
                };
                return (expr, place);
            }
            EdgeKind::Property | EdgeKind::Shortcut => {
                let pl = node_label(an, p);
                if pl == "global" || pl.starts_with("Window") || s.kind(p) == NodeKind::Synthetic {
                    let base = if pl == "global" { "globalThis" } else { "window" };
                    return (format!("{base}{}{suffix}", member(&name)), String::new());
                }
                suffix = format!("{}{suffix}", member(&name));
            }
            EdgeKind::Element | EdgeKind::Hidden => suffix = format!("[*]{suffix}"),
            EdgeKind::Internal => {
                // Backing stores and tables are part of their owner; other internal slots are named.
                let target = s.kind(x);
                let backing = matches!(target, NodeKind::Hidden | NodeKind::Array) || name == "context";
                if name.bytes().all(|b| b.is_ascii_digit()) {
                    suffix = format!("[*]{suffix}");
                } else if !backing {
                    suffix = format!(".{name}{suffix}");
                }
            }
            EdgeKind::Weak | EdgeKind::Other => suffix = format!(".{name}{suffix}"),
        }
        x = p;
    }
    (format!("…{suffix}"), String::new())
}

/// Whether a node on a path is a root or engine hop the one-line path leaves out.
fn is_engine_hop(an: &Analysis, v: u32) -> bool {
    let s = &an.snap;
    if s.kind(v) == NodeKind::Synthetic {
        return true;
    }
    let n = s.name_bytes(v);
    n.starts_with(b"system / Context")
        || n.starts_with(b"system / NativeContext")
        || n.starts_with(b"system / ScriptContextTable")
        || n.starts_with(b"system / ")
        || n.starts_with(b"(")
        || n.starts_with(b"V8PerContextData")
}

/// The retaining path of `v` in one line, from the last root or engine hop on (`completionHandlers > [*] >
/// onRequestDone()`): what the code reaches it by. The full path is [`Holders::path_to`].
pub fn short_path(an: &Analysis, h: &Holders, v: u32) -> String {
    let full = h.path_to(an, v);
    let chain = h.chain(&an.snap, v);
    // Index in `chain` of the last engine hop before `v`.
    let start = chain[..chain.len() - 1].iter().rposition(|&x| is_engine_hop(an, x));
    // The full text has one " > " separated part per kept hop; cut it at the hop after `start`, by name.
    let cut = start
        .map(|start| (chain[start], h.parent_edge[chain[start + 1] as usize]))
        .filter(|&(_, e)| e != NONE)
        .and_then(|(from, e)| {
            let first = crate::diff::holders::edge_label(&an.snap, from, e as usize);
            full.rfind(&format!(" > {first} "))
                .or_else(|| full.rfind(&format!(" > {first}")))
                .map(|i| full[i + 3..].to_string())
        })
        .unwrap_or(full);
    // C++ template arguments of engine classes folded, as in tables (`blink::HeapVector<…>`).
    crate::report::text::fold_templates(&cut).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_file_names_keep_the_last_component() {
        assert_eq!(short_file("/srv/app/server.js"), "server.js");
        assert_eq!(short_file("file:///tmp/p/app.js?x=1"), "app.js");
    }
}
