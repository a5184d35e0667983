//! Table-driven tests of the CSV reader.

use super::*;

fn ok(csv: &str) -> Vec<Observation> {
    read_csv(csv.as_bytes()).unwrap_or_else(|e| panic!("{csv:?}: {e}"))
}

fn err(csv: &str) -> CsvError {
    match read_csv(csv.as_bytes()) {
        Ok(v) => panic!("{csv:?} read as {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn reads_columns_in_any_order_with_extras_and_empty_cells() {
    let check = |csv: &str, expected: Vec<Observation>| assert_eq!(ok(csv), expected, "{csv:?}");
    check(
        "t_seconds,heap_bytes,resident_bytes,cache_bytes,evicted_bytes_total\n0,10,20,5,0\n",
        vec![
            Observation::at(0.0)
                .heap_bytes(10)
                .resident_bytes(20)
                .cache_bytes(5)
                .evicted_bytes_total(0),
        ],
    );
    check(
        "cache_bytes,host,t_seconds,heap_bytes\n5,a,1.5,10\n6,b,2.5,\n",
        vec![
            Observation::at(1.5).heap_bytes(10).cache_bytes(5),
            Observation::at(2.5).cache_bytes(6),
        ],
    );
    check(
        " t_seconds , heap_bytes \n 3 , 1e3 \n\n",
        vec![Observation::at(3.0).heap_bytes(1000)],
    );
    check("t_seconds\n", vec![]);
    check(
        "t_seconds,cache_bytes,cache_budget_bytes,cache_real_bytes,cache_unread_bytes\n0,5,8,9,\n",
        vec![
            Observation::at(0.0).cache_bytes(5).cache(
                CacheFigures::new(CSV_CACHE_NAME, 5)
                    .budget_bytes(8)
                    .real_bytes(9),
            ),
        ],
    );
    check(
        "t_seconds,heap_bytes\n0,18446744073709551615\n",
        vec![Observation::at(0.0).heap_bytes(u64::MAX)],
    );
}

#[test]
fn errors_are_typed_with_lines() {
    assert!(matches!(err(""), CsvError::MissingTime));
    assert!(matches!(
        err("heap_bytes,cache_bytes\n1,2\n"),
        CsvError::MissingTime
    ));
    let check = |csv: &str, line: u64, column: &str| match err(csv) {
        CsvError::BadNumber {
            line: l, column: c, ..
        } => assert_eq!((l, c), (line, column), "{csv:?}"),
        other => panic!("{csv:?}: {other:?}"),
    };
    check("t_seconds,heap_bytes\n0,1\n1,lots\n", 3, "heap_bytes");
    check("t_seconds,heap_bytes\n0,1\n1,-5\n", 3, "heap_bytes");
    check("t_seconds,heap_bytes\nNaN,1\n", 2, "t_seconds");
    check("t_seconds,heap_bytes\n0,1e30\n", 2, "heap_bytes");
    check("heap_bytes,t_seconds\n1,0\n2,x\n", 3, "t_seconds");
    match err("t_seconds,heap_bytes\n0,1\n,2\n") {
        CsvError::MissingCell { line: 3, .. } => {}
        other => panic!("{other:?}"),
    }
    let e = err("t_seconds,heap_bytes\n0,zz\n").to_string();
    assert!(e.starts_with("line 2: heap_bytes is `zz`"), "{e}");
    assert!(matches!(
        err("t_seconds\n\u{ff}\n"),
        CsvError::Read { .. } | CsvError::BadNumber { .. }
    ));
}

#[test]
fn rows_are_capped() {
    let mut csv = String::from("t_seconds\n");
    for i in 0..=MAX_CSV_ROWS {
        csv.push_str(&i.to_string());
        csv.push('\n');
    }
    assert!(matches!(err(&csv), CsvError::TooManyRows { .. }));
}

#[test]
fn a_line_without_end_is_refused_before_it_is_buffered_whole() {
    let mut csv = b"t_seconds,heap_bytes\n0,".to_vec();
    csv.extend(std::iter::repeat_n(b'9', 1 << 20));
    match read_csv(csv.as_slice()) {
        Err(CsvError::Read { message, .. }) => {
            assert!(message.contains("longer than"), "{message}")
        }
        other => panic!("expected a read error, got {other:?}"),
    }
}
