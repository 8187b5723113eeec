//! `heapsnap record`: start (or attach to) a program, drive its workload, take the snapshots over the
//! inspector protocol, then run `heapsnap diff` on them. One door in: [`command`] (validated options ->
//! [`run`] -> [`crate::commands::diff::verdict`]).
//!
//! The pipeline of [`run`]: output directory -> target (started in its own process group with
//! `--inspect=127.0.0.1:0`, or `NODE_OPTIONS` under a wrapper such as `npm start`; or attached: a PID via
//! SIGUSR1, a `ws://`/`http://` endpoint) -> one CDP session for the whole series -> [warmup] -> for each
//! snapshot: workload (after the first), settle, `Debugger.enable`/`disable` (primes the scripts' line ends),
//! `HeapProfiler.collectGarbage` ×2, `HeapProfiler.takeHeapSnapshot` streamed chunk by chunk to `NAME.part`
//! (gzip with `--gzip`), renamed when complete -> the target stopped (SIGINT, SIGTERM, SIGKILL) or, attached by
//! PID, its inspector closed -> `record.json`.
//!
//! Memory: a snapshot is never held; one chunk (V8 sends small ones) and a 1 MiB write buffer at a time.
//! Faults: every error names its step (`record: snapshot 2: target exited (code 1)`), lists the snapshots
//! kept and the target's last stderr lines, and the target's process group is gone when it returns.

pub mod cdp;
pub mod load;
pub mod manifest;
pub mod process;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use indicatif::ProgressBar;
use regex::Regex;
use serde_json::{json, Value};

use crate::app::Outcome;
use crate::cli::RecordArgs;
use cdp::{Cdp, TargetInfo};
use load::{LoadFigures, LoadSpec};
use manifest::{InspectorSeen, Manifest, SnapshotRecord, StepRecord, WorkloadDesc};
use process::{check_interrupt, describe_status, Target};

/// What to record.
#[derive(Debug, Clone)]
pub enum Source {
    /// Start this command.
    Start(Vec<String>),
    /// Attach to a running Node process.
    Pid(i32),
    /// Attach to a CDP endpoint (`ws://…` or `http://host:port`).
    Url(String),
}

/// The workload run between snapshots.
#[derive(Debug, Clone)]
pub enum Workload {
    /// Nothing: snapshots `--settle` apart.
    None,
    /// The built-in HTTP load generator.
    Http(LoadSpec),
    /// A shell command.
    Drive(String),
    /// An expression evaluated in the target, `repeat` times.
    Evaluate {
        /// The expression.
        expr: String,
        /// Runs per step.
        repeat: u64,
    },
}

/// Validated options of a recording.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// What to record.
    pub source: Source,
    /// Picks the inspector target by URL or title.
    pub target: Option<Regex>,
    /// The workload.
    pub workload: Workload,
    /// Failed load requests fail the run.
    pub strict: bool,
    /// Run the workload before the first snapshot too.
    pub warmup: bool,
    /// Snapshots (>= 2).
    pub snapshots: usize,
    /// Wait before each snapshot.
    pub settle: Duration,
    /// Bound of every wait.
    pub timeout: Duration,
    /// Output directory (created; must be empty).
    pub out: PathBuf,
    /// Gzip the snapshots.
    pub gzip: bool,
}

