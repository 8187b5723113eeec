//! The HTML report (`heapsnap report`, `summary --format html`, `diff --format html`): the same bytes for the
//! same input, the embedded data bounded by the node budget, hostile names escaped in the JSON and the HTML;
//! and, in headless Chromium (tests/browser/report-check.mjs), a page that makes no request and logs no error,
//! whose treemap's largest block is `tree`'s largest subtree, zooms 5 levels deep and back, whose finding
//! expands to its holder path and whose growth chart shows the planted class rising.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use heapsnap::report::human_size;
use serde_json::Value;

fn fixture(p: &str) -> String {
    common::repo().join("fixtures").join(p).display().to_string()
}

fn leak_series() -> Vec<String> {
    (1..=3)
        .map(|i| fixture(&format!("leaks/unbounded-array/{i}.heapsnapshot.gz")))
        .collect()
}

/// Run heapsnap, return (stdout, exit code).
fn heapsnap(args: &[&str]) -> (Vec<u8>, i32) {
    let out = Command::cargo_bin("heapsnap").unwrap().args(args).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "heapsnap {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.stdout, out.status.code().unwrap())
}

fn report_to(args: &[&str], file: &Path) -> (Vec<u8>, i32) {
    let mut a = vec!["report", "-o", file.to_str().unwrap()];
    a.extend_from_slice(args);
    let (_, code) = heapsnap(&a);
    (std::fs::read(file).unwrap(), code)
}

/// The JSON of the treemap's `<script type="application/json">`.
fn tree_data(html: &str) -> Value {
    let start = html
        .find("<script type=\"application/json\" id=\"tree-data\">")
        .unwrap();
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..];
    let end = body.find("</script>").unwrap();
    serde_json::from_str(&body[..end]).unwrap()
}

#[test]
fn same_input_same_bytes_and_every_door_writes_the_same_document() {
    let dir = tempfile::tempdir().unwrap();
    let service = fixture("service.heapsnapshot.gz");
    let (a, _) = report_to(&[&service], &dir.path().join("a.html"));
    let (b, _) = report_to(&[&service], &dir.path().join("b.html"));
    assert!(a == b, "two reports of one snapshot differ");
    let (c, _) = heapsnap(&["summary", &service, "--format", "html"]);
    assert!(a == c, "summary --format html differs from report");
    let series = leak_series();
    let s: Vec<&str> = series.iter().map(String::as_str).collect();
    let (x, _) = report_to(&s, &dir.path().join("x.html"));
    let (y, _) = report_to(&s, &dir.path().join("y.html"));
    assert!(x == y, "two reports of one series differ");
    let mut args = vec!["diff", "--format", "html"];
    args.extend_from_slice(&s);
    let (z, _) = heapsnap(&args);
    assert!(x == z, "diff --format html differs from report");
    let text = String::from_utf8(x).unwrap();
    assert!(text.contains("RequestLogEntry") && text.contains("requestLog (Array)"));
}

#[test]
fn embedded_data_is_bounded_by_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    // The largest committed snapshot of one process (55 k nodes) and the leak series.
    let last = leak_series()[2].clone();
    let mut sizes = Vec::new();
    for budget in [1usize, 100, 1000, 5000, 1_000_000] {
        let (html, _) = report_to(
            &[&last, "--max-nodes", &budget.to_string()],
            &dir.path().join(format!("r{budget}.html")),
        );
        let html = String::from_utf8(html).unwrap();
        let nodes = tree_data(&html)["nodes"].as_array().unwrap().len();
        assert!(nodes <= budget, "--max-nodes {budget}: {nodes} nodes embedded");
        sizes.push((budget, nodes, html.len()));
    }
    // The page without the tree is small and the tree costs about 100 bytes a node (names cut to 160 chars).
    for &(budget, nodes, len) in &sizes {
        assert!(
            len < 250_000 + 200 * nodes,
            "--max-nodes {budget}: {len} bytes for {nodes} nodes"
        );
    }
    assert!(
        sizes[4].1 > 50_000,
        "the whole tree when the budget allows it: {:?}",
        sizes[4]
    );
    // A series: the findings' dominator chains on top of the budget, highlighted.
    let series = leak_series();
    let mut args: Vec<&str> = series.iter().map(String::as_str).collect();
    args.extend(["--max-nodes", "10"]);
    let (html, _) = report_to(&args, &dir.path().join("series.html"));
    let data = tree_data(&String::from_utf8(html).unwrap());
    let rows = data["nodes"].as_array().unwrap();
    let lit: Vec<&Value> = rows.iter().filter(|r| r[9] == 1).collect();
    assert!(
        !lit.is_empty() && rows.len() <= 10 + lit.len(),
        "{} rows, {} highlighted",
        rows.len(),
        lit.len()
    );
}

