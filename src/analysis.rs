//! One snapshot, analysed: the loaded columns plus everything DevTools derives at load time, computed in
//! DevTools' order (`HeapSnapshot.initialize()`) except where no pass depends on another: detachedness ->
//! shallow-size reattribution -> (WeakMap edges || page-owned flags) -> essential edges -> (dominators and
//! retained sizes || interface definitions) -> (distances || classes). Independent passes run side by side
//! (`rayon::join`), one per core, where that does not raise the peak of memory use (the dominators).
//! The reverse CSR of retainers is built only when a command asks for it ([`Analysis::retainers`]).
//!
//! After [`Analysis::new`], `snap.node_self` holds DevTools' **adjusted** self sizes (the Memory panel's
//! "Shallow Size"), and detached native nodes are renamed `Detached …`; every later number uses them.

use std::sync::OnceLock;

use fixedbitset::FixedBitSet;

use crate::devtools::classes::{self, Classes, InterfaceDefinition};
use crate::devtools::{self, WeakMapEdges};
use crate::dominators::{self, DominatorTree};
use crate::error::{Error, Result};
use crate::graph::{Graph, Retainers};
use crate::snapshot::Snapshot;
use crate::timing::Phase;

/// A snapshot with DevTools' derived data.
#[derive(Debug)]
pub struct Analysis {
    /// The snapshot (self sizes adjusted, detached natives renamed).
    pub snap: Snapshot,
    /// Incoming edges, built on first use (commands that walk retainers); summaries never need them.
    retainers: OnceLock<Retainers>,
    /// Detachedness per node after propagation (0 unknown, 1 attached, 2 detached).
    pub detachedness: Vec<u8>,
    /// Page-owned flags.
    pub page_owned: FixedBitSet,
    /// Distance per node ([`devtools::NO_DISTANCE`] when unreachable).
    pub distance: Vec<i32>,
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
}

impl Analysis {
    /// Run every load-time pass. `interfaces`: definitions to classify with (DevTools' Comparison view
    /// classifies the base snapshot with the other one's); `None` infers them from this snapshot.
    pub fn with_interfaces(snap: Snapshot, interfaces: Option<&[InterfaceDefinition]>) -> Result<Analysis> {
        Self::build(snap, Some(interfaces))
    }

    /// Every load-time pass but the classification, which [`Analysis::classify`] does later: for a series of
    /// snapshots loaded side by side, whose earlier ones are classified with the last one's definitions.
    /// Until then `classes` is empty.
    pub fn unclassified(snap: Snapshot) -> Result<Analysis> {
        Self::build(snap, None)
    }

    /// Classify with `interfaces` (`None`: this snapshot's own definitions).
    pub fn classify(&mut self, interfaces: Option<&[InterfaceDefinition]>) {
        let t = Phase::start("classes");
        self.classes = classes::classify(&self.snap, interfaces.unwrap_or(&self.interfaces));
        t.done();
    }

    /// `classify`: `Some(interfaces)` to classify (with `interfaces`, or the snapshot's own), `None` not to.
    fn build(mut snap: Snapshot, classify: Option<Option<&[InterfaceDefinition]>>) -> Result<Analysis> {
        let t = Phase::start("detachedness");
        let detachedness = devtools::propagate_detachedness(&mut snap);
        t.done();
        let t = Phase::start("shallow sizes");
        devtools::reattribute_shallow_sizes(&mut snap).map_err(Error::Request)?;
        t.done();
        // The WeakMap pair names (a regex over the strings) beside the page-owned walk (nodes and edges).
        let (weakmaps, page_owned) = rayon::join(
            || {
                let t = Phase::start("weakmap edges");
                let w = WeakMapEdges::new(&snap);
                t.done();
                w
            },
            || {
                let t = Phase::start("page-owned");
                let p = devtools::page_owned(&snap);
                t.done();
                p
            },
        );
        let t = Phase::start("essential edges");
        let essential = dominators::essential_edges(&snap, &page_owned, &weakmaps);
        t.done();
        // Independent passes side by side, one per core. The dominators (sequential, the longest pass, and the
        // peak of memory use) have only the interface inference beside them, which allocates little; distances
        // and classes, a node-sized array each, come after, side by side.
        let snap_ref = &snap;
        let (dom, own) = rayon::join(
            || {
                let t = Phase::start("dominators");
                let dom = DominatorTree::compute(snap_ref, &essential);
                t.done();
                dom
            },
            || {
                let t = Phase::start("interfaces");
                let own = classes::infer_interfaces(snap_ref);
                t.done();
                own
            },
        );
        let (distance, classes) = rayon::join(
            || {
                let t = Phase::start("distances");
                let distance = devtools::distances(snap_ref, &weakmaps);
                t.done();
                distance
            },
            || {
                let interfaces = classify?;
                let t = Phase::start("classes");
                let classes = classes::classify(snap_ref, interfaces.unwrap_or(&own));
                t.done();
                Some(classes)
            },
        );
        Ok(Analysis {
            snap,
            retainers: OnceLock::new(),
            detachedness,
            page_owned,
            distance,
            weakmaps,
            interfaces: own,
            classes: classes.unwrap_or_default(),
            essential,
            dom,
        })
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
        self.dom.retained[self.snap.root as usize]
    }

    /// Per-class retained sizes, indexed like `classes.table`.
    pub fn class_retained(&self) -> Vec<u64> {
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
