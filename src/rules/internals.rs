//! What is not a finding by default: V8 internals, `blink::` / `cppgc` / `v8::` classes, and the browser's
//! buffers with a fixed capacity (performance-timeline entries, which the browser caps at a fixed count).
//! A class whose count stops growing is caught by the growth test itself (growth at every step); these lists
//! cover the buffers that may still be filling up within a series.

use super::points::Point;
use super::DiffContext;
use crate::analysis::Analysis;
use crate::header::{EdgeKind, NodeKind};

/// Entry classes of the browser's capped performance-timeline buffers.
pub const CAPPED_BUFFERS: &[&str] = &[
    "PerformanceLongTaskTiming",
    "PerformanceLongAnimationFrameTiming",
    "PerformanceScriptTiming",
    "PerformanceEventTiming",
    "PerformanceResourceTiming",
    "PerformanceElementTiming",
    "PerformancePaintTiming",
    "PerformanceNavigationTiming",
    "PerformanceServerTiming",
    "LargestContentfulPaint",
    "LayoutShift",
    "LayoutShiftAttribution",
    "TaskAttributionTiming",
    "VisibilityStateEntry",
    "SoftNavigationEntry",
    "InteractionContentfulPaint",
];

/// Whether a class name is an engine or browser internal (never a finding by default).
pub fn is_internal_class(name: &str) -> bool {
    let n = name.strip_prefix("Detached ").unwrap_or(name);
    (n.starts_with('(') && !is_primitive_class(n))
        || n.starts_with("system /")
        || n.starts_with("blink::")
        || n.starts_with("cppgc")
        || n.starts_with("v8::")
        || n.starts_with("V8")
        || n.starts_with("InternalNode")
        || CAPPED_BUFFERS.contains(&n)
}

/// Whether a class is a JS primitive's (strings, numbers, symbols, bigints).
pub fn is_primitive_class(name: &str) -> bool {
    matches!(
        name,
        "(string)" | "(concatenated string)" | "(sliced string)" | "(number)" | "(symbol)" | "(bigint)"
    )
}

/// Whether a point's growth is internal: most of its entries are of internal classes.
pub fn is_internal_point(ctx: &DiffContext, p: &Point) -> bool {
    let k = ctx.snaps.len() - 1;
    let internal = p
        .entries
        .iter()
        .filter(|&&e| {
            let n = ctx.class_name(k, e);
            is_internal_class(n) && !is_detached_dom(ctx.last(), e) && !holds_user_code(ctx.last(), e)
        })
        .count();
    internal * 2 > p.entries.len()
}

/// Whether `v` is a detached DOM node, or the JS wrapper of one.
pub fn is_detached_dom(an: &Analysis, v: u32) -> bool {
    let s = &an.snap;
    let detached_native = |x: u32| s.kind(x) == NodeKind::Native && s.name_bytes(x).starts_with(b"Detached ");
    detached_native(v)
        || (s.kind(v) == NodeKind::Object
            && s.edges(v)
                .any(|e| s.edge_kind(e) == EdgeKind::Internal && detached_native(s.edge_to(e))))
}

/// Whether an engine object stands for user code: a promise reaction (its handlers) or a registered event
/// listener (its handler): such lists grow when the program adds handlers.
pub fn holds_user_code(an: &Analysis, v: u32) -> bool {
    let n = an.snap.name_bytes(v);
    n.ends_with(b"PromiseReaction") || n.ends_with(b"EventListener")
}
