//! `indu plot-loss`: training and eval loss against step from metrics.jsonl (log y),
//! several runs overlaid, plus per-digit / per-class eval curves and the phase change
//! (marked in the colour of its run's eval curve). Needs only config.toml and
//! metrics.jsonl, so a run can be plotted before its first checkpoint.
use crate::cli::PlotLossArgs;
use anyhow::{bail, Context, Result};
use indu::plot::{line_plot, LinePlot, Marker, Series};
use indu::run_dir::RunDir;
use indu::tasks::{metric, MetricGroup};
use indu::train::log::{self, eval_key, phase_change, Curves, EVAL_PREFIX};
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
    // By the group's name: the figures are drawn (and listed) in name order.
    let mut groups: BTreeMap<&str, (MetricGroup, Vec<Series>)> = BTreeMap::new();
    let eval_loss = eval_key(metric::LOSS);
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
        for (key, label) in [(log::LOSS, "train loss"), (eval_loss.as_str(), "eval loss")] {
            if let Some(points) = curves.get(key) {
                series.push(Series {
                    name: format!("{prefix}{label}"),
                    points: points.clone(),
                });
            }
        }
        if let Some(step) = curves.get(&eval_loss).and_then(|p| phase_change(p)) {
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
            let Some(short) = key.strip_prefix(EVAL_PREFIX) else {
                continue;
            };
            let Some(group) = MetricGroup::of(short) else {
                continue;
            };
            let entry = groups.entry(group.name()).or_insert((group, Vec::new()));
            entry.1.push(Series {
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
    for (name, (group, s)) in groups {
        let path = outputs.file(&out.with_file_name(format!("loss_{name}.png")));
        line_plot(
            &path,
            &LinePlot {
                title: group.title().into(),
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

/// Every numeric metric of the run's metrics.jsonl as (step, value) points.
fn read_curves(run: &RunDir) -> Result<Curves> {
    let path = run.metrics();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(log::curves(&text))
}
