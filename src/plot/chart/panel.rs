//! One panel of a `chart`: its ranges (padded so that fanned-out dots stay inside), its axes
//! (linear, log or category slots; labelled ticks of its own where given) and its marks:
//! bands first, then every dot at once, then the lines on top.
use std::ops::Range;

use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{spread, Mark, Panel, XScale, DOT, GREY, LINE_W, PAD, PANEL_FONT};
use crate::error::Result;
use crate::plot::axis::{check_span, extent, fmt_axis, log_ticks, pad_linear, pad_log, snap};
use crate::plot::canvas::{draw_err, Area};
use crate::plot::colormap::series_color;
use crate::plot::font::font;
use crate::plot::layout::{line, short_label, text, Pen};

/// Every (x, y) a mark puts on the chart (a band's two edges).
fn ys(m: &Mark) -> Vec<(f64, f64)> {
    match m {
        Mark::Dots { points, .. } | Mark::Line { points, .. } => points.clone(),
        Mark::Band { points, .. } => points
            .iter()
            .flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])
            .collect(),
    }
}

/// Draws one panel; returns the pixel y of its chart's top edge.
pub(super) fn draw_panel<'b>(root: &Area<'b>, area: &Area<'b>, p: &Panel) -> Result<i32> {
    let keep = |&(x, y): &(f64, f64)| {
        x.is_finite() && y.is_finite() && (!p.log_y || y > 0.0) && (p.x != XScale::Log || x > 0.0)
    };
    let pts: Vec<(f64, f64)> = p.marks.iter().flat_map(ys).filter(keep).collect();
    let empty = pts.is_empty();
    let tick_x = p.x_ticks.iter().map(|t| t.0);
    let xe = extent(pts.iter().map(|q| q.0).chain(tick_x));
    let ye = extent(pts.iter().map(|q| q.1));
    let xr = match (&p.x, xe) {
        (XScale::Slots(n), _) => -0.5..(*n as f64 - 0.5).max(0.5),
        // Twice the usual padding: fanned-out dots at the ends stay inside.
        (XScale::Log, Some(e)) if e.0 > 0.0 => pad_log(bounds(pad_log(e))),
        (XScale::Log, _) => 0.1..10.0,
        (XScale::Linear, Some(e)) => pad_linear(bounds(pad_linear(e))),
        (XScale::Linear, None) => 0.0..1.0,
    };
    let yr = match (p.log_y, ye) {
        (true, Some(e)) => pad_log(e),
        (true, None) => 0.1..10.0,
        (false, Some(e)) => pad_linear(e),
        (false, None) => 0.0..1.0,
    };
    check_span(&p.title, "x", &xr)?;
    check_span(&p.title, "y", &yr)?;
    let lx = |r: &Range<f64>| r.clone().log_scale().with_key_points(log_ticks(r));
    // A log x axis with labelled ticks of its own has its key points there only.
    let own: Vec<f64> = p.x_ticks.iter().map(|t| t.0).filter(|x| *x > 0.0).collect();
    let lxx = |r: &Range<f64>| match own.is_empty() {
        true => lx(r),
        false => r.clone().log_scale().with_key_points(own.clone()),
    };
    let d = Draw {
        root,
        area,
        p,
        keep: &keep,
        empty,
    };
    match (p.x == XScale::Log, p.log_y) {
        (true, true) => d.chart(lxx(&xr), xr, lx(&yr), yr),
        (true, false) => d.chart(lxx(&xr), xr, yr.clone(), yr),
        (false, true) => d.chart(xr.clone(), xr, lx(&yr), yr),
        (false, false) => d.chart(xr.clone(), xr, yr.clone(), yr),
    }
}

/// A range as a (low, high) pair (to pad it again).
fn bounds(r: Range<f64>) -> (f64, f64) {
    (r.start, r.end)
}

/// What drawing a panel's chart needs besides its axes.
struct Draw<'a, 'b> {
    root: &'a Area<'b>,
    area: &'a Area<'b>,
    p: &'a Panel,
    keep: &'a dyn Fn(&(f64, f64)) -> bool,
    empty: bool,
}

