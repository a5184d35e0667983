//! Robust statistics on short series: median, MAD, the Theil–Sen slope and the Mann–Kendall
//! trend test, with bounded cost.

#[cfg(test)]
mod tests;

/// The median of `values`, reordering them; `None` when empty or when a value is NaN.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let odd = values.len() % 2 == 1;
    let mid = values.len() / 2;
    let (lower, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if odd {
        return Some(upper);
    }
    let lower_max = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(lower_max / 2.0 + upper / 2.0)
}

/// The median and the median absolute deviation of `values`, reordering them.
pub(crate) fn median_mad(values: &mut [f64]) -> Option<(f64, f64)> {
    let med = median(values)?;
    for v in values.iter_mut() {
        *v = (*v - med).abs();
    }
    Some((med, median(values)?))
}

/// The Theil–Sen slope of the points `(x, y)`: the median of the slopes of all pairs with
/// distinct `x`, with `scratch` reused for the pairwise slopes (no allocation once it is grown).
///
/// Cost is quadratic in the number of points: callers pass at most a few dozen (block means).
pub(crate) fn theil_sen(x: &[f64], y: &[f64], scratch: &mut Vec<f64>) -> Option<f64> {
    let n = x.len().min(y.len());
    scratch.clear();
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[j] - x[i];
            if dx > 0.0 {
                scratch.push((y[j] - y[i]) / dx);
            } else if dx < 0.0 {
                scratch.push((y[i] - y[j]) / -dx);
            }
        }
    }
    median(scratch).filter(|s| s.is_finite())
}

/// The Mann–Kendall trend test on `y` in order: the statistic S and its normal score Z
/// (with the continuity correction, no tie correction); positive Z for a rising series.
///
/// Returns `None` with fewer than 3 points.
pub(crate) fn mann_kendall(y: &[f64]) -> Option<MannKendall> {
    let n = y.len();
    if n < 3 {
        return None;
    }
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += match y[j].partial_cmp(&y[i]) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let nf = n as f64;
    let var = nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0;
    let sd = var.sqrt();
    let z = match s {
        0 => 0.0,
        s if s > 0 => (s as f64 - 1.0) / sd,
        s => (s as f64 + 1.0) / sd,
    };
    Some(MannKendall { s, z })
}

/// The result of [`mann_kendall`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct MannKendall {
    /// Concordant less discordant pairs.
    pub(crate) s: i64,
    /// The normal score of S.
    pub(crate) z: f64,
}

impl MannKendall {
    /// The one-sided p-value of a rising trend: P(Z ≥ z) under no trend.
    pub(crate) fn p_rising(&self) -> f64 {
        normal_sf(self.z)
    }
}

/// The survival function of the standard normal distribution, P(Z ≥ z).
pub(crate) fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' `erfcc`, relative error below 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The Pearson correlation of the rates of change of `a` and `b` at the points `x`
/// (consecutive differences over the time between them); `None` when a value is not finite or
/// `b`'s rate hardly varies (its standard deviation below a twentieth of its mean), since a
/// steady rate correlates with nothing.
pub(crate) fn rate_correlation(x: &[f64], a: &[f64], b: &[f64]) -> Option<f64> {
    let n = x.len().min(a.len()).min(b.len());
    if n < 4 {
        return None;
    }
    let m = (n - 1) as f64;
    let rate = |v: &[f64], i: usize| {
        let dx = x[i + 1] - x[i];
        if dx > 0.0 {
            (v[i + 1] - v[i]) / dx
        } else {
            0.0
        }
    };
    let (mut sa, mut sb) = (0.0, 0.0);
    for i in 0..n - 1 {
        sa += rate(a, i);
        sb += rate(b, i);
    }
    let (ma, mb) = (sa / m, sb / m);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for i in 0..n - 1 {
        let (p, q) = (rate(a, i) - ma, rate(b, i) - mb);
        cov += p * q;
        va += p * p;
        vb += q * q;
    }
    if (vb / m).sqrt() < 0.05 * mb.abs() {
        return None;
    }
    let r = cov / (va * vb).sqrt();
    (r.is_finite() && va > 0.0 && vb > 0.0).then_some(r)
}
