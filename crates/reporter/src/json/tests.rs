use cache_traits::{Cell, Metric, Section, Table, Unit};
use serde_json::{Value, json};

use super::*;
use crate::report::ReportKind;
use crate::testing::{self, NOW};

/// The published schema, as the tests read it.
const SCHEMA: &str = include_str!("../../../../docs/report.schema.json");

fn schema() -> Value {
    serde_json::from_str(SCHEMA).unwrap()
}

/// `schema` with every object closed to properties it does not name, so that a field the code
/// writes and the schema forgets fails the test (the published schema stays open to additions).
fn closed(mut schema: Value) -> Value {
    fn close(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties") {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(close);
            }
            Value::Array(items) => items.iter_mut().for_each(close),
            _ => {}
        }
    }
    close(&mut schema);
    schema
}

fn validate(schema: &Value, instance: &Value) -> Result<(), String> {
    let validator = jsonschema::draft202012::new(schema).unwrap();
    let errors = validator.iter_errors(instance).into_errors();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.to_string())
    }
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    jsonschema::meta::validate(&schema).unwrap();
    assert_eq!(
        schema["properties"]["schema_version"]["const"],
        SCHEMA_VERSION
    );
}

#[test]
fn every_kind_of_report_validates_against_the_schema() {
    let open = schema();
    let strict = closed(schema());
    let reports = testing::reports();
    let kinds: Vec<ReportKind> = reports.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [ReportKind::Detailed, ReportKind::Summary, ReportKind::Trend]
    );
    for report in &reports {
        for json in [to_json(report), to_json_compact(report)] {
            let instance: Value = serde_json::from_str(&json).unwrap();
            validate(&open, &instance).unwrap();
            validate(&strict, &instance)
                .unwrap_or_else(|e| panic!("{} report: {e}", report.kind.as_str()));
        }
    }
}

#[test]
fn the_detailed_report_has_every_kind_of_content() {
    let report = &testing::reports()[0];
    let json: Value = serde_json::from_str(&to_json(report)).unwrap();
    let s = &json["sections"][0];
    assert_eq!(s["id"], "cache.results");
    assert_eq!(
        s["metrics"][0],
        json!({
            "name": "used_memory",
            "help": "Bytes charged",
            "kind": "gauge",
            "unit": "bytes",
            "labels": [["cache", "results"]],
            "value": 50331648.0
        })
    );
    assert_eq!(s["metrics"][2]["kind"], "counter");
    // Cells: text, integer, real, null; a real that is not finite is null.
    assert_eq!(s["tables"][0]["rows"][0], json!(["alpha", 4096, 0.5, null]));
    assert_eq!(s["tables"][0]["rows"][2][2], Value::Null);
    assert_eq!(s["series"][0]["unit"], "ratio");
    assert_eq!(s["series"][0]["points"][0], json!([NOW - 120_000, 0.5]));
    assert_eq!(
        s["events"][0]["fields"],
        json!([["from", "65"], ["to", "64"]])
    );
    assert_eq!(s["findings"][1]["severity"], "critical");
    assert_eq!(s["findings"][1]["code"], "QC-PRESSURE-HIGH");
    // An unknown metric value is null.
    let memory = &json["sections"][2];
    assert_eq!(memory["metrics"][1]["value"], Value::Null);
}

#[test]
fn reports_round_trip_through_json() {
    for report in testing::reports() {
        let pretty = to_json(&report);
        let compact = to_json_compact(&report);
        // NaN is not equal to itself, and a NaN cell comes back as an empty one: compare what
        // the JSON says.
        assert_eq!(to_json(&from_json(&pretty).unwrap()), pretty);
        assert_eq!(to_json(&from_json(&compact).unwrap()), pretty);
    }
}

#[test]
fn a_report_without_nan_cells_round_trips_exactly() {
    let mut s = Section::new("memory", "Memory");
    s.metrics
        .push(Metric::gauge("used_memory", "h", Unit::Bytes, 1.5).label("cache", "x"));
    s.tables
        .push(Table::new("t", "T", &["a", "b", "c", "d"]).row(vec![
            Cell::Int(-3),
            Cell::Float(2.0),
            Cell::from("text"),
            Cell::Empty,
        ]));
    let mut report = Report::new(ReportKind::Detailed, "r", NOW);
    report.sections.push(s);
    let back = from_json(&to_json(&report)).unwrap();
    assert_eq!(back, report);
    // A whole real number stays real.
    assert_eq!(back.sections[0].tables[0].rows[0][1], Cell::Float(2.0));
}

