//! `eval`: the task's metrics on fresh held-out rows (and, for a generative task, the
//! validity share of sampled strings) -> `EvalReport` (`eval.json`).
use super::at_most;
use crate::analysis::LoadedRun;
use crate::error::{Error, Result};
use crate::report::{write_json, Outputs, Report};
use crate::sampling::{sample, SampleOptions};
use crate::train::eval::evaluate;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `eval.json`'s `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// Options of `eval`.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Held-out rows.
    pub n: usize,
    /// Seed of the held-out rows and of the samples.
    pub seed: u64,
    /// Strings sampled from the begin token (temperature 1) for the validity share of a
    /// generative task; 0 skips it.
    pub samples: usize,
}

/// What `eval.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub schema_version: u32,
    pub run: String,
    pub task: String,
    pub n: usize,
    pub seed: u64,
    /// Metric name and value, in the order the task computes them; written as an object
    /// keyed by name in name order (`null` where not finite).
    #[serde(serialize_with = "by_name")]
    pub metrics: Vec<(String, f64)>,
    /// Wall time of the evaluation, seconds (the summary only).
    #[serde(skip)]
    pub seconds: f64,
}

impl EvalOptions {
    /// Checks that need no model (done before the run is opened).
    pub fn check(&self) -> Result<()> {
        if self.n == 0 {
            return Err(Error::Invalid(
                "--n 0: expected at least 1 held-out row".into(),
            ));
        }
        Ok(())
    }
}

/// Evaluate the run on `o.n` fresh held-out rows.
pub fn run(lr: &LoadedRun, o: &EvalOptions) -> Result<EvalReport> {
    o.check()?;
    at_most(
        "--n",
        o.n,
        crate::config::MAX_DATA_TOKENS / lr.n_ctx().max(1),
        "held-out rows for this model",
    )?;
    let rows = lr.task_rows(o.n, o.seed);
    let t0 = std::time::Instant::now();
    let mut metrics = evaluate(&lr.model, &lr.spec, &rows, &lr.device)?;
    if o.samples > 0 && lr.cfg.task.task().generative() {
        super::sample::check_samples("--samples", o.samples, lr)?;
        let so = SampleOptions {
            temperature: 1.0,
            top_k: None,
            seed: o.seed,
        };
        let report = sample(lr, o.samples, &so)?;
        metrics.push(("sample_validity".into(), report.share_ok));
        metrics.push(("samples".into(), o.samples as f64));
    }
    Ok(EvalReport {
        schema_version: SCHEMA_VERSION,
        run: lr.run.path.display().to_string(),
        task: lr.cfg.task.task().to_string(),
        n: o.n,
        seed: o.seed,
        metrics,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The metrics as a JSON object in name order.
fn by_name<S: serde::Serializer>(
    m: &[(String, f64)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    m.iter()
        .map(|(k, v)| (k, v))
        .collect::<BTreeMap<_, _>>()
        .serialize(s)
}

impl EvalReport {
    /// Write `eval.json`; returns its path.
    pub fn write(&self, lr: &LoadedRun) -> Result<Vec<PathBuf>> {
        let mut outputs = Outputs::new();
        let path = lr.run.path.join("eval.json");
        write_json(&outputs.file(&path), self)?;
        outputs.keep();
        Ok(vec![path])
    }
}

impl Report for EvalReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn human(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{} on {} fresh held-out rows ({:.2}s):",
            self.task, self.n, self.seconds
        )];
        for (k, v) in &self.metrics {
            let v = *v;
            out.push(if k == "samples" {
                format!("  {k:<16} {v}")
            } else if v.abs() >= 1e-3 || v == 0.0 || !v.is_finite() {
                format!("  {k:<16} {v:.4}")
            } else {
                format!("  {k:<16} {v:.3e}")
            });
        }
        out
    }
}
