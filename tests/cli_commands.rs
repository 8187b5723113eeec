//! The `top`, `retainers`, `tree` and `nodes` commands, run as the `heapsnap` binary on the fixtures:
//! JSON outputs equal Chrome DevTools' own engine's (the oracle goldens `fixtures/golden/*.top.json`,
//! `*.retainers-<id>.json`, `*.nodes.bin.gz`), plus insta snapshots of the table output.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// Run `heapsnap ARGS` from the repository root; returns stdout (the command must succeed).
fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("heapsnap")
        .unwrap()
        .current_dir(common::repo())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "heapsnap {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Our JSON and the oracle's may hold lone `\udXXX` escapes: read with heapsnap's exact reader.
fn run_json(args: &[&str]) -> Value {
    heapsnap::json::from_str(&run(args)).unwrap()
}

fn read_json(p: &Path) -> Value {
    heapsnap::json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The snapshot a golden in `fixtures/golden/` belongs to (repo-relative), per fixtures/README.md.
fn snapshot_of(golden_name: &str) -> String {
    if let Some(rest) = golden_name.strip_prefix("synthetic-") {
        format!("fixtures/synthetic/{rest}.heapsnapshot")
    } else if let Some(rest) = golden_name.strip_prefix("shapes-") {
        format!("fixtures/shapes/{rest}.heapsnapshot.gz")
    } else {
        let plain = format!("fixtures/{golden_name}.heapsnapshot");
        if common::repo().join(&plain).exists() {
            plain
        } else {
            plain + ".gz"
        }
    }
}

/// Goldens in `fixtures/golden/` whose file name ends with `suffix`-like pattern: (golden path, stem).
fn goldens_matching(pred: impl Fn(&str) -> Option<String>) -> Vec<(PathBuf, String)> {
    let dir = common::repo().join("fixtures/golden");
    let mut out: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            pred(&f).map(|stem| (e.path(), stem))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no matching goldens in {}", dir.display());
    out
}

#[test]
fn top_json_equals_devtools_top_goldens() {
    for (golden, stem) in goldens_matching(|f| f.strip_suffix(".top.json").map(str::to_owned)) {
        let g = read_json(&golden);
        let snap = snapshot_of(&stem);
        let theirs = g["top"].as_array().unwrap();
        let n = theirs.len().to_string();
        let ours = run_json(&["top", &snap, "-n", &n, "--format", "json"]);
        assert_eq!(ours["schema_version"], 1);
        assert_eq!(ours["total_size"], g["totals"]["total_size"], "{snap}: total size");
        let nodes = ours["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), theirs.len(), "{snap}: number of nodes");
        for (i, (a, b)) in nodes.iter().zip(theirs).enumerate() {
            for k in [
                "id",
                "type",
                "name",
                "class_name",
                "self_size",
                "retained_size",
                "distance",
                "dominator_id",
            ] {
                assert_eq!(a[k], b[k], "{snap}: top[{i}].{k}");
            }
            // Every reachable node has a path; the start of a user-part path is a user root.
            if a["distance"].as_i64().unwrap() >= 0 {
                assert!(a["path"].is_string(), "{snap}: top[{i}] has no path");
            }
        }
    }
}

/// Retainers-view rows without the oracle-only fields (`edge_index`, `node_index`).
fn view_rows(v: &Value) -> Vec<Value> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let n = &i["node"];
            serde_json::json!({
                "edge_name": i["edge_name"], "edge_type": i["edge_type"],
                "node": {
                    "id": n["id"], "type": n["type"], "name": n["name"], "self_size": n["self_size"],
                    "retained_size": n["retained_size"], "distance": n["distance"],
                },
            })
        })
        .collect()
}

