//! `Transformer`: the model built from TransformerLens-named parameters (`VarBuilder::pp`
//! paths) and its forward pass with optional hooks.
//!
//! Forward (per layer `l`, residual stream `x: [batch, pos, d_model]`):
//! `x0 = W_E[tokens] (+ W_pos[0:pos] unless shortformer)`; `a = LN1(x)` or `x`;
//! attention on `a` (shortformer: `a + W_pos` feeds Q and K); `x += attn_out`; with an MLP,
//! `x += mlp(LN2(x))`; `logits = LN_final(x) @ W_U + b_U`.
use super::attention::Attention;
use super::config::{ModelConfig, Normalization, Positional, Residual};
use super::embed::{Embed, PosEmbed, Unembed};
use super::layernorm::LayerNorm;
use super::mlp::Mlp;
use crate::error::{Error, Result};
use crate::hooks::{run_hook, HookPoint, Hooks};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use std::sync::Mutex;

/// One residual block: `ln1` (LN only), attention, and for non-attention-only models `ln2`
/// (LN only) and the MLP.
#[derive(Debug, Clone)]
struct Block {
    ln1: Option<LayerNorm>,
    attn: Attention,
    ln2: Option<LayerNorm>,
    mlp: Option<Mlp>,
}

/// `((batch, pos), causal mask, position ids)`.
type CachedConsts = ((usize, usize), Tensor, Tensor);

/// The model. Parameters live in the `VarMap` behind the `VarBuilder` it was built from.
#[derive(Debug)]
pub struct Transformer {
    cfg: ModelConfig,
    embed: Embed,
    pos_embed: PosEmbed,
    blocks: Vec<Block>,
    ln_final: Option<LayerNorm>,
    unembed: Unembed,
    dtype: DType,
    device: Device,
    /// Causal masks `[pos, pos]` and position ids `[batch * pos]` already built, by
    /// `(batch, pos)`.
    consts: Mutex<Vec<CachedConsts>>,
}

impl Transformer {
    /// Build the model from `vb` (parameters `embed.W_E`, `blocks.{l}.attn.W_Q`, ... as in
    /// TransformerLens's state dict). With `VarBuilder::from_varmap` missing parameters are
    /// created; use `init::init_varmap` or `weights::load_weights` for their values.
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Transformer> {
        let (dm, n_ctx) = (cfg.d_model, cfg.n_ctx());
        if n_ctx == 0 || cfg.d_vocab() == 0 || cfg.d_vocab_out() == 0 {
            return Err(Error::Config(format!(
                "model.n_ctx = {n_ctx}, d_vocab = {}, d_vocab_out = {}: all must be at least 1",
                cfg.d_vocab(),
                cfg.d_vocab_out()
            )));
        }
        let ln = cfg.normalization == Normalization::LN;
        let ln_at = |path: String| -> Result<Option<LayerNorm>> {
            if ln {
                Ok(Some(LayerNorm::new(dm, vb.pp(path))?))
            } else {
                Ok(None)
            }
        };
        let mut blocks = Vec::with_capacity(cfg.n_layers);
        for l in 0..cfg.n_layers {
            let bvb = vb.pp(format!("blocks.{l}"));
            let attn = Attention::new(cfg.n_heads, dm, cfg.d_head, bvb.pp("attn"))?;
            let (ln2, mlp) = if cfg.attn_only {
                (None, None)
            } else {
                let mlp = Mlp::new(dm, cfg.d_mlp, cfg.act_fn, bvb.pp("mlp"))?;
                (ln_at(format!("blocks.{l}.ln2"))?, Some(mlp))
            };
            blocks.push(Block {
                ln1: ln_at(format!("blocks.{l}.ln1"))?,
                attn,
                ln2,
                mlp,
            });
        }
        Ok(Transformer {
            cfg: cfg.clone(),
            embed: Embed::new(cfg.d_vocab(), dm, vb.pp("embed"))?,
            pos_embed: PosEmbed::new(n_ctx, dm, vb.pp("pos_embed"))?,
            blocks,
            ln_final: ln_at("ln_final".into())?,
            unembed: Unembed::new(dm, cfg.d_vocab_out(), cfg.unembed_bias, vb.pp("unembed"))?,
            dtype: vb.dtype(),
            device: vb.device().clone(),
            consts: Mutex::new(Vec::new()),
        })
    }

