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
        source: match (&a.text, &a.tokens) {
            (Some(_), _) => indu::probe::Source::Text,
            (None, Some(_)) => indu::probe::Source::Tokens,
            (None, None) => a.on,
        },
        given: match (a.text, a.tokens) {
            (Some(t), _) => Some(indu::given::Given::Text(t)),
            (None, Some(ids)) => Some(indu::given::Given::Tokens(ids.0)),
            (None, None) => None,
        },
        probe: a.probe.request(),
        batch: a.probe.batch,
        seed: a.probe.seed,
    };
    let report = ablate::run(&lr, &o)?;
    let wrote = report.write(&lr)?;
    super::emit(&report, a.run.json, &wrote)
}
