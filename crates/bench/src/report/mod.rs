//! Results of a run: JSON types, ratios, targets, markdown tables, the SVG plot and the
//! generated part of `docs/performance.md`.

pub mod doc;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod machine;
pub mod markdown;
mod results;
pub mod svg;
pub mod targets;
pub mod time;

pub use results::{
    AfterChange, CpuPerCalls, Headroom, ListingPath, ListingResult, Memory, PathId, PathResult,
    Ratios, ReplicaResult, Results, SessionsResult, StormResult, SweepPoint, TargetCheck,
    Throughput, compute_ratios, headroom, kib_to_mb, median, ratio,
};
