//! One snapshot, analysed: the loaded columns plus everything DevTools derives at load time. DevTools'
//! order (`HeapSnapshot.initialize()`) is kept where one pass depends on another; independent passes run
//! side by side (`rayon::join`), one per core: detachedness -> page-owned flags (on every core) -> (the
//! essential edges within the dominators' DFS || WeakMap edges, distances, shallow-size reattribution, Statistics view's sums)
//! -> (predecessor CSR, semidominators, NCA || interface definitions, classes) -> (retained sizes || the
//! nodes that make up their class's retained size, for a summary). The
//! distances are computed there for the commands that print them ([`Analysis::with_interfaces`]), else on
//! first use ([`Analysis::distance`]); the reverse CSR of retainers ([`Analysis::retainers`]) when a command
//! first asks, so a command can run it beside its own work (and one that needs none skips it).
//!
//! After [`Analysis::new`], `snap.node_self` holds DevTools' **adjusted** self sizes (the Memory panel's
//! "Shallow Size"), and detached native nodes are renamed `Detached …`; every later number uses them.

use std::sync::OnceLock;

use fixedbitset::FixedBitSet;

use crate::devtools::classes::{self, Classes, InterfaceDefinition};
use crate::devtools::{self, WeakMapEdges};
use crate::dominators::{self, Dfs, DominatorTree, EssentialGraph};
use crate::error::{Error, Result};
use crate::graph::{Graph, Retainers};
use crate::snapshot::Snapshot;
use crate::summary;
use crate::timing::Phase;

fn timed_distances(s: &Snapshot, weakmaps: &WeakMapEdges) -> devtools::Distances {
    let t = Phase::start("distances");
    let d = devtools::distances(s, weakmaps);
    t.done();
    d
}

/// A snapshot with DevTools' derived data.
#[derive(Debug)]
pub struct Analysis {
    /// The snapshot (self sizes adjusted, detached natives renamed).
    pub snap: Snapshot,
    /// Incoming edges, built on first use (commands that walk retainers); summaries never need them.
    retainers: OnceLock<Retainers>,
    /// Nodes whose detachedness is "detached" after propagation (one bit per node instead of the byte the
    /// propagation needs: it is held through the memory peak).
    pub detached: FixedBitSet,
    /// Page-owned flags.
    pub page_owned: FixedBitSet,
    /// Distance per node, computed on first use: [`Analysis::distance`].
    distance: OnceLock<devtools::Distances>,
    /// WeakMap pair edge names.
    pub weakmaps: WeakMapEdges,
    /// Interface definitions inferred from this snapshot.
    pub interfaces: Vec<InterfaceDefinition>,
    /// Class of every node.
    pub classes: Classes,
    /// Essential edges (the ones dominators and retaining paths follow).
    pub essential: FixedBitSet,
    /// The dominator tree and retained sizes.
    pub dom: DominatorTree,
    /// The Statistics view's node sums, when the load computed them ([`Analysis::for_summary`]).
    pub statistic_sums: Option<summary::StatisticSums>,
    /// Per-class retained sizes of `classes`, when the load computed them ([`Analysis::for_summary`]).
    class_retained: Option<Vec<u64>>,
}

/// The optional passes of a load.
#[derive(Debug, Clone, Copy)]
struct Extras {
    /// The distances, beside the dominators' DFS (else on first use).
    distances: bool,
    /// The Statistics view's sums, beside the dominators' DFS.
    statistics: bool,
    /// The per-class retained sizes, beside the retained sizes (if the load classifies; else on first use).
    class_retained: bool,
}

impl Extras {
    /// No optional pass: the distances and the class retained sizes on first use, no Statistics view's sums.
    const NONE: Extras = Extras {
        distances: false,
        statistics: false,
        class_retained: false,
    };
}

impl Analysis {
    /// Run every load-time pass. `interfaces`: definitions to classify with (DevTools' Comparison view
    /// classifies the base snapshot with the other one's); `None` infers them from this snapshot.
    /// The distances are computed during the load, beside the dominators.
    pub fn with_interfaces(snap: Snapshot, interfaces: Option<&[InterfaceDefinition]>) -> Result<Analysis> {
        let extras = Extras {
            distances: true,
            ..Extras::NONE
        };
        Self::build(snap, Some(interfaces), extras)
    }

    /// [`Analysis::with_interfaces`] with the snapshot's own definitions, plus the Statistics view's sums
    /// ([`summary::statistics`] then needs no pass of its own), computed beside the dominators' DFS, and the
    /// per-class retained sizes, from a pass in preorder beside the retained sizes.
    pub fn for_summary(snap: Snapshot) -> Result<Analysis> {
        let extras = Extras {
            distances: true,
            statistics: true,
            class_retained: true,
        };
        Self::build(snap, Some(None), extras)
    }

