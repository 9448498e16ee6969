//! Weights on disk: save -> load round trip (with the TransformerLens buffers), strict loading
//! errors (wrong shape, unexpected, missing, truncated, garbage), f64 files, parameter names.
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use indu::model::config::{ActFn, Init, ModelConfig, Normalization, Positional, Residual};
use indu::model::{init_varmap, load_weights, param_shapes, save_weights, tl_config, Transformer};
use indu::Error;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn cfg(attn_only: bool, ln: bool) -> ModelConfig {
    ModelConfig {
        n_layers: 2,
        n_heads: 2,
        d_model: 8,
        d_head: 4,
        n_ctx: Some(6),
        d_vocab: Some(11),
        d_vocab_out: Some(9),
        attn_only,
        d_mlp: 12,
        act_fn: ActFn::Gelu,
        normalization: if ln {
            Normalization::LN
        } else {
            Normalization::None
        },
        positional: Positional::Standard,
        init: Init::Tl,
        residual: Residual::Standard,
        init_range: None,
        unembed_bias: true,
    }
}

fn var_values(vm: &VarMap) -> Result<BTreeMap<String, Vec<f32>>, Box<dyn std::error::Error>> {
    let data = vm.data().lock().map_err(|_| "lock")?;
    let mut out = BTreeMap::new();
    for (k, v) in data.iter() {
        let vals = v
            .as_tensor()
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        out.insert(k.clone(), vals);
    }
    Ok(out)
}

#[test]
fn transformer_new_creates_exactly_param_shapes() -> TestResult {
    for (attn_only, ln) in [(true, false), (true, true), (false, true), (false, false)] {
        let c = cfg(attn_only, ln);
        let vm = VarMap::new();
        let vb = VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu);
        Transformer::new(&c, vb)?;
        let data = vm.data().lock().map_err(|_| "lock")?;
        let mut made: Vec<(String, Vec<usize>)> = data
            .iter()
            .map(|(k, v)| (k.clone(), v.dims().to_vec()))
            .collect();
        made.sort();
        assert_eq!(made, param_shapes(&c), "attn_only={attn_only} ln={ln}");
    }
    let c = cfg(false, true);
    let names: Vec<String> = param_shapes(&c).into_iter().map(|(n, _)| n).collect();
    for n in [
        "blocks.1.ln2.w",
        "blocks.0.mlp.W_in",
        "blocks.0.mlp.b_out",
        "ln_final.b",
    ] {
        assert!(names.iter().any(|x| x == n), "{n}");
    }
    Ok(())
}

#[test]
fn save_load_round_trip_with_buffers() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (attn_only, ln) in [(true, true), (false, true), (false, false)] {
        let c = cfg(attn_only, ln);
        let vm = init_varmap(&c, 11, &Device::Cpu, DType::F32)?;
        let path = dir.path().join("model.safetensors");
        save_weights(&vm, &c, &path)?;
        let back = load_weights(&path, &c, &Device::Cpu, DType::F32)?;
        assert_eq!(var_values(&vm)?, var_values(&back)?);
        // The file holds the TL buffers.
        let bytes = std::fs::read(&path)?;
        let st = SafeTensors::deserialize(&bytes)?;
        for l in 0..c.n_layers {
            let m = st.tensor(&format!("blocks.{l}.attn.mask"))?;
            assert_eq!(m.dtype(), Dtype::BOOL);
            assert_eq!(m.shape(), &[6, 6]);
            let expect: Vec<u8> = (0..36).map(|i| u8::from(i % 6 <= i / 6)).collect();
            assert_eq!(m.data(), expect.as_slice());
            let ig = st.tensor(&format!("blocks.{l}.attn.IGNORE"))?;
            assert_eq!(ig.dtype(), Dtype::F32);
            assert!(ig.shape().is_empty());
            assert_eq!(ig.data(), f32::NEG_INFINITY.to_le_bytes().as_slice());
        }
        assert_eq!(st.len(), param_shapes(&c).len() + 2 * c.n_layers);
        // Same weights -> same logits after reloading.
        let tokens = Tensor::new(&[[0u32, 3, 5, 10], [1, 2, 2, 9]], &Device::Cpu)?;
        let a = Transformer::new(&c, VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu))?;
        let b = Transformer::new(&c, VarBuilder::from_varmap(&back, DType::F32, &Device::Cpu))?;
        let d = (a.forward(&tokens, None)? - b.forward(&tokens, None)?)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert_eq!(d, 0.0);
    }
    Ok(())
}

/// Write `tensors` (name, dtype, shape, f64 values) as a safetensors file.
fn write_raw(
    path: &std::path::Path,
    tensors: &[(String, Dtype, Vec<usize>, Vec<f64>)],
) -> TestResult {
    let blobs: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, d, s, v)| {
            let bytes: Vec<u8> = match d {
                Dtype::F64 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                _ => v.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect(),
            };
            (n.clone(), *d, s.clone(), bytes)
        })
        .collect();
    let mut views = Vec::new();
    for (n, d, s, b) in &blobs {
        views.push((n.as_str(), TensorView::new(*d, s.clone(), b)?));
    }
    std::fs::write(path, safetensors::serialize(views, None)?)?;
    Ok(())
}

fn full_state(c: &ModelConfig, dtype: Dtype) -> Vec<(String, Dtype, Vec<usize>, Vec<f64>)> {
    param_shapes(c)
        .into_iter()
        .map(|(n, s)| {
            let len: usize = s.iter().product();
            let v = (0..len).map(|i| (i as f64) * 0.01 - 0.3).collect();
            (n, dtype, s, v)
        })
        .collect()
}