#[test]
fn hostile_names_are_escaped_in_the_json_and_the_html() {
    let dir = tempfile::tempdir().unwrap();
    let (html, _) = report_to(&[&fixture("hostile-names.heapsnapshot.gz")], &dir.path().join("h.html"));
    let html = String::from_utf8(html).unwrap();
    // Exactly the two script elements of the page, no injected markup.
    assert_eq!(html.matches("<script").count(), 2, "script elements");
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(!html.contains("<img"));
    assert!(!html.contains("window.__pwned = 1</script>"));
    // The names are in the tables, escaped, and in the JSON, intact once parsed.
    assert!(
        html.contains("&lt;&#x2f;script&gt;&lt;script&gt;window.__pwned")
            || html.contains("&lt;/script&gt;&lt;script&gt;window.__pwned")
    );
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned = 2&quot;&gt;"));
    let data = tree_data(&html);
    let strings: Vec<&str> = data["strings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        strings
            .iter()
            .any(|s| s.starts_with("</script><script>window.__pwned = 1</script>")),
        "{strings:?}"
    );
    assert!(strings.iter().any(|s| s.contains("line\u{2028}separator</style>")));
}

#[test]
fn report_takes_diff_thresholds_and_exit_code_and_never_overwrites_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let series = leak_series();
    let mut args: Vec<&str> = series.iter().map(String::as_str).collect();
    args.extend(["--fail-on", "findings>0"]);
    let (html, code) = report_to(&args, &dir.path().join("ci.html"));
    assert_eq!(code, 1, "a crossed threshold exits 1");
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("CI verdict: <span class=\"mark\">fail</span>"));
    // -o naming an input is refused before anything is loaded, and the input is untouched.
    let copy = dir.path().join("copy.heapsnapshot.gz");
    std::fs::copy(&series[0], &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    Command::cargo_bin("heapsnap")
        .unwrap()
        .args(["report", copy.to_str().unwrap(), "-o", copy.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("that is an input snapshot"));
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    // Commands whose HTML does not exist say so before loading.
    Command::cargo_bin("heapsnap")
        .unwrap()
        .args(["top", "/nonexistent.heapsnapshot", "--format", "html"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "only `summary`, `diff` and `report` write HTML",
        ));
}

// ---- Headless Chromium ----

/// Chromium and puppeteer-core (fixtures/gen/browser, `npm ci`), or why the browser tests cannot run.
fn browser_tools() -> Result<(), String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!(
            "no Chromium at {chromium} (apt-get install chromium; .ci/run installs it)"
        ));
    }
    if Process::new("node").arg("--version").output().is_err() {
        return Err("no node on PATH".into());
    }
    let pptr = common::repo().join("fixtures/gen/browser/node_modules/puppeteer-core");
    if !pptr.exists() {
        return Err(format!(
            "no {} (run `npm ci` in fixtures/gen/browser; .ci/run does)",
            pptr.display()
        ));
    }
    Ok(())
}

/// Where the screenshots go (kept as test artifacts).
fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-report-screenshots")
}

fn drive(report: &Path, name: &str) -> Value {
    let out = Process::new("node")
        .arg(common::repo().join("tests/browser/report-check.mjs"))
        .arg(report)
        .arg(shots())
        .arg(name)
        .arg("5")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "report-check.mjs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "console_errors",
        "page_errors",
        "requests",
        "failed_requests",
        "dialogs",
    ] {
        assert_eq!(v[k], serde_json::json!([]), "{name}: {k}");
    }
    assert_eq!(v["pwned"], Value::Null);
    assert_eq!(v["injected_img"], 0);
    let views = [
        &v["root_view"],
        &v["deep_view"],
        &v["cut_zoom"]["view"],
        &v["zero_more_zoom"]["view"],
        &v["deepest_zoom"]["view"],
    ];
    for view in views {
        zoomed_view_adds_up(name, view);
    }
    v
}

/// A zoomed view (report-check.mjs's `inspect`) shows everything its block holds: the table's bytes add up
/// to the block's retained size; its own size and its "N more" are blocks of the first level, labelled with
/// their bytes as `summary` formats sizes (the "N more" also when it retains 0 B); the map's blocks of 2% or
/// more have their share of the area.
fn zoomed_view_adds_up(name: &str, view: &Value) {
    let n = |k: &str| view[k].as_u64().unwrap();
    assert_eq!(n("table_sum"), n("retained"), "{name}: {view}");
    if n("self") > 0 {
        assert_eq!(view["own"]["bytes"], n("self"), "{name}: own size block: {view}");
        assert_eq!(
            view["own"]["aria"],
            format!("own size, {}", human_size(n("self"))),
            "{name}"
        );
    }
    if n("more_count") > 0 {
        let label = format!("… {} more, {}", n("more_count"), human_size(n("more_retained")));
        assert_eq!(view["more"]["aria"], label, "{name}: {view}");
        assert_eq!(view["more"]["bytes"], n("more_retained"));
    } else {
        assert_eq!(view["more"], Value::Null, "{name}: {view}");
    }
    let err = view["area_error"].as_f64().unwrap();
    assert!(err < 0.01, "{name}: areas off by {err}: {view}");
}

