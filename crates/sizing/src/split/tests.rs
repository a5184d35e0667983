//! Tests of the water-filling split: weights, bounds, overflow to the others, extremes.

use super::{Part, water_fill};
use crate::config::Bounds;

fn part(weight: f64, min: u64, max: u64) -> Part {
    Part {
        weight,
        bounds: Bounds { min, max },
    }
}

fn check(total: u64, parts: &[Part], expected: &[u64]) {
    assert_eq!(water_fill(total, parts), expected, "total {total}");
}

#[test]
fn splits_by_weight_when_no_bound_binds() {
    check(300, &[part(1.0, 0, 1000), part(2.0, 0, 1000)], &[100, 200]);
    check(
        1000,
        &[part(1.0, 0, 1000), part(1.0, 0, 1000), part(2.0, 0, 1000)],
        &[250, 250, 500],
    );
}

#[test]
fn what_a_max_cannot_take_flows_to_the_others() {
    // By weight A would get 500 of 1000; its max is 100, so B and C share the other 900.
    check(
        1000,
        &[
            part(1.0, 0, 100),
            part(1.0, 0, 10_000),
            part(2.0, 0, 10_000),
        ],
        &[100, 300, 600],
    );
}

#[test]
fn a_min_is_met_from_the_others() {
    // By weight A would get 100 of 1000; its min is 400, so B gets the remaining 600.
    check(
        1000,
        &[part(1.0, 400, 1000), part(9.0, 0, 1000)],
        &[400, 600],
    );
    // A min that the weights already cover changes nothing.
    check(
        1000,
        &[part(1.0, 50, 1000), part(1.0, 0, 1000)],
        &[500, 500],
    );
}

#[test]
fn mins_are_floors_even_above_the_total() {
    check(100, &[part(1.0, 80, 200), part(1.0, 70, 200)], &[80, 70]);
    check(0, &[part(1.0, 0, 10), part(1.0, 5, 10)], &[0, 5]);
}

#[test]
fn maxes_cap_even_below_the_total() {
    check(1000, &[part(1.0, 0, 100), part(1.0, 0, 200)], &[100, 200]);
}

#[test]
fn parts_add_up_to_the_total_in_whole_bytes() {
    let thirds = [
        part(1.0, 0, 10_000),
        part(1.0, 0, 10_000),
        part(1.0, 0, 10_000),
    ];
    assert_eq!(water_fill(1000, &thirds), [334, 333, 333]);
    let parts = [part(1.0, 0, 10_000), part(2.0, 0, 10_000)];
    assert_eq!(
        water_fill(1000, &parts),
        [333, 667],
        "the larger remainder gets the byte"
    );
    let parts = [part(1.0, 0, u64::MAX), part(3.0, 0, u64::MAX)];
    assert_eq!(water_fill(400 << 20, &parts), [100 << 20, 300 << 20]);
    let parts = [part(0.3, 7, 901), part(1.7, 0, 50), part(2.9, 13, 10_000)];
    for total in 0..2000 {
        let got = water_fill(total, &parts);
        let sum: u64 = got.iter().sum();
        assert_eq!(sum, total.max(20), "total {total}: {got:?}");
        for (g, p) in got.iter().zip(&parts) {
            assert!((p.bounds.min..=p.bounds.max).contains(g));
        }
    }
}

#[test]
fn huge_numbers_do_not_overflow() {
    let parts = [part(1.0, 0, u64::MAX), part(1.0, 0, u64::MAX)];
    let got = water_fill(u64::MAX, &parts);
    assert!(got.iter().all(|&g| g > u64::MAX / 2 - (1 << 12)), "{got:?}");
    check(
        u64::MAX,
        &[part(1.0, u64::MAX, u64::MAX), part(1.0, u64::MAX, u64::MAX)],
        &[u64::MAX, u64::MAX],
    );
    check(
        5,
        &[
            part(f64::MAX, 0, u64::MAX),
            part(f64::MIN_POSITIVE, 0, u64::MAX),
        ],
        &[5, 0],
    );
    check(0, &[part(1.0, 0, 0)], &[0]);
    check(0, &[], &[]);
}
