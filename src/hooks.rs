//! Hook points and hooks: `HookPoint` owns every TransformerLens hook name (its `Display` /
//! `FromStr` are the only place the strings are written), and `Hooks` is what a forward pass
//! takes to capture activations (by glob) and to edit them (ablation, patching).
use crate::error::{Error, Result};
use candle_core::Tensor;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// One activation of the forward pass, named as TransformerLens names it. Layer-level hooks
/// carry the layer index. Ordered in forward-pass order (embeddings, then layer by layer, then
/// the final LayerNorm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookPoint {
    /// `hook_embed`: `W_E[tokens]`, `[batch, pos, d_model]`.
    Embed,
    /// `hook_pos_embed`: `W_pos[0:pos]` broadcast over the batch, `[batch, pos, d_model]`.
    PosEmbed,
    /// `blocks.{l}.hook_resid_pre`: residual stream entering layer `l`.
    ResidPre(usize),
    /// `blocks.{l}.ln1.hook_scale`: `[batch, pos, 1]`.
    Ln1Scale(usize),
    /// `blocks.{l}.ln1.hook_normalized`: `(x - mean) / scale`, before `w`, `b`.
    Ln1Normalized(usize),
    /// `blocks.{l}.attn.hook_q`: `[batch, pos, head_index, d_head]`.
    Q(usize),
    /// `blocks.{l}.attn.hook_k`: `[batch, pos, head_index, d_head]`.
    K(usize),
    /// `blocks.{l}.attn.hook_v`: `[batch, pos, head_index, d_head]`.
    V(usize),
    /// `blocks.{l}.attn.hook_attn_scores`: `[batch, head_index, query_pos, key_pos]`, masked
    /// entries `-inf`.
    AttnScores(usize),
    /// `blocks.{l}.attn.hook_pattern`: `[batch, head_index, query_pos, key_pos]`.
    Pattern(usize),
    /// `blocks.{l}.attn.hook_z`: `[batch, pos, head_index, d_head]`.
    Z(usize),
    /// `blocks.{l}.attn.hook_result`: `[batch, pos, head_index, d_model]` (without `b_O`).
    AttnResult(usize),
    /// `blocks.{l}.hook_attn_out`: `[batch, pos, d_model]`.
    AttnOut(usize),
    /// `blocks.{l}.hook_resid_mid`: residual stream between attention and MLP.
    ResidMid(usize),
    /// `blocks.{l}.ln2.hook_scale`: `[batch, pos, 1]`.
    Ln2Scale(usize),
    /// `blocks.{l}.ln2.hook_normalized`: `[batch, pos, d_model]`.
    Ln2Normalized(usize),
    /// `blocks.{l}.mlp.hook_pre`: `[batch, pos, d_mlp]`, before the activation.
    MlpPre(usize),
    /// `blocks.{l}.mlp.hook_post`: `[batch, pos, d_mlp]`, after the activation.
    MlpPost(usize),
    /// `blocks.{l}.hook_mlp_out`: `[batch, pos, d_model]` (with `b_out`).
    MlpOut(usize),
    /// `blocks.{l}.hook_resid_post`: residual stream leaving layer `l`.
    ResidPost(usize),
    /// `ln_final.hook_scale`: `[batch, pos, 1]`.
    LnFinalScale,
    /// `ln_final.hook_normalized`: `[batch, pos, d_model]`.
    LnFinalNormalized,
}

/// Layer-level hook constructors, in forward-pass order.
const BLOCK_HOOKS: [fn(usize) -> HookPoint; 18] = [
    HookPoint::ResidPre,
    HookPoint::Ln1Scale,
    HookPoint::Ln1Normalized,
    HookPoint::Q,
    HookPoint::K,
    HookPoint::V,
    HookPoint::AttnScores,
    HookPoint::Pattern,
    HookPoint::Z,
    HookPoint::AttnResult,
    HookPoint::AttnOut,
    HookPoint::ResidMid,
    HookPoint::Ln2Scale,
    HookPoint::Ln2Normalized,
    HookPoint::MlpPre,
    HookPoint::MlpPost,
    HookPoint::MlpOut,
    HookPoint::ResidPost,
];

/// Model-level hooks before the blocks, then after them.
const HEAD_HOOKS: [HookPoint; 2] = [HookPoint::Embed, HookPoint::PosEmbed];
const TAIL_HOOKS: [HookPoint; 2] = [HookPoint::LnFinalScale, HookPoint::LnFinalNormalized];

