//! The MLP of a non-attention-only block: `W_in [d_model, d_mlp]`, `b_in`, activation (ReLU or
//! exact-erf GELU, TransformerLens's "relu" / "gelu"), `W_out [d_mlp, d_model]`, `b_out`, with
//! hooks `mlp.hook_pre` and `mlp.hook_post`.
use super::config::ActFn;
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
        let (batch, pos, d_model) = x.dims3()?;
        let d_mlp = self.b_in.dim(0)?;
        let pre =
            super::linear::apply(&x.reshape((batch * pos, d_model))?, &self.w_in, &self.b_in)?
                .reshape((batch, pos, d_mlp))?;
        let pre = run_hook(hooks, HookPoint::MlpPre(layer), pre)?;
        let post = match self.act {
            ActFn::Relu => pre.relu()?,
            ActFn::Gelu => pre.gelu_erf()?,
        };
        let post = run_hook(hooks, HookPoint::MlpPost(layer), post)?;
        let out = super::linear::apply(
            &post.reshape((batch * pos, d_mlp))?,
            &self.w_out,
            &self.b_out,
        )?
        .reshape((batch, pos, d_model))?;
        Ok(out)
    }
}
