//! Lending inside a shared budget: unused share moves from idle caches to full ones.
//!
//! The rule, tick by tick, for the caches of one shared budget after its total has been split
//! by weight into shares:
//!
//! 1. A cache's usage is smoothed (EMA, alpha [`USAGE_SMOOTHING`]).
//! 2. A cache is *full* when it holds at least [`FULL`] of its capacity.
//! 3. A cache is *idle* on a tick when it is not full and its smoothed usage is below
//!    [`LEND_BELOW`] of its share; after [`LEND_AFTER_TICKS`] idle ticks in a row it is a
//!    *lender*. It keeps its usage (the larger of now and smoothed) plus [`KEEP_HEADROOM`],
//!    and at least its min bound; the rest of its share is spare.
//! 4. A cache that is not a lender and is full, or that holds a loan and uses more than its
//!    share, is a *borrower*, with room up to its max bound.
//! 5. Lenders offer their spare (scaled down when the borrowers have less room); a lender's
//!    loan moves towards its offer by [`LEND_SMOOTHING`] of the gap each tick when it grows,
//!    and falls to it at once when it shrinks. A lender that is full again gets its whole share
//!    back at once, and must be idle for [`LEND_AFTER_TICKS`] ticks before it lends again.
//! 6. The loans together are split among the borrowers by weight, each within its room.
//!
//! Growth is smoothed and takes several idle ticks to start, giving back is immediate: a cache
//! never waits for its own share, and the bytes lent track the lender's usage rather than
//! flip between all and nothing. The sizer's step bounds, level rule and cool-down still apply
//! to the capacities that result.

use crate::config::Bounds;
use crate::split::{Part, water_fill};

/// A cache is full at this share of its capacity.
pub(crate) const FULL: f64 = 0.95;
/// A cache is idle while its smoothed usage is below this share of its share.
pub(crate) const LEND_BELOW: f64 = 0.5;
/// Idle ticks in a row before a cache lends.
pub(crate) const LEND_AFTER_TICKS: u32 = 3;
/// A lender keeps its usage and this much more of it.
pub(crate) const KEEP_HEADROOM: f64 = 0.25;
/// EMA alpha of a cache's usage.
pub(crate) const USAGE_SMOOTHING: f64 = 0.5;
/// Share of the gap between a loan and the lender's offer closed per tick.
pub(crate) const LEND_SMOOTHING: f64 = 0.5;

/// One cache of a shared budget on this tick.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seat {
    /// Its share of the budget's total, by weight within its bounds.
    pub(crate) share: u64,
    /// Its bounds.
    pub(crate) bounds: Bounds,
    /// Its weight in the budget.
    pub(crate) weight: f64,
    /// Its capacity now.
    pub(crate) capacity: u64,
    /// What it holds now.
    pub(crate) weighted_size: u64,
}

/// A cache's lending state, kept between ticks.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Loan {
    /// Smoothed usage; `None` before the first tick.
    used_ema: Option<f64>,
    /// Idle ticks in a row.
    idle_ticks: u32,
    /// Bytes of its share it lends.
    pub(crate) lent: u64,
    /// Bytes it borrows from others.
    pub(crate) borrowed: u64,
}

/// Each cache's target after lending: its share, less what it lends, plus what it borrows.
///
/// `seats` and `loans` are the budget's caches in the same order.
pub(crate) fn rebalance(seats: &[Seat], loans: &mut [Loan]) -> Vec<u64> {
    let mut spare = Vec::with_capacity(seats.len());
    let mut full = Vec::with_capacity(seats.len());
    for (seat, loan) in seats.iter().zip(loans.iter_mut()) {
        let used = seat.weighted_size as f64;
        let ema = loan
            .used_ema
            .map_or(used, |e| e + USAGE_SMOOTHING * (used - e));
        loan.used_ema = Some(ema);
        let is_full = seat.capacity > 0 && used >= FULL * seat.capacity as f64;
        if is_full || ema >= LEND_BELOW * seat.share as f64 {
            loan.idle_ticks = 0;
        } else {
            loan.idle_ticks = loan.idle_ticks.saturating_add(1);
        }
        let keep = ((ema.max(used) * (1.0 + KEEP_HEADROOM)).ceil() as u64).max(seat.bounds.min);
        spare.push(if loan.idle_ticks >= LEND_AFTER_TICKS {
            seat.share.saturating_sub(keep)
        } else {
            0
        });
        full.push(is_full);
    }

    let borrows: Vec<bool> = (0..seats.len())
        .map(|i| {
            let (seat, loan) = (&seats[i], &loans[i]);
            spare[i] == 0
                && loan.idle_ticks < LEND_AFTER_TICKS
                && seat.share < seat.bounds.max
                && (full[i] || (loan.borrowed > 0 && seat.weighted_size > seat.share))
        })
        .collect();
    let room: u128 = (0..seats.len())
        .filter(|&i| borrows[i])
        .map(|i| u128::from(seats[i].bounds.max.saturating_sub(seats[i].share)))
        .sum();
    let offered: u128 = spare.iter().map(|&s| u128::from(s)).sum();
    let scale = if offered == 0 {
        0.0
    } else {
        (room as f64 / offered as f64).min(1.0)
    };

    let mut pool: u64 = 0;
    for i in 0..seats.len() {
        let offer = (spare[i] as f64 * scale) as u64;
        let loan = &mut loans[i];
        loan.lent = if full[i] {
            0
        } else if offer > loan.lent {
            let gap = ((offer - loan.lent) as f64 * LEND_SMOOTHING).ceil() as u64;
            loan.lent + gap.min(offer - loan.lent)
        } else {
            offer
        };
        pool = pool.saturating_add(loan.lent);
    }

    let borrowers: Vec<usize> = (0..seats.len()).filter(|&i| borrows[i]).collect();
    let parts: Vec<Part> = borrowers
        .iter()
        .map(|&i| Part {
            weight: seats[i].weight,
            bounds: Bounds::at_most(seats[i].bounds.max.saturating_sub(seats[i].share)),
        })
        .collect();
    let got = water_fill(pool, &parts);
    for loan in loans.iter_mut() {
        loan.borrowed = 0;
    }
    for (&i, &bytes) in borrowers.iter().zip(&got) {
        loans[i].borrowed = bytes;
    }
    seats
        .iter()
        .zip(loans.iter())
        .map(|(seat, loan)| {
            seat.share
                .saturating_sub(loan.lent)
                .saturating_add(loan.borrowed)
        })
        .collect()
}

#[cfg(test)]
mod tests;
