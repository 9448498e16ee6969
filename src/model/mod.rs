//! The transformer: TransformerLens parameter names and shapes (built through `VarBuilder::pp`
//! paths), its forward pass with optional hooks, and the cross-entropy loss helpers.
//!
//! Forward (per layer `l`, residual stream `x: [batch, pos, d_model]`):
//! `x0 = W_E[tokens] (+ W_pos[0:pos] unless shortformer)`; `a = LN1(x)` or `x`;
//! attention on `a` (shortformer: `a + W_pos` feeds Q and K); `x += attn_out`; with an MLP,
//! `x += mlp(LN2(x))`; `logits = LN_final(x) @ W_U + b_U`.
pub mod attention;
pub mod embed;
pub mod fused;
pub mod init;
pub mod layernorm;
pub mod linear;
pub mod mlp;
pub mod weights;

use crate::config::{ModelConfig, Normalization, Positional, Residual};
use crate::error::{Error, Result};
use crate::hooks::{run_hook, HookPoint, Hooks};
use attention::Attention;
use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;
use embed::{Embed, PosEmbed, Unembed};
use layernorm::LayerNorm;
use mlp::Mlp;
use std::sync::Mutex;

pub use attention::softmax_last;
pub use init::init_varmap;
pub use weights::{load_weights, save_weights, tl_config, weights_bytes};

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

/// Every parameter of a model with config `cfg`: TransformerLens state-dict name and shape,
/// sorted by name.
pub fn param_shapes(cfg: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let (dm, h, dh) = (cfg.d_model, cfg.n_heads, cfg.d_head);
    let ln = cfg.normalization == Normalization::LN;
    let mut out: Vec<(String, Vec<usize>)> = vec![
        ("embed.W_E".into(), vec![cfg.d_vocab(), dm]),
        ("pos_embed.W_pos".into(), vec![cfg.n_ctx(), dm]),
        ("unembed.W_U".into(), vec![dm, cfg.d_vocab_out()]),
        ("unembed.b_U".into(), vec![cfg.d_vocab_out()]),
    ];
    if ln {
        out.push(("ln_final.w".into(), vec![dm]));
        out.push(("ln_final.b".into(), vec![dm]));
    }
    for l in 0..cfg.n_layers {
        let p = |s: &str| format!("blocks.{l}.{s}");
        for w in ["W_Q", "W_K", "W_V"] {
            out.push((p(&format!("attn.{w}")), vec![h, dm, dh]));
        }
        out.push((p("attn.W_O"), vec![h, dh, dm]));
        for b in ["b_Q", "b_K", "b_V"] {
            out.push((p(&format!("attn.{b}")), vec![h, dh]));
        }
        out.push((p("attn.b_O"), vec![dm]));
        let mut lns = vec!["ln1"];
        if !cfg.attn_only {
            lns.push("ln2");
            out.push((p("mlp.W_in"), vec![dm, cfg.d_mlp]));
            out.push((p("mlp.b_in"), vec![cfg.d_mlp]));
            out.push((p("mlp.W_out"), vec![cfg.d_mlp, dm]));
            out.push((p("mlp.b_out"), vec![dm]));
        }
        if ln {
            for n in lns {
                out.push((p(&format!("{n}.w")), vec![dm]));
                out.push((p(&format!("{n}.b")), vec![dm]));
            }
        }
    }
    out.sort();
    out
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
            unembed: Unembed::new(dm, cfg.d_vocab_out(), vb.pp("unembed"))?,
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

/// `x @ w + b` for `x: [rows, k]`, `w: [k, n]`, `b: [n]` -> `[rows, n]`. f32 on the CPU: one
/// fused node ([`linear::linear`]). Elsewhere the bias is folded into the matmul as
/// `[x, 1] @ [w; b]`: candle's gradient of a broadcast bias is a slow reduction over rows,
/// while the folded form gets it from the same matmul.
pub(crate) fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    if fused::usable(x) && w.dtype() == x.dtype() && b.dtype() == x.dtype() {
        return Ok(linear::linear(x, w, b)?);
    }
    let (rows, _k) = x.dims2()?;
    let n = b.dim(0)?;
    let ones = Tensor::ones((rows, 1), x.dtype(), x.device())?;
    let x1 = Tensor::cat(&[x, &ones], 1)?;
    let wb = Tensor::cat(&[w, &b.reshape((1, n))?], 0)?;
    Ok(x1.matmul(&wb)?)
}

/// Per-token cross-entropy: `logits` `[batch, pos, d_vocab_out]`, `targets` `[batch, pos]`
/// u32 -> `-log_softmax(logits)[targets]`: `[batch, pos]`. Differentiable.
pub fn per_token_loss(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let (batch, pos, _d_vocab_out) = logits.dims3()?;
    let (tb, tp) = targets.dims2()?;
    if (tb, tp) != (batch, pos) {
        return Err(Error::Invalid(format!(
            "targets have shape [{tb}, {tp}], logits [{batch}, {pos}, ..]"
        )));
    }
    if fused::usable(logits) {
        return Ok(fused::cross_entropy(logits, targets)?);
    }
    // log_softmax(x)[t] = (x[t] - max) - log(sum(exp(x - max)))
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&max)?;
    let log_sum = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    let picked = shifted.gather(&targets.unsqueeze(2)?.contiguous()?, 2)?;
    Ok((log_sum - picked)?.squeeze(2)?)
}

/// Mean of the per-token loss over the positions where `mask` (`[batch, pos]`, 1 = counts)
/// is set: a scalar. Zero when the mask is empty.
pub fn masked_mean_loss(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let loss = per_token_loss(logits, targets)?;
    let mask = mask.to_dtype(loss.dtype())?;
    let total = (loss * &mask)?.sum_all()?;
    let count = mask.sum_all()?.clamp(1e-12, f64::INFINITY)?;
    Ok((total / count)?)
}
