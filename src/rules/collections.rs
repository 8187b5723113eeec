//! `map-keys` and `set-keys`: a `Map` or `Set` (or a subclass), the same object (by id) in every snapshot,
//! whose entry count (read from its hash table, `table`) grew by at least `min_count` at every step, and that
//! holds most of the growth of what accumulated in it (at least half of its class's growth).
//! `WeakMap` and `WeakSet` are never reported: they do not keep their keys alive, so their growth is not a
//! leak of this kind (entries go when their keys die).
//!
//! The finding's class is the dominant constructor of the entries that accumulated (in the last snapshot,
//! not in the first): of the values for a Map (of the keys when the values are primitives or absent), of the
//! keys for a Set. Its holder is the collection's folded path (`… > sessions (Map)`), `count_delta` the entry
//! growth, `retained_delta` the growth of the collection's retained size, `size_delta` that of the shallow
//! sizes of the collection, its table, its keys and values, and `held_classes` the classes of the
//! accumulated keys and values. Collections of closures are left to the `closures` rule. One rule object
//! reports both names.
//! Reasons: `Map sessions grew at every step (500 -> 2500 -> 4500 entries) and never shrank; 4000 new
//! entries: keys (concatenated string) -> values SessionState` and `Set openConnections grew at every step
//! (250 -> 1250 -> 2250 entries) and never shrank; it holds ConnectionHandle (2000 new)`.
//! Cost: one parallel pass over the last snapshot's nodes and edges, then, per collection with enough
//! entries, an id lookup and a read of its table in every snapshot: O(V + E).

use super::containers::{self, Role, Series, Shape};
use super::{DiffContext, Finding, Rule};

/// The rule (reports `map-keys` and `set-keys` findings).
pub struct Collections;

/// The class names of a histogram, most first, as `A` or `A / B` (at most two).
fn classes_text(hist: &[containers::ClassCount]) -> String {
    let names: Vec<&str> = hist.iter().take(2).map(|c| c.name.as_str()).collect();
    if names.is_empty() {
        "(primitives)".into()
    } else {
        names.join(" / ")
    }
}

