//! `Edit`, a change to one activation (zero or mean a head, patch, any function), and
//! `Hooks`, what a forward pass takes: capture globs and edits by hook point.
use super::point::{glob_match, HookPoint};
use crate::error::{Error, Result};
use candle_core::Tensor;
use std::collections::BTreeMap;
use std::fmt;

/// A user function applied to an activation; it must return a tensor of the same shape.
pub type EditFn = dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync;

/// A change applied to an activation during the forward pass.
pub enum Edit {
    /// Set one head's slice (along the hook's head dimension) to zero.
    ZeroHead { head: usize },
    /// Set one head's slice to its mean over the batch: of `mean` (already reduced, shape of
    /// one head's slice with batch 1) when given, else of the activation itself.
    MeanHead { head: usize, mean: Option<Tensor> },
    /// Replace the activation by this tensor (patching from another run's cache).
    Replace(Tensor),
    /// Any function of the activation.
    Custom(Box<EditFn>),
}

impl fmt::Debug for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::ZeroHead { head } => write!(f, "ZeroHead({head})"),
            Edit::MeanHead { head, mean } => {
                write!(f, "MeanHead({head}, reference: {})", mean.is_some())
            }
            Edit::Replace(t) => write!(f, "Replace({:?})", t.shape()),
            Edit::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// Replace the slice `head` of `x` along `dim` by `value` (broadcast to the slice's shape),
/// or by zeros with `None`. E.g. `x: [batch, pos, head_index, d_head]` (`hook_z`), `dim = 2`:
/// `x[:, :, head, :] = value`.
pub fn replace_head(x: &Tensor, dim: usize, head: usize, value: Option<&Tensor>) -> Result<Tensor> {
    let n = x.dim(dim)?;
    if head >= n {
        return Err(Error::Invalid(format!(
            "head {head} is out of range: the activation has {n} heads"
        )));
    }
    let slice_shape = {
        let mut s = x.dims().to_vec();
        s[dim] = 1;
        s
    };
    let middle = match value {
        Some(v) => v.broadcast_as(slice_shape)?.contiguous()?,
        None => Tensor::zeros(slice_shape, x.dtype(), x.device())?,
    };
    let mut parts = Vec::with_capacity(3);
    if head > 0 {
        parts.push(x.narrow(dim, 0, head)?);
    }
    parts.push(middle);
    if head + 1 < n {
        parts.push(x.narrow(dim, head + 1, n - head - 1)?);
    }
    Ok(Tensor::cat(&parts, dim)?)
}

impl Edit {
    /// Apply the edit to the activation `x` of hook `hp`.
    pub fn apply(&self, hp: HookPoint, x: &Tensor) -> Result<Tensor> {
        match self {
            Edit::ZeroHead { head } => replace_head(x, head_dim_of(hp)?, *head, None),
            Edit::MeanHead { head, mean } => {
                let dim = head_dim_of(hp)?;
                let m = match mean {
                    Some(m) => m.clone(),
                    None => x.narrow(dim, *head, 1)?.mean_keepdim(0)?,
                };
                replace_head(x, dim, *head, Some(&m))
            }
            Edit::Replace(t) => {
                if t.shape() != x.shape() {
                    return Err(Error::Invalid(format!(
                        "patch for {hp} has shape {:?}, the activation has {:?}",
                        t.dims(),
                        x.dims()
                    )));
                }
                Ok(t.to_dtype(x.dtype())?.to_device(x.device())?)
            }
            Edit::Custom(f) => f(x),
        }
    }
}

fn head_dim_of(hp: HookPoint) -> Result<usize> {
    hp.head_dim().ok_or_else(|| {
        Error::Invalid(format!(
            "{hp} has no head dimension: head ablation works on attn.hook_q/k/v/z/result, \
             hook_attn_scores and hook_pattern"
        ))
    })
}

/// What a forward pass does at its hook points: capture (by glob) and edit.
#[derive(Debug, Default)]
pub struct Hooks {
    patterns: Vec<String>,
    edits: Vec<(HookPoint, Edit)>,
    /// Captured activations (detached, after any edit at the same hook), by hook point.
    pub captured: BTreeMap<HookPoint, Tensor>,
}

