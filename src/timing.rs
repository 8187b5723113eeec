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
}

impl Phase {
    /// Start timing `name`.
    pub fn start(name: &'static str) -> Phase {
        Phase {
            name,
            start: Instant::now(),
        }
    }

    /// End the phase.
    pub fn done(self) {}
}

impl Drop for Phase {
    fn drop(&mut self) {
        if enabled() {
            eprintln!(
                "[heapsnap] {:<28} {:>9.1} ms  {}",
                self.name,
                self.start.elapsed().as_secs_f64() * 1e3,
                memory()
            );
        }
    }
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
