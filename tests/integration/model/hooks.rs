//! Hook edits and the training path: head ablations change `hook_attn_out` by exactly that
//! head's result, patching, the softmax path has gradients, shortformer positions and the MLP
//! behave as TransformerLens's.
use crate::util::max_diff;
use candle_core::{DType, Device, Tensor, D};
use candle_nn::{VarBuilder, VarMap};
use indu::hooks::{HookPoint, Hooks};
use indu::model::config::{ActFn, Init, ModelConfig, Normalization, Positional, Residual};
use indu::model::{init_varmap, masked_mean_loss, per_token_loss, Transformer};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn cfg(attn_only: bool, ln: bool, positional: Positional) -> ModelConfig {
    ModelConfig {
        n_layers: 2,
        n_heads: 3,
        d_model: 12,
        d_head: 4,
        n_ctx: Some(8),
        d_vocab: Some(10),
        d_vocab_out: Some(10),
        attn_only,
        d_mlp: 20,
        act_fn: ActFn::Relu,
        normalization: if ln {
            Normalization::LN
        } else {
            Normalization::None
        },
        positional,
        init: Init::Scaled,
        residual: Residual::Standard,
        init_range: None,
        unembed_bias: true,
    }
}

fn build(c: &ModelConfig, seed: u64) -> Result<(VarMap, Transformer), Box<dyn std::error::Error>> {
    let vm = init_varmap(c, seed, &Device::Cpu, DType::F32)?;
    let m = Transformer::new(c, VarBuilder::from_varmap(&vm, DType::F32, &Device::Cpu))?;
    Ok((vm, m))
}

fn tokens() -> candle_core::Result<Tensor> {
    Tensor::new(
        &[[0u32, 4, 7, 1, 4, 7, 1, 9], [3, 3, 8, 2, 5, 6, 0, 1]],
        &Device::Cpu,
    )
}

#[test]
fn zero_ablating_a_head_removes_exactly_its_result() -> TestResult {
    let c = cfg(true, true, Positional::Standard);
    let (_, m) = build(&c, 5)?;
    let t = tokens()?;
    let mut base = Hooks::capture(&["blocks.1.attn.hook_result", "blocks.1.hook_attn_out"]);
    m.forward(&t, Some(&mut base))?;
    let result = base.get(HookPoint::AttnResult(1)).ok_or("result")?;
    let out = base.get(HookPoint::AttnOut(1)).ok_or("attn_out")?;
    let head1 = result.narrow(2, 1, 1)?.squeeze(2)?;
    let want = (out - &head1)?;
    assert!(head1.abs()?.max_all()?.to_scalar::<f32>()? > 1e-3);
    for hp in [
        HookPoint::Z(1),
        HookPoint::AttnResult(1),
        HookPoint::Pattern(1),
    ] {
        let mut h = Hooks::capture(&["blocks.1.hook_attn_out", "blocks.1.attn.hook_result"]);
        h.zero_ablate_head(hp, 1)?;
        m.forward(&t, Some(&mut h))?;
        let got = h.get(HookPoint::AttnOut(1)).ok_or("attn_out")?;
        assert!(
            max_diff(got, &want)? < 1e-5,
            "{hp}: {}",
            max_diff(got, &want)?
        );
        let r = h.get(HookPoint::AttnResult(1)).ok_or("result")?;
        assert_eq!(
            r.narrow(2, 1, 1)?.abs()?.max_all()?.to_scalar::<f32>()?,
            0.0
        );
        assert!(max_diff(&r.narrow(2, 0, 1)?, &result.narrow(2, 0, 1)?)? < 1e-6);
    }
    Ok(())
}

#[test]
fn mean_ablation_and_patching() -> TestResult {
    let c = cfg(true, false, Positional::Standard);
    let (_, m) = build(&c, 6)?;
    let t = tokens()?;
    let mut cache = Hooks::capture_all();
    let clean = m.forward(&t, Some(&mut cache))?;
    // Mean-ablating head 0's z with its own batch mean: every row of head 0 equals the mean.
    let mut h = Hooks::capture(&["blocks.0.attn.hook_z"]);
    h.mean_ablate_head(HookPoint::Z(0), 0, cache.get(HookPoint::Z(0)))?;
    m.forward(&t, Some(&mut h))?;
    let z = h.get(HookPoint::Z(0)).ok_or("z")?.narrow(2, 0, 1)?;
    let mean = cache
        .get(HookPoint::Z(0))
        .ok_or("z")?
        .narrow(2, 0, 1)?
        .mean_keepdim(0)?;
    assert!(max_diff(&z, &mean.broadcast_as(z.shape())?)? < 1e-6);
    // Patching resid_pre of layer 1 from run A into run B reproduces A's logits.
    let other = Tensor::new(
        &[[5u32, 5, 5, 5, 2, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]],
        &Device::Cpu,
    )?;
    let mut p = Hooks::new();
    let resid = cache.get(HookPoint::ResidPre(1)).ok_or("resid")?.clone();
    p.patch(HookPoint::ResidPre(1), resid);
    let patched = m.forward(&other, Some(&mut p))?;
    assert!(max_diff(&patched, &clean)? < 1e-6);
    assert!(max_diff(&m.forward(&other, None)?, &clean)? > 1e-3);
    // A wrong-shaped patch is an error, not a panic.
    let mut bad = Hooks::new();
    bad.patch(
        HookPoint::Embed,
        Tensor::zeros((1, 2), DType::F32, &Device::Cpu)?,
    );
    assert!(m.forward(&other, Some(&mut bad)).is_err());
    Ok(())
}

