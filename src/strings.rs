//! The `strings` section: every JSON string decoded once into one contiguous buffer plus an offset table.
//!
//! V8 escapes every non-ASCII character as `\uXXXX`; a JS string may hold **lone surrogates**, which Bun (and
//! other engines writing this format) keep as `\ud800` escapes (V8 itself writes each byte of one as `?`). Such a
//! string is not valid Unicode: serde_json refuses it. We decode to WTF-8 (UTF-8 extended with the 3-byte
//! encoding of surrogates), so nothing is lost. Raw (unescaped) bytes must be valid UTF-8 and no raw control
//! character may appear.
//!
//! **Lone surrogates in `str`s.** A Rust `str` cannot hold a surrogate, so the text views ([`text`],
//! [`Strings::get`]) map the lone code unit `0xD800 + k` (k < 0x800) to the private-use character
//! `U+10F800 + k` ([`LONE_SURROGATE_BASE`]), the last 2,048 code points of plane 16. Two different lone surrogates
//! stay two different strings, so class keys and grouping equal DevTools' (which keeps the code unit), and the
//! mapping is undone on the way out: JSON output writes the character back as the `\ud800` escape
//! ([`crate::json`]), tables show it as `\u{d800}` ([`crate::report::text::escape`]). The caveat: a snapshot string
//! that really holds one of U+10F800..=U+10FFFF (private use, and the two noncharacters at the end of plane 16)
//! is indistinguishable from a lone surrogate afterwards and is written out as one.
//!
//! Cost: one sequential pass (`memchr2` for `"` and `\`), O(n) time; memory: the decoded bytes plus 8 bytes per
//! string. No allocation per string.

use std::borrow::Cow;
use std::ops::Range;

use crate::error::ParseError;
use crate::scan::show;

/// The decoded string table.
#[derive(Debug, Default, Clone)]
pub struct Strings {
    data: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is string `i`; `offsets.len() == len() + 1`.
    offsets: Vec<u64>,
}

impl Strings {
    /// Number of strings.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// True when there are no strings.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw WTF-8 bytes of string `i` (panics if out of range: indexes are validated at load).
    pub fn bytes(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// String `i` as text: borrowed when it is valid UTF-8, lone surrogates mapped as [`text`] does otherwise.
    pub fn get(&self, i: usize) -> Cow<'_, str> {
        text(self.bytes(i))
    }

    /// Append a string (WTF-8 bytes); returns its index.
    pub fn push_bytes(&mut self, b: &[u8]) -> u32 {
        self.data.extend_from_slice(b);
        self.offsets.push(self.data.len() as u64);
        (self.len() - 1) as u32
    }

    /// Index of the first string equal to `b` (linear scan).
    pub fn index_of(&self, b: &[u8]) -> Option<u32> {
        (0..self.len()).find(|&i| self.bytes(i) == b).map(|i| i as u32)
    }

    /// Build a table from Rust strings (tests, synthetic input).
    pub fn from_strs<S: AsRef<str>>(items: &[S]) -> Strings {
        let mut s = Strings {
            data: Vec::new(),
            offsets: vec![0],
        };
        for it in items {
            s.data.extend_from_slice(it.as_ref().as_bytes());
            s.offsets.push(s.data.len() as u64);
        }
        s
    }

    /// Decode the array whose value (brackets included) is `d[range]`.
    pub fn parse(d: &[u8], range: Range<usize>) -> Result<Strings, ParseError> {
        Self::parse_releasing(d, range, &|_| {})
    }

    /// [`Strings::parse`], handing the input already decoded to `release` in blocks of 8 MiB (a memory-mapped
    /// file's pages then leave resident memory as the decoded copy grows).
    pub fn parse_releasing(
        d: &[u8],
        range: Range<usize>,
        release: &(dyn Fn(Range<usize>) + Sync),
    ) -> Result<Strings, ParseError> {
        const BLOCK: usize = 8 << 20;
        let sec = "strings";
        let err = |at: usize, m: &str| ParseError::new(sec, at as u64, m.to_string());
        if range.len() < 2 || d[range.start] != b'[' || d[range.end - 1] != b']' {
            return Err(err(range.start, "expected an array of strings"));
        }
        let end = range.end - 1;
        let mut out = Strings {
            data: Vec::with_capacity(range.len()),
            offsets: vec![0],
        };
        let mut i = skip_ws(d, range.start + 1, end);
        if i == end {
            return Ok(out);
        }
        let mut released = range.start;
        loop {
            if i - released >= BLOCK {
                release(released..i);
                released = i;
            }
            if i >= end || d[i] != b'"' {
                return Err(err(
                    i,
                    &format!(
                        "expected a string, found {}",
                        if i < end { show(d[i]) } else { "`]`".into() }
                    ),
                ));
            }
            i = decode_one(d, i + 1, end, &mut out.data)?;
            out.offsets.push(out.data.len() as u64);
            i = skip_ws(d, i, end);
            if i == end {
                break;
            }
            if d[i] != b',' {
                return Err(err(i, &format!("expected `,` between strings, found {}", show(d[i]))));
            }
            i = skip_ws(d, i + 1, end);
        }
        out.data.shrink_to_fit();
        Ok(out)
    }
}

