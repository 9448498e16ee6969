//! Parity with TransformerLens: for each fixture model under `tests/fixtures/tl/`, load the
//! weights, run the forward pass capturing every hook, and compare every tensor of
//! `<name>.expected.safetensors` (hooks, logits, per-token and mean loss; f64 logits and loss
//! in float64).
use crate::util::fixture;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use indu::hooks::{HookPoint, Hooks};
use indu::model::config::{ActFn, ModelConfig, Normalization, Positional};
use indu::model::{load_weights, per_token_loss, Transformer};
use std::collections::HashMap;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const MODELS: [&str; 3] = ["attn2l4h_nonorm", "attn2l2h_ln", "trained_induction_2l1h"];

/// `<name>.config.json` (HookedTransformerConfig fields) -> ModelConfig, and its tokens file.
fn fixture_config(name: &str) -> Result<(ModelConfig, String), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(fixture(&format!("{name}.config.json")))?;
    let j: serde_json::Value = serde_json::from_str(&text)?;
    let u = |k: &str| -> Result<usize, String> {
        j[k].as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| format!("{name}: {k} missing"))
    };
    let cfg = ModelConfig {
        n_layers: u("n_layers")?,
        n_heads: u("n_heads")?,
        d_model: u("d_model")?,
        d_head: u("d_head")?,
        n_ctx: Some(u("n_ctx")?),
        d_vocab: Some(u("d_vocab")?),
        d_vocab_out: Some(u("d_vocab_out")?),
        attn_only: j["attn_only"].as_bool().ok_or("attn_only")?,
        d_mlp: u("d_mlp")?,
        act_fn: match j["act_fn"].as_str() {
            Some("gelu") => ActFn::Gelu,
            _ => ActFn::Relu,
        },
        normalization: match j["normalization_type"].as_str() {
            Some("LN") => Normalization::LN,
            None => Normalization::None,
            Some(other) => return Err(format!("unsupported normalization {other}").into()),
        },
        positional: match j["positional_embedding_type"].as_str() {
            Some("standard") => Positional::Standard,
            Some("shortformer") => Positional::Shortformer,
            other => return Err(format!("unsupported positions {other:?}").into()),
        },
        ..ModelConfig::default()
    };
    let tokens = j["input_tokens_file"]
        .as_str()
        .ok_or("input_tokens_file")?
        .to_string();
    Ok((cfg, tokens))
}

fn load_tokens(file: &str) -> Result<Tensor, Box<dyn std::error::Error>> {
    let m = candle_core::safetensors::load(fixture(file), &Device::Cpu)?;
    let t = m.get("tokens").ok_or("no tokens")?;
    Ok(t.to_dtype(DType::U32)?)
}

fn model(name: &str, dtype: DType) -> Result<(Transformer, Tensor), Box<dyn std::error::Error>> {
    let (cfg, tokens_file) = fixture_config(name)?;
    let path = fixture(&format!("{name}.weights.safetensors"));
    let varmap = load_weights(&path, &cfg, &Device::Cpu, dtype)?;
    let vb = VarBuilder::from_varmap(&varmap, dtype, &Device::Cpu);
    Ok((Transformer::new(&cfg, vb)?, load_tokens(&tokens_file)?))
}

/// Largest |a - b| treating equal infinities as equal; Err if an infinity is unmatched.
fn max_abs_diff(a: &Tensor, b: &Tensor, what: &str) -> Result<f64, String> {
    if a.dims() != b.dims() {
        return Err(format!(
            "{what}: shape {:?} vs expected {:?}",
            a.dims(),
            b.dims()
        ));
    }
    let to = |t: &Tensor| -> Result<Vec<f64>, String> {
        t.to_dtype(DType::F64)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f64>())
            .map_err(|e| e.to_string())
    };
    let (va, vb) = (to(a)?, to(b)?);
    let mut worst = 0f64;
    for (i, (x, y)) in va.iter().zip(&vb).enumerate() {
        if x.is_infinite() || y.is_infinite() {
            if x != y {
                return Err(format!("{what}: element {i}: {x} vs expected {y}"));
            }
            continue;
        }
        if x.is_nan() || y.is_nan() {
            return Err(format!("{what}: element {i}: NaN ({x} vs {y})"));
        }
        worst = worst.max((x - y).abs());
    }
    Ok(worst)
}

/// Loss at every position but the last, against the next token: `[batch, pos - 1]`.
fn next_token_loss(logits: &Tensor, tokens: &Tensor) -> candle_core::Result<Tensor> {
    let pos = tokens.dim(1)?;
    let l = logits.narrow(1, 0, pos - 1)?;
    let t = tokens.narrow(1, 1, pos - 1)?;
    per_token_loss(&l, &t).map_err(|e| candle_core::Error::Msg(e.to_string()))
}