#[test]
fn retainers_json_equals_devtools_retainers_goldens() {
    let goldens = goldens_matching(|f| {
        f.strip_suffix(".json")
            .filter(|s| s.contains(".retainers-"))
            .map(str::to_owned)
    });
    for (golden, stem) in goldens {
        let (name, id) = stem.split_once(".retainers-").unwrap();
        let g = read_json(&golden);
        let snap = snapshot_of(name);
        let k = g["retaining_paths"]["shortest"]
            .as_array()
            .unwrap()
            .len()
            .max(1)
            .to_string();
        let limit = g["retainers_view"]["items"].as_array().unwrap().len().to_string();
        let at_id = format!("@{id}");
        let ours = run_json(&[
            "retainers",
            &snap,
            &at_id,
            "--paths",
            &k,
            "--limit",
            &limit,
            "--format",
            "json",
        ]);
        let what = format!("{snap} @{id}");
        assert_eq!(ours["node"]["id"].as_u64().unwrap().to_string(), id, "{what}");
        assert_eq!(ours["node"]["class_name"], g["node"]["class_name"], "{what}: class");
        assert_eq!(
            ours["node"]["retained_size"], g["node"]["retainedSize"],
            "{what}: retained"
        );
        assert_eq!(ours["dominator_chain"], g["dominator_chain"], "{what}: dominator chain");
        assert_eq!(
            ours["retainers_view"]["total"], g["retainers_view"]["total"],
            "{what}: retainer count"
        );
        assert_eq!(
            view_rows(&ours["retainers_view"]["items"]),
            view_rows(&g["retainers_view"]["items"]),
            "{what}: Retainers view"
        );
        assert_eq!(
            view_rows(&ours["auto_expanded_chain"]),
            view_rows(&g["auto_expanded_chain"]),
            "{what}: auto-expanded chain"
        );
        assert_eq!(
            ours["retaining_paths"], g["retaining_paths"],
            "{what}: getRetainingPaths"
        );
        // Our own paths: shortest first, each ending at the node, starting at distance 1 (user part).
        let paths = ours["paths"].as_array().unwrap();
        assert!(!paths.is_empty(), "{what}: no path");
        let lens: Vec<u64> = paths.iter().map(|p| p["length"].as_u64().unwrap()).collect();
        assert!(
            lens.windows(2).all(|w| w[0] <= w[1]),
            "{what}: paths not sorted: {lens:?}"
        );
        let dist = ours["node"]["distance"].as_u64().unwrap();
        // Node's global object is `global`; Bun's (lone-surrogates, written by Bun) is `GlobalObject`.
        let global = if name == "lone-surrogates" {
            "GlobalObject"
        } else {
            "global"
        };
        assert_eq!(lens[0], dist - 1, "{what}: shortest path length = distance - 1");
        for p in paths {
            assert_eq!(
                p["hops"].as_array().unwrap().last().unwrap()["node"]["id"],
                ours["node"]["id"]
            );
            // (A Chromium page's paths start at its roots: the browser heap shape's at `(GC roots)`.)
            if !name.ends_with("browser") {
                assert_eq!(p["start"]["name"], global, "{what}: paths start at the global object");
            }
        }
    }
}

#[test]
fn retainers_of_leaked_class_show_the_holding_array() {
    let snap = "fixtures/leaks/unbounded-array/3.heapsnapshot.gz";
    let table = run(&["retainers", snap, "--class", "RequestLogEntry"]);
    assert!(table.contains("->requestLog["), "{table}");
    assert!(table.contains("--requestLog (context)--> Array"), "{table}");
    let j = run_json(&["retainers", snap, "--class", "RequestLogEntry", "--format", "json"]);
    assert_eq!(j["node"]["class_name"], "RequestLogEntry");
    let hops = j["paths"][0]["hops"].as_array().unwrap();
    let n = hops.len();
    assert_eq!(hops[n - 2]["edge_name"], "requestLog");
    assert_eq!(hops[n - 2]["edge_type"], "context");
    assert_eq!(hops[n - 2]["node"]["name"], "Array");
    assert_eq!(hops[n - 1]["edge_type"], "element");
    // The log array dominates every entry.
    assert_eq!(j["dominator_chain"][1]["id"], hops[n - 2]["node"]["id"]);
}

#[test]
fn retainers_input_errors_exit_2() {
    let snap = "fixtures/synthetic/random-1-300.heapsnapshot";
    let cmd = |args: &[&str]| {
        Command::cargo_bin("heapsnap")
            .unwrap()
            .current_dir(common::repo())
            .args(args)
            .assert()
            .code(2)
    };
    cmd(&["retainers", snap, "@999999999"]).stderr(predicates::str::contains("no node with id @999999999"));
    cmd(&["retainers", snap, "--class", "NoSuchClass"]).stderr(predicates::str::contains("NoSuchClass"));
    cmd(&["retainers", snap, "@x1"]).stderr(predicates::str::contains("not a node id"));
    cmd(&["retainers", snap]);
    cmd(&["retainers", snap, "@1", "--paths", "0"]).stderr(predicates::str::contains("--paths"));
    cmd(&["tree", snap, "--min-size", "12 parsecs"]).stderr(predicates::str::contains("not a size"));
    cmd(&["tree", snap, "@999999999"]).stderr(predicates::str::contains("no node with id"));
}

