//! Cross-entropy losses on logits `[batch, pos, d_vocab_out]`: per token, and the masked
//! mean that training minimises.
use super::fused;
use crate::error::{Error, Result};
use candle_core::{Tensor, D};

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
    let total = masked_sum_loss(logits, targets, mask)?;
    let count = mask
        .to_dtype(total.dtype())?
        .sum_all()?
        .clamp(1e-12, f64::INFINITY)?;
    Ok((total / count)?)
}

/// Sum of the per-token loss over the positions where `mask` (`[batch, pos]`) is set: a
/// scalar (a shard's part of the masked mean, `train::parallel`).
pub fn masked_sum_loss(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let loss = per_token_loss(logits, targets)?;
    let mask = mask.to_dtype(loss.dtype())?;
    Ok((loss * &mask)?.sum_all()?)
}
