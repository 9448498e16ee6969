//! The Fourier basis over `0..p` (seed 003) and Nanda et al.'s progress measures of
//! grokking (2023, "Progress measures for grokking via mechanistic interpretability"), as
//! pure functions of plain `f64` arrays.
//!
//! **Basis** (seed 003's `fourier_basis`, for any `p`): row 0 is the constant `1/sqrt(p)`;
//! for each frequency `k = 1..=(p-1)/2`, row `2k-1` is `cos(2πkx/p)` and row `2k` is
//! `sin(2πkx/p)`, each normalised (`sqrt(2/p)`); for even `p` the last row is `(-1)^x / sqrt(p)`.
//! The `p` rows are orthonormal.
//!
//! **Embedding Fourier norms**: `F = B · W_E[0..p]` (`[p, d_model]`, the token embeddings of
//! the residues written in the basis); the norm of frequency `k` is
//! `sqrt(|F[2k-1]|² + |F[2k]|²)` (its cos and sin rows together), entry 0 is `|F[0]|`.
//!
//! **Key frequencies** (online rule): the `KEY_FREQS` frequencies `k >= 1` with the largest
//! embedding Fourier norm at that step (ties to the lower `k`), reported in increasing order.
//! Nanda et al. read theirs off the trained model (5 for their main run); this rule needs
//! no trained model, so every tracked step has its own set, and a set that stops changing
//! is itself a sign of the circuit.
//!
//! **Directions** (seed 003's `get_component_cos_xpy` / `sin_xpy`): over the `p²` inputs
//! `(a, b)`, `u_k(a, b) = (cosa·cosb − sina·sinb)/√2 = (√2/p) cos(w(a+b))` and
//! `v_k(a, b) = (√2/p) sin(w(a+b))`, `w = 2πk/p`: unit vectors of `R^{p²}`, orthogonal for
//! different `k`. Each column `L[·, ·, c]` of the logits (`c` = answer class) is projected
//! onto them: `P_K L = Σ_{k∈K} u_k (u_k · L_c) + v_k (v_k · L_c)`. This span holds every
//! `cos(w(a+b−c))` term of Nanda et al.'s algorithm.
//!
//! **Restricted loss**: the mean cross-entropy over all `p²` pairs of the logits `P_K L`
//! (only the key frequencies' `a+b` components kept). **Excluded loss**: the mean
//! cross-entropy over the training pairs of `L − P_K L` (those components removed). The
//! cross-entropy is over the `p` answer classes (the `=` output is dropped).
//!
//! Because `u_k`, `v_k` depend on `a + b` only, `u_k · L_c = (√2/p) Σ_s cos(ws) S[s, c]`
//! with `S[s, c] = Σ_{a+b ≡ s} L[a, b, c]`, and `P_K L` depends on `s = (a+b) mod p` only:
//! O(p³) for the sums, O(|K| p²) for the projection.
use std::f64::consts::PI;

/// How many key frequencies the online rule picks (Nanda et al.'s main run has 5).
pub const KEY_FREQS: usize = 5;

/// The orthonormal Fourier basis over `0..p`: `p` rows of length `p`.
#[derive(Debug, Clone, PartialEq)]
pub struct FourierBasis {
    p: usize,
    /// `[p, p]` row-major: row `i` is basis vector `i`.
    rows: Vec<f64>,
}

