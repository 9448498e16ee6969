//! Held-out evaluation: per-position loss and argmax over rows, then the task's metrics.
use crate::analysis::ablation_hooks;
use crate::data::Batch;
use crate::error::Result;
use crate::hooks::HeadRef;
use crate::model::{per_token_loss, Transformer};
use crate::tasks::{Rows, TaskSpec};
use candle_core::{Device, Tensor, D};

/// Rows per forward pass during evaluation.
pub const EVAL_CHUNK: usize = 256;

/// Per-position cross-entropy and argmax prediction, each `[n, n_ctx]` row-major, with the
/// heads of `ablate` zero-ablated. With `last_only` the model computes the last position
/// only (`Transformer::forward_last`) and the other positions read 0 (loss) and 0
/// (prediction): callers must count only the last position.
pub fn loss_and_pred(
    model: &Transformer,
    rows: &Rows,
    device: &Device,
    ablate: &[HeadRef],
    last_only: bool,
) -> Result<(Vec<f32>, Vec<u32>)> {
    loss_and_pred_on(model, rows, device, ablate, last_only, 1)
}

/// `loss_and_pred` with the chunks shared out over `workers` threads (contiguous runs of
/// chunks, joined in order: the same numbers as one thread).
pub fn loss_and_pred_on(
    model: &Transformer,
    rows: &Rows,
    device: &Device,
    ablate: &[HeadRef],
    last_only: bool,
    workers: usize,
) -> Result<(Vec<f32>, Vec<u32>)> {
    let chunks = rows.len().div_ceil(EVAL_CHUNK);
    let n = workers.clamp(1, chunks.max(1));
    if n == 1 {
        return chunk_range(model, rows, device, ablate, last_only, 0, rows.len());
    }
    let parts = super::parallel::shard_ranges(chunks, n);
    let results: Vec<Result<(Vec<f32>, Vec<u32>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|&(c0, nc)| {
                let (start, end) = (c0 * EVAL_CHUNK, ((c0 + nc) * EVAL_CHUNK).min(rows.len()));
                s.spawn(move || chunk_range(model, rows, device, ablate, last_only, start, end))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(crate::error::Error::Invalid(
                        "an evaluation worker panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut loss = Vec::with_capacity(rows.tokens.len());
    let mut pred = Vec::with_capacity(rows.tokens.len());
    for r in results {
        let (l, p) = r?;
        loss.extend(l);
        pred.extend(p);
    }
    Ok((loss, pred))
}

/// `loss_and_pred` over rows `first..last`, `EVAL_CHUNK` rows per forward pass.
fn chunk_range(
    model: &Transformer,
    rows: &Rows,
    device: &Device,
    ablate: &[HeadRef],
    last_only: bool,
    first: usize,
    last: usize,
) -> Result<(Vec<f32>, Vec<u32>)> {
    let n_ctx = rows.n_ctx;
    let mut loss = Vec::with_capacity((last - first) * n_ctx);
    let mut pred = Vec::with_capacity((last - first) * n_ctx);
    let mut start = first;
    while start < last {
        let end = (start + EVAL_CHUNK).min(last);
        let chunk = Rows {
            n_ctx,
            tokens: rows.tokens[start * n_ctx..end * n_ctx].to_vec(),
            targets: rows.targets[start * n_ctx..end * n_ctx].to_vec(),
            mask: rows.mask[start * n_ctx..end * n_ctx].to_vec(),
        };
        let batch = Batch::from_rows(&chunk, device)?;
        let mut hooks = (!ablate.is_empty())
            .then(|| ablation_hooks(ablate, &[]))
            .transpose()?;
        if last_only {
            let logits = model.forward_last(&batch.tokens, hooks.as_mut())?.detach();
            let targets = batch.targets.narrow(1, n_ctx - 1, 1)?.contiguous()?;
            let l = per_token_loss(&logits, &targets)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            let p = logits.argmax(D::Minus1)?.flatten_all()?.to_vec1::<u32>()?;
            for (l, p) in l.into_iter().zip(p) {
                loss.extend(std::iter::repeat_n(0.0, n_ctx - 1));
                loss.push(l);
                pred.extend(std::iter::repeat_n(0, n_ctx - 1));
                pred.push(p);
            }
        } else {
            let logits = model.forward(&batch.tokens, hooks.as_mut())?.detach();
            let l: Tensor = per_token_loss(&logits, &batch.targets)?;
            loss.extend(l.flatten_all()?.to_vec1::<f32>()?);
            pred.extend(logits.argmax(D::Minus1)?.flatten_all()?.to_vec1::<u32>()?);
        }
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
    Ok(evaluate_with_loss(model, spec, rows, device, &[], 1)?.metrics)
}

/// A held-out evaluation: the task's metrics and the per-token loss behind them.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Metric name and value, in the task's order.
    pub metrics: Vec<(String, f64)>,
    /// Per-token loss `[n, n_ctx]` row-major.
    pub loss: Vec<f32>,
}

/// The task's metrics of `model` on `rows` with `ablate`'s heads zero-ablated, and the
/// per-token loss they were computed from; `workers` threads share the forward passes.
pub fn evaluate_with_loss(
    model: &Transformer,
    spec: &TaskSpec,
    rows: &Rows,
    device: &Device,
    ablate: &[HeadRef],
    workers: usize,
) -> Result<Evaluation> {
    let last_only = spec.task().trains_last_position_only();
    let (loss, pred) = loss_and_pred_on(model, rows, device, ablate, last_only, workers)?;
    let metrics = spec.metrics(rows, &loss, &pred);
    Ok(Evaluation { metrics, loss })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::ModelConfig;
    use crate::tasks::{Split, TaskConfig};
    use candle_core::DType;
    use candle_nn::{VarBuilder, VarMap};
    use rand::SeedableRng;

    #[test]
    fn chunked_evaluation_matches_row_by_row() {
        let task: TaskConfig = toml::from_str("name = \"induction\"\nlength = 7").unwrap();
        let spec = task.spec(0).unwrap();
        let cfg = ModelConfig {
            n_layers: 1,
            n_heads: 1,
            d_model: 8,
            d_head: 8,
            n_ctx: Some(spec.n_ctx()),
            d_vocab: Some(spec.d_vocab()),
            d_vocab_out: Some(spec.d_vocab_out()),
            ..ModelConfig::default()
        };
        let varmap = VarMap::new();
        let dev = Device::Cpu;
        let model =
            Transformer::new(&cfg, VarBuilder::from_varmap(&varmap, DType::F32, &dev)).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        // More rows than one chunk, so the last chunk is partial.
        let rows = spec.generate(EVAL_CHUNK + 5, Split::Test, &mut rng);
        let (loss, pred) = loss_and_pred(&model, &rows, &dev, &[], false).unwrap();
        assert_eq!(loss.len(), rows.tokens.len());
        for b in [0, 1, EVAL_CHUNK - 1, EVAL_CHUNK, EVAL_CHUNK + 4] {
            let mut one = Rows::new(rows.n_ctx);
            one.push_row(rows.row(b), rows.targets_row(b), rows.mask_row(b));
            let (l1, p1) = loss_and_pred(&model, &one, &dev, &[], false).unwrap();
            let r = b * rows.n_ctx..(b + 1) * rows.n_ctx;
            assert_eq!(p1, pred[r.clone()], "row {b}");
            for (a, c) in l1.iter().zip(&loss[r]) {
                assert!((a - c).abs() < 1e-5, "row {b}: {a} vs {c}");
            }
        }
        // Shared out over worker threads: the very same numbers, in the same order.
        let rows3 = spec.generate(3 * EVAL_CHUNK + 7, Split::Test, &mut rng);
        let one = loss_and_pred(&model, &rows3, &dev, &[], false).unwrap();
        for workers in [2, 3, 8] {
            let par = loss_and_pred_on(&model, &rows3, &dev, &[], false, workers).unwrap();
            assert_eq!(par, one, "{workers} workers");
        }
        // evaluate() reports the task's metrics of those numbers.
        let m = evaluate(&model, &spec, &rows, &dev).unwrap();
        let mean = loss.iter().map(|&l| f64::from(l)).sum::<f64>() / loss.len() as f64;
        let got = m.iter().find(|(k, _)| k == "loss").unwrap().1;
        assert!((got - mean).abs() < 1e-5, "{got} vs {mean}");
    }
}
