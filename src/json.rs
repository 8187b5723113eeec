//! JSON in and out with exact strings: every JSON heapsnap writes goes through [`to_writer_pretty`],
//! [`to_writer`] or [`to_string`], and JSON that may hold a snapshot's strings is read with [`from_str`].
//!
//! A JS string may hold lone surrogates (a property name `"\ud800"`); inside heapsnap they are private-use
//! characters (see [`crate::strings`]). serde_json would write such a character as it is, so the output would no
//! longer equal the snapshot's string, nor DevTools' output for it. [`Exact`] is a serde_json `Formatter` that
//! writes each of them back as the `\udXXX` escape (lowercase hex, as `JSON.stringify` writes it) and leaves every
//! other byte to the formatter it wraps; a surrogate pair (a valid astral character) is written as that character.
//! Reading does the reverse: serde_json refuses a lone `\udXXX` escape, so [`from_str`] first turns each one into
//! its private-use character (a copy only when the text has one).
//!
//! Cost: one `memchr` pass over each string written (for the lead byte `F4` of plane 16), one over text read.

use std::borrow::Cow;
use std::io::{self, Write};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

use crate::strings::{lone_surrogate, surrogate_char};

/// A formatter writing lone surrogates as `\udXXX` escapes; everything else as `F` does.
#[derive(Debug, Clone, Default)]
pub struct Exact<F>(pub F);

impl<F: Formatter> Formatter for Exact<F> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        // Plane 16 is the only one whose UTF-8 starts with F4: nothing to do in the common case.
        if memchr::memchr(0xF4, fragment.as_bytes()).is_none() {
            return self.0.write_string_fragment(w, fragment);
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if let Some(unit) = lone_surrogate(c) {
                self.0.write_string_fragment(w, &fragment[start..i])?;
                write!(w, "\\u{unit:04x}")?;
                start = i + c.len_utf8();
            }
        }
        self.0.write_string_fragment(w, &fragment[start..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Write `value` as pretty JSON (two-space indent, as `serde_json::to_writer_pretty`), strings exact.
pub fn to_writer_pretty<W: Write, T: Serialize + ?Sized>(w: W, value: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, Exact(PrettyFormatter::new()));
    value.serialize(&mut ser)
}

/// Write `value` as compact JSON, strings exact.
pub fn to_writer<W: Write, T: Serialize + ?Sized>(w: W, value: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, Exact(CompactFormatter));
    value.serialize(&mut ser)
}

/// `value` as compact JSON text, strings exact.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut v = Vec::new();
    to_writer(&mut v, value)?;
    Ok(String::from_utf8(v).expect("serde_json writes UTF-8"))
}

/// `value` as pretty JSON text, strings exact.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut v = Vec::new();
    to_writer_pretty(&mut v, value)?;
    Ok(String::from_utf8(v).expect("serde_json writes UTF-8"))
}

/// Parse JSON that may hold lone `\udXXX` escapes (DevTools' output, heapsnap's own): each becomes its
/// private-use character first ([`lone_escapes_to_chars`]).
pub fn from_str<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str(&lone_escapes_to_chars(text))
}

/// [`from_str`] on bytes (which must be UTF-8).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        <serde_json::Error as serde::de::Error>::custom(format!("invalid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    from_str(text)
}

/// JSON text with every lone `\udXXX` escape (a surrogate escape not part of a high-low pair) replaced by its
/// private-use character; pairs and every other escape are left alone. Borrowed when there is none.
pub fn lone_escapes_to_chars(text: &str) -> Cow<'_, str> {
    let b = text.as_bytes();
    let unit_at = |i: usize| -> Option<u16> {
        let h = b.get(i..i + 6)?;
        if h[0] != b'\\' || h[1] != b'u' {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&h[2..]).ok()?, 16).ok()
    };
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'\\', &b[i..]) {
        let at = i + p;
        match unit_at(at) {
            Some(0xD800..=0xDBFF) if matches!(unit_at(at + 6), Some(0xDC00..=0xDFFF)) => i = at + 12,
            Some(u @ 0xD800..=0xDFFF) => {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                o.push_str(&text[copied..at]);
                o.push(surrogate_char(u).expect("a surrogate"));
                copied = at + 6;
                i = at + 6;
            }
            Some(_) => i = at + 6,
            // Any other escape is two characters (`\\` included, so a `\` that it escapes is not read again).
            None => i = at + 2,
        }
        if i >= b.len() {
            break;
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_are_written_as_escapes() {
        let v = vec!["a\u{10F800}b".to_string(), "\u{10FFFF}".into(), "😀 \u{10F7FF}".into()];
        // U+10F7FF is below the block: written as it is.
        assert_eq!(to_string(&v).unwrap(), "[\"a\\ud800b\",\"\\udfff\",\"😀 \u{10F7FF}\"]");
        let mut m = std::collections::BTreeMap::new();
        m.insert("k\u{10FC00}", 1);
        assert_eq!(to_string_pretty(&m).unwrap(), "{\n  \"k\\udc00\": 1\n}");
    }

    #[test]
    fn lone_escapes_are_read_back() {
        let text = r#"["a\ud800b", "\uD83D\uDE00", "\udc00\ud800", "\\ud800", "x\ud83d", "\ud83d\n"]"#;
        let v: Vec<String> = from_str(text).unwrap();
        assert_eq!(
            v,
            [
                "a\u{10F800}b",
                "😀",
                "\u{10FC00}\u{10F800}",
                "\\ud800",
                "x\u{10F83D}",
                "\u{10F83D}\n"
            ]
        );
        assert_eq!(
            to_string(&v).unwrap(),
            r#"["a\ud800b","😀","\udc00\ud800","\\ud800","x\ud83d","\ud83d\n"]"#
        );
        assert!(matches!(lone_escapes_to_chars(r#"["\u00e9\\"]"#), Cow::Borrowed(_)));
    }
}
