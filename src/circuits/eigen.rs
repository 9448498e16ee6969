//! Eigenvalues of a small real, non-symmetric matrix (complex in general): Householder
//! reduction to upper Hessenberg form, then the Francis double-shift QR iteration with
//! deflation (Golub & Van Loan, "Matrix Computations", algorithms 7.4.2 and 7.5.2). Only
//! the eigenvalues are computed (no vectors). For the OV circuit's copying score, whose
//! `[d_head, d_head]` factor form has at most a few hundred rows.
use super::svd::Mat;
use crate::error::{Error, Result};

/// A complex number `re + i im`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Complex {
    pub re: f64,
    pub im: f64,
}

impl Complex {
    /// `|z|`.
    pub fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }
}

/// The eigenvalues of the square matrix `a` (complex pairs adjacent, in no set order).
pub fn eigenvalues(a: &Mat) -> Result<Vec<Complex>> {
    let n = a.rows;
    if a.cols != n {
        return Err(Error::Invalid(format!(
            "eigenvalues of a {}x{} matrix: expected a square one",
            a.rows, a.cols
        )));
    }
    if a.data.iter().any(|x| !x.is_finite()) {
        return Err(Error::Invalid(
            "eigenvalues of a matrix with non-finite entries".into(),
        ));
    }
    let mut h: Vec<Vec<f64>> = (0..n)
        .map(|i| a.data[i * n..(i + 1) * n].to_vec())
        .collect();
    hessenberg(&mut h);
    qr_iterate(h)
}

/// `sum(lambda) / sum(|lambda|)` of `a`'s eigenvalues (its real part; the imaginary parts
/// of conjugate pairs cancel): 1 when every eigenvalue is positive real, -1 when every one
/// is negative real. `None` when every eigenvalue is 0.
pub fn positivity(a: &Mat) -> Result<Option<f64>> {
    let ev = eigenvalues(a)?;
    let sum: f64 = ev.iter().map(|z| z.re).sum();
    let abs: f64 = ev.iter().map(|z| z.abs()).sum();
    Ok((abs > 0.0).then(|| sum / abs))
}

/// A unit Householder vector `v` with `(I - 2 v v^T) x = -sign(x_0) |x| e_0`; `None` when
/// `x` is already a multiple of `e_0` (no reflection needed).
fn householder(x: &[f64]) -> Option<Vec<f64>> {
    let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    let tail = x[1..].iter().map(|v| v * v).sum::<f64>();
    if norm == 0.0 || tail == 0.0 {
        return None;
    }
    let alpha = if x[0] >= 0.0 { -norm } else { norm };
    let mut v = x.to_vec();
    v[0] -= alpha;
    let vn = v.iter().map(|t| t * t).sum::<f64>().sqrt();
    for t in &mut v {
        *t /= vn;
    }
    Some(v)
}

/// Apply `P = I - 2 v v^T` on rows `r0..r0+len(v)` from the left, over columns `cols`.
fn reflect_rows(h: &mut [Vec<f64>], v: &[f64], r0: usize, cols: std::ops::Range<usize>) {
    for j in cols {
        let dot: f64 = v.iter().enumerate().map(|(i, vi)| vi * h[r0 + i][j]).sum();
        for (i, vi) in v.iter().enumerate() {
            h[r0 + i][j] -= 2.0 * vi * dot;
        }
    }
}

/// Apply `P` on columns `c0..c0+len(v)` from the right, over rows `rows`.
fn reflect_cols(h: &mut [Vec<f64>], v: &[f64], c0: usize, rows: std::ops::Range<usize>) {
    for row in &mut h[rows] {
        let dot: f64 = v.iter().enumerate().map(|(j, vj)| row[c0 + j] * vj).sum();
        for (j, vj) in v.iter().enumerate() {
            row[c0 + j] -= 2.0 * dot * vj;
        }
    }
}

/// Reduce `h` in place to upper Hessenberg form by similarity transforms.
fn hessenberg(h: &mut [Vec<f64>]) {
    let n = h.len();
    for k in 0..n.saturating_sub(2) {
        let x: Vec<f64> = (k + 1..n).map(|i| h[i][k]).collect();
        if let Some(v) = householder(&x) {
            reflect_rows(h, &v, k + 1, k..n);
            reflect_cols(h, &v, k + 1, 0..n);
        }
        for row in h.iter_mut().skip(k + 2) {
            row[k] = 0.0;
        }
    }
}

