//! Per-row cross-entropy `logsumexp(x) - x[t]` with its backward
//! `dx = (softmax(x) - onehot(t)) * dloss`.
//!
//! Both are exact for confident predictions, as seed 003's float64 `log_softmax` is: with
//! `e_j = exp(x_j - max)` (f32, in (0, 1]) summed in f64, the loss is
//! `(max - x_t) + ln_1p(sum_{j != argmax} e_j)` and the target's gradient is
//! `-(sum_{j != t} e_j) / sum_j e_j`, so a loss of 1e-9 stays 1e-9 (f32 `lse - x_t` rounds it
//! to 0 below the logit's ulp, ~2e-6 at 30, and `p_t - 1` loses its gradient the same way:
//! the loss spikes of full-batch grokking).
use super::rows::{extend_exp, f32_slice, max_of, u32_slice};
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
            let (max, arg) = max_and_arg(xr);
            exps.clear();
            extend_exp(&mut exps, xr, max, 1.0);
            let others = sum_f64(&exps) - f64::from(exps[arg]);
            out.push((f64::from(max - xt) + others.ln_1p()) as f32);
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
            let Some(&et) = or.get(ti as usize) else {
                bail!("target {ti} is out of range for {v} logits");
            };
            let total = sum_f64(or);
            let others = total - f64::from(et);
            let s = gi / total as f32;
            or.iter_mut().for_each(|o| *o *= s);
            // p_t - 1 = -(sum of the others) / total, without cancellation.
            or[ti as usize] = (-f64::from(gi) * others / total) as f32;
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// The largest value of a non-empty row and its first index.
fn max_and_arg(xr: &[f32]) -> (f32, usize) {
    let max = max_of(xr);
    let arg = xr.iter().position(|&x| x == max).unwrap_or(0);
    (max, arg)
}

/// The sum of a row in f64.
fn sum_f64(xs: &[f32]) -> f64 {
    xs.iter().map(|&x| f64::from(x)).sum()
}

/// Per-row cross-entropy `logsumexp(logits) - logits[target]`: `logits` `[.., V]` f32 on the
/// CPU, `targets` u32 with the leading shape -> `[..]`. Differentiable in `logits`.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    logits
        .contiguous()?
        .apply_op2(&targets.contiguous()?, CrossEntropy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    /// A confident row: logit 30 on the target, 0 on the 113 others. The loss is
    /// `ln(1 + 113 e^-30)` ~ 1.06e-11 (f32 `lse - x_t` gives 0), and its gradient on the
    /// target is minus that, on each other logit `e^-30 / (1 + 113 e^-30)`. Within 0.5%:
    /// `extend_exp` is the vectorised exp, ~1e-3 relative at `e^-30`.
    #[test]
    fn confident_rows_keep_their_small_loss_and_gradient() {
        let v = 114;
        let mut row = vec![0f32; v];
        row[5] = 30.0;
        let x = Var::from_vec(row, (1, v), &Device::Cpu).unwrap();
        let t = Tensor::new(&[5u32], &Device::Cpu).unwrap();
        let loss = cross_entropy(x.as_tensor(), &t).unwrap();
        let expect = (113.0 * (-30f64).exp()).ln_1p();
        let got = f64::from(loss.to_vec1::<f32>().unwrap()[0]);
        assert!((got - expect).abs() < 5e-3 * expect, "{got} vs {expect}");
        let grads = loss.sum_all().unwrap().backward().unwrap();
        let g = grads.get(x.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        let other = (-30f64).exp() / (1.0 + 113.0 * (-30f64).exp());
        assert!((f64::from(g[0][5]) + 113.0 * other).abs() < 5e-3 * 113.0 * other);
        assert!((f64::from(g[0][0]) - other).abs() < 5e-3 * other);
    }

    /// An ordinary row against the textbook formula, target not the largest logit.
    #[test]
    fn matches_log_softmax_on_a_plain_row() {
        let row = [0.5f32, -1.0, 2.0, 0.25];
        let x = Var::from_vec(row.to_vec(), (1, 4), &Device::Cpu).unwrap();
        let t = Tensor::new(&[1u32], &Device::Cpu).unwrap();
        let loss = cross_entropy(x.as_tensor(), &t).unwrap();
        let lse = row.iter().map(|&r| f64::from(r).exp()).sum::<f64>().ln();
        let got = f64::from(loss.to_vec1::<f32>().unwrap()[0]);
        assert!((got - (lse + 1.0)).abs() < 1e-6);
        let grads = loss.sum_all().unwrap().backward().unwrap();
        let g = grads.get(x.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        for (j, &r) in row.iter().enumerate() {
            let p = (f64::from(r) - lse).exp() - if j == 1 { 1.0 } else { 0.0 };
            assert!(
                (f64::from(g[0][j]) - p).abs() < 1e-6,
                "{j}: {} vs {p}",
                g[0][j]
            );
        }
    }
}
