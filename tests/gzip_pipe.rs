//! Gzip through standard input and pipes (issue 16, item 1): `cat x.heapsnapshot.gz | heapsnap summary -` failed
//! with `incomplete deflate stream` once the compressed stream was larger than the reader's first chunk (1 MiB),
//! because the bounded reader stopped after one read when the first byte was not `{`.
//!
//! Each case is a real gzip stream written to heapsnap's standard input (a pipe) and must give the same JSON
//! summary as the file it was made from. The compressed sizes are made exact, one byte either side of every
//! boundary that matters (the 64 KiB default pipe buffer, the 1 MiB reader chunk and widened pipe, 2 MiB), by
//! appending a second gzip member of stored (uncompressed) JSON whitespace after the snapshot's member: trailing
//! whitespace is valid JSON and `MultiGzDecoder` reads every member.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_heapsnap");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gzip(d: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

/// `snapshot` (a gzip stream) followed by a stored gzip member of spaces, `target` bytes in all.
fn padded_to(snapshot: &[u8], target: usize) -> Vec<u8> {
    let mut pad = target.saturating_sub(snapshot.len() + 64);
    for _ in 0..16 {
        let member = gzip(&vec![b' '; pad], flate2::Compression::none());
        let len = snapshot.len() + member.len();
        if len == target {
            let mut out = snapshot.to_vec();
            out.extend_from_slice(&member);
            return out;
        }
        pad = (pad as i64 + target as i64 - len as i64) as usize;
    }
    panic!("cannot make a gzip stream of exactly {target} bytes");
}

/// The JSON summary of `path` read as a file, without its `file` member.
fn summary_of_file(path: &Path) -> Value {
    let out = Command::new(BIN)
        .args(["summary", "--format", "json"])
        .arg(path)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    without_file(&out.stdout)
}

/// The JSON summary of `bytes` written to standard input.
fn summary_of_stdin(bytes: &[u8]) -> Value {
    let out = Command::new(BIN)
        .args(["summary", "--format", "json", "-"])
        .write_stdin(bytes.to_vec())
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} bytes of gzip on standard input: {}",
        bytes.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    without_file(&out.stdout)
}

fn without_file(json: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(json).unwrap();
    v.as_object_mut().unwrap().remove("file");
    v
}

#[test]
fn gzip_on_standard_input_at_every_chunk_boundary() {
    let plain = repo().join("fixtures/synthetic/random-1-300.heapsnapshot");
    let expected = summary_of_file(&plain);
    let gz = gzip(&std::fs::read(&plain).unwrap(), flate2::Compression::best());
    for boundary in [64 << 10, 1 << 20, 2 << 20] {
        for size in [boundary - 1, boundary, boundary + 1] {
            let bytes = padded_to(&gz, size);
            assert_eq!(bytes.len(), size);
            assert_eq!(
                summary_of_stdin(&bytes),
                expected,
                "{size} bytes of gzip on standard input"
            );
        }
    }
}

#[test]
fn a_real_gzip_snapshot_above_1_mib_on_standard_input() {
    // 1,147,151 bytes of gzip written by the fixture generator (the failing file was 1,155,487 bytes).
    let path = repo().join("fixtures/leaks/closures/3.heapsnapshot.gz");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 1 << 20);
    assert_eq!(summary_of_stdin(&bytes), summary_of_file(&path));
}

#[test]
fn a_large_gzip_stream_on_standard_input() {
    // bare-node's 804 kB of gzip and 7 MiB of stored padding: many reader chunks and pipe buffers.
    let path = repo().join("fixtures/bare-node.heapsnapshot.gz");
    let bytes = padded_to(&std::fs::read(&path).unwrap(), 8 << 20);
    assert_eq!(summary_of_stdin(&bytes), summary_of_file(&path));
}

#[cfg(unix)]
#[test]
fn a_gzip_stream_above_1_mib_through_a_fifo() {
    // `heapsnap summary <(cat x.gz)` hands over a pipe by path.
    let src = repo().join("fixtures/leaks/closures/3.heapsnapshot.gz");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.heapsnapshot.gz");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo failed");
    let writer = {
        let (fifo, bytes) = (fifo.clone(), std::fs::read(&src).unwrap());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            let _ = f.write_all(&bytes);
        })
    };
    let got = summary_of_file(&fifo);
    writer.join().unwrap();
    assert_eq!(got, summary_of_file(&src));
}