fn check_tree(n: &Value, total_checked: &mut usize) {
    let kids = n["children"].as_array().unwrap();
    let retained = n["retained_size"].as_u64().unwrap();
    let self_size = n["self_size"].as_u64().unwrap();
    let omitted = n.get("omitted").map_or(0, |o| o["retained_size"].as_u64().unwrap());
    let omitted_count = n.get("omitted").map_or(0, |o| o["count"].as_u64().unwrap());
    if !kids.is_empty() || omitted_count > 0 {
        let sum: u64 = kids.iter().map(|c| c["retained_size"].as_u64().unwrap()).sum();
        assert_eq!(sum + omitted + self_size, retained, "children of @{}", n["id"]);
        assert_eq!(kids.len() as u64 + omitted_count, n["child_count"].as_u64().unwrap());
        *total_checked += 1;
    }
    let keys: Vec<(u64, u64)> = kids
        .iter()
        .map(|c| (c["retained_size"].as_u64().unwrap(), c["id"].as_u64().unwrap()))
        .collect();
    assert!(
        keys.windows(2)
            .all(|w| w[0].0 > w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)),
        "children of @{} not sorted",
        n["id"]
    );
    for c in kids {
        check_tree(c, total_checked);
    }
}

#[test]
fn tree_json_is_the_dominator_tree() {
    let snap = "fixtures/service.heapsnapshot.gz";
    let j = run_json(&["tree", snap, "--depth", "3", "--format", "json"]);
    assert_eq!(j["root"]["id"], 1);
    assert_eq!(j["root"]["retained_size"], j["total_size"]);
    let mut checked = 0;
    check_tree(&j["root"], &mut checked);
    assert!(checked > 10);
    // From an object, with a size floor: `global`'s children retaining ≥ 100 kB.
    let j = run_json(&[
        "tree",
        snap,
        "@6051",
        "--depth",
        "1",
        "--min-size",
        "100kB",
        "--format",
        "json",
    ]);
    assert_eq!(j["root"]["name"], "global");
    assert_eq!(j["min_size"], 100_000);
    let kids = j["root"]["children"].as_array().unwrap();
    assert!(!kids.is_empty());
    assert!(kids.iter().all(|c| c["retained_size"].as_u64().unwrap() >= 100_000));
    assert_eq!(kids[0]["id"], 74985);
    let mut checked = 0;
    check_tree(&j["root"], &mut checked);
}

/// Compare `nodes --format ndjson` with the oracle's per-node dump of the same snapshot.
fn check_nodes_against_oracle(snap: &str, golden: &Path) {
    let o = common::read_nodes(golden);
    let text = run(&["nodes", snap]);
    let mut count = 0;
    for (i, line) in text.lines().enumerate() {
        let r: Value = heapsnap::json::from_str(line).unwrap();
        assert_eq!(r["id"], o.id[i], "{snap}: node {i} id");
        assert_eq!(r["self_size"], o.self_size[i], "{snap}: @{} self", o.id[i]);
        assert_eq!(
            r["retained_size"].as_u64().unwrap() as f64,
            o.retained[i],
            "{snap}: @{} retained",
            o.id[i]
        );
        assert_eq!(r["dominator_id"], o.dominator_id[i], "{snap}: @{} dominator", o.id[i]);
        assert_eq!(r["distance"], o.distance[i], "{snap}: @{} distance", o.id[i]);
        assert!(r["type"].is_string() && r["name"].is_string());
        count += 1;
    }
    assert_eq!(count, o.id.len(), "{snap}: record count");
}

#[test]
fn nodes_ndjson_equals_oracle_nodes() {
    for (golden, stem) in goldens_matching(|f| f.strip_suffix(".nodes.bin.gz").map(str::to_owned)) {
        check_nodes_against_oracle(&snapshot_of(&stem), &golden);
    }
}

/// A minimal RFC 4180 reader (quoted fields may hold commas, doubled quotes and newlines).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => {
                assert!(field.is_empty(), "quote inside an unquoted field");
                quoted = true;
            }
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "CSV does not end with a newline"
    );
    rows
}

