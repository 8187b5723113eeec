//! Terminal manners and new-user mistakes (issue 16): escaped names, tables fitted to the width, closures with
//! their source position, help that guides, mistakes caught with a clear message. Every case runs the binary
//! (assert_cmd) on a real fixture or a fixture changed programmatically.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn heapsnap() -> Command {
    let mut c = Command::cargo_bin("heapsnap").unwrap();
    c.current_dir(common::repo()).env_remove("COLUMNS");
    c
}

/// stdout of a successful run.
fn run(args: &[&str]) -> String {
    let out = heapsnap().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "heapsnap {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// (exit code, stdout, stderr) of a run.
fn run_any(args: &[&str]) -> (i32, String, String) {
    let out = heapsnap().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The name written into the snapshot: what ESLint's heap holds (a license comment) plus an escape sequence.
const NASTY: &str = "/*\n\tMIT License \u{1b}[31m";
/// How tables show it.
const NASTY_SHOWN: &str = "/*\\n\\tMIT License \\u{1b}[31m";

/// random-1-300 with the string `Array` (the name of node @271, the second largest object) replaced by [`NASTY`].
fn nasty_snapshot(dir: &Path) -> PathBuf {
    let src = std::fs::read_to_string(common::repo().join("fixtures/synthetic/random-1-300.heapsnapshot")).unwrap();
    assert_eq!(src.matches("\"Array\"").count(), 1);
    let text = src.replace("\"Array\"", &serde_json::to_string(NASTY).unwrap());
    let path = dir.join("nasty.heapsnapshot");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every line of each table has the same width: no row was broken by a newline.
fn rows_are_whole(out: &str) {
    let mut tables = 0;
    let mut width = None;
    for l in out.lines() {
        if l.starts_with('┌') {
            tables += 1;
            width = Some(l.chars().count());
        } else if let Some(w) = width {
            assert_eq!(l.chars().count(), w, "a broken row: {l}\n{out}");
            if l.starts_with('└') {
                width = None;
            }
        }
    }
    assert!(tables > 0 && width.is_none(), "{out}");
}

#[test]
fn control_characters_in_names_are_escaped_in_tables_and_exact_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = nasty_snapshot(dir.path());
    let p = path.to_str().unwrap();
    for args in [
        vec!["top", p, "-n", "5"],
        vec!["tree", p, "--depth", "3"],
        vec!["summary", p],
    ] {
        let out = run(&args);
        assert!(out.contains(NASTY_SHOWN), "{args:?}: {out}");
        assert!(!out.contains('\u{1b}'), "{args:?}: a raw escape reached the terminal");
        rows_are_whole(&out);
    }
    let out = run(&["retainers", p, "@271"]);
    assert!(out.contains(NASTY_SHOWN), "{out}");
    assert!(!out.contains('\u{1b}'));
    let md = run(&["top", p, "-n", "5", "--format", "markdown"]);
    assert!(md.contains(NASTY_SHOWN.replace('\\', "\\\\").as_str()), "{md}");
    let json: Value = serde_json::from_str(&run(&["top", p, "-n", "5", "--format", "json"])).unwrap();
    assert_eq!(json["nodes"][1]["name"], NASTY);
}

#[test]
fn every_table_fits_the_width_given() {
    let diff = [
        "diff",
        "fixtures/leaks/closures/1.heapsnapshot.gz",
        "fixtures/leaks/closures/2.heapsnapshot.gz",
        "fixtures/leaks/closures/3.heapsnapshot.gz",
    ];
    let commands: Vec<Vec<&str>> = vec![
        vec!["summary", "fixtures/service.heapsnapshot.gz", "-n", "15"],
        vec!["top", "fixtures/service.heapsnapshot.gz", "-n", "15"],
        vec!["tree", "fixtures/service.heapsnapshot.gz", "--depth", "3"],
        vec!["retainers", "fixtures/service.heapsnapshot.gz", "@85105"],
        diff.to_vec(),
    ];
    for width in [60usize, 80, 100] {
        for c in &commands {
            let w = width.to_string();
            let mut args = c.clone();
            args.extend(["--width", &w]);
            let out = run(&args);
            for l in out.lines() {
                let n = unicode_width::UnicodeWidthStr::width(l);
                assert!(n <= width, "{args:?}: {n} columns: {l}");
            }
        }
    }
    // COLUMNS is the default width; `--width 0` lifts it.
    let out = heapsnap()
        .args(["top", "fixtures/service.heapsnapshot.gz"])
        .env("COLUMNS", "70")
        .output()
        .unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(out.lines().all(|l| l.chars().count() <= 70), "{out}");
    let wide = heapsnap()
        .args(["top", "fixtures/service.heapsnapshot.gz", "--width", "0"])
        .env("COLUMNS", "70")
        .output()
        .unwrap();
    assert!(String::from_utf8(wide.stdout)
        .unwrap()
        .lines()
        .any(|l| l.chars().count() > 150));
}

#[test]
fn markdown_never_truncates() {
    let out = run(&[
        "top",
        "fixtures/service.heapsnapshot.gz",
        "--format",
        "markdown",
        "--width",
        "60",
    ]);
    assert!(
        out.contains(
            "{users, authSessions, cacheSessions, lru, router, counters, …, bus, symbols, bigints, regexps, errors}"
        ),
        "{out}"
    );
    assert!(!out.contains("a…"), "{out}");
}

#[test]
fn closures_show_their_source_position_in_top_retainers_and_tree() {
    let f = "fixtures/service.heapsnapshot.gz";
    let top = run(&["top", f, "-n", "5"]);
    assert!(top.contains("BuiltinModule (node:internal/bootstrap/realm:"), "{top}");
    let json: Value = serde_json::from_str(&run(&["top", f, "-n", "5", "--format", "json"])).unwrap();
    let closure = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "closure")
        .unwrap();
    let source = closure["source"].as_str().unwrap();
    assert!(source.starts_with("node:internal/bootstrap/realm:"), "{source}");
    // The name itself stays DevTools' (the goldens compare it).
    assert_eq!(closure["name"], "BuiltinModule");
    let id = format!("@{}", closure["id"]);
    let tree = run(&["tree", f, &id, "--depth", "1"]);
    assert!(tree.contains(&format!("BuiltinModule ({source})")), "{tree}");
    let ret = run(&["retainers", f, &id]);
    assert!(ret.contains(&format!("BuiltinModule ({source})")), "{ret}");
}

#[test]
fn the_planted_closure_reads_closures_js_23_25() {
    let f = "fixtures/leaks/closures/3.heapsnapshot.gz";
    let nodes = run(&["nodes", f]);
    let closure: Value = nodes
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|n| n["type"] == "closure" && n["name"] == "onRequestDone")
        .unwrap();
    let id = format!("@{}", closure["id"]);
    let out = run(&["retainers", f, &id, "--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let source = v["node"]["source"].as_str().unwrap_or_default();
    assert!(source.ends_with("closures.js:23:25"), "{out}");
}

// ---------------------------------------------------------------------------------------------------------------
// Help that guides (item 6).

#[test]
fn global_options_have_their_own_heading_in_every_help() {
    for sub in ["summary", "top", "retainers", "tree", "diff", "nodes"] {
        let help = run(&[sub, "-h"]);
        let (own, global) = help
            .split_once("Global options:")
            .unwrap_or_else(|| panic!("{sub}: {help}"));
        for flag in ["--threads", "--quiet", "--color", "--width"] {
            assert!(global.contains(flag) && !own.contains(flag), "{sub}: {flag}\n{help}");
        }
    }
}

#[test]
fn diff_usage_names_its_arguments() {
    let help = run(&["diff", "-h"]);
    assert!(
        help.contains("Usage: heapsnap diff [OPTIONS] <BEFORE> <AFTER> [LATER]..."),
        "{help}"
    );
    let (code, _, err) = run_any(&["diff", "fixtures/service.heapsnapshot.gz"]);
    assert_eq!(code, 2);
    assert!(err.contains("<AFTER>"), "{err}");
}

#[test]
fn retainers_without_an_id_mentions_class() {
    let (code, _, err) = run_any(&["retainers", "fixtures/service.heapsnapshot.gz"]);
    assert_eq!(code, 2);
    assert!(err.contains("--class"), "{err}");
}

#[test]
fn retainers_class_takes_a_unique_prefix_and_suggests_close_names() {
    let f = "fixtures/service.heapsnapshot.gz";
    let summary: Value = serde_json::from_str(&run(&["summary", f, "--format", "json"])).unwrap();
    let names: Vec<&str> = summary["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // A long `{a, b, …}` name and the shortest prefix of it that no other name starts with.
    let long = names
        .iter()
        .copied()
        .filter(|n| n.starts_with('{') && n.chars().count() > 30)
        .max_by_key(|n| n.len())
        .unwrap();
    let prefix = (4..long.len())
        .filter(|&i| long.is_char_boundary(i))
        .map(|i| &long[..i])
        .find(|p| names.iter().filter(|n| n.starts_with(p)).count() == 1)
        .unwrap();
    let out: Value = serde_json::from_str(&run(&["retainers", f, "--class", prefix, "--format", "json"])).unwrap();
    assert_eq!(out["node"]["class_name"], long, "prefix {prefix}");
    // A typo: the close name is suggested.
    let (code, _, err) = run_any(&["retainers", f, "--class", "Usr"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `User`"), "{err}");
    // An ambiguous prefix lists the candidates.
    let (code, _, err) = run_any(&["retainers", f, "--class", "Ma"]);
    assert_eq!(code, 2);
    assert!(err.contains("`Map`") && err.contains("`Math`"), "{err}");
}

#[test]
fn one_man_page_per_subcommand_with_exit_status_and_examples() {
    for sub in ["summary", "top", "retainers", "tree", "diff", "nodes"] {
        let page = run(&["man", sub]);
        assert!(
            page.contains(&format!(".TH heapsnap-{sub} 1")),
            "{sub}: {}",
            &page[..200.min(page.len())]
        );
        assert!(page.contains(".SH \"EXIT STATUS\""), "{sub}");
        assert!(
            page.contains(".SH EXAMPLES") && page.contains(&format!("heapsnap {sub} ")),
            "{sub}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let listed = run(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    for page in ["heapsnap.1", "heapsnap-diff.1", "heapsnap-summary.1", "heapsnap-man.1"] {
        assert!(dir.path().join(page).is_file(), "{page} missing; wrote: {listed}");
    }
    let (code, _, err) = run_any(&["man", "difff"]);
    assert_eq!(code, 2);
    assert!(err.contains("diff"), "{err}");
}

// ---------------------------------------------------------------------------------------------------------------
// Mistakes caught (item 7).

#[test]
fn an_unknown_suppress_kind_is_an_error_listing_class_and_path() {
    let (code, _, err) = run_any(&[
        "diff",
        "fixtures/leaks/closures/1.heapsnapshot.gz",
        "fixtures/leaks/closures/2.heapsnapshot.gz",
        "--suppress",
        "clas:X",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("class:") && err.contains("path:") && err.contains("clas:X"),
        "{err}"
    );
}

#[test]
fn snapshots_given_newest_first_get_a_warning() {
    let (a, b) = (
        "fixtures/leaks/closures/1.heapsnapshot.gz",
        "fixtures/leaks/closures/2.heapsnapshot.gz",
    );
    let (code, _, err) = run_any(&["diff", b, a]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning:") && err.contains("looks older than") && err.contains("swap"),
        "{err}"
    );
    let (code, _, err) = run_any(&["diff", a, b]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn profiles_and_other_json_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("package.json");
    std::fs::write(&other, br#"{"name": "app", "version": "1.0.0"}"#).unwrap();
    for (file, what) in [
        ("fixtures/profiles/work.cpuprofile", "a CPU profile (.cpuprofile)"),
        (
            "fixtures/profiles/work.heapprofile",
            "a sampling heap profile (.heapprofile)",
        ),
        (other.to_str().unwrap(), "not a heap snapshot"),
    ] {
        let (code, _, err) = run_any(&["summary", file]);
        assert_eq!(code, 2, "{file}");
        assert!(err.contains(what) && err.contains(file), "{file}: {err}");
        assert!(err.contains("record a heap snapshot"), "{err}");
    }
}

#[test]
fn a_heaptimeline_is_analysed_like_a_snapshot() {
    // Written by V8 with allocation tracking (fixtures/gen/profiles.js): trace_function_infos, trace_tree, samples.
    let f = "fixtures/profiles/timeline.heaptimeline.gz";
    let s: Value = serde_json::from_str(&run(&["summary", f, "--format", "json"])).unwrap();
    let allocated = s["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Allocated")
        .unwrap();
    assert_eq!(allocated["count"], 1000, "{allocated}");
    let top = run(&["top", f, "-n", "3"]);
    assert!(top.contains("global"), "{top}");
}

#[test]
fn top_n_0_is_a_usage_error() {
    let (code, _, err) = run_any(&["top", "fixtures/service.heapsnapshot.gz", "-n", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("at least 1"), "{err}");
}

#[test]
fn fail_on_results_show_human_sizes_beside_bytes() {
    let (code, out, err) = run_any(&[
        "diff",
        "fixtures/leaks/closures/1.heapsnapshot.gz",
        "fixtures/leaks/closures/2.heapsnapshot.gz",
        "--fail-on",
        "retained_delta>1MB",
        "--fail-on",
        "total.new_count>1",
    ]);
    assert_eq!(code, 1, "{err}");
    let line = out.lines().find(|l| l.contains("retained_delta>1MB:")).unwrap();
    assert!(line.contains(" B = +") && line.contains(" MB"), "{line}");
    let line = out.lines().find(|l| l.contains("total.new_count>1:")).unwrap();
    assert!(!line.contains(" B = "), "{line}");
}
