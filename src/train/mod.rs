//! The training loop: data per step, forward, masked loss, backward, clipping, AdamW,
//! held-out evaluation, metrics.jsonl, checkpoints, Ctrl-C and NaN handling, summary.json.
//! `run` wraps it in a run's lifecycle, `bench` times its step, `seeds` reads a sweep.
pub mod bench;
// Links libmimalloc, whose `mi_option_set` `tune_allocator` calls.
use mimalloc as _;
pub mod checkpoint;
pub mod data_source;
pub mod eval;
pub mod flops;
pub mod log;
pub mod optim;
pub mod peak;
pub mod run;
pub mod seeds;
pub mod stop;

use crate::config::RunConfig;
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::model::config::Residual;
use crate::model::{init_varmap, masked_mean_loss, save_weights, tl_config, Transformer};
use crate::report::write_json;
use crate::run_dir::RunDir;
use crate::tasks::Task;
use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use data_source::DataSource;
use log::{eval_key, MetricsLog};
use optim::{clip_scale, learning_rate, AdamW};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// How to run the loop (things that are not part of the config).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub device: Device,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Continue from the run's checkpoint.
    pub resume: bool,
    /// A fresh run into a directory that holds one: clear the old run's files first.
    pub force: bool,
    /// A resumed run's config differs from its config.toml (`--steps`, `--set`): write it,
    /// and put the old one back if the resume fails.
    pub config_changed: bool,
    /// Train from a data file written by `indu data`.
    pub data_file: Option<std::path::PathBuf>,
    /// Set by the Ctrl-C handler: save and stop at the next step boundary.
    pub interrupt: Arc<AtomicBool>,
}

/// What `summary.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub task: String,
    pub steps: usize,
    pub seed: u64,
    pub final_train_loss: f64,
    pub final_eval: serde_json::Map<String, serde_json::Value>,
    pub wall_s: f64,
    pub train_s: f64,
    pub steps_per_s: f64,
    pub ms_per_step: f64,
    pub peak_rss_mb: f64,
    pub threads: usize,
    pub device: String,
    pub indu_version: &'static str,
    pub candle_version: &'static str,
    /// Matrix-product FLOPs of one step, forward + backward (`flops`: the counting rule).
    pub flops_per_step: f64,
    /// `flops_per_step` at `ms_per_step`.
    pub gflops_per_s: f64,
    /// `[train] stop_when`, as written (null without one).
    pub stop_when: Option<String>,
    /// The step at which `stop_when` held and training stopped (null: it ran to the end).
    pub stopped_at: Option<usize>,
}

impl Summary {
    /// The version of summary.json's layout (not a field of the file).
    pub const SCHEMA_VERSION: u32 = 1;

    /// The task's headline metrics (`Task::headline_metrics`) of the final evaluation, in
    /// order; metrics it did not report (or reported as NaN) are left out.
    pub fn headline(&self, task: Task) -> Vec<(&'static str, f64)> {
        task.headline_metrics()
            .iter()
            .filter_map(|&k| {
                self.final_eval
                    .get(k)
                    .and_then(|v| v.as_f64())
                    .map(|v| (k, v))
            })
            .collect()
    }
}

/// Stream seed for a training step's batch (pure function of the run seed and step).
pub fn step_seed(seed: u64, step: usize) -> u64 {
    splitmix(seed ^ splitmix(step as u64 ^ 0x5452_4149_4e00_0000))
}

