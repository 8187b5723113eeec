//! Phases of the pipeline: timings on stderr when `HEAPSNAP_TIMINGS` is set (`[heapsnap] phase  123.4 ms`),
//! for profiling and the peer-comparison script, and the progress spinner (indicatif) that names the running
//! phase when [`enable_progress`] was called (the binary does so only when stderr is a terminal and `--quiet`
//! is not given). Costs one `Instant::now()` per phase otherwise.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("HEAPSNAP_TIMINGS").is_some())
}

static PROGRESS: OnceLock<indicatif::ProgressBar> = OnceLock::new();

/// Show a spinner on stderr naming the running phase (call once, from the binary).
pub fn enable_progress() {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let _ = PROGRESS.set(bar);
}

/// Remove the spinner (before printing results).
pub fn finish_progress() {
    if let Some(b) = PROGRESS.get() {
        b.finish_and_clear();
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
        Phase {
            name,
            start: Instant::now(),
            cpu: if enabled() { cpu_seconds() } else { 0.0 },
        }
    }

    /// End the phase.
    pub fn done(self) {}
}

impl Drop for Phase {
    fn drop(&mut self) {
        if enabled() {
            eprintln!(
                "[heapsnap] {:<28} {:>9.1} ms  cpu {:>8.0} ms  {}",
                self.name,
                self.start.elapsed().as_secs_f64() * 1e3,
                (cpu_seconds() - self.cpu) * 1e3,
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
