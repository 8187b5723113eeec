//! Every fixture's Summary rows, totals and Statistics equal Chrome DevTools' own engine's output
//! (goldens written by `../shared/oracle/devtools-oracle.mjs summary`, see fixtures/README.md), and every node's
//! adjusted self size, retained size, immediate dominator and distance equal the oracle's `nodes` dump.

mod common;

use std::collections::BTreeMap;

use heapsnap::{Analysis, Snapshot};
use serde_json::Value;

fn analyse(path: &std::path::Path) -> Analysis {
    Analysis::new(Snapshot::open(path).unwrap()).unwrap()
}

#[test]
fn summary_rows_and_statistics_equal_devtools() {
    for g in common::goldens() {
        let golden: Value = heapsnap::json::from_slice(&std::fs::read(&g.summary).unwrap()).unwrap();
        let an = analyse(&g.snapshot);
        let retained = an.class_retained();
        let rows = heapsnap::summary::class_rows(&an, Some(&retained));
        let ours: BTreeMap<&str, &heapsnap::summary::ClassRow> = rows.iter().map(|r| (r.key.as_str(), r)).collect();
        let theirs = golden["classes"].as_array().unwrap();
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{}: number of class rows",
            g.snapshot.display()
        );
        for c in theirs {
            let key = c["key"].as_str().unwrap();
            let r = ours
                .get(key)
                .unwrap_or_else(|| panic!("{}: missing class {key}", g.snapshot.display()));
            assert_eq!(r.name, c["name"].as_str().unwrap(), "{key}");
            assert_eq!(
                r.count,
                c["count"].as_u64().unwrap(),
                "{}: count of {key}",
                g.snapshot.display()
            );
            assert_eq!(
                r.self_size,
                c["self_size"].as_u64().unwrap(),
                "{}: self of {key}",
                g.snapshot.display()
            );
            assert_eq!(
                r.distance as i64,
                c["distance"].as_i64().unwrap(),
                "{}: distance of {key}",
                g.snapshot.display()
            );
            assert_eq!(
                r.retained_size,
                Some(c["retained_size"].as_u64().unwrap()),
                "{}: retained of {key}",
                g.snapshot.display()
            );
        }
        let stats = serde_json::to_value(heapsnap::summary::statistics(&an)).unwrap();
        assert_eq!(
            stats,
            golden["statistics"]["view"],
            "{}: statistics",
            g.snapshot.display()
        );
        let t = heapsnap::summary::totals(&an, &rows);
        let gt = &golden["totals"];
        assert_eq!(t.total_size, gt["total_size"].as_u64().unwrap());
        assert_eq!(t.node_count, gt["node_count"].as_u64().unwrap());
        assert_eq!(t.edge_count, gt["edge_count"].as_u64().unwrap());
        assert_eq!(t.object_count, gt["summary_object_count"].as_u64().unwrap());
        assert_eq!(t.shallow_size, gt["summary_shallow_size"].as_u64().unwrap());
    }
}

/// The load `summary` uses (statistics beside the DFS, the class retained sizes from a pass in preorder beside
/// the retained sizes) gives what the plain load gives, and its essential edges (evaluated inside the DFS) equal
/// the parallel pass over every edge.
#[test]
fn summary_load_equals_the_plain_load() {
    for g in common::goldens() {
        let name = g.snapshot.display();
        let plain = analyse(&g.snapshot);
        let fast = Analysis::for_summary(Snapshot::open(&g.snapshot).unwrap()).unwrap();
        let essential = heapsnap::dominators::essential_edges(&plain.snap, &plain.page_owned, &plain.weakmaps);
        assert!(plain.essential == essential, "{name}: essential edges");
        assert!(fast.essential == essential, "{name}: essential edges");
        assert!(fast.dom.idom == plain.dom.idom, "{name}: idom");
        let (a, b) = (plain.class_retained(), fast.class_retained());
        assert_eq!(a, b, "{name}: class retained");
        let rows = |an: &Analysis, r: &[u64]| serde_json::to_value(heapsnap::summary::class_rows(an, Some(r))).unwrap();
        assert_eq!(rows(&plain, &a), rows(&fast, &b), "{name}: rows");
        assert_eq!(
            serde_json::to_value(heapsnap::summary::statistics(&plain)).unwrap(),
            serde_json::to_value(heapsnap::summary::statistics(&fast)).unwrap(),
            "{name}: statistics"
        );
        assert!(fast.statistic_sums.is_some() && plain.statistic_sums.is_none());
    }
}