/// A fixed mixing function (SplitMix64 finaliser) for deriving independent seeds.
pub fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Keep freed memory in the allocator instead of handing it back to the OS after mimalloc's
/// default 10 ms: a training step frees and re-allocates the same multi-MiB activation and
/// gradient buffers every step, and re-faulting them (the kernel zeroing fresh huge pages)
/// cost about a quarter of the step time on the bigger presets (`perf`: `clear_page_erms`).
/// Harmless when mimalloc is not the global allocator (the option is then never read).
pub fn tune_allocator() {
    extern "C" {
        fn mi_option_set(option: std::os::raw::c_int, value: std::os::raw::c_long);
    }
    /// `mi_option_purge_delay` in mimalloc v2 and v3 (`mimalloc.h`, `mi_option_e`).
    const MI_OPTION_PURGE_DELAY: std::os::raw::c_int = 15;
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table (an atomic write);
    // it is valid at any time and from any thread, and -1 means "never purge".
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

/// The parameters (seeded, in name order), the model over them and a fresh AdamW.
pub(crate) fn build(cfg: &RunConfig, device: &Device) -> Result<(VarMap, Transformer, AdamW)> {
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
    let opt = AdamW::new(vars, &cfg.train)?;
    Ok((varmap, model, opt))
}

/// One training step: the step's batch, forward, masked loss, backward, clipping, AdamW.
/// Returns the loss; when it is not finite nothing is updated.
pub(crate) fn train_step(
    model: &Transformer,
    opt: &mut AdamW,
    data: &DataSource,
    tc: &crate::config::TrainConfig,
    step: usize,
    device: &Device,
) -> Result<f64> {
    let rows = data.train_batch(step, tc.batch_size);
    let batch = Batch::from_rows(&rows, device)?;
    let logits = model.forward(&batch.tokens, None)?;
    let loss = masked_mean_loss(&logits, &batch.targets, &batch.mask)?;
    let loss_v = f64::from(loss.to_scalar::<f32>()?);
    if !loss_v.is_finite() {
        return Ok(loss_v);
    }
    let grads = loss.backward()?;
    let scale = if tc.grad_clip > 0.0 {
        clip_scale(opt.grad_norm(&grads)?, tc.grad_clip)
    } else {
        1.0
    };
    opt.step(&grads, learning_rate(tc, step), scale)?;
    Ok(loss_v)
}

/// Train `cfg` into `run` (which exists and is locked by the caller; `run::run` does
/// that).
pub(crate) fn train(cfg: &RunConfig, run: &RunDir, opts: &TrainOptions) -> Result<Summary> {
    let wall = Instant::now();
    tune_allocator();
    let device = &opts.device;
    let spec = cfg.task.spec(cfg.seed)?;
    let tc = &cfg.train;
    let data = DataSource::new(cfg, &spec, opts.data_file.as_deref())?;

    let (varmap, model, mut opt) = build(cfg, device)?;
    let start = if opts.resume {
        checkpoint::load(run, &mut opt, device)?
    } else {
        0
    };
    if start > tc.steps {
        return Err(Error::Invalid(format!(
            "the checkpoint is at step {start}, beyond train.steps = {}; pass a larger --steps to continue",
            tc.steps
        )));
    }
    let mut metrics = MetricsLog::open(run, start, opts.resume, tc.eval_every)?;
    match cfg.model.residual {
        Residual::Standard => write_json(&run.tl_config(), &tl_config(&cfg.model))?,
        // TransformerLens has no such model: no config that would load it as another one.
        Residual::Notebook => {}
    }

    // `runs/latest` moves only now that training really starts (a resumed run's checkpoint
    // has loaded), so a run that cannot start never becomes the latest.
    run.mark_latest();
    let bar = progress_bar(tc.steps, start, opts.progress);
    let t0 = Instant::now();
    let mut last_loss = f64::NAN;
    let mut last_eval = serde_json::Map::new();
    let mut last_saved = opts.resume.then_some(start);
    let mut stopped_at = None;
    for step in start..tc.steps {
        if opts.interrupt.load(Ordering::SeqCst) {
            save_all(cfg, run, &opt, &varmap, step, last_saved)?;
            bar.abandon();
            return Err(Error::Interrupted { step });
        }
        let lr = learning_rate(tc, step);
        let loss_v = train_step(&model, &mut opt, &data, tc, step, device)?;
        if !loss_v.is_finite() {
            bar.abandon();
            return Err(diverged(step, loss_v as f32, last_saved));
        }
        let done = step + 1;
        last_loss = loss_v;
        let is_eval = done % tc.eval_every == 0 || done == tc.steps;
        if done % tc.log_every == 0 || is_eval || done == 1 {
            let mut line = serde_json::Map::new();
            line.insert(log::STEP.into(), done.into());
            line.insert(log::LOSS.into(), json_f64(loss_v));
            line.insert(log::LR.into(), json_f64(lr));
            if is_eval {
                let ev = eval::evaluate(&model, &spec, data.eval_rows(), device)?;
                last_eval = ev.iter().map(|(k, v)| (k.clone(), json_f64(*v))).collect();
                for (k, v) in &ev {
                    line.insert(eval_key(k), json_f64(*v));
                }
                stopped_at = stop::stop_after(tc, &ev, done);
            }
            metrics.append(&line)?;
        }
        if stopped_at.is_some() {
            break;
        }
        if done % tc.checkpoint_every == 0 && done != tc.steps {
            save_all(cfg, run, &opt, &varmap, done, last_saved)?;
            last_saved = Some(done);
        }
        bar.set_position(done as u64);
        bar.set_message(format!("loss {loss_v:.4}"));
    }
    let end = stopped_at.unwrap_or(tc.steps);
    save_all(cfg, run, &opt, &varmap, end, last_saved)?;
    bar.finish_and_clear();
    let train_s = t0.elapsed().as_secs_f64();
    let ran = end - start;
    let ms_per_step = if ran > 0 {
        1000.0 * train_s / ran as f64
    } else {
        0.0
    };
    let (flops_per_step, gflops_per_s) = flops::summary_fields(cfg, ms_per_step);
    let summary = Summary {
        task: cfg.task.task().to_string(),
        steps: end,
        seed: cfg.seed,
        final_train_loss: last_loss,
        final_eval: last_eval,
        wall_s: wall.elapsed().as_secs_f64(),
        train_s,
        steps_per_s: if train_s > 0.0 {
            ran as f64 / train_s
        } else {
            0.0
        },
        ms_per_step,
        peak_rss_mb: peak_rss_mb(),
        threads: tc.threads,
        device: format!("{device:?}"),
        indu_version: env!("CARGO_PKG_VERSION"),
        candle_version: "0.11.1",
        flops_per_step,
        gflops_per_s,
        stop_when: tc.stop_when.as_ref().map(|s| s.to_string()),
        stopped_at,
    };
    write_json(&run.summary(), &summary)?;
    Ok(summary)
}

/// The error for a loss (or parameters) that stopped being finite at `step`.
fn diverged(step: usize, value: f32, last_saved: Option<usize>) -> Error {
    let kept = match last_saved {
        Some(s) => format!("the checkpoint of step {s} is kept"),
        None => "no checkpoint had been written yet, so nothing is kept".to_string(),
    };
    Error::Diverged { step, value, kept }
}

/// Checkpoint (params + moments + step) and the TransformerLens-format model, after `step`
/// steps. An update that overflowed leaves NaN/inf parameters even though the loss before
/// it was finite: such a state is never saved over the last good checkpoint.
fn save_all(
    cfg: &RunConfig,
    run: &RunDir,
    opt: &AdamW,
    varmap: &VarMap,
    step: usize,
    last_saved: Option<usize>,
) -> Result<()> {
    if !checkpoint::state_finite(opt)? {
        return Err(diverged(step, f32::NAN, last_saved));
    }
    checkpoint::save(run, opt)?;
    save_weights(varmap, &cfg.model, &run.model())
}

fn json_f64(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

fn progress_bar(steps: usize, start: usize, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(steps as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} step {pos}/{len} [{bar:30}] {msg} {per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_position(start as u64);
    bar
}

/// Peak resident set size in MiB (Linux VmHWM; 0 where unavailable).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
