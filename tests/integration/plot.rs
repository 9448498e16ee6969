//! Figures from `indu::plot` decode as PNGs of a sensible size with real content, render
//! deterministically, and degenerate inputs give Ok or a clean error (never a panic or a
//! partial file).
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use indu::plot::{
    bar_chart, heatmap, heatmap_grid, line_plot, Colormap, Heatmap, LinePlot, Marker, Series,
};
use indu::Error;

fn decode(path: &Path) -> image::RgbImage {
    image::open(path).expect("figure decodes as PNG").to_rgb8()
}

fn distinct_colours(img: &image::RgbImage) -> usize {
    img.pixels().map(|p| p.0).collect::<HashSet<_>>().len()
}

/// Asserts the PNG at `path` is between `min` and `max` pixels per side and not blank.
fn assert_figure(path: &Path, min: u32, max: u32) -> image::RgbImage {
    let img = decode(path);
    let (w, h) = img.dimensions();
    assert!(
        (min..=max).contains(&w) && (min..=max).contains(&h),
        "{w}x{h} outside {min}..={max}"
    );
    let n = distinct_colours(&img);
    assert!(n > 30, "only {n} distinct colours: blank figure?");
    img
}

fn assert_invalid<T: std::fmt::Debug>(r: indu::Result<T>, needle: &str) {
    match r {
        Err(Error::Invalid(msg)) => {
            assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}")
        }
        other => panic!("expected Error::Invalid containing {needle:?}, got {other:?}"),
    }
}

/// No file and no temp file is left in `dir`.
fn assert_empty(dir: &Path) {
    let left: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn hm(rows: usize, cols: usize, values: Vec<f32>) -> Heatmap {
    Heatmap {
        title: "scores".into(),
        x_label: "head".into(),
        y_label: "layer".into(),
        x_ticks: vec![],
        y_ticks: vec![],
        values,
        rows,
        cols,
        range: None,
        hide_upper: false,
        annotate: true,
        colormap: Colormap::Viridis,
        colorbar_label: "score".into(),
    }
}

fn attention(n: usize) -> Heatmap {
    let mut v = vec![0.0; n * n];
    for q in 0..n {
        for k in 0..=q {
            v[q * n + k] = 1.0 / (q + 1) as f32;
        }
    }
    Heatmap {
        title: format!("attention {n}"),
        x_label: "key".into(),
        y_label: "query".into(),
        x_ticks: (0..n)
            .map(|i| ((b'a' + (i % 26) as u8) as char).to_string())
            .collect(),
        y_ticks: (0..n)
            .map(|i| ((b'A' + (i % 26) as u8) as char).to_string())
            .collect(),
        values: v,
        rows: n,
        cols: n,
        range: Some((0.0, 1.0)),
        hide_upper: true,
        annotate: false,
        colormap: Colormap::Blues,
        colorbar_label: "attention".into(),
    }
}

#[test]
fn annotated_scores_heatmap_is_a_small_real_png() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("scores.png");
    heatmap(&p, &hm(2, 4, vec![0.1, 0.5, 0.9, 0.0, 0.3, 0.7, 0.2, 1.0])).unwrap();
    assert_figure(&p, 150, 1000);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn long_attention_pattern_is_sized_to_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("attn.png");
    heatmap(&p, &attention(122)).unwrap();
    let img = assert_figure(&p, 1200, 2000);
    // The causal upper triangle is blank: the top-right of the grid is mostly white.
    let (w, _) = img.dimensions();
    let white = (0..100)
        .filter(|i| img.get_pixel(w / 2 + i * 3, 80 + i).0 == [255, 255, 255])
        .count();
    assert!(white > 80, "upper triangle not blank ({white}/100 white)");
}

