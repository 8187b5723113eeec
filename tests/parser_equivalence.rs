//! The hand-written parsers equal serde_json, and the parallel pipeline does not depend on the thread count.
//!
//! * `numbers::parse_flat` vs `serde_json::from_slice::<Vec<u32>>`: random arrays with random JSON whitespace,
//!   arrays over 2 MB (several 1 MiB chunks) with tricky chunk boundaries, and mutated/invalid input: whatever
//!   serde_json rejects (or holds a value that is not a u32) is an `Err`, never a panic, and the first error in
//!   file order is reported whatever the thread count.
//! * `strings::Strings::parse` vs `serde_json::from_slice::<Vec<String>>` on random Unicode (escapes, `\u`
//!   escapes in either case, surrogate pairs, raw non-ASCII) and on mutated input.
//! * Every fixture: the `nodes`, `edges`, `locations` and `strings` sections found by `scan::scan` parse to
//!   exactly what serde_json gives (strings as bytes: serde_json's byte path keeps lone surrogates as WTF-8, as
//!   ours does; its `String` path refuses them).
//! * Every fixture loaded and analysed in a 1-thread and a 4-thread rayon pool gives identical columns,
//!   adjusted self sizes, distances, dominators, retained sizes, classes and Summary rows.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use heapsnap::numbers::parse_flat;
use heapsnap::strings::Strings;
use heapsnap::{Analysis, Snapshot};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------------------------
// Helpers.

/// JSON whitespace tokens used between array tokens.
const WS: &[&str] = &["", " ", "\n", "\r\n", "\t", "  "];

fn ws() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WS), 0..3).prop_map(|v| v.concat())
}

fn flat(t: &[u8]) -> Result<Vec<u32>, heapsnap::error::ParseError> {
    parse_flat(t, 0..t.len(), "nodes")
}

/// A JSON string as serde_json decodes it into bytes: WTF-8, lone surrogates kept.
struct Wtf8(Vec<u8>);

impl<'de> serde::Deserialize<'de> for Wtf8 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Wtf8;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Wtf8, E> {
                Ok(Wtf8(b.to_vec()))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Wtf8, E> {
                Ok(Wtf8(s.as_bytes().to_vec()))
            }
        }
        d.deserialize_bytes(V)
    }
}

fn serde_u32(t: &[u8]) -> Option<Vec<u32>> {
    serde_json::from_slice::<Vec<u32>>(t).ok()
}

/// The value's range: `t` without leading and trailing JSON whitespace (the parsers take the value itself).
fn value_range(t: &[u8]) -> std::ops::Range<usize> {
    let ws = |b: &u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    let start = t.iter().position(|b| !ws(b)).unwrap_or(t.len());
    let end = t.iter().rposition(|b| !ws(b)).map_or(start, |e| e + 1);
    start..end
}

/// A digit run of two or more digits starting with `0` (JSON forbids leading zeros).
fn has_leading_zero(t: &[u8]) -> bool {
    t.iter().enumerate().any(|(i, &b)| {
        b == b'0' && (i == 0 || !t[i - 1].is_ascii_digit()) && t.get(i + 1).is_some_and(u8::is_ascii_digit)
    })
}

