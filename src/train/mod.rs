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
pub(crate) mod parallel;
pub mod peak;
pub mod run;
pub mod seeds;
pub mod stop;

use crate::config::RunConfig;
use crate::data::Batch;
use crate::dynamics::grokking::GrokkingSteps;
use crate::dynamics::phases::PhaseChanges;
use crate::dynamics::track::{EvalAt, Measured, Tracker, TrackingInfo};
use crate::error::{Error, Result};
use crate::hooks::HeadRef;
use crate::model::config::block_param;
use crate::model::config::Residual;
use crate::model::{init_varmap, save_weights, tl_config, varmap_of, Transformer, Weights};
use crate::report::write_json;
use crate::run_dir::snapshots;
use crate::run_dir::RunDir;
use crate::tasks::Task;
use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use data_source::DataSource;
use log::eval_key;
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
    /// Point `<parent>/latest` at the run once it starts (a sweep's runs leave it alone).
    pub mark_latest: bool,
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
    /// `[train] ablate_heads`: heads zero-ablated in every training forward pass.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ablate_heads: Vec<String>,
    /// What the tracked steps measured on (absent when tracking was off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking: Option<TrackingInfo>,
    /// When the loss dropped and the heads formed (`dynamics::phases`; absent when
    /// tracking was off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_changes: Option<PhaseChanges>,
    /// Seconds of `train_s` spent on tracked passes and snapshots (evaluations made only
    /// for tracking included; those on the eval cadence not).
    pub tracking_s: f64,
    /// Modular addition: the first evaluation steps at which training accuracy reached 1
    /// (and 0.99) and held-out accuracy 0.99 (grokking: much later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modular_addition: Option<GrokkingSteps>,
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