impl Hooks {
    /// No capture, no edits.
    pub fn new() -> Hooks {
        Hooks::default()
    }

    /// Capture every hook whose name matches one of `patterns` (globs, `*` = any run).
    pub fn capture<S: AsRef<str>>(patterns: &[S]) -> Hooks {
        Hooks {
            patterns: patterns.iter().map(|p| p.as_ref().to_string()).collect(),
            ..Hooks::default()
        }
    }

    /// Capture every hook.
    pub fn capture_all() -> Hooks {
        Hooks::capture(&["*"])
    }

    /// Add a capture glob.
    pub fn add_capture(&mut self, pattern: impl Into<String>) {
        self.patterns.push(pattern.into());
    }

    /// Add an edit at `hp`; edits at one hook run in the order they were added.
    pub fn add_edit(&mut self, hp: HookPoint, edit: Edit) {
        self.edits.push((hp, edit));
    }

    /// Zero-ablate head `head` at a per-head hook (`hook_z`/`hook_result`: head dim 2;
    /// `hook_pattern`/`hook_attn_scores`: head dim 1).
    pub fn zero_ablate_head(&mut self, hp: HookPoint, head: usize) -> Result<()> {
        head_dim_of(hp)?;
        self.add_edit(hp, Edit::ZeroHead { head });
        Ok(())
    }

    /// Mean-ablate head `head` at a per-head hook: replace its slice by the batch mean of
    /// `reference` (the same hook's activation from a reference run) or, with `None`, by the
    /// batch mean of the activation itself.
    pub fn mean_ablate_head(
        &mut self,
        hp: HookPoint,
        head: usize,
        reference: Option<&Tensor>,
    ) -> Result<()> {
        let dim = head_dim_of(hp)?;
        let mean = match reference {
            Some(r) => {
                let n = r.dim(dim)?;
                if head >= n {
                    return Err(Error::Invalid(format!(
                        "head {head} is out of range: the reference {hp} has {n} heads"
                    )));
                }
                Some(r.narrow(dim, head, 1)?.mean_keepdim(0)?.detach())
            }
            None => None,
        };
        self.add_edit(hp, Edit::MeanHead { head, mean });
        Ok(())
    }

    /// Replace the activation at `hp` by `value` (activation patching).
    pub fn patch(&mut self, hp: HookPoint, value: Tensor) {
        self.add_edit(hp, Edit::Replace(value));
    }

    /// Apply `f` to the activation at `hp`.
    pub fn edit_with(
        &mut self,
        hp: HookPoint,
        f: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static,
    ) {
        self.add_edit(hp, Edit::Custom(Box::new(f)));
    }

    /// Whether the activation at `hp` is captured.
    pub fn wants_capture(&self, hp: HookPoint) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let name = hp.to_string();
        self.patterns.iter().any(|p| glob_match(p, &name))
    }

    /// Whether an edit changes the activation at `hp` (a capture alone does not).
    pub fn edits_at(&self, hp: HookPoint) -> bool {
        self.edits.iter().any(|(h, _)| *h == hp)
    }

    /// Whether anything happens at `hp` (an edit or a capture).
    pub fn is_active(&self, hp: HookPoint) -> bool {
        self.edits.iter().any(|(h, _)| *h == hp) || self.wants_capture(hp)
    }

    /// Run the edits at `hp` on `x`, capture the result if wanted, and return it.
    pub fn apply(&mut self, hp: HookPoint, x: Tensor) -> Result<Tensor> {
        let mut x = x;
        for (h, edit) in &self.edits {
            if *h == hp {
                x = edit.apply(hp, &x)?;
            }
        }
        if self.wants_capture(hp) {
            self.captured.insert(hp, x.detach());
        }
        Ok(x)
    }

    /// The captured activation at `hp`.
    pub fn get(&self, hp: HookPoint) -> Option<&Tensor> {
        self.captured.get(&hp)
    }

    /// Take the captured activations out, leaving the capture empty.
    pub fn take_captured(&mut self) -> BTreeMap<HookPoint, Tensor> {
        std::mem::take(&mut self.captured)
    }
}