/// Splitmix64, for the large deterministic inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `[v0, v1, ...]` with random whitespace, at least `min_bytes` long; returns the text and the values.
fn big_array(seed: u64, min_bytes: usize) -> (Vec<u8>, Vec<u32>) {
    let mut r = Rng(seed);
    let mut t = Vec::with_capacity(min_bytes + 64);
    let mut vals = Vec::new();
    t.push(b'[');
    while t.len() < min_bytes {
        if !vals.is_empty() {
            t.push(b',');
        }
        t.extend_from_slice(WS[r.below(WS.len() as u64) as usize].as_bytes());
        let v = match r.below(4) {
            0 => r.below(10) as u32,
            1 => r.below(100_000) as u32,
            2 => u32::MAX - r.below(3) as u32,
            _ => r.next() as u32,
        };
        vals.push(v);
        t.extend_from_slice(v.to_string().as_bytes());
        t.extend_from_slice(WS[r.below(WS.len() as u64) as usize].as_bytes());
    }
    t.push(b']');
    (t, vals)
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers.

fn u32_values() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..10, 0u32..100_000, (u32::MAX - 2)..=u32::MAX, any::<u32>()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn numbers_equal_serde(items in prop::collection::vec((u32_values(), ws(), ws()), 0..200), open in ws()) {
        let mut t = String::from("[");
        t.push_str(&open);
        for (i, (v, a, b)) in items.iter().enumerate() {
            if i > 0 {
                t.push(',');
            }
            t.push_str(a);
            t.push_str(&v.to_string());
            t.push_str(b);
        }
        t.push(']');
        let want: Vec<u32> = items.iter().map(|x| x.0).collect();
        prop_assert_eq!(serde_u32(t.as_bytes()), Some(want.clone()));
        prop_assert_eq!(flat(t.as_bytes()).map_err(|e| e.to_string()), Ok(want));
    }

    #[test]
    fn mutated_numbers_agree_with_serde(
        items in prop::collection::vec(u32_values(), 0..20),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(
            &b"-.eE+0123456789 ,[]\"x\t\n\r\x00\x0b\xff{}:"[..])), 1..4),
    ) {
        let mut t: Vec<u8> = serde_json::to_vec(&items).unwrap();
        for (at, op, b) in edits {
            let i = at.index(t.len() + 1);
            match op {
                0 => t.insert(i, b),
                1 if i < t.len() => { t.remove(i); }
                _ if i < t.len() => t[i] = b,
                _ => t.push(b),
            }
        }
        let r = value_range(&t);
        let ours = if r.len() >= 2 { parse_flat(&t, r, "nodes").ok() } else { None };
        let theirs = serde_u32(&t);
        match (&ours, &theirs) {
            // Accepting anything serde rejects (bar leading zeros, pinned by their own test), or other values,
            // is a bug.
            (Some(o), None) => prop_assert!(has_leading_zero(&t), "accepted {:?} as {:?}; serde rejects", String::from_utf8_lossy(&t), o),
            (Some(o), Some(s)) => prop_assert_eq!(o, s),
            // serde accepts some non-canonical numbers our strict parser refuses (`-0`); nothing else.
            (None, Some(s)) => prop_assert!(t.contains(&b'-'), "rejected {:?}; serde gives {:?}", String::from_utf8_lossy(&t), s),
            (None, None) => {}
        }
    }
}

#[test]
fn numbers_edge_cases() {
    for ok in [
        "[]",
        "[ ]",
        "[\r\n]",
        "[0]",
        "[4294967295]",
        "[ 1 ,\t2\r\n,3 ]",
        "[\n0\n]",
    ] {
        assert_eq!(
            flat(ok.as_bytes()).unwrap(),
            serde_u32(ok.as_bytes()).unwrap(),
            "{ok:?}"
        );
    }
    for bad in [
        "[4294967296]",
        "[99999999999999999999999]",
        "[-1]",
        "[-0]",
        "[1.0]",
        "[1e3]",
        "[+1]",
        "[1,]",
        "[,1]",
        "[,]",
        "[1 2]",
        "[1,,2]",
        "[\"1\"]",
        "[null]",
        "[true]",
        "[[1]]",
        "[1\x0b]",
        "[\u{a0}1]",
        "[0x10]",
        "[1]]",
        "[[1]",
        "[",
        "]",
        "",
        "1",
        "{}",
    ] {
        let r = std::panic::catch_unwind(|| flat(bad.as_bytes()));
        assert!(matches!(r, Ok(Err(_))), "{bad:?} must be an error, got {r:?}");
    }
}