impl FourierBasis {
    /// The basis for `p >= 1` (see the module doc for the row order).
    pub fn new(p: usize) -> FourierBasis {
        let mut rows = vec![0.0; p * p];
        let c = 1.0 / (p.max(1) as f64).sqrt();
        let s = (2.0 / p.max(1) as f64).sqrt();
        for x in 0..p {
            rows[x] = c;
            for k in 1..=n_freqs(p) {
                let a = 2.0 * PI * (k * x) as f64 / p as f64;
                rows[(2 * k - 1) * p + x] = s * a.cos();
                rows[2 * k * p + x] = s * a.sin();
            }
            if p.is_multiple_of(2) && p >= 2 {
                rows[(p - 1) * p + x] = if x % 2 == 0 { c } else { -c };
            }
        }
        FourierBasis { p, rows }
    }
    /// `p`.
    pub fn p(&self) -> usize {
        self.p
    }
    /// Basis vector `i` (`[p]`).
    pub fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.p..(i + 1) * self.p]
    }
    /// The rows' names: `const`, `cos 1`, `sin 1`, ..., and `+-1` for even `p`.
    pub fn names(&self) -> Vec<String> {
        let mut out = vec!["const".to_string()];
        for k in 1..=n_freqs(self.p) {
            out.push(format!("cos {k}"));
            out.push(format!("sin {k}"));
        }
        if self.p.is_multiple_of(2) && self.p >= 2 {
            out.push("+-1".into());
        }
        out
    }
}

/// The frequencies with a cos and a sin row: `1..=(p-1)/2`.
pub fn n_freqs(p: usize) -> usize {
    p.saturating_sub(1) / 2
}

/// Norm of the embedding per frequency: `w_e` is `[p, d_model]` row-major (the rows of
/// tokens `0..p`); the result has `1 + n_freqs(p)` entries, 0 = the constant row.
pub fn embed_fourier_norms(basis: &FourierBasis, w_e: &[f64], d_model: usize) -> Vec<f64> {
    let p = basis.p;
    let sq_norm_of_row = |i: usize| -> f64 {
        let b = basis.row(i);
        (0..d_model)
            .map(|d| {
                let f: f64 = (0..p).map(|x| b[x] * w_e[x * d_model + d]).sum();
                f * f
            })
            .sum()
    };
    let mut out = vec![sq_norm_of_row(0).sqrt()];
    for k in 1..=n_freqs(p) {
        out.push((sq_norm_of_row(2 * k - 1) + sq_norm_of_row(2 * k)).sqrt());
    }
    out
}

/// The `n` frequencies `k >= 1` with the largest `norms[k]` (ties: lower `k` first),
/// in increasing order of `k`.
pub fn key_frequencies(norms: &[f64], n: usize) -> Vec<usize> {
    let mut ks: Vec<usize> = (1..norms.len()).collect();
    ks.sort_by(|&a, &b| norms[b].total_cmp(&norms[a]).then(a.cmp(&b)));
    ks.truncate(n);
    ks.sort_unstable();
    ks
}

/// The restricted and excluded loss of one set of logits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressMeasures {
    /// Mean cross-entropy over all pairs of the key frequencies' components alone.
    pub restricted_loss: f64,
    /// Mean cross-entropy over the training pairs with those components removed.
    pub excluded_loss: f64,
}

