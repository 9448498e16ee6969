//! `indu eval`: the task's metrics on fresh held-out rows -> eval.json and a summary.
use crate::cli::EvalArgs;
use anyhow::{bail, Result};
use indu::sampling::{sample, SampleOptions};
use indu::tasks::Task;
use indu::train::eval::evaluate;

pub fn run(a: EvalArgs) -> Result<()> {
    if a.n == 0 {
        bail!("--n 0: expected at least 1 held-out row");
    }
    let lr = super::open_run(&a.run)?;
    super::at_most(
        "--n",
        a.n,
        indu::config::MAX_DATA_TOKENS / lr.n_ctx().max(1),
        "held-out rows for this model",
    )?;
    let rows = lr.task_rows(a.n, a.seed);
    let t0 = std::time::Instant::now();
    let mut metrics = evaluate(&lr.model, &lr.spec, &rows, &lr.device)?;
    if a.samples > 0 && lr.cfg.task.task() == Task::Induction {
        super::at_most(
            "--samples",
            a.samples,
            (indu::config::MAX_STEP_FLOATS / lr.cfg.activation_floats_per_row().max(1))
                .clamp(1, 1_000_000),
            "samples for this model",
        )?;
        let o = SampleOptions {
            temperature: 1.0,
            top_k: None,
            seed: a.seed,
        };
        let report = sample(&lr, a.samples, &o)?;
        metrics.push(("sample_validity".into(), report.share_ok));
        metrics.push(("samples".into(), a.samples as f64));
    }
    let mut obj = serde_json::Map::new();
    obj.insert("run".into(), lr.run.path.display().to_string().into());
    obj.insert("task".into(), lr.cfg.task.task().to_string().into());
    obj.insert("n".into(), a.n.into());
    obj.insert("seed".into(), a.seed.into());
    let mut m = serde_json::Map::new();
    for (k, v) in &metrics {
        m.insert(
            k.clone(),
            serde_json::Number::from_f64(*v)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
        );
    }
    obj.insert("metrics".into(), m.into());
    let path = lr.run.path.join("eval.json");
    indu::report::write_json(&path, &serde_json::Value::Object(obj.clone()))?;
    if a.run.json {
        println!("{}", serde_json::to_string_pretty(&obj)?);
        return Ok(());
    }
    println!(
        "{} on {} fresh held-out rows ({:.2}s):",
        lr.cfg.task.task(),
        a.n,
        t0.elapsed().as_secs_f64()
    );
    for (k, v) in &metrics {
        if k == "samples" {
            println!("  {k:<16} {v}");
        } else if v.abs() >= 1e-3 || *v == 0.0 || !v.is_finite() {
            println!("  {k:<16} {v:.4}");
        } else {
            println!("  {k:<16} {v:.3e}");
        }
    }
    println!("wrote {}", path.display());
    Ok(())
}