/// Both attention paths: capture only (fused scores/softmax/values node on the CPU), and
/// with identity edits at every score, pattern and per-head result hook (the op-by-op path).
#[test]
fn f32_every_hook_logits_and_loss_match_transformer_lens() -> TestResult {
    for (name, edited) in MODELS.iter().flat_map(|n| [(*n, false), (*n, true)]) {
        let (model, tokens) = model(name, DType::F32)?;
        let mut hooks = Hooks::capture_all();
        if edited {
            let expected = fixture(&format!("{name}.expected.safetensors"));
            for key in candle_core::safetensors::load(expected, &Device::Cpu)?.keys() {
                if let Ok(
                    hp @ (HookPoint::AttnScores(_)
                    | HookPoint::Pattern(_)
                    | HookPoint::AttnResult(_)),
                ) = key.parse::<HookPoint>()
                {
                    hooks.edit_with(hp, |x| Ok(x.clone()));
                }
            }
        }
        let logits = model.forward(&tokens, Some(&mut hooks))?;
        let loss = next_token_loss(&logits, &tokens)?;
        let mut ours: HashMap<String, Tensor> = hooks
            .captured
            .iter()
            .map(|(hp, t)| (hp.to_string(), t.clone()))
            .collect();
        ours.insert("loss_mean".into(), loss.mean_all()?);
        ours.insert("logits".into(), logits);
        ours.insert("loss_per_token".into(), loss);
        let expected = candle_core::safetensors::load(
            fixture(&format!("{name}.expected.safetensors")),
            &Device::Cpu,
        )?;
        let mut keys: Vec<&String> = expected.keys().filter(|k| !k.starts_with("f64.")).collect();
        keys.sort();
        assert!(
            keys.len() > 20,
            "{name}: only {} expected tensors",
            keys.len()
        );
        let mut worst = (0f64, String::new());
        for key in keys {
            if key.starts_with("blocks.") || key.contains("hook_") {
                key.parse::<HookPoint>()?; // every expected hook name is one of ours
            }
            let got = ours
                .get(key.as_str())
                .ok_or_else(|| format!("{name}: {key} was not produced"))?;
            let d = max_abs_diff(got, &expected[key], &format!("{name} {key}"))?;
            assert!(d <= 1e-4, "{name} {key}: max abs diff {d:e}");
            if d >= worst.0 {
                worst = (d, key.clone());
            }
        }
        // Our capture holds no hook TransformerLens does not have.
        for k in ours.keys() {
            assert!(expected.contains_key(k), "{name}: extra hook {k}");
        }
        eprintln!(
            "{name} (edited: {edited}): f32 max abs diff {:e} ({})",
            worst.0, worst.1
        );
    }
    Ok(())
}

#[test]
fn f64_logits_and_loss_match_transformer_lens() -> TestResult {
    for name in MODELS {
        let (model, tokens) = model(name, DType::F64)?;
        let logits = model.forward(&tokens, None)?;
        assert_eq!(logits.dtype(), DType::F64);
        let loss = next_token_loss(&logits, &tokens)?;
        let expected = candle_core::safetensors::load(
            fixture(&format!("{name}.expected.safetensors")),
            &Device::Cpu,
        )?;
        let dl = max_abs_diff(&logits, &expected["f64.logits"], "f64.logits")?;
        let dp = max_abs_diff(&loss, &expected["f64.loss_per_token"], "f64.loss")?;
        eprintln!("{name}: f64 logits {dl:e}, loss {dp:e}");
        assert!(dl <= 1e-9 && dp <= 1e-9, "{name}: {dl:e} {dp:e}");
    }
    Ok(())
}

#[test]
fn forward_without_hooks_equals_forward_with_capture() -> TestResult {
    let (model, tokens) = model("attn2l2h_ln", DType::F32)?;
    let plain = model.forward(&tokens, None)?;
    let hooked = model.forward(&tokens, Some(&mut Hooks::capture_all()))?;
    assert!(max_abs_diff(&plain, &hooked, "logits")? <= 1e-5);
    // Shorter inputs than n_ctx work and agree with the prefix of the full pass.
    let short = model.forward(&tokens.narrow(1, 0, 7)?, None)?;
    let prefix = plain.narrow(1, 0, 7)?;
    assert!(max_abs_diff(&short, &prefix, "prefix")? <= 1e-5);
    Ok(())
}
