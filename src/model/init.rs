//! Seeded initial weights from our own RNG (`ChaCha8Rng`, Box-Muller normals, parameters in
//! sorted name order), since candle's CPU device cannot be seeded.
//!
//! `Init::Tl` (TransformerLens `init_mode = "gpt2"`): every `W_*` ~ N(0, init_range), biases 0,
//! LayerNorm `w = 1`, `b = 0`. `Init::Scaled` (seed 003 notebook): `W_E, W_pos, W_O, W_in,
//! W_out` ~ N(0, 1) / sqrt(d_model), `W_Q, W_K, W_V` ~ N(0, 1) / sqrt(d_head),
//! `W_U` ~ N(0, 1) / sqrt(d_vocab_out), biases 0 (the notebook's second `Attention` class,
//! its skip-trigram and induction sections). `Init::Grokking` (seed 003's first
//! `Transformer`, which its modular-addition and 5-digit addition sections train): the same
//! but `W_Q, W_K, W_V` ~ N(0, 1) / sqrt(d_model) too.
//!
//! `Init::Torch` (PyTorch's module defaults, makemore's transformer of seed 000, which calls
//! no init of its own): an `nn.Linear(fan_in, fan_out)` draws weight and bias from
//! U(-1/sqrt(fan_in), +1/sqrt(fan_in)) (`kaiming_uniform_(a = sqrt 5)` and its bias rule),
//! `nn.Embedding` N(0, 1), `nn.LayerNorm` weight 1 and bias 0. makemore's modules map onto
//! TransformerLens's parameters as:
//!
//! | makemore | TransformerLens | fan_in | start |
//! |---|---|---|---|
//! | `wte`, `wpe` (`nn.Embedding`) | `W_E [d_vocab, d_model]`, `W_pos [n_ctx, d_model]` | - | N(0, 1) |
//! | `attn.c_attn` (`Linear(d_model, 3 d_model)`) | `W_Q`, `W_K`, `W_V [n_heads, d_model, d_head]`, `b_Q`, `b_K`, `b_V [n_heads, d_head]` | `d_model` | U(+-1/sqrt(d_model)) |
//! | `attn.c_proj` (`Linear(d_model, d_model)`) | `W_O [n_heads, d_head, d_model]`, `b_O [d_model]` | `n_heads * d_head` | U(+-1/sqrt(n_heads d_head)) |
//! | `mlp.c_fc` (`Linear(d_model, 4 d_model)`) | `W_in [d_model, d_mlp]`, `b_in [d_mlp]` | `d_model` | U(+-1/sqrt(d_model)) |
//! | `mlp.c_proj` (`Linear(4 d_model, d_model)`) | `W_out [d_mlp, d_model]`, `b_out [d_model]` | `d_mlp` | U(+-1/sqrt(d_mlp)) |
//! | `lm_head` (`Linear(d_model, d_vocab, bias=False)`) | `W_U [d_model, d_vocab_out]`; `b_U` | `d_model` | U(+-1/sqrt(d_model)); `b_U` 0 (with `unembed_bias`, U(+-1/sqrt(d_model)) like any `Linear` bias) |
//! | `ln_1`, `ln_2`, `ln_f` | `ln1`, `ln2`, `ln_final` `.w`, `.b` | - | 1, 0 |
//!
//! PyTorch's uniform over the whole `c_attn` weight is the same distribution, element by
//! element, as independent uniforms over `W_Q`, `W_K`, `W_V` (its fan_in is `d_model` for
//! every output row), so the split into TransformerLens's tensors changes nothing.
use super::config::{param_shapes, Init, ModelConfig};
use super::weights::varmap_of;
use crate::error::Result;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Standard normal samples by the Box-Muller transform (both outputs of each pair are used).
pub struct Normal {
    rng: ChaCha8Rng,
    spare: Option<f64>,
}

impl Normal {
    /// A stream seeded with `seed`.
    pub fn new(seed: u64) -> Normal {
        Normal {
            rng: ChaCha8Rng::seed_from_u64(seed),
            spare: None,
        }
    }

    /// The next N(0, 1) sample.
    pub fn sample(&mut self) -> f64 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - self.rng.random::<f64>();
        let u2 = self.rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }

    /// A U(-bound, +bound) sample from the same stream.
    pub fn uniform(&mut self, bound: f64) -> f64 {
        (2.0 * self.rng.random::<f64>() - 1.0) * bound
    }
}

