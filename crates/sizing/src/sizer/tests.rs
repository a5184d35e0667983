//! Tests of the sizer's ticks on fake caches and a manual clock.

use std::sync::Arc;
use std::time::Duration;

use cache_traits::{Clock, LimitSource, ManualClock, MemoryLimit, PressureLevel, Utility};

use super::{DEAD_BAND_BYTES, Decision, Reason, Sizer};
use crate::testing::Fake;
use crate::{Bounds, SharedBudget, SizerBuilder, Step, UtilitySource};

const MIB: u64 = 1 << 20;
const NORMAL: PressureLevel = PressureLevel::Normal;

fn limit(bytes: u64, used: u64) -> Option<MemoryLimit> {
    Some(MemoryLimit::new(LimitSource::CgroupMax, bytes, used))
}

/// A builder without smoothing, step bounds or cool-down, so one tick reaches the target.
fn quick() -> SizerBuilder {
    Sizer::builder()
        .smoothing(1.0)
        .max_grow_step(Step::Bytes(u64::MAX))
        .max_shrink_step(Step::Bytes(u64::MAX))
        .cool_down(Duration::ZERO)
}

/// A sizer on a manual clock that moves a second a tick.
struct Run {
    sizer: Sizer,
    clock: ManualClock,
}

impl Run {
    fn new(builder: SizerBuilder) -> Self {
        Self {
            sizer: builder.build().unwrap(),
            clock: ManualClock::new(),
        }
    }

    fn tick(&mut self, limit: Option<MemoryLimit>, level: PressureLevel) -> Vec<Decision> {
        self.clock.advance(Duration::from_secs(1));
        self.sizer
            .tick(self.clock.now_nanos(), limit, level)
            .to_vec()
    }
}

fn reasons(decisions: &[Decision]) -> Vec<(&str, Reason)> {
    decisions.iter().map(|d| (&*d.cache, d.reason)).collect()
}

/// One cache `a`, unbounded, with a capacity of `cap` bytes holding `size`.
fn one(builder: SizerBuilder, cap: u64, size: u64) -> (Run, Arc<Fake>) {
    let a = Fake::new("a", cap, size);
    (
        Run::new(builder.cache(a.clone(), Bounds::default(), 1.0)),
        a,
    )
}

/// Caches `a` and `b` of equal weight in a shared budget `q` of a fixed 200 MiB, empty.
fn pair(builder: SizerBuilder, budget: SharedBudget) -> (Run, Arc<Fake>, Arc<Fake>) {
    let a = Fake::new("a", 0, 0);
    let b = Fake::new("b", 0, 0);
    let budget = budget
        .total(200 * MIB)
        .cache(a.clone(), Bounds::default(), 1.0)
        .cache(b.clone(), Bounds::default(), 1.0);
    (Run::new(builder.shared_budget(budget)), a, b)
}

#[test]
fn the_total_is_the_goal_less_the_reserve_less_the_rest_of_the_process() {
    let (mut run, a) = one(quick().reserve_bytes(50 * MIB), 100 * MIB, 100 * MIB);
    // 1000 MiB limit, 300 MiB used of which the cache holds 100: 750 - 50 - 200 = 500 MiB.
    let decisions = run.tick(limit(1000 * MIB, 300 * MIB), NORMAL);
    assert_eq!(a.cap(), 500 * MIB);
    assert_eq!(run.sizer.total_target(), Some(500 * MIB));
    let d = &decisions[0];
    assert_eq!((d.from, d.to, d.target), (100 * MIB, 500 * MIB, 500 * MIB));
    assert_eq!(
        (d.reason, d.level, d.at_nanos),
        (Reason::Grow, NORMAL, 2_000_000_000)
    );
    assert_eq!(d.budget, None);

    // The rest of the process grows by 300 MiB: the cache gives it up.
    let decisions = run.tick(limit(1000 * MIB, 600 * MIB), NORMAL);
    assert_eq!(a.cap(), 200 * MIB);
    assert_eq!(reasons(&decisions), [("a", Reason::Shrink)]);

    // More than the goal is used elsewhere: the cache goes to its min.
    run.tick(limit(1000 * MIB, 2000 * MIB), NORMAL);
    assert_eq!(a.cap(), 0);
}

