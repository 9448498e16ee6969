//! Hook points and hooks: `HookPoint` names every activation as TransformerLens does
//! (`point`), and `Hooks` is what a forward pass takes to capture activations (by glob) and
//! to edit them: ablation, patching (`edit`); `HeadRef` names one head (`head`). The
//! forward pass calls `run_hook` at each point.
mod edit;
mod head;
mod point;

pub use edit::{replace_head, Edit, EditFn, Hooks};
pub use head::{parse_head, parse_heads, HeadRef};
pub use point::{glob_match, HookPoint};

use crate::error::Result;
use candle_core::Tensor;

/// Run hook `hp` on `x` when `hooks` is present and active there; otherwise return `x`
/// untouched (no clone, no formatting).
#[inline]
pub fn run_hook(hooks: &mut Option<&mut Hooks>, hp: HookPoint, x: Tensor) -> Result<Tensor> {
    match hooks {
        Some(h) if h.is_active(hp) => h.apply(hp, x),
        _ => Ok(x),
    }
}

/// Whether `hooks` is present and edits the activation at `hp`.
#[inline]
pub fn hook_edits(hooks: &Option<&mut Hooks>, hp: HookPoint) -> bool {
    matches!(hooks, Some(h) if h.edits_at(hp))
}

/// Whether `hooks` is present and active at `hp`.
#[inline]
pub fn hook_active(hooks: &Option<&mut Hooks>, hp: HookPoint) -> bool {
    matches!(hooks, Some(h) if h.is_active(hp))
}
