//! heapsnap: analyze V8 heap snapshots with Chrome DevTools' numbers, fast.
//!
//! The pipeline, in the order [`analysis::Analysis::new`] runs it (mirroring DevTools'
//! `HeapSnapshot.initialize()`):
//! open ([`input`]) -> scan sections ([`scan`]) -> parse numbers || strings, locations ([`numbers`], [`strings`]) into
//! columns ([`snapshot`]) -> graph and retainers ([`graph`]) -> DevTools semantics: detachedness, shallow-size
//! reattribution, page-owned nodes, distances, class keys ([`devtools`]) -> aggregations ([`summary`]) ->
//! report -> render ([`report`]).

pub mod analysis;
pub mod app;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod devtools;
pub mod diff;
pub mod dominators;
pub mod error;
pub mod graph;
pub mod header;
pub mod input;
pub mod json;
pub mod locality;
pub mod man;
pub mod names;
pub mod numbers;
pub mod paths;
pub mod record;
pub mod report;
pub mod rules;
pub mod scan;
pub mod schema;
mod sigbus;
pub mod snapshot;
pub mod sniff;
pub mod strings;
pub mod summary;
pub mod timing;

pub use analysis::Analysis;
pub use error::{Error, Result};
pub use snapshot::Snapshot;

#[cfg(not(target_pointer_width = "64"))]
compile_error!("heapsnap needs a 64-bit target (bitsets use 64-bit blocks, snapshots exceed 4 GiB)");
