//! Line plots (`line_plot`): several named series over a shared x axis (loss curves, per-digit
//! metrics), optional log-scale y (labelled ticks at any span, even under a decade),
//! vertical marker lines with labels (a detected phase change) coloured like their series
//! and set in rows so that no two labels overlap, and a legend outside the plotting area so
//! it never hides a curve.
use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::{check_span, extent, fmt_axis, log_ticks, pad_linear, pad_log, snap};
use super::canvas::{draw_err, render_png, Area};
use super::colormap::series_color;
use super::font::{ensure_font, font, max_width, text_size};
use super::layout::{fill_rect, line, text, Pen};
use crate::error::{Error, Result};

/// One named curve; points need not be sorted, non-finite points break the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line plot of several series.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Logarithmic y axis; points with y <= 0 are skipped.
    pub log_y: bool,
    pub series: Vec<Series>,
    /// Vertical marker lines with labels (e.g. a detected phase change).
    pub vlines: Vec<Marker>,
}

/// A dashed vertical line at `x` with a label at the top of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub x: f64,
    pub label: String,
    /// Index of the series whose colour the marker takes (grey when `None`).
    pub series: Option<usize>,
}

const PAD: i32 = 12;
const PLOT_W: i32 = 900;
const PLOT_H: i32 = 540;
const LEGEND_FONT: f64 = 16.0;
const LEGEND_ROW: i32 = 20;
const MARKERS_UP_TO: usize = 25;
const MARK_COLOR: RGBColor = RGBColor(80, 80, 80);
const MARK_FONT: f64 = 14.0;
/// Height of one row of marker labels.
const MARK_ROW: i32 = 18;

/// Draws `p` into a PNG at `path`: legend at the right, one colour per series.
pub fn line_plot(path: &Path, p: &LinePlot) -> Result<()> {
    ensure_font()?;
    if p.series.is_empty() {
        return Err(Error::Invalid(format!(
            "line plot {:?}: no series to draw",
            p.title
        )));
    }
    let keep = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!p.log_y || y > 0.0);
    let all = || {
        p.series
            .iter()
            .flat_map(|s| s.points.iter().filter(|q| keep(q)))
    };
    let (Some(xe), Some(ye)) = (extent(all().map(|q| q.0)), extent(all().map(|q| q.1))) else {
        return Err(Error::Invalid(format!(
            "line plot {:?}: no drawable points (all series empty{})",
            p.title,
            if p.log_y {
                ", non-finite or <= 0 on a log axis"
            } else {
                " or non-finite"
            }
        )));
    };
    let xe = extent(p.vlines.iter().map(|v| v.x).chain([xe.0, xe.1])).unwrap_or(xe);
    let names: Vec<String> = p
        .series
        .iter()
        .map(|s| {
            if s.points.iter().any(keep) {
                s.name.clone()
            } else {
                format!("{} (no data)", s.name)
            }
        })
        .collect();
    let legend_w = max_width(names.iter().map(|s| s.as_str()), LEGEND_FONT)? as i32 + 34 + 2 * PAD;
    let width = PLOT_W + legend_w;
    let height = PLOT_H.max(2 * PAD + 40 + LEGEND_ROW * names.len() as i32);
    let xr = pad_linear(xe);
    let yr = if p.log_y { pad_log(ye) } else { pad_linear(ye) };
    check_span(&p.title, "x", &xr)?;
    check_span(&p.title, "y", &yr)?;
    render_png(path, (width as u32, height as u32), |root| {
        let (chart_area, legend_area) = root.split_horizontally(PLOT_W);
        let chart_top = if p.log_y {
            draw_chart(
                &chart_area,
                root,
                p,
                xr.clone(),
                yr.clone().log_scale().with_key_points(log_ticks(&yr)),
                yr,
                &keep,
            )?
        } else {
            draw_chart(&chart_area, root, p, xr.clone(), yr.clone(), yr, &keep)?
        };
        draw_legend(&legend_area, &names, chart_top)
    })
}

