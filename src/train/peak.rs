//! The machine's single-core f32 matrix-product peak, measured through the same `gemm`
//! crate (and so the same micro-kernel dispatch) as candle's CPU matmul and indu's fused
//! layers: a square product repeated on one thread, its best and median GFLOP/s. The bench
//! reports a step's GFLOP/s as a share of it.
use serde::Serialize;
use std::time::Instant;

/// The side of the square product the peak is measured on (`[n, n] x [n, n]`).
pub const PEAK_SIZE: usize = 512;
/// Timed products (after `PEAK_WARMUP` untimed ones).
pub const PEAK_REPS: usize = 40;
/// Untimed products first (page faults, packing buffers, frequency ramp).
pub const PEAK_WARMUP: usize = 5;

/// A measured single-core gemm peak.
#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    /// `m = n = k` of the product.
    pub size: usize,
    pub reps: usize,
    /// GFLOP/s of the fastest product (the peak: a busy machine only slows products down).
    pub best_gflops: f64,
    /// GFLOP/s of the median product.
    pub median_gflops: f64,
    /// The widest x86 vector extension the CPU reports that gemm has kernels for here:
    /// `avx512f` (needs gemm's `x86-v4` feature, which indu enables), `fma`, or `none`.
    pub cpu_simd: &'static str,
}

/// Measure the peak on a `size`-cube product, `reps` timed products, one thread.
pub fn measure(size: usize, reps: usize) -> Peak {
    let n = size.max(1);
    let reps = reps.max(1);
    // Values of order 1, no zeros or denormals (which some kernels treat faster or slower).
    let a: Vec<f32> = (0..n * n).map(|i| 0.5 + (i % 13) as f32 * 0.01).collect();
    let b: Vec<f32> = (0..n * n).map(|i| 1.0 - (i % 7) as f32 * 0.02).collect();
    let mut c = vec![0f32; n * n];
    let mut secs = Vec::with_capacity(reps);
    for rep in 0..PEAK_WARMUP + reps {
        let t = Instant::now();
        // SAFETY: `a`, `b` and `c` each hold n * n contiguous row-major f32 values; the
        // strides (column 1, row n) address exactly those. `c` is a separate allocation from
        // `a` and `b`, and `read_dst = false` overwrites it with 1.0 * a @ b.
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                b.as_ptr(),
                1,
                n as isize,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        let dt = t.elapsed().as_secs_f64();
        if rep >= PEAK_WARMUP {
            secs.push(dt);
        }
    }
    std::hint::black_box(&c);
    let flops = 2.0 * (n as f64).powi(3);
    let best = secs.iter().copied().fold(f64::INFINITY, f64::min);
    let median = super::bench::median(&secs);
    let rate = |s: f64| if s > 0.0 { flops / s / 1e9 } else { 0.0 };
    Peak {
        size: n,
        reps,
        best_gflops: rate(best),
        median_gflops: rate(median),
        cpu_simd: cpu_simd(),
    }
}

/// See [`Peak::cpu_simd`]: what gemm's run-time dispatch (`is_x86_feature_detected!`)
/// picks between.
fn cpu_simd() -> &'static str {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512f";
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return "fma";
        }
    }
    "none"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small product gives a positive, finite rate with best >= median.
    #[test]
    fn measures_a_positive_rate() {
        let p = measure(64, 3);
        assert_eq!((p.size, p.reps), (64, 3));
        assert!(p.best_gflops.is_finite() && p.best_gflops > 0.0, "{p:?}");
        assert!(p.best_gflops >= p.median_gflops, "{p:?}");
    }
}
