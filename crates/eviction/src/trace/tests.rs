//! Tests of the trace readers on small generated fixtures, well-formed and malformed.

use super::{Position, Trace, TraceError, TraceFormat};
use std::path::Path;

fn keys(bytes: &[u8], format: TraceFormat) -> Vec<u64> {
    Trace::parse(bytes, format).unwrap().keys().to_vec()
}

fn malformed_at(bytes: &[u8], format: TraceFormat) -> Position {
    match Trace::parse(bytes, format) {
        Err(TraceError::Malformed { position, .. }) => position,
        other => panic!("expected a malformed-trace error, got {other:?}"),
    }
}

#[test]
fn lirs_skips_markers_and_blank_lines() {
    assert_eq!(
        keys(b"1\n2\r\n*\n\n  3  \n-1\n", TraceFormat::Lirs),
        vec![1, 2, 3, u64::MAX]
    );
    assert_eq!(keys(b"", TraceFormat::Lirs), Vec::<u64>::new());
}

#[test]
fn lirs_rejects_non_numbers_with_the_line() {
    assert_eq!(
        malformed_at(b"1\n2\nabc\n", TraceFormat::Lirs),
        Position::Line(3)
    );
    assert_eq!(
        malformed_at(b"1\n\n2 3\n", TraceFormat::Lirs),
        Position::Line(3)
    );
    let err = Trace::parse(b"x", TraceFormat::Lirs)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "malformed lirs trace at line 1: expected a decimal key or `*`, found `x`; \
         fix the file or pass the right --format"
    );
}

#[test]
fn arc_expands_start_and_count() {
    assert_eq!(
        keys(b"5 3 0 0\n100 1 0 1\n7 0 0 2\n1 2\n", TraceFormat::Arc),
        vec![5, 6, 7, 100, 1, 2]
    );
}

#[test]
fn arc_rejects_bad_lines() {
    assert_eq!(
        malformed_at(b"5 3 0 0\n5\n", TraceFormat::Arc),
        Position::Line(2)
    );
    assert_eq!(
        malformed_at(b"5 x 0 0\n", TraceFormat::Arc),
        Position::Line(1)
    );
    assert_eq!(
        malformed_at(b"5 -2 0 0\n", TraceFormat::Arc),
        Position::Line(1)
    );
    assert_eq!(
        malformed_at(b"\n\n5 1 0 z\n", TraceFormat::Arc),
        Position::Line(3)
    );
    let overflow = format!("{} 2 0 0\n", u64::MAX);
    assert_eq!(
        malformed_at(overflow.as_bytes(), TraceFormat::Arc),
        Position::Line(1)
    );
}

#[test]
fn cache2k_reads_big_endian_i32() {
    let mut bytes = Vec::new();
    for k in [1i32, 256, -1] {
        bytes.extend_from_slice(&k.to_be_bytes());
    }
    assert_eq!(keys(&bytes, TraceFormat::Cache2k), vec![1, 256, u64::MAX]);
    bytes.extend_from_slice(&[0, 1]);
    assert_eq!(
        malformed_at(&bytes, TraceFormat::Cache2k),
        Position::Byte(12)
    );
}

#[test]
fn scarab_reads_big_endian_i64() {
    let mut bytes = Vec::new();
    for k in [1i64, 1 << 40, -2] {
        bytes.extend_from_slice(&k.to_be_bytes());
    }
    assert_eq!(
        keys(&bytes, TraceFormat::Scarab),
        vec![1, 1 << 40, (-2i64) as u64]
    );
    bytes.pop();
    assert_eq!(
        malformed_at(&bytes, TraceFormat::Scarab),
        Position::Byte(16)
    );
}

#[test]
fn oracle_general_reads_ids_and_sizes() {
    let mut bytes = Vec::new();
    for (t, id, size, next) in [(0u32, 42u64, 100u32, 2i64), (1, 7, 0, -1), (2, 42, 100, -1)] {
        bytes.extend_from_slice(&t.to_le_bytes());
        bytes.extend_from_slice(&id.to_le_bytes());
        bytes.extend_from_slice(&size.to_le_bytes());
        bytes.extend_from_slice(&next.to_le_bytes());
    }
    let trace = Trace::parse(&bytes, TraceFormat::OracleGeneral).unwrap();
    assert_eq!(trace.keys(), &[42, 7, 42]);
    assert_eq!(trace.sizes(), Some(&[100, 0, 100][..]));
    assert_eq!(trace.weight(1), 1, "a zero size still weighs one byte");
    assert!(trace.is_weighted());
    bytes.truncate(24 + 10);
    assert_eq!(
        malformed_at(&bytes, TraceFormat::OracleGeneral),
        Position::Byte(24)
    );
}

#[test]
fn formats_from_names_and_paths() {
    for f in TraceFormat::ALL {
        assert_eq!(f.name().parse::<TraceFormat>(), Ok(f));
    }
    assert!("csv".parse::<TraceFormat>().is_err());
    let guess = |p: &str| TraceFormat::from_path(Path::new(p));
    assert_eq!(guess("a/OLTP.lis"), Some(TraceFormat::Arc));
    assert_eq!(
        guess("x.oracleGeneral.bin"),
        Some(TraceFormat::OracleGeneral)
    );
    assert_eq!(guess("scarab/scarab-recs.trace"), Some(TraceFormat::Scarab));
    assert_eq!(guess("cache2k/orm-busy.trace"), Some(TraceFormat::Cache2k));
    assert_eq!(guess("README"), None);
}

#[test]
fn read_reports_missing_files_and_unknown_formats() {
    let err = Trace::read(Path::new("/nonexistent/x.trc"), None).unwrap_err();
    assert!(matches!(err, TraceError::Io { .. }), "{err:?}");
    let err = Trace::read(Path::new("/nonexistent/x.csv"), None).unwrap_err();
    assert!(matches!(err, TraceError::UnknownFormat { .. }), "{err:?}");
    assert!(err.to_string().contains("--format"));
}

#[test]
fn counts_unique_keys() {
    assert_eq!(Trace::from_keys(vec![1, 2, 1, 3, 2]).unique_keys(), 3);
}
