//! The induction heads' formation over a sweep's runs, as bar charts: `formation_steps.png`
//! (how many runs formed one in each bin of steps; the title counts those that never did)
//! and `formed_fraction.png` (per setting, the share of its tracked seeds that formed one).
use super::runs;
use crate::error::Result;
use crate::plot::bar_chart;
use crate::sweep::report::SweepReport;
use std::path::Path;

/// The histogram of the formation steps.
pub(super) fn histogram(path: &Path, r: &SweepReport) -> Result<()> {
    let f = &r.formation;
    let (labels, values): (Vec<String>, Vec<f64>) = if f.bins.is_empty() {
        (vec!["no run done".into()], vec![0.0])
    } else {
        f.bins
            .iter()
            .map(|b| (format!("{}-{}", b.lo, b.hi), b.count as f64))
            .unzip()
    };
    let mut title = format!(
        "Induction-head formation step: {} of {} formed one",
        f.steps.len(),
        runs(f.steps.len() + f.never)
    );
    if f.never > 0 {
        title.push_str(&format!(", {} never did", runs(f.never)));
    }
    if f.untracked > 0 {
        title.push_str(&format!(" ({} without tracking)", runs(f.untracked)));
    }
    bar_chart(
        path,
        &title,
        "runs (formed in these steps)",
        &labels,
        &values,
    )
}

/// The share of seeds that formed an induction head, per setting.
pub(super) fn fraction(path: &Path, r: &SweepReport) -> Result<()> {
    let tracked: Vec<_> = r.settings.iter().filter(|s| s.tracked > 0).collect();
    let (labels, values): (Vec<String>, Vec<f64>) = if tracked.is_empty() {
        (vec!["no tracked run".into()], vec![f64::NAN])
    } else {
        tracked
            .iter()
            .map(|s| {
                let label = format!("{} ({}/{})", s.name, s.formed, s.tracked);
                (label, s.formed as f64 / s.tracked as f64)
            })
            .unzip()
    };
    bar_chart(
        path,
        "Share of seeds that formed an induction head, per setting",
        "fraction of seeds",
        &labels,
        &values,
    )
}
