//! `indu attribute`: direct logit attribution on the probe -> attribute.json,
//! plots/attribute.png, a table.
use crate::cli::AttributeArgs;
use anyhow::Result;
use indu::experiments::attribute::{self, AttributeOptions};

pub fn run(a: AttributeArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    let o = AttributeOptions {
        given: match (a.text, a.tokens) {
            (Some(t), _) => Some(indu::given::Given::Text(t)),
            (None, Some(ids)) => Some(indu::given::Given::Tokens(ids.0)),
            (None, None) => None,
        },
        probe: a.probe.request(),
        batch: a.probe.batch,
        seed: a.probe.seed,
    };
    let report = attribute::run(&lr, &o)?;
    let wrote = report.write(&lr)?;
    super::emit(&report, a.run.json, &wrote)
}
