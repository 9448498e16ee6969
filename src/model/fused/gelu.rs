//! GELU as one autograd node with its own backward, in both of TransformerLens's forms:
//!
//! - `Gelu::Tanh` ("gelu_new", GPT-2 / makemore `NewGELU`):
//!   `y = x/2 (1 + tanh u)`, `u = k (x + a x^3)`, `k = sqrt(2/pi)`, `a = 0.044715`;
//!   `dy/dx = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) k (1 + 3 a x^2)`.
//! - `Gelu::Erf` ("gelu", PyTorch `F.gelu`): `y = x Phi(x)`, `Phi(x) = (1 + erf(x/sqrt 2))/2`;
//!   `dy/dx = Phi(x) + x phi(x)`, `phi(x) = exp(-x^2/2) / sqrt(2 pi)`.
//!
//! `tanh` and `erf` are built on the vectorisable `exp_nonpos` of `rows.rs` (no libm call per
//! element): `tanh|u| = (1 - e)/(1 + e)` with `e = exp(-2|u|)`, absolute error below 1e-6;
//! `erf` by Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7 (plus `exp_nonpos`'s
//! 3e-7 relative). Candle's own `gelu` / `gelu_erf` compute the same functions one libm call
//! per element, and their backward is six to eight more candle ops.
use super::rows::{exp_nonpos, f32_slice};
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

/// Which GELU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gelu {
    /// The tanh approximation (TransformerLens "gelu_new").
    Tanh,
    /// The exact GELU with `erf` (TransformerLens "gelu").
    Erf,
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const A: f32 = 0.044_715;
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// `1 / sqrt(2 pi)`.
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

/// `tanh(u)` without a libm call (branch-free, so that loops over it vectorise).
#[inline(always)]
pub(super) fn tanh_fast(u: f32) -> f32 {
    let e = exp_nonpos(-2.0 * u.abs());
    ((1.0 - e) / (1.0 + e)).copysign(u)
}

/// `erf(z)` (Abramowitz & Stegun 7.1.26) without a libm call (branch-free).
#[inline(always)]
pub(super) fn erf_fast(z: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_72;
    const A3: f32 = 1.421_413_8;
    const A4: f32 = -1.453_152_1;
    const A5: f32 = 1.061_405_4;
    let za = z.abs();
    let t = 1.0 / (1.0 + P * za);
    let poly = t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5))));
    (1.0 - poly * exp_nonpos(-za * za)).copysign(z)
}

/// `gelu_new(x)`.
#[inline(always)]
fn tanh_value(x: f32) -> f32 {
    0.5 * x * (1.0 + tanh_fast(SQRT_2_OVER_PI * (x + A * x * x * x)))
}

/// `d gelu_new / dx`.
#[inline(always)]
fn tanh_slope(x: f32) -> f32 {
    let t = tanh_fast(SQRT_2_OVER_PI * (x + A * x * x * x));
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * A * x * x)
}

/// `gelu(x)` (erf).
#[inline(always)]
fn erf_value(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_fast(x * FRAC_1_SQRT_2))
}

/// `d gelu / dx` (erf).
#[inline(always)]
fn erf_slope(x: f32) -> f32 {
    let phi = FRAC_1_SQRT_2PI * exp_nonpos(-0.5 * x * x);
    0.5 * (1.0 + erf_fast(x * FRAC_1_SQRT_2)) + x * phi
}

impl Gelu {
    /// `gelu(x)` of every element (one loop per kind, so that each vectorises).
    fn values(self, x: &[f32]) -> Vec<f32> {
        match self {
            Gelu::Tanh => x.iter().map(|&v| tanh_value(v)).collect(),
            Gelu::Erf => x.iter().map(|&v| erf_value(v)).collect(),
        }
    }

    /// `gelu'(x) * g` of every element.
    fn slopes_times(self, x: &[f32], g: &[f32]) -> Vec<f32> {
        match self {
            Gelu::Tanh => x
                .iter()
                .zip(g)
                .map(|(&v, &gv)| tanh_slope(v) * gv)
                .collect(),
            Gelu::Erf => x.iter().zip(g).map(|(&v, &gv)| erf_slope(v) * gv).collect(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Gelu::Tanh => "indu-gelu-tanh",
            Gelu::Erf => "indu-gelu-erf",
        }
    }
}

struct GeluOp(Gelu);

impl CustomOp1 for GeluOp {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, self.name())?;
        Ok((CpuStorage::F32(self.0.values(x)), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        Ok(Some(x.detach().apply_op2_no_bwd(&grad, &GeluBwd(self.0))?))
    }
}

/// `dx = gelu'(x) * g`.
struct GeluBwd(Gelu);

impl CustomOp2 for GeluBwd {
    fn name(&self) -> &'static str {
        "indu-gelu-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let g = f32_slice(s2, l2, self.name())?;
        if x.len() != g.len() {
            bail!("{}: x {:?} vs grad {:?}", self.name(), l1.dims(), l2.dims());
        }
        Ok((
            CpuStorage::F32(self.0.slopes_times(x, g)),
            l1.shape().clone(),
        ))
    }
}