impl Draw<'_, '_> {
    fn chart<X, Y>(&self, x_spec: X, xr: Range<f64>, y_spec: Y, yr: Range<f64>) -> Result<i32>
    where
        X: AsRangedCoord<Value = f64>,
        X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let p = self.p;
        let own_ticks = !p.x_ticks.is_empty();
        let mut chart = ChartBuilder::on(self.area)
            .caption(&p.title, font(PANEL_FONT))
            .margin(PAD)
            .x_label_area_size(52)
            .y_label_area_size(78)
            .build_cartesian_2d(x_spec, y_spec)
            .map_err(draw_err)?;
        // With labelled ticks of its own, the axis's key points (a log axis always has
        // some) are left unlabelled.
        let x_fmt = |v: &f64| {
            if own_ticks {
                String::new()
            } else {
                fmt_axis(snap(*v, &xr))
            }
        };
        let y_fmt = |v: &f64| {
            if p.log_y {
                fmt_axis(*v)
            } else {
                fmt_axis(snap(*v, &yr))
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(p.x_label.as_str())
            .y_desc(p.y_label.as_str())
            .label_style(font(14.0))
            .axis_desc_style(font(15.0))
            .bold_line_style(RGBColor(215, 215, 215))
            .max_light_lines(if p.log_y { 0 } else { 1 })
            .light_line_style(RGBColor(242, 242, 242))
            .x_labels(if own_ticks { 0 } else { 8 })
            .y_labels(8)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt);
        if own_ticks {
            mesh.disable_x_mesh();
        }
        mesh.draw().map_err(draw_err)?;
        let keep = self.keep;
        for m in &p.marks {
            if let Mark::Band { points, color } = m {
                let lo = points.iter().map(|&(x, l, _)| (x, l));
                let hi = points.iter().rev().map(|&(x, _, h)| (x, h));
                let ring: Vec<(f64, f64)> = lo.chain(hi).filter(|q| keep(q)).collect();
                if ring.len() >= 3 {
                    let style = series_color(*color).mix(0.2).filled();
                    chart
                        .draw_series(std::iter::once(Polygon::new(ring, style)))
                        .map_err(draw_err)?;
                }
            }
        }
        // Every dot of the panel at once, so that dots of different marks at one x fan
        // out together rather than over each other.
        let dots: Vec<((f64, f64), usize)> = p
            .marks
            .iter()
            .flat_map(|m| match m {
                Mark::Dots { points, color } => points
                    .iter()
                    .filter(|q| keep(q))
                    .map(|q| (*q, *color))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let dx = spread(&dots.iter().map(|d| d.0).collect::<Vec<_>>());
        let drawn = dots.iter().zip(&dx).map(|((q, color), &d)| {
            let c = series_color(*color);
            EmptyElement::at(*q)
                + Circle::new((d, 0), DOT, c.mix(0.55).filled())
                + Circle::new((d, 0), DOT, c.stroke_width(1))
        });
        chart.draw_series(drawn).map_err(draw_err)?;
        for m in &p.marks {
            if let Mark::Line { points, color } = m {
                let mut pts: Vec<(f64, f64)> = points.iter().copied().filter(|q| keep(q)).collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let c = series_color(*color);
                chart
                    .draw_series(LineSeries::new(pts, c.stroke_width(LINE_W)))
                    .map_err(draw_err)?;
            }
        }
        let top = chart.backend_coord(&(xr.start, yr.end)).1;
        let bottom = chart.backend_coord(&(xr.start, yr.start)).1;
        let (left, right) = (
            chart.backend_coord(&(xr.start, yr.start)).0,
            chart.backend_coord(&(xr.end, yr.start)).0,
        );
        if own_ticks {
            let slot = (right - left) / p.x_ticks.len().max(1) as i32;
            let max_chars = (slot / 8).max(3) as usize;
            for (x, label) in &p.x_ticks {
                let px = chart.backend_coord(&(*x, yr.start)).0;
                line(
                    self.root,
                    (px, bottom),
                    (px, bottom + 5),
                    RGBColor(0, 0, 0),
                    1,
                )?;
                let pen = Pen::new(14.0, (HPos::Center, VPos::Top));
                text(
                    self.root,
                    &short_label(label, max_chars),
                    (px, bottom + 8),
                    pen,
                )?;
            }
        }
        if self.empty {
            let pen = Pen::new(PANEL_FONT, (HPos::Center, VPos::Center)).color(GREY);
            text(
                self.root,
                "no data",
                ((left + right) / 2, (top + bottom) / 2),
                pen,
            )?;
        }
        Ok(top)
    }
}
