//! CI verdicts for `heapsnap diff`: `--fail-on` threshold expressions, a per-class budget file, and
//! suppressions by class or holder path. Everything is parsed and validated before any snapshot is loaded.
//!
//! * `--fail-on 'METRIC>VALUE'` (also `>=`): `findings`; a class metric (`retained_delta`, `size_delta`,
//!   `delta_count`, `new_count`, `surviving_count`, `surviving_size`) is the largest value over the class rows
//!   not suppressed; `total.<metric>` (`size_delta`, `new_count`, `alloc_size`, `surviving_count`,
//!   `surviving_size`) uses the totals. VALUE is a count or a size (`1MB`, `512KiB`, `1024`).
//! * `--budget FILE`: JSON `{"default": {METRIC: VALUE}, "classes": {"Name": {METRIC: VALUE}}}` with the same
//!   class metrics; every class row is checked against its own limits, else the default ones.
//! * `--suppress class:REGEX` / `--suppress path:REGEX` (bare REGEX = class): matching findings are dropped
//!   and matching classes are ignored by class metrics.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::commands::tree::parse_size;
use crate::diff::{DiffClassRow, DiffReport};

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Gt,
    Ge,
}

/// One `--fail-on` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    text: String,
    metric: String,
    op: Op,
    limit: i64,
}

const CLASS_METRICS: &[&str] = &[
    "retained_delta",
    "size_delta",
    "delta_count",
    "new_count",
    "surviving_count",
    "surviving_size",
];
const TOTAL_METRICS: &[&str] = &[
    "size_delta",
    "new_count",
    "alloc_size",
    "surviving_count",
    "surviving_size",
];

fn parse_value(v: &str) -> Result<i64> {
    let v = v.trim();
    let (neg, body) = v.strip_prefix('-').map_or((false, v), |b| (true, b));
    let n = parse_size(body).map_err(anyhow::Error::msg)?;
    let n = i64::try_from(n).context("value too large")?;
    Ok(if neg { -n } else { n })
}

impl Threshold {
    /// Parse `METRIC>VALUE` or `METRIC>=VALUE`.
    pub fn parse(text: &str) -> Result<Threshold> {
        let (metric, op, value) = if let Some((m, v)) = text.split_once(">=") {
            (m, Op::Ge, v)
        } else if let Some((m, v)) = text.split_once('>') {
            (m, Op::Gt, v)
        } else {
            bail!("--fail-on `{text}`: expected METRIC>VALUE or METRIC>=VALUE, e.g. retained_delta>1MB");
        };
        let metric = metric.trim().to_string();
        let known = metric == "findings"
            || CLASS_METRICS.contains(&metric.as_str())
            || metric
                .strip_prefix("total.")
                .is_some_and(|m| TOTAL_METRICS.contains(&m));
        if !known {
            bail!(
                "--fail-on `{text}`: unknown metric `{metric}` (findings, {}, total.{})",
                CLASS_METRICS.join(", "),
                TOTAL_METRICS.join(", total.")
            );
        }
        let limit = parse_value(value).with_context(|| format!("--fail-on `{text}`"))?;
        Ok(Threshold {
            text: text.to_string(),
            metric,
            op,
            limit,
        })
    }
}

/// A suppression.
#[derive(Debug, Clone)]
pub enum Suppression {
    /// Class name pattern.
    Class(Regex),
    /// Holder path pattern.
    Path(Regex),
}

impl Suppression {
    /// Parse `class:REGEX`, `path:REGEX` or a bare class REGEX. A word before a `:` that is neither (`clas:X`)
    /// is an error listing both, not a class pattern that silently matches nothing (`blink::Node`, whose `::`
    /// is not a prefix, stays a class pattern).
    pub fn parse(text: &str) -> Result<Suppression> {
        let re = |p: &str| Regex::new(p).with_context(|| format!("--suppress `{text}`: bad regular expression"));
        Ok(match text.split_once(':') {
            Some(("class", p)) => Suppression::Class(re(p)?),
            Some(("path", p)) => Suppression::Path(re(p)?),
            Some((kind, p))
                if !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphabetic()) && !p.starts_with(':') =>
            {
                bail!("--suppress `{text}`: unknown kind `{kind}:`; use `class:REGEX` (class names) or `path:REGEX` (holder paths)")
            }
            _ => Suppression::Class(re(text)?),
        })
    }
}

