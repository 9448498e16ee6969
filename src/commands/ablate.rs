//! `indu ablate`: loss with heads ablated vs clean -> ablate.json, plots/ablate.png, a table.
use crate::cli::{AblateArgs, AblateMode};
use anyhow::Result;
use indu::experiments::ablate::{self, AblateOptions, Mode};

pub fn run(a: AblateArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    let o = AblateOptions {
        heads: a.heads,
        mode: match a.mode {
            AblateMode::Zero => Mode::Zero,
            AblateMode::Mean => Mode::Mean,
            AblateMode::Resample => Mode::Resample,
            AblateMode::Shuffle => Mode::Shuffle,
            AblateMode::ProjectOut => Mode::ProjectOut,
            AblateMode::ProjectKeep => Mode::ProjectKeep,
        },
        rank: a.rank,
        source: a.on,
        probe: a.probe.request(),
        batch: a.probe.batch,
        seed: a.probe.seed,
    };
    let report = ablate::run(&lr, &o)?;
    let wrote = report.write(&lr)?;
    super::emit(&report, a.run.json, &wrote)
}