#[test]
fn the_goal_fraction_sets_the_total() {
    let (mut run, a) = one(quick().goal_fraction(0.5), 0, 0);
    run.tick(limit(1000 * MIB, 0), NORMAL);
    assert_eq!(a.cap(), 500 * MIB);
}

#[test]
fn weights_split_the_total_and_bounds_pass_the_excess_on() {
    let a = Fake::new("a", 0, 0);
    let b = Fake::new("b", 0, 0);
    let c = Fake::new("c", 0, 0);
    let d = Fake::new("d", 0, 0);
    let mut run = Run::new(
        quick()
            .goal_fraction(0.5)
            .cache(a.clone(), Bounds::at_most(40 * MIB), 1.0)
            .cache(b.clone(), Bounds::default(), 1.0)
            .cache(c.clone(), Bounds::default(), 2.0)
            .cache(d.clone(), Bounds::new(60 * MIB, 100 * MIB), 0.001),
    );
    // 400 MiB: a is capped at 40, d takes its min of 60, b and c share the 300 left as 1:2.
    run.tick(limit(800 * MIB, 0), NORMAL);
    assert_eq!(
        [a.cap(), b.cap(), c.cap(), d.cap()],
        [40, 100, 200, 60].map(|m| m * MIB)
    );
    // Mins are floors, even when the memory is short.
    run.tick(limit(800 * MIB, 800 * MIB), NORMAL);
    assert_eq!([a.cap(), b.cap(), c.cap(), d.cap()], [0, 0, 0, 60 * MIB]);
}

#[test]
fn caches_never_grow_at_elevated_or_worse() {
    for &level in &PressureLevel::ALL[1..] {
        let a = Fake::new("a", 100 * MIB, 100 * MIB);
        let mut run = Run::new(quick().cache(a.clone(), Bounds::default(), 1.0));
        for _ in 0..3 {
            let decisions = run.tick(limit(1000 * MIB, 100 * MIB), level);
            assert_eq!(a.cap(), 100 * MIB, "{level}");
            assert_eq!(a.sets(), 0);
            let d = &decisions[0];
            assert_eq!((d.reason, d.level), (Reason::HeldByLevel, level));
            assert_eq!((d.from, d.to, d.target), (100 * MIB, 100 * MIB, 750 * MIB));
        }
        // Shrinking is allowed at any level.
        run.tick(limit(100 * MIB, 200 * MIB), level);
        assert_eq!(a.cap(), 0);
        run.tick(limit(1000 * MIB, 0), NORMAL);
        assert_eq!(a.cap(), 750 * MIB);
    }
}

#[test]
fn growth_held_by_the_level_resumes_a_step_at_a_time() {
    let (mut run, a) = one(
        quick().max_grow_step(Step::Bytes(10 * MIB)),
        100 * MIB,
        100 * MIB,
    );
    for _ in 0..20 {
        run.tick(limit(1000 * MIB, 100 * MIB), PressureLevel::Elevated);
    }
    assert_eq!(run.sizer.total_target(), Some(750 * MIB));
    assert_eq!(a.sets(), 0);
    run.tick(limit(1000 * MIB, 100 * MIB), NORMAL);
    assert_eq!(
        a.cap(),
        110 * MIB,
        "released growth is one step, not a jump"
    );
}

#[test]
fn caches_share_a_step_in_proportion_to_how_far_they_have_to_go() {
    let a = Fake::new("a", 0, 0);
    let b = Fake::new("b", 0, 0);
    let mut run = Run::new(
        quick()
            .max_grow_step(Step::Bytes(40 * MIB))
            .max_shrink_step(Step::Bytes(20 * MIB))
            .cache(a.clone(), Bounds::at_most(100 * MIB), 1.0)
            .cache(b.clone(), Bounds::at_most(300 * MIB), 1.0),
    );
    for i in 1..=10 {
        run.tick(None, NORMAL);
        assert_eq!([a.cap(), b.cap()], [10 * i * MIB, 30 * i * MIB]);
    }
    run.tick(None, NORMAL);
    a.fill();
    b.fill();
    // Both full, and the rest of the process takes all of the goal: a has 100 MiB to give up,
    // b 300; the 20 MiB of a tick go 1:3.
    run.tick(limit(1000 * MIB, 1150 * MIB), NORMAL);
    assert_eq!([a.cap(), b.cap()], [95 * MIB, 285 * MIB]);
}

