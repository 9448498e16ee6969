//! Seeded initial weights from our own RNG (`ChaCha8Rng`, Box-Muller normals, parameters in
//! sorted name order), since candle's CPU device cannot be seeded.
//!
//! `Init::Tl` (TransformerLens `init_mode = "gpt2"`): every `W_*` ~ N(0, init_range), biases 0,
//! LayerNorm `w = 1`, `b = 0`. `Init::Scaled` (seed 003 notebook): `W_E, W_pos, W_O, W_in,
//! W_out` ~ N(0, 1) / sqrt(d_model), `W_Q, W_K, W_V` ~ N(0, 1) / sqrt(d_head),
//! `W_U` ~ N(0, 1) / sqrt(d_vocab_out), biases 0. `Init::Grokking` (seed 003's modular-addition
//! model): the same but `W_Q, W_K, W_V` ~ N(0, 1) / sqrt(d_model) too.
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
}

/// How a parameter starts: a constant or N(0, std).
enum Start {
    Const(f64),
    Normal(f64),
}

fn start_of(cfg: &ModelConfig, name: &str) -> Start {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    if leaf == "w" {
        return Start::Const(1.0); // LayerNorm weight
    }
    if !leaf.starts_with("W_") {
        return Start::Const(0.0); // biases, LayerNorm bias
    }
    match cfg.init {
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
}
