//! Unit tests for the jemalloc module (this binary uses the system allocator).
