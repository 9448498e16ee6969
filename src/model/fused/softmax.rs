//! The causal softmax over attention scores `[.., q, k]` with its backward, and the
//! capture-only causal scaling of the scores.
use super::rows::{causal_rows, dot_of, extend_exp, f32_slice, max_of, qk, sum_of, visible};
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

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
        // Each element is written once (no zero-filled allocation): visible keys, then zeros.
        let out = causal_rows(x, q, k, 0.0, |xs, out| {
            let start = out.len();
            extend_exp(out, xs, max_of(xs), self.scale);
            let os = &mut out[start..];
            let inv = 1.0 / sum_of(os);
            os.iter_mut().for_each(|o| *o *= inv);
        });
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

/// The backward of the causal softmax: `ds = scale * p * (dp - sum(dp * p))` per row.
pub(super) struct SoftmaxBwd {
    pub(super) scale: f32,
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
        let mut out = Vec::with_capacity(p.len());
        for (r, (pr, gr)) in p.chunks_exact(k).zip(g.chunks_exact(k)).enumerate() {
            let n = visible(r % q, q, k);
            let (ps, gs) = (&pr[..n], &gr[..n]);
            let dot = dot_of(ps, gs);
            let start = out.len();
            out.extend(
                ps.iter()
                    .zip(gs)
                    .map(|(&pv, &gv)| self.scale * pv * (gv - dot)),
            );
            out.resize(start + k, 0.0);
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

/// `scale * s` below and on the diagonal, `-inf` above it, for scores `[.., q, k]` (one
/// pass; no backward: used for capture only).
pub(super) struct CausalScale {
    pub(super) scale: f32,
}

impl CustomOp1 for CausalScale {
    fn name(&self) -> &'static str {
        "indu-causal-scale"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, self.name())?;
        let (q, k) = qk(l, self.name())?;
        let out = causal_rows(x, q, k, f32::NEG_INFINITY, |xs, out| {
            out.extend(xs.iter().map(|&v| v * self.scale));
        });
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }
}
