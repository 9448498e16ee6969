//! A TransformerLens `HookedTransformerConfig` (the JSON of `cfg.to_dict()`) read as indu's
//! `ModelConfig`. Every field TransformerLens writes is known here: the shape fields are
//! read, the fields that change the forward pass must hold the value indu computes (or the
//! config is refused, naming the field), and the rest (devices, init, hook switches,
//! checkpoint labels) are ignored. A field this list does not know is refused by name.
use crate::error::{Error, Result};
use crate::model::config::{ActFn, Init, ModelConfig, Normalization, Positional, Residual};
use crate::model::layernorm::LN_EPS;
use serde_json::{Map, Value};

/// Fields that do not change the forward pass indu computes: devices, dtypes, init,
/// hook switches (`use_attn_result`, `use_split_qkv_input`, ... only add hooks), names.
const IGNORED: &[&str] = &[
    "checkpoint_index",
    "checkpoint_label_type",
    "checkpoint_value",
    "default_prepend_bos",
    "device",
    "dtype",
    "from_checkpoint",
    "init_mode",
    "init_weights",
    "initializer_range",
    "layer_norm_folding",
    "load_in_4bit",
    "model_name",
    "n_devices",
    "n_params",
    "original_architecture",
    "seed",
    "tokenizer_name",
    "tokenizer_prepends_bos",
    "train_seq_length",
    "trust_remote_code",
    "use_attn_in",
    "use_attn_result",
    "use_hook_mlp_in",
    "use_hook_tokens",
    "use_split_qkv_input",
    "decoder_start_token_id",
    "experts_per_token",
    "tie_word_embeddings",
    "ungroup_grouped_query_attention",
];

/// Fields that must hold this neutral value (null counts as it too): anything else is a
/// model indu does not compute.
fn neutral() -> Vec<(&'static str, Value)> {
    use serde_json::json;
    vec![
        ("attention_dir", json!("causal")),
        ("attn_scores_soft_cap", json!(-1.0)),
        ("attn_types", Value::Null),
        ("clip_qkv", Value::Null),
        ("final_rms", json!(false)),
        ("gated_mlp", json!(false)),
        ("n_key_value_heads", Value::Null),
        ("norm_topk_prob", json!(false)),
        ("num_experts", Value::Null),
        ("output_logits_soft_cap", json!(-1.0)),
        ("parallel_attn_mlp", json!(false)),
        ("post_embedding_ln", json!(false)),
        ("quantization_method", Value::Null),
        ("relative_attention_max_distance", Value::Null),
        ("relative_attention_num_buckets", Value::Null),
        ("scale_attn_by_inverse_layer_idx", json!(false)),
        ("use_attention_sinks", json!(false)),
        ("use_attn_scale", json!(true)),
        ("use_local_attn", json!(false)),
        ("use_logn_attn", json!(false)),
        ("use_normalization_before_and_after", json!(false)),
        ("use_qk_norm", json!(false)),
        ("uses_rms_norm", json!(false)),
        ("window_size", Value::Null),
    ]
}

/// Fields that only matter for positions or layers indu refuses anyway (rotary, NTK, YaRN,
/// local attention), so any value is accepted once those are off.
const ROTARY_ONLY: &[&str] = &[
    "NTK_by_parts_factor",
    "NTK_by_parts_high_freq_factor",
    "NTK_by_parts_low_freq_factor",
    "NTK_original_ctx_len",
    "rotary_adjacent_pairs",
    "rotary_base",
    "rotary_base_local",
    "rotary_dim",
    "rotary_scaling_factor",
    "use_NTK_by_parts_rope",
    "use_dynamic_ntk_rope",
    "use_yarn_rope",
    "yarn_attention_factor",
    "yarn_beta_fast",
    "yarn_beta_slow",
    "yarn_factor",
    "yarn_global_attn_only",
    "yarn_original_max_position_embeddings",
    "yarn_truncate",
];

/// Fields read into the model config.
const READ: &[&str] = &[
    "n_layers",
    "d_model",
    "n_ctx",
    "d_head",
    "n_heads",
    "d_vocab",
    "d_vocab_out",
    "d_mlp",
    "attn_only",
    "act_fn",
    "normalization_type",
    "positional_embedding_type",
    "eps",
    "attn_scale",
];

/// Largest size of any one dimension read from a config.
const MAX_DIM: u64 = 1 << 24;

