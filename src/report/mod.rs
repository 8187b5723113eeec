//! Rendering reports. Every report is a plain `Serialize` struct with a `schema_version`; the same struct is
//! rendered as a terminal table (comfy-table, human sizes), JSON (exact strings, [`crate::json`]) or Markdown (for pull requests)
//! through the [`Render`] trait, one file per report kind. Rows are sorted before they get here.

pub mod diff;
pub mod html;
pub mod retainers;
pub mod style;
pub mod summary;
pub mod text;
pub mod top;
pub mod tree;

use std::io::Write;

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use serde::Serialize;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables.
    Table,
    /// Stable, schema-versioned JSON.
    Json,
    /// Markdown, for pull-request comments.
    Markdown,
    /// A self-contained HTML report, as `heapsnap report` writes it (`summary` and `diff` only).
    Html,
}

/// A report that renders in every format.
pub trait Render: Serialize {
    /// Terminal text.
    fn table(&self) -> String;
    /// Markdown text.
    fn markdown(&self) -> String;
    /// Write in `format` to `out`.
    fn write(&self, format: Format, out: &mut dyn Write) -> std::io::Result<()> {
        crate::timing::finish_progress();
        match format {
            Format::Table => out.write_all(self.table().as_bytes()),
            Format::Markdown => out.write_all(self.markdown().as_bytes()),
            Format::Json => {
                crate::json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::other)?;
                out.write_all(b"\n")
            }
            // `summary` and `diff` route HTML to [`html::render`] before they get here; other commands refuse
            // it before loading (`app::run`).
            Format::Html => Err(std::io::Error::other(
                "--format html: only `summary`, `diff` and `report` write HTML",
            )),
        }
    }
}

/// Bytes as DevTools shows them (1000-based: `B`, `kB`, `MB`, `GB`).
pub fn human_size(b: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if b < 1000 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1000.0;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if v < 10.0 {
        format!("{v:.2} {}", UNITS[u])
    } else if v < 100.0 {
        format!("{v:.1} {}", UNITS[u])
    } else {
        format!("{v:.0} {}", UNITS[u])
    }
}

/// Signed human size (`+1.2 MB`, `-300 B`).
pub fn human_delta(d: i64) -> String {
    let s = human_size(d.unsigned_abs());
    match d.signum() {
        1 => format!("+{s}"),
        -1 => format!("-{s}"),
        _ => s,
    }
}

/// Percentage of `part` in `total` with one decimal, `-` when total is 0.
pub fn percent(part: u64, total: u64) -> String {
    if total == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / total as f64)
    }
}

/// Distance as DevTools shows it: `-` for unreachable and system-only.
pub fn distance(d: i32) -> String {
    if !(0..crate::devtools::BASE_SYSTEM_DISTANCE).contains(&d) {
        "-".into()
    } else {
        d.to_string()
    }
}

/// A table in the project's style; columns after the first are right-aligned when `numeric[i]`.
pub fn table(header: &[&str], numeric: &[bool], rows: Vec<Vec<String>>) -> Table {
    table_styled(header, numeric, rows, |_, _| None)
}

/// [`table`] with cell `(row, column)` painted in `style(row, column)` when standard output is coloured
/// ([`style::enabled`]); otherwise the same plain table.
pub fn table_styled(
    header: &[&str],
    numeric: &[bool],
    rows: Vec<Vec<String>>,
    style: impl Fn(usize, usize) -> Option<style::Style>,
) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    style::style_table(&mut t);
    t.set_header(header.iter().map(Cell::new));
    for (r, row) in rows.into_iter().enumerate() {
        t.add_row(row.into_iter().enumerate().map(|(i, c)| {
            let cell = style::cell(Cell::new(c), style(r, i));
            if numeric.get(i).copied().unwrap_or(false) {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    t
}

/// Escape text for a Markdown table cell. A cell that is one code span (`` `…` ``) keeps its text as it is
/// (entities are not decoded inside code spans): only `|` is escaped, as GitHub tables need.
pub fn md_cell(s: &str) -> String {
    let s = &*text::escape(s);
    if let Some(inner) = s.strip_prefix('`').and_then(|x| x.strip_suffix('`')) {
        return format!("`{}`", inner.replace('`', "'").replace('|', "\\|").replace('\n', " "));
    }
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

/// A Markdown table.
pub fn md_table(header: &[&str], numeric: &[bool], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    let aligns: Vec<&str> = (0..header.len())
        .map(|i| {
            if numeric.get(i).copied().unwrap_or(false) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    out.push_str(&format!("| {} |\n", aligns.join(" | ")));
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// Truncate display text to `max` characters with an ellipsis.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_escape_text_but_not_code_spans() {
        assert_eq!(md_cell("a | <b> -> c"), "a \\| &lt;b&gt; -&gt; c");
        // Entities are not decoded inside code spans: `>` stays, `|` is escaped for the table.
        assert_eq!(md_cell("`global > a|b (Map)`"), "`global > a\\|b (Map)`");
        assert_eq!(md_cell("`x`y`"), "`x'y`");
    }
}
