//! Shared figure layout helpers: nice axis ticks, number formatting, tick-label thinning and
//! thin wrappers that draw rectangles, lines and text in pixel coordinates.
use plotters::element::{PathElement, Rectangle, Text};
use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::{Color, RGBColor};

use super::canvas::{draw_err, Area};
use super::font::style;
use crate::error::Result;

/// Opaque filled rectangle covering pixels x0..x1, y0..y1 (end exclusive, as plotters' bitmap
/// fast path fills).
pub(crate) fn fill_rect(
    area: &Area,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    c: RGBColor,
) -> Result<()> {
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.filled()))
        .map_err(draw_err)
}

/// Unfilled rectangle outline.
pub(crate) fn outline(
    area: &Area,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    c: RGBColor,
) -> Result<()> {
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], c.stroke_width(1)))
        .map_err(draw_err)
}

/// Straight line segment.
pub(crate) fn line(
    area: &Area,
    a: (i32, i32),
    b: (i32, i32),
    c: RGBColor,
    width: u32,
) -> Result<()> {
    area.draw(&PathElement::new(vec![a, b], c.stroke_width(width)))
        .map_err(draw_err)
}

/// How to set a piece of text: size in px, colour, anchor (which point of the text box sits
/// at the given position) and whether it is rotated to read bottom to top (the anchor then
/// refers to the unrotated text box).
#[derive(Clone, Copy)]
pub(crate) struct Pen {
    size: f64,
    color: RGBColor,
    anchor: (HPos, VPos),
    upward: bool,
}

impl Pen {
    /// Black horizontal text of `size` px anchored at `anchor`.
    pub(crate) fn new(size: f64, anchor: (HPos, VPos)) -> Pen {
        Pen {
            size,
            color: RGBColor(0, 0, 0),
            anchor,
            upward: false,
        }
    }

    pub(crate) fn color(self, color: RGBColor) -> Pen {
        Pen { color, ..self }
    }

    pub(crate) fn upward(self) -> Pen {
        self.upward_if(true)
    }

    pub(crate) fn upward_if(self, upward: bool) -> Pen {
        Pen { upward, ..self }
    }
}

/// Draws `s` at pixel `pos` with `pen`.
pub(crate) fn text(area: &Area, s: &str, pos: (i32, i32), pen: Pen) -> Result<()> {
    if s.is_empty() {
        return Ok(());
    }
    // plotters' ab_glyph renderer sets the ink about 0.14 em above the layout box it reports;
    // shift it back so that anchors refer to where the glyphs really are.
    let shift = (0.14 * pen.size).round() as i32;
    let pos = if pen.upward {
        (pos.0 + shift, pos.1)
    } else {
        (pos.0, pos.1 + shift)
    };
    let (h, v) = pen.anchor;
    let st = style(pen.size, pen.color, h, v, pen.upward);
    area.draw(&Text::new(s.to_string(), pos, st))
        .map_err(draw_err)
}

/// Up to about `target` "nice" tick values (1, 2, 5 x 10^k steps) inside `lo..=hi`, with the
/// step. Needs finite `lo < hi`; otherwise returns the endpoints.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, f64) {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (vec![lo, hi], 0.0);
    }
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    let ticks = (first..=last)
        .take(100)
        .map(|i| i as f64 * step)
        .collect::<Vec<_>>();
    (ticks, step)
}

/// A tick value written with as many decimals as the step needs.
pub(crate) fn fmt_tick(v: f64, step: f64) -> String {
    let a = v.abs().max(step.abs());
    if v == 0.0 {
        return "0".to_string();
    }
    if a >= 1e5 || (step != 0.0 && step.abs() < 1e-4) {
        return format!("{v:.1e}").replace(".0e", "e");
    }
    let decimals = if step > 0.0 {
        (-(step.log10() + 1e-9).floor()).clamp(0.0, 6.0) as usize
    } else {
        2
    };
    clean_zero(format!("{v:.decimals$}"))
}

/// A cell value in a few characters (3 significant digits or fewer).
pub(crate) fn fmt_value(v: f32) -> String {
    let a = v.abs();
    let s = if v.is_nan() {
        "n/a".to_string()
    } else if v == 0.0 {
        "0".to_string()
    } else if !(1e-2..1e4).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    clean_zero(s)
}

/// "-0.00" -> "0.00".
fn clean_zero(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// `s` cut to `max` characters with an ellipsis, with newline, tab and other control
/// characters replaced by visible symbols so that a tick label is always one short line.
pub(crate) fn short_label(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '\n' => '\u{21b5}',
            '\t' => '\u{2192}',
            c if c.is_control() => '\u{00b7}',
            c => c,
        })
        .collect();
    if clean.chars().count() <= max {
        clean
    } else {
        let mut t: String = clean.chars().take(max.saturating_sub(1)).collect();
        t.push('\u{2026}');
        t
    }
}

