//! Shared helpers for integration tests: locating fixtures and their DevTools goldens, reading the oracle's
//! `nodes.bin` layout.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A snapshot with golden files from `../shared/oracle/devtools-oracle.mjs`.
#[derive(Debug, Clone)]
pub struct Golden {
    /// The snapshot.
    pub snapshot: PathBuf,
    /// `summary` output.
    pub summary: PathBuf,
    /// `nodes` output (.bin.gz), when present.
    pub nodes: Option<PathBuf>,
}

fn existing(p: PathBuf) -> Option<PathBuf> {
    p.exists().then_some(p)
}

fn snapshot_at(base: &Path) -> Option<PathBuf> {
    let plain = base.with_extension("heapsnapshot");
    let gz = base.with_extension("heapsnapshot.gz");
    existing(plain).or_else(|| existing(gz))
}

/// Every snapshot that has a `summary` golden, found by the naming conventions of `fixtures/README.md`.
pub fn goldens() -> Vec<Golden> {
    let r = repo().join("fixtures");
    let mut out = Vec::new();
    let mut add = |snapshot: Option<PathBuf>, summary: PathBuf, nodes: PathBuf| {
        let snapshot = snapshot.unwrap_or_else(|| panic!("no snapshot for golden {}", summary.display()));
        out.push(Golden {
            snapshot,
            summary,
            nodes: existing(nodes),
        });
    };
    for dir in [r.join("golden"), r.join("browser/golden")] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<_> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for f in names {
            let Some(name) = f.strip_suffix(".summary.json") else {
                continue;
            };
            let parent = dir.parent().unwrap();
            let base = match (name.strip_prefix("synthetic-"), name.strip_prefix("shapes-")) {
                (Some(rest), _) => parent.join("synthetic").join(rest),
                (_, Some(rest)) => parent.join("shapes").join(rest),
                _ => parent.join(name),
            };
            add(
                snapshot_at(&base),
                dir.join(&f),
                dir.join(format!("{name}.nodes.bin.gz")),
            );
        }
    }
    for (scen_dir, golden_dir) in leak_dirs() {
        let s = golden_dir.join("summary-3.json");
        if s.exists() {
            add(snapshot_at(&scen_dir.join("3")), s, golden_dir.join("nodes-3.bin.gz"));
        }
    }
    assert!(!out.is_empty(), "no goldens found under fixtures/");
    out
}

/// Leak scenarios: (directory with 1/2/3 snapshots, directory with their goldens).
pub fn leak_dirs() -> Vec<(PathBuf, PathBuf)> {
    let r = repo().join("fixtures");
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(r.join("leaks")) {
        let mut d: Vec<_> = rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        d.sort();
        out.extend(d.into_iter().map(|p| (p.clone(), p)));
    }
    let b = r.join("browser/leak-detached");
    if b.exists() {
        out.push((b, r.join("browser/golden/leak-detached")));
    }
    out
}

/// The oracle's per-node columns.
#[derive(Debug)]
pub struct OracleNodes {
    pub root: u32,
    pub id: Vec<u32>,
    pub self_size: Vec<u32>,
    pub retained: Vec<f64>,
    pub dominator_id: Vec<u32>,
    pub distance: Vec<i32>,
}

/// Read a (gzipped) `nodes.bin`.
pub fn read_nodes(path: &Path) -> OracleNodes {
    let raw = std::fs::read(path).unwrap();
    let mut b = Vec::new();
    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut b).unwrap();
    assert_eq!(&b[..8], b"DTNODES1");
    let u32at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let n = u32at(8) as usize;
    let root = u32at(12);
    let mut off = 16;
    let col32 = |off: &mut usize| {
        let v: Vec<u32> = (0..n).map(|i| u32at(*off + 4 * i)).collect();
        *off += 4 * n;
        v
    };
    let id = col32(&mut off);
    let self_size = col32(&mut off);
    let retained: Vec<f64> = (0..n)
        .map(|i| f64::from_le_bytes(b[off + 8 * i..off + 8 * i + 8].try_into().unwrap()))
        .collect();
    off += 8 * n;
    let dominator_id = col32(&mut off);
    let distance: Vec<i32> = col32(&mut off).into_iter().map(|x| x as i32).collect();
    OracleNodes {
        root,
        id,
        self_size,
        retained,
        dominator_id,
        distance,
    }
}

/// A JSON Schema with every object schema closed (`additionalProperties: false` where it lists `properties`), so
/// a field the schema does not describe fails validation (tests/json_schemas.rs, tests/record.rs).
pub fn closed_schema(mut schema: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                    m.insert("additionalProperties".into(), serde_json::Value::Bool(false));
                }
                m.values_mut().for_each(walk);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}
