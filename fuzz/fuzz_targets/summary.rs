//! Fuzz target `summary`: the whole path behind `heapsnap summary` on arbitrary bytes:
//! [`heapsnap::Snapshot::from_bytes`] -> [`heapsnap::Analysis::new`] -> `commands::summary::build_summary`
//! (class rows, retained sizes, statistics, sorting) -> rendering in every format. An `Err` is fine; a panic,
//! a hang or an unbounded allocation is not.

#![no_main]

use heapsnap::commands::summary::build_summary;
use heapsnap::report::{Format, Render};
use heapsnap::{Analysis, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(snap) = Snapshot::from_bytes(data) else {
        return;
    };
    let Ok(an) = Analysis::new(snap) else {
        return;
    };
    let report = build_summary(&an, "fuzz", None, None, None);
    let t = &report.totals;
    assert_eq!(
        t.shallow_size + t.extra_native_bytes,
        t.total_size,
        "rows do not add up to the total"
    );
    for f in [Format::Table, Format::Json, Format::Markdown] {
        report.write(f, &mut std::io::sink()).expect("writing to a sink");
    }
});
