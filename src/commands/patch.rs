//! `indu patch`: activation patching from a clean to a corrupted input.
use crate::cli::{MetricArg, PatchArgs};
use anyhow::{bail, Result};
use indu::experiments::patch::{self, Metric, PatchOptions, PatchSource};
use indu::given::Given;
use indu::probe::ProbeRequest;

pub fn run(a: PatchArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    let given =
        |text: Option<String>, tokens: Option<crate::values::TokenRows>| match (text, tokens) {
            (Some(t), _) => Some(Given::Text(t)),
            (None, Some(ids)) => Some(Given::Tokens(ids.0)),
            (None, None) => None,
        };
    let clean = given(a.clean, a.clean_tokens);
    let corrupt = given(a.corrupt, a.corrupt_tokens);
    let source = match (clean, corrupt, a.sample) {
        (Some(clean), Some(corrupt), _) => PatchSource::Given { clean, corrupt },
        (Some(_), None, _) => {
            bail!("--clean needs a corrupted input too: pass --corrupt or --corrupt-tokens")
        }
        (None, Some(_), _) => {
            bail!("--corrupt needs a clean input too: pass --clean or --clean-tokens")
        }
        (None, None, true) => PatchSource::Sample,
        (None, None, false) => PatchSource::Probe(ProbeRequest {
            len: a.probe_len,
            repeats: a.repeats,
        }),
    };
    let (input, note) = patch::input(&lr, &source, a.seed)?;
    let o = PatchOptions {
        kinds: a.kind,
        metric: match a.metric {
            MetricArg::LogitDiff => Metric::LogitDiff,
            MetricArg::Loss => Metric::Loss,
        },
        pos: a.pos,
        answer: a.answer,
        wrong: a.wrong,
    };
    let report = patch::run(&lr, &input, &o)?;
    let wrote = report.write(&lr)?;
    // The probe's note only once the command has succeeded: an error stays one line.
    if let Some(n) = note {
        eprintln!("{n}");
    }
    super::emit(&report, a.run.json, &wrote)
}
