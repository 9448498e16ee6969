//! The MLP of a non-attention-only block: `W_in [d_model, d_mlp]`, `b_in`, activation (ReLU,
//! exact-erf GELU or its tanh approximation: TransformerLens's "relu" / "gelu" / "gelu_new"),
//! `W_out [d_mlp, d_model]`, `b_out`, with hooks `mlp.hook_pre` and `mlp.hook_post`. The
//! GELUs take the fused node `fused::gelu` for f32 on the CPU.
use super::config::ActFn;
use super::fused::Gelu;
use crate::error::Result;
use crate::hooks::{run_hook, HookPoint, Hooks};
use candle_core::Tensor;
use candle_nn::VarBuilder;

/// One layer's MLP parameters.
#[derive(Debug, Clone)]
pub struct Mlp {
    w_in: Tensor,
    b_in: Tensor,
    w_out: Tensor,
    b_out: Tensor,
    act: ActFn,
}

impl Mlp {
    /// Parameters under `vb` (e.g. `blocks.0.mlp`).
    pub fn new(d_model: usize, d_mlp: usize, act: ActFn, vb: VarBuilder) -> Result<Mlp> {
        Ok(Mlp {
            w_in: vb.get((d_model, d_mlp), "W_in")?,
            b_in: vb.get(d_mlp, "b_in")?,
            w_out: vb.get((d_mlp, d_model), "W_out")?,
            b_out: vb.get(d_model, "b_out")?,
            act,
        })
    }

    /// `x`: `[batch, pos, d_model]` -> `act(x @ W_in + b_in) @ W_out + b_out`:
    /// `[batch, pos, d_model]`.
    pub fn forward(
        &self,
        layer: usize,
        x: &Tensor,
        hooks: &mut Option<&mut Hooks>,
    ) -> Result<Tensor> {
        let pre = super::linear::apply(x, &self.w_in, &self.b_in)?; // [batch, pos, d_mlp]
        let pre = run_hook(hooks, HookPoint::MlpPre(layer), pre)?;
        let fused = super::fused::usable(&pre);
        let post = match self.act {
            ActFn::Relu => pre.relu()?,
            ActFn::Gelu if fused => super::fused::gelu(&pre, Gelu::Erf)?,
            ActFn::Gelu => pre.gelu_erf()?,
            ActFn::GeluNew if fused => super::fused::gelu(&pre, Gelu::Tanh)?,
            ActFn::GeluNew => pre.gelu()?, // candle's `gelu` is the tanh approximation
        };
        let post = run_hook(hooks, HookPoint::MlpPost(layer), post)?;
        super::linear::apply(&post, &self.w_out, &self.b_out) // [batch, pos, d_model]
    }
}