#[test]
fn a_cache_above_its_weighted_share_is_not_cut_while_the_others_grow() {
    // a starts with its share, b with nothing; the total grows by steps of 50 MiB, but a's
    // share is a half of the target, not of the capacities, so a keeps it.
    let a = Fake::new("a", 500 * MIB, 500 * MIB);
    let b = Fake::new("b", 0, 0);
    let mut run = Run::new(
        Sizer::builder()
            .goal_fraction(1.0)
            .cache(a.clone(), Bounds::default(), 1.0)
            .cache(b.clone(), Bounds::default(), 1.0),
    );
    for i in 1..=10 {
        run.tick(limit(1000 * MIB, 500 * MIB), NORMAL);
        assert_eq!([a.cap(), b.cap()], [500 * MIB, 50 * i * MIB]);
    }
    assert_eq!(a.sets(), 0);
}

#[test]
fn no_growth_during_the_cool_down_after_a_shrink() {
    let (mut run, a) = one(quick().cool_down(Duration::from_secs(10)), 500 * MIB, 0);
    run.tick(limit(400 * MIB, 0), NORMAL);
    assert_eq!(a.cap(), 300 * MIB);
    let shrunk_at = run.clock.now_nanos();
    // Nine more seconds: still cooling down.
    for _ in 0..9 {
        let decisions = run.tick(limit(1000 * MIB, 0), NORMAL);
        assert_eq!(a.cap(), 300 * MIB);
        assert_eq!(reasons(&decisions), [("a", Reason::HeldByCoolDown)]);
    }
    let view = &run.sizer.members()[0];
    assert_eq!(view.cool_down_until, Some(shrunk_at + 10_000_000_000));
    assert_eq!(view.target, Some(750 * MIB));
    let decisions = run.tick(limit(1000 * MIB, 0), NORMAL);
    assert_eq!(reasons(&decisions), [("a", Reason::Grow)]);
    assert_eq!(a.cap(), 750 * MIB);
}

#[test]
fn a_cut_by_someone_else_starts_the_cool_down_too() {
    let (mut run, a) = one(quick().cool_down(Duration::from_secs(5)), 0, 0);
    run.tick(limit(1000 * MIB, 0), NORMAL);
    assert_eq!(a.cap(), 750 * MIB);
    // The pressure handler cuts the cache behind the sizer's back.
    a.set_capacity_for_test(100 * MIB);
    let decisions = run.tick(limit(1000 * MIB, 0), NORMAL);
    assert_eq!(reasons(&decisions), [("a", Reason::HeldByCoolDown)]);
    for _ in 0..4 {
        run.tick(limit(1000 * MIB, 0), NORMAL);
    }
    assert_eq!(
        a.cap(),
        100 * MIB,
        "five seconds from the tick that saw the cut"
    );
    run.tick(limit(1000 * MIB, 0), NORMAL);
    assert_eq!(a.cap(), 750 * MIB);
}

#[test]
fn steps_bound_each_tick() {
    let (mut run, a) = one(
        quick()
            .max_grow_step(Step::Bytes(10 * MIB))
            .max_shrink_step(Step::Fraction(0.02)),
        0,
        0,
    );
    for i in 1..=5 {
        run.tick(limit(1000 * MIB, 0), NORMAL);
        assert_eq!(a.cap(), i * 10 * MIB);
    }
    // Full now; the limit halves and the rest of the process takes it all: the cache gives up
    // 10 MiB (2 % of the limit) a tick.
    a.fill();
    let cap = a.cap();
    for i in 1..=3 {
        run.tick(limit(500 * MIB, 550 * MIB), NORMAL);
        assert_eq!(a.cap(), cap - i * 10 * MIB, "2 % of 500 MiB");
        a.fill();
    }
}

#[test]
fn budget_a_cache_does_not_use_goes_at_once() {
    let (mut run, a) = one(
        Sizer::builder().max_shrink_step(Step::Bytes(MIB)),
        u64::MAX,
        10 * MIB,
    );
    // Goal 75 MiB, 100 MiB used elsewhere: the target is 0; the cache holds 10 MiB, so one tick
    // takes its capacity to 9 MiB, the next to 8 MiB.
    run.tick(limit(100 * MIB, 110 * MIB), NORMAL);
    assert_eq!(a.cap(), 9 * MIB);
    run.tick(limit(100 * MIB, 110 * MIB), NORMAL);
    assert_eq!(a.cap(), 8 * MIB);
}