#[test]
fn hide_upper_blanks_about_half_the_cells() {
    let dir = tempfile::tempdir().unwrap();
    let top = [0xfd, 0xe7, 0x25]; // viridis at 1.0
    let count = |hide: bool| {
        let p = dir.path().join(format!("h{hide}.png"));
        let mut h = hm(20, 20, vec![1.0; 400]);
        (h.annotate, h.hide_upper, h.range) = (false, hide, Some((0.0, 1.0)));
        heatmap(&p, &h).unwrap();
        decode(&p).pixels().filter(|px| px.0 == top).count() as f64
    };
    let ratio = count(true) / count(false);
    assert!(
        (ratio - 21.0 / 40.0).abs() < 0.03,
        "causal / full = {ratio}"
    );
}

#[test]
fn rendering_is_deterministic_and_text_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.png"),
        dir.path().join("b.png"),
        dir.path().join("c.png"),
    );
    let h = attention(11);
    heatmap(&a, &h).unwrap();
    heatmap(&b, &h).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let mut untitled = h.clone();
    untitled.title = "a different title".into();
    heatmap(&c, &untitled).unwrap();
    assert_ne!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&c).unwrap(),
        "the title is rendered"
    );
}

#[test]
fn degenerate_heatmaps_render() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("one", hm(1, 1, vec![0.5])),
        ("flat", hm(3, 3, vec![2.0; 9])),
        ("zeros", hm(3, 3, vec![0.0; 9])),
        ("allnan", hm(2, 2, vec![f32::NAN; 4])),
        (
            "somenan",
            hm(2, 2, vec![f32::NAN, 1.0, f32::INFINITY, -3.0]),
        ),
        ("wide", hm(1, 300, (0..300).map(|i| i as f32).collect())),
        ("tall", hm(300, 2, (0..600).map(|i| i as f32).collect())),
        ("tiny", hm(2, 2, vec![1e-9, 2e-9, 3e-9, 4e-9])),
        ("huge", hm(2, 2, vec![1e30, -1e30, 0.0, 5.0])),
    ];
    for (name, h) in cases {
        for cmap in [Colormap::Viridis, Colormap::Blues, Colormap::RdBu] {
            let p = dir.path().join(format!("{name}-{cmap:?}.png"));
            let mut h = h.clone();
            h.colormap = cmap;
            heatmap(&p, &h).unwrap_or_else(|e| panic!("{name} {cmap:?}: {e}"));
            decode(&p);
        }
    }
    let mut fixed = hm(2, 2, vec![1.0, 2.0, 3.0, 4.0]);
    fixed.range = Some((1.0, 1.0));
    heatmap(&dir.path().join("fixed.png"), &fixed).unwrap();
    let mut labelled = hm(2, 2, vec![1.0; 4]);
    labelled.x_ticks = vec!["a very long label that is cut".into(), "\n\t".into()];
    labelled.y_ticks = vec![String::new(), "é€".into()];
    heatmap(&dir.path().join("labels.png"), &labelled).unwrap();
}

#[test]
fn bad_heatmaps_are_clean_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.png");
    assert_invalid(heatmap(&p, &hm(0, 3, vec![])), "nothing to draw");
    assert_invalid(
        heatmap(&p, &hm(2, 2, vec![1.0; 3])),
        "3 values for 2 rows x 2 cols",
    );
    let mut h = hm(2, 2, vec![1.0; 4]);
    h.x_ticks = vec!["a".into()];
    assert_invalid(heatmap(&p, &h), "x_ticks");
    h.x_ticks.clear();
    h.range = Some((2.0, 1.0));
    assert_invalid(heatmap(&p, &h), "range");
    h.range = Some((f32::NAN, 1.0));
    assert_invalid(heatmap(&p, &h), "range");
    assert_invalid(heatmap(&p, &hm(5000, 1, vec![0.0; 5000])), "too large");
    let mut big = hm(1500, 1500, vec![]);
    big.values = vec![0.0; 1500 * 1500];
    assert_invalid(heatmap(&p, &big), "pixels");
    assert_empty(dir.path());
}