#[test]
fn loss_backward_reaches_every_w_q() -> TestResult {
    for (attn_only, ln, positional) in [
        (true, false, Positional::Standard),
        (false, true, Positional::Shortformer),
    ] {
        let c = cfg(attn_only, ln, positional);
        let (vm, m) = build(&c, 7)?;
        let t = tokens()?;
        let logits = m.forward(&t, None)?;
        let mask = Tensor::ones((2, 8), DType::F32, &Device::Cpu)?;
        let targets = Tensor::new(
            &[[4u32, 7, 1, 4, 7, 1, 9, 0], [3, 8, 2, 5, 6, 0, 1, 2]],
            &Device::Cpu,
        )?;
        let loss = masked_mean_loss(&logits, &targets, &mask)?;
        let grads = loss.backward()?;
        let data = vm.data().lock().map_err(|_| "lock")?;
        for l in 0..c.n_layers {
            for name in ["W_Q", "W_K", "W_V", "W_O"] {
                let var = data.get(&format!("blocks.{l}.attn.{name}")).ok_or("var")?;
                let g = grads.get(var.as_tensor()).ok_or("no gradient")?;
                let norm = g.sqr()?.sum_all()?.to_scalar::<f32>()?;
                assert!(norm.is_finite() && norm > 0.0, "layer {l} {name}: {norm}");
            }
        }
    }
    Ok(())
}

#[test]
fn losses_match_a_direct_computation() -> TestResult {
    let logits = Tensor::new(&[[[1f32, 2., 3.], [0., 0., -1.]]], &Device::Cpu)?;
    let targets = Tensor::new(&[[2u32, 1]], &Device::Cpu)?;
    let l = per_token_loss(&logits, &targets)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let lse = |xs: [f32; 3]| xs.iter().map(|x| x.exp()).sum::<f32>().ln();
    assert!((l[0] - (lse([1., 2., 3.]) - 3.)).abs() < 1e-6);
    assert!((l[1] - lse([0., 0., -1.])).abs() < 1e-6);
    let mask = Tensor::new(&[[0f32, 1.]], &Device::Cpu)?;
    let m = masked_mean_loss(&logits, &targets, &mask)?.to_scalar::<f32>()?;
    assert!((m - l[1]).abs() < 1e-6);
    let none = Tensor::zeros((1, 2), DType::F32, &Device::Cpu)?;
    assert_eq!(
        masked_mean_loss(&logits, &targets, &none)?.to_scalar::<f32>()?,
        0.0
    );
    assert!(per_token_loss(&logits, &Tensor::new(&[[1u32]], &Device::Cpu)?).is_err());
    Ok(())
}

#[test]
fn shortformer_positions_feed_q_and_k_only() -> TestResult {
    let c = cfg(true, false, Positional::Shortformer);
    let (vm, m) = build(&c, 8)?;
    let t = tokens()?;
    let mut h = Hooks::capture_all();
    m.forward(&t, Some(&mut h))?;
    let g = |hp| h.get(hp).cloned().ok_or(format!("{hp}"));
    let embed = g(HookPoint::Embed)?;
    assert_eq!(max_diff(&g(HookPoint::ResidPre(0))?, &embed)?, 0.0);
    let data = vm.data().lock().map_err(|_| "lock")?;
    let p = |n: &str| {
        data.get(n)
            .map(|v| v.as_tensor().clone())
            .ok_or(n.to_string())
    };
    let w_pos = p("pos_embed.W_pos")?;
    // q[b, p, h] = (embed + W_pos)[b, p] @ W_Q[h] + b_Q[h]; v without W_pos.
    let proj = |x: &Tensor, w: &Tensor, b: &Tensor| -> candle_core::Result<Tensor> {
        // x [batch, pos, d_model], w [h, d_model, d_head] -> [batch, pos, h, d_head]
        let x = x.unsqueeze(1)?.broadcast_as((2, 3, 8, 12))?.contiguous()?;
        let w = w.unsqueeze(0)?.broadcast_as((2, 3, 12, 4))?.contiguous()?;
        x.matmul(&w)?
            .broadcast_add(&b.unsqueeze(1)?.unsqueeze(0)?)?
            .transpose(1, 2)
    };
    let q_in = embed.broadcast_add(&w_pos.unsqueeze(0)?)?;
    let q = proj(&q_in, &p("blocks.0.attn.W_Q")?, &p("blocks.0.attn.b_Q")?)?;
    let k = proj(&q_in, &p("blocks.0.attn.W_K")?, &p("blocks.0.attn.b_K")?)?;
    let v = proj(&embed, &p("blocks.0.attn.W_V")?, &p("blocks.0.attn.b_V")?)?;
    assert!(max_diff(&g(HookPoint::Q(0))?, &q)? < 1e-5);
    assert!(max_diff(&g(HookPoint::K(0))?, &k)? < 1e-5);
    assert!(max_diff(&g(HookPoint::V(0))?, &v)? < 1e-5);
    Ok(())
}

