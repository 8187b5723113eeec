//! The top-level section scanner.
//!
//! A heap snapshot is one JSON object whose members are `snapshot` (the header), the big flat arrays `nodes`,
//! `edges`, `locations`, `samples`, ..., and `strings`. The scanner walks the top level once and records the byte
//! range of every member's value, without assuming an order, whitespace or line breaks (older V8 writes one
//! record per line, newer one section per line). Members it does not know are skipped and kept by name.
//!
//! Cost: O(n) over the file, one pass. Numeric arrays are skipped with `memchr3` for `]`, `"` and `[` (the last
//! two cannot appear in them: finding one first means the array's `]` is missing, reported right there; the
//! numbers are validated later by the number parser), strings with `memchr2` for `"` and `\`; only unknown nested
//! values take the generic byte-by-byte skip, which checks structure, not scalars. The small `snapshot` header is
//! also checked strictly against the JSON grammar (`check_json`).

use std::ops::Range;

use rayon::prelude::*;

use crate::error::ParseError;

/// The byte ranges of the top-level members. Ranges cover the whole value, brackets or braces included.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    /// Every member, in file order: (name, value range).
    pub members: Vec<(String, Range<usize>)>,
    /// The commas of each numeric array, counted block by block while its `]` was searched for (the number
    /// parser's plan is made from them, without another pass over the array).
    pub commas: Vec<(String, Vec<BlockCommas>)>,
}

/// The commas of one block of a numeric array's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockCommas {
    /// The block's first byte.
    pub start: usize,
    /// Position of the block's first comma.
    pub first: Option<usize>,
    /// Number of commas in the block.
    pub count: usize,
}

/// Members whose value is a flat array of non-negative integers.
const NUMERIC: &[&str] = &["nodes", "edges", "locations", "samples", "trace_function_infos"];

impl Sections {
    /// The comma counts of numeric member `name`, if it was scanned as one.
    pub fn commas(&self, name: &str) -> Option<&[BlockCommas]> {
        self.commas.iter().find(|(n, _)| n == name).map(|(_, c)| c.as_slice())
    }

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
    scan_releasing(d, &|_| {})
}

/// Scan the top-level object of `d`, calling `release(range)` on the parts of numeric arrays already
/// searched (so a memory-mapped file's pages need not all stay resident between the scan and the parse).
pub fn scan_releasing(d: &[u8], release: &(dyn Fn(Range<usize>) + Sync)) -> Result<Sections, ParseError> {
    let doc = "document";
    if d.is_empty() {
        return Err(ParseError::new(doc, 0, "the file is empty"));
    }
    let mut i = skip_ws(d, 0);
    // A UTF-8 byte order mark is tolerated.
    if d[i..].starts_with(&[0xEF, 0xBB, 0xBF]) {
        i = skip_ws(d, i + 3);
    }
    if d.starts_with(&[0xFF, 0xFE]) || d.starts_with(&[0xFE, 0xFF]) {
        // What PowerShell's `>` and `Out-File` write.
        return Err(ParseError::new(
            doc,
            0,
            "the file is UTF-16 text (it starts with a UTF-16 byte order mark); heap snapshots are UTF-8 JSON",
        ));
    }
    if i >= d.len() || d[i] != b'{' {
        return Err(ParseError::new(
            doc,
            i as u64,
            "not JSON: a heap snapshot starts with `{`",
        ));
    }
    let obj = Object {
        section: doc,
        what: "the top-level object",
        numeric: NUMERIC,
        value_section: None,
        release: Some(release),
    };
    let (members, end, commas) = obj.members_counted(d, i)?;
    let rest = skip_ws(d, end);
    if rest < d.len() && d[rest] != 0 {
        return Err(ParseError::new(
            doc,
            rest as u64,
            format!("unexpected data after the top-level object: {}", show(d[rest])),
        ));
    }
    if rest < d.len() {
        return Err(ParseError::new(doc, rest as u64, "NUL byte after the top-level object"));
    }
    Ok(Sections { members, commas })
}

/// An object's members in file order: (name, value range).
pub(crate) type Members = Vec<(String, Range<usize>)>;

/// How the members of one JSON object are scanned.
pub(crate) struct Object<'a> {
    /// Section named by errors in the object's own structure (names, `:`, `,`, braces).
    pub section: &'a str,
    /// The object in messages ("the top-level object").
    pub what: &'a str,
    /// Members whose array value is a flat numeric array, skipped with `memchr`.
    pub numeric: &'a [&'a str],
    /// Section named by errors inside a member's value; `None`: the member's own name.
    pub value_section: Option<&'a str>,
    /// Called with the parts of numeric arrays already searched.
    pub release: Option<&'a (dyn Fn(Range<usize>) + Sync)>,
}

