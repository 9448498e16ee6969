//! Colour maps for heatmaps (`Colormap`: sequential Viridis and Blues, diverging RdBu) and the
//! categorical palette for line series; value -> colour with NaN drawn grey.
use plotters::style::RGBColor;

/// How heatmap values map to colours. Low values take the first colour of the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Colormap {
    /// Perceptually uniform dark purple -> green -> yellow (matplotlib's default).
    #[default]
    Viridis,
    /// White -> dark blue (ColorBrewer Blues): good for probabilities and attention.
    Blues,
    /// Diverging dark red -> white -> dark blue (ColorBrewer RdBu); the range is made
    /// symmetric so that 0 is white.
    RdBu,
}

/// Colour of missing (NaN) values.
pub(crate) const NAN_COLOR: RGBColor = RGBColor(190, 190, 190);

// Anchor colours, evenly spaced over [0, 1]; values between anchors are interpolated.
const VIRIDIS: [u32; 11] = [
    0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c, 0x22a884, 0x44bf70, 0x7ad151,
    0xbddf26, 0xfde725,
];
const BLUES: [u32; 9] = [
    0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6, 0x4292c6, 0x2171b5, 0x08519c, 0x08306b,
];
const RDBU: [u32; 11] = [
    0x67001f, 0xb2182b, 0xd6604d, 0xf4a582, 0xfddbc7, 0xf7f7f7, 0xd1e5f0, 0x92c5de, 0x4393c3,
    0x2166ac, 0x053061,
];

/// Ten Tableau colours plus black and navy: distinct hues for up to 12 series.
const PALETTE: [u32; 12] = [
    0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22,
    0x17becf, 0x000000, 0x393b79,
];

fn hex(c: u32) -> RGBColor {
    RGBColor((c >> 16) as u8, (c >> 8) as u8, c as u8)
}

/// The `i`-th series colour (cycles after 12).
pub(crate) fn series_color(i: usize) -> RGBColor {
    hex(PALETTE[i % PALETTE.len()])
}

/// The series palette as `#rrggbb` (colour `i` is `series_color(i)`): the same colours for
/// other renderers (the sweep page of `indu view`).
pub fn series_hex() -> Vec<String> {
    PALETTE.iter().map(|c| format!("#{c:06x}")).collect()
}

impl Colormap {
    fn anchors(self) -> &'static [u32] {
        match self {
            Colormap::Viridis => &VIRIDIS,
            Colormap::Blues => &BLUES,
            Colormap::RdBu => &RDBU,
        }
    }

    /// The lowercase name (the key of the page's colour maps, `indu view`).
    pub fn name(self) -> &'static str {
        match self {
            Colormap::Viridis => "viridis",
            Colormap::Blues => "blues",
            Colormap::RdBu => "rdbu",
        }
    }

    /// The anchor colours as `#rrggbb`, evenly spaced over [0, 1] (what `at` interpolates
    /// between): the same map for other renderers (the page of `indu view`).
    pub fn hex_stops(self) -> Vec<String> {
        self.anchors().iter().map(|c| format!("#{c:06x}")).collect()
    }

    /// Whether 0 must sit in the middle of the range.
    pub fn is_diverging(self) -> bool {
        match self {
            Colormap::Viridis | Colormap::Blues => false,
            Colormap::RdBu => true,
        }
    }

    /// Colour at position `t` in [0, 1] (clamped); NaN gives the missing-value grey.
    pub fn at(self, t: f32) -> RGBColor {
        if t.is_nan() {
            return NAN_COLOR;
        }
        let a = self.anchors();
        let x = t.clamp(0.0, 1.0) * (a.len() - 1) as f32;
        let i = (x.floor() as usize).min(a.len() - 2);
        let f = x - i as f32;
        let (c0, c1) = (hex(a[i]), hex(a[i + 1]));
        let mix = |p: u8, q: u8| (p as f32 + (q as f32 - p as f32) * f).round() as u8;
        RGBColor(mix(c0.0, c1.0), mix(c0.1, c1.1), mix(c0.2, c1.2))
    }

    /// Colour of `value` on the scale `lo..=hi` (caller guarantees `lo < hi`).
    pub fn color(self, value: f32, lo: f32, hi: f32) -> RGBColor {
        if value.is_nan() {
            return NAN_COLOR;
        }
        self.at((value - lo) / (hi - lo))
    }
}

/// Black or white, whichever reads better on `bg`.
pub(crate) fn contrast_text(bg: RGBColor) -> RGBColor {
    let lum = 0.299 * bg.0 as f32 + 0.587 * bg.1 as f32 + 0.114 * bg.2 as f32;
    if lum > 140.0 {
        RGBColor(0, 0, 0)
    } else {
        RGBColor(255, 255, 255)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_match_the_anchor_tables() {
        assert_eq!(Colormap::Viridis.at(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(Colormap::Viridis.at(1.0), RGBColor(0xfd, 0xe7, 0x25));
        assert_eq!(Colormap::Blues.at(0.0), RGBColor(0xf7, 0xfb, 0xff));
        assert_eq!(Colormap::Blues.at(1.0), RGBColor(0x08, 0x30, 0x6b));
        assert_eq!(Colormap::RdBu.at(0.0), RGBColor(0x67, 0x00, 0x1f));
        assert_eq!(Colormap::RdBu.at(0.5), RGBColor(0xf7, 0xf7, 0xf7));
        assert_eq!(Colormap::RdBu.at(1.0), RGBColor(0x05, 0x30, 0x61));
    }

    #[test]
    fn out_of_range_clamps_and_nan_is_grey() {
        assert_eq!(Colormap::Viridis.at(-3.0), Colormap::Viridis.at(0.0));
        assert_eq!(Colormap::Viridis.at(7.0), Colormap::Viridis.at(1.0));
        assert_eq!(Colormap::Blues.at(f32::NAN), NAN_COLOR);
        assert_eq!(Colormap::Blues.color(f32::NAN, 0.0, 1.0), NAN_COLOR);
        assert_eq!(
            Colormap::Blues.color(f32::INFINITY, 0.0, 1.0),
            Colormap::Blues.at(1.0)
        );
    }

    #[test]
    fn interpolation_is_monotone_in_lightness_for_blues() {
        let lum = |c: RGBColor| c.0 as u32 + c.1 as u32 + c.2 as u32;
        let mut prev = u32::MAX;
        for i in 0..=100 {
            let l = lum(Colormap::Blues.at(i as f32 / 100.0));
            assert!(l <= prev, "Blues got lighter at {i}");
            prev = l;
        }
    }

    #[test]
    fn hex_stops_are_the_anchors() {
        let v = Colormap::Viridis.hex_stops();
        assert_eq!(
            (v.len(), v[0].as_str(), v[10].as_str()),
            (11, "#440154", "#fde725")
        );
        assert_eq!(Colormap::Blues.hex_stops()[0], "#f7fbff");
    }

    #[test]
    fn contrast_text_picks_white_on_dark() {
        assert_eq!(contrast_text(RGBColor(0, 0, 0)), RGBColor(255, 255, 255));
        assert_eq!(contrast_text(RGBColor(250, 250, 250)), RGBColor(0, 0, 0));
    }
}
