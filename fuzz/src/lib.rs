//! The checks behind the fuzz targets in `fuzz_targets/`, one module per kind of input.
//!
//! A check panics on a finding. Panics the cache harness injects into user code on purpose
//! carry [`ops::INJECTED`] and are caught; any other panic reaches libFuzzer's hook, which
//! aborts, and libFuzzer saves the input under `fuzz/artifacts/<target>/`.

pub mod ops;
pub mod traces;
