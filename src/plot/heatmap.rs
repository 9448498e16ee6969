//! Heatmaps: one matrix with a colour bar (`heatmap`) or many panels in one figure
//! (`heatmap_grid`): the public types, input checks and colour-scale resolution. Layout
//! (`panel.rs`) sizes cells and text from the data, so a 2x2 score table with values in the
//! cells and a 122x122 attention pattern with one character per tick both read without
//! overlaps. Rows (queries) run top to bottom, columns (keys) left to right.
use std::path::Path;

use plotters::style::text_anchor::{HPos, VPos};

use super::colormap::Colormap;
use super::font::{ensure_font, text_size};
use super::layout::{colorbar_ticks, fmt_tick, text, Pen};
use super::panel::{
    colorbar_block_w, draw_colorbar, draw_panel, plan, Scale, CB_GAP, MAX_DIM, PAD,
};
use super::render_png;
use crate::error::{Error, Result};

/// A matrix to draw as coloured cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// One label per column, or empty for column indices.
    pub x_ticks: Vec<String>,
    /// One label per row, or empty for row indices.
    pub y_ticks: Vec<String>,
    /// `[rows, cols]`, row-major. NaN cells are drawn grey.
    pub values: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
    /// Colour scale limits; `None` takes the finite min and max of the drawn cells.
    pub range: Option<(f32, f32)>,
    /// Causal: cells with col > row are left blank.
    pub hide_upper: bool,
    /// Write each cell's value in the cell (dropped when cells are too small to read it);
    /// a NaN cell (grey) reads "n/a".
    pub annotate: bool,
    pub colormap: Colormap,
    /// What the colours measure ("attention", "score"), written along the colour bar;
    /// empty for none.
    pub colorbar_label: String,
}

pub(super) fn check(h: &Heatmap) -> Result<()> {
    let name = &h.title;
    if h.rows == 0 || h.cols == 0 {
        return Err(Error::Invalid(format!(
            "heatmap {name:?}: nothing to draw ({} rows x {} cols)",
            h.rows, h.cols
        )));
    }
    if h.rows > MAX_DIM || h.cols > MAX_DIM {
        return Err(Error::Invalid(format!(
            "heatmap {name:?}: {} x {} is too large to draw (at most {MAX_DIM} per side)",
            h.rows, h.cols
        )));
    }
    if h.values.len() != h.rows * h.cols {
        return Err(Error::Invalid(format!(
            "heatmap {name:?}: {} values for {} rows x {} cols (expected {})",
            h.values.len(),
            h.rows,
            h.cols,
            h.rows * h.cols
        )));
    }
    for (what, ticks, n) in [
        ("x_ticks", &h.x_ticks, h.cols),
        ("y_ticks", &h.y_ticks, h.rows),
    ] {
        if !ticks.is_empty() && ticks.len() != n {
            return Err(Error::Invalid(format!(
                "heatmap {name:?}: {} {what} for {n} {} (expected {n} or none)",
                ticks.len(),
                if what == "x_ticks" { "columns" } else { "rows" }
            )));
        }
    }
    Ok(())
}

/// The colour scale: the given range or the finite min/max of the visible cells, widened when
/// empty or flat, symmetric around 0 for a diverging map.
pub(super) fn scale(h: &Heatmap) -> Result<Scale> {
    let (lo, hi) = match h.range {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo <= hi => (lo, hi),
        Some((lo, hi)) => {
            return Err(Error::Invalid(format!(
                "heatmap {:?}: range ({lo}, {hi}) must be finite with min <= max",
                h.title
            )))
        }
        None => {
            let visible = h
                .values
                .iter()
                .enumerate()
                .filter(|(i, v)| v.is_finite() && !(h.hide_upper && i % h.cols > i / h.cols));
            visible.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (_, v)| {
                (lo.min(*v), hi.max(*v))
            })
        }
    };
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.5 };
        (lo - d, hi + d)
    } else {
        (lo, hi)
    };
    let (lo, hi) = if h.colormap.is_diverging() {
        let m = lo.abs().max(hi.abs());
        (-m, m)
    } else {
        (lo, hi)
    };
    Ok(Scale {
        lo,
        hi,
        cmap: h.colormap,
    })
}

