use cache_traits::{Metric, MetricKind, Section, TimeSeries, Unit};

use super::*;

/// A section `id` holding gauges named by `values`' names.
fn section(id: &str, values: &[(&str, f64)]) -> Section {
    let mut s = Section::new(id, id);
    for &(name, value) in values {
        s.metrics
            .push(Metric::gauge(name, "help", Unit::None, value));
    }
    s
}

fn history(samples: usize, max_series: usize) -> History {
    History::builder()
        .samples(samples)
        .max_series(max_series)
        .build()
        .unwrap()
}

fn key(section: &str, name: &str) -> SeriesKey {
    SeriesKey::new(section, name, Vec::new())
}

fn names(h: &History) -> Vec<String> {
    h.keys().iter().map(|k| k.name.clone()).collect()
}

#[test]
fn the_ring_wraps_at_its_capacity() {
    let mut h = history(3, 16);
    for i in 0..5u64 {
        h.record(i * 1000, &[section("m", &[("x", i as f64)])]);
    }
    let series = h.series();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].points, [(2000, 2.0), (3000, 3.0), (4000, 4.0)]);
    assert_eq!(h.latest_unix_millis(), Some(4000));
}

#[test]
fn a_missing_or_nan_value_is_a_gap() {
    let mut h = history(10, 16);
    h.record(0, &[section("m", &[("x", 1.0), ("y", 1.0)])]);
    h.record(1000, &[section("m", &[("y", 2.0)])]);
    h.record(2000, &[section("m", &[("x", f64::NAN), ("y", 3.0)])]);
    h.record(3000, &[section("m", &[("x", 4.0), ("y", f64::INFINITY)])]);
    let series = h.series();
    assert_eq!(series[0].points, [(0, 1.0), (3000, 4.0)]);
    assert_eq!(series[1].points, [(0, 1.0), (1000, 2.0), (2000, 3.0)]);
}

#[test]
fn a_gap_longer_than_the_ring_starts_it_again() {
    let mut h = history(3, 16);
    h.record(0, &[section("m", &[("x", 1.0)])]);
    for i in 1..6u64 {
        h.record(i * 1000, &[section("m", &[])]);
    }
    // Off the timeline: held, but with no point left.
    assert_eq!(names(&h), ["x"]);
    assert!(h.series().is_empty());
    assert_eq!(h.trend(&key("m", "x"), Duration::from_secs(3600)), None);
    h.record(6000, &[section("m", &[("x", 7.0)])]);
    assert_eq!(h.series()[0].points, [(6000, 7.0)]);
}

#[test]
fn values_keep_their_times_after_the_timeline_wraps() {
    let mut h = history(4, 16);
    for i in 0..10u64 {
        let values: &[(&str, f64)] = if i % 2 == 0 { &[("x", i as f64)] } else { &[] };
        h.record(i * 1000, &[section("m", values)]);
    }
    assert_eq!(h.series()[0].points, [(6000, 6.0), (8000, 8.0)]);
}

#[test]
fn the_number_of_series_is_bounded() {
    let mut h = history(10, 2);
    h.record(0, &[section("m", &[("a", 1.0), ("b", 1.0)])]);
    h.record(1000, &[section("m", &[("b", 2.0)])]);
    h.record(2000, &[section("m", &[("a", 3.0)])]);
    // `b` was updated least recently: `c` takes its place.
    h.record(3000, &[section("m", &[("c", 4.0)])]);
    assert_eq!(names(&h), ["a", "c"]);
    assert_eq!(h.len(), 2);
    let c = h.series().pop().unwrap();
    assert_eq!(c.points, [(3000, 4.0)]);

    // Label churn: every call brings a new series, and the count stays at the bound.
    for i in 0..100u64 {
        let m = Metric::gauge("req", "help", Unit::None, 1.0).label("id", i.to_string());
        let mut s = Section::new("m", "m");
        s.metrics.push(m);
        h.record(4000 + i * 1000, &[s]);
        assert!(h.len() <= 2);
    }
    let labels: Vec<_> = h.keys().iter().map(|k| k.labels.clone()).collect();
    assert_eq!(
        labels,
        [
            vec![("id".to_string(), "98".to_string())],
            vec![("id".to_string(), "99".to_string())]
        ]
    );
}

#[test]
fn one_call_with_more_series_than_the_bound_keeps_the_first() {
    let mut h = history(10, 2);
    h.record(0, &[section("m", &[("a", 1.0), ("b", 2.0), ("c", 3.0)])]);
    assert_eq!(names(&h), ["a", "b"]);
    // The series of this call are not evicted for one another.
    h.record(1000, &[section("m", &[("a", 1.0), ("b", 2.0), ("c", 3.0)])]);
    assert_eq!(names(&h), ["a", "b"]);
}

