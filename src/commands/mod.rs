//! One module per subcommand: each turns validated arguments into a report (a `Serialize` struct from
//! [`crate::report`]) and renders it. They share [`crate::app::load`].

pub mod diff;
pub mod nodes;
pub mod report;
pub mod retainers;
pub mod summary;
pub mod top;
pub mod tree;