#[test]
fn heatmap_grids_share_or_split_colour_bars() {
    let dir = tempfile::tempdir().unwrap();
    let panels: Vec<Heatmap> = (0..3)
        .map(|i| {
            let mut h = hm(2, 2, vec![0.1 * i as f32, 0.5, 0.2, 0.9]);
            h.title = format!("layer {} head {}", i / 2, i % 2);
            h.range = Some((0.0, 1.0));
            h
        })
        .collect();
    let shared = dir.path().join("shared.png");
    heatmap_grid(&shared, "all heads", &panels, 3).unwrap();
    let img = assert_figure(&shared, 200, 2000);
    assert!(img.width() > 2 * img.height(), "three panels side by side");
    let mut mixed = panels.clone();
    mixed[1] = attention(30);
    mixed[2].range = None;
    heatmap_grid(&dir.path().join("mixed.png"), "", &mixed, 2).unwrap();
    heatmap_grid(&dir.path().join("many.png"), "t", &panels, 10).unwrap();
    assert_invalid(
        heatmap_grid(&dir.path().join("x.png"), "t", &[], 2),
        "no panels",
    );
    assert_invalid(
        heatmap_grid(&dir.path().join("x.png"), "t", &panels, 0),
        "ncols",
    );
    mixed[0].values.pop();
    assert_invalid(
        heatmap_grid(&dir.path().join("x.png"), "t", &mixed, 2),
        "values",
    );
}

fn curve(name: &str, points: Vec<(f64, f64)>) -> Series {
    Series {
        name: name.into(),
        points,
    }
}

fn marker(x: f64, label: &str, series: Option<usize>) -> Marker {
    Marker {
        x,
        label: label.into(),
        series,
    }
}

fn lines(log_y: bool, series: Vec<Series>) -> LinePlot {
    LinePlot {
        title: "loss".into(),
        x_label: "step".into(),
        y_label: "loss".into(),
        log_y,
        series,
        vlines: vec![marker(50.0, "phase change", Some(0))],
    }
}

#[test]
fn line_plots_handle_log_scale_gaps_and_empty_series() {
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<Series> = (0..12)
        .map(|s| {
            curve(
                &format!("run {s}"),
                (0..100)
                    .map(|i| (i as f64, (s + 1) as f64 / (1.0 + i as f64)))
                    .collect(),
            )
        })
        .collect();
    let p = dir.path().join("log.png");
    line_plot(&p, &lines(true, series.clone())).unwrap();
    let img = assert_figure(&p, 500, 1400);
    assert!(distinct_colours(&img) > 100);
    let mut odd = series;
    odd[0].points = vec![
        (0.0, -1.0),
        (1.0, 0.0),
        (2.0, f64::NAN),
        (3.0, 0.5),
        (4.0, f64::INFINITY),
        (5.0, 0.4),
    ];
    odd[1].points.clear();
    odd[2].points = vec![(7.0, 0.3)];
    for log_y in [true, false] {
        line_plot(
            &dir.path().join(format!("odd{log_y}.png")),
            &lines(log_y, odd.clone()),
        )
        .unwrap();
    }
    let flat = lines(false, vec![curve("flat", vec![(1.0, 2.0), (1.0, 2.0)])]);
    line_plot(&dir.path().join("flat.png"), &flat).unwrap();
    let mut far = lines(true, vec![curve("one", vec![(0.0, 1e-12), (1.0, 1e12)])]);
    far.vlines = vec![
        marker(f64::NAN, "nan", None),
        marker(1e9, "far away", Some(7)),
    ];
    line_plot(&dir.path().join("far.png"), &far).unwrap();
}

