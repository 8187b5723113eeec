//! `listeners`: event listener lists that grew at every step: handlers added and never removed.
//!
//! Two kinds of lists, found in the last snapshot with one pass over the edges:
//! * Node `EventEmitter`s (and look-alikes): an object with an `_events` property; each property of that
//!   object is an event, whose value is one listener or an array of them. `once` wrappers (a bound function
//!   with a `listener` property) and `{fn}` records (eventemitter3) count as their listener.
//! * DOM event targets in Chromium snapshots: a native node (`Window / …`, `<div>`) with an edge to a
//!   `blink::EventTargetData`, whose vectors hold `blink::RegisteredEventListener`s, each leading
//!   (`EventListener` -> `V8EventListener`) to the handler closure. Blink does not write the event type, so
//!   a target's listeners are grouped by handler (function name and location).
//!
//! The same target is found in the earlier snapshots by id and its list counted again; a list is reported
//! when its length grew by at least `min_count / 5` at every step (10 by default: Node's own
//! `MaxListenersExceededWarning` fires past 10 listeners for one event, and healthy programs keep listener
//! lists short and stable). The finding's class is the dominant constructor that the handlers' contexts
//! capture (`Subscriber`, `PanelController`), its holder the path to the list
//! (`… > bus (EventEmitter) > _events > config-changed`, `Window / file:// > event listeners > onRouteResize()`),
//! its location the handler's. Reason: `'config-changed' listeners of bus (EventEmitter) grew at every step
//! (500 -> 2500 -> 4500): onConfigChanged handlers are added and never removed; they capture Subscriber`.
//! Retained growth is the list's (the listener array, or the registered listeners).
//!
//! Cost: O(E) on the last snapshot to find targets, then only the targets' lists in every snapshot.

use fixedbitset::FixedBitSet;
use rustc_hash::{FxHashMap, FxHashSet};

use super::closures::{self, Loc};
use super::{DiffContext, Finding, Rule, SourceLocation};
use crate::analysis::Analysis;
use crate::header::{EdgeKind, NodeKind};
use crate::snapshot::Snapshot;

/// The rule.
pub struct Listeners;

/// What identifies a list on its target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ListKey {
    /// An `EventEmitter` event name.
    Event(Vec<u8>),
    /// A DOM target's listeners with this handler (name, location).
    Handler(Vec<u8>, Option<Loc>),
}

/// One list in one snapshot.
struct List {
    key: ListKey,
    /// Handler closures.
    handlers: Vec<u32>,
    /// Nodes whose retained sizes add up to the list's (the listener array, or the registered listeners).
    containers: Vec<u32>,
}

impl List {
    fn numbers(&self, an: &Analysis) -> (u64, u64) {
        let s = &an.snap;
        let self_size: u64 = self
            .handlers
            .iter()
            .chain(&self.containers)
            .map(|&o| s.node_self[o as usize] as u64)
            .sum();
        let retained: u64 = self.containers.iter().map(|&o| an.dom.retained.get(o as usize)).sum();
        (self_size, retained)
    }
}

/// A list that grew at every step.
pub(super) struct Growing {
    /// Target (emitter or DOM node) in the last snapshot.
    target: u32,
    /// The list in the last snapshot.
    list: List,
    counts: Vec<u64>,
    self_size: Vec<u64>,
    retained: Vec<u64>,
}

/// Minimum growth of a list per step.
fn min_step(ctx: &DiffContext) -> u64 {
    (ctx.options.min_count / 5).max(1)
}

/// `b` without the `Detached ` prefix DevTools adds to detached natives.
fn undetached(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"Detached ").unwrap_or(b)
}

/// A property edge of `o` named `name`.
fn property(s: &Snapshot, o: u32, name: &[u8]) -> Option<u32> {
    s.edges(o)
        .find(|&e| s.edge_kind(e) == EdgeKind::Property && s.edge_name_bytes(e) == name)
        .map(|e| s.edge_to(e))
}

/// The handler an `_events` entry stands for: a closure (a `once` wrapper's `listener`), or an `{fn}` record's.
fn resolve(s: &Snapshot, v: u32) -> Option<u32> {
    match s.kind(v) {
        NodeKind::Closure => Some(
            property(s, v, b"listener")
                .filter(|&l| s.kind(l) == NodeKind::Closure)
                .unwrap_or(v),
        ),
        NodeKind::Object => [b"fn".as_slice(), b"listener"]
            .iter()
            .find_map(|n| property(s, v, n).filter(|&l| s.kind(l) == NodeKind::Closure)),
        _ => None,
    }
}

