//! Per-row cross-entropy `logsumexp(x) - x[t]` with its backward
//! `dx = (softmax(x) - onehot(t)) * dloss`.
use super::rows::{extend_exp, f32_slice, max_of, sum_of, u32_slice};
use candle_core::{bail, CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor};

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
        let mut exps = Vec::with_capacity(v);
        for (xr, &ti) in x.chunks_exact(v).zip(t) {
            let Some(&xt) = xr.get(ti as usize) else {
                bail!("target {ti} is out of range for {v} logits");
            };
            let max = max_of(xr);
            exps.clear();
            extend_exp(&mut exps, xr, max, 1.0);
            out.push(sum_of(&exps).ln() + max - xt);
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
        let mut out = Vec::with_capacity(x.len());
        for ((xr, &ti), &gi) in x.chunks_exact(v).zip(t).zip(g) {
            let start = out.len();
            extend_exp(&mut out, xr, max_of(xr), 1.0);
            let or = &mut out[start..];
            let s = gi / sum_of(or);
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
