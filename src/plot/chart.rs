//! Charts of marks over an x axis that is linear, logarithmic or a row of category slots
//! (`chart`): dots (one per observation, spread sideways where several share an x, so none
//! hides another), lines (a median) and shaded bands (a 10-90% range), in one or more panels
//! side by side under one title, one legend at the right (outside every panel) and a note
//! under each panel. Colours are the series palette's, so a figure and a page that use the
//! same index show the same colour.
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::{draw_err, render_png, Area};
use super::colormap::series_color;
use super::font::{ensure_font, max_width, text_size};
use super::layout::{line, text, Pen};
use crate::error::{Error, Result};

mod panel;
use panel::draw_panel;

/// How x values are placed.
#[derive(Debug, Clone, PartialEq)]
pub enum XScale {
    Linear,
    /// Positive values on a log axis (others are not drawn).
    Log,
    /// `n` categories at x = 0, 1, .., n-1.
    Slots(usize),
}

/// What a panel draws; `color` is an index into the series palette.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    /// One dot per (x, y).
    Dots {
        points: Vec<(f64, f64)>,
        color: usize,
    },
    /// A line through (x, y) in x order.
    Line {
        points: Vec<(f64, f64)>,
        color: usize,
    },
    /// A shaded band through (x, low, high) in x order.
    Band {
        points: Vec<(f64, f64, f64)>,
        color: usize,
    },
}

/// One chart of a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x: XScale,
    /// Labelled x ticks (value, label); empty: round ticks chosen from the range.
    pub x_ticks: Vec<(f64, String)>,
    pub log_y: bool,
    pub marks: Vec<Mark>,
    /// A line of text under the panel.
    pub note: Option<String>,
}

/// How a legend entry's sample is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    Dot,
    Line,
    /// A dot on a line (a group's runs and their median).
    DotLine,
    Band,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    pub name: String,
    pub color: usize,
    pub sample: Sample,
}

/// Panels side by side under one title.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub panels: Vec<Panel>,
    pub legend: Vec<LegendEntry>,
}

const PAD: i32 = 12;
const PANEL_W: i32 = 600;
const PANEL_H: i32 = 440;
const TITLE_FONT: f64 = 20.0;
const PANEL_FONT: f64 = 16.0;
const NOTE_FONT: f64 = 14.0;
const LEGEND_FONT: f64 = 15.0;
const LEGEND_ROW: i32 = 22;
const DOT: i32 = 4;
const LINE_W: u32 = 2;
/// Most pixels between neighbouring dots of one x.
const SPREAD: f64 = 7.0;
const GREY: RGBColor = RGBColor(110, 110, 110);

/// Draws `c` into a PNG at `path`.
pub fn chart(path: &Path, c: &Chart) -> Result<()> {
    ensure_font()?;
    if c.panels.is_empty() {
        return Err(Error::Invalid(format!("chart {:?}: no panels", c.title)));
    }
    let names = c.legend.iter().map(|e| e.name.as_str());
    let legend_w = if c.legend.is_empty() {
        0
    } else {
        max_width(names, LEGEND_FONT)? as i32 + 44 + 2 * PAD
    };
    let title_h = text_size(&c.title, TITLE_FONT)?.1 as i32 + 2 * PAD;
    let note_h = if c.panels.iter().any(|p| p.note.is_some()) {
        text_size("Ag", NOTE_FONT)?.1 as i32 + PAD
    } else {
        0
    };
    let n = c.panels.len() as i32;
    let width = (n * PANEL_W + legend_w).max(text_size(&c.title, TITLE_FONT)?.0 as i32 + 2 * PAD);
    let body_h = PANEL_H.max(LEGEND_ROW * c.legend.len() as i32 + 40);
    let height = title_h + body_h + note_h;
    render_png(path, (width as u32, height as u32), |root| {
        let anchor = (HPos::Center, VPos::Top);
        text(
            root,
            &c.title,
            (n * PANEL_W / 2, PAD),
            Pen::new(TITLE_FONT, anchor),
        )?;
        let mut top = title_h;
        for (i, p) in c.panels.iter().enumerate() {
            let x0 = i as i32 * PANEL_W;
            let area = root
                .clone()
                .shrink((x0, title_h), (PANEL_W as u32, PANEL_H as u32));
            top = draw_panel(root, &area, p)?;
            if let Some(note) = &p.note {
                let pen = Pen::new(NOTE_FONT, (HPos::Center, VPos::Top)).color(GREY);
                text(root, note, (x0 + PANEL_W / 2, title_h + PANEL_H + 4), pen)?;
            }
        }
        draw_legend(root, &c.legend, (n * PANEL_W + PAD, top))
    })
}

