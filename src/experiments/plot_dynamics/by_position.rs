//! `loss_by_position.png`: the held-out loss at each position (rows) over the tracked steps
//! (columns), one heatmap panel per run on one colour scale.
use super::Loaded;
use crate::dynamics::DynamicsLine;
use crate::error::Result;
use crate::plot::{heatmap, heatmap_grid, Colormap, Heatmap};
use crate::report::drawing;
use std::path::Path;

/// Most steps (columns) of a loss-by-position panel; longer runs are thinned evenly.
const MAX_COLUMNS: usize = 200;
/// Most runs side by side in the loss-by-position figure.
const HEATMAP_COLUMNS: usize = 3;

/// Draws the held-out loss by position over training (one panel per run with any value,
/// one colour scale); false when no run tracked it.
pub(super) fn draw(path: &Path, runs: &[Loaded]) -> Result<bool> {
    let mut panels = Vec::new();
    for run in runs {
        let mut lines: Vec<&DynamicsLine> = run.lines.iter().collect();
        lines.sort_by_key(|l| l.step);
        let n = lines.len();
        if n > MAX_COLUMNS {
            let keep: Vec<usize> = (0..MAX_COLUMNS)
                .map(|i| i * (n - 1) / (MAX_COLUMNS - 1))
                .collect();
            lines = keep.into_iter().map(|i| lines[i]).collect();
        }
        let rows = lines.iter().map(|l| l.loss_by_pos.len()).max().unwrap_or(0);
        if rows == 0 {
            continue;
        }
        let cols = lines.len();
        let mut values = vec![f32::NAN; rows * cols];
        for (c, l) in lines.iter().enumerate() {
            for (p, v) in l.loss_by_pos.iter().enumerate() {
                values[p * cols + c] = v.map_or(f32::NAN, |v| v as f32);
            }
        }
        panels.push(Heatmap {
            title: if runs.len() > 1 {
                run.name.clone()
            } else {
                format!("Held-out loss by position: {}", run.path.display())
            },
            x_label: "step".into(),
            y_label: "position".into(),
            x_ticks: lines.iter().map(|l| l.step.to_string()).collect(),
            y_ticks: vec![],
            values,
            rows,
            cols,
            range: None,
            hide_upper: false,
            annotate: false,
            colormap: Colormap::Viridis,
            colorbar_label: "held-out loss".into(),
        });
    }
    let finite = panels
        .iter()
        .flat_map(|h| h.values.iter())
        .filter(|v| v.is_finite());
    let range = finite.fold(None, |acc: Option<(f32, f32)>, &v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    });
    let Some((lo, hi)) = range else {
        return Ok(false);
    };
    let hi = if hi > lo { hi } else { lo + 1.0 };
    for p in &mut panels {
        p.range = Some((lo, hi));
    }
    let drawn = match panels.as_slice() {
        [one] => heatmap(path, one),
        _ => {
            let title = "Held-out loss by position";
            heatmap_grid(path, title, &panels, panels.len().min(HEATMAP_COLUMNS))
        }
    };
    drawing(path, drawn)?;
    Ok(true)
}