#[test]
fn smoothing_moves_part_of_the_way_and_high_pressure_skips_it_when_shrinking() {
    let (mut run, a) = one(
        quick().smoothing(0.5).goal_fraction(1.0),
        100 * MIB,
        100 * MIB,
    );
    run.tick(limit(100 * MIB, 0), NORMAL);
    assert_eq!(a.cap(), 100 * MIB, "the first tick is not smoothed");
    for expected in [300, 400, 450, 475] {
        run.tick(limit(500 * MIB, 0), NORMAL);
        assert_eq!(a.cap(), expected * MIB);
    }
    a.fill();
    run.tick(limit(75 * MIB, 475 * MIB), NORMAL);
    assert_eq!(a.cap(), 275 * MIB, "half-way down at Normal");
    a.fill();
    run.tick(limit(75 * MIB, 275 * MIB), PressureLevel::High);
    assert_eq!(a.cap(), 75 * MIB, "at once at High");
}

#[test]
fn a_shared_budget_splits_its_share_by_weight() {
    let x = Fake::new("x", 0, 0);
    let a = Fake::new("a", 0, 0);
    let b = Fake::new("b", 0, 0);
    let mut run = Run::new(
        quick()
            .goal_fraction(1.0)
            .cache(x.clone(), Bounds::default(), 1.0)
            .shared_budget(
                SharedBudget::new("q")
                    .cache(a.clone(), Bounds::default(), 1.0)
                    .cache(b.clone(), Bounds::default(), 3.0),
            ),
    );
    let decisions = run.tick(limit(800 * MIB, 0), NORMAL);
    assert_eq!(
        [x.cap(), a.cap(), b.cap()],
        [400, 100, 300].map(|m| m * MIB)
    );
    assert_eq!(decisions[1].budget.as_deref(), Some("q"));
    let views = run.sizer.members();
    assert_eq!(views[2].budget.as_deref(), Some("q"));
    assert_eq!(views[2].share, Some(300 * MIB));
}

#[test]
fn a_fixed_total_is_taken_first_and_the_rest_is_shared() {
    let x = Fake::new("x", 0, 0);
    let a = Fake::new("a", 0, 0);
    let b = Fake::new("b", 0, 0);
    let budget = SharedBudget::new("q")
        .total(200 * MIB)
        .weight(100.0)
        .cache(a.clone(), Bounds::default(), 1.0)
        .cache(b.clone(), Bounds::default(), 1.0);
    let mut run = Run::new(
        quick()
            .goal_fraction(1.0)
            .cache(x.clone(), Bounds::at_most(1000 * MIB), 1.0)
            .shared_budget(budget),
    );
    run.tick(limit(800 * MIB, 0), NORMAL);
    assert_eq!(
        [x.cap(), a.cap(), b.cap()],
        [600, 100, 100].map(|m| m * MIB)
    );
    // A limit that fails to read holds the last total: nothing grows on a missing figure.
    run.tick(None, NORMAL);
    assert_eq!(
        [x.cap(), a.cap(), b.cap()],
        [600, 100, 100].map(|m| m * MIB)
    );
}

#[test]
fn without_any_limit_caches_go_to_their_max_bounds() {
    let x = Fake::new("x", 0, 0);
    let mut run = Run::new(quick().cache(x.clone(), Bounds::at_most(1000 * MIB), 1.0));
    run.tick(None, NORMAL);
    assert_eq!(x.cap(), 1000 * MIB);
}

#[test]
fn one_unknown_limit_does_not_start_a_growth() {
    // Smoothing and steps as by default: a settled cache stays where it is.
    let (mut run, a) = one(Sizer::builder(), 0, 0);
    for _ in 0..40 {
        run.tick(limit(512 * MIB, 100 * MIB), NORMAL);
        a.fill();
    }
    let settled = a.cap();
    run.tick(None, NORMAL);
    for _ in 0..5 {
        run.tick(limit(512 * MIB, 100 * MIB + a.size()), NORMAL);
        a.fill();
    }
    assert!(
        a.cap() <= settled + DEAD_BAND_BYTES.max(settled / 100),
        "{settled} -> {}",
        a.cap()
    );
}

