//! `indu train --bench N`: median ms per training step after warm-up, one pasteable line.
use anyhow::Result;
use candle_core::Device;
use indu::config::RunConfig;

pub fn run(cfg: &RunConfig, device: &Device, n: usize) -> Result<()> {
    let r = indu::train::bench::bench(cfg, device, n)?;
    println!(
        "| {} | {} threads | {} | median {:.2} ms/step | p10 {:.2} | p90 {:.2} | {} steps |",
        r.task, r.threads, r.device, r.median_ms, r.p10_ms, r.p90_ms, r.steps
    );
    Ok(())
}
