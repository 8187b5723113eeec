//! The parallel parser of flat numeric arrays (`nodes`, `edges`, `locations`).
//!
//! Two passes over the array's bytes, both parallel with rayon:
//! 1. the body is cut into chunks that each end just after a comma, and the commas of each chunk are counted
//!    (`memchr`, SIMD): a prefix sum gives the global element index at which every chunk starts, and the exact
//!    element count, known before one byte of output is allocated;
//! 2. each chunk is parsed strictly (only ASCII digits, commas and JSON whitespace; no sign, fraction, exponent
//!    or value above `u32::MAX`) and every value is handed to a sink with its record and field numbers.
//!    The fast path reads 64-byte blocks in V8's layout as a whole: classified into bit masks, checked, then
//!    the numbers converted with the best parser the CPU has (detected at run time): eight at a time in AVX-512
//!    registers (VBMI/VBMI2 byte permutations), two at a time with SSSE3/SSE4.1 multiply-adds, or one at a time
//!    with word arithmetic (SSE2 masks); everything else takes the checked per-number path, which alone reports
//!    errors.
//!
//! Any violation is a [`ParseError`] with the section and the exact byte offset; when several chunks fail, the
//! first in file order is reported, so errors are deterministic whatever the thread count.
//! Cost: O(n) work, O(n / threads) wall, O(chunks) extra memory.

use std::ops::Range;

use rayon::prelude::*;

use crate::error::ParseError;
use crate::scan::{show, BlockCommas};

/// Target chunk size in bytes.
const CHUNK: usize = 1 << 20;

/// A numeric array cut into chunks, with the element count known.
#[derive(Debug)]
pub struct ArrayPlan {
    section: String,
    /// File offsets of the chunks (inside the brackets).
    chunks: Vec<Range<usize>>,
    /// Global element index of each chunk's first element.
    first: Vec<usize>,
    /// Number of elements.
    pub len: usize,
    /// Whether the body holds no value at all.
    empty: bool,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

impl ArrayPlan {
    /// Plan the parse of the array whose value (brackets included) is `d[range]`.
    pub fn new(d: &[u8], range: Range<usize>, section: &str) -> Result<ArrayPlan, ParseError> {
        Self::new_releasing(d, range, section, &|_| {})
    }

    /// [`ArrayPlan::new`], handing each chunk to `release` once its commas are counted (a memory-mapped file's
    /// pages then leave resident memory until the parse reads them again).
    pub fn new_releasing(
        d: &[u8],
        range: Range<usize>,
        section: &str,
        release: &(dyn Fn(Range<usize>) + Sync),
    ) -> Result<ArrayPlan, ParseError> {
        Self::plan(d, range, section, CHUNK, release)
    }

    /// [`ArrayPlan::new`] with chunks of about `chunk` bytes (at least 1) instead of 1 MiB, so tests and fuzzers
    /// reach the chunk-boundary cases with small input. The result of a parse does not depend on the chunk size.
    pub fn with_chunk_size(
        d: &[u8],
        range: Range<usize>,
        section: &str,
        chunk: usize,
    ) -> Result<ArrayPlan, ParseError> {
        Self::plan(d, range, section, chunk.max(1), &|_| {})
    }

    /// The plan of the array `d[range]` from the commas the section scan counted block by block
    /// ([`crate::scan::Sections::commas`]): no pass over the array. Chunk `k` runs from just after the first
    /// comma of block `k` (the body's start for the first) to just after the first comma of block `k + 1`, so
    /// it holds block `k`'s commas, less the one before its start, plus the one at its end. `None` when a block
    /// other than the first holds no comma (long runs of white space), or the blocks do not tile the body:
    /// then [`ArrayPlan::new`] counts again.
    pub fn from_commas(d: &[u8], range: Range<usize>, section: &str, blocks: &[BlockCommas]) -> Option<ArrayPlan> {
        if range.len() < 2 || d[range.start] != b'[' || d[range.end - 1] != b']' {
            return None;
        }
        let body = range.start + 1..range.end - 1;
        if body.is_empty() {
            return Some(ArrayPlan {
                section: section.to_string(),
                chunks: Vec::new(),
                first: Vec::new(),
                len: 0,
                empty: true,
            });
        }
        if blocks.first()?.start != body.start
            || blocks.windows(2).any(|w| w[0].start >= w[1].start)
            || blocks.last()?.start > body.end
        {
            return None;
        }
        let k = blocks.len();
        let mut starts = Vec::with_capacity(k + 1);
        starts.push(body.start);
        for b in &blocks[1..] {
            starts.push(b.first? + 1);
        }
        starts.push(body.end);
        if starts.windows(2).any(|w| w[0] >= w[1]) {
            return None;
        }
        let chunks: Vec<Range<usize>> = starts.windows(2).map(|w| w[0]..w[1]).collect();
        let mut first = Vec::with_capacity(k);
        let mut total = 0usize;
        for (j, b) in blocks.iter().enumerate() {
            first.push(total);
            total += b.count - usize::from(j > 0) + usize::from(j + 1 < k);
        }
        let empty = total == 0 && d[body].iter().all(|&b| is_ws(b));
        Some(ArrayPlan {
            section: section.to_string(),
            chunks,
            first,
            len: if empty { 0 } else { total + 1 },
            empty,
        })
    }

    fn plan(
        d: &[u8],
        range: Range<usize>,
        section: &str,
        chunk: usize,
        release: &(dyn Fn(Range<usize>) + Sync),
    ) -> Result<ArrayPlan, ParseError> {
        if range.len() < 2 || d[range.start] != b'[' || d[range.end - 1] != b']' {
            return Err(ParseError::new(
                section,
                range.start as u64,
                "expected an array of numbers",
            ));
        }
        let body = range.start + 1..range.end - 1;
        let mut chunks = Vec::with_capacity(body.len() / chunk + 1);
        let mut s = body.start;
        while s < body.end {
            let target = s.saturating_add(chunk);
            let e = if target >= body.end {
                body.end
            } else {
                match memchr::memchr(b',', &d[target..body.end]) {
                    Some(p) => target + p + 1,
                    None => body.end,
                }
            };
            chunks.push(s..e);
            s = e;
        }
        let commas: Vec<usize> = chunks
            .par_iter()
            .map(|c| {
                let k = memchr::memchr_iter(b',', &d[c.clone()]).count();
                release(c.clone());
                k
            })
            .collect();
        let empty = commas.iter().all(|&c| c == 0) && d[body.clone()].iter().all(|&b| is_ws(b));
        let mut first = Vec::with_capacity(chunks.len());
        let mut total = 0usize;
        for c in &commas {
            first.push(total);
            total += c;
        }
        let len = if empty { 0 } else { total + 1 };
        Ok(ArrayPlan {
            section: section.to_string(),
            chunks,
            first,
            len,
            empty,
        })
    }

