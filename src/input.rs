//! Getting a snapshot's bytes: a read-only memory map for plain files, a streaming gzip
//! decoder for `.gz` input (detected by its magic bytes, not its name), and standard input for `-`. Pipes and
//! other non-regular files (`<(zcat x.gz)`, a FIFO) are read to their end like standard input.
//!
//! The file must not change while heapsnap runs (as with ripgrep's memory maps). Two ways it can, both reported
//! as errors naming the file, never a wrong answer:
//! - it shrinks under the map: touching a page past the new end raises SIGBUS, which `crate::sigbus` turns
//!   into a one-line message (file, section, byte offset) and exit code 2 (Linux);
//! - it grows or is rewritten in place (a snapshot still being written): the length and modification time
//!   taken when it was opened are compared with the file's after the load ([`Input::check_unchanged`], called
//!   by [`crate::Snapshot::open`]).
//!
//! Input files are opened read-only and never written. Pages of the map that have been parsed can be released
//! with [`Input::release`], so resident memory does not keep the whole file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use memmap2::Mmap;

use crate::error::{Error, Result};
use crate::sigbus::Registration;

/// The bytes of one snapshot document.
pub struct Input {
    path: PathBuf,
    data: Data,
    decompressed: bool,
    /// A regular file: the open file and its length and modification time when opened.
    file: Option<(File, Stamp)>,
}

enum Data {
    Mapped(Mapped),
    Owned(Vec<u8>),
}

/// A file mapping registered with the SIGBUS handler. Fields drop in order: the registration is released
/// before the mapping goes away.
struct Mapped {
    registration: Option<Registration>,
    map: Mmap,
}

impl Mapped {
    fn new(file: &File, path: &Path) -> std::io::Result<Mapped> {
        // SAFETY: the map is read-only and private to this process and heapsnap never writes it. Another process
        // changing the file under it cannot make us read wrong data silently: a shrink raises SIGBUS, reported by
        // the handler registered here, and other changes are caught by `Input::check_unchanged`.
        let map = unsafe { Mmap::map(file) }?;
        let registration = crate::sigbus::register(&map, path, fd_of(file));
        Ok(Mapped { registration, map })
    }
}

/// The raw descriptor of `file` for the SIGBUS handler (-1 where there is none).
fn fd_of(file: &File) -> i32 {
    #[cfg(unix)]
    {
        std::os::unix::io::AsRawFd::as_raw_fd(file)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        -1
    }
}

/// Length and modification time of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// Test hook, not a feature: `HEAPSNAP_TEST_PAUSE_AFTER_MAP_MS=N` makes [`Input::open`] announce on stderr that
/// it has mapped a file and then sleep N ms before reading it, so that integration tests can change the file at
/// exactly that moment (tests/bad_input.rs). Read once per process.
#[doc(hidden)]
pub const TEST_PAUSE_AFTER_MAP_ENV: &str = "HEAPSNAP_TEST_PAUSE_AFTER_MAP_MS";

