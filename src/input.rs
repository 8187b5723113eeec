//! Getting a snapshot's bytes: a read-only memory map for plain files, a streaming gzip
//! decoder for `.gz` input (detected by its magic bytes, not its name), and standard input for `-`. Pipes and
//! other non-regular files (`<(zcat x.gz)`, a FIFO) are read to their end like standard input.
//!
//! The memory map assumes the file is not modified while heapsnap runs (as ripgrep does); a CLI accepts that
//! risk, and a file that shrinks under us can at worst raise SIGBUS, never a wrong answer silently. Input files
//! are opened read-only and never written. Pages of the map that have been parsed can be released with
//! [`Input::release`], so resident memory does not keep the whole file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{Error, Result};

/// The bytes of one snapshot document.
pub struct Input {
    path: PathBuf,
    data: Data,
    decompressed: bool,
}

enum Data {
    Mapped(Mmap),
    Owned(Vec<u8>),
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
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .map_err(io("cannot read standard input"))?;
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
            let mut buf = Vec::new();
            file.read_to_end(&mut buf).map_err(io("cannot read"))?;
            return Self::from_bytes(path, buf);
        }
        if meta.len() == 0 {
            return Ok(Input {
                path: path.to_path_buf(),
                data: Data::Owned(Vec::new()),
                decompressed: false,
            });
        }
        // SAFETY: the map is read-only and private to this process. heapsnap never writes it; we assume
        // (as ripgrep does) that no other process truncates or rewrites the file while it is mapped.
        let map = unsafe { Mmap::map(&file) }.map_err(io("cannot memory-map"))?;
        if map.starts_with(&GZIP_MAGIC) {
            let mut buf = Vec::new();
            flate2::read::MultiGzDecoder::new(&map[..])
                .read_to_end(&mut buf)
                .map_err(io("cannot decompress gzip"))?;
            return Ok(Input {
                path: path.to_path_buf(),
                data: Data::Owned(buf),
                decompressed: true,
            });
        }
        #[cfg(unix)]
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Input {
            path: path.to_path_buf(),
            data: Data::Mapped(map),
            decompressed: false,
        })
    }

    /// Wrap bytes already in memory (gzip is detected and decompressed).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Input> {
        let decompressed = bytes.starts_with(&GZIP_MAGIC);
        let bytes = if decompressed {
            let mut buf = Vec::new();
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut buf)
                .map_err(|source| Error::Io {
                    path: path.to_path_buf(),
                    what: "cannot decompress gzip",
                    source,
                })?;
            buf
        } else {
            bytes
        };
        Ok(Input {
            path: path.to_path_buf(),
            data: Data::Owned(bytes),
            decompressed,
        })
    }

    /// The file's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The document's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Mapped(m) => m,
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
        if let Data::Mapped(m) = &self.data {
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
