//! `indu plot-dynamics`: loss, head scores and ICL score over training with the phase
//! changes marked, and the loss by position, of one or several tracked runs.
use crate::cli::PlotDynamicsArgs;
use anyhow::Result;
use indu::experiments::plot_dynamics::{self, DynamicsOptions};

pub fn run(a: PlotDynamicsArgs) -> Result<()> {
    let (runs, sweep) = super::logged_runs(&a.run, &a.filter)?;
    let out = match (a.out, sweep) {
        (Some(o), _) => Some(o),
        (None, Some(s)) => Some(super::sweep_plot(&s, "dynamics.png")?),
        (None, None) => None,
    };
    let mut o = DynamicsOptions {
        out,
        ..DynamicsOptions::default()
    };
    if !a.detector.is_empty() {
        o.detectors = a.detector;
    }
    let report = plot_dynamics::run(&runs, &o)?;
    super::emit(&report, a.json, &report.files)
}
