//! `heapsnap report FILE [FILE...]`: the self-contained HTML report ([`crate::report::html`]). One file: the
//! snapshot's summary, treemap and largest objects; two or more: the diff of the series with `diff`'s options,
//! CI verdict and exit code. `summary --format html` and `diff --format html` come here too.
//!
//! Cost: the load `summary` does (distances, Statistics sums and class retained sizes during the load), then
//! O(V) passes for the tree cut and the largest objects; a series costs what `diff` costs, plus the per-class
//! retained sizes of every snapshot for the growth charts and the tree cut of the last one.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::app::Outcome;
use crate::ci::CiConfig;
use crate::cli::ReportArgs;
use crate::diff::{self, DiffOptions};
use crate::report::diff::DiffOutput;
use crate::report::html::{self, HtmlOptions, Input};
use crate::timing::Phase;

/// `heapsnap report`.
pub fn run(a: ReportArgs, out: &mut dyn Write) -> Result<Outcome> {
    // Validate everything before loading gigabytes.
    if let Some(o) = &a.output {
        refuse_input_as_output(o, &a.files)?;
    }
    let opts = HtmlOptions {
        max_nodes: a.max_nodes,
        top: a.top,
        class_rows: a.limit,
        ..HtmlOptions::default()
    };
    let (text, outcome) = if a.files.len() == 1 {
        (snapshot(&a.files[0], &opts)?, Outcome::Ok)
    } else {
        let ci = crate::commands::diff::ci_config(&a.checks)?;
        series(&a.files, &ci, &crate::commands::diff::diff_options(&a.checks), &opts)?
    };
    match &a.output {
        Some(path) => std::fs::write(path, text.as_bytes())
            .with_context(|| format!("{}: cannot write the report", path.display()))?,
        None => out.write_all(text.as_bytes())?,
    }
    Ok(outcome)
}

/// Never overwrite an input: `-o` naming one of the snapshots is an error.
fn refuse_input_as_output(output: &Path, inputs: &[PathBuf]) -> Result<()> {
    let Ok(o) = output.canonicalize() else {
        return Ok(());
    };
    for i in inputs {
        if i.canonicalize().is_ok_and(|c| c == o) {
            anyhow::bail!(
                "-o {}: that is an input snapshot; the report goes to another file",
                output.display()
            );
        }
    }
    Ok(())
}

/// The HTML report of one snapshot.
pub fn snapshot(file: &Path, opts: &HtmlOptions) -> Result<String> {
    let an = crate::app::load_for_summary(file)?;
    let t = Phase::start("html report");
    let summary = crate::commands::summary::build_summary(&an, &file.display().to_string(), None, None, None);
    let text = html::render(
        &Input::Snapshot {
            analysis: &an,
            summary: &summary,
        },
        opts,
    );
    t.done();
    crate::app::dispose(an);
    crate::timing::finish_progress();
    Ok(text)
}

/// The HTML report of a series (oldest first) and the outcome of its CI checks.
pub fn series(files: &[PathBuf], ci: &CiConfig, dopts: &DiffOptions, opts: &HtmlOptions) -> Result<(String, Outcome)> {
    anyhow::ensure!(
        files.len() >= 2,
        "a diff report needs at least two snapshots (oldest first)"
    );
    let (snaps, order_warning) = diff::load_series(files)?;
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let mut report = diff::diff_analyses(&snaps, names, dopts);
    diff::warn_order(&report, order_warning);
    let verdict = ci.apply(&mut report);
    let fail = verdict.verdict == "fail";
    let output = DiffOutput {
        verbose: false,
        diff: report,
        ci: verdict,
        limit: opts.class_rows,
    };
    let t = Phase::start("html report");
    let text = html::render(
        &Input::Series {
            analyses: &snaps,
            output: &output,
        },
        opts,
    );
    t.done();
    crate::app::dispose(snaps);
    crate::timing::finish_progress();
    Ok((text, if fail { Outcome::ThresholdCrossed } else { Outcome::Ok }))
}
