//! `heapsnap tree`: the dominator tree drilled down from the root (or from `@ID`), largest children first
//! (retained size descending, then id). Children below `--min-size` or past `--max-children` are folded into
//! one "… N more" line per parent. Cost: O(children) per node shown plus a sort of each expanded node's
//! children.

use std::io::Write;

use anyhow::Result;

use crate::analysis::Analysis;
use crate::app::Outcome;
use crate::cli::TreeArgs;
use crate::commands::retainers::find_id;
use crate::paths;
use crate::report::tree::{Omitted, TreeNode, TreeReport};
use crate::report::Render;
use crate::summary::SCHEMA_VERSION;

/// Parse a size: bytes (`1024`), 1000-based `kB`/`MB`/`GB`/`TB` (also `k`, `M`, `G`, `T`; any case) or 1024-based
/// `KiB`/`MiB`/`GiB`/`TiB`; decimals allowed (`1.5MB`), a space before the unit too (`500 kB`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim());
    let bad = || format!("`{s}` is not a size (examples: 1024, 500kB, 1.5MB, 2MiB)");
    if num.is_empty() {
        return Err(bad());
    }
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(bad()),
    };
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult).ok_or_else(|| format!("`{s}` is too large"));
    }
    let v: f64 = num.parse().map_err(|_| bad())?;
    let bytes = (v * mult as f64).round();
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("`{s}` is too large"));
    }
    Ok(bytes as u64)
}

/// `heapsnap tree`.
pub fn run(a: TreeArgs, out: &mut dyn Write) -> Result<Outcome> {
    let an = crate::app::load_without_distances(&a.file)?;
    let t = crate::timing::Phase::start("tree report");
    let start = match a.id {
        Some(id) => find_id(&an, id)?,
        None => an.snap.root,
    };
    let report = build_tree(
        &an,
        &a.file.display().to_string(),
        start,
        TreeOptions {
            depth: a.depth,
            min_size: a.min_size,
            max_children: a.max_children,
        },
    );
    t.done();
    crate::app::dispose(an);
    report.write(a.format, out)?;
    Ok(Outcome::Ok)
}

/// What to show of the tree.
#[derive(Debug, Clone, Copy)]
pub struct TreeOptions {
    /// Levels below the start node.
    pub depth: usize,
    /// Hide children retaining less.
    pub min_size: u64,
    /// At most this many children per node.
    pub max_children: usize,
}

/// Build the `tree` report from node ordinal `start`.
pub fn build_tree(an: &Analysis, file: &str, start: u32, opt: TreeOptions) -> TreeReport {
    TreeReport {
        schema_version: SCHEMA_VERSION,
        file: file.to_string(),
        total_size: an.total_size(),
        depth: opt.depth,
        min_size: opt.min_size,
        max_children: opt.max_children,
        root: subtree(an, start, opt.depth, &opt),
    }
}

/// The node `o` with `levels` levels of children (recursion depth = `--depth`, chosen by the user).
fn subtree(an: &Analysis, o: u32, levels: usize, opt: &TreeOptions) -> TreeNode {
    let s = &an.snap;
    let oi = o as usize;
    let kids = an.dom.children(o);
    let mut node = TreeNode {
        id: s.node_id[oi],
        node_type: s.type_name(o).to_string(),
        name: paths::display_name(s, o),
        self_size: s.node_self[oi] as u64,
        retained_size: an.dom.retained.get(oi),
        child_count: kids.len() as u64,
        children: Vec::new(),
        omitted: Omitted::default(),
        source: crate::names::closure_source(s, o),
    };
    if kids.is_empty() || levels == 0 {
        // Below `--depth`: `child_count` says what is there, nothing is listed or folded.
        return node;
    }
    let mut shown: Vec<u32> = Vec::new();
    for &c in kids {
        let r = an.dom.retained.get(c as usize);
        if r >= opt.min_size {
            shown.push(c);
        } else {
            node.omitted.count += 1;
            node.omitted.retained_size += r;
        }
    }
    shown.sort_unstable_by(|&x, &y| {
        an.dom
            .retained
            .get(y as usize)
            .cmp(&an.dom.retained.get(x as usize))
            .then(s.node_id[x as usize].cmp(&s.node_id[y as usize]))
            .then(x.cmp(&y))
    });
    for &c in shown.iter().skip(opt.max_children) {
        node.omitted.count += 1;
        node.omitted.retained_size += an.dom.retained.get(c as usize);
    }
    shown.truncate(opt.max_children);
    node.children = shown.into_iter().map(|c| subtree(an, c, levels - 1, opt)).collect();
    node
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("500kB"), Ok(500_000));
        assert_eq!(parse_size("500 KB"), Ok(500_000));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("0.5KiB"), Ok(512));
        assert_eq!(parse_size("3GiB"), Ok(3 << 30));
        assert_eq!(parse_size("7b"), Ok(7));
        assert!(parse_size("MB").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("1.2.3MB").is_err());
        assert!(parse_size("99999999999999999999").is_err());
    }
}
