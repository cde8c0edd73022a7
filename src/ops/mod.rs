//! Operations (SPEC OPS-1): metrics for the availability target.

mod metrics;

pub use metrics::Metrics;