impl RecordOptions {
    /// Validate the command line (every flag checked before anything starts).
    pub fn from_args(a: &RecordArgs) -> Result<RecordOptions> {
        let source = match &a.attach {
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                Source::Pid(s.parse().with_context(|| format!("--attach {s}: not a PID"))?)
            }
            Some(s) if s.starts_with("ws://") || s.starts_with("http://") => Source::Url(s.clone()),
            Some(s) => bail!("--attach {s}: expected a PID, ws://… or http://host:port"),
            None => {
                anyhow::ensure!(!a.command.is_empty(), "record needs a command after `--`, or --attach");
                Source::Start(a.command.clone())
            }
        };
        anyhow::ensure!(a.snapshots >= 2, "--snapshots must be at least 2 (a diff needs two)");
        anyhow::ensure!(
            a.timeout.is_finite() && a.timeout > 0.0,
            "--timeout must be a positive number of seconds"
        );
        let timeout = Duration::from_secs_f64(a.timeout);
        let target = a
            .target
            .as_deref()
            .map(|t| Regex::new(t).with_context(|| format!("--target {t}: not a regular expression")))
            .transpose()?;
        let workload = if !a.url.is_empty() {
            anyhow::ensure!(a.requests >= 1, "--requests must be at least 1");
            anyhow::ensure!(a.concurrency >= 1, "--concurrency must be at least 1");
            for u in &a.url {
                load::check_url(u, a.allow_remote)?;
            }
            let body = match (&a.body, &a.body_file) {
                (Some(b), _) => Some(b.clone().into_bytes()),
                (None, Some(f)) => Some(std::fs::read(f).with_context(|| format!("--body-file {}", f.display()))?),
                (None, None) => None,
            };
            Workload::Http(LoadSpec {
                urls: a.url.clone(),
                method: a.method.to_ascii_uppercase(),
                headers: a.header.iter().map(|h| load::parse_header(h)).collect::<Result<_>>()?,
                body,
                requests: a.requests,
                concurrency: a.concurrency,
                timeout,
            })
        } else if let Some(d) = &a.drive {
            Workload::Drive(d.clone())
        } else if let Some(e) = &a.evaluate {
            anyhow::ensure!(a.repeat >= 1, "--repeat must be at least 1");
            Workload::Evaluate {
                expr: e.clone(),
                repeat: a.repeat,
            }
        } else {
            Workload::None
        };
        let out = match &a.out {
            Some(o) => o.clone(),
            None => {
                let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                PathBuf::from(format!("heapsnap-record-{}", manifest::utc_compact(secs)))
            }
        };
        if out.exists() {
            let mut entries = std::fs::read_dir(&out).with_context(|| format!("--out {}", out.display()))?;
            anyhow::ensure!(
                entries.next().is_none(),
                "--out {}: not empty (a series must not mix with older snapshots)",
                out.display()
            );
        }
        Ok(RecordOptions {
            source,
            target,
            workload,
            strict: a.strict,
            warmup: a.warmup,
            snapshots: a.snapshots,
            settle: Duration::from_millis(a.settle),
            timeout,
            out,
            gzip: a.gzip,
        })
    }
}

/// A finished recording.
#[derive(Debug, Clone)]
pub struct RecordOutcome {
    /// The snapshots, oldest first.
    pub files: Vec<PathBuf>,
    /// What `record.json` holds.
    pub manifest: Manifest,
    /// Where `record.json` is.
    pub manifest_path: PathBuf,
}

/// `heapsnap record`: record, then the verdict of `heapsnap diff` on `out`.
pub fn command(a: RecordArgs, out: &mut dyn Write) -> Result<Outcome> {
    // The diff's options are validated (and the budget read) before the target starts.
    let ci = crate::commands::diff::ci_config(&a.diff.checks)?;
    let opts = RecordOptions::from_args(&a)?;
    let mut rec = run(&opts)?;
    let t = Instant::now();
    let result = crate::commands::diff::verdict(&rec.files, &a.diff, ci, out);
    rec.manifest.diff_seconds = Some(t.elapsed().as_secs_f64());
    rec.manifest.diff_exit_code = Some(match &result {
        Ok(Outcome::Ok) => 0,
        Ok(Outcome::ThresholdCrossed) => 1,
        Err(_) => 2,
    });
    rec.manifest.write(&rec.manifest_path)?;
    result.with_context(|| format!("record: diff of the snapshots in {}", opts.out.display()))
}

/// Record a series of snapshots as `opts` says; `record.json` is written in `opts.out` (also on failure).
/// The error of a failed run is one line naming the step, then the snapshots kept and the target's last
/// stderr lines.
pub fn run(opts: &RecordOptions) -> Result<RecordOutcome> {
    process::install_interrupt_handler();
    std::fs::create_dir_all(&opts.out).with_context(|| format!("--out {}: cannot create", opts.out.display()))?;
    let started = Instant::now();
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut s = Session {
        opts,
        target: None,
        pid: None,
        cdp: None,
        bar: crate::timing::progress_bar(),
        close_inspector: false,
        drives: Vec::new(),
        part: None,
        manifest: Manifest {
            schema_version: manifest::RECORD_SCHEMA_VERSION,
            heapsnap_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: manifest::utc_iso(secs),
            warmup: opts.warmup,
            settle_ms: opts.settle.as_millis() as u64,
            timeout_s: opts.timeout.as_secs_f64(),
            workload: describe_workload(&opts.workload),
            ..Manifest::default()
        },
    };
    let result = s.record();
    s.cleanup();
    s.manifest.record_seconds = started.elapsed().as_secs_f64();
    s.manifest.peak_rss_before_diff = peak_rss();
    let manifest_path = opts.out.join("record.json");
    let files: Vec<PathBuf> = s.manifest.snapshots.iter().map(|r| opts.out.join(&r.file)).collect();
    if let Err(e) = result {
        let first = format!("record: {e:#}");
        s.manifest.error = Some(first.clone());
        let _ = s.manifest.write(&manifest_path);
        let mut msg = first;
        if files.is_empty() {
            msg.push_str(&format!(
                "\n  no snapshot was written; details in {}",
                manifest_path.display()
            ));
        } else {
            msg.push_str(&format!("\n  snapshots kept ({}):", manifest_path.display()));
            for f in &files {
                msg.push_str(&format!("\n    {}", f.display()));
            }
        }
        let tail = s.target.as_ref().map(|t| t.tail.lines()).unwrap_or_default();
        if !tail.is_empty() {
            msg.push_str("\n  the target's last stderr lines:");
            for l in tail {
                msg.push_str(&format!("\n    | {l}"));
            }
        }
        return Err(anyhow!(msg));
    }
    s.manifest.write(&manifest_path)?;
    s.say(format!(
        "record: {} snapshots in {} ({:.1} s); diffing",
        files.len(),
        opts.out.display(),
        s.manifest.record_seconds
    ));
    Ok(RecordOutcome {
        files,
        manifest: s.manifest,
        manifest_path,
    })
}

