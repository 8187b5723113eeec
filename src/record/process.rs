//! Process control for `heapsnap record`: the target started in its own process group with the inspector on a
//! free loopback port (the URL read from its stderr), the last lines of its stderr kept for error messages, the
//! group stopped SIGINT -> SIGTERM -> SIGKILL with a grace period, Ctrl-C (and SIGTERM) turned into a flag that
//! every wait polls, and attaching to a running Node process by PID (checked to be Node before SIGUSR1, the
//! inspector's port found among the process's listening sockets in `/proc/net/tcp{,6}`).
//!
//! Linux only (`/proc`). Every wait polls at most every 50 ms and is bounded by a deadline.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

/// Lines of the target's stderr kept for error messages.
const TAIL_LINES: usize = 12;
/// Poll period of every wait.
pub const TICK: Duration = Duration::from_millis(50);
/// How long each signal of the stop sequence is given.
const GRACE: Duration = Duration::from_secs(3);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Turn Ctrl-C (SIGINT) and SIGTERM into [`interrupted`] for the rest of the process (once; a handler that
/// cannot be installed, e.g. because the embedding program has one, leaves signals as they were).
pub fn install_interrupt_handler() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    });
}

/// Whether Ctrl-C (or SIGTERM) was received.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Fail with "interrupted" when Ctrl-C was received.
pub fn check_interrupt() -> Result<()> {
    if interrupted() {
        bail!("interrupted (Ctrl-C)");
    }
    Ok(())
}

/// How a process ended, as users read it: `code 1`, `signal 9 (SIGKILL)`.
pub fn describe_status(s: ExitStatus) -> String {
    if let Some(c) = s.code() {
        format!("code {c}")
    } else if let Some(sig) = s.signal() {
        format!(
            "signal {sig}{}",
            signal_name(sig).map(|n| format!(" ({n})")).unwrap_or_default()
        )
    } else {
        s.to_string()
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGUSR1 => "SIGUSR1",
        _ => return None,
    })
}

/// The last lines of a process's stderr, shared with its reader thread.
#[derive(Debug, Clone, Default)]
pub struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: String) {
        if let Ok(mut t) = self.0.lock() {
            if t.len() == TAIL_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    }

    /// The kept lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().map(|t| t.iter().cloned().collect()).unwrap_or_default()
    }
}

/// Lines Node prints about the inspector itself: not worth showing as "the target's last lines".
fn is_inspector_noise(line: &str) -> bool {
    line.starts_with("Debugger listening on ")
        || line.starts_with("For help, see: https://nodejs.org")
        || line == "Debugger attached."
        || line.starts_with("Debugger ending on ")
        || line.starts_with("Waiting for the debugger to disconnect")
}

/// A started target: the child (the command as given), its process group, its stderr tail and the inspector
/// URLs its processes announce.
pub struct Target {
    child: Child,
    /// The process group (the child's PID).
    pub pgid: i32,
    /// Last stderr lines.
    pub tail: Tail,
    /// `ws://…` URLs from `Debugger listening on ws://…` lines, in order.
    announced: Receiver<String>,
    /// How the child ended, once seen.
    status: Option<ExitStatus>,
    /// A process printed `Waiting for the debugger to disconnect...`: its program ended (`process.exit`, or
    /// nothing left to do) but Node keeps it until our session closes.
    ending: Arc<AtomicBool>,
    /// A handle on the CDP session's socket, to close it when the target's program ended.
    pub session: Option<std::net::TcpStream>,
}

/// The inspector option for the target.
const INSPECT: &str = "--inspect=127.0.0.1:0";

/// Whether `program` is Node itself (then `--inspect` goes on its command line; otherwise in `NODE_OPTIONS`).
pub fn is_node_program(program: &str) -> bool {
    let base = Path::new(program).file_name().and_then(|b| b.to_str()).unwrap_or("");
    base == "node" || base == "nodejs"
}

