//! Regression tests for problems found while fuzzing (`fuzz/`, see `fuzz/RESULTS.md`): each test embeds the
//! (minimised) input and pins the fixed behaviour: an error with section and offset instead of a panic, or a
//! bounded running time instead of a hang.

use std::fmt::Write;
use std::sync::mpsc;
use std::time::Duration;

use heapsnap::scan::scan;

/// Run `f` on another thread and fail if it takes longer than `secs` seconds (the thread is left behind).
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("{what} took more than {secs} s"))
}

/// The scanner compared every member name with all earlier ones (O(members²)): an object of 200 000 tiny
/// members (2.4 MB) took minutes, a 10 MB one hours.
#[test]
fn many_top_level_members_scan_in_linear_time() {
    let n = 200_000;
    let mut doc = String::from("{");
    for i in 0..n {
        write!(doc, "{}\"k{i}\":0", if i == 0 { "" } else { "," }).unwrap();
    }
    doc.push('}');
    let members = within(10, "scanning 200 000 members", move || {
        scan(doc.as_bytes()).map(|s| s.members.len())
    });
    assert_eq!(members.unwrap(), n);
    // Duplicates are still found, at the second one's value.
    let e = scan(br#"{"a":1,"b":2,"a":3}"#).unwrap_err();
    assert_eq!((e.section.as_str(), e.offset), ("a", 17));
    assert!(e.message.contains("appears twice"), "{e}");
}