/// The lists of an `EventEmitter`-like object.
fn emitter_lists(s: &Snapshot, emitter: u32) -> Vec<List> {
    let mut out = Vec::new();
    let Some(events) = property(s, emitter, b"_events") else {
        return out;
    };
    for e in s.edges(events) {
        if s.edge_kind(e) != EdgeKind::Property || s.edge_name_bytes(e) == b"__proto__" {
            continue;
        }
        let v = s.edge_to(e);
        let elements: Vec<u32> = s
            .edges(v)
            .filter(|&x| s.edge_kind(x) == EdgeKind::Element)
            .map(|x| s.edge_to(x))
            .collect();
        let (handlers, containers): (Vec<u32>, Vec<u32>) = if s.kind(v) == NodeKind::Object && !elements.is_empty() {
            (elements.into_iter().filter_map(|x| resolve(s, x)).collect(), vec![v])
        } else {
            let h: Vec<u32> = resolve(s, v).into_iter().collect();
            (h.clone(), h)
        };
        if !handlers.is_empty() {
            out.push(List {
                key: ListKey::Event(s.edge_name_bytes(e).to_vec()),
                handlers,
                containers,
            });
        }
    }
    out
}

/// The handler closure of a `blink::RegisteredEventListener`: the first closure within three hops through
/// `…EventListener` natives.
fn dom_handler(s: &Snapshot, registered: u32) -> Option<u32> {
    let mut level = vec![registered];
    for _ in 0..3 {
        let mut next = Vec::new();
        for &v in &level {
            for e in s.edges(v) {
                let c = s.edge_to(e);
                match s.kind(c) {
                    NodeKind::Closure => return Some(c),
                    NodeKind::Native if memchr::memmem::find(s.name_bytes(c), b"EventListener").is_some() => {
                        next.push(c)
                    }
                    _ => {}
                }
            }
        }
        level = next;
    }
    None
}

/// The lists of a DOM event target (its `blink::EventTargetData`'s registered listeners, by handler).
fn dom_lists(s: &Snapshot, target: u32, locs: &FxHashMap<u32, Loc>) -> Vec<List> {
    let mut registered = Vec::new();
    let mut seen: FxHashSet<u32> = FxHashSet::default();
    for e in s.edges(target) {
        let d = s.edge_to(e);
        if s.kind(d) != NodeKind::Native || undetached(s.name_bytes(d)) != b"blink::EventTargetData" {
            continue;
        }
        // EventTargetData -> listener map / vectors -> backing -> RegisteredEventListener (a few blink:: hops).
        let mut stack = vec![(d, 0u8)];
        while let Some((v, depth)) = stack.pop() {
            for x in s.edges(v) {
                let c = s.edge_to(x);
                if s.kind(c) != NodeKind::Native || !seen.insert(c) {
                    continue;
                }
                let name = undetached(s.name_bytes(c));
                if name == b"blink::RegisteredEventListener" {
                    registered.push(c);
                } else if depth < 5 && name.starts_with(b"blink::") {
                    stack.push((c, depth + 1));
                }
            }
        }
    }
    let mut by_key: FxHashMap<ListKey, List> = FxHashMap::default();
    for r in registered {
        let Some(h) = dom_handler(s, r) else { continue };
        let key = ListKey::Handler(s.name_bytes(h).to_vec(), locs.get(&h).copied());
        let l = by_key.entry(key.clone()).or_insert_with(|| List {
            key,
            handlers: vec![],
            containers: vec![],
        });
        l.handlers.push(h);
        l.containers.push(r);
    }
    by_key.into_values().collect()
}

/// Lists of `target` (an emitter when `dom` is false).
fn lists_of(s: &Snapshot, target: u32, dom: bool, locs: &FxHashMap<u32, Loc>) -> Vec<List> {
    if dom {
        dom_lists(s, target, locs)
    } else {
        emitter_lists(s, target)
    }
}

