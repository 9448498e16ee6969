//! Timing of the training step (batch + forward + loss + backward + AdamW), no run written:
//! the step runner, the timed steps and their `BenchReport` (median and percentiles, FLOPs
//! per step and GFLOP/s, and on the CPU the share of the measured single-core gemm peak).
use super::data_source::DataSource;
use super::optim::AdamW;
use super::peak::Peak;
use super::{flops, peak};
use crate::config::RunConfig;
use crate::error::Result;
use crate::model::Transformer;
use candle_core::Device;
use serde::Serialize;
use std::time::Instant;

/// Untimed warm-up steps before the timed ones (fewer when fewer steps are timed).
pub const WARMUP: usize = 10;

/// Timings of `steps` training steps of one config.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub task: String,
    pub threads: usize,
    /// The device as candle prints it (`Cpu`, `Cuda(..)`).
    pub device: String,
    pub median_ms: f64,
    /// The 10th and 90th percentile step times (the sorted times at n/10 and 9n/10).
    pub p10_ms: f64,
    pub p90_ms: f64,
    pub steps: usize,
    /// Matrix-product FLOPs of one step, forward + backward (`flops`).
    pub flops_per_step: u64,
    /// `flops_per_step` at the median step time.
    pub gflops_per_s: f64,
    /// The single-core gemm peak measured after the steps (CPU only).
    pub peak: Option<Peak>,
    /// `gflops_per_s / peak.best_gflops` (CPU only; above 1 is possible with threads > 1).
    pub peak_share: Option<f64>,
}

impl BenchReport {
    /// The version of this report's layout (not a field of its JSON).
    pub const SCHEMA_VERSION: u32 = 1;
}

/// Time `n` (at least 1) training steps of `cfg` on `device` after `WARMUP` untimed ones.
pub fn bench(cfg: &RunConfig, device: &Device, n: usize) -> Result<BenchReport> {
    let n = n.max(1);
    let times = step_times(cfg, device, WARMUP.min(n), n)?;
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median_ms = median(&times);
    let flops_per_step = flops::step_flops(cfg);
    let gflops_per_s = flops::gflops_per_s(flops_per_step, median_ms);
    let peak = device
        .is_cpu()
        .then(|| peak::measure(peak::PEAK_SIZE, peak::PEAK_REPS));
    let peak_share = peak
        .as_ref()
        .filter(|p| p.best_gflops > 0.0)
        .map(|p| gflops_per_s / p.best_gflops);
    Ok(BenchReport {
        task: cfg.task.task().to_string(),
        threads: super::workers(&cfg.train, device),
        device: format!("{device:?}"),
        median_ms,
        p10_ms: sorted[sorted.len() / 10],
        p90_ms: sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)],
        steps: times.len(),
        flops_per_step,
        gflops_per_s,
        peak,
        peak_share,
    })
}

/// A model, optimiser and data stream ready to run timed training steps (no run written).
pub struct StepRunner {
    cfg: RunConfig,
    device: Device,
    data: DataSource,
    model: Transformer,
    opt: AdamW,
    step: usize,
    ablate: Vec<crate::hooks::HeadRef>,
}

impl StepRunner {
    /// Build everything `cfg` needs on `device` (a tiny eval set: only training is timed).
    pub fn new(cfg: &RunConfig, device: &Device) -> Result<StepRunner> {
        super::tune_allocator();
        let spec = cfg.task.spec(cfg.seed)?;
        let mut small = cfg.clone();
        small.train.eval_size = 1;
        let data = DataSource::new(&small, &spec, None)?;
        let (_, model, opt) = super::build(cfg, device)?;
        Ok(StepRunner {
            cfg: cfg.clone(),
            device: device.clone(),
            data,
            model,
            opt,
            step: 0,
            ablate: super::ablated_heads(cfg)?,
        })
    }

    /// One full step: batch + forward + loss + backward + clipping + AdamW (synchronised).
    pub fn step(&mut self) -> Result<()> {
        super::train_step(
            &self.model,
            &mut self.opt,
            &self.data,
            &self.cfg.train,
            self.step,
            &self.device,
            &self.ablate,
        )?;
        self.device.synchronize()?;
        self.step += 1;
        Ok(())
    }

    /// The model (e.g. to time forward passes on trained-from-init weights).
    pub fn model(&self) -> &Transformer {
        &self.model
    }
}

/// Milliseconds of each of `n` training steps after `warmup` untimed ones.
pub fn step_times(cfg: &RunConfig, device: &Device, warmup: usize, n: usize) -> Result<Vec<f64>> {
    let mut runner = StepRunner::new(cfg, device)?;
    let mut times = Vec::with_capacity(n);
    for step in 0..warmup + n {
        let t = Instant::now();
        runner.step()?;
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
