//! Terminal text: the output width, control-character escaping, middle truncation, hanging-indent wrapping,
//! and fitting a table into the width by dropping and shortening columns by priority.
//!
//! The width is decided once by the binary ([`decide_width`]: `--width N` > `COLUMNS` > the terminal's width
//! when standard output is one > no limit) and kept process-wide ([`set_width`]; unset means no limit, which is
//! what the library and tests get by default). Only the `table` format uses it: Markdown and JSON never
//! truncate. Every string that came from a snapshot goes through [`escape`] before it is shown in a table or a
//! text line, so a name holding a newline or an escape sequence cannot break a row or drive the terminal; JSON
//! keeps the exact string.
//!
//! Widths are display columns (`unicode-width`), with ANSI colour sequences (`ESC [ … m`, which [`super::style`]
//! adds) counted as zero. Everything here is linear in the text it is given.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use unicode_width::UnicodeWidthChar;

use super::style;

/// The output width; 0 = no limit.
static WIDTH: AtomicUsize = AtomicUsize::new(0);

/// Narrowest width honoured: below it tables are laid out for this many columns and may overflow.
pub const MIN_WIDTH: usize = 40;

/// The width tables and text lines are fitted to: `--width` (`0` = no limit), else `COLUMNS` (when a positive
/// number), else the terminal's width when standard output is a terminal, else no limit (piped output).
pub fn decide_width(flag: Option<usize>, columns: Option<&std::ffi::OsStr>, terminal: Option<usize>) -> Option<usize> {
    if let Some(w) = flag {
        return (w > 0).then_some(w);
    }
    if let Some(w) = columns
        .and_then(|c| c.to_str())
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w > 0)
    {
        return Some(w);
    }
    terminal.filter(|&w| w > 0)
}

/// Set the process-wide width (from the binary, before any output). `None`: no limit.
pub fn set_width(width: Option<usize>) {
    WIDTH.store(width.unwrap_or(0), Ordering::Relaxed);
}

/// The process-wide width, `None` for no limit.
pub fn width() -> Option<usize> {
    match WIDTH.load(Ordering::Relaxed) {
        0 => None,
        w => Some(w.max(MIN_WIDTH)),
    }
}

/// Control characters made visible: `\n`, `\r`, `\t`, and others (C0, DEL, C1) as `\u{1b}`; a lone surrogate
/// (see [`crate::strings`]) as its code unit, `\u{d800}`. A backslash stays as it is. Borrowed when there is
/// nothing to escape (the common case).
pub fn escape(s: &str) -> Cow<'_, str> {
    let special = |c: char| c.is_control() || crate::strings::lone_surrogate(c).is_some();
    if !s.chars().any(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => match crate::strings::lone_surrogate(c) {
                Some(unit) => out.push_str(&format!("\\u{{{unit:x}}}")),
                None => out.push(c),
            },
        }
    }
    Cow::Owned(out)
}

/// Display width of `s`, colour sequences excluded.
pub fn display_width(s: &str) -> usize {
    let mut w = 0;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip `ESC [ params final-byte`.
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        w += c.width().unwrap_or(0);
    }
    w
}

/// Shorten `s` to at most `max` display columns by cutting its middle (`node_modules/…/lib/index.js`): the end
/// is kept longer than the start (two thirds), because the end of a path or a name is what tells rows apart.
/// Leading spaces (a tree's indentation) are kept whole. `s` must hold no colour sequences.
pub fn truncate_middle(s: &str, max: usize) -> String {
    if display_width(s) <= max {
        return s.to_string();
    }
    let body = s.trim_start_matches(' ');
    let pad = s.len() - body.len();
    let room = max.saturating_sub(pad + 1);
    if room == 0 {
        return format!("{}…", &s[..pad.min(max.saturating_sub(1))]);
    }
    let tail_w = room * 2 / 3;
    let head_w = room - tail_w;
    let mut head = String::new();
    let mut w = 0;
    for c in body.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > head_w {
            break;
        }
        w += cw;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut w = 0;
    for c in body.chars().rev() {
        let cw = c.width().unwrap_or(0);
        if w + cw > tail_w {
            break;
        }
        w += cw;
        tail.push(c);
    }
    tail.reverse();
    format!("{}{head}…{}", &s[..pad], tail.into_iter().collect::<String>())
}

