//! The grokking figures of a modular-addition run, beside `dynamics.png`:
//! `grokking_accuracy.png` (training and held-out accuracy over steps),
//! `grokking_loss.png` (the two losses, log y), `progress_measures.png` (restricted and
//! excluded loss with the two losses, log y) and `embed_fourier.png` (the embedding's
//! Fourier norm per frequency over the tracked steps, a heatmap) with
//! `embed_fourier_final.png` (the last step's norms, one bar per frequency, key frequencies
//! starred). Every figure marks the steps of `GrokkingSteps`.
use super::Loaded;
use crate::dynamics::grokking::{GrokkingLine, GrokkingSteps, GROKKED};
use crate::error::Result;
use crate::plot::{bar_chart, heatmap, line_plot, Colormap, Heatmap, LinePlot, Marker, Series};
use crate::report::{drawing, Outputs};
use crate::run_dir::metrics::eval_key;
use crate::tasks::metric;
use std::path::{Path, PathBuf};

/// Most tracked steps (columns) of the Fourier-norm heatmap; longer runs are thinned evenly.
const MAX_COLUMNS: usize = 60;

/// The files written and the run's grokking steps.
pub(super) struct Drawn {
    pub files: Vec<PathBuf>,
    pub steps: GrokkingSteps,
}

/// Draws the figures of `run` into `dir` when its dynamics hold the grokking measures;
/// None otherwise.
pub(super) fn draw(dir: &Path, run: &Loaded, outputs: &mut Outputs) -> Result<Option<Drawn>> {
    let mut tracked: Vec<(usize, &GrokkingLine)> = run
        .lines
        .iter()
        .filter_map(|l| l.grokking.as_ref().map(|g| (l.step, g)))
        .collect();
    if tracked.is_empty() {
        return Ok(None);
    }
    tracked.sort_by_key(|(s, _)| *s);
    let steps = GrokkingSteps::of(&run.curves);
    let markers = markers(&steps);
    let curve = |key: &str, name: &str| Series {
        name: name.into(),
        points: run.curves.get(&eval_key(key)).cloned().unwrap_or_default(),
    };
    let name = run.path.display();
    let mut files = Vec::new();

    // One step-axis line plot with the grokking markers, into `dir/file`.
    let mut lines = |file: &str, title: String, y_label: &str, log_y: bool, series: Vec<Series>| {
        let path = outputs.file(&dir.join(file));
        let plot = LinePlot {
            title,
            x_label: "step".into(),
            y_label: y_label.into(),
            log_y,
            series,
            vlines: markers.clone(),
        };
        drawing(&path, line_plot(&path, &plot))?;
        files.push(path);
        Result::Ok(())
    };
    lines(
        "grokking_accuracy.png",
        format!("Modular addition: accuracy on all pairs, {name}"),
        "accuracy",
        false,
        vec![
            curve(metric::TRAIN_ACC, "train (30% of pairs)"),
            curve(metric::ACC, "held out (70%)"),
        ],
    )?;
    let losses = || {
        vec![
            curve(metric::TRAIN_LOSS, "train loss"),
            curve(metric::LOSS, "held-out loss"),
        ]
    };
    lines(
        "grokking_loss.png",
        format!("Modular addition: loss, {name}"),
        "cross-entropy (log scale)",
        true,
        losses(),
    )?;
    let pts = |f: fn(&GrokkingLine) -> f64| -> Vec<(f64, f64)> {
        tracked.iter().map(|(s, g)| (*s as f64, f(g))).collect()
    };
    let mut measures = losses();
    measures.extend([
        Series {
            name: "restricted loss (key freqs only, all pairs)".into(),
            points: pts(|g| g.restricted_loss),
        },
        Series {
            name: "excluded loss (key freqs removed, train)".into(),
            points: pts(|g| g.excluded_loss),
        },
    ]);
    lines(
        "progress_measures.png",
        format!("Progress measures (Nanda et al. 2023), {name}"),
        "cross-entropy (log scale)",
        true,
        measures,
    )?;

    let heat = outputs.file(&dir.join("embed_fourier.png"));
    drawing(
        &heat,
        heatmap(&heat, &norms_heatmap(&tracked, &name.to_string())),
    )?;
    files.push(heat);

    if let Some((step, last)) = tracked.last() {
        let bars = outputs.file(&dir.join("embed_fourier_final.png"));
        let labels: Vec<String> = (1..last.embed_fourier_norm.len())
            .map(|k| match last.key_freqs.contains(&k) {
                true => format!("{k}*"),
                false => k.to_string(),
            })
            .collect();
        let title = format!(
            "Embedding Fourier norm per frequency at step {step} (* key frequencies {:?})",
            last.key_freqs
        );
        let values = &last.embed_fourier_norm[1..];
        drawing(
            &bars,
            bar_chart(
                &bars,
                &title,
                "norm of W_E on cos k, sin k",
                &labels,
                values,
            ),
        )?;
        files.push(bars);
    }
    Ok(Some(Drawn { files, steps }))
}

/// Labelled vertical lines at the grokking steps.
fn markers(s: &GrokkingSteps) -> Vec<Marker> {
    let mut out = Vec::new();
    if let Some(x) = s.train_acc_1 {
        out.push(Marker {
            x: x as f64,
            label: format!("train acc 1.0 ({x})"),
            series: Some(0),
        });
    }
    if let Some(x) = s.eval_acc_099 {
        out.push(Marker {
            x: x as f64,
            label: format!("held-out acc {GROKKED} ({x})"),
            series: Some(1),
        });
    }
    out
}

/// Rows: frequencies 1..; columns: tracked steps (thinned to `MAX_COLUMNS`).
fn norms_heatmap(tracked: &[(usize, &GrokkingLine)], name: &str) -> Heatmap {
    let n = tracked.len();
    let cols: Vec<&(usize, &GrokkingLine)> = if n > MAX_COLUMNS {
        (0..MAX_COLUMNS)
            .map(|i| &tracked[i * (n - 1) / (MAX_COLUMNS - 1)])
            .collect()
    } else {
        tracked.iter().collect()
    };
    let rows = cols
        .iter()
        .map(|(_, g)| g.embed_fourier_norm.len().saturating_sub(1))
        .max()
        .unwrap_or(0);
    let mut values = vec![f32::NAN; rows * cols.len()];
    for (c, (_, g)) in cols.iter().enumerate() {
        for (k, v) in g.embed_fourier_norm.iter().skip(1).enumerate() {
            values[k * cols.len() + c] = *v as f32;
        }
    }
    Heatmap {
        title: format!("Embedding Fourier norm by frequency over training, {name}"),
        x_label: "step".into(),
        y_label: "frequency k".into(),
        x_ticks: cols.iter().map(|(s, _)| s.to_string()).collect(),
        y_ticks: (1..=rows).map(|k| k.to_string()).collect(),
        values,
        rows,
        cols: cols.len(),
        range: None,
        hide_upper: false,
        annotate: false,
        colormap: Colormap::Viridis,
        colorbar_label: "norm of W_E on cos k, sin k".into(),
    }
}
