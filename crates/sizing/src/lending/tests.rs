//! Tests of lending inside a shared budget: who lends, who borrows, smoothing, giving back.

use super::{LEND_AFTER_TICKS, Loan, Seat, rebalance};
use crate::config::Bounds;

fn seat(share: u64, capacity: u64, weighted_size: u64) -> Seat {
    Seat {
        share,
        bounds: Bounds::at_most(10_000),
        weight: 1.0,
        capacity,
        weighted_size,
    }
}

/// Runs `ticks` ticks in which every capacity follows its target; `full` caches fill up to
/// their capacity, the others hold what their seat says.
fn run(seats: &mut [Seat], loans: &mut [Loan], full: &[bool], ticks: usize) -> Vec<Vec<u64>> {
    let mut history = Vec::new();
    for _ in 0..ticks {
        let targets = rebalance(seats, loans);
        for ((s, &t), &f) in seats.iter_mut().zip(&targets).zip(full) {
            s.capacity = t;
            if f {
                s.weighted_size = t;
            }
        }
        history.push(targets);
    }
    history
}

/// A cache holding 100 of its 1000 share next to a full one, after twelve ticks: it lends
/// 875 and keeps 125.
fn lent_out() -> ([Seat; 2], [Loan; 2]) {
    let mut seats = [seat(1000, 1000, 100), seat(1000, 1000, 1000)];
    let mut loans = [Loan::default(); 2];
    run(&mut seats, &mut loans, &[false, true], 12);
    assert_eq!([seats[0].capacity, seats[1].capacity], [125, 1875]);
    (seats, loans)
}

#[test]
fn an_idle_cache_lends_to_a_full_one_after_several_ticks_smoothly() {
    let mut seats = [seat(1000, 1000, 100), seat(1000, 1000, 1000)];
    let mut loans = [Loan::default(); 2];
    let history = run(&mut seats, &mut loans, &[false, true], 8);
    for targets in &history[..LEND_AFTER_TICKS as usize - 1] {
        assert_eq!(
            targets,
            &[1000, 1000],
            "nothing is lent before it is persistent"
        );
    }
    // It keeps its usage plus a quarter (125) and lends the rest (875), half the gap a tick.
    assert_eq!(history[2], [562, 1438]);
    assert_eq!(history[3], [343, 1657]);
    assert_eq!(history[7], [138, 1862]);
    let history = run(&mut seats, &mut loans, &[false, true], 4);
    assert_eq!(history[3], [125, 1875]);
    assert_eq!((loans[0].lent, loans[1].borrowed), (875, 875));
    for targets in history {
        assert_eq!(
            targets.iter().sum::<u64>(),
            2000,
            "lending moves bytes, it adds none"
        );
    }
}

#[test]
fn a_lender_that_fills_up_gets_its_share_back_at_once() {
    let (mut seats, mut loans) = lent_out();
    seats[0].weighted_size = 125;
    let history = run(&mut seats, &mut loans, &[true, true], 1);
    assert_eq!(history[0], [1000, 1000]);
    assert_eq!((loans[0].lent, loans[1].borrowed), (0, 0));
    // Idle again (it holds 125 of a 1000 share): it lends again only after the idle ticks,
    // and keeps more than before, since it now holds more.
    seats[0].weighted_size = 125;
    let history = run(&mut seats, &mut loans, &[false, true], 12);
    assert_eq!(history[1], [1000, 1000]);
    assert_eq!(history[11][0], 157, "keeps 125 and a quarter, rounded up");
}

#[test]
fn nothing_is_lent_without_a_full_cache() {
    let mut seats = [seat(1000, 1000, 100), seat(1000, 1000, 500)];
    let mut loans = [Loan::default(); 2];
    let history = run(&mut seats, &mut loans, &[false, false], 10);
    assert!(history.iter().all(|t| t == &[1000, 1000]));
}

#[test]
fn a_loan_goes_back_when_the_borrower_no_longer_uses_it() {
    let (mut seats, mut loans) = lent_out();
    // Still using some of the loan: it keeps it.
    seats[1].weighted_size = 1200;
    let history = run(&mut seats, &mut loans, &[false, false], 1);
    assert_eq!(history[0], [125, 1875]);
    // Within its own share again: the loan goes back at once.
    seats[1].weighted_size = 900;
    let history = run(&mut seats, &mut loans, &[false, false], 1);
    assert_eq!(history[0], [1000, 1000]);
}

#[test]
fn loans_are_bounded_by_the_borrowers_room_and_the_lenders_min() {
    let mut seats = [seat(1000, 1000, 100), seat(1000, 1000, 1000)];
    seats[1].bounds = Bounds::at_most(1200);
    let mut loans = [Loan::default(); 2];
    let history = run(&mut seats, &mut loans, &[false, true], 12);
    assert_eq!(history[11], [800, 1200]);

    let mut seats = [seat(1000, 1000, 100), seat(1000, 1000, 1000)];
    seats[0].bounds = Bounds::new(900, 10_000);
    let mut loans = [Loan::default(); 2];
    let history = run(&mut seats, &mut loans, &[false, true], 12);
    assert_eq!(history[11], [900, 1100]);
}

#[test]
fn borrowers_share_the_pool_by_weight() {
    let mut seats = [
        seat(3000, 3000, 0),
        seat(1000, 1000, 1000),
        seat(1000, 1000, 1000),
    ];
    seats[2].weight = 3.0;
    let mut loans = [Loan::default(); 3];
    let history = run(&mut seats, &mut loans, &[false, true, true], 20);
    assert_eq!(history[19], [0, 1750, 3250]);
}

#[test]
fn zero_and_huge_numbers_do_not_panic() {
    let mut seats = [
        seat(0, 0, 0),
        seat(u64::MAX, u64::MAX, 0),
        seat(u64::MAX, 0, u64::MAX),
    ];
    for s in &mut seats {
        s.bounds = Bounds::default();
    }
    seats[1].weight = f64::MAX;
    let mut loans = [Loan::default(); 3];
    let history = run(&mut seats, &mut loans, &[false, false, true], 6);
    for targets in history {
        assert_eq!(targets.len(), 3);
    }
}