    /// The file offset of element `index` (for errors found after parsing). Sequential; used on error paths only.
    pub fn offset_of(&self, d: &[u8], index: usize) -> u64 {
        let k = self.first.partition_point(|&f| f <= index).saturating_sub(1);
        let Some(c) = self.chunks.get(k) else {
            return 0;
        };
        let mut seen = self.first[k];
        let mut i = c.start;
        while seen < index && i < c.end {
            if d[i] == b',' {
                seen += 1;
            }
            i += 1;
        }
        while i < c.end && is_ws(d[i]) {
            i += 1;
        }
        i as u64
    }

    /// Check that the array holds `records` records of `fields` values each.
    pub fn expect(&self, fields: usize, records: Option<u64>, what: &str, start: usize) -> Result<usize, ParseError> {
        if fields == 0 {
            return Err(ParseError::new(
                &self.section,
                start as u64,
                "meta declares no fields for this array",
            ));
        }
        if !self.len.is_multiple_of(fields) {
            return Err(ParseError::new(
                &self.section,
                start as u64,
                format!(
                    "the array holds {} values, not a multiple of the {fields} {what} fields",
                    self.len
                ),
            ));
        }
        let n = self.len / fields;
        if let Some(r) = records {
            if r != n as u64 {
                return Err(ParseError::new(
                    &self.section,
                    start as u64,
                    format!(
                        "the header declares {r} {what}s but the array holds {n} ({} values)",
                        self.len
                    ),
                ));
            }
        }
        Ok(n)
    }

    /// Parse every value. `sink(record, field, value)` stores it or says why it is invalid. `done(range)` is called
    /// with each chunk's byte range once it has been parsed (to release mapped pages).
    pub fn parse<S, D>(&self, d: &[u8], fields: usize, sink: S, done: D) -> Result<(), ParseError>
    where
        S: Fn(usize, usize, u32) -> Result<(), String> + Sync,
        D: Fn(Range<usize>) + Sync,
    {
        self.parse_records(d, fields, &PerValue(sink), done)
    }

    /// Parse every value into whole records: each chunk is parsed into a buffer, then its records are handed
    /// to `sink` ([`Records::record`] for whole ones, [`Records::value`] for the fields of a record cut by a
    /// chunk boundary). The first error in file order is reported, a syntax error or an invalid value.
    pub fn parse_records<S, D>(&self, d: &[u8], fields: usize, sink: &S, done: D) -> Result<(), ParseError>
    where
        S: Records + ?Sized,
        D: Fn(Range<usize>) + Sync,
    {
        if self.empty {
            return Ok(());
        }
        let last = self.chunks.len() - 1;
        let results: Vec<Result<(), ParseError>> = self
            .chunks
            .par_iter()
            .enumerate()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(vals, scratch), (k, c)| {
                    vals.clear();
                    let parsed = parse_chunk(d, c.clone(), k == last, vals, scratch);
                    done(c.clone());
                    // Values before a syntax error come first in the file: their errors win.
                    // The chunk's values are `vals` then `scratch` (the two halves of `parse_chunk`).
                    let first = self.first[k];
                    let second = first + vals.len();
                    let at = |i: usize, msg: String| ParseError::new(&self.section, self.offset_of(d, i), msg);
                    store(first, fields, vals, sink).map_err(|(i, msg)| at(first + i, msg))?;
                    store(second, fields, scratch, sink).map_err(|(i, msg)| at(second + i, msg))?;
                    parsed.map_err(|(off, msg)| ParseError::new(&self.section, off as u64, msg))
                },
            )
            .collect();
        results.into_iter().collect()
    }
}

/// Where parsed values go: whole records, and single values of records cut by a chunk boundary.
pub trait Records: Sync {
    /// Store field `field` of record `rec`, or say why the value is invalid.
    fn value(&self, rec: usize, field: usize, v: u32) -> Result<(), String>;
    /// Store the whole record `rec`, or say which field is invalid and why. By default, value by value.
    #[inline]
    fn record(&self, rec: usize, vals: &[u32]) -> Result<(), (usize, String)> {
        for (f, &v) in vals.iter().enumerate() {
            self.value(rec, f, v).map_err(|m| (f, m))?;
        }
        Ok(())
    }
}

/// A per-value closure as [`Records`].
struct PerValue<S>(S);

impl<S: Fn(usize, usize, u32) -> Result<(), String> + Sync> Records for PerValue<S> {
    #[inline]
    fn value(&self, rec: usize, field: usize, v: u32) -> Result<(), String> {
        (self.0)(rec, field, v)
    }
}

/// Hand `vals` (global value indexes from `first`) to `sink`; on error, the index in `vals` of the bad value.
fn store<S: Records + ?Sized>(first: usize, fields: usize, vals: &[u32], sink: &S) -> Result<(), (usize, String)> {
    let (mut rec, mut field) = (first / fields, first % fields);
    let mut k = 0;
    // The rest of a record begun in the previous chunk.
    while field != 0 && k < vals.len() {
        sink.value(rec, field, vals[k]).map_err(|m| (k, m))?;
        k += 1;
        field += 1;
        if field == fields {
            field = 0;
            rec += 1;
        }
    }
    let whole = vals[k..].chunks_exact(fields);
    let tail = whole.remainder();
    for r in whole {
        sink.record(rec, r).map_err(|(f, m)| (k + f, m))?;
        k += fields;
        rec += 1;
    }
    for (f, &v) in tail.iter().enumerate() {
        sink.value(rec, f, v).map_err(|m| (k + f, m))?;
    }
    Ok(())
}

/// Parse the values of chunk `c` into `out` then `scratch`: the chunk's values are `out` followed by `scratch`
/// (not copied into one: the caller stores them one after the other). On a syntax error, the two hold the
/// values before it.
///
/// The chunk is cut in two at a comma near its middle and the block fast path ([`block`]) runs over both
/// halves in one loop: where a block's last number ends, and so where the next block starts, is known only once
/// the block has been classified, so one cursor is a chain of dependent steps; two independent chains keep the
/// core busy. The first half's values go to `out`, the second's to `scratch` (emptied when the first half has
/// a syntax error). Each half is finished by the sequential parse, which also reports errors, so results and
/// error offsets are those of a single cursor.
fn parse_chunk(
    d: &[u8],
    c: Range<usize>,
    is_last: bool,
    out: &mut Vec<u32>,
    scratch: &mut Vec<u32>,
) -> Result<(), (usize, String)> {
    #[cfg(target_arch = "x86_64")]
    {
        if has_v3() {
            // SAFETY: the CPU has every feature `parse_chunk_v3` is compiled with (checked just above).
            return unsafe { parse_chunk_v3(d, c, is_last, out, scratch) };
        }
        if has_v2() {
            // SAFETY: the CPU has every feature `parse_chunk_v2` is compiled with (checked just above).
            return unsafe { parse_chunk_v2(d, c, is_last, out, scratch) };
        }
    }
    parse_chunk_with::<1>(d, c, is_last, out, scratch)
}

