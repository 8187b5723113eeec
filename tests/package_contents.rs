//! The crate package stays small and holds only what `cargo install heapsnap` needs (issue 16, item 9):
//! `cargo package --list` (the files crates.io would get) has no fixtures, tests, benches, fuzzing or npm
//! packaging, has the licence files and the README, and its file count and bytes stay under a bound with room
//! for the source to grow (about 60 files and 0.7 MB today), so a new data directory is caught here.

use std::path::Path;
use std::process::Command;

#[test]
fn cargo_package_list_is_small_and_has_no_test_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(root)
        .output()
        .expect("run cargo package --list");
    assert!(
        out.status.success(),
        "cargo package --list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = String::from_utf8(out.stdout).expect("utf-8 file list");
    let files: Vec<&str> = list.lines().filter(|l| !l.is_empty()).collect();

    for required in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "src/main.rs",
        "src/lib.rs",
    ] {
        assert!(
            files.contains(&required),
            "{required} missing from the crate package: {files:?}"
        );
    }
    for f in &files {
        for dir in [
            "fixtures/",
            "tests/",
            "benches/",
            "fuzz/",
            "npm/",
            "docs/",
            ".ci/",
            ".github/",
            "target/",
        ] {
            assert!(
                !f.starts_with(dir),
                "{f} is in the crate package ({dir} must be excluded in Cargo.toml)"
            );
        }
        assert!(!f.contains(".heapsnapshot"), "snapshot {f} is in the crate package");
    }

    // Files cargo generates into the package are not in the work tree.
    let bytes: u64 = files
        .iter()
        .filter(|f| !matches!(**f, ".cargo_vcs_info.json" | "Cargo.toml.orig"))
        .map(|f| {
            std::fs::metadata(root.join(f))
                .map(|m| m.len())
                .unwrap_or_else(|e| panic!("{f}: {e}"))
        })
        .sum();
    assert!(
        files.len() <= 150,
        "{} files in the crate package (bound 150)",
        files.len()
    );
    assert!(bytes <= 3_000_000, "{bytes} bytes in the crate package (bound 3 MB)");
}