impl HookPoint {
    /// The layer index and the name below `blocks.{l}.` (or the whole name for model-level
    /// hooks). The single source of every hook string.
    fn parts(self) -> (Option<usize>, &'static str) {
        use HookPoint::*;
        match self {
            Embed => (None, "hook_embed"),
            PosEmbed => (None, "hook_pos_embed"),
            ResidPre(l) => (Some(l), "hook_resid_pre"),
            Ln1Scale(l) => (Some(l), "ln1.hook_scale"),
            Ln1Normalized(l) => (Some(l), "ln1.hook_normalized"),
            Q(l) => (Some(l), "attn.hook_q"),
            K(l) => (Some(l), "attn.hook_k"),
            V(l) => (Some(l), "attn.hook_v"),
            AttnScores(l) => (Some(l), "attn.hook_attn_scores"),
            Pattern(l) => (Some(l), "attn.hook_pattern"),
            Z(l) => (Some(l), "attn.hook_z"),
            AttnResult(l) => (Some(l), "attn.hook_result"),
            AttnOut(l) => (Some(l), "hook_attn_out"),
            ResidMid(l) => (Some(l), "hook_resid_mid"),
            Ln2Scale(l) => (Some(l), "ln2.hook_scale"),
            Ln2Normalized(l) => (Some(l), "ln2.hook_normalized"),
            MlpPre(l) => (Some(l), "mlp.hook_pre"),
            MlpPost(l) => (Some(l), "mlp.hook_post"),
            MlpOut(l) => (Some(l), "hook_mlp_out"),
            ResidPost(l) => (Some(l), "hook_resid_post"),
            LnFinalScale => (None, "ln_final.hook_scale"),
            LnFinalNormalized => (None, "ln_final.hook_normalized"),
        }
    }

    /// The layer of a layer-level hook.
    pub fn layer(self) -> Option<usize> {
        self.parts().0
    }

    /// The head dimension of a per-head activation: 2 for `hook_q/k/v/z/result`
    /// (`[batch, pos, head_index, ..]`), 1 for `hook_attn_scores/pattern`
    /// (`[batch, head_index, query_pos, key_pos]`), `None` otherwise.
    pub fn head_dim(self) -> Option<usize> {
        use HookPoint::*;
        match self {
            Q(_) | K(_) | V(_) | Z(_) | AttnResult(_) => Some(2),
            AttnScores(_) | Pattern(_) => Some(1),
            _ => None,
        }
    }

    /// Sort key in forward-pass order: (stage, layer, rank within the stage).
    fn order_key(self) -> (u8, usize, usize) {
        let rank = |list: &[HookPoint]| list.iter().position(|h| *h == self).unwrap_or(0);
        match self.layer() {
            // Every layer-level variant is in BLOCK_HOOKS.
            Some(l) => (
                1,
                l,
                BLOCK_HOOKS.iter().position(|f| f(l) == self).unwrap_or(0),
            ),
            None if HEAD_HOOKS.contains(&self) => (0, 0, rank(&HEAD_HOOKS)),
            None => (2, 0, rank(&TAIL_HOOKS)),
        }
    }

    /// Every hook of a model, in forward-pass order. `ln`: the model has LayerNorms;
    /// `attn_only`: no MLP (so no `hook_resid_mid`, `ln2.*`, `mlp.*`, `hook_mlp_out`).
    pub fn all(n_layers: usize, attn_only: bool, ln: bool) -> Vec<HookPoint> {
        let keep = |hp: &HookPoint| {
            let name = hp.parts().1;
            let is_ln = name.starts_with("ln");
            let is_mlp = name.starts_with("mlp.")
                || name.starts_with("ln2.")
                || matches!(name, "hook_resid_mid" | "hook_mlp_out");
            (ln || !is_ln) && (!attn_only || !is_mlp)
        };
        let mut out: Vec<HookPoint> = HEAD_HOOKS.to_vec();
        for l in 0..n_layers {
            out.extend(BLOCK_HOOKS.iter().map(|f| f(l)));
        }
        out.extend(TAIL_HOOKS);
        out.retain(keep);
        out
    }
}

impl PartialOrd for HookPoint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HookPoint {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order_key().cmp(&other.order_key())
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts() {
            (None, name) => f.write_str(name),
            (Some(l), name) => write!(f, "blocks.{l}.{name}"),
        }
    }
}

impl FromStr for HookPoint {
    type Err = Error;

    fn from_str(s: &str) -> Result<HookPoint> {
        let bad = || {
            Error::Invalid(format!(
                "unknown hook point {s:?}: expected a TransformerLens name such as \
                 hook_embed, blocks.0.attn.hook_pattern or ln_final.hook_normalized"
            ))
        };
        if let Some(rest) = s.strip_prefix("blocks.") {
            let (layer, name) = rest.split_once('.').ok_or_else(bad)?;
            let canonical = !layer.is_empty()
                && layer.bytes().all(|b| b.is_ascii_digit())
                && (layer == "0" || !layer.starts_with('0'));
            if !canonical {
                return Err(bad());
            }
            let l: usize = layer.parse().map_err(|_| bad())?;
            BLOCK_HOOKS
                .iter()
                .map(|f| f(l))
                .find(|hp| hp.parts().1 == name)
                .ok_or_else(bad)
        } else {
            HEAD_HOOKS
                .iter()
                .chain(TAIL_HOOKS.iter())
                .copied()
                .find(|hp| hp.parts().1 == s)
                .ok_or_else(bad)
        }
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (including dots
/// and the empty run) and every other character matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    // Position of the last `*` seen and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

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

/// Replace the slice `head` of `x` along `dim` by `value` (broadcast to the slice's shape).
fn replace_head(x: &Tensor, dim: usize, head: usize, value: Option<&Tensor>) -> Result<Tensor> {
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
