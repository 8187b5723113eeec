//! A clear message instead of a crash when a memory-mapped input file shrinks while heapsnap reads it.
//!
//! Touching a page of a file mapping past the file's (new) end raises SIGBUS, which would kill the process
//! with "Bus error". [`register`] installs (once, Linux only) a SIGBUS handler and records the mapping in a small
//! fixed-size static table: its address range, a preformatted message holding the file's path, and (once the
//! loader has scanned the file, [`Registration::set_sections`]) the byte ranges of its top-level sections. For a
//! fault inside a registered mapping the handler writes one line to stderr,
//! `heapsnap: FILE: the file shrank while it was being read (...): section `S`, byte offset N (the file is now L
//! bytes)`, and exits with code 2. N is the page that faulted: with parallel readers, any page past the new end,
//! not necessarily the first. For any other SIGBUS (a fault outside our mappings, or one sent with kill(2)) it
//! restores the default action and raises the signal again: the process dies of SIGBUS. (On Linux, Rust's own
//! handler for SIGBUS, which it installs to report stack overflows, never sees one: those raise SIGSEGV there.)
//!
//! The handler is async-signal-safe: it only loads atomics, copies bytes into a stack buffer, formats integers by
//! hand and calls `fstat(2)`, `write(2)`, `_exit(2)`, `pause(2)`, `sigaction(2)` and `raise(3)`; it never allocates
//! or locks. When several threads fault at once, one reports and the others wait for its `_exit`.
//! Slots are read under a sequence lock, so a slot being registered or released by another thread at that moment
//! is skipped rather than misread. Faults during the section scan, before the sections are known, name the
//! section `document`.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicPtr, AtomicUsize, Ordering};

/// Mappings that can be registered at once (a load registers one; `diff` loads a few side by side).
const MAX_MAPS: usize = 64;
/// Top-level sections remembered per mapping.
const MAX_SECTIONS: usize = 16;

/// Section names the handler can print (static: nothing is allocated at fault time). Index 0 is the fallback.
const NAMES: [&str; 9] = [
    "document",
    "snapshot",
    "nodes",
    "edges",
    "strings",
    "locations",
    "samples",
    "trace_function_infos",
    "trace_tree",
];

/// One registered mapping. All fields are atomics so the handler may read them at any time; `seq` is a
/// sequence lock (odd while the owner changes the other fields).
struct Slot {
    /// Claimed by a live [`Registration`].
    owned: AtomicBool,
    seq: AtomicUsize,
    base: AtomicUsize,
    len: AtomicUsize,
    msg: AtomicPtr<u8>,
    msg_len: AtomicUsize,
    /// The mapped file's descriptor (-1: unknown), for its current length at fault time.
    fd: AtomicI32,
    sections: AtomicUsize,
    sec_start: [AtomicUsize; MAX_SECTIONS],
    sec_end: [AtomicUsize; MAX_SECTIONS],
    sec_name: [AtomicUsize; MAX_SECTIONS],
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            owned: AtomicBool::new(false),
            seq: AtomicUsize::new(0),
            base: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            msg: AtomicPtr::new(std::ptr::null_mut()),
            msg_len: AtomicUsize::new(0),
            fd: AtomicI32::new(-1),
            sections: AtomicUsize::new(0),
            sec_start: [const { AtomicUsize::new(0) }; MAX_SECTIONS],
            sec_end: [const { AtomicUsize::new(0) }; MAX_SECTIONS],
            sec_name: [const { AtomicUsize::new(0) }; MAX_SECTIONS],
        }
    }

    /// Change the fields under the sequence lock (only the slot's owner calls this).
    fn write(&self, f: impl FnOnce(&Slot)) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        f(self);
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }
}

static SLOTS: [Slot; MAX_MAPS] = [const { Slot::new() }; MAX_MAPS];

/// A mapping registered with the handler; released on drop (before the mapping is unmapped: declare it before
/// the map in a struct, or drop it first).
pub(crate) struct Registration {
    slot: usize,
    /// The message prefix the slot points to; freed only after the slot no longer does.
    _msg: Box<[u8]>,
}

