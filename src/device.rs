//! Choosing the compute device and the CPU thread count.
use crate::error::{Error, Result};
use candle_core::Device;

/// Which device the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Cpu,
    Cuda,
}

/// Open the device. `Cuda` without the `cuda` cargo feature, or without a GPU, is a clear error.
pub fn open(kind: DeviceKind) -> Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        DeviceKind::Cuda => {
            if !candle_core::utils::cuda_is_available() {
                return Err(Error::Invalid(
                    "--device cuda: this indu was built without CUDA; rebuild with `cargo build --release --features cuda`".into(),
                ));
            }
            Device::new_cuda(0)
                .map_err(|e| Error::Invalid(format!("--device cuda: no usable GPU ({e})")))
        }
    }
}

/// Set the CPU backend's thread count. Must run before the first tensor operation
/// (candle and rayon read `RAYON_NUM_THREADS` once).
pub fn set_threads(n: usize) {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", n.max(1).to_string());
    }
}
