//! Gradients of the training loss checked against finite differences (f64, generic ops) and
//! the fused f32 CPU path checked against the f64 gradients, on a multi-head model.
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarBuilder;
use indu::model::config::ModelConfig;
use indu::model::{init_varmap, masked_mean_loss, Transformer};

fn cfg() -> ModelConfig {
    ModelConfig {
        n_layers: 2,
        n_heads: 4,
        d_model: 16,
        d_head: 4,
        n_ctx: Some(12),
        d_vocab: Some(11),
        d_vocab_out: Some(11),
        init_range: Some(0.5),
        ..ModelConfig::default()
    }
}

fn batch(dev: &Device) -> (Tensor, Tensor, Tensor) {
    let toks: Vec<u32> = (0..36u32).map(|i| (i * 7 + 3) % 11).collect();
    let tgts: Vec<u32> = (0..36u32).map(|i| (i * 5 + 1) % 11).collect();
    let mask: Vec<f32> = (0..36)
        .map(|i| if i % 3 == 0 { 0.0 } else { 1.0 })
        .collect();
    (
        Tensor::from_vec(toks, (3, 12), dev).unwrap(),
        Tensor::from_vec(tgts, (3, 12), dev).unwrap(),
        Tensor::from_vec(mask, (3, 12), dev).unwrap(),
    )
}

fn loss_of(model: &Transformer, dtype: DType) -> Tensor {
    let (t, y, m) = batch(&Device::Cpu);
    let logits = model.forward(&t, None).unwrap();
    masked_mean_loss(&logits, &y, &m.to_dtype(dtype).unwrap()).unwrap()
}

fn vars(vm: &candle_nn::VarMap) -> Vec<(String, Var)> {
    let mut v: Vec<(String, Var)> = vm
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn backward_matches_finite_differences_and_the_fused_path() {
    check(cfg(), &[]);
}

/// Seed 000's makemore model: LayerNorm (fused on the f32 path), an MLP with the tanh GELU
/// (fused), PyTorch's init, and no trained unembedding bias (`b_U` gets no gradient).
#[test]
fn the_makemore_model_backward_matches_too() {
    use indu::model::config::{ActFn, Init, Normalization};
    let c = ModelConfig {
        attn_only: false,
        d_mlp: 64,
        act_fn: ActFn::GeluNew,
        normalization: Normalization::LN,
        init: Init::Torch,
        unembed_bias: false,
        ..cfg()
    };
    check(c, &["unembed.b_U"]);
}

/// Finite differences (f64) and the f32 path against the f64 gradients, for every parameter
/// of `c` but `frozen` (which must get no gradient at all).
fn check(c: ModelConfig, frozen: &[&str]) {
    let dev = Device::Cpu;
    let vm64 = init_varmap(&c, 5, &dev, DType::F64).unwrap();
    let m64 = Transformer::new(&c, VarBuilder::from_varmap(&vm64, DType::F64, &dev)).unwrap();
    let grads64 = loss_of(&m64, DType::F64).backward().unwrap();
    let vm32 = init_varmap(&c, 5, &dev, DType::F32).unwrap();
    let m32 = Transformer::new(&c, VarBuilder::from_varmap(&vm32, DType::F32, &dev)).unwrap();
    let grads32 = loss_of(&m32, DType::F32).backward().unwrap();
    let v32 = vars(&vm32);
    for (i, (name, var)) in vars(&vm64).iter().enumerate() {
        if frozen.contains(&name.as_str()) {
            assert!(
                grads64.get(var.as_tensor()).is_none(),
                "{name} has a gradient"
            );
            assert!(
                grads32.get(v32[i].1.as_tensor()).is_none(),
                "{name} has a gradient"
            );
            continue;
        }
        let g = grads64
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        let g: Vec<f64> = g.flatten_all().unwrap().to_vec1().unwrap();
        let n = g.len();
        // A few coordinates per parameter, spread over the heads.
        for k in [0, n / 3, n / 2, (2 * n) / 3, n - 1] {
            let base: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
            let eval = |delta: f64| {
                let mut v = base.clone();
                v[k] += delta;
                var.set(&Tensor::from_vec(v, var.shape(), &dev).unwrap())
                    .unwrap();
                let l: f64 = loss_of(&m64, DType::F64).to_scalar().unwrap();
                l
            };
            let h = 1e-5;
            let numeric = (eval(h) - eval(-h)) / (2.0 * h);
            var.set(&Tensor::from_vec(base, var.shape(), &dev).unwrap())
                .unwrap();
            assert!(
                (numeric - g[k]).abs() < 1e-6 + 1e-4 * numeric.abs(),
                "{name}[{k}]: backward {} vs numeric {numeric}",
                g[k]
            );
        }
        // The f32 (fused on CPU) gradients agree with the f64 ones.
        let (n32, var32) = &v32[i];
        assert_eq!(n32, name);
        let g32: Vec<f32> = grads32
            .get(var32.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let scale = g.iter().fold(0f64, |a, x| a.max(x.abs())).max(1e-3);
        for (a, b) in g.iter().zip(&g32) {
            assert!(
                (a - f64::from(*b)).abs() < 1e-3 * scale,
                "{name}: f64 {a} vs f32 {b}"
            );
        }
    }
}
