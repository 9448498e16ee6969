//! `indu plot-attn`: attention patterns of one input as heatmaps with token labels, a grid of
//! every head plus one PNG per head.
use crate::cli::PlotAttnArgs;
use anyhow::{bail, Context, Result};
use indu::analysis::{fit_probe, LoadedRun};
use indu::detect::Patterns;
use indu::plot::{heatmap, heatmap_grid, Colormap, Heatmap};
use indu::tasks::{repeated, Rows};
use rand::SeedableRng;

pub fn run(a: PlotAttnArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    let m = &lr.cfg.model;
    if let Some(l) = a.layer.filter(|&l| l >= m.n_layers) {
        bail!(
            "--layer {l} is out of range: the model has layers 0..={}",
            m.n_layers - 1
        );
    }
    if let Some(h) = a.head.filter(|&h| h >= m.n_heads) {
        bail!(
            "--head {h} is out of range: the model has heads 0..={}",
            m.n_heads - 1
        );
    }
    let (rows, source, note) = input_row(&lr, &a)?;
    let (patterns, _) = lr.patterns(&rows)?;
    let labels = lr.spec.tokenizer().labels(rows.row(0));
    let mut panels = Vec::new();
    for l in 0..m.n_layers {
        for h in 0..m.n_heads {
            if a.layer.is_some_and(|x| x != l) || a.head.is_some_and(|x| x != h) {
                continue;
            }
            panels.push((l, h, panel(&patterns, l, h, &labels)?));
        }
    }
    let mut outputs = indu::report::Outputs::new();
    let mut written = Vec::new();
    if let Some(out) = &a.out {
        let out = &outputs.file(out);
        if panels.len() == 1 {
            heatmap(out, &panels[0].2)?;
        } else {
            let ps: Vec<Heatmap> = panels.iter().map(|p| p.2.clone()).collect();
            heatmap_grid(
                out,
                &format!("Attention patterns on {source}"),
                &ps,
                grid_cols(m.n_heads, ps.len()),
            )?;
        }
        written.push(out.clone());
    } else {
        let plots = outputs.dir(&lr.run.plots())?;
        for (l, h, p) in &panels {
            let path = outputs.file(&plots.join(format!("attn_L{l}_H{h}.png")));
            heatmap(&path, p).with_context(|| format!("drawing {}", path.display()))?;
            written.push(path);
        }
        if panels.len() > 1 {
            let ps: Vec<Heatmap> = panels.iter().map(|p| p.2.clone()).collect();
            let path = outputs.file(&plots.join("attn_grid.png"));
            heatmap_grid(
                &path,
                &format!("Attention patterns on {source}"),
                &ps,
                grid_cols(m.n_heads, ps.len()),
            )?;
            written.push(path);
        }
    }
    outputs.keep();
    if let Some(n) = note {
        eprintln!("{n}");
    }
    println!(
        "input ({source}): {}",
        lr.spec.tokenizer().decode(rows.row(0))
    );
    for w in written {
        println!("wrote {}", w.display());
    }
    Ok(())
}

/// The one-row input: `--text`, one probe row, or a fresh task sample (default).
/// Also returns a note for stderr (printed once the plots are written).
fn input_row(lr: &LoadedRun, a: &PlotAttnArgs) -> Result<(Rows, String, Option<String>)> {
    let n_ctx = lr.n_ctx();
    if let Some(text) = &a.text {
        let tokens = lr.encode_text(text).context("--text")?;
        if tokens.is_empty() {
            bail!("--text is empty: give at least one token");
        }
        let n = tokens.len();
        let rows = Rows {
            n_ctx: n,
            targets: tokens.clone(),
            mask: vec![0.0; n],
            tokens,
        };
        let shown: String = text.chars().take(40).collect();
        let ellipsis = if text.chars().count() > 40 { "…" } else { "" };
        return Ok((rows, format!("\"{shown}{ellipsis}\""), None));
    }
    if a.probe {
        let (probe, note) = fit_probe(n_ctx, 50, 2)?;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed);
        let rows = repeated::probe(lr.cfg.model.d_vocab(), probe.t, probe.k, 1, &mut rng)?;
        return Ok((
            rows,
            format!("the repeat probe (T = {}, k = {})", probe.t, probe.k),
            note,
        ));
    }
    Ok((
        lr.showcase_row(a.seed),
        format!("a fresh {} sample", lr.cfg.task.task()),
        None,
    ))
}

fn panel(p: &Patterns, l: usize, h: usize, labels: &[String]) -> Result<Heatmap> {
    let pos = p.pos;
    Ok(Heatmap {
        title: format!("layer {l} head {h}"),
        x_label: "key (attended-to token)".into(),
        y_label: "query token".into(),
        x_ticks: labels.to_vec(),
        y_ticks: labels.to_vec(),
        values: p.head(l, 0, h)?.to_vec(),
        rows: pos,
        cols: pos,
        range: Some((0.0, 1.0)),
        hide_upper: true,
        annotate: pos <= 12,
        colormap: Colormap::Viridis,
    })
}

/// Columns of the grid: one per head, or every panel in a row for one-head models.
fn grid_cols(n_heads: usize, n_panels: usize) -> usize {
    if n_heads == 1 {
        n_panels.clamp(1, 4)
    } else {
        n_heads.min(n_panels).max(1)
    }
}
