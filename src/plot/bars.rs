//! Bar charts (`bar_chart`): one labelled bar per item (loss increase per ablated head),
//! negative values drawn downwards in a second colour from a zero line, category labels
//! rotated when they do not fit horizontally, values written on the bars when there is room.
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::{check_span, fmt_axis, snap};
use super::canvas::{draw_err, render_png};
use super::font::{ensure_font, font, max_width, text_size};
use super::layout::{fmt_value, line, text, Pen};
use crate::error::{Error, Result};

const PAD: i32 = 12;
const LABEL_FONT: f64 = 14.0;
const VALUE_FONT: f64 = 12.0;
const Y_AREA: i32 = 78;
const MAX_BARS: usize = 2000;
const POSITIVE: RGBColor = RGBColor(0x4c, 0x72, 0xb0);
const NEGATIVE: RGBColor = RGBColor(0xc4, 0x4e, 0x52);
const BLACK: RGBColor = RGBColor(0, 0, 0);

/// Draws one bar per `labels[i]` with height `values[i]` into a PNG at `path`. Non-finite
/// values leave an empty slot; lengths must match and be non-zero.
pub fn bar_chart(
    path: &Path,
    title: &str,
    y_label: &str,
    labels: &[String],
    values: &[f64],
) -> Result<()> {
    ensure_font()?;
    if labels.is_empty() || labels.len() != values.len() {
        return Err(Error::Invalid(format!(
            "bar chart {title:?}: {} labels and {} values (expected the same, non-zero number)",
            labels.len(),
            values.len()
        )));
    }
    if labels.len() > MAX_BARS {
        return Err(Error::Invalid(format!(
            "bar chart {title:?}: {} bars is too many to draw (at most {MAX_BARS})",
            labels.len()
        )));
    }
    let n = labels.len();
    let finite = || values.iter().copied().filter(|v| v.is_finite());
    let lo = finite().fold(0.0f64, f64::min);
    let hi = finite().fold(0.0f64, f64::max);
    let (lo, hi) = if lo == hi { (0.0, 1.0) } else { (lo, hi) };
    let pad = (hi - lo) * 0.08;
    let yr = (if lo < 0.0 { lo - pad } else { 0.0 })..(if hi > 0.0 { hi + pad } else { 0.0 });
    check_span(title, "y", &yr)?;

    let pitch = (800 / n as i32).clamp(14, 70);
    let label_w = max_width(labels.iter().map(|s| s.as_str()), LABEL_FONT)? as i32;
    let label_h = text_size("Ag", LABEL_FONT)?.1 as i32;
    let upward = label_w + 6 > pitch;
    let x_area = 10 + if upward { label_w } else { label_h } + 8;
    let (title_w, _) = text_size(title, 20.0)?;
    let width = (Y_AREA + n as i32 * pitch + 2 * PAD)
        .max(480)
        .max(title_w as i32 + 2 * PAD);
    let height = 460 + x_area;
    let value_texts: Vec<String> = values.iter().map(|v| fmt_value(*v as f32)).collect();
    let show_values =
        max_width(value_texts.iter().map(|s| s.as_str()), VALUE_FONT)? as i32 + 2 <= pitch;

    render_png(path, (width as u32, height as u32), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, font(20.0))
            .margin(PAD)
            .x_label_area_size(x_area)
            .y_label_area_size(Y_AREA)
            .build_cartesian_2d(0f64..n as f64, yr.clone())
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(10)
            .y_desc(y_label)
            .label_style(font(14.0))
            .axis_desc_style(font(16.0))
            .bold_line_style(RGBColor(215, 215, 215))
            .light_line_style(RGBColor(240, 240, 240))
            .y_label_formatter(&|v| fmt_axis(snap(*v, &yr)))
            .draw()
            .map_err(draw_err)?;
        let bars = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| {
                let color = if *v < 0.0 { NEGATIVE } else { POSITIVE };
                Rectangle::new(
                    [(i as f64 + 0.15, 0.0), (i as f64 + 0.85, *v)],
                    color.filled(),
                )
            });
        chart.draw_series(bars).map_err(draw_err)?;
        let (x0, zero) = chart.backend_coord(&(0.0, 0.0));
        let x1 = chart.backend_coord(&(n as f64, 0.0)).0;
        line(root, (x0, zero), (x1, zero), BLACK, 1)?;
        let bottom = chart.backend_coord(&(0.0, yr.start)).1;
        for (i, label) in labels.iter().enumerate() {
            let (x, _) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            line(root, (x, bottom), (x, bottom + 4), BLACK, 1)?;
            if upward {
                text(
                    root,
                    label,
                    (x, bottom + 8),
                    Pen::new(LABEL_FONT, (HPos::Right, VPos::Center)).upward(),
                )?;
            } else {
                text(
                    root,
                    label,
                    (x, bottom + 8),
                    Pen::new(LABEL_FONT, (HPos::Center, VPos::Top)),
                )?;
            }
            let v = values[i];
            if show_values && v.is_finite() {
                let (_, y) = chart.backend_coord(&(i as f64 + 0.5, v));
                let (pos, v_anchor) = if v < 0.0 {
                    ((x, y + 3), VPos::Top)
                } else {
                    ((x, y - 3), VPos::Bottom)
                };
                text(
                    root,
                    &value_texts[i],
                    pos,
                    Pen::new(VALUE_FONT, (HPos::Center, v_anchor)),
                )?;
            }
        }
        Ok(())
    })
}