impl Rule for Collections {
    fn name(&self) -> &'static str {
        "map-keys"
    }

    fn evaluate(&self, ctx: &DiffContext) -> Vec<Finding> {
        let mut out = Vec::new();
        for (o, shape) in containers::candidates(ctx, &[Shape::Map, Shape::Set]) {
            let Some(series) = Series::follow(ctx, o, shape) else {
                continue;
            };
            let acc = series.accumulated(ctx);
            let keys = containers::histogram(ctx, &acc, &[Role::Key]);
            let values = containers::histogram(ctx, &acc, &[Role::Value]);
            // Map: name the values, unless only primitives (or nothing on the heap) accumulated there.
            let top = match shape {
                Shape::Map => containers::dominant(&values)
                    .filter(|c| !c.primitive)
                    .or_else(|| containers::dominant(&keys).filter(|c| !c.primitive))
                    .or_else(|| containers::dominant(&values))
                    .or_else(|| containers::dominant(&keys)),
                _ => containers::dominant(&keys),
            };
            let Some(top) = top else { continue };
            if top.closures
                || top.count < ctx.options.min_count
                || !containers::holds_most_of(ctx, top.class, top.count)
            {
                continue;
            }
            let k = series.last();
            let held = match shape {
                Shape::Map => format!(
                    "{} new entries: keys {} -> values {}",
                    containers::entry_count(&acc),
                    classes_text(&keys),
                    classes_text(&values)
                ),
                _ => format!("it holds {} ({} new)", top.name, top.count),
            };
            let mut hist = values.clone();
            hist.extend(keys.iter().cloned());
            hist.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
            out.push(Finding {
                rule: if shape == Shape::Map { "map-keys" } else { "set-keys" }.into(),
                class: top.name.clone(),
                holder: containers::holder(ctx, o),
                count_delta: series.counts[k] as i64 - series.counts[0] as i64,
                size_delta: series.size_delta(ctx),
                retained_delta: series.retained_delta(ctx),
                location: None,
                reason: format!(
                    "{} {} grew at every step ({} entries) and never shrank; {held}",
                    crate::diff::holders::node_label(ctx.last(), o),
                    containers::name(ctx, o),
                    series.counts_text(),
                ),
                held_classes: containers::held_classes(&hist),
                example_id: Some(ctx.last().snap.node_id[top.example as usize]),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::containers::testing::{diff_tiny, findings, Tiny};

    #[test]
    fn sessions_map_and_connections_set() {
        let m = findings("map-keys", "map-keys");
        assert_eq!(m.len(), 1, "{m:#?}");
        let m = &m[0];
        assert_eq!(m.class, "SessionState");
        assert!(m.holder.ends_with("sessions (Map)"), "{}", m.holder);
        assert_eq!(m.count_delta, 4000);
        assert!(m.retained_delta > 4000 * 64, "{}", m.retained_delta);
        assert!(
            m.reason
                .starts_with("Map sessions grew at every step (500 -> 2500 -> 4500 entries)"),
            "{}",
            m.reason
        );
        assert!(m.reason.contains("; 4000 new entries: keys "), "{}", m.reason);
        assert!(m.reason.ends_with("-> values SessionState"), "{}", m.reason);
        assert_eq!(m.held_classes, ["SessionState"]);

        let s = findings("map-keys", "set-keys");
        assert_eq!(s.len(), 1, "{s:#?}");
        let s = &s[0];
        assert_eq!(s.class, "ConnectionHandle");
        assert!(s.holder.ends_with("openConnections (Set)"), "{}", s.holder);
        assert_eq!(s.count_delta, 2000);
        assert_eq!(
            s.reason,
            "Set openConnections grew at every step (250 -> 1250 -> 2250 entries) and never shrank; it holds \
             ConnectionHandle (2000 new)"
        );
    }

    #[test]
    fn bounded_collections_are_not_reported() {
        // steady-state: sessions expire, connections close, the response cache is a 200-entry LRU Map.
        for scenario in ["steady-state", "cache", "unbounded-array"] {
            for rule in ["map-keys", "set-keys"] {
                let f = findings(scenario, rule);
                assert!(f.is_empty(), "{scenario}: {f:#?}");
            }
        }
    }

    /// root -> global -> `kind` collection (id 5) whose table (a fresh id per snapshot, as V8 reallocates it)
    /// holds `Key` -> `Entry` pairs with ids from `ids` (small-integer keys, absent from snapshots, without
    /// `keys`), laid out as V8 does (3 header slots, `b` buckets, `[key, value, chain]` entries).
    fn collection(kind: &str, ids: std::ops::Range<u32>, table_id: u32, keys: bool) -> Tiny {
        let mut t = Tiny::default();
        let root = t.node("synthetic", "", 1, 0);
        let global = t.node("object", "global", 3, 32);
        let c = t.node("object", kind, 5, 32);
        let n = ids.len() as u32;
        let buckets = (n / 2).next_power_of_two();
        let table = t.node("array", "", table_id, 16 + 8 * (3 + 7 * buckets));
        t.edge(root, "shortcut", "global", global);
        t.edge(global, "property", "registry", c);
        t.edge(c, "internal", "table", table);
        for (i, id) in ids.enumerate() {
            let slot = 3 + buckets + 3 * i as u32;
            if keys {
                let key = t.node("object", "Key", 2 * id, 24);
                t.edge(table, "internal", slot, key);
            }
            let value = t.node("object", "Entry", 2 * id + 1, 40);
            t.edge(table, "internal", slot + 1, value);
        }
        t
    }

    #[test]
    fn a_growing_map_is_reported_and_a_growing_weak_map_is_not() {
        let series = |kind: &str| {
            diff_tiny(&[
                collection(kind, 1000..1100, 7, true),
                collection(kind, 1000..1200, 9, true),
                collection(kind, 1000..1300, 11, true),
            ])
        };
        let r = series("Map");
        let f: Vec<_> = r.findings.iter().filter(|f| f.rule == "map-keys").collect();
        assert_eq!(f.len(), 1, "{:#?}", r.findings);
        assert_eq!(f[0].class, "Entry");
        assert_eq!(f[0].holder, "global > registry (Map)");
        assert_eq!(f[0].count_delta, 200);
        assert!(f[0].reason.contains("keys Key -> values Entry"), "{}", f[0].reason);

        for weak in ["WeakMap", "WeakSet"] {
            let r = series(weak);
            assert!(
                r.findings.iter().all(|f| f.rule != "map-keys" && f.rule != "set-keys"),
                "{weak}: {:#?}",
                r.findings
            );
        }
        // The same table under a Set: every object is a key.
        let r = series("Set");
        let f: Vec<_> = r.findings.iter().filter(|f| f.rule == "set-keys").collect();
        assert_eq!(f.len(), 1, "{:#?}", r.findings);
    }

    #[test]
    fn small_integer_keys_leave_values_only() {
        // 100, 200, 300 entries: 64, 128, 256 buckets, so the values' slot residue is 2, 0, 2.
        let r = diff_tiny(&[
            collection("Map", 1000..1100, 7, false),
            collection("Map", 1000..1200, 9, false),
            collection("Map", 1000..1300, 11, false),
        ]);
        let f: Vec<_> = r.findings.iter().filter(|f| f.rule == "map-keys").collect();
        assert_eq!(f.len(), 1, "{:#?}", r.findings);
        assert_eq!(f[0].class, "Entry");
        assert_eq!(f[0].count_delta, 200);
        assert!(
            f[0].reason
                .ends_with("200 new entries: keys (primitives) -> values Entry"),
            "{}",
            f[0].reason
        );
    }
}
