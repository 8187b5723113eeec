//! `heapsnap summary`: totals, the Statistics view and the per-class table (DevTools' Summary view).

use std::io::Write;

use anyhow::{Context, Result};
use regex::Regex;

use crate::analysis::Analysis;
use crate::app::Outcome;
use crate::cli::{SortKey, SummaryArgs};
use crate::report::summary::SummaryReport;
use crate::report::Render;
use crate::summary::{self, ClassRow, SCHEMA_VERSION};

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

/// `heapsnap summary`.
pub fn run(a: SummaryArgs, out: &mut dyn Write) -> Result<Outcome> {
    let filter = a
        .filter
        .as_deref()
        .map(Regex::new)
        .transpose()
        .context("--filter: not a valid regular expression")?;
    if a.format == crate::report::Format::Html {
        // The same document as `heapsnap report FILE` (every class; the page sorts and filters).
        let text = crate::commands::report::snapshot(&a.file, &crate::report::html::HtmlOptions::default())?;
        out.write_all(text.as_bytes())?;
        return Ok(Outcome::Ok);
    }
    let an = crate::app::load_for_summary(&a.file)?;
    let t = crate::timing::Phase::start("summary report");
    let report = build_summary(&an, &a.file.display().to_string(), a.sort, a.limit, filter.as_ref());
    t.done();
    crate::app::dispose(an);
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
    // The per-class retained sizes (walks of dominator subtrees, in parallel) beside the Statistics view
    // (parallel passes over the nodes and edges, unless the load has made its sums: then only the totals).
    let (retained, statistics) = rayon::join(
        || {
            let t = crate::timing::Phase::start("class retained");
            let retained = an.class_retained();
            t.done();
            retained
        },
        || {
            let t = crate::timing::Phase::start("statistics");
            let statistics = summary::statistics(an);
            t.done();
            statistics
        },
    );
    let mut rows = summary::class_rows(an, Some(&retained));
    let totals = summary::totals(an, &rows);
    let class_count = rows.len() as u64;
    // Every row has its retained size: sorted by it unless asked otherwise.
    let key = sort.unwrap_or(SortKey::Retained);
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
        statistics,
        classes: rows,
        class_count,
    }
}
