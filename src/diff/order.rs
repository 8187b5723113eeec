//! Snapshots given newest first: `diff` reads its files oldest first, and swapped files turn every leak into
//! "freed" objects. V8 numbers heap objects in the order it first sees them and never reuses a number, so the
//! newest JavaScript object of a later snapshot has a higher id than any of an earlier one. The check compares
//! the highest closure id of consecutive snapshots (closures are JavaScript objects in every snapshot, so the
//! embedder's pointer-like ids of native nodes do not enter); O(V) per snapshot.

use std::path::PathBuf;

use crate::analysis::Analysis;
use crate::header::NodeKind;

/// The highest id of a closure in `an`, if it has any.
fn newest_closure_id(an: &Analysis) -> Option<u32> {
    let s = &an.snap;
    (0..s.node_count() as u32)
        .filter(|&o| s.kind(o) == NodeKind::Closure)
        .map(|o| s.node_id[o as usize])
        .max()
}

/// A warning when a snapshot's newest closure is older than the one before it in `snaps` (given oldest
/// first): the files look swapped.
pub fn newest_first(snaps: &[Analysis], paths: &[PathBuf]) -> Option<String> {
    let ids: Vec<Option<u32>> = snaps.iter().map(newest_closure_id).collect();
    (1..snaps.len()).find_map(|i| match (ids[i - 1], ids[i]) {
        (Some(a), Some(b)) if b < a => Some(format!(
            "{} looks older than {} (its newest object is @{b}, the other's @{a}): diff reads snapshots oldest \
             first, so growth shows as freed objects; swap them?",
            paths[i].display(),
            paths[i - 1].display()
        )),
        _ => None,
    })
}