/// The private-use character that stands for the lone UTF-16 code unit `0xD800` in heapsnap's strings; the unit
/// `0xD800 + k` is `U+10F800 + k` (see the module docs).
pub const LONE_SURROGATE_BASE: u32 = 0x10_F800;

/// The character that stands for lone surrogate `unit` (`0xD800..=0xDFFF`; other units: `None`).
pub fn surrogate_char(unit: u16) -> Option<char> {
    (0xD800..=0xDFFF)
        .contains(&unit)
        .then(|| char::from_u32(LONE_SURROGATE_BASE + (unit as u32 - 0xD800)).expect("plane 16 is valid"))
}

/// The lone surrogate code unit that `c` stands for, when it is one of the private-use characters of
/// [`surrogate_char`].
#[inline]
pub fn lone_surrogate(c: char) -> Option<u16> {
    let v = c as u32;
    (v >= LONE_SURROGATE_BASE).then(|| (0xD800 + (v - LONE_SURROGATE_BASE)) as u16)
}

/// WTF-8 bytes as text: borrowed when they are valid UTF-8 (the common case, one validation pass); otherwise each
/// lone surrogate becomes its private-use character ([`surrogate_char`]), a high and a low surrogate that follow
/// each other (two strings joined) become the one character they encode, and any other invalid byte (not
/// something the decoder writes) becomes U+FFFD.
pub fn text(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(decode_wtf8(b)),
    }
}

/// [`text`] of an owned buffer, without a copy when it is valid UTF-8.
pub fn into_text(b: Vec<u8>) -> String {
    match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => decode_wtf8(e.as_bytes()),
    }
}

/// The surrogate that the 3-byte sequence at `b[0..3]` encodes, if it is one (`ED A0..BF 80..BF`).
fn surrogate_at(b: &[u8]) -> Option<u16> {
    match *b {
        [0xED, y @ 0xA0..=0xBF, z @ 0x80..=0xBF, ..] => Some(0xD000 | ((y as u16 & 0x3F) << 6) | (z as u16 & 0x3F)),
        _ => None,
    }
}

fn decode_wtf8(mut b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 4);
    while !b.is_empty() {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (good, rest) = b.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).expect("the valid prefix"));
                b = match surrogate_at(rest) {
                    Some(hi @ 0xD800..=0xDBFF) if matches!(surrogate_at(&rest[3..]), Some(0xDC00..=0xDFFF)) => {
                        let lo = surrogate_at(&rest[3..]).expect("matched above");
                        let cp = 0x10000 + (((hi as u32) - 0xD800) << 10) + (lo as u32 - 0xDC00);
                        out.push(char::from_u32(cp).expect("a surrogate pair encodes a valid char"));
                        &rest[6..]
                    }
                    Some(unit) => {
                        out.push(surrogate_char(unit).expect("a surrogate"));
                        &rest[3..]
                    }
                    None => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        &rest[e.error_len().unwrap_or(rest.len())..]
                    }
                };
            }
        }
    }
    out
}

fn skip_ws(d: &[u8], mut i: usize, end: usize) -> usize {
    while i < end && matches!(d[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

fn hex4(d: &[u8], i: usize, end: usize) -> Option<u16> {
    if i + 4 > end {
        return None;
    }
    let mut v: u16 = 0;
    for &b in &d[i..i + 4] {
        let x = (b as char).to_digit(16)? as u16;
        v = v << 4 | x;
    }
    Some(v)
}

fn push_code_point(out: &mut Vec<u8>, c: u32) {
    // Generalised UTF-8 (WTF-8): surrogates get the usual 3-byte form.
    if c < 0x80 {
        out.push(c as u8);
    } else if c < 0x800 {
        out.extend_from_slice(&[0xC0 | (c >> 6) as u8, 0x80 | (c & 0x3F) as u8]);
    } else if c < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (c >> 12) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (c >> 18) as u8,
            0x80 | ((c >> 12) & 0x3F) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]);
    }
}