#[test]
fn line_plots_without_drawable_points_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("none.png");
    assert_invalid(line_plot(&p, &lines(false, vec![])), "no series");
    assert_invalid(
        line_plot(&p, &lines(false, vec![curve("e", vec![])])),
        "no drawable points",
    );
    let negative = vec![curve("neg", vec![(0.0, -1.0), (1.0, 0.0)])];
    assert_invalid(line_plot(&p, &lines(true, negative)), "log axis");
    assert_empty(dir.path());
}

#[test]
fn bar_charts_take_negatives_and_many_bars() {
    let dir = tempfile::tempdir().unwrap();
    let labels: Vec<String> = (0..8).map(|i| format!("L{}H{}", i / 4, i % 4)).collect();
    let values = [0.01, 0.12, -0.03, 0.0, 1.85, 0.04, 0.62, -0.08];
    let p = dir.path().join("bars.png");
    bar_chart(&p, "ablation", "Δ loss", &labels, &values).unwrap();
    let img = assert_figure(&p, 300, 1500);
    let red = img.pixels().filter(|px| px.0 == [0xc4, 0x4e, 0x52]).count();
    assert!(red > 50, "negative bars are drawn in red ({red} px)");
    let many: Vec<String> = (0..200)
        .map(|i| format!("layer {} head {}", i / 8, i % 8))
        .collect();
    let vals: Vec<f64> = (0..200).map(|i| (i as f64 - 100.0) / 7.0).collect();
    bar_chart(&dir.path().join("many.png"), "many", "", &many, &vals).unwrap();
    bar_chart(
        &dir.path().join("zero.png"),
        "zero",
        "y",
        &labels[..2],
        &[0.0, 0.0],
    )
    .unwrap();
    bar_chart(
        &dir.path().join("nan.png"),
        "nan",
        "y",
        &labels[..2],
        &[f64::NAN, 1.0],
    )
    .unwrap();
    bar_chart(
        &dir.path().join("allneg.png"),
        "neg",
        "y",
        &labels[..2],
        &[-1.0, -2.0],
    )
    .unwrap();
}

#[test]
fn bad_bar_charts_are_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.png");
    assert_invalid(bar_chart(&p, "t", "y", &[], &[]), "0 labels and 0 values");
    assert_invalid(
        bar_chart(&p, "t", "y", &["a".into()], &[1.0, 2.0]),
        "1 labels and 2 values",
    );
    assert_empty(dir.path());
}

#[test]
fn extreme_magnitudes_are_drawn_or_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.png");
    let huge = vec![curve("huge", vec![(0.0, -1e308), (1.0, 1e308)])];
    assert_invalid(line_plot(&p, &lines(false, huge)), "too wide");
    let far_x = vec![curve("far", vec![(0.0, 1.0), (f64::MAX, 2.0)])];
    assert_invalid(line_plot(&p, &lines(false, far_x)), "too wide");
    let labels = vec!["a".to_string(), "b".to_string()];
    assert_invalid(
        bar_chart(&p, "t", "y", &labels, &[1e308, -1e308]),
        "too wide",
    );
    assert_empty(dir.path());
    bar_chart(&p, "t", "y", &labels, &[1e-300, 0.0]).unwrap();
    let tiny = vec![curve("tiny", vec![(0.0, 1e-300), (1e-300, 2e-300)])];
    line_plot(&p, &lines(true, tiny.clone())).unwrap();
    line_plot(&p, &lines(false, tiny)).unwrap();
    heatmap(&p, &hm(1, 2, vec![f32::MAX, -f32::MAX])).unwrap();
    let big = vec![curve("big", vec![(0.0, -1e300), (1e300, 1e300)])];
    line_plot(&p, &lines(false, big.clone())).unwrap();
    line_plot(&p, &lines(true, big)).unwrap();
    bar_chart(&p, "t", "y", &labels, &[1e300, -1e300]).unwrap();
    let near = vec![curve("near", vec![(1e15, 1.0), (1e15 + 1.0, 1.0 + 1e-15)])];
    line_plot(&p, &lines(false, near)).unwrap();
}
