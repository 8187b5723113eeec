//! The JSON outputs are written down as JSON Schemas (issue 16 item 8): `schemas/<command>.schema.json`, one per
//! command, generated from the output types (src/schema.rs).
//!
//! * The generated schema equals the committed file (`HEAPSNAP_BLESS_SCHEMAS=1` rewrites the files), and
//!   `heapsnap schema CMD` prints it.
//! * Real `--format json` output of every command on the shipped fixtures validates against its schema with an
//!   independent validator (the `jsonschema` crate): summary, top, retainers (by id and by `--class`), tree,
//!   diff (a series matched by ids with CI checks, one whose ids were reassigned, two processes matched by
//!   paths), every NDJSON line of `nodes`. (`record.json` is validated where it is written: tests/record.rs.)
//! * The schemas describe every field: the same output also validates with every object closed
//!   (`additionalProperties: false` added here; the committed schemas stay open for added fields).
//! * They are strict enough to fail: a removed field, a retyped field, another `schema_version` and a field
//!   of a nested row retyped are each rejected.

mod common;

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

const COMMANDS: [&str; 7] = ["summary", "top", "retainers", "tree", "diff", "nodes", "record"];

fn schema_path(command: &str) -> PathBuf {
    common::repo().join("schemas").join(format!("{command}.schema.json"))
}

/// The committed schema of `command`.
fn committed(command: &str) -> Value {
    serde_json::from_slice(&std::fs::read(schema_path(command)).unwrap()).unwrap()
}

fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("heapsnap")
        .unwrap()
        .current_dir(common::repo())
        .args(args)
        .output()
        .unwrap();
    // `diff --fail-on` may exit 1 (a threshold crossed): still a full report.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn parse(text: &str) -> Value {
    heapsnap::json::from_str(text).unwrap()
}

/// Validation errors of `instance` against `schema` (empty: valid).
fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    let v = jsonschema::validator_for(schema).expect("a valid JSON Schema");
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// `instance` is valid against the committed schema of `command`, open and closed.
fn assert_valid(command: &str, instance: &Value, what: &str) {
    let schema = committed(command);
    let e = errors(&schema, instance);
    assert!(
        e.is_empty(),
        "{what}: not valid against schemas/{command}.schema.json: {e:#?}"
    );
    let e = errors(&common::closed_schema(schema), instance);
    assert!(e.is_empty(), "{what}: fields the schema does not describe: {e:#?}");
}

#[test]
fn committed_schemas_equal_the_generated_ones() {
    let bless = std::env::var_os("HEAPSNAP_BLESS_SCHEMAS").is_some();
    assert_eq!(COMMANDS, heapsnap::schema::COMMANDS);
    let mut stale = Vec::new();
    for c in COMMANDS {
        let text = heapsnap::schema::text_for_command(c).unwrap();
        let path = schema_path(c);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(c);
        }
    }
    assert!(
        stale.is_empty(),
        "schemas/ out of date for {stale:?}: run HEAPSNAP_BLESS_SCHEMAS=1 cargo test --test json_schemas"
    );
    // The hidden subcommand prints the same text; each schema is itself a valid draft 2020-12 schema.
    assert_eq!(
        run(&["schema", "diff"]),
        std::fs::read_to_string(schema_path("diff")).unwrap()
    );
    for c in COMMANDS {
        let s = committed(c);
        assert!(jsonschema::meta::is_valid(&s), "{c}: not a valid JSON Schema");
    }
}

#[test]
fn single_snapshot_outputs_validate() {
    for snap in [
        "fixtures/bare-node.heapsnapshot.gz",
        "fixtures/service.heapsnapshot.gz",
        "fixtures/lone-surrogates.heapsnapshot",
        "fixtures/synthetic/random-3-1000.heapsnapshot",
    ] {
        for c in ["summary", "top"] {
            let v = parse(&run(&[c, snap, "--format", "json"]));
            assert_valid(c, &v, &format!("{c} {snap}"));
        }
        let v = parse(&run(&["tree", snap, "--depth", "3", "--format", "json"]));
        assert!(!v["root"]["children"].as_array().unwrap().is_empty());
        assert_valid("tree", &v, &format!("tree {snap}"));
        let lines = run(&["nodes", snap]);
        let schema = jsonschema::validator_for(&committed("nodes")).unwrap();
        let strict = jsonschema::validator_for(&common::closed_schema(committed("nodes"))).unwrap();
        let mut n = 0;
        for line in lines.lines() {
            let v = parse(line);
            assert!(schema.is_valid(&v) && strict.is_valid(&v), "nodes {snap}: {line}");
            n += 1;
        }
        assert!(n > 900, "nodes {snap}: {n} lines");
    }
    for (snap, target) in [
        ("fixtures/service.heapsnapshot.gz", "@6177"),
        ("fixtures/bare-node.heapsnapshot.gz", "@270459488"),
        ("fixtures/lone-surrogates.heapsnapshot", "@1175"),
    ] {
        let v = parse(&run(&["retainers", snap, target, "--format", "json"]));
        assert_valid("retainers", &v, &format!("retainers {snap} {target}"));
    }
    // A closure (with its `source`), by class.
    let v = parse(&run(&[
        "retainers",
        "fixtures/leaks/closures/3.heapsnapshot.gz",
        "--class",
        "Array",
        "--format",
        "json",
    ]));
    assert_valid("retainers", &v, "retainers --class");
}

