//! Composition between heads in different layers (Anthropic, "A Mathematical Framework for
//! Transformer Circuits"), its random baseline, and seed 004's weight-based scores: the
//! diagonal of the composed `W_QK W_OV^T` product and the common-subspace overlaps.
//!
//! Row-vector convention (TransformerLens): `W_OV^A = W_V^A W_O^A` and `W_QK^B = W_Q^B W_K^B^T`
//! are `[d_model, d_model]`; head A (layer l) writes `x W_OV^A` into the residual stream that
//! head B (layer l' > l) reads. With `c(M, N) = ||M N||_F / (||M||_F ||N||_F)`:
//! - Q-composition `c(W_OV^A, W_QK^B)`: A's output feeds B's queries (`x W_OV^A W_QK^B`).
//! - K-composition `c(W_OV^A, W_QK^B^T)`: A's output feeds B's keys; the score term is
//!   `x_q W_QK^B (x_k W_OV^A)^T`, whose matrix `W_QK^B W_OV^A^T` has the same norm.
//! - V-composition `c(W_OV^A, W_OV^B)`: A's output feeds B's values (`x W_OV^A W_OV^B`).
use super::qk_ov::{HeadW, ModelW};
use super::svd::{eigh, overlap, svd, Mat};
use crate::error::Result;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// `||a b||_F / (||a||_F ||b||_F)`; 0 when either factor is 0.
pub fn comp_score(a: &Mat, b: &Mat) -> Result<f64> {
    let den = a.frobenius() * b.frobenius();
    if den == 0.0 {
        return Ok(0.0);
    }
    Ok(a.matmul(b)?.frobenius() / den)
}

/// Q-, K- and V-composition of an earlier head `a` into a later head `b`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairComposition {
    pub earlier: String,
    pub later: String,
    pub q: f64,
    pub k: f64,
    pub v: f64,
}

/// The three composition scores of the pair.
pub fn compose(a: &HeadW, b: &HeadW) -> Result<PairComposition> {
    let ov_a = a.w_ov()?;
    let qk_b = b.w_qk()?;
    Ok(PairComposition {
        earlier: a.name(),
        later: b.name(),
        q: comp_score(&ov_a, &qk_b)?,
        k: comp_score(&ov_a, &qk_b.t())?,
        v: comp_score(&ov_a, &b.w_ov()?)?,
    })
}

/// Every pair of heads `(a, b)` with `a.layer < b.layer`, in head order.
pub fn pairs(m: &ModelW) -> Vec<(&HeadW, &HeadW)> {
    let mut out = Vec::new();
    for a in &m.heads {
        for b in m.heads.iter().filter(|b| b.layer > a.layer) {
            out.push((a, b));
        }
    }
    out
}

/// Mean and standard deviation of a score over seeded random draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub mean: f64,
    pub std: f64,
    pub draws: usize,
    pub seed: u64,
}

/// A standard normal draw (Box-Muller).
pub fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `[rows, cols]` of independent standard normals.
pub fn gaussian<R: Rng + ?Sized>(rows: usize, cols: usize, rng: &mut R) -> Mat {
    Mat {
        rows,
        cols,
        data: (0..rows * cols).map(|_| normal(rng)).collect(),
    }
}

fn mean_std(x: &[f64], seed: u64) -> Baseline {
    let n = x.len().max(1) as f64;
    let mean = x.iter().sum::<f64>() / n;
    let std = (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
    Baseline {
        mean,
        std,
        draws: x.len(),
        seed,
    }
}

/// Composition score of random matrices shaped like the real ones: `W_A = X_1 Y_1`,
/// `W_B = X_2 Y_2` with `X: [d_model, d_head]`, `Y: [d_head, d_model]` i.i.d. normal (rank
/// `d_head`, like `W_OV` and `W_QK`), over `draws` seeded draws. The same baseline serves
/// Q, K and V composition, whose matrices all have these shapes.
pub fn random_baseline(d_model: usize, d_head: usize, draws: usize, seed: u64) -> Result<Baseline> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut scores = Vec::with_capacity(draws);
    for _ in 0..draws {
        let a = gaussian(d_model, d_head, &mut rng).matmul(&gaussian(d_head, d_model, &mut rng))?;
        let b = gaussian(d_model, d_head, &mut rng).matmul(&gaussian(d_head, d_model, &mut rng))?;
        scores.push(comp_score(&a, &b)?);
    }
    Ok(mean_std(&scores, seed))
}