#[test]
fn a_panicking_cache_is_skipped_and_the_others_are_sized() {
    let bad = Fake::new("bad", 50 * MIB, 50 * MIB);
    bad.panic_on_read(true);
    let good = Fake::new("good", 0, 0);
    let mut run = Run::new(quick().cache(bad.clone(), Bounds::default(), 1.0).cache(
        good.clone(),
        Bounds::default(),
        1.0,
    ));
    run.tick(limit(400 * MIB, 0), NORMAL);
    assert!(good.cap() > 0, "the good cache was sized");
    assert_eq!(bad.cap(), 50 * MIB, "the panicking one was left alone");
    // The view survives it too.
    assert_eq!(run.sizer.members().len(), 2);
}

#[test]
fn the_binding_limit_leaves_the_caches_the_least() {
    let (run, _a) = one(Sizer::builder(), 0, 0);
    let cgroup = MemoryLimit::new(LimitSource::CgroupMax, 512 * MIB, 350 * MIB);
    let host = MemoryLimit::new(LimitSource::System, 16384 * MIB, 11264 * MIB);
    // The host's used fraction (0.69) is above the cgroup's (0.68), but the cgroup leaves less.
    assert_eq!(run.sizer.binding_limit([host, cgroup]), Some(cgroup));
    assert_eq!(run.sizer.binding_limit([]), None);
    let zero = MemoryLimit::new(LimitSource::Ceiling, 0, 0);
    assert_eq!(run.sizer.binding_limit([zero]), None);
}

#[test]
fn an_idle_cache_lends_its_share_and_gets_it_back_when_it_fills() {
    let (mut run, a, b) = pair(quick(), SharedBudget::new("q"));
    run.tick(None, NORMAL);
    assert_eq!([a.cap(), b.cap()], [100 * MIB, 100 * MIB]);
    a.hold(10 * MIB);
    let mut seen = Vec::new();
    for _ in 0..40 {
        b.fill();
        seen.extend(run.tick(None, NORMAL).into_iter().map(|d| d.reason));
        assert!(a.cap() + b.cap() <= 200 * MIB);
    }
    // a keeps what it holds and a quarter more (12.5 MiB) and lends the rest to b; the
    // capacities follow the targets to within the dead band.
    assert!(
        a.cap().abs_diff(25 * MIB / 2) <= DEAD_BAND_BYTES,
        "{}",
        a.cap()
    );
    assert!(
        b.cap().abs_diff(375 * MIB / 2) <= 375 * MIB / 200,
        "{}",
        b.cap()
    );
    assert!(
        seen.contains(&Reason::Lend) && seen.contains(&Reason::Borrow),
        "{seen:?}"
    );
    let views = run.sizer.members();
    assert_eq!(
        (views[0].lent, views[1].borrowed),
        (175 * MIB / 2, 175 * MIB / 2)
    );
    assert_eq!(
        (views[0].share, views[0].target),
        (Some(100 * MIB), Some(25 * MIB / 2))
    );

    // a fills up: it gets its whole share back, b gives the loan back.
    a.fill();
    b.fill();
    let decisions = run.tick(None, NORMAL);
    assert_eq!(
        reasons(&decisions),
        [("a", Reason::Grow), ("b", Reason::Shrink)]
    );
    assert_eq!([a.cap(), b.cap()], [100 * MIB, 100 * MIB]);
}

#[test]
fn a_lender_waits_out_its_cool_down_before_it_gets_its_share_back() {
    let cool = quick().cool_down(Duration::from_secs(10));
    let (mut run, a, b) = pair(cool, SharedBudget::new("q"));
    a.hold(10 * MIB);
    for _ in 0..20 {
        b.fill();
        run.tick(None, NORMAL);
    }
    a.fill();
    b.fill();
    let decisions = run.tick(None, NORMAL);
    assert_eq!(
        reasons(&decisions),
        [("a", Reason::HeldByCoolDown), ("b", Reason::Shrink)]
    );
    for _ in 0..10 {
        a.fill();
        b.fill();
        run.tick(None, NORMAL);
    }
    assert_eq!([a.cap(), b.cap()], [100 * MIB, 100 * MIB]);
}

