//! Held-out evaluation: per-position loss and argmax over rows, then the task's metrics.
use crate::data::Batch;
use crate::error::Result;
use crate::model::{per_token_loss, Transformer};
use crate::tasks::{Rows, TaskSpec};
use candle_core::{Device, Tensor, D};

/// Rows per forward pass during evaluation.
pub const EVAL_CHUNK: usize = 256;

/// Per-position cross-entropy and argmax prediction, each `[n, n_ctx]` row-major.
pub fn loss_and_pred(
    model: &Transformer,
    rows: &Rows,
    device: &Device,
) -> Result<(Vec<f32>, Vec<u32>)> {
    let n_ctx = rows.n_ctx;
    let mut loss = Vec::with_capacity(rows.tokens.len());
    let mut pred = Vec::with_capacity(rows.tokens.len());
    let mut start = 0;
    while start < rows.len() {
        let end = (start + EVAL_CHUNK).min(rows.len());
        let chunk = Rows {
            n_ctx,
            tokens: rows.tokens[start * n_ctx..end * n_ctx].to_vec(),
            targets: rows.targets[start * n_ctx..end * n_ctx].to_vec(),
            mask: rows.mask[start * n_ctx..end * n_ctx].to_vec(),
        };
        let batch = Batch::from_rows(&chunk, device)?;
        let logits = model.forward(&batch.tokens, None)?.detach();
        let l: Tensor = per_token_loss(&logits, &batch.targets)?;
        loss.extend(l.flatten_all()?.to_vec1::<f32>()?);
        pred.extend(logits.argmax(D::Minus1)?.flatten_all()?.to_vec1::<u32>()?);
        start = end;
    }
    Ok((loss, pred))
}

/// The task's metrics of `model` on `rows`.
pub fn evaluate(
    model: &Transformer,
    spec: &TaskSpec,
    rows: &Rows,
    device: &Device,
) -> Result<Vec<(String, f64)>> {
    let (loss, pred) = loss_and_pred(model, rows, device)?;
    Ok(spec.metrics(rows, &loss, &pred))
}