/// Seed 004's diagonal test of one pair: the composed `M = W_QK^B W_OV^A^T` (the K-path
/// bilinear form: query residual vs the key's earlier-position residual that A moved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagonalPair {
    pub earlier: String,
    pub later: String,
    /// Z-score of the diagonal of `W_E M W_E^T` (token basis, `[d_vocab, d_vocab]`).
    pub z_token: f64,
    /// Z-score of the diagonal of `V^T M V`, V = eigenvectors of `W_E^T W_E` (seed 004's
    /// embedding basis, `[d_model, d_model]`).
    pub z_embed: f64,
    /// Share of token rows of `W_E M W_E^T` whose max is on the diagonal.
    pub diag_token: f64,
}

/// The diagonal scores of every pair, given the embedding eigenbasis `basis: [d_model, d_model]`.
pub fn diagonal_pair(m: &ModelW, a: &HeadW, b: &HeadW, basis: &Mat) -> Result<DiagonalPair> {
    let prod = b.w_qk()?.matmul(&a.w_ov()?.t())?; // [d_model, d_model]
    let tok = m.w_e.matmul(&prod)?.matmul(&m.w_e.t())?;
    let emb = basis.t().matmul(&prod)?.matmul(basis)?;
    Ok(DiagonalPair {
        earlier: a.name(),
        later: b.name(),
        z_token: super::qk_ov::diag_zscore(&tok),
        z_embed: super::qk_ov::diag_zscore(&emb),
        diag_token: super::qk_ov::diag_score(&tok),
    })
}

/// Eigenvectors of `W_E^T W_E` by decreasing eigenvalue, as columns `[d_model, d_model]`.
pub fn embedding_basis(m: &ModelW) -> Result<Mat> {
    Ok(eigh(&m.w_e.t().matmul(&m.w_e)?)?.1)
}

/// Top singular subspaces of one head (orthonormal columns, `[d_model, d_head]`, sorted by
/// singular value so that `first_cols(r)` is the top-r subspace).
#[derive(Debug, Clone)]
pub struct HeadSubspaces {
    /// Where `W_OV` writes: right singular vectors of `W_OV`.
    pub ov_write: Mat,
    /// What `W_OV` reads: left singular vectors of `W_OV`.
    pub ov_read: Mat,
    /// What the queries read: left singular vectors of `W_QK`.
    pub qk_query: Mat,
    /// What the keys read: right singular vectors of `W_QK`.
    pub qk_key: Mat,
}

/// The singular subspaces of `h` (ranks up to `d_head`).
pub fn head_subspaces(h: &HeadW) -> Result<HeadSubspaces> {
    let dh = h.w_q.cols;
    let ov = svd(&h.w_ov()?);
    let qk = svd(&h.w_qk()?);
    Ok(HeadSubspaces {
        ov_write: ov.v.first_cols(dh),
        ov_read: ov.u.first_cols(dh),
        qk_query: qk.u.first_cols(dh),
        qk_key: qk.v.first_cols(dh),
    })
}

/// Subspace overlap `(largest, mean)` (see `svd::overlap`) at one rank.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    pub largest: f64,
    pub mean: f64,
}

/// Overlap of the top-`r` subspaces `a` and `b`.
pub fn overlap_at(a: &Mat, b: &Mat, r: usize) -> Result<Overlap> {
    let (largest, mean) = overlap(&a.first_cols(r), &b.first_cols(r))?;
    Ok(Overlap { largest, mean })
}

/// Overlap of two uniformly random `r`-dimensional subspaces of `R^d`, mean over draws.
pub fn random_overlap(d: usize, r: usize, draws: usize, seed: u64) -> Result<Overlap> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut l, mut m) = (0.0, 0.0);
    for _ in 0..draws {
        let a = svd(&gaussian(d, r, &mut rng)).u;
        let b = svd(&gaussian(d, r, &mut rng)).u;
        let o = overlap(&a, &b)?;
        l += o.0;
        m += o.1;
    }
    let n = draws.max(1) as f64;
    Ok(Overlap {
        largest: l / n,
        mean: m / n,
    })
}