/// Every listener list that grew by the threshold at every step, with its numbers in each snapshot.
pub(super) fn growing(ctx: &DiffContext) -> Vec<Growing> {
    let k = ctx.snaps.len() - 1;
    let fin = ctx.last();
    let s = &fin.snap;
    let step = min_step(ctx);
    // Targets: objects with an `_events` property, natives with an edge to a `blink::EventTargetData`.
    let events_names = s.string_ids(b"_events");
    let mut etd_names = s.string_ids(b"blink::EventTargetData");
    etd_names.extend(s.string_ids(b"Detached blink::EventTargetData"));
    let mut targets: Vec<(u32, bool)> = Vec::new();
    for u in 0..s.node_count() as u32 {
        let native = s.kind(u) == NodeKind::Native;
        for e in s.edges(u) {
            let emitter = s.edge_kind(e) == EdgeKind::Property && events_names.contains(&s.edge_name[e]);
            let to = s.edge_to(e);
            let dom = native && s.kind(to) == NodeKind::Native && etd_names.contains(&s.node_name[to as usize]);
            if emitter || dom {
                targets.push((u, dom));
                break;
            }
        }
    }
    if targets.is_empty() {
        return vec![];
    }
    let locs_last = if targets.iter().any(|t| t.1) {
        closures::closure_locations(s)
    } else {
        FxHashMap::default()
    };
    // Lists long enough in the last snapshot to have grown by `step` at every step.
    let mut cands: Vec<Growing> = Vec::new();
    for &(t, dom) in &targets {
        for list in lists_of(s, t, dom, &locs_last) {
            if list.handlers.len() as u64 >= step * k as u64 {
                let (sz, ret) = list.numbers(fin);
                let mut g = Growing {
                    target: t,
                    counts: vec![0; k + 1],
                    self_size: vec![0; k + 1],
                    retained: vec![0; k + 1],
                    list,
                };
                g.counts[k] = g.list.handlers.len() as u64;
                g.self_size[k] = sz;
                g.retained[k] = ret;
                cands.push(g);
            }
        }
    }
    // The same targets in the earlier snapshots (by id), each target's lists computed once per snapshot.
    for i in 0..k {
        let an = &ctx.snaps[i];
        let si = &an.snap;
        let locs = if cands.iter().any(|g| matches!(g.list.key, ListKey::Handler(..))) {
            closures::closure_locations(si)
        } else {
            FxHashMap::default()
        };
        let mut cache: FxHashMap<u32, Vec<List>> = FxHashMap::default();
        for g in &mut cands {
            let dom = matches!(g.list.key, ListKey::Handler(..));
            let Some(o) = ctx.find(i, s.node_id[g.target as usize]) else {
                continue;
            };
            let lists = cache.entry(o).or_insert_with(|| lists_of(si, o, dom, &locs));
            if let Some(l) = lists.iter().find(|l| l.key == g.list.key) {
                let (sz, ret) = l.numbers(an);
                g.counts[i] = l.handlers.len() as u64;
                g.self_size[i] = sz;
                g.retained[i] = ret;
            }
        }
    }
    cands.retain(|g| g.counts.windows(2).all(|w| w[1] >= w[0] + step));
    cands
}

/// The handler closures (in the last snapshot) of every list that grew at every step.
pub(super) fn listener_closures(ctx: &DiffContext) -> FixedBitSet {
    let mut out = FixedBitSet::with_capacity(ctx.last().snap.node_count());
    for g in growing(ctx) {
        for &h in &g.list.handlers {
            out.insert(h as usize);
        }
    }
    out
}

/// The dominant class the handlers' contexts capture (distinct objects; V8 internals and plain `Object`,
/// `Array`, `Function` only when nothing else is captured).
fn dominant_capture(an: &Analysis, handlers: &[u32]) -> Option<String> {
    let s = &an.snap;
    let mut seen: FxHashSet<u32> = FxHashSet::default();
    let mut per_class: FxHashMap<u32, u64> = FxHashMap::default();
    for &h in handlers {
        for o in closures::captured(s, h) {
            if seen.insert(o) {
                *per_class.entry(an.classes.of_node[o as usize]).or_default() += 1;
            }
        }
    }
    let name = |c: u32| an.classes.table[c as usize].name.as_str();
    let best = |specific: bool| {
        per_class
            .iter()
            .filter(|(&c, _)| {
                let n = name(c);
                !n.starts_with('(') && !n.contains("system /") && (!specific || !DiffContext::is_internal(n))
            })
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| name(*b.0).cmp(name(*a.0))))
            .map(|(&c, _)| name(c).to_string())
    };
    best(true).or_else(|| best(false))
}

