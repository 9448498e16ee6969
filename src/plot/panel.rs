//! Layout and drawing of one heatmap panel: cell size, tick fonts, tick-label thinning /
//! staggering / rotation and annotation size from the data size and measured text; then the
//! cells, ticks, labels and (via `colorbar`) the colour bar in pixel coordinates.
use plotters::style::text_anchor::{HPos, VPos};

use super::canvas::Area;
use super::colorbar::{colorbar_block_w, draw_colorbar, CB_FONT, CB_GAP, GRID_COLOR, TICK};
use super::colormap::contrast_text;
use super::font::{max_width, text_size};
use super::layout::{colorbar_ticks, round_step, text, thin_every, Pen};
use super::layout::{fill_rect, fmt_tick, fmt_value, line, outline, short_label};
use super::matrix::{check, scale, Heatmap, Scale};
use crate::error::Result;

pub(super) const PAD: i32 = 12;
const LABEL_FONT: f64 = 16.0;
const MAX_TICK_CHARS: usize = 16;

/// How x tick labels are set: in one row, alternating between two rows, or rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum XMode {
    Flat,
    Stagger,
    Up,
}

/// Every size and position of one panel, relative to its top-left corner.
pub(super) struct Plan {
    cw: i32,
    pub(super) ch: i32,
    tick_font: f64,
    kx: usize,
    ky: usize,
    x_mode: XMode,
    xt: Vec<String>,
    yt: Vec<String>,
    ann_font: Option<f64>,
    title_font: f64,
    scale: Scale,
    colorbar: Option<Vec<(f64, String)>>,
    grid_x: i32,
    pub(super) grid_y: i32,
    pub(super) width: i32,
    pub(super) height: i32,
}

fn ticks_or_indices(t: &[String], n: usize) -> Vec<String> {
    if t.is_empty() {
        (0..n).map(|i| i.to_string()).collect()
    } else {
        t.iter().map(|s| short_label(s, MAX_TICK_CHARS)).collect()
    }
}

