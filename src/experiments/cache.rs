//! `cache`: run-with-cache export of chosen hooks to safetensors, keyed by TransformerLens
//! hook names (plus `logits` and `tokens`), on `--text`, one probe row or a fresh task
//! sample -> the file and a `CacheReport` of every tensor's shape.
use crate::analysis::LoadedRun;
use crate::error::{Error, Result};
use crate::hooks::HookPoint;
use crate::model::config::Normalization;
use crate::probe::Source;
use crate::report::{Outputs, Report};
use candle_core::{DType, Tensor};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `--json` schema of the summary.
pub const SCHEMA_VERSION: u32 = 1;

/// Options of `cache`.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// Hook names or globs, comma separated.
    pub hooks: String,
    pub source: Source,
    /// The user's text or token ids (`Source::Text` / `Source::Tokens`).
    pub given: Option<crate::given::Given>,
    /// Rows of the probe or of task samples (`Source::Probe` / `Source::Task`).
    pub batch: usize,
    pub seed: u64,
    /// Output file (None: `<run>/cache.safetensors`).
    pub out: Option<PathBuf>,
}

/// The file written, the input and every tensor's shape.
#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    pub run: String,
    pub out: String,
    pub source: String,
    pub input: Vec<String>,
    pub tokens: Vec<u32>,
    /// Tensor name (TransformerLens hook name, `logits`, `tokens`) -> shape.
    pub tensors: BTreeMap<String, Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The decoded input (the summary).
    #[serde(skip)]
    pub decoded: String,
    /// The captured hooks with their shapes, in hook order (the summary).
    #[serde(skip)]
    pub hooks: Vec<(String, Vec<usize>)>,
}

/// Capture the hooks matching `o.hooks` and write them with the logits and tokens.
pub fn run(lr: &LoadedRun, o: &CacheOptions) -> Result<CacheReport> {
    let globs: Vec<&str> = o
        .hooks
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if globs.is_empty() {
        return Err(Error::Invalid(
            "--hooks is empty: give hook names or globs such as 'blocks.*.attn.hook_pattern'"
                .into(),
        ));
    }
    super::at_most("--batch", o.batch, 4096, "rows")?;
    let mut input = lr.input_row(o.source, o.given.as_ref(), o.seed)?;
    match o.source {
        Source::Probe if o.batch > 1 => {
            let (probe, _) = crate::probe::ProbeRequest::default().fit(lr.n_ctx())?;
            input.rows = lr.probe_rows(probe, o.batch, o.seed)?;
            input.source = format!("{} ({} rows)", input.source, o.batch);
        }
        Source::Task if o.batch > 1 => {
            input.rows = lr.task_rows(o.batch, o.seed);
            input.source = format!("{} fresh {} rows", o.batch, lr.cfg.task.task());
        }
        Source::Probe | Source::Task | Source::Text | Source::Tokens => {}
    }
    let rows = &input.rows;
    let (logits, cache) = lr.run_with_cache(rows, &globs)?;
    if cache.is_empty() {
        let m = &lr.cfg.model;
        let names: Vec<String> = HookPoint::all(
            m.n_layers,
            m.attn_only,
            m.normalization == Normalization::LN,
        )
        .iter()
        .take(6)
        .map(|h| h.to_string())
        .collect();
        return Err(Error::Invalid(format!(
            "--hooks {:?} matches no hook of this model; hooks look like {}",
            o.hooks,
            names.join(", ")
        )));
    }
    let mut tensors: Vec<(String, Tensor)> = cache
        .iter()
        .map(|(h, t)| (h.to_string(), t.clone()))
        .collect();
    tensors.push(("logits".into(), logits));
    tensors.push((
        "tokens".into(),
        rows.tokens_tensor(&lr.device)?.to_dtype(DType::I64)?,
    ));
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| lr.run.path.join("cache.safetensors"));
    let mut outputs = Outputs::new();
    crate::st_io::write(&outputs.file(&out), &tensors, None)?;
    outputs.keep();
    let tok = lr.tokenizer();
    Ok(CacheReport {
        run: lr.run.path.display().to_string(),
        out: out.display().to_string(),
        source: input.source,
        input: tok.labels(rows.row(0)),
        tokens: rows.row(0).to_vec(),
        tensors: tensors
            .iter()
            .map(|(n, t)| (n.clone(), t.dims().to_vec()))
            .collect(),
        note: input.note,
        decoded: tok.decode(rows.row(0)),
        hooks: cache
            .iter()
            .map(|(h, t)| (h.to_string(), t.dims().to_vec()))
            .collect(),
    })
}

impl Report for CacheReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    fn human(&self) -> Vec<String> {
        let mut out = vec![
            format!("input ({}): {}", self.source, self.decoded),
            format!(
                "wrote {} tensors ({} hooks + logits + tokens) to {}",
                self.tensors.len(),
                self.hooks.len(),
                self.out
            ),
        ];
        for (h, dims) in &self.hooks {
            out.push(format!("  {h:<32} {dims:?}"));
        }
        out
    }
}
