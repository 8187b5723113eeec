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
    let ci = CiConfig {
        thresholds: a.fail_on.iter().map(|t| Threshold::parse(t)).collect::<Result<_>>()?,
        budget: a.budget.as_deref().map(Budget::load).transpose()?,
        suppress: a
            .suppress
            .iter()
            .map(|s| Suppression::parse(s))
            .collect::<Result<_>>()?,
    };
    let files = a.files();
    let opts = DiffOptions {
        rules: RuleOptions {
            min_count: a.min_count,
            ..RuleOptions::default()
        },
        cluster_classes: 8,
        clusters_per_class: 3,
    };
    let mut report = diff::run(&files, &opts)?;
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
