//! `plot-attn`: attention patterns of one input as heatmaps with token labels, one PNG per
//! head plus a grid -> `AttentionReport` (what was drawn from what). `--layer` / `--head`
//! grids get their own file name (`attn_grid_L1.png`), so they never overwrite the full
//! grid (`attn_grid.png`).
use crate::analysis::LoadedRun;
use crate::detect::Patterns;
use crate::error::{Error, Result};
use crate::plot::{heatmap, heatmap_grid, Colormap, Heatmap};
use crate::probe::Source;
use crate::report::{drawing, Outputs, Report};
use serde::Serialize;
use std::path::PathBuf;

/// `--json` schema of the summary.
pub const SCHEMA_VERSION: u32 = 1;

/// Options of `plot-attn`.
#[derive(Debug, Clone)]
pub struct AttentionOptions {
    pub source: Source,
    /// The user's text or token ids (`Source::Text` / `Source::Tokens`).
    pub given: Option<crate::given::Given>,
    /// Only this layer / head.
    pub layer: Option<usize>,
    pub head: Option<usize>,
    /// Seed of the sample or probe.
    pub seed: u64,
    /// One PNG (a single head, or a grid) instead of the run's plots directory.
    pub out: Option<PathBuf>,
}

/// What was drawn from what.
#[derive(Debug, Clone, Serialize)]
pub struct AttentionReport {
    pub run: String,
    pub source: String,
    /// The decoded input, one label per token.
    pub input: Vec<String>,
    pub tokens: Vec<u32>,
    /// Shape of each drawn pattern: `[query pos, key pos]`.
    pub pattern_shape: [usize; 2],
    /// The heads drawn, as "layer.head".
    pub heads: Vec<String>,
    pub files: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The decoded input as one string (the summary).
    #[serde(skip)]
    pub decoded: String,
}

/// Draw the patterns of the chosen input.
pub fn run(lr: &LoadedRun, o: &AttentionOptions) -> Result<AttentionReport> {
    let m = &lr.cfg.model;
    if let Some(l) = o.layer.filter(|&l| l >= m.n_layers) {
        return Err(Error::Invalid(format!(
            "--layer {l} is out of range: the model has layers 0..={}",
            m.n_layers - 1
        )));
    }
    if let Some(h) = o.head.filter(|&h| h >= m.n_heads) {
        return Err(Error::Invalid(format!(
            "--head {h} is out of range: the model has heads 0..={}",
            m.n_heads - 1
        )));
    }
    let input = lr
        .input_row(o.source, o.given.as_ref(), o.seed)?
        .first_row();
    let rows = &input.rows;
    let (patterns, _) = lr.patterns(rows)?;
    // Each token with its position, so a reader can find "the query at 7" on both axes.
    let labels = lr.tokenizer().labels(rows.row(0));
    let ticks: Vec<String> = labels
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{t} {i}"))
        .collect();
    let mut panels = Vec::new();
    for l in 0..m.n_layers {
        for h in 0..m.n_heads {
            if o.layer.is_some_and(|x| x != l) || o.head.is_some_and(|x| x != h) {
                continue;
            }
            panels.push((l, h, panel(&patterns, l, h, &ticks)?));
        }
    }
    let mut outputs = Outputs::new();
    let mut files = Vec::new();
    let grid_title = format!("Attention patterns on {}", input.source);
    let all: Vec<Heatmap> = panels.iter().map(|p| p.2.clone()).collect();
    let cols = grid_cols(m.n_heads, all.len());
    if let Some(out) = &o.out {
        let out = outputs.file(out);
        if panels.len() == 1 {
            heatmap(&out, &alone(&panels[0].2, &input.source))?;
        } else {
            heatmap_grid(&out, &grid_title, &all, cols)?;
        }
        files.push(out);
    } else {
        let plots = outputs.dir(&lr.run.plots())?;
        for (l, h, p) in &panels {
            let path = outputs.file(&plots.join(format!("attn_L{l}_H{h}.png")));
            drawing(&path, heatmap(&path, &alone(p, &input.source)))?;
            files.push(path);
        }
        if panels.len() > 1 {
            let path = outputs.file(&plots.join(grid_name(o.layer, o.head)));
            drawing(&path, heatmap_grid(&path, &grid_title, &all, cols))?;
            files.push(path);
        }
    }
    outputs.keep();
    Ok(AttentionReport {
        run: lr.run.path.display().to_string(),
        source: input.source,
        decoded: lr.tokenizer().decode(rows.row(0)),
        input: labels,
        tokens: rows.row(0).to_vec(),
        pattern_shape: [patterns.pos, patterns.pos],
        heads: panels.iter().map(|(l, h, _)| format!("{l}.{h}")).collect(),
        files,
        note: input.note,
    })
}

impl Report for AttentionReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    fn human(&self) -> Vec<String> {
        vec![format!("input ({}): {}", self.source, self.decoded)]
    }
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

/// A panel drawn as a figure of its own: its title also names the input.
fn alone(p: &Heatmap, source: &str) -> Heatmap {
    Heatmap {
        title: format!("{} on {source}", p.title),
        ..p.clone()
    }
}

/// One head's pattern `[query pos, key pos]` with the tokens (and positions) on both axes.
fn panel(p: &Patterns, l: usize, h: usize, labels: &[String]) -> Result<Heatmap> {
    let pos = p.pos;
    Ok(Heatmap {
        title: format!("layer {l} head {h}"),
        x_label: "key (attended-to token, position)".into(),
        y_label: "query token, position".into(),
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
