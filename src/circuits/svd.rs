//! Small dense linear algebra in f64 for the circuit analyses (candle has no SVD): a
//! row-major `Mat`, the one-sided Jacobi SVD, the symmetric Jacobi eigen-decomposition and
//! principal angles between subspaces. Sizes here are at most `d_model x d_model`
//! (`d_model <= 512`, `d_head <= 128`), so O(n^3) sweeps are cheap.
use crate::error::{Error, Result};
use candle_core::{DType, Tensor};

/// A dense row-major matrix `[rows, cols]` of f64.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Mat {
    /// All zeros.
    pub fn zeros(rows: usize, cols: usize) -> Mat {
        Mat {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }
    /// The `n x n` identity.
    pub fn eye(n: usize) -> Mat {
        let mut m = Mat::zeros(n, n);
        for i in 0..n {
            m.data[i * n + i] = 1.0;
        }
        m
    }
    /// Element `(i, j)`.
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }
    /// From a 2-D tensor of any float dtype.
    pub fn from_tensor(t: &Tensor) -> Result<Mat> {
        let (rows, cols) = t.dims2()?;
        let data = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        Ok(Mat { rows, cols, data })
    }
    /// The transpose `[cols, rows]`.
    pub fn t(&self) -> Mat {
        let mut out = Mat::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                out.data[j * self.rows + i] = self.data[i * self.cols + j];
            }
        }
        out
    }
    /// `self @ other` (a candle f64 matmul on the CPU); errors on mismatched inner dimensions.
    pub fn matmul(&self, other: &Mat) -> Result<Mat> {
        if self.cols != other.rows {
            return Err(Error::Invalid(format!(
                "matmul of [{}, {}] by [{}, {}]",
                self.rows, self.cols, other.rows, other.cols
            )));
        }
        let a = self.to_tensor()?;
        let b = other.to_tensor()?;
        Mat::from_tensor(&a.matmul(&b)?)
    }
    /// As a `[rows, cols]` f64 tensor on the CPU.
    pub fn to_tensor(&self) -> Result<Tensor> {
        Ok(Tensor::from_slice(
            &self.data,
            (self.rows, self.cols),
            &candle_core::Device::Cpu,
        )?)
    }
    /// The first `k` columns `[rows, k]`.
    pub fn first_cols(&self, k: usize) -> Mat {
        let k = k.min(self.cols);
        let mut out = Mat::zeros(self.rows, k);
        for i in 0..self.rows {
            out.data[i * k..(i + 1) * k]
                .copy_from_slice(&self.data[i * self.cols..i * self.cols + k]);
        }
        out
    }
    /// Frobenius norm.
    pub fn frobenius(&self) -> f64 {
        self.data.iter().map(|v| v * v).sum::<f64>().sqrt()
    }
}

/// Thin SVD `A = U diag(s) V^T` of `a: [m, n]`: `u: [m, k]`, `s: [k]` descending,
/// `v: [n, k]`, `k = min(m, n)`.
#[derive(Debug, Clone)]
pub struct Svd {
    pub u: Mat,
    pub s: Vec<f64>,
    pub v: Mat,
}

/// One-sided Jacobi (Hestenes) SVD: rotate pairs of columns of `A` (or of `A^T` when
/// `m < n`) until they are mutually orthogonal; the column norms are the singular values.
pub fn svd(a: &Mat) -> Svd {
    if a.rows < a.cols {
        let t = svd(&a.t());
        return Svd {
            u: t.v,
            s: t.s,
            v: t.u,
        };
    }
    let (m, n) = (a.rows, a.cols);
    // Work on columns: w[j] is column j of A (length m), v[j] column j of V (length n).
    let mut w: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..m).map(|i| a.at(i, j)).collect())
        .collect();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..n).map(|i| f64::from(u8::from(i == j))).collect())
        .collect();
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
    for _sweep in 0..60 {
        let mut off = 0.0f64;
        for p in 0..n {
            for q in p + 1..n {
                let alpha = dot(&w[p], &w[p]);
                let beta = dot(&w[q], &w[q]);
                let gamma = dot(&w[p], &w[q]);
                if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                    continue;
                }
                off = off.max(gamma.abs() / (alpha * beta).sqrt());
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let t = if zeta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                rotate(&mut w, p, q, c, s);
                rotate(&mut v, p, q, c, s);
            }
        }
        if off < 1e-14 {
            break;
        }
    }
    let mut order: Vec<(f64, usize)> = w
        .iter()
        .enumerate()
        .map(|(j, c)| (dot(c, c).sqrt(), j))
        .collect();
    order.sort_by(|x, y| y.0.total_cmp(&x.0));
    let mut u = Mat::zeros(m, n);
    let mut vm = Mat::zeros(n, n);
    let mut s = Vec::with_capacity(n);
    for (k, &(sigma, j)) in order.iter().enumerate() {
        s.push(sigma);
        for (i, x) in w[j].iter().enumerate() {
            u.data[i * n + k] = if sigma > 0.0 { x / sigma } else { 0.0 };
        }
        for (i, x) in v[j].iter().enumerate() {
            vm.data[i * n + k] = *x;
        }
    }
    Svd { u, s, v: vm }
}

/// Apply the rotation `(c, s)` to columns `p`, `q`.
fn rotate(cols: &mut [Vec<f64>], p: usize, q: usize, c: f64, s: f64) {
    let (lo, hi) = cols.split_at_mut(q);
    for (x, y) in lo[p].iter_mut().zip(hi[0].iter_mut()) {
        let (a, b) = (*x, *y);
        *x = c * a - s * b;
        *y = s * a + c * b;
    }
}

