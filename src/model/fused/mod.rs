//! Fused CPU kernels with their own backward passes (candle `CustomOp`s), used for f32 on
//! the CPU; every other dtype/device takes the generic candle-op path in the callers.
//!
//! - [`causal_softmax`]: `softmax(scale * s + causal_mask)` over the last dim of attention
//!   scores `[.., q, k]`, computing only the visible (lower-triangular) part; backward
//!   `ds = scale * p * (dp - sum(dp * p))`.
//! - [`cross_entropy`]: per-row `logsumexp(x) - x[t]` for logits `[.., V]` and u32 targets
//!   `[..]`; backward `dx = (softmax(x) - onehot(t)) * dloss`.
//! - [`causal_attention`] / [`causal_attention_packed`]: `z = softmax(scale * q k^T + mask) v`
//!   as one node whose backward computes `dq`, `dk`, `dv` directly.
//! - [`layer_norm`]: LayerNorm over the last dim with its backward (`dx`, `dw`, `db`).
//! - [`gelu`]: the tanh ("gelu_new") and erf ("gelu") GELUs with their backward.
//!
//! Replacing the ~6 elementwise candle ops (and their backward ops, each allocating) per
//! softmax and per loss is the single largest saving on the attention-heavy presets.
mod attention;
mod cross_entropy;
mod gelu;
mod layernorm;
mod rows;
mod softmax;

pub use attention::{causal_attention, causal_attention_packed, AttentionParts};
pub use cross_entropy::cross_entropy;
pub use gelu::{gelu, Gelu};
pub use layernorm::layer_norm;
pub(crate) use rows::f32_slice;
pub use softmax::causal_softmax;

use candle_core::{DType, Tensor};

/// Whether the fused kernels apply to `t` (f32 on the CPU).
pub fn usable(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}
