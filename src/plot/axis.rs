//! Axis helpers shared by line plots and bar charts: short tick labels, log-axis ticks at
//! any span, padded data ranges and the check that a range can be drawn.
use std::ops::Range;

use super::layout::nice_ticks;
use crate::error::{Error, Result};

/// A short tick label: at most 4 significant digits, trailing zeros trimmed.
pub(super) fn fmt_axis(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 { "0".into() } else { format!("{v}") };
    }
    if !(1e-3..1e6).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Fewest labelled ticks a log axis gets.
const MIN_LOG_TICKS: usize = 4;
/// Most labelled ticks of a log axis (powers of ten are thinned beyond).
const MAX_LOG_TICKS: usize = 12;

/// `m` times each power of ten from `10^lo` to `10^hi` that lies inside `r`.
fn decade_ticks(r: &Range<f64>, mantissas: &[f64]) -> Vec<f64> {
    let (lo, hi) = (r.start.log10().floor() as i32, r.end.log10().ceil() as i32);
    (lo..=hi)
        .flat_map(|e| {
            // Divide for negative powers: 3 / 10 is 0.3, 3 * 0.1 is 0.30000000000000004.
            let p = 10f64.powi(e.abs());
            mantissas
                .iter()
                .map(move |m| if e < 0 { m / p } else { m * p })
        })
        .filter(|v| r.contains(v))
        .collect()
}

/// Labelled ticks of a log axis over `r` (`0 < start < end`), every one written: the
/// coarsest of 1, {1, 2, 5}, {1, 2, 3, 5}, 1..9 times the powers of ten that gives at
/// least `MIN_LOG_TICKS` ticks; on a span too narrow for that (a fraction of a decade),
/// round linear steps placed on the log axis. Many decades keep every k-th power of ten.
/// (plotters' own log ticks start at the first power of ten and vanish under a decade.)
pub(super) fn log_ticks(r: &Range<f64>) -> Vec<f64> {
    const SETS: [&[f64]; 4] = [
        &[1.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 2.0, 3.0, 5.0],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ];
    let mut finest = Vec::new();
    for set in SETS {
        let t = decade_ticks(r, set);
        if t.len() > MAX_LOG_TICKS && set.len() == 1 {
            let k = t.len().div_ceil(MAX_LOG_TICKS);
            return t.into_iter().step_by(k).collect();
        }
        if t.len() >= MIN_LOG_TICKS {
            return t;
        }
        finest = t;
    }
    let (linear, _) = nice_ticks(r.start, r.end, 5);
    let linear: Vec<f64> = linear
        .into_iter()
        .filter(|v| *v > 0.0 && r.contains(v))
        .collect();
    if linear.len() > finest.len() {
        linear
    } else {
        finest
    }
}

/// `v` with float noise around zero removed (plotters' ticks can come out as -1.1e-16).
pub(super) fn snap(v: f64, r: &Range<f64>) -> f64 {
    if v.abs() < (r.end - r.start).abs() * 1e-9 {
        0.0
    } else {
        v
    }
}

/// Errors unless `r` is a finite, non-empty range (plotters hangs or panics otherwise).
pub(super) fn check_span(title: &str, axis: &str, r: &Range<f64>) -> Result<()> {
    let span = r.end - r.start;
    if span.is_finite() && span > 0.0 && r.start.is_finite() && r.end.is_finite() {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "plot {title:?}: the {axis} values span {}..{}, too wide to draw",
            r.start, r.end
        )))
    }
}

/// Finite (min, max) of `vals`, or `None` when there is none.
pub(super) fn extent(vals: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    vals.filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Linear range with 4% padding; a flat range is widened.
pub(super) fn pad_linear((lo, hi): (f64, f64)) -> Range<f64> {
    if lo == hi {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d)..(hi + d);
    }
    let d = (hi - lo) * 0.04;
    (lo - d)..(hi + d)
}

/// Log range (positive `lo <= hi`) padded by 4% of its decades; a flat range spans x/2..2x.
pub(super) fn pad_log((lo, hi): (f64, f64)) -> Range<f64> {
    if lo == hi {
        return (lo / 2.0)..(hi * 2.0);
    }
    let f = (hi / lo).powf(0.04);
    (lo / f)..(hi * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_are_short_and_round() {
        assert_eq!(fmt_axis(0.2), "0.2");
        assert_eq!(fmt_axis(2500.0), "2500");
        assert_eq!(fmt_axis(0.05), "0.05");
        assert_eq!(fmt_axis(1e-5), "1e-5");
        assert_eq!(fmt_axis(-0.0), "0");
        assert_eq!(fmt_axis(3.0000000000000004), "3");
        assert_eq!(fmt_axis(snap(-1.1e-16, &(-1.0..1.0))), "0");
    }

    #[test]
    fn log_axes_get_several_labelled_ticks_at_any_span() {
        // Over a decade: 1, 2, 5 times the powers of ten.
        assert_eq!(log_ticks(&(0.3..6.0)), vec![0.5, 1.0, 2.0, 5.0]);
        // Many decades: powers of ten only.
        assert_eq!(
            log_ticks(&(1e-4..20.0)),
            vec![1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]
        );
        // Under a decade (0.74..3.3, a loss curve's span): every integer mantissa.
        let narrow = log_ticks(&(0.74..3.3));
        assert_eq!(narrow, vec![0.8, 0.9, 1.0, 2.0, 3.0]);
        let labels: Vec<String> = narrow.iter().map(|v| fmt_axis(*v)).collect();
        assert_eq!(labels, ["0.8", "0.9", "1", "2", "3"]);
        // A few percent of a decade: round linear steps.
        let fine: Vec<String> = log_ticks(&(2.31..2.39))
            .iter()
            .map(|v| fmt_axis(*v))
            .collect();
        assert_eq!(fine, ["2.32", "2.34", "2.36", "2.38"]);
        // Forty decades are thinned to at most MAX_LOG_TICKS labels.
        let wide = log_ticks(&(1e-30..1e10));
        assert!(
            wide.len() <= MAX_LOG_TICKS && wide.len() >= MIN_LOG_TICKS,
            "{wide:?}"
        );
        // Every tick is inside the range and every label is distinct and non-empty.
        for r in [0.74..3.3, 1.1..1.9, 0.05..0.09, 1e-9..2.5, 4.0..4.2] {
            let t = log_ticks(&r);
            assert!(t.len() >= 3, "{r:?}: {t:?}");
            assert!(t.iter().all(|v| r.contains(v)), "{r:?}: {t:?}");
            let mut l: Vec<String> = t.iter().map(|v| fmt_axis(*v)).collect();
            l.dedup();
            assert_eq!(l.len(), t.len(), "{r:?}: {l:?}");
        }
    }

    #[test]
    fn ranges_are_never_empty() {
        let r = pad_linear((2.0, 2.0));
        assert!(r.start < r.end);
        let r = pad_linear((0.0, 0.0));
        assert!(r.start < r.end);
        let r = pad_log((0.5, 0.5));
        assert!(r.start > 0.0 && r.start < r.end);
        assert_eq!(
            extent([f64::NAN, 1.0, -3.0, f64::INFINITY].into_iter()),
            Some((-3.0, 1.0))
        );
        assert_eq!(extent([f64::NAN].into_iter()), None);
    }
}