/// Eigen-decomposition of a symmetric `a: [n, n]` by cyclic Jacobi rotations: eigenvalues
/// descending and the eigenvectors as the columns of `[n, n]`.
pub fn eigh(a: &Mat) -> Result<(Vec<f64>, Mat)> {
    if a.rows != a.cols {
        return Err(Error::Invalid(format!(
            "eigh needs a square matrix, got [{}, {}]",
            a.rows, a.cols
        )));
    }
    // For a symmetric matrix the SVD of A + c I with c >= |lambda_min| gives the
    // eigenvectors, with singular values lambda + c.
    let n = a.rows;
    let shift = (0..n)
        .map(|i| (0..n).map(|j| a.at(i, j).abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let mut b = a.clone();
    for i in 0..n {
        b.data[i * n + i] += shift;
    }
    let d = svd(&b);
    Ok((d.s.iter().map(|s| s - shift).collect(), d.v))
}

/// Cosines of the principal angles between the column spans of the orthonormal `a: [d, r1]`
/// and `b: [d, r2]`: the singular values of `a^T b`, descending (1 = shared direction).
pub fn principal_cosines(a: &Mat, b: &Mat) -> Result<Vec<f64>> {
    let m = a.t().matmul(b)?;
    Ok(svd(&m).s.into_iter().map(|c| c.min(1.0)).collect())
}

/// Subspace overlap of two orthonormal bases of rank `r1`, `r2`: `(largest, mean)` where
/// `largest` = cosine of the smallest principal angle and `mean` = `||a^T b||_F^2 / min(r1, r2)`
/// (the mean squared cosine: 1 for nested subspaces, about `r / d` for random ones).
pub fn overlap(a: &Mat, b: &Mat) -> Result<(f64, f64)> {
    let c = principal_cosines(a, b)?;
    let r = a.cols.min(b.cols).max(1) as f64;
    Ok((
        c.first().copied().unwrap_or(0.0),
        c.iter().map(|x| x * x).sum::<f64>() / r,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(m: usize, n: usize, seed: u64) -> Mat {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Mat {
            rows: m,
            cols: n,
            data: (0..m * n).map(|_| rng.random_range(-1.0..1.0)).collect(),
        }
    }

    fn max_abs_diff(a: &Mat, b: &Mat) -> f64 {
        a.data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    fn reconstruct(d: &Svd) -> Mat {
        let mut us = d.u.clone();
        for i in 0..us.rows {
            for k in 0..us.cols {
                us.data[i * us.cols + k] *= d.s[k];
            }
        }
        us.matmul(&d.v.t()).unwrap()
    }

    #[test]
    fn svd_reconstructs_tall_wide_and_low_rank() {
        for (m, n, seed) in [(7, 4, 1), (4, 9, 2), (12, 12, 3)] {
            let a = random(m, n, seed);
            let d = svd(&a);
            assert!(max_abs_diff(&reconstruct(&d), &a) < 1e-10, "{m}x{n}");
            assert!(d.s.windows(2).all(|w| w[0] >= w[1]));
            let k = m.min(n);
            assert!(max_abs_diff(&d.v.t().matmul(&d.v).unwrap(), &Mat::eye(k)) < 1e-10);
            assert!(max_abs_diff(&d.u.t().matmul(&d.u).unwrap(), &Mat::eye(k)) < 1e-10);
        }
        // Rank 2 product of [10, 2] x [2, 10]: two non-zero singular values.
        let low = random(10, 2, 4).matmul(&random(2, 10, 5)).unwrap();
        let d = svd(&low);
        assert!(d.s[1] > 1e-3 && d.s[2] < 1e-10, "{:?}", d.s);
        assert!(max_abs_diff(&reconstruct(&d), &low) < 1e-10);
    }

    #[test]
    fn svd_of_known_diagonal() {
        let mut a = Mat::zeros(3, 3);
        a.data[0] = 2.0;
        a.data[4] = -5.0;
        a.data[8] = 1.0;
        let d = svd(&a);
        for (x, y) in d.s.iter().zip([5.0, 2.0, 1.0]) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn eigh_of_symmetric_matrix() {
        let r = random(6, 6, 7);
        let a = r.matmul(&r.t()).unwrap();
        let mut b = a.clone();
        for i in 0..6 {
            b.data[i * 6 + i] -= 1.5; // make some eigenvalues negative
        }
        let (vals, vecs) = eigh(&b).unwrap();
        assert!(vals.windows(2).all(|w| w[0] >= w[1]));
        let bv = b.matmul(&vecs).unwrap();
        for (k, val) in vals.iter().enumerate() {
            for i in 0..6 {
                assert!((bv.at(i, k) - val * vecs.at(i, k)).abs() < 1e-9);
            }
        }
        assert!(eigh(&random(2, 3, 1)).is_err());
    }

    #[test]
    fn principal_angles_identical_orthogonal_and_rotated() {
        let q = svd(&random(8, 3, 9)).u; // orthonormal [8, 3]
        let c = principal_cosines(&q, &q).unwrap();
        assert!(c.iter().all(|x| (x - 1.0).abs() < 1e-10), "{c:?}");
        let e = Mat::eye(6);
        let a = e.first_cols(2);
        let mut b = Mat::zeros(6, 2);
        b.data[2 * 2] = 1.0;
        b.data[3 * 2 + 1] = 1.0;
        let (largest, mean) = overlap(&a, &b).unwrap();
        assert!(largest.abs() < 1e-12 && mean.abs() < 1e-12);
        // The same span in another basis is still angle 0.
        let mut rot = Mat::zeros(2, 2);
        let (c2, s2) = (0.6, 0.8);
        rot.data = vec![c2, -s2, s2, c2];
        let (l, m) = overlap(&a, &a.matmul(&rot).unwrap()).unwrap();
        assert!((l - 1.0).abs() < 1e-12 && (m - 1.0).abs() < 1e-12);
    }
}