#[test]
fn lending_can_be_turned_off() {
    let (mut run, a, b) = pair(quick(), SharedBudget::new("q").lending(false));
    for _ in 0..10 {
        b.fill();
        run.tick(None, NORMAL);
    }
    assert_eq!([a.cap(), b.cap()], [100 * MIB, 100 * MIB]);
}

#[test]
fn without_a_limit_caches_go_to_their_max_bounds_by_steps() {
    let a = Fake::new("a", 0, 0);
    let b = Fake::new("b", 0, 0);
    let mut run = Run::new(
        Sizer::builder()
            .cache(a.clone(), Bounds::at_most(100 * MIB), 1.0)
            .cache(b.clone(), Bounds::at_most(300 * MIB), 1.0),
    );
    // No limit ever known: a step is 5 % of the max bounds' sum (20 MiB).
    run.tick(None, PressureLevel::Elevated);
    assert_eq!([a.cap(), b.cap()], [0, 0]);
    let mut ticks = 0;
    while a.cap() + b.cap() < 400 * MIB {
        let before = a.cap() + b.cap();
        run.tick(None, NORMAL);
        assert!(a.cap() + b.cap() <= before + 20 * MIB);
        ticks += 1;
        assert!(ticks < 100);
    }
    assert_eq!([a.cap(), b.cap()], [100 * MIB, 300 * MIB]);
}

#[test]
fn a_cache_over_its_capacity_is_handled() {
    let a = Fake::new("a", 100 * MIB, 300 * MIB);
    let b = Fake::new("b", 100 * MIB, 0);
    let mut run = Run::new(quick().cache(a.clone(), Bounds::default(), 1.0).cache(
        b.clone(),
        Bounds::default(),
        1.0,
    ));
    // 1000 MiB limit, 300 MiB used, all of it by a: 750 MiB for the caches.
    run.tick(limit(1000 * MIB, 300 * MIB), NORMAL);
    assert_eq!([a.cap(), b.cap()], [375 * MIB, 375 * MIB]);
    // It reports more than the process uses: nothing is left for the rest, no underflow.
    a.hold(5000 * MIB);
    run.tick(limit(1000 * MIB, 300 * MIB), NORMAL);
    assert_eq!([a.cap(), b.cap()], [375 * MIB, 375 * MIB]);
    // Shrinking from over capacity counts from the capacity.
    let mut run = Run::new(
        Sizer::builder()
            .max_shrink_step(Step::Bytes(50 * MIB))
            .cache(a.clone(), Bounds::at_most(100 * MIB), 1.0),
    );
    run.tick(limit(1000 * MIB, 300 * MIB), NORMAL);
    assert_eq!(a.cap(), 325 * MIB);
}

#[test]
fn small_changes_are_not_made_and_steady_state_calls_nothing() {
    let (mut run, a) = one(quick(), 0, 0);
    run.tick(limit(1000 * MIB, 0), NORMAL);
    assert_eq!(a.sets(), 1);
    for _ in 0..10 {
        assert!(run.tick(limit(1000 * MIB, 0), NORMAL).is_empty());
    }
    // 1 % of 750 MiB is 7.5 MiB: a 4 MiB wobble of the rest of the process changes nothing.
    for used in [4 * MIB, 0, 3 * MIB, 1] {
        assert!(run.tick(limit(1000 * MIB, used), NORMAL).is_empty());
    }
    assert_eq!(a.sets(), 1);
    run.tick(limit(1000 * MIB, 10 * MIB), NORMAL);
    assert_eq!(a.cap(), 740 * MIB);

    // Small caches: the band is 64 KiB.
    let b = Fake::new("b", 0, 0);
    let mut run = Run::new(
        quick()
            .goal_fraction(1.0)
            .cache(b.clone(), Bounds::default(), 1.0),
    );
    run.tick(limit(MIB, 0), NORMAL);
    run.tick(limit(MIB, DEAD_BAND_BYTES), NORMAL);
    assert_eq!(b.cap(), MIB);
    run.tick(limit(MIB, DEAD_BAND_BYTES + 1), NORMAL);
    assert_eq!(b.cap(), MIB - DEAD_BAND_BYTES - 1);
    // A bound is reached exactly, however close.
    let c = Fake::new("c", MIB - 1, 0);
    let mut run = Run::new(quick().cache(c.clone(), Bounds::at_most(MIB), 1.0));
    run.tick(limit(1 << 40, 0), NORMAL);
    assert_eq!(c.cap(), MIB);
}

