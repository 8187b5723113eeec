//! Typed errors of the library.
//!
//! Every error caused by bad input names the file, the section of the snapshot (`nodes`, `edges`, `strings`,
//! `snapshot.meta`, ...) and the byte offset where the problem was seen, so a user can open the file at that
//! place. Offsets of gzip input are offsets into the decompressed stream, and the message says so.
//! The binary maps every variant to exit code 2.

use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while reading or analysing a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened, mapped or read. The underlying error is the [`source`](std::error::Error::source)
    /// (shown by `{:#}` through anyhow), not repeated in this message.
    #[error("{path}: {what}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The content is not a valid heap snapshot.
    #[error("{path}: section `{section}`, byte {offset}{gz}: {message}", gz = if *.decompressed { " (of the decompressed stream)" } else { "" })]
    Format {
        /// The file.
        path: PathBuf,
        /// Top-level section (or `document` outside any section).
        section: String,
        /// Byte offset from the start of the (decompressed) file.
        offset: u64,
        /// True when the input was gzip and the offset counts decompressed bytes.
        decompressed: bool,
        /// What is wrong.
        message: String,
    },
    /// The file grew or was rewritten while it was being read (its length or modification time changed between
    /// opening it and the end of the load): typically a snapshot that is still being written.
    #[error("{path}: the file changed while it was being read (still being written?)")]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// A request that does not fit the snapshot (unknown node id, bad class name, ...).
    #[error("{0}")]
    Request(String),
}

/// A format error before the file name is known: the loader's inner functions return it and
/// [`ParseError::in_file`] attaches the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Top-level section.
    pub section: String,
    /// Byte offset from the start of the document.
    pub offset: u64,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// A new error in `section` at `offset`.
    pub fn new(section: impl Into<String>, offset: u64, message: impl Into<String>) -> Self {
        ParseError {
            section: section.into(),
            offset,
            message: message.into(),
        }
    }

    /// Attach the file's path.
    pub fn in_file(self, path: impl Into<PathBuf>, decompressed: bool) -> Error {
        Error::Format {
            path: path.into(),
            section: self.section,
            offset: self.offset,
            decompressed,
            message: self.message,
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "section `{}`, byte {}: {}", self.section, self.offset, self.message)
    }
}