/// Seed of a run's fixed tracking probe batch (pure function of the run seed).
pub fn track_seed(seed: u64) -> u64 {
    splitmix(seed ^ 0x5452_4143_4b00_0000)
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

/// The heads `[train] ablate_heads` names (checked when the config was read).
pub fn ablated_heads(cfg: &RunConfig) -> Result<Vec<HeadRef>> {
    let m = &cfg.model;
    cfg.train
        .ablate_heads
        .iter()
        .map(|h| crate::hooks::parse_head("train.ablate_heads", h, m.n_layers, m.n_heads))
        .collect()
}

/// The weights to save: the parameters, with the `W_O` rows of the ablated heads zeroed,
/// so that the saved model computes what was trained (a zero-ablated head writes nothing;
/// TransformerLens and every analysis then see the same function).
fn saved_weights(varmap: &VarMap, ablate: &[HeadRef]) -> Result<VarMap> {
    if ablate.is_empty() {
        return Ok(varmap.clone());
    }
    let mut vars = Weights::of(varmap)?.into_vars();
    for h in ablate {
        let name = block_param(h.layer, "attn.W_O");
        let w_o = vars
            .get(&name)
            .ok_or_else(|| Error::Invalid(format!("the model has no {name}")))?
            .as_tensor()
            .clone();
        let zeroed = crate::hooks::replace_head(&w_o, 0, h.head, None)?;
        vars.insert(name, candle_core::Var::from_tensor(&zeroed)?);
    }
    varmap_of(vars)
}

/// The number of data-parallel workers for `tc` on `device`: the CPU splits the batch over
/// `tc.workers()`; a GPU runs the whole batch in one stream.
pub(crate) fn workers(tc: &crate::config::TrainConfig, device: &Device) -> usize {
    match device {
        Device::Cpu => tc.workers(),
        Device::Cuda(_) | Device::Metal(_) => 1,
    }
}

/// One training step: the step's batch, forward, masked loss, backward, clipping, AdamW.
/// Returns the loss; when it is not finite nothing is updated.
/// Zero-ablates the heads of `ablate` (none: no hooks at all).
pub(crate) fn train_step(
    model: &Transformer,
    opt: &mut AdamW,
    data: &DataSource,
    tc: &crate::config::TrainConfig,
    step: usize,
    device: &Device,
    ablate: &[HeadRef],
) -> Result<f64> {
    let rows = data.train_batch(step, tc.batch_size);
    let batch = Batch::from_rows(&rows, device)?;
    let params: Vec<&candle_core::Tensor> = opt.params.iter().map(|p| p.var.as_tensor()).collect();
    let (loss_v, grads) = parallel::loss_and_grads(
        model,
        &batch,
        data.last_position_only(),
        ablate,
        workers(tc, device),
        &params,
    )?;
    let Some(grads) = grads.filter(|_| loss_v.is_finite()) else {
        return Ok(loss_v);
    };
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
    let ablate = ablated_heads(cfg)?;

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
    let mut metrics = log::open_metrics(run, start, opts.resume, tc.eval_every)?;
    let tracker = if tc.track_every() > 0 {
        Some(Tracker::new(cfg, &spec, &ablate, track_seed(cfg.seed))?)
    } else {
        None
    };
    let mut dynamics = match tracker {
        Some(_) => Some(open_dynamics(run, cfg, start, opts.resume)?),
        None => None,
    };
    if opts.resume {
        snapshots::prune_after(run, start)?;
    }
    if tc.snapshot_every > 0 {
        let dir = snapshots::dir(run);
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    }
    crate::run_dir::vocab::write(&run.path, &spec)?;
    match cfg.model.residual {
        Residual::Standard => {
            write_json(&run.tl_config(), &tl_config(&cfg.model))?;
            if tc.snapshot_every > 0 {
                let dir = snapshots::dir(run);
                write_json(&dir.join("tl_config.json"), &tl_config(&cfg.model))?;
            }
        }
        // TransformerLens has no such model: no config that would load it as another one.
        Residual::Notebook => {}
    }
    let ctx = Step {
        cfg,
        run,
        model: &model,
        varmap: &varmap,
        spec: &spec,
        data: &data,
        device,
        ablate: &ablate,
        tracker: tracker.as_ref(),
    };
    if start == 0 {
        // The initial weights: the line and the snapshot every curve starts from.
        ctx.keep_step(0, dynamics.as_mut(), None, false)?;
    }

    // `runs/latest` moves only now that training really starts (a resumed run's checkpoint
    // has loaded), so a run that cannot start never becomes the latest.
    if opts.mark_latest {
        run.mark_latest();
    }
    let bar = progress_bar(tc.steps, start, opts.progress);
    let t0 = Instant::now();
    let mut last_loss = f64::NAN;
    let mut last_eval = serde_json::Map::new();
    let mut last_saved = opts.resume.then_some(start);
    let mut stopped_at = None;
    // Seconds spent on tracking and snapshots (evaluations made only for tracking count).
    let mut tracking_s = 0.0;
    for step in start..tc.steps {
        if opts.interrupt.load(Ordering::SeqCst) {
            save_all(cfg, run, &opt, &varmap, step, last_saved, &ablate)?;
            // Cleared, not left: the message that follows starts on its own line.
            bar.finish_and_clear();
            return Err(Error::Interrupted { step });
        }
        let lr = learning_rate(tc, step);
        let loss_v = train_step(&model, &mut opt, &data, tc, step, device, &ablate)?;
        if !loss_v.is_finite() {
            bar.finish_and_clear();
            return Err(diverged(step, loss_v as f32, last_saved));
        }
        let done = step + 1;
        last_loss = loss_v;
        let is_eval = done % tc.eval_every == 0 || done == tc.steps;
        let tracked_only = !is_eval && tracker.is_some() && tc.is_tracked(done);
        let t_track = Instant::now();
        let eval = if is_eval || tracked_only {
            Some(ctx.evaluate()?)
        } else {
            None
        };
        if tracked_only {
            tracking_s += t_track.elapsed().as_secs_f64();
        }
        if done % tc.log_every == 0 || is_eval || done == 1 {
            let mut line = serde_json::Map::new();
            line.insert(log::STEP.into(), done.into());
            line.insert(log::LOSS.into(), json_f64(loss_v));
            line.insert(log::LR.into(), json_f64(lr));
            if let (true, Some(ev)) = (is_eval, &eval) {
                let ev = &ev.metrics;
                last_eval = ev.iter().map(|(k, v)| (k.clone(), json_f64(*v))).collect();
                for (k, v) in ev {
                    line.insert(eval_key(k), json_f64(*v));
                }
                stopped_at = stop::stop_after(tc, ev, done);
            }
            metrics.append(&line)?;
        }
        // Before the checkpoint: a kill between the two leaves lines and snapshots past
        // the checkpoint, which a resume removes; never a checkpoint past a missing line.
        let t_track = Instant::now();
        ctx.keep_step(done, dynamics.as_mut(), eval.as_ref(), stopped_at.is_some())?;
        tracking_s += t_track.elapsed().as_secs_f64();
        if stopped_at.is_some() {
            break;
        }
        if done % tc.checkpoint_every == 0 && done != tc.steps {
            save_all(cfg, run, &opt, &varmap, done, last_saved, &ablate)?;
            last_saved = Some(done);
        }
        bar.set_position(done as u64);
        bar.set_message(format!("loss {loss_v:.4}"));
    }
    let end = stopped_at.unwrap_or(tc.steps);
    save_all(cfg, run, &opt, &varmap, end, last_saved, &ablate)?;
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
        threads: workers(tc, device),
        device: format!("{device:?}"),
        indu_version: env!("CARGO_PKG_VERSION"),
        candle_version: "0.11.1",
        flops_per_step,
        gflops_per_s,
        stop_when: tc.stop_when.as_ref().map(|s| s.to_string()),
        stopped_at,
        ablate_heads: tc.ablate_heads.clone(),
        tracking_s,
        phase_changes: match tracker {
            Some(_) => Some(phase_changes_of(run)?),
            None => None,
        },
        tracking: tracker.map(|t| t.info),
        modular_addition: if cfg.task.task() == Task::ModularAddition {
            Some(grokking_steps_of(run)?)
        } else {
            None
        },
    };
    write_json(&run.summary(), &summary)?;
    Ok(summary)
}