/// Draws `h` with a colour bar into a PNG at `path`, sized to the data.
pub fn heatmap(path: &Path, h: &Heatmap) -> Result<()> {
    ensure_font()?;
    let p = plan(h, 1000.0, 10.0, true, 18.0)?;
    render_png(path, (p.width as u32, p.height as u32), |area| {
        draw_panel(area, h, &p, (0, 0))
    })
}

/// Draws `panels` in one figure, `ncols` per row, under `title`. When every panel has the same
/// colour map and scale, one shared colour bar is drawn at the right; otherwise each panel
/// gets its own.
pub fn heatmap_grid(path: &Path, title: &str, panels: &[Heatmap], ncols: usize) -> Result<()> {
    ensure_font()?;
    if panels.is_empty() {
        return Err(Error::Invalid(format!(
            "heatmap grid {title:?}: no panels to draw"
        )));
    }
    if ncols == 0 {
        return Err(Error::Invalid(format!(
            "heatmap grid {title:?}: ncols must be at least 1"
        )));
    }
    let ncols = ncols.min(panels.len());
    let nrows = panels.len().div_ceil(ncols);
    let scales = panels.iter().map(scale).collect::<Result<Vec<_>>>()?;
    let shared = scales.iter().all(|s| *s == scales[0]);
    let target = (1600.0 / ncols as f64).max(240.0);
    let plans = panels
        .iter()
        .map(|h| plan(h, target, 5.0, !shared, 16.0))
        .collect::<Result<Vec<_>>>()?;
    let pw = plans.iter().map(|p| p.width).max().unwrap_or(0);
    let ph = plans.iter().map(|p| p.height).max().unwrap_or(0);
    let title_font = 20.0;
    let (tw, th) = text_size(title, title_font)?;
    let top = if title.is_empty() { 0 } else { PAD + th as i32 };
    let cb_ticks = if shared {
        let (t, step) = colorbar_ticks(scales[0].lo, scales[0].hi, 6);
        let t: Vec<(f64, String)> = t.into_iter().map(|v| (v, fmt_tick(v, step))).collect();
        let w = colorbar_block_w(&t, &panels[0].colorbar_label)?;
        Some((t, w + PAD))
    } else {
        None
    };
    let cb_block = cb_ticks.as_ref().map_or(0, |(_, w)| *w);
    let content_w = ncols as i32 * pw + cb_block;
    let width = content_w.max(tw as i32 + 2 * PAD);
    let height = top + nrows as i32 * ph;
    render_png(path, (width as u32, height as u32), |area| {
        if !title.is_empty() {
            let anchor = (HPos::Center, VPos::Top);
            text(area, title, (width / 2, PAD), Pen::new(title_font, anchor))?;
        }
        for (i, (h, p)) in panels.iter().zip(&plans).enumerate() {
            let (r, c) = ((i / ncols) as i32, (i % ncols) as i32);
            // Centre each panel in its slot so panels of different sizes line up.
            let ox = c * pw + (pw - p.width) / 2;
            let oy = top + r * ph + (ph - p.height) / 2;
            draw_panel(area, h, p, (ox, oy))?;
        }
        if let Some((ticks, _)) = &cb_ticks {
            let p0 = &plans[0];
            let y0 = top + (ph - p0.height) / 2 + p0.grid_y;
            let cb_h = (nrows as i32 - 1) * ph + panels[0].rows as i32 * p0.ch;
            draw_colorbar(
                area,
                scales[0],
                ticks,
                &panels[0].colorbar_label,
                (ncols as i32 * pw + CB_GAP, y0),
                cb_h,
            )?;
        }
        Ok(())
    })
}
