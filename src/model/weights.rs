//! A model's parameters by name (`Weights`, read from a `VarMap` under one lock) and
//! TransformerLens state dicts on disk: `load_weights` (strict: every parameter present with
//! its shape, nothing unexpected), `save_weights` (f32 parameters plus the `attn.mask` /
//! `attn.IGNORE` buffers that `load_state_dict(strict=True)` wants) and `tl_config`, the
//! `HookedTransformerConfig` fields that rebuild the model in Python.
use super::config::{param_shapes, ActFn, ModelConfig, Normalization, Positional};
use crate::error::{Error, Result};
use crate::report::atomic_write;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

fn format_err(path: &Path, msg: String) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        msg,
    }
}

/// The parameters of a model by TransformerLens name (`embed.W_E`, `blocks.0.attn.W_Q`, ...),
/// taken from a `VarMap` under one lock. The `Var`s share storage with the map, so `set` on
/// one changes every model built from it.
#[derive(Debug, Clone, Default)]
pub struct Weights {
    vars: BTreeMap<String, Var>,
}

impl Weights {
    /// Every variable of `varmap`.
    pub fn of(varmap: &VarMap) -> Result<Weights> {
        let data = varmap
            .data()
            .lock()
            .map_err(|_| Error::Invalid("parameter map lock poisoned".into()))?;
        Ok(Weights {
            vars: data.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        })
    }

    /// Read a state dict once (`load_weights`'s checks) for `get` and for building models
    /// from [`Weights::varmap`].
    pub fn load(path: &Path, cfg: &ModelConfig, device: &Device, dtype: DType) -> Result<Weights> {
        Weights::of(&load_weights(path, cfg, device, dtype)?)
    }

    /// A `VarMap` of these same variables (shared storage), e.g. for
    /// `VarBuilder::from_varmap` and `Transformer::new`.
    pub fn varmap(&self) -> Result<VarMap> {
        varmap_of(self.vars.iter().map(|(k, v)| (k.clone(), v.clone())))
    }

    /// The parameter `name`.
    pub fn get(&self, name: &str) -> Result<&Var> {
        self.vars
            .get(name)
            .ok_or_else(|| Error::Invalid(format!("weights lack {name}")))
    }

    /// The tensor of parameter `name`.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        Ok(self.get(name)?.as_tensor().clone())
    }

    /// Every parameter's tensor converted to `dtype` (for another model or analysis).
    pub fn to_map(&self, dtype: DType) -> Result<HashMap<String, Tensor>> {
        self.vars
            .iter()
            .map(|(k, v)| Ok((k.clone(), v.as_tensor().to_dtype(dtype)?)))
            .collect()
    }

    /// Every parameter, by name.
    pub fn vars(&self) -> &BTreeMap<String, Var> {
        &self.vars
    }

    /// Every parameter, by name, taken out.
    pub fn into_vars(self) -> BTreeMap<String, Var> {
        self.vars
    }
}

/// A `VarMap` holding `vars` (filled under one lock).
pub fn varmap_of(vars: impl IntoIterator<Item = (String, Var)>) -> Result<VarMap> {
    let varmap = VarMap::new();
    varmap
        .data()
        .lock()
        .map_err(|_| Error::Invalid("parameter map lock poisoned".into()))?
        .extend(vars);
    Ok(varmap)
}

/// Whether `name` is one of TransformerLens's non-parameter attention buffers.
fn is_buffer(name: &str, n_layers: usize) -> bool {
    (0..n_layers).any(|l| {
        name.strip_prefix(&format!("blocks.{l}.attn."))
            .is_some_and(|rest| rest == "mask" || rest == "IGNORE")
    })
}

/// Little-endian bytes -> values (`width` bytes each; `data.len()` is a multiple of `width`,
/// checked by the safetensors header validation).
fn decode<const W: usize, T>(data: &[u8], from: fn([u8; W]) -> T) -> Vec<T> {
    data.chunks_exact(W)
        .map(|c| {
            let mut a = [0u8; W];
            a.copy_from_slice(c); // chunks_exact yields exactly W bytes
            from(a)
        })
        .collect()
}

/// Refuse a tensor holding NaN, an infinity or a value beyond `max` in magnitude: a model
/// that diverged, or a corrupt file, would otherwise load and give NaN losses downstream.
fn check_finite(
    path: &Path,
    name: &str,
    values: impl Iterator<Item = f64>,
    max: f64,
) -> Result<()> {
    for (i, v) in values.enumerate() {
        if !(v.is_finite() && v.abs() <= max) {
            return Err(format_err(
                path,
                format!(
                    "tensor {name} holds a non-finite value ({v} at flat index {i}): the weights are corrupt or come from a run that diverged; expected finite numbers"
                ),
            ));
        }
    }
    Ok(())
}

