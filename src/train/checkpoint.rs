//! Training checkpoints: parameters, Adam moments and the step in one safetensors file
//! (`checkpoint.safetensors`, written atomically, so a kill never leaves a mixed state),
//! plus the TransformerLens-format `model.safetensors` for every other command.
use super::optim::AdamW;
use crate::error::{Error, Result};
use crate::run_dir::RunDir;
use candle_core::Device;
use std::collections::HashMap;
use std::path::PathBuf;

const FORMAT: &str = "indu-checkpoint-1";

/// Path of the training checkpoint in a run.
pub fn path(run: &RunDir) -> PathBuf {
    run.path.join("checkpoint.safetensors")
}

/// Write parameters, moments and `opt.t` (= steps done).
pub fn save(run: &RunDir, opt: &AdamW) -> Result<()> {
    let mut tensors = Vec::with_capacity(opt.params.len() * 3);
    for p in &opt.params {
        tensors.push((format!("param.{}", p.name), p.var.as_tensor().clone()));
        tensors.push((format!("adam_m.{}", p.name), p.m.clone()));
        tensors.push((format!("adam_v.{}", p.name), p.v.clone()));
    }
    let meta = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("step".to_string(), opt.t.to_string()),
    ]);
    crate::st_io::write(&path(run), &tensors, Some(meta))
}

/// The step a run's checkpoint was saved at (its metadata only), None without a readable
/// checkpoint.
pub fn saved_step(run: &RunDir) -> Option<usize> {
    let p = path(run);
    if !p.is_file() {
        return None;
    }
    crate::st_io::metadata(&p).ok()?.get("step")?.parse().ok()
}

/// Restore parameters and moments into `opt` (same names and shapes); returns the step.
pub fn load(run: &RunDir, opt: &mut AdamW, device: &Device) -> Result<usize> {
    let p = path(run);
    if !p.is_file() {
        return Err(Error::Invalid(format!(
            "{} has no checkpoint to resume from ({} is missing)",
            run.path.display(),
            p.display()
        )));
    }
    let bad = |msg: String| Error::Format {
        path: p.clone(),
        msg,
    };
    if crate::st_io::metadata(&p)?
        .get("format")
        .map(String::as_str)
        != Some(FORMAT)
    {
        return Err(bad(format!(
            "not an indu checkpoint (expected metadata format = {FORMAT})"
        )));
    }
    let (mut tensors, meta) = crate::st_io::read(&p, device)?;
    let step: usize = meta
        .get("step")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("metadata has no valid step".into()))?;
    for prm in &mut opt.params {
        let mut take = |prefix: &str| {
            let key = format!("{prefix}.{}", prm.name);
            let t = tensors
                .remove(&key)
                .ok_or_else(|| bad(format!("tensor {key} is missing")))?;
            if t.dims() != prm.var.dims() {
                return Err(bad(format!(
                    "tensor {key} has shape {:?}, expected {:?}",
                    t.dims(),
                    prm.var.dims()
                )));
            }
            Ok(t.to_dtype(prm.var.dtype())?)
        };
        let value = take("param")?;
        prm.m = take("adam_m")?;
        prm.v = take("adam_v")?;
        prm.var.set(&value)?;
    }
    if !state_finite(opt)? {
        return Err(bad(
            "holds non-finite parameters or Adam moments (corrupt); expected finite numbers".into(),
        ));
    }
    opt.t = step;
    Ok(step)
}

/// Disk bytes of `checkpoint.safetensors` for `cfg` (an estimate with room for the
/// header): the parameters and two Adam moments at 4 bytes each.
pub fn checkpoint_bytes(cfg: &crate::config::RunConfig) -> u64 {
    (cfg.n_params() as u64)
        .saturating_mul(12)
        .saturating_add(HEADER_BYTES)
}

/// Disk bytes of `model.safetensors` for `cfg` (an estimate with room for the header): the
/// parameters at 4 bytes each plus the model's `attn.mask` buffers.
pub fn model_bytes(cfg: &crate::config::RunConfig) -> u64 {
    let n_ctx = cfg.model.n_ctx() as u64;
    let masks = (cfg.model.n_layers as u64).saturating_mul(n_ctx.saturating_mul(n_ctx) + 4);
    (cfg.n_params() as u64)
        .saturating_mul(4)
        .saturating_add(masks)
        .saturating_add(HEADER_BYTES)
}

/// Room for a safetensors header (tensor names, shapes, offsets).
const HEADER_BYTES: u64 = 128 * 1024;

/// The most disk a training run of `cfg` occupies at one instant (an estimate). An atomic
/// write holds the old and the new copy of a file at once, one file at a time, so the peak
/// is while a checkpoint is written: old checkpoint + new checkpoint + model. Plus a
/// metrics.jsonl (also rewritten once, atomically, when a run resumes) and the small JSON
/// and TOML files.
pub fn peak_disk_bytes(cfg: &crate::config::RunConfig) -> u64 {
    let ckpt = checkpoint_bytes(cfg);
    let model = model_bytes(cfg);
    let t = &cfg.train;
    let logs = (t.steps / t.log_every.max(1)).saturating_add(1) as u64;
    let evals = (t.steps / t.eval_every.max(1)).saturating_add(1) as u64;
    let metrics = logs
        .saturating_mul(LOG_LINE_BYTES)
        .saturating_add(evals.saturating_mul(EVAL_LINE_BYTES));
    let small = 1 << 20;
    ckpt.saturating_mul(2)
        .saturating_add(model)
        .saturating_add(metrics.saturating_mul(2))
        .saturating_add(small)
}

/// Generous sizes of a metrics.jsonl line: a training-loss line (about 70 bytes) and one
/// with the evaluation (the longest, with per-class losses, about 1 KiB).
const LOG_LINE_BYTES: u64 = 256;
const EVAL_LINE_BYTES: u64 = 2048;

/// Whether every parameter and Adam moment is finite (NaN and inf propagate through the
/// sums). An overflowed gradient poisons the second moment before it shows in the loss.
pub fn state_finite(opt: &AdamW) -> Result<bool> {
    for p in &opt.params {
        for t in [p.var.as_tensor(), &p.m, &p.v] {
            let s = t
                .sum_all()?
                .to_dtype(candle_core::DType::F32)?
                .to_scalar::<f32>()?;
            if !s.is_finite() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}