fn test_pause_after_map() -> Option<Duration> {
    static PAUSE: OnceLock<Option<Duration>> = OnceLock::new();
    *PAUSE.get_or_init(|| {
        let ms: u64 = std::env::var(TEST_PAUSE_AFTER_MAP_ENV).ok()?.parse().ok()?;
        Some(Duration::from_millis(ms))
    })
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl Input {
    /// Open `path` (`-` is standard input). Gzip input is decompressed into memory.
    pub fn open(path: &Path) -> Result<Input> {
        let io = |what: &'static str| {
            move |source| Error::Io {
                path: path.to_path_buf(),
                what,
                source,
            }
        };
        if path.as_os_str() == "-" {
            let t = crate::timing::Phase::start("read standard input");
            widen_pipe(0);
            let buf = read_bounded(std::io::stdin().lock(), path, false, "cannot read standard input")?;
            t.done();
            return Self::from_bytes(path, buf);
        }
        let meta = std::fs::metadata(path).map_err(io("cannot open"))?;
        if meta.is_dir() {
            return Err(Error::Io {
                path: path.to_path_buf(),
                what: "cannot open",
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "is a directory"),
            });
        }
        let mut file = File::open(path).map_err(io("cannot open"))?;
        if !meta.is_file() {
            // A pipe (`<(zcat x.gz)`, a FIFO) or a device: its length is not its content's, and it cannot be mapped.
            let t = crate::timing::Phase::start("read input");
            let buf = read_bounded(&mut file, path, false, "cannot read")?;
            t.done();
            return Self::from_bytes(path, buf);
        }
        // The stamp of the file actually opened (the path may have been replaced since `metadata`).
        let stamp = Stamp::of(&file.metadata().map_err(io("cannot open"))?);
        if stamp.len == 0 {
            return Ok(Input {
                path: path.to_path_buf(),
                data: Data::Owned(Vec::new()),
                decompressed: false,
                file: Some((file, stamp)),
            });
        }
        let mapped = Mapped::new(&file, path).map_err(io("cannot memory-map"))?;
        if let Some(pause) = test_pause_after_map() {
            eprintln!(
                "[heapsnap test hook] {} mapped, pausing {} ms",
                path.display(),
                pause.as_millis()
            );
            std::thread::sleep(pause);
        }
        if mapped.map.starts_with(&GZIP_MAGIC) {
            let buf = gunzip(&mapped.map, path)?;
            return Ok(Input {
                path: path.to_path_buf(),
                data: Data::Owned(buf),
                decompressed: true,
                file: Some((file, stamp)),
            });
        }
        #[cfg(unix)]
        let _ = mapped.map.advise(memmap2::Advice::Sequential);
        Ok(Input {
            path: path.to_path_buf(),
            data: Data::Mapped(mapped),
            decompressed: false,
            file: Some((file, stamp)),
        })
    }

    /// Fail with [`Error::Changed`] if the file's length or modification time differ from when it was opened
    /// (it grew or was rewritten while being read: still being written?). Standard input and pipes pass.
    pub fn check_unchanged(&self) -> Result<()> {
        let Some((file, stamp)) = &self.file else {
            return Ok(());
        };
        let now = file.metadata().map_err(|source| Error::Io {
            path: self.path.clone(),
            what: "cannot read the file's metadata",
            source,
        })?;
        if Stamp::of(&now) != *stamp {
            return Err(Error::Changed {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// Tell the SIGBUS handler where the top-level sections of a mapped file are, so that a fault names its
    /// section. A no-op for in-memory input.
    pub(crate) fn set_sections<'a>(&self, sections: impl IntoIterator<Item = (&'a str, std::ops::Range<usize>)>) {
        if let Data::Mapped(Mapped {
            registration: Some(r), ..
        }) = &self.data
        {
            r.set_sections(sections);
        }
    }

    /// Wrap bytes already in memory (gzip is detected and decompressed).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Input> {
        let decompressed = bytes.starts_with(&GZIP_MAGIC);
        let bytes = if decompressed { gunzip(&bytes, path)? } else { bytes };
        Ok(Input {
            path: path.to_path_buf(),
            data: Data::Owned(bytes),
            decompressed,
            file: None,
        })
    }

    /// The file's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The document's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Mapped(m) => &m.map,
            Data::Owned(v) => v,
        }
    }

    /// True when the bytes were decompressed from gzip (error offsets then count decompressed bytes).
    pub fn is_decompressed(&self) -> bool {
        self.decompressed
    }

    /// Tell the kernel that `range` will not be read again, so its pages leave resident memory.
    /// A no-op for in-memory input.
    pub fn release(&self, range: std::ops::Range<usize>) {
        #[cfg(unix)]
        if let Data::Mapped(Mapped { map: m, .. }) = &self.data {
            let page = 4096;
            let start = range.start.div_ceil(page) * page;
            let end = (range.end / page) * page;
            if end > start {
                // SAFETY: the mapping is a read-only file mapping; MADV_DONTNEED only drops our resident copy of
                // the pages, which the kernel re-reads from the file if they are touched again, so no data changes.
                let _ = unsafe { m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
            }
        }
        #[cfg(not(unix))]
        let _ = range;
    }
}

/// Decompress gzip `bytes` (one or more members) into memory, bounded as [`read_bounded`] bounds streams.
fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    let t = crate::timing::Phase::start("decompress gzip");
    let buf = read_bounded(
        flate2::read::MultiGzDecoder::new(bytes),
        path,
        true,
        "cannot decompress gzip",
    )?;
    t.done();
    Ok(buf)
}

/// Read a stream that has no length (standard input, a pipe or device, a gzip decoder) into memory, without
/// letting it grow without bound:
/// - as soon as the first byte that is not JSON whitespace is not `{` (nor, as the stream's very first byte, the
///   first byte of gzip's magic), reading stops: the document cannot be a snapshot, and the scanner reports what
///   it found there (so `/dev/zero` fails at once);
/// - more bytes than the memory available when the read started (`MemAvailable`, Linux) is an error naming the
///   offset (a gzip bomb, an endless pipe) instead of an out-of-memory kill.
fn read_bounded(mut r: impl Read, path: &Path, decompressed: bool, what: &'static str) -> Result<Vec<u8>> {
    read_bounded_to(&mut r, path, decompressed, what, memory_available())
}

