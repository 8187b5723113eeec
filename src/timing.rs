//! Phases of the pipeline: timings on stderr when `HEAPSNAP_TIMINGS` is set (`[heapsnap] phase  123.4 ms`),
//! for profiling and the peer-comparison script, and the progress display (indicatif) when [`enable_progress`]
//! was called (the binary does so only when stderr is a terminal and `--quiet` is not given): a spinner that
//! says what is being done in the user's words ([`user_words`]: `reading`, `parsing`, `dominator tree`,
//! `comparing`, `finding leaks`; the timings keep the phase names, which the benches read), and while the
//! `nodes` and `edges` arrays are parsed a bar of the bytes parsed with its percentage, in the 1000-based units
//! of the results (`12.3 MB/45.6 MB`; [`parse_bytes`]; snapshots loading side by side add up into one bar, a
//! later load starts a new one). Without timings and progress, a phase costs one `Instant::now()` and the byte
//! count one atomic load per parsed chunk (1 MiB).

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("HEAPSNAP_TIMINGS").is_some())
}

static PROGRESS: OnceLock<Progress> = OnceLock::new();

/// The progress display: one bar whose style switches between a phase spinner and a byte bar.
#[derive(Clone)]
struct Progress {
    bar: ProgressBar,
    /// Parses running now (the byte bar shows while there is one).
    parsing: Arc<AtomicUsize>,
}

