//! `x @ w + b`: [`apply`] picks the fused node [`linear`] for f32 on the CPU and the folded
//! candle-op form elsewhere.
//!
//! The fused node: the forward writes the bias rows once
//! and lets `gemm` (the kernel behind candle's own CPU matmul) accumulate `x @ w` into them;
//! the backward returns `dx = g w^T`, `dw = x^T g` and `db = sum_rows(g)` directly.
//!
//! Built from candle ops the same product needs a concatenated `[x, 1]` copy for the bias (or
//! a broadcast add whose gradient is a slow reduction), and candle's autograd zero-fills and
//! accumulates a gradient for every intermediate; this node has none. It takes `x` of any
//! rank (`[.., k]`, the leading dims read as rows), so callers need no reshape nodes around
//! it: each would cost a zero-filled gradient and an add in the backward pass.
use super::fused::{self, f32_slice};
use crate::error::Result;
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};

struct Linear;

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "indu-linear"
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
        let k = l1.dims().last().copied().unwrap_or(0);
        let rows = x.len().checked_div(k).unwrap_or(0);
        let (k2, n) = l2.shape().dims2()?;
        if l1.dims().len() < 2 || k != k2 || b.len() != n || x.len() != rows * k || w.len() != k * n
        {
            bail!(
                "{}: x {:?}, w {:?}, b {:?} do not fit",
                self.name(),
                l1.dims(),
                l2.dims(),
                l3.dims()
            );
        }
        let mut out = Vec::with_capacity(rows * n);
        for _ in 0..rows {
            out.extend_from_slice(b);
        }
        if rows > 0 && n > 0 && k > 0 {
            let threads = candle_core::utils::get_num_threads();
            let par = if threads > 1 {
                gemm::Parallelism::Rayon(threads)
            } else {
                gemm::Parallelism::None
            };
            // SAFETY: `out` holds rows * n, `x` rows * k and `w` k * n contiguous f32 values
            // (checked above), all row-major: the strides below (column stride 1, row stride =
            // row length) address exactly those elements. `out` is not aliased by `x` or `w`
            // (a fresh allocation), and `read_dst = true` with alpha = beta = 1 computes
            // out = out + x @ w, i.e. the bias rows plus the product.
            unsafe {
                gemm::gemm(
                    rows,
                    n,
                    k,
                    out.as_mut_ptr(),
                    1,
                    n as isize,
                    true,
                    x.as_ptr(),
                    1,
                    k as isize,
                    w.as_ptr(),
                    1,
                    n as isize,
                    1.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    par,
                );
            }
        }
        let mut dims = l1.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = n;
        }
        Ok((CpuStorage::F32(out), Shape::from(dims)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (k, n) = w.dims2()?;
        let rows = x.elem_count() / k.max(1);
        // Detached 2-D views: `[rows, n]` and `[rows, k]` (no graph nodes).
        let g = grad.detach().contiguous()?.reshape((rows, n))?;
        let x2 = x.detach().reshape((rows, k))?;
        let w = w.detach();
        let dx = g.matmul(&w.t()?)?.reshape(x.shape())?;
        let dw = x2.t()?.matmul(&g)?;
        let db = g.apply_op1_no_bwd(&SumRows)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// `[rows, n]` -> `[n]`, the sum over rows (no backward).
struct SumRows;

impl CustomOp1 for SumRows {
    fn name(&self) -> &'static str {
        "indu-sum-rows"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = f32_slice(s, l, self.name())?;
        let (_rows, n) = l.shape().dims2()?;
        let mut out = vec![0f32; n];
        if n > 0 {
            for row in g.chunks_exact(n) {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o += v;
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }
}

/// `x @ w + b` for `x` `[.., k]` (rank 2 or more), `w` `[k, n]`, `b` `[n]` (f32, CPU) ->
/// `[.., n]`. Differentiable in all three.
pub fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, Linear)
}

/// `x @ w + b` for `x: [.., k]` (rank 2 or more), `w: [k, n]`, `b: [n]` -> `[.., n]`. f32 on
/// the CPU: one fused node ([`linear`]). Elsewhere the bias is folded into the matmul as
/// `[x, 1] @ [w; b]` on `x` as `[rows, k]`: candle's gradient of a broadcast bias is a slow
/// reduction over rows, while the folded form gets it from the same matmul.
pub(crate) fn apply(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    if fused::usable(x) && w.dtype() == x.dtype() && b.dtype() == x.dtype() {
        return Ok(linear(x, w, b)?);
    }
    let k = x.dims().last().copied().unwrap_or(0);
    let rows = x.elem_count() / k.max(1);
    let n = b.dim(0)?;
    let mut dims = x.dims().to_vec();
    if let Some(last) = dims.last_mut() {
        *last = n;
    }
    let ones = Tensor::ones((rows, 1), x.dtype(), x.device())?;
    let x1 = Tensor::cat(&[&x.reshape((rows, k))?, &ones], 1)?;
    let wb = Tensor::cat(&[w, &b.reshape((1, n))?], 0)?;
    Ok(x1.matmul(&wb)?.reshape(dims)?)
}
