//! `heapsnap diff A B [C ...]`: validated CI options -> [`crate::diff::run`] -> suppressions and checks ->
//! report. Exit 1 when a threshold or budget is crossed.

use std::io::Write;

use anyhow::Result;

use crate::app::Outcome;
use crate::ci::{Budget, CiConfig, Suppression, Threshold};
use crate::cli::DiffArgs;
use crate::diff::{self, DiffOptions};
use crate::report::diff::DiffOutput;
use crate::report::Render;
use crate::rules::RuleOptions;

/// `heapsnap diff`.
pub fn run(a: DiffArgs, out: &mut dyn Write) -> Result<Outcome> {
    // Validate everything before loading gigabytes.
    let ci = ci_config(&a.fail_on, a.budget.as_deref(), &a.suppress)?;
    anyhow::ensure!(a.files.len() >= 2, "diff needs at least two snapshots (oldest first)");
    let opts = diff_options(a.min_count);
    if a.format == crate::report::Format::Html {
        let html = crate::report::html::HtmlOptions::default();
        let (text, outcome) = crate::commands::report::series(&a.files, &ci, &opts, &html)?;
        out.write_all(text.as_bytes())?;
        return Ok(outcome);
    }
    let mut report = diff::run(&a.files, &opts)?;
    let verdict = ci.apply(&mut report);
    let fail = verdict.verdict == "fail";
    let output = DiffOutput {
        diff: report,
        ci: verdict,
        limit: a.limit,
    };
    output.write(a.format, out)?;
    Ok(if fail { Outcome::ThresholdCrossed } else { Outcome::Ok })
}

/// The CI checks of `--fail-on`, `--budget` and `--suppress`, validated (shared with `heapsnap report`).
pub fn ci_config(fail_on: &[String], budget: Option<&std::path::Path>, suppress: &[String]) -> Result<CiConfig> {
    Ok(CiConfig {
        thresholds: fail_on.iter().map(|t| Threshold::parse(t)).collect::<Result<_>>()?,
        budget: budget.map(Budget::load).transpose()?,
        suppress: suppress.iter().map(|s| Suppression::parse(s)).collect::<Result<_>>()?,
    })
}

/// The diff's options for `--min-count` (shared with `heapsnap report`).
pub fn diff_options(min_count: u64) -> DiffOptions {
    DiffOptions {
        rules: RuleOptions {
            min_count,
            ..RuleOptions::default()
        },
        cluster_classes: 8,
        clusters_per_class: 3,
    }
}