#[test]
fn non_finite_numbers_come_back_as_nan() {
    let mut s = Section::new("memory", "Memory");
    s.metrics
        .push(Metric::gauge("a", "h", Unit::None, f64::NAN));
    s.metrics
        .push(Metric::gauge("b", "h", Unit::None, f64::INFINITY));
    s.metrics.push(Metric::gauge("c", "h", Unit::None, 3.0));
    let mut ts = cache_traits::TimeSeries::default();
    ts.points = vec![(1, 1.0), (2, f64::NAN)];
    s.series.push(ts);
    let mut report = Report::new(ReportKind::Detailed, "r", NOW);
    report.sections.push(s);
    let json = to_json(&report);
    validate(&schema(), &serde_json::from_str(&json).unwrap()).unwrap();
    let back = from_json(&json).unwrap();
    let metrics = &back.sections[0].metrics;
    assert!(metrics[0].value.is_nan() && metrics[1].value.is_nan());
    assert_eq!(metrics[2].value, 3.0);
    let points = &back.sections[0].series[0].points;
    assert_eq!(points[0], (1, 1.0));
    assert!(points[1].1.is_nan());
}

#[test]
fn unknown_fields_are_ignored() {
    let mut json: Value = serde_json::from_str(&to_json(&testing::reports()[1])).unwrap();
    json["added_later"] = json!({"x": 1});
    json["sections"][0]["metrics"][0]["added_later"] = json!(true);
    assert!(from_json(&json.to_string()).is_ok());
}

#[test]
fn errors_say_what_went_wrong() {
    let check = |json: &str, expected: fn(&JsonError) -> bool| {
        let err = from_json(json).unwrap_err();
        assert!(expected(&err), "{json}: {err:?}");
        let message = err.to_string();
        assert!(message.starts_with(char::is_lowercase), "{message}");
        assert!(!message.ends_with('.'), "{message}");
    };
    check(
        "{",
        |e| matches!(e, JsonError::Syntax(m) if m.contains("line 1")),
    );
    check("[]", |e| matches!(e, JsonError::Shape(_)));
    check(
        r#"{"schema_version": 1}"#,
        |e| matches!(e, JsonError::Shape(m) if m.contains("kind")),
    );
    let report = to_json(&Report::new(ReportKind::Summary, "r", 0));
    let future = report.replace("\"schema_version\": 1", "\"schema_version\": 2");
    check(&future, |e| *e == JsonError::UnsupportedVersion(2));
    let odd = report.replace("\"summary\"", "\"weekly\"");
    check(
        &odd,
        |e| matches!(e, JsonError::Shape(m) if m.contains("weekly")),
    );
    assert!(
        JsonError::UnsupportedVersion(2)
            .to_string()
            .contains("knows version 1")
    );
}

#[test]
fn the_schema_rejects_what_is_not_a_report() {
    let schema = schema();
    let good: Value = serde_json::from_str(&to_json(&testing::reports()[0])).unwrap();
    let bad = |path: &str, value: Value| {
        let mut v = good.clone();
        *v.pointer_mut(path).unwrap() = value;
        assert!(
            validate(&schema, &v).is_err(),
            "{path} = {:?} passed",
            v.pointer(path)
        );
    };
    bad("/schema_version", json!(2));
    bad("/kind", json!("weekly"));
    bad("/sections/0/metrics/0/value", json!("12"));
    bad("/sections/0/metrics/0/kind", json!("histogram"));
    bad("/sections/0/metrics/0/labels/0", json!(["cache"]));
    bad("/sections/0/tables/0/rows/0/0", json!({"cell": 1}));
    bad("/sections/0/series/0/points/0", json!([-1, 0.5]));
    bad("/sections/0/findings/0/severity", json!("fatal"));
    bad("/generated_unix_millis", json!(-5));

    // The published schema is open to fields added later; the closed copy the tests use is not.
    let mut added = good.clone();
    added["sections"][0]["metrics"][0]["added_later"] = json!(1);
    assert!(validate(&schema, &added).is_ok());
    assert!(validate(&closed(schema.clone()), &added).is_err());
}