/// Zoomed by one click per level down to its target (`target_depth` deep).
fn reached(zoom: &Value) -> bool {
    let target = zoom["target_depth"].as_u64().unwrap();
    let depths: Vec<u64> = zoom["depths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect();
    depths == (1..=target).collect::<Vec<_>>() && zoom["view"]["depth"] == target
}

#[test]
fn reports_in_headless_chromium() {
    if let Err(why) = browser_tools() {
        eprintln!("SKIPPED reports_in_headless_chromium: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let service = fixture("service.heapsnapshot.gz");

    // One snapshot: the largest block is the root's largest child in `tree`.
    let page = dir.path().join("service.html");
    report_to(&[&service], &page);
    let v = drive(&page, "service");
    assert_eq!(v["kind"], "snapshot");
    let (tree, _) = heapsnap(&["tree", &service, "--depth", "1", "--format", "json"]);
    let tree: Value = serde_json::from_slice(&tree).unwrap();
    assert_eq!(v["largest_block_id"], tree["root"]["children"][0]["id"]);
    assert_eq!(v["level1_ids_by_area"][1], tree["root"]["children"][1]["id"]);
    // Zoom 5 levels deep by clicks, back by the breadcrumb; Enter and Escape.
    let depths: Vec<u64> = v["zoom_depths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect();
    assert_eq!(depths, vec![1, 2, 3, 4, 5], "{v}");
    assert_eq!(v["crumbs"].as_array().unwrap().len(), 6);
    // Nested as deep as blocks fit, past the three levels report.js once stopped at.
    assert!(v["max_level_at_root"].as_u64().unwrap() > 3, "{v}");
    // Into a block whose children were all cut: its "N more" and own size, no child.
    let cut = &v["cut_zoom"];
    assert!(cut["target_depth"].as_u64().unwrap() >= 5 && reached(cut), "{cut}");
    assert_eq!(cut["view"]["kids_drawn"], 0);
    assert!(cut["view"]["more_retained"].as_u64().unwrap() > 0, "{cut}");
    // Into a block whose "N more" retains 0 B: shown and labelled all the same.
    let zero = &v["zero_more_zoom"];
    assert!(reached(zero), "{zero}");
    assert_eq!(zero["view"]["more_retained"], 0);
    assert!(
        zero["view"]["more"]["text"].as_str().unwrap().contains("more, 0 B"),
        "{zero}"
    );
    // Down to the deepest embedded block with contents (110 levels), through the table where blocks are
    // too small to draw; a row of the table zooms into its child.
    let deepest = &v["deepest_zoom"];
    assert!(
        deepest["target_depth"].as_u64().unwrap() >= 100 && reached(deepest),
        "{deepest}"
    );
    let by_table = &v["table_zoom"];
    assert_eq!(by_table["zoom_id"], by_table["row_id"], "{by_table}");
    assert_eq!(by_table["depth"], 1, "{by_table}");
    assert_eq!(v["depth_after_crumb"], 0);
    assert_eq!(v["depth_after_enter"], 1);
    assert_eq!(v["depth_after_escape"], 0);
    let tip = v["tooltip"].as_str().unwrap();
    assert!(tip.contains('@') && tip.contains("Retained"), "{tip}");
    // Summary sorted by objects, largest first; the filter keeps matching rows only.
    let sorted: Vec<u64> = v["sorted_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap())
        .collect();
    assert!(sorted.windows(2).all(|w| w[0] >= w[1]), "{sorted:?}");
    let shown = v["filter"]["shown"].as_array().unwrap();
    assert!(
        !shown.is_empty()
            && shown
                .iter()
                .all(|s| s.as_str().unwrap().to_lowercase().contains("array"))
    );
    assert_ne!(v["dark_background"], "rgb(255, 255, 255)");

    // A leak series: the finding opens to its holder path; the planted class's chart rises.
    let series = leak_series();
    let s: Vec<&str> = series.iter().map(String::as_str).collect();
    let page = dir.path().join("series.html");
    report_to(&s, &page);
    let v = drive(&page, "unbounded-array");
    assert_eq!(v["kind"], "series");
    assert_eq!(v["finding_path"]["visible_when_closed"], false);
    assert_eq!(v["finding_path"]["visible_when_opened"], true);
    let steps = v["finding_path"]["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap(), "requestLog (Array)");
    let chart = v["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == "RequestLogEntry")
        .expect("a chart of the planted class");
    assert_eq!(chart["rising"], true);
    let ys: Vec<f64> = chart["count_y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| y.as_f64().unwrap())
        .collect();
    assert!(
        ys.len() == 3 && ys[0] > ys[1] && ys[1] > ys[2],
        "the count line rises (SVG y falls): {ys:?}"
    );
    assert_eq!(chart["counts"], "500 → 2500 → 4500");
    assert!(
        v["highlighted"].as_u64().unwrap() > 0,
        "the finding's dominators are outlined"
    );

    // Hostile names: nothing runs, nothing is injected.
    let page = dir.path().join("hostile.html");
    report_to(&[&fixture("hostile-names.heapsnapshot.gz")], &page);
    drive(&page, "hostile-names");
    eprintln!("screenshots in {}", shots().display());
}
