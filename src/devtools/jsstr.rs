//! JavaScript string semantics on WTF-8 bytes: UTF-16 length and ordering, `JSON.stringify` quoting and
//! `parseInt`, as DevTools' engine (which works on JS strings) applies them.

use std::cmp::Ordering;

/// Iterate the UTF-16 code units of WTF-8 bytes (lone surrogates come back as themselves).
pub fn utf16_units(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    let mut i = 0;
    let mut pending: Option<u16> = None;
    std::iter::from_fn(move || {
        if let Some(p) = pending.take() {
            return Some(p);
        }
        let &c = b.get(i)?;
        let (cp, len) = if c < 0x80 {
            (c as u32, 1)
        } else if c < 0xE0 && i + 1 < b.len() {
            (((c as u32 & 0x1F) << 6) | (b[i + 1] as u32 & 0x3F), 2)
        } else if c < 0xF0 && i + 2 < b.len() {
            (
                ((c as u32 & 0x0F) << 12) | ((b[i + 1] as u32 & 0x3F) << 6) | (b[i + 2] as u32 & 0x3F),
                3,
            )
        } else if i + 3 < b.len() {
            (
                ((c as u32 & 0x07) << 18)
                    | ((b[i + 1] as u32 & 0x3F) << 12)
                    | ((b[i + 2] as u32 & 0x3F) << 6)
                    | (b[i + 3] as u32 & 0x3F),
                4,
            )
        } else {
            (0xFFFD, 1)
        };
        i += len;
        if cp >= 0x10000 {
            let v = cp - 0x10000;
            pending = Some(0xDC00 | (v & 0x3FF) as u16);
            Some(0xD800 | (v >> 10) as u16)
        } else {
            Some(cp as u16)
        }
    })
}

/// `s.length` in JS.
pub fn utf16_len(b: &[u8]) -> usize {
    if b.is_ascii() {
        return b.len();
    }
    utf16_units(b).count()
}

/// JS string comparison (`<` on strings, `Array.prototype.sort` default order): by UTF-16 code units.
pub fn cmp(a: &[u8], b: &[u8]) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    utf16_units(a).cmp(utf16_units(b))
}

/// `JSON.stringify(s)` (well-formed: lone surrogates escaped), as WTF-8 -> String.
pub fn json_quote(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    let units: Vec<u16> = utf16_units(b).collect();
    let mut k = 0;
    while k < units.len() {
        let u = units[k];
        match u {
            0x22 => out.push_str("\\\""),
            0x5C => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x0C => out.push_str("\\f"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0..=0x1F => out.push_str(&format!("\\u{u:04x}")),
            0xD800..=0xDBFF if k + 1 < units.len() && (0xDC00..=0xDFFF).contains(&units[k + 1]) => {
                let cp = 0x10000 + (((u as u32) - 0xD800) << 10) + (units[k + 1] as u32 - 0xDC00);
                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                k += 1;
            }
            0xD800..=0xDFFF => out.push_str(&format!("\\u{u:04x}")),
            _ => out.push(char::from_u32(u as u32).unwrap_or('\u{FFFD}')),
        }
        k += 1;
    }
    out.push('"');
    out
}

/// `parseInt(s, 10)`: leading whitespace, optional sign, then decimal digits; `None` for NaN.
pub fn parse_int(b: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(b).ok()?.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    let v: i64 = digits.parse().unwrap_or(i64::MAX);
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_semantics() {
        assert_eq!(utf16_len("a😀é".as_bytes()), 4);
        // U+FF5E sorts after U+1F600 by code point but before it by UTF-16 units.
        assert_eq!(cmp("\u{FF5E}".as_bytes(), "😀".as_bytes()), Ordering::Greater);
        assert_eq!(cmp(b"B", b"a"), Ordering::Less);
        assert_eq!(json_quote(b"a,\"b\\\n"), "\"a,\\\"b\\\\\\n\"");
        assert_eq!(json_quote(b"x\xED\xA0\x80"), "\"x\\ud800\"");
        assert_eq!(parse_int(b" 12ab"), Some(12));
        assert_eq!(parse_int(b"-3"), Some(-3));
        assert_eq!(parse_int(b"x"), None);
    }
}