/// One line of free text in the table format, fitted to the width: `first` (a prefix such as `  3. `) then
/// `text`, wrapped at spaces with every continuation line indented by `hanging` spaces; a word longer than a
/// line is cut in its middle. Without a width limit the line is returned whole. Ends with a newline.
///
/// `text` may hold colour sequences (they take no width); snapshot strings in it must already be
/// [`escape`]d. This is the one call for every line of free text (finding text, notes, paths).
pub fn line(first: &str, text: &str, hanging: usize) -> String {
    line_at(first, text, hanging, width())
}

/// [`line`] for an explicit width (`None`: no limit).
pub fn line_at(first: &str, text: &str, hanging: usize, width: Option<usize>) -> String {
    let Some(width) = width.map(|w| w.max(MIN_WIDTH)) else {
        return format!("{first}{text}\n");
    };
    let indent = " ".repeat(hanging);
    let mut out = String::from(first);
    let mut col = display_width(first);
    let mut line_has_word = false;
    for word in text.split(' ') {
        let ww = display_width(word);
        if line_has_word && col + 1 + ww > width {
            out.push('\n');
            out.push_str(&indent);
            col = hanging;
            line_has_word = false;
        }
        if line_has_word {
            out.push(' ');
            col += 1;
        }
        if col + ww > width && !word.contains('\u{1b}') {
            let cut = truncate_middle(word, width.saturating_sub(col).max(8));
            col += display_width(&cut);
            out.push_str(&cut);
        } else {
            col += ww;
            out.push_str(word);
        }
        line_has_word = true;
    }
    out.push('\n');
    out
}

/// How a table column behaves when the table is too wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Header text.
    pub header: &'static str,
    /// Right-aligned (a number).
    pub numeric: bool,
    /// Dropped when the table does not fit: columns with a higher number go first; 0 = never dropped.
    pub drop: u8,
    /// Shortened (middle truncation) to no less than this many columns when the table does not fit; 0 = never.
    pub shrink_to: usize,
}

impl Column {
    /// A column that is always shown whole.
    pub const fn keep(header: &'static str, numeric: bool) -> Column {
        Column {
            header,
            numeric,
            drop: 0,
            shrink_to: 0,
        }
    }

    /// A column dropped at `rank` (higher first) when the table does not fit.
    pub const fn optional(header: &'static str, numeric: bool, rank: u8) -> Column {
        Column {
            header,
            numeric,
            drop: rank,
            shrink_to: 0,
        }
    }

    /// A text column shortened in its middle, down to `min` columns, when the table does not fit.
    pub const fn text(header: &'static str, min: usize) -> Column {
        Column {
            header,
            numeric: false,
            drop: 0,
            shrink_to: min,
        }
    }

    /// This column, also dropped at `rank` when shortening is not enough.
    pub const fn or_drop(self, rank: u8) -> Column {
        Column { drop: rank, ..self }
    }
}

/// Width of a table (UTF8_FULL_CONDENSED: a border, a space either side of each cell) with content widths `w`.
fn table_width(w: &[usize]) -> usize {
    w.iter().map(|x| x + 3).sum::<usize>() + 1
}

/// Which columns to keep and how wide the shortened ones may be, for content widths `natural` and `width`.
fn layout(cols: &[Column], natural: &[usize], width: usize) -> (Vec<bool>, Vec<usize>) {
    let mut ranks: Vec<u8> = cols.iter().map(|c| c.drop).filter(|&d| d > 0).collect();
    ranks.sort_unstable_by(|a, b| b.cmp(a));
    ranks.dedup();
    let mut shown = vec![true; cols.len()];
    let mut steps = ranks.into_iter();
    loop {
        let widths = shrink(cols, natural, &shown, width, false);
        let used: Vec<usize> = (0..cols.len()).filter(|&i| shown[i]).map(|i| widths[i]).collect();
        if table_width(&used) <= width {
            return (shown, widths);
        }
        match steps.next() {
            Some(rank) => {
                for (i, c) in cols.iter().enumerate() {
                    if c.drop == rank {
                        shown[i] = false;
                    }
                }
            }
            // Nothing left to drop: shorten the text columns below their minimum (to 6 columns at most).
            None => return (shown.clone(), shrink(cols, natural, &shown, width, true)),
        }
    }
}