/// The eigenvalues of the 2x2 block `[[a, b], [c, d]]`.
fn block2(a: f64, b: f64, c: f64, d: f64) -> [Complex; 2] {
    let mean = 0.5 * (a + d);
    let disc = 0.25 * (a - d) * (a - d) + b * c;
    if disc >= 0.0 {
        let r = disc.sqrt();
        [
            Complex {
                re: mean + r,
                im: 0.0,
            },
            Complex {
                re: mean - r,
                im: 0.0,
            },
        ]
    } else {
        let r = (-disc).sqrt();
        [Complex { re: mean, im: r }, Complex { re: mean, im: -r }]
    }
}

/// Iterations without a deflation before the iteration is declared stuck.
const MAX_ITERATIONS_PER_EIGENVALUE: usize = 60;

/// Francis double-shift QR on the Hessenberg matrix `h`, deflating 1x1 and 2x2 blocks off
/// the bottom of the active window `[lo, hi)`.
fn qr_iterate(mut h: Vec<Vec<f64>>) -> Result<Vec<Complex>> {
    let n = h.len();
    let mut out = Vec::with_capacity(n);
    let mut hi = n;
    let mut iterations = 0;
    while hi > 0 {
        // The start of the unreduced block ending at hi - 1.
        let mut lo = hi - 1;
        while lo > 0 {
            let s = h[lo - 1][lo - 1].abs() + h[lo][lo].abs();
            let s = if s == 0.0 { 1.0 } else { s };
            if h[lo][lo - 1].abs() <= f64::EPSILON * s {
                h[lo][lo - 1] = 0.0;
                break;
            }
            lo -= 1;
        }
        if lo == hi - 1 {
            out.push(Complex {
                re: h[hi - 1][hi - 1],
                im: 0.0,
            });
            hi -= 1;
            iterations = 0;
            continue;
        }
        if lo == hi - 2 {
            let m = hi - 1;
            out.extend(block2(h[m - 1][m - 1], h[m - 1][m], h[m][m - 1], h[m][m]));
            hi -= 2;
            iterations = 0;
            continue;
        }
        iterations += 1;
        if iterations > MAX_ITERATIONS_PER_EIGENVALUE {
            return Err(Error::Invalid(
                "the QR iteration for eigenvalues did not converge".into(),
            ));
        }
        francis_step(&mut h, lo, hi, iterations);
    }
    Ok(out)
}