/// How a parameter starts: a constant, N(0, std) or U(-bound, +bound).
enum Start {
    Const(f64),
    Normal(f64),
    Uniform(f64),
}

/// The `fan_in` of the PyTorch `nn.Linear` that parameter `leaf` (a TransformerLens name:
/// `W_Q`, `b_in`, ...) belongs to in makemore's transformer; `None` for the embeddings.
fn torch_fan_in(cfg: &ModelConfig, leaf: &str) -> Option<usize> {
    match leaf {
        "W_Q" | "W_K" | "W_V" | "b_Q" | "b_K" | "b_V" => Some(cfg.d_model),
        "W_O" | "b_O" => Some(cfg.n_heads * cfg.d_head),
        "W_in" | "b_in" => Some(cfg.d_model),
        "W_out" | "b_out" => Some(cfg.d_mlp),
        "W_U" | "b_U" => Some(cfg.d_model),
        _ => None,
    }
}

fn start_of(cfg: &ModelConfig, name: &str) -> Start {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    match leaf {
        "w" => return Start::Const(1.0), // LayerNorm weight
        "b" => return Start::Const(0.0), // LayerNorm bias
        "b_U" if !cfg.unembed_bias => return Start::Const(0.0), // makemore's lm_head: no bias
        _ => {}
    }
    match cfg.init {
        Init::Torch => match torch_fan_in(cfg, leaf) {
            Some(fan) => Start::Uniform(1.0 / (fan.max(1) as f64).sqrt()),
            None => Start::Normal(1.0), // W_E, W_pos: nn.Embedding
        },
        Init::Tl | Init::Scaled | Init::Grokking if !leaf.starts_with("W_") => {
            Start::Const(0.0) // biases
        }
        Init::Tl => Start::Normal(cfg.init_range()),
        Init::Scaled => {
            let fan = match leaf {
                "W_U" => cfg.d_vocab_out(),
                "W_Q" | "W_K" | "W_V" => cfg.d_head,
                _ => cfg.d_model,
            };
            Start::Normal(1.0 / (fan.max(1) as f64).sqrt())
        }
        Init::Grokking => {
            let fan = match leaf {
                "W_U" => cfg.d_vocab_out(),
                _ => cfg.d_model,
            };
            Start::Normal(1.0 / (fan.max(1) as f64).sqrt())
        }
    }
}

