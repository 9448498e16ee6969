//! `indu plot-loss`: training and eval loss against step from metrics.jsonl (log y),
//! several runs overlaid, plus per-digit / per-class eval curves and the phase change
//! (marked in the colour of its run's eval curve). Needs only config.toml and
//! metrics.jsonl, so a run can be plotted before its first checkpoint.
use crate::cli::PlotLossArgs;
use anyhow::{bail, Context, Result};
use indu::plot::{line_plot, LinePlot, Marker, Series};
use indu::run_dir::RunDir;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn run(a: PlotLossArgs) -> Result<()> {
    let runs: Vec<RunDir> = if a.run.is_empty() {
        vec![RunDir::find_logged(None)?]
    } else {
        a.run
            .iter()
            .map(|r| RunDir::find_logged(Some(r)))
            .collect::<indu::Result<_>>()?
    };
    let multi = runs.len() > 1;
    let mut series = Vec::new();
    let mut groups: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    let mut vlines = Vec::new();
    let mut changes = Vec::new();
    for run in &runs {
        let name = run
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let curves = read_curves(run)?;
        let prefix = if multi {
            format!("{name} ")
        } else {
            String::new()
        };
        for key in ["loss", "eval_loss"] {
            if let Some(points) = curves.get(key) {
                let label = if key == "loss" {
                    "train loss"
                } else {
                    "eval loss"
                };
                series.push(Series {
                    name: format!("{prefix}{label}"),
                    points: points.clone(),
                });
            }
        }
        if let Some(step) = curves.get("eval_loss").and_then(|p| phase_change(p)) {
            // The eval curve was the last series pushed: the marker takes its colour.
            vlines.push(Marker {
                x: step,
                label: format!("{prefix}steepest drop (step {step:.0})"),
                series: series.len().checked_sub(1),
            });
            changes.push(format!(
                "{}: phase change (steepest eval-loss drop) at step {step:.0}",
                run.path.display()
            ));
        }
        for (key, points) in &curves {
            let Some(group) = group_of(key) else { continue };
            let short = key.trim_start_matches("eval_");
            groups.entry(group.to_string()).or_default().push(Series {
                name: format!("{prefix}{short}"),
                points: points.clone(),
            });
        }
    }
    if series.iter().all(|s| s.points.is_empty()) {
        bail!(
            "{}: metrics.jsonl holds no loss values yet",
            runs[0].path.display()
        );
    }
    let mut outputs = indu::report::Outputs::new();
    let out: PathBuf = match &a.out {
        Some(p) => outputs.file(p),
        None => {
            let plots = outputs.dir(&runs[0].plots())?;
            outputs.file(&plots.join("loss.png"))
        }
    };
    let title = if multi {
        "Loss".to_string()
    } else {
        format!("Loss: {}", runs[0].path.display())
    };
    line_plot(
        &out,
        &LinePlot {
            title,
            x_label: "step".into(),
            y_label: "loss".into(),
            log_y: true,
            series,
            vlines,
        },
    )
    .with_context(|| format!("drawing {}", out.display()))?;
    let mut wrote = vec![out.clone()];
    for (group, s) in groups {
        let path = outputs.file(&out.with_file_name(format!("loss_{group}.png")));
        let title = match group.as_str() {
            "digits" => "Eval loss per answer digit (0 = carry digit)",
            "classes" => "Eval loss per skip-trigram class m",
            _ => "Eval loss per copy",
        };
        line_plot(
            &path,
            &LinePlot {
                title: title.into(),
                x_label: "step".into(),
                y_label: "loss".into(),
                log_y: true,
                series: s,
                vlines: vec![],
            },
        )
        .with_context(|| format!("drawing {}", path.display()))?;
        wrote.push(path);
    }
    outputs.keep();
    for c in changes {
        println!("{c}");
    }
    for p in wrote {
        println!("wrote {}", p.display());
    }
    Ok(())
}

/// Which per-part figure a metric belongs to.
fn group_of(key: &str) -> Option<&'static str> {
    if key.starts_with("eval_digit_loss_") {
        Some("digits")
    } else if key.starts_with("eval_loss_m") {
        Some("classes")
    } else if key.starts_with("eval_loss_copy") {
        Some("copies")
    } else {
        None
    }
}

/// Every numeric metric of metrics.jsonl as (step, value) points; torn lines are skipped.
fn read_curves(run: &RunDir) -> Result<BTreeMap<String, Vec<(f64, f64)>>> {
    let path = run.metrics();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for line in text.lines() {
        let Ok(serde_json::Value::Object(obj)) = serde_json::from_str::<serde_json::Value>(line)
        else {
            continue;
        };
        let Some(step) = obj.get("step").and_then(|s| s.as_f64()) else {
            continue;
        };
        for (k, v) in &obj {
            if let (Some(v), true) = (v.as_f64(), k != "step" && k != "lr") {
                out.entry(k.clone()).or_default().push((step, v));
            }
        }
    }
    Ok(out)
}

/// The step of the steepest drop of log(loss) between consecutive evaluations, when the
/// drop is clear (loss falls by more than a factor 1.5 in one interval).
fn phase_change(points: &[(f64, f64)]) -> Option<f64> {
    let mut best: Option<(f64, f64)> = None;
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.1 > 0.0 && b.1 > 0.0 && b.0 > a.0 {
            let drop = (a.1 / b.1).ln();
            if drop > 1.5f64.ln() && best.is_none_or(|(d, _)| drop > d) {
                best = Some((drop, 0.5 * (a.0 + b.0)));
            }
        }
    }
    best.map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::phase_change;

    #[test]
    fn phase_change_is_the_steepest_clear_drop() {
        // Drops by factors 1.2, 4 and 2: the factor-4 drop between steps 200 and 300.
        let pts = [(100.0, 4.8), (200.0, 4.0), (300.0, 1.0), (400.0, 0.5)];
        assert_eq!(phase_change(&pts), Some(250.0));
        // Order of the drops does not matter, only their size (log ratio).
        let pts = [(0.0, 8.0), (10.0, 1.0), (20.0, 0.5)];
        assert_eq!(phase_change(&pts), Some(5.0));
        // No drop by more than a factor 1.5: no phase change.
        let flat = [(0.0, 2.0), (1.0, 1.5), (2.0, 1.2), (3.0, 1.0)];
        assert_eq!(phase_change(&flat), None);
        // Rising loss, non-positive values and steps out of order are ignored.
        assert_eq!(phase_change(&[(0.0, 1.0), (1.0, 5.0)]), None);
        assert_eq!(phase_change(&[(0.0, 0.0), (1.0, 1e-3)]), None);
        assert_eq!(phase_change(&[(5.0, 9.0), (4.0, 1.0)]), None);
        assert_eq!(phase_change(&[]), None);
        assert_eq!(phase_change(&[(1.0, 3.0)]), None);
    }
}