/// Per-class limits from a budget file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Budget {
    /// Limits for classes without their own.
    #[serde(default)]
    pub default: BTreeMap<String, serde_json::Value>,
    /// Limits per class name.
    #[serde(default)]
    pub classes: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

fn limit_value(v: &serde_json::Value) -> Result<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().context("limit is not an integer"),
        serde_json::Value::String(s) => parse_value(s),
        _ => bail!("limit must be a number or a size string"),
    }
}

impl Budget {
    /// Read and validate a budget file.
    pub fn load(path: &Path) -> Result<Budget> {
        let text = std::fs::read(path).with_context(|| format!("--budget {}", path.display()))?;
        let b: Budget =
            crate::json::from_slice(&text).with_context(|| format!("--budget {}: not a budget", path.display()))?;
        for (m, v) in b.default.iter().chain(b.classes.values().flat_map(|c| c.iter())) {
            if !CLASS_METRICS.contains(&m.as_str()) {
                bail!(
                    "--budget {}: unknown metric `{m}` ({})",
                    path.display(),
                    CLASS_METRICS.join(", ")
                );
            }
            limit_value(v).with_context(|| format!("--budget {}: `{m}`", path.display()))?;
        }
        Ok(b)
    }
}

/// CI configuration of a diff.
#[derive(Debug, Clone, Default)]
pub struct CiConfig {
    /// `--fail-on` expressions.
    pub thresholds: Vec<Threshold>,
    /// `--budget`.
    pub budget: Option<Budget>,
    /// `--suppress`.
    pub suppress: Vec<Suppression>,
}

/// One evaluated check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Check {
    /// The check as written (or `budget: Class.metric<=limit`).
    pub check: String,
    /// The measured value; `null` when the metric is unavailable (it needs comparable object ids).
    pub value: Option<i64>,
    /// What the value was measured on (a class name, `total`, or `findings`).
    pub subject: String,
    /// Whether it failed.
    pub crossed: bool,
    /// Why the value is unavailable, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a metric that needs object ids has no value.
const NO_IDS: &str = "unavailable: object ids were reassigned between the snapshots, so new, deleted and \
                      surviving objects cannot be told (the check is not applied)";

/// The CI section of a diff report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// `pass` or `fail`.
    pub verdict: String,
    /// Every check.
    pub checks: Vec<Check>,
    /// Findings dropped by `--suppress`.
    pub suppressed_findings: usize,
}

/// A class metric; `None` when it needs object ids and they were not comparable.
fn class_metric(r: &DiffClassRow, m: &str) -> Option<i64> {
    let opt = |v: Option<u64>| v.map(|x| x as i64);
    match m {
        "retained_delta" => Some(r.retained_delta),
        "size_delta" => Some(r.size_delta),
        "delta_count" => Some(r.delta_count),
        "new_count" => opt(r.new_count),
        "surviving_count" => opt(r.surviving_count),
        "surviving_size" => opt(r.surviving_size),
        _ => Some(0),
    }
}

impl CiConfig {
    fn class_suppressed(&self, name: &str) -> bool {
        self.suppress
            .iter()
            .any(|s| matches!(s, Suppression::Class(re) if re.is_match(name)))
    }