    /// [`Analysis::with_interfaces`] with the snapshot's own definitions, leaving the distances to their first
    /// use (for commands that may not need them).
    pub fn without_distances(snap: Snapshot) -> Result<Analysis> {
        Self::build(snap, Some(None), Extras::NONE)
    }

    /// Every load-time pass but the classification, which [`Analysis::classify`] does later: for a series of
    /// snapshots loaded side by side, whose earlier ones are classified with the last one's definitions.
    /// Until then `classes` is empty.
    pub fn unclassified(snap: Snapshot) -> Result<Analysis> {
        Self::build(snap, None, Extras::NONE)
    }

    /// Classify with `interfaces` (`None`: this snapshot's own definitions).
    pub fn classify(&mut self, interfaces: Option<&[InterfaceDefinition]>) {
        let t = Phase::start("classes");
        self.classes = classes::classify(&self.snap, interfaces.unwrap_or(&self.interfaces));
        self.class_retained = None;
        t.done();
    }

    /// `classify`: `Some(interfaces)` to classify (with `interfaces`, or the snapshot's own), `None` not to.
    /// `extras`: the optional passes to run during the load.
    fn build(mut snap: Snapshot, classify: Option<Option<&[InterfaceDefinition]>>, extras: Extras) -> Result<Analysis> {
        let t = Phase::start("detachedness");
        let detachedness = devtools::propagate_detachedness(&mut snap);
        let mut detached = FixedBitSet::with_capacity(detachedness.len());
        for (v, &d) in detachedness.iter().enumerate() {
            if d == devtools::DETACHED {
                detached.insert(v);
            }
        }
        drop(detachedness);
        t.done();
        // First the page-owned walk (nodes and edges), on every core: the DFS needs it. Then two chains, one per
        // core. The dominators run in three sequential stages, the longest passes of all; the other core gets
        // other work beside them. First the DFS (which evaluates the essential-edge predicate as it goes, so it
        // needs the WeakMap pair names too); beside it the WeakMap pair names (a scan of the strings),
        // then the distances (if wanted: a BFS whose one byte per node is then held through the memory peak),
        // the shallow-size reattribution (on the self sizes taken out of the snapshot, which the DFS never
        // reads) and the Statistics view's sums over the adjusted sizes (if wanted; a few bitsets). The DFS
        // waits for the pair names if they are not ready (never in practice); the side that makes them waits for
        // nothing and runs first on this thread (`join` runs its first closure here), so this cannot deadlock,
        // even with one thread or nested in another `join`.
        let mut sizes = std::mem::take(&mut snap.node_self);
        let snap_ref = &snap;
        let weakmaps_cell: OnceLock<WeakMapEdges> = OnceLock::new();
        let weakmaps_cell_ref = &weakmaps_cell;
        // Set if the first side panics before it has made the pair names: the DFS's wait then ends too (else
        // the join, which waits for both sides before it passes a panic on, would wait forever).
        let abandoned = std::sync::atomic::AtomicBool::new(false);
        let abandoned_ref = &abandoned;
        let t = Phase::start("dominators");
        let t1 = Phase::start("page-owned");
        let page_owned = devtools::page_owned(snap_ref);
        t1.done();
        let page_owned_ref = &page_owned;
        let ((distance, shallow, statistic_sums), (essential, dfs)) = rayon::join(
            || {
                let t = Phase::start("weakmap edges");
                struct Abandon<'a>(&'a std::sync::atomic::AtomicBool);
                impl Drop for Abandon<'_> {
                    fn drop(&mut self) {
                        if std::thread::panicking() {
                            self.0.store(true, std::sync::atomic::Ordering::Release);
                        }
                    }
                }
                let guard = Abandon(abandoned_ref);
                let weakmaps = weakmaps_cell_ref.get_or_init(|| WeakMapEdges::new(snap_ref));
                drop(guard);
                t.done();
                let distance = OnceLock::new();
                if extras.distances {
                    distance.get_or_init(|| timed_distances(snap_ref, weakmaps));
                }
                let t = Phase::start("shallow sizes");
                let shallow = devtools::reattribute_shallow_sizes(snap_ref, &mut sizes);
                t.done();
                let statistic_sums = (extras.statistics && shallow.is_ok()).then(|| {
                    let t = Phase::start("statistics");
                    let sums = summary::statistic_sums_sized(snap_ref, &sizes);
                    t.done();
                    sums
                });
                (distance, shallow, statistic_sums)
            },
            || {
                let weakmaps = loop {
                    if abandoned_ref.load(std::sync::atomic::Ordering::Acquire) {
                        panic!("the WeakMap pair names were not made (the other side of the join panicked)");
                    }
                    match weakmaps_cell_ref.get() {
                        Some(w) => break w,
                        None => {
                            // Run other pending work of the pool meanwhile, or let the OS run the other side.
                            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                                std::thread::yield_now();
                            }
                        }
                    }
                };
                Dfs::run_essential(snap_ref, page_owned_ref, weakmaps, dominators::TOP)
            },
        );
        let weakmaps = weakmaps_cell
            .into_inner()
            .expect("the first side of the join made them");
        shallow.map_err(Error::Request)?;
        // The adjusted self sizes go back into the snapshot.
        snap.node_self = sizes;
        let snap_ref = &snap;
        let g = EssentialGraph {
            snap: snap_ref,
            essential: &essential,
        };
        // The predecessor CSR shares its passes out to both threads. Then, beside the solve: the interface
        // inference and the classification (they read names and edges only). Their class column and tables
        // (~90 MB on a 14 M-node heap) would raise the predecessor CSR's memory peak if made before or beside
        // it. The solve's near-edge step runs on both threads if they are done by then (on big heaps they end
        // during the far predecessors' evaluation, its first, single-threaded step), else on this one.
        let preds = dfs.predecessors();
        let (doms, (own, classes)) = rayon::join(
            || preds.solve(&g),
            || {
                let t = Phase::start("interfaces");
                let own = classes::infer_interfaces(snap_ref);
                t.done();
                let classes = classify.map(|interfaces| {
                    let t = Phase::start("classes");
                    let classes = classes::classify(snap_ref, interfaces.unwrap_or(&own));
                    t.done();
                    classes
                });
                (own, classes)
            },
        );
        let (dom, class_retained) = match &classes {
            Some(c) if extras.class_retained => {
                let (dom, sums) =
                    DominatorTree::with_class_retained(doms, snap.root, &snap.node_self, &c.of_node, c.table.len());
                (dom, Some(sums))
            }
            // Unclassified: the preorder is kept for the class retained sizes once classified.
            None => (DominatorTree::keeping_preorder(doms, snap.root, &snap.node_self), None),
            _ => (DominatorTree::from_dominators(doms, snap.root, &snap.node_self), None),
        };
        t.done();
        Ok(Analysis {
            snap,
            retainers: OnceLock::new(),
            detached,
            page_owned,
            distance,
            weakmaps,
            interfaces: own,
            classes: classes.unwrap_or_default(),
            essential,
            dom,
            statistic_sums,
            class_retained,
        })
    }

    /// Distance of every node from the roots ([`devtools::NO_DISTANCE`] when unreachable), computed on first
    /// call (a sequential BFS: call it beside other work where there is some).
    pub fn distance(&self) -> &devtools::Distances {
        self.distance
            .get_or_init(|| timed_distances(&self.snap, &self.weakmaps))
    }

    /// Run every load-time pass with this snapshot's own interface definitions.
    pub fn new(snap: Snapshot) -> Result<Analysis> {
        Self::with_interfaces(snap, None)
    }

    /// Incoming edges of every node (built on first call: O(V + E), 4 bytes per node + 8 per edge).
    pub fn retainers(&self) -> &Retainers {
        self.retainers.get_or_init(|| {
            let _t = Phase::start("retainers");
            Retainers::build(&self.snap)
        })
    }

    /// The graph view (petgraph traits); builds the retainers on first call.
    pub fn graph(&self) -> Graph<'_> {
        Graph::new(&self.snap, self.retainers())
    }

    /// Σ adjusted self sizes of all nodes (= the root's retained size in DevTools).
    pub fn total_self(&self) -> u64 {
        self.dom.retained.get(self.snap.root as usize)
    }

    /// Per-class retained sizes, indexed like `classes.table`. After an unclassified load, the first call once
    /// classified computes them from the preorder the load kept (then freed), later ones by a walk of the
    /// dominator tree.
    pub fn class_retained(&self) -> Vec<u64> {
        if let Some(sums) = &self.class_retained {
            return sums.clone();
        }
        let (of_node, count) = (&self.classes.of_node, self.classes.table.len());
        if of_node.len() == self.snap.node_count() {
            if let Some(sums) = self.dom.take_class_retained(&self.snap.node_self, of_node, count) {
                return sums;
            }
        }
        self.dom.class_retained(
            self.snap.root,
            &self.snap.node_self,
            &self.classes.of_node,
            self.classes.table.len(),
        )
    }

    /// DevTools' `totalSize`: root retained + `extra_native_bytes`.
    pub fn total_size(&self) -> u64 {
        self.total_self() + self.snap.header.extra_native_bytes
    }
}
