//! The `heapsnap` binary: parse arguments, configure the thread pool, run the library, map the outcome to an
//! exit code (0 fine, 1 a CI threshold was crossed, 2 usage or input error). A closed pipe exits 0.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use heapsnap::app::{self, Outcome};
use heapsnap::cli::Cli;

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if n == 0 {
            eprintln!("heapsnap: --threads must be at least 1");
            return ExitCode::from(2);
        }
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
            eprintln!("heapsnap: --threads: {e}");
            return ExitCode::from(2);
        }
    }
    if !cli.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        heapsnap::timing::enable_progress();
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = app::run(cli, &mut out).and_then(|o| {
        heapsnap::timing::finish_progress();
        out.flush()?;
        Ok(o)
    });
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::ThresholdCrossed) => ExitCode::from(1),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("heapsnap: {e:#}");
            ExitCode::from(2)
        }
    }
}