/// Register the mapping `map` of the file `path`, open as descriptor `fd` (which must stay open while the
/// registration lives; -1 if unknown). `None` when no slot is free or on platforms without the handler (the
/// file is then read as before: a shrinking file kills the process with SIGBUS).
pub(crate) fn register(map: &[u8], path: &Path, fd: i32) -> Option<Registration> {
    if !cfg!(target_os = "linux") || map.is_empty() {
        return None;
    }
    #[cfg(target_os = "linux")]
    handler::install();
    let slot = SLOTS.iter().position(|s| {
        s.owned
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    })?;
    let mut msg = Vec::new();
    if crate::timing::progress_enabled() {
        // Erase the progress line the message would otherwise be written into.
        msg.extend_from_slice(b"\r\x1b[2K");
    }
    msg.extend_from_slice(crate::report::style::error_prefix().as_bytes());
    msg.extend_from_slice(
        format!(
            " {}: the file shrank while it was being read (it must not change while heapsnap runs): section `",
            path.display()
        )
        .as_bytes(),
    );
    let mut msg = msg.into_boxed_slice();
    let (ptr, len) = (msg.as_mut_ptr(), msg.len());
    SLOTS[slot].write(|s| {
        s.base.store(map.as_ptr() as usize, Ordering::Relaxed);
        s.len.store(map.len(), Ordering::Relaxed);
        s.msg.store(ptr, Ordering::Relaxed);
        s.msg_len.store(len, Ordering::Relaxed);
        s.fd.store(fd, Ordering::Relaxed);
        s.sections.store(0, Ordering::Relaxed);
    });
    Some(Registration { slot, _msg: msg })
}

impl Registration {
    /// Record the top-level sections (name, byte range in the mapping) so a fault names its section. Sections
    /// without a known static name are left out (a fault there names `document`).
    pub(crate) fn set_sections<'a>(&self, sections: impl IntoIterator<Item = (&'a str, Range<usize>)>) {
        let known = sections
            .into_iter()
            .filter_map(|(name, r)| NAMES.iter().position(|&n| n == name).map(|i| (i, r)))
            .take(MAX_SECTIONS);
        SLOTS[self.slot].write(|s| {
            let mut n = 0;
            for (i, r) in known {
                s.sec_start[n].store(r.start, Ordering::Relaxed);
                s.sec_end[n].store(r.end, Ordering::Relaxed);
                s.sec_name[n].store(i, Ordering::Relaxed);
                n += 1;
            }
            s.sections.store(n, Ordering::Relaxed);
        });
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let s = &SLOTS[self.slot];
        s.write(|s| {
            s.base.store(0, Ordering::Relaxed);
            s.len.store(0, Ordering::Relaxed);
            s.msg.store(std::ptr::null_mut(), Ordering::Relaxed);
            s.msg_len.store(0, Ordering::Relaxed);
            s.fd.store(-1, Ordering::Relaxed);
            s.sections.store(0, Ordering::Relaxed);
        });
        s.owned.store(false, Ordering::Release);
    }
}

/// What the handler reports for a fault in a registered mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    msg: *const u8,
    msg_len: usize,
    section: &'static str,
    offset: usize,
    fd: i32,
}

/// The registered mapping holding `addr`, read consistently (async-signal-safe).
fn lookup(addr: usize) -> Option<Hit> {
    for s in &SLOTS {
        let s1 = s.seq.load(Ordering::Acquire);
        if s1 & 1 == 1 {
            continue;
        }
        let base = s.base.load(Ordering::Relaxed);
        let len = s.len.load(Ordering::Relaxed);
        if base == 0 || addr < base || addr - base >= len {
            continue;
        }
        let offset = addr - base;
        let mut secs = [(0usize, 0usize, 0usize); MAX_SECTIONS];
        let n = s.sections.load(Ordering::Relaxed).min(MAX_SECTIONS);
        for (k, e) in secs.iter_mut().enumerate().take(n) {
            *e = (
                s.sec_start[k].load(Ordering::Relaxed),
                s.sec_end[k].load(Ordering::Relaxed),
                s.sec_name[k].load(Ordering::Relaxed),
            );
        }
        let hit = Hit {
            msg: s.msg.load(Ordering::Relaxed),
            msg_len: s.msg_len.load(Ordering::Relaxed),
            section: section_at(&secs[..n], offset),
            offset,
            fd: s.fd.load(Ordering::Relaxed),
        };
        fence(Ordering::Acquire);
        if s.seq.load(Ordering::Relaxed) == s1 && !hit.msg.is_null() {
            return Some(hit);
        }
    }
    None
}

