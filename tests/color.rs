//! `--color` and `NO_COLOR`, run as the `heapsnap` binary on the unbounded-array leak series: colour only where
//! asked for, only in the `table` format, and colour never changes the visible text (widths included).

mod common;

use assert_cmd::Command;

const SERIES: [&str; 3] = [
    "fixtures/leaks/unbounded-array/1.heapsnapshot.gz",
    "fixtures/leaks/unbounded-array/2.heapsnapshot.gz",
    "fixtures/leaks/unbounded-array/3.heapsnapshot.gz",
];

/// `heapsnap diff SERIES ARGS` with `NO_COLOR` as given (removed when `None`); returns stdout.
fn diff(args: &[&str], no_color: Option<&str>) -> String {
    let mut cmd = Command::cargo_bin("heapsnap").unwrap();
    cmd.current_dir(common::repo()).arg("diff").args(SERIES).args(args);
    match no_color {
        Some(v) => cmd.env("NO_COLOR", v),
        None => cmd.env_remove("NO_COLOR"),
    };
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "heapsnap diff {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The text as a terminal shows it: CSI escape sequences removed.
fn visible(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        assert_eq!(it.next(), Some('['), "only CSI sequences expected");
        for c in it.by_ref() {
            if ('@'..='~').contains(&c) {
                break;
            }
        }
    }
    out
}

#[test]
fn always_colours_the_diff_table_without_changing_its_text() {
    let plain = diff(&["--color", "never"], None);
    assert!(!plain.contains('\x1b'), "{plain}");
    let coloured = diff(&["--color", "always"], None);
    assert!(coloured.contains('\x1b'), "{coloured}");
    assert_eq!(visible(&coloured), plain);
    // Bold headings, the finding's rule tag in red, growth cells in red (crossterm's red is 38;5;9).
    assert!(coloured.contains("\x1b[1mFindings\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[1mGrowth by constructor\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[31m[unbounded-array]\x1b[0m"), "{coloured}");
    assert!(coloured.contains("\x1b[38;5;9m"), "no red cell: {coloured}");
}

#[test]
fn always_wins_over_no_color() {
    let coloured = diff(&["--color", "always"], Some("1"));
    assert!(
        coloured.contains("\x1b[38;5;9m"),
        "no red cell under NO_COLOR: {coloured}"
    );
    assert_eq!(visible(&coloured), diff(&["--color", "never"], None));
}

#[test]
fn json_and_markdown_are_never_coloured() {
    let json = diff(&["--color", "always", "--format", "json"], None);
    assert!(!json.contains('\x1b'));
    serde_json::from_str::<serde_json::Value>(&json).unwrap();
    let md = diff(&["--color", "always", "--format", "markdown"], None);
    assert!(!md.contains('\x1b'), "{md}");
}

#[test]
fn auto_is_plain_under_no_color_and_off_a_terminal() {
    // The tests' stdout is a pipe, so `auto` is plain anyway; NO_COLOR must not turn anything on either.
    assert!(!diff(&["--color", "auto"], Some("1")).contains('\x1b'));
    assert!(!diff(&[], None).contains('\x1b'));
}

#[test]
fn errors_are_plain_off_a_terminal() {
    // `always` is about standard output's tables; the stderr prefix follows stderr's own terminal-ness.
    Command::cargo_bin("heapsnap")
        .unwrap()
        .args(["--color", "always", "summary", "/nonexistent/x.heapsnapshot"])
        .assert()
        .code(2)
        .stderr(predicates::str::starts_with("heapsnap: /nonexistent/x.heapsnapshot"));
}