/// JSON forbids leading zeros (`[01]`, `[00]`); serde_json rejects them, so must `parse_flat`.
#[test]
fn leading_zeros_are_rejected_like_serde() {
    for bad in ["[01]", "[00]", "[1,007]", "[0000000000000000000001]"] {
        assert!(serde_u32(bad.as_bytes()).is_none(), "{bad}");
        assert!(
            flat(bad.as_bytes()).is_err(),
            "{bad:?} is not JSON but parse_flat accepts it as {:?}",
            flat(bad.as_bytes())
        );
    }
}

#[test]
fn multi_chunk_arrays_equal_serde() {
    for (seed, size) in [(1, 2_200_000), (2, 3_500_000), (3, (1 << 20) + 1), (4, 5 << 20)] {
        let (t, vals) = big_array(seed, size);
        assert!(t.len() >= size);
        let theirs = serde_u32(&t).unwrap();
        assert_eq!(theirs, vals);
        for threads in [1, 4] {
            let ours = pool(threads).install(|| flat(&t)).unwrap();
            assert!(ours == vals, "seed {seed}, {threads} threads: values differ");
        }
    }
}

#[test]
fn chunk_boundaries() {
    const MIB: usize = 1 << 20;
    let check_ok = |t: &[u8], what: &str| {
        let want = serde_u32(t).unwrap_or_else(|| panic!("{what}: serde rejects"));
        for threads in [1, 4] {
            let got = pool(threads).install(|| flat(t));
            assert!(
                got.as_ref().ok() == Some(&want),
                "{what} ({threads} threads): {:?}",
                got.err()
            );
        }
    };
    let check_err = |t: &[u8], what: &str, offset: Option<u64>| {
        assert!(serde_u32(t).is_none(), "{what}: serde accepts");
        for threads in [1, 4] {
            let got = pool(threads).install(|| std::panic::catch_unwind(|| flat(t)));
            match got {
                Ok(Err(e)) => {
                    if let Some(o) = offset {
                        assert_eq!(e.offset, o, "{what} ({threads} threads): {e}");
                    }
                }
                other => panic!("{what} ({threads} threads): expected an error, got {other:?}"),
            }
        }
    };
    // A whitespace run longer than a chunk, with no comma inside.
    let mut t = b"[1,".to_vec();
    t.resize(t.len() + 3 * MIB / 2, b' ');
    t.extend_from_slice(b"2,\n3]");
    check_ok(&t, "long whitespace run");
    // Only whitespace, more than two chunks: an empty array.
    let mut t = b"[".to_vec();
    t.resize(2 * MIB + 10, b'\n');
    t.push(b']');
    check_ok(&t, "empty with 2 MiB of whitespace");
    // ... a single value after it.
    let mut t = b"[".to_vec();
    t.resize(2 * MIB + 10, b'\t');
    t.extend_from_slice(b"42 ]");
    check_ok(&t, "one value after 2 MiB of whitespace");
    // A long number across the 1 MiB cut: every position of the cut inside `4294967295`.
    for shift in 0..12 {
        let mut t = b"[".to_vec();
        while t.len() < MIB - 12 + shift {
            t.extend_from_slice(b"7,");
        }
        t.extend_from_slice(b"4294967295,4294967295,1]");
        check_ok(&t, &format!("number across the cut (shift {shift})"));
    }
    // Values of varying widths so that the comma after the cut moves; trailing whitespace after the last value.
    let (mut t, _) = big_array(9, 2 * MIB + 3);
    t.pop();
    t.extend_from_slice(&vec![b' '; MIB + 5]);
    t.push(b']');
    check_ok(&t, "trailing whitespace chunk");

    // Errors. A trailing comma followed by more than a chunk of whitespace (the last chunk holds no value).
    let (mut t, _) = big_array(10, 2 * MIB);
    t.pop();
    t.push(b',');
    t.extend_from_slice(&vec![b' '; MIB + 7]);
    t.push(b']');
    check_err(&t, "trailing comma then a whitespace chunk", Some(t.len() as u64 - 1));
    // A trailing comma right before `]` in a multi-chunk array.
    let (mut t, _) = big_array(11, 2 * MIB);
    let last = t.len() - 1;
    t.insert(last, b',');
    check_err(&t, "trailing comma", None);
    // `,,` where the first comma ends a chunk.
    for shift in 0..4 {
        let mut t = b"[".to_vec();
        while t.len() < MIB + shift {
            t.extend_from_slice(b"5,");
        }
        let at = t.len();
        t.extend_from_slice(b",6]");
        check_err(
            &t,
            &format!("double comma near the cut (shift {shift})"),
            Some(at as u64),
        );
    }
    // Several bad values in different chunks: the first in file order is reported, whatever the threads.
    let (mut t, _) = big_array(12, 4 * MIB);
    let comma_after = |t: &[u8], from: usize| from + t[from..].iter().position(|&b| b == b',').unwrap() + 1;
    let a = comma_after(&t, 3 * MIB);
    t.insert(a, b'-');
    let b = comma_after(&t, MIB + MIB / 2);
    t.splice(b..b, b"4294967296".iter().copied());
    let c = comma_after(&t, 2 * MIB + 100);
    t.insert(c, b'x');
    check_err(&t, "first of several errors", Some(b as u64));
    // No value fits in u32 even with many digits, in a later chunk.
    let (mut t, _) = big_array(13, 2 * MIB);
    let a = comma_after(&t, MIB + 17);
    t.splice(a..a, b"123456789012345678901234567890,".iter().copied());
    check_err(&t, "overflow in a later chunk", Some(a as u64));
}

