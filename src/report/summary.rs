//! The `summary` report: totals, the Statistics view, and the per-class table.

use serde::{Deserialize, Serialize};

use super::text::{self, Column};
use super::{distance, human_size, md_table, percent, Render};
use crate::summary::{ClassRow, Statistics, Totals};

/// What `heapsnap summary` prints.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SummaryReport {
    /// Schema version of this JSON.
    pub schema_version: u32,
    /// The snapshot.
    pub file: String,
    /// Totals.
    pub totals: Totals,
    /// The Statistics view.
    pub statistics: Statistics,
    /// Rows shown (after filter, sort and limit).
    pub classes: Vec<ClassRow>,
    /// Rows before `--limit` / `--filter`.
    pub class_count: u64,
}

impl SummaryReport {
    fn has_retained(&self) -> bool {
        self.classes.iter().any(|c| c.retained_size.is_some())
    }

    fn rows(&self) -> (Vec<&'static str>, Vec<bool>, Vec<Vec<String>>) {
        let total = self.totals.total_size;
        let ret = self.has_retained();
        let mut header = vec!["Constructor", "Distance", "Objects", "Shallow size", "%"];
        if ret {
            header.extend(["Retained size", "%"]);
        }
        let numeric = vec![false, true, true, true, true, true, true];
        let rows = self
            .classes
            .iter()
            .map(|c| {
                let mut r = vec![
                    c.name.clone(),
                    distance(c.distance),
                    c.count.to_string(),
                    human_size(c.self_size),
                    percent(c.self_size, total),
                ];
                if let Some(rs) = c.retained_size {
                    r.push(human_size(rs));
                    r.push(percent(rs, total));
                } else if ret {
                    r.extend(["".into(), "".into()]);
                }
                r
            })
            .collect();
        (header, numeric, rows)
    }

    /// The class table's columns under a narrow width: the name shortened in its middle, then the shallow
    /// percentage, the distance and the retained percentage dropped.
    fn columns(&self) -> Vec<Column> {
        let mut c = vec![
            Column::text("Constructor", 24),
            Column::optional("Distance", true, 2),
            Column::keep("Objects", true),
            Column::keep("Shallow size", true),
            Column::optional("%", true, 3),
        ];
        if self.has_retained() {
            c.extend([Column::keep("Retained size", true), Column::optional("%", true, 1)]);
        }
        c
    }

    fn stats_rows(&self) -> Vec<Vec<String>> {
        let s = &self.statistics;
        [
            ("Code", s.code),
            ("Strings", s.strings),
            ("JS arrays", s.js_arrays),
            ("Typed arrays", s.typed_arrays),
            ("System objects", s.system_objects),
            ("Other JS objects", s.other_js_objects),
            ("Other non-JS objects", s.other_non_js_objects),
            ("Total", s.total),
        ]
        .iter()
        .map(|(k, v)| vec![k.to_string(), human_size(*v), percent(*v, s.total)])
        .collect()
    }

    fn headline(&self) -> String {
        let t = &self.totals;
        format!(
            "{}: {} total, {} nodes, {} edges{}",
            self.file,
            human_size(t.total_size),
            t.node_count,
            t.edge_count,
            if t.extra_native_bytes > 0 {
                format!(", {} extra native", human_size(t.extra_native_bytes))
            } else {
                String::new()
            }
        )
    }

    fn footer(&self) -> String {
        let shown = self.classes.len() as u64;
        let more = if shown < self.class_count {
            format!("{} of {} classes shown", shown, self.class_count)
        } else {
            format!("{} classes", self.class_count)
        };
        format!(
            "{more}; all rows: {} objects, {} shallow",
            self.totals.object_count,
            human_size(self.totals.shallow_size)
        )
    }
}

impl Render for SummaryReport {
    fn table(&self) -> String {
        let (_, _, rows) = self.rows();
        const STATS: [Column; 3] = [
            Column::keep("Statistics", false),
            Column::keep("Size", true),
            Column::keep("%", true),
        ];
        format!(
            "{}\n{}\n\n{}\n{}",
            text::line("", &text::escape(&self.headline()), 2),
            text::fit_table(&STATS, self.stats_rows(), |_, _| None),
            text::fit_table(&self.columns(), rows, |_, _| None),
            text::line("", &self.footer(), 2)
        )
    }

    fn markdown(&self) -> String {
        let (h, n, rows) = self.rows();
        format!(
            "### Heap summary\n\n{}\n\n{}\n{}\n{}\n",
            super::md_cell(&self.headline()),
            md_table(&["Statistics", "Size", "%"], &[false, true, true], &self.stats_rows()),
            md_table(&h, &n, &rows),
            self.footer()
        )
    }
}
