//! The npm packaging (issue 16, item 9) end to end, as a user gets it, with no registry:
//! `npm/build-packages.js` writes `heapsnap` and `@heapsnap/linux-x64` from this test build's release binary,
//! `npm pack` packs both, and `npm install --offline` installs the two tarballs into a temporary project outside
//! the repository, with an empty npm cache and an unreachable registry. With a PATH of only node's directory
//! (checked to hold no `heapsnap`), `npx heapsnap --version` and `npx heapsnap diff` on a shipped fixture must
//! print what the binary prints when run directly; the binary that ran must be the file under `node_modules`
//! (the launcher's `HEAPSNAP_NPM_DEBUG` line, `/proc/<pid>/exe` of the running child, identical bytes);
//! exit codes 1 and 2 and a SIGTERM to the launcher pass through, and no child is left running.
//!
//! Needs `node` and `npm` (`.ci/run` installs them); without them the test fails saying so, unless
//! `HEAPSNAP_SKIP_NPM_TEST=1`. Linux x86-64 only (the only platform whose binary this machine builds).
#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_heapsnap");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory of `tool` on the current PATH.
fn dir_of(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.join(tool).is_file())
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An npm/npx command with a private cache, no registry and no update checks.
fn npm_cmd(tool: &Path, cwd: &Path, env_path: &str, cache: &Path) -> Command {
    let mut c = Command::new(tool);
    c.current_dir(cwd)
        .env_clear()
        .env("PATH", env_path)
        .env("HOME", cache.parent().unwrap())
        .env("npm_config_cache", cache)
        .env("npm_config_registry", "http://127.0.0.1:9/")
        .env("npm_config_update_notifier", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false");
    c
}

fn fixture(n: u32) -> String {
    repo()
        .join(format!("fixtures/leaks/unbounded-array/{n}.heapsnapshot.gz"))
        .display()
        .to_string()
}

/// Pids of the processes whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses and may hold spaces.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let ppid = rest.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            kids.push(pid);
        }
    }
    kids
}

