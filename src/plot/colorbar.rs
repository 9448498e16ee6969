//! The vertical colour bar beside a heatmap: its width from the measured tick labels, and
//! its drawing (gradient, ticks, upward label).
use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::RGBColor;

use super::canvas::Area;
use super::font::{max_width, text_size};
use super::layout::{fill_rect, line, outline, text, Pen};
use super::matrix::Scale;
use crate::error::Result;

pub(super) const CB_GAP: i32 = 14;
const CB_W: i32 = 16;
pub(super) const CB_FONT: f64 = 14.0;
/// Length of a tick mark.
pub(super) const TICK: i32 = 4;
/// Colour of outlines and tick marks.
pub(super) const GRID_COLOR: RGBColor = RGBColor(90, 90, 90);

/// Width of a colour bar block right of its panel: the gap, the bar, its tick labels and
/// its label.
pub(super) fn colorbar_block_w(ticks: &[(f64, String)], label: &str) -> Result<i32> {
    let w = max_width(ticks.iter().map(|(_, s)| s.as_str()), CB_FONT)? as i32;
    Ok(CB_GAP + CB_W + TICK + 3 + w + colorbar_label_w(label)?)
}

/// Width the colour bar's (upward) label takes at the right of its tick labels.
fn colorbar_label_w(label: &str) -> Result<i32> {
    Ok(if label.is_empty() {
        0
    } else {
        6 + text_size("Ag", CB_FONT)?.1 as i32
    })
}

/// A vertical colour bar `height` px tall at `(x, y)` with labelled ticks on its right and
/// `label` written upward beside them, centred on the bar.
pub(super) fn draw_colorbar(
    area: &Area,
    s: Scale,
    ticks: &[(f64, String)],
    label: &str,
    (x, y): (i32, i32),
    height: i32,
) -> Result<()> {
    let last = (height - 1).max(1);
    for j in 0..height {
        let c = s.cmap.at(1.0 - j as f32 / last as f32);
        fill_rect(area, (x, y + j), (x + CB_W, y + j + 1), c)?;
    }
    outline(area, (x - 1, y - 1), (x + CB_W, y + height), GRID_COLOR)?;
    let span = (s.hi - s.lo) as f64;
    for (v, label) in ticks {
        let t = if span > 0.0 {
            (v - s.lo as f64) / span
        } else {
            0.5
        };
        let ty = y + ((1.0 - t) * last as f64).round() as i32;
        line(area, (x + CB_W, ty), (x + CB_W + TICK, ty), GRID_COLOR, 1)?;
        let pos = (x + CB_W + TICK + 3, ty);
        text(
            area,
            label,
            pos,
            Pen::new(CB_FONT, (HPos::Left, VPos::Center)),
        )?;
    }
    if !label.is_empty() {
        let tw = max_width(ticks.iter().map(|(_, s)| s.as_str()), CB_FONT)? as i32;
        let lx = x + CB_W + TICK + 3 + tw + 6;
        text(
            area,
            label,
            (lx, y + height / 2),
            Pen::new(CB_FONT, (HPos::Center, VPos::Top)).upward(),
        )?;
    }
    Ok(())
}
