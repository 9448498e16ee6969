//! `indu plot-attn`: attention patterns of one input as heatmaps with token labels, a grid of
//! every head plus one PNG per head. `--layer` / `--head` grids get their own file name
//! (`attn_grid_L1.png`), so they never overwrite the full grid (`attn_grid.png`).
use crate::cli::PlotAttnArgs;
use anyhow::{bail, Context, Result};
use indu::detect::Patterns;
use indu::plot::{heatmap, heatmap_grid, Colormap, Heatmap};
use serde::Serialize;
use std::path::PathBuf;

/// `--json` output: what was drawn from what.
#[derive(Serialize)]
struct Summary {
    run: String,
    source: String,
    /// The decoded input, one label per token.
    input: Vec<String>,
    tokens: Vec<u32>,
    /// Shape of each drawn pattern: `[query pos, key pos]`.
    pattern_shape: [usize; 2],
    /// The heads drawn, as "layer.head".
    heads: Vec<String>,
    files: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

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
    let input = super::input::input_row(&lr, a.text.as_deref(), a.probe, a.seed)?;
    let (rows, source) = (&input.rows, &input.source);
    let (patterns, _) = lr.patterns(rows)?;
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
    let grid_title = format!("Attention patterns on {source}");
    if let Some(out) = &a.out {
        let out = &outputs.file(out);
        if panels.len() == 1 {
            heatmap(out, &panels[0].2)?;
        } else {
            let ps: Vec<Heatmap> = panels.iter().map(|p| p.2.clone()).collect();
            heatmap_grid(out, &grid_title, &ps, grid_cols(m.n_heads, ps.len()))?;
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
            let path = outputs.file(&plots.join(grid_name(a.layer, a.head)));
            heatmap_grid(&path, &grid_title, &ps, grid_cols(m.n_heads, ps.len()))
                .with_context(|| format!("drawing {}", path.display()))?;
            written.push(path);
        }
    }
    outputs.keep();
    if let Some(n) = &input.note {
        eprintln!("{n}");
    }
    if a.run.json {
        let summary = Summary {
            run: lr.run.path.display().to_string(),
            source: source.clone(),
            input: labels,
            tokens: rows.row(0).to_vec(),
            pattern_shape: [patterns.pos, patterns.pos],
            heads: panels.iter().map(|(l, h, _)| format!("{l}.{h}")).collect(),
            files: written,
            note: input.note,
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
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

/// File name of the grid: `attn_grid.png` for every head, `attn_grid_L1.png` /
/// `attn_grid_H0.png` when filtered by `--layer` / `--head`.
fn grid_name(layer: Option<usize>, head: Option<usize>) -> String {
    let mut name = "attn_grid".to_string();
    if let Some(l) = layer {
        name.push_str(&format!("_L{l}"));
    }
    if let Some(h) = head {
        name.push_str(&format!("_H{h}"));
    }
    name + ".png"
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
        colorbar_label: "attention".into(),
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

#[cfg(test)]
mod tests {
    use super::grid_name;

    #[test]
    fn filtered_grids_do_not_overwrite_the_full_grid() {
        assert_eq!(grid_name(None, None), "attn_grid.png");
        assert_eq!(grid_name(Some(1), None), "attn_grid_L1.png");
        assert_eq!(grid_name(None, Some(0)), "attn_grid_H0.png");
    }
}