/// The `ModelConfig` of a TransformerLens config JSON `text` (init and residual are indu's
/// defaults: the weights come from the checkpoint).
pub fn model_config(text: &str) -> Result<ModelConfig> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        Error::Invalid(format!(
            "not valid JSON (line {}, column {}); expected the JSON of HookedTransformerConfig.to_dict()",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(map) = v else {
        return Err(Error::Invalid(
            "expected a JSON object of HookedTransformerConfig fields".into(),
        ));
    };
    check_fields(&map)?;
    let n_layers = dim(&map, "n_layers", true)?.unwrap_or(0);
    let d_model = dim(&map, "d_model", true)?.unwrap_or(0);
    let n_ctx = dim(&map, "n_ctx", true)?.unwrap_or(0);
    let d_head = dim(&map, "d_head", true)?.unwrap_or(0);
    let n_heads = dim(&map, "n_heads", true)?.unwrap_or(0);
    let d_vocab = dim(&map, "d_vocab", true)?.unwrap_or(0);
    // TransformerLens writes -1 for "the same as d_vocab".
    let d_vocab_out = match map.get("d_vocab_out") {
        Some(Value::Number(n)) if n.as_i64() == Some(-1) => d_vocab,
        _ => dim(&map, "d_vocab_out", false)?.unwrap_or(d_vocab),
    };
    let attn_only = match map.get("attn_only") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(field_err("attn_only", other, "true or false")),
    };
    let d_mlp = if attn_only {
        ModelConfig::default().d_mlp
    } else {
        dim(&map, "d_mlp", false)?.ok_or_else(|| {
            Error::Invalid(
                "field d_mlp is missing: a model with attn_only = false needs its MLP width".into(),
            )
        })?
    };
    let act_fn = match (attn_only, map.get("act_fn")) {
        (true, _) => ActFn::Relu,
        (false, Some(Value::String(s))) => match s.as_str() {
            "relu" => ActFn::Relu,
            "gelu" => ActFn::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" => ActFn::GeluNew,
            _ => {
                return Err(field_err(
                    "act_fn",
                    &map["act_fn"],
                    "relu, gelu or gelu_new",
                ))
            }
        },
        (false, other) => {
            return Err(field_err(
                "act_fn",
                other.unwrap_or(&Value::Null),
                "relu, gelu or gelu_new",
            ))
        }
    };
    let normalization = match map.get("normalization_type") {
        None | Some(Value::Null) => Normalization::None,
        Some(Value::String(s)) if s == "LN" => Normalization::LN,
        Some(other) => {
            return Err(field_err(
                "normalization_type",
                other,
                "null or \"LN\" (LNPre, RMS and RMSPre are not supported)",
            ))
        }
    };
    let positional = match map.get("positional_embedding_type") {
        None | Some(Value::Null) => Positional::Standard,
        Some(Value::String(s)) if s == "standard" => Positional::Standard,
        Some(Value::String(s)) if s == "shortformer" => Positional::Shortformer,
        Some(other) => {
            return Err(field_err(
                "positional_embedding_type",
                other,
                "\"standard\" or \"shortformer\" (rotary and alibi are not supported)",
            ))
        }
    };
    if normalization == Normalization::LN {
        if let Some(eps) = map.get("eps").filter(|v| !v.is_null()) {
            if eps.as_f64() != Some(LN_EPS) {
                return Err(field_err(
                    "eps",
                    eps,
                    &format!("{LN_EPS:e}, the only LayerNorm epsilon indu computes"),
                ));
            }
        }
    }
    if let Some(scale) = map.get("attn_scale").filter(|v| !v.is_null()) {
        let want = (d_head as f64).sqrt();
        let ok = scale
            .as_f64()
            .is_some_and(|s| (s - want).abs() <= 1e-6 * want);
        if !ok {
            return Err(field_err(
                "attn_scale",
                scale,
                &format!("sqrt(d_head) = {want}, the scale indu divides attention scores by"),
            ));
        }
    }
    Ok(ModelConfig {
        n_layers,
        n_heads,
        d_model,
        d_head,
        n_ctx: Some(n_ctx),
        d_vocab: Some(d_vocab),
        d_vocab_out: Some(d_vocab_out),
        attn_only,
        d_mlp,
        act_fn,
        normalization,
        positional,
        init: Init::Tl,
        residual: Residual::Standard,
        init_range: None,
        unembed_bias: true,
    })
}

