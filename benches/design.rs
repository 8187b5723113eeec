//! The measurements behind `docs/design.md`: why simd-json and petgraph's dominator algorithm are not on
//! heapsnap's hot path. A plain binary (no harness) that prints its figures:
//!
//! ```sh
//! node --expose-gc fixtures/gen/big.js /tmp/big200.heapsnapshot 200     # ~200 MB, not committed
//! cargo bench --bench design -- all /tmp/big200.heapsnapshot          # or tape | parsers | dominators
//! ```
//!
//! * `tape`: simd-json's tape of the whole file (`simd_json::to_tape` on an owned copy, as it needs `&mut`):
//!   its token count, the tape's bytes (`tokens * size_of::<Node>()`), and the peak RSS the parse adds over the
//!   file bytes already in memory (peak reset through `/proc/self/clear_refs`, Linux);
//! * `parsers`: throughput on the same `nodes` and `edges` arrays (brackets included) of serde_json
//!   (`Vec<u32>`), simd-json (`serde::from_slice::<Vec<u32>>` and `to_tape`; the copy of the input each call
//!   needs is timed apart) and heapsnap's parser (`numbers::parse_flat`, 1 thread and all threads), best and
//!   median of five runs;
//! * `dominators`: on the essential-edge graph of the loaded snapshot, petgraph's
//!   `dominators::simple_fast` (through `EdgeFiltered` over the petgraph view, as tests/petgraph_traits.rs)
//!   against heapsnap's Semi-NCA (`dominators::semi_nca` over `EssentialGraph`): wall time, peak RSS added,
//!   and whether the two trees agree.
//!
//! Without a FILE it prints this usage and exits 0 (so a plain `cargo bench` does not fail).

use std::hint::black_box;
use std::time::{Duration, Instant};

use heapsnap::dominators::{semi_nca, EssentialGraph, NONE};
use heapsnap::{numbers, scan, Analysis, Snapshot};
use petgraph::visit::EdgeFiltered;

const RUNS: usize = 5;

/// A `/proc/self/status` field in KiB (`VmRSS`, `VmHWM`), 0 where there is none.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak RSS to the current RSS (Linux >= 4.0) and returns the current RSS in bytes.
fn reset_peak() -> u64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_kib("VmRSS") * 1024
}

