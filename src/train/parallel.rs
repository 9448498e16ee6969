//! Data-parallel training step (`[train] threads = N`): the step's batch is split into N
//! contiguous shards of rows, N worker threads run forward, loss and backward on their shard
//! at the same time, and the parameter gradients are summed in shard order. Each shard's
//! loss is its masked sum divided by the whole batch's count of counted tokens, so the shard
//! losses add up to the batch's masked mean and the summed gradients are its gradients: the
//! same step as one thread, up to float summation order, and deterministic for a fixed N.
//! Every worker's matrix products run on one core (`device::set_threads(1)`); the cores come
//! from the shards.
use crate::analysis::ablation_hooks;
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::hooks::HeadRef;
use crate::model::{masked_sum_loss, Transformer};
use candle_core::backprop::GradStore;
use candle_core::Tensor;

/// The batch's loss and its parameter gradients, computed by `threads` workers (at most one
/// per row). `count` is the number of counted tokens in the whole batch; `params` the
/// tensors whose gradients are summed across shards.
pub(crate) fn loss_and_grads(
    model: &Transformer,
    batch: &Batch,
    last_only: bool,
    ablate: &[HeadRef],
    threads: usize,
    params: &[&Tensor],
) -> Result<(f64, Option<GradStore>)> {
    let (rows, _pos) = batch.tokens.dims2()?;
    let count = f64::from(batch.mask.sum_all()?.to_scalar::<f32>()?).max(1e-12);
    let n = threads.clamp(1, rows.max(1));
    let shards = shard_ranges(rows, n);
    let results: Vec<Result<(f64, Option<GradStore>)>> = if n == 1 {
        vec![shard(model, batch, last_only, ablate, count)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = shards
                .iter()
                .map(|&(start, len)| {
                    s.spawn(move || {
                        let part = narrow(batch, start, len)?;
                        shard(model, &part, last_only, ablate, count)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Invalid("a training worker panicked".into()))
                    })
                })
                .collect()
        })
    };
    let mut total = 0f64;
    let mut summed: Option<GradStore> = None;
    for r in results {
        let (loss, grads) = r?;
        total += loss;
        let Some(grads) = grads else {
            // A non-finite shard loss: the step is skipped, nothing to sum.
            return Ok((f64::NAN, None));
        };
        summed = Some(match summed {
            None => grads,
            Some(mut acc) => {
                for p in params {
                    match (acc.get(p).cloned(), grads.get(p)) {
                        (Some(a), Some(b)) => {
                            acc.insert(p, (a + b)?);
                        }
                        (None, Some(b)) => {
                            acc.insert(p, b.clone());
                        }
                        _ => {}
                    }
                }
                acc
            }
        });
    }
    Ok((total, summed))
}

/// `n` contiguous `(start, len)` row ranges covering `0..rows`, the first `rows % n` one
/// row longer.
pub(crate) fn shard_ranges(rows: usize, n: usize) -> Vec<(usize, usize)> {
    let n = n.max(1);
    let (base, extra) = (rows / n, rows % n);
    let mut start = 0;
    (0..n)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let r = (start, len);
            start += len;
            r
        })
        .collect()
}

/// Rows `start..start + len` of `batch`.
fn narrow(batch: &Batch, start: usize, len: usize) -> Result<Batch> {
    Ok(Batch {
        tokens: batch.tokens.narrow(0, start, len)?.contiguous()?,
        targets: batch.targets.narrow(0, start, len)?.contiguous()?,
        mask: batch.mask.narrow(0, start, len)?.contiguous()?,
    })
}

