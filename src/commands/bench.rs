//! `indu train --bench N`: median ms per training step after warm-up, FLOPs per step,
//! GFLOP/s and the share of the single-core gemm peak, one pasteable line. `indu train
//! --peak`: that peak alone.
use anyhow::Result;
use candle_core::Device;
use indu::config::RunConfig;
use indu::train::peak::{self, Peak};

pub fn run(cfg: &RunConfig, device: &Device, n: usize) -> Result<()> {
    let r = indu::train::bench::bench(cfg, device, n)?;
    let share = match (&r.peak, r.peak_share) {
        (Some(p), Some(s)) => format!(
            " {:.0}% of the {:.1} GFLOP/s 1-core gemm peak |",
            100.0 * s,
            p.best_gflops
        ),
        _ => String::new(),
    };
    println!(
        "| {} | {} threads | {} | median {:.2} ms/step | p10 {:.2} | p90 {:.2} | {} steps | {:.1} MFLOP/step | {:.2} GFLOP/s |{share}",
        r.task,
        r.threads,
        r.device,
        r.median_ms,
        r.p10_ms,
        r.p90_ms,
        r.steps,
        r.flops_per_step as f64 / 1e6,
        r.gflops_per_s,
    );
    Ok(())
}

/// Measure and print the single-core f32 gemm peak.
pub fn peak() -> Result<()> {
    let p: Peak = peak::measure(peak::PEAK_SIZE, peak::PEAK_REPS);
    println!(
        "1-core f32 gemm {n}x{n}x{n}: best {:.1} GFLOP/s, median {:.1} GFLOP/s ({} products; CPU SIMD: {})",
        p.best_gflops,
        p.median_gflops,
        p.reps,
        p.cpu_simd,
        n = p.size
    );
    Ok(())
}