/// Refuse a field that no list knows, or a neutral field with another value.
fn check_fields(map: &Map<String, Value>) -> Result<()> {
    let neutral = neutral();
    let mut unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| {
            !(READ.contains(k)
                || IGNORED.contains(k)
                || ROTARY_ONLY.contains(k)
                || neutral.iter().any(|(n, _)| n == k))
        })
        .collect();
    if !unknown.is_empty() {
        unknown.sort_unstable();
        return Err(Error::Invalid(format!(
            "unknown field(s) {}: not HookedTransformerConfig fields indu knows how to honour",
            unknown.join(", ")
        )));
    }
    for (name, want) in &neutral {
        let Some(got) = map.get(*name) else { continue };
        let same = got.is_null()
            || got == want
            || matches!((got.as_f64(), want.as_f64()), (Some(a), Some(b)) if a == b);
        if !same {
            let shown = if want.is_null() {
                "null".to_string()
            } else {
                want.to_string()
            };
            return Err(field_err(
                name,
                got,
                &format!("{shown} (indu does not compute the model this value makes)"),
            ));
        }
    }
    Ok(())
}

/// A positive whole-number field; `required` ones must be present.
fn dim(map: &Map<String, Value>, key: &str, required: bool) -> Result<Option<usize>> {
    match map.get(key) {
        None | Some(Value::Null) if required => Err(Error::Invalid(format!(
            "field {key} is missing: a TransformerLens config must give it"
        ))),
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_DIM).contains(&n) => Ok(Some(n as usize)),
            _ => Err(field_err(key, v, &format!("a whole number 1..={MAX_DIM}"))),
        },
    }
}

fn field_err(key: &str, got: &Value, want: &str) -> Error {
    Error::Invalid(format!(
        "field {key} = {got} is not supported: expected {want}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"n_layers": 2, "d_model": 8, "n_ctx": 6, "d_head": 4, "n_heads": 2,
               "d_vocab": 10, "attn_only": true, "positional_embedding_type": "shortformer",
               "normalization_type": null, "attn_scale": 2.0, "use_attn_result": true,
               "rotary_dim": null})
    }

    fn with(key: &str, v: Value) -> String {
        let mut b = base();
        b[key] = v;
        b.to_string()
    }

    #[test]
    fn shape_fields_are_read() {
        let m = model_config(&base().to_string()).unwrap();
        assert_eq!((m.n_layers, m.d_model, m.d_head, m.n_heads), (2, 8, 4, 2));
        assert_eq!((m.n_ctx(), m.d_vocab(), m.d_vocab_out()), (6, 10, 10));
        assert_eq!(m.positional, Positional::Shortformer);
        assert!(m.attn_only);
        let m = model_config(&with("d_vocab_out", json!(-1))).unwrap();
        assert_eq!(m.d_vocab_out(), 10);
    }

    #[test]
    fn mlp_models_need_width_and_activation() {
        let mut b = base();
        b["attn_only"] = json!(false);
        b["act_fn"] = json!("gelu_new");
        b["normalization_type"] = json!("LN");
        let e = model_config(&b.to_string()).unwrap_err().to_string();
        assert!(e.contains("d_mlp is missing"), "{e}");
        b["d_mlp"] = json!(32);
        let m = model_config(&b.to_string()).unwrap();
        assert_eq!(
            (m.d_mlp, m.act_fn, m.normalization),
            (32, ActFn::GeluNew, Normalization::LN)
        );
        b["act_fn"] = json!("silu");
        let e = model_config(&b.to_string()).unwrap_err().to_string();
        assert!(
            e.starts_with("field act_fn = \"silu\" is not supported"),
            "{e}"
        );
    }

    #[test]
    fn bad_configs_are_refused_by_field() {
        let mut b = base();
        b.as_object_mut().unwrap().remove("d_head");
        let e = model_config(&b.to_string()).unwrap_err().to_string();
        assert_eq!(
            e,
            "field d_head is missing: a TransformerLens config must give it"
        );
        let e = model_config(&with("positional_embedding_type", json!("rotary")))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("field positional_embedding_type = \"rotary\""),
            "{e}"
        );
        let e = model_config(&with("gated_mlp", json!(true)))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("field gated_mlp = true is not supported"),
            "{e}"
        );
        let e = model_config(&with("flash_attn", json!(true)))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("unknown field(s) flash_attn"), "{e}");
        let e = model_config(&with("attn_scale", json!(3.0)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("sqrt(d_head) = 2"), "{e}");
        let e = model_config(&with("n_heads", json!(0)))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("field n_heads = 0"), "{e}");
        assert!(model_config("[1]").is_err());
        assert!(model_config("{")
            .unwrap_err()
            .to_string()
            .starts_with("not valid JSON"));
    }
}
