//! The `diff` report: growth table, clusters (what holds the growth), findings, CI verdict.

use serde::{Deserialize, Serialize};

use super::style::{self, paint, paint_if, Style};
use super::text::{self, Column};
use super::{human_delta, human_size, md_cell, md_table, Render};
use crate::ci::Verdict;
use crate::diff::DiffReport;
use crate::rules::Finding;

/// What `heapsnap diff` prints: the diff and, when CI options were given, the verdict.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DiffOutput {
    /// The diff (flattened: `schema_version`, `files`, `totals`, `classes`, `clusters`, `findings`, ...).
    #[serde(flatten)]
    pub diff: DiffReport,
    /// CI checks and verdict.
    pub ci: Verdict,
    /// Rows shown in text formats (JSON always has every row).
    #[serde(skip)]
    pub limit: usize,
    /// Show each finding's full retaining path too.
    #[serde(skip)]
    pub verbose: bool,
}

impl DiffOutput {
    fn series(&self) -> bool {
        self.diff.files.len() > 2
    }

    fn class_rows(&self) -> (Vec<&'static str>, Vec<bool>, Vec<Vec<String>>) {
        let mut header = vec![
            "Constructor",
            "# New",
            "# Deleted",
            "# Delta",
            "Alloc. size",
            "Freed size",
            "Size delta",
        ];
        header.push("Retained delta");
        if self.series() {
            header.extend(["Surviving", "Counts"]);
        }
        let numeric = vec![false, true, true, true, true, true, true, true, true, false];
        let rows = self
            .diff
            .classes
            .iter()
            .take(self.limit)
            .map(|r| {
                let count = |v: Option<u64>| v.map_or("-".to_string(), |x| x.to_string());
                let size = |v: Option<u64>| v.map_or("-".to_string(), human_size);
                let mut v = vec![
                    r.name.clone(),
                    count(r.new_count),
                    count(r.deleted_count),
                    format!("{:+}", r.delta_count),
                    size(r.alloc_size),
                    size(r.freed_size),
                    human_delta(r.size_delta),
                    human_delta(r.retained_delta),
                ];
                if self.series() {
                    v.push(count(r.surviving_count));
                    v.push(r.counts.iter().map(u64::to_string).collect::<Vec<_>>().join(" → "));
                }
                v
            })
            .collect();
        (header, numeric, rows)
    }

    fn cluster_rows(&self) -> Vec<Vec<String>> {
        self.diff
            .clusters
            .iter()
            .map(|c| {
                vec![
                    c.class.clone(),
                    c.count.to_string(),
                    human_size(c.retained_size),
                    c.holder.clone(),
                    format!("@{}", c.example_id),
                ]
            })
            .collect()
    }

    /// The class table's columns under a narrow width: the name shortened in its middle, then the counts
    /// series, `# Deleted`, `Freed size`, `Alloc. size`, `Surviving` and `# New` dropped, in that order.
    fn class_columns(&self) -> Vec<Column> {
        let mut c = vec![
            Column::text("Constructor", 24),
            Column::optional("# New", true, 6),
            Column::optional("# Deleted", true, 4),
            Column::keep("# Delta", true),
            Column::optional("Alloc. size", true, 2),
            Column::optional("Freed size", true, 3),
            Column::keep("Size delta", true),
            Column::keep("Retained delta", true),
        ];
        if self.series() {
            c.extend([
                Column::optional("Surviving", true, 1),
                Column::text("Counts", 10).or_drop(5),
            ]);
        }
        c
    }

    fn headline(&self) -> String {
        let t = &self.diff.totals;
        let objects = match (t.new_count, t.deleted_count, t.surviving_count, t.surviving_size) {
            (Some(n), Some(d), Some(c), Some(z)) => {
                format!(
                    ", {n} new / {d} deleted objects, {c} new objects still alive ({})",
                    human_size(z)
                )
            }
            _ => ", ids reassigned: holders matched by retaining path".to_string(),
        };
        format!(
            "{}\n{} → {} ({}){objects}",
            self.diff.files.join(" → "),
            human_size(t.before_size),
            human_size(t.after_size),
            human_delta(t.size_delta),
        )
    }

