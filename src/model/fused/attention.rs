//! Causal attention `z = softmax(scale * q k^T + mask) v` as one autograd node, on separate
//! or packed q/k/v.
use super::rows::f32_slice;
use super::softmax::{causal_softmax, CausalScale, SoftmaxBwd};
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};

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
