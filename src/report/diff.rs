//! The `diff` report: growth table, clusters (what holds the growth), findings, CI verdict.

use serde::{Deserialize, Serialize};

use super::style::{self, paint, paint_if, Style};
use super::{ellipsize, human_delta, human_size, md_cell, md_table, table, table_styled, Render};
use crate::ci::Verdict;
use crate::diff::DiffReport;
use crate::rules::Finding;

/// What `heapsnap diff` prints: the diff and, when CI options were given, the verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// `1`, `4`, `~2.3` objects per entry.
fn per_entry(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{}", x.round() as u64)
    } else {
        format!("~{x:.1}")
    }
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
                    ellipsize(&r.name, 60),
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
                    ellipsize(&c.holder, 110),
                    format!("@{}", c.example_id),
                ]
            })
            .collect()
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

    /// The text block of one finding: a title line, then what accumulates and why, indented.
    fn finding_lines(&self, i: usize, f: &Finding, paint_on: bool) -> String {
        let steps = (f.counts.len().max(2) - 1) as i64;
        let mut out = format!(
            "{:>3}. {} {}\n       a fix frees {} ({}/step), {:+} objects\n",
            i + 1,
            paint_if(paint_on, &format!("[{}]", f.rule), Style::Bad),
            paint_if(paint_on, &f.title, Style::Strong),
            human_delta(f.retained_delta),
            human_delta(f.retained_delta / steps),
            f.count_delta,
        );
        let scope = if f.holder_scope.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.holder_scope)
        };
        out.push_str(&format!("       holder: {}{scope}\n", f.holder_name));
        if !f.other_holders.is_empty() {
            out.push_str(&format!("       also held by: {}\n", f.other_holders.join(", ")));
        }
        out.push_str(&format!("       path: {}\n", f.path));
        if self.verbose {
            out.push_str(&format!("       full path: {}\n", f.holder));
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
        out.push_str(&format!("       accumulates: {}\n", acc.join(", ")));
        if !f.each_holds.is_empty() {
            let h: Vec<String> = f
                .each_holds
                .iter()
                .take(6)
                .map(|h| format!("{} {}", per_entry(h.per_entry), h.class))
                .collect();
            out.push_str(&format!("       each holds: {}\n", h.join(", ")));
        }
        if !f.captured.is_empty() {
            out.push_str(&format!("       captured variables: {}\n", f.captured.join(", ")));
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
                    (Some(v), _) => format!("{mark} {}: {v} ({})", c.check, c.subject),
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

impl Render for DiffOutput {
    fn table(&self) -> String {
        let heading = |h: &str| paint(h, Style::Heading);
        let mut out = format!("{}\n", self.headline());
        if let Some(n) = &self.diff.note {
            out.push_str(&format!("note: {n}\n"));
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
            out.push_str(&format!(
                "  engine/browser internals that grew (not findings; --include-internals lists them): {}\n",
                names.join(", ")
            ));
        }
        let (h, n, rows) = self.class_rows();
        out.push_str(&format!(
            "\n{}\n{}\n",
            heading("Growth by constructor"),
            table_styled(&h, &n, rows, |r, c| self.class_cell_style(r, c))
        ));
        if !self.diff.clusters.is_empty() {
            out.push_str(&format!(
                "\n{}\n{}\n",
                heading("What holds the new objects"),
                table(
                    &["Constructor", "Objects", "Retained", "Held by", "Example"],
                    &[false, true, true, false, false],
                    self.cluster_rows()
                )
            ));
        }
        for l in self.verdict_lines(style::enabled()) {
            out.push_str(&l);
            out.push('\n');
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
