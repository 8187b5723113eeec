//! Man pages: heapsnap(1) and one page per subcommand (heapsnap-diff(1), ...), generated from the command-line
//! definition by clap_mangen, with two sections it does not know about written with `roff`: EXIT STATUS and
//! EXAMPLES. `heapsnap man` prints heapsnap(1), `heapsnap man diff` heapsnap-diff(1), and
//! `heapsnap man --out-dir DIR` writes every page into DIR.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::CommandFactory;
use roff::{bold, roman, Roff};

use crate::cli::{Cli, ManArgs};

/// Examples per page: (subcommand or `""` for heapsnap(1), what it does, the command).
const EXAMPLES: &[(&str, &str, &str)] = &[
    ("", "What takes the memory", "heapsnap summary app.heapsnapshot"),
    ("", "What leaks between two snapshots of one process", "heapsnap diff before.heapsnapshot after.heapsnapshot"),
    ("summary", "The 20 largest classes by retained size", "heapsnap summary app.heapsnapshot -n 20"),
    ("summary", "Only classes matching a pattern, as JSON", "heapsnap summary app.heapsnapshot --filter '^Request' --format json"),
    ("summary", "A gzip snapshot from standard input", "cat app.heapsnapshot.gz | heapsnap summary -"),
    ("top", "The 10 largest objects and what holds each", "heapsnap top app.heapsnapshot -n 10"),
    ("retainers", "Why object @12345 is alive", "heapsnap retainers app.heapsnapshot @12345"),
    ("retainers", "Why the largest RequestContext is alive", "heapsnap retainers app.heapsnapshot --class RequestContext"),
    ("tree", "The dominator tree, two levels deep, children above 1 MB", "heapsnap tree app.heapsnapshot --depth 2 --min-size 1MB"),
    ("tree", "Below one object", "heapsnap tree app.heapsnapshot @12345 --depth 4"),
    ("diff", "What grew between two snapshots", "heapsnap diff before.heapsnapshot after.heapsnapshot"),
    ("diff", "Three snapshots: objects that survived, growth at every step", "heapsnap diff s1.heapsnapshot s2.heapsnapshot s3.heapsnapshot"),
    ("diff", "In CI: fail when any class retains 1 MB more, or a leak is found", "heapsnap diff s1.heapsnapshot s2.heapsnapshot s3.heapsnapshot --fail-on 'retained_delta>1MB' --fail-on 'findings>0'"),
    ("diff", "A pull-request comment", "heapsnap diff before.heapsnapshot after.heapsnapshot --format markdown"),
    ("diff", "Snapshots whose ids were reassigned (separate runs): holders matched by path", "heapsnap diff run1.heapsnapshot run2.heapsnapshot run3.heapsnapshot --fail-on 'findings>0'"),
    ("report", "A self-contained HTML report of one snapshot, with a zoomable treemap", "heapsnap report app.heapsnapshot -o report.html"),
    ("report", "A diff report as a CI artifact, failing on findings", "heapsnap report s1.heapsnapshot s2.heapsnapshot s3.heapsnapshot -o heap-diff.html --fail-on 'findings>0'"),
    ("record", "Start a server, load it over HTTP, snapshot it three times, gate on findings", "heapsnap record --url http://127.0.0.1:3000/api --requests 2000 --fail-on 'findings>0' -- node server.js"),
    ("record", "Attach to a running Node process", "heapsnap record --attach 12345 --drive 'npx autocannon -d 10 http://127.0.0.1:3000/'"),
    ("record", "A headless Chromium page with a debugging port, clicked from inside", "heapsnap record --attach http://127.0.0.1:9222 --target app --evaluate 'openAndClosePanel()' --repeat 30"),
    ("nodes", "Every node as CSV", "heapsnap nodes app.heapsnapshot --format csv > nodes.csv"),
    ("completions", "Bash completions", "heapsnap completions bash > /etc/bash_completion.d/heapsnap"),
    ("man", "Every page into a directory", "heapsnap man --out-dir /usr/local/share/man/man1"),
];

/// Exit codes, for every page.
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "The command ran (and, for diff, every CI check passed)."),
    ("1", "diff, record: a --fail-on threshold or a --budget limit was crossed."),
    ("2", "A usage error, or an input that could not be read or is not a heap snapshot (the message names the file, section and byte offset)."),
];

/// `heapsnap man`.
pub fn run(a: &ManArgs, out: &mut dyn Write) -> Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    if let Some(dir) = &a.out_dir {
        for p in write_all(&cmd, dir)? {
            writeln!(out, "{}", p.display())?;
        }
        return Ok(());
    }
    match &a.subcommand {
        None => page(&cmd, "", out),
        Some(name) => match cmd.find_subcommand(name) {
            Some(sub) => page(sub, name, out),
            None => {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                bail!("no subcommand `{name}`; man pages exist for: {}", names.join(", "))
            }
        },
    }
}

/// Every page into `dir` (created when missing); returns the files written.
pub fn write_all(cmd: &clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the directory", dir.display()))?;
    let mut written = Vec::new();
    let mut write = |c: &clap::Command, sub: &str| -> Result<()> {
        let path = dir.join(clap_mangen::Man::new(c.clone()).get_filename());
        let mut f = std::fs::File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        page(c, sub, &mut f)?;
        written.push(path);
        Ok(())
    };
    write(cmd, "")?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write(sub, sub.get_name())?;
    }
    Ok(written)
}

/// One page: clap_mangen's sections, then EXIT STATUS and EXAMPLES (`sub`: the subcommand, `""` for the main
/// page).
fn page(cmd: &clap::Command, sub: &str, out: &mut dyn Write) -> Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, what) in EXIT_STATUS {
        roff.control("TP", []).text([bold(*code)]).text([roman(*what)]);
    }
    let examples: Vec<_> = EXAMPLES.iter().filter(|(s, _, _)| *s == sub).collect();
    if !examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        for (_, what, command) in examples {
            roff.control("TP", []).text([roman(*what)]).text([bold(*command)]);
        }
    }
    roff.to_writer(out)?;
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_has_examples() {
        for sub in Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
            assert!(
                EXAMPLES.iter().any(|(s, _, _)| *s == sub.get_name()),
                "no EXAMPLES for {}",
                sub.get_name()
            );
        }
    }
}
