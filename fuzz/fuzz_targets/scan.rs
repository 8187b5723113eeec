//! Fuzz target `scan`: the top-level section scanner ([`heapsnap::scan::scan`]) on arbitrary bytes, then the
//! strict header parser ([`heapsnap::header::Header::parse`]) on the `snapshot` member when there is one.
//! Invariants: no panic; every member's value range lies inside the input and is non-empty; an error offset
//! is at most the input length.

#![no_main]

use heapsnap::header::Header;
use heapsnap::scan::scan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sections = match scan(data) {
        Ok(s) => s,
        Err(e) => {
            assert!(e.offset <= data.len() as u64, "error offset past the end: {e}");
            return;
        }
    };
    for (name, r) in &sections.members {
        assert!(
            r.start < r.end && r.end <= data.len(),
            "member {name:?} has range {r:?}"
        );
    }
    if let Some(r) = sections.get("snapshot") {
        if let Err(e) = Header::parse(&data[r.clone()], r.start as u64) {
            assert!(e.offset <= data.len() as u64, "header error offset past the end: {e}");
        }
    }
});
