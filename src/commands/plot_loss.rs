//! `indu plot-loss`: loss curves of one or several runs (log y), phase changes marked.
use crate::cli::PlotLossArgs;
use anyhow::Result;
use indu::experiments::loss;

pub fn run(a: PlotLossArgs) -> Result<()> {
    let runs = super::logged_runs(&a.run)?;
    let report = loss::run(&runs, a.out.as_deref())?;
    super::emit(&report, false, &report.files)
}