/// `gelu(x)` elementwise (f32, CPU), the tanh or the erf form. Differentiable.
pub fn gelu(x: &Tensor, kind: Gelu) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1(GeluOp(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Fused GELUs against candle's `gelu` (tanh) and `gelu_erf`, and against the formulas:
    /// values and gradients to 1e-5.
    #[test]
    fn fused_gelu_matches_candle_and_the_formulas() {
        let xs: Vec<f32> = (-1200..=1200).map(|i| i as f32 / 100.0).collect(); // -12 ..= 12
        let n = xs.len();
        let x = Var::from_tensor(&Tensor::from_vec(xs.clone(), n, &Device::Cpu).unwrap()).unwrap();
        for kind in [Gelu::Tanh, Gelu::Erf] {
            let fused = gelu(&x, kind).unwrap();
            let slow = match kind {
                Gelu::Tanh => x.gelu().unwrap(),
                Gelu::Erf => x.gelu_erf().unwrap(),
            };
            let (f, s) = (
                fused.to_vec1::<f32>().unwrap(),
                slow.to_vec1::<f32>().unwrap(),
            );
            for ((&xv, &a), &b) in xs.iter().zip(&f).zip(&s) {
                assert!((a - b).abs() < 1e-5, "{kind:?} at {xv}: {a} vs candle {b}");
                let x64 = f64::from(xv);
                let want = match kind {
                    Gelu::Tanh => {
                        let u =
                            (2.0 / std::f64::consts::PI).sqrt() * (x64 + 0.044715 * x64.powi(3));
                        0.5 * x64 * (1.0 + u.tanh())
                    }
                    Gelu::Erf => 0.5 * x64 * (1.0 + libm_erf(x64 / 2f64.sqrt())),
                };
                assert!(
                    (f64::from(a) - want).abs() < 1e-5,
                    "{kind:?} at {xv}: {a} vs {want}"
                );
            }
            let gf = fused.sum_all().unwrap().backward().unwrap();
            let gf = gf.get(x.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
            // The derivative by central differences of the f64 formula.
            for (&xv, &d) in xs.iter().zip(&gf) {
                let x64 = f64::from(xv);
                let value = |x: f64| match kind {
                    Gelu::Tanh => {
                        let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3));
                        0.5 * x * (1.0 + u.tanh())
                    }
                    Gelu::Erf => 0.5 * x * (1.0 + libm_erf(x / 2f64.sqrt())),
                };
                let h = 1e-5;
                let want = (value(x64 + h) - value(x64 - h)) / (2.0 * h);
                assert!(
                    (f64::from(d) - want).abs() < 1e-5,
                    "{kind:?}' at {xv}: {d} vs {want}"
                );
            }
        }
        // gelu_new is not the erf GELU: they differ by about 2e-4 near |x| = 2.
        let t = gelu(&x, Gelu::Tanh).unwrap().to_vec1::<f32>().unwrap();
        let e = gelu(&x, Gelu::Erf).unwrap().to_vec1::<f32>().unwrap();
        let gap = t
            .iter()
            .zip(&e)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(gap > 1e-4, "{gap}");
    }

    #[test]
    fn tanh_and_erf_match_std() {
        let (mut wt, mut we) = (0f64, 0f64);
        for i in -40_000..=40_000 {
            let x = i as f32 / 4000.0; // -10 ..= 10
            wt = wt.max((f64::from(tanh_fast(x)) - f64::from(x).tanh()).abs());
            let erf = libm_erf(f64::from(x));
            we = we.max((f64::from(erf_fast(x)) - erf).abs());
        }
        assert!(wt < 1e-6, "tanh: worst absolute error {wt}");
        assert!(we < 5e-7, "erf: worst absolute error {we}");
    }

    /// erf in f64 by its Maclaurin series (|x| <= 3) or 1 - erfc's continued fraction.
    fn libm_erf(x: f64) -> f64 {
        let a = x.abs();
        let r = if a <= 3.0 {
            let (mut term, mut sum, mut n) = (a, a, 0f64);
            while term.abs() > 1e-17 * sum.abs() {
                n += 1.0;
                term *= -a * a / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...))))
            let mut f = a;
            for k in (1..60).rev() {
                f = a + (k as f64 / 2.0) / f;
            }
            1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / f
        };
        if x < 0.0 {
            -r
        } else {
            r
        }
    }
}