/// The chart proper: axes, grid, series, marker lines. Returns the pixel y of the plotting
/// area's top edge (where the legend starts).
fn draw_chart<Y>(
    area: &Area,
    root: &Area,
    p: &LinePlot,
    xr: Range<f64>,
    y_spec: Y,
    yr: Range<f64>,
    keep: &dyn Fn(&(f64, f64)) -> bool,
) -> Result<i32>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, font(20.0))
        .margin(PAD)
        .x_label_area_size(48)
        .y_label_area_size(78)
        .build_cartesian_2d(xr.clone(), y_spec)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .bold_line_style(RGBColor(215, 215, 215))
        .max_light_lines(if p.log_y { 0 } else { 1 })
        .light_line_style(RGBColor(242, 242, 242))
        .x_labels(10)
        .y_labels(10)
        .x_label_formatter(&|v| fmt_axis(snap(*v, &xr)))
        .y_label_formatter(&|v| {
            if p.log_y {
                fmt_axis(*v)
            } else {
                fmt_axis(snap(*v, &yr))
            }
        })
        .draw()
        .map_err(draw_err)?;

    for (i, s) in p.series.iter().enumerate() {
        let color = series_color(i);
        // Split at dropped points so a gap is not bridged by a straight line.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for q in &s.points {
            match (keep(q), runs.last_mut()) {
                (true, Some(run)) => run.push(*q),
                (false, Some(run)) if !run.is_empty() => runs.push(Vec::new()),
                _ => {}
            }
        }
        let n: usize = runs.iter().map(|r| r.len()).sum();
        for run in runs.into_iter().filter(|r| !r.is_empty()) {
            if n <= MARKERS_UP_TO {
                let dots = run.iter().map(|q| Circle::new(*q, 3, color.filled()));
                chart.draw_series(dots).map_err(draw_err)?;
            }
            chart
                .draw_series(LineSeries::new(run, color.stroke_width(2)))
                .map_err(draw_err)?;
        }
    }

    let (top, bottom) = (
        chart.backend_coord(&(xr.start, yr.end)).1,
        chart.backend_coord(&(xr.start, yr.start)).1,
    );
    let right = chart.backend_coord(&(xr.end, yr.start)).0;
    let mut markers: Vec<(i32, &Marker)> = p
        .vlines
        .iter()
        .filter(|m| m.x.is_finite())
        .map(|m| (chart.backend_coord(&(m.x, yr.start)).0, m))
        .collect();
    markers.sort_by_key(|(px, _)| *px);
    // Label rows: each label goes in the first row where it overlaps no other label.
    let mut rows: Vec<Vec<(i32, i32)>> = Vec::new();
    let max_rows = ((bottom - top - 8) / MARK_ROW).max(0) as usize;
    let color = |m: &Marker| m.series.map_or(MARK_COLOR, series_color);
    // Every line first, then the labels on white, so no line crosses a label.
    for (px, m) in &markers {
        let mut y = top;
        while y < bottom {
            line(root, (*px, y), (*px, (y + 6).min(bottom)), color(m), 2)?;
            y += 10;
        }
    }
    for (px, m) in markers {
        let w = text_size(&m.label, MARK_FONT)?.0 as i32;
        let x0 = if px + 4 + w < right {
            px + 4
        } else {
            px - 4 - w
        };
        let span = (x0 - 3, x0 + w + 3);
        let free = |row: &Vec<(i32, i32)>| row.iter().all(|&(a, b)| span.1 <= a || b <= span.0);
        let r = match rows.iter().position(free) {
            Some(r) => r,
            None => {
                rows.push(Vec::new());
                rows.len() - 1
            }
        };
        if r >= max_rows {
            continue; // No room left: the coloured line alone marks it.
        }
        rows[r].push(span);
        let ly = top + 4 + MARK_ROW * r as i32;
        fill_rect(root, (span.0, ly - 1), (span.1, ly + MARK_ROW - 1), WHITE)?;
        text(
            root,
            &m.label,
            (x0, ly),
            Pen::new(MARK_FONT, (HPos::Left, VPos::Top)).color(color(m)),
        )?;
    }
    Ok(top)
}

/// The legend (in its own area, right of the chart): a coloured line sample and the series
/// name per row, starting at pixel row `top`.
fn draw_legend(area: &Area, names: &[String], top: i32) -> Result<()> {
    for (i, name) in names.iter().enumerate() {
        let y = top + 10 + LEGEND_ROW * i as i32;
        let color = series_color(i);
        area.draw(&PathElement::new(
            vec![(PAD, y), (PAD + 24, y)],
            color.stroke_width(3),
        ))
        .map_err(draw_err)?;
        let anchor = (HPos::Left, VPos::Center);
        text(area, name, (PAD + 32, y), Pen::new(LEGEND_FONT, anchor))?;
    }
    Ok(())
}