/// Peak resident memory of this process, bytes (`VmHWM` of `/proc/self/status`).
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line["VmHWM:".len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

fn describe_workload(w: &Workload) -> WorkloadDesc {
    match w {
        Workload::None => WorkloadDesc {
            kind: "none".into(),
            ..Default::default()
        },
        Workload::Http(l) => WorkloadDesc {
            kind: "http".into(),
            urls: l.urls.clone(),
            method: Some(l.method.clone()),
            requests: Some(l.requests),
            concurrency: Some(l.concurrency),
            ..Default::default()
        },
        Workload::Drive(d) => WorkloadDesc {
            kind: "drive".into(),
            drive: Some(d.clone()),
            ..Default::default()
        },
        Workload::Evaluate { expr, repeat } => WorkloadDesc {
            kind: "evaluate".into(),
            evaluate: Some(expr.clone()),
            repeat: Some(*repeat),
            ..Default::default()
        },
    }
}

/// Package-manager and launcher scripts that are not the user's program (`npm start` runs node twice).
fn is_shim(url: &str) -> bool {
    static SHIM: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    SHIM.get_or_init(|| {
        Regex::new(
            r"(/node_modules/(npm|npx|yarn|pnpm|corepack)/|/(npm|npx)-cli\.js$|/(yarn|pnpm|pnpx)\.c?js$|/corepack(\.js)?$|/bin/(npm|npx|yarn|yarnpkg|pnpm|pnpx|corepack)$)",
        )
        .expect("valid regex")
    })
    .is_match(url)
}

/// Runs in the target to say who it is: Node's pid, argv and versions, or a browser's user agent.
const IDENTITY: &str = "JSON.stringify(typeof process === 'object' && process && process.versions ? \
{pid: process.pid, argv: process.argv, node: process.version, v8: process.versions.v8} : \
{userAgent: typeof navigator === 'object' ? navigator.userAgent : null})";

/// Closes the inspector that SIGUSR1 opened, once this session is gone (`inspector.close()` waits for the
/// sessions to disconnect, so it must not run while ours waits for its reply).
const CLOSE_INSPECTOR: &str = "(r => { setTimeout(() => r('inspector').close(), 200); return true })(require)";

/// The state of one recording.
struct Session<'a> {
    opts: &'a RecordOptions,
    /// The started command (start mode).
    target: Option<Target>,
    /// The recorded process's pid, once known (Node).
    pid: Option<i32>,
    cdp: Option<Cdp>,
    manifest: Manifest,
    bar: Option<ProgressBar>,
    /// The inspector was opened by SIGUSR1: close it at the end.
    close_inspector: bool,
    /// Process groups of `--drive` commands (stopped at the end if anything is left).
    drives: Vec<i32>,
    /// The snapshot being streamed, removed if the run fails.
    part: Option<PathBuf>,
}

/// Fails when Ctrl-C was pressed or the target is gone.
fn liveness(target: &mut Option<Target>, pid: Option<i32>) -> Result<()> {
    check_interrupt()?;
    if let Some(t) = target {
        if let Some(status) = t.exited() {
            bail!("target exited ({})", describe_status(status));
        }
        if t.ended() {
            match t.exited() {
                Some(status) => bail!("target exited ({})", describe_status(status)),
                None => bail!("target's program ended (Node was waiting for the debugger to disconnect)"),
            }
        }
    }
    if let Some(p) = pid {
        if !process::pid_alive(p) {
            // The started command's exit status, once it is reaped (the pid turns zombie first).
            if let Some(t) = target {
                let end = Instant::now() + Duration::from_secs(1);
                while Instant::now() < end {
                    if let Some(status) = t.exited() {
                        bail!("target exited ({})", describe_status(status));
                    }
                    std::thread::sleep(process::TICK);
                }
            }
            bail!("target exited (process {p} is gone)");
        }
    }
    Ok(())
}