// ---------------------------------------------------------------------------------------------------------------
// Strings.

/// Encode one string as a JSON string token, each character written raw or escaped as chosen by `choice`.
fn encode(s: &str, choice: &mut impl FnMut() -> u8) -> String {
    let mut o = String::from("\"");
    let hex = |o: &mut String, u: u16, upper: bool| {
        if upper {
            o.push_str(&format!("\\u{u:04X}"));
        } else {
            o.push_str(&format!("\\u{u:04x}"));
        }
    };
    for c in s.chars() {
        let k = choice();
        let upper = k & 4 != 0;
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let must_escape = c == '"' || c == '\\' || (c as u32) < 0x20;
        match (k % 3, short) {
            (0, _) if !must_escape => o.push(c),
            (1, Some(sh)) => o.push_str(sh),
            _ => {
                let mut buf = [0u16; 2];
                for &u in c.encode_utf16(&mut buf).iter() {
                    hex(&mut o, u, upper);
                }
            }
        }
    }
    o.push('"');
    o
}

fn unicode_strings() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r#"[a-z"\\/\n\r\t\x00-\x1f\x7féü中😀🍣\x{FFFF}\x{10FFFF}\x{D7FF}\x{E000}]{0,12}"#,
    ]
}

fn strings_text(items: &[(String, u64, String, String)], open: &str) -> String {
    let mut t = String::from("[");
    t.push_str(open);
    for (i, (s, seed, a, b)) in items.iter().enumerate() {
        if i > 0 {
            t.push(',');
        }
        t.push_str(a);
        let mut r = Rng(*seed);
        t.push_str(&encode(s, &mut || r.below(256) as u8));
        t.push_str(b);
    }
    t.push(']');
    t
}

fn our_strings(t: &[u8]) -> Option<Vec<Vec<u8>>> {
    let r = value_range(t);
    if r.len() < 2 {
        return None;
    }
    let s = Strings::parse(t, r).ok()?;
    Some((0..s.len()).map(|i| s.bytes(i).to_vec()).collect())
}