/// Whether this CPU has the features of the third block parser ([`block_v3`]): AVX-512 F, BW, VBMI and VBMI2
/// (Intel since Ice Lake, AMD since Zen 4), BMI1 and POPCNT.
#[cfg(target_arch = "x86_64")]
fn has_v3() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vbmi")
        && std::arch::is_x86_feature_detected!("avx512vbmi2")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("popcnt")
}

/// [`parse_chunk_with`] with the third block parser, compiled for its features.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi1,popcnt")]
fn parse_chunk_v3(
    d: &[u8],
    c: Range<usize>,
    is_last: bool,
    out: &mut Vec<u32>,
    scratch: &mut Vec<u32>,
) -> Result<(), (usize, String)> {
    parse_chunk_with::<3>(d, c, is_last, out, scratch)
}

/// Whether this CPU has the features of the second block parser ([`block_v2`]): SSSE3 and SSE4.1 for the
/// conversion of two numbers at a time, BMI1 and POPCNT for the bit masks (x86-64 CPUs since about 2013).
#[cfg(target_arch = "x86_64")]
fn has_v2() -> bool {
    std::arch::is_x86_feature_detected!("ssse3")
        && std::arch::is_x86_feature_detected!("sse4.1")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("popcnt")
}

/// [`parse_chunk_with`] with the second block parser, the whole loop compiled for its features (so that the
/// block parser is inlined into it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3,sse4.1,bmi1,popcnt")]
fn parse_chunk_v2(
    d: &[u8],
    c: Range<usize>,
    is_last: bool,
    out: &mut Vec<u32>,
    scratch: &mut Vec<u32>,
) -> Result<(), (usize, String)> {
    parse_chunk_with::<2>(d, c, is_last, out, scratch)
}

/// [`parse_chunk`] with block parser number `V` (1, 2 or 3: [`block`]).
#[inline(always)]
fn parse_chunk_with<const V: u8>(
    d: &[u8],
    c: Range<usize>,
    is_last: bool,
    out: &mut Vec<u32>,
    scratch: &mut Vec<u32>,
) -> Result<(), (usize, String)> {
    const SPLIT_ABOVE: usize = 32;
    let half = c.start + c.len() / 2;
    scratch.clear();
    let mid = match memchr::memchr(b',', &d[half..c.end]) {
        Some(p) if c.len() > SPLIT_ABOVE && half + p + 1 < c.end => half + p + 1,
        _ => return parse_range_with::<V>(d, c, is_last, out, true),
    };
    let (mut i, mut j) = (c.start, mid);
    while i + BLOCK_NEEDS <= mid && j + BLOCK_NEEDS <= c.end {
        let (a, b) = (block::<V>(d, i, out), block::<V>(d, j, scratch));
        let stuck = a == i || b == j;
        (i, j) = (a, b);
        if stuck {
            break;
        }
    }
    // `i == mid` is the end of the first half (just after a comma), not an empty value.
    if i < mid {
        if let Err(e) = parse_range_with::<V>(d, i..mid, false, out, true) {
            scratch.clear();
            return Err(e);
        }
    }
    parse_range_with::<V>(d, j..c.end, is_last, scratch, true)
}

/// The sequential parse of `d[c]` into `out` (see [`parse_chunk`]), with the fast paths (`fast`; `V`: which
/// block parser) or only the checked one (the reference in tests).
#[inline(always)]
fn parse_range_with<const V: u8>(
    d: &[u8],
    c: Range<usize>,
    is_last: bool,
    out: &mut Vec<u32>,
    fast: bool,
) -> Result<(), (usize, String)> {
    let mut i = c.start;
    let end = c.end;
    loop {
        // Fast paths: 64-byte blocks of V8's layout ([`block`]); else a number of 1 to 10 digits (no leading
        // zero) followed by a comma, its first 8 digits read as one word. Anything else (white space, the
        // chunk's end, errors) takes the checked path below, so errors and their offsets are the same either way.
        while fast && i + 16 <= end {
            if i + BLOCK_NEEDS <= end {
                let j = block::<V>(d, i, out);
                if j != i {
                    i = j;
                    continue;
                }
            }
            let Some((v, step)) = swar_number(&d[i..i + 16]) else {
                break;
            };
            out.push(v);
            i += step;
        }
        if i == end && !is_last {
            return Ok(());
        }
        while i < end && is_ws(d[i]) {
            i += 1;
        }
        let start = i;
        if d[i..end].len() > 1 && d[i] == b'0' && d[i + 1].is_ascii_digit() {
            return Err((i + 1, "leading zero in a number (not JSON)".into()));
        }
        let mut v: u64 = 0;
        while i < end {
            let x = d[i].wrapping_sub(b'0');
            if x > 9 {
                break;
            }
            v = v * 10 + x as u64;
            if v > u32::MAX as u64 {
                return Err((start, "number does not fit in 32 bits".into()));
            }
            i += 1;
        }
        if i == start {
            return Err((i, bad_byte(d, i, end)));
        }
        out.push(v as u32);
        while i < end && is_ws(d[i]) {
            i += 1;
        }
        if i == end {
            if is_last {
                return Ok(());
            }
            return Err((i, "expected `,`".into()));
        }
        if d[i] != b',' {
            return Err((i, bad_byte(d, i, end)));
        }
        i += 1;
        if i == end && !is_last {
            return Ok(());
        }
    }
}

/// Bytes [`block`] may read from its start: a 64-byte block and an 8-byte word from its last number start.
const BLOCK_NEEDS: usize = 64 + 8;