/// Read a TransformerLens state dict from a safetensors file (f32 or f64 tensors; the
/// `attn.mask` / `attn.IGNORE` buffers are ignored when present) into a `VarMap` of `dtype`
/// on `device`, with `state_dict_varmap`'s checks; a corrupt or truncated file is an
/// `Error::Format`.
pub fn load_weights(
    path: &Path,
    cfg: &ModelConfig,
    device: &Device,
    dtype: DType,
) -> Result<VarMap> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| format_err(path, format!("not a valid safetensors file: {e}")))?;
    let mut entries = Vec::new();
    for (name, view) in st.iter() {
        if is_buffer(name, cfg.n_layers) {
            continue;
        }
        let shape = view.shape().to_vec();
        let t = match view.dtype() {
            Dtype::F32 => {
                let v = decode::<4, f32>(view.data(), f32::from_le_bytes);
                Tensor::from_vec(v, shape, &Device::Cpu)?
            }
            Dtype::F64 => {
                let v = decode::<8, f64>(view.data(), f64::from_le_bytes);
                Tensor::from_vec(v, shape, &Device::Cpu)?
            }
            other => {
                return Err(format_err(
                    path,
                    format!("tensor {name} has dtype {other:?}, expected F32 or F64"),
                ))
            }
        };
        entries.push((name.to_string(), t));
    }
    state_dict_varmap(path, cfg, entries, device, dtype)
}

/// A state dict read from `path` (named tensors of a float dtype, on the CPU; TransformerLens's
/// attention buffers are skipped) as a `VarMap` of `dtype` on `device`. Strict, as
/// `load_state_dict(strict=True)`: every parameter of `cfg` present with its shape, nothing
/// else, every value finite (and within f32's range when loaded as f32). Errors name the
/// tensor and are `Error::Format` of `path`.
pub fn state_dict_varmap(
    path: &Path,
    cfg: &ModelConfig,
    entries: Vec<(String, Tensor)>,
    device: &Device,
    dtype: DType,
) -> Result<VarMap> {
    let expected: BTreeMap<String, Vec<usize>> = param_shapes(cfg).into_iter().collect();
    let mut found: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut unexpected = Vec::new();
    let mut entries = entries;
    // Files list tensors in any order; sort so errors name the same tensor every time.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, t) in entries {
        let Some(shape) = expected.get(&name) else {
            if !is_buffer(&name, cfg.n_layers) {
                unexpected.push(name);
            }
            continue;
        };
        if t.dims() != shape.as_slice() {
            return Err(format_err(
                path,
                format!(
                    "tensor {name} has shape {:?}, expected {shape:?} for this model config",
                    t.dims()
                ),
            ));
        }
        let max = match (t.dtype(), dtype) {
            (DType::F64, DType::F64) => f64::MAX,
            (DType::F64 | DType::F32 | DType::F16 | DType::BF16, _) => f64::from(f32::MAX),
            (other, _) => {
                return Err(format_err(
                    path,
                    format!("tensor {name} has dtype {other:?}, expected a float dtype"),
                ))
            }
        };
        let values = t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        check_finite(path, &name, values.into_iter(), max)?;
        found.insert(name, t.to_dtype(dtype)?.to_device(device)?);
    }
    if !unexpected.is_empty() {
        unexpected.sort();
        return Err(format_err(
            path,
            format!(
                "unexpected tensor(s) {} (not parameters of a model with this config)",
                unexpected.join(", ")
            ),
        ));
    }
    let missing: Vec<String> = expected
        .iter()
        .filter(|(n, _)| !found.contains_key(*n))
        .map(|(n, s)| format!("{n} {s:?}"))
        .collect();
    if !missing.is_empty() {
        return Err(format_err(
            path,
            format!("missing tensor(s) {}", missing.join(", ")),
        ));
    }
    found
        .into_iter()
        .map(|(name, t)| Ok((name, Var::from_tensor(&t)?)))
        .collect::<Result<Vec<_>>>()
        .and_then(varmap_of)
}