#[test]
fn mlp_hooks_compose_as_in_transformer_lens() -> TestResult {
    let c = cfg(false, true, Positional::Standard);
    let (_, m) = build(&c, 9)?;
    let mut h = Hooks::capture_all();
    let logits = m.forward(&tokens()?, Some(&mut h))?;
    assert_eq!(logits.dims(), &[2, 8, 10]);
    assert_eq!(h.captured.len(), HookPoint::all(2, false, true).len());
    let g = |hp| h.get(hp).cloned().ok_or(format!("{hp}"));
    for l in 0..2 {
        let mid = (g(HookPoint::ResidPre(l))? + g(HookPoint::AttnOut(l))?)?;
        assert!(max_diff(&g(HookPoint::ResidMid(l))?, &mid)? < 1e-6);
        let post = (mid + g(HookPoint::MlpOut(l))?)?;
        assert!(max_diff(&g(HookPoint::ResidPost(l))?, &post)? < 1e-6);
        assert!(
            max_diff(
                &g(HookPoint::MlpPost(l))?,
                &g(HookPoint::MlpPre(l))?.relu()?
            )? == 0.0
        );
        let n = g(HookPoint::Ln2Normalized(l))?;
        let mean = n
            .mean_keepdim(D::Minus1)?
            .abs()?
            .max_all()?
            .to_scalar::<f32>()?;
        assert!(mean < 1e-5);
        assert_eq!(g(HookPoint::Ln2Scale(l))?.dims(), &[2, 8, 1]);
    }
    let pattern = g(HookPoint::Pattern(1))?;
    let sums = pattern.sum(D::Minus1)?;
    assert!(max_diff(&sums, &Tensor::ones_like(&sums)?)? < 1e-6);
    // Too many positions is a clean error.
    let long = Tensor::zeros((1, 9), DType::U32, &Device::Cpu)?;
    assert!(m.forward(&long, None).is_err());
    let bad_token = Tensor::new(&[[10u32]], &Device::Cpu)?;
    assert!(m.forward(&bad_token, None).is_err());
    Ok(())
}

#[test]
fn gelu_is_exact_erf() -> TestResult {
    let mut c = cfg(false, false, Positional::Standard);
    c.act_fn = ActFn::Gelu;
    let (_, m) = build(&c, 10)?;
    let mut h = Hooks::capture(&["blocks.0.mlp.*"]);
    m.forward(&tokens()?, Some(&mut h))?;
    let pre = h
        .get(HookPoint::MlpPre(0))
        .ok_or("pre")?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let post = h
        .get(HookPoint::MlpPost(0))
        .ok_or("post")?
        .flatten_all()?
        .to_vec1::<f32>()?;
    // gelu(1) = 0.8413447 (erf), the tanh approximation gives 0.8411920; compare through
    // the erf series at each value.
    let erf = |x: f64| -> f64 {
        // Abramowitz-Stegun 7.1.26 is too coarse; use the Taylor series (|x| small here).
        let mut sum = 0.0;
        let mut term = x;
        let mut n = 0;
        while n < 60 {
            sum += term / (2 * n + 1) as f64;
            n += 1;
            term *= -x * x / n as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    };
    for (x, y) in pre.iter().zip(&post) {
        let x = *x as f64;
        if x.abs() > 4.0 {
            continue;
        }
        let want = 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2));
        assert!(
            (want - *y as f64).abs() < 2e-6,
            "gelu({x}) = {y}, want {want}"
        );
    }
    Ok(())
}

/// Seed 003's notebook residual: each layer's `resid_post = 2 * resid_pre + attn_out`; the
/// standard one `resid_pre + attn_out`.
#[test]
fn notebook_residual_doubles_the_stream_at_each_layer() -> TestResult {
    for (residual, k) in [(Residual::Standard, 1.0), (Residual::Notebook, 2.0)] {
        let c = ModelConfig {
            residual,
            ..cfg(true, false, Positional::Standard)
        };
        let (_, m) = build(&c, 3)?;
        let mut h = Hooks::capture(&[
            "blocks.*.hook_resid_pre",
            "blocks.*.hook_attn_out",
            "blocks.*.hook_resid_post",
        ]);
        m.forward(&tokens()?, Some(&mut h))?;
        for l in 0..2 {
            let pre = h.get(HookPoint::ResidPre(l)).ok_or("resid_pre")?;
            let out = h.get(HookPoint::AttnOut(l)).ok_or("attn_out")?;
            let post = h.get(HookPoint::ResidPost(l)).ok_or("resid_post")?;
            let want = (pre.affine(k, 0.0)? + out)?;
            assert!(max_diff(post, &want)? < 1e-6, "{residual:?} layer {l}");
        }
    }
    Ok(())
}
