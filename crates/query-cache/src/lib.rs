//! query-cache: a memory-aware query cache for Rust.
//!
//! This facade wires the workspace's crates together behind one builder and re-exports a small,
//! curated API. Depend on it for the whole stack, or on the single crates to compose your own.
//!
//! | item | from | what it is |
//! |---|---|---|
//! | [`Cache`] | `cache-core` with [`DefaultPolicy`] | the concurrent byte-budgeted cache |
//! | [`CacheBuilder`], [`BuildError`], [`LoadError`] | `cache-core` | configuration and errors |
//! | [`DefaultPolicy`] | `eviction` | the policy that measured best on the trace suite |
//! | traits ([`EvictionPolicy`], [`Weigher`], [`HeapSize`], [`ManagedCache`], [`Clock`], …) | `cache-traits` | the boundary every crate codes against |
//!
//! # Examples
//!
//! ```
//! use query_cache::Cache;
//! use std::sync::Arc;
//!
//! // A cache of rendered pages with a 64 MiB budget in real heap bytes.
//! let pages: Cache<String, Arc<str>> = Cache::builder().max_bytes(64 << 20).build()?;
//! let page = pages
//!     .get_or_insert_with("/home".to_string(), || Arc::from("<html>…</html>"))
//!     .expect("no loader panicked");
//! assert_eq!(&*page, "<html>…</html>");
//! assert_eq!(pages.stats().misses, 1);
//! # Ok::<(), query_cache::BuildError>(())
//! ```

/// The eviction policy a [`Cache`] uses unless told otherwise.
pub type DefaultPolicy = eviction::Lru;

/// The cache with the default policy and hasher. See [`cache_core::Cache`].
pub type Cache<K, V> = cache_core::Cache<K, V, DefaultPolicy>;

/// The builder of a [`Cache`]. See [`cache_core::CacheBuilder`].
pub type CacheBuilder<K, V> = cache_core::CacheBuilder<K, V, DefaultPolicy>;

#[doc(inline)]
pub use cache_core::{BuildError, LoadError};

#[doc(inline)]
pub use cache_traits::{
    CacheStats, Clock, EvictionPolicy, HeapSize, HeapWeigher, ManagedCache, ManualClock,
    RemovalCause, SystemClock, Weigher,
};

/// Eviction policies, for caches that want another than [`DefaultPolicy`].
pub mod policies {
    #[doc(inline)]
    pub use eviction::*;
}