/// A `\uD800`-`\uDFFF` escape somewhere (our decoder accepts lone surrogates by design; serde_json does not).
fn has_surrogate_escape(t: &[u8]) -> bool {
    t.windows(4)
        .any(|w| w[0] == b'u' && matches!(w[1], b'd' | b'D') && matches!(w[2], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn strings_equal_serde(items in prop::collection::vec((unicode_strings(), any::<u64>(), ws(), ws()), 0..16), open in ws()) {
        let t = strings_text(&items, &open);
        let theirs: Vec<String> = serde_json::from_str(&t).map_err(|e| TestCaseError::fail(format!("{e}: {t}")))?;
        let want: Vec<&str> = items.iter().map(|x| x.0.as_str()).collect();
        prop_assert_eq!(&theirs, &want, "the test's encoder is wrong");
        let ours = Strings::parse(t.as_bytes(), 0..t.len()).map_err(|e| TestCaseError::fail(format!("{e:?}: {t}")))?;
        prop_assert_eq!(ours.len(), theirs.len());
        for (i, s) in theirs.iter().enumerate() {
            prop_assert_eq!(ours.get(i), s.as_str());
            prop_assert_eq!(ours.bytes(i), s.as_bytes());
        }
    }

    #[test]
    fn mutated_strings_agree_with_serde(
        items in prop::collection::vec((unicode_strings(), any::<u64>(), ws(), ws()), 1..6),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(
            &b"\"\\,[] \nux0Dd\x01\x1f\xff\xc3\xa9\xed\xa0"[..])), 1..4),
    ) {
        let mut t = strings_text(&items, "").into_bytes();
        for (at, op, b) in edits {
            let i = at.index(t.len() + 1);
            match op {
                0 => t.insert(i, b),
                1 if i < t.len() => { t.remove(i); }
                _ if i < t.len() => t[i] = b,
                _ => t.push(b),
            }
        }
        let ours = std::panic::catch_unwind(|| our_strings(&t)).map_err(|_| TestCaseError::fail(format!("panic on {t:?}")))?;
        let theirs: Option<Vec<String>> = serde_json::from_slice(&t).ok();
        match (&ours, &theirs) {
            (Some(o), Some(s)) => {
                let s: Vec<&[u8]> = s.iter().map(|x| x.as_bytes()).collect();
                prop_assert_eq!(o, &s);
            }
            (Some(_), None) => prop_assert!(has_surrogate_escape(&t), "accepted {:?}; serde rejects", String::from_utf8_lossy(&t)),
            (None, Some(s)) => prop_assert!(false, "rejected {:?}; serde gives {:?}", String::from_utf8_lossy(&t), s),
            (None, None) => {}
        }
    }
}