#[test]
fn nodes_csv_has_the_ndjson_records() {
    // service has names with commas, quotes and newlines (strings, plain-object names are not used here).
    let snap = "fixtures/service.heapsnapshot.gz";
    let rows = parse_csv(&run(&["nodes", snap, "--format", "csv"]));
    let nd = run(&["nodes", snap, "--format", "ndjson"]);
    assert_eq!(
        rows[0],
        [
            "id",
            "type",
            "name",
            "self_size",
            "retained_size",
            "dominator_id",
            "distance"
        ]
    );
    let mut tricky = 0;
    let mut n = 0;
    for (row, line) in rows[1..].iter().zip(nd.lines()) {
        let r: Value = heapsnap::json::from_str(line).unwrap();
        let name = r["name"].as_str().unwrap();
        tricky += name.contains([',', '"', '\n']) as usize;
        assert_eq!(row.len(), 7);
        assert_eq!(row[0], r["id"].to_string());
        assert_eq!(row[1], r["type"].as_str().unwrap());
        assert_eq!(row[2], name);
        for (k, key) in ["self_size", "retained_size", "dominator_id", "distance"]
            .iter()
            .enumerate()
        {
            assert_eq!(row[3 + k], r[key].to_string(), "{key} of @{}", r["id"]);
        }
        n += 1;
    }
    assert_eq!(n, rows.len() - 1);
    assert_eq!(n, nd.lines().count());
    assert!(tricky > 10, "expected names that need quoting, found {tricky}");
}

#[test]
fn top_paths_and_formats() {
    let snap = "fixtures/service.heapsnapshot.gz";
    let j = run_json(&["top", snap, "-n", "3", "--format", "json"]);
    let nodes = j["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0]["path"], "global");
    assert_eq!(nodes[1]["id"], 74985);
    assert_eq!(nodes[1]["path"], "global.app");
    let md = run(&["top", snap, "-n", "3", "--format", "markdown"]);
    assert!(md.starts_with("### Largest objects"), "{md}");
    assert!(md.contains("| global | @6051 | object |"), "{md}");
    let md = run(&["tree", snap, "--depth", "1", "--format", "markdown"]);
    assert!(md.starts_with("### Dominator tree"), "{md}");
    let md = run(&["retainers", snap, "@6177", "--format", "markdown"]);
    assert!(md.contains("global.app.authSessions[19] -> Session @6177"), "{md}");
}

#[test]
fn top_table_snapshot() {
    let out = run(&["top", "fixtures/service.heapsnapshot.gz", "-n", "10", "--width", "120"]);
    insta::assert_snapshot!("top_service_n10", out);
}

/// Issue 16 item 3: at 80 columns the names and paths are cut in their middle, then columns dropped.
#[test]
fn top_table_fits_80_columns() {
    let out = run(&["top", "fixtures/service.heapsnapshot.gz", "-n", "10", "--width", "80"]);
    for l in out.lines() {
        assert!(l.chars().count() <= 80, "{} columns: {l}", l.chars().count());
    }
    insta::assert_snapshot!("top_service_n10_width80", out);
}

#[test]
fn tree_table_snapshot() {
    let out = run(&[
        "tree",
        "fixtures/service.heapsnapshot.gz",
        "--depth",
        "2",
        "--max-children",
        "5",
        "--width",
        "100",
    ]);
    insta::assert_snapshot!("tree_service_depth2", out);
}

#[test]
fn retainers_table_snapshot() {
    let out = run(&[
        "retainers",
        "fixtures/service.heapsnapshot.gz",
        "@85105",
        "--width",
        "120",
    ]);
    insta::assert_snapshot!("retainers_service_85105", out);
}

#[test]
fn completions_and_man_page_are_generated_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = Command::cargo_bin("heapsnap")
            .unwrap()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("heapsnap") && text.contains("diff") && text.contains("retainers"),
            "{shell}"
        );
    }
    let out = Command::cargo_bin("heapsnap").unwrap().arg("man").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with(".ie") && text.contains(".SH NAME") && text.contains("summary"));
}

/// `heapsnap report` of a series takes `diff`'s checks, `--include-internals` among them: the timers series'
/// `(compiled code)` growth (an engine internal) becomes a second finding of the report only with it.
#[test]
fn report_takes_diffs_include_internals() {
    let series = [
        "fixtures/leaks/timers/1.heapsnapshot.gz",
        "fixtures/leaks/timers/2.heapsnapshot.gz",
        "fixtures/leaks/timers/3.heapsnapshot.gz",
    ];
    let findings = |extra: &[&str]| {
        let mut args = vec!["report", "-q"];
        args.extend(series);
        args.extend(extra);
        let html = run(&args);
        html.matches("class=\"finding\"").count()
    };
    assert_eq!(findings(&[]), 1, "the timer leak alone");
    assert_eq!(
        findings(&["--include-internals"]),
        2,
        "the timer leak and (compiled code)"
    );
    let json = run_json(&[
        "diff",
        "--format",
        "json",
        "--include-internals",
        series[0],
        series[1],
        series[2],
    ]);
    assert_eq!(json["findings"].as_array().unwrap().len(), 2);
}
