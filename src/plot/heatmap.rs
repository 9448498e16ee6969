//! Heatmap figures: one matrix with a colour bar (`heatmap`) or many panels in one figure
//! (`heatmap_grid`). Layout (`panel`) sizes cells and text from the data, so a 2x2 score
//! table with values in the cells and a 122x122 attention pattern with one character per
//! tick both read without overlaps.
use std::path::Path;

use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::render_png;
use super::colorbar::{colorbar_block_w, draw_colorbar, CB_GAP};
use super::font::{ensure_font, text_size};
use super::layout::{colorbar_ticks, fmt_tick, text, Pen};
use super::matrix::{scale, Heatmap};
use super::panel::{draw_panel, plan, PAD};
use crate::error::{Error, Result};

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
