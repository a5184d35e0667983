//! query-cache: the facade.