    /// The text block of one finding: a title line, then what accumulates and why, indented; every line
    /// escaped and wrapped to the width with a hanging indent ([`text::line`]).
    fn finding_lines(&self, i: usize, f: &Finding, paint_on: bool) -> String {
        let steps = (f.counts.len().max(2) - 1) as i64;
        let mut out = text::line(
            &format!("{:>3}. ", i + 1),
            &format!(
                "{} {}",
                paint_if(paint_on, &format!("[{}]", f.rule), Style::Bad),
                paint_if(paint_on, &text::escape(&f.title), Style::Strong),
            ),
            7,
        );
        let mut field = |label: &str, value: &str| {
            out.push_str(&text::line(&format!("       {label}: "), &text::escape(value), 9));
        };
        field(
            "a fix frees",
            &format!(
                "{} ({}/step), {:+} objects",
                human_delta(f.retained_delta),
                human_delta(f.retained_delta / steps),
                f.count_delta
            ),
        );
        let scope = if f.holder_scope.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.holder_scope)
        };
        field("holder", &format!("{}{scope}", f.holder_name));
        if !f.other_holders.is_empty() {
            field("also held by", &f.other_holders.join(", "));
        }
        field("path", &f.path);
        if self.verbose {
            field("full path", &f.holder);
        }
        let acc: Vec<String> = f
            .accumulates
            .iter()
            .take(4)
            .map(|a| {
                let c: Vec<String> = a.counts.iter().map(u64::to_string).collect();
                format!("{} ({})", a.class, c.join(" → "))
            })
            .collect();
        field("accumulates", &acc.join(", "));
        if !f.each_holds.is_empty() {
            let h: Vec<String> = f
                .each_holds
                .iter()
                .take(6)
                .map(|h| format!("{} {}", crate::rules::fmt_per_entry(h.per_entry), h.class))
                .collect();
            field("each holds", &h.join(", "));
        }
        if !f.captured.is_empty() {
            field("captured variables", &f.captured.join(", "));
        }
        out
    }

    /// The CI lines; `paint` colours the FAIL / ok marks and the verdict (terminal tables only).
    fn verdict_lines(&self, paint: bool) -> Vec<String> {
        let mut v: Vec<String> = self
            .ci
            .checks
            .iter()
            .map(|c| {
                let mark = if c.crossed {
                    paint_if(paint, "FAIL", Style::Bad)
                } else {
                    // Padded to FAIL's width outside the colour.
                    format!("{}  ", paint_if(paint, "ok", Style::Good))
                };
                match (c.value, &c.note) {
                    (Some(v), _) => format!(
                        "{mark} {}: {} ({})",
                        c.check,
                        check_value(&c.check, v),
                        text::escape(&c.subject)
                    ),
                    (None, Some(n)) => format!("{mark} {}: {n}", c.check),
                    (None, None) => format!("{mark} {}: unavailable", c.check),
                }
            })
            .collect();
        if self.ci.suppressed_findings > 0 {
            v.push(format!("{} finding(s) suppressed", self.ci.suppressed_findings));
        }
        if !self.ci.checks.is_empty() {
            let tone = if self.ci.verdict == "fail" {
                Style::Bad
            } else {
                Style::Good
            };
            v.push(format!("verdict: {}", paint_if(paint, &self.ci.verdict, tone)));
        }
        v
    }

    /// Growth red, shrinkage green in the delta columns (`# Delta`, `Size delta`, `Retained delta`).
    fn class_cell_style(&self, row: usize, col: usize) -> Option<Style> {
        let r = self.diff.classes.get(row)?;
        match col {
            3 => style::delta(r.delta_count),
            6 => style::delta(r.size_delta),
            7 => style::delta(r.retained_delta),
            _ => None,
        }
    }
}

