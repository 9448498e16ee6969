//! Causal multi-head attention with TransformerLens parameters (`W_Q/W_K/W_V`
//! `[n_heads, d_model, d_head]`, `W_O [n_heads, d_head, d_model]`, biases) and hooks
//! (`hook_q/k/v`, `hook_attn_scores`, `hook_pattern`, `hook_z`, `hook_result`).
//!
//! The hot path fuses the Q, K, V projections into one matmul and the head mixing into
//! another, and (f32 on the CPU, no score or pattern hook) runs scores, softmax and value
//! mixing as one autograd node; the per-head `hook_result` is only materialised when a hook
//! asks for it.
use crate::error::Result;
use crate::hooks::{hook_active, hook_edits, run_hook, HookPoint, Hooks};
use candle_core::{Tensor, D};
use candle_nn::VarBuilder;

/// One layer's attention parameters.
#[derive(Debug, Clone)]
pub struct Attention {
    w_q: Tensor,
    w_k: Tensor,
    w_v: Tensor,
    w_o: Tensor,
    b_q: Tensor,
    b_k: Tensor,
    b_v: Tensor,
    b_o: Tensor,
    n_heads: usize,
    d_head: usize,
    d_model: usize,
}

/// Softmax over the last dimension built from differentiable ops (unlike
/// `candle_nn::ops::softmax_last_dim`, which has no backward pass). The max is detached: it
/// only shifts the logits and cancels out of the gradient. `-inf` inputs give exactly 0.
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    let sum = e.sum_keepdim(D::Minus1)?;
    Ok(e.broadcast_div(&sum)?)
}

impl Attention {
    /// Parameters under `vb` (e.g. `blocks.0.attn`).
    pub fn new(n_heads: usize, d_model: usize, d_head: usize, vb: VarBuilder) -> Result<Self> {
        let w = |name: &str| vb.get((n_heads, d_model, d_head), name);
        let b = |name: &str| vb.get((n_heads, d_head), name);
        Ok(Attention {
            w_q: w("W_Q")?,
            w_k: w("W_K")?,
            w_v: w("W_V")?,
            w_o: vb.get((n_heads, d_head, d_model), "W_O")?,
            b_q: b("b_Q")?,
            b_k: b("b_K")?,
            b_v: b("b_V")?,
            b_o: vb.get(d_model, "b_O")?,
            n_heads,
            d_head,
            d_model,
        })
    }

    /// Project `x` `[batch, pos, d_model]` with the stacked weights `ws` (each
    /// `[n_heads, d_model, d_head]`) and biases `bs` into `[n, batch, head_index, pos, d_head]`
    /// (contiguous), `n = ws.len()`, with one matmul.
    fn project(&self, x: &Tensor, ws: &[&Tensor], bs: &[&Tensor]) -> Result<Tensor> {
        let (batch, pos, d_model) = x.dims3()?;
        let (h, dh, n) = (self.n_heads, self.d_head, ws.len());
        // [d_model, n * n_heads, d_head] -> [d_model, n * n_heads * d_head]
        let per_head = ws
            .iter()
            .map(|w| w.transpose(0, 1))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let w = Tensor::cat(&per_head, 1)?.reshape((d_model, n * h * dh))?;
        let b = Tensor::cat(bs, 0)?.reshape(n * h * dh)?;
        let out = super::linear::apply(x, &w, &b)?
            .reshape((batch, pos, n, h, dh))?
            .permute((2, 0, 3, 1, 4))?
            .contiguous()?;
        Ok(out)
    }

