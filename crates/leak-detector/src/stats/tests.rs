//! Tests of the statistics on known inputs.

use super::*;

fn line(n: usize, slope: f64, intercept: f64) -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let y = x.iter().map(|x| intercept + slope * x).collect();
    (x, y)
}

#[test]
fn median_of_odd_even_and_empty() {
    let check = |mut v: Vec<f64>, expected: Option<f64>| assert_eq!(median(&mut v), expected);
    check(vec![3.0, 1.0, 2.0], Some(2.0));
    check(vec![4.0, 1.0, 3.0, 2.0], Some(2.5));
    check(vec![], None);
    check(vec![1.0, f64::NAN], None);
}

#[test]
fn mad_of_known_values() {
    let mut v = vec![1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0];
    assert_eq!(median_mad(&mut v), Some((2.0, 1.0)));
}

#[test]
fn theil_sen_recovers_known_lines() {
    let mut scratch = Vec::new();
    for (slope, intercept) in [(0.0, 5.0), (2.5, -3.0), (-1.0, 100.0), (1e6, 1e9)] {
        let (x, y) = line(40, slope, intercept);
        let got = theil_sen(&x, &y, &mut scratch).unwrap();
        assert!(
            (got - slope).abs() <= 1e-9 * slope.abs().max(1.0),
            "{got} vs {slope}"
        );
    }
}

#[test]
fn theil_sen_ignores_outliers() {
    let mut scratch = Vec::new();
    let (x, mut y) = line(40, 3.0, 0.0);
    // A quarter of the points wildly off: the median slope does not move much.
    for i in (0..40).step_by(4) {
        y[i] += 1e6;
    }
    let got = theil_sen(&x, &y, &mut scratch).unwrap();
    assert!((got - 3.0).abs() < 0.5, "{got}");
}

#[test]
fn theil_sen_needs_two_distinct_x() {
    let mut scratch = Vec::new();
    assert_eq!(theil_sen(&[1.0], &[1.0], &mut scratch), None);
    assert_eq!(theil_sen(&[1.0, 1.0], &[1.0, 2.0], &mut scratch), None);
}

#[test]
fn mann_kendall_monotone_vs_shuffled() {
    let rising: Vec<f64> = (0..30).map(f64::from).collect();
    let mk = mann_kendall(&rising).unwrap();
    assert_eq!(mk.s, 30 * 29 / 2);
    assert!(mk.z > 5.0 && mk.p_rising() < 1e-6, "{mk:?}");

    let falling: Vec<f64> = rising.iter().rev().copied().collect();
    assert!(mann_kendall(&falling).unwrap().z < -5.0);

    // A fixed shuffle (multiplication by a unit mod 31): no trend.
    let shuffled: Vec<f64> = (1..31).map(|i| f64::from((i * 17) % 31)).collect();
    let mk = mann_kendall(&shuffled).unwrap();
    assert!(mk.z.abs() < 2.0 && mk.p_rising() > 0.02, "{mk:?}");

    assert_eq!(mann_kendall(&[1.0, 2.0]), None);
    assert_eq!(mann_kendall(&[1.0; 10]).unwrap().z, 0.0);
}

#[test]
fn normal_tail_matches_tables() {
    let check = |z: f64, p: f64| assert!((normal_sf(z) - p).abs() < 1e-6, "{z}: {}", normal_sf(z));
    check(0.0, 0.5);
    check(1.644_853_6, 0.05);
    check(3.090_232_3, 0.001);
    check(-1.959_964, 0.975);
}

#[test]
fn rate_correlation_needs_varying_rates() {
    let x: Vec<f64> = (0..20).map(f64::from).collect();
    // b's rate alternates; a follows it, c does not.
    let b: Vec<f64> = x.iter().map(|&t| t + (t / 2.0).floor()).collect();
    let a: Vec<f64> = b.iter().map(|v| 0.8 * v + 7.0).collect();
    let c: Vec<f64> = x.iter().map(|&t| 3.0 * t).collect();
    assert!(rate_correlation(&x, &a, &b).unwrap() > 0.99);
    assert_eq!(
        rate_correlation(&x, &b, &c),
        None,
        "a steady rate correlates with nothing"
    );
    assert!(rate_correlation(&x, &c, &b).is_none_or(|r| r.abs() < 0.5));
}