/// Content widths with the shrinkable shown columns narrowed (largest first, never below their minimum, or 6
/// when `hard`) until the shown columns fit `width` or cannot shrink further.
fn shrink(cols: &[Column], natural: &[usize], shown: &[bool], width: usize, hard: bool) -> Vec<usize> {
    let mut w = natural.to_vec();
    let fixed: usize = (0..cols.len())
        .filter(|&i| shown[i])
        .map(|i| if cols[i].shrink_to > 0 { 3 } else { w[i] + 3 })
        .sum::<usize>()
        + 1;
    let flexible: Vec<usize> = (0..cols.len()).filter(|&i| shown[i] && cols[i].shrink_to > 0).collect();
    let mut room = width.saturating_sub(fixed);
    // Water filling: each flexible column gets its natural width or an equal share of what is left.
    let mut pending: Vec<usize> = flexible.clone();
    pending.sort_by_key(|&i| natural[i]);
    let mut left = pending.len();
    for &i in &pending {
        let share = room / left.max(1);
        let min = if hard { 6 } else { cols[i].shrink_to };
        let give = natural[i].min(share).max(min.min(natural[i]));
        w[i] = give;
        room = room.saturating_sub(give);
        left -= 1;
    }
    w
}

/// Render a table fitted to [`width`]: cells escaped ([`escape`]); when it is too wide, shrinkable columns are
/// shortened in their middle and optional columns dropped by rank. `style(row, column)` paints a cell (column
/// indices are those of `cols`, whatever is dropped).
pub fn fit_table(
    cols: &[Column],
    rows: Vec<Vec<String>>,
    style: impl Fn(usize, usize) -> Option<style::Style>,
) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.into_iter().map(|c| escape(&c).into_owned()).collect())
        .collect();
    let natural: Vec<usize> = (0..cols.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| display_width(c))
                .chain([display_width(cols[i].header)])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let (shown, widths) = match width() {
        Some(w) => layout(cols, &natural, w),
        None => (vec![true; cols.len()], natural.clone()),
    };
    let keep: Vec<usize> = (0..cols.len()).filter(|&i| shown[i]).collect();
    let header: Vec<&str> = keep.iter().map(|&i| cols[i].header).collect();
    let numeric: Vec<bool> = keep.iter().map(|&i| cols[i].numeric).collect();
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            keep.iter()
                .map(|&i| {
                    let c = r.get(i).map(String::as_str).unwrap_or("");
                    if widths[i] < natural[i] {
                        truncate_middle(c, widths[i])
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    super::table_styled(&header, &numeric, rows, |r, c| style(r, keep[c])).to_string()
}

/// C++ template arguments folded: `blink::HeapHashTableBacking<blink::HashTable<…>>` reads
/// `blink::HeapHashTableBacking<…>`. Only a `<` that follows an identifier character and whose arguments hold
/// `::`, `<` or `,` is folded (so `<div>` and JavaScript names stay as they are). For tables; JSON keeps the
/// full name.
pub fn fold_templates(name: &str) -> Cow<'_, str> {
    let b = name.as_bytes();
    let Some(open) = b.iter().position(|&c| c == b'<') else {
        return Cow::Borrowed(name);
    };
    if open == 0 || !(b[open - 1].is_ascii_alphanumeric() || b[open - 1] == b'_') {
        return Cow::Borrowed(name);
    }
    // The matching `>`.
    let mut depth = 0usize;
    let mut close = None;
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'<' => depth += 1,
            b'>' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return Cow::Borrowed(name);
    };
    let args = &name[open + 1..close];
    if !(args.contains("::") || args.contains('<') || args.contains(',')) {
        return Cow::Borrowed(name);
    }
    let rest = fold_templates(&name[close + 1..]).into_owned();
    Cow::Owned(format!("{}<…>{rest}", &name[..open]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_comes_from_the_flag_then_columns_then_the_terminal() {
        use std::ffi::OsStr;
        assert_eq!(decide_width(Some(90), Some(OsStr::new("120")), Some(200)), Some(90));
        assert_eq!(decide_width(Some(0), Some(OsStr::new("120")), Some(200)), None);
        assert_eq!(decide_width(None, Some(OsStr::new("120")), Some(200)), Some(120));
        assert_eq!(decide_width(None, Some(OsStr::new("wide")), Some(200)), Some(200));
        assert_eq!(decide_width(None, Some(OsStr::new("0")), None), None);
        assert_eq!(decide_width(None, None, None), None);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("/*\n\tMIT License"), "/*\\n\\tMIT License");
        assert_eq!(escape("a\u{1b}[31mred\r"), "a\\u{1b}[31mred\\r");
        assert_eq!(escape("\u{7f}\u{85}"), "\\u{7f}\\u{85}");
        // Lone surrogates (private-use stand-ins) as their code unit; a real astral character stays.
        assert_eq!(escape("\u{10F800}key \u{10FFFF} 😀"), "\\u{d800}key \\u{dfff} 😀");
        assert!(matches!(escape("plain \\ text, ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn middle_truncation_keeps_the_end_and_the_indentation() {
        let p = "/home/me/project/node_modules/some-package/lib/index.js";
        let t = truncate_middle(p, 24);
        assert_eq!(display_width(&t), 24, "{t}");
        assert!(t.ends_with("/lib/index.js"), "{t}");
        assert!(t.starts_with("/home"), "{t}");
        assert!(t.contains('…'));
        assert_eq!(truncate_middle("short", 10), "short");
        let t = truncate_middle("    a_rather_long_child_name_here", 16);
        assert!(t.starts_with("    a"), "{t}");
        assert_eq!(display_width(&t), 16, "{t}");
        // Wide characters count two columns.
        assert!(display_width(&truncate_middle(&"漢".repeat(20), 11)) <= 11);
    }

    #[test]
    fn colour_sequences_take_no_width() {
        assert_eq!(display_width("\u{1b}[1mbold\u{1b}[0m"), 4);
    }

    #[test]
    fn templates_fold_but_not_tags_or_js_names() {
        assert_eq!(
            fold_templates("blink::HeapHashTableBacking<blink::HashTable<blink::Member<blink::Node>, blink::Foo>>"),
            "blink::HeapHashTableBacking<…>"
        );
        assert_eq!(fold_templates("std::vector<int>"), "std::vector<int>");
        assert_eq!(fold_templates("<div>"), "<div>");
        assert_eq!(fold_templates("{a, b, c}"), "{a, b, c}");
        assert_eq!(fold_templates("Map<a, b> and List<x::y>"), "Map<…> and List<…>");
        assert_eq!(fold_templates("unbalanced<a::b"), "unbalanced<a::b");
    }

    #[test]
    fn layout_shrinks_text_then_drops_by_rank() {
        let cols = [
            Column::text("Name", 10),
            Column::keep("Size", true),
            Column::optional("Type", false, 1),
            Column::text("Path", 12).or_drop(2),
        ];
        let natural = [60, 8, 7, 80];
        // Wide enough: nothing changes.
        let (shown, w) = layout(&cols, &natural, 200);
        assert_eq!((shown, w), (vec![true; 4], natural.to_vec()));
        // Shrinking the text columns is enough.
        let (shown, w) = layout(&cols, &natural, 100);
        assert_eq!(shown, vec![true; 4]);
        assert!(table_width(&w) <= 100, "{w:?}");
        assert!(w[0] >= 10 && w[3] >= 12, "{w:?}");
        // Too narrow for every column at its minimum: the path goes first...
        let (shown, w) = layout(&cols, &natural, 40);
        assert_eq!(shown, vec![true, true, true, false]);
        assert!(table_width(&[w[0], w[1], w[2]]) <= 40, "{w:?}");
        // ... then the type.
        let (shown, w) = layout(&cols, &natural, 30);
        assert_eq!(shown, vec![true, true, false, false]);
        assert!(table_width(&[w[0], w[1]]) <= 30, "{w:?}");
    }

    #[test]
    fn lines_wrap_with_a_hanging_indent_only_under_a_width() {
        let text = "2000 closures onRequestDone were created per step and never released";
        assert_eq!(line_at("  1. ", text, 6, None), format!("  1. {text}\n"));
        let out = line_at("  1. ", text, 6, Some(40));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines.iter().all(|l| display_width(l) <= 40), "{out}");
        assert!(
            lines[1..]
                .iter()
                .all(|l| l.starts_with("      ") && !l.starts_with("       ")),
            "{out}"
        );
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>().join(" "),
            format!("1. {text}")
        );
    }
}