    /// Apply suppressions to `report` (in place) and evaluate the checks.
    pub fn apply(&self, report: &mut DiffReport) -> Verdict {
        let before = report.findings.len();
        report.findings.retain(|f| {
            !self.suppress.iter().any(|s| match s {
                Suppression::Class(re) => re.is_match(&f.class),
                Suppression::Path(re) => re.is_match(&f.holder),
            })
        });
        let suppressed_findings = before - report.findings.len();
        let rows: Vec<&DiffClassRow> = report
            .classes
            .iter()
            .filter(|r| !self.class_suppressed(&r.name))
            .collect();
        let mut checks = Vec::new();
        for t in &self.thresholds {
            let (value, subject) = if t.metric == "findings" {
                (Some(report.findings.len() as i64), "findings".to_string())
            } else if let Some(m) = t.metric.strip_prefix("total.") {
                let tt = &report.totals;
                let opt = |v: Option<u64>| v.map(|x| x as i64);
                let v = match m {
                    "size_delta" => Some(tt.size_delta),
                    "new_count" => opt(tt.new_count),
                    "alloc_size" => opt(tt.alloc_size),
                    "surviving_count" => opt(tt.surviving_count),
                    _ => opt(tt.surviving_size),
                };
                (v, "total".to_string())
            } else if rows.iter().any(|r| class_metric(r, &t.metric).is_none()) {
                (None, "every class".to_string())
            } else {
                rows.iter()
                    .filter_map(|r| class_metric(r, &t.metric).map(|v| (v, r.name.clone())))
                    .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
                    .map_or((Some(0), "no class".into()), |(v, n)| (Some(v), n))
            };
            let crossed = value.is_some_and(|value| match t.op {
                Op::Gt => value > t.limit,
                Op::Ge => value >= t.limit,
            });
            checks.push(Check {
                check: t.text.clone(),
                value,
                subject,
                crossed,
                note: value.is_none().then(|| NO_IDS.to_string()),
            });
        }
        if let Some(b) = &self.budget {
            for r in &rows {
                let limits = b.classes.get(&r.name).unwrap_or(&b.default);
                for (m, v) in limits {
                    let limit = limit_value(v).unwrap_or(i64::MAX);
                    match class_metric(r, m) {
                        Some(value) if value > limit => checks.push(Check {
                            check: format!("budget: {m}<={limit}"),
                            value: Some(value),
                            subject: r.name.clone(),
                            crossed: true,
                            note: None,
                        }),
                        Some(_) => {}
                        None => checks.push(Check {
                            check: format!("budget: {m}<={limit}"),
                            value: None,
                            subject: r.name.clone(),
                            crossed: false,
                            note: Some(NO_IDS.to_string()),
                        }),
                    }
                }
            }
        }
        let fail = checks.iter().any(|c| c.crossed);
        Verdict {
            verdict: if fail { "fail" } else { "pass" }.into(),
            checks,
            suppressed_findings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_thresholds() {
        let t = Threshold::parse("retained_delta>1MB").unwrap();
        assert_eq!(
            (t.metric.as_str(), t.op, t.limit),
            ("retained_delta", Op::Gt, 1_000_000)
        );
        let t = Threshold::parse("total.surviving_count >= 10").unwrap();
        assert_eq!(
            (t.metric.as_str(), t.op, t.limit),
            ("total.surviving_count", Op::Ge, 10)
        );
        assert!(Threshold::parse("bogus>1").is_err());
        assert!(Threshold::parse("findings").is_err());
        assert!(Threshold::parse("findings>x").is_err());
    }

    #[test]
    fn an_unknown_suppression_kind_lists_the_known_ones() {
        let e = Suppression::parse("clas:Foo").unwrap_err().to_string();
        assert!(
            e.contains("`clas:`") && e.contains("class:REGEX") && e.contains("path:REGEX"),
            "{e}"
        );
        assert!(matches!(Suppression::parse("blink::Node"), Ok(Suppression::Class(_))));
        assert!(matches!(Suppression::parse("Foo"), Ok(Suppression::Class(_))));
    }

    #[test]
    fn parses_suppressions() {
        assert!(matches!(
            Suppression::parse("class:^Lru").unwrap(),
            Suppression::Class(_)
        ));
        assert!(matches!(
            Suppression::parse("path:recent").unwrap(),
            Suppression::Path(_)
        ));
        assert!(Suppression::parse("class:(").is_err());
    }
}