#[test]
fn the_same_series_twice_in_a_call_keeps_the_later_value() {
    let mut h = history(10, 4);
    h.record(
        0,
        &[section(
            "m",
            &[("a", 1.0), ("a", 2.0), ("n", 1.0), ("n", 5.0)],
        )],
    );
    h.record(1000, &[section("m", &[("a", 3.0), ("a", 4.0)])]);
    assert_eq!(h.series()[0].points, [(0, 2.0), (1000, 4.0)]);
    assert_eq!(h.series()[1].points, [(0, 5.0)]);
}

#[test]
fn sections_and_labels_keep_series_apart() {
    let mut h = history(10, 16);
    let labelled = |cache: &str, v: f64| {
        Metric::gauge("used_memory", "help", Unit::Bytes, v).label("cache", cache)
    };
    let mut a = Section::new("cache", "Caches");
    a.metrics.extend([labelled("x", 1.0), labelled("y", 2.0)]);
    let b = section("memory", &[("used_memory", 3.0)]);
    h.record(0, &[a, b]);
    assert_eq!(h.len(), 3);
    assert_eq!(h.series_of("cache").len(), 2);
    let memory = h.series_of("memory");
    assert_eq!(memory.len(), 1);
    assert_eq!(memory[0].points, [(0, 3.0)]);
    assert_eq!(memory[0].unit, Some(Unit::None));
    assert!(h.series_of("nothing").is_empty());
}

#[test]
fn time_does_not_go_backwards() {
    let mut h = history(10, 16);
    h.record(5000, &[section("m", &[("x", 1.0)])]);
    h.record(4000, &[section("m", &[("x", 2.0)])]);
    assert_eq!(h.series()[0].points, [(5000, 1.0), (5000, 2.0)]);
}

#[test]
fn a_trend_covers_the_window_before_the_latest_record() {
    let mut h = history(100, 16);
    for i in 0..=10u64 {
        h.record(i * 1000, &[section("m", &[("x", i as f64)])]);
    }
    let t = h.trend(&key("m", "x"), Duration::from_secs(3)).unwrap();
    assert_eq!((t.n_points, t.first, t.last), (4, 7.0, 10.0));
    assert_eq!((t.from_unix_millis, t.to_unix_millis), (7000, 10_000));
    let all = h.trend(&key("m", "x"), Duration::MAX).unwrap();
    assert_eq!(all.n_points, 11);
    assert_eq!(h.trend(&key("m", "nothing"), Duration::MAX), None);
}

#[test]
fn counters_have_a_rate_and_gauges_do_not() {
    let mut h = history(100, 16);
    for i in 0..=4u64 {
        let mut s = Section::new("m", "m");
        s.metrics.extend([
            Metric::counter("hits", "help", Unit::None, (i * 10) as f64),
            Metric::gauge("held", "help", Unit::Bytes, (i * 10) as f64),
        ]);
        h.record(i * 1000, &[s]);
    }
    let hits = h.trend(&key("m", "hits"), Duration::MAX).unwrap();
    assert_eq!(hits.rate_per_second, Some(10.0));
    let held = h.trend(&key("m", "held"), Duration::MAX).unwrap();
    assert_eq!(held.rate_per_second, None);
    assert_eq!(held.slope_per_second, Some(10.0));
}

#[test]
fn bounds_of_zero_are_refused() {
    assert_eq!(
        History::builder().samples(0).build().err(),
        Some(HistoryError::ZeroSamples)
    );
    assert_eq!(
        History::builder().max_series(0).build().err(),
        Some(HistoryError::ZeroSeries)
    );
    assert!(
        HistoryError::ZeroSamples
            .to_string()
            .contains("pass samples")
    );
}

/// What a trend should be; `None` fields are not expected to be there.
struct Expected {
    n: usize,
    first: f64,
    last: f64,
    min: f64,
    max: f64,
    mean: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    slope: Option<f64>,
    rate: Option<f64>,
}