impl Progress {
    fn new(bar: ProgressBar) -> Progress {
        bar.set_style(spinner_style());
        // A length, so that parses can grow it (`inc_length` does nothing on a bar without one).
        bar.set_length(0);
        Progress {
            bar,
            parsing: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A phase started: name it (nested phases are indented in the timings; not here). Phases that run after the
    /// display was cleared for the output (rendering) leave it cleared.
    fn phase(&self, name: &'static str) {
        if !self.bar.is_finished() {
            if let Some(words) = user_words(name) {
                self.bar.set_message(Cow::Borrowed(words));
            }
        }
    }

    /// A parse of `total` bytes started: grow the bar, show it.
    fn parse_started(&self, total: u64) {
        if self.parsing.fetch_add(1, Ordering::AcqRel) == 0 {
            // A new bar: a later snapshot's load does not start where the previous one ended.
            self.bar.set_position(0);
            self.bar.set_length(total);
            self.bar.set_style(bytes_style());
        } else {
            self.bar.inc_length(total);
        }
    }

    /// A parse ended (done or failed): back to the spinner when it was the last.
    fn parse_ended(&self) {
        if self.parsing.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.bar.set_style(spinner_style());
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {elapsed:>4} {msg} {percent:>3}% {bar:30} {decimal_bytes}/{decimal_total_bytes}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// What the progress display says while phase `name` runs, in the words of someone waiting for a result; `None`
/// for phases that keep the message of the one around them (a leak rule inside `rules`, say).
pub fn user_words(name: &str) -> Option<&'static str> {
    Some(match name.trim() {
        "read standard input" | "read input" | "scan sections" | "plan arrays" => "reading",
        "decompress gzip" => "decompressing",
        "parse numbers || strings, locations" => "parsing",
        "validate" | "retainers" => "building the graph",
        "detachedness" | "weakmap edges" | "shallow sizes" | "statistics" | "page-owned" => "sizing objects",
        "classes" | "interfaces" => "grouping by class",
        "distances" => "distances",
        "dfs"
        | "orphans"
        | "essential edges + dfs"
        | "predecessors"
        | "semidominators"
        | "far predecessors"
        | "path compression"
        | "near edges"
        | "top"
        | "nca"
        | "dominators"
        | "dominated children" => "dominator tree",
        "class retained" | "retained" | "class tops" => "retained sizes",
        "load snapshots" => "reading",
        "compare" | "sort ids" | "merge" | "class rows" => "comparing",
        "holders" | "clusters" | "rules" | "findings" | "accumulation points" => "finding leaks",
        "summary report" | "top report" | "tree report" | "retainers report" | "nodes dump" | "html report"
        | "template" | "tree cut" | "top objects" => "writing",
        _ => return None,
    })
}

/// Show the progress display on stderr (call once, from the binary).
pub fn enable_progress() {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let _ = PROGRESS.set(Progress::new(bar));
}

/// Whether the progress display is on (it is cleared by [`finish_progress`] before any output).
pub fn progress_enabled() -> bool {
    PROGRESS.get().is_some_and(|p| !p.bar.is_finished())
}

/// Print `line` on standard error without tearing the progress display (it is redrawn below).
pub fn eprint_above_progress(line: &str) {
    match PROGRESS.get() {
        Some(p) if !p.bar.is_finished() => p.bar.suspend(|| eprintln!("{line}")),
        _ => eprintln!("{line}"),
    }
}

/// Remove the progress display (before printing results).
pub fn finish_progress() {
    if let Some(p) = PROGRESS.get() {
        p.bar.finish_and_clear();
    }
}

/// The progress display's bar while it is shown (for commands that report their own steps, such as
/// `heapsnap record`), `None` when progress is off.
pub fn progress_bar() -> Option<ProgressBar> {
    PROGRESS.get().filter(|p| !p.bar.is_finished()).map(|p| p.bar.clone())
}

/// Counts parsed bytes into the progress bar, from [`parse_bytes`] until dropped.
pub struct ParseProgress {
    progress: Option<&'static Progress>,
}

/// A parse of `total` bytes starts (the `nodes` and `edges` arrays of one snapshot); count them with
/// [`ParseProgress::parsed`].
pub fn parse_bytes(total: u64) -> ParseProgress {
    let progress = PROGRESS.get();
    if let Some(p) = progress {
        p.parse_started(total);
    }
    ParseProgress { progress }
}

impl ParseProgress {
    /// `n` more bytes parsed (called per chunk, from any thread).
    #[inline]
    pub fn parsed(&self, n: usize) {
        if let Some(p) = self.progress {
            p.bar.inc(n as u64);
        }
    }
}

impl Drop for ParseProgress {
    fn drop(&mut self) {
        if let Some(p) = self.progress {
            p.parse_ended();
        }
    }
}

/// Measures one phase from creation to [`Phase::done`] (or drop).
pub struct Phase {
    name: &'static str,
    start: Instant,
    cpu: f64,
}

impl Phase {
    /// Start timing `name`.
    pub fn start(name: &'static str) -> Phase {
        T0.get_or_init(Instant::now);
        if let Some(p) = PROGRESS.get() {
            p.phase(name);
        }
        Phase {
            name,
            start: Instant::now(),
            cpu: if enabled() { cpu_seconds() } else { 0.0 },
        }
    }

    /// End the phase.
    pub fn done(self) {}
}

/// When the first phase started: each phase's line also says when it ended, so that the phases that ran side
/// by side and the gaps between phases can be read off.
static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

impl Drop for Phase {
    fn drop(&mut self) {
        if enabled() {
            eprintln!(
                "[heapsnap] {:<28} {:>9.1} ms  cpu {:>8.0} ms  ends at {:>6.0} ms  {}",
                self.name,
                self.start.elapsed().as_secs_f64() * 1e3,
                (cpu_seconds() - self.cpu) * 1e3,
                T0.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3,
                memory()
            );
        }
    }
}

/// CPU time (user + system) of the whole process so far, from `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start after the last `)`.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the state field.
    (ticks(11) + ticks(12)) / 100.0
}

/// Current and peak resident memory (Linux `/proc/self/status`), for the timings.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].trim().to_string())
            .unwrap_or_default()
    };
    format!("rss {} peak {}", field("VmRSS:"), field("VmHWM:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_shows_in_the_users_words() {
        let p = Progress::new(ProgressBar::hidden());
        p.phase("parse numbers || strings, locations");
        assert_eq!(p.bar.message(), "parsing");
        p.phase("  essential edges + dfs");
        assert_eq!(p.bar.message(), "dominator tree");
        p.phase("  nca");
        assert_eq!(p.bar.message(), "dominator tree");
        // A phase without words of its own (a leak rule) keeps the message around it.
        p.phase("rules");
        p.phase("closures");
        assert_eq!(p.bar.message(), "finding leaks");
    }

    #[test]
    fn every_phase_of_the_pipeline_has_words() {
        // The phase names given to `Phase::start` in src/ (rule names aside), read from the source itself.
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut missing = Vec::new();
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                for part in text.split("Phase::start(\"").skip(1) {
                    let name = part.split('"').next().unwrap();
                    if !name.contains("test phase") && user_words(name).is_none() {
                        missing.push(format!("{}: {name}", p.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "phases without words: {missing:?}");
    }

    #[test]
    fn phase_start_sets_the_message_when_progress_is_enabled() {
        let _ = PROGRESS.set(Progress::new(ProgressBar::hidden()));
        let bar = &PROGRESS.get().unwrap().bar;
        // Other tests of this binary may start phases at the same time: retry until ours is the last one.
        let ok = (0..100).any(|_| {
            let t = Phase::start("    semidominators");
            let seen = bar.message() == "dominator tree";
            t.done();
            seen
        });
        assert!(ok, "last message: {}", bar.message());
    }

    #[test]
    fn parses_side_by_side_add_up() {
        let p = Progress::new(ProgressBar::hidden());
        p.parse_started(100);
        p.parse_started(50);
        assert_eq!(p.bar.length(), Some(150));
        p.bar.inc(70);
        p.parse_ended();
        assert_eq!(p.parsing.load(Ordering::Relaxed), 1);
        p.parse_started(30);
        assert_eq!(p.bar.length(), Some(180));
        p.parse_ended();
        p.parse_ended();
        assert_eq!(p.parsing.load(Ordering::Relaxed), 0);
        assert_eq!(p.bar.position(), 70);
        // The next load (the second snapshot of a diff) starts a bar of its own.
        p.parse_started(40);
        assert_eq!((p.bar.position(), p.bar.length()), (0, Some(40)));
    }
}