fn format_msg(e: Error) -> String {
    match e {
        Error::Format { msg, .. } => msg,
        other => panic!("expected Error::Format, got {other:?}"),
    }
}

#[test]
fn f64_files_load_into_f32_and_f64() -> TestResult {
    let dir = tempfile::tempdir()?;
    let c = cfg(false, true);
    let path = dir.path().join("w64.safetensors");
    write_raw(&path, &full_state(&c, Dtype::F64))?;
    let vm = load_weights(&path, &c, &Device::Cpu, DType::F64)?;
    let data = vm.data().lock().map_err(|_| "lock")?;
    let w = data.get("blocks.0.attn.W_Q").ok_or("W_Q")?;
    assert_eq!(w.dtype(), DType::F64);
    assert_eq!(
        w.as_tensor().flatten_all()?.to_vec1::<f64>()?[1],
        0.01 - 0.3
    );
    drop(data);
    load_weights(&path, &c, &Device::Cpu, DType::F32)?;
    Ok(())
}

#[test]
fn strict_loading_names_the_problem() -> TestResult {
    let dir = tempfile::tempdir()?;
    let c = cfg(true, true);
    let path = dir.path().join("bad.safetensors");

    let mut wrong = full_state(&c, Dtype::F32);
    for t in wrong.iter_mut().filter(|t| t.0 == "blocks.1.attn.W_K") {
        t.2 = vec![2, 8, 3];
        t.3.truncate(48);
    }
    write_raw(&path, &wrong)?;
    let e = load_weights(&path, &c, &Device::Cpu, DType::F32)
        .err()
        .ok_or("accepted")?;
    let msg = format_msg(e);
    assert!(msg.contains("blocks.1.attn.W_K"), "{msg}");
    assert!(
        msg.contains("[2, 8, 3]") && msg.contains("[2, 8, 4]"),
        "{msg}"
    );

    let mut extra = full_state(&c, Dtype::F32);
    extra.push((
        "blocks.0.mlp.W_in".into(),
        Dtype::F32,
        vec![2],
        vec![0.0, 1.0],
    ));
    extra.push(("blocks.0.attn.mask".into(), Dtype::F32, vec![1], vec![1.0]));
    write_raw(&path, &extra)?;
    let msg = format_msg(
        load_weights(&path, &c, &Device::Cpu, DType::F32)
            .err()
            .ok_or("extra")?,
    );
    assert!(
        msg.contains("unexpected") && msg.contains("blocks.0.mlp.W_in"),
        "{msg}"
    );
    assert!(!msg.contains("attn.mask"), "{msg}");

    let missing: Vec<_> = full_state(&c, Dtype::F32)
        .into_iter()
        .filter(|t| t.0 != "ln_final.w")
        .collect();
    write_raw(&path, &missing)?;
    let msg = format_msg(
        load_weights(&path, &c, &Device::Cpu, DType::F32)
            .err()
            .ok_or("missing")?,
    );
    assert!(
        msg.contains("missing") && msg.contains("ln_final.w"),
        "{msg}"
    );

    let mut ints = full_state(&c, Dtype::F32);
    ints[0].1 = Dtype::I32;
    write_raw(&path, &ints)?;
    let msg = format_msg(
        load_weights(&path, &c, &Device::Cpu, DType::F32)
            .err()
            .ok_or("i32")?,
    );
    assert!(msg.contains(&ints[0].0) && msg.contains("I32"), "{msg}");
    Ok(())
}

#[test]
fn truncated_or_garbage_files_are_clean_errors() -> TestResult {
    let dir = tempfile::tempdir()?;
    let c = cfg(true, false);
    let vm = init_varmap(&c, 1, &Device::Cpu, DType::F32)?;
    let good = dir.path().join("good.safetensors");
    save_weights(&vm, &c, &good)?;
    let bytes = std::fs::read(&good)?;
    let bad = dir.path().join("bad.safetensors");
    for cut in [0, 3, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&bad, &bytes[..cut])?;
        let e = load_weights(&bad, &c, &Device::Cpu, DType::F32)
            .err()
            .ok_or("accepted")?;
        assert!(matches!(e, Error::Format { .. }), "cut {cut}: {e:?}");
    }
    std::fs::write(&bad, b"\xff\xff\xff\xff\xff\xff\xff\x7fgarbage")?;
    let e = load_weights(&bad, &c, &Device::Cpu, DType::F32)
        .err()
        .ok_or("garbage")?;
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
    let e = load_weights(&dir.path().join("none"), &c, &Device::Cpu, DType::F32)
        .err()
        .ok_or("absent")?;
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    Ok(())
}

#[test]
fn tl_config_fields() {
    let j = tl_config(&cfg(false, true));
    assert_eq!(j["n_layers"], 2);
    assert_eq!(j["d_vocab_out"], 9);
    assert_eq!(j["d_mlp"], 12);
    assert_eq!(j["act_fn"], "gelu");
    assert_eq!(j["normalization_type"], "LN");
    assert_eq!(j["positional_embedding_type"], "standard");
    assert_eq!(j["use_attn_result"], true);
    // TransformerLens's own names: "gelu" is the erf GELU, "gelu_new" the tanh one.
    for (act, name) in [
        (ActFn::Relu, "relu"),
        (ActFn::Gelu, "gelu"),
        (ActFn::GeluNew, "gelu_new"),
    ] {
        let j = tl_config(&ModelConfig {
            act_fn: act,
            ..cfg(false, true)
        });
        assert_eq!(j["act_fn"], name);
    }
    let j = tl_config(&cfg(true, false));
    assert!(j["d_mlp"].is_null());
    assert!(j["normalization_type"].is_null());
}
