//! Fuzz target `strings`: the string-table decoder ([`heapsnap::strings::Strings::parse`]) on `[` + data + `]`,
//! checked against serde_json twice:
//! * as `Vec<String>`: when serde_json accepts (valid UTF-8, no lone surrogate), the decoded bytes are exactly
//!   serde_json's strings;
//! * as byte strings (serde_json's `deserialize_bytes`, which decodes lone surrogates to WTF-8 as heapsnap
//!   does): heapsnap accepts exactly what serde_json accepts, with the same bytes, except for raw invalid UTF-8
//!   and raw control characters inside a string, which serde_json's byte strings let through and heapsnap
//!   refuses (as JSON does): such input must be an error.

#![no_main]

use heapsnap::strings::Strings;
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, Error, Visitor};

/// A JSON string read as bytes (WTF-8 for lone surrogates); anything else is an error.
struct Wtf8(Vec<u8>);

impl<'de> Deserialize<'de> for Wtf8 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Wtf8;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Wtf8, E> {
                Ok(Wtf8(v.to_vec()))
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<Wtf8, E> {
                Ok(Wtf8(v.as_bytes().to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// Whether a raw control character (below 0x20) stands inside a string literal: serde_json's byte strings let
/// it through, heapsnap (like JSON and serde_json's `String`) refuses it.
fn raw_control_in_string(d: &[u8]) -> bool {
    let (mut inside, mut escaped) = (false, false);
    for &b in d {
        if inside && b < 0x20 {
            return true;
        }
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'"' => inside = !inside,
            b'\\' if inside => escaped = true,
            _ => {}
        }
    }
    false
}

fuzz_target!(|data: &[u8]| {
    let mut d = Vec::with_capacity(data.len() + 2);
    d.push(b'[');
    d.extend_from_slice(data);
    d.push(b']');
    let ours = Strings::parse(&d, 0..d.len());
    if let Err(e) = &ours {
        assert!(e.offset <= d.len() as u64, "error offset past the end: {e}");
        assert_eq!(e.section, "strings");
    }
    let decoded = |s: &Strings| (0..s.len()).map(|i| s.bytes(i).to_vec()).collect::<Vec<_>>();

    if let Ok(v) = serde_json::from_slice::<Vec<String>>(&d) {
        let s = ours
            .as_ref()
            .expect("serde_json accepts these strings, heapsnap must too");
        let want: Vec<Vec<u8>> = v.into_iter().map(String::into_bytes).collect();
        assert_eq!(decoded(s), want);
    }

    let bytes = serde_json::from_slice::<Vec<Wtf8>>(&d);
    if std::str::from_utf8(data).is_err() || raw_control_in_string(data) {
        assert!(
            ours.is_err(),
            "heapsnap accepted raw invalid UTF-8 or a raw control character"
        );
        return;
    }
    match (&ours, bytes) {
        (Ok(s), Ok(v)) => {
            let want: Vec<Vec<u8>> = v.into_iter().map(|b| b.0).collect();
            assert_eq!(decoded(s), want, "heapsnap and serde_json decode differently");
        }
        (Err(_), Err(_)) => {}
        (Ok(s), Err(e)) => panic!("heapsnap accepted what serde_json rejects ({e}): {:?}", decoded(s)),
        (Err(e), Ok(_)) => panic!("heapsnap rejected what serde_json accepts: {e}"),
    }
});
