//! `indu plot-loss`: loss curves of one or several runs (log y), phase changes marked.
use crate::cli::PlotLossArgs;
use anyhow::Result;
use indu::experiments::loss;
use indu::run_dir::RunDir;

pub fn run(a: PlotLossArgs) -> Result<()> {
    let runs: Vec<RunDir> = if a.run.is_empty() {
        vec![RunDir::find_logged(None)?]
    } else {
        a.run
            .iter()
            .map(|r| RunDir::find_logged(Some(r)))
            .collect::<indu::Result<_>>()?
    };
    let report = loss::run(&runs, a.out.as_deref())?;
    super::emit(&report, false, &report.files)
}
