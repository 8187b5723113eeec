//! Commands: validated options -> library calls -> a report -> rendered output. `main.rs` only parses the
//! command line and maps the outcome to an exit code.

use std::io::Write;

use anyhow::{Context, Result};
use regex::Regex;

use crate::analysis::Analysis;
use crate::cli::{Cli, Command, SortKey, SummaryArgs};
use crate::report::summary::SummaryReport;
use crate::report::Render;
use crate::snapshot::Snapshot;
use crate::summary::{self, ClassRow, SCHEMA_VERSION};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ran fine.
    Ok,
    /// A CI threshold was crossed (exit 1).
    ThresholdCrossed,
}

/// Run the parsed command line, writing to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<Outcome> {
    match cli.command {
        Command::Summary(a) => summary_cmd(a, out),
    }
}

fn load(path: &std::path::Path) -> Result<Analysis> {
    let snap = Snapshot::open(path)?;
    Ok(Analysis::new(snap)?)
}

/// Sort class rows deterministically: by the key, then by class key.
pub fn sort_rows(rows: &mut [ClassRow], key: SortKey) {
    rows.sort_by(|a, b| {
        let primary = match key {
            SortKey::Retained => b
                .retained_size
                .unwrap_or(b.self_size)
                .cmp(&a.retained_size.unwrap_or(a.self_size)),
            SortKey::Shallow => b.self_size.cmp(&a.self_size),
            SortKey::Count => b.count.cmp(&a.count),
            SortKey::Distance => a.distance.cmp(&b.distance),
            SortKey::Name => a.name.cmp(&b.name),
        };
        primary
            .then_with(|| b.self_size.cmp(&a.self_size))
            .then_with(|| a.key.cmp(&b.key))
    });
}

fn summary_cmd(a: SummaryArgs, out: &mut dyn Write) -> Result<Outcome> {
    let filter = a
        .filter
        .as_deref()
        .map(Regex::new)
        .transpose()
        .context("--filter: not a valid regular expression")?;
    let an = load(&a.file)?;
    let report = build_summary(&an, &a.file.display().to_string(), a.sort, a.limit, filter.as_ref());
    report.write(a.format, out)?;
    Ok(Outcome::Ok)
}

/// Build the summary report of an analysed snapshot.
pub fn build_summary(
    an: &Analysis,
    file: &str,
    sort: Option<SortKey>,
    limit: Option<usize>,
    filter: Option<&Regex>,
) -> SummaryReport {
    let retained = an.class_retained();
    let mut rows = summary::class_rows(an, Some(&retained));
    let totals = summary::totals(an, &rows);
    let class_count = rows.len() as u64;
    let has_retained = rows.iter().any(|r| r.retained_size.is_some());
    let key = sort.unwrap_or(if has_retained {
        SortKey::Retained
    } else {
        SortKey::Shallow
    });
    sort_rows(&mut rows, key);
    if let Some(f) = filter {
        rows.retain(|r| f.is_match(&r.name));
    }
    if let Some(n) = limit {
        rows.truncate(n);
    }
    SummaryReport {
        schema_version: SCHEMA_VERSION,
        file: file.to_string(),
        totals,
        statistics: summary::statistics(an),
        classes: rows,
        class_count,
    }
}
