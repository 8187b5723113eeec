//! The top-level section scanner.
//!
//! A heap snapshot is one JSON object whose members are `snapshot` (the header), the big flat arrays `nodes`,
//! `edges`, `locations`, `samples`, ..., and `strings`. The scanner walks the top level once and records the byte
//! range of every member's value, without assuming an order, whitespace or line breaks (older V8 writes one
//! record per line, newer one section per line). Members it does not know are skipped and kept by name.
//!
//! Cost: O(n) over the file, one pass. Numeric arrays are skipped with `memchr` for `]` (they cannot contain
//! brackets; their content is validated later by the number parser), strings with `memchr2` for `"` and `\`;
//! only unknown nested values take the generic byte-by-byte skip.

use std::ops::Range;

use crate::error::ParseError;

/// The byte ranges of the top-level members. Ranges cover the whole value, brackets or braces included.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    /// Every member, in file order: (name, value range).
    pub members: Vec<(String, Range<usize>)>,
}

/// Members whose value is a flat array of non-negative integers.
const NUMERIC: &[&str] = &["nodes", "edges", "locations", "samples", "trace_function_infos"];

impl Sections {
    /// The value range of member `name`, if present.
    pub fn get(&self, name: &str) -> Option<Range<usize>> {
        self.members.iter().find(|(n, _)| n == name).map(|(_, r)| r.clone())
    }

