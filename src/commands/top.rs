//! `heapsnap top`: the largest objects by retained size (synthetic nodes excluded, as the oracle's `top`),
//! each with its shortest retaining path ([`crate::paths::shortest_paths`]).
//!
//! Selection is O(V) (`select_nth_unstable` on the candidate ordinals) plus O(N log N) for the N shown; the
//! paths are searched in parallel, one short best-first search per object.

use std::io::Write;

use anyhow::Result;
use rayon::prelude::*;

use crate::analysis::Analysis;
use crate::app::Outcome;
use crate::cli::TopArgs;
use crate::header::NodeKind;
use crate::paths::{self, by_retained_desc};
use crate::report::top::{TopNode, TopReport};
use crate::report::Render;
use crate::summary::SCHEMA_VERSION;

/// `heapsnap top`.
pub fn run(a: TopArgs, out: &mut dyn Write) -> Result<Outcome> {
    let an = crate::app::load(&a.file)?;
    let t = crate::timing::Phase::start("top report");
    let report = build_top(&an, &a.file.display().to_string(), a.limit);
    t.done();
    crate::app::dispose(an);
    report.write(a.format, out)?;
    Ok(Outcome::Ok)
}

/// The `n` largest non-synthetic nodes: retained size descending, then snapshot order.
pub fn largest(an: &Analysis, n: usize) -> (Vec<u32>, u64) {
    let s = &an.snap;
    let mut ords: Vec<u32> = (0..s.node_count() as u32)
        .filter(|&o| s.kind(o) != NodeKind::Synthetic)
        .collect();
    let candidates = ords.len() as u64;
    if n < ords.len() {
        if n == 0 {
            ords.clear();
        } else {
            ords.select_nth_unstable_by(n - 1, |&x, &y| by_retained_desc(an, x, y));
            ords.truncate(n);
        }
    }
    ords.sort_unstable_by(|&x, &y| by_retained_desc(an, x, y));
    (ords, candidates)
}

/// Build the `top` report of an analysed snapshot.
pub fn build_top(an: &Analysis, file: &str, n: usize) -> TopReport {
    let (ords, candidates) = largest(an, n);
    let s = &an.snap;
    let nodes = ords
        .par_iter()
        .map(|&o| {
            let path = paths::shortest_paths(an, o, 1).paths.first().map(|p| p.text(s));
            let oi = o as usize;
            TopNode {
                id: s.node_id[oi],
                node_type: s.type_name(o).to_string(),
                name: paths::display_name(s, o),
                class_name: an.classes.table[an.classes.of_node[oi] as usize].name.clone(),
                self_size: s.node_self[oi] as u64,
                retained_size: an.dom.retained.get(oi),
                distance: an.distance()[oi],
                dominator_id: s.node_id[an.dom.idom[oi] as usize],
                path,
                source: crate::names::closure_source(s, o),
            }
        })
        .collect();
    TopReport {
        schema_version: SCHEMA_VERSION,
        file: file.to_string(),
        total_size: an.total_size(),
        candidates,
        nodes,
    }
}
