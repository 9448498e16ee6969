//! LayerNorm over the last dim as one autograd node (TransformerLens "LN": biased variance,
//! `eps` inside the square root), with its own backward.
//!
//! Forward, per row `x` of length `d`: `mu = mean(x)`, `c = x - mu`,
//! `r = 1 / sqrt(mean(c^2) + eps)`, `xhat = c r`, `y = xhat * w + b`.
//!
//! Backward, given `g = dL/dy`: `gw = g * w`,
//! `dx = r (gw - mean(gw) - xhat mean(gw * xhat))`, `dw = sum_rows(g * xhat)`,
//! `db = sum_rows(g)`. `xhat` and `r` are recomputed from `x` in the backward (one pass over
//! a row is cheaper than keeping them).
//!
//! The generic path (`model/layernorm.rs`) is about ten candle ops whose backward adds as
//! many again, each allocating a `[batch, pos, d_model]` tensor or a reduction over rows.
use super::rows::{dot_of, f32_slice, sum_of};
use candle_core::{bail, CpuStorage, CustomOp3, Layout, Shape, Tensor};

struct LayerNorm {
    eps: f32,
}

/// `(rows, d)` of `x` `[.., d]` checked against `w` and `b` (or `g`) of length `d`.
fn rows_d(lx: &Layout, n_w: usize, n_b: usize, what: &str) -> candle_core::Result<(usize, usize)> {
    let d = lx.dims().last().copied().unwrap_or(0);
    if d == 0 || n_w != d || n_b != d {
        bail!(
            "{what}: x {:?} needs w and b of its last dim, got {n_w} and {n_b}",
            lx.dims()
        );
    }
    Ok((lx.shape().elem_count() / d, d))
}

