//! The row kernels under the fused ops: typed views of CPU storage, the causal row
//! layout of attention scores `[.., q, k]`, and vectorisable `exp`, max, sum and dot over
//! rows (fixed summation order: deterministic).
use candle_core::{bail, CpuStorage, Layout};

/// The f32 elements of contiguous CPU storage.
pub(crate) fn f32_slice<'a>(
    s: &'a CpuStorage,
    l: &Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        (CpuStorage::F32(_), None) => bail!("{what}: input must be contiguous"),
        _ => bail!("{what}: input must be f32"),
    }
}

pub(super) fn u32_slice<'a>(
    s: &'a CpuStorage,
    l: &Layout,
    what: &str,
) -> candle_core::Result<&'a [u32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::U32(v), Some((a, b))) => Ok(&v[a..b]),
        (CpuStorage::U32(_), None) => bail!("{what}: targets must be contiguous"),
        _ => bail!("{what}: targets must be u32"),
    }
}

/// `(rows_per_matrix q, row length k)` of a `[.., q, k]` layout.
pub(super) fn qk(l: &Layout, what: &str) -> candle_core::Result<(usize, usize)> {
    let d = l.dims();
    if d.len() < 2 || d[d.len() - 1] == 0 || d[d.len() - 2] == 0 {
        bail!("{what}: expected [.., q, k] with q, k >= 1, got {d:?}");
    }
    Ok((d[d.len() - 2], d[d.len() - 1]))
}

/// Keys visible to query row `i` of `q` when there are `k` keys (queries are the last `q`
/// positions): `j <= i + k - q`.
#[inline]
pub(super) fn visible(i: usize, q: usize, k: usize) -> usize {
    (i + 1 + k).saturating_sub(q).min(k)
}

/// `exp(x)` for `x <= 0` (softmax and log-sum-exp after subtracting the max), written so
/// that loops over it vectorise: `2^n * p(r)` with `n = round(x / ln 2)`, `|r| <= ln 2 / 2`
/// and a degree-6 Taylor polynomial (relative error below 3e-7). Inputs below -87 give
/// `exp(-87)` (about 1.6e-38, zero next to the row's maximum term of 1); NaN stays NaN.
#[inline(always)]
pub(super) fn exp_nonpos(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    const ROUND_BITS: i32 = 0x4B40_0000; // the bits of ROUND
    let x = if x < -87.0 { -87.0 } else { x };
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r / 720.0)))));
    // n is in -126..=0 here, so 2^n is a normal float built from its exponent bits. `shifted`
    // = 1.5 * 2^23 + n keeps its exponent, so its mantissa bits hold n offset by 2^22: the
    // integer n comes from integer ops on the bits, which vectorise (an `as i32` cast
    // saturates element by element and keeps the loop scalar). Same n, same result.
    let n_int = (shifted.to_bits() as i32).wrapping_sub(ROUND_BITS);
    let two_n = f32::from_bits((n_int.wrapping_add(127) as u32) << 23);
    p * two_n
}

/// Independent accumulators in the row reductions below, so that they vectorise.
const LANES: usize = 8;

/// Largest element of `xs` (NaN elements are skipped; `-inf` for an empty slice).
pub(super) fn max_of(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    rest.iter()
        .chain(&acc)
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// Sum of `xs` in `LANES` interleaved partial sums (a fixed order: deterministic).
pub(super) fn sum_of(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// `sum(a * b)` in `LANES` interleaved partial sums.
pub(super) fn dot_of(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (xa, xb) in ca.zip(cb) {
        for ((s, &x), &y) in acc.iter_mut().zip(xa).zip(xb) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Append `exp((x - max) * scale)` for each `x` of `xs` to `out` (`scale > 0`, `max` the
/// row maximum, so every argument is <= 0).
pub(super) fn extend_exp(out: &mut Vec<f32>, xs: &[f32], max: f32, scale: f32) {
    out.extend(xs.iter().map(|&x| exp_nonpos((x - max) * scale)));
}

/// For scores `x` `[.., q, k]`: `row` appends one output per visible key of each row (given
/// those keys), then the masked keys get `fill`. Each element is written once (no
/// zero-filled allocation).
pub(super) fn causal_rows(
    x: &[f32],
    q: usize,
    k: usize,
    fill: f32,
    mut row: impl FnMut(&[f32], &mut Vec<f32>),
) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for (r, xr) in x.chunks_exact(k).enumerate() {
        let n = visible(r % q, q, k);
        row(&xr[..n], &mut out);
        out.resize(out.len() + (k - n), fill);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::exp_nonpos;

    #[test]
    fn exp_nonpos_matches_std_exp() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -(i as f32) * 87.0 / 200_000.0;
            let want = f64::from(x).exp();
            let rel = ((f64::from(exp_nonpos(x)) - want) / want).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_nonpos(0.0), 1.0);
        assert!(exp_nonpos(f32::NEG_INFINITY) < 1e-37);
        assert!(exp_nonpos(-1e30) < 1e-37);
        assert!(exp_nonpos(f32::NAN).is_nan());
    }
}
