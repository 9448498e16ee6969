//! Vertical marker lines and their labels, set in rows so that no two overlap: each label
//! sits right of its line (left when it would run past the chart's right edge) in the first
//! row where it overlaps no label already placed; the rows stack upward from a chart's top
//! edge, in a band kept free for them.
use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::{RGBColor, WHITE};

use super::canvas::Area;
use super::font::text_size;
use super::layout::{fill_rect, line, text, Pen};
use crate::error::Result;

/// Font size of a marker label.
pub(super) const MARK_FONT: f64 = 13.0;
/// Height of one row of marker labels.
pub(super) const MARK_ROW: i32 = 17;

/// Where one label goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placed {
    /// Pixel x of the label's left edge.
    pub(super) x0: i32,
    /// Its row, 0 nearest the chart.
    pub(super) row: usize,
}

/// Rows for the labels of lines at pixel columns `xs` (any order), with the chart's right
/// edge at `right`; a label that would need row `max_rows` or more gets `None`.
pub(super) fn place(
    labels: &[(i32, &str)],
    right: i32,
    max_rows: usize,
) -> Result<Vec<Option<Placed>>> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by_key(|&i| labels[i].0);
    let mut rows: Vec<Vec<(i32, i32)>> = Vec::new();
    let mut out = vec![None; labels.len()];
    for i in order {
        let (x, label) = labels[i];
        let w = text_size(label, MARK_FONT)?.0 as i32;
        let x0 = if x + 4 + w < right { x + 4 } else { x - 4 - w };
        let span = (x0 - 3, x0 + w + 3);
        let free = |row: &Vec<(i32, i32)>| row.iter().all(|&(a, b)| span.1 <= a || b <= span.0);
        let row = match rows.iter().position(free) {
            Some(r) => r,
            None => {
                rows.push(Vec::new());
                rows.len() - 1
            }
        };
        if row < max_rows {
            rows[row].push(span);
            out[i] = Some(Placed { x0, row });
        }
    }
    Ok(out)
}

/// The number of rows `placed` uses.
pub(super) fn rows_used(placed: &[Option<Placed>]) -> usize {
    placed
        .iter()
        .flatten()
        .map(|p| p.row + 1)
        .max()
        .unwrap_or(0)
}

/// A vertical line at pixel column `x` from `top` to `bottom`, `(dash, gap)` pixels.
pub(super) fn dashed_vline(
    root: &Area,
    x: i32,
    (top, bottom): (i32, i32),
    (dash, gap): (i32, i32),
    color: RGBColor,
    width: u32,
) -> Result<()> {
    let mut y = top;
    while y < bottom {
        line(root, (x, y), (x, (y + dash).min(bottom)), color, width)?;
        y += dash + gap;
    }
    Ok(())
}

/// Markers `(pixel column, label, colour)` of a chart spanning `top..bottom`, labels where
/// `placed` (from `place`) puts them in the band above `top` (row 0 nearest it): each line
/// is dashed from its label down to the chart's bottom; one whose label found no room is
/// drawn over the chart alone.
pub(super) fn draw_marks(
    root: &Area,
    marks: &[(i32, &str, RGBColor)],
    placed: &[Option<Placed>],
    (top, bottom): (i32, i32),
) -> Result<()> {
    let label_y = |row: usize| top - 2 - MARK_ROW * (row as i32 + 1);
    for ((x, _, color), p) in marks.iter().zip(placed) {
        let from = p.map_or(top, |p| label_y(p.row) + MARK_ROW / 2);
        dashed_vline(root, *x, (from, bottom), (6, 4), *color, 2)?;
    }
    for ((_, label, color), p) in marks.iter().zip(placed) {
        let Some(p) = p else {
            continue;
        };
        let w = text_size(label, MARK_FONT)?.0 as i32;
        let ly = label_y(p.row);
        fill_rect(root, (p.x0 - 3, ly), (p.x0 + w + 3, ly + MARK_ROW), WHITE)?;
        let pen = Pen::new(MARK_FONT, (HPos::Left, VPos::Top)).color(*color);
        text(root, label, (p.x0, ly + 1), pen)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::font::ensure_font;

    #[test]
    fn overlapping_labels_take_new_rows_and_far_ones_share_a_row() {
        ensure_font().unwrap();
        let labels = [
            (100, "steepest drop (450)"),
            (110, "1.0 forms"),
            (600, "ICL"),
        ];
        let p = place(&labels, 800, 4).unwrap();
        let rows: Vec<usize> = p.iter().map(|p| p.unwrap().row).collect();
        assert_eq!(rows, [0, 1, 0]);
        assert_eq!(rows_used(&p), 2);
        // Near the right edge a label goes left of its line.
        let p = place(&[(790, "ICL")], 800, 4).unwrap();
        assert!(p[0].unwrap().x0 < 790);
        // No room: left out.
        let p = place(&labels, 800, 1).unwrap();
        assert_eq!(p[1], None);
        assert_eq!(rows_used(&[]), 0);
    }
}
