//! `indu cache`: run-with-cache export of chosen hooks to safetensors, keyed by
//! TransformerLens hook names.
use crate::cli::CacheArgs;
use anyhow::{bail, Context, Result};
use indu::analysis::fit_probe;
use indu::tasks::{repeated, Rows};
use rand::SeedableRng;

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
    let mut note = None;
    let rows = if let Some(text) = &a.text {
        let tokens = lr.encode_text(text).context("--text")?;
        let n = tokens.len();
        Rows {
            n_ctx: n,
            targets: tokens.clone(),
            mask: vec![0.0; n],
            tokens,
        }
    } else if a.probe {
        let (probe, fitted) = fit_probe(lr.n_ctx(), 50, 2)?;
        note = fitted;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        repeated::probe(lr.cfg.model.d_vocab(), probe.t, probe.k, 1, &mut rng)?
    } else {
        bail!("pass --text STR or --probe");
    };
    let (logits, cache) = lr.run_with_cache(&rows, &globs)?;
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
    if let Some(n) = note {
        eprintln!("{n}");
    }
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