/// The fast path over a 64-byte block starting at a value, `d[i..i + 64]` (`d` must hold [`BLOCK_NEEDS`]
/// bytes from `i`): where every number is short enough and has no leading zero and every separator is `,` or
/// `\n,` (V8's layouts), all the numbers followed by a comma inside the block are appended to `out` and the
/// start of the next value is returned; `i` if there is none (the callers then take the per-number paths,
/// which also report errors). The block is classified with SSE2 into bit masks (bit k = byte i + k) and checked
/// as a whole ([`span`]); unlike a cursor that learns where the next number starts only once it has read this
/// one, the numbers of a block are then independent work. `V == 1`: numbers of 1 to 8 digits, each read as one
/// word at its start ([`block_v1`]); 2: 1 to 9 digits, two at a time in SSE registers ([`block_v2`]); 3: 1 to
/// 9 digits, the whole block in AVX-512 registers, eight numbers at a time ([`block_v3`]).
#[inline(always)]
fn block<const V: u8>(d: &[u8], i: usize, out: &mut Vec<u32>) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if V == 3 {
            // SAFETY: `V == 3` only inside `parse_chunk_v3` (and tests), called only when the CPU has its
            // features, the features `block_v3` needs.
            return unsafe { block_v3(d, i, out) };
        }
        if V == 2 {
            // SAFETY: as above, with `parse_chunk_v2` and `block_v2`.
            return unsafe { block_v2(d, i, out) };
        }
    }
    block_v1(d, i, out)
}

/// What of a classified block may be read as a whole: the numbers ending before byte `last`, the block's last
/// comma before anything outside V8's layout.
struct Span {
    /// The first byte of each of those numbers.
    starts: u64,
    /// Bytes below `last`.
    below: u64,
    /// The last comma of the span (the next value starts just after it).
    last: u32,
    /// Starts of 9-digit numbers (only when `nine` was asked for).
    nine: u64,
}

/// The [`Span`] of a block with masks `m`, numbers of 1 to 8 digits (`nine == false`) or 1 to 9; `None` if
/// the block does not start with a number followed by a comma.
#[inline(always)]
fn span(m: &Masks, nine: bool) -> Option<Span> {
    // A value must start with a digit (white space, an empty value...: the per-number paths decide).
    if m.digit & 1 == 0 {
        return None;
    }
    // Starts of digit runs (byte i is a value's start: byte i - 1 is taken as a separator).
    let starts = m.digit & !(m.digit << 1);
    // Everything that is not V8's layout, at the byte where the layout stops being safe to read as a whole:
    // other bytes; a newline not followed by a comma or not after a digit; a comma after anything but a digit
    // or newline; a leading zero; a run of too many digits (at its start, so the number is left to the
    // per-number path); the last byte, whose follower is not in the block. (So a comma is followed by a digit:
    // a comma, a newline or another byte after it is flagged by the rules above.)
    let next_is = |x: u64| x >> 1;
    let prev_is = |x: u64| (x << 1) | 1;
    // Bit k: bytes k..k + 9 are digits, then k..k + 10.
    let mut run = m.digit & (m.digit >> 1);
    run &= run >> 2;
    run &= run >> 4;
    let run9 = run & (m.digit >> 8);
    let too_long = if nine { run9 & (m.digit >> 9) } else { run9 };
    let bad = !(m.digit | m.comma | m.newline)
        | (m.newline & !next_is(m.comma))
        | (m.newline & !prev_is(m.digit))
        | (m.comma & !prev_is(m.digit | m.newline))
        | (starts & m.zero & next_is(m.digit))
        | too_long
        | (1 << 63);
    // Up to the last comma before the first bad byte (a comma's follower, a digit, is checked).
    let safe = (1u64 << bad.trailing_zeros()) - 1;
    let commas = m.comma & safe;
    if commas == 0 {
        return None;
    }
    let last = 63 - commas.leading_zeros();
    let below = (1u64 << last) - 1;
    Some(Span {
        starts: starts & below,
        below,
        last,
        nine: if nine { run9 & below } else { 0 },
    })
}

/// [`block`] with numbers of 1 to 8 digits, each read as one word at its start ([`swar_8`]).
#[inline]
fn block_v1(d: &[u8], i: usize, out: &mut Vec<u32>) -> usize {
    let Some(m) = classify_64(&d[i..i + 64]) else {
        return i;
    };
    let Some(sp) = span(&m, false) else {
        return i;
    };
    let mut todo = sp.starts;
    // At most 32 numbers (a digit and a comma each) in 64 bytes; a local buffer keeps the count in a register
    // (pushing to `out` reloads its length from memory for every number).
    let mut buf = [0u32; 32];
    let mut k = 0;
    while todo != 0 {
        let s = todo.trailing_zeros() as usize;
        todo &= todo - 1;
        let len = ((!m.digit) >> s).trailing_zeros() as usize;
        let word = u64::from_le_bytes(d[i + s..i + s + 8].try_into().expect("8 bytes"));
        buf[k] = swar_8(word ^ 0x3030_3030_3030_3030, len) as u32;
        k += 1;
    }
    out.extend_from_slice(&buf[..k]);
    i + sp.last as usize + 1
}

/// The block parsers that read 9-digit numbers convert only their last 8 digits: add each one's first digit
/// (times 10^8) to its value in `buf` (the values of the span's numbers in order; `b` the block).
#[inline(always)]
fn add_first_of_nine(buf: &mut [u32], sp: &Span, b: &[u8; 64]) {
    let mut nine = sp.nine;
    while nine != 0 {
        let s = nine.trailing_zeros();
        nine &= nine - 1;
        let n = (sp.starts & ((1u64 << s) - 1)).count_ones() as usize;
        buf[n] += (b[s as usize] - b'0') as u32 * 100_000_000;
    }
}

/// Masks keeping the top `j + 1` bytes of a little-endian word (`j` in 0..=7; 8: all of it).
const KEEP_TOP: [u64; 9] = {
    let mut t = [u64::MAX; 9];
    let mut j = 0;
    while j < 8 {
        t[j] = u64::MAX << (8 * (7 - j));
        j += 1;
    }
    t
};

