//! Stacked line plots (`stacked_plot`): strips one above the other over one shared x axis
//! (a run's loss above its head scores), each strip with its own y axis (linear or log),
//! title and legend (at its right, outside the chart). Lines choose their colour (`Ink`)
//! and dash (`Dash`), so several runs can share a strip (one colour per run, one dash per
//! head). Vertical markers are drawn dashed in their own strip, labelled in a band above
//! its chart (rows, `marks`, so that no label overlaps another or hides a curve), and when
//! asked as faint dotted lines through the other strips, so a step can be followed from one
//! strip to the next. Only the bottom strip labels the x axis.
use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::{check_span, extent, fmt_axis, log_ticks, pad_linear, pad_log, snap};
use super::canvas::{draw_err, render_png, Area};
use super::colormap::series_color;
use super::font::{ensure_font, font, max_width, text_size};
use super::layout::{line, text, Pen};
use super::marks::{dashed_vline, draw_marks, place, rows_used, MARK_ROW};
use crate::error::{Error, Result};

/// The colour of a line or marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ink {
    /// The `i`-th colour of the series palette.
    Series(usize),
    /// The `i`-th palette colour, half mixed with white (a secondary line of that series).
    Light(usize),
    /// Light grey (lines that are drawn but not named).
    Grey,
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
}

impl Dash {
    /// Every dash, most visible first.
    pub const ALL: [Dash; 3] = [Dash::Solid, Dash::Dashed, Dash::Dotted];

    /// (dash, gap) lengths in pixels; `None` for a solid line.
    fn pattern(self) -> Option<(i32, i32)> {
        match self {
            Dash::Solid => None,
            Dash::Dashed => Some((9, 5)),
            Dash::Dotted => Some((2, 4)),
        }
    }
}

/// One line of a strip; points need not be sorted, non-finite points break the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Its legend entry; empty for a line left out of the legend.
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub ink: Ink,
    pub dash: Dash,
}

/// One strip of a stacked plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Strip {
    pub title: String,
    pub y_label: String,
    /// Logarithmic y axis; points with y <= 0 are skipped.
    pub log_y: bool,
    /// The y range always shown (0..1 for scores), widened to take in any point outside
    /// it; `None`: the data's range.
    pub y_range: Option<(f64, f64)>,
    pub lines: Vec<Line>,
}

/// A vertical line at `x`, labelled in strip `strip`.
#[derive(Debug, Clone, PartialEq)]
pub struct StackMarker {
    pub x: f64,
    pub label: String,
    pub ink: Ink,
    pub strip: usize,
    /// Also drawn, faint and unlabelled, through every other strip.
    pub through: bool,
}

/// Strips over one x axis, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub title: String,
    pub x_label: String,
    pub strips: Vec<Strip>,
    pub markers: Vec<StackMarker>,
}

const PAD: i32 = 12;
const PLOT_W: i32 = 900;
const STRIP_H: i32 = 250;
const X_AXIS_H: i32 = 48;
const TITLE_FONT: f64 = 20.0;
const STRIP_FONT: f64 = 16.0;
const LEGEND_FONT: f64 = 15.0;
const LEGEND_ROW: i32 = 20;
/// Width of the y tick labels and the y axis label left of each chart.
const Y_AXIS_W: i32 = 78;
/// Most rows of marker labels above one chart.
const MAX_LABEL_ROWS: usize = 4;
const GREY: RGBColor = RGBColor(175, 175, 175);

impl Ink {
    fn rgb(self) -> RGBColor {
        match self {
            Ink::Series(i) => series_color(i),
            Ink::Light(i) => {
                let c = series_color(i);
                let mix = |v: u8| ((v as u16 + 255) / 2) as u8;
                RGBColor(mix(c.0), mix(c.1), mix(c.2))
            }
            Ink::Grey => GREY,
        }
    }

    fn width(self) -> u32 {
        match self {
            Ink::Series(_) => 2,
            Ink::Light(_) | Ink::Grey => 1,
        }
    }
}

