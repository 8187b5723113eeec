//! Locality figures of snapshots' node order (`heapsnap::locality`): one line per snapshot, which
//! `benches/compare.sh` prints beside each heap shape's timings.
//!
//!   cargo bench --bench locality -- FILE...
//!
//! Without files: the committed fixtures (`fixtures/*.heapsnapshot.gz`, `fixtures/browser/page`,
//! `fixtures/shapes/*`). Output: `FILE nodes=N edges=M reached=R dfs_miss=0.0131 dfs_near=0.468 dfs_jump=J edge_near=0.415 span=S`
//! (see the module doc of `heapsnap::locality` for each figure).

use std::path::PathBuf;

use heapsnap::Snapshot;

fn main() {
    // cargo bench passes `--bench`; anything starting with `-` is not a file.
    let mut files: Vec<PathBuf> = std::env::args_os()
        .skip(1)
        .filter(|a| !a.to_string_lossy().starts_with('-'))
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for dir in [root.clone(), root.join("browser"), root.join("shapes")] {
            let Ok(rd) = std::fs::read_dir(&dir) else { continue };
            let mut found: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".heapsnapshot.gz"))
                .collect();
            found.sort();
            files.extend(found);
        }
    }
    let mut failed = false;
    for f in &files {
        match Snapshot::open(f) {
            Ok(snap) => {
                let l = heapsnap::locality::measure(&snap);
                println!(
                    "{} nodes={} edges={} reached={} dfs_miss={:.4} dfs_near={:.3} dfs_jump={} edge_near={:.3} span={}",
                    f.display(),
                    l.nodes,
                    l.edges,
                    l.reached,
                    l.dfs_miss,
                    l.dfs_near,
                    l.dfs_median_jump,
                    l.edge_near,
                    l.median_span
                );
            }
            Err(e) => {
                eprintln!("{}: {e:#}", f.display());
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