/// [`read_bounded`] with an explicit limit (`None`: unknown, unlimited).
fn read_bounded_to(
    r: &mut dyn Read,
    path: &Path,
    decompressed: bool,
    what: &'static str,
    limit: Option<u64>,
) -> Result<Vec<u8>> {
    const CHUNK: usize = 1 << 20;
    let mut buf: Vec<u8> = Vec::new();
    let mut started = false;
    loop {
        let len = buf.len();
        let error = |message: String| Error::Format {
            path: path.to_path_buf(),
            section: "document".into(),
            offset: len as u64,
            decompressed,
            message,
        };
        if let Some(limit) = limit {
            if len as u64 > limit {
                return Err(error(format!(
                    "the input is larger than the memory available to hold it ({} MiB); \
                     decompress it to a file, which heapsnap memory-maps instead",
                    limit >> 20
                )));
            }
        }
        // Under an address-space limit (`ulimit -v`) the allocation can fail below `limit`: an error, not an
        // abort.
        if buf.try_reserve(CHUNK).is_err() {
            return Err(error(
                "out of memory while reading the input; decompress it to a file, which heapsnap memory-maps instead"
                    .into(),
            ));
        }
        buf.resize(len + CHUNK, 0);
        let got = loop {
            match r.read(&mut buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Error::Io {
                        path: path.to_path_buf(),
                        what,
                        source,
                    })
                }
            }
        };
        buf.truncate(len + got);
        if got == 0 {
            return Ok(buf);
        }
        if !started {
            if let Some(i) = buf.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
                // A gzip stream (standard input, a pipe) is read to its end: it is decompressed next. Its first
                // byte alone says so (`0x1f`); the second one may not have arrived yet.
                if buf[i] == GZIP_MAGIC[0] && i == 0 {
                    started = true;
                } else if buf[i] != b'{' {
                    return Ok(buf);
                } else {
                    started = true;
                }
            }
        }
    }
}

/// `MemAvailable` from /proc/meminfo, in bytes (None where unknown).
fn memory_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// Ask for a 1 MiB pipe buffer on `fd` when it is a pipe (Linux): with the default 64 KiB, reading a
/// gigabyte from `cat file |` costs a context switch per 64 KiB. Failure (not a pipe, a lower limit) is fine.
fn widen_pipe(fd: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: fcntl on a descriptor this process owns (standard input), with an integer argument; it does
    // not touch memory, and an error (EBADF, EPERM, EINVAL) is ignored.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An endless stream of one byte.
    struct Endless(u8, u64);
    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            out.fill(self.0);
            self.1 += out.len() as u64;
            Ok(out.len())
        }
    }

    #[test]
    fn a_stream_that_is_not_json_stops_at_its_first_byte() {
        let mut zeros = Endless(0, 0);
        let buf = read_bounded_to(&mut zeros, Path::new("/dev/zero"), false, "cannot read", None).unwrap();
        assert!(buf.len() <= 1 << 20, "read {} bytes of /dev/zero", buf.len());
        assert_eq!(buf[0], 0);
    }

    #[test]
    fn endless_whitespace_stops_at_the_memory_limit_with_the_offset() {
        let mut spaces = Endless(b' ', 0);
        let err = read_bounded_to(&mut spaces, Path::new("-"), false, "cannot read", Some(8 << 20)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("-: section `document`, byte 9437184:"), "{msg}");
        assert!(msg.contains("larger than the memory available"), "{msg}");
        assert!(spaces.1 <= 10 << 20, "read {} bytes", spaces.1);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_memory_limit() {
        // 64 MiB of `{` + zeros compresses to ~64 kB.
        let mut raw = vec![0u8; 64 << 20];
        raw[0] = b'{';
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        let gz = gz.finish().unwrap();
        drop(raw);
        let mut dec = flate2::read::MultiGzDecoder::new(&gz[..]);
        let err = read_bounded_to(
            &mut dec,
            Path::new("bomb.gz"),
            true,
            "cannot decompress gzip",
            Some(16 << 20),
        )
        .unwrap_err();
        let Error::Format {
            section,
            offset,
            decompressed,
            ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!((section.as_str(), *decompressed), ("document", true), "{err}");
        assert!((16 << 20..18 << 20).contains(offset), "{err}");
        assert!(
            err.to_string().starts_with("bomb.gz: section `document`, byte "),
            "{err}"
        );
    }

    #[test]
    fn a_stream_is_read_whole_under_the_limit() {
        let doc = br#"  {"snapshot":{}}"#;
        let mut r = &doc[..];
        let buf = read_bounded_to(&mut r, Path::new("-"), false, "cannot read", Some(1 << 30)).unwrap();
        assert_eq!(buf, doc);
    }
}