/// Serialise every parameter of `cfg` from `varmap` (as f32) plus the buffers
/// `blocks.{l}.attn.mask` (bool `[n_ctx, n_ctx]`, lower-triangular true) and
/// `blocks.{l}.attn.IGNORE` (f32 scalar `-inf`) to safetensors bytes.
pub fn weights_bytes(varmap: &VarMap, cfg: &ModelConfig) -> Result<Vec<u8>> {
    let mut blobs: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    let weights = Weights::of(varmap)?;
    for (name, shape) in param_shapes(cfg) {
        let var = weights
            .vars()
            .get(&name)
            .ok_or_else(|| Error::Invalid(format!("cannot save: parameter {name} is missing")))?;
        if var.dims() != shape.as_slice() {
            return Err(Error::Invalid(format!(
                "cannot save: parameter {name} has shape {:?}, expected {shape:?}",
                var.dims()
            )));
        }
        let values = var
            .as_tensor()
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        blobs.push((name, Dtype::F32, shape, bytes));
    }
    let n_ctx = cfg.n_ctx();
    let mask: Vec<u8> = (0..n_ctx * n_ctx)
        .map(|i| u8::from(i % n_ctx <= i / n_ctx))
        .collect();
    for l in 0..cfg.n_layers {
        blobs.push((
            format!("blocks.{l}.attn.mask"),
            Dtype::BOOL,
            vec![n_ctx, n_ctx],
            mask.clone(),
        ));
        blobs.push((
            format!("blocks.{l}.attn.IGNORE"),
            Dtype::F32,
            vec![],
            f32::NEG_INFINITY.to_le_bytes().to_vec(),
        ));
    }
    let views = blobs
        .iter()
        .map(|(n, d, s, b)| Ok((n.as_str(), TensorView::new(*d, s.clone(), b)?)))
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| Error::Invalid(format!("cannot build safetensors views: {e}")))?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::Invalid(format!("cannot serialise weights: {e}")))
}

/// Write the state dict of `weights_bytes` to `path` atomically.
pub fn save_weights(varmap: &VarMap, cfg: &ModelConfig, path: &Path) -> Result<()> {
    let bytes = weights_bytes(varmap, cfg)?;
    atomic_write(path, &bytes)
}

/// The `HookedTransformerConfig(**fields)` that rebuilds this model in TransformerLens.
pub fn tl_config(cfg: &ModelConfig) -> serde_json::Value {
    serde_json::json!({
        "n_layers": cfg.n_layers,
        "d_model": cfg.d_model,
        "n_ctx": cfg.n_ctx(),
        "d_head": cfg.d_head,
        "n_heads": cfg.n_heads,
        "d_vocab": cfg.d_vocab(),
        "d_vocab_out": cfg.d_vocab_out(),
        "attn_only": cfg.attn_only,
        "d_mlp": if cfg.attn_only { None } else { Some(cfg.d_mlp) },
        // TransformerLens's names: "gelu" = F.gelu (erf), "gelu_new" = the tanh approximation.
        "act_fn": match cfg.act_fn {
            ActFn::Relu => "relu",
            ActFn::Gelu => "gelu",
            ActFn::GeluNew => "gelu_new",
        },
        "normalization_type": match cfg.normalization {
            Normalization::LN => Some("LN"),
            Normalization::None => None,
        },
        "positional_embedding_type": match cfg.positional {
            Positional::Standard => "standard",
            Positional::Shortformer => "shortformer",
        },
        "eps": super::layernorm::LN_EPS,
        "attention_dir": "causal",
        "use_attn_scale": true,
        "use_attn_result": true,
        "init_mode": "gpt2",
        "initializer_range": cfg.init_range(),
        // indu's task tokenizers already put any start token in the rows.
        "default_prepend_bos": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init::init_varmap;

    #[test]
    fn weights_share_storage_with_the_map() -> Result<()> {
        let cfg = ModelConfig {
            n_ctx: Some(4),
            d_vocab: Some(5),
            d_vocab_out: Some(5),
            d_model: 8,
            d_head: 4,
            ..ModelConfig::default()
        };
        let varmap = init_varmap(&cfg, 1, &Device::Cpu, DType::F32)?;
        let w = Weights::of(&varmap)?;
        let names: Vec<String> = param_shapes(&cfg).into_iter().map(|(n, _)| n).collect();
        assert_eq!(w.vars().keys().cloned().collect::<Vec<_>>(), names);
        assert!(w.get("embed.W_F").is_err());
        let zeros = Tensor::zeros((5, 8), DType::F32, &Device::Cpu)?;
        w.get("embed.W_E")?.set(&zeros)?;
        let again = Weights::of(&w.varmap()?)?.tensor("embed.W_E")?;
        let from_map = Weights::of(&varmap)?.tensor("embed.W_E")?;
        for t in [again, from_map] {
            assert_eq!(t.abs()?.sum_all()?.to_scalar::<f32>()?, 0.0);
        }
        Ok(())
    }
}
