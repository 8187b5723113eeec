//! Recognising the JSON files people give heapsnap by mistake, before the snapshot scanner reads them: a CPU
//! profile (`.cpuprofile`), a sampling heap profile (`.heapprofile`), a Performance-panel trace, or any other
//! JSON. Each is named in the error, with what to record instead. A heap snapshot with allocation traces
//! (`.heaptimeline`, DevTools' "Allocation instrumentation on timeline") is a heap snapshot and passes.
//!
//! Only the first top-level member's name and the first byte of its value are read: O(1) in the file size.

use crate::error::ParseError;

/// What to record instead, said after every mistake.
const RECORD_INSTEAD: &str = "record a heap snapshot instead (DevTools' Memory panel > Heap snapshot, \
    `node --heapsnapshot-signal=SIGUSR2`, or `v8.writeHeapSnapshot()`)";

/// `Err` naming what `d` is when it is JSON but plainly not a heap snapshot; `Ok` when it may be one (the
/// scanner then checks it byte by byte).
pub fn check(d: &[u8]) -> Result<(), ParseError> {
    let Some(what) = foreign_format(d) else {
        return Ok(());
    };
    Err(ParseError::new(
        "document",
        0,
        format!("this is {what}, not a heap snapshot; {RECORD_INSTEAD}"),
    ))
}

/// What `d` is when its first member says it is not a heap snapshot.
pub fn foreign_format(d: &[u8]) -> Option<&'static str> {
    let d = d.strip_prefix(b"\xef\xbb\xbf").unwrap_or(d);
    let mut i = skip_ws(d, 0);
    match d.get(i)? {
        b'[' => return Some("a JSON array (a trace's event list?; a heap snapshot starts with `{`)"),
        b'{' => i += 1,
        _ => return None,
    }
    i = skip_ws(d, i);
    if d.get(i) != Some(&b'"') {
        return None;
    }
    let end = i + 1 + memchr::memchr(b'"', d.get(i + 1..)?)?;
    let key = &d[i + 1..end];
    let mut j = skip_ws(d, end + 1);
    if d.get(j) != Some(&b':') {
        return None;
    }
    j = skip_ws(d, j + 1);
    let value = *d.get(j)?;
    let next = d.get(skip_ws(d, j + 1)).copied();
    match (key, value, next) {
        // `{"nodes":[{"id":1,"callFrame":…` (a heap snapshot's `nodes` holds numbers).
        (b"nodes", b'[', Some(b'{')) => Some("a CPU profile (.cpuprofile)"),
        (b"head", b'{', _) => Some("a sampling heap profile (.heapprofile)"),
        (b"traceEvents", _, _) | (b"metadata", _, _) => Some("a Performance-panel trace"),
        (b"snapshot" | b"nodes" | b"edges" | b"strings" | b"locations" | b"samples", _, _) => None,
        (b"trace_function_infos" | b"trace_tree", _, _) => None,
        _ => Some("JSON whose first member is not one of a heap snapshot's"),
    }
}

fn skip_ws(d: &[u8], mut i: usize) -> usize {
    while d.get(i).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_and_traces_are_named() {
        assert_eq!(
            foreign_format(br#"{"nodes":[{"id":1,"callFrame":{}}],"startTime":1}"#),
            Some("a CPU profile (.cpuprofile)")
        );
        assert_eq!(
            foreign_format(br#" {"head":{"callFrame":{}},"samples":[]}"#),
            Some("a sampling heap profile (.heapprofile)")
        );
        assert_eq!(
            foreign_format(br#"{"traceEvents":[]}"#),
            Some("a Performance-panel trace")
        );
        assert!(foreign_format(br#"[{"ph":"X"}]"#).unwrap().starts_with("a JSON array"));
        assert!(foreign_format(br#"{"name":"my-package","version":"1.0.0"}"#).is_some());
    }

    #[test]
    fn snapshots_pass_whatever_their_member_order() {
        assert_eq!(foreign_format(br#"{"snapshot":{"meta":{}}}"#), None);
        assert_eq!(foreign_format(b"\xef\xbb\xbf {\n \"strings\" : [\"\"]}"), None);
        assert_eq!(foreign_format(br#"{"nodes":[0,1,2]}"#), None);
        assert_eq!(foreign_format(br#"{"nodes":[]}"#), None);
        // Not JSON at all: left to the scanner, which says where.
        assert_eq!(foreign_format(b"\x00\x00"), None);
        assert_eq!(foreign_format(b""), None);
    }
}
