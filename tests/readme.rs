//! README.md's examples are real (issue 16, item 10): every ```` ```console ```` block of README.md is run by
//! trycmd with the `heapsnap` of this build, from the repository root, against the shipped fixtures, and must
//! print exactly the output shown (standard output and error together; `...` stands for any lines, `[..]` for any
//! text within a line, `? N` for an exit code other than 0). ```` ```sh ```` blocks (installation, set-up, commands
//! on the user's own files) are not run.
//!
//! When the output changes on purpose, re-bless and review the diff of README.md:
//! `TRYCMD=overwrite cargo test --release --locked --test readme`.

#[test]
fn readme_console_examples() {
    // The output of a pipe, as a user who copies the command into a script sees it: no progress, no colour and
    // no terminal width, whatever the terminal the tests run in. (The only test in this binary: no other
    // thread reads the environment.)
    std::env::remove_var("COLUMNS");
    trycmd::TestCases::new()
        .register_bin("heapsnap", std::path::PathBuf::from(env!("CARGO_BIN_EXE_heapsnap")))
        .default_bin_name("heapsnap")
        .env("NO_COLOR", "1")
        .case("README.md");
}