/// The progress measures of `logits` `[p², p]` (row `a * p + b`, the answer classes),
/// for the frequencies `key` (each in `1..=n_freqs(p)`; others are ignored) and the
/// training pairs `is_train` `[p²]`. The target of row `a * p + b` is `(a + b) mod p`.
pub fn progress_measures(
    logits: &[f64],
    p: usize,
    key: &[usize],
    is_train: &[bool],
) -> ProgressMeasures {
    // S[s, c] = sum over the pairs with a + b = s (mod p) of L[a, b, c].
    let mut sums = vec![0.0; p * p];
    for a in 0..p {
        for b in 0..p {
            let s = (a + b) % p;
            let row = &logits[(a * p + b) * p..(a * p + b + 1) * p];
            for (acc, l) in sums[s * p..(s + 1) * p].iter_mut().zip(row) {
                *acc += l;
            }
        }
    }
    // restricted[s, c]: the projection, a function of s = (a + b) mod p only.
    let mut restricted = vec![0.0; p * p];
    let norm = 2f64.sqrt() / p as f64;
    for &k in key.iter().filter(|&&k| (1..=n_freqs(p)).contains(&k)) {
        let w = 2.0 * PI * k as f64 / p as f64;
        let (cos, sin): (Vec<f64>, Vec<f64>) = (0..p)
            .map(|s| ((w * s as f64).cos() * norm, (w * s as f64).sin() * norm))
            .unzip();
        for c in 0..p {
            let alpha: f64 = (0..p).map(|s| cos[s] * sums[s * p + c]).sum();
            let beta: f64 = (0..p).map(|s| sin[s] * sums[s * p + c]).sum();
            for s in 0..p {
                restricted[s * p + c] += cos[s] * alpha + sin[s] * beta;
            }
        }
    }
    // Every s occurs for exactly p pairs, so the mean over pairs is the mean over s.
    let restricted_loss = (0..p)
        .map(|s| cross_entropy(&restricted[s * p..(s + 1) * p], s))
        .sum::<f64>()
        / p as f64;
    let (mut total, mut n) = (0.0, 0usize);
    let mut row = vec![0.0; p];
    for a in 0..p {
        for b in 0..p {
            if !is_train.get(a * p + b).copied().unwrap_or(false) {
                continue;
            }
            let s = (a + b) % p;
            let l = &logits[(a * p + b) * p..(a * p + b + 1) * p];
            for ((r, x), k) in row.iter_mut().zip(l).zip(&restricted[s * p..(s + 1) * p]) {
                *r = x - k;
            }
            total += cross_entropy(&row, s);
            n += 1;
        }
    }
    ProgressMeasures {
        restricted_loss,
        excluded_loss: if n > 0 { total / n as f64 } else { f64::NAN },
    }
}

