//! `heapsnap retainers`: why one object is alive — its shortest retaining paths, its dominator chain and its
//! direct retainers as DevTools' Retainers view shows them (see [`crate::paths`] for each definition).
//! The object is given as `@ID` (or `ID`), or as `--class NAME`: the largest instance of that class by
//! retained size (ties: snapshot order).

use std::io::Write;

use anyhow::{bail, Result};

use crate::analysis::Analysis;
use crate::app::Outcome;
use crate::cli::RetainersArgs;
use crate::paths::{self, by_retained_desc, PathLimits};
use crate::report::retainers::{
    DevtoolsPaths, DevtoolsStep, DominatorOut, EdgeOut, HopOut, NodeInfo, PathNode, PathOut, RetainersReport,
    RetainersView, ViewNode,
};
use crate::report::Render;
use crate::summary::SCHEMA_VERSION;

/// Parse a node id as DevTools writes it (`@123`) or bare (`123`).
pub fn parse_node_id(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t.strip_prefix('@').unwrap_or(t);
    digits
        .parse::<u32>()
        .map_err(|_| format!("`{s}` is not a node id (expected @123 or 123)"))
}

/// `heapsnap retainers`.
pub fn run(a: RetainersArgs, out: &mut dyn Write) -> Result<Outcome> {
    if a.paths == 0 {
        bail!("--paths must be at least 1");
    }
    let an = crate::app::load(&a.file)?;
    let t = crate::timing::Phase::start("retainers report");
    let o = match (a.id, a.class.as_deref()) {
        (Some(id), _) => find_id(&an, id)?,
        (None, Some(class)) => largest_of_class(&an, class)?,
        (None, None) => bail!("give a node id (@123) or --class NAME"),
    };
    let report = build_retainers(&an, &a.file.display().to_string(), o, a.paths, a.limit);
    t.done();
    crate::app::dispose(an);
    report.write(a.format, out)?;
    Ok(Outcome::Ok)
}

/// The ordinal of node `@id`, or an error naming the id.
pub fn find_id(an: &Analysis, id: u32) -> Result<u32> {
    match an.snap.ordinal_of_id(id) {
        Some(o) => Ok(o),
        None => bail!("no node with id @{id} in this snapshot"),
    }
}

/// The largest instance (retained size, then snapshot order) of the Summary-view class named `name` (see
/// [`matching_classes`] for what matches).
pub fn largest_of_class(an: &Analysis, name: &str) -> Result<u32> {
    let classes = matching_classes(&an.classes.table, name)?;
    (0..an.snap.node_count() as u32)
        .filter(|&o| classes[an.classes.of_node[o as usize] as usize])
        .min_by(|&x, &y| by_retained_desc(an, x, y))
        .ok_or_else(|| anyhow::anyhow!("class `{name}` has no instances"))
}

/// Close names suggested when nothing matches.
const SUGGESTIONS: usize = 5;

/// Which classes `--class NAME` means, as a mask over `table`: every class whose name or key is `name`; else
/// every class whose name (or key) starts with `name` when those share one name (a unique prefix, for the long
/// `{a, b, …}` names); else an error listing the candidates of an ambiguous prefix or the names closest to
/// `name` (Jaro-Winkler similarity).
pub fn matching_classes(table: &[crate::devtools::classes::ClassInfo], name: &str) -> Result<Vec<bool>> {
    let exact: Vec<bool> = table.iter().map(|c| c.name == name || c.key == name).collect();
    if exact.iter().any(|&x| x) {
        return Ok(exact);
    }
    let prefix: Vec<bool> = table
        .iter()
        .map(|c| c.name.starts_with(name) || c.key.starts_with(name))
        .collect();
    let mut names: Vec<&str> = table
        .iter()
        .zip(&prefix)
        .filter(|(_, &p)| p)
        .map(|(c, _)| c.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    match names.len() {
        1 => return Ok(table.iter().map(|c| c.name == names[0]).collect()),
        0 => {}
        n => {
            let shown: Vec<String> = names.iter().take(SUGGESTIONS).map(|s| format!("`{s}`")).collect();
            bail!(
                "`{name}` is the start of {n} class names: {}{}; give more of the name",
                shown.join(", "),
                if n > SUGGESTIONS { ", …" } else { "" }
            );
        }
    }
    let mut scored: Vec<(f64, &str)> = table
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&c.name.to_lowercase(), &name.to_lowercase()),
                c.name.as_str(),
            )
        })
        .filter(|&(s, _)| s >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    if scored.is_empty() {
        bail!("no class named `{name}` in this snapshot (see `heapsnap summary` for class names)");
    }
    let close: Vec<String> = scored.iter().take(SUGGESTIONS).map(|(_, s)| format!("`{s}`")).collect();
    bail!(
        "no class named `{name}` in this snapshot; did you mean {}?",
        close.join(", ")
    )
}

