//! `indu train --bench N`: median ms per training step after warm-up, one pasteable line.
use anyhow::Result;
use candle_core::Device;
use indu::config::RunConfig;
use indu::train::bench::{median, step_times};

pub fn run(cfg: &RunConfig, device: &Device, n: usize) -> Result<()> {
    let n = n.max(1);
    let warmup = 10.min(n);
    let times = step_times(cfg, device, warmup, n)?;
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let p10 = sorted[sorted.len() / 10];
    let p90 = sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)];
    println!(
        "| {} | {} threads | {:?} | median {:.2} ms/step | p10 {:.2} | p90 {:.2} | {} steps |",
        cfg.task.task(),
        cfg.train.threads,
        device,
        median(&times),
        p10,
        p90,
        times.len()
    );
    Ok(())
}
