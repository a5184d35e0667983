//! Water-filling: splitting a total by weight so that every part stays within its bounds.

use crate::config::Bounds;

/// One part of a split: its weight (positive and finite) and its bounds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Part {
    /// The part's weight; validated positive and finite by the builder.
    pub(crate) weight: f64,
    /// The least and the most the part may get.
    pub(crate) bounds: Bounds,
}

/// Splits `total` among `parts` in proportion to their weights, each within its bounds.
///
/// Every part gets `clamp(λ · weight, min, max)` for the one `λ` at which the parts add up to
/// `total`: what a part cannot take above its max flows to the others, what it needs up to its
/// min comes from them. When the mins add up to more than `total`, every part gets its min (a
/// min is a floor, even above the total); when the maxes add up to less, every part gets its max.
///
/// Whole bytes: the parts add up to exactly `total` whenever the bounds allow it.
pub(crate) fn water_fill(total: u64, parts: &[Part]) -> Vec<u64> {
    let sum_min: u128 = parts.iter().map(|p| u128::from(p.bounds.min)).sum();
    let sum_max: u128 = parts.iter().map(|p| u128::from(p.bounds.max)).sum();
    if u128::from(total) <= sum_min {
        return parts.iter().map(|p| p.bounds.min).collect();
    }
    if u128::from(total) >= sum_max {
        return parts.iter().map(|p| p.bounds.max).collect();
    }
    let lambda = solve_lambda(total as f64, parts);
    let exact: Vec<f64> = parts
        .iter()
        .map(|p| (lambda * p.weight).clamp(p.bounds.min as f64, p.bounds.max as f64))
        .collect();
    // `as` saturates (and maps NaN to 0); the clamp keeps a rounded figure within the bounds.
    let mut shares: Vec<u64> = exact
        .iter()
        .zip(parts)
        .map(|(&x, p)| (x as u64).clamp(p.bounds.min, p.bounds.max))
        .collect();
    settle(total, parts, &exact, &mut shares);
    shares
}

/// Adds or takes the bytes that rounding left between the shares and `total` (which lies
/// between the sums of the mins and of the maxes): a byte each first, to the parts whose exact
/// share was rounded the most (largest remainder), then whatever float error left, in the same
/// order, within the bounds.
fn settle(total: u64, parts: &[Part], exact: &[f64], shares: &mut [u64]) {
    let sum: u128 = shares.iter().map(|&s| u128::from(s)).sum();
    let total = u128::from(total);
    let mut order: Vec<usize> = (0..parts.len()).collect();
    let remainder = |i: usize| exact[i] - shares[i] as f64;
    if sum < total {
        order.sort_by(|&a, &b| remainder(b).total_cmp(&remainder(a)));
        let mut missing = total - sum;
        for per_part in [1, u128::MAX] {
            for &i in &order {
                let room = u128::from(parts[i].bounds.max - shares[i]);
                let add = room.min(per_part).min(missing);
                // `add` is at most `room`, a u64.
                shares[i] += add as u64;
                missing -= add;
            }
        }
    } else if sum > total {
        order.sort_by(|&a, &b| remainder(a).total_cmp(&remainder(b)));
        let mut extra = sum - total;
        for per_part in [1, u128::MAX] {
            for &i in &order {
                let room = u128::from(shares[i] - parts[i].bounds.min);
                let take = room.min(per_part).min(extra);
                shares[i] -= take as u64;
                extra -= take;
            }
        }
    }
}

/// What all parts add up to at `lambda`, before rounding.
fn filled_at(lambda: f64, parts: &[Part]) -> f64 {
    parts
        .iter()
        .map(|p| (lambda * p.weight).clamp(p.bounds.min as f64, p.bounds.max as f64))
        .sum()
}

/// The `λ` at which the parts add up to `total`, which lies strictly between the sums of the
/// mins and of the maxes.
///
/// The sum is piecewise linear in `λ`, bending where a part reaches a bound (`min / weight`,
/// `max / weight`): find the two bends around `total` and interpolate between them.
fn solve_lambda(total: f64, parts: &[Part]) -> f64 {
    let mut bends: Vec<f64> = parts
        .iter()
        .flat_map(|p| {
            [
                p.bounds.min as f64 / p.weight,
                p.bounds.max as f64 / p.weight,
            ]
        })
        .collect();
    bends.sort_by(f64::total_cmp);
    bends.dedup();
    let mut lo = 0.0;
    let mut lo_sum = filled_at(lo, parts);
    for &hi in &bends {
        let hi_sum = filled_at(hi, parts);
        if hi_sum >= total {
            if hi_sum <= lo_sum {
                return hi;
            }
            return lo + (total - lo_sum) * (hi - lo) / (hi_sum - lo_sum);
        }
        lo = hi;
        lo_sum = hi_sum;
    }
    lo
}

#[cfg(test)]
mod tests;