#[test]
fn npm_packages_install_offline_and_run_the_binary_under_node_modules() {
    let (Some(node_dir), Some(npm_dir)) = (dir_of("node"), dir_of("npm")) else {
        if std::env::var_os("HEAPSNAP_SKIP_NPM_TEST").is_some() {
            eprintln!("skipped: node/npm not on PATH and HEAPSNAP_SKIP_NPM_TEST is set");
            return;
        }
        panic!("node and npm are needed for the npm packaging test (.ci/run installs them; set HEAPSNAP_SKIP_NPM_TEST=1 to skip)");
    };
    let npm = npm_dir.join("npm");
    let npx = npm_dir.join("npx");
    // A PATH with node and npm only: no cargo, no ~/.cargo/bin, no target/ directory.
    let env_path = std::env::join_paths([&node_dir, &npm_dir]).unwrap();
    let env_path = env_path.to_str().unwrap().to_owned();
    for d in std::env::split_paths(&env_path) {
        assert!(
            !d.join("heapsnap").exists(),
            "{} has a heapsnap: the test needs a PATH without one",
            d.display()
        );
    }

    let tmp = tempfile::Builder::new().prefix("heapsnap-npm-test").tempdir().unwrap();
    let tmp = tmp.path();
    assert!(
        !tmp.starts_with(repo()),
        "the temporary project must be outside the repository"
    );
    let cache = tmp.join("npm-cache");
    let pkgs = tmp.join("packages");
    let tarballs = tmp.join("tarballs");
    let project = tmp.join("project");
    for d in [&cache, &tarballs, &project] {
        std::fs::create_dir_all(d).unwrap();
    }

    // 1. The packages, from the release binary of this build.
    let out = ok(Command::new(node_dir.join("node"))
        .arg(repo().join("npm/build-packages.js"))
        .arg("--out")
        .arg(&pkgs)
        .arg(format!("linux-x64={BIN}")));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        2,
        "two package directories written"
    );
    let version = env!("CARGO_PKG_VERSION");
    let main_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkgs.join("heapsnap/package.json")).unwrap()).unwrap();
    assert_eq!(main_json["version"], version);
    let optional = main_json["optionalDependencies"].as_object().unwrap();
    let mut names: Vec<&str> = optional.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "@heapsnap/darwin-arm64",
            "@heapsnap/darwin-x64",
            "@heapsnap/linux-arm64",
            "@heapsnap/linux-x64",
            "@heapsnap/win32-x64"
        ]
    );
    assert!(
        optional.values().all(|v| v == version),
        "optionalDependencies pinned to {version}: {optional:?}"
    );

    // 2. npm pack both.
    for dir in [pkgs.join("heapsnap"), pkgs.join("@heapsnap/linux-x64")] {
        ok(npm_cmd(&npm, &dir, &env_path, &cache)
            .args(["pack", "--offline", "--pack-destination"])
            .arg(&tarballs));
    }
    let main_tgz = tarballs.join(format!("heapsnap-{version}.tgz"));
    let platform_tgz = tarballs.join(format!("heapsnap-linux-x64-{version}.tgz"));
    assert!(
        main_tgz.is_file() && platform_tgz.is_file(),
        "npm pack wrote {main_tgz:?} and {platform_tgz:?}"
    );

    // 3. Install the tarballs offline into a project outside the repository.
    std::fs::write(
        project.join("package.json"),
        r#"{"name":"heapsnap-npm-test","private":true}"#,
    )
    .unwrap();
    ok(npm_cmd(&npm, &project, &env_path, &cache)
        .args(["install", "--offline", "--no-audit", "--no-fund"])
        .arg(&main_tgz)
        .arg(&platform_tgz));
    let installed = project.join("node_modules/@heapsnap/linux-x64/bin/heapsnap");
    assert!(installed.is_file(), "{} installed", installed.display());
    assert!(
        std::fs::read(&installed).unwrap() == std::fs::read(BIN).unwrap(),
        "the installed binary has the release binary's bytes"
    );

    // 4. npx heapsnap --version, and which binary it ran.
    let out = ok(npm_cmd(&npx, &project, &env_path, &cache)
        .env("HEAPSNAP_NPM_DEBUG", "1")
        .args(["--offline", "heapsnap", "--version"]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("heapsnap {version}")
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ran = stderr
        .lines()
        .find_map(|l| l.strip_prefix("heapsnap (npm launcher): running "))
        .unwrap_or_else(|| panic!("no launcher debug line in: {stderr}"));
    assert_eq!(
        std::fs::canonicalize(ran).unwrap(),
        std::fs::canonicalize(&installed).unwrap(),
        "the launcher ran the binary under node_modules"
    );

    // 5. A diff on a shipped fixture: the same bytes and exit code as the binary run directly.
    let diff_args = [fixture(1), fixture(2), fixture(3)];
    let via_npx = run(npm_cmd(&npx, &project, &env_path, &cache)
        .args(["--offline", "heapsnap", "diff", "--format", "json"])
        .args(&diff_args));
    let direct = run(Command::new(BIN).args(["diff", "--format", "json"]).args(&diff_args));
    assert!(
        direct.status.success(),
        "direct diff: {}",
        String::from_utf8_lossy(&direct.stderr)
    );
    assert_eq!(via_npx.status.code(), direct.status.code());
    assert_eq!(
        String::from_utf8_lossy(&via_npx.stdout),
        String::from_utf8_lossy(&direct.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&via_npx.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["class"] == "RequestLogEntry"),
        "the unbounded-array fixture's RequestLogEntry finding: {findings:?}"
    );

    // 6. Exit codes pass through: 1 for a crossed CI threshold, 2 for an input error.
    let crossed = run(npm_cmd(&npx, &project, &env_path, &cache)
        .args(["--offline", "heapsnap", "diff", "--fail-on", "findings>0"])
        .args(&diff_args));
    assert_eq!(
        crossed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&crossed.stderr)
    );
    let missing = run(npm_cmd(&npx, &project, &env_path, &cache).args([
        "--offline",
        "heapsnap",
        "summary",
        "/nonexistent/x.heapsnapshot",
    ]));
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/x.heapsnapshot"));

    // 7. A signal to the launcher reaches the binary, the launcher ends with the same signal, nothing is left.
    //    `summary -` waits for its standard input, which stays open here.
    let launcher = project.join("node_modules/.bin/heapsnap");
    let mut child = Command::new(&launcher)
        .current_dir(&project)
        .env_clear()
        .env("PATH", &env_path)
        .args(["summary", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let launcher_pid = child.id();
    let start = Instant::now();
    let native = loop {
        if let Some(&pid) = children_of(launcher_pid).first() {
            if let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) {
                if exe == std::fs::canonicalize(&installed).unwrap() {
                    break pid;
                }
            }
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the launcher started no {} within 20 s", installed.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Standard input stays open until the end (`Child::wait` would close it, and heapsnap, seeing the end of its
    // input, could exit on its own before the signal reaches it).
    let stdin = child.stdin.take();
    // SAFETY: kill(2) on the pid of a child this test spawned and has not reaped yet.
    assert_eq!(unsafe { libc::kill(launcher_pid as i32, libc::SIGTERM) }, 0);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGTERM),
        "launcher status {status}, stderr: {err}"
    );
    let start = Instant::now();
    while Path::new(&format!("/proc/{native}")).exists()
        && std::fs::read_to_string(format!("/proc/{native}/stat")).is_ok_and(|s| !s.contains(") Z "))
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "heapsnap {native} still running after SIGTERM: {err}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);

    // 8. Without the platform package, the launcher says what is missing (so nothing else ran above).
    std::fs::remove_file(&installed).unwrap();
    let gone = run(npm_cmd(&npx, &project, &env_path, &cache).args(["--offline", "heapsnap", "--version"]));
    assert_eq!(gone.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("@heapsnap/linux-x64"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );
}
