//! `ModelConfig`: the `[model]` section (transformer shape and options) and its enums, and
//! `param_shapes`, every parameter a model of that config has.
use serde::{Deserialize, Serialize};

/// Activation function of the MLP (TransformerLens's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActFn {
    #[serde(rename = "relu")]
    Relu,
    /// The exact GELU `x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))` (PyTorch `F.gelu`).
    #[serde(rename = "gelu")]
    Gelu,
    /// The tanh approximation `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))` (GPT-2's,
    /// makemore's `NewGELU`, PyTorch `F.gelu(approximate="tanh")`).
    #[serde(rename = "gelu_new")]
    GeluNew,
}

/// Normalisation before attention/MLP and before the unembedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Normalization {
    #[serde(rename = "none")]
    None,
    /// TransformerLens "LN": LayerNorm with learned weight and bias.
    #[serde(rename = "LN")]
    LN,
}

/// How positions enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Positional {
    /// Learned `W_pos` added to the residual stream.
    Standard,
    /// `W_pos` added to the query and key inputs only (seed 001).
    Shortformer,
}

/// How a block's attention output joins the residual stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Residual {
    /// `resid_post = resid_pre + attn_out` (TransformerLens).
    Standard,
    /// Seed 003's notebook model: its `forward` adds the block's output, which already holds
    /// the residual, to the residual again, so `resid_post = 2 * resid_pre + attn_out`. Not a
    /// TransformerLens model: runs with it get no `tl_config.json`.
    Notebook,
}

/// Initialisation scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// TransformerLens "gpt2": every matrix N(0, init_range), biases 0.
    Tl,
    /// Seed 003 notebook: N(0,1)/sqrt(d_model) (W_U: /sqrt(d_vocab)), biases 0.
    Scaled,
    /// PyTorch's module defaults, as makemore's transformer gets them (seed 000): every
    /// `nn.Linear` weight and bias U(-1/sqrt(fan_in), +1/sqrt(fan_in)), `nn.Embedding`
    /// (`W_E`, `W_pos`) N(0, 1), LayerNorm 1 and 0 (per parameter in `model/init.rs`).
    Torch,
    /// Seed 003's grokking model: every matrix N(0,1)/sqrt(d_model) (W_Q, W_K, W_V too),
    /// W_U N(0,1)/sqrt(d_vocab_out), biases 0.
    Grokking,
}

/// `ALL` (every variant, in declaration order) and `NAMES` (how a config file writes each,
/// as serde does; a test keeps the two in step) for an option enum.
macro_rules! option_names {
    ($t:ident { $($v:ident = $n:literal),+ $(,)? }) => {
        impl $t {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$t] = &[$($t::$v),+];
            /// The names a config file writes, in the order of `ALL`.
            pub const NAMES: &'static [&'static str] = &[$($n),+];
        }
    };
}
pub(crate) use option_names;

option_names!(ActFn { Relu = "relu", Gelu = "gelu", GeluNew = "gelu_new" });
option_names!(Normalization { None = "none", LN = "LN" });
option_names!(Positional { Standard = "standard", Shortformer = "shortformer" });
option_names!(Residual { Standard = "standard", Notebook = "notebook" });
option_names!(Init {
    Tl = "tl",
    Scaled = "scaled",
    Torch = "torch",
    Grokking = "grokking"
});

/// Whether `b` is `true` (serde's `skip_serializing_if` for flags that default to `true`).
fn is_true(b: &bool) -> bool {
    *b
}

/// Transformer shape and options. `n_ctx`, `d_vocab`, `d_vocab_out` default to the task's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub n_layers: usize,
    pub n_heads: usize,
    pub d_model: usize,
    pub d_head: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_ctx: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_vocab: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_vocab_out: Option<usize>,
    pub attn_only: bool,
    pub d_mlp: usize,
    pub act_fn: ActFn,
    pub normalization: Normalization,
    pub positional: Positional,
    pub init: Init,
    /// How attention outputs join the residual stream.
    pub residual: Residual,
    /// Standard deviation for `init = "tl"`; absent = TransformerLens's 0.8 / sqrt(d_model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_range: Option<f64>,
    /// Whether the unembedding has a trained bias `b_U`. `false` (makemore's `lm_head` has
    /// no bias): `unembed.b_U` is still saved, as TransformerLens loads one, but it stays 0
    /// and gets no gradient. Written to `config.toml` only when `false`.
    #[serde(skip_serializing_if = "is_true")]
    pub unembed_bias: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            n_layers: 2,
            n_heads: 1,
            d_model: 64,
            d_head: 64,
            n_ctx: None,
            d_vocab: None,
            d_vocab_out: None,
            attn_only: true,
            d_mlp: 256,
            act_fn: ActFn::Relu,
            normalization: Normalization::None,
            positional: Positional::Standard,
            init: Init::Tl,
            residual: Residual::Standard,
            init_range: None,
            unembed_bias: true,
        }
    }
}

