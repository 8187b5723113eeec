//! Load throughput (bytes/s) of the loader and of the whole analysis, 1 thread vs all threads.
//!
//! Inputs: the committed fixtures (decompressed in memory), plus `$HEAPSNAP_BENCH_FILE` if set (e.g. a 1.2 GB
//! snapshot from `fixtures/gen/big.js`; not committed). Run `cargo bench --bench load`.

use std::io::Read;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use heapsnap::{Analysis, Snapshot};

fn inputs() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    for name in ["service.heapsnapshot.gz", "browser/page.heapsnapshot.gz"] {
        let raw = std::fs::read(root.join(name)).expect("fixture");
        let mut d = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut d)
            .expect("gzip");
        out.push((name.trim_end_matches(".heapsnapshot.gz").replace('/', "-"), d));
    }
    if let Some(p) = std::env::var_os("HEAPSNAP_BENCH_FILE") {
        let p = PathBuf::from(p);
        let d = std::fs::read(&p).expect("HEAPSNAP_BENCH_FILE");
        out.push((p.file_name().unwrap().to_string_lossy().into_owned(), d));
    }
    out
}

fn bench(c: &mut Criterion) {
    let all = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut threads = vec![1];
    if all > 1 {
        threads.push(all);
    }
    for (name, data) in inputs() {
        let mut g = c.benchmark_group(format!("load/{name}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        if data.len() > 100 << 20 {
            g.sample_size(10);
        }
        for &t in &threads {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
            g.bench_with_input(BenchmarkId::new("parse", t), &data, |b, d| {
                b.iter(|| pool.install(|| Snapshot::from_bytes(d).unwrap()))
            });
            g.bench_with_input(BenchmarkId::new("parse+analyse", t), &data, |b, d| {
                b.iter(|| pool.install(|| Analysis::new(Snapshot::from_bytes(d).unwrap()).unwrap()))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