/// `-log_softmax(logits)[target]`.
pub fn cross_entropy(logits: &[f64], target: usize) -> f64 {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = logits.iter().map(|l| (l - max).exp()).sum();
    (sum.ln() + max) - logits.get(target).copied().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_basis_is_orthonormal_for_odd_and_even_p() {
        for p in [2, 5, 10, 113] {
            let b = FourierBasis::new(p);
            for i in 0..p {
                for j in 0..p {
                    let dot: f64 = b.row(i).iter().zip(b.row(j)).map(|(x, y)| x * y).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-9, "p {p}: <{i}, {j}> = {dot}");
                }
            }
            assert_eq!(b.names().len(), p);
        }
        assert_eq!(FourierBasis::new(10).names()[9], "+-1");
        assert_eq!(FourierBasis::new(5).names()[3], "cos 2");
    }

    #[test]
    fn the_closed_form_directions_are_the_seeds() {
        // (cos_a cos_b - sin_a sin_b) / sqrt 2 from the basis rows = (sqrt 2 / p) cos(w(a+b)).
        let p = 7;
        let b = FourierBasis::new(p);
        for k in 1..=n_freqs(p) {
            let (c, s) = (b.row(2 * k - 1), b.row(2 * k));
            for x in 0..p {
                for y in 0..p {
                    let seed = (c[x] * c[y] - s[x] * s[y]) / 2f64.sqrt();
                    let w = 2.0 * PI * (k * (x + y)) as f64 / p as f64;
                    assert!((seed - 2f64.sqrt() / p as f64 * w.cos()).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn embedding_norms_find_the_frequencies_it_is_built_from() {
        let p = 11;
        let d_model = 4;
        // Dimension 0: cos(2πx·3/p), dimension 1: 2·sin(2πx·5/p), dimension 2: constant.
        let mut w_e = vec![0.0; p * d_model];
        for x in 0..p {
            let w = |k: usize| 2.0 * PI * (k * x) as f64 / p as f64;
            w_e[x * d_model] = w(3).cos();
            w_e[x * d_model + 1] = 2.0 * w(5).sin();
            w_e[x * d_model + 2] = 1.0;
        }
        let norms = embed_fourier_norms(&FourierBasis::new(p), &w_e, d_model);
        assert_eq!(norms.len(), 6);
        let half = (p as f64 / 2.0).sqrt();
        assert!((norms[3] - half).abs() < 1e-9, "{norms:?}");
        assert!((norms[5] - 2.0 * half).abs() < 1e-9, "{norms:?}");
        assert!((norms[0] - (p as f64).sqrt()).abs() < 1e-9, "{norms:?}");
        assert!(norms[1].abs() < 1e-9 && norms[2].abs() < 1e-9);
        assert_eq!(key_frequencies(&norms, 2), vec![3, 5]);
        // Ties go to the lower frequency.
        assert_eq!(key_frequencies(&[9.0, 1.0, 0.5, 1.0, 2.0], 2), vec![1, 4]);
    }

    /// `L[a, b, c] = scale · cos(w_k (a + b − c))` plus `noise · cos(w_j (a − b))` (a term
    /// that is not a function of a + b, so no restriction keeps it).
    fn logits(p: usize, k: usize, scale: f64, j: usize, noise: f64) -> Vec<f64> {
        let mut out = vec![0.0; p * p * p];
        for a in 0..p {
            for b in 0..p {
                for c in 0..p {
                    let w = |f: usize, x: f64| (2.0 * PI * f as f64 * x / p as f64).cos();
                    let v =
                        scale * w(k, (a + b) as f64 - c as f64) + noise * w(j, a as f64 - b as f64);
                    out[(a * p + b) * p + c] = v;
                }
            }
        }
        out
    }

    fn mean_ce(l: &[f64], p: usize, pairs: impl Iterator<Item = usize>) -> f64 {
        let (mut t, mut n) = (0.0, 0);
        for i in pairs {
            t += cross_entropy(&l[i * p..(i + 1) * p], (i / p + i % p) % p);
            n += 1;
        }
        t / n as f64
    }

    #[test]
    fn restricted_and_excluded_loss_on_known_logits() {
        let p = 13;
        let is_train: Vec<bool> = (0..p * p).map(|i| i % 3 == 0).collect();
        // The logits are the key frequency's term alone: restricting keeps all of it,
        // excluding leaves nothing (every class equally likely: ln p).
        let pure = logits(p, 4, 6.0, 1, 0.0);
        let m = progress_measures(&pure, p, &[4], &is_train);
        let full = mean_ce(&pure, p, 0..p * p);
        assert!((m.restricted_loss - full).abs() < 1e-9, "{m:?} vs {full}");
        assert!((m.excluded_loss - (p as f64).ln()).abs() < 1e-9, "{m:?}");
        // Another key set: the restricted logits are 0 (ln p), nothing is excluded.
        let m = progress_measures(&pure, p, &[2, 5], &is_train);
        assert!((m.restricted_loss - (p as f64).ln()).abs() < 1e-9, "{m:?}");
        let train = mean_ce(&pure, p, (0..p * p).filter(|&i| is_train[i]));
        assert!((m.excluded_loss - train).abs() < 1e-9, "{m:?} vs {train}");
        // With a term in a - b on top: the restricted loss is the pure logits' loss, and
        // the excluded loss that of the a - b term alone.
        let noisy = logits(p, 4, 6.0, 2, 3.0);
        let m = progress_measures(&noisy, p, &[4], &is_train);
        assert!((m.restricted_loss - full).abs() < 1e-9, "{m:?} vs {full}");
        let rest = logits(p, 4, 0.0, 2, 3.0);
        let want = mean_ce(&rest, p, (0..p * p).filter(|&i| is_train[i]));
        assert!((m.excluded_loss - want).abs() < 1e-9, "{m:?} vs {want}");
        // The key frequency carries the answer: restricted to it the loss is low, without
        // it near ln p.
        assert!(m.restricted_loss < 1.0 && m.excluded_loss > 2.0, "{m:?}");
    }
}