/// Draws `s` into a PNG at `path`.
pub fn stacked_plot(path: &Path, s: &Stack) -> Result<()> {
    ensure_font()?;
    if s.strips.is_empty() {
        return Err(Error::Invalid(format!(
            "stacked plot {:?}: no strips to draw",
            s.title
        )));
    }
    let all_x = s
        .strips
        .iter()
        .flat_map(|st| st.lines.iter().flat_map(|l| l.points.iter()))
        .filter(|q| q.1.is_finite())
        .map(|q| q.0);
    let Some(xe) = extent(all_x.chain(s.markers.iter().map(|m| m.x))) else {
        return Err(Error::Invalid(format!(
            "stacked plot {:?}: no drawable points",
            s.title
        )));
    };
    let xr = pad_linear(xe);
    check_span(&s.title, "x", &xr)?;
    let legends: Vec<Vec<(String, &Line)>> = s.strips.iter().map(legend).collect();
    let names = legends.iter().flatten().map(|(n, _)| n.as_str());
    let legend_w = max_width(names, LEGEND_FONT)? as i32 + 40 + 2 * PAD;
    let title_h = text_size(&s.title, TITLE_FONT)?.1 as i32 + 2 * PAD;
    let strip_title_h = text_size("Ag", STRIP_FONT)?.1 as i32 + 6;
    // The chart's pixel columns are known before drawing: plan the label rows.
    let (x0, x1) = (PAD + Y_AXIS_W, PLOT_W - PAD);
    let px = |x: f64| x0 + ((x - xr.start) / (xr.end - xr.start) * (x1 - x0) as f64) as i32;
    let mut bands = Vec::with_capacity(s.strips.len());
    for i in 0..s.strips.len() {
        let labels = own_labels(s, i, px);
        let rows = rows_used(&place(&labels, x1, MAX_LABEL_ROWS)?);
        bands.push(if rows == 0 {
            0
        } else {
            rows as i32 * MARK_ROW + 4
        });
    }
    let heights: Vec<i32> = legends
        .iter()
        .zip(&bands)
        .map(|(l, band)| STRIP_H.max(60 + LEGEND_ROW * l.len() as i32) + band)
        .collect();
    let width = PLOT_W + legend_w;
    let height = title_h + heights.iter().sum::<i32>() + X_AXIS_H;
    render_png(path, (width as u32, height as u32), |root| {
        let anchor = (HPos::Center, VPos::Top);
        text(
            root,
            &s.title,
            (PLOT_W / 2, PAD),
            Pen::new(TITLE_FONT, anchor),
        )?;
        let mut y = title_h;
        for (i, strip) in s.strips.iter().enumerate() {
            let last = i + 1 == s.strips.len();
            let h = heights[i] + if last { X_AXIS_H } else { 0 };
            let area = root.clone().shrink((0, y), (PLOT_W as u32, h as u32));
            let ctx = StripCtx {
                root,
                area: &area,
                index: i,
                stack: s,
                xr: xr.clone(),
                last,
                y0: y,
                head: PAD + strip_title_h + bands[i],
                label_rows: (bands[i] / MARK_ROW) as usize,
            };
            let top = draw_strip(&ctx, strip)?;
            draw_legend(root, &legends[i], (PLOT_W + PAD, top))?;
            y += h;
        }
        Ok(())
    })
}

/// The legend entries of a strip: named lines, "(no data)" added where nothing is drawable.
fn legend(strip: &Strip) -> Vec<(String, &Line)> {
    strip
        .lines
        .iter()
        .filter(|l| !l.name.is_empty())
        .map(|l| {
            if l.points.iter().any(|q| drawable(q, strip.log_y)) {
                (l.name.clone(), l)
            } else {
                (format!("{} (no data)", l.name), l)
            }
        })
        .collect()
}

fn drawable(&(x, y): &(f64, f64), log_y: bool) -> bool {
    x.is_finite() && y.is_finite() && (!log_y || y > 0.0)
}

/// What drawing one strip needs besides the strip.
struct StripCtx<'a, 'b> {
    root: &'a Area<'b>,
    area: &'a Area<'b>,
    index: usize,
    stack: &'a Stack,
    xr: Range<f64>,
    last: bool,
    /// Pixel row of the strip's top edge.
    y0: i32,
    /// Pixels above the chart: padding, the strip's title and the band of marker labels.
    head: i32,
    /// Rows of marker labels the band holds.
    label_rows: usize,
}

/// The own markers of strip `i` as (pixel column, label).
fn own_labels(s: &Stack, i: usize, px: impl Fn(f64) -> i32) -> Vec<(i32, &str)> {
    s.markers
        .iter()
        .filter(|m| m.x.is_finite() && m.strip == i)
        .map(|m| (px(m.x), m.label.as_str()))
        .collect()
}

/// Draws a strip with its y range; returns the pixel y of its chart's top edge.
fn draw_strip(c: &StripCtx, strip: &Strip) -> Result<i32> {
    let ys = strip
        .lines
        .iter()
        .flat_map(|l| l.points.iter())
        .filter(|q| drawable(q, strip.log_y))
        .map(|q| q.1);
    let fixed = strip.y_range.into_iter().flat_map(|(a, b)| [a, b]);
    let fixed = fixed.filter(|v| !strip.log_y || *v > 0.0);
    let empty = extent(ys.clone()).is_none();
    let ye = match extent(ys.chain(fixed)) {
        Some(e) => e,
        None if strip.log_y => (0.1, 10.0),
        None => (0.0, 1.0),
    };
    let yr = if strip.log_y {
        pad_log(ye)
    } else {
        pad_linear(ye)
    };
    check_span(&strip.title, "y", &yr)?;
    if strip.log_y {
        let spec = yr.clone().log_scale().with_key_points(log_ticks(&yr));
        draw_chart(c, strip, spec, yr, empty)
    } else {
        draw_chart(c, strip, yr.clone(), yr, empty)
    }
}