/// Checks the trend of `points` (seconds, value) read as `kind`.
fn check(points: &[(u64, f64)], kind: MetricKind, expected: Option<Expected>) {
    let mut ts = TimeSeries::default();
    ts.points = points.iter().map(|&(s, v)| (s * 1000, v)).collect();
    let got = Trend::of(&ts, kind, Duration::MAX);
    let Some(e) = expected else {
        assert_eq!(got, None, "{points:?}");
        return;
    };
    let t = got.unwrap_or_else(|| panic!("no trend for {points:?}"));
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let close_opt = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => close(a, b),
        (a, b) => a == b,
    };
    assert_eq!(t.n_points, e.n, "{points:?}");
    for (what, got, want) in [
        ("first", t.first, e.first),
        ("last", t.last, e.last),
        ("min", t.min, e.min),
        ("max", t.max, e.max),
        ("mean", t.mean, e.mean),
        ("p50", t.p50, e.p50),
        ("p90", t.p90, e.p90),
        ("p99", t.p99, e.p99),
    ] {
        assert!(close(got, want), "{what} of {points:?}: {got} != {want}");
    }
    assert!(
        close_opt(t.slope_per_second, e.slope),
        "slope of {points:?}: {:?} != {:?}",
        t.slope_per_second,
        e.slope
    );
    assert!(
        close_opt(t.rate_per_second, e.rate),
        "rate of {points:?}: {:?} != {:?}",
        t.rate_per_second,
        e.rate
    );
}

/// Points (seconds, value), how to read them, and the trend expected.
type Case<'a> = (&'a [(u64, f64)], MetricKind, Option<Expected>);

#[test]
fn trend_figures_on_known_inputs() {
    use MetricKind::{Counter, Gauge};
    #[rustfmt::skip]
    let cases: Vec<Case<'_>> = vec![
        // Empty.
        (&[], Gauge, None),
        // Only NaN.
        (&[(0, f64::NAN), (1, f64::NAN)], Gauge, None),
        // One point: no slope, no rate.
        (&[(3, 7.0)], Counter, Some(Expected {
            n: 1, first: 7.0, last: 7.0, min: 7.0, max: 7.0, mean: 7.0,
            p50: 7.0, p90: 7.0, p99: 7.0, slope: None, rate: None,
        })),
        // Two points at one time: no slope.
        (&[(3, 1.0), (3, 3.0)], Gauge, Some(Expected {
            n: 2, first: 1.0, last: 3.0, min: 1.0, max: 3.0, mean: 2.0,
            p50: 2.0, p90: 2.8, p99: 2.98, slope: None, rate: None,
        })),
        // Flat.
        (&[(0, 5.0), (1, 5.0), (2, 5.0)], Gauge, Some(Expected {
            n: 3, first: 5.0, last: 5.0, min: 5.0, max: 5.0, mean: 5.0,
            p50: 5.0, p90: 5.0, p99: 5.0, slope: Some(0.0), rate: None,
        })),
        // 1, 2, 3, 4 a second apart: percentiles between ranks.
        (&[(0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0)], Gauge, Some(Expected {
            n: 4, first: 1.0, last: 4.0, min: 1.0, max: 4.0, mean: 2.5,
            p50: 2.5, p90: 3.7, p99: 3.97, slope: Some(1.0), rate: None,
        })),
        // y = 2x + 1 over 0..=10 s.
        (&[(0, 1.0), (1, 3.0), (2, 5.0), (3, 7.0), (4, 9.0), (5, 11.0), (6, 13.0),
           (7, 15.0), (8, 17.0), (9, 19.0), (10, 21.0)], Gauge, Some(Expected {
            n: 11, first: 1.0, last: 21.0, min: 1.0, max: 21.0, mean: 11.0,
            p50: 11.0, p90: 19.0, p99: 20.8, slope: Some(2.0), rate: None,
        })),
        // Out of order values: the fit falls by half a unit a second.
        (&[(0, 3.0), (1, 1.0), (2, 2.0)], Gauge, Some(Expected {
            n: 3, first: 3.0, last: 2.0, min: 1.0, max: 3.0, mean: 2.0,
            p50: 2.0, p90: 2.8, p99: 2.98, slope: Some(-0.5), rate: None,
        })),
        // Uneven spacing: the fit weighs time, not index.
        (&[(0, 0.0), (1, 1.0), (4, 4.0)], Gauge, Some(Expected {
            n: 3, first: 0.0, last: 4.0, min: 0.0, max: 4.0, mean: 5.0 / 3.0,
            p50: 1.0, p90: 3.4, p99: 3.94, slope: Some(1.0), rate: None,
        })),
        // A counter that restarts: 10 + 5 (from zero) + 10 over 3 s.
        (&[(0, 10.0), (1, 20.0), (2, 5.0), (3, 15.0)], Counter, Some(Expected {
            n: 4, first: 10.0, last: 15.0, min: 5.0, max: 20.0, mean: 12.5,
            p50: 12.5, p90: 18.5, p99: 19.85, slope: Some(0.0), rate: Some(25.0 / 3.0),
        })),
        // NaN left out.
        (&[(0, 0.0), (1, f64::NAN), (2, 2.0)], Counter, Some(Expected {
            n: 2, first: 0.0, last: 2.0, min: 0.0, max: 2.0, mean: 1.0,
            p50: 1.0, p90: 1.8, p99: 1.98, slope: Some(1.0), rate: Some(1.0),
        })),
    ];
    for (points, kind, expected) in cases {
        check(points, kind, expected);
    }
}