/// [`block`] with numbers of 1 to 9 digits, two at a time: each number's last 8 bytes are read as one word
/// ending at its last digit, the bytes before its first digit masked off, two words go into an SSE register
/// and are reduced by multiply-add steps (pairs of digits, then of 2-digit values, then of 4-digit values);
/// the first digit of a 9-digit number is added afterwards. No branch depends on the numbers' lengths.
///
/// # Safety
/// The CPU must have SSSE3, SSE4.1, BMI1 and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3,sse4.1,bmi1,popcnt")]
#[inline]
unsafe fn block_v2(d: &[u8], i: usize, out: &mut Vec<u32>) -> usize {
    use std::arch::x86_64::*;
    // A word ends at a number's last digit and starts up to 7 bytes before the block.
    if i < 7 {
        return i;
    }
    let b: &[u8; 64] = d[i..i + 64].try_into().expect("64 bytes");
    let m = classify_sse2(b);
    let Some(sp) = span(&m, true) else {
        return i;
    };
    let ends = m.digit & !(m.digit >> 1) & sp.below;
    let (mut todo_s, mut todo_e) = (sp.starts, ends);
    let count = sp.starts.count_ones() as usize;
    // SAFETY (for every read below): the words read end at byte i + e with e <= 64 (64 when a mask is empty:
    // `trailing_zeros` of 0), and start 7 bytes before: i - 7 >= 0 (checked above) and i + 64 < i + BLOCK_NEEDS
    // <= d.len() (the callers' condition), all inside `d`; the reads are unaligned.
    let p = d.as_ptr().wrapping_add(i);
    let word = |s: u32, e: u32| -> u64 {
        // SAFETY: see above.
        let w = unsafe { std::ptr::read_unaligned(p.add(e as usize).sub(7) as *const u64) };
        w & KEEP_TOP[(e - s).min(8) as usize]
    };
    // At most 32 numbers (a digit and a comma each) in 64 bytes, written two at a time (one more slot for the
    // pair after the last number, when the count is odd), straight into `out`'s spare capacity (a copy from a
    // buffer on the stack was a `memcpy` call per block, 2% of a load's samples).
    out.reserve(34);
    let len = out.len();
    // SAFETY: `reserve(34)` made room for 34 values after `len`; the writes below stay in it (k <= 32).
    let dst = unsafe { out.as_mut_ptr().add(len) };
    let mut k = 0;
    let zero = _mm_set1_epi8(b'0' as i8);
    // Weights in 8-, 16- and 32-bit lanes: [10, 1], [100, 1], [10000, 1] (the first, more significant,
    // lower).
    let (w1, w2, w3) = (
        _mm_set1_epi16(0x010A),
        _mm_set1_epi32(0x0001_0064),
        _mm_set1_epi32(0x0001_2710),
    );
    while todo_s != 0 {
        let (s0, e0) = (todo_s.trailing_zeros(), todo_e.trailing_zeros());
        todo_s &= todo_s - 1;
        todo_e &= todo_e - 1;
        // A missing second number reads the block's follower bytes: a value in an unused slot.
        let (s1, e1) = (todo_s.trailing_zeros(), todo_e.trailing_zeros());
        todo_s &= todo_s.wrapping_sub(1);
        todo_e &= todo_e.wrapping_sub(1);
        let v = _mm_set_epi64x(word(s1, e1) as i64, word(s0, e0) as i64);
        // Masked-off bytes (0) stay 0; digits become 0..=9.
        let v = _mm_subs_epu8(v, zero);
        let v = _mm_maddubs_epi16(v, w1);
        let v = _mm_madd_epi16(v, w2);
        let v = _mm_packus_epi32(v, v);
        let v = _mm_madd_epi16(v, w3);
        // SAFETY: k <= 32 (two slots per pair, at most 32 numbers), so slots k and k + 1 are in the 34 reserved.
        unsafe { _mm_storel_epi64(dst.add(k) as *mut __m128i, v) };
        k += 2;
    }
    // SAFETY: the first `count` slots after `len` were written above (k >= count), and are within capacity.
    unsafe { out.set_len(len + count) };
    add_first_of_nine(&mut out[len..], &sp, b);
    i + sp.last as usize + 1
}

/// Byte k of a register: k ([`block_v3`]'s positions).
const V3_IOTA: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        t[k] = k as u8;
        k += 1;
    }
    t
};

/// Byte k of a register: k / 8, the number of its 8-byte lane.
const V3_LANE: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        t[k] = (k / 8) as u8;
        k += 1;
    }
    t
};

/// Byte k of a register: k % 8 - 7, its offset from the end of its 8-byte lane.
const V3_OFFSET: [i8; 64] = {
    let mut t = [0i8; 64];
    let mut k = 0;
    while k < 64 {
        t[k] = (k % 8) as i8 - 7;
        k += 1;
    }
    t
};

/// [`block`] with numbers of 1 to 9 digits, the block in one AVX-512 register: masks by byte comparisons,
/// the positions of the numbers' first and last digits compressed into bytes (VBMI2), then eight numbers at a
/// time: each 8-byte lane gathers its number's last 8 digits right-aligned, zeros before its first digit
/// (VBMI byte permutation), and is reduced by multiply-adds to a 64-bit value; the first digit of a 9-digit
/// number is added afterwards. Reads only the 64 bytes of the block.
///
/// # Safety
/// The CPU must have AVX-512 F, BW, VBMI and VBMI2, BMI1 and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi1,popcnt")]
#[inline]
unsafe fn block_v3(d: &[u8], i: usize, out: &mut Vec<u32>) -> usize {
    use std::arch::x86_64::*;
    let b: &[u8; 64] = d[i..i + 64].try_into().expect("64 bytes");
    // SAFETY: `b` is 64 bytes; the load is unaligned and reads nothing else.
    let v = unsafe { _mm512_loadu_si512(b.as_ptr() as *const __m512i) };
    let m = Masks {
        // Bytes '0'..='9': below 10 once '0' is subtracted (unsigned, so smaller bytes wrap above).
        digit: _mm512_cmplt_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8(b'0' as i8)), _mm512_set1_epi8(10)),
        comma: _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b',' as i8)),
        newline: _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8)),
        zero: _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'0' as i8)),
    };
    let Some(sp) = span(&m, true) else {
        return i;
    };
    let ends = m.digit & !(m.digit >> 1) & sp.below;
    let count = sp.starts.count_ones() as usize;
    // SAFETY (the three loads): 64-byte arrays, unaligned loads.
    let (iota, lane, offset) = unsafe {
        (
            _mm512_loadu_si512(V3_IOTA.as_ptr() as *const __m512i),
            _mm512_loadu_si512(V3_LANE.as_ptr() as *const __m512i),
            _mm512_loadu_si512(V3_OFFSET.as_ptr() as *const __m512i),
        )
    };
    // First and last digit positions of numbers 0, 1, ... in bytes 0, 1, ... (zeros after the last).
    let first = _mm512_maskz_compress_epi8(sp.starts, iota);
    let last = _mm512_maskz_compress_epi8(ends, iota);
    let digits = _mm512_subs_epu8(v, _mm512_set1_epi8(b'0' as i8));
    let (w1, w2) = (_mm512_set1_epi16(0x010A), _mm512_set1_epi32(0x0001_0064));
    let w3 = _mm512_set1_epi64(10_000);
    // At most 32 numbers, written eight at a time.
    let mut buf = [0u32; 32];
    let mut n = 0;
    while n < count {
        let sel = _mm512_add_epi8(lane, _mm512_set1_epi8(n as i8));
        let e = _mm512_permutexvar_epi8(sel, last);
        let s = _mm512_permutexvar_epi8(sel, first);
        // Byte k of lane j reads block byte e_j - 7 + k (negative below the block: masked off, as is every
        // byte before the number's first digit).
        let at = _mm512_add_epi8(e, offset);
        let keep = _mm512_cmpge_epi8_mask(at, s);
        let x = _mm512_maskz_permutexvar_epi8(keep, at, digits);
        let x = _mm512_maddubs_epi16(x, w1);
        let x = _mm512_madd_epi16(x, w2);
        // Per 64-bit lane: the first 4 digits' value in the low half, the last 4 digits' in the high half.
        let x = _mm512_add_epi64(_mm512_mul_epu32(x, w3), _mm512_srli_epi64(x, 32));
        let x = _mm512_cvtepi64_epi32(x);
        // SAFETY: n <= 24 (n < count <= 32, a multiple of 8), so slots n..n + 8 are in `buf`.
        unsafe { _mm256_storeu_si256(buf.as_mut_ptr().add(n) as *mut __m256i, x) };
        n += 8;
    }
    add_first_of_nine(&mut buf, &sp, b);
    out.extend_from_slice(&buf[..count]);
    i + sp.last as usize + 1
}

