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

pub(super) fn f32_slice<'a>(
    s: &'a CpuStorage,
    l: &Layout,
    what: &str,
) -> candle_core::Result<&'a [f32]> {
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

/// `exp(x)` for `x <= 0` (softmax and log-sum-exp after subtracting the max), written so
/// that loops over it vectorise: `2^n * p(r)` with `n = round(x / ln 2)`, `|r| <= ln 2 / 2`
/// and a degree-6 Taylor polynomial (relative error below 3e-7). Inputs below -87 give
/// `exp(-87)` (about 1.6e-38, zero next to the row's maximum term of 1); NaN stays NaN.
#[inline(always)]
fn exp_nonpos(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let x = if x < -87.0 { -87.0 } else { x };
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r / 720.0)))));
    // n is in -126..=0 here, so 2^n is a normal float built from its exponent bits.
    let two_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * two_n
}

/// Independent accumulators in the row reductions below, so that they vectorise.
const LANES: usize = 8;

/// Largest element of `xs` (NaN elements are skipped; `-inf` for an empty slice).
fn max_of(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = if x > *a { x } else { *a };
        }
    }
    rest.iter()
        .chain(&acc)
        .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
}

/// Sum of `xs` in `LANES` interleaved partial sums (a fixed order: deterministic).
fn sum_of(xs: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// `sum(a * b)` in `LANES` interleaved partial sums.
fn dot_of(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let rest: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (xa, xb) in ca.zip(cb) {
        for ((s, &x), &y) in acc.iter_mut().zip(xa).zip(xb) {
            *s += x * y;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// Append `exp((x - max) * scale)` for each `x` of `xs` to `out` (`scale > 0`, `max` the
/// row maximum, so every argument is <= 0).
fn extend_exp(out: &mut Vec<f32>, xs: &[f32], max: f32, scale: f32) {
    out.extend(xs.iter().map(|&x| exp_nonpos((x - max) * scale)));
}

/// For scores `x` `[.., q, k]`: `row` appends one output per visible key of each row (given
/// those keys), then the masked keys get `fill`. Each element is written once (no
/// zero-filled allocation).
fn causal_rows(
    x: &[f32],
    q: usize,
    k: usize,
    fill: f32,
    mut row: impl FnMut(&[f32], &mut Vec<f32>),
) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for (r, xr) in x.chunks_exact(k).enumerate() {
        let n = visible(r % q, q, k);
        row(&xr[..n], &mut out);
        out.resize(out.len() + (k - n), fill);
    }
    out
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

/// Causal attention `z = softmax(scale * q k^T + mask) v` as one autograd node: the forward
/// runs candle ops on detached inputs and keeps the pattern; the backward computes
/// `dv = p^T dz`, `ds = softmax_bwd(p, dz v^T)`, `dq = ds k`, `dk = ds^T q` directly. Without
/// it candle's autograd would zero-fill and accumulate a `[batch, head, q, k]` gradient for
/// the scores and for the pattern of every layer.
struct CausalAttention {
    scale: f32,
    /// `[batch, head_index, query_pos, key_pos]`, detached.
    pattern: Tensor,
    /// `[batch, head_index, query_pos, d_head]`, detached.
    z: Tensor,
}

impl CustomOp3 for CausalAttention {
    fn name(&self) -> &'static str {
        "indu-causal-attention"
    }

    fn cpu_fwd(
        &self,
        _s1: &CpuStorage,
        _l1: &Layout,
        _s2: &CpuStorage,
        _l2: &Layout,
        _s3: &CpuStorage,
        _l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (storage, layout) = self.z.storage_and_layout();
        match &*storage {
            candle_core::Storage::Cpu(s) => {
                let z = f32_slice(s, layout, self.name())?;
                Ok((CpuStorage::F32(z.to_vec()), layout.shape().clone()))
            }
            _ => bail!("{}: expected a CPU tensor", self.name()),
        }
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dq, dk, dv) = attention_grads(&self.pattern, q, k, v, grad, self.scale)?;
        Ok((Some(dq), Some(dk), Some(dv)))
    }
}

/// The gradients of `z = p v` with `p = causal_softmax(scale * q k^T)` given `dz`:
/// `dv = p^T dz`, `ds = softmax_bwd(p, dz v^T)`, `dq = ds k`, `dk = ds^T q`.
fn attention_grads(
    p: &Tensor,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    dz: &Tensor,
    scale: f32,
) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let (q, k, v) = (q.detach(), k.detach(), v.detach());
    let dz = dz.detach().contiguous()?;
    let dv = p.t()?.matmul(&dz)?;
    let dp = dz.matmul(&v.t()?)?;
    let ds = p.apply_op2_no_bwd(&dp, &SoftmaxBwd { scale })?;
    let dq = ds.matmul(&k)?;
    let dk = ds.t()?.matmul(&q)?;
    Ok((dq, dk, dv))
}

/// [`CausalAttention`] on one packed `[3, batch, head_index, pos, d_head]` q/k/v tensor (the
/// projection's output), so that the backward returns one packed gradient instead of three
/// zero-padded slices that candle would add up.
struct CausalAttentionPacked(CausalAttention);

impl CustomOp1 for CausalAttentionPacked {
    fn name(&self) -> &'static str {
        "indu-causal-attention-packed"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        self.0.cpu_fwd(s, l, s, l, s, l)
    }

    fn bwd(
        &self,
        qkv: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
        let (dq, dk, dv) = attention_grads(&self.0.pattern, &q, &k, &v, grad, self.0.scale)?;
        Ok(Some(Tensor::stack(&[dq, dk, dv], 0)?))
    }
}

