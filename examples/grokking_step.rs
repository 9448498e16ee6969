//! Times one full-batch training step of the `modular_addition` preset (3830 rows:
//! forward, masked loss, backward, AdamW) through the full forward pass and through
//! `Transformer::forward_last` (the MLP and unembedding at the last position only), and
//! prints the median ms/step of each: `cargo run --release --example grokking_step [STEPS]`.
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use indu::config::RunConfig;
use indu::data::Batch;
use indu::model::{init_varmap, masked_mean_loss, Transformer, Weights};
use indu::tasks::Task;
use indu::train::optim::AdamW;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20);
    let cfg = RunConfig::preset(Task::ModularAddition, &[])?;
    let spec = cfg.task.spec(cfg.seed)?;
    let (train, _) = spec
        .exact_split()
        .ok_or("modular_addition has an exact split")?;
    let dev = Device::Cpu;
    let batch = Batch::from_rows(&train, &dev)?;
    let last = |t: &Tensor| t.narrow(1, 2, 1).and_then(|t| t.contiguous());
    let (targets, mask) = (last(&batch.targets)?, last(&batch.mask)?);
    for fast in [false, true] {
        let varmap = init_varmap(&cfg.model, cfg.seed, &dev, DType::F32)?;
        let model = Transformer::new(
            &cfg.model,
            VarBuilder::from_varmap(&varmap, DType::F32, &dev),
        )?;
        let vars = Weights::of(&varmap)?.into_vars().into_iter().collect();
        let mut opt = AdamW::new(vars, &cfg.train)?;
        let mut ms = Vec::new();
        for i in 0..steps + 3 {
            let t0 = Instant::now();
            let loss = if fast {
                masked_mean_loss(&model.forward_last(&batch.tokens, None)?, &targets, &mask)?
            } else {
                let logits = model.forward(&batch.tokens, None)?;
                masked_mean_loss(&logits, &batch.targets, &batch.mask)?
            };
            let grads = loss.backward()?;
            opt.step(&grads, cfg.train.lr, 1.0)?;
            if i >= 3 {
                ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
        ms.sort_by(f64::total_cmp);
        let path = if fast { "forward_last" } else { "full forward" };
        println!(
            "{path}: median {:.1} ms/step over {steps} steps",
            ms[ms.len() / 2]
        );
    }
    Ok(())
}