/// `(mean, 1 / sqrt(var + eps))` of one row.
#[inline]
fn moments(x: &[f32], eps: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mu = sum_of(x) / n;
    let mut acc = [0f32; 8];
    let chunks = x.chunks_exact(8);
    let rest: f32 = chunks
        .remainder()
        .iter()
        .map(|&v| (v - mu) * (v - mu))
        .sum();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += (v - mu) * (v - mu);
        }
    }
    let var = (acc.iter().sum::<f32>() + rest) / n;
    (mu, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "indu-layernorm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let b = f32_slice(s3, l3, self.name())?;
        let (_rows, d) = rows_d(l1, w.len(), b.len(), self.name())?;
        let mut out = Vec::with_capacity(x.len());
        for xr in x.chunks_exact(d) {
            let (mu, r) = moments(xr, self.eps);
            out.extend(
                xr.iter()
                    .zip(w.iter().zip(b))
                    .map(|(&v, (&wv, &bv))| (v - mu) * r * wv + bv),
            );
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = grad.detach().contiguous()?;
        let d = w.dim(0)?;
        let rows = x.elem_count() / d.max(1);
        // [rows + 2, d]: the rows of dx, then dw, then db.
        let packed =
            x.detach()
                .apply_op3_no_bwd(&w.detach(), &g, &LayerNormBwd { eps: self.eps })?;
        let dx = packed.narrow(0, 0, rows)?.reshape(x.shape())?;
        let dw = packed.get(rows)?;
        let db = packed.get(rows + 1)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// The backward of [`LayerNorm`]: inputs `x`, `w`, `g`; output `[rows + 2, d]` holding `dx`
/// row by row, then `dw`, then `db`.
struct LayerNormBwd {
    eps: f32,
}

impl CustomOp3 for LayerNormBwd {
    fn name(&self) -> &'static str {
        "indu-layernorm-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let g = f32_slice(s3, l3, self.name())?;
        let (rows, d) = rows_d(l1, w.len(), w.len(), self.name())?;
        if g.len() != x.len() {
            bail!("{}: grad {:?} vs x {:?}", self.name(), l3.dims(), l1.dims());
        }
        let mut out = Vec::with_capacity(x.len() + 2 * d);
        let mut dw = vec![0f32; d];
        let mut db = vec![0f32; d];
        let mut xhat = vec![0f32; d];
        let mut gw = vec![0f32; d];
        for (xr, gr) in x.chunks_exact(d).zip(g.chunks_exact(d)) {
            let (mu, r) = moments(xr, self.eps);
            for (((h, q), (&v, &gv)), &wv) in xhat
                .iter_mut()
                .zip(gw.iter_mut())
                .zip(xr.iter().zip(gr))
                .zip(w)
            {
                *h = (v - mu) * r;
                *q = gv * wv;
            }
            let n = d as f32;
            let mean_gw = sum_of(&gw) / n;
            let mean_gwx = dot_of(&gw, &xhat) / n;
            out.extend(
                gw.iter()
                    .zip(&xhat)
                    .map(|(&q, &h)| r * (q - mean_gw - h * mean_gwx)),
            );
            for (((a, c), &gv), &h) in dw.iter_mut().zip(db.iter_mut()).zip(gr).zip(&xhat) {
                *a += gv * h;
                *c += gv;
            }
        }
        out.extend_from_slice(&dw);
        out.extend_from_slice(&db);
        Ok((CpuStorage::F32(out), Shape::from((rows + 2, d))))
    }
}

/// LayerNorm of `x` `[.., d]` with weight `w` `[d]` and bias `b` `[d]` (f32, CPU):
/// `(x - mean) / sqrt(var + eps) * w + b` over the last dim (biased variance).
/// Differentiable in all three.
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op3(
        &w.contiguous()?,
        &b.contiguous()?,
        LayerNorm { eps: eps as f32 },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init::Normal;
    use candle_core::{Device, Var, D};

    fn randn(n: &mut Normal, shape: &[usize], scale: f64, shift: f64) -> Var {
        let len: usize = shape.iter().product();
        let v: Vec<f32> = (0..len)
            .map(|_| (n.sample() * scale + shift) as f32)
            .collect();
        Var::from_tensor(&Tensor::from_vec(v, shape, &Device::Cpu).unwrap()).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// The candle-op LayerNorm (what `model/layernorm.rs` computes on its generic path).
    fn generic(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Tensor {
        let c = x
            .broadcast_sub(&x.mean_keepdim(D::Minus1).unwrap())
            .unwrap();
        let var = c.sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
        let scale = (var + eps).unwrap().sqrt().unwrap();
        c.broadcast_div(&scale)
            .unwrap()
            .broadcast_mul(w)
            .unwrap()
            .broadcast_add(b)
            .unwrap()
    }

    #[test]
    fn fused_layer_norm_matches_the_generic_ops_forward_and_backward() {
        let mut n = Normal::new(11);
        // d = 37 exercises the reductions' remainders; an offset mean and a large scale
        // exercise the centring.
        for (shape, d) in [(vec![3, 5, 37], 37), (vec![2, 32, 64], 64)] {
            let x = randn(&mut n, &shape, 3.0, 1.5);
            let w = randn(&mut n, &[d], 0.5, 1.0);
            let b = randn(&mut n, &[d], 0.5, 0.0);
            let up = randn(&mut n, &shape, 1.0, 0.0); // a fixed upstream gradient
            let fused = layer_norm(&x, &w, &b, 1e-5).unwrap();
            let slow = generic(&x, &w, &b, 1e-5);
            assert!(max_diff(&fused, &slow) < 1e-5, "forward");
            let gf = (&fused * up.as_tensor())
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let gs = (&slow * up.as_tensor())
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for (v, what) in [(&x, "dx"), (&w, "dw"), (&b, "db")] {
                let a = gf.get(v.as_tensor()).unwrap();
                let c = gs.get(v.as_tensor()).unwrap();
                assert_eq!(a.dims(), c.dims(), "{what}");
                // Relative to the gradient's size (dw and db sum over every row).
                let size = c
                    .abs()
                    .unwrap()
                    .max_keepdim(0)
                    .unwrap()
                    .flatten_all()
                    .unwrap();
                let size = size.max(0).unwrap().to_scalar::<f32>().unwrap().max(1.0);
                let d = max_diff(a, c) / size;
                assert!(d < 1e-5, "{what}: relative difference {d}");
            }
        }
    }

    #[test]
    fn rows_are_normalised() {
        let mut n = Normal::new(3);
        let x = randn(&mut n, &[4, 16], 2.0, -3.0);
        let w = Tensor::ones(16, candle_core::DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros(16, candle_core::DType::F32, &Device::Cpu).unwrap();
        let y = layer_norm(&x, &w, &b, 1e-5).unwrap();
        for row in y.to_vec2::<f32>().unwrap() {
            let mean = row.iter().sum::<f32>() / 16.0;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 16.0;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
                "{mean} {var}"
            );
        }
        assert!(layer_norm(&x, &w.narrow(0, 0, 8).unwrap(), &b, 1e-5).is_err());
    }
}