/// The ranks analysed for heads of width `d_head`: powers of two up to `d_head`, and
/// `d_head` itself.
pub fn ranks(d_head: usize) -> Vec<usize> {
    let mut r: Vec<usize> = (0..)
        .map(|i| 1usize << i)
        .take_while(|&x| x < d_head)
        .collect();
    if d_head > 0 {
        r.push(d_head);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::ModelConfig;

    /// Head whose OV writes into coordinates `write` and whose Q/K/V read `read`.
    fn head(layer: usize, d: usize, read: &[usize], write: &[usize]) -> HeadW {
        let dh = read.len();
        let mut r = Mat::zeros(d, dh);
        let mut w = Mat::zeros(dh, d);
        for (k, (&i, &j)) in read.iter().zip(write).enumerate() {
            r.data[i * dh + k] = 1.0;
            w.data[k * d + j] = 1.0;
        }
        HeadW {
            layer,
            head: 0,
            w_q: r.clone(),
            w_k: r.clone(),
            w_v: r,
            w_o: w,
        }
    }

    #[test]
    fn orthogonal_subspaces_do_not_compose_and_aligned_ones_do() {
        let d = 8;
        // A writes coordinates 4..6; B reads 0..2: nothing composes.
        let a = head(0, d, &[0, 1], &[4, 5]);
        let b = head(1, d, &[0, 1], &[0, 1]);
        let c = compose(&a, &b).unwrap();
        assert!(
            c.q.abs() < 1e-12 && c.k.abs() < 1e-12 && c.v.abs() < 1e-12,
            "{c:?}"
        );
        // B reading 4..6 composes fully: identity blocks give ||I_2|| / (||I_2|| ||I_2||).
        let b2 = head(1, d, &[4, 5], &[0, 1]);
        let c2 = compose(&a, &b2).unwrap();
        let full = 1.0 / 2f64.sqrt();
        assert!(
            (c2.q - full).abs() < 1e-12
                && (c2.k - full).abs() < 1e-12
                && (c2.v - full).abs() < 1e-12
        );
        let s_a = head_subspaces(&a).unwrap();
        let s_b = head_subspaces(&b2).unwrap();
        let o = overlap_at(&s_a.ov_write, &s_b.qk_key, 2).unwrap();
        assert!((o.largest - 1.0).abs() < 1e-10 && (o.mean - 1.0).abs() < 1e-10);
        let s_b0 = head_subspaces(&b).unwrap();
        let o0 = overlap_at(&s_a.ov_write, &s_b0.qk_key, 2).unwrap();
        assert!(o0.largest < 1e-10);
    }

    #[test]
    fn random_baseline_is_small_and_seeded() {
        let b1 = random_baseline(32, 4, 10, 7).unwrap();
        let b2 = random_baseline(32, 4, 10, 7).unwrap();
        assert_eq!(b1, b2);
        assert!(b1.mean > 0.0 && b1.mean < 0.5, "{b1:?}");
        let r = random_overlap(64, 2, 10, 1).unwrap();
        assert!(r.mean < 0.2, "{r:?}");
        assert_eq!(ranks(12), vec![1, 2, 4, 8, 12]);
        assert_eq!(ranks(8), vec![1, 2, 4, 8]);
    }

    #[test]
    fn copying_pair_has_a_large_token_diagonal() {
        // Identity embedding; A moves token i unchanged, B's QK is the identity.
        let d = 6;
        let all: Vec<usize> = (0..d).collect();
        let a = head(0, d, &all, &all);
        let b = head(1, d, &all, &all);
        let m = ModelW {
            cfg: ModelConfig::default(),
            w_e: Mat::eye(d),
            w_pos: Mat::eye(d),
            w_u: Mat::eye(d),
            heads: vec![a.clone(), b.clone()],
        };
        let basis = embedding_basis(&m).unwrap();
        let p = diagonal_pair(&m, &a, &b, &basis).unwrap();
        assert_eq!(p.diag_token, 1.0);
        assert!(p.z_token > 2.0 && p.z_embed > 2.0, "{p:?}");
    }
}