    /// The value range of a member that must be present.
    pub fn require(&self, name: &str, len: usize) -> Result<Range<usize>, ParseError> {
        self.get(name).ok_or_else(|| {
            ParseError::new(
                name,
                len as u64,
                format!("the snapshot has no top-level `{name}` member"),
            )
        })
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

fn skip_ws(d: &[u8], mut i: usize) -> usize {
    while i < d.len() && is_ws(d[i]) {
        i += 1;
    }
    i
}

/// Scan the top-level object of `d`.
pub fn scan(d: &[u8]) -> Result<Sections, ParseError> {
    let doc = "document";
    if d.is_empty() {
        return Err(ParseError::new(doc, 0, "the file is empty"));
    }
    let mut i = skip_ws(d, 0);
    // A UTF-8 byte order mark is tolerated.
    if d[i..].starts_with(&[0xEF, 0xBB, 0xBF]) {
        i = skip_ws(d, i + 3);
    }
    if i >= d.len() || d[i] != b'{' {
        return Err(ParseError::new(
            doc,
            i as u64,
            "not JSON: a heap snapshot starts with `{`",
        ));
    }
    i += 1;
    let mut out = Sections::default();
    loop {
        i = skip_ws(d, i);
        if i >= d.len() {
            return Err(ParseError::new(
                doc,
                i as u64,
                "unexpected end of file: the top-level object is not closed",
            ));
        }
        if d[i] == b'}' && out.members.is_empty() {
            i += 1;
            break;
        }
        if d[i] != b'"' {
            return Err(ParseError::new(
                doc,
                i as u64,
                format!("expected a member name, found {}", show(d[i])),
            ));
        }
        let key_end = skip_string(d, i).map_err(|off| ParseError::new(doc, off as u64, "unterminated member name"))?;
        let key = String::from_utf8_lossy(&d[i + 1..key_end - 1]).into_owned();
        i = skip_ws(d, key_end);
        if i >= d.len() || d[i] != b':' {
            return Err(ParseError::new(
                doc,
                i as u64,
                format!("expected `:` after member name `{key}`"),
            ));
        }
        i = skip_ws(d, i + 1);
        let start = i;
        let end = if NUMERIC.contains(&key.as_str()) && d.get(i) == Some(&b'[') {
            match memchr::memchr(b']', &d[i..]) {
                Some(p) => i + p + 1,
                None => {
                    return Err(ParseError::new(
                        &key,
                        d.len() as u64,
                        "unexpected end of file: the array is not closed",
                    ))
                }
            }
        } else {
            skip_value(d, i).map_err(|(off, msg)| ParseError::new(&key, off as u64, msg))?
        };
        if out.members.iter().any(|(n, _)| *n == key) {
            return Err(ParseError::new(
                &key,
                start as u64,
                format!("the member `{key}` appears twice"),
            ));
        }
        out.members.push((key, start..end));
        i = skip_ws(d, end);
        match d.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {
                i += 1;
                break;
            }
            Some(&b) => {
                return Err(ParseError::new(
                    doc,
                    i as u64,
                    format!("expected `,` or `}}` after a member, found {}", show(b)),
                ))
            }
            None => {
                return Err(ParseError::new(
                    doc,
                    i as u64,
                    "unexpected end of file: the top-level object is not closed",
                ))
            }
        }
    }
    let rest = skip_ws(d, i);
    if rest < d.len() && d[rest] != 0 {
        return Err(ParseError::new(
            doc,
            rest as u64,
            "unexpected data after the top-level object",
        ));
    }
    if rest < d.len() {
        return Err(ParseError::new(doc, rest as u64, "NUL byte after the top-level object"));
    }
    Ok(out)
}

/// Printable form of a byte for messages.
pub(crate) fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// `d[i]` is `"`: return the index just past the closing quote, or the offset where the file ended.
pub(crate) fn skip_string(d: &[u8], i: usize) -> Result<usize, usize> {
    let mut j = i + 1;
    loop {
        match memchr::memchr2(b'"', b'\\', &d[j..]) {
            None => return Err(d.len()),
            Some(p) => {
                j += p;
                if d[j] == b'\\' {
                    j += 2;
                    if j > d.len() {
                        return Err(d.len());
                    }
                } else {
                    return Ok(j + 1);
                }
            }
        }
    }
}

/// Skip one JSON value starting at `d[i]` (no leading whitespace). Returns the index just past it.
/// Checks structure (balanced brackets, terminated strings), not the grammar of scalars.
fn skip_value(d: &[u8], i: usize) -> Result<usize, (usize, String)> {
    let eof = |at: usize| (at, "unexpected end of file inside this section".to_string());
    match d.get(i) {
        None => Err(eof(i)),
        Some(b'"') => skip_string(d, i).map_err(eof),
        Some(b'[') | Some(b'{') => {
            let mut stack: Vec<u8> = Vec::with_capacity(16);
            let mut j = i;
            while j < d.len() {
                match d[j] {
                    b'"' => {
                        j = skip_string(d, j).map_err(eof)?;
                        continue;
                    }
                    b'[' => stack.push(b']'),
                    b'{' => stack.push(b'}'),
                    c @ (b']' | b'}') => {
                        if stack.pop() != Some(c) {
                            return Err((j, format!("unbalanced `{}`", c as char)));
                        }
                        if stack.is_empty() {
                            return Ok(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            Err(eof(d.len()))
        }
        Some(_) => {
            let mut j = i;
            while j < d.len() && !matches!(d[j], b',' | b'}' | b']') && !is_ws(d[j]) {
                j += 1;
            }
            if j == i {
                return Err((i, format!("expected a value, found {}", show(d[i]))));
            }
            Ok(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sections_in_any_order_and_layout() {
        let doc = b" {\"strings\":[\"a\",\"b]\\\"\"],\n\"nodes\" : [1,2,\n3] ,\"x\":{\"y\":[1,{}]},\"snapshot\":{}}\n";
        let s = scan(doc).unwrap();
        let names: Vec<_> = s.members.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["strings", "nodes", "x", "snapshot"]);
        assert_eq!(&doc[s.get("nodes").unwrap()], b"[1,2,\n3]");
        assert_eq!(&doc[s.get("strings").unwrap()], b"[\"a\",\"b]\\\"\"]");
        assert_eq!(&doc[s.get("x").unwrap()], b"{\"y\":[1,{}]}");
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(scan(b"").unwrap_err().offset, 0);
        assert_eq!(scan(b"  [1]").unwrap_err().offset, 2);
        let e = scan(b"{\"nodes\":[1,2").unwrap_err();
        assert_eq!(e.section, "nodes");
        let e = scan(b"{\"a\":1,\"a\":2}").unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
        let e = scan(b"{\"a\":1} x").unwrap_err();
        assert_eq!(e.offset, 8);
    }
}
