//! `unbounded-array` and `unbounded-queue`: a JS `Array`, the same object (by id) in every snapshot, whose
//! element count grew by at least `min_count` at every step, and that holds most of the growth of what
//! accumulated in it (at least half of its class's growth; growth spread over many arrays is `class-growth`'s).
//! An array that also lost some of its oldest elements while growing is consumed slower than it is filled:
//! `unbounded-queue`; one that only grew: `unbounded-array`.
//!
//! The finding's class is the dominant constructor of the elements that accumulated (in the last snapshot,
//! not in the first; strings and numbers only when nothing else accumulated), its holder the array's folded
//! path (`… > requestLog (Array)`), `count_delta` the element growth, `retained_delta` the growth of the
//! array's retained size, `size_delta` that of the shallow sizes of the array, its backing store and its
//! elements, and `held_classes` the classes of what accumulated. Arrays of closures are left to the
//! `closures` and `listeners` rules. One rule object reports both names (the same data decides which).
//! Reasons: `Array requestLog grew at every step (500 -> 2500 -> 4500 elements) and never shrank; it holds
//! RequestLogEntry (4000 new)` and `Array JobQueue.pending grew at every step (450 -> 2250 -> 4050 elements)
//! although its oldest were removed (400 dequeued): it is filled faster than it is consumed; it holds
//! PendingJob (3955 new)`.
//! Cost: one parallel pass over the last snapshot's nodes and edges, then, per array with enough elements,
//! an id lookup and a read of its elements in every snapshot: O(V + E).

use super::containers::{self, Role, Series, Shape};
use super::{DiffContext, Finding, Rule};

/// The rule (reports `unbounded-array` and `unbounded-queue` findings).
pub struct UnboundedArray;

impl Rule for UnboundedArray {
    fn name(&self) -> &'static str {
        "unbounded-array"
    }

    fn evaluate(&self, ctx: &DiffContext) -> Vec<Finding> {
        let mut out = Vec::new();
        for (o, shape) in containers::candidates(ctx, &[Shape::Array]) {
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
            let lost = series.lost(ctx);
            let removed: u64 = lost.iter().map(|l| l.0).sum();
            let queue = lost.iter().any(|&(n, oldest)| n > 0 && oldest);
            let k = series.last();
            let label = crate::diff::holders::node_label(ctx.last(), o);
            let growth = if queue {
                format!(
                    "although its oldest were removed ({removed} dequeued): it is filled faster than it is consumed"
                )
            } else {
                "and never shrank".to_string()
            };
            out.push(Finding {
                rule: if queue { "unbounded-queue" } else { "unbounded-array" }.into(),
                class: top.name.clone(),
                holder: containers::holder(ctx, o),
                count_delta: series.counts[k] as i64 - series.counts[0] as i64,
                size_delta: series.size_delta(ctx),
                retained_delta: series.retained_delta(ctx),
                location: None,
                reason: format!(
                    "{label} {} grew at every step ({} elements) {growth}; it holds {} ({} new)",
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
    fn request_log_is_an_unbounded_array() {
        let f = findings("unbounded-array", "unbounded-array");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.class, "RequestLogEntry");
        assert!(f.holder.ends_with("requestLog (Array)"), "{}", f.holder);
        assert_eq!(f.count_delta, 4000);
        assert!(f.retained_delta > 4000 * 72, "{}", f.retained_delta);
        assert!(f.size_delta > 4000 * 72, "{}", f.size_delta);
        assert!(
            f.reason
                .starts_with("Array requestLog grew at every step (500 -> 2500 -> 4500 elements) and never shrank"),
            "{}",
            f.reason
        );
        assert!(
            f.reason.ends_with("it holds RequestLogEntry (4000 new)"),
            "{}",
            f.reason
        );
        assert_eq!(f.held_classes[0], "RequestLogEntry");
        assert!(f.example_id.is_some());
        assert!(findings("unbounded-array", "unbounded-queue").is_empty());
    }

    #[test]
    fn job_queue_is_an_unbounded_queue() {
        let f = findings("unbounded-queue", "unbounded-queue");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.class, "PendingJob");
        assert!(f.holder.ends_with("pending (Array)"), "{}", f.holder);
        assert_eq!(f.count_delta, 3600);
        assert!(
            f.reason
                .starts_with("Array JobQueue.pending grew at every step (450 -> 2250 -> 4050 elements)"),
            "{}",
            f.reason
        );
        assert!(f.reason.contains("(400 dequeued)"), "{}", f.reason);
        assert!(findings("unbounded-queue", "unbounded-array").is_empty());
    }

    #[test]
    fn bounded_and_spread_arrays_are_not_reported() {
        // steady-state: the log is trimmed and the queue drained. class-growth: 16 arrays share the growth.
        // closures / listeners: arrays of functions are those rules' findings.
        for scenario in ["steady-state", "class-growth", "closures", "listeners"] {
            for rule in ["unbounded-array", "unbounded-queue"] {
                let f = findings(scenario, rule);
                assert!(f.is_empty(), "{scenario}: {f:#?}");
            }
        }
    }

    /// root -> global -> log (Array) holding `n` `Entry` objects from id `first_entry` on, plus `extra`.
    fn array_snapshot(ids: std::ops::Range<u32>) -> Tiny {
        let mut t = Tiny::default();
        let root = t.node("synthetic", "", 1, 0);
        let global = t.node("object", "global", 3, 32);
        let log = t.node("object", "Array", 5, 32);
        let store = t.node("array", "(object elements)", 7, 16 + 8 * ids.len() as u32);
        t.edge(root, "shortcut", "global", global);
        t.edge(global, "property", "log", log);
        t.edge(log, "internal", "elements", store);
        for (i, id) in ids.enumerate() {
            let e = t.node("object", "Entry", id, 40);
            t.edge(log, "element", i, e);
        }
        t
    }

    #[test]
    fn synthetic_array_and_queue() {
        // Grows by 100 per step, never shrinks.
        let r = diff_tiny(&[
            array_snapshot(1000..1100),
            array_snapshot(1000..1200),
            array_snapshot(1000..1300),
        ]);
        assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
        let f = &r.findings[0];
        assert_eq!((f.rule.as_str(), f.class.as_str()), ("unbounded-array", "Entry"));
        assert_eq!(f.holder, "global > log (Array)");
        assert_eq!(f.count_delta, 200);
        // Grows by 100 per step while the 10 oldest are removed at each step.
        let r = diff_tiny(&[
            array_snapshot(1000..1100),
            array_snapshot(1010..1210),
            array_snapshot(1020..1320),
        ]);
        let f = &r.findings[0];
        assert_eq!((f.rule.as_str(), f.class.as_str()), ("unbounded-queue", "Entry"));
        assert!(f.reason.contains("(20 dequeued)"), "{}", f.reason);
        // Grew in one step only: not a leak.
        let r = diff_tiny(&[
            array_snapshot(1000..1100),
            array_snapshot(1000..1300),
            array_snapshot(1000..1300),
        ]);
        assert!(
            r.findings.iter().all(|f| !f.rule.starts_with("unbounded")),
            "{:#?}",
            r.findings
        );
    }
}
