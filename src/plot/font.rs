//! The embedded font: DejaVu Sans (assets/fonts, Bitstream Vera licence) registered once with
//! plotters' ab_glyph text renderer as "sans-serif", plus text measuring helpers. No system
//! font is ever consulted, so a figure renders the same pixels on every machine.
use std::sync::OnceLock;

use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontStyle, FontTransform, IntoFont, RGBColor, TextStyle};

use crate::error::{Error, Result};

/// The family name every plot uses.
pub(crate) const FAMILY: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the embedded font (first call only); errors if the font bytes do not parse.
pub(crate) fn ensure_font() -> Result<()> {
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(
            "plot: the embedded DejaVu Sans font could not be parsed".to_string(),
        ))
    }
}

/// A font description of `size` pixels, rounded to an even number: plotters places each
/// glyph at `trunc(size / 2 + glyph_top)`, which for odd sizes moves glyphs above and below
/// the middle line by a pixel in opposite directions ("1.85" came out as "1·85").
pub(crate) fn font(size: f64) -> FontDesc<'static> {
    let even = ((size / 2.0).round() * 2.0).max(2.0);
    (FAMILY, even).into_font()
}

/// Width and height in pixels of `text` set at `size` (horizontal layout).
pub(crate) fn text_size(text: &str, size: f64) -> Result<(u32, u32)> {
    font(size)
        .box_size(text)
        .map_err(|e| Error::Invalid(format!("plot: measuring text {text:?}: {e:?}")))
}

/// Widest `text_size` over `texts` (0 when empty).
pub(crate) fn max_width<'a>(texts: impl IntoIterator<Item = &'a str>, size: f64) -> Result<u32> {
    let mut w = 0;
    for t in texts {
        w = w.max(text_size(t, size)?.0);
    }
    Ok(w)
}

/// A text style: `size` px, `color`, anchored at (`h`, `v`), optionally rotated so it reads
/// bottom to top.
pub(crate) fn style(
    size: f64,
    color: RGBColor,
    h: HPos,
    v: VPos,
    upward: bool,
) -> TextStyle<'static> {
    let f = if upward {
        font(size).transform(FontTransform::Rotate270)
    } else {
        font(size)
    };
    TextStyle {
        font: f,
        color: color.to_backend_color(),
        pos: Pos::new(h, v),
    }
}