impl Session<'_> {
    /// A line for the user, shown only with the progress display (on a terminal).
    fn say(&self, line: String) {
        if let Some(b) = &self.bar {
            b.println(line);
        }
    }

    fn progress(&self, msg: String) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
        }
    }

    fn record(&mut self) -> Result<()> {
        match self.opts.source.clone() {
            Source::Start(cmd) => self.start(&cmd).context("starting the target")?,
            Source::Pid(pid) => self
                .attach_pid(pid)
                .with_context(|| format!("attaching to process {pid}"))?,
            Source::Url(url) => self.attach_url(&url).with_context(|| format!("attaching to {url}"))?,
        }
        self.identify().context("connecting to the inspector")?;
        if let Workload::Http(spec) = &self.opts.workload {
            let spec = spec.clone();
            let (target, pid) = (&mut self.target, self.pid);
            load::wait_for_ports(&spec.urls, self.opts.timeout, &mut || liveness(target, pid))
                .context("waiting for the --url server")?;
        }
        if self.opts.warmup {
            self.workload("warmup").context("warmup")?;
        }
        for k in 1..=self.opts.snapshots {
            if k > 1 {
                let name = format!("step {}", k - 1);
                self.workload(&name).with_context(|| name.clone())?;
            }
            self.snapshot(k).with_context(|| format!("snapshot {k}"))?;
        }
        Ok(())
    }

    /// Start the command and connect to the inspector of the Node process that runs the user's script.
    fn start(&mut self, cmd: &[String]) -> Result<()> {
        self.manifest.command = Some(cmd.to_vec());
        self.manifest.target_log = Some("target.log".into());
        self.progress(format!("starting {}", cmd.join(" ")));
        let (target, direct) = Target::start(cmd, &self.opts.out.join("target.log"))?;
        self.manifest.process_group = Some(target.pgid);
        self.manifest.inspector_via = if direct { "--inspect" } else { "NODE_OPTIONS" }.into();
        self.target = Some(target);
        let end = Instant::now() + self.opts.timeout;
        loop {
            check_interrupt()?;
            let t = self.target.as_mut().expect("started");
            if let Some(ws) = t.next_announced(process::TICK) {
                let (info, why) = match cdp::list_targets(&cdp::http_base(&ws)?, self.opts.timeout) {
                    Ok(list) => {
                        let info = list.into_iter().next().unwrap_or_else(TargetInfo::empty);
                        let why = self.reject_reason(&info);
                        (info, why)
                    }
                    Err(e) => (TargetInfo::empty(), Some(format!("its /json/list failed: {e:#}"))),
                };
                let chosen = why.is_none();
                self.manifest.inspectors.push(InspectorSeen {
                    websocket: ws.clone(),
                    url: info.url.clone(),
                    title: info.title.clone(),
                    chosen,
                    why: why.unwrap_or_else(|| match &self.opts.target {
                        Some(r) => format!("its URL or title matches --target {r}"),
                        None if direct => "the Node process started".into(),
                        None => "the first Node process that is not a package-manager shim".into(),
                    }),
                });
                if chosen {
                    self.connect(&ws)?;
                    return Ok(());
                }
                continue;
            }
            if let Some(status) = t.exited() {
                bail!(
                    "target exited ({}) before its inspector was up",
                    describe_status(status)
                );
            }
            if Instant::now() >= end {
                let seen = self.manifest.inspectors.len();
                bail!(
                    "no inspector {} within {:.0} s (is it a Node program?{})",
                    if seen == 0 {
                        "announced"
                    } else {
                        "of the user's script announced"
                    },
                    self.opts.timeout.as_secs_f64(),
                    if seen > 0 {
                        " --target picks among the processes in record.json"
                    } else {
                        ""
                    }
                );
            }
        }
    }

    /// Why an inspector target is not the one to record (`None`: it is).
    fn reject_reason(&self, info: &TargetInfo) -> Option<String> {
        if let Some(r) = &self.opts.target {
            return (!r.is_match(&info.url) && !r.is_match(&info.title))
                .then(|| format!("URL and title do not match --target {r}"));
        }
        is_shim(&info.url).then(|| "a package-manager shim, not the user's script".to_string())
    }

    fn connect(&mut self, ws: &str) -> Result<()> {
        self.progress(format!("connecting to {ws}"));
        let cdp = Cdp::connect(ws, self.opts.timeout)?;
        if let Some(t) = self.target.as_mut() {
            t.session = cdp.socket().ok();
        }
        self.cdp = Some(cdp);
        self.manifest.target.websocket = ws.to_string();
        Ok(())
    }

    /// Attach to a running Node process: reuse an open inspector, or open one with SIGUSR1 (after checking
    /// the process is Node) and find its port among the process's listening sockets.
    fn attach_pid(&mut self, pid: i32) -> Result<()> {
        self.manifest.attach = Some(pid.to_string());
        process::check_node_pid(pid)?;
        self.pid = Some(pid);
        let before = process::listening_ports(pid);
        let probe = Duration::from_millis(800).min(self.opts.timeout);
        let find = |ports: &[u16]| -> Option<(String, TargetInfo)> {
            ports.iter().find_map(|port| {
                let list = cdp::list_targets(&format!("http://127.0.0.1:{port}"), probe).ok()?;
                let t = list.into_iter().find(|t| t.web_socket_debugger_url.is_some())?;
                Some((t.web_socket_debugger_url.clone()?, t))
            })
        };
        let (ws, info, via) = if let Some((ws, info)) = find(&before) {
            (ws, info, "already open")
        } else {
            self.progress(format!("SIGUSR1 to {pid}: opening its inspector"));
            process::signal(pid, libc::SIGUSR1)?;
            let end = Instant::now() + self.opts.timeout;
            loop {
                check_interrupt()?;
                if !process::pid_alive(pid) {
                    bail!("the process exited after SIGUSR1");
                }
                let new: Vec<u16> = process::listening_ports(pid)
                    .into_iter()
                    .filter(|p| !before.contains(p))
                    .collect();
                if let Some((ws, info)) = find(&new) {
                    self.close_inspector = true;
                    break (ws, info, "SIGUSR1");
                }
                if Instant::now() >= end {
                    bail!(
                        "no inspector port opened within {:.0} s after SIGUSR1 (does it handle SIGUSR1 itself, or \
                         was it started with --disable-sigusr1?)",
                        self.opts.timeout.as_secs_f64()
                    );
                }
                std::thread::sleep(process::TICK * 2);
            }
        };
        self.manifest.inspector_via = via.into();
        self.manifest.inspectors.push(InspectorSeen {
            websocket: ws.clone(),
            url: info.url,
            title: info.title,
            chosen: true,
            why: format!("the inspector of process {pid}"),
        });
        self.connect(&ws)
    }

    /// Attach to a CDP endpoint: `ws://…` directly, `http://host:port` through its `/json/list`.
    fn attach_url(&mut self, url: &str) -> Result<()> {
        self.manifest.attach = Some(url.to_string());
        self.manifest.inspector_via = "endpoint".into();
        if url.starts_with("ws://") {
            self.manifest.inspectors.push(InspectorSeen {
                websocket: url.to_string(),
                chosen: true,
                why: "given".into(),
                ..Default::default()
            });
            return self.connect(url);
        }
        let list = cdp::list_targets(url, self.opts.timeout)?;
        let mut chosen = None;
        for t in &list {
            let Some(ws) = &t.web_socket_debugger_url else { continue };
            let why = match &self.opts.target {
                Some(r) => (!r.is_match(&t.url) && !r.is_match(&t.title))
                    .then(|| format!("URL and title do not match --target {r}")),
                None => (!matches!(t.kind.as_str(), "page" | "node" | "other" | ""))
                    .then(|| format!("a {} (pick it with --target)", t.kind)),
            };
            let take = chosen.is_none() && why.is_none();
            self.manifest.inspectors.push(InspectorSeen {
                websocket: ws.clone(),
                url: t.url.clone(),
                title: t.title.clone(),
                chosen: take,
                why: why.unwrap_or_else(|| {
                    if take {
                        "the first match".into()
                    } else {
                        "not the first match".into()
                    }
                }),
            });
            if take {
                chosen = Some(ws.clone());
            }
        }
        let ws = chosen.with_context(|| {
            let names: Vec<String> = list
                .iter()
                .map(|t| format!("{} {:?} {}", t.kind, t.title, t.url))
                .collect();
            format!(
                "no target {}among: {}",
                self.opts
                    .target
                    .as_ref()
                    .map(|r| format!("matches --target {r} "))
                    .unwrap_or_default(),
                if names.is_empty() {
                    "(none)".to_string()
                } else {
                    names.join("; ")
                }
            )
        })?;
        self.connect(&ws)
    }

    /// Ask the target who it is (pid, versions), for `record.json` and for the liveness checks.
    fn identify(&mut self) -> Result<()> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": IDENTITY, "returnByValue": true}),
        )?;
        let text = r.pointer("/result/value").and_then(Value::as_str).unwrap_or("{}");
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let mut id = std::mem::take(&mut self.manifest.target);
        id.pid = v.get("pid").and_then(Value::as_i64);
        id.argv = v.get("argv").and_then(|a| serde_json::from_value(a.clone()).ok());
        id.node_version = v.get("node").and_then(Value::as_str).map(String::from);
        id.v8_version = v.get("v8").and_then(Value::as_str).map(String::from);
        id.user_agent = v.get("userAgent").and_then(Value::as_str).map(String::from);
        if self.pid.is_none() && matches!(self.opts.source, Source::Start(_)) {
            self.pid = id.pid.and_then(|p| i32::try_from(p).ok());
        }
        let line = format!(
            "record: target {} (pid {}, {})",
            id.argv
                .as_ref()
                .map(|a| a.join(" "))
                .unwrap_or_else(|| id.websocket.clone()),
            id.pid.map_or("?".into(), |p| p.to_string()),
            match (&id.node_version, &id.v8_version, &id.user_agent) {
                (Some(n), Some(v), _) => format!("node {n}, V8 {v}"),
                (_, _, Some(ua)) => ua.clone(),
                _ => "unknown runtime".into(),
            }
        );
        self.manifest.target = id;
        self.say(line);
        Ok(())
    }

    /// One CDP command, events ignored, guarded by Ctrl-C and the target's liveness.
    fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let Session { cdp, target, pid, .. } = self;
        let cdp = cdp.as_mut().context("not connected")?;
        cdp.simple(method, params, &mut || liveness(target, *pid))
    }

    /// Run the workload once (`name`: `warmup`, `step 1`, ...).
    fn workload(&mut self, name: &str) -> Result<()> {
        let start = Instant::now();
        let mut rec = StepRecord {
            name: name.to_string(),
            ..Default::default()
        };
        match self.opts.workload.clone() {
            Workload::None => return Ok(()),
            Workload::Http(spec) => {
                let bar = self.bar.clone();
                let (target, pid) = (&mut self.target, self.pid);
                let figures: LoadFigures = load::run(&spec, &mut || liveness(target, pid), &mut |done| {
                    if let Some(b) = &bar {
                        b.set_message(format!("{name}: {done}/{} requests", spec.requests));
                    }
                })?;
                self.say(format!("record: {name}: {}", figures.line()));
                let failed = figures.failed();
                rec.load = Some(figures);
                if failed > 0 && self.opts.strict {
                    let line = rec.load.as_ref().map(LoadFigures::line).unwrap_or_default();
                    rec.seconds = start.elapsed().as_secs_f64();
                    self.manifest.steps.push(rec);
                    bail!("{failed} requests failed (--strict): {line}");
                }
            }
            Workload::Drive(cmd) => {
                self.progress(format!("{name}: {cmd}"));
                let status = self.drive(&cmd, name)?;
                rec.drive_exit = Some(describe_status(status));
                if !status.success() {
                    rec.seconds = start.elapsed().as_secs_f64();
                    self.manifest.steps.push(rec);
                    bail!("--drive `{cmd}` exited with {}", describe_status(status));
                }
                self.say(format!(
                    "record: {name}: `{cmd}` done in {:.2} s",
                    start.elapsed().as_secs_f64()
                ));
            }
            Workload::Evaluate { expr, repeat } => {
                for i in 0..repeat {
                    self.progress(format!("{name}: evaluate {}/{repeat}", i + 1));
                    let r = self.call(
                        "Runtime.evaluate",
                        json!({"expression": expr, "awaitPromise": true, "includeCommandLineAPI": true}),
                    )?;
                    if let Some(ex) = r.get("exceptionDetails") {
                        let what = ex
                            .pointer("/exception/description")
                            .and_then(Value::as_str)
                            .or_else(|| ex.get("text").and_then(Value::as_str))
                            .unwrap_or("an exception");
                        bail!("--evaluate `{expr}` threw: {}", what.lines().next().unwrap_or(what));
                    }
                    rec.evaluations = Some(i + 1);
                }
                self.say(format!(
                    "record: {name}: {repeat} × `{expr}` in {:.2} s",
                    start.elapsed().as_secs_f64()
                ));
            }
        }
        rec.seconds = start.elapsed().as_secs_f64();
        self.manifest.steps.push(rec);
        Ok(())
    }

    /// Run a `--drive` command in its own process group, bounded by `--timeout`.
    fn drive(&mut self, cmd: &str, step: &str) -> Result<std::process::ExitStatus> {
        let mut c = Command::new("sh");
        c.arg("-c").arg(cmd).env("HEAPSNAP_STEP", step).stdin(Stdio::null());
        c.stdout(Stdio::from(std::io::stderr())).process_group(0);
        if let Some(pid) = self.pid {
            c.env("HEAPSNAP_TARGET_PID", pid.to_string());
        }
        let mut child = c.spawn().context("cannot run --drive with sh -c")?;
        let pgid = child.id() as i32;
        self.drives.push(pgid);
        let end = Instant::now() + self.opts.timeout;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            let fail = liveness(&mut self.target, self.pid).err().or_else(|| {
                (Instant::now() >= end).then(|| {
                    anyhow!(
                        "--drive `{cmd}` did not finish within {:.0} s",
                        self.opts.timeout.as_secs_f64()
                    )
                })
            });
            if let Some(e) = fail {
                // SAFETY: kill(2) on the drive command's own process group; no memory is involved.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                let _ = child.wait();
                return Err(e);
            }
            std::thread::sleep(process::TICK);
        }
    }

    /// Take snapshot `k`: settle, prime line ends, two GCs, stream to `k.heapsnapshot[.gz].part`, check it is
    /// complete, rename.
    fn snapshot(&mut self, k: usize) -> Result<()> {
        let settle_end = Instant::now() + self.opts.settle;
        while Instant::now() < settle_end {
            liveness(&mut self.target, self.pid)?;
            std::thread::sleep(process::TICK.min(settle_end.saturating_duration_since(Instant::now())));
        }
        self.progress(format!("snapshot {k}: garbage collection"));
        // Line ends of every script computed now, not by the snapshot writer closure by closure; disabled again
        // at once so that a `debugger;` statement cannot pause the target.
        self.call("Debugger.enable", json!({}))?;
        self.call("Debugger.disable", json!({}))?;
        let t = Instant::now();
        self.call("HeapProfiler.collectGarbage", json!({}))?;
        self.call("HeapProfiler.collectGarbage", json!({}))?;
        let gc_ms = t.elapsed().as_secs_f64() * 1e3;

        let name = format!("{k}.heapsnapshot{}", if self.opts.gzip { ".gz" } else { "" });
        let final_path = self.opts.out.join(&name);
        let part = self.opts.out.join(format!("{name}.part"));
        let file = File::create(&part).with_context(|| format!("{}: cannot create", part.display()))?;
        self.part = Some(part.clone());
        let buffered = BufWriter::with_capacity(1 << 20, file);
        let mut sink: Box<dyn Write> = if self.opts.gzip {
            Box::new(flate2::write::GzEncoder::new(buffered, flate2::Compression::fast()))
        } else {
            Box::new(buffered)
        };
        let t = Instant::now();
        let mut check = Completeness::default();
        let mut write_err: Option<std::io::Error> = None;
        {
            let Session {
                cdp, target, pid, bar, ..
            } = self;
            let cdp = cdp.as_mut().context("not connected")?;
            let mut last_shown = Instant::now();
            cdp.call(
                "HeapProfiler.takeHeapSnapshot",
                json!({"reportProgress": true, "captureNumericValue": false}),
                &mut || liveness(target, *pid),
                &mut |method, params| {
                    match method {
                        "HeapProfiler.addHeapSnapshotChunk" => {
                            if let Value::Object(mut m) = params {
                                if let Some(Value::String(chunk)) = m.remove("chunk") {
                                    check.add(chunk.as_bytes());
                                    if let Err(e) = sink.write_all(chunk.as_bytes()) {
                                        write_err.get_or_insert(e);
                                        bail!("{}: cannot write", part.display());
                                    }
                                }
                            }
                            if let Some(b) = bar.as_ref().filter(|_| last_shown.elapsed() > process::TICK) {
                                last_shown = Instant::now();
                                b.set_message(format!("snapshot {k}: {:.1} MB streamed", check.bytes as f64 / 1e6));
                            }
                        }
                        "HeapProfiler.reportHeapSnapshotProgress" => {
                            if let Some(b) = bar.as_ref() {
                                let done = params.get("done").and_then(Value::as_u64).unwrap_or(0);
                                let total = params.get("total").and_then(Value::as_u64).unwrap_or(0).max(1);
                                b.set_message(format!("snapshot {k}: building {}%", done * 100 / total));
                            }
                        }
                        _ => {}
                    }
                    Ok(())
                },
            )
            .map_err(|e| match &write_err {
                Some(w) => anyhow!("{e:#}: {w}"),
                None if check.bytes > 0 => anyhow!("{e:#} (cut off after {} bytes)", check.bytes),
                None => e,
            })?;
        }
        sink.flush()
            .with_context(|| format!("{}: cannot write", part.display()))?;
        drop(sink);
        check
            .verify()
            .with_context(|| format!("{name}: the snapshot is cut off"))?;
        std::fs::rename(&part, &final_path).with_context(|| format!("cannot rename {}", part.display()))?;
        self.part = None;
        let snapshot_ms = t.elapsed().as_secs_f64() * 1e3;
        let file_bytes = std::fs::metadata(&final_path).map_or(0, |m| m.len());
        self.say(format!(
            "record: snapshot {k}: {} ({:.1} MB) in {:.2} s (GC {:.0} ms)",
            final_path.display(),
            check.bytes as f64 / 1e6,
            snapshot_ms / 1e3,
            gc_ms
        ));
        self.manifest.snapshots.push(SnapshotRecord {
            file: name,
            json_bytes: check.bytes,
            file_bytes,
            gc_ms,
            snapshot_ms,
        });
        Ok(())
    }

    /// End of the run, successful or not: close the inspector SIGUSR1 opened, close the session, stop the
    /// started process group and leftover `--drive` processes, remove an unfinished `.part`.
    fn cleanup(&mut self) {
        if self.close_inspector {
            let closed = self.call(
                "Runtime.evaluate",
                json!({"expression": CLOSE_INSPECTOR, "includeCommandLineAPI": true}),
            );
            self.manifest.inspector_closed = Some(closed.is_ok());
        }
        if let Some(c) = self.cdp.take() {
            c.close();
        }
        if self.target.is_some() {
            self.progress("stopping the target".into());
        }
        if let Some(t) = self.target.as_mut() {
            self.manifest.stopped_with = t.stop().map(String::from);
        }
        for &g in &self.drives {
            if !process::group_members(g).is_empty() {
                // SAFETY: kill(2) on a `--drive` command's own process group; no memory is involved.
                unsafe { libc::kill(-g, libc::SIGKILL) };
            }
        }
        if let Some(p) = self.part.take() {
            let _ = std::fs::remove_file(p);
        }
        if self.close_inspector {
            if let (Some(pid), Some(true)) = (self.pid, self.manifest.inspector_closed) {
                // The port closes once the timer in the target ran.
                let ws_port = cdp::socket_addr(&self.manifest.target.websocket).map(|a| a.port()).ok();
                let end = Instant::now() + Duration::from_secs(3);
                while Instant::now() < end && ws_port.is_some_and(|p| process::listening_ports(pid).contains(&p)) {
                    std::thread::sleep(process::TICK);
                }
            }
        }
    }
}