/// Decode one string whose body starts at `d[i]` (just after the opening quote). Returns the index past the
/// closing quote.
fn decode_one(d: &[u8], mut i: usize, end: usize, out: &mut Vec<u8>) -> Result<usize, ParseError> {
    let sec = "strings";
    loop {
        let Some(p) = memchr::memchr2(b'"', b'\\', &d[i..end]) else {
            return Err(ParseError::new(sec, end as u64, "unterminated string"));
        };
        let raw = &d[i..i + p];
        if let Some(q) = raw.iter().position(|&b| b < 0x20) {
            return Err(ParseError::new(
                sec,
                (i + q) as u64,
                format!("raw control character 0x{:02x} in a string", raw[q]),
            ));
        }
        if let Err(e) = std::str::from_utf8(raw) {
            return Err(ParseError::new(
                sec,
                (i + e.valid_up_to()) as u64,
                "invalid UTF-8 in a string",
            ));
        }
        out.extend_from_slice(raw);
        i += p;
        if d[i] == b'"' {
            return Ok(i + 1);
        }
        // An escape.
        let at = i;
        let Some(&e) = d.get(i + 1).filter(|_| i + 1 < end) else {
            return Err(ParseError::new(sec, at as u64, "unterminated escape"));
        };
        i += 2;
        let simple = match e {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'u' => None,
            _ => {
                return Err(ParseError::new(
                    sec,
                    at as u64,
                    format!("invalid escape `\\{}`", e.escape_ascii()),
                ))
            }
        };
        if let Some(c) = simple {
            out.push(c);
            continue;
        }
        let Some(u) = hex4(d, i, end) else {
            return Err(ParseError::new(
                sec,
                at as u64,
                "invalid `\\u` escape (needs 4 hex digits)",
            ));
        };
        i += 4;
        let mut cp = u as u32;
        if (0xD800..0xDC00).contains(&u) && d.get(i) == Some(&b'\\') && d.get(i + 1) == Some(&b'u') {
            if let Some(lo) = hex4(d, i + 2, end) {
                if (0xDC00..0xE000).contains(&lo) {
                    cp = 0x10000 + ((u as u32 - 0xD800) << 10) + (lo as u32 - 0xDC00);
                    i += 6;
                }
            }
        }
        push_code_point(out, cp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Strings, ParseError> {
        Strings::parse(s.as_bytes(), 0..s.len())
    }

    #[test]
    fn decodes_escapes_pairs_and_lone_surrogates() {
        let s = parse(r#"[ "", "a\"b\\c\/\n", "\u00e9\u4e2d", "\ud83d\ude00", "x\ud800y", "\udfff" ]"#).unwrap();
        assert_eq!(s.len(), 6);
        assert_eq!(s.get(0), "");
        assert_eq!(s.get(1), "a\"b\\c/\n");
        assert_eq!(s.get(2), "é中");
        assert_eq!(s.get(3), "😀");
        assert_eq!(s.bytes(4), b"x\xED\xA0\x80y");
        assert_eq!(s.get(4), "x\u{10F800}y");
        assert_eq!(s.bytes(5), b"\xED\xBF\xBF");
        assert_eq!(s.get(5), "\u{10FFFF}");
        assert_eq!(parse("[]").unwrap().len(), 0);
    }

    #[test]
    fn lone_surrogates_map_to_plane_16_and_back() {
        for unit in [0xD800u16, 0xDBFF, 0xDC00, 0xDFFF] {
            let c = surrogate_char(unit).unwrap();
            assert_eq!(lone_surrogate(c), Some(unit));
        }
        assert_eq!(surrogate_char(0xD7FF), None);
        assert_eq!(surrogate_char(0xE000), None);
        assert_eq!(lone_surrogate('\u{10F7FF}'), None);
        assert_eq!(lone_surrogate('a'), None);
        // Reversed pair: two lone surrogates; a high then a low surrogate (two strings joined): the pair's char.
        let s = parse(r#"["\udc00\ud800", "a\ud83d", "\ude00b"]"#).unwrap();
        assert_eq!(s.get(0), "\u{10FC00}\u{10F800}");
        let joined = [s.bytes(1), s.bytes(2)].concat();
        assert_eq!(text(&joined), "a😀b");
        assert!(matches!(text(b"plain"), Cow::Borrowed("plain")));
        // Not something the decoder writes: an invalid byte is U+FFFD.
        assert_eq!(text(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(into_text(b"x\xED\xB0\x80".to_vec()), "x\u{10FC00}");
    }

    #[test]
    fn rejects_with_offsets() {
        assert_eq!(parse(r#"["a\q"]"#).unwrap_err().offset, 3);
        assert_eq!(parse(r#"["a\u12"]"#).unwrap_err().offset, 3);
        assert_eq!(parse("[\"a\nb\"]").unwrap_err().offset, 3);
        assert_eq!(parse(r#"["a" "b"]"#).unwrap_err().offset, 5);
        assert_eq!(parse(r#"["a",]"#).unwrap_err().offset, 5);
        assert_eq!(parse(r#"["abc"#).unwrap_err().section, "strings");
        let bad = b"[\"a\xff\"]";
        assert_eq!(Strings::parse(bad, 0..bad.len()).unwrap_err().offset, 3);
    }
}