/// A check's measured value: a count as it is, a size (a metric named `*size*` or `retained_*`) in bytes with
/// its human size beside it (`34231776 B = +34.2 MB`).
fn check_value(check: &str, value: i64) -> String {
    let metric = check.trim_start_matches("budget: ");
    let metric = metric.split(['>', '<', '=']).next().unwrap_or(metric);
    if metric.contains("size") || metric.contains("retained") {
        let human = if metric.contains("delta") {
            human_delta(value)
        } else {
            human_size(value.max(0) as u64)
        };
        format!("{value} B = {human}")
    } else {
        value.to_string()
    }
}

impl Render for DiffOutput {
    fn table(&self) -> String {
        let heading = |h: &str| paint(h, Style::Heading);
        let mut out = String::new();
        for l in self.headline().lines() {
            out.push_str(&text::line("", &text::escape(l), 2));
        }
        if let Some(n) = &self.diff.note {
            out.push_str(&text::line("note: ", &text::escape(n), 6));
        }
        out.push_str(&format!("\n{}\n", heading("Findings")));
        if self.diff.findings.is_empty() {
            out.push_str("  none: nothing accumulated at every step\n");
        }
        for (i, f) in self.diff.findings.iter().enumerate() {
            out.push_str(&self.finding_lines(i, f, style::enabled()));
        }
        if !self.diff.internals.is_empty() {
            let names: Vec<String> = self
                .diff
                .internals
                .iter()
                .take(6)
                .map(|f| format!("{} ({:+})", f.class, f.count_delta))
                .collect();
            out.push_str(&text::line(
                "  ",
                &text::escape(&format!(
                    "engine/browser internals that grew (not findings; --include-internals lists them): {}",
                    names.join(", ")
                )),
                4,
            ));
        }
        let (_, _, rows) = self.class_rows();
        out.push_str(&format!(
            "\n{}\n{}\n",
            heading("Growth by constructor"),
            text::fit_table(&self.class_columns(), rows, |r, c| self.class_cell_style(r, c))
        ));
        if !self.diff.clusters.is_empty() {
            out.push_str(&format!(
                "\n{}\n{}\n",
                heading("What holds the new objects"),
                text::fit_table(
                    &[
                        Column::text("Constructor", 20),
                        Column::keep("Objects", true),
                        Column::keep("Retained", true),
                        Column::text("Held by", 24),
                        Column::keep("Example", false),
                    ],
                    self.cluster_rows(),
                    |_, _| None
                )
            ));
        }
        for l in self.verdict_lines(style::enabled()) {
            out.push_str(&text::line("", &l, 7));
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = String::from("### Heap diff\n\n");
        let headline: Vec<String> = self.headline().lines().map(md_cell).collect();
        out.push_str(&format!("{}\n\n", headline.join("<br>")));
        if let Some(n) = &self.diff.note {
            out.push_str(&format!("> {}\n\n", md_cell(n)));
        }
        out.push_str("#### Findings\n\n");
        if self.diff.findings.is_empty() {
            out.push_str("None: nothing accumulated at every step.\n\n");
        } else {
            let rows: Vec<Vec<String>> = self
                .diff
                .findings
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    vec![
                        (i + 1).to_string(),
                        f.rule.clone(),
                        f.title.clone(),
                        human_delta(f.retained_delta),
                        format!("{:+}", f.count_delta),
                        format!("`{}`", f.path),
                        f.reason.clone(),
                    ]
                })
                .collect();
            out.push_str(&md_table(
                &["#", "Rule", "What and where", "A fix frees", "Objects", "Path", "Why"],
                &[true, false, false, true, true, false, false],
                &rows,
            ));
            out.push('\n');
        }
        let (h, n, rows) = self.class_rows();
        out.push_str(&format!("#### Growth by constructor\n\n{}\n", md_table(&h, &n, &rows)));
        if !self.diff.clusters.is_empty() {
            out.push_str(&format!(
                "#### What holds the new objects\n\n{}\n",
                md_table(
                    &["Constructor", "Objects", "Retained", "Held by", "Example"],
                    &[false, true, true, false, false],
                    &self.cluster_rows()
                )
            ));
        }
        let v = self.verdict_lines(false);
        if !v.is_empty() {
            out.push_str(&format!("#### CI\n\n```\n{}\n```\n", v.join("\n")));
        }
        out
    }
}