/// One implicit double-shift QR step on the window `[lo, hi)` (at least 3x3). Every tenth
/// iteration uses an exceptional shift to break cycles.
fn francis_step(h: &mut [Vec<f64>], lo: usize, hi: usize, iteration: usize) {
    let m = hi - 1;
    let (s, t) = if iteration.is_multiple_of(10) {
        let w = h[m][m - 1].abs() + h[m - 1][m - 2].abs();
        (1.5 * w, w * w)
    } else {
        (
            h[m - 1][m - 1] + h[m][m],
            h[m - 1][m - 1] * h[m][m] - h[m - 1][m] * h[m][m - 1],
        )
    };
    let mut x = h[lo][lo] * h[lo][lo] + h[lo][lo + 1] * h[lo + 1][lo] - s * h[lo][lo] + t;
    let mut y = h[lo + 1][lo] * (h[lo][lo] + h[lo + 1][lo + 1] - s);
    let mut z = h[lo + 1][lo] * h[lo + 2][lo + 1];
    for k in lo..hi - 2 {
        if let Some(v) = householder(&[x, y, z]) {
            let c0 = if k > lo { k - 1 } else { lo };
            reflect_rows(h, &v, k, c0..hi);
            reflect_cols(h, &v, k, lo..(k + 4).min(hi));
        }
        x = h[k + 1][k];
        y = h[k + 2][k];
        if k + 3 < hi {
            z = h[k + 3][k];
        }
    }
    // The last 2-vector (x, y) at rows hi - 2, hi - 1.
    if let Some(v) = householder(&[x, y]) {
        reflect_rows(h, &v, hi - 2, (hi - 3)..hi);
        reflect_cols(h, &v, hi - 2, lo..hi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn mat(n: usize, data: Vec<f64>) -> Mat {
        Mat {
            rows: n,
            cols: n,
            data,
        }
    }

    fn sorted(mut ev: Vec<Complex>) -> Vec<Complex> {
        ev.sort_by(|a, b| a.re.total_cmp(&b.re).then(a.im.total_cmp(&b.im)));
        ev
    }

    fn close(a: &[Complex], b: &[Complex], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!(
                (x.re - y.re).abs() < tol && (x.im - y.im).abs() < tol,
                "{a:?} vs {b:?}"
            );
        }
    }

    fn re(v: f64) -> Complex {
        Complex { re: v, im: 0.0 }
    }

    #[test]
    fn known_spectra() {
        // Triangular: the diagonal.
        let t = mat(3, vec![2.0, 5.0, -1.0, 0.0, -3.0, 4.0, 0.0, 0.0, 7.0]);
        close(
            &sorted(eigenvalues(&t).unwrap()),
            &[re(-3.0), re(2.0), re(7.0)],
            1e-10,
        );
        // A rotation by 90 degrees: +-i.
        let r = mat(2, vec![0.0, -1.0, 1.0, 0.0]);
        close(
            &sorted(eigenvalues(&r).unwrap()),
            &[Complex { re: 0.0, im: -1.0 }, Complex { re: 0.0, im: 1.0 }],
            1e-12,
        );
        // Companion matrix of (x - 1)(x - 2)(x - 3)(x^2 + 1) = x^5 - 6x^4 + 12x^3 - 12x^2
        // + 11x - 6: roots 1, 2, 3, +-i.
        let c = [-6.0, 11.0, -12.0, 12.0, -6.0];
        let mut data = vec![0.0; 25];
        for i in 1..5 {
            data[i * 5 + i - 1] = 1.0;
        }
        for (i, ci) in c.iter().enumerate() {
            data[i * 5 + 4] = -ci;
        }
        close(
            &sorted(eigenvalues(&mat(5, data)).unwrap()),
            &[
                Complex { re: 0.0, im: -1.0 },
                Complex { re: 0.0, im: 1.0 },
                re(1.0),
                re(2.0),
                re(3.0),
            ],
            1e-8,
        );
        assert_eq!(eigenvalues(&mat(1, vec![4.5])).unwrap(), vec![re(4.5)]);
        assert!(eigenvalues(&mat(0, vec![])).unwrap().is_empty());
        let rect = Mat {
            rows: 2,
            cols: 3,
            data: vec![0.0; 6],
        };
        assert!(eigenvalues(&rect).is_err());
    }

    /// Power sums of the eigenvalues equal traces of powers: sum(lambda^k) = tr(A^k).
    #[test]
    fn random_matrices_match_traces_of_powers() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in [3, 8, 17, 40] {
            let a = super::super::composition::gaussian(n, n, &mut rng);
            let ev = eigenvalues(&a).unwrap();
            assert_eq!(ev.len(), n);
            let mut power = a.clone();
            for k in 1..=4 {
                let trace: f64 = (0..n).map(|i| power.at(i, i)).sum();
                let mut sum = 0.0;
                for z in &ev {
                    // Re(z^k) via polar form.
                    let (r, th) = (z.abs(), z.im.atan2(z.re));
                    sum += r.powi(k) * (th * f64::from(k)).cos();
                }
                let scale = trace.abs().max(f64::from(n as u32).powi(k / 2 + 1));
                assert!(
                    (sum - trace).abs() < 1e-8 * scale,
                    "n {n} k {k}: {sum} vs {trace}"
                );
                power = power.matmul(&a).unwrap();
            }
        }
    }

    #[test]
    fn positivity_of_signed_spectra() {
        let id = Mat::eye(4);
        assert_eq!(positivity(&id).unwrap(), Some(1.0));
        let mut neg = Mat::eye(3);
        for x in &mut neg.data {
            *x = -*x;
        }
        assert_eq!(positivity(&neg).unwrap(), Some(-1.0));
        // diag(2, -1) and a rotation (+-i): (2 - 1 + 0) / (2 + 1 + 2) = 0.2.
        let m = mat(
            4,
            vec![
                2.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0,
            ],
        );
        assert!((positivity(&m).unwrap().unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(positivity(&Mat::zeros(3, 3)).unwrap(), None);
    }
}
