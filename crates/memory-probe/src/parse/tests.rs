//! Unit tests for the parsers, on fixture text in the kernel's documented formats.