/// One shard: its loss (masked sum / `count`) and, when finite, its gradients.
fn shard(
    model: &Transformer,
    batch: &Batch,
    last_only: bool,
    ablate: &[HeadRef],
    count: f64,
) -> Result<(f64, Option<GradStore>)> {
    let mut hooks = (!ablate.is_empty())
        .then(|| ablation_hooks(ablate, &[]))
        .transpose()?;
    let sum = if last_only {
        // Every counted prediction is at the last position: compute only it.
        let logits = model.forward_last(&batch.tokens, hooks.as_mut())?;
        let pos = batch.targets.dim(1)?;
        let last = |t: &Tensor| t.narrow(1, pos - 1, 1)?.contiguous();
        masked_sum_loss(&logits, &last(&batch.targets)?, &last(&batch.mask)?)?
    } else {
        let logits = model.forward(&batch.tokens, hooks.as_mut())?;
        masked_sum_loss(&logits, &batch.targets, &batch.mask)?
    };
    let loss = sum.affine(1.0 / count, 0.0)?;
    let value = f64::from(loss.to_scalar::<f32>()?);
    if !value.is_finite() {
        return Ok((value, None));
    }
    Ok((value, Some(loss.backward()?)))
}

#[cfg(test)]
mod tests {
    use super::shard_ranges;

    #[test]
    fn shards_cover_the_rows_in_order() {
        assert_eq!(shard_ranges(10, 3), vec![(0, 4), (4, 3), (7, 3)]);
        assert_eq!(shard_ranges(2, 2), vec![(0, 1), (1, 1)]);
        assert_eq!(shard_ranges(5, 1), vec![(0, 5)]);
        for (rows, n) in [(3830, 2), (32, 3), (7, 7)] {
            let r = shard_ranges(rows, n);
            assert_eq!(r.iter().map(|x| x.1).sum::<usize>(), rows);
            assert!(r.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0));
        }
    }
}

#[cfg(test)]
mod parity {
    use super::loss_and_grads;
    use crate::config::{Preset, RunConfig};
    use crate::data::Batch;
    use crate::train::data_source::DataSource;
    use candle_core::Device;

    /// One step's loss and every parameter gradient with 1, 2 and 3 workers: equal up to
    /// float summation order (an odd batch, so the shards differ in size), for a model
    /// with LayerNorm and an MLP and for the last-position-only path of modular addition.
    #[test]
    fn sharded_step_equals_one_thread() {
        let cases = [
            (Preset::InductionMakemore, 33, false),
            (Preset::ModularAddition, 301, true),
        ];
        for (preset, rows, last_only) in cases {
            let cfg = RunConfig::preset(preset, &[]).unwrap();
            let spec = cfg.task.spec(cfg.seed).unwrap();
            let data = DataSource::new(&cfg, &spec, None).unwrap();
            assert_eq!(data.last_position_only(), last_only);
            let (_, model, opt) = crate::train::build(&cfg, &Device::Cpu).unwrap();
            let batch = Batch::from_rows(&data.train_batch(0, rows), &Device::Cpu).unwrap();
            let params: Vec<_> = opt.params.iter().map(|p| p.var.as_tensor()).collect();
            let (l1, g1) = loss_and_grads(&model, &batch, last_only, &[], 1, &params).unwrap();
            let g1 = g1.unwrap();
            for n in [2, 3] {
                let (ln, gn) = loss_and_grads(&model, &batch, last_only, &[], n, &params).unwrap();
                let gn = gn.unwrap();
                assert!(
                    (l1 - ln).abs() <= 1e-5 * l1.abs(),
                    "{n} workers: {ln} vs {l1}"
                );
                for (p, t) in opt.params.iter().zip(&params) {
                    // A parameter outside the loss's graph (an untrained b_U) has none.
                    let (Some(a), Some(b)) = (g1.get(t), gn.get(t)) else {
                        assert!(g1.get(t).is_none() && gn.get(t).is_none(), "{}", p.name);
                        continue;
                    };
                    let max_abs = |t: &candle_core::Tensor| -> f32 {
                        t.abs()
                            .unwrap()
                            .max_all()
                            .unwrap()
                            .to_scalar::<f32>()
                            .unwrap()
                    };
                    let (scale, diff) = (max_abs(a), max_abs(&(a - b).unwrap()));
                    assert!(
                        diff <= 1e-5 * scale.max(1e-3),
                        "{}: {diff} of {scale}",
                        p.name
                    );
                }
            }
        }
    }
}
