//! `indu plot-dynamics`: loss, head scores and ICL score over training with the phase
//! changes marked, and the loss by position, of one or several tracked runs.
use crate::cli::PlotDynamicsArgs;
use anyhow::Result;
use indu::experiments::plot_dynamics::{self, DynamicsOptions};
use indu::run_dir::RunDir;

pub fn run(a: PlotDynamicsArgs) -> Result<()> {
    let runs: Vec<RunDir> = if a.run.is_empty() {
        vec![RunDir::find_logged(None)?]
    } else {
        a.run
            .iter()
            .map(|r| RunDir::find_logged(Some(r)))
            .collect::<indu::Result<_>>()?
    };
    let mut o = DynamicsOptions {
        out: a.out,
        ..DynamicsOptions::default()
    };
    if !a.detector.is_empty() {
        o.detectors = a.detector;
    }
    let report = plot_dynamics::run(&runs, &o)?;
    super::emit(&report, a.json, &report.files)
}
