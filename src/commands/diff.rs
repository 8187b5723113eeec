//! `heapsnap diff A B [C ...]`: validated CI options -> [`crate::diff::run`] -> suppressions and checks ->
//! report. Exit 1 when a threshold or budget is crossed. `heapsnap record` ends with the same [`verdict`];
//! `heapsnap report` shares [`ci_checks`] and [`diff_options`].

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::app::Outcome;
use crate::ci::{Budget, CiConfig, Suppression, Threshold};
use crate::cli::{DiffArgs, DiffFlags};
use crate::diff::{self, DiffOptions};
use crate::report::diff::DiffOutput;
use crate::report::Render;
use crate::rules::RuleOptions;

/// `heapsnap diff`.
pub fn run(a: DiffArgs, out: &mut dyn Write) -> Result<Outcome> {
    // Validate everything before loading gigabytes.
    let ci = ci_config(&a.options)?;
    verdict(&a.files(), &a.options, ci, out)
}

/// The CI thresholds, budget and suppressions of `a`, validated (the budget file read).
pub fn ci_config(a: &DiffFlags) -> Result<CiConfig> {
    ci_checks(&a.fail_on, a.budget.as_deref(), &a.suppress)
}

/// The CI checks of `--fail-on`, `--budget` and `--suppress`, validated (shared with `heapsnap report`).
pub fn ci_checks(fail_on: &[String], budget: Option<&Path>, suppress: &[String]) -> Result<CiConfig> {
    Ok(CiConfig {
        thresholds: fail_on.iter().map(|t| Threshold::parse(t)).collect::<Result<_>>()?,
        budget: budget.map(Budget::load).transpose()?,
        suppress: suppress.iter().map(|s| Suppression::parse(s)).collect::<Result<_>>()?,
    })
}

/// The diff's options for `--min-count` and `--include-internals` (shared with `heapsnap report`).
pub fn diff_options(min_count: u64, include_internals: bool) -> DiffOptions {
    DiffOptions {
        rules: RuleOptions {
            min_count,
            include_internals,
            ..RuleOptions::default()
        },
        cluster_classes: 8,
        clusters_per_class: 3,
    }
}

/// Diff `files` (oldest first), apply `ci`, write the report in `a.format`: what `heapsnap diff` prints.
pub fn verdict(files: &[PathBuf], a: &DiffFlags, ci: CiConfig, out: &mut dyn Write) -> Result<Outcome> {
    let opts = diff_options(a.min_count, a.include_internals);
    if a.format == crate::report::Format::Html {
        let html = crate::report::html::HtmlOptions::default();
        let (text, outcome) = crate::commands::report::series(files, &ci, &opts, &html)?;
        out.write_all(text.as_bytes())?;
        return Ok(outcome);
    }
    let mut report = diff::run(files, &opts)?;
    let verdict = ci.apply(&mut report);
    let fail = verdict.verdict == "fail";
    let output = DiffOutput {
        diff: report,
        ci: verdict,
        limit: a.limit,
        verbose: a.verbose,
    };
    output.write(a.format, out)?;
    Ok(if fail { Outcome::ThresholdCrossed } else { Outcome::Ok })
}
