//! `Heatmap`, a matrix to draw as coloured cells: the public type, its input checks and
//! the colour scale it resolves to. Rows (queries) run top to bottom, columns (keys) left to
//! right.
use super::colormap::Colormap;
use crate::error::{Error, Result};

/// Largest number of rows or columns one heatmap may have.
pub(super) const MAX_DIM: usize = 2000;

/// The resolved colour scale of one panel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Scale {
    pub(super) lo: f32,
    pub(super) hi: f32,
    pub(super) cmap: Colormap,
}

/// A matrix to draw as coloured cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// One label per column, or empty for column indices.
    pub x_ticks: Vec<String>,
    /// One label per row, or empty for row indices.
    pub y_ticks: Vec<String>,
    /// `[rows, cols]`, row-major. NaN cells are drawn grey.
    pub values: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
    /// Colour scale limits; `None` takes the finite min and max of the drawn cells.
    pub range: Option<(f32, f32)>,
    /// Causal: cells with col > row are left blank.
    pub hide_upper: bool,
    /// Write each cell's value in the cell (dropped when cells are too small to read it);
    /// a NaN cell (grey) reads "n/a".
    pub annotate: bool,
    pub colormap: Colormap,
    /// What the colours measure ("attention", "score"), written along the colour bar;
    /// empty for none.
    pub colorbar_label: String,
}

pub(super) fn check(h: &Heatmap) -> Result<()> {
    let name = &h.title;
    if h.rows == 0 || h.cols == 0 {
        return Err(Error::Invalid(format!(
            "heatmap {name:?}: nothing to draw ({} rows x {} cols)",
            h.rows, h.cols
        )));
    }
    if h.rows > MAX_DIM || h.cols > MAX_DIM {
        return Err(Error::Invalid(format!(
            "heatmap {name:?}: {} x {} is too large to draw (at most {MAX_DIM} per side)",
            h.rows, h.cols
        )));
    }
    if h.values.len() != h.rows * h.cols {
        return Err(Error::Invalid(format!(
            "heatmap {name:?}: {} values for {} rows x {} cols (expected {})",
            h.values.len(),
            h.rows,
            h.cols,
            h.rows * h.cols
        )));
    }
    for (what, ticks, n) in [
        ("x_ticks", &h.x_ticks, h.cols),
        ("y_ticks", &h.y_ticks, h.rows),
    ] {
        if !ticks.is_empty() && ticks.len() != n {
            return Err(Error::Invalid(format!(
                "heatmap {name:?}: {} {what} for {n} {} (expected {n} or none)",
                ticks.len(),
                if what == "x_ticks" { "columns" } else { "rows" }
            )));
        }
    }
    Ok(())
}

/// The colour scale: the given range or the finite min/max of the visible cells, widened when
/// empty or flat, symmetric around 0 for a diverging map.
pub(super) fn scale(h: &Heatmap) -> Result<Scale> {
    let (lo, hi) = match h.range {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && lo <= hi => (lo, hi),
        Some((lo, hi)) => {
            return Err(Error::Invalid(format!(
                "heatmap {:?}: range ({lo}, {hi}) must be finite with min <= max",
                h.title
            )))
        }
        None => {
            let visible = h
                .values
                .iter()
                .enumerate()
                .filter(|(i, v)| v.is_finite() && !(h.hide_upper && i % h.cols > i / h.cols));
            visible.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), (_, v)| {
                (lo.min(*v), hi.max(*v))
            })
        }
    };
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else if lo == hi {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.5 };
        (lo - d, hi + d)
    } else {
        (lo, hi)
    };
    let (lo, hi) = if h.colormap.is_diverging() {
        let m = lo.abs().max(hi.abs());
        (-m, m)
    } else {
        (lo, hi)
    };
    Ok(Scale {
        lo,
        hi,
        cmap: h.colormap,
    })
}