impl ModelConfig {
    /// Context length (after `RunConfig::resolve`, always set).
    pub fn n_ctx(&self) -> usize {
        self.n_ctx.unwrap_or(0)
    }
    /// Input vocabulary size (after `RunConfig::resolve`, always set).
    pub fn d_vocab(&self) -> usize {
        self.d_vocab.unwrap_or(0)
    }
    /// Output vocabulary size (after `RunConfig::resolve`, always set).
    pub fn d_vocab_out(&self) -> usize {
        self.d_vocab_out.or(self.d_vocab).unwrap_or(0)
    }
    /// Factor by which the final residual stream carries what was written into it before
    /// layer `written_before` (`n_layers` = written by the last layer; 0 = the embeddings).
    /// 1 for the standard residual; `2^(n_layers - written_before)` for the notebook's, which
    /// doubles the stream at every layer. Exact in f32 (a power of two).
    pub fn stream_gain(&self, written_before: usize) -> f64 {
        match self.residual {
            Residual::Standard => 1.0,
            Residual::Notebook => {
                let doublings = self.n_layers.saturating_sub(written_before).min(1000);
                2f64.powi(doublings as i32)
            }
        }
    }
    /// The standard deviation of `init = "tl"`.
    pub fn init_range(&self) -> f64 {
        self.init_range
            .unwrap_or(0.8 / (self.d_model.max(1) as f64).sqrt())
    }
}

/// Every parameter of a model with config `cfg`: TransformerLens state-dict name and shape,
/// sorted by name.
/// The TransformerLens name of parameter `local` (e.g. `attn.W_O`) of block `layer`.
pub fn block_param(layer: usize, local: &str) -> String {
    format!("blocks.{layer}.{local}")
}

pub fn param_shapes(cfg: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let (dm, h, dh) = (cfg.d_model, cfg.n_heads, cfg.d_head);
    let ln = cfg.normalization == Normalization::LN;
    let mut out: Vec<(String, Vec<usize>)> = vec![
        ("embed.W_E".into(), vec![cfg.d_vocab(), dm]),
        ("pos_embed.W_pos".into(), vec![cfg.n_ctx(), dm]),
        ("unembed.W_U".into(), vec![dm, cfg.d_vocab_out()]),
        ("unembed.b_U".into(), vec![cfg.d_vocab_out()]),
    ];
    if ln {
        out.push(("ln_final.w".into(), vec![dm]));
        out.push(("ln_final.b".into(), vec![dm]));
    }
    for l in 0..cfg.n_layers {
        let p = |s: &str| block_param(l, s);
        for w in ["W_Q", "W_K", "W_V"] {
            out.push((p(&format!("attn.{w}")), vec![h, dm, dh]));
        }
        out.push((p("attn.W_O"), vec![h, dh, dm]));
        for b in ["b_Q", "b_K", "b_V"] {
            out.push((p(&format!("attn.{b}")), vec![h, dh]));
        }
        out.push((p("attn.b_O"), vec![dm]));
        let mut lns = vec!["ln1"];
        if !cfg.attn_only {
            lns.push("ln2");
            out.push((p("mlp.W_in"), vec![dm, cfg.d_mlp]));
            out.push((p("mlp.b_in"), vec![cfg.d_mlp]));
            out.push((p("mlp.W_out"), vec![cfg.d_mlp, dm]));
            out.push((p("mlp.b_out"), vec![dm]));
        }
        if ln {
            for n in lns {
                out.push((p(&format!("{n}.w")), vec![dm]));
                out.push((p(&format!("{n}.b")), vec![dm]));
            }
        }
    }
    out.sort();
    out
}
