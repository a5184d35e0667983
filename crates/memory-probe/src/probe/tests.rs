//! Unit tests for the probe on fixture files.