/// Bit masks of a 64-byte block (bit k = byte k).
struct Masks {
    digit: u64,
    comma: u64,
    newline: u64,
    zero: u64,
}

/// [`Masks`] of `b` (64 bytes); `None` where there is no SIMD version (not x86-64).
#[inline(always)]
fn classify_64(b: &[u8]) -> Option<Masks> {
    #[cfg(target_arch = "x86_64")]
    {
        let b: &[u8; 64] = b.try_into().expect("64 bytes");
        // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it (and it is enabled at compile
        // time for every x86-64 target), so calling an `sse2` function is sound.
        Some(unsafe { classify_sse2(b) })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = b;
        None
    }
}

/// [`classify_64`] with SSE2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn classify_sse2(b: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    let mut m = Masks {
        digit: 0,
        comma: 0,
        newline: 0,
        zero: 0,
    };
    for k in 0..4 {
        // SAFETY: `b` is 64 bytes, so bytes 16k..16k + 16 (k < 4) are in bounds; the load is unaligned and
        // reads nothing else.
        let v = unsafe { _mm_loadu_si128(b.as_ptr().add(16 * k) as *const __m128i) };
        // ASCII digits are the bytes above '0' - 1 and below '9' + 1 as signed bytes (bytes >= 0x80 are
        // negative, so never digits).
        let digit = _mm_and_si128(
            _mm_cmpgt_epi8(v, _mm_set1_epi8(b'0' as i8 - 1)),
            _mm_cmplt_epi8(v, _mm_set1_epi8(b'9' as i8 + 1)),
        );
        let comma = _mm_cmpeq_epi8(v, _mm_set1_epi8(b',' as i8));
        let newline = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8));
        let zero = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'0' as i8));
        m.digit |= (_mm_movemask_epi8(digit) as u16 as u64) << (16 * k);
        m.comma |= (_mm_movemask_epi8(comma) as u16 as u64) << (16 * k);
        m.newline |= (_mm_movemask_epi8(newline) as u16 as u64) << (16 * k);
        m.zero |= (_mm_movemask_epi8(zero) as u16 as u64) << (16 * k);
    }
    m
}

