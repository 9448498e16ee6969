//! PNG figures (plotters, embedded DejaVu Sans): heatmaps with colour bars (`heatmap`,
//! `heatmap_grid`), line plots with legends (`line_plot`), strips of line plots over one
//! shared x axis (`stacked_plot`), bar charts (`bar_chart`) and panels of dots, lines and bands
//! over a linear, log or categorical x axis (`chart`).
//! Plain data in, PNG file out: every figure is drawn on a `canvas` (an in-memory RGB
//! buffer), encoded to PNG and written with `report::atomic_write`, so no partial file is
//! ever left behind.
//! Layout is computed from measured text, so labels do not overlap at any data size.
mod axis;
mod bars;
mod canvas;
mod chart;
mod colorbar;
mod colormap;
mod curves;
mod font;
mod heatmap;
mod layout;
mod marks;
mod matrix;
mod panel;
mod stack;

pub use bars::bar_chart;
pub use chart::{chart, Chart, LegendEntry, Mark, Panel, Sample, XScale};
pub use colormap::{series_hex, Colormap};
pub use curves::{line_plot, LinePlot, Marker, Series};
pub use heatmap::{heatmap, heatmap_grid};
pub use matrix::Heatmap;
pub use stack::{stacked_plot, Dash, Ink, Line, Stack, StackMarker, Strip};