/// The grokking steps of `run`'s metrics.jsonl as it is now.
fn grokking_steps_of(run: &RunDir) -> Result<GrokkingSteps> {
    let path = run.metrics();
    let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
    Ok(GrokkingSteps::of(&log::curves(&text)))
}

/// The phase changes of `run`'s metrics.jsonl and dynamics.jsonl as they are now.
fn phase_changes_of(run: &RunDir) -> Result<PhaseChanges> {
    let path = run.metrics();
    let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
    let lines = crate::dynamics::read_lines(&run.path.join(DYNAMICS_FILE))?;
    Ok(crate::dynamics::phases::phase_changes(
        &log::curves(&text),
        &lines,
        crate::dynamics::phases::DEFAULT_FRACTION,
    ))
}

/// `dynamics.jsonl` of a run resumed (or started) after `start` steps: lines past the
/// checkpoint are dropped, and so is a line at `start` off the cadence (the last step of a
/// run that is now continued to more steps, which an uninterrupted run does not track).
fn open_dynamics(
    run: &RunDir,
    cfg: &RunConfig,
    start: usize,
    resume: bool,
) -> Result<log::JsonLines> {
    let every = cfg.train.track_every();
    log::JsonLines::open(run.path.join(DYNAMICS_FILE), resume, |step, _| {
        if step < start || (step == start && step.is_multiple_of(every)) {
            log::Keep::AsIs
        } else {
            log::Keep::Drop
        }
    })
}

/// The file of tracked measures in a run.
pub const DYNAMICS_FILE: &str = "dynamics.jsonl";

/// What a step's evaluation, tracking and snapshot need.
struct Step<'a> {
    cfg: &'a RunConfig,
    run: &'a RunDir,
    model: &'a Transformer,
    varmap: &'a VarMap,
    spec: &'a crate::tasks::TaskSpec,
    data: &'a DataSource,
    device: &'a Device,
    ablate: &'a [HeadRef],
    tracker: Option<&'a Tracker>,
}

impl Step<'_> {
    /// The held-out metrics and per-token loss of the model now.
    fn evaluate(&self) -> Result<eval::Evaluation> {
        eval::evaluate_with_loss(
            self.model,
            self.spec,
            self.data.eval_rows(),
            self.device,
            self.ablate,
            workers(&self.cfg.train, self.device),
        )
    }

    /// After `done` steps: the tracked line (when `done` is tracked, or is the `last` step
    /// of a run that `stop_when` ends) and the snapshot (when it is a snapshot step). `eval` is the step's evaluation if it was made.
    fn keep_step(
        &self,
        done: usize,
        dynamics: Option<&mut log::JsonLines>,
        eval: Option<&eval::Evaluation>,
        last: bool,
    ) -> Result<()> {
        let tc = &self.cfg.train;
        if let (Some(tracker), Some(out), true) =
            (self.tracker, dynamics, last || tc.is_tracked(done))
        {
            let made;
            let e = match eval {
                Some(e) => e,
                None => {
                    made = self.evaluate()?;
                    &made
                }
            };
            let line = tracker.measure(Measured {
                step: done,
                model: self.model,
                varmap: self.varmap,
                cfg: self.cfg,
                device: self.device,
                ablate: self.ablate,
                eval: EvalAt {
                    metrics: &e.metrics,
                    loss: &e.loss,
                    mask: &self.data.eval_rows().mask,
                },
            })?;
            out.append(&line)?;
        }
        if tc.is_snapshot(done) {
            let weights = saved_weights(self.varmap, self.ablate)?;
            save_weights(&weights, &self.cfg.model, &snapshots::path(self.run, done))?;
        }
        Ok(())
    }
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
    ablate: &[HeadRef],
) -> Result<()> {
    if !checkpoint::state_finite(opt)? {
        return Err(diverged(step, f32::NAN, last_saved));
    }
    checkpoint::save(run, opt)?;
    save_weights(&saved_weights(varmap, ablate)?, &cfg.model, &run.model())
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
