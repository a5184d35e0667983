//! The concurrent, sharded, byte-budgeted cache.