impl Target {
    /// Start `command` in its own process group with the inspector on a free loopback port; its stdout and
    /// stderr go to `log` (stderr's last lines are also kept in [`Target::tail`]).
    pub fn start(command: &[String], log: &Path) -> Result<(Target, bool)> {
        let (program, args) = command.split_first().context("no command given")?;
        let mut cmd = Command::new(program);
        let direct = is_node_program(program);
        if direct {
            cmd.arg(INSPECT);
        } else {
            let mut opts = std::env::var("NODE_OPTIONS").unwrap_or_default();
            if !opts.is_empty() {
                opts.push(' ');
            }
            opts.push_str(INSPECT);
            cmd.env("NODE_OPTIONS", opts);
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().with_context(|| format!("cannot run `{program}`"))?;
        let pgid = child.id() as i32;
        let log =
            Arc::new(Mutex::new(std::fs::File::create(log).with_context(|| {
                format!("{}: cannot create the target's log", log.display())
            })?));
        let tail = Tail::default();
        let (tx, announced) = mpsc::channel();
        let ending = Arc::new(AtomicBool::new(false));
        if let Some(stderr) = child.stderr.take() {
            let (tail, log, ending) = (tail.clone(), log.clone(), ending.clone());
            std::thread::spawn(move || {
                for_each_line(stderr, |line| {
                    if let Ok(mut f) = log.lock() {
                        let _ = writeln!(f, "{line}");
                    }
                    if let Some(url) = line.strip_prefix("Debugger listening on ") {
                        let _ = tx.send(url.trim().to_string());
                    }
                    if line.starts_with("Waiting for the debugger to disconnect") {
                        ending.store(true, Ordering::SeqCst);
                    }
                    if !is_inspector_noise(line) {
                        tail.push(line.to_string());
                    }
                })
            });
        }
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for_each_line(stdout, |line| {
                    if let Ok(mut f) = log.lock() {
                        let _ = writeln!(f, "{line}");
                    }
                })
            });
        }
        Ok((
            Target {
                child,
                pgid,
                tail,
                announced,
                status: None,
                ending,
                session: None,
            },
            direct,
        ))
    }

    /// The child's exit, once it exited (reaped here).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Whether the target's program ended while our session holds it open; then the session's socket is shut
    /// down so that it exits, and its exit is awaited for a moment.
    pub fn ended(&mut self) -> bool {
        if !self.ending.load(Ordering::SeqCst) {
            return false;
        }
        if let Some(s) = self.session.take() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        let end = Instant::now() + GRACE;
        while self.exited().is_none() && Instant::now() < end {
            std::thread::sleep(TICK);
        }
        true
    }

    /// The next announced inspector URL, if one came within `wait`.
    pub fn next_announced(&self, wait: Duration) -> Option<String> {
        self.announced.recv_timeout(wait).ok()
    }

    /// Stop the whole process group: SIGINT, then SIGTERM, then SIGKILL, each given [`GRACE`] until no live
    /// process is left in the group. Returns the signal that ended it (`None`: the group was already gone).
    pub fn stop(&mut self) -> Option<&'static str> {
        let mut used = None;
        for (sig, name) in [
            (libc::SIGINT, "SIGINT"),
            (libc::SIGTERM, "SIGTERM"),
            (libc::SIGKILL, "SIGKILL"),
        ] {
            self.exited();
            if group_members(self.pgid).is_empty() {
                break;
            }
            // SAFETY: kill(2) with a negative pid signals our child's process group (created by
            // `process_group(0)`, so its id is the child's pid); no memory is involved.
            unsafe { libc::kill(-self.pgid, sig) };
            used = Some(name);
            let end = Instant::now() + GRACE;
            while Instant::now() < end {
                self.exited();
                if group_members(self.pgid).is_empty() {
                    return used;
                }
                std::thread::sleep(TICK);
            }
        }
        self.exited();
        used
    }
}

/// Read `r` line by line (lossy UTF-8, without the line end) until EOF.
fn for_each_line(r: impl Read, mut f: impl FnMut(&str)) {
    let mut r = BufReader::new(r);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf);
                f(line.trim_end_matches(['\n', '\r']));
            }
        }
    }
}

