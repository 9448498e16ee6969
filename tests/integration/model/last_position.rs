//! `Transformer::forward_last` (the MLP and unembedding at the last position only) against
//! the full forward pass: the same logits at the last position, and the same gradients of a
//! loss on them, for 1- and 2-layer MLP models and an attention-only one.
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use indu::model::config::{Init, ModelConfig};
use indu::model::{init_varmap, Transformer, Weights};

fn model(n_layers: usize, attn_only: bool) -> (VarMap, Transformer) {
    let cfg = ModelConfig {
        n_layers,
        n_heads: 2,
        d_model: 16,
        d_head: 8,
        n_ctx: Some(3),
        d_vocab: Some(12),
        d_vocab_out: Some(12),
        attn_only,
        d_mlp: 32,
        init: Init::Grokking,
        ..ModelConfig::default()
    };
    let dev = Device::Cpu;
    let varmap = init_varmap(&cfg, 7, &dev, DType::F32).unwrap();
    let m = Transformer::new(&cfg, VarBuilder::from_varmap(&varmap, DType::F32, &dev)).unwrap();
    (varmap, m)
}

#[test]
fn the_last_position_fast_path_matches_the_full_pass() {
    let tokens: Vec<u32> = (0..30).map(|i| (i * 7 + 3) % 12).collect();
    let tokens = Tensor::from_vec(tokens, (10, 3), &Device::Cpu).unwrap();
    for (n_layers, attn_only) in [(1, false), (2, false), (1, true)] {
        let (varmap, m) = model(n_layers, attn_only);
        let full = m.forward(&tokens, None).unwrap().narrow(1, 2, 1).unwrap();
        let last = m.forward_last(&tokens, None).unwrap();
        assert_eq!(last.dims(), &[10, 1, 12]);
        let diff = crate::util::max_diff(&full, &last).unwrap();
        assert!(diff < 1e-6, "{n_layers} layers: logits differ by {diff}");
        // Gradients of the same loss (a weighted sum of the last logits) agree.
        let w = Tensor::arange(0f32, 120.0, &Device::Cpu)
            .unwrap()
            .reshape((10, 1, 12))
            .unwrap()
            .affine(0.01, -0.5)
            .unwrap();
        let g_full = (full * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let g_last = (last * &w).unwrap().sum_all().unwrap().backward().unwrap();
        for (name, var) in Weights::of(&varmap).unwrap().vars() {
            let (a, b) = (g_full.get(var.as_tensor()), g_last.get(var.as_tensor()));
            match (a, b) {
                (Some(a), Some(b)) => {
                    let d = crate::util::max_diff(a, b).unwrap();
                    assert!(
                        d < 1e-5,
                        "{n_layers} layers: {name}'s gradient differs by {d}"
                    );
                }
                (None, None) => {}
                _ => panic!("{n_layers} layers: {name} has a gradient on one path only"),
            }
        }
    }
}
