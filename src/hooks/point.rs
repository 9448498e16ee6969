//! `HookPoint`: every TransformerLens hook name (its `Display` / `FromStr` are the only
//! place the strings are written), in forward-pass order, and `glob_match` for capture globs.
use crate::error::{Error, Result};
use std::cmp::Ordering;
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
