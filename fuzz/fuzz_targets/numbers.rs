//! Fuzz target `numbers`: the flat numeric array parser ([`heapsnap::numbers`]) on `[` + body + `]`.
//!
//! The first input byte picks the record width (1..=8 fields) and the chunk size (1..=32 bytes, so the
//! chunk-boundary code runs on small input); the rest is the array body. Checks:
//! * `parse_flat` (1 MiB chunks) accepts exactly what serde_json accepts as a JSON array of integers that fit
//!   `u32`, written without `-`, `.`, `e` or `E` (heapsnap legitimately refuses `-0`, `1.0`, `1e2`, which
//!   serde_json reads as numbers), and then gives the same values;
//! * a plan with small chunks parses to the same values, or fails at the same offset with the same message;
//! * `ArrayPlan::expect`, `ArrayPlan::offset_of` and a multi-field parse never panic and agree with the flat
//!   values (record/field numbering).

#![no_main]

use std::sync::atomic::{AtomicU32, Ordering};

use heapsnap::numbers::{parse_flat, ArrayPlan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (ctl, body) = match data.split_first() {
        Some((&c, b)) => (c, b),
        None => (0, data),
    };
    let fields = (ctl & 7) as usize + 1;
    let chunk = (ctl >> 3) as usize + 1;
    let mut d = Vec::with_capacity(body.len() + 2);
    d.push(b'[');
    d.extend_from_slice(body);
    d.push(b']');
    let range = 0..d.len();
    let flat = parse_flat(&d, range.clone(), "nodes");

    // The oracle.
    let plain = !body.iter().any(|b| matches!(b, b'-' | b'.' | b'e' | b'E'));
    let serde: Option<Vec<u32>> = serde_json::from_slice::<Vec<serde_json::Value>>(&d).ok().and_then(|v| {
        v.iter()
            .map(|x| x.as_u64().and_then(|n| u32::try_from(n).ok()))
            .collect()
    });
    match (&flat, serde.filter(|_| plain)) {
        (Ok(a), Some(b)) => assert_eq!(a, &b, "parse_flat and serde_json disagree"),
        (Err(_), None) => {}
        (Ok(a), None) => panic!("parse_flat accepted what serde_json rejects (or reads as non-u32): {a:?}"),
        (Err(e), Some(b)) => panic!("parse_flat rejected the valid array {b:?}: {e}"),
    }
    if let Err(e) = &flat {
        assert!(e.offset <= d.len() as u64, "error offset past the end: {e}");
    }

    // Small chunks and several fields per record.
    let plan = match ArrayPlan::with_chunk_size(&d, range, "nodes", chunk) {
        Ok(p) => p,
        Err(e) => {
            assert!(flat.is_err(), "the plan failed on a valid array: {e}");
            return;
        }
    };
    let out: Vec<AtomicU32> = (0..plan.len).map(|_| AtomicU32::new(u32::MAX)).collect();
    let parsed = plan.parse(
        &d,
        fields,
        |r, f, v| {
            let i = r * fields + f;
            let slot = out
                .get(i)
                .ok_or_else(|| format!("record {r} field {f} past the {} values", plan.len))?;
            slot.store(v, Ordering::Relaxed);
            Ok(())
        },
        |_| {},
    );
    match (&flat, parsed) {
        (Ok(a), Ok(())) => {
            let b: Vec<u32> = out.into_iter().map(AtomicU32::into_inner).collect();
            assert_eq!(a, &b, "chunks of {chunk} bytes, {fields} fields: other values");
        }
        (Err(a), Err(b)) => assert_eq!(
            (a.offset, &a.message),
            (b.offset, &b.message),
            "chunks of {chunk} bytes: another error"
        ),
        (a, b) => panic!("chunks of {chunk} bytes: {b:?}, 1 MiB chunks: {a:?}"),
    }
    if plan.len % fields == 0 {
        assert_eq!(plan.expect(fields, None, "node", 0).ok(), Some(plan.len / fields));
    } else {
        assert!(plan.expect(fields, None, "node", 0).is_err());
    }
    for i in [0, plan.len / 2, plan.len.saturating_sub(1), plan.len] {
        assert!(plan.offset_of(&d, i) <= d.len() as u64);
    }
});