/// Lays out one panel. `target` is the wished grid side in pixels, `min_cell` the smallest
/// cell; `colorbar` adds a colour bar at the right.
pub(super) fn plan(
    h: &Heatmap,
    target: f64,
    min_cell: f64,
    colorbar: bool,
    title_font: f64,
) -> Result<Plan> {
    check(h)?;
    let scale = scale(h)?;
    let (rows, cols) = (h.rows as i32, h.cols as i32);
    let max_cell = if h.annotate { 90.0 } else { 60.0 };
    let cell = (target / h.rows.max(h.cols) as f64)
        .round()
        .clamp(min_cell, max_cell) as i32;
    let cw = cell.max((120 + cols - 1) / cols).min(120);
    let ch = cell.max((120 + rows - 1) / rows).min(120);

    // Below 16 px no value fits at a readable size; skip measuring (maybe millions of) texts.
    let ann_font = if h.annotate && cw >= 16 && ch >= 10 {
        let texts: Vec<String> = h.values.iter().map(|v| fmt_value(*v)).collect();
        let mut f = ((ch as f64 * 0.175).round() * 2.0).clamp(8.0, 16.0);
        loop {
            let w = max_width(texts.iter().map(|s| s.as_str()), f)? as i32;
            if w + 4 <= cw && (f / 1.24) as i32 + 2 <= ch {
                break Some(f);
            }
            if f <= 8.0 {
                break None;
            }
            f -= 2.0;
        }
    } else {
        None
    };

    let xt = ticks_or_indices(&h.x_ticks, h.cols);
    let yt = ticks_or_indices(&h.y_ticks, h.rows);
    // Largest tick font (16, 14, 12, 10 px) at which every label fits; else 10 px and thin.
    // Index labels (no ticks given) are thinned to round steps (every 2, 5, 10, ...).
    // Other short labels that do not fit side by side alternate between two rows (stagger)
    // before being rotated: rotated single characters are hard to read.
    let (x_index, y_index) = (h.x_ticks.is_empty(), h.y_ticks.is_empty());
    let mut choice = (10.0, 1, 1, XMode::Flat);
    for f in [16.0, 14.0, 12.0, 10.0] {
        let lh = text_size("Ag", f)?.1 as f64;
        let wx = max_width(xt.iter().map(|s| s.as_str()), f)? as f64;
        let ky = thin_every(lh + 2.0, ch as f64);
        let ky = if y_index { round_step(ky) } else { ky };
        let kh = thin_every(wx + 6.0, cw as f64);
        let ks = thin_every(wx + 8.0, 2.0 * cw as f64);
        let kr = thin_every(lh + 2.0, cw as f64);
        let (kx, mode) = if x_index {
            (round_step(kh), XMode::Flat)
        } else if kh <= kr {
            (kh, XMode::Flat)
        } else if ks == 1 {
            (1, XMode::Stagger)
        } else {
            (kr, XMode::Up)
        };
        choice = (f, kx, ky, mode);
        if kx == 1 && ky == 1 {
            break;
        }
    }
    let (tick_font, kx, ky, x_mode) = choice;
    let lh = text_size("Ag", tick_font)?.1 as i32;
    let shown = |t: &[String], k: usize| -> Result<i32> {
        Ok(max_width(t.iter().step_by(k).map(|s| s.as_str()), tick_font)? as i32)
    };
    let x_tick_h = match x_mode {
        XMode::Flat => lh,
        XMode::Stagger => 2 * lh + 2,
        XMode::Up => shown(&xt, kx)?,
    };
    let y_tick_w = shown(&yt, ky)?;

    let (gw, gh) = (cols * cw, rows * ch);
    let label_h = text_size("Ag", LABEL_FONT)?.1 as i32;
    let colorbar = if colorbar {
        let (t, step) = colorbar_ticks(scale.lo, scale.hi, (gh / 45).clamp(2, 8) as usize);
        Some(
            t.into_iter()
                .map(|v| (v, fmt_tick(v, step)))
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let cb_block = match &colorbar {
        Some(t) => colorbar_block_w(t, &h.colorbar_label)?,
        None => 0,
    };
    let (title_w, title_h) = text_size(&h.title, title_font)?;
    let y_label_w = text_size(&h.y_label, LABEL_FONT)?.0 as i32;
    let x_label_w = text_size(&h.x_label, LABEL_FONT)?.0 as i32;
    let left = PAD + if h.y_label.is_empty() { 0 } else { label_h + 6 } + y_tick_w + TICK + 3;
    let top = PAD
        + if h.title.is_empty() {
            0
        } else {
            title_h as i32 + 10
        };
    let bottom = TICK + 3 + x_tick_h + if h.x_label.is_empty() { 0 } else { 6 + label_h } + PAD;
    let content_w = left + gw + cb_block + PAD;
    let width = content_w
        .max(title_w as i32 + 2 * PAD)
        .max(x_label_w + 2 * PAD);
    let cb_label_h = if colorbar.is_some() {
        text_size(&h.colorbar_label, CB_FONT)?.0 as i32
    } else {
        0
    };
    let height = (top + gh + bottom)
        .max(y_label_w + 2 * PAD)
        .max(top + cb_label_h + PAD);
    Ok(Plan {
        cw,
        ch,
        tick_font,
        kx,
        ky,
        x_mode,
        xt,
        yt,
        ann_font,
        title_font,
        scale,
        colorbar,
        grid_x: left + (width - content_w) / 2,
        grid_y: top,
        width,
        height,
    })
}

/// `c` clamped so that text of width `w` centred there stays inside `lo..hi`.
fn centre_within(c: i32, w: i32, lo: i32, hi: i32) -> i32 {
    c.min(hi - w / 2).max(lo + w / 2)
}

/// Draws one panel with its top-left corner at `(ox, oy)`.
pub(super) fn draw_panel(area: &Area, h: &Heatmap, p: &Plan, (ox, oy): (i32, i32)) -> Result<()> {
    let (gx, gy) = (ox + p.grid_x, oy + p.grid_y);
    let (gw, gh) = (h.cols as i32 * p.cw, h.rows as i32 * p.ch);
    let s = p.scale;
    if !h.title.is_empty() {
        let tw = text_size(&h.title, p.title_font)?.0 as i32;
        let cx = centre_within(gx + gw / 2, tw, ox + PAD, ox + p.width - PAD);
        text(
            area,
            &h.title,
            (cx, oy + PAD),
            Pen::new(p.title_font, (HPos::Center, VPos::Top)),
        )?;
    }
    for r in 0..h.rows {
        for c in 0..h.cols {
            if h.hide_upper && c > r {
                continue;
            }
            let v = h.values[r * h.cols + c];
            let bg = s.cmap.color(v, s.lo, s.hi);
            let (x0, y0) = (gx + c as i32 * p.cw, gy + r as i32 * p.ch);
            fill_rect(area, (x0, y0), (x0 + p.cw, y0 + p.ch), bg)?;
            if let Some(f) = p.ann_font {
                let centre = (x0 + p.cw / 2, y0 + p.ch / 2);
                let anchor = (HPos::Center, VPos::Center);
                text(
                    area,
                    &fmt_value(v),
                    centre,
                    Pen::new(f, anchor).color(contrast_text(bg)),
                )?;
            }
        }
    }
    outline(area, (gx - 1, gy - 1), (gx + gw, gy + gh), GRID_COLOR)?;

    let f = p.tick_font;
    for (r, label) in p.yt.iter().enumerate().step_by(p.ky) {
        let y = gy + r as i32 * p.ch + p.ch / 2;
        line(area, (gx - 1 - TICK, y), (gx - 1, y), GRID_COLOR, 1)?;
        text(
            area,
            label,
            (gx - TICK - 3, y),
            Pen::new(f, (HPos::Right, VPos::Center)),
        )?;
    }
    let ty = gy + gh + TICK + 3;
    let lh = text_size("Ag", f)?.1 as i32;
    for (c, label) in p.xt.iter().enumerate().step_by(p.kx) {
        let x = gx + c as i32 * p.cw + p.cw / 2;
        line(area, (x, gy + gh), (x, gy + gh + TICK), GRID_COLOR, 1)?;
        let (y, pen) = match p.x_mode {
            XMode::Flat => (ty, Pen::new(f, (HPos::Center, VPos::Top))),
            XMode::Stagger if (c / p.kx) % 2 == 1 => {
                let y = ty + lh + 2;
                line(area, (x, gy + gh), (x, y - 3), GRID_COLOR, 1)?;
                (y, Pen::new(f, (HPos::Center, VPos::Top)))
            }
            XMode::Stagger => (ty, Pen::new(f, (HPos::Center, VPos::Top))),
            XMode::Up => (ty, Pen::new(f, (HPos::Right, VPos::Center)).upward()),
        };
        text(area, label, (x, y), pen)?;
    }
    if !h.x_label.is_empty() {
        let w = text_size(&h.x_label, LABEL_FONT)?.0 as i32;
        let cx = centre_within(gx + gw / 2, w, ox + PAD, ox + p.width - PAD);
        let y = oy + p.height - PAD;
        text(
            area,
            &h.x_label,
            (cx, y),
            Pen::new(LABEL_FONT, (HPos::Center, VPos::Bottom)),
        )?;
    }
    if !h.y_label.is_empty() {
        let w = text_size(&h.y_label, LABEL_FONT)?.0 as i32;
        let cy = centre_within(gy + gh / 2, w, oy + PAD, oy + p.height - PAD);
        let anchor = (HPos::Center, VPos::Top);
        text(
            area,
            &h.y_label,
            (ox + PAD, cy),
            Pen::new(LABEL_FONT, anchor).upward(),
        )?;
    }
    if let Some(ticks) = &p.colorbar {
        let label = &h.colorbar_label;
        draw_colorbar(area, s, ticks, label, (gx + gw + CB_GAP, gy), gh)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::colormap::Colormap;
    use crate::plot::font::ensure_font;

    fn square(n: usize, tick: &str, annotate: bool) -> Heatmap {
        Heatmap {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_ticks: vec![tick.to_string(); n],
            y_ticks: vec![tick.to_string(); n],
            values: vec![0.5; n * n],
            rows: n,
            cols: n,
            range: None,
            hide_upper: true,
            annotate,
            colormap: Colormap::Blues,
            colorbar_label: "value".into(),
        }
    }

    #[test]
    fn layout_adapts_to_the_data_size() {
        ensure_font().unwrap();
        let small = plan(&square(2, "L0", true), 1000.0, 10.0, true, 18.0).unwrap();
        assert_eq!((small.kx, small.ky, small.x_mode), (1, 1, XMode::Flat));
        assert!(small.ann_font.is_some() && small.tick_font == 16.0);
        // 122 one-character ticks: every label shown, x labels in two staggered rows.
        let long = plan(&square(122, "W", true), 1000.0, 10.0, true, 18.0).unwrap();
        assert_eq!((long.kx, long.ky, long.x_mode), (1, 1, XMode::Stagger));
        assert!(long.ann_font.is_none(), "no values in 10 px cells");
        // Word labels in 10 px cells are rotated, all shown; in 5 px grid cells, thinned.
        let words = plan(&square(122, "token", false), 1000.0, 10.0, true, 18.0).unwrap();
        assert_eq!((words.kx, words.ky, words.x_mode), (1, 1, XMode::Up));
        let words = plan(&square(122, "token", false), 240.0, 5.0, false, 16.0).unwrap();
        assert_eq!((words.kx, words.ky, words.x_mode), (2, 2, XMode::Up));
        // Index ticks are thinned to round steps.
        let mut idx = square(300, "", false);
        (idx.x_ticks, idx.y_ticks) = (vec![], vec![]);
        let idx = plan(&idx, 1000.0, 10.0, true, 18.0).unwrap();
        assert!([2, 5, 10, 20].contains(&idx.kx), "kx = {}", idx.kx);
    }
}
