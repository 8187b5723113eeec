//! Malformed input: every case is a real fixture (`fixtures/synthetic/random-1-300.heapsnapshot`, plain JSON, or
//! `fixtures/bare-node.heapsnapshot.gz`, a real Node snapshot) with bytes changed programmatically, written to a
//! temporary directory and given to `heapsnap summary`.
//!
//! For each bad input: exit code 2, stderr names the file, the section (``section `nodes` ``) and the exact byte
//! offset computed here from the mutation (the first byte of the offending value, or of the offending byte inside
//! it), and nothing panicked. Header counts that would need gigantic allocations run under `ulimit -v` (2 GiB) and
//! a time limit. Valid-but-odd inputs (other section order, other layout, BOM, CRLF, unknown sections, gzip, a
//! FIFO) must succeed with the same JSON summary as the original. A file that shrinks, grows or is rewritten while
//! heapsnap reads it (changed during a pause of the `HEAPSNAP_TEST_PAUSE_AFTER_MAP_MS` test hook) must fail with
//! exit code 2 and a message naming the file.
//!
//! The byte-level helpers below (member lookup, array element ranges) are deliberately independent of the crate's
//! own scanner, so an offset bug there cannot hide itself.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_heapsnap");

// ---------------------------------------------------------------------------------------------------------------
// Fixtures.

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// random-1-300: 300 nodes, 981 edges, one section per line, plain JSON.
fn synth() -> &'static [u8] {
    static S: OnceLock<Vec<u8>> = OnceLock::new();
    S.get_or_init(|| std::fs::read(repo().join("fixtures/synthetic/random-1-300.heapsnapshot")).unwrap())
}

/// The gzip bytes of bare-node.
fn bare_gz() -> &'static [u8] {
    static S: OnceLock<Vec<u8>> = OnceLock::new();
    S.get_or_init(|| std::fs::read(repo().join("fixtures/bare-node.heapsnapshot.gz")).unwrap())
}

/// bare-node decompressed: a real Node snapshot, one record per line.
fn bare() -> &'static [u8] {
    static S: OnceLock<Vec<u8>> = OnceLock::new();
    S.get_or_init(|| {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bare_gz()), &mut out).unwrap();
        out
    })
}

/// Both fixtures write these node and edge fields; checked once so the hard-coded offsets below hold.
const NODE_FIELDS: &str =
    r#""node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"]"#;
const NF: usize = 7;
const N_TYPE: usize = 0;
const N_NAME: usize = 1;
const N_SELF: usize = 3;
const N_EDGES: usize = 4;
const N_DETACHED: usize = 6;
const EF: usize = 3;
const E_TYPE: usize = 0;
const E_NAME: usize = 1;
const E_TO: usize = 2;
/// `edge_types[0]` index of `property` (a string-named edge).
const PROPERTY: u64 = 2;

fn gzip(d: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Byte-level helpers (independent of the crate).

fn find(d: &[u8], needle: &[u8]) -> usize {
    d.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("`{}` not in the fixture", String::from_utf8_lossy(needle)))
}

/// Offset of the `"` of the top-level member `name` (the fixtures write `"name":` before their strings section).
fn key(d: &[u8], name: &str) -> usize {
    find(d, format!("\"{name}\":").as_bytes())
}

/// Offset of the value of the top-level member `name`.
fn value(d: &[u8], name: &str) -> usize {
    key(d, name) + name.len() + 3
}