fn path_node(an: &Analysis, o: u32) -> PathNode {
    PathNode {
        id: an.snap.node_id[o as usize],
        node_type: an.snap.type_name(o).to_string(),
        name: paths::display_name(&an.snap, o),
        source: crate::names::closure_source(&an.snap, o),
    }
}

fn view_edge(an: &Analysis, r: paths::Retainer) -> EdgeOut {
    let s = &an.snap;
    let f = r.from as usize;
    EdgeOut {
        edge_name: paths::edge_name(s, r.edge as usize),
        edge_type: s.edge_type_name(r.edge as usize).to_string(),
        node: ViewNode {
            id: s.node_id[f],
            node_type: s.type_name(r.from).to_string(),
            name: paths::display_name(s, r.from),
            self_size: s.node_self[f] as u64,
            retained_size: an.dom.retained.get(f),
            distance: paths::view_distance(an, r.from),
            source: crate::names::closure_source(s, r.from),
        },
    }
}

/// Build the report for node ordinal `o`: `k` paths (ours and DevTools'), `limit` Retainers-view rows.
pub fn build_retainers(an: &Analysis, file: &str, o: u32, k: usize, limit: usize) -> RetainersReport {
    let s = &an.snap;
    let oi = o as usize;
    let found = paths::shortest_paths(an, o, k);
    let ours = found
        .paths
        .iter()
        .map(|p| PathOut {
            text: p.text(s),
            length: p.hops.len(),
            start: path_node(an, p.start),
            hops: p
                .hops
                .iter()
                .map(|h| HopOut {
                    edge_type: s.edge_type_name(h.edge as usize).to_string(),
                    edge_name: paths::edge_name(s, h.edge as usize),
                    node: path_node(an, h.to),
                })
                .collect(),
        })
        .collect();
    let view = paths::retainers_view(an, o);
    let (forest, limits_reached) = paths::devtools_retaining_paths(an, o, PathLimits::default());
    let flat = paths::flatten_forest(&forest);
    RetainersReport {
        schema_version: SCHEMA_VERSION,
        file: file.to_string(),
        total_size: an.total_size(),
        node: NodeInfo {
            id: s.node_id[oi],
            node_type: s.type_name(o).to_string(),
            name: paths::display_name(s, o),
            class_name: an.classes.table[an.classes.of_node[oi] as usize].name.clone(),
            self_size: s.node_self[oi] as u64,
            retained_size: an.dom.retained.get(oi),
            distance: an.distance()[oi],
            source: crate::names::closure_source(s, o),
        },
        paths: ours,
        paths_truncated: found.truncated,
        dominator_chain: paths::dominator_chain(an, o)
            .into_iter()
            .map(|d| DominatorOut {
                id: s.node_id[d as usize],
                name: paths::display_name(s, d),
                self_size: s.node_self[d as usize] as u64,
                retained_size: an.dom.retained.get(d as usize),
            })
            .collect(),
        retainers_view: RetainersView {
            total: view.len(),
            items: view.iter().take(limit).map(|&r| view_edge(an, r)).collect(),
        },
        auto_expanded_chain: paths::auto_expanded_chain(an, o)
            .into_iter()
            .map(|r| view_edge(an, r))
            .collect(),
        retaining_paths: DevtoolsPaths {
            limits_reached,
            path_count: flat.len(),
            shortest: flat
                .iter()
                .take(k)
                .map(|p| {
                    p.iter()
                        .map(|e| DevtoolsStep {
                            edge_name: paths::edge_name(s, e.edge as usize),
                            edge_type: s.edge_type_name(e.edge as usize).to_string(),
                            node_id: s.node_id[e.node as usize],
                            node_name: paths::display_name(s, e.node),
                            distance: e.distance,
                        })
                        .collect()
                })
                .collect(),
        },
    }
}