/// A `VarMap` holding every parameter of `cfg` with its seeded initial value, in `dtype` on
/// `device`. Same `(cfg, seed)` -> same values on every device and dtype (drawn in f64).
pub fn init_varmap(cfg: &ModelConfig, seed: u64, device: &Device, dtype: DType) -> Result<VarMap> {
    let mut normal = Normal::new(seed);
    let mut vars = Vec::new();
    for (name, shape) in param_shapes(cfg) {
        let n: usize = shape.iter().product();
        let values: Vec<f64> = match start_of(cfg, &name) {
            Start::Const(c) => vec![c; n],
            Start::Normal(std) => (0..n).map(|_| normal.sample() * std).collect(),
            Start::Uniform(bound) => (0..n).map(|_| normal.uniform(bound)).collect(),
        };
        let t = Tensor::from_vec(values, shape, &Device::Cpu)?
            .to_dtype(dtype)?
            .to_device(device)?;
        vars.push((name, Var::from_tensor(&t)?));
    }
    varmap_of(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::Normalization;
    use crate::model::weights::Weights;

    fn cfg() -> ModelConfig {
        ModelConfig {
            n_ctx: Some(8),
            d_vocab: Some(10),
            normalization: Normalization::LN,
            attn_only: false,
            d_mlp: 32,
            d_model: 16,
            d_head: 4,
            n_heads: 2,
            ..ModelConfig::default()
        }
    }

    fn values(vm: &VarMap, name: &str) -> Result<Vec<f32>> {
        Ok(Weights::of(vm)?
            .tensor(name)?
            .flatten_all()?
            .to_vec1::<f32>()?)
    }

    #[test]
    fn normal_moments() {
        let mut n = Normal::new(7);
        let xs: Vec<f64> = (0..20000).map(|_| n.sample()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }

    #[test]
    fn seeded_and_scaled() -> Result<()> {
        let c = cfg();
        let a = init_varmap(&c, 3, &Device::Cpu, DType::F32)?;
        let b = init_varmap(&c, 3, &Device::Cpu, DType::F32)?;
        let d = init_varmap(&c, 4, &Device::Cpu, DType::F32)?;
        let wq = values(&a, "blocks.0.attn.W_Q")?;
        assert_eq!(wq, values(&b, "blocks.0.attn.W_Q")?);
        assert_ne!(wq, values(&d, "blocks.0.attn.W_Q")?);
        assert!(values(&a, "blocks.0.attn.b_Q")?.iter().all(|&x| x == 0.0));
        assert!(values(&a, "blocks.1.ln2.w")?.iter().all(|&x| x == 1.0));
        let std = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        let want = c.init_range() as f32;
        assert!((std(&values(&a, "blocks.0.mlp.W_in")?) - want).abs() < 0.03);
        let s = ModelConfig {
            init: Init::Scaled,
            ..c
        };
        let vs = init_varmap(&s, 3, &Device::Cpu, DType::F32)?;
        assert!((std(&values(&vs, "blocks.0.mlp.W_in")?) - 0.25).abs() < 0.03);
        // Q/K/V scale with d_head (4 here), as the notebook's `randn / sqrt(d_head)`.
        assert!((std(&values(&vs, "blocks.0.attn.W_K")?) - 0.5).abs() < 0.06);
        assert!((std(&values(&vs, "unembed.W_U")?) - 10f32.sqrt().recip()).abs() < 0.05);
        Ok(())
    }

    /// `init = "torch"`: every Linear parameter inside its +-1/sqrt(fan_in) and spread over
    /// it (a uniform's std is bound/sqrt 3), the embeddings N(0, 1), LayerNorm 1 and 0, and
    /// no unembedding bias when `unembed_bias = false`.
    #[test]
    fn torch_init_per_parameter() -> Result<()> {
        let c = ModelConfig {
            init: Init::Torch,
            unembed_bias: false,
            d_model: 64,
            d_head: 16,
            n_heads: 2, // n_heads * d_head = 32: W_O's fan_in differs from d_model
            d_mlp: 256,
            n_ctx: Some(32),
            d_vocab: Some(27),
            ..cfg()
        };
        let vm = init_varmap(&c, 5, &Device::Cpu, DType::F32)?;
        let uniform = [
            ("blocks.0.attn.W_Q", 64),
            ("blocks.0.attn.W_K", 64),
            ("blocks.1.attn.W_V", 64),
            ("blocks.0.attn.b_Q", 64),
            ("blocks.1.attn.b_V", 64),
            ("blocks.0.attn.W_O", 32),
            ("blocks.1.attn.b_O", 32),
            ("blocks.0.mlp.W_in", 64),
            ("blocks.0.mlp.b_in", 64),
            ("blocks.1.mlp.W_out", 256),
            ("blocks.1.mlp.b_out", 256),
            ("unembed.W_U", 64),
        ];
        for (name, fan_in) in uniform {
            let v = values(&vm, name)?;
            let bound = 1.0 / (fan_in as f32).sqrt();
            let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(max <= bound, "{name}: {max} > {bound}");
            assert!(max > 0.8 * bound, "{name}: {max} does not reach {bound}");
            if v.len() >= 1000 {
                let std = (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
                let want = bound / 3f32.sqrt();
                assert!(
                    (std - want).abs() < 0.05 * want,
                    "{name}: std {std} vs {want}"
                );
            }
        }
        for name in ["embed.W_E", "pos_embed.W_pos"] {
            let v = values(&vm, name)?;
            let mean = v.iter().sum::<f32>() / v.len() as f32;
            let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / v.len() as f32).sqrt();
            assert!(
                mean.abs() < 0.1 && (std - 1.0).abs() < 0.06,
                "{name}: {mean} {std}"
            );
        }
        for (name, want) in [
            ("blocks.0.ln1.w", 1.0),
            ("ln_final.w", 1.0),
            ("blocks.1.ln2.b", 0.0),
        ] {
            assert!(values(&vm, name)?.iter().all(|&x| x == want), "{name}");
        }
        assert!(values(&vm, "unembed.b_U")?.iter().all(|&x| x == 0.0));
        // With a trained unembedding bias, b_U is a Linear bias like the others.
        let with_bias = init_varmap(
            &ModelConfig {
                unembed_bias: true,
                ..c
            },
            5,
            &Device::Cpu,
            DType::F32,
        )?;
        let b_u = values(&with_bias, "unembed.b_U")?;
        assert!(b_u.iter().any(|&x| x != 0.0) && b_u.iter().all(|&x| x.abs() <= 0.125));
        Ok(())
    }
}