impl Rule for Listeners {
    fn name(&self) -> &'static str {
        "listeners"
    }

    fn evaluate(&self, ctx: &DiffContext) -> Vec<Finding> {
        let k = ctx.snaps.len() - 1;
        let fin = ctx.last();
        let s = &fin.snap;
        let lists = growing(ctx);
        let locs = if lists.is_empty() {
            FxHashMap::default()
        } else {
            closures::closure_locations(s)
        };
        lists
            .into_iter()
            .map(|g| {
                let handlers = &g.list.handlers;
                let example = *handlers.last().expect("lists have handlers");
                let fname = closures::function_name(s, example);
                let class = dominant_capture(fin, handlers).unwrap_or_else(|| "Function".into());
                let mut held = closures::common_held(&closures::held_classes(fin, handlers), handlers.len());
                if let Some(p) = held.iter().position(|c| *c == class) {
                    held.remove(p);
                }
                held.insert(0, class.clone());
                let label = crate::diff::holders::node_label(fin, g.target);
                let path = ctx.holders.path_to(fin, g.target);
                let (holder, what) = match &g.list.key {
                    ListKey::Event(ev) => {
                        let ev = String::from_utf8_lossy(ev);
                        (
                            format!("{path} > _events > {ev}"),
                            format!("'{ev}' listeners of {}", short(&path)),
                        )
                    }
                    ListKey::Handler(..) => (
                        format!("{path} > event listeners > {fname}()"),
                        format!("event listeners on {label}"),
                    ),
                };
                let loc = locs.get(&example).copied();
                Finding {
                    rule: self.name().into(),
                    class: class.clone(),
                    holder,
                    count_delta: g.counts[k] as i64 - g.counts[0] as i64,
                    size_delta: g.self_size[k] as i64 - g.self_size[0] as i64,
                    retained_delta: g.retained[k] as i64 - g.retained[0] as i64,
                    location: loc.map(|(script_id, line, column)| SourceLocation {
                        script_id,
                        line,
                        column,
                        function: Some(fname.clone()),
                    }),
                    reason: format!(
                        "{what} grew at every step ({}): {fname} handlers ({}) are added and never removed; they \
                         capture {class}",
                        g.counts.iter().map(u64::to_string).collect::<Vec<_>>().join(" -> "),
                        closures::describe_location(loc, closures::script_name(s, example).as_deref()),
                    ),
                    held_classes: held,
                    example_id: Some(s.node_id[example as usize]),
                }
            })
            .collect()
    }
}

/// The last hop of a holder path (`bus (EventEmitter)`).
fn short(path: &str) -> &str {
    path.rsplit(" > ").next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::closures::tests::findings;

    #[test]
    fn finds_the_event_emitter_listener_leak() {
        let all = findings("leaks/listeners");
        let f: Vec<&Finding> = all.iter().filter(|f| f.rule == "listeners").collect();
        assert_eq!(f.len(), 1, "{all:#?}");
        let f = f[0];
        assert_eq!(f.class, "Subscriber");
        assert_eq!(f.count_delta, 4000);
        assert!(
            f.holder.ends_with("bus (EventEmitter) > _events > config-changed"),
            "{}",
            f.holder
        );
        assert_eq!(
            f.location.as_ref().unwrap().function.as_deref(),
            Some("onConfigChanged")
        );
        assert!(f.retained_delta > 0);
        assert!(
            f.reason.contains("'config-changed' listeners of bus (EventEmitter)"),
            "{}",
            f.reason
        );
        assert_eq!(all[0].rule, "listeners", "{all:#?}");
    }

    #[test]
    fn finds_the_window_resize_listeners_in_chromium() {
        let all = findings("browser/leak-detached");
        let f: Vec<&Finding> = all.iter().filter(|f| f.rule == "listeners").collect();
        assert_eq!(f.len(), 1, "{all:#?}");
        let f = f[0];
        assert_eq!(f.class, "PanelController");
        assert_eq!(f.count_delta, 50);
        // The page's global proxy starts the path, not the system roots that hold it.
        assert_eq!(f.holder, "Window / file:// > event listeners > onRouteResize()");
        assert!(
            f.reason.contains("event listeners on Window / file:// grew"),
            "{}",
            f.reason
        );
    }

    #[test]
    fn removed_listeners_are_not_findings() {
        assert!(!findings("leaks/steady-state").iter().any(|f| f.rule == "listeners"));
        // Closures pushed to an array are not listeners.
        assert!(!findings("leaks/closures").iter().any(|f| f.rule == "listeners"));
    }
}
