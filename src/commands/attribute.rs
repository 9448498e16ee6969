//! `indu attribute`: direct logit attribution of every head (and the embeddings and biases)
//! to the correct next token on the repeat probe -> attribute.json and plots/attribute.png.
use crate::cli::AttributeArgs;
use anyhow::{Context, Result};
use indu::circuits::attribute::{attribute, Attribution};
use indu::circuits::figures::attribution_figure;
use serde::Serialize;

#[derive(Serialize)]
struct AttributeFile {
    schema_version: u32,
    run: String,
    task: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    probe_len: usize,
    repeats: usize,
    /// Per component: mean contribution over predictions of first-copy tokens / later copies.
    first_copy: Vec<f64>,
    later_copies: Vec<f64>,
    #[serde(flatten)]
    attribution: Attribution,
}

pub fn run(a: AttributeArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    if a.batch == 0 {
        anyhow::bail!("--batch 0: expected at least 1 probe row");
    }
    let (probe, note) = indu::analysis::probe_for(lr.n_ctx(), a.probe_len, a.repeats)?;
    let rows = lr.probe_rows(probe, a.batch, a.seed)?;
    let mut attr = attribute(&lr, &rows)?;
    // The prediction at p is of token p+1: first copy for 1 <= p < T, later copies p >= T;
    // the last position predicts nothing and is dropped.
    let last = rows.n_ctx - 1;
    attr.per_position.iter_mut().for_each(|v| v.truncate(last));
    attr.logit.truncate(last);
    let mean = |v: &[f64], r: std::ops::Range<usize>| {
        let n = r.len().max(1) as f64;
        v[r].iter().sum::<f64>() / n
    };
    let t = probe.t;
    let first: Vec<f64> = attr
        .per_position
        .iter()
        .map(|v| mean(v, 1.min(last)..t.min(last)))
        .collect();
    let later: Vec<f64> = attr
        .per_position
        .iter()
        .map(|v| mean(v, t.min(last)..last))
        .collect();
    let file = AttributeFile {
        schema_version: 1,
        run: lr.run.path.display().to_string(),
        task: lr.cfg.task.task().name().to_string(),
        description: format!(
            "direct logit attribution to the correct next token on the probe [BOS] + r*{}, T = {}, {} rows, seed {}; per_position[c][p] is the prediction made at p (of token p+1)",
            probe.k, t, rows.len(), a.seed
        ),
        note,
        probe_len: t,
        repeats: probe.k,
        first_copy: first,
        later_copies: later,
        attribution: attr,
    };
    let png = lr.run.plots_dir()?.join("attribute.png");
    let ticks: Vec<String> = (0..last).map(|p| p.to_string()).collect();
    attribution_figure(
        &png,
        &file.attribution,
        &format!("Direct logit attribution to the correct next token (probe T = {t}, k = {}, mean of {} rows)", probe.k, rows.len()),
        ticks,
    )
    .with_context(|| format!("drawing {}", png.display()))?;
    let json = lr.run.path.join("attribute.json");
    indu::report::write_json(&json, &file)?;
    // Only once everything is written: an error is then the one line on stderr.
    if let Some(n) = &file.note {
        eprintln!("{n}");
    }
    if a.run.json {
        println!("{}", serde_json::to_string_pretty(&file)?);
        return Ok(());
    }
    println!("{}", file.description);
    println!(
        "{:<10} {:>11} {:>13}",
        "component", "first copy", "later copies"
    );
    for (i, c) in file.attribution.components.iter().enumerate() {
        println!(
            "{c:<10} {:>11.3} {:>13.3}",
            file.first_copy[i], file.later_copies[i]
        );
    }
    println!(
        "(self-check: components sum to the logit within {:.2e})",
        file.attribution.max_abs_error
    );
    println!("wrote {} and {}", json.display(), png.display());
    Ok(())
}
