//! `indu sweep report [DIR]`: the sweep's table (`sweep.json`, `sweep.csv`, printed) and its
//! figures (`plots/`), from the runs as they are now.
use crate::cli::SweepDirArgs;
use anyhow::Result;
use indu::sweep::{report, slurm, status, Sweep};

pub fn run(d: &SweepDirArgs) -> Result<()> {
    let sweep = Sweep::open(&super::sweep_dir(d.dir.as_deref())?)?;
    let st = status::status(&sweep, &slurm::queue(), &slurm::task_end);
    let r = report::build(&sweep, &st)?;
    let mut wrote = r.write()?;
    wrote.extend(indu::experiments::sweep_report::write(&sweep, &r)?);
    crate::commands::emit(&r, d.json, &wrote)
}
