//! The few statistics a sweep report takes over runs: quantiles (linear interpolation
//! between order statistics, numpy's default), the median, and histogram bins of a round
//! width.
use super::Bin;

/// The `q`-quantile (0..=1) of `values` (finite ones; any order): with the finite values
/// sorted, `x[(n-1)q]`, interpolated linearly between neighbours. `None` when none is finite.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = (v.len() - 1) as f64 * q;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// The median of the finite `values`.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// Most bins a histogram gets.
pub const MAX_BINS: usize = 10;

/// A round bin width (1, 2 or 5 times a power of ten) that covers `0..upper` in at most
/// [`MAX_BINS`] bins.
pub fn bin_width(upper: usize) -> usize {
    let need = upper.div_ceil(MAX_BINS).max(1);
    let mut p = 1usize;
    loop {
        for m in [1, 2, 5] {
            if m * p >= need {
                return m * p;
            }
        }
        p = p.saturating_mul(10);
    }
}

/// Bins of width `bin_width(upper)` from 0 over `0..upper` (and any larger value), each
/// `[lo, hi)` with the count of `values` in it; none when `upper` is 0.
pub fn bins(values: &[usize], upper: usize) -> Vec<Bin> {
    if upper == 0 {
        return Vec::new();
    }
    let w = bin_width(upper);
    let top = values.iter().copied().max().unwrap_or(0).max(upper - 1);
    (0..=top / w)
        .map(|b| {
            let (lo, hi) = (b * w, (b + 1) * w);
            Bin {
                lo,
                hi,
                count: values.iter().filter(|v| (lo..hi).contains(v)).count(),
            }
        })
        .collect()
}
