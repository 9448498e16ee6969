//! The one place where token rows become tensors: `Rows` -> `Batch` on a device.
use crate::error::Result;
use crate::tasks::Rows;
use candle_core::{Device, Tensor};

/// A batch ready for the model.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[batch, pos]` u32 input tokens.
    pub tokens: Tensor,
    /// `[batch, pos]` u32 target of the prediction at each position.
    pub targets: Tensor,
    /// `[batch, pos]` f32, 1 where the prediction counts.
    pub mask: Tensor,
}

impl Batch {
    /// Move `rows` onto `device`.
    pub fn from_rows(rows: &Rows, device: &Device) -> Result<Batch> {
        let shape = (rows.len(), rows.n_ctx);
        Ok(Batch {
            tokens: Tensor::from_slice(&rows.tokens, shape, device)?,
            targets: Tensor::from_slice(&rows.targets, shape, device)?,
            mask: Tensor::from_slice(&rows.mask, shape, device)?,
        })
    }
}

impl Rows {
    /// `[batch, pos]` u32 input tokens on `device`.
    pub fn tokens_tensor(&self, device: &Device) -> Result<Tensor> {
        tokens_tensor(&self.tokens, self.len(), self.n_ctx, device)
    }
    /// `[batch, pos]` u32 targets on `device`.
    pub fn targets_tensor(&self, device: &Device) -> Result<Tensor> {
        tokens_tensor(&self.targets, self.len(), self.n_ctx, device)
    }
}

/// `[batch, pos]` u32 tokens from plain rows (for probes and `--text`).
pub fn tokens_tensor(
    tokens: &[u32],
    n_rows: usize,
    n_ctx: usize,
    device: &Device,
) -> Result<Tensor> {
    Ok(Tensor::from_slice(tokens, (n_rows, n_ctx), device)?)
}
