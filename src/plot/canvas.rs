//! The canvas every figure draws on: an in-memory RGB buffer, encoded to PNG and written
//! with `report::atomic_write`, so no partial file is ever left behind.
use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{ColorType, ImageEncoder};
use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::font;
use crate::error::{Error, Result};
use crate::report::atomic_write;

/// The drawing surface every figure draws on (pixel coordinates, origin top left).
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a, RGBPixel>, Shift>;

/// Largest figure side in pixels; bigger requests are an error rather than a huge allocation.
pub(crate) const MAX_SIDE: u32 = 8000;

/// Maps any plotters drawing error to the library error.
pub(crate) fn draw_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Invalid(format!("plot: drawing failed: {e:?}"))
}

/// Allocates a white `w` x `h` RGB canvas, runs `draw` on it, encodes PNG and writes `path`
/// atomically.
pub(crate) fn render_png(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area) -> Result<()>,
) -> Result<()> {
    font::ensure_font()?;
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(Error::Invalid(format!(
            "plot {}: figure would be {w}x{h} pixels; expected 1..={MAX_SIDE} per side \
             (too much data for one figure?)",
            path.display()
        )));
    }
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut buf, (w, h))
            .map_err(draw_err)?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&buf, w, h, ColorType::Rgb8)
        .map_err(|e| {
            Error::Invalid(format!("plot {}: PNG encoding failed: {e}", path.display()))
        })?;
    atomic_write(path, &png)
}