/// Whether streamed JSON is a whole snapshot: starts with `{"snapshot"` and ends with `}` (V8 writes the
/// closing brace last, so a cut-off stream lacks it).
#[derive(Debug, Default)]
struct Completeness {
    bytes: u64,
    head: Vec<u8>,
    last: Option<u8>,
}

impl Completeness {
    fn add(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        if self.head.len() < 32 {
            let room = 32 - self.head.len();
            self.head
                .extend(chunk.iter().filter(|b| !b.is_ascii_whitespace()).take(room));
        }
        if let Some(&b) = chunk.iter().rev().find(|b| !b.is_ascii_whitespace()) {
            self.last = Some(b);
        }
    }

    fn verify(&self) -> Result<()> {
        anyhow::ensure!(self.bytes > 0, "the inspector sent no data");
        anyhow::ensure!(
            self.head.starts_with(b"{\"snapshot\""),
            "it does not start like a heap snapshot ({:?})",
            String::from_utf8_lossy(&self.head)
        );
        anyhow::ensure!(
            self.last == Some(b'}'),
            "{} bytes without the closing brace",
            self.bytes
        );
        Ok(())
    }
}

impl TargetInfo {
    fn empty() -> TargetInfo {
        TargetInfo {
            kind: String::new(),
            title: String::new(),
            url: String::new(),
            web_socket_debugger_url: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_manager_shims_are_not_the_target() {
        assert!(is_shim("file:///usr/lib/node_modules/npm/bin/npm-cli.js"));
        assert!(is_shim("file:///usr/local/lib/node_modules/npm/bin/npx-cli.js"));
        assert!(is_shim("file:///usr/lib/node_modules/corepack/dist/pnpm.js"));
        assert!(is_shim("file:///home/u/.yarn/releases/yarn.cjs"));
        assert!(!is_shim("file:///srv/app/server.js"));
        assert!(!is_shim("file:///srv/app/node_modules/next/dist/bin/next"));
    }

    #[test]
    fn a_cut_off_stream_is_not_a_snapshot() {
        let mut c = Completeness::default();
        c.add(b"{\"snapshot\":{\"meta\":{}},\"nodes\":[1,2");
        assert!(c
            .verify()
            .unwrap_err()
            .to_string()
            .contains("without the closing brace"));
        c.add(b"]}\n");
        assert!(c.verify().is_ok());
        let mut e = Completeness::default();
        e.add(b"<html>}");
        assert!(e.verify().is_err());
        assert!(Completeness::default().verify().is_err());
    }
}
