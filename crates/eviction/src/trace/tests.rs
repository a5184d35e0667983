//! Tests of the trace readers on small generated fixtures, well-formed and malformed.

use super::{
    ARC_KEYS_PER_BYTE, ARC_KEYS_SLACK, MAX_REQUESTS, Position, Trace, TraceError, TraceFormat,
    check_requests, found,
};
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

/// The line and the limit of a too-large error.
fn too_large(bytes: &[u8], format: TraceFormat) -> (Position, u64) {
    match Trace::parse(bytes, format) {
        Err(TraceError::TooLarge {
            position, limit, ..
        }) => (position, limit),
        other => panic!("expected a too-large error, got {other:?}"),
    }
}

#[test]
fn arc_count_beyond_the_input_is_an_error_not_an_abort() {
    // 16 bytes asking for 2^40 keys (8 TiB): the reader used to try and allocate them.
    let (position, limit) = too_large(b"0 1099511627776\n", TraceFormat::Arc);
    assert_eq!(position, Position::Line(1));
    assert_eq!(limit, 16 * ARC_KEYS_PER_BYTE + ARC_KEYS_SLACK);
    let err = Trace::parse(b"0 1099511627776", TraceFormat::Arc).unwrap_err();
    assert!(
        err.to_string().contains("asks for 1099511627776 requests"),
        "{err}"
    );
}

#[test]
fn arc_count_of_u64_max_is_an_error_not_a_panic() {
    // `start + count` fits in 64 bits, so the reader used to reserve u64::MAX keys: a panic.
    let (position, _) = too_large(b"0 18446744073709551615", TraceFormat::Arc);
    assert_eq!(position, Position::Line(1));
}

#[test]
fn arc_lines_share_one_budget() {
    // Each line alone fits the budget of a file this size; together they do not.
    let text = "7 1000000 0 0\n".repeat(3);
    let (position, _) = too_large(text.as_bytes(), TraceFormat::Arc);
    assert_eq!(position, Position::Line(2));
    // The budget leaves real traces alone: P3's largest requests, and the slack in full.
    assert_eq!(keys(b"3912296 128 238578\n", TraceFormat::Arc).len(), 128);
    let whole = ARC_KEYS_SLACK + 9 * ARC_KEYS_PER_BYTE;
    let line = format!("0 {whole}");
    assert_eq!(line.len(), 9);
    assert_eq!(keys(line.as_bytes(), TraceFormat::Arc).len() as u64, whole);
    let (position, _) = too_large(format!("0 {}", whole + 1).as_bytes(), TraceFormat::Arc);
    assert_eq!(position, Position::Line(1));
}

#[test]
fn request_counts_past_32_bits_are_errors() {
    // (Files that large are not made here: the check every reader makes is tested alone.)
    assert!(check_requests(MAX_REQUESTS, TraceFormat::Cache2k, Position::Byte(0)).is_ok());
    let err = check_requests(1 << 32, TraceFormat::Scarab, Position::Byte(8)).unwrap_err();
    assert!(matches!(
        err,
        TraceError::TooLarge {
            position: Position::Byte(8),
            requested: 4_294_967_296,
            ..
        }
    ));
}

#[test]
fn long_lines_are_quoted_short() {
    let mut line = vec![0xff; 1 << 20];
    line.extend_from_slice(b"tail");
    let quoted = found(&line);
    assert!(quoted.chars().count() <= 43, "{quoted}");
    assert!(quoted.ends_with("…`"));
    assert_eq!(found(b"12 x"), "`12 x`");
}
