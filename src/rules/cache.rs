//! `cache`: an object used as a dictionary (not an `Array`, `Map` or `Set`; typically a dictionary-mode
//! `Object.create(null)` or `{}` keyed by ever-new strings), the same object (by id) in every snapshot, whose
//! own property count (named `property` edges and indexed `element` edges, `__proto__` aside) grew by at
//! least `min_count` at every step, and that holds most of the growth of what accumulated in it (at least
//! half of its class's growth).
//!
//! The finding's class is the dominant constructor of the property values that accumulated (in the last
//! snapshot, not in the first), its holder the object's folded path (`… > responseCache (Object)`),
//! `count_delta` the property growth, `retained_delta` the growth of the object's retained size,
//! `size_delta` that of the shallow sizes of the object, its property store and its values, and
//! `held_classes` the classes of what accumulated. Dictionaries of closures are left to the `closures` rule;
//! the global object is never a dictionary.
//! Reason: `Object responseCache is used as a cache that grew at every step (500 -> 2500 -> 4500
//! properties) and never evicted; it holds CachedResponse (4000 new)`.
//! Cost: one parallel pass over the last snapshot's nodes and edges, then, per object with enough
//! properties, an id lookup and a read of its edges in every snapshot: O(V + E).

use super::containers::{self, Role, Series, Shape};
use super::{DiffContext, Finding, Rule};

/// The rule.
pub struct Cache;

impl Rule for Cache {
    fn name(&self) -> &'static str {
        "cache"
    }

    fn evaluate(&self, ctx: &DiffContext) -> Vec<Finding> {
        let mut out = Vec::new();
        for (o, shape) in containers::candidates(ctx, &[Shape::Dict]) {
            let Some(series) = Series::follow(ctx, o, shape) else {
                continue;
            };
            let acc = series.accumulated(ctx);
            let hist = containers::histogram(ctx, &acc, &[Role::Element]);
            if hist.first().is_none_or(|c| c.closures) {
                continue;
            }
            let Some(top) = containers::dominant(&hist) else {
                continue;
            };
            if top.count < ctx.options.min_count || !containers::holds_most_of(ctx, top.class, top.count) {
                continue;
            }
            let k = series.last();
            out.push(Finding {
                rule: self.name().into(),
                class: top.name.clone(),
                holder: containers::holder(ctx, o),
                count_delta: series.counts[k] as i64 - series.counts[0] as i64,
                size_delta: series.size_delta(ctx),
                retained_delta: series.retained_delta(ctx),
                location: None,
                reason: format!(
                    "{} {} is used as a cache that grew at every step ({} properties) and never evicted; it holds \
                     {} ({} new)",
                    crate::diff::holders::node_label(ctx.last(), o),
                    containers::name(ctx, o),
                    series.counts_text(),
                    top.name,
                    top.count
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
    fn response_cache() {
        let f = findings("cache", "cache");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.class, "CachedResponse");
        assert!(f.holder.ends_with("responseCache (Object)"), "{}", f.holder);
        assert_eq!(f.count_delta, 4000);
        assert!(f.retained_delta > 4000 * 56, "{}", f.retained_delta);
        assert!(
            f.reason
                .contains(" responseCache is used as a cache that grew at every step (500 -> 2500 -> 4500 properties)"),
            "{}",
            f.reason
        );
        assert!(f.reason.ends_with("it holds CachedResponse (4000 new)"), "{}", f.reason);
        assert_eq!(f.held_classes[0], "CachedResponse");
    }

    #[test]
    fn no_cache_elsewhere() {
        for scenario in [
            "steady-state",
            "map-keys",
            "unbounded-array",
            "unbounded-queue",
            "class-growth",
        ] {
            let f = findings(scenario, "cache");
            assert!(f.is_empty(), "{scenario}: {f:#?}");
        }
    }

    /// root -> global -> `cache` object with properties `k<id>` -> `Entry`s, plus `n_global` globals.
    fn dict_snapshot(ids: std::ops::Range<u32>, n_global: u32) -> Tiny {
        let mut t = Tiny::default();
        let root = t.node("synthetic", "", 1, 0);
        let global = t.node("object", "global", 3, 32);
        let cache = t.node("object", "Object", 5, 24);
        t.edge(root, "shortcut", "global", global);
        t.edge(global, "property", "cache", cache);
        for id in ids {
            let e = t.node("object", "Entry", id, 40);
            t.edge(cache, "property", format!("k{id}"), e);
        }
        for g in 0..n_global {
            let e = t.node("object", "Global", 100_000 + g, 40);
            t.edge(global, "property", format!("g{g}"), e);
        }
        t
    }

    #[test]
    fn synthetic_dictionary() {
        let r = diff_tiny(&[
            dict_snapshot(1000..1100, 100),
            dict_snapshot(1000..1200, 200),
            dict_snapshot(1000..1300, 300),
        ]);
        let f: Vec<_> = r.findings.iter().filter(|f| f.rule == "cache").collect();
        // The dictionary is reported; the global object, which grew the same way, is not.
        assert_eq!(f.len(), 1, "{:#?}", r.findings);
        assert_eq!(f[0].class, "Entry");
        assert_eq!(f[0].holder, "global > cache (Object)");
        assert_eq!(f[0].count_delta, 200);
    }
}
