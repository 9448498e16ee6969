//! The transformer: TransformerLens parity (CPU, and CUDA with the `cuda` feature), weights
//! files, hooks and hook points, gradients against finite differences.
#[cfg(feature = "cuda")]
mod cuda_parity;
mod gradcheck;
mod hookpoint;
mod hooks;
mod last_position;
mod parity;
mod weights;