fn draw_chart<Y>(c: &StripCtx, strip: &Strip, y_spec: Y, yr: Range<f64>, empty: bool) -> Result<i32>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let xr = c.xr.clone();
    let anchor = (HPos::Center, VPos::Top);
    let pen = Pen::new(STRIP_FONT, anchor);
    text(c.root, &strip.title, (PLOT_W / 2, c.y0 + PAD), pen)?;
    let mut chart = ChartBuilder::on(c.area)
        .margin(PAD)
        .margin_top(c.head)
        .margin_bottom(if c.last { PAD } else { 4 })
        .x_label_area_size(if c.last { X_AXIS_H } else { 0 })
        .y_label_area_size(Y_AXIS_W)
        .build_cartesian_2d(xr.clone(), y_spec)
        .map_err(draw_err)?;
    let x_fmt = |v: &f64| fmt_axis(snap(*v, &xr));
    let y_fmt = |v: &f64| {
        if strip.log_y {
            fmt_axis(*v)
        } else {
            fmt_axis(snap(*v, &yr))
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(strip.y_label.as_str())
        .label_style(font(14.0))
        .axis_desc_style(font(15.0))
        .bold_line_style(RGBColor(215, 215, 215))
        .max_light_lines(if strip.log_y { 0 } else { 1 })
        .light_line_style(RGBColor(242, 242, 242))
        .x_labels(10)
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt);
    if c.last {
        mesh.x_desc(c.stack.x_label.as_str());
    }
    mesh.draw().map_err(draw_err)?;

    let top = chart.backend_coord(&(xr.start, yr.end)).1;
    let bottom = chart.backend_coord(&(xr.start, yr.start)).1;
    let (left, right) = (
        chart.backend_coord(&(xr.start, yr.start)).0,
        chart.backend_coord(&(xr.end, yr.start)).0,
    );
    let px = |x: f64| chart.backend_coord(&(x, yr.start)).0;
    let others: Vec<i32> = c
        .stack
        .markers
        .iter()
        .filter(|m| m.x.is_finite() && m.strip != c.index && m.through)
        .map(|m| px(m.x))
        .collect();
    let own: Vec<(i32, &StackMarker)> = c
        .stack
        .markers
        .iter()
        .filter(|m| m.x.is_finite() && m.strip == c.index)
        .map(|m| (px(m.x), m))
        .collect();
    let placed = {
        let labels: Vec<(i32, &str)> = own.iter().map(|(x, m)| (*x, m.label.as_str())).collect();
        place(&labels, right, c.label_rows)?
    };
    for x in others {
        dashed_vline(c.root, x, (top, bottom), (2, 5), Ink::Grey.rgb(), 1)?;
    }
    // Lines in a series colour last, so they are drawn over the light and grey ones.
    let mut order: Vec<&Line> = strip.lines.iter().collect();
    order.sort_by_key(|l| matches!(l.ink, Ink::Series(_)));
    for l in order {
        let style = l.ink.rgb().stroke_width(l.ink.width());
        for run in runs(&l.points, strip.log_y) {
            match l.dash.pattern() {
                None => chart.draw_series(LineSeries::new(run, style)),
                Some((on, off)) => chart.draw_series(DashedLineSeries::new(run, on, off, style)),
            }
            .map_err(draw_err)?;
        }
    }

    if empty {
        let centre = ((left + right) / 2, (top + bottom) / 2);
        let pen = Pen::new(STRIP_FONT, (HPos::Center, VPos::Center)).color(GREY);
        text(c.root, "no data", centre, pen)?;
    }
    let marks: Vec<(i32, &str, RGBColor)> = own
        .iter()
        .map(|(x, m)| (*x, m.label.as_str(), m.ink.rgb()))
        .collect();
    draw_marks(c.root, &marks, &placed, (top, bottom))?;
    Ok(top)
}

/// The drawable stretches of `points` (a non-drawable point ends a stretch).
fn runs(points: &[(f64, f64)], log_y: bool) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for q in points {
        match (drawable(q, log_y), out.last_mut()) {
            (true, Some(r)) => r.push(*q),
            (false, Some(r)) if !r.is_empty() => out.push(Vec::new()),
            _ => {}
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

/// A strip's legend at pixel `(x, top)`: a sample of each line (its ink and dash) and name.
fn draw_legend(root: &Area, entries: &[(String, &Line)], (x, top): (i32, i32)) -> Result<()> {
    for (i, (name, l)) in entries.iter().enumerate() {
        let y = top + 8 + LEGEND_ROW * i as i32;
        let (color, width) = (l.ink.rgb(), l.ink.width() + 1);
        let (on, off) = l.dash.pattern().unwrap_or((28, 0));
        let mut sx = x;
        while sx < x + 28 {
            line(root, (sx, y), ((sx + on).min(x + 28), y), color, width)?;
            sx += on + off;
        }
        let pen = Pen::new(LEGEND_FONT, (HPos::Left, VPos::Center));
        text(root, name, (x + 36, y), pen)?;
    }
    Ok(())
}