    /// The model's configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The additive causal mask `[pos, pos]` (0 where `key_pos <= query_pos`, `-inf` above the
    /// diagonal) and the position ids `[batch * pos]` u32 (`0..pos` per row). Built once per
    /// `(batch, pos)`.
    fn constants(&self, batch: usize, pos: usize) -> Result<(Tensor, Tensor)> {
        // A poisoned lock only means another thread panicked mid-push; the cache stays valid.
        let mut cache = self.consts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, m, ids)) = cache.iter().find(|(k, _, _)| *k == (batch, pos)) {
            return Ok((m.clone(), ids.clone()));
        }
        let values: Vec<f32> = (0..pos * pos)
            .map(|i| {
                if i % pos > i / pos {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let m = Tensor::from_vec(values, (pos, pos), &self.device)?.to_dtype(self.dtype)?;
        let ids: Vec<u32> = (0..batch * pos).map(|i| (i % pos) as u32).collect();
        let ids = Tensor::from_vec(ids, batch * pos, &self.device)?;
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push(((batch, pos), m.clone(), ids.clone()));
        Ok((m, ids))
    }

    /// `tokens`: `[batch, pos]` u32 with `1 <= pos <= n_ctx` -> logits
    /// `[batch, pos, d_vocab_out]`. With `hooks`, activations are captured and edited at the
    /// hook points; with `None` the pass does no hook work at all.
    pub fn forward(&self, tokens: &Tensor, hooks: Option<&mut Hooks>) -> Result<Tensor> {
        self.forward_positions(tokens, hooks, false)
    }

    /// The logits of the last position only: `tokens` `[batch, pos]` -> `[batch, 1,
    /// d_vocab_out]`, equal to `forward(tokens)[:, -1:]`. Every layer runs on all positions
    /// up to the last block's attention (whose keys and values need them); from there on
    /// (`resid_mid`, the MLP, `resid_post`, the unembedding) only the last position is
    /// computed, and hooks there see `pos` = 1. For tasks whose counted predictions are all
    /// at the last position (`Task::trains_last_position_only`).
    pub fn forward_last(&self, tokens: &Tensor, hooks: Option<&mut Hooks>) -> Result<Tensor> {
        self.forward_positions(tokens, hooks, true)
    }

    /// `forward` (`last_only` false) or `forward_last`.
    fn forward_positions(
        &self,
        tokens: &Tensor,
        hooks: Option<&mut Hooks>,
        last_only: bool,
    ) -> Result<Tensor> {
        let mut hooks = hooks;
        let hooks = &mut hooks;
        let (batch, pos) = tokens.dims2()?;
        let n_ctx = self.cfg.n_ctx();
        if pos == 0 || pos > n_ctx {
            return Err(Error::Invalid(format!(
                "input has {pos} positions; the model takes 1..={n_ctx} (n_ctx)"
            )));
        }
        let embed = run_hook(hooks, HookPoint::Embed, self.embed.forward(tokens)?)?;
        let (mask, pos_ids) = self.constants(batch, pos)?;
        let pos_embed = self.pos_embed.forward(&pos_ids, batch, pos)?;
        let pos_embed = run_hook(hooks, HookPoint::PosEmbed, pos_embed)?;
        let shortformer = self.cfg.positional == Positional::Shortformer;
        let mut x = if shortformer {
            embed
        } else {
            (embed + &pos_embed)?
        };
        let qk_pos = shortformer.then_some(&pos_embed);
        for (l, block) in self.blocks.iter().enumerate() {
            let resid_pre = run_hook(hooks, HookPoint::ResidPre(l), x)?;
            let a = match &block.ln1 {
                Some(ln) => ln.forward(
                    &resid_pre,
                    hooks,
                    HookPoint::Ln1Scale(l),
                    HookPoint::Ln1Normalized(l),
                )?,
                None => resid_pre.clone(),
            };
            let attn_out = block.attn.forward(l, &a, qk_pos, &mask, hooks)?;
            let attn_out = run_hook(hooks, HookPoint::AttnOut(l), attn_out)?;
            x = match self.cfg.residual {
                Residual::Standard => (resid_pre + attn_out)?,
                Residual::Notebook => (resid_pre.affine(2.0, 0.0)? + attn_out)?,
            };
            if last_only && l + 1 == self.blocks.len() {
                x = x.narrow(1, pos - 1, 1)?.contiguous()?;
            }
            if let Some(mlp) = &block.mlp {
                let resid_mid = run_hook(hooks, HookPoint::ResidMid(l), x)?;
                let b = match &block.ln2 {
                    Some(ln) => ln.forward(
                        &resid_mid,
                        hooks,
                        HookPoint::Ln2Scale(l),
                        HookPoint::Ln2Normalized(l),
                    )?,
                    None => resid_mid.clone(),
                };
                let mlp_out = mlp.forward(l, &b, hooks)?;
                let mlp_out = run_hook(hooks, HookPoint::MlpOut(l), mlp_out)?;
                x = (resid_mid + mlp_out)?;
            }
            x = run_hook(hooks, HookPoint::ResidPost(l), x)?;
        }
        if last_only && x.dim(1)? != 1 {
            x = x.narrow(1, pos - 1, 1)?.contiguous()?; // no blocks
        }
        if let Some(ln) = &self.ln_final {
            x = ln.forward(
                &x,
                hooks,
                HookPoint::LnFinalScale,
                HookPoint::LnFinalNormalized,
            )?;
        }
        self.unembed.forward(&x)
    }
}
