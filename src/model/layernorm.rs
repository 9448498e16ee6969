//! TransformerLens "LN" LayerNorm: biased variance, `eps = 1e-5`, hooks `hook_scale` (the
//! standard deviation) and `hook_normalized` (taken before the affine `w`, `b`).
use crate::error::Result;
use crate::hooks::{hook_active, run_hook, HookPoint, Hooks};
use candle_core::{Tensor, D};
use candle_nn::VarBuilder;

/// TransformerLens's LayerNorm epsilon.
pub const LN_EPS: f64 = 1e-5;

/// LayerNorm with learned weight `w` and bias `b`, both `[d_model]`.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    w: Tensor,
    b: Tensor,
}

impl LayerNorm {
    /// Parameters `w`, `b` under `vb` (e.g. `blocks.0.ln1`).
    pub fn new(d_model: usize, vb: VarBuilder) -> Result<LayerNorm> {
        Ok(LayerNorm {
            w: vb.get(d_model, "w")?,
            b: vb.get(d_model, "b")?,
        })
    }

    /// `x`: `[batch, pos, d_model]` -> `[batch, pos, d_model]`.
    /// `c = x - mean(x)`, `scale = sqrt(mean(c^2) + eps)` (hook `scale_hp`, `[batch, pos, 1]`),
    /// `normalized = c / scale` (hook `norm_hp`), output `normalized * w + b`. f32 on the
    /// CPU with neither hook active: the fused node `fused::layer_norm`.
    pub fn forward(
        &self,
        x: &Tensor,
        hooks: &mut Option<&mut Hooks>,
        scale_hp: HookPoint,
        norm_hp: HookPoint,
    ) -> Result<Tensor> {
        if super::fused::usable(x)
            && self.w.dtype() == x.dtype()
            && !hook_active(hooks, scale_hp)
            && !hook_active(hooks, norm_hp)
        {
            return Ok(super::fused::layer_norm(x, &self.w, &self.b, LN_EPS)?);
        }
        self.generic(x, hooks, scale_hp, norm_hp)
    }

    /// The candle-op form of `forward` (every dtype and device; the hooks' path).
    pub fn generic(
        &self,
        x: &Tensor,
        hooks: &mut Option<&mut Hooks>,
        scale_hp: HookPoint,
        norm_hp: HookPoint,
    ) -> Result<Tensor> {
        let centred = x.broadcast_sub(&x.mean_keepdim(D::Minus1)?)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let scale = run_hook(hooks, scale_hp, (var + LN_EPS)?.sqrt()?)?;
        let normalized = run_hook(hooks, norm_hp, centred.broadcast_div(&scale)?)?;
        Ok(normalized.broadcast_mul(&self.w)?.broadcast_add(&self.b)?)
    }
}
