//! `indu cache`: run-with-cache export of chosen hooks to safetensors, keyed by
//! TransformerLens hook names, on `--text`, one probe row or a fresh task sample (default).
use crate::cli::CacheArgs;
use anyhow::{bail, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// `--json` output: the file written, the input and every tensor's shape.
#[derive(Serialize)]
struct Summary {
    run: String,
    out: String,
    source: String,
    input: Vec<String>,
    tokens: Vec<u32>,
    /// Tensor name (TransformerLens hook name, `logits`, `tokens`) -> shape.
    tensors: BTreeMap<String, Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

pub fn run(a: CacheArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    let globs: Vec<&str> = a
        .hooks
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if globs.is_empty() {
        bail!("--hooks is empty: give hook names or globs such as 'blocks.*.attn.hook_pattern'");
    }
    let input = super::input::input_row(&lr, a.text.as_deref(), a.probe, a.seed)?;
    let rows = &input.rows;
    let (logits, cache) = lr.run_with_cache(rows, &globs)?;
    if cache.is_empty() {
        let names: Vec<String> = indu::hooks::HookPoint::all(
            lr.cfg.model.n_layers,
            lr.cfg.model.attn_only,
            lr.cfg.model.normalization == indu::config::Normalization::LN,
        )
        .iter()
        .take(6)
        .map(|h| h.to_string())
        .collect();
        bail!(
            "--hooks {:?} matches no hook of this model; hooks look like {}",
            a.hooks,
            names.join(", ")
        );
    }
    let mut tensors: Vec<(String, candle_core::Tensor)> = cache
        .iter()
        .map(|(h, t)| (h.to_string(), t.clone()))
        .collect();
    tensors.push(("logits".into(), logits));
    let tokens = candle_core::Tensor::from_slice(&rows.tokens, (1, rows.n_ctx), &lr.device)?
        .to_dtype(candle_core::DType::I64)?;
    tensors.push(("tokens".into(), tokens));
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| lr.run.path.join("cache.safetensors"));
    indu::st_io::write(&out, &tensors, None)?;
    if let Some(n) = &input.note {
        eprintln!("{n}");
    }
    if a.run.json {
        let summary = Summary {
            run: lr.run.path.display().to_string(),
            out: out.display().to_string(),
            source: input.source,
            input: lr.spec.tokenizer().labels(rows.row(0)),
            tokens: rows.row(0).to_vec(),
            tensors: tensors
                .iter()
                .map(|(n, t)| (n.clone(), t.dims().to_vec()))
                .collect(),
            note: input.note,
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    println!(
        "input ({}): {}",
        input.source,
        lr.spec.tokenizer().decode(rows.row(0))
    );
    println!(
        "wrote {} tensors ({} hooks + logits + tokens) to {}",
        tensors.len(),
        cache.len(),
        out.display()
    );
    for (h, t) in &cache {
        println!("  {h:<32} {:?}", t.dims());
    }
    Ok(())
}
