//! Reclaiming memory: a background dropper for evicted values, and allocator purges.
