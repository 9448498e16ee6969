//! Direct logit attribution: how much each component of the residual stream at the last
//! layer adds to the logit of the correct next token, per position. Components: the token
//! embedding (`hook_embed`), the positions (`hook_pos_embed`, standard positions only), every
//! head's `hook_result` (`[batch, pos, head_index, d_model]`), every MLP's `hook_mlp_out`,
//! and the biases (`b_O` of every layer, `ln_final.b`, `b_U`). With a final LayerNorm each
//! component is centred and divided by the cached `ln_final.hook_scale`, then scaled by
//! `ln_final.w`, so the components sum to the logit exactly. With the notebook residual
//! (`model.residual = "notebook"`) every component is weighted by how often the stream
//! doubled after it was written (`ModelConfig::stream_gain`), so the sum is still exact.
use crate::analysis::LoadedRun;
use crate::error::{Error, Result};
use crate::hooks::HookPoint;
use crate::model::config::{Normalization, Positional};
use crate::tasks::Rows;
use candle_core::{DType, Device, Tensor, D};
use serde::{Deserialize, Serialize};

/// Attribution of every component, mean over the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// `embed`, `pos_embed`, `l.h` for every head, `mlp l`, `bias`.
    pub components: Vec<String>,
    /// `[component, pos]`: mean over rows of the component's direct contribution to the
    /// logit of the target at each position.
    pub per_position: Vec<Vec<f64>>,
    /// Mean over rows of the target's logit at each position (the sum of the components).
    pub logit: Vec<f64>,
    /// Largest |sum of components - logit| over all rows and positions (a self-check).
    pub max_abs_error: f64,
}

/// `[batch, pos, d_model]` component -> its logit contribution to `targets`:
/// `[batch, pos]` = `ln(c) . W_U[:, target]`.
fn contribution(
    c: &Tensor,
    gain: f64,
    wu_t: &Tensor,
    scale: Option<(&Tensor, &Tensor)>,
) -> Result<Tensor> {
    let c = c.affine(gain, 0.0)?;
    let c = match scale {
        Some((s, w)) => c
            .broadcast_sub(&c.mean_keepdim(D::Minus1)?)?
            .broadcast_div(s)?
            .broadcast_mul(w)?,
        None => c,
    };
    Ok((c * wu_t)?.sum(D::Minus1)?)
}

/// Direct logit attribution of every component on `rows` (targets = `rows.targets`).
pub fn attribute(lr: &LoadedRun, rows: &Rows) -> Result<Attribution> {
    let cfg = &lr.cfg.model;
    let (batch, pos) = (rows.len(), rows.n_ctx);
    if batch == 0 {
        return Err(Error::Invalid("attribution needs at least one row".into()));
    }
    let ln = cfg.normalization == Normalization::LN;
    let globs = [
        "hook_embed",
        "hook_pos_embed",
        "blocks.*.attn.hook_result",
        "blocks.*.hook_mlp_out",
        "ln_final.hook_scale",
    ];
    let (logits, cache) = lr.run_with_cache(rows, &globs)?;
    let w = |name: &str| lr.weights.tensor(name);
    let get = |hp: HookPoint| {
        cache
            .get(&hp)
            .cloned()
            .ok_or_else(|| Error::Invalid(format!("the forward pass did not produce {hp}")))
    };
    let d_model = cfg.d_model;
    let targets = rows.targets_tensor(&lr.device)?.flatten_all()?;
    // W_U[:, target] per (row, position): [batch, pos, d_model].
    let wu_t = w("unembed.W_U")?
        .t()?
        .contiguous()?
        .index_select(&targets, 0)?
        .reshape((batch, pos, d_model))?;
    let (scale, ln_w) = if ln {
        (Some(get(HookPoint::LnFinalScale)?), Some(w("ln_final.w")?))
    } else {
        (None, None)
    };
    let sc = scale.as_ref().zip(ln_w.as_ref());
    let mut names = vec!["embed".to_string()];
    let embed_gain = cfg.stream_gain(0);
    let mut parts = vec![contribution(
        &get(HookPoint::Embed)?,
        embed_gain,
        &wu_t,
        sc,
    )?];
    if cfg.positional == Positional::Standard {
        names.push("pos_embed".into());
        let pos_embed = get(HookPoint::PosEmbed)?;
        parts.push(contribution(&pos_embed, embed_gain, &wu_t, sc)?);
    }
    let mut b_o = Tensor::zeros(d_model, DType::F32, &Device::Cpu)?;
    for l in 0..cfg.n_layers {
        let gain = cfg.stream_gain(l + 1);
        let result = get(HookPoint::AttnResult(l))?; // [batch, pos, head_index, d_model]
        for h in 0..cfg.n_heads {
            names.push(format!("{l}.{h}"));
            let head = result.narrow(2, h, 1)?.squeeze(2)?;
            parts.push(contribution(&head, gain, &wu_t, sc)?);
        }
        b_o = (b_o + w(&format!("blocks.{l}.attn.b_O"))?.affine(gain, 0.0)?)?;
        if !cfg.attn_only {
            names.push(format!("mlp {l}"));
            parts.push(contribution(&get(HookPoint::MlpOut(l))?, gain, &wu_t, sc)?);
        }
    }
    // Biases: sum of b_O through the LN, ln_final.b . W_U[:, t], b_U[t].
    let b_o = b_o
        .reshape((1, 1, d_model))?
        .broadcast_as((batch, pos, d_model))?
        .contiguous()?;
    let mut bias = contribution(&b_o, 1.0, &wu_t, sc)?;
    if ln {
        let b = w("ln_final.b")?.reshape((1, 1, d_model))?;
        bias = (bias + wu_t.broadcast_mul(&b)?.sum(D::Minus1)?)?;
    }
    let b_u = w("unembed.b_U")?
        .index_select(&targets, 0)?
        .reshape((batch, pos))?;
    names.push("bias".into());
    parts.push((bias + b_u)?);
    let logit = logits
        .gather(&targets.reshape((batch, pos, 1))?.contiguous()?, 2)?
        .squeeze(2)?;
    let total = parts.iter().try_fold(
        Tensor::zeros((batch, pos), DType::F32, &Device::Cpu)?,
        |acc, p| acc + p,
    )?;
    let max_abs_error = f64::from(
        (total - &logit)?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?,
    );
    let mean_rows =
        |t: &Tensor| -> Result<Vec<f64>> { Ok(t.mean(0)?.to_dtype(DType::F64)?.to_vec1::<f64>()?) };
    Ok(Attribution {
        components: names,
        per_position: parts.iter().map(mean_rows).collect::<Result<Vec<_>>>()?,
        logit: mean_rows(&logit)?,
        max_abs_error,
    })
}