impl Object<'_> {
    /// The members of the object whose `{` is `d[open]`, in order, with their value ranges (absolute in `d`), and
    /// the index just past the closing `}`. A member name appearing twice is an error.
    pub(crate) fn members(&self, d: &[u8], open: usize) -> Result<(Members, usize), ParseError> {
        self.members_counted(d, open).map(|(m, end, _)| (m, end))
    }

    /// [`Object::members`], with the comma counts of the numeric members.
    #[allow(clippy::type_complexity)]
    fn members_counted(
        &self,
        d: &[u8],
        open: usize,
    ) -> Result<(Members, usize, Vec<(String, Vec<BlockCommas>)>), ParseError> {
        let sec = self.section;
        let mut commas = Vec::new();
        let not_closed = |at: usize| {
            ParseError::new(
                sec,
                at as u64,
                format!("unexpected end of file: {} is not closed", self.what),
            )
        };
        let mut i = open + 1;
        let mut out: Members = Vec::new();
        // Names seen so far: the duplicate test must not compare each name with all earlier ones (O(n²) on an
        // object of many small members).
        let mut seen: rustc_hash::FxHashSet<String> = rustc_hash::FxHashSet::default();
        loop {
            i = skip_ws(d, i);
            if i >= d.len() {
                return Err(not_closed(i));
            }
            if d[i] == b'}' && out.is_empty() {
                return Ok((out, i + 1, commas));
            }
            if d[i] != b'"' {
                let msg = if d[i] == b'}' {
                    "expected a member name after `,`, found `}` (trailing comma)".to_string()
                } else {
                    format!("expected a member name, found {}", show(d[i]))
                };
                return Err(ParseError::new(sec, i as u64, msg));
            }
            let key_end =
                skip_string(d, i).map_err(|off| ParseError::new(sec, off as u64, "unterminated member name"))?;
            let key = String::from_utf8_lossy(&d[i + 1..key_end - 1]).into_owned();
            let vsec = self.value_section.unwrap_or(&key).to_string();
            i = skip_ws(d, key_end);
            if i >= d.len() {
                return Err(not_closed(i));
            }
            if d[i] != b':' {
                return Err(ParseError::new(
                    sec,
                    i as u64,
                    format!("expected `:` after member name `{key}`, found {}", show(d[i])),
                ));
            }
            i = skip_ws(d, i + 1);
            let start = i;
            let end = if self.numeric.contains(&key.as_str()) && d.get(i) == Some(&b'[') {
                let (end, blocks) =
                    skip_numeric(d, i, self.release).map_err(|(off, msg)| ParseError::new(&vsec, off as u64, msg))?;
                commas.push((key.clone(), blocks));
                end
            } else {
                skip_value(d, i, self.release).map_err(|(off, msg)| ParseError::new(&vsec, off as u64, msg))?
            };
            if !seen.insert(key.clone()) {
                return Err(ParseError::new(
                    &vsec,
                    start as u64,
                    format!("the member `{key}` appears twice"),
                ));
            }
            out.push((key, start..end));
            i = skip_ws(d, end);
            match d.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => return Ok((out, i + 1, commas)),
                Some(&b) => {
                    return Err(ParseError::new(
                        sec,
                        i as u64,
                        format!("expected `,` or `}}` after a member, found {}", show(b)),
                    ))
                }
                None => return Err(not_closed(i)),
            }
        }
    }
}

