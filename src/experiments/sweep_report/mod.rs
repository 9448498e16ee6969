//! `sweep report`'s figures, drawn from a `SweepReport` (and, for the loss curves, each done
//! run's metrics.jsonl) into `<sweep>/plots/`:
//! - `metric_vs_<axis>.png` (`vs_axis`): per plotted axis, the final eval loss and the
//!   headline accuracy against the axis's values, one dot per run and a median line per
//!   group of the other non-seed axes (colour i = group i, as on the sweep's page);
//! - `formation_steps.png` (`formation`): a histogram of the induction heads' formation
//!   steps, with how many runs never formed one;
//! - `formed_fraction.png` (`formation`): per setting, the share of seeds that formed one;
//! - `loss_by_setting.png` (`loss`): the train loss of each setting's runs, median and
//!   10-90% band over its seeds (colour i = setting i), log y.
use crate::error::Result;
use crate::report::{drawing, Outputs};
use crate::sweep::report::SweepReport;
use crate::sweep::Sweep;
use std::path::PathBuf;

mod formation;
mod loss;
mod vs_axis;

/// The figure files' names (besides `metric_vs_<axis label>.png`).
pub const FORMATION_FILE: &str = "formation_steps.png";
pub const FRACTION_FILE: &str = "formed_fraction.png";
pub const LOSS_FILE: &str = "loss_by_setting.png";

/// The file of axis `label`'s figure.
pub fn vs_axis_file(label: &str) -> String {
    format!("metric_vs_{label}.png")
}

/// Draw every figure of `r` (the report of `sweep`); returns the files written. A failure
/// leaves none of the new files behind.
pub fn write(sweep: &Sweep, r: &SweepReport) -> Result<Vec<PathBuf>> {
    let mut outputs = Outputs::new();
    let plots = outputs.dir(&sweep.dir.join("plots"))?;
    let mut wrote = Vec::new();
    for p in &r.plots {
        let path = outputs.file(&plots.join(vs_axis_file(&r.axes[p.axis].label)));
        drawing(&path, vs_axis::draw(&path, r, p))?;
        wrote.push(path);
    }
    let path = outputs.file(&plots.join(FORMATION_FILE));
    drawing(&path, formation::histogram(&path, r))?;
    wrote.push(path);
    let path = outputs.file(&plots.join(FRACTION_FILE));
    drawing(&path, formation::fraction(&path, r))?;
    wrote.push(path);
    let path = outputs.file(&plots.join(LOSS_FILE));
    drawing(&path, loss::draw(&path, sweep, r))?;
    wrote.push(path);
    outputs.keep();
    Ok(wrote)
}

/// "1 run" / "3 runs".
fn runs(n: usize) -> String {
    if n == 1 {
        "1 run".into()
    } else {
        format!("{n} runs")
    }
}