#[test]
fn strings_edge_cases() {
    for ok in [
        r#"[]"#,
        r#"[ ]"#,
        r#"[""]"#,
        r#"["\u00e9\u00E9", "\uD83D\uDE00\ud83c\udf63", "a\/b", "\u0000"]"#,
        "[\"\u{7f}\", \"é\"]",
    ] {
        let theirs: Vec<String> = serde_json::from_str(ok).unwrap();
        let ours = our_strings(ok.as_bytes()).unwrap_or_else(|| panic!("{ok}"));
        let theirs: Vec<Vec<u8>> = theirs.into_iter().map(String::into_bytes).collect();
        assert_eq!(ours, theirs, "{ok}");
    }
    for bad in [
        r#"["a"#,
        r#"["a\"]"#,
        r#"["\x"]"#,
        r#"["\u12"]"#,
        r#"["\u12g4"]"#,
        r#"[1]"#,
        r#"["a",]"#,
        r#"[,"a"]"#,
        r#"["a""b"]"#,
        "[\"\t\"]",
        "[\"\x01\"]",
        "[\"a\"",
        "[",
        "]",
        "",
    ] {
        let b = bad.as_bytes();
        let r = std::panic::catch_unwind(|| our_strings(b));
        assert!(matches!(r, Ok(None)), "{bad:?} must be an error, got {r:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures.

fn fixture_paths() -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(d).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else {
                let name = p.file_name().unwrap().to_string_lossy();
                if name.ends_with(".heapsnapshot") || name.ends_with(".heapsnapshot.gz") {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"), &mut out);
    assert!(out.len() >= 8, "fixtures not found");
    out
}

/// Every fixture, decompressed (read once per test binary).
fn fixtures() -> &'static [(PathBuf, Vec<u8>)] {
    static F: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    F.get_or_init(|| {
        use rayon::prelude::*;
        fixture_paths()
            .into_par_iter()
            .map(|p| {
                let raw = std::fs::read(&p).unwrap();
                let d = if raw.starts_with(&[0x1f, 0x8b]) {
                    let mut d = Vec::new();
                    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut d).unwrap();
                    d
                } else {
                    raw
                };
                (p, d)
            })
            .collect()
    })
}

#[test]
fn fixture_sections_equal_serde() {
    for (p, d) in fixtures() {
        let name = p.display();
        let sec = heapsnap::scan::scan(d).unwrap();
        for s in ["nodes", "edges", "locations"] {
            let Some(r) = sec.get(s) else {
                assert_ne!(s, "nodes", "{name}");
                assert_ne!(s, "edges", "{name}");
                continue;
            };
            let theirs: Vec<u32> = serde_json::from_slice(&d[r.clone()]).unwrap_or_else(|e| panic!("{name} {s}: {e}"));
            let ours = parse_flat(d, r, s).unwrap_or_else(|e| panic!("{name} {s}: {e}"));
            assert!(ours == theirs, "{name}: section {s} differs");
        }
        let r = sec.get("strings").unwrap();
        let theirs: Vec<Wtf8> = serde_json::from_slice(&d[r.clone()]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = Strings::parse(d, r).unwrap();
        assert_eq!(ours.len(), theirs.len(), "{name}");
        for (i, s) in theirs.iter().enumerate() {
            assert_eq!(ours.bytes(i), s.0, "{name}: string {i}");
        }
    }
}

/// The loaded columns (records cut across 1 MiB chunks, fields routed by meta) equal serde's flat arrays.
#[test]
fn fixture_columns_equal_serde() {
    for (p, d) in fixtures() {
        let name = p.display();
        let sec = heapsnap::scan::scan(d).unwrap();
        let nodes: Vec<u32> = serde_json::from_slice(&d[sec.get("nodes").unwrap()]).unwrap();
        let edges: Vec<u32> = serde_json::from_slice(&d[sec.get("edges").unwrap()]).unwrap();
        let s = Snapshot::from_bytes(d).unwrap();
        let h = &s.header;
        let (nf, ef) = (h.node_field_count, h.edge_field_count);
        assert_eq!(s.node_count() * nf, nodes.len(), "{name}");
        assert_eq!(s.edge_count() * ef, edges.len(), "{name}");
        for (i, r) in nodes.chunks_exact(nf).enumerate() {
            assert_eq!(s.node_type[i] as u32, r[h.node_type], "{name}: type of node {i}");
            assert_eq!(s.node_name[i], r[h.node_name], "{name}: name of node {i}");
            assert_eq!(s.node_id[i], r[h.node_id], "{name}: id of node {i}");
            assert_eq!(s.node_self[i], r[h.node_self_size], "{name}: self of node {i}");
            assert_eq!(
                s.edges(i as u32).len() as u32,
                r[h.node_edge_count],
                "{name}: edges of node {i}"
            );
            if let Some(f) = h.node_detachedness {
                assert_eq!(s.node_detachedness[i] as u32, r[f], "{name}: detachedness of node {i}");
            }
        }
        for (e, r) in edges.chunks_exact(ef).enumerate() {
            assert_eq!(s.edge_type(e) as u32, r[h.edge_type], "{name}: type of edge {e}");
            assert_eq!(s.edge_name[e], r[h.edge_name], "{name}: name of edge {e}");
            assert_eq!(
                s.edge_to(e) as usize * nf,
                r[h.edge_to] as usize,
                "{name}: target of edge {e}"
            );
        }
        assert_eq!(s.root as u64 * nf as u64, h.root_index);
    }
}

#[test]
fn one_thread_equals_four_threads() {
    let (p1, p4) = (pool(1), pool(4));
    for (p, d) in fixtures() {
        let name = p.display();
        let run = |pool: &rayon::ThreadPool| {
            pool.install(|| {
                let an = Analysis::new(Snapshot::from_bytes(d).unwrap()).unwrap();
                let rows = heapsnap::summary::class_rows(&an, Some(&an.class_retained()));
                // The summary's load (its DFS may wait for the WeakMap pair names made on the other side of a
                // join, its class retained sizes come from another pass), twice side by side: equal to the
                // plain load, and no deadlock with one thread or nested in a join.
                let (x, y) = rayon::join(
                    || Analysis::for_summary(Snapshot::from_bytes(d).unwrap()).unwrap(),
                    || Analysis::for_summary(Snapshot::from_bytes(d).unwrap()).unwrap(),
                );
                for fast in [x, y] {
                    assert!(fast.dom.idom == an.dom.idom, "{name}: idom of the summary's load");
                    let fast_rows = heapsnap::summary::class_rows(&fast, Some(&fast.class_retained()));
                    assert_eq!(
                        serde_json::to_value(&fast_rows).unwrap(),
                        serde_json::to_value(&rows).unwrap(),
                        "{name}: rows of the summary's load"
                    );
                }
                (an, rows)
            })
        };
        let (a, ra) = run(&p1);
        let (b, rb) = run(&p4);
        let (sa, sb) = (&a.snap, &b.snap);
        assert_eq!(sa.root, sb.root, "{name}");
        assert!(sa.node_type == sb.node_type, "{name}: node_type");
        assert!(sa.node_name == sb.node_name, "{name}: node_name");
        assert!(sa.node_id == sb.node_id, "{name}: node_id");
        assert!(sa.node_self == sb.node_self, "{name}: node_self (adjusted)");
        assert!(
            sa.node_detachedness == sb.node_detachedness,
            "{name}: detachedness column"
        );
        assert!(sa.first_edge == sb.first_edge, "{name}: first_edge");
        assert!(
            (0..sa.edge_count()).all(|e| sa.edge_type(e) == sb.edge_type(e)),
            "{name}: edge_type"
        );
        assert!(sa.edge_name == sb.edge_name, "{name}: edge_name");
        assert!(
            (0..sa.edge_count()).all(|e| sa.edge_to(e) == sb.edge_to(e)),
            "{name}: edge_to"
        );
        assert_eq!(sa.locations, sb.locations, "{name}: locations");
        assert_eq!(sa.strings.len(), sb.strings.len(), "{name}");
        assert!(
            (0..sa.strings.len()).all(|i| sa.strings.bytes(i) == sb.strings.bytes(i)),
            "{name}: strings"
        );
        assert!(a.detached == b.detached, "{name}: detached nodes");
        assert!(a.page_owned == b.page_owned, "{name}: page_owned");
        assert!(a.essential == b.essential, "{name}: essential edges");
        assert!(a.distance() == b.distance(), "{name}: distance");
        assert!(a.dom.idom == b.dom.idom, "{name}: idom");
        assert!(a.dom.retained == b.dom.retained, "{name}: retained");
        assert!(
            (0..sa.node_count() as u32).all(|v| a.dom.children(v) == b.dom.children(v)),
            "{name}: dominator children"
        );
        assert!(a.classes.of_node == b.classes.of_node, "{name}: classes");
        assert_eq!(a.classes.table, b.classes.table, "{name}: class table");
        assert_eq!(a.interfaces, b.interfaces, "{name}: interfaces");
        assert_eq!(ra, rb, "{name}: summary rows");
        assert!(!ra.is_empty());
    }
}
