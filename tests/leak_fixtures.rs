//! The leak reproductions (fixtures/leaks/*, fixtures/browser/leak-detached, each with a `planted.json` written
//! by its generator): every planted leak is reported with the right rule and class, ranked above every
//! finding that is not planted, and the steady-state control reports nothing.

mod common;

use heapsnap::diff::{self, DiffOptions};
use serde_json::Value;

fn planted(dir: &std::path::Path) -> Vec<(String, String)> {
    let p: Value = serde_json::from_slice(&std::fs::read(dir.join("planted.json")).unwrap()).unwrap();
    p["leaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["rule"].as_str().unwrap().to_string(),
                l["class"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn findings_of(dir: &std::path::Path) -> Vec<heapsnap::rules::Finding> {
    let files: Vec<_> = (1..=3).map(|i| dir.join(format!("{i}.heapsnapshot.gz"))).collect();
    diff::run(
        &files,
        &DiffOptions {
            cluster_classes: 8,
            clusters_per_class: 3,
            ..Default::default()
        },
    )
    .unwrap()
    .findings
}

#[test]
fn every_planted_leak_is_found_with_its_rule_and_ranked_first() {
    let mut scenarios = 0;
    for (dir, _) in common::leak_dirs() {
        let want = planted(&dir);
        let found = findings_of(&dir);
        let label = dir.display();
        if want.is_empty() {
            assert!(
                found.is_empty(),
                "{label}: a steady-state process must give no findings, got {found:#?}"
            );
            continue;
        }
        let mut worst_planted = 0;
        for (rule, class) in &want {
            let pos = found
                .iter()
                .position(|f| f.rule == *rule && f.class == *class)
                .unwrap_or_else(|| panic!("{label}: planted {rule} / {class} not reported; findings: {found:#?}"));
            worst_planted = worst_planted.max(pos);
        }
        // Every finding ranked above a planted one is itself planted.
        for f in &found[..worst_planted] {
            assert!(
                want.iter().any(|(r, c)| *r == f.rule && *c == f.class),
                "{label}: unplanted finding {} / {} ranks above a planted one",
                f.rule,
                f.class
            );
        }
        scenarios += 1;
    }
    assert!(scenarios >= 8, "only {scenarios} leak scenarios found");
}