#[test]
fn a_series_trend_ends_at_its_last_point() {
    let mut ts = TimeSeries::default();
    ts.points = (0..10u64).map(|i| (i * 1000, i as f64)).collect();
    let t = Trend::of(&ts, MetricKind::Gauge, Duration::from_secs(2)).unwrap();
    assert_eq!((t.n_points, t.first, t.last), (3, 7.0, 9.0));
    assert_eq!(
        Trend::of(&TimeSeries::default(), MetricKind::Gauge, Duration::MAX),
        None
    );
}

/// A series of `points` (milliseconds, value).
fn series_of(points: &[(u64, f64)]) -> TimeSeries {
    let mut ts = TimeSeries::default();
    ts.points = points.to_vec();
    ts
}

#[test]
fn points_out_of_time_order_are_read_in_time_order() {
    // Each case once in time order and once shuffled: the same figures, no overflow.
    let in_order = [(0, 1.0), (1000, 3.0), (2000, 5.0), (3000, 7.0), (4000, 9.0)];
    let shuffled = [(3000, 7.0), (0, 1.0), (4000, 9.0), (1000, 3.0), (2000, 5.0)];
    for kind in [MetricKind::Gauge, MetricKind::Counter] {
        let want = Trend::of(&series_of(&in_order), kind, Duration::MAX).unwrap();
        let got = Trend::of(&series_of(&shuffled), kind, Duration::MAX).unwrap();
        assert_eq!(got, want, "{kind:?}");
        assert_eq!((got.from_unix_millis, got.to_unix_millis), (0, 4000));
        assert_eq!((got.first, got.last), (1.0, 9.0));
        assert_eq!(got.slope_per_second, Some(2.0));
    }
    // The window ends at the latest time, not at the last point listed.
    let t = Trend::of(
        &series_of(&shuffled),
        MetricKind::Gauge,
        Duration::from_secs(1),
    )
    .unwrap();
    assert_eq!((t.n_points, t.first, t.last), (2, 7.0, 9.0));
    // Descending times, far apart: the figures of the ascending series.
    let descending: Vec<(u64, f64)> = (0..100u64)
        .rev()
        .map(|i| (u64::MAX - 1000 * (99 - i), i as f64))
        .collect();
    let t = Trend::of(&series_of(&descending), MetricKind::Gauge, Duration::MAX).unwrap();
    assert_eq!((t.first, t.last, t.n_points), (0.0, 99.0, 100));
    assert_eq!(t.to_unix_millis - t.from_unix_millis, 99_000);
    let slope = t.slope_per_second.unwrap();
    assert!((slope - 1.0).abs() < 1e-9, "{slope}");
}

#[test]
fn points_at_one_time_have_no_slope_in_any_order() {
    let t = Trend::of(
        &series_of(&[(5000, 3.0), (5000, 1.0), (5000, 2.0)]),
        MetricKind::Counter,
        Duration::MAX,
    )
    .unwrap();
    assert_eq!((t.n_points, t.min, t.max), (3, 1.0, 3.0));
    // Points at one time keep the order they came in.
    assert_eq!((t.first, t.last), (3.0, 2.0));
    assert_eq!(t.slope_per_second, None);
    assert_eq!(t.rate_per_second, None);
}

#[test]
fn a_trend_report_of_a_series_out_of_time_order() {
    let mut s = section("m", &[]);
    let mut ts = series_of(&[(2000, 2.0), (0, 0.0), (1000, 1.0)]);
    ts.name = "x".to_owned();
    s.series.push(ts);
    let report = crate::Report::trend_from_sections("r", 2000, [s], &history(4, 4), Duration::MAX);
    let table = &report.sections[0].tables[0];
    assert_eq!(table.rows[0][4], 3u64.into());
    assert_eq!(table.rows[0][13], Some(1.0).into());
}