/// Sideways pixel offsets of dots: those at the same x fan out around it.
fn spread(points: &[(f64, f64)]) -> Vec<i32> {
    points
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let same: Vec<usize> = (0..points.len()).filter(|&j| points[j].0 == q.0).collect();
            let n = same.len() as f64;
            let k = same.iter().position(|&j| j == i).unwrap_or(0) as f64;
            let step = SPREAD.min(36.0 / n);
            ((k - (n - 1.0) / 2.0) * step).round() as i32
        })
        .collect()
}

/// The legend at pixel `(x, top)`: a sample of each entry and its name.
fn draw_legend(root: &Area, entries: &[LegendEntry], (x, top): (i32, i32)) -> Result<()> {
    for (i, e) in entries.iter().enumerate() {
        let y = top + 10 + LEGEND_ROW * i as i32;
        let c = series_color(e.color);
        if e.sample == Sample::DotLine {
            line(root, (x, y), (x + 24, y), c, 3)?;
        }
        match e.sample {
            Sample::Dot | Sample::DotLine => {
                let dot = Circle::new((x + 12, y), DOT, c.mix(0.55).filled());
                root.draw(&dot).map_err(draw_err)?;
                let ring = Circle::new((x + 12, y), DOT, c.stroke_width(1));
                root.draw(&ring).map_err(draw_err)?;
            }
            Sample::Line => line(root, (x, y), (x + 24, y), c, 3)?,
            Sample::Band => {
                let light = c.mix(0.2).to_rgba();
                let band = Rectangle::new([(x, y - 7), (x + 24, y + 7)], light.filled());
                root.draw(&band).map_err(draw_err)?;
                line(root, (x, y), (x + 24, y), c, 3)?;
            }
        }
        let pen = Pen::new(LEGEND_FONT, (HPos::Left, VPos::Center));
        text(root, &e.name, (x + 32, y), pen)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_of_one_x_fan_out_symmetrically() {
        let pts = [(1.0, 0.0), (2.0, 0.0), (1.0, 1.0), (1.0, 2.0)];
        assert_eq!(spread(&pts), vec![-7, 0, 0, 7]);
        let many = vec![(0.0, 0.0); 12];
        let d = spread(&many);
        assert_eq!(d.iter().sum::<i32>(), 0);
        assert!(d.iter().all(|v| v.abs() <= 18), "{d:?}");
    }

    #[test]
    fn every_kind_of_axis_draws() {
        let dir = tempfile::tempdir().unwrap();
        let panel = |x: XScale, log_y: bool| Panel {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x,
            x_ticks: vec![(1.0, "a".into()), (2.0, "b".into())],
            log_y,
            marks: vec![
                Mark::Dots {
                    points: vec![(1.0, 1.0), (1.0, 2.0), (2.0, 3.0)],
                    color: 0,
                },
                Mark::Line {
                    points: vec![(2.0, 3.0), (1.0, 1.5)],
                    color: 0,
                },
                Mark::Band {
                    points: vec![(1.0, 1.0, 2.0), (2.0, 2.5, 3.0)],
                    color: 1,
                },
            ],
            note: Some("a note".into()),
        };
        let c = Chart {
            title: "every axis".into(),
            panels: vec![
                panel(XScale::Linear, false),
                panel(XScale::Log, true),
                panel(XScale::Slots(3), false),
            ],
            legend: vec![LegendEntry {
                name: "median".into(),
                color: 0,
                sample: Sample::Line,
            }],
        };
        let path = dir.path().join("c.png");
        chart(&path, &c).unwrap();
        let img = image::open(&path).unwrap();
        // Three panels and the legend beside them; the notes below.
        assert!(img.width() as i32 > 3 * PANEL_W, "{}", img.width());
        assert!(img.height() as i32 > PANEL_H, "{}", img.height());
        // An empty panel says so rather than failing.
        let mut empty = panel(XScale::Linear, true);
        empty.marks.clear();
        empty.x_ticks.clear();
        let e = Chart {
            title: "empty".into(),
            panels: vec![empty],
            legend: vec![],
        };
        chart(&path, &e).unwrap();
    }
}
