//! Phase timings on stderr when `HEAPSNAP_TIMINGS` is set (`[heapsnap] phase  123.4 ms`), for profiling
//! and the peer-comparison script. Costs one `Instant::now()` per phase otherwise.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("HEAPSNAP_TIMINGS").is_some())
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
                "[heapsnap] {:<28} {:>9.1} ms",
                self.name,
                self.start.elapsed().as_secs_f64() * 1e3
            );
        }
    }
}