#[test]
fn diff_outputs_validate() {
    let l = "fixtures/leaks";
    let series = [
        format!("{l}/unbounded-array/1.heapsnapshot.gz"),
        format!("{l}/unbounded-array/2.heapsnapshot.gz"),
        format!("{l}/unbounded-array/3.heapsnapshot.gz"),
    ];
    // Matched by ids, a series, with CI checks (one crossed: exit 1) and findings.
    let mut args: Vec<&str> = vec!["diff"];
    args.extend(series.iter().map(String::as_str));
    args.extend([
        "--fail-on",
        "findings>0",
        "--fail-on",
        "total.size_delta>100MB",
        "--format",
        "json",
    ]);
    let v = parse(&run(&args));
    assert_eq!(v["mode"], "ids");
    assert!(!v["findings"].as_array().unwrap().is_empty());
    assert!(v["ci"]["checks"].as_array().unwrap().len() >= 2);
    assert_valid("diff", &v, "diff unbounded-array 1 2 3");
    // Ids reassigned between the snapshots of one process.
    let r = format!("{l}/express-audit/reassigned");
    let v = parse(&run(&[
        "diff",
        &format!("{r}/1.heapsnapshot.gz"),
        &format!("{r}/3.heapsnapshot.gz"),
        "--format",
        "json",
    ]));
    assert_ne!(v["mode"], "ids");
    assert_valid("diff", &v, "diff express-audit/reassigned 1 3");
    // Two processes: matched by paths.
    let v = parse(&run(&[
        "diff",
        "fixtures/service.heapsnapshot.gz",
        "fixtures/bare-node.heapsnapshot.gz",
        "--format",
        "json",
    ]));
    assert_eq!(v["mode"], "paths");
    assert_valid("diff", &v, "diff service bare-node");
}

#[test]
fn the_schemas_reject_mutated_output() {
    let snap = "fixtures/service.heapsnapshot.gz";
    let summary = parse(&run(&["summary", snap, "-n", "5", "--format", "json"]));
    let schema = committed("summary");
    assert!(errors(&schema, &summary).is_empty());
    let rejected = |what: &str, mutate: &dyn Fn(&mut Value)| {
        let mut v = summary.clone();
        mutate(&mut v);
        assert!(!errors(&schema, &v).is_empty(), "{what}: accepted");
    };
    rejected("totals removed", &|v| {
        v.as_object_mut().unwrap().remove("totals");
    });
    rejected("class_count a string", &|v| v["class_count"] = "181".into());
    rejected("schema_version 2", &|v| v["schema_version"] = 2.into());
    rejected("a row's count negative", &|v| v["classes"][0]["count"] = (-1).into());
    rejected("a row's name removed", &|v| {
        v["classes"][1].as_object_mut().unwrap().remove("name");
    });
    rejected("classes an object", &|v| v["classes"] = serde_json::json!({}));
    // The closed schema rejects a field it does not describe; the open one accepts it.
    let mut extra = summary.clone();
    extra["totals"]["surprise"] = 1.into();
    assert!(errors(&schema, &extra).is_empty());
    assert!(!errors(&common::closed_schema(schema), &extra).is_empty());

    // diff: a finding without its class, a verdict that is a number.
    let d = parse(&run(&[
        "diff",
        "fixtures/leaks/unbounded-array/1.heapsnapshot.gz",
        "fixtures/leaks/unbounded-array/3.heapsnapshot.gz",
        "--format",
        "json",
    ]));
    let schema = committed("diff");
    assert!(errors(&schema, &d).is_empty());
    let mut v = d.clone();
    v["ci"]["verdict"] = 0.into();
    assert!(!errors(&schema, &v).is_empty(), "ci.verdict a number: accepted");
    let mut v = d.clone();
    v["schema_version"] = 1.into();
    assert!(!errors(&schema, &v).is_empty(), "diff schema_version 1: accepted");
    let mut v = d;
    v["findings"][0].as_object_mut().expect("a finding").remove("class");
    assert!(!errors(&schema, &v).is_empty(), "a finding without its class: accepted");
}
