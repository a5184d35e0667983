//! Single-flight loads: one caller runs the loader for an absent key, the others wait for it.

use std::convert::Infallible;
use std::fmt;

use crate::sync::{Condvar, Mutex, PoisonError};

/// Why `get_or_insert_with` or `try_get_or_insert_with` gave no value.
///
/// # Examples
///
/// ```
/// use cache_core::LoadError;
/// let e: LoadError<&str> = LoadError::Failed("db down");
/// assert_eq!(e.to_string(), "loader failed: db down");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError<E = Infallible> {
    /// This caller's loader returned an error; nothing was cached.
    Failed(E),
    /// Another caller was loading this key and its loader panicked; nothing was cached.
    /// Calling again runs a fresh load.
    LoaderPanicked,
}

impl<E: fmt::Display> fmt::Display for LoadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Failed(e) => write!(f, "loader failed: {e}"),
            LoadError::LoaderPanicked => f.write_str(
                "the loader another caller was running for this key panicked; call again to retry",
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for LoadError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Failed(e) => Some(e),
            LoadError::LoaderPanicked => None,
        }
    }
}

/// How a load ended, as its waiters see it.
pub(crate) enum Outcome<V> {
    Running,
    Loaded(V),
    /// The loader returned an error: waiters retry with their own loaders.
    Failed,
    Panicked,
}

/// A load in flight, shared between the caller running it and those waiting.
pub(crate) struct Flight<V> {
    outcome: Mutex<Outcome<V>>,
    done: Condvar,
}

impl<V> Flight<V> {
    pub(crate) fn new() -> Self {
        Self {
            outcome: Mutex::new(Outcome::Running),
            done: Condvar::new(),
        }
    }

    /// Publishes the outcome and wakes every waiter.
    pub(crate) fn finish(&self, outcome: Outcome<V>) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = outcome;
        self.done.notify_all();
    }
}

impl<V: Clone> Flight<V> {
    /// Waits until the load ends.
    pub(crate) fn wait(&self) -> Outcome<V> {
        let mut outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            match &*outcome {
                Outcome::Running => {
                    outcome = self
                        .done
                        .wait(outcome)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Outcome::Loaded(v) => return Outcome::Loaded(v.clone()),
                Outcome::Failed => return Outcome::Failed,
                Outcome::Panicked => return Outcome::Panicked,
            }
        }
    }
}