/// End (exclusive) of the JSON value starting at `d[i]` (arrays, objects, strings, scalars).
fn value_end(d: &[u8], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    loop {
        match d[j] {
            b'"' => {
                j += 1;
                while d[j] != b'"' {
                    j += if d[j] == b'\\' { 2 } else { 1 };
                }
                if depth == 0 {
                    return j + 1;
                }
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            b',' if depth == 0 => return j,
            _ => {}
        }
        j += 1;
    }
}

/// The range of member `name` including its name and the comma after it: removing it leaves valid JSON (when
/// another member follows).
fn member_with_comma(d: &[u8], name: &str) -> Range<usize> {
    let end = value_end(d, value(d, name));
    assert_eq!(d[end], b',', "`{name}` is the last member");
    key(d, name)..end + 1
}

/// Byte ranges of the elements of the flat numeric array of top-level member `name`.
fn elems(d: &[u8], name: &str) -> Vec<Range<usize>> {
    let open = value(d, name);
    assert_eq!(d[open], b'[');
    let close = open + find(&d[open..], b"]");
    let mut out = Vec::new();
    let mut s = open + 1;
    for i in open + 1..=close {
        if d[i] == b',' || i == close {
            let mut a = s;
            let mut b = i;
            while a < b && d[a].is_ascii_whitespace() {
                a += 1;
            }
            while b > a && d[b - 1].is_ascii_whitespace() {
                b -= 1;
            }
            if !(i == close && a == b && out.is_empty()) {
                out.push(a..b);
            }
            s = i + 1;
        }
    }
    out
}

fn num(d: &[u8], r: &Range<usize>) -> u64 {
    std::str::from_utf8(&d[r.clone()]).unwrap().parse().unwrap()
}

/// Byte ranges of the string literals (quotes included) of the top-level `strings` array.
fn string_literals(d: &[u8]) -> Vec<Range<usize>> {
    let open = value(d, "strings");
    let close = value_end(d, open) - 1;
    let mut out = Vec::new();
    let mut i = open + 1;
    while i < close {
        if d[i] == b'"' {
            let e = value_end(d, i);
            out.push(i..e);
            i = e;
        } else {
            i += 1;
        }
    }
    out
}

fn splice(d: &[u8], r: Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(d.len() + with.len());
    v.extend_from_slice(&d[..r.start]);
    v.extend_from_slice(with);
    v.extend_from_slice(&d[r.end..]);
    v
}

fn insert(d: &[u8], at: usize, with: &[u8]) -> Vec<u8> {
    splice(d, at..at, with)
}

/// Replace the first occurrence of `from`; returns the new bytes and where `from` was.
fn replace_first(d: &[u8], from: &str, to: &str) -> (Vec<u8>, usize) {
    let at = find(d, from.as_bytes());
    (splice(d, at..at + from.len(), to.as_bytes()), at)
}

/// Number of strings of random-1-300 (it has no lone surrogates, so serde_json can read it).
fn synth_string_count() -> u64 {
    let v: Value = serde_json::from_slice(synth()).unwrap();
    v["strings"].as_array().unwrap().len() as u64
}

// ---------------------------------------------------------------------------------------------------------------
// Cases.

/// What a bad input must produce.
struct Bad {
    /// The file's bytes.
    bytes: Vec<u8>,
    /// Expected section; `None` for I/O errors (open, gzip) that have none.
    section: Option<&'static str>,
    /// Expected byte offset.
    offset: Option<usize>,
    /// A fragment the message must contain.
    message: &'static str,
}

fn bad(bytes: Vec<u8>, section: &'static str, offset: usize, message: &'static str) -> Bad {
    Bad {
        bytes,
        section: Some(section),
        offset: Some(offset),
        message,
    }
}

fn io_bad(bytes: Vec<u8>, message: &'static str) -> Bad {
    Bad {
        bytes,
        section: None,
        offset: None,
        message,
    }
}

/// Run `heapsnap summary` on `path` (through `sh -c 'ulimit -v ...'` when `memory_cap`) and return (exit code,
/// stderr, stdout, wall time).
fn run(path: &Path, memory_cap: bool, json: bool) -> (Option<i32>, String, Vec<u8>, Duration) {
    let mut cmd = if memory_cap {
        // 2 GiB of address space; two worker threads so thread stacks and malloc arenas stay far below it.
        let mut c = Command::new("sh");
        c.args(["-c", r#"ulimit -v 2097152 && exec "$0" --threads 2 summary "$1""#, BIN])
            .arg(path);
        c
    } else {
        let mut c = Command::new(BIN);
        c.arg("summary").arg(path);
        c
    };
    if json {
        cmd.args(["--format", "json"]);
    }
    cmd.timeout(Duration::from_secs(60));
    let t = Instant::now();
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.stdout,
        t.elapsed(),
    )
}

/// Check an error report: exit 2, the path, the section, the offset, the message, no panic.
fn assert_reported(name: &str, path: &Path, code: Option<i32>, stderr: &str, b: &Bad) {
    let ctx = format!("case `{name}`: stderr was:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{ctx}");
    assert_eq!(code, Some(2), "{ctx}");
    assert!(stderr.starts_with("heapsnap: "), "{ctx}");
    assert!(stderr.contains(&path.display().to_string()), "path missing; {ctx}");
    match b.section {
        Some(s) => assert!(
            stderr.contains(&format!("section `{s}`,")),
            "section `{s}` expected; {ctx}"
        ),
        None => assert!(!stderr.contains("section `"), "no section expected; {ctx}"),
    }
    if let Some(o) = b.offset {
        assert!(
            stderr.contains(&format!(", byte {o}:")) || stderr.contains(&format!(", byte {o} (")),
            "byte {o} expected; {ctx}"
        );
    }
    assert!(stderr.contains(b.message), "message `{}` expected; {ctx}", b.message);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected; {ctx}");
}

fn check_with(name: &str, b: Bad, memory_cap: bool) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.heapsnapshot"));
    std::fs::write(&path, &b.bytes).unwrap();
    let (code, stderr, _, took) = run(&path, memory_cap, false);
    assert_reported(name, &path, code, &stderr, &b);
    took
}

fn check(name: &str, b: Bad) {
    check_with(name, b, false);
}

/// One `#[test]` per bad input (so known bugs can be `#[ignore]`d one by one), and their number.
macro_rules! bad_inputs {
    ($($(#[$attr:meta])* $name:ident => $build:expr;)*) => {
        $(
            $(#[$attr])*
            #[test]
            fn $name() {
                check(stringify!($name), $build);
            }
        )*
        /// Number of table-driven bad inputs.
        const BAD_INPUTS: usize = [$(stringify!($name)),*].len();
    };
}

// --- builders that need more than one expression ---

/// Cut `d` in the middle of the value of member `name`.
fn truncated(d: &[u8], name: &'static str) -> Bad {
    let v = value(d, name);
    let cut = (v + value_end(d, v)) / 2;
    bad(d[..cut].to_vec(), name, cut, "unexpected end of file")
}

/// Remove the member `name` (and the comma that separates it).
fn missing(d: &[u8], name: &'static str) -> Bad {
    let v = value(d, name);
    let end = value_end(d, v);
    let r = if d[end] == b',' {
        key(d, name)..end + 1
    } else {
        // The last member: remove the comma before it.
        let comma = d[..key(d, name)].iter().rposition(|&b| b == b',').unwrap();
        comma..end
    };
    let m = splice(d, r, b"");
    let len = m.len();
    bad(m, name, len, "has no top-level")
}

/// Replace element `index` of numeric member `name` by `with`; the expected offset is the element's start plus
/// `skip` (the offending byte inside it).
fn elem_set(d: &[u8], name: &'static str, index: usize, with: &str, skip: usize, message: &'static str) -> Bad {
    let r = elems(d, name)[index].clone();
    let start = r.start;
    bad(splice(d, r, with.as_bytes()), name, start + skip, message)
}

/// Set node `node`'s edge count to `with` (more than it has) so that the counts add up to more than the edges: the
/// error is at the first node whose running sum exceeds them.
fn edge_counts_exceed(d: &[u8], node: usize, with: u64) -> Bad {
    let e = elems(d, "nodes");
    let edges = (elems(d, "edges").len() / EF) as u64;
    let mut counts: Vec<u64> = (0..e.len() / NF).map(|i| num(d, &e[i * NF + N_EDGES])).collect();
    counts[node] = with;
    let mut acc = 0;
    let first = counts
        .iter()
        .position(|c| {
            acc += c;
            acc > edges
        })
        .unwrap();
    let m = splice(d, e[node * NF + N_EDGES].clone(), with.to_string().as_bytes());
    // Offsets after the changed element move by the length difference.
    let shift = with.to_string().len() as isize - e[node * NF + N_EDGES].len() as isize;
    let mut at = e[first * NF + N_EDGES].start;
    if first > node {
        at = (at as isize + shift) as usize;
    }
    bad(m, "nodes", at, "exceed")
}

/// Lower the edge count of the first node that has edges: the counts add up to fewer than the edges.
fn edge_counts_short(d: &[u8]) -> Bad {
    let e = elems(d, "nodes");
    let i = (0..e.len() / NF).find(|&i| num(d, &e[i * NF + N_EDGES]) > 0).unwrap();
    let r = e[i * NF + N_EDGES].clone();
    let v = num(d, &r) - 1;
    bad(
        splice(d, r, v.to_string().as_bytes()),
        "nodes",
        value(d, "nodes"),
        "add up to",
    )
}

/// Set the name of the first `property` edge to `strings.len()`.
fn property_edge_name_out_of_range() -> Bad {
    let d = synth();
    let e = elems(d, "edges");
    let k = (0..e.len() / EF)
        .find(|&k| num(d, &e[k * EF + E_TYPE]) == PROPERTY)
        .unwrap();
    let n = synth_string_count().to_string();
    elem_set(d, "edges", k * EF + E_NAME, &n, 0, "is not an index into the")
}

/// Insert `with` inside string literal `index` of the strings section, `at` bytes after its opening quote.
fn in_string(d: &[u8], index: usize, at: usize, with: &[u8], message: &'static str) -> Bad {
    let lit = string_literals(d)[index].clone();
    assert!(lit.len() > at + 1, "string {index} too short");
    let pos = lit.start + at;
    bad(insert(d, pos, with), "strings", pos, message)
}

/// random-1-300 with `text` inserted in the header just before `"node_count"`; returns the insertion offset.
fn header_insert(text: &str) -> (Vec<u8>, usize) {
    let d = synth();
    let at = find(d, b"\"node_count\":");
    (insert(d, at, text.as_bytes()), at)
}

bad_inputs! {
    // --- not a snapshot at all ---
    empty_file => bad(Vec::new(), "document", 0, "empty");
    whitespace_only => bad(b" \n\t\n".to_vec(), "document", 4, "starts with `{`");
    json_array => bad(b"[1,2]".to_vec(), "document", 0, "starts with `{`");
    plain_text => bad(b"hello\n".to_vec(), "document", 0, "starts with `{`");
    utf16_file => {
        let text = String::from_utf8(synth().to_vec()).unwrap();
        let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        bad(utf16, "document", 0, "UTF-16")
    };
    gzip_magic_only => io_bad(vec![0x1f, 0x8b], "cannot decompress gzip");
    gzip_corrupt => {
        let mut g = bare_gz().to_vec();
        let mid = g.len() / 2;
        for b in &mut g[mid..mid + 16] {
            *b ^= 0x5a;
        }
        io_bad(g, "cannot decompress gzip")
    };
    gzip_truncated => io_bad(bare_gz()[..bare_gz().len() / 2].to_vec(), "cannot decompress gzip");

    // --- truncated in the middle of each section ---
    truncated_in_snapshot => truncated(synth(), "snapshot");
    truncated_in_nodes => truncated(bare(), "nodes");
    truncated_in_edges => truncated(bare(), "edges");
    truncated_in_strings => truncated(bare(), "strings");
    truncated_in_locations => truncated(synth(), "locations");
    truncated_gzip_content => {
        // Well-formed gzip of a truncated document: the offset counts decompressed bytes, and says so.
        let b = truncated(bare(), "edges");
        Bad { bytes: gzip(&b.bytes), message: "(of the decompressed stream)", ..b }
    };
    truncated_before_final_brace => {
        let d = synth();
        let end = d.iter().rposition(|&b| b == b'}').unwrap();
        bad(d[..end].to_vec(), "document", end, "not closed")
    };

    // --- required sections missing, duplicated, malformed at the top level ---
    missing_snapshot => missing(synth(), "snapshot");
    missing_nodes => missing(synth(), "nodes");
    missing_edges => missing(bare(), "edges");
    missing_strings => missing(synth(), "strings");
    duplicated_edges => {
        let d = synth();
        let r = member_with_comma(d, "edges");
        let second = r.end + "\"edges\":".len();
        bad(insert(d, r.end, &d[r.clone()]), "edges", second, "appears twice")
    };
    nodes_without_closing_bracket => {
        // `...0],\n"edges"` -> `...0,\n"edges"`: the `"` of the next member is where the array went wrong.
        let d = synth();
        let close = value_end(d, value(d, "nodes")) - 1;
        let m = splice(d, close..close + 1, b"");
        let quote = key(&m, "edges");
        bad(m, "nodes", quote, "`]` missing")
    };
    nodes_not_an_array => {
        let d = synth();
        let v = value(d, "nodes");
        bad(splice(d, v..value_end(d, v), b"{}"), "nodes", v, "expected an array of numbers")
    };
    member_without_colon => {
        let d = synth();
        let colon = value(d, "edges") - 1;
        bad(splice(d, colon..colon + 1, b" "), "document", colon + 1, "expected `:`")
    };
    top_level_trailing_comma => {
        let d = synth();
        let end = d.iter().rposition(|&b| b == b'}').unwrap();
        bad(insert(d, end, b","), "document", end + 1, "trailing comma")
    };
    unbalanced_unknown_section => {
        let (m, at) = replace_first(synth(), "\"trace_tree\":[]", "\"trace_tree\":[}");
        bad(m, "trace_tree", at + "\"trace_tree\":[".len(), "unbalanced")
    };
    trailing_garbage => {
        let d = synth();
        bad([d, b"xyz"].concat(), "document", d.len(), "unexpected data after the top-level object")
    };
    nul_bytes_after_end => {
        let d = bare();
        bad([d, &[0, 0, 0][..]].concat(), "document", d.len(), "NUL byte")
    };
    nul_byte_between_members => {
        let d = synth();
        let at = key(d, "edges");
        bad(insert(d, at, b"\0"), "document", at, "found byte 0x00")
    };
    nul_byte_in_nodes => elem_set(bare(), "nodes", 5000, "\0", 0, "byte 0x00 in a numeric array");
    nul_byte_in_a_string => in_string(synth(), 3, 2, b"\0", "raw control character 0x00");

    // --- header (`snapshot`, `meta`) ---
    meta_missing => {
        let d = synth();
        let m = splice(d, member_with_comma(d, "meta"), b"");
        bad(m, "snapshot", value(d, "snapshot"), "no `meta`")
    };
    meta_missing_node_fields => {
        let d = synth();
        let r = find(d, NODE_FIELDS.as_bytes());
        let m = splice(d, r..r + NODE_FIELDS.len() + 1, b"");
        bad(m, "snapshot.meta", value(d, "meta"), "no `node_fields`")
    };
    meta_node_fields_not_an_array => {
        let (m, at) = replace_first(synth(), NODE_FIELDS, r#""node_fields":"type""#);
        bad(m, "snapshot.meta", at + "\"node_fields\":".len(), "`node_fields` must be an array")
    };
    meta_without_edge_count_field => {
        let d = bare();
        let (m, _) = replace_first(d, r#""edge_count","trace_node_id""#, r#""edges","trace_node_id""#);
        bad(m, "snapshot.meta", value(d, "node_fields"), "`edge_count` field")
    };
    meta_without_to_node_field => {
        let d = synth();
        let (m, _) = replace_first(d, r#""to_node"]"#, r#""to"]"#);
        bad(m, "snapshot.meta", value(d, "edge_fields"), "`to_node` field")
    };
    meta_node_types_not_nested => {
        let d = synth();
        let v = value(d, "node_types");
        let m = splice(d, v..value_end(d, v), br#"["hidden","string"]"#);
        bad(m, "snapshot.meta", v, "does not start with the array of type names")
    };
    meta_extra_node_field => {
        // 8 declared fields, 7 values per node: 2100 values are not a multiple of 8.
        let (m, _) = replace_first(synth(), r#""detachedness"]"#, r#""detachedness","extra"]"#);
        let at = value(&m, "nodes");
        bad(m, "nodes", at, "not a multiple of the 8 node fields")
    };
    header_node_count_mismatch => {
        let (m, _) = replace_first(synth(), "\"node_count\":300", "\"node_count\":299");
        let at = value(&m, "nodes");
        bad(m, "nodes", at, "declares 299 nodes but the array holds 300")
    };
    header_edge_count_mismatch => {
        let (m, _) = replace_first(synth(), "\"edge_count\":981", "\"edge_count\":982");
        let at = value(&m, "edges");
        bad(m, "edges", at, "declares 982 edges but the array holds 981")
    };
    header_node_count_negative => {
        let (m, at) = replace_first(synth(), "\"node_count\":300", "\"node_count\":-300");
        bad(m, "snapshot", at + "\"node_count\":".len(), "`node_count` must be a non-negative integer")
    };
    header_node_count_fractional => {
        let (m, at) = replace_first(synth(), "\"node_count\":300", "\"node_count\":300.5");
        bad(m, "snapshot", at + "\"node_count\":".len(), "`node_count` must be a non-negative integer")
    };
    header_edge_count_above_u64 => {
        let (m, at) = replace_first(synth(), "\"edge_count\":981", "\"edge_count\":18446744073709551616");
        bad(m, "snapshot", at + "\"edge_count\":".len(), "`edge_count` must be a non-negative integer")
    };
    header_member_twice => {
        let (m, at) = header_insert("\"node_count\":300,");
        bad(m, "snapshot", at + "\"node_count\":300,\"node_count\":".len(), "appears twice")
    };
    header_invalid_escape_in_unused_member => {
        // `sample_fields` is not read by heapsnap, but a damaged header is rejected wherever the damage is.
        let (m, at) = replace_first(synth(), r#""timestamp_us""#, r#""times\qtamp_us""#);
        bad(m, "snapshot", at + 6, "invalid escape `\\q`")
    };
    header_invalid_utf8 => {
        let d = bare();
        let at = find(d, br#""trace_node_fields""#) + 1;
        bad(insert(d, at, &[0xff]), "snapshot", at, "invalid UTF-8")
    };
    header_number_with_leading_zero => {
        let (m, at) = replace_first(synth(), "\"node_count\":300", "\"node_count\":0300");
        bad(m, "snapshot", at + "\"node_count\":0".len(), "bad header: expected `,` or `}`, found `3`")
    };
    root_index_not_a_node_index => {
        let (m, at) = header_insert("\"root_index\":5,");
        bad(m, "snapshot", at + "\"root_index\":".len(), "root_index 5 is not a node index")
    };
    root_index_past_the_end => {
        let (m, at) = header_insert("\"root_index\":2100,");
        bad(m, "snapshot", at + "\"root_index\":".len(), "points past the last")
    };

    // --- numbers in `nodes` and `edges` ---
    node_negative => elem_set(bare(), "nodes", 1000 * NF + N_SELF, "-5", 0, "negative number");
    node_fractional => elem_set(synth(), "nodes", 40 * NF + N_SELF, "2.5", 1, "fractional or exponent");
    node_exponent => elem_set(synth(), "nodes", 41 * NF + N_SELF, "1e3", 1, "fractional or exponent");
    node_above_u32 => elem_set(bare(), "nodes", 77 * NF + N_SELF, "4294967296", 0, "does not fit in 32 bits");
    node_letter => elem_set(synth(), "nodes", 12 * NF + N_SELF, "x", 0, "unexpected `x`");
    node_value_missing_between_commas => {
        elem_set(synth(), "nodes", 99 * NF + N_SELF, "", 0, "expected a number before `,`")
    };
    node_value_missing_before_bracket => {
        // `...,0]` -> `...,]`: a trailing comma with the count unchanged.
        let d = synth();
        let n = elems(d, "nodes").len();
        elem_set(d, "nodes", n - 1, "", 0, "expected a number")
    };
    edge_negative => elem_set(bare(), "edges", 500 * EF + E_TO, "-7", 0, "negative number");
    edge_negative_in_last_chunk => {
        // bare-node's edges span several 1 MiB parse chunks: the offset must be right in the last one too.
        let d = bare();
        let n = elems(d, "edges").len();
        elem_set(d, "edges", n - 2, "-1", 0, "negative number")
    };
    edge_name_out_of_range_in_last_chunk => {
        let d = bare();
        let e = elems(d, "edges");
        let k = (0..e.len() / EF).rev().find(|&k| num(d, &e[k * EF + E_TYPE]) == PROPERTY).unwrap();
        elem_set(d, "edges", k * EF + E_NAME, "4294967295", 0, "edge name 4294967295 is not an index into the")
    };
    edge_fractional => elem_set(synth(), "edges", 20 * EF + E_TO, "7.0", 1, "fractional or exponent");
    edge_exponent => elem_set(synth(), "edges", 21 * EF + E_TO, "7E1", 1, "fractional or exponent");
    edge_above_u32 => elem_set(synth(), "edges", 22 * EF + E_TO, "4294967296", 0, "does not fit in 32 bits");
    edge_two_values_without_comma => elem_set(synth(), "edges", 23 * EF + E_NAME, "1 2", 2, "unexpected `2`");
    node_type_out_of_range => {
        elem_set(synth(), "nodes", 50 * NF + N_TYPE, "15", 0, "node type 15 is not one of the 15")
    };
    detachedness_7 => elem_set(bare(), "nodes", 100 * NF + N_DETACHED, "7", 0, "detachedness 7");
    edge_type_out_of_range => elem_set(synth(), "edges", 50 * EF + E_TYPE, "7", 0, "edge type 7 is not one of the 7");
    to_node_not_a_multiple => {
        let d = synth();
        let v = num(d, &elems(d, "edges")[100 * EF + E_TO]) + 1;
        elem_set(d, "edges", 100 * EF + E_TO, &v.to_string(), 0, "is not a multiple of the 7 node fields")
    };
    to_node_past_the_end => elem_set(synth(), "edges", 101 * EF + E_TO, "2100", 0, "points past the last of 300 nodes");
    node_name_out_of_range => {
        let n = synth_string_count().to_string();
        elem_set(synth(), "nodes", 10 * NF + N_NAME, &n, 0, "is not an index into the")
    };
    edge_name_out_of_range => property_edge_name_out_of_range();
    edge_counts_exceed_edges => {
        let d = synth();
        edge_counts_exceed(d, 3, num(d, &elems(d, "nodes")[3 * NF + N_EDGES]) + 1)
    };
    edge_count_u32_max => edge_counts_exceed(bare(), 20, u32::MAX as u64);
    edge_counts_below_edges => edge_counts_short(synth());
    location_object_index_out_of_range => {
        // 273623 = 39089 nodes x 7 fields: one past the last node.
        elem_set(bare(), "locations", 4, "273623", 0, "object_index 273623 is not a node index")
    };
    location_object_index_not_a_multiple => {
        elem_set(synth(), "locations", 0, "3", 0, "object_index 3 is not a node index")
    };

    // --- strings ---
    string_invalid_escape => in_string(synth(), 5, 2, br"\q", "invalid escape `\\q`");
    string_truncated_unicode_escape => {
        // Just before the closing quote: `"ab\u12"`.
        let d = synth();
        let lit = string_literals(d)[6].clone();
        bad(insert(d, lit.end - 1, br"\u12"), "strings", lit.end - 1, "needs 4 hex digits")
    };
    string_invalid_utf8 => in_string(bare(), 100, 2, &[0xff], "invalid UTF-8");
    string_raw_newline => in_string(synth(), 7, 1, b"\n", "raw control character 0x0a");
    string_not_a_string => {
        let d = synth();
        let lit = string_literals(d)[4].clone();
        let at = lit.start;
        bad(splice(d, lit, b"42"), "strings", at, "expected a string, found `4`")
    };
    strings_without_comma => {
        let d = synth();
        let lit = string_literals(d)[8].clone();
        bad(splice(d, lit.end..lit.end + 1, b" "), "strings", lit.end + 1, "expected `,` between strings")
    };
    strings_trailing_comma => {
        let d = synth();
        let close = value_end(d, value(d, "strings")) - 1;
        bad(insert(d, close, b","), "strings", close + 1, "expected a string, found `]`")
    };

    // --- known bugs in files this test's author does not own (reported; run with `--ignored`) ---
    node_extra_comma => {
        let d = synth();
        let r = elems(d, "nodes")[99 * NF].clone();
        bad(insert(d, r.start, b","), "nodes", r.start, "expected a number before `,`")
    };
    node_leading_zero => {
        let d = synth();
        let r = elems(d, "nodes")[60 * NF + N_SELF].clone();
        let v = num(d, &r);
        bad(splice(d, r.clone(), format!("0{v}").as_bytes()), "nodes", r.start + 1, "zero")
    };
    edge_trailing_comma => {
        let d = synth();
        let close = value_end(d, value(d, "edges")) - 1;
        bad(insert(d, close, b","), "edges", close + 1, "expected a number")
    };
}

const _: () = assert!(BAD_INPUTS >= 40, "at least 40 table-driven bad inputs");

#[test]
fn fixtures_have_the_fields_the_offsets_assume() {
    let edges = r#""edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","#;
    for d in [synth(), bare()] {
        find(d, NODE_FIELDS.as_bytes());
        find(d, edges.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Giant header counts: rejected before any allocation, under a 2 GiB address-space cap, fast.

fn fails_fast(name: &str, b: Bad) {
    let took = check_with(name, b, true);
    assert!(took < Duration::from_secs(5), "{name}: took {took:?}");
}

#[test]
fn node_count_of_ten_to_the_twelve() {
    let (m, _) = replace_first(bare(), "\"node_count\":39089", "\"node_count\":1000000000000");
    let at = value(&m, "nodes");
    fails_fast("node_count_1e12", bad(m, "nodes", at, "declares 1000000000000 nodes"));
}

#[test]
fn edge_count_of_ten_to_the_twelve() {
    let (m, _) = replace_first(synth(), "\"edge_count\":981", "\"edge_count\":1000000000000");
    let at = value(&m, "edges");
    fails_fast("edge_count_1e12", bad(m, "edges", at, "declares 1000000000000 edges"));
}

#[test]
fn root_index_of_ten_to_the_twelve() {
    let (m, at) = header_insert("\"root_index\":7000000000000,");
    fails_fast(
        "root_index_7e12",
        bad(m, "snapshot", at + "\"root_index\":".len(), "points past the last"),
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Files that cannot be read.

fn file_error(path: &Path, message: &'static str) {
    let (code, stderr, _, _) = run(path, false, false);
    assert_reported(
        &path.display().to_string(),
        path,
        code,
        &stderr,
        &io_bad(Vec::new(), message),
    );
}

#[test]
fn a_directory() {
    let dir = tempfile::tempdir().unwrap();
    file_error(dir.path(), "is a directory");
}

#[test]
fn a_nonexistent_file() {
    let dir = tempfile::tempdir().unwrap();
    file_error(&dir.path().join("nope.heapsnapshot"), "cannot open");
}

/// An endless device is read as a stream: it must fail at its first byte, under a 2 GiB address-space cap,
/// not be read until memory runs out. (/dev/zero, not /dev/urandom: a random first byte is `{` or white
/// space one time in 50, and the stream is then rightly read on, to the memory limit.)
#[cfg(target_os = "linux")]
#[test]
fn an_endless_device_fails_at_its_first_byte() {
    let dev = "/dev/zero";
    let path = Path::new(dev);
    let (code, stderr, _, took) = run(path, true, false);
    let ctx = format!("{dev}: stderr was:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{ctx}");
    assert_eq!(code, Some(2), "{ctx}");
    assert!(
        stderr.starts_with(&format!("heapsnap: {dev}: section `document`, byte 0: not JSON")),
        "{ctx}"
    );
    assert!(took < Duration::from_secs(10), "{ctx}");
}

/// A stream that starts like a document and never ends, read under a 2 GiB address-space cap (below the
/// machine's available memory, the first bound): the allocation fails first, which must be an error with
/// the offset reached, not an abort.
#[cfg(target_os = "linux")]
#[test]
fn an_endless_document_under_an_address_space_cap() {
    let out = Command::new("sh")
        .args([
            "-c",
            r#"ulimit -v 2097152 && { printf '{'; exec cat /dev/zero; } | "$0" --threads 2 summary -"#,
            BIN,
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr was:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.starts_with("heapsnap: -: section `document`, byte ")
            && stderr.contains(": out of memory while reading the input"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn an_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret.heapsnapshot");
    std::fs::write(&path, synth()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&path).is_ok() {
        // Running as root (CAP_DAC_OVERRIDE): mode 000 does not stop us, so there is nothing to test.
        eprintln!("an_unreadable_file: skipped, this user can read a mode-000 file");
        return;
    }
    file_error(&path, "cannot open");
}

// ---------------------------------------------------------------------------------------------------------------
// Valid but unusual: must succeed with the same summary as the original.

/// The JSON summary of `bytes`, with the `file` member removed.
fn summary_of(name: &str, bytes: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    summary_at(&path)
}

fn summary_at(path: &Path) -> Value {
    let (code, stderr, stdout, _) = run(path, false, true);
    assert_eq!(code, Some(0), "{}: {stderr}", path.display());
    let mut v: Value = serde_json::from_slice(&stdout).unwrap();
    v.as_object_mut().unwrap().remove("file");
    v
}

fn synth_summary() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| summary_of("original.heapsnapshot", synth()))
}

fn same_as_original(name: &str, bytes: &[u8]) {
    assert_eq!(&summary_of(name, bytes), synth_summary(), "{name}");
}

#[test]
fn sections_in_another_order() {
    let d = synth();
    let open = d.iter().position(|&b| b == b'{').unwrap();
    let mut members = Vec::new();
    for name in [
        "snapshot",
        "nodes",
        "edges",
        "trace_function_infos",
        "trace_tree",
        "samples",
        "locations",
    ] {
        let v = value(d, name);
        members.push(&d[key(d, name)..value_end(d, v)]);
    }
    let v = value(d, "strings");
    members.push(&d[key(d, "strings")..value_end(d, v)]);
    members.reverse();
    members.rotate_left(3);
    let mut out = d[..=open].to_vec();
    out.extend_from_slice(&members.join(&b",\n"[..]));
    out.extend_from_slice(b"}\n");
    assert_ne!(out, d);
    same_as_original("reordered.heapsnapshot", &out);
}

#[test]
fn one_line_and_pretty_printed() {
    let v: Value = serde_json::from_slice(synth()).unwrap();
    let compact = serde_json::to_vec(&v).unwrap();
    assert!(!compact.contains(&b'\n'));
    same_as_original("compact.heapsnapshot", &compact);
    same_as_original("pretty.heapsnapshot", &serde_json::to_vec_pretty(&v).unwrap());
}

#[test]
fn utf8_byte_order_mark() {
    same_as_original("bom.heapsnapshot", &[&[0xEF, 0xBB, 0xBF][..], synth()].concat());
}

#[test]
fn unknown_top_level_sections() {
    let d = synth();
    let at = key(d, "nodes");
    let extra = br#""x_future":{"a":[1,{"b":"]}\"[{"}],"c":null,"d":-1.5e3},"x_list":["]",[[]]],
"#;
    same_as_original("unknown.heapsnapshot", &insert(d, at, extra));
}

#[test]
fn crlf_line_endings_and_extra_whitespace() {
    let mut out = b" \r\n\t".to_vec();
    for &b in synth() {
        match b {
            b'\n' => out.extend_from_slice(b"\r\n"),
            _ => out.push(b),
        }
    }
    out.extend_from_slice(b"\r\n\r\n  ");
    same_as_original("crlf.heapsnapshot", &out);
}

#[test]
fn crlf_real_node_snapshot() {
    let d = bare();
    let mut crlf = Vec::with_capacity(d.len() + d.len() / 8);
    for &b in d {
        if b == b'\n' {
            crlf.push(b'\r');
        }
        crlf.push(b);
    }
    let original = summary_of("bare.heapsnapshot", d);
    assert_eq!(summary_of("bare-crlf.heapsnapshot", &crlf), original);
}

#[test]
fn gzip_of_a_plain_snapshot() {
    same_as_original("plain.heapsnapshot.gz", &gzip(synth()));
}

#[cfg(unix)]
#[test]
fn a_fifo() {
    // Process substitution (`heapsnap summary <(zcat x.gz)`) hands over a pipe: length 0, not mappable.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipe.heapsnapshot");
    let ok = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo failed");
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            // The reader may stop early on an error; a broken pipe is then not ours to report.
            let _ = f.write_all(synth());
        })
    };
    let got = summary_at(&path);
    writer.join().unwrap();
    assert_eq!(&got, synth_summary());
}

// ---------------------------------------------------------------------------------------------------------------
// Errors found after loading (analysis) must name the file too.

#[test]
fn reattributed_self_size_above_4_gib_names_the_file() {
    // Every node 4e9 bytes: an owner's self size plus its owned nodes' no longer fits in u32.
    let d = synth();
    let e = elems(d, "nodes");
    let mut m = d.to_vec();
    for i in (0..e.len() / NF).rev() {
        m.splice(e[i * NF + N_SELF].clone(), *b"4000000000");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-sizes.heapsnapshot");
    std::fs::write(&path, &m).unwrap();
    let (code, stderr, _, _) = run(&path, false, false);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if code != Some(0) {
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(&path.display().to_string()), "path missing: {stderr}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A file that changes while heapsnap reads it. The race is made deterministic with the test hook
// `HEAPSNAP_TEST_PAUSE_AFTER_MAP_MS` (src/input.rs): heapsnap maps the file, says so on stderr and pauses; the
// test changes the file during the pause. These do not fit the table above (the bytes are fine when written).

const PAUSE_ENV: &str = "HEAPSNAP_TEST_PAUSE_AFTER_MAP_MS";

/// fixtures/service.heapsnapshot.gz decompressed into `dir` (4.6 MB of plain JSON: memory-mapped, not read).
fn plain_service(dir: &Path) -> PathBuf {
    let mut bytes = Vec::new();
    let gz = std::fs::read(repo().join("fixtures/service.heapsnapshot.gz")).unwrap();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut bytes).unwrap();
    let path = dir.join("service.heapsnapshot");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Start `heapsnap --threads 2 summary PATH` with the pause hook and return once the file is mapped (the hook's
/// line has been read), with the child and the rest of its stderr.
fn spawn_paused(path: &Path) -> (std::process::Child, std::io::BufReader<std::process::ChildStderr>) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(BIN)
        .args(["--threads", "2", "summary"])
        .arg(path)
        .env(PAUSE_ENV, "2000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut hook = String::new();
    stderr.read_line(&mut hook).unwrap();
    assert!(
        hook.starts_with("[heapsnap test hook] ") && hook.contains(" mapped, pausing "),
        "no test hook line: {hook}"
    );
    (child, stderr)
}

/// Run `heapsnap summary PATH` with the pause hook, call `change(PATH)` once the file is mapped, and return the exit
/// code and stderr (without the hook's own line).
fn summary_while_changing(path: &Path, change: impl FnOnce(&Path)) -> (Option<i32>, String) {
    use std::io::Read;
    let (mut child, mut stderr) = spawn_paused(path);
    change(path);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    (status.code(), rest)
}

/// The digits after `what` in `s`.
fn number_after(s: &str, what: &str) -> Option<u64> {
    let at = s.find(what)? + what.len();
    let digits: String = s[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_that_shrinks_while_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let path = plain_service(dir.path());
    let len = std::fs::metadata(&path).unwrap().len();
    let half = len / 2;
    let (code, stderr) = summary_while_changing(&path, |p| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(half)
            .unwrap();
    });
    let ctx = format!("stderr was:\n{stderr}");
    assert_eq!(code, Some(2), "{ctx}");
    assert!(!stderr.contains("panicked"), "{ctx}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected; {ctx}");
    assert!(
        stderr.starts_with(&format!(
            "heapsnap: {}: the file shrank while it was being read",
            path.display()
        )),
        "{ctx}"
    );
    // The section the fault is in (`document` when it happens during the section scan itself).
    let section = stderr.split("section `").nth(1).and_then(|r| r.split('`').next());
    assert!(
        matches!(section, Some("document" | "nodes" | "edges" | "strings" | "locations")),
        "{ctx}"
    );
    // A page past the new end of the file: with parallel readers (the section scan searches 1 MiB blocks on
    // several threads) any of them may fault first, not necessarily the first one.
    let offset = number_after(&stderr, "`, byte offset ").unwrap_or_else(|| panic!("no byte offset; {ctx}"));
    assert!(
        (half..len).contains(&offset),
        "offset {offset}, new length {half}; {ctx}"
    );
    // And the file's length now, as the process found it at the fault.
    assert!(
        stderr.trim_end().ends_with(&format!("(the file is now {half} bytes)")),
        "{ctx}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_sigbus_that_is_not_a_shrinking_file_still_kills() {
    // The handler only reports faults inside its mappings; anything else gets the default action.
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let path = plain_service(dir.path());
    let (mut child, _stderr) = spawn_paused(&path);
    let killed = std::process::Command::new("kill")
        .args(["-BUS", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(7), "SIGBUS expected: {status:?}");
}

/// A file that grows or is rewritten during the pause: the load itself may succeed, the check after it fails.
fn changed_while_read(change: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let path = plain_service(dir.path());
    let (code, stderr) = summary_while_changing(&path, change);
    let ctx = format!("stderr was:\n{stderr}");
    assert_eq!(code, Some(2), "{ctx}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line expected; {ctx}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "heapsnap: {}: the file changed while it was being read (still being written?)",
            path.display()
        ),
        "{ctx}"
    );
}

#[test]
fn a_file_that_grows_while_read() {
    changed_while_read(|p| {
        let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
        f.write_all(&[b'\n'; 10_000]).unwrap();
    });
}

#[test]
fn a_file_rewritten_in_place_while_read() {
    // Same length, same bytes even: only the modification time tells.
    changed_while_read(|p| {
        std::thread::sleep(Duration::from_millis(20));
        let first = std::fs::read(p).unwrap()[0];
        let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.write_all(&[first]).unwrap();
    });
}

#[test]
fn the_pause_hook_alone_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = plain_service(dir.path());
    let (code, stderr) = summary_while_changing(&path, |_| {});
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr, "");
}
