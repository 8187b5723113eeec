//! Terminal colours: a process-wide switch that the binary sets once from `--color` (and `NO_COLOR`), and
//! helpers that paint text or table cells only when it is on.
//!
//! Only the `table` format is ever coloured: the Markdown and JSON renderers (and `nodes`' NDJSON and CSV) never
//! call these helpers. The switch is off by default, so the library, the tests and any output that is not a
//! terminal stay plain. Colour is used sparingly: section headings bold, growth red, shrinkage green, CI
//! verdicts red or green, and the `heapsnap:` prefix of errors on a terminal red.

use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::{Cell, Color, Table};

/// When to colour (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and `NO_COLOR` is unset or empty.
    #[default]
    Auto,
    /// Always colour, even when `NO_COLOR` is set or the output is not a terminal.
    Always,
    /// Never colour.
    Never,
}

/// What a piece of text means, and so how it is painted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A section heading: bold.
    Heading,
    /// Something to look at (a leaking class): bold.
    Strong,
    /// Growth, a failed check, a leak rule: red.
    Bad,
    /// Shrinkage, a passed check: green.
    Good,
}

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Whether a stream gets colour: `choice`, whether the stream is a terminal, and the value of `NO_COLOR`
/// (<https://no-color.org>: set and not empty disables colour; `always` wins over it, as in ripgrep).
pub fn decide(choice: ColorChoice, is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// Set the switches (call once, from the binary, before any output): colour on standard output (tables) and on
/// standard error (the error prefix).
pub fn set(stdout: bool, stderr: bool) {
    STDOUT.store(stdout, Ordering::Relaxed);
    STDERR.store(stderr, Ordering::Relaxed);
    // comfy-table styles cells through crossterm, which drops colours when `NO_COLOR` is set; `--color always`
    // must win over it, and otherwise cells are not styled at all (see `style_table`).
    crossterm::style::Colored::set_ansi_color_disabled(!stdout);
}

/// Whether standard output (tables) is coloured.
pub fn enabled() -> bool {
    STDOUT.load(Ordering::Relaxed)
}

/// Whether standard error (error messages) is coloured.
pub fn stderr_enabled() -> bool {
    STDERR.load(Ordering::Relaxed)
}

fn sgr(style: Style) -> &'static str {
    match style {
        Style::Heading | Style::Strong => "\x1b[1m",
        Style::Bad => "\x1b[31m",
        Style::Good => "\x1b[32m",
    }
}

const RESET: &str = "\x1b[0m";

/// `text` in `style` when standard output is coloured, else `text` unchanged.
pub fn paint(text: &str, style: Style) -> String {
    paint_if(enabled(), text, style)
}

/// `text` in `style` when `on`.
pub fn paint_if(on: bool, text: &str, style: Style) -> String {
    if on && !text.is_empty() {
        format!("{}{text}{RESET}", sgr(style))
    } else {
        text.to_string()
    }
}

/// The `heapsnap:` prefix of an error message on standard error (red when standard error is coloured).
pub fn error_prefix() -> String {
    paint_if(stderr_enabled(), "heapsnap:", Style::Bad)
}

/// Print a warning on standard error (`heapsnap: warning: …`), above the progress display when there is one.
pub fn warn(message: &str) {
    crate::timing::eprint_above_progress(&format!("{} warning: {message}", error_prefix()));
}

/// Make `table` style its cells exactly when standard output is coloured (comfy-table would otherwise decide
/// by itself whether stdout is a terminal). Widths never count the escapes.
pub fn style_table(table: &mut Table) {
    table.force_no_tty();
    if enabled() {
        table.enforce_styling();
        // Colour the text, not the padding around it.
        table.style_text_only();
    }
}

/// `cell` in `style` (the style applies only where the table is styled: see [`style_table`]).
pub fn cell(cell: Cell, style: Option<Style>) -> Cell {
    match style {
        None => cell,
        Some(Style::Heading | Style::Strong) => cell.add_attribute(comfy_table::Attribute::Bold),
        Some(Style::Bad) => cell.fg(Color::Red),
        Some(Style::Good) => cell.fg(Color::Green),
    }
}

/// Red for growth, green for shrinkage, nothing for no change.
pub fn delta(sign: i64) -> Option<Style> {
    match sign.signum() {
        1 => Some(Style::Bad),
        -1 => Some(Style::Good),
        _ => None,
    }
}

/// `s` without ANSI escape sequences (CSI `ESC [ ... final`), as a terminal would show it.
pub fn strip(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn auto_follows_the_terminal_and_no_color() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        assert!(decide(ColorChoice::Auto, true, None));
        assert!(
            decide(ColorChoice::Auto, true, empty),
            "an empty NO_COLOR does not count"
        );
        assert!(!decide(ColorChoice::Auto, true, set));
        assert!(!decide(ColorChoice::Auto, false, None));
        assert!(decide(ColorChoice::Always, false, set), "always wins over NO_COLOR");
        assert!(!decide(ColorChoice::Never, true, None));
    }

    #[test]
    fn paint_and_strip() {
        assert_eq!(paint_if(false, "Findings", Style::Heading), "Findings");
        let p = paint_if(true, "Findings", Style::Heading);
        assert_eq!(p, "\x1b[1mFindings\x1b[0m");
        assert_eq!(strip(&p), "Findings");
        assert_eq!(strip("a\x1b[38;5;9mb\x1b[39m c"), "ab c");
        assert_eq!(paint_if(true, "", Style::Bad), "");
    }

    #[test]
    fn deltas() {
        assert_eq!(delta(5), Some(Style::Bad));
        assert_eq!(delta(-5), Some(Style::Good));
        assert_eq!(delta(0), None);
    }
}
