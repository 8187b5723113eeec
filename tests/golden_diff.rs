//! `heapsnap diff A B` Comparison rows equal Chrome DevTools' Comparison view (goldens written by
//! `../shared/oracle/devtools-oracle.mjs diff` for every leak reproduction, steps 1->2 and 2->3), row for row:
//! new, deleted, delta, alloc, freed and size delta, and the same set of rows.

mod common;

use std::collections::BTreeMap;

use heapsnap::diff::{self, DiffOptions, Mode};
use serde_json::Value;

#[test]
fn comparison_rows_equal_devtools_on_every_leak_reproduction() {
    let mut checked = 0;
    for (scenario, golden_dir) in common::leak_dirs() {
        for (a, b) in [(1, 2), (2, 3)] {
            let golden = golden_dir.join(format!("diff-{a}-{b}.json"));
            let Ok(text) = std::fs::read(&golden) else { continue };
            let g: Value = serde_json::from_slice(&text).unwrap();
            let files = [
                scenario.join(format!("{a}.heapsnapshot.gz")),
                scenario.join(format!("{b}.heapsnapshot.gz")),
            ];
            let report = diff::run(&files, &DiffOptions::default()).unwrap();
            assert_eq!(report.mode, Mode::Ids);
            let ours: BTreeMap<&str, _> = report
                .classes
                .iter()
                .filter(|r| r.new_count.unwrap_or(0) + r.deleted_count.unwrap_or(0) > 0)
                .map(|r| (r.key.as_str(), r))
                .collect();
            let theirs = g["classes"].as_array().unwrap();
            let label = format!("{} {a}->{b}", scenario.display());
            assert_eq!(ours.len(), theirs.len(), "{label}: number of rows");
            for c in theirs {
                let key = c["key"].as_str().unwrap();
                let r = ours.get(key).unwrap_or_else(|| panic!("{label}: missing row {key}"));
                assert_eq!(r.name, c["name"].as_str().unwrap(), "{label} {key}");
                assert_eq!(r.new_count, c["new_count"].as_u64(), "{label} {key} new");
                assert_eq!(r.deleted_count, c["deleted_count"].as_u64(), "{label} {key} deleted");
                assert_eq!(r.delta_count, c["delta_count"].as_i64().unwrap(), "{label} {key} delta");
                assert_eq!(r.alloc_size, c["alloc_size"].as_u64(), "{label} {key} alloc");
                assert_eq!(r.freed_size, c["freed_size"].as_u64(), "{label} {key} freed");
                assert_eq!(
                    r.size_delta,
                    c["size_delta"].as_i64().unwrap(),
                    "{label} {key} size delta"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 16, "only {checked} diff goldens found");
}

#[test]
fn snapshots_of_different_processes_are_matched_by_paths() {
    let r = common::repo().join("fixtures");
    let files = [
        r.join("bare-node.heapsnapshot.gz"),
        r.join("browser/page.heapsnapshot.gz"),
    ];
    let report = diff::run(&files, &DiffOptions::default()).unwrap();
    assert_eq!(report.mode, Mode::Paths);
    assert!(report.note.as_deref().unwrap().contains("separate processes"));
    assert!(report.totals.new_count.is_none());
}

/// Two Node processes of one binary share their start-up heap: a fifth of the ids, with the same classes and
/// names. Later objects' ids collide with unrelated objects, mostly of coarse classes that still agree
/// (`(string)`, `(array)`): the names give it away.
#[test]
fn two_node_processes_of_one_binary_are_matched_by_paths() {
    let r = common::repo().join("fixtures");
    for (a, b) in [
        ("service.heapsnapshot.gz", "bare-node.heapsnapshot.gz"),
        ("bare-node.heapsnapshot.gz", "leaks/steady-state/1.heapsnapshot.gz"),
        ("leaks/cache/1.heapsnapshot.gz", "leaks/map-keys/1.heapsnapshot.gz"),
    ] {
        let report = diff::run(&[r.join(a), r.join(b)], &DiffOptions::default()).unwrap();
        assert_eq!(report.mode, Mode::Paths, "{a} {b}");
        assert!(report.note.as_deref().unwrap().contains("reassigned"), "{a} {b}");
        assert!(report.clusters.is_empty(), "{a} {b}");
    }
    // Snapshots of one process stay matched by id.
    let report = diff::run(
        &[
            r.join("leaks/cache/1.heapsnapshot.gz"),
            r.join("leaks/cache/3.heapsnapshot.gz"),
        ],
        &DiffOptions::default(),
    )
    .unwrap();
    assert_eq!(report.mode, Mode::Ids);
}
