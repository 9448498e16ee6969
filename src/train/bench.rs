//! Timing of the training step (batch + forward + loss + backward + AdamW), no run written.
use super::data_source::DataSource;
use super::optim::{clip_scale, learning_rate, AdamW};
use crate::config::RunConfig;
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::model::{init_varmap, masked_mean_loss, Transformer};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use std::time::Instant;

/// Milliseconds of each of `n` training steps after `warmup` untimed ones.
pub fn step_times(cfg: &RunConfig, device: &Device, warmup: usize, n: usize) -> Result<Vec<f64>> {
    let spec = cfg.task.spec(cfg.seed)?;
    let tc = &cfg.train;
    let mut small = cfg.clone();
    small.train.eval_size = 1;
    let data = DataSource::new(&small, &spec, None)?;
    let varmap = init_varmap(&cfg.model, cfg.seed, device, DType::F32)?;
    let model = Transformer::new(
        &cfg.model,
        VarBuilder::from_varmap(&varmap, DType::F32, device),
    )?;
    let vars: Vec<(String, candle_core::Var)> = {
        let map = varmap
            .data()
            .lock()
            .map_err(|_| Error::Invalid("parameter store poisoned".into()))?;
        map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let mut opt = AdamW::new(vars, tc)?;
    let mut times = Vec::with_capacity(n);
    for step in 0..warmup + n {
        let t = Instant::now();
        let rows = data.train_batch(step, tc.batch_size);
        let batch = Batch::from_rows(&rows, device)?;
        let logits = model.forward(&batch.tokens, None)?;
        let loss = masked_mean_loss(&logits, &batch.targets, &batch.mask)?;
        let grads = loss.backward()?;
        let scale = if tc.grad_clip > 0.0 {
            clip_scale(opt.grad_norm(&grads)?, tc.grad_clip)
        } else {
            1.0
        };
        opt.step(&grads, learning_rate(tc, step), scale)?;
        device.synchronize()?;
        if step >= warmup {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(times)
}

/// Median of a sample (0 for an empty one).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}
