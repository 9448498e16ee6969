//! Fused CPU kernels with their own backward passes (candle `CustomOp`s), used for f32 on
//! the CPU; every other dtype/device takes the generic candle-op path in the callers.
//!
//! - [`causal_softmax`]: `softmax(scale * s + causal_mask)` over the last dim of attention
//!   scores `[.., q, k]`, computing only the visible (lower-triangular) part; backward
//!   `ds = scale * p * (dp - sum(dp * p))`.
//! - [`cross_entropy`]: per-row `logsumexp(x) - x[t]` for logits `[.., V]` and u32 targets
//!   `[..]`; backward `dx = (softmax(x) - onehot(t)) * dloss`.
//!
//! Replacing the ~6 elementwise candle ops (and their backward ops, each allocating) per
//! softmax and per loss is the single largest saving on the attention-heavy presets.
use candle_core::{
    bail, CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor,
};

/// Whether the fused kernels apply to `t` (f32 on the CPU).
pub fn usable(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(v), Some((a, b))) => Ok(&v[a..b]),
        (CpuStorage::F32(_), None) => bail!("{what}: input must be contiguous"),
        _ => bail!("{what}: input must be f32"),
    }
}

fn u32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> candle_core::Result<&'a [u32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::U32(v), Some((a, b))) => Ok(&v[a..b]),
        (CpuStorage::U32(_), None) => bail!("{what}: targets must be contiguous"),
        _ => bail!("{what}: targets must be u32"),
    }
}

/// `(rows_per_matrix q, row length k)` of a `[.., q, k]` layout.
fn qk(l: &Layout, what: &str) -> candle_core::Result<(usize, usize)> {
    let d = l.dims();
    if d.len() < 2 || d[d.len() - 1] == 0 || d[d.len() - 2] == 0 {
        bail!("{what}: expected [.., q, k] with q, k >= 1, got {d:?}");
    }
    Ok((d[d.len() - 2], d[d.len() - 1]))
}

/// Keys visible to query row `i` of `q` when there are `k` keys (queries are the last `q`
/// positions): `j <= i + k - q`.
#[inline]
fn visible(i: usize, q: usize, k: usize) -> usize {
    (i + 1 + k).saturating_sub(q).min(k)
}

struct CausalSoftmax {
    scale: f32,
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "indu-causal-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, self.name())?;
        let (q, k) = qk(l, self.name())?;
        let mut out = vec![0f32; x.len()];
        for (r, (xr, or)) in x.chunks_exact(k).zip(out.chunks_exact_mut(k)).enumerate() {
            let n = visible(r % q, q, k);
            let (xs, os) = (&xr[..n], &mut or[..n]);
            let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for (o, &v) in os.iter_mut().zip(xs) {
                let e = ((v - max) * self.scale).exp();
                *o = e;
                sum += e;
            }
            let inv = 1.0 / sum;
            os.iter_mut().for_each(|o| *o *= inv);
        }
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let grad = grad.contiguous()?;
        let res = res.contiguous()?.detach();
        Ok(Some(res.apply_op2_no_bwd(
            &grad,
            &SoftmaxBwd { scale: self.scale },
        )?))
    }
}

struct SoftmaxBwd {
    scale: f32,
}

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "indu-causal-softmax-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let p = f32_slice(s1, l1, self.name())?;
        let g = f32_slice(s2, l2, self.name())?;
        let (q, k) = qk(l1, self.name())?;
        if p.len() != g.len() {
            bail!("{}: shape mismatch", self.name());
        }
        let mut out = vec![0f32; p.len()];
        let rows = p.chunks_exact(k).zip(g.chunks_exact(k));
        for (r, ((pr, gr), or)) in rows.zip(out.chunks_exact_mut(k)).enumerate() {
            let n = visible(r % q, q, k);
            let (ps, gs) = (&pr[..n], &gr[..n]);
            let dot: f32 = ps.iter().zip(gs).map(|(a, b)| a * b).sum();
            for ((o, &pv), &gv) in or[..n].iter_mut().zip(ps).zip(gs) {
                *o = self.scale * pv * (gv - dot);
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// `softmax(scale * scores + causal mask)` over the last dim of `scores` `[.., q, k]`
/// (f32, CPU): masked entries are exactly 0. Differentiable.
pub fn causal_softmax(scores: &Tensor, scale: f64) -> candle_core::Result<Tensor> {
    scores.contiguous()?.apply_op1(CausalSoftmax {
        scale: scale as f32,
    })
}

struct CrossEntropy;

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "indu-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let t = u32_slice(s2, l2, self.name())?;
        let v = l1.dims().last().copied().unwrap_or(0);
        if v == 0 || x.len() != t.len() * v {
            bail!(
                "{}: logits {:?} vs targets {:?}",
                self.name(),
                l1.dims(),
                l2.dims()
            );
        }
        let mut out = Vec::with_capacity(t.len());
        for (xr, &ti) in x.chunks_exact(v).zip(t) {
            let Some(&xt) = xr.get(ti as usize) else {
                bail!("target {ti} is out of range for {v} logits");
            };
            let max = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = xr.iter().map(|&a| (a - max).exp()).sum();
            out.push(sum.ln() + max - xt);
        }
        Ok((CpuStorage::F32(out), l2.shape().clone()))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let dx = logits
            .detach()
            .apply_op3_no_bwd(targets, &grad, &CrossEntropyBwd)?;
        Ok((Some(dx), None))
    }
}

struct CrossEntropyBwd;

impl CustomOp3 for CrossEntropyBwd {
    fn name(&self) -> &'static str {
        "indu-cross-entropy-bwd"
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
        let t = u32_slice(s2, l2, self.name())?;
        let g = f32_slice(s3, l3, self.name())?;
        let v = l1.dims().last().copied().unwrap_or(0);
        if v == 0 || x.len() != t.len() * v || g.len() != t.len() {
            bail!("{}: shape mismatch", self.name());
        }
        let mut out = vec![0f32; x.len()];
        for (((xr, or), &ti), &gi) in x.chunks_exact(v).zip(out.chunks_exact_mut(v)).zip(t).zip(g) {
            let max = xr.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for (o, &a) in or.iter_mut().zip(xr) {
                let e = (a - max).exp();
                *o = e;
                sum += e;
            }
            let s = gi / sum;
            or.iter_mut().for_each(|o| *o *= s);
            if let Some(o) = or.get_mut(ti as usize) {
                *o -= gi;
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Per-row cross-entropy `logsumexp(logits) - logits[target]`: `logits` `[.., V]` f32 on the
/// CPU, `targets` u32 with the leading shape -> `[..]`. Differentiable in `logits`.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    logits
        .contiguous()?
        .apply_op2(&targets.contiguous()?, CrossEntropy)
}