/// [`causal_attention`] on a packed, contiguous `[3, batch, head_index, pos, d_head]` q/k/v
/// tensor. Differentiable in `qkv`.
pub fn causal_attention_packed(
    qkv: &Tensor,
    scale: f64,
    with_scores: bool,
) -> candle_core::Result<AttentionParts> {
    let qkv = qkv.contiguous()?;
    let d = qkv.detach();
    let (pattern, z, scores) =
        attention_forward(&d.get(0)?, &d.get(1)?, &d.get(2)?, scale, with_scores)?;
    let op = CausalAttentionPacked(CausalAttention {
        scale: scale as f32,
        pattern: pattern.clone(),
        z,
    });
    Ok(AttentionParts {
        z: qkv.apply_op1(op)?,
        pattern,
        scores,
    })
}

/// Detached forward: pattern, `z = pattern v` and optionally the masked scores.
fn attention_forward(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    with_scores: bool,
) -> candle_core::Result<(Tensor, Tensor, Option<Tensor>)> {
    let raw = q.matmul(&k.t()?)?;
    let scores = if with_scores {
        Some(raw.apply_op1_no_bwd(&CausalScale {
            scale: scale as f32,
        })?)
    } else {
        None
    };
    let pattern = causal_softmax(&raw, scale)?;
    let z = pattern.matmul(v)?;
    Ok((pattern, z, scores))
}

/// What [`causal_attention`] returns besides `z`: the detached pattern and, when asked
/// for, the detached scaled and masked scores (TransformerLens's `hook_attn_scores`).
pub struct AttentionParts {
    /// `[batch, head_index, query_pos, d_head]`, differentiable in q, k, v.
    pub z: Tensor,
    /// `[batch, head_index, query_pos, key_pos]`, detached.
    pub pattern: Tensor,
    /// `scale * q k^T` with `-inf` above the diagonal, detached; `None` unless asked for.
    pub scores: Option<Tensor>,
}

/// `softmax(scale * q k^T + causal mask) v` for `q`, `k`, `v` `[batch, head_index, pos,
/// d_head]` (f32, CPU) -> `z` `[batch, head_index, pos, d_head]`, with the pattern and (if
/// `with_scores`) the scores. Differentiable in `q`, `k` and `v`.
pub fn causal_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    with_scores: bool,
) -> candle_core::Result<AttentionParts> {
    let (q, k, v) = (q.contiguous()?, k.contiguous()?, v.contiguous()?);
    let (pattern, z, scores) =
        attention_forward(&q.detach(), &k.detach(), &v.detach(), scale, with_scores)?;
    let op = CausalAttention {
        scale: scale as f32,
        pattern: pattern.clone(),
        z,
    };
    Ok(AttentionParts {
        z: q.apply_op3(&k, &v, op)?,
        pattern,
        scores,
    })
}

/// `scale * s` below and on the diagonal, `-inf` above it, for scores `[.., q, k]` (one
/// pass; no backward: used for capture only).
struct CausalScale {
    scale: f32,
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

#[cfg(test)]
mod tests {
    use super::exp_nonpos;

    #[test]
    fn exp_nonpos_matches_std_exp() {
        let mut worst = 0f64;
        for i in 0..=200_000 {
            let x = -(i as f32) * 87.0 / 200_000.0;
            let want = f64::from(x).exp();
            let rel = ((f64::from(exp_nonpos(x)) - want) / want).abs();
            worst = worst.max(rel);
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_nonpos(0.0), 1.0);
        assert!(exp_nonpos(f32::NEG_INFINITY) < 1e-37);
        assert!(exp_nonpos(-1e30) < 1e-37);
        assert!(exp_nonpos(f32::NAN).is_nan());
    }
}
