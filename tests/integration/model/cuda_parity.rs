//! CPU vs CUDA forward parity (only with `--features cuda`, and skipped without a GPU):
//! the same weights give the same logits, and the same loss, on both devices.
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use indu::config::RunConfig;
use indu::data::Batch;
use indu::model::{init_varmap, masked_mean_loss, Transformer};
use indu::tasks::{Split, Task};
use rand::SeedableRng;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f32, Box<dyn std::error::Error>> {
    let d = (a.to_device(&Device::Cpu)? - b.to_device(&Device::Cpu)?)?;
    Ok(d.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?)
}

#[test]
fn cpu_and_cuda_forward_agree() -> TestResult {
    if !candle_core::utils::cuda_is_available() {
        eprintln!("no CUDA device: skipped");
        return Ok(());
    }
    let gpu = Device::new_cuda(0)?;
    for task in [Task::Induction, Task::Addition, Task::Repeated] {
        let cfg = RunConfig::preset(task, &[])?;
        let cpu_vars = init_varmap(&cfg.model, 0, &Device::Cpu, DType::F32)?;
        let gpu_vars = VarMap::new();
        {
            let src = cpu_vars.data().lock().map_err(|_| "poisoned")?;
            let mut dst = gpu_vars.data().lock().map_err(|_| "poisoned")?;
            for (name, v) in src.iter() {
                dst.insert(
                    name.clone(),
                    Var::from_tensor(&v.as_tensor().to_device(&gpu)?)?,
                );
            }
        }
        let on_cpu = Transformer::new(
            &cfg.model,
            VarBuilder::from_varmap(&cpu_vars, DType::F32, &Device::Cpu),
        )?;
        let on_gpu = Transformer::new(
            &cfg.model,
            VarBuilder::from_varmap(&gpu_vars, DType::F32, &gpu),
        )?;
        let spec = cfg.task.spec(cfg.seed)?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let rows = spec.generate(16, Split::Test, &mut rng);
        let bc = Batch::from_rows(&rows, &Device::Cpu)?;
        let bg = Batch::from_rows(&rows, &gpu)?;
        let lc = on_cpu.forward(&bc.tokens, None)?;
        let lg = on_gpu.forward(&bg.tokens, None)?;
        let d = max_abs_diff(&lc, &lg)?;
        assert!(d <= 1e-3, "{task}: logits differ by {d}");
        let losc = masked_mean_loss(&lc, &bc.targets, &bc.mask)?;
        let losg = masked_mean_loss(&lg, &bg.targets, &bg.mask)?;
        let d = max_abs_diff(&losc, &losg)?;
        assert!(d <= 1e-4, "{task}: loss differs by {d}");
    }
    Ok(())
}
