//! `class-growth`: a constructor whose live count and retained size grew past the thresholds, at every step
//! of the series, with survivors (objects allocated early in the series still alive at its end).
//! The generic rule: it reports the holder of the largest cluster of survivors, and stays silent for classes
//! a specific rule explains (see [`super::evaluate`]).

use rustc_hash::FxHashMap;

use super::{DiffContext, Finding, Rule};

/// The rule.
pub struct ClassGrowth;

impl Rule for ClassGrowth {
    fn name(&self) -> &'static str {
        "class-growth"
    }

    fn tier(&self) -> u8 {
        1
    }

    fn evaluate(&self, ctx: &DiffContext) -> Vec<Finding> {
        let k = ctx.snaps.len() - 1;
        let fin = ctx.last();
        let opts = ctx.options;
        // Survivors per global class, with the most common holder.
        let mut by_class: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for &o in ctx.survivors {
            by_class.entry(ctx.class_of(k, o)).or_default().push(o);
        }
        let mut out = Vec::new();
        for row in ctx.rows {
            if DiffContext::is_internal(&row.name) || row.name.starts_with("Detached ") {
                continue;
            }
            let grew_each_step = row.counts.windows(2).all(|w| w[1] >= w[0] + opts.min_count);
            if !grew_each_step || row.surviving_count < opts.min_count {
                continue;
            }
            if row.retained_delta < opts.min_retained as i64 {
                continue;
            }
            let Some(g) = ctx.classes.get(&row.key) else { continue };
            let members = by_class.get(&g).map(Vec::as_slice).unwrap_or(&[]);
            let mut holders: FxHashMap<String, u64> = FxHashMap::default();
            for &o in members.iter().take(2000) {
                *holders.entry(ctx.holders.signature(fin, o, false)).or_default() += 1;
            }
            let holder = holders
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map(|(h, _)| h)
                .unwrap_or_default();
            let first = row.counts[0];
            let last = row.counts[k];
            out.push(Finding {
                rule: self.name().into(),
                class: row.name.clone(),
                holder,
                count_delta: last as i64 - first as i64,
                size_delta: row.size_delta,
                retained_delta: row.retained_delta,
                location: None,
                reason: format!(
                    "{} instances grew at every step ({}) and {} allocated after the first snapshot are still alive",
                    row.name,
                    row.counts.iter().map(u64::to_string).collect::<Vec<_>>().join(" -> "),
                    row.surviving_count
                ),
                held_classes: vec![],
                example_id: members.first().map(|&o| fin.snap.node_id[o as usize]),
            });
        }
        out
    }
}