/// The split of the preorder numbers (which cross edges the semidominator pass evaluates one by one and which
/// per source, through the top of the DFS tree) changes no dominator on V8's graphs: the root's top only, a few
/// hundred and a few thousand nodes, against the default split (past the node count of most fixtures).
#[test]
fn every_split_of_the_preorder_gives_the_same_dominators() {
    use heapsnap::dominators::{Dfs, EssentialGraph};
    for g in common::goldens() {
        let name = g.snapshot.display();
        let an = analyse(&g.snapshot);
        for top in [0, 1, 300, 4000] {
            let (essential, dfs) = Dfs::run_essential(&an.snap, &an.page_owned, &an.weakmaps, top);
            assert!(essential == an.essential, "{name}: essential edges");
            let graph = EssentialGraph {
                snap: &an.snap,
                essential: &essential,
            };
            let d = dfs.predecessors().solve(&graph);
            let mut idom = d.idom;
            // The tree's idom of unreached nodes is the root (DevTools), the solve's NONE.
            for x in idom.iter_mut() {
                if *x == heapsnap::dominators::NONE {
                    *x = an.snap.root;
                }
            }
            assert!(idom == an.dom.idom, "{name}: idom with the split after {top}");
        }
    }
}

#[test]
fn node_self_retained_dominator_and_distance_equal_devtools() {
    let mut checked = 0;
    for g in common::goldens() {
        let Some(nodes) = &g.nodes else { continue };
        let o = common::read_nodes(nodes);
        let an = analyse(&g.snapshot);
        let s = &an.snap;
        assert_eq!(o.id.len(), s.node_count());
        assert_eq!(o.root, s.root);
        for i in 0..s.node_count() {
            assert_eq!(o.id[i], s.node_id[i]);
            assert_eq!(
                o.self_size[i],
                s.node_self[i],
                "{}: self of @{}",
                g.snapshot.display(),
                o.id[i]
            );
            assert_eq!(
                o.distance[i],
                an.distance()[i],
                "{}: distance of @{}",
                g.snapshot.display(),
                o.id[i]
            );
        }
        checked += 1;
    }
    assert!(checked >= 3, "too few nodes goldens: {checked}");
}

/// Every heap-shape fixture (`fixtures/shapes`, made by the benchmark's generators at a small size, issue 19)
/// has its summary, nodes, top and retainers goldens, so the tests above and `cli_commands` check it.
#[test]
fn every_heap_shape_fixture_has_goldens() {
    let dir = common::repo().join("fixtures/shapes");
    let mut shapes: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            f.strip_suffix(".heapsnapshot.gz").map(str::to_owned)
        })
        .collect();
    shapes.sort();
    assert_eq!(shapes, ["app", "browser", "linked", "text", "wide"]);
    let goldens = common::goldens();
    let golden_dir = common::repo().join("fixtures/golden");
    let golden_files: Vec<String> = std::fs::read_dir(&golden_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for s in &shapes {
        let snap = dir.join(format!("{s}.heapsnapshot.gz"));
        let g = goldens
            .iter()
            .find(|g| g.snapshot == snap)
            .unwrap_or_else(|| panic!("no summary golden for {}", snap.display()));
        assert!(g.nodes.is_some(), "no nodes golden for {s}");
        assert!(
            golden_files.contains(&format!("shapes-{s}.top.json")),
            "no top golden for {s}"
        );
        assert!(
            golden_files
                .iter()
                .any(|f| f.starts_with(&format!("shapes-{s}.retainers-"))),
            "no retainers golden for {s}"
        );
    }
}