/// The name of the section (start, end, index into `NAMES`) holding byte `offset`; `document` outside them.
fn section_at(sections: &[(usize, usize, usize)], offset: usize) -> &'static str {
    sections
        .iter()
        .find(|&&(start, end, _)| (start..end).contains(&offset))
        .and_then(|&(_, _, i)| NAMES.get(i).copied())
        .unwrap_or(NAMES[0])
}

/// `n` in decimal, at the end of `buf`; returns where the digits start.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return i;
        }
    }
}

/// Copies into a fixed buffer; bytes that do not fit are dropped.
struct Line<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Line<'_> {
    fn push(&mut self, b: &[u8]) {
        let n = b.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
    }
}

/// The end of the message after the preformatted prefix: ``S`, byte offset N\n``, or with the file's current
/// length when known, ``S`, byte offset N (the file is now L bytes)\n`` (async-signal-safe).
fn format_tail(section: &str, offset: usize, now: Option<u64>, buf: &mut [u8]) -> usize {
    let mut line = Line { buf, len: 0 };
    line.push(section.as_bytes());
    line.push(b"`, byte offset ");
    let mut digits = [0u8; 20];
    let at = decimal(offset, &mut digits);
    line.push(&digits[at..]);
    if let Some(now) = now {
        line.push(b" (the file is now ");
        let at = decimal(now as usize, &mut digits);
        line.push(&digits[at..]);
        line.push(b" bytes)");
    }
    line.push(b"\n");
    line.len
}

#[cfg(target_os = "linux")]
mod handler {
    //! The signal handler proper and its installation.

    use std::sync::Once;

    use std::sync::atomic::{AtomicBool, Ordering};

    use super::{format_tail, lookup, Line};

