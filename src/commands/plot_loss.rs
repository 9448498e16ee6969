//! `indu plot-loss`: loss curves of one or several runs (log y), phase changes marked.
use crate::cli::PlotLossArgs;
use anyhow::Result;
use indu::experiments::loss;

pub fn run(a: PlotLossArgs) -> Result<()> {
    let (runs, sweep) = super::logged_runs(&a.run, &a.filter)?;
    let out = match (a.out, sweep) {
        (Some(o), _) => Some(o),
        (None, Some(s)) => Some(super::sweep_plot(&s, "loss.png")?),
        (None, None) => None,
    };
    let report = loss::run(&runs, out.as_deref())?;
    super::emit(&report, false, &report.files)
}