    /// `x`: normalized residual `[batch, pos, d_model]` (the input of V, and of Q and K with
    /// standard positions); `qk_pos`: shortformer positions `[1 or batch, pos, d_model]` added
    /// to the Q and K inputs only; `mask`: additive causal mask `[pos, pos]` (0 on and below the
    /// diagonal, `-inf` above). Returns `hook_attn_out`'s input `[batch, pos, d_model]`
    /// (`sum_h result + b_O`).
    pub fn forward(
        &self,
        layer: usize,
        x: &Tensor,
        qk_pos: Option<&Tensor>,
        mask: &Tensor,
        hooks: &mut Option<&mut Hooks>,
    ) -> Result<Tensor> {
        let (batch, pos, _d_model) = x.dims3()?;
        let (h, dh) = (self.n_heads, self.d_head);
        // q, k, v: [batch, head_index, pos, d_head], contiguous.
        // The packed projection [3, batch, head_index, pos, d_head] (standard positions).
        let mut packed = None;
        let (mut q, mut k, mut v) = match qk_pos {
            None => {
                let qkv = self.project(
                    x,
                    &[&self.w_q, &self.w_k, &self.w_v],
                    &[&self.b_q, &self.b_k, &self.b_v],
                )?;
                let views = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
                packed = Some(qkv);
                views
            }
            Some(p) => {
                let qk_in = x.broadcast_add(p)?;
                let qk = self.project(&qk_in, &[&self.w_q, &self.w_k], &[&self.b_q, &self.b_k])?;
                let v = self.project(x, &[&self.w_v], &[&self.b_v])?;
                (qk.get(0)?, qk.get(1)?, v.get(0)?)
            }
        };
        // TransformerLens layout [batch, pos, head_index, d_head] for the q/k/v hooks.
        for (t, hp) in [
            (&mut q, HookPoint::Q(layer)),
            (&mut k, HookPoint::K(layer)),
            (&mut v, HookPoint::V(layer)),
        ] {
            if hook_active(hooks, hp) {
                packed = None; // q, k, v are used one by one from here on
                let hooked = run_hook(hooks, hp, t.transpose(1, 2)?)?;
                *t = hooked.transpose(1, 2)?.contiguous()?;
            }
        }
        let scale = 1.0 / (dh as f64).sqrt();
        let (scores_hp, pattern_hp) = (HookPoint::AttnScores(layer), HookPoint::Pattern(layer));
        let z = if super::fused::usable(&q)
            && !hook_edits(hooks, scores_hp)
            && !hook_edits(hooks, pattern_hp)
        {
            // Scores, softmax and the mixing of values as one node with its own backward;
            // scores and pattern are only captured (no edit), so they come out detached.
            let with_scores = hook_active(hooks, scores_hp);
            let parts = match &packed {
                Some(qkv) => super::fused::causal_attention_packed(qkv, scale, with_scores)?,
                None => super::fused::causal_attention(&q, &k, &v, scale, with_scores)?,
            };
            if let Some(scores) = parts.scores {
                run_hook(hooks, scores_hp, scores)?;
            }
            run_hook(hooks, pattern_hp, parts.pattern)?;
            parts.z
        } else {
            self.pattern_then_z(layer, &q, &k, &v, mask, hooks)?
        };
        // z: [batch, head_index, pos, d_head] -> hook layout [batch, pos, head_index, d_head]
        let z = run_hook(hooks, HookPoint::Z(layer), z.transpose(1, 2)?)?;
        let result_hp = HookPoint::AttnResult(layer);
        if hook_active(hooks, result_hp) && !hook_edits(hooks, result_hp) {
            // Captured only: the output takes the fused path below; the per-head result is
            // computed for the capture, detached.
            let z = z.detach();
            run_hook(hooks, result_hp, self.per_head_result(&z)?)?;
        }
        let out = if hook_edits(hooks, result_hp) {
            let result = run_hook(hooks, result_hp, self.per_head_result(&z)?)?;
            result.sum(2)?.broadcast_add(&self.b_o)?
        } else {
            let z = z.contiguous()?.reshape((batch, pos, h * dh))?;
            let w_o = self.w_o.reshape((h * dh, self.d_model))?;
            super::linear::apply(&z, &w_o, &self.b_o)? // [batch, pos, d_model]
        };
        Ok(out)
    }

    /// `result[b, p, h, :] = z[b, p, h, :] @ W_O[h]`: `z` `[batch, pos, head_index, d_head]`
    /// -> `[batch, pos, head_index, d_model]` (TransformerLens's `hook_result`).
    fn per_head_result(&self, z: &Tensor) -> Result<Tensor> {
        Ok(z.transpose(1, 2)?
            .contiguous()?
            .broadcast_matmul(&self.w_o)?
            .transpose(1, 2)?)
    }

    /// The hookable path: scores `[batch, head_index, query_pos, key_pos]` (`hook_attn_scores`),
    /// pattern (`hook_pattern`), then `z = pattern v` `[batch, head_index, pos, d_head]`.
    fn pattern_then_z(
        &self,
        layer: usize,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: &Tensor,
        hooks: &mut Option<&mut Hooks>,
    ) -> Result<Tensor> {
        let scale = 1.0 / (self.d_head as f64).sqrt();
        let raw = q.matmul(&k.t()?)?;
        let fused = super::fused::usable(&raw);
        let pattern = if fused && !hook_active(hooks, HookPoint::AttnScores(layer)) {
            // One pass for scale + mask + softmax, with its own backward.
            super::fused::causal_softmax(&raw, scale)?
        } else {
            let scores = raw.affine(scale, 0.0)?.broadcast_add(mask)?;
            let hooked = run_hook(hooks, HookPoint::AttnScores(layer), scores.clone())?;
            if fused && hooked.id() == scores.id() {
                // Captured but not edited: the fused softmax still applies.
                super::fused::causal_softmax(&raw, scale)?
            } else {
                softmax_last(&hooked)?
            }
        };
        let pattern = run_hook(hooks, HookPoint::Pattern(layer), pattern)?;
        Ok(pattern.contiguous()?.matmul(v)?)
    }
}
