//! The `heapsnap` binary: parse arguments, configure the thread pool, run the library, map the outcome to an
//! exit code (0 fine, 1 a CI threshold was crossed, 2 usage or input error). A closed pipe exits 0. Colour
//! (`--color`, `NO_COLOR`) is decided here, once, for standard output and standard error separately.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use heapsnap::app::{self, Outcome};
use heapsnap::cli::Cli;
use heapsnap::report::style;

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// glibc's malloc serves blocks below its mmap threshold from heaps it seldom gives back, and raises that
/// threshold (up to 32 MiB) each time a mapped block is freed. The analysis's temporary columns (tens of MB each:
/// BFS queues, owner tables, the predecessor lists) would then come from those heaps once the first is freed,
/// and stay resident after they are freed, adding to the next phase's peak. A fixed threshold keeps every
/// block of 128 KiB and more mapped and returned to the system on free: on a 1,177 MiB snapshot the peak RSS of
/// `summary` went from 1,218 to 1,186 MiB, with the same wall time. `MALLOC_MMAP_THRESHOLD_` still overrides it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_mmap_threshold() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
        return;
    }
    // SAFETY: mallopt only sets a malloc parameter; it is called first thing in main, before any other thread
    // exists or any allocation it could affect is live (a later free of an earlier block is handled by glibc).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_mmap_threshold() {}

fn main() -> ExitCode {
    fix_mmap_threshold();
    let cli = Cli::parse();
    let no_color = std::env::var_os("NO_COLOR");
    let stdout_color = style::decide(cli.color, std::io::stdout().is_terminal(), no_color.as_deref());
    // Error messages are coloured only on a terminal, even with `--color always` (which is for piping tables
    // into `less -R`, not for escapes in a log file of errors).
    let stderr_color = std::io::stderr().is_terminal() && style::decide(cli.color, true, no_color.as_deref());
    style::set(stdout_color, stderr_color);
    let terminal_width = std::io::stdout()
        .is_terminal()
        .then(|| crossterm::terminal::size().ok().map(|(w, _)| w as usize))
        .flatten();
    heapsnap::report::text::set_width(heapsnap::report::text::decide_width(
        cli.width,
        std::env::var_os("COLUMNS").as_deref(),
        terminal_width,
    ));
    let prefix = style::error_prefix();
    if let Some(n) = cli.threads {
        if n == 0 {
            eprintln!("{prefix} --threads must be at least 1");
            return ExitCode::from(2);
        }
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
            eprintln!("{prefix} --threads: {e}");
            return ExitCode::from(2);
        }
    }
    if !cli.quiet && std::io::stderr().is_terminal() {
        heapsnap::timing::enable_progress();
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    app::exit_after_run();
    let result = app::run(cli, &mut out);
    // Also before an error message, which would otherwise be drawn into the progress line.
    heapsnap::timing::finish_progress();
    let result = result.and_then(|o| {
        out.flush()?;
        Ok(o)
    });
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::ThresholdCrossed) => ExitCode::from(1),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{prefix} {e:#}");
            ExitCode::from(2)
        }
    }
}