/// Peak RSS since the last [`reset_peak`], in bytes.
fn peak() -> u64 {
    status_kib("VmHWM") * 1024
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// CPU time (user + system) of the whole process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given, which is zeroed and of the type it expects.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// One call of `f`: its result, wall time and CPU time. On a shared machine the CPU time is the figure to
/// compare: the wall time also counts the time other processes had the cores.
fn once<T>(f: impl FnOnce() -> T) -> (T, Duration, Duration) {
    let (w, c) = (Instant::now(), cpu_time());
    let out = black_box(f());
    (out, w.elapsed(), cpu_time() - c)
}

/// Medians of `RUNS` calls (wall, CPU) and the best CPU time.
struct Times {
    wall: Duration,
    cpu: Duration,
    cpu_best: Duration,
}

fn timed<T>(mut f: impl FnMut() -> T) -> Times {
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..RUNS {
        let (_, w, c) = once(&mut f);
        wall.push(w);
        cpu.push(c);
    }
    wall.sort();
    cpu.sort();
    Times {
        wall: wall[RUNS / 2],
        cpu: cpu[RUNS / 2],
        cpu_best: cpu[0],
    }
}

/// `t` without the input copy `copy` that each of its calls made.
fn minus(t: &Times, copy: &Times) -> Times {
    Times {
        wall: t.wall.saturating_sub(copy.wall),
        cpu: t.cpu.saturating_sub(copy.cpu),
        cpu_best: t.cpu_best.saturating_sub(copy.cpu_best),
    }
}

fn report(what: &str, bytes: usize, t: &Times) {
    let rate = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    println!(
        "  {what:<50} CPU median {:>7.1} ms = {:>5.0} MB per CPU-second (best {:>5.0}); wall median {:>7.1} ms = {:>5.0} MB/s",
        t.cpu.as_secs_f64() * 1e3,
        rate(t.cpu),
        rate(t.cpu_best),
        t.wall.as_secs_f64() * 1e3,
        rate(t.wall)
    );
}

fn tape(data: &[u8]) {
    println!("simd-json tape of the whole file ({:.1} MB):", mb(data.len() as u64));
    let mut copy = data.to_vec();
    let base = reset_peak();
    let (tape, wall, cpu) = once(|| simd_json::to_tape(&mut copy).expect("simd-json parses the snapshot"));
    let added = peak().saturating_sub(base);
    let tokens = tape.0.len();
    let node = std::mem::size_of::<simd_json::Node<'_>>();
    println!(
        "  to_tape: {:.2} s CPU, {:.2} s wall",
        cpu.as_secs_f64(),
        wall.as_secs_f64()
    );
    println!(
        "  tokens {tokens}, {node} bytes each: tape {:.1} MB = {:.2}x the file; {:.3} tokens per file byte",
        mb((tokens * node) as u64),
        (tokens * node) as f64 / data.len() as f64,
        tokens as f64 / data.len() as f64
    );
    println!(
        "  peak RSS added by the parse (tape and simd-json's buffers, over the input copy): {:.1} MB = {:.2}x the file",
        mb(added),
        added as f64 / data.len() as f64
    );
    println!(
        "  with the file and its mutable copy: {:.2}x the file in memory at the peak",
        (added + 2 * data.len() as u64) as f64 / data.len() as f64
    );
    drop(tape);
}

fn parsers(data: &[u8]) {
    let sections = scan::scan(data).expect("scan");
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let all = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    for name in ["nodes", "edges"] {
        let range = sections.get(name).expect("section");
        let bytes = &data[range.clone()];
        let n = numbers::parse_flat(data, range.clone(), name)
            .expect("heapsnap parses")
            .len();
        println!("`{name}` array: {:.1} MB, {n} numbers", mb(bytes.len() as u64));

        let v: Vec<u32> = serde_json::from_slice(bytes).expect("serde_json");
        assert_eq!(v.len(), n);
        drop(v);
        let t = timed(|| serde_json::from_slice::<Vec<u32>>(bytes).unwrap());
        report("serde_json::from_slice::<Vec<u32>>", bytes.len(), &t);

        let mut buf = bytes.to_vec();
        let copy = timed(|| buf.copy_from_slice(bytes));
        report("(the input copy simd-json needs, taken out below)", bytes.len(), &copy);
        let v: Vec<u32> = simd_json::serde::from_slice(&mut buf).expect("simd-json");
        assert_eq!(v.len(), n);
        drop(v);
        let t = timed(|| {
            buf.copy_from_slice(bytes);
            simd_json::serde::from_slice::<Vec<u32>>(&mut buf).unwrap().len()
        });
        report(
            "simd_json::serde::from_slice::<Vec<u32>>",
            bytes.len(),
            &minus(&t, &copy),
        );
        let t = timed(|| {
            buf.copy_from_slice(bytes);
            simd_json::to_tape(&mut buf).unwrap().0.len()
        });
        report(
            "simd_json::to_tape (the tape only, no Vec<u32>)",
            bytes.len(),
            &minus(&t, &copy),
        );

        let t = timed(|| one.install(|| numbers::parse_flat(data, range.clone(), name).unwrap()));
        report("heapsnap numbers::parse_flat, 1 thread", bytes.len(), &t);
        let t = timed(|| all.install(|| numbers::parse_flat(data, range.clone(), name).unwrap()));
        report(
            &format!("heapsnap numbers::parse_flat, {threads} threads"),
            bytes.len(),
            &t,
        );
    }
    let t = timed(|| one.install(|| Snapshot::from_bytes(data).unwrap()));
    report("heapsnap Snapshot::from_bytes (whole file), 1 thread", data.len(), &t);
}

fn dominators(data: &[u8]) {
    let (an, wall, cpu) = once(|| Analysis::new(Snapshot::from_bytes(data).expect("load")).expect("analysis"));
    let s = &an.snap;
    println!(
        "essential-edge graph: {} nodes, {} of {} edges essential (whole analysis: {:.2} s CPU, {:.2} s wall)",
        s.node_count(),
        an.essential.count_ones(..),
        s.edge_count(),
        cpu.as_secs_f64(),
        wall.as_secs_f64()
    );
    let g = an.graph();

    let base = reset_peak();
    let (ours, w_ours, t_ours) = once(|| {
        semi_nca(
            &EssentialGraph {
                snap: s,
                essential: &an.essential,
            },
            s.root,
            true,
        )
    });
    let m_ours = peak().saturating_sub(base);
    println!(
        "  heapsnap semi_nca:                {:>8.2} s CPU ({:>7.2} s wall), peak RSS +{:>7.1} MB",
        t_ours.as_secs_f64(),
        w_ours.as_secs_f64(),
        mb(m_ours)
    );

    let base = reset_peak();
    let ess = EdgeFiltered::from_fn(g, |e: heapsnap::graph::EdgeRef<'_>| {
        an.essential.contains(e.index as usize)
    });
    let (pd, w_pg, t_pg) = once(|| petgraph::algo::dominators::simple_fast(&ess, s.root));
    let m_pg = peak().saturating_sub(base);
    println!(
        "  petgraph dominators::simple_fast: {:>8.2} s CPU ({:>7.2} s wall), peak RSS +{:>7.1} MB: {:.1}x the CPU time, {:.1}x the memory",
        t_pg.as_secs_f64(),
        w_pg.as_secs_f64(),
        mb(m_pg),
        t_pg.as_secs_f64() / t_ours.as_secs_f64(),
        m_pg as f64 / m_ours.max(1) as f64
    );
    let differ = (0..s.node_count() as u32)
        .filter(|&v| {
            let theirs = if v == s.root {
                s.root
            } else {
                pd.immediate_dominator(v).unwrap_or(NONE)
            };
            theirs != ours.idom[v as usize]
        })
        .count();
    println!("  immediate dominators that differ: {differ}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let (what, file) = match args.as_slice() {
        [what, file] => (what.as_str(), file),
        _ => {
            println!("usage: cargo bench --bench design -- all|tape|parsers|dominators FILE.heapsnapshot");
            return;
        }
    };
    let data = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    println!("{file}: {:.1} MB", mb(data.len() as u64));
    if matches!(what, "tape" | "all") {
        tape(&data);
    }
    if matches!(what, "parsers" | "all") {
        parsers(&data);
    }
    if matches!(what, "dominators" | "all") {
        dominators(&data);
    }
}