    pub(super) fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            // SAFETY: `sigaction` is given a valid pointer to an initialised struct (all-zero is a valid
            // `sigaction`: no flags, empty mask), and the handler below is async-signal-safe.
            unsafe {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
                act.sa_flags = libc::SA_SIGINFO;
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(libc::SIGBUS, &act, std::ptr::null_mut());
            }
        });
    }

    /// The current length of the open file `fd` (`fstat(2)` is async-signal-safe); `None` if unknown.
    fn current_len(fd: i32) -> Option<u64> {
        if fd < 0 {
            return None;
        }
        // SAFETY: all-zero is a valid `stat`; `fstat` writes into it and only reads `fd`, which the
        // registration's owner keeps open while registered (a stale descriptor just fails or names another file,
        // and only changes the number printed).
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: see above; the pointer is to a live local.
        let rc = unsafe { libc::fstat(fd, &mut st) };
        (rc == 0).then_some(st.st_size as u64)
    }

    /// `write(2)` all of `b` to stderr, retrying short writes a bounded number of times.
    fn write_stderr(mut b: &[u8]) {
        for _ in 0..64 {
            if b.is_empty() {
                return;
            }
            // SAFETY: `b` is a valid, initialised byte slice for the length given.
            let n = unsafe { libc::write(2, b.as_ptr().cast(), b.len()) };
            if n > 0 {
                b = &b[n as usize..];
            }
        }
    }

    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid `siginfo_t` to an SA_SIGINFO handler; `si_addr` is the faulting
        // address for kernel-generated SIGBUS (si_code > 0) and is only used then.
        let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
        if code > 0 {
            if let Some(hit) = lookup(addr) {
                // Several threads may fault at once (parallel readers past the new end): one reports and ends
                // the process, the others wait for that.
                static REPORTING: AtomicBool = AtomicBool::new(false);
                if REPORTING.swap(true, Ordering::AcqRel) {
                    loop {
                        // SAFETY: `pause` is async-signal-safe; the reporting thread's `_exit` ends this one.
                        unsafe { libc::pause() };
                    }
                }
                // SAFETY: a slot's message pointer is set from a live `Registration`'s boxed bytes and cleared
                // (under the sequence lock that `lookup` checked) before they are freed; the registration of the
                // mapping being read cannot be dropped while a thread is reading it.
                let prefix = unsafe { std::slice::from_raw_parts(hit.msg, hit.msg_len) };
                let mut buf = [0u8; 4096];
                let mut line = Line { buf: &mut buf, len: 0 };
                let mut tail = [0u8; 128];
                let t = format_tail(hit.section, hit.offset, current_len(hit.fd), &mut tail);
                if prefix.len() + t <= line.buf.len() {
                    line.push(prefix);
                    line.push(&tail[..t]);
                    let n = line.len;
                    write_stderr(&buf[..n]);
                } else {
                    // A path of several kB: two writes, still one line.
                    write_stderr(prefix);
                    write_stderr(&tail[..t]);
                }
                // SAFETY: `_exit` is async-signal-safe and ends the process at once.
                unsafe { libc::_exit(2) };
            }
        }
        // Not ours: restore the default action and raise the signal again. It stays blocked until this handler
        // returns, then kills the process (a fault would also recur when the faulting instruction runs again).
        // SAFETY: all-zero is a valid `sigaction` (no flags, empty mask); `sigaction` and `raise` are
        // async-signal-safe and get valid pointers.
        unsafe {
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(libc::SIGBUS, &default, std::ptr::null_mut());
            libc::raise(sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(section: &str, offset: usize) -> String {
        let mut b = [0u8; 128];
        let n = format_tail(section, offset, None, &mut b);
        String::from_utf8(b[..n].to_vec()).unwrap()
    }

    #[test]
    fn formats_integers_and_the_tail_by_hand() {
        for n in [0usize, 7, 10, 4096, 1_234_567, usize::MAX] {
            let mut d = [0u8; 20];
            let at = decimal(n, &mut d);
            assert_eq!(std::str::from_utf8(&d[at..]).unwrap(), n.to_string());
        }
        assert_eq!(tail("edges", 2_316_288), "edges`, byte offset 2316288\n");
        let mut b = [0u8; 128];
        let n = format_tail("nodes", 3_146_608, Some(2_316_514), &mut b);
        assert_eq!(
            std::str::from_utf8(&b[..n]).unwrap(),
            "nodes`, byte offset 3146608 (the file is now 2316514 bytes)\n"
        );
        // Too small a buffer: truncated, not overrun.
        let mut b = [0u8; 8];
        assert_eq!(format_tail("strings", 5, None, &mut b), 8);
        assert_eq!(&b, b"strings`");
    }

    #[test]
    fn finds_the_section_of_an_offset() {
        let secs = [(10, 20, 1), (25, 100, 2), (100, 150, 3), (160, 170, 4)];
        assert_eq!(section_at(&secs, 0), "document");
        assert_eq!(section_at(&secs, 10), "snapshot");
        assert_eq!(section_at(&secs, 19), "snapshot");
        assert_eq!(section_at(&secs, 20), "document");
        assert_eq!(section_at(&secs, 99), "nodes");
        assert_eq!(section_at(&secs, 100), "edges");
        assert_eq!(section_at(&secs, 165), "strings");
        assert_eq!(section_at(&[], 5), "document");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn registered_mappings_are_found_and_released() {
        let bytes = vec![b'x'; 300];
        let reg = register(&bytes, Path::new("/tmp/a b.heapsnapshot"), -1).unwrap();
        reg.set_sections([
            ("snapshot", 1..50),
            ("x_unknown", 50..60),
            ("nodes", 60..200),
            ("strings", 200..300),
        ]);
        let base = bytes.as_ptr() as usize;
        let hit = lookup(base + 150).unwrap();
        assert_eq!((hit.section, hit.offset), ("nodes", 150));
        assert_eq!(lookup(base + 55).unwrap().section, "document");
        assert_eq!(lookup(base + 299).unwrap().section, "strings");
        // SAFETY: the registration (and so the message) is alive.
        let msg = unsafe { std::slice::from_raw_parts(hit.msg, hit.msg_len) };
        let msg = String::from_utf8_lossy(msg);
        assert!(msg.ends_with(" /tmp/a b.heapsnapshot: the file shrank while it was being read (it must not change while heapsnap runs): section `"), "{msg}");
        assert_eq!(lookup(base + 300), None);
        drop(reg);
        assert_eq!(lookup(base + 150), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_loader_registers_the_sections_of_a_mapped_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/synthetic/random-1-300.heapsnapshot");
        let input = crate::input::Input::open(&path).unwrap();
        let d = input.bytes();
        let base = d.as_ptr() as usize;
        let at = |key: &str| d.windows(key.len()).position(|w| w == key.as_bytes()).unwrap() + key.len();
        // Before the load: the file is known, its sections are not.
        assert_eq!(lookup(base + at("\"edges\":") + 5).unwrap().section, "document");
        crate::Snapshot::from_input(&input).unwrap();
        for name in ["nodes", "edges", "strings"] {
            let hit = lookup(base + at(&format!("\"{name}\":")) + 5).unwrap();
            assert_eq!(hit.section, name);
        }
    }
}
