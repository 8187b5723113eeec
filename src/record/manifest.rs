//! `record.json`: what `heapsnap record` did, written beside the snapshots (also when the run failed, with
//! the error and the snapshots written so far): the command or endpoint, the inspectors seen and the one
//! chosen, the target's Node/V8 version, the workload and its figures per step, the snapshots with their sizes
//! and timings, how the target was stopped, and the peak memory of `heapsnap record` before the diff.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::load::LoadFigures;

/// Schema version of `record.json`.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// The manifest.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Manifest {
    /// Schema version.
    pub schema_version: u32,
    /// heapsnap's version.
    pub heapsnap_version: String,
    /// When the run started (UTC, ISO 8601).
    pub started_at: String,
    /// The command started (start mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// What was attached to (attach mode): a PID or a URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// How the inspector was opened: `--inspect`, `NODE_OPTIONS`, `SIGUSR1`, `already open`, `endpoint`.
    pub inspector_via: String,
    /// Every inspector seen, and why the chosen one was chosen.
    pub inspectors: Vec<InspectorSeen>,
    /// The process (or page) whose heap was recorded.
    pub target: TargetIdentity,
    /// The workload.
    pub workload: WorkloadDesc,
    /// Whether the workload also ran before the first snapshot.
    pub warmup: bool,
    /// Wait before each snapshot, milliseconds.
    pub settle_ms: u64,
    /// `--timeout`, seconds.
    pub timeout_s: f64,
    /// Workload steps, in order (`warmup`, `step 1`, ...).
    pub steps: Vec<StepRecord>,
    /// Snapshots written, in order.
    pub snapshots: Vec<SnapshotRecord>,
    /// The target's output (stdout and stderr), in the same directory (start mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_log: Option<String>,
    /// The process group of the started command (start mode): every process of it is stopped at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_group: Option<i32>,
    /// The signal that stopped the target's process group (start mode; `null` when it had already exited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_with: Option<String>,
    /// Whether the inspector opened by SIGUSR1 was closed again (attach by PID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspector_closed: Option<bool>,
    /// Peak resident memory of `heapsnap record` (bytes, `VmHWM`) when the snapshots were written, before the
    /// diff loads them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_before_diff: Option<u64>,
    /// Seconds spent recording (start to the target stopped).
    pub record_seconds: f64,
    /// Seconds spent in the diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_seconds: Option<f64>,
    /// The diff's exit code (0 fine, 1 a threshold crossed, 2 an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_exit_code: Option<u8>,
    /// Why the run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An inspector a process announced (or an endpoint listed).
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct InspectorSeen {
    /// `ws://…`.
    pub websocket: String,
    /// The target's URL (Node: `file://` of the script it runs).
    pub url: String,
    /// Its title.
    pub title: String,
    /// Whether it was recorded.
    pub chosen: bool,
    /// Why it was (not) chosen.
    pub why: String,
}

/// Who was recorded.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct TargetIdentity {
    /// `ws://…` of the session.
    pub websocket: String,
    /// Process id (Node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    /// `process.argv` (Node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// `process.version` (Node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_version: Option<String>,
    /// V8's version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v8_version: Option<String>,
    /// `navigator.userAgent` (browsers, Deno).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// The workload as configured.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct WorkloadDesc {
    /// `http`, `drive`, `evaluate` or `none`.
    pub kind: String,
    /// `--url`s.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// `--method`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `--requests` per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// `--concurrency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// `--drive`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drive: Option<String>,
    /// `--evaluate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluate: Option<String>,
    /// `--repeat`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u64>,
}

/// One workload step.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct StepRecord {
    /// `warmup`, `step 1`, ...
    pub name: String,
    /// Wall time, seconds.
    pub seconds: f64,
    /// HTTP load figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadFigures>,
    /// How the `--drive` command ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drive_exit: Option<String>,
    /// `--evaluate` runs done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations: Option<u64>,
}

/// One snapshot written.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct SnapshotRecord {
    /// File name (in the output directory).
    pub file: String,
    /// Bytes of snapshot JSON streamed.
    pub json_bytes: u64,
    /// Bytes on disk (less with `--gzip`).
    pub file_bytes: u64,
    /// The two garbage collections, milliseconds.
    pub gc_ms: f64,
    /// Taking and streaming the snapshot, milliseconds.
    pub snapshot_ms: f64,
}

impl Manifest {
    /// Write to `path` (pretty JSON).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = crate::json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("{}: cannot write", path.display()))
    }
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (days to civil date: Howard Hinnant's algorithm).
pub fn utc_iso(secs: u64) -> String {
    let (y, m, d) = civil(secs / 86400);
    let s = secs % 86400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

/// `secs` since the Unix epoch as `YYYYMMDD-HHMMSS` (UTC), for directory names.
pub fn utc_compact(secs: u64) -> String {
    let (y, m, d) = civil(secs / 86400);
    let s = secs % 86400;
    format!("{y:04}{m:02}{d:02}-{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn civil(days: u64) -> (i64, u32, u32) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(utc_iso(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1796398877` = Fri Dec  4 15:41:17 UTC 2026.
        assert_eq!(utc_iso(1_796_398_877), "2026-12-04T15:41:17Z");
        assert_eq!(utc_compact(951_782_400), "20000229-000000");
    }
}
