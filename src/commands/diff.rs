//! `heapsnap diff A B [C ...]`: validated CI options -> [`crate::diff::run`] -> suppressions and checks ->
//! report. Exit 1 when a threshold or budget is crossed. `heapsnap record` ends with the same [`verdict`];
//! `heapsnap report` shares [`ci_config`] and [`diff_options`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;

use crate::app::Outcome;
use crate::ci::{Budget, CiConfig, Suppression, Threshold};
use crate::cli::{CheckFlags, DiffArgs, DiffFlags};
use crate::diff::{self, DiffOptions};
use crate::report::diff::DiffOutput;
use crate::report::Render;
use crate::rules::RuleOptions;

/// `heapsnap diff`.
pub fn run(a: DiffArgs, out: &mut dyn Write) -> Result<Outcome> {
    // Validate everything before loading gigabytes.
    let ci = ci_config(&a.options.checks)?;
    verdict(&a.files(), &a.options, ci, out)
}

/// The CI thresholds, budget and suppressions of `a`, validated (the budget file read).
pub fn ci_config(a: &CheckFlags) -> Result<CiConfig> {
    Ok(CiConfig {
        thresholds: a.fail_on.iter().map(|t| Threshold::parse(t)).collect::<Result<_>>()?,
        budget: a.budget.as_deref().map(Budget::load).transpose()?,
        suppress: a
            .suppress
            .iter()
            .map(|s| Suppression::parse(s))
            .collect::<Result<_>>()?,
    })
}

/// The diff's options for `--min-count` and `--include-internals`.
pub fn diff_options(a: &CheckFlags) -> DiffOptions {
    DiffOptions {
        rules: RuleOptions {
            min_count: a.min_count,
            include_internals: a.include_internals,
            ..RuleOptions::default()
        },
        cluster_classes: 8,
        clusters_per_class: 3,
    }
}

/// Diff `files` (oldest first), apply `ci`, write the report in `a.format`: what `heapsnap diff` prints.
pub fn verdict(files: &[PathBuf], a: &DiffFlags, ci: CiConfig, out: &mut dyn Write) -> Result<Outcome> {
    let opts = diff_options(&a.checks);
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