/// Smallest k such that labels spaced `k * pitch` pixels apart leave `need` pixels each.
pub(crate) fn thin_every(need: f64, pitch: f64) -> usize {
    if pitch <= 0.0 {
        return 1;
    }
    ((need / pitch).ceil() as usize).max(1)
}

/// The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `k`.
pub(crate) fn round_step(k: usize) -> usize {
    let mut base = 1;
    loop {
        for m in [1, 2, 5] {
            if m * base >= k {
                return m * base;
            }
        }
        base *= 10;
    }
}

/// Nice colour-bar ticks: about `target`, more if fewer than three land inside the range.
pub(crate) fn colorbar_ticks(lo: f32, hi: f32, target: usize) -> (Vec<f64>, f64) {
    let mut target = target;
    loop {
        let (t, step) = nice_ticks(lo as f64, hi as f64, target);
        if t.len() >= 3 || target >= 12 {
            return (t, step);
        }
        target += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::backend::RGBPixel;
    use plotters::prelude::*;

    /// Ink bounding box (x0, x1, y0, y1) of `s` drawn at the centre of a 200x200 canvas.
    fn ink(s: &str, size: f64, upward: bool) -> (usize, usize, usize, usize) {
        super::super::font::ensure_font().unwrap();
        let mut buf = vec![255u8; 200 * 200 * 3];
        {
            let root = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut buf, (200, 200))
                .unwrap()
                .into_drawing_area();
            let anchor = (HPos::Center, VPos::Center);
            text(
                &root,
                s,
                (100, 100),
                Pen::new(size, anchor).upward_if(upward),
            )
            .unwrap();
            root.present().unwrap();
        }
        let (mut x0, mut x1, mut y0, mut y1) = (usize::MAX, 0, usize::MAX, 0);
        for y in 0..200 {
            for x in 0..200 {
                if buf[(y * 200 + x) * 3] < 128 {
                    (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
                }
            }
        }
        (x0, x1, y0, y1)
    }

    #[test]
    fn centred_text_ink_is_centred() {
        for size in [12.0, 20.0, 40.0] {
            let tol = 1 + (size * 0.08) as i64;
            let (x0, x1, y0, y1) = ink("EHxg", size, false);
            let (cx, cy) = ((x0 + x1) as i64 / 2, (y0 + y1) as i64 / 2);
            assert!(
                (cx - 100).abs() <= tol && (cy - 100).abs() <= tol,
                "{size}: {x0}..{x1} {y0}..{y1}"
            );
            let (x0, x1, y0, y1) = ink("EHxg", size, true);
            assert!(y1 - y0 > x1 - x0, "upward text is taller than wide");
            let (cx, cy) = ((x0 + x1) as i64 / 2, (y0 + y1) as i64 / 2);
            assert!(
                (cx - 100).abs() <= tol && (cy - 100).abs() <= tol,
                "up {size}: {x0}..{x1} {y0}..{y1}"
            );
        }
    }

    #[test]
    fn nice_ticks_cover_the_range_with_round_steps() {
        let (t, step) = nice_ticks(0.0, 1.0, 5);
        assert_eq!(step, 0.2);
        assert_eq!(t.len(), 6);
        assert_eq!(fmt_tick(t[1], step), "0.2");
        let (t, step) = nice_ticks(-0.37, 0.37, 4);
        assert_eq!(step, 0.2);
        let labels: Vec<String> = t.iter().map(|v| fmt_tick(*v, step)).collect();
        assert_eq!(labels, ["-0.2", "0", "0.2"]);
        assert_eq!(fmt_tick(2e6, 1e6), "2e6");
        assert_eq!(fmt_tick(2.5e6, 5e5), "2.5e6");
        let (t, _) = nice_ticks(1.0, 1.0, 5);
        assert_eq!(t, vec![1.0, 1.0]);
    }

    #[test]
    fn values_and_labels_are_short() {
        assert_eq!(fmt_value(0.8765), "0.88");
        assert_eq!(fmt_value(-12.34), "-12.3");
        assert_eq!(fmt_value(-0.0001), "-1e-4");
        assert_eq!(fmt_value(f32::NAN), "n/a");
        assert_eq!(short_label("a\nb", 5), "a\u{21b5}b");
        assert_eq!(short_label("abcdefgh", 4), "abc\u{2026}");
        assert_eq!(thin_every(20.0, 9.0), 3);
        assert_eq!(thin_every(5.0, 9.0), 1);
        assert_eq!(round_step(3), 5);
        assert_eq!(round_step(11), 20);
        assert_eq!(colorbar_ticks(-0.99, 0.99, 2).0.len(), 3);
    }
}