/// `d[i]` is the `[` of a flat numeric array: return the index just past its `]`, and the commas of the body
/// block by block. Only `]`, `"` and `[` are searched for (SIMD); the last two cannot appear in a numeric array
/// and mean its `]` is missing (the next member's name follows) or that it nests. The numbers themselves are
/// checked later by the number parser. The search goes in blocks, each also counting its commas while in cache;
/// each block searched without a match is handed to `release`.
fn skip_numeric(
    d: &[u8],
    i: usize,
    release: Option<&(dyn Fn(Range<usize>) + Sync)>,
) -> Result<(usize, Vec<BlockCommas>), (usize, String)> {
    // Waves of blocks searched in parallel; the first block (in file order) with a match decides.
    const BLOCK: usize = 1 << 20;
    const WAVE: usize = 32;
    // One pass: the first comma found, then the rest counted.
    let count = |r: Range<usize>| {
        let mut commas = memchr::memchr_iter(b',', &d[r.clone()]);
        let first = commas.next().map(|p| r.start + p);
        BlockCommas {
            start: r.start,
            first,
            count: usize::from(first.is_some()) + commas.count(),
        }
    };
    let mut blocks_seen: Vec<BlockCommas> = Vec::new();
    let mut from = i + 1;
    let found = loop {
        let blocks: Vec<Range<usize>> = (0..WAVE)
            .map(|k| (from + k * BLOCK).min(d.len())..(from + (k + 1) * BLOCK).min(d.len()))
            .filter(|b| !b.is_empty())
            .collect();
        let Some(to) = blocks.last().map(|b| b.end) else {
            break None;
        };
        let hits: Vec<(Option<usize>, BlockCommas)> = blocks
            .par_iter()
            .map(|b| {
                let hit = memchr::memchr3(b']', b'"', b'[', &d[b.clone()]).map(|p| b.start + p);
                let commas = count(b.start..hit.unwrap_or(b.end));
                if let (None, Some(r)) = (hit, release) {
                    r(b.clone());
                }
                (hit, commas)
            })
            .collect();
        let mut hit = None;
        for (h, c) in hits {
            blocks_seen.push(c);
            if h.is_some() {
                hit = h;
                break;
            }
        }
        if let Some(p) = hit {
            break Some(p - (i + 1));
        }
        from = to;
    };
    match found {
        Some(p) if d[i + 1 + p] == b']' => Ok((i + 1 + p + 1, blocks_seen)),
        Some(p) => Err((
            i + 1 + p,
            format!(
                "unexpected {} in a numeric array (is the array's `]` missing?)",
                show(d[i + 1 + p])
            ),
        )),
        None => Err((d.len(), "unexpected end of file: the array is not closed".into())),
    }
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
/// `release`, when given, gets the parts of a big array or object already skipped (the `strings` section
/// can be most of a file), in blocks of 8 MiB.
fn skip_value(d: &[u8], i: usize, release: Option<&(dyn Fn(Range<usize>) + Sync)>) -> Result<usize, (usize, String)> {
    const BLOCK: usize = 8 << 20;
    let eof = |at: usize| (at, "unexpected end of file inside this section".to_string());
    match d.get(i) {
        None => Err(eof(i)),
        Some(b'"') => skip_string(d, i).map_err(eof),
        Some(b'[') | Some(b'{') => {
            let mut stack: Vec<u8> = Vec::with_capacity(16);
            let mut j = i;
            let mut released = i;
            while j < d.len() {
                if let Some(r) = release {
                    if j - released >= BLOCK {
                        r(released..j);
                        released = j;
                    }
                }
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

/// Check that `d[start..]` begins with one complete JSON value, strictly (RFC 8259: string escapes, UTF-8, no raw
/// control characters, the number grammar, `true`/`false`/`null`); return the index just past it. Errors carry the
/// offset of the offending byte. Iterative (no recursion, whatever the nesting). Used for the small header, where
/// a damaged byte must not go unnoticed even in members heapsnap does not read.
pub(crate) fn check_json(d: &[u8], start: usize) -> Result<usize, (usize, String)> {
    let closing = |open: u8| if open == b'{' { b'}' } else { b']' };
    let mut stack: Vec<u8> = Vec::new();
    let mut i = start;
    loop {
        // A value is expected at `i`.
        i = skip_ws(d, i);
        let Some(&c) = d.get(i) else {
            return Err((i, "unexpected end of file: expected a value".into()));
        };
        match c {
            b'{' | b'[' => {
                let j = skip_ws(d, i + 1);
                if d.get(j) == Some(&closing(c)) {
                    i = j + 1;
                } else {
                    stack.push(c);
                    i = if c == b'{' { check_key(d, j)? } else { j };
                    continue;
                }
            }
            b'"' => i = check_string(d, i)?,
            b'-' | b'0'..=b'9' => i = check_number(d, i)?,
            b't' | b'f' | b'n' => {
                let word: &[u8] = match c {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                let n = d[i..].iter().zip(word).take_while(|(a, b)| a == b).count();
                if n < word.len() {
                    return Err((i + n, format!("invalid literal (expected `{}`)", word.escape_ascii())));
                }
                i += n;
            }
            _ => return Err((i, format!("expected a value, found {}", show(c)))),
        }
        // A value ended at `i`: close containers until the next value or the end.
        loop {
            let Some(&open) = stack.last() else {
                return Ok(i);
            };
            i = skip_ws(d, i);
            match d.get(i) {
                Some(b',') => {
                    i = if open == b'{' { check_key(d, i + 1)? } else { i + 1 };
                    break;
                }
                Some(&b) if b == closing(open) => {
                    stack.pop();
                    i += 1;
                }
                Some(&b) => {
                    return Err((
                        i,
                        format!("expected `,` or `{}`, found {}", closing(open) as char, show(b)),
                    ))
                }
                None => return Err((i, "unexpected end of file".into())),
            }
        }
    }
}

/// A member name and its `:` at `d[i..]` (after whitespace); returns the index past the `:`.
fn check_key(d: &[u8], i: usize) -> Result<usize, (usize, String)> {
    let i = skip_ws(d, i);
    match d.get(i) {
        Some(b'"') => {}
        Some(&b) => return Err((i, format!("expected a member name, found {}", show(b)))),
        None => return Err((i, "unexpected end of file: expected a member name".into())),
    }
    let j = skip_ws(d, check_string(d, i)?);
    match d.get(j) {
        Some(b':') => Ok(j + 1),
        Some(&b) => Err((j, format!("expected `:` after a member name, found {}", show(b)))),
        None => Err((j, "unexpected end of file: expected `:`".into())),
    }
}

/// A strict JSON string at `d[i]` (`"`); returns the index past its closing quote.
fn check_string(d: &[u8], i: usize) -> Result<usize, (usize, String)> {
    let mut j = i + 1;
    loop {
        let p = memchr::memchr2(b'"', b'\\', &d[j..]).unwrap_or(d.len() - j);
        let raw = &d[j..j + p];
        if let Some(q) = raw.iter().position(|&b| b < 0x20) {
            return Err((j + q, format!("raw control character 0x{:02x} in a string", raw[q])));
        }
        if let Err(e) = std::str::from_utf8(raw) {
            return Err((j + e.valid_up_to(), "invalid UTF-8 in a string".into()));
        }
        j += p;
        match d.get(j) {
            None => return Err((d.len(), "unexpected end of file: unterminated string".into())),
            Some(b'"') => return Ok(j + 1),
            Some(_) => {
                let ok = match d.get(j + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                    Some(b'u') if d.len() >= j + 6 && d[j + 2..j + 6].iter().all(u8::is_ascii_hexdigit) => 6,
                    Some(b'u') => return Err((j, "invalid `\\u` escape (needs 4 hex digits)".into())),
                    Some(&e) => return Err((j, format!("invalid escape `\\{}`", e.escape_ascii()))),
                    None => return Err((j, "unterminated escape".into())),
                };
                j += ok;
            }
        }
    }
}

/// A JSON number at `d[i]`; returns the index past it. The offset of an error is the byte that breaks the grammar.
fn check_number(d: &[u8], mut i: usize) -> Result<usize, (usize, String)> {
    let digits = |d: &[u8], i: usize| i + d[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    if d[i] == b'-' {
        i += 1;
    }
    match d.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(d, i),
        _ => return Err((i, "invalid number: a digit must follow `-`".into())),
    }
    if d.get(i) == Some(&b'.') {
        let j = digits(d, i + 1);
        if j == i + 1 {
            return Err((j, "invalid number: a digit must follow `.`".into()));
        }
        i = j;
    }
    if matches!(d.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(d.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let j = digits(d, i);
        if j == i {
            return Err((j, "invalid number: the exponent has no digits".into()));
        }
        i = j;
    }
    Ok(i)
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
    fn checks_json_strictly() {
        let ok = |s: &str| check_json(s.as_bytes(), 0).map_err(|(o, m)| format!("{o}: {m}"));
        let at = |s: &str| check_json(s.as_bytes(), 0).unwrap_err().0;
        assert_eq!(
            ok(r#" {"a": [1, -0.5e+3, "x\u00e9\n", true, false, null, {}, []]} x"#),
            Ok(60)
        );
        assert_eq!(
            ok("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
            Ok(64)
        );
        assert_eq!(at(r#"{"a":[.1]}"#), 6);
        assert_eq!(at(r#"{"a":01}"#), 6);
        assert_eq!(at(r#"{"a":1.}"#), 7);
        assert_eq!(at(r#"{"a":1e}"#), 7);
        assert_eq!(at(r#"{"a":-}"#), 6);
        assert_eq!(at(r#"{"a":tru}"#), 8);
        assert_eq!(at(r#"{"a":"\q"}"#), 6);
        assert_eq!(at(r#"{"a":"\u12"}"#), 6);
        assert_eq!(at("{\"a\":\"x\ny\"}"), 7);
        assert_eq!(check_json(b"{\"a\xff\":1}", 0).unwrap_err().0, 3);
        assert_eq!(at(r#"{"a":1,}"#), 7);
        assert_eq!(at(r#"{"a" 1}"#), 5);
        assert_eq!(at(r#"[1 2]"#), 3);
        assert_eq!(at(r#"[1,"#), 3);
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
