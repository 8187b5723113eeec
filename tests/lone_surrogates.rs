//! Strings stay exact when they hold lone surrogates (issue 16 item 8). `fixtures/lone-surrogates.heapsnapshot`
//! (written by Bun, which keeps a lone surrogate as a `\ud800` escape: `fixtures/gen/lone-surrogates.js`) has
//! constructor names, property names and string values with lone surrogates, and a real surrogate pair.
//! The Summary equals DevTools' engine's (the oracle golden) key for key, JSON writes the escapes back, tables show
//! them escaped, and the pair stays one character. Before, every lone surrogate became U+FFFD: `Twin\ud800` and
//! `Twin\ud801` were one class of 7 objects instead of two of 3 and 4.

mod common;

use assert_cmd::Command;
use serde_json::Value;

const SNAP: &str = "fixtures/lone-surrogates.heapsnapshot";

fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("heapsnap")
        .unwrap()
        .current_dir(common::repo())
        .env("COLUMNS", "200")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The private-use stand-ins must never leave heapsnap, nor the replacement character appear.
fn assert_no_stand_ins(text: &str, what: &str) {
    assert!(
        !text.chars().any(|c| heapsnap::strings::lone_surrogate(c).is_some()),
        "{what}: a private-use stand-in was written"
    );
    assert!(!text.contains('\u{FFFD}'), "{what}: U+FFFD was written");
}

#[test]
fn summary_equals_devtools_key_for_key() {
    let golden: Value = heapsnap::json::from_slice(
        &std::fs::read(common::repo().join("fixtures/golden/lone-surrogates.summary.json")).unwrap(),
    )
    .unwrap();
    let text = run(&["summary", SNAP, "--format", "json"]);
    assert_no_stand_ins(&text, "summary --format json");
    let ours: Value = heapsnap::json::from_str(&text).unwrap();
    let row = |rows: &Value, key: &str| rows.as_array().unwrap().iter().find(|r| r["key"] == key).cloned();
    let theirs = golden["classes"].as_array().unwrap();
    assert_eq!(ours["classes"].as_array().unwrap().len(), theirs.len(), "class rows");
    for g in theirs {
        let key = g["key"].as_str().unwrap();
        let r = row(&ours["classes"], key).unwrap_or_else(|| panic!("no class {key:?}"));
        for f in ["name", "count", "self_size", "retained_size", "distance"] {
            assert_eq!(r[f], g[f], "{key:?}: {f}");
        }
    }
    // The planted classes, as DevTools keys them (the code unit kept); two lone surrogates, two classes.
    let count = |key: &str| row(&ours["classes"], key).map(|r| r["count"].as_u64().unwrap());
    assert_eq!(count(",Twin\u{10F800}"), Some(3));
    assert_eq!(count(",Twin\u{10F801}"), Some(4));
    assert_eq!(count(",\u{10F800}Cls"), Some(2));
    assert_eq!(count(",G\u{10FFFF}"), Some(2));
    assert_eq!(count(",Rev\u{10FC00}\u{10F800}"), Some(2));
    assert_eq!(count(",{plain, k\u{10FFFF}ey, \u{10F800}key}"), Some(5));
    // A real pair is one astral character.
    assert_eq!(count(",Pair😀"), Some(2));
}

#[test]
fn json_writes_the_escapes_back() {
    let text = run(&["summary", SNAP, "--format", "json"]);
    for key in [
        r#""key": ",Twin\ud800""#,
        r#""key": ",Twin\ud801""#,
        r#""key": ",\ud800Cls""#,
        r#""key": ",G\udfff""#,
        r#""key": ",Rev\udc00\ud800""#,
        r#""key": ",{plain, k\udfffey, \ud800key}""#,
        r#""key": ",Pair😀""#,
    ] {
        assert!(text.contains(key), "no {key} in summary JSON");
    }
    // Names in `top` and `nodes` (string values), edge names in `retainers`.
    let nodes = run(&["nodes", SNAP]);
    assert_no_stand_ins(&nodes, "nodes");
    for s in [
        r#""name":"\ud800abc""#,
        r#""name":"tail\ud83d""#,
        r#""name":"\udc00\ud800 reversed pair""#,
        r#""name":"ok pair 😀""#,
    ] {
        assert!(nodes.contains(s), "no {s} in nodes");
    }
    let ret = run(&["retainers", SNAP, "@1175", "--format", "json"]);
    assert_no_stand_ins(&ret, "retainers --format json");
    assert!(ret.contains(r#""edge_name": "\ud800key""#), "{ret}");
    // What heapsnap writes, its reader reads back: the escape is the stand-in again, and round-trips.
    let v: Value = heapsnap::json::from_str(&ret).unwrap();
    assert_eq!(
        v["paths"][0]["text"],
        "GlobalObject.loneSurrogates.keyed[4].\u{10F800}key"
    );
    let back: Value = heapsnap::json::from_str(&heapsnap::json::to_string_pretty(&v).unwrap()).unwrap();
    assert_eq!(back, v);
}

#[test]
fn tables_show_the_escapes() {
    let table = run(&["summary", SNAP, "-n", "200"]);
    assert_no_stand_ins(&table, "summary table");
    for name in [
        r"Twin\u{d800}",
        r"Twin\u{d801}",
        r"\u{d800}Cls",
        r"G\u{dfff}",
        r"Rev\u{dc00}\u{d800}",
        r"{plain, k\u{dfff}ey, \u{d800}key}",
        "Pair😀",
    ] {
        assert!(table.contains(name), "no {name} in the summary table:\n{table}");
    }
    let md = run(&["summary", SNAP, "-n", "200", "--format", "markdown"]);
    assert!(
        md.contains(r"Twin\\u{d800}"),
        "markdown escapes the backslash of the escape:\n{md}"
    );
    let ret = run(&["retainers", SNAP, "@1175"]);
    assert_no_stand_ins(&ret, "retainers table");
    assert!(ret.contains(r"\u{d800}key"), "{ret}");
}