#[test]
fn a_cache_that_rounds_its_capacity_is_not_asked_again_and_again() {
    let a = Fake::with_floor("a", 10 * MIB, 0, 4096);
    let mut run = Run::new(quick().cache(a.clone(), Bounds::default(), 1.0));
    for _ in 0..5 {
        run.tick(limit(MIB, 10 * MIB), NORMAL);
    }
    assert_eq!((a.cap(), a.sets()), (4096, 1));
}

#[test]
fn decisions_carry_the_reported_or_estimated_utility() {
    let a = Fake::new("a", 0, 0);
    let b = Fake::new("b", 0, 0);
    a.report_utility(Some(Utility::new(3.0, 4.0)));
    let mut run = Run::new(
        Sizer::builder()
            .cache(a.clone(), Bounds::default(), 1.0)
            .cache(b.clone(), Bounds::default(), 1.0),
    );
    let decisions = run.tick(limit(1000 * MIB, 0), NORMAL);
    let u = decisions[0].utility.unwrap();
    assert_eq!(
        (u.utility, u.source),
        (Utility::new(3.0, 4.0), UtilitySource::Cache)
    );
    assert_eq!(
        decisions[1].utility, None,
        "no estimate before a second tick"
    );
    // b holds 2 MiB and hits 400 times a second: 200 hits per second per MiB.
    b.hold(2 * MIB);
    b.hit(400);
    let decisions = run.tick(limit(1000 * MIB, 2 * MIB), NORMAL);
    let u = decisions[1].utility.unwrap();
    assert_eq!(
        (u.utility, u.source),
        (Utility::new(200.0, 200.0), UtilitySource::Estimate)
    );
    let views = run.sizer.members();
    assert_eq!(views[1].utility, Some(u));
    assert_eq!((views[1].weighted_size, views[1].weight), (2 * MIB, 1.0));
}

#[test]
fn zero_and_huge_numbers_do_not_panic() {
    let caches: Vec<Arc<Fake>> = (0..4)
        .map(|i| {
            Fake::new(
                &format!("c{i}"),
                [0, u64::MAX, 1, u64::MAX][i],
                [0, u64::MAX, u64::MAX, 1][i],
            )
        })
        .collect();
    let mut builder = Sizer::builder()
        .reserve_bytes(u64::MAX)
        .cool_down(Duration::MAX)
        .cache(caches[0].clone(), Bounds::default(), f64::MAX)
        .cache(
            caches[1].clone(),
            Bounds::exactly(u64::MAX),
            f64::MIN_POSITIVE,
        );
    builder = builder.shared_budget(
        SharedBudget::new("q")
            .cache(caches[2].clone(), Bounds::default(), 1e-300)
            .cache(
                caches[3].clone(),
                Bounds::new(u64::MAX / 2, u64::MAX),
                1e300,
            ),
    );
    let mut sizer = builder.build().unwrap();
    let limits = [
        None,
        limit(0, 0),
        limit(0, u64::MAX),
        limit(u64::MAX, 0),
        limit(u64::MAX, u64::MAX),
        limit(1, u64::MAX),
    ];
    for (i, now) in [0, 1, u64::MAX - 1, u64::MAX, 5].into_iter().enumerate() {
        for l in limits {
            for &level in PressureLevel::ALL {
                let _ = sizer.tick(now, l, level);
                let _ = sizer.members();
                caches[i % 4].hold(u64::MAX);
                caches[(i + 1) % 4].hit(u64::MAX / 3);
            }
        }
    }
    for step in [Step::Bytes(u64::MAX), Step::Bytes(1), Step::Fraction(1.0)] {
        let a = Fake::new("a", u64::MAX, u64::MAX);
        let mut run = Run::new(
            Sizer::builder()
                .max_grow_step(step)
                .max_shrink_step(step)
                .smoothing(f64::MIN_POSITIVE)
                .cache(a.clone(), Bounds::default(), 1.0),
        );
        for l in limits {
            run.tick(l, NORMAL);
        }
    }
}
