//! Tests of the builder's validation, its error messages and its defaults.

use std::time::Duration;

use super::{Bounds, BuildError, SharedBudget, SizerBuilder, Step};
use crate::Sizer;
use crate::testing::Fake;

fn check(builder: SizerBuilder, expected: &str) {
    match builder.build() {
        Ok(_) => panic!("expected an error: {expected}"),
        Err(e) => assert_eq!(e.to_string(), expected),
    }
}

/// A builder with one valid cache, to which one bad setting is added.
fn one() -> SizerBuilder {
    Sizer::builder().cache(Fake::new("a", 0, 0), Bounds::default(), 1.0)
}

#[test]
fn bad_settings_say_what_to_change() {
    check(
        Sizer::builder(),
        "the sizer has no caches; add one with `cache` or `shared_budget`",
    );
    for (builder, setting, value) in [
        (one().goal_fraction(0.0), "goal_fraction", "0"),
        (one().goal_fraction(1.01), "goal_fraction", "1.01"),
        (one().goal_fraction(f64::NAN), "goal_fraction", "NaN"),
        (one().smoothing(-0.5), "smoothing", "-0.5"),
        (one().smoothing(f64::INFINITY), "smoothing", "inf"),
        (
            one().max_grow_step(Step::Fraction(0.0)),
            "max_grow_step",
            "0",
        ),
        (
            one().max_shrink_step(Step::Fraction(2.0)),
            "max_shrink_step",
            "2",
        ),
    ] {
        check(
            builder,
            &format!("{setting} is {value}; set it above 0 and at most 1"),
        );
    }
    check(
        one().max_grow_step(Step::Bytes(0)),
        "max_grow_step is 0 bytes, so nothing could ever change; \
         set it to at least 1 byte or to a fraction of the limit",
    );
    check(
        one().max_shrink_step(Step::Bytes(0)),
        "max_shrink_step is 0 bytes, so nothing could ever change; \
         set it to at least 1 byte or to a fraction of the limit",
    );
}

#[test]
fn bad_members_say_what_to_change() {
    check(
        Sizer::builder().cache(Fake::new("a", 0, 0), Bounds::new(10, 5), 1.0),
        "`a` has a min bound of 10 bytes above its max bound of 5 bytes; \
         lower `min` or raise `max`",
    );
    for weight in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        check(
            Sizer::builder().cache(Fake::new("a", 0, 0), Bounds::default(), weight),
            &format!("`a` has a weight of {weight}; set a finite weight above 0"),
        );
    }
    for builder in [
        one().cache(Fake::new("a", 0, 0), Bounds::default(), 1.0),
        one().shared_budget(SharedBudget::new("a").cache(
            Fake::new("b", 0, 0),
            Bounds::default(),
            1.0,
        )),
        one().shared_budget(SharedBudget::new("q").cache(
            Fake::new("a", 0, 0),
            Bounds::default(),
            1.0,
        )),
    ] {
        check(
            builder,
            "two members are named `a`; give every cache and shared budget its own name",
        );
    }
}

#[test]
fn bad_shared_budgets_say_what_to_change() {
    let c = |name| Fake::new(name, 0, 0);
    check(
        one().shared_budget(SharedBudget::new("q")),
        "shared budget `q` has no caches; add one with `SharedBudget::cache` \
         or leave the budget out",
    );
    check(
        one().shared_budget(SharedBudget::new("q").weight(0.0).cache(
            c("b"),
            Bounds::default(),
            1.0,
        )),
        "`q` has a weight of 0; set a finite weight above 0",
    );
    check(
        one().shared_budget(SharedBudget::new("q").bounds(Bounds::new(2, 1)).cache(
            c("b"),
            Bounds::default(),
            1.0,
        )),
        "`q` has a min bound of 2 bytes above its max bound of 1 bytes; \
         lower `min` or raise `max`",
    );
    check(
        one().shared_budget(
            SharedBudget::new("q")
                .cache(c("b"), Bounds::default(), 1.0)
                .cache(c("c"), Bounds::new(3, 2), 1.0),
        ),
        "`c` has a min bound of 3 bytes above its max bound of 2 bytes; \
         lower `min` or raise `max`",
    );
    check(
        one().shared_budget(
            SharedBudget::new("q")
                .total(100)
                .cache(c("b"), Bounds::new(60, 1000), 1.0)
                .cache(c("c"), Bounds::new(60, 1000), 1.0),
        ),
        "the caches of shared budget `q` have min bounds adding up to 120 bytes, \
         above the budget's max bound of 100 bytes; \
         lower their min bounds or raise the budget's max",
    );
    check(
        one().shared_budget(
            SharedBudget::new("q")
                .bounds(Bounds::new(500, 1000))
                .cache(c("b"), Bounds::at_most(100), 1.0)
                .cache(c("c"), Bounds::at_most(100), f64::MIN_POSITIVE),
        ),
        "the caches of shared budget `q` have max bounds adding up to 200 bytes, \
         below the budget's min bound of 500 bytes; \
         raise their max bounds or lower the budget's min",
    );
}

#[test]
fn good_configurations_build() {
    let sizer = one()
        .goal_fraction(1.0)
        .smoothing(1.0)
        .reserve_bytes(u64::MAX)
        .max_grow_step(Step::Bytes(1))
        .max_shrink_step(Step::Fraction(1.0))
        .cool_down(Duration::ZERO)
        .shared_budget(
            SharedBudget::new("q")
                .total(u64::MAX)
                .lending(false)
                .cache(Fake::new("b", 0, 0), Bounds::default(), 1e300)
                .cache(Fake::new("c", 0, 0), Bounds::default(), 1e-300),
        )
        .build();
    assert!(sizer.is_ok());
    let sizer = one().cool_down(Duration::MAX).build().unwrap();
    assert_eq!(sizer.members().len(), 1);
}

#[test]
fn a_shared_budget_lists_its_caches() {
    let budget = SharedBudget::new("q")
        .cache(Fake::new("b", 0, 0), Bounds::at_most(7), 1.0)
        .cache(Fake::new("c", 0, 0), Bounds::default(), 2.0);
    let listed: Vec<_> = budget
        .members()
        .map(|(cache, bounds)| (cache.name().to_owned(), bounds))
        .collect();
    assert_eq!(
        listed,
        [
            ("b".to_owned(), Bounds::at_most(7)),
            ("c".to_owned(), Bounds::default())
        ]
    );
}

#[test]
fn errors_are_std_errors() {
    let err: Box<dyn std::error::Error> = Box::new(BuildError::NoCaches);
    assert!(err.source().is_none());
}
