//! `indu plot-dynamics`: loss, head scores and ICL score over training with the phase
//! changes marked, and the loss by position, of one or several tracked runs.
use crate::cli::PlotDynamicsArgs;
use anyhow::Result;
use indu::experiments::plot_dynamics::{self, DynamicsOptions};

pub fn run(a: PlotDynamicsArgs) -> Result<()> {
    let runs = super::logged_runs(&a.run)?;
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