/// Live (not zombie) processes whose process group is `pgid`, from `/proc/*/stat`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| proc_stat(*pid).is_some_and(|(state, pgrp)| pgrp == pgid && state != 'Z' && state != 'X'))
        .collect()
}

/// State and process group of `pid` (fields 3 and 5 of `/proc/PID/stat`).
fn proc_stat(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after it start after the last `)`.
    let rest = stat.rsplit_once(')')?.1;
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let _ppid = f.next()?;
    let pgrp = f.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// Whether `pid` is alive (exists and is not a zombie).
pub fn pid_alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// Check that `pid` is a running Node process before SIGUSR1 is sent to it (SIGUSR1 kills most other
/// programs): its executable (`/proc/PID/exe`) or its first argument must be named `node` or `nodejs`.
pub fn check_node_pid(pid: i32) -> Result<PathBuf> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).map_err(|e| anyhow!("no process {pid} ({e})"))?;
    let argv0 = cmdline
        .split(|&b| b == 0)
        .next()
        .map(|a| String::from_utf8_lossy(a).into_owned());
    let exe_is_node = exe
        .as_ref()
        .ok()
        .and_then(|p| p.file_name())
        .and_then(|b| b.to_str())
        .is_some_and(|b| {
            b == "node" || b == "nodejs" || b.starts_with("node") && b[4..].bytes().all(|c| c.is_ascii_digit())
        });
    if exe_is_node || argv0.as_deref().is_some_and(is_node_program) {
        return Ok(exe.unwrap_or_else(|_| PathBuf::from(argv0.unwrap_or_default())));
    }
    bail!(
        "process {pid} is not Node ({}): SIGUSR1 would not open an inspector and could end it",
        exe.map(|p| p.display().to_string())
            .unwrap_or_else(|_| argv0.unwrap_or_default())
    )
}

/// Loopback-reachable TCP ports `pid` listens on: its socket inodes (`/proc/PID/fd`) matched against the
/// listening sockets of `/proc/net/tcp` and `/proc/net/tcp6`.
pub fn listening_ports(pid: i32) -> Vec<u16> {
    let mut inodes = Vec::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let t = target.to_string_lossy();
                if let Some(n) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    if let Ok(n) = n.parse::<u64>() {
                        inodes.push(n);
                    }
                }
            }
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            ports.extend(
                parse_listening(&text)
                    .into_iter()
                    .filter(|(_, i)| inodes.contains(i))
                    .map(|(p, _)| p),
            );
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// (port, inode) of the listening sockets (state `0A`) of a `/proc/net/tcp{,6}` table.
fn parse_listening(text: &str) -> Vec<(u16, u64)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                return None;
            }
            let port = u16::from_str_radix(f[1].rsplit_once(':')?.1, 16).ok()?;
            Some((port, f[9].parse().ok()?))
        })
        .collect()
}

/// Send `sig` to `pid`.
pub fn signal(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: kill(2) on a pid checked by the caller; no memory is involved.
    if unsafe { libc::kill(pid, sig) } != 0 {
        bail!("cannot signal process {pid}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_are_read_from_the_proc_table() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:8CA1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 81234 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:8CA2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 81235 1 0000000000000000 100 0 0 10 0\n";
        assert_eq!(parse_listening(text), vec![(0x8CA1, 81234)]);
    }

    #[test]
    fn node_is_recognised_by_its_program_name() {
        assert!(is_node_program("node"));
        assert!(is_node_program("/usr/local/bin/nodejs"));
        assert!(!is_node_program("npm"));
        assert!(!is_node_program("/usr/bin/node-gyp"));
    }

    #[test]
    fn a_process_that_is_not_node_is_refused() {
        let e = check_node_pid(std::process::id() as i32).unwrap_err().to_string();
        assert!(e.contains("is not Node"), "{e}");
    }

    #[test]
    fn exit_statuses_read_as_users_expect() {
        assert_eq!(describe_status(ExitStatus::from_raw(1 << 8)), "code 1");
        assert_eq!(describe_status(ExitStatus::from_raw(9)), "signal 9 (SIGKILL)");
    }
}
