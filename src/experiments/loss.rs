//! `plot-loss`: training and eval loss against step from metrics.jsonl (log y), several
//! runs overlaid, plus the per-part eval curves of the task's metric groups and the phase
//! change (marked in the colour of its run's eval curve) -> `LossReport`. Needs only
//! config.toml and metrics.jsonl, so a run can be plotted before its first checkpoint.
use crate::error::{Error, Result};
use crate::plot::{line_plot, LinePlot, Marker, Series};
use crate::report::{drawing, Outputs, Report};
use crate::run_dir::RunDir;
use crate::tasks::{metric, MetricGroup};
use crate::train::log::{self, eval_key, phase_change, Curves, EVAL_PREFIX};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `--json` schema of the summary.
pub const SCHEMA_VERSION: u32 = 1;

/// What was drawn.
#[derive(Debug, Clone, Serialize)]
pub struct LossReport {
    /// One line per run with a phase change (steepest eval-loss drop).
    pub phase_changes: Vec<String>,
    pub files: Vec<PathBuf>,
}

/// Draw the loss curves of `runs` (at least one) to `out` (default:
/// `<first run>/plots/loss.png`) and one figure per metric group beside it.
pub fn run(runs: &[RunDir], out: Option<&std::path::Path>) -> Result<LossReport> {
    let Some(first) = runs.first() else {
        return Err(Error::Invalid("plot-loss needs at least one run".into()));
    };
    let multi = runs.len() > 1;
    let mut series = Vec::new();
    // By the group's name: the figures are drawn (and listed) in name order.
    let mut groups: BTreeMap<&str, (MetricGroup, Vec<Series>)> = BTreeMap::new();
    let eval_loss = eval_key(metric::LOSS);
    let mut vlines = Vec::new();
    let mut changes = Vec::new();
    for (run, name) in runs.iter().zip(crate::run_dir::labels(runs)) {
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
        return Err(Error::Invalid(format!(
            "{}: metrics.jsonl holds no loss values yet",
            first.path.display()
        )));
    }
    let mut outputs = Outputs::new();
    let out: PathBuf = match out {
        Some(p) => outputs.file(p),
        None => {
            let plots = outputs.dir(&first.plots())?;
            outputs.file(&plots.join("loss.png"))
        }
    };
    let title = if multi {
        "Loss".to_string()
    } else {
        format!("Loss: {}", first.path.display())
    };
    let drawn = line_plot(
        &out,
        &LinePlot {
            title,
            x_label: "step".into(),
            y_label: "loss".into(),
            log_y: true,
            series,
            vlines,
        },
    );
    drawing(&out, drawn)?;
    let mut wrote = vec![out.clone()];
    for (name, (group, s)) in groups {
        let path = outputs.file(&out.with_file_name(format!("loss_{name}.png")));
        let drawn = line_plot(
            &path,
            &LinePlot {
                title: group.title().into(),
                x_label: "step".into(),
                y_label: "loss".into(),
                log_y: true,
                series: s,
                vlines: vec![],
            },
        );
        drawing(&path, drawn)?;
        wrote.push(path);
    }
    outputs.keep();
    Ok(LossReport {
        phase_changes: changes,
        files: wrote,
    })
}

/// Every numeric metric of the run's metrics.jsonl as (step, value) points.
pub(super) fn read_curves(run: &RunDir) -> Result<Curves> {
    let path = run.metrics();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Invalid(format!("reading {}: {e}", path.display())))?;
    Ok(log::curves(&text))
}

impl Report for LossReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn human(&self) -> Vec<String> {
        self.phase_changes.clone()
    }
}