/// Positions of the bytes of `word` that are not ASCII digits (high bit of each such byte), and the word with
/// digits mapped to 0..=9.
#[inline(always)]
fn digits(word: u64) -> (u64, u64) {
    let x = word ^ 0x3030_3030_3030_3030;
    // A digit byte becomes 0..=9, and 0..=9 + 0x76 stays below 0x80; any other byte has its high bit set by
    // the addition or by itself. Carries only leave non-digit bytes, and only the lowest one is looked at.
    ((x.wrapping_add(0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080, x)
}

/// The value of the `len` (1..=8) digits at the bottom of `x` (digits as 0..=9, first digit lowest): shifted to
/// the top of the word, zeros below, then reduced by multiply-shift steps (Lemire's 8-digit parse).
#[inline(always)]
fn swar_8(x: u64, len: usize) -> u64 {
    let v = x << (8 * (8 - len));
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    ((v & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32)))
        .wrapping_add(((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32)))
        >> 32
}

/// The bytes after a number's digits that end it on the fast path: `,` (one line), or `\n,` (V8 writes one
/// record per line): how many, or 0.
#[inline(always)]
fn separator(w: &[u8], at: usize) -> usize {
    match (w[at], w[at + 1]) {
        (b',', _) => 1,
        (b'\n', b',') => 2,
        _ => 0,
    }
}

/// `w` (16 bytes) starts with a JSON number of 1 to 10 digits that fits in `u32` (a leading `0` only alone),
/// followed by `,` or `\n,`: its value and the bytes up to the next value. `None` for anything else.
#[inline(always)]
fn swar_number(w: &[u8]) -> Option<(u32, usize)> {
    let (mask, x) = digits(u64::from_le_bytes(w[..8].try_into().ok()?));
    let len = (mask.trailing_zeros() / 8) as usize;
    if len == 0 || (w[0] == b'0' && len > 1) {
        return None;
    }
    if len < 8 {
        let sep = separator(w, len);
        return (sep != 0).then(|| (swar_8(x, len) as u32, len + sep));
    }
    // 8 digits so far: at most 2 more.
    let mut v = swar_8(x, 8);
    let mut len = 8;
    while len < 10 && w[len].is_ascii_digit() {
        v = v * 10 + (w[len] - b'0') as u64;
        len += 1;
    }
    let sep = separator(w, len);
    (sep != 0 && v <= u32::MAX as u64).then_some((v as u32, len + sep))
}

fn bad_byte(d: &[u8], i: usize, end: usize) -> String {
    if i >= end {
        return "expected a number".into();
    }
    match d[i] {
        b'-' => "negative number".into(),
        b'.' | b'e' | b'E' => "fractional or exponent number".into(),
        b',' => "expected a number before `,`".into(),
        b => format!("unexpected {} in a numeric array", show(b)),
    }
}

/// Parse a whole array into one flat `Vec<u32>` (for small sections and tests).
pub fn parse_flat(d: &[u8], range: Range<usize>, section: &str) -> Result<Vec<u32>, ParseError> {
    flat_values(&ArrayPlan::new(d, range, section)?, d)
}

/// Every value of the array `plan` describes, in one flat `Vec<u32>`.
pub(crate) fn flat_values(plan: &ArrayPlan, d: &[u8]) -> Result<Vec<u32>, ParseError> {
    let out: Vec<std::sync::atomic::AtomicU32> = (0..plan.len).map(|_| std::sync::atomic::AtomicU32::new(0)).collect();
    plan.parse(
        d,
        1,
        |r, _, v| {
            out[r].store(v, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        },
        |_| {},
    )?;
    Ok(out.into_iter().map(|a| a.into_inner()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(s: &str) -> Result<Vec<u32>, ParseError> {
        parse_flat(s.as_bytes(), 0..s.len(), "nodes")
    }

    /// The plan made from the scan's comma counts of `doc`'s `nodes` (if it can be made) and its values.
    fn plan_from_scan(doc: &str) -> (Option<ArrayPlan>, Result<Vec<u32>, ParseError>) {
        let d = doc.as_bytes();
        let sections = crate::scan::scan(d).unwrap();
        let r = sections.get("nodes").unwrap();
        let plan = ArrayPlan::from_commas(d, r, "nodes", sections.commas("nodes").unwrap());
        let values = plan.as_ref().map(|p| flat_values(p, d));
        (
            plan,
            values.unwrap_or_else(|| parse_flat(d, sections.get("nodes").unwrap(), "nodes")),
        )
    }

    #[test]
    fn plans_from_the_scan_counts_equal_a_plan_of_their_own() {
        // Arrays of 0 to 5 scan blocks (1 MiB each), both layouts, numbers of 1 to 10 digits, so block starts
        // fall inside numbers, on commas and on line breaks.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for (values, sep) in [
            (0usize, ","),
            (1, ","),
            (7, "\n,"),
            (300_000, ","),
            (600_000, "\n,"),
            (900_000, ","),
        ] {
            let mut body = String::new();
            let mut want = Vec::with_capacity(values);
            for k in 0..values {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x >> (x % 32)) as u32;
                if k > 0 {
                    body.push_str(if k % 7 == 0 { sep } else { "," });
                }
                body.push_str(&v.to_string());
                want.push(v);
            }
            let doc = format!("{{\"nodes\":[{body}],\"strings\":[]}}");
            let (plan, got) = plan_from_scan(&doc);
            let plan = plan.expect("every block holds a comma");
            assert_eq!(plan.len, values);
            assert_eq!(got.unwrap(), want, "{values} values");
            let own = ArrayPlan::new(doc.as_bytes(), 9..doc.len() - 14, "nodes").unwrap();
            assert_eq!(own.len, plan.len);
            if values > 300_000 {
                assert!(plan.chunks.len() > 1, "more than one block");
            }
        }
        // White space only, and a block without any comma: the plan is made by counting again, same values.
        assert_eq!(plan_from_scan("{\"nodes\":[ \n ]}").1.unwrap(), Vec::<u32>::new());
        let spaces = " ".repeat(3 << 20);
        let (plan, got) = plan_from_scan(&format!("{{\"nodes\":[1,2,{spaces}3,4]}}"));
        assert!(plan.is_none());
        assert_eq!(got.unwrap(), vec![1, 2, 3, 4]);
        // Errors keep their offsets: a bad byte in the third block.
        let mut body = vec!["12345"; 600_000].join(",");
        body.replace_range(2_500_000..2_500_001, "x");
        let doc = format!("{{\"nodes\":[{body}]}}");
        let (plan, got) = plan_from_scan(&doc);
        assert!(plan.is_some());
        assert_eq!(got.unwrap_err().offset, 10 + 2_500_000);
    }

    #[test]
    fn swar_numbers_equal_the_plain_parse() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..300_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 1 + (x % 10) as u32;
            let v = (x >> 8) % 10u64.pow(len);
            let text = format!("{v},xxxxxxxxxxxxxxxx");
            let got = swar_number(&text.as_bytes()[..16]);
            let want = (v <= u32::MAX as u64).then(|| (v as u32, v.to_string().len() + 1));
            assert_eq!(got, want, "{text}");
        }
        for bad in [
            &b"0123,xxxxxxxxxxx"[..],
            b"12345678901,xxxx",
            b"4294967296,xxxxx",
            b"12 ,xxxxxxxxxxxx",
            b",1234567xxxxxxxx",
            b"1234567xxxxxxxxx",
            b"123456789x,xxxxx",
            b"-1,xxxxxxxxxxxxx",
            b"1.5,xxxxxxxxxxxx",
            b"99999999999999,x",
        ] {
            assert_eq!(swar_number(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(swar_number(b"0,12345678901234"), Some((0, 2)));
        assert_eq!(swar_number(b"4294967295,xxxxx"), Some((u32::MAX, 11)));
        assert_eq!(swar_number(b"99999999,xxxxxxx"), Some((99_999_999, 9)));
        assert_eq!(swar_number(b"17\n,5,xxxxxxxxxx"), Some((17, 4)));
        assert_eq!(swar_number(b"4294967295\n,xxxx"), Some((u32::MAX, 12)));
        assert_eq!(swar_number(b"17\n\n,xxxxxxxxxx"), None);
        assert_eq!(swar_number(b"17\r\n,xxxxxxxxxx"), None);
    }

    #[test]
    fn parses_with_any_whitespace() {
        assert_eq!(flat("[]").unwrap(), Vec::<u32>::new());
        assert_eq!(flat("[ \n ]").unwrap(), Vec::<u32>::new());
        assert_eq!(flat("[1,2,3]").unwrap(), [1, 2, 3]);
        assert_eq!(flat("[ 1 ,\n2\r\n,\t3 ]").unwrap(), [1, 2, 3]);
        assert_eq!(flat("[4294967295]").unwrap(), [u32::MAX]);
    }

    #[test]
    fn rejects_bad_numbers_with_offsets() {
        let e = flat("[1,-2]").unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (3, "negative number"));
        assert_eq!(flat("[1,2.5]").unwrap_err().offset, 4);
        assert_eq!(flat("[1,2e3]").unwrap_err().offset, 4);
        assert_eq!(flat("[4294967296]").unwrap_err().offset, 1);
        assert_eq!(flat("[1,,2]").unwrap_err().offset, 3);
        assert_eq!(flat("[1,2,]").unwrap_err().offset, 5);
        assert_eq!(flat("[1 2]").unwrap_err().offset, 3);
        assert_eq!(flat("[1,x]").unwrap_err().offset, 3);
        assert_eq!(flat("[,]").unwrap_err().offset, 1);
    }

    #[test]
    fn two_cursors_equal_one() {
        // Every byte of a 2-layout array replaced in turn by bytes that break it or not: the split parse gives
        // the values and the error (offset and message) of the sequential one, as the last chunk and not.
        let base = "9,1,12345678,4294967295,0,77\n,3,1000000000,5,66,\n10,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16";
        for p in 0..base.len() {
            for b in [b'x', b',', b' ', b'0', b'\n', b'9'] {
                let mut t = base.as_bytes().to_vec();
                t[p] = b;
                for is_last in [true, false] {
                    let mut body = t.clone();
                    if !is_last {
                        body.push(b',');
                    }
                    let (mut one, mut two, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
                    let a = parse_range_with::<1>(&body, 0..body.len(), is_last, &mut one, true);
                    let z = parse_chunk(&body, 0..body.len(), is_last, &mut two, &mut scratch);
                    two.extend_from_slice(&scratch);
                    assert_eq!((a, one), (z, two), "byte {p} = {b}, last {is_last}");
                }
            }
        }
    }

    /// Every fast path over `body[from..]`: (name, result, values) of the sequential parse and of the split one,
    /// with each block parser this CPU runs.
    type Parsed = (Result<(), (usize, String)>, Vec<u32>);
    fn fast_parses(body: &[u8], from: usize, is_last: bool) -> Vec<(&'static str, Parsed)> {
        let r = from..body.len();
        let mut out = Vec::new();
        let (mut v, mut scratch) = (Vec::new(), Vec::new());
        let got = parse_range_with::<1>(body, r.clone(), is_last, &mut v, true);
        out.push(("v1", (got, std::mem::take(&mut v))));
        let got = parse_chunk_with::<1>(body, r.clone(), is_last, &mut v, &mut scratch);
        v.extend_from_slice(&scratch);
        out.push(("v1, two cursors", (got, std::mem::take(&mut v))));
        #[cfg(target_arch = "x86_64")]
        if has_v2() {
            #[target_feature(enable = "ssse3,sse4.1,bmi1,popcnt")]
            fn range_v2(d: &[u8], c: Range<usize>, is_last: bool, out: &mut Vec<u32>) -> Result<(), (usize, String)> {
                parse_range_with::<2>(d, c, is_last, out, true)
            }
            // SAFETY: the CPU has the features (checked just above).
            let got = unsafe { range_v2(body, r.clone(), is_last, &mut v) };
            out.push(("v2", (got, std::mem::take(&mut v))));
            // SAFETY: as above.
            let got = unsafe { parse_chunk_v2(body, r.clone(), is_last, &mut v, &mut scratch) };
            v.extend_from_slice(&scratch);
            out.push(("v2, two cursors", (got, std::mem::take(&mut v))));
        }
        #[cfg(target_arch = "x86_64")]
        if has_v3() {
            #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi1,popcnt")]
            fn range_v3(d: &[u8], c: Range<usize>, is_last: bool, out: &mut Vec<u32>) -> Result<(), (usize, String)> {
                parse_range_with::<3>(d, c, is_last, out, true)
            }
            // SAFETY: the CPU has the features (checked just above).
            let got = unsafe { range_v3(body, r.clone(), is_last, &mut v) };
            out.push(("v3", (got, std::mem::take(&mut v))));
            // SAFETY: as above.
            let got = unsafe { parse_chunk_v3(body, r.clone(), is_last, &mut v, &mut scratch) };
            v.extend_from_slice(&scratch);
            out.push(("v3, two cursors", (got, std::mem::take(&mut v))));
        }
        out
    }

    #[test]
    fn blocks_equal_the_checked_parse() {
        // Arrays in V8's layouts (numbers of 1 to 10 digits, `,` and `\n,` separators), long enough for many
        // 64-byte blocks at every alignment, with one byte replaced (breaking the layout or not) or none, after
        // 0 to 11 bytes of digits and commas outside the parsed range (the second block parser reads up to 7
        // bytes before a block): every fast path gives the values and the error (offset and message) of the
        // checked path alone.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = move |k: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % k
        };
        for case in 0..3000 {
            let mut t = Vec::new();
            for k in 0..20 + rnd(60) {
                if k > 0 {
                    t.extend_from_slice(if rnd(4) == 0 { b"\n," } else { b"," });
                }
                let len = [1, 1, 2, 3, 5, 8, 9, 10][rnd(8) as usize];
                let v = rnd(10u64.pow(len)).min(u32::MAX as u64);
                t.extend_from_slice(v.to_string().as_bytes());
            }
            if case % 4 != 0 {
                let p = rnd(t.len() as u64) as usize;
                t[p] = b"x, 0\n9-.\r"[rnd(9) as usize];
            }
            let prefix: Vec<u8> = (0..rnd(12)).map(|_| b"9,\n"[rnd(3) as usize]).collect();
            for is_last in [true, false] {
                let mut body = prefix.clone();
                body.extend_from_slice(&t);
                if !is_last {
                    body.push(b',');
                }
                let mut checked = Vec::new();
                let want = parse_range_with::<1>(&body, prefix.len()..body.len(), is_last, &mut checked, false);
                let text = String::from_utf8_lossy(&body);
                for (name, got) in fast_parses(&body, prefix.len(), is_last) {
                    assert_eq!(got, (want.clone(), checked.clone()), "{name}: {text}");
                }
            }
        }
    }

    #[test]
    fn invalid_values_are_reported_at_their_offset() {
        // Arrays long enough for the two-halves split of their chunks, one value rejected by the sink, at every
        // index (so in the first or second half of a chunk, or cut by a boundary), records of 1, 3 and 7 fields:
        // the error is at that value's byte offset.
        let vals: Vec<String> = (0..60).map(|k| (k * 37 % 1000 + 1).to_string()).collect();
        for bad in 0..vals.len() {
            let mut v = vals.clone();
            v[bad] = "4000000".into();
            let doc = format!("[{}]", v.join(","));
            let d = doc.as_bytes();
            let want = doc.find("4000000").unwrap() as u64;
            for chunk in [16, 40, 64, 100, 1 << 20] {
                let plan = ArrayPlan::with_chunk_size(d, 0..d.len(), "nodes", chunk).unwrap();
                for fields in [1, 3, 7] {
                    let reject = |_: usize, _: usize, x: u32| {
                        if x == 4_000_000 {
                            Err("too big".to_string())
                        } else {
                            Ok(())
                        }
                    };
                    let err = plan.parse(d, fields, reject, |_| {}).unwrap_err();
                    assert_eq!(
                        err.offset, want,
                        "value {bad}, chunks of {chunk} bytes, {fields} fields"
                    );
                }
            }
        }
    }

    #[test]
    fn small_chunks_parse_the_same() {
        let with_chunk = |s: &str, chunk: usize| -> Result<Vec<u32>, ParseError> {
            let d = s.as_bytes();
            flat_values(&ArrayPlan::with_chunk_size(d, 0..d.len(), "nodes", chunk)?, d)
        };
        for s in [
            "[]",
            "[ ]",
            "[1, 22 ,\n333,  4444 ]",
            "[1,,2]",
            "[1,2, ]",
            "[1 2]",
            "[ ,1]",
            "[7,4294967296]",
        ] {
            for chunk in 0..12 {
                assert_eq!(with_chunk(s, chunk), flat(s), "{s:?} in chunks of {chunk} bytes");
            }
        }
    }
}
